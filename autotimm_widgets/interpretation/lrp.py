"""Layer-wise Relevance Propagation with the epsilon rule (Bach et al., 2015), as Captum's ``LRP``
with its default rules."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import non_negative
from ._lrp_rules import EPSILON, describe_unsupported, epsilon_rule
from ._model import logits_of
from ._pixel import REDUCTION, PixelAttribution, SignedAttribution
from .gradients import class_gradients
from .preprocessing import PreprocessSpec
from .registry import register_method


@register_method("lrp", label="LRP (epsilon)", params=(REDUCTION,), resolution="pixel", rank=25)
class LRP(PixelAttribution):
    """Relevance of every input element for the class logit: it sums to the logit, up to what
    the ``epsilon`` stabiliser absorbs (see ``_lrp_rules``). Models with a leaf module that has
    no rule (GELU, LayerNorm, ...) are refused with the modules' names. One forward pass and one
    backward per class. See :class:`PixelAttribution` for outputs."""

    def __init__(
        self,
        model: nn.Module,
        use_cuda: bool = True,
        *,
        epsilon: float = EPSILON,
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, reduction=reduction, preprocess=preprocess)
        self.epsilon = non_negative(epsilon, "epsilon")

    @classmethod
    def unsupported(cls, model: nn.Module) -> str | None:
        return describe_unsupported(model, cls.__name__)

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        leaf = inputs.detach().requires_grad_(True)
        with epsilon_rule(self.model, self.epsilon):
            logits = logits_of(self.model(leaf + 0))  # + 0: the first layer's input is not the leaf
        targets = self._targets(logits.detach(), classes)
        gradients = class_gradients(logits, leaf, targets)  # (B, K, C, h, w)
        chosen = logits.detach().gather(1, targets)
        return SignedAttribution(gradients * chosen[..., None, None, None], logits.detach(), targets)
