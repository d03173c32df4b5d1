"""GradCAM++ (Chattopadhyay et al., 2018, eq. 19): pixel-wise weighted positive gradients."""

from __future__ import annotations

import torch

from .cam import CAM_OPTIONS, BaseCAM
from .registry import register_method

EPS = 1e-6  # same stabiliser as pytorch-grad-cam


@register_method(
    "gradcam++", rank=1, label="GradCAM++", takes_layer=True, smoothable=True, shared_classes=True, params=CAM_OPTIONS
)
class GradCAMPlusPlus(BaseCAM):
    """GradCAM++: better localisation when several objects of a class are present.

    With g = dy/dA (the exponential-score derivatives of the paper reduce to powers of g):
    ``alpha_cij = g^2 / (2 g^2 + sum_ab A_cab * g^3)`` (0 where g = 0) and
    ``w_c = sum_ij alpha_cij * relu(g_cij)``. Identical to pytorch-grad-cam's definition.
    """

    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        g2 = gradients.pow(2)
        g3 = g2 * gradients
        activation_sums = activations.sum(dim=(-2, -1))[:, None, :, None, None]
        alpha = g2 / (2 * g2 + activation_sums * g3 + EPS)
        alpha = torch.where(gradients != 0, alpha, torch.zeros_like(alpha))
        return (alpha * gradients.clamp_min(0)).sum(dim=(-2, -1))
