"""XGradCAM (Fu et al., 2020): gradients weighted by the normalised activations."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method

EPS = 1e-7  # same stabiliser as pytorch-grad-cam


@register_method(
    "xgradcam", label="XGradCAM", takes_layer=True, smoothable=True, shared_classes=True, params=CAM_OPTIONS
)
class XGradCAM(BaseCAM):
    """Axiom-based GradCAM: ``w_c = sum_ij (A_cij / sum_ab A_cab) * dy/dA_cij``, map
    ``= relu(sum_c w_c A_c)``, as in pytorch-grad-cam. See :class:`BaseCAM` for the arguments."""

    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        sums = activations.sum(dim=(-2, -1))[:, None, :, None, None]
        return (gradients * activations[:, None] / (sums + EPS)).sum(dim=(-2, -1))
