"""Integrated Gradients (Sundararajan et al., 2017), all steps evaluated as batches.

For an input x, a baseline b and a class logit F, the attribution of input element i is

    IG_i = (x_i - b_i) * integral_0^1 dF(b + a (x - b)) / dx_i da
         ~ (x_i - b_i) * sum_s w_s * dF(b + a_s (x - b)) / dx_i

with the points a_s and weights w_s of a quadrature rule (see ``quadrature``; Captum's rules).
By completeness, ``sum_i IG_i = F(x) - F(b)`` up to the quadrature error; this holds in the
model's input space (the normalised tensor), where :meth:`IntegratedGradients.attribute` returns
the attributions. Baselines are built in pixel space and normalised like the input (see
``path_baselines``).

The B images x ``steps`` scaled inputs form one concatenated batch of rows, evaluated
``internal_batch_size`` rows at a time (one forward and one ``torch.autograd.grad`` per chunk),
never one step at a time. Scaled inputs are made per chunk, so memory is bounded by the chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ._checks import non_negative, positive_int
from ._images import to_pixels
from ._memory import RowSizer
from ._model import explaining, logits_of
from ._progress import advance, check_progress, tracking
from ._targets import as_class_index, explain_targets
from .base import BaseInterpreter, BatchAttribution
from .gradients import class_gradients
from .path_baselines import BASELINE, Baseline
from .polarity import polarity_figure
from .preprocessing import PreprocessSpec
from .quadrature import STEPS, Rule
from .registry import register_method
from .types import ImageInput, TargetClass

COMPLETENESS_TOLERANCE = 0.05  # Sundararajan et al. suggest checking that attributions add up within 5%


@register_method(
    "integrated_gradients",
    rank=2,
    label="Integrated Gradients",
    params=(STEPS, BASELINE),
    smoothable=True,
    resolution="pixel",
)
class IntegratedGradients(BaseInterpreter):
    """Integrated Gradients with pixel-space baselines and batched steps.

    Args:
        model: the classifier to explain.
        baseline: ``'black'`` (default), ``'white'``, ``'blur'`` or ``'random'`` (see
            ``path_baselines`` for their definitions, including the blur sigma and the seed), an
            ndarray or PIL image (preprocessed like an input image), or a tensor (3, h, w) already
            in the model's input space.
        steps: number of points on the path (>= 1; >= 2 for ``'riemann_trapezoid'``).
        use_cuda: run on the GPU when one is available.
        method: quadrature rule, one of ``quadrature.METHODS``; ``'gausslegendre'`` by default.
        internal_batch_size: scaled inputs per forward and backward pass (all images x steps
            are split into chunks of this many rows). ``None`` sizes chunks to fit memory: see
            ``_memory`` (on the CPU a quarter of the available RAM, at most 2 GiB; on a GPU half
            its free memory).
        preprocess: overrides the model's own preprocessing.

    ``explain`` gives |sum over channels of IG| resized to the image and normalised to [0, 1];
    ``attribute`` the signed (3, h, w) attributions; ``check_completeness`` and
    ``visualize_polarity`` build on them.
    """

    def __init__(
        self,
        model: nn.Module,
        baseline="black",
        steps: int = 50,
        use_cuda: bool = True,
        *,
        method: str = "gausslegendre",
        internal_batch_size: int | None = None,
        preprocess: PreprocessSpec = None,
    ):
        self._rule = Rule.make(method, steps)
        self._internal_batch_size = positive_int(internal_batch_size, "internal_batch_size", allow_none=True)
        super().__init__(model, use_cuda, preprocess=preprocess)
        self._baseline = Baseline(baseline, self.preprocessor.channels)  # a tensor baseline has the model's channels
        self._sizer = RowSizer(self.model)

    # -- settings (validated; safe to change between calls) ----------------------------
    @property
    def steps(self) -> int:
        """Number of points on the path."""
        return self._rule.steps

    @steps.setter
    def steps(self, steps: int) -> None:
        self._rule = Rule.make(self._rule.method, steps)

    @property
    def method(self) -> str:
        """The quadrature rule's name."""
        return self._rule.method

    @method.setter
    def method(self, method: str) -> None:
        self._rule = Rule.make(method, self._rule.steps)

    @property
    def baseline(self):
        """The baseline as given: a name, a tensor, an ndarray or a PIL image."""
        return self._baseline.spec

    @baseline.setter
    def baseline(self, baseline) -> None:
        self._baseline = Baseline(baseline, self.preprocessor.channels)

    @property
    def internal_batch_size(self) -> int | None:
        """Rows per forward and backward pass; ``None``: sized to fit memory."""
        return self._internal_batch_size

    @internal_batch_size.setter
    def internal_batch_size(self, value: int | None) -> None:
        self._internal_batch_size = positive_int(value, "internal_batch_size", allow_none=True)

    @property
    def rows_per_input(self) -> int:
        return self._rule.steps

    # -- public API -----------------------------------------------------------------------
    def explain(
        self, image: ImageInput, target_class: TargetClass = None, normalize: bool = True, *, progress=None
    ) -> np.ndarray:
        """(H, W) in [0, 1]: |channel-summed IG| lined up with ``image`` (see ``BaseInterpreter.explain``).

        ``progress(done, total)`` is called after every internal batch (units: scaled inputs);
        an exception it raises stops the work at once and propagates.
        """
        with tracking(check_progress(progress), self.steps):
            return super().explain(image, target_class, normalize)

    def attribute(self, image: ImageInput, target_class: TargetClass = None, *, progress=None) -> torch.Tensor:
        """Signed attributions in the model's input space, on the CPU.

        Returns (3, h, w), the shape of the preprocessed input, or (K, 3, h, w) for a list of K
        classes. Their sum is ``F(x) - F(baseline)`` up to the quadrature error.
        """
        classes, single = explain_targets(target_class)
        prepared = self.prepare(image)
        with tracking(check_progress(progress), self.steps), explaining(self.model):
            path = self._integrate(prepared.tensor, [classes])
        result = path.attributions[0].cpu()
        return result[0] if single else result

    def baseline_for(self, image) -> torch.Tensor:
        """The baseline IG uses for ``image``: (3, h, w) in the model's input space, on the CPU."""
        inputs = self.prepare(image).tensor
        return self._baseline.build(inputs, self.preprocessor)[0].cpu()

    def check_completeness(
        self, image, target_class=None, tolerance: float = COMPLETENESS_TOLERANCE, *, progress=None
    ) -> dict:
        """Check ``sum(IG) == F(x) - F(baseline)`` for one class, computing IG once.

        Returns a dict with ``completeness_score`` (|sum - difference| / |difference|, 0 when
        both are 0, inf when only the difference is 0), ``is_satisfied`` (score <= ``tolerance``,
        default 5% as Sundararajan et al. suggest), ``attribution_sum``,
        ``prediction_difference`` (F(x) - F(baseline)), ``tolerance`` and ``target_class``.
        """
        tolerance = non_negative(tolerance, "tolerance")
        cls = as_class_index(target_class)
        prepared = self.prepare(image)
        with tracking(check_progress(progress), self.steps), explaining(self.model):
            path = self._integrate(prepared.tensor, [[cls]])
            with torch.no_grad():
                baseline_logits = logits_of(self.model(path.baselines[:1]))
        target = path.targets[0, 0]
        total = path.attributions[0, 0].double().sum()
        difference = (path.logits[0, target] - baseline_logits[0, target]).double()
        error = (total - difference).abs()
        if difference != 0:
            score = float(error / difference.abs())
        else:
            score = 0.0 if error == 0 else float("inf")
        return {
            "completeness_score": score,
            "is_satisfied": score <= tolerance,
            "attribution_sum": float(total),
            "prediction_difference": float(difference),
            "tolerance": tolerance,
            "target_class": int(target),
        }

    def visualize_polarity(
        self, image: ImageInput, target_class: TargetClass = None, save_path=None, *, progress=None
    ) -> Figure:
        """A matplotlib ``Figure``: the image, positive and negative attributions, with colour bars.

        The maps are the channel-summed signed attributions split by sign, resized to the image
        and shown on one shared scale. Saved to ``save_path`` when given. Works under Agg; no
        pyplot figure is created.
        """
        cls = as_class_index(target_class)
        prepared = self.prepare(image)
        with tracking(check_progress(progress), self.steps), explaining(self.model):
            path = self._integrate(prepared.tensor, [[cls]])
        summed = path.attributions[0, 0].sum(dim=0)
        signed = torch.stack([summed.clamp_min(0), (-summed).clamp_min(0)])[None]
        positive, negative = self.finish_maps(signed, [prepared.size], normalize=False)[0]
        title = (
            f"Integrated Gradients for class {int(path.targets[0, 0])} "
            f"({self._baseline!r} baseline, {self.steps} steps, {self.method})"
        )
        figure = polarity_figure(self._display_pixels(image, prepared.tensor), positive, negative, title)
        if save_path is not None:
            figure.savefig(save_path, dpi=100)
        return figure

    # -- the computation --------------------------------------------------------------
    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        path = self._integrate(inputs, classes)
        return BatchAttribution(path.attributions.sum(dim=2).abs(), path.logits, path.targets)

    def _integrate(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> _Path:
        """IG of a batch: baselines, the inputs' logits and classes, and signed attributions (B, K, 3, h, w)."""
        rule = self._rule  # read once: settings may change in another thread
        baselines = self._baseline.build(inputs, self.preprocessor)
        with torch.no_grad():
            logits = logits_of(self.model(inputs))
        targets = self._targets(logits, classes)
        rows = self._internal_batch_size or self._sizer.rows(inputs)
        attributions = integrate(self.model, inputs, baselines, targets, rule.alphas, rule.weights, rows)
        return _Path(attributions, baselines, logits, targets)

    def _display_pixels(self, image, tensor: torch.Tensor) -> np.ndarray:
        """The user's image as (H, W, 3) floats in [0, 1] (a tensor image is de-normalised)."""
        if isinstance(image, torch.Tensor):
            pixels = self.preprocessor.denormalize(tensor.detach().float())[0]
            return pixels.clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        return to_pixels(image).rgb()


def integrate(
    model: nn.Module,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    targets: torch.Tensor,
    alphas: torch.Tensor,
    weights: torch.Tensor,
    rows_per_batch: int,
) -> torch.Tensor:
    """Signed IG attributions (B, K, 3, h, w) for inputs and baselines (B, 3, h, w), classes (B, K).

    Row r of the concatenated batch is image ``r // S`` at step ``r % S`` (S = len(alphas)).
    Each chunk of rows is one forward pass and one ``autograd.grad`` per class; gradients are
    weighted and summed per image on the device, then multiplied by ``x - b``. Accumulates in
    the inputs' dtype (at least float32). Reports each chunk to ``_progress.advance``.
    """
    count, steps = inputs.shape[0], alphas.numel()
    device, dtype = inputs.device, inputs.dtype
    accumulate = torch.promote_types(dtype, torch.float32)
    alphas = alphas.to(device=device, dtype=dtype)
    weights = weights.to(device=device, dtype=accumulate)
    deltas = inputs - baselines
    total = torch.zeros((count, targets.shape[1], *inputs.shape[1:]), device=device, dtype=accumulate)
    for start in range(0, count * steps, rows_per_batch):
        rows = torch.arange(start, min(count * steps, start + rows_per_batch), device=device)
        image, step = rows.div(steps, rounding_mode="floor"), rows.remainder(steps)
        scaled = torch.addcmul(baselines[image], alphas[step].view(-1, 1, 1, 1), deltas[image]).requires_grad_(True)
        logits = logits_of(model(scaled))
        grads = class_gradients(logits, scaled, targets[image])  # (rows, K, 3, h, w)
        total.index_add_(0, image, grads.to(accumulate).mul_(weights[step].view(-1, 1, 1, 1, 1)))
        del scaled, logits, grads
        advance(rows.numel())
    return total.mul_(deltas.unsqueeze(1).to(accumulate))


@dataclass(frozen=True)
class _Path:
    """One IG computation, on the device: attributions (B, K, 3, h, w), baselines, logits, classes (B, K)."""

    attributions: torch.Tensor
    baselines: torch.Tensor
    logits: torch.Tensor
    targets: torch.Tensor
