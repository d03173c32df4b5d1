"""ShapleyCAM (Cai, 2025): GradCAM weights from the gradient corrected by a Hessian-vector product."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from .cam import CAM_OPTIONS, BaseCAM, CamEvidence
from .gradients import score_gradients
from .registry import register_method


@register_method("shapleycam", label="ShapleyCAM", takes_layer=True, smoothable=True, params=CAM_OPTIONS)
class ShapleyCAM(BaseCAM):
    """``w_c = mean_ij (g - H A / 2)_cij`` with g = dy/dA and ``H A`` the Hessian of y with
    respect to A applied to A; map ``= relu(sum_c w_c A_c)``, as pytorch-grad-cam's ``ShapleyCAM``.
    For a head that is linear in A (a CNN's pooling and classifier) H A = 0 and it equals GradCAM.
    Each class takes a backward pass with a graph and a second one for the product.
    See :class:`BaseCAM` for the arguments."""

    uses_class_gradients = False  # its gradients are its own: compare_methods runs it alone

    @staticmethod
    def cam_weights(activations: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.mean(dim=(-2, -1))

    def evidence(
        self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]], copies: int = 1
    ) -> list[CamEvidence]:
        with sdpa_kernel([SDPBackend.MATH]):  # fused attention kernels have no second derivative
            activations, logits = self.layer_outputs(inputs, for_gradients=True)
        targets = self._resolved_targets(logits, classes, copies)
        scores = self.objective(logits, targets, classes)
        corrected = [[] for _ in activations]
        for k in range(scores.shape[1]):
            gradients = score_gradients(scores[:, k : k + 1], activations, create_graph=True)
            products = _hessian_products(gradients, activations)
            for i, (g, h) in enumerate(zip(gradients, products, strict=True)):
                corrected[i].append((g[:, 0] - 0.5 * h).detach())
        return [
            CamEvidence(*self._to_spatial(name, a.detach(), torch.stack(c, dim=1), inputs), logits.detach(), targets)
            for (name, _), a, c in zip(self._layers_for(inputs), activations, corrected, strict=True)
        ]


def _hessian_products(gradients: list[torch.Tensor], activations: list[torch.Tensor]) -> list[torch.Tensor]:
    """``d(g . A)/dA`` with A held fixed (the Hessian-vector product H A) per layer; 0 where g does
    not depend on A."""
    needed = [i for i, g in enumerate(gradients) if g.requires_grad]
    products = [torch.zeros_like(a) for a in activations]
    if needed:
        found = torch.autograd.grad(
            [gradients[i][:, 0] for i in needed],
            [activations[i] for i in needed],
            grad_outputs=[activations[i].detach() for i in needed],
            retain_graph=True,
            allow_unused=True,
        )
        for i, product in zip(needed, found, strict=True):
            if product is not None:
                products[i] = product
    return products
