"""GradCAMElementWise: HiResCAM with each element's negative contribution removed first."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method


@register_method(
    "gradcam_elementwise",
    label="GradCAM element-wise",
    takes_layer=True,
    smoothable=True,
    shared_classes=True,
    params=CAM_OPTIONS,
)
class GradCAMElementWise(BaseCAM):
    """``sum_c relu(dy/dA_c * A_c)``, as pytorch-grad-cam's ``GradCAMElementWise``.
    See :class:`BaseCAM` for the arguments."""

    @classmethod
    def weighted_activations(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return (gradients * activations[:, None]).clamp_min(0)
