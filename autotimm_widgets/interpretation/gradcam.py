"""GradCAM (Selvaraju et al., 2017): channel weights are the spatially averaged gradients."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method


@register_method(
    "gradcam", rank=0, label="GradCAM", takes_layer=True, smoothable=True, shared_classes=True, params=CAM_OPTIONS
)
class GradCAM(BaseCAM):
    """Gradient-weighted Class Activation Mapping.

    ``w_c = mean_ij dy/dA_cij``; map ``= relu(sum_c w_c A_c)``, as in pytorch-grad-cam.
    See :class:`BaseCAM` for the arguments and :meth:`BaseInterpreter.explain` for outputs.
    """

    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.mean(dim=(-2, -1))
