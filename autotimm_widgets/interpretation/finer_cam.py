"""FinerCAM (Zhang et al., 2025): a class's map against the classes the model confuses it with."""

from __future__ import annotations

import torch
from torch import nn

from ._checks import at_most, non_negative
from .cam import CAM_OPTIONS, BaseCAM, LayersSpec
from .gradcam import GradCAM
from .registry import Param, register_method

COMPARED = (1, 2, 3)  # pytorch-grad-cam's DEFAULT_COMPARISON_CATEGORIES: the 3 nearest classes
MAX_ALPHA = 10.0  # the comparison classes' logits weighed up to 10 times the explained class's


def check_alpha(alpha) -> float:
    """``alpha`` as a float in [0, ``MAX_ALPHA``]."""
    return at_most(non_negative(alpha, "alpha"), MAX_ALPHA, "alpha")


ALPHA = Param("alpha", float, check_alpha, "Comparison strength", minimum=0.0, maximum=MAX_ALPHA)


@register_method(
    "finercam", label="FinerCAM", takes_layer=True, smoothable=True, shared_classes=True, params=(*CAM_OPTIONS, ALPHA)
)
class FinerCAM(GradCAM):
    """GradCAM of ``sum_j p_j (y_c - alpha y_j) / sum_j p_j`` over the classes j whose logits are
    nearest to class c's (ranks 1, 2, 3 by ``|y_j - y_c|``), p the softmax: the evidence that tells
    c from its look-alikes, as pytorch-grad-cam's ``FinerCAM`` with its default comparison.
    ``alpha`` = 0 is GradCAM. ``base`` (a :class:`BaseCAM` subclass) gives the channel weighting.
    """

    uses_class_gradients = False  # gradients of its own objective: compare_methods runs it alone

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec = None,
        use_cuda: bool = True,
        *,
        alpha: float = 1.0,
        base: type[BaseCAM] = GradCAM,
        **options,
    ):
        super().__init__(model, target_layer, use_cuda, **options)
        if not (isinstance(base, type) and issubclass(base, BaseCAM) and base.uses_class_gradients):
            raise TypeError(f"base must be a gradient CAM class such as GradCAM; got {base!r}.")
        self.alpha = ALPHA.validate(alpha)
        self.base = base

    def scores(self, logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        return finer_scores(logits, classes, self.alpha)

    def weighted_activations(self, activations, gradients):  # type: ignore[override]
        return self.base.weighted_activations(activations, gradients)

    def cams(self, activations, gradients, eigen_smooth: bool = False):  # type: ignore[override]
        return self.base.cams(activations, gradients, eigen_smooth)


def finer_scores(logits: torch.Tensor, classes: torch.Tensor, alpha: float, compared=COMPARED) -> torch.Tensor:
    """(B, K) FinerCAM objectives for logits (B, C) and main classes (B, K)."""
    logits = logits.float()
    main = logits.gather(1, classes)  # (B, K)
    ranks = (logits[:, None, :] - main[..., None]).abs().argsort(dim=-1, stable=True)  # (B, K, C)
    chosen = ranks[..., [r for r in compared if r < logits.shape[1]]]  # (B, K, J)
    probabilities = torch.softmax(logits, dim=-1)[:, None, :].expand(-1, classes.shape[1], -1)
    weights = probabilities.gather(2, chosen)
    others = logits[:, None, :].expand_as(probabilities).gather(2, chosen)
    return (weights * (main[..., None] - alpha * others)).sum(-1) / (weights.sum(-1) + 1e-9)
