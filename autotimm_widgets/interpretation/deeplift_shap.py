"""DeepLiftShap (Lundberg and Lee, 2017): DeepLIFT averaged over a set of baselines, as Captum's ``DeepLiftShap``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._baseline_sets import BASELINES, BaselineSet
from ._checks import positive_int
from ._model import logits_of
from ._pixel import REDUCTION, SignedAttribution
from ._progress import advance
from .deeplift import EPS, DeepLift, deeplift
from .preprocessing import PreprocessSpec
from .registry import register_method


@register_method(
    "deeplift_shap",
    label="DeepLiftShap",
    params=(BASELINES, REDUCTION),
    smoothable=True,
    resolution="pixel",
    rank=24,
)
class DeepLiftShap(DeepLift):
    """The mean of DeepLIFT attributions against each baseline of ``baselines`` (see
    ``_baseline_sets``), all (image, baseline) pairs in batched passes of ``internal_batch_size``
    pairs (``None``: every pair of a batch in one pass). Deterministic: nothing is sampled."""

    def __init__(
        self,
        model: nn.Module,
        baselines="black+white+random",
        use_cuda: bool = True,
        *,
        internal_batch_size: int | None = None,
        eps: float = EPS,
        pool_rule: str = "gradient",
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(
            model, "zero", use_cuda, eps=eps, pool_rule=pool_rule, reduction=reduction, preprocess=preprocess
        )
        self._baselines = BaselineSet(baselines, self.preprocessor.channels)
        self.internal_batch_size = positive_int(internal_batch_size, "internal_batch_size", allow_none=True)

    @property
    def baseline(self):
        return self._baselines.spec

    @property
    def baselines(self):
        return self._baselines.spec

    @property
    def rows_per_input(self) -> int:
        return len(self._baselines)

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        baselines = self._baselines.build(inputs, self.preprocessor)  # (B, N, C, h, w)
        count, members = baselines.shape[:2]
        with torch.no_grad():
            logits = logits_of(self.model(inputs))
        targets = self._targets(logits, classes)
        image = torch.arange(count, device=inputs.device).repeat_interleave(members)
        flat = baselines.reshape(count * members, *baselines.shape[2:])
        per_pass = self.internal_batch_size or count * members
        parts = []
        for start in range(0, count * members, per_pass):
            rows = image[start : start + per_pass]
            chosen = targets[rows]
            part = deeplift(
                self.model,
                inputs[rows],
                flat[start : start + per_pass],
                lambda _, t=chosen: t,
                self.eps,
                self.pool_rule,
            )
            parts.append(part.attributions)
            advance(rows.numel())
        attributions = torch.cat(parts).reshape(count, members, *parts[0].shape[1:]).mean(dim=1)
        return SignedAttribution(attributions, logits, targets)
