"""ScoreCAM (Wang et al., 2020): channel weights from the scores of the input masked by each channel."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_batch_size
from ._layers import LayerSpec
from ._model import logits_of
from .base import BatchAttribution
from .cam import CAM_OPTIONS, BaseCAM, LayersSpec, ReshapeTransform
from .preprocessing import PreprocessSpec
from .registry import register_method


@register_method("scorecam", label="ScoreCAM", takes_layer=True, shared_classes=True, params=CAM_OPTIONS)
class ScoreCAM(BaseCAM):
    """Gradient-free: each channel A_c is upsampled to the input (bilinear, corners aligned),
    scaled to [0, 1] (``(a - min) / (max - min + 1e-8)``) and multiplies the input; the softmax
    over channels of the class scores of those C masked inputs weights the channels, map
    ``= relu(sum_c w_c A_c)``, as pytorch-grad-cam's ``ScoreCAM``. The masked inputs run without
    autograd, ``batch_size`` at a time; all classes share them; channels whose map is constant
    (an all-zero mask) are scored once. Arguments as :class:`BaseCAM`, plus ``batch_size``."""

    uses_class_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec | LayerSpec = None,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
        reshape_transform: ReshapeTransform | None = None,
        eigen_smooth: bool = False,
        aug_smooth: bool = False,
        batch_size: int = 32,
    ):
        super().__init__(
            model,
            target_layer,
            use_cuda,
            preprocess=preprocess,
            reshape_transform=reshape_transform,
            eigen_smooth=eigen_smooth,
            aug_smooth=aug_smooth,
        )
        self.batch_size = check_batch_size(batch_size)

    def _layer_maps(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> BatchAttribution:
        activations, logits = self.layer_outputs(inputs)
        targets = self._resolved_targets(logits, classes, copies)
        maps = []
        for (name, _), activation in zip(self._layers_for(inputs), activations, strict=True):
            spatial, _ = self._to_spatial(name, activation, None, inputs)
            weights = torch.stack([self.channel_weights(inputs[b], spatial[b], targets[b]) for b in range(len(inputs))])
            maps.append(self._from_weights(spatial, weights))
        return BatchAttribution(self.combine_layers(maps, inputs), logits, targets)

    def _from_weights(self, spatial: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        weighted = weights[..., None, None] * spatial[:, None]
        if self.eigen_smooth:
            from ._eigen import first_component

            return first_component(weighted).clamp_min(0)
        return weighted.sum(dim=2).clamp_min(0)

    @torch.no_grad()
    def channel_weights(self, image: torch.Tensor, activation: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """(K, C) softmax weights for one image (C', h, w) input and its (C, h, w) activation."""
        upsampled = F.interpolate(activation[None].float(), size=image.shape[-2:], mode="bilinear", align_corners=True)[
            0
        ]
        low = upsampled.amin(dim=(-2, -1), keepdim=True)
        high = upsampled.amax(dim=(-2, -1), keepdim=True)
        masks = (upsampled - low) / (high - low + 1e-8)
        constant = (high == low).flatten()
        scores = torch.empty(len(masks), classes.numel(), device=image.device)
        varying = torch.nonzero(~constant).flatten()
        for start in range(0, len(varying), self.batch_size):
            index = varying[start : start + self.batch_size]
            batch = image[None] * masks[index, None].to(image.dtype)
            scores[index] = logits_of(self.model(batch)).float()[:, classes]
        if bool(constant.any()):  # an all-zero mask: the zero input, scored once
            scores[constant] = logits_of(self.model(torch.zeros_like(image)[None])).float()[:, classes]
        return torch.softmax(scores.T, dim=-1)
