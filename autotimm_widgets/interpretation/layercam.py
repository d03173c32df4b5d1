"""LayerCAM (Jiang et al., 2021): activations weighted by their positive gradients, per location."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method


@register_method(
    "layercam", label="LayerCAM", takes_layer=True, smoothable=True, shared_classes=True, params=CAM_OPTIONS
)
class LayerCAM(BaseCAM):
    """``relu(sum_c relu(dy/dA_c) * A_c)``: reliable on shallow layers too, as in pytorch-grad-cam.
    See :class:`BaseCAM` for the arguments."""

    @classmethod
    def weighted_activations(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.clamp_min(0) * activations[:, None]
