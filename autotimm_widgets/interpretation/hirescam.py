"""HiResCAM (Draelos & Carin, 2020): the element-wise product of gradients and activations."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method


@register_method(
    "hirescam", label="HiResCAM", takes_layer=True, smoothable=True, shared_classes=True, params=CAM_OPTIONS
)
class HiResCAM(BaseCAM):
    """``relu(sum_c dy/dA_c * A_c)``: no spatial averaging of the gradients, so the map shows the
    locations the score depends on (faithful for CNNs ending in global average pooling), as in
    pytorch-grad-cam. See :class:`BaseCAM` for the arguments."""

    @classmethod
    def weighted_activations(cls, activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients * activations[:, None]
