"""EigenGradCAM: EigenCAM of the activations times their gradients (pytorch-grad-cam's variant)."""

from __future__ import annotations

import torch

from ._eigen import first_component
from .cam import AUG_SMOOTH, BaseCAM
from .registry import register_method


@register_method(
    "eigengradcam", label="EigenGradCAM", takes_layer=True, smoothable=True, shared_classes=True, params=(AUG_SMOOTH,)
)
class EigenGradCAM(BaseCAM):
    """Class-specific EigenCAM: the first principal component of ``dy/dA * A`` (B, K, C, h, w),
    oriented to correlate with its channel sum (the HiResCAM map), then ReLU; as pytorch-grad-cam's
    ``EigenGradCAM``. Arguments as :class:`BaseCAM` (``eigen_smooth`` has no effect: it always is)."""

    @classmethod
    def weighted_activations(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients * activations[:, None]

    @classmethod
    def cams(cls, activations: torch.Tensor, gradients: torch.Tensor, eigen_smooth: bool = False) -> torch.Tensor:
        return first_component(cls.weighted_activations(activations, gradients)).clamp_min(0)
