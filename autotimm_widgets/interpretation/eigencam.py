"""EigenCAM (Muhammad and Yeasin, 2020): the first principal component of the layer's activations."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._eigen import first_component
from ._layers import LayerSpec
from ._targets import refuse_classes
from .base import BatchAttribution
from .cam import AUG_SMOOTH, BaseCAM, LayersSpec, ReshapeTransform
from .preprocessing import PreprocessSpec
from .registry import register_method


@register_method("eigencam", label="EigenCAM", rank=200, takes_layer=True, class_specific=False, params=(AUG_SMOOTH,))
class EigenCAM(BaseCAM):
    """Gradient-free and class-agnostic: the layer's activations (B, C, h, w), centred over the
    positions, projected on their first principal component, as pytorch-grad-cam's ``EigenCAM``.
    It takes no target class (use ``EigenGradCAM`` for a class). The component's sign is fixed so
    that the map correlates positively with the channel sum of the activations (see ``_eigen``).
    One forward pass, no backward. Arguments as :class:`BaseCAM` (no ``eigen_smooth``: it is one)."""

    uses_class_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec | LayerSpec = None,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
        reshape_transform: ReshapeTransform | None = None,
        aug_smooth: bool = False,
    ):
        super().__init__(
            model,
            target_layer,
            use_cuda,
            preprocess=preprocess,
            reshape_transform=reshape_transform,
            aug_smooth=aug_smooth,
        )

    def _layer_maps(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> BatchAttribution:
        refuse_classes(type(self).__name__, classes, "EigenGradCAM")
        activations, logits = self.layer_outputs(inputs)
        maps = []
        for (name, _), activation in zip(self._layers_for(inputs), activations, strict=True):
            spatial, _ = self._to_spatial(name, activation, None, inputs)
            maps.append(self.project(spatial)[:, None].clamp_min(0))
        predicted = logits.argmax(dim=1, keepdim=True)
        return BatchAttribution(self.combine_layers(maps, inputs), logits, predicted)

    @staticmethod
    def project(activations: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, h, w): the signed first-component projection (before the ReLU)."""
        return first_component(activations)
