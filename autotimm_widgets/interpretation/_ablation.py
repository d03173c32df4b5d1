"""Ablation: attributions from f(x) - f(x with one region set to the baseline), as Captum's
``FeatureAblation`` and ``Occlusion`` compute them.

Every (image, region) pair is one row; an image's rows are evaluated as batches of no-grad
forward passes, ``perturbations_per_eval`` ablated copies per pass (Captum's meaning), or, when
that is ``None``, as many as fit the device (``RowSizer.inference_rows``). A pass holds one
image's rows only, so an image of ``explain_batch`` gets the passes it gets alone (the logit
drops of small regions are ~1e-3 of the logits: float32 rounding of other batch shapes shows). Each pass gives the
logits of every class, so K classes cost no extra pass. A method only says what its regions are
(:class:`Regions`): which pixels each one covers, and how the per-region differences spread back
onto the pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import positive_int
from ._memory import RowSizer
from ._model import logits_of
from ._pixel import PixelAttribution, SignedAttribution
from ._progress import advance
from .path_baselines import Baseline
from .preprocessing import PreprocessSpec


class Regions:
    """The regions of a batch: ``counts[b]`` regions for image b."""

    counts: list[int]

    def masks(self, images: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """(n, 1, h, w) bool: where region ``regions[i]`` of image ``images[i]`` lies."""
        raise NotImplementedError

    def spread(self, differences: list[torch.Tensor], channels: int) -> torch.Tensor:
        """(B, K, C, h, w) attributions from each image's differences (R_b, K)."""
        raise NotImplementedError


class Ablation(PixelAttribution):
    """Base of Occlusion and FeatureAblation.

    Args:
        model: the classifier to explain.
        baseline: what an ablated region is set to: ``'zero'`` (0 in the model's input space,
            Captum's default), ``'black'``, ``'white'``, ``'blur'``, ``'random'``, or a tensor,
            ndarray or PIL image (see ``path_baselines``).
        use_cuda: run on the GPU when one is available.
        perturbations_per_eval: ablated copies of each image per forward pass (Captum's
            argument); ``None``: as many as fit the device's memory.
        reduction, preprocess: see :class:`PixelAttribution`.
    """

    def __init__(
        self,
        model: nn.Module,
        baseline="zero",
        use_cuda: bool = True,
        *,
        perturbations_per_eval: int | None = None,
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, reduction=reduction, preprocess=preprocess)
        self._baseline = Baseline(baseline, self.preprocessor.channels)
        self.perturbations_per_eval = positive_int(perturbations_per_eval, "perturbations_per_eval", allow_none=True)
        self._sizer = RowSizer(self.model)

    @property
    def baseline(self):
        """The baseline as given: a name, a tensor, an ndarray or a PIL image."""
        return self._baseline.spec

    def regions(self, inputs: torch.Tensor) -> Regions:
        """The regions to ablate in ``inputs`` (B, C, h, w)."""
        raise NotImplementedError

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        baselines = self._baseline.build(inputs, self.preprocessor)
        regions = self.regions(inputs)
        with torch.no_grad():  # the clean logits per image too, as when explained alone
            logits = torch.cat([logits_of(self.model(inputs[b : b + 1])) for b in range(inputs.shape[0])])
            targets = self._targets(logits, classes)
            initial = logits.gather(1, targets)
            per_pass = self._rows_per_pass(inputs)
            differences = []
            for b, count in enumerate(regions.counts):  # passes never mix images: each is as if alone
                scores = torch.empty((count, targets.shape[1]), device=inputs.device, dtype=initial.dtype)
                for start in range(0, count, per_pass):
                    region = torch.arange(start, min(count, start + per_pass), device=inputs.device)
                    image = torch.full_like(region, b)
                    ablated = torch.where(regions.masks(image, region), baselines[image], inputs[image])
                    scores[start : start + region.numel()] = logits_of(self.model(ablated)).gather(1, targets[image])
                    advance(region.numel())
                differences.append(initial[b] - scores)
        attributions = regions.spread(differences, inputs.shape[1]).to(inputs.dtype)
        return SignedAttribution(attributions, logits, targets)

    def _rows_per_pass(self, inputs: torch.Tensor) -> int:
        """Ablated copies of one image per forward pass."""
        if self.perturbations_per_eval is not None:
            return self.perturbations_per_eval
        return self._sizer.inference_rows(inputs[:1])
