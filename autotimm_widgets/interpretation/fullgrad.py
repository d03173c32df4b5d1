"""FullGrad (Srinivas and Fleuret, 2019): input gradients plus the bias gradients of every layer."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import torch
from torch import nn

from . import _augment
from ._eigen import first_component
from ._hooks import capture_output
from ._model import logits_of
from .base import BaseInterpreter, BatchAttribution, resize_maps
from .cam import AUG_SMOOTH, CAM_OPTIONS, EIGEN_SMOOTH
from .gradients import score_gradients
from .preprocessing import PreprocessSpec
from .registry import register_method

EPS = 1e-7  # pytorch-grad-cam's scale_cam_image


@register_method("fullgrad", label="FullGrad", shared_classes=True, resolution="pixel", params=CAM_OPTIONS)
class FullGrad(BaseInterpreter):
    """``sum_c s(|x * dy/dx|_c) + sum_l sum_c s(|b_lc * dy/dz_lc|)`` resized to the input, where z_l
    is the output of each ``nn.Conv2d`` and ``nn.BatchNorm2d`` with a bias, b_l its (effective)
    bias and ``s`` scales each channel map to [0, 1] (``(m - min) / (max + 1e-7)``), as
    pytorch-grad-cam's ``FullGrad``. It takes no layer; one full backward pass per class.

    Args: as :class:`BaseInterpreter`, plus pytorch-grad-cam's ``eigen_smooth`` (the first
    component of the per-layer maps at 1/8 of the input size) and ``aug_smooth``.
    """

    def __init__(
        self,
        model: nn.Module,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
        eigen_smooth: bool = False,
        aug_smooth: bool = False,
    ):
        super().__init__(model, use_cuda, preprocess=preprocess)
        self.eigen_smooth = EIGEN_SMOOTH.validate(eigen_smooth)
        self.aug_smooth = AUG_SMOOTH.validate(aug_smooth)
        self.bias_layers = [
            m for m in self.model.modules() if type(m) in (nn.Conv2d, nn.BatchNorm2d) and m.bias is not None
        ]

    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        if not self.aug_smooth:
            return self._maps(inputs, classes)
        return _augment.smoothed(self._maps, inputs, classes)

    def _maps(self, inputs, classes, copies: int = 1) -> BatchAttribution:
        size = tuple(inputs.shape[-2:])
        x = inputs.detach().requires_grad_(True)
        with ExitStack() as stack, torch.enable_grad():
            captures = [stack.enter_context(capture_output(m, "bias layer")) for m in self.bias_layers]
            logits = logits_of(self.model(x))
            outputs = [c.output for c in captures]
        batch = len(inputs) // copies
        targets = self._targets(logits[:batch], classes[:batch]).repeat(copies, 1)
        ran = [(layer, out) for layer, out in zip(self.bias_layers, outputs, strict=True) if out is not None]
        gradients = score_gradients(logits.gather(1, targets), [x, *(out for _, out in ran)])
        parts = [_scaled((x.detach()[:, None] * gradients[0]).abs(), size)]  # (B, K, 3, H, W)
        for (layer, _), grad in zip(ran, gradients[1:], strict=True):
            bias = _effective_bias(layer).to(grad)[None, None, :, None, None]
            parts.append(_scaled((bias * grad).abs(), size).sum(dim=2, keepdim=True))
        stacked = torch.cat(parts, dim=2)  # (B, K, M, H, W)
        if self.eigen_smooth:
            small = (max(1, size[0] // 8), max(1, size[1] // 8))
            reduced = _scaled(stacked, small)
            maps = resize_maps(first_component(reduced), size)
        else:
            maps = stacked.sum(dim=2)
        return BatchAttribution(maps.clamp_min(0), logits.detach(), targets)


def _effective_bias(layer: nn.Module) -> torch.Tensor:
    """A convolution's bias, or a BatchNorm's in eval mode: ``b - mean * w / sqrt(var + eps)``."""
    if isinstance(layer, nn.BatchNorm2d):
        return (layer.bias - layer.running_mean * layer.weight / torch.sqrt(layer.running_var + layer.eps)).detach()
    return layer.bias.detach()


def _scaled(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(..., h, w) maps each scaled to [0, 1] as pytorch-grad-cam does, then resized to ``size``."""
    low = maps.amin(dim=(-2, -1), keepdim=True)
    shifted = maps - low
    scaled = shifted / (shifted.amax(dim=(-2, -1), keepdim=True) + EPS)
    lead = scaled.shape[:-2]
    return resize_maps(scaled.reshape(1, -1, *scaled.shape[-2:]).float(), size).reshape(*lead, *size)
