"""DeepLIFT with the Rescale rule (Shrikumar et al., 2017), as Captum's ``DeepLift``.

attribution = (x - b) * m, where m is the gradient of F(x) + F(b) through the doubled batch
[x; b] with every nonlinearity's derivative replaced by its DeepLIFT multiplier (see
``_deeplift_rules``). Summation-to-delta: the attributions add up to F(x) - F(b). One forward
pass of 2B rows and one backward per class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import non_negative
from ._deeplift_rules import POOL_RULES, describe_unsupported, rescale_rule
from ._model import logits_of
from ._pixel import REDUCTION, PixelAttribution, SignedAttribution
from .gradients import class_gradients
from .path_baselines import BASELINE, Baseline
from .preprocessing import PreprocessSpec
from .registry import register_method

EPS = 1e-10  # Captum's: a change of input below this counts as none (the plain gradient is used)


@register_method(
    "deeplift", label="DeepLift", params=(BASELINE, REDUCTION), smoothable=True, resolution="pixel", rank=23
)
class DeepLift(PixelAttribution):
    """DeepLIFT (Rescale) against one baseline (``'zero'``, Captum's default, or any
    ``path_baselines`` baseline); ``pool_rule`` says how max pooling back-propagates
    (``'gradient'`` or Captum's ``'cross_max'``, see ``_deeplift_rules``). Models whose leaf modules include one without a rule (GELU,
    LayerNorm, ...) are refused with their names. See :class:`PixelAttribution` for outputs."""

    def __init__(
        self,
        model: nn.Module,
        baseline="zero",
        use_cuda: bool = True,
        *,
        eps: float = EPS,
        pool_rule: str = "gradient",
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, reduction=reduction, preprocess=preprocess)
        self._baseline = Baseline(baseline, self.preprocessor.channels)
        self.eps = non_negative(eps, "eps")
        self.pool_rule = check_pool_rule(pool_rule)

    @property
    def baseline(self):
        return self._baseline.spec

    @classmethod
    def unsupported(cls, model: nn.Module) -> str | None:
        return describe_unsupported(model, cls.__name__)

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        baselines = self._baseline.build(inputs, self.preprocessor)
        return deeplift(
            self.model, inputs, baselines, lambda logits: self._targets(logits, classes), self.eps, self.pool_rule
        )


def check_pool_rule(value) -> str:
    """``value`` if it is one of ``POOL_RULES``."""
    if value not in POOL_RULES:
        raise ValueError(f"pool_rule must be one of {POOL_RULES}; got {value!r}.")
    return value


def deeplift(model: nn.Module, inputs, baselines, targets_of, eps: float = EPS, pool_rule: str = "gradient"):
    """:class:`SignedAttribution` of inputs (B, C, h, w) against baselines (B, C, h, w);
    ``targets_of(logits)`` gives the (B, K) classes from the inputs' logits."""
    leaf = inputs.detach().requires_grad_(True)
    count = inputs.shape[0]
    with rescale_rule(model, eps, pool_rule):
        output = model(torch.cat([leaf, baselines.detach()]))
    try:
        logits = logits_of(output)
    except ValueError:  # say what one batch of inputs gives, not the doubled batch
        with torch.no_grad():
            logits_of(model(inputs))
        raise
    targets = targets_of(logits[:count].detach())
    both = logits[:count] + logits[count:]  # Captum differentiates F(x) + F(b)
    gradients = class_gradients(both, leaf, targets)
    return SignedAttribution((inputs - baselines).unsqueeze(1) * gradients, logits[:count].detach(), targets)
