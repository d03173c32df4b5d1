"""SmoothGrad (Smilkov et al., 2017) around any explainer, with the noisy samples run as batches.

For an input x (the preprocessed tensor, i.e. in the model's input space) SmoothGrad averages
the base explainer's raw maps over ``num_samples`` noisy copies

    x + N(0, sigma^2),  sigma = noise_level * (max(x) - min(x)),

with max and min taken over the whole input tensor of that image, and the noise added in the
model's input space (after normalisation), independently per element. The class explained is
the one asked for, or the class predicted for the clean input (never a noisy copy's). The
averaged map is then resized and normalised like any other map.

The noisy copies go through the base's ``attribute_batch``, ``batch_size`` copies at a time,
so any explainer works (GradCAM, GradCAM++, Integrated Gradients, ...). For IG each call of
``batch_size`` copies is ``batch_size x steps`` scaled inputs, which IG again splits by its
``internal_batch_size``: memory is bounded at both levels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._checks import at_most, non_negative, positive_int
from ._memory import RowSizer
from ._model import logits_of
from ._progress import check_progress, tracking, worth
from .base import BaseInterpreter, BatchAttribution
from .registry import Param, method_info, register_method
from .types import ImageInput, TargetClass

MAX_NOISE_LEVEL = 1.0  # sigma up to the input's whole value range; more only drowns the image
MAX_SAMPLES = 1000  # each sample is a pass of the base explainer


def check_noise_level(noise_level) -> float:
    """``noise_level`` as a float in [0, ``MAX_NOISE_LEVEL``]."""
    why = "a fraction of the input's range"
    return at_most(non_negative(noise_level, "noise_level"), MAX_NOISE_LEVEL, "noise_level", why)


def check_num_samples(num_samples) -> int:
    """``num_samples`` as an int in [1, ``MAX_SAMPLES``]."""
    return at_most(positive_int(num_samples, "num_samples"), MAX_SAMPLES, "num_samples")


def check_base_method(name) -> str:
    """``name`` if it is a registered method SmoothGrad can wrap."""
    if not method_info(name).capabilities.smoothable:
        raise ValueError(f"SmoothGrad cannot wrap {name!r}; it wraps methods whose capabilities say smoothable.")
    return name


NOISE_LEVEL = Param("noise_level", float, check_noise_level, "Noise", minimum=0.0, maximum=MAX_NOISE_LEVEL)
NUM_SAMPLES = Param("num_samples", int, check_num_samples, "Samples", minimum=1, maximum=MAX_SAMPLES)
BASE = Param("base", str, check_base_method, "Base method", argument="base_explainer", default="gradcam")


@register_method("smoothgrad", label="SmoothGrad", params=(BASE, NOISE_LEVEL, NUM_SAMPLES), wrapper=True)
class SmoothGrad(BaseInterpreter):
    """Noise-averaged maps of a base explainer.

    Args:
        base_explainer: any :class:`BaseInterpreter` (its model, device and preprocessing are used).
        noise_level: noise sigma as a fraction of the input's value range, in [0, 1]; 0 returns
            the base explainer's map exactly.
        num_samples: noisy copies averaged per image, in [1, 1000].
        batch_size: noisy copies per call of the base's batched path. ``None``: as many as fit
            memory, by the rule in ``_memory`` applied to ``base.rows_per_input`` rows per copy
            (1 for GradCAM, ``steps`` for IG).
        seed: ``None`` draws from PyTorch's global generator (reproducible after
            ``torch.manual_seed``); an int makes every call give the same result, and gives
            each image of ``explain_batch`` the noise it gets alone (so it equals ``explain``); a
            ``torch.Generator`` on the explainer's device is used as it is (its state advances;
            calls from several threads draw from it in the order the model lock lets them run).
    """

    def __init__(
        self,
        base_explainer: BaseInterpreter,
        noise_level: float = 0.15,
        num_samples: int = 50,
        *,
        batch_size: int | None = None,
        seed: int | torch.Generator | None = None,
    ):
        if not isinstance(base_explainer, BaseInterpreter):
            raise ValueError(
                "base_explainer must be an explainer (a BaseInterpreter such as GradCAM(model) or "
                f"IntegratedGradients(model)); got {type(base_explainer).__name__}."
            )
        self.noise_level = check_noise_level(noise_level)
        self.num_samples = check_num_samples(num_samples)
        self.batch_size = positive_int(batch_size, "batch_size", allow_none=True)
        self.seed = _check_seed(seed, base_explainer.device)
        self.base_explainer = base_explainer
        # The base's model, device and preprocessing (a custom ``preprocess`` included) are the
        # ones used: nothing is resolved again.
        self.model, self.device, self.preprocessor = (
            base_explainer.model,
            base_explainer.device,
            base_explainer.preprocessor,
        )
        self._sizer = RowSizer(self.model)

    @property
    def rows_per_input(self) -> int:
        return self.num_samples * self.base_explainer.rows_per_input

    def explain(
        self, image: ImageInput, target_class: TargetClass = None, normalize: bool = True, *, progress=None
    ) -> np.ndarray:
        """(H, W) in [0, 1], the smoothed map lined up with ``image`` (see ``BaseInterpreter.explain``).

        ``progress(done, total)`` is called after every internal batch (units: model input rows,
        ``num_samples x base.rows_per_input``); an exception it raises stops the work at once.
        """
        with tracking(check_progress(progress), self.rows_per_input):
            return super().explain(image, target_class, normalize)

    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        base = self.base_explainer
        if self.noise_level == 0:  # every copy would be x itself: the base map, exactly
            with worth(inputs.shape[0] * self.rows_per_input):
                return base.attribute_batch(inputs, classes)
        with torch.no_grad():
            logits = logits_of(self.model(inputs))
        targets = self._targets(logits, classes)  # the clean input's prediction, not a noisy copy's
        per_image = targets.tolist()
        count, samples = inputs.shape[0], self.num_samples
        sigma = self.noise_level * (inputs.amax(dim=(1, 2, 3)) - inputs.amin(dim=(1, 2, 3)))
        draw = _NoiseDraws(self.seed, samples, inputs)
        batch = self.batch_size or max(1, self._sizer.rows(inputs) // base.rows_per_input)
        sums = None
        for start in range(0, count * samples, batch):
            stop = min(count * samples, start + batch)
            image = torch.arange(start, stop, device=inputs.device).div(samples, rounding_mode="floor")
            noise = draw(start, stop)
            noisy = inputs[image].addcmul_(sigma[image].view(-1, 1, 1, 1), noise)
            with worth((stop - start) * base.rows_per_input):
                maps = base.attribute_batch(noisy, [per_image[r // samples] for r in range(start, stop)]).maps
            if sums is None:
                sums = torch.zeros(
                    (count, *maps.shape[1:]), device=maps.device, dtype=torch.promote_types(maps.dtype, torch.float32)
                )
            sums.index_add_(0, image, maps.to(sums.dtype))
        return BatchAttribution(sums / samples, logits.detach(), targets)


class _NoiseDraws:
    """The noise of rows ``start .. stop-1`` of a batch's (image, sample) rows, image-major.

    An int seed gives every image the ``num_samples`` draws it gets when explained alone (one
    ``randn`` of all its samples from a generator seeded with it), so ``explain_batch`` equals
    ``explain``; those draws are the same for every image, so they are made once per call. A
    ``torch.Generator`` (or None: torch's global generator) is drawn from in row order, its
    state advancing from call to call.
    """

    def __init__(self, seed, samples: int, inputs: torch.Tensor):
        self.seed, self.samples = seed, samples
        self.shape, self.device, self.dtype = inputs.shape[1:], inputs.device, inputs.dtype
        self.seeded: torch.Tensor | None = None  # (samples, C, h, w), for an int seed

    def __call__(self, start: int, stop: int) -> torch.Tensor:
        options = {"device": self.device, "dtype": self.dtype}
        if not isinstance(self.seed, int):
            return torch.randn((stop - start, *self.shape), generator=self.seed, **options)
        if self.seeded is None:
            generator = torch.Generator(device=self.device).manual_seed(self.seed)
            self.seeded = torch.randn((self.samples, *self.shape), generator=generator, **options)
        return self.seeded[torch.arange(start, stop, device=self.device) % self.samples]


def _check_seed(seed, device: torch.device):
    if seed is None or isinstance(seed, torch.Generator):
        if isinstance(seed, torch.Generator) and seed.device.type != device.type:
            raise ValueError(f"seed is a generator on {seed.device} but the explainer runs on {device}; make it there.")
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None, an int or a torch.Generator; got {type(seed).__name__}.")
    return int(seed)
