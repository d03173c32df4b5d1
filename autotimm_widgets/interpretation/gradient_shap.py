"""GradientShap (Lundberg and Lee, 2017; Captum's formulation): the expected gradient x
(input - baseline) over baselines drawn from a set, points drawn uniformly on the path to the
input, and Gaussian noise on the input.

For each image and sample s: a baseline b_s drawn uniformly from the set, alpha_s ~ U(0, 1),
x_s = x + N(0, stdevs^2), and

    attribution = mean_s (x_s - b_s) * dF/dx (alpha_s x_s + (1 - alpha_s) b_s),

Captum's ``GradientShap`` (its ``NoiseTunnel`` over ``InputBaselineXGradient``), whose sum
approximates F(x) - E[F(b)]. All samples of all images are rows of batched forward and backward
passes, ``internal_batch_size`` rows at a time (``None``: as many as fit memory).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._baseline_sets import BASELINES, BaselineSet
from ._checks import at_most, non_negative, positive_int
from ._memory import RowSizer
from ._model import logits_of
from ._pixel import REDUCTION, PixelAttribution, SignedAttribution
from ._progress import advance
from .gradients import class_gradients
from .preprocessing import PreprocessSpec
from .registry import Param, register_method
from .smoothgrad import _check_seed

MAX_SAMPLES = 1000


def check_samples(value) -> int:
    """``value`` as an int in [1, ``MAX_SAMPLES``]."""
    return at_most(positive_int(value, "n_samples"), MAX_SAMPLES, "n_samples")


def check_stdevs(value) -> float:
    """``value`` as a float in [0, 1]: the noise's standard deviation in the model's input space."""
    return at_most(non_negative(value, "stdevs"), 1.0, "stdevs")


SAMPLES = Param("n_samples", int, check_samples, "Samples", minimum=1, maximum=MAX_SAMPLES)
STDEVS = Param("stdevs", float, check_stdevs, "Noise (std)", minimum=0.0, maximum=1.0)


@register_method(
    "gradient_shap",
    label="GradientShap",
    params=(BASELINES, SAMPLES, STDEVS, REDUCTION),
    smoothable=True,
    resolution="pixel",
    rank=22,
)
class GradientShap(PixelAttribution):
    """Expected gradients over a baseline set (see the module docstring).

    Args:
        model: the classifier to explain.
        baselines: the set drawn from (see ``_baseline_sets``); ``'black+white+random'`` by default.
        n_samples: samples per image (Captum's ``n_samples``).
        stdevs: standard deviation of the noise added to the input (Captum's ``stdevs``).
        seed: an int (default 0) gives every call, and every image of a batch, the draws it gets
            alone; ``None`` draws from torch's global generator; a ``torch.Generator`` on the
            explainer's device is drawn from as it is.
        internal_batch_size: rows per forward and backward pass; ``None`` fits memory.
        reduction, preprocess: see :class:`PixelAttribution`.
    """

    def __init__(
        self,
        model: nn.Module,
        baselines="black+white+random",
        n_samples: int = 20,
        stdevs: float = 0.0,
        use_cuda: bool = True,
        *,
        seed: int | torch.Generator | None = 0,
        internal_batch_size: int | None = None,
        reduction: str = "sum",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, reduction=reduction, preprocess=preprocess)
        self._baselines = BaselineSet(baselines, self.preprocessor.channels)
        self.n_samples, self.stdevs = check_samples(n_samples), check_stdevs(stdevs)
        self.seed = _check_seed(seed, self.device)
        self.internal_batch_size = positive_int(internal_batch_size, "internal_batch_size", allow_none=True)
        self._sizer = RowSizer(self.model)

    @property
    def baselines(self):
        return self._baselines.spec

    @property
    def rows_per_input(self) -> int:
        return self.n_samples

    def draws(self, count: int, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """For ``count`` images x ``n_samples`` rows (image-major): baseline indices (rows,),
        alphas (rows,) and noise (rows, C, h, w) (``None`` when ``stdevs`` is 0)."""
        samples, options = self.n_samples, {"device": inputs.device}
        shape = (samples, *inputs.shape[1:])
        if isinstance(self.seed, int):
            generator = torch.Generator(device=inputs.device).manual_seed(self.seed)
            repeat = count
        else:
            generator, repeat, samples = self.seed, 1, samples * count
            shape = (samples, *inputs.shape[1:])
        index = torch.randint(len(self._baselines), (samples,), generator=generator, **options)
        alpha = torch.rand(samples, generator=generator, dtype=inputs.dtype, **options)
        noise = None
        if self.stdevs > 0:
            noise = torch.randn(shape, generator=generator, dtype=inputs.dtype, **options).mul_(self.stdevs)
            noise = noise.repeat(repeat, 1, 1, 1)
        return index.repeat(repeat), alpha.repeat(repeat), noise

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        baselines = self._baselines.build(inputs, self.preprocessor)  # (B, N, C, h, w)
        with torch.no_grad():
            logits = logits_of(self.model(inputs))
        targets = self._targets(logits, classes)
        count, samples = inputs.shape[0], self.n_samples
        index, alpha, noise = self.draws(count, inputs)
        per_pass = self.internal_batch_size or self._sizer.rows(inputs)
        total = torch.zeros((count, targets.shape[1], *inputs.shape[1:]), device=inputs.device, dtype=inputs.dtype)
        for start in range(0, count * samples, per_pass):
            rows = torch.arange(start, min(count * samples, start + per_pass), device=inputs.device)
            image = rows.div(samples, rounding_mode="floor")
            noisy = inputs[image] if noise is None else inputs[image] + noise[rows]
            base = baselines[image, index[rows]]
            a = alpha[rows].view(-1, 1, 1, 1)
            scaled = (a * noisy + (1.0 - a) * base).requires_grad_(True)
            grads = class_gradients(logits_of(self.model(scaled)), scaled, targets[image])
            total.index_add_(0, image, grads * (noisy - base).unsqueeze(1))
            advance(rows.numel())
        return SignedAttribution(total / samples, logits, targets)
