"""EigenCAM (Muhammad and Yeasin, 2020): the first principal component of the layer's activations."""

from __future__ import annotations

import torch

from ._eigen import first_component
from ._gradient_free import ProjectionCAM
from .cam import AUG_SMOOTH
from .registry import register_method


@register_method("eigencam", label="EigenCAM", rank=200, takes_layer=True, class_specific=False, params=(AUG_SMOOTH,))
class EigenCAM(ProjectionCAM):
    """Gradient-free and class-agnostic: the layer's activations (B, C, h, w), centred over the
    positions, projected on their first principal component, as pytorch-grad-cam's ``EigenCAM``.
    It takes no target class (use ``EigenGradCAM`` for a class). The component's sign is fixed so
    that the map correlates positively with the channel sum of the activations (see ``_eigen``).
    One forward pass, no backward. Arguments as :class:`BaseCAM` (``eigen_smooth`` has no effect: it is one, as in pytorch-grad-cam)."""

    def project(self, activations: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, h, w): the signed first-component projection (before the ReLU)."""
        return first_component(activations)
