"""Bases of the CAMs that need no gradients: one forward pass captures the target layers.

* :class:`WeightedCAM`: channel weights found another way (masked-input scores, ablations,
  random draws), map ``relu(sum_c w_c A_c)`` (or its first component with ``eigen_smooth``);
* :class:`PerturbationCAM`: a :class:`WeightedCAM` that runs the model on perturbed copies,
  ``batch_size`` at a time, without autograd;
* :class:`ProjectionCAM`: class-agnostic maps, a projection of the activations alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import check_batch_size
from ._targets import refuse_classes
from .base import BatchAttribution
from .cam import BaseCAM, LayersSpec


class WeightedCAM(BaseCAM):
    """A CAM whose channel weights (B, K, C) come from :meth:`layer_weights`, not from gradients."""

    uses_class_gradients = False
    takes_custom_targets = False

    def layer_weights(self, inputs, layer: tuple[str, nn.Module], activation, spatial, targets, logits) -> torch.Tensor:
        """(B, K, C) weights of one ``layer`` (name, module) from its raw ``activation``, ``spatial``
        (B, C, h, w), the classes (B, K) and the logits (B, classes) of the unperturbed inputs."""
        raise NotImplementedError

    def _layer_maps(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> BatchAttribution:
        activations, logits = self.layer_outputs(inputs)
        targets = self._resolved_targets(logits, classes, copies)
        maps = []
        for layer, activation in zip(self._layers_for(inputs), activations, strict=True):
            spatial, _ = self._to_spatial(layer[0], activation, None, inputs)
            weights = self.layer_weights(inputs, layer, activation, spatial, targets, logits)
            maps.append(self.maps_from_weights(spatial, weights))
        combined = self.combine_layers(maps, inputs)
        if not bool(torch.isfinite(logits).all()):  # classes of NaN logits mean nothing: a NaN map is refused
            combined = combined * float("nan")
        return BatchAttribution(combined, logits, targets)


class PerturbationCAM(WeightedCAM):
    """A :class:`WeightedCAM` that scores perturbed copies, ``batch_size`` per forward pass."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec = None,
        use_cuda: bool = True,
        *,
        batch_size: int = 32,
        **options,
    ):
        super().__init__(model, target_layer, use_cuda, **options)
        self.batch_size = check_batch_size(batch_size)


class ProjectionCAM(BaseCAM):
    """Class-agnostic: each layer's map is :meth:`project` of its activations; a class is refused."""

    uses_class_gradients = False
    takes_custom_targets = False

    def project(self, activations: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, h, w), the signed projection (before the ReLU)."""
        raise NotImplementedError

    def _layer_maps(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> BatchAttribution:
        refuse_classes(type(self).__name__, classes, "EigenGradCAM")
        activations, logits = self.layer_outputs(inputs)
        maps = []
        for (name, _), activation in zip(self._layers_for(inputs), activations, strict=True):
            spatial, _ = self._to_spatial(name, activation, None, inputs)
            maps.append(self.project(spatial)[:, None].clamp_min(0))
        return BatchAttribution(self.combine_layers(maps, inputs), logits, logits.argmax(dim=1, keepdim=True))
