"""Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation times the upsampled Grad-CAM.

One forward pass serves both factors: the target layer's output is captured while every
``nn.ReLU`` carries the guided rule, switched off for the backward to the layer (Grad-CAM's
plain gradients) and on for the backward to the input. Captum's ``GuidedGradCam`` runs two
forward passes for the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import torch
import torch.nn.functional as F
from torch import nn

from ._hooks import capture_output
from ._model import logits_of
from ._pixel import REDUCTION, SignedAttribution, SignedMaps, check_reduction
from ._relu_rules import missing_relu, relu_rule
from ._target_layers import LayersSpec, ReshapeTransform
from .gradcam import GradCAM
from .preprocessing import PreprocessSpec
from .registry import register_method


@register_method(
    "guided_gradcam",
    label="Guided Grad-CAM",
    params=(REDUCTION,),
    takes_layer=True,
    smoothable=True,
    resolution="pixel",
    rank=14,
)
class GuidedGradCAM(SignedMaps, GradCAM):
    """Guided backprop (C, h, w) times Grad-CAM of ``target_layer`` upsampled to (h, w) by
    nearest neighbour, as Captum's ``GuidedGradCam`` (several layers: their combined CAM, see
    :class:`BaseCAM`). Needs ``nn.ReLU`` modules; see :class:`PixelAttribution` for outputs."""

    uses_class_gradients = False  # its gradients are not the ones other CAMs share
    takes_custom_targets = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec = None,
        use_cuda: bool = True,
        *,
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
        reshape_transform: ReshapeTransform | None = None,
    ):
        super().__init__(model, target_layer, use_cuda, preprocess=preprocess, reshape_transform=reshape_transform)
        self.reduction = check_reduction(reduction)
        self._check_supported()

    @classmethod
    def unsupported(cls, model: nn.Module) -> str | None:
        return missing_relu(model)

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        leaf = inputs.detach().requires_grad_(True)
        layers = self._layers_for(inputs)
        with ExitStack() as stack:
            switch = stack.enter_context(relu_rule(self.model, "guided"))
            captures = [stack.enter_context(capture_output(m, f"layer {name!r}")) for name, m in layers]
            logits = logits_of(self.model(leaf))
            activations = [c.output for c in captures]
        for (name, _), output in zip(layers, activations, strict=True):
            self._check_output(name, output, inputs)
        targets = self._targets(logits.detach(), classes)
        scores = logits.gather(1, targets)
        layer_grads, guided = [], []
        for k in range(scores.shape[1]):
            switch.enabled = False
            layer_grads.append(torch.autograd.grad(scores[:, k].sum(), activations, retain_graph=True))
            switch.enabled = True
            guided.append(torch.autograd.grad(scores[:, k].sum(), leaf, retain_graph=k < scores.shape[1] - 1)[0])
        maps = []
        for i, ((name, _), activation) in enumerate(zip(layers, activations, strict=True)):
            gradients = torch.stack([grads[i] for grads in layer_grads], dim=1)
            spatial, spatial_grads = self._to_spatial(name, activation.detach(), gradients, inputs)
            maps.append(self.cams(spatial, spatial_grads))
        cam = self.combine_layers(maps, inputs)
        cam = F.interpolate(cam.to(leaf.dtype), size=tuple(inputs.shape[-2:]), mode="nearest")
        return SignedAttribution(torch.stack(guided, dim=1) * cam.unsqueeze(2), logits.detach(), targets)
