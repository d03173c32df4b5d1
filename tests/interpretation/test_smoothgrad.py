"""SmoothGrad: the documented noise, batching for any base, reproducibility, exactness at zero noise, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autotimm_widgets.interpretation import (
    BaseInterpreter,
    BatchAttribution,
    GradCAM,
    GradCAMPlusPlus,
    IntegratedGradients,
    SmoothGrad,
    _memory,
)

from helpers.forward_counter import forward_batches
from helpers.images import random_image
from helpers.models import ModelSnapshot, hook_count
from helpers.progress import Cancelled, assert_progress_bar_switch, cancel

SMALL = {"input_size": (32, 32)}


class SquaredInput(BaseInterpreter):
    """Stands in for any future method: its map is the squared input averaged over channels.

    It records the batch sizes its batched ``_attribute`` is called with.
    """

    def __init__(self, model, **kwargs):
        super().__init__(model, use_cuda=False, **kwargs)
        self.batches: list[int] = []

    def _attribute(self, inputs, classes):
        self.batches.append(inputs.shape[0])
        with torch.no_grad():
            logits = self.model(inputs)
        targets = self._targets(logits, classes)
        maps = inputs.pow(2).mean(dim=1, keepdim=True).expand(-1, targets.shape[1], -1, -1)
        return BatchAttribution(maps, logits, targets)


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)
    ).eval()


def half_and_half() -> torch.Tensor:
    """(3, 32, 32): 0 on the left half, 1 on the right half, so max - min = 1."""
    x = torch.zeros(3, 32, 32)
    x[..., 16:] = 1
    return x


# -- the noise -----------------------------------------------------------------------------------
def test_noise_sigma_is_noise_level_times_the_input_range(tiny_model):
    """E[(x + n)^2] = x^2 + sigma^2: the averaged squared input reveals sigma, in the model's input space."""
    smooth = SmoothGrad(SquaredInput(tiny_model), noise_level=0.3, num_samples=200, seed=0)
    smoothed = smooth.explain(half_and_half(), normalize=False)
    assert smoothed[:, :16].mean() == pytest.approx(0.3**2, rel=0.03)
    assert smoothed[:, 16:].mean() == pytest.approx(1 + 0.3**2, rel=0.01)
    scaled = SmoothGrad(SquaredInput(tiny_model), noise_level=0.3, num_samples=200, seed=0).explain(
        4 * half_and_half(), normalize=False
    )
    assert scaled[:, :16].mean() == pytest.approx((0.3 * 4) ** 2, rel=0.03)  # sigma follows the range


def test_equals_the_average_of_per_sample_maps(resnet18):
    """The batched result equals a plain loop over the same noisy copies, explained for the clean prediction."""
    base = GradCAM(resnet18, target_layer="layer2", use_cuda=False)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = SmoothGrad(base, noise_level=0.2, num_samples=6, batch_size=6, seed=3).explain(x, normalize=False)
    noise = torch.randn((6, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    sigma = 0.2 * (x.max() - x.min())
    with torch.no_grad():
        predicted = int(resnet18(x).argmax())
    loop = [base.explain(x[0] + sigma * n, target_class=predicted, normalize=False) for n in noise]
    np.testing.assert_allclose(ours, np.mean(loop, axis=0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("base_kind", ["gradcam", "gradcam++", "ig", "future"])
def test_noise_level_zero_is_exactly_the_base_map(resnet18, base_kind):
    base = {
        "gradcam": lambda: GradCAM(resnet18, use_cuda=False),
        "gradcam++": lambda: GradCAMPlusPlus(resnet18, use_cuda=False),
        "ig": lambda: IntegratedGradients(resnet18, steps=3, use_cuda=False, preprocess=SMALL),
        "future": lambda: SquaredInput(resnet18, preprocess=SMALL),
    }[base_kind]()
    image = random_image(40, 30, seed=2)
    smooth = SmoothGrad(base, noise_level=0, num_samples=5)
    assert np.array_equal(smooth.explain(image), base.explain(image))
    assert np.array_equal(smooth.explain(image, target_class=[1, 2]), base.explain(image, target_class=[1, 2]))


@pytest.mark.parametrize("base_kind", ["gradcam", "gradcam++", "ig"])
def test_maps_are_finite_in_unit_range_and_lined_up(resnet18, base_kind):
    base = {
        "gradcam": lambda: GradCAM(resnet18, use_cuda=False),
        "gradcam++": lambda: GradCAMPlusPlus(resnet18, use_cuda=False),
        "ig": lambda: IntegratedGradients(resnet18, steps=3, use_cuda=False, preprocess=SMALL),
    }[base_kind]()
    smooth = SmoothGrad(base, num_samples=4, seed=0)
    heatmap = smooth.explain(random_image(40, 30, seed=3))
    assert heatmap.shape == (40, 30) and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() == 0 and heatmap.max() == 1
    maps = smooth.explain_batch([random_image(40, 30, seed=4), random_image(20, 24, seed=5)], batch_size=2)
    assert [m.shape for m in maps] == [(40, 30), (20, 24)]
    assert all(np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1 for m in maps)


# -- reproducibility -----------------------------------------------------------------------------
def test_seed_makes_results_reproducible(tiny_model):
    x = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(6))

    def run(seed):
        return SmoothGrad(SquaredInput(tiny_model), num_samples=4, seed=seed).explain(x)

    assert np.array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))
    smooth = SmoothGrad(SquaredInput(tiny_model), num_samples=4, seed=0)
    assert np.array_equal(smooth.explain(x), smooth.explain(x))  # an int seed restarts every call
    first, second = (
        SmoothGrad(SquaredInput(tiny_model), num_samples=4, seed=torch.Generator().manual_seed(9)) for _ in range(2)
    )
    assert np.array_equal(first.explain(x), second.explain(x))
    assert not np.array_equal(first.explain(x), first.explain(x))  # a generator's state advances
    unseeded = SmoothGrad(SquaredInput(tiny_model), num_samples=4)
    torch.manual_seed(11)
    a = unseeded.explain(x)
    torch.manual_seed(11)
    assert np.array_equal(a, unseeded.explain(x))


# -- batching --------------------------------------------------------------------------------------
def test_samples_run_as_batches_for_any_base(tiny_model):
    base = SquaredInput(tiny_model)
    SmoothGrad(base, num_samples=10, batch_size=4, seed=0).explain(half_and_half())
    assert base.batches == [4, 4, 2]
    base.batches.clear()
    SmoothGrad(base, num_samples=10, seed=0).explain_batch([half_and_half()] * 3, batch_size=3)
    assert base.batches == [30]  # default: as many as fit memory, all 3 images x 10 samples at once


def test_gradcam_samples_share_forward_passes(resnet18):
    smooth = SmoothGrad(GradCAM(resnet18, use_cuda=False), num_samples=10, batch_size=4, seed=0)
    image = random_image(32, 32, seed=7)
    smooth.explain(image)  # one-off traces (layer choice, memory rule) are not part of the count
    with forward_batches(resnet18) as batches:
        smooth.explain(image)
    assert batches == [1, 4, 4, 2]  # the clean image's prediction, then the noisy copies


def test_smoothgrad_of_ig_chunks_samples_times_steps(resnet18):
    ig = IntegratedGradients(resnet18, steps=5, use_cuda=False, internal_batch_size=4, preprocess=SMALL)
    smooth = SmoothGrad(ig, num_samples=3, batch_size=2, seed=0)
    with forward_batches(resnet18) as batches:
        smooth.explain(random_image(32, 32, seed=8))
    # clean prediction; then per call of 2 (then 1) noisy copies: their logits, then 10 (5) rows by 4
    assert batches == [1, 2, 4, 4, 2, 1, 4, 1]


def test_default_batches_fit_the_memory_budget(resnet18, monkeypatch):
    row_bytes = _memory.activation_bytes(resnet18, torch.zeros(1, 3, 32, 32))
    monkeypatch.setattr(_memory, "memory_budget", lambda device: 7 * _memory.ROW_FACTOR * row_bytes)
    smooth = SmoothGrad(IntegratedGradients(resnet18, steps=3, use_cuda=False, preprocess=SMALL), num_samples=4, seed=0)
    image = random_image(32, 32, seed=9)
    smooth.explain(image)
    with forward_batches(resnet18) as batches:
        smooth.explain(image)
    # 7 rows fit: 2 noisy copies (6 rows) per IG call, each in one chunk of 6
    assert batches == [1, 2, 6, 2, 6]


# -- progress and cancellation -----------------------------------------------------------------------
def test_smoothgrad_progress_after_every_internal_batch(resnet18, tiny_model):
    calls = []
    SmoothGrad(SquaredInput(tiny_model), num_samples=10, batch_size=4, seed=0).explain(
        half_and_half(), progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(4, 10), (8, 10), (10, 10)]
    calls.clear()
    ig = IntegratedGradients(resnet18, steps=3, use_cuda=False, internal_batch_size=4, preprocess=SMALL)
    SmoothGrad(ig, num_samples=4, batch_size=2, seed=0).explain(
        random_image(32, 32), progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(4, 12), (6, 12), (10, 12), (12, 12)]  # IG's own chunks of 4 rows


@pytest.mark.parametrize("base_kind", ["gradcam", "ig"])
def test_smoothgrad_a_raising_progress_callback_cancels_at_once(train_model, base_kind):
    model = train_model
    snapshot = ModelSnapshot(model)
    base = (
        GradCAM(model, use_cuda=False)
        if base_kind == "gradcam"
        else IntegratedGradients(model, steps=4, use_cuda=False, internal_batch_size=2, preprocess=SMALL)
    )
    smooth = SmoothGrad(base, num_samples=6, batch_size=2, seed=0)

    with forward_batches(model) as batches, pytest.raises(Cancelled):
        smooth.explain(random_image(32, 32), progress=cancel)
    # clean prediction, then the first batch of 2 copies (GradCAM: after its one-off layer trace;
    # IG: the copies' logits and IG's first chunk of 2 rows), and nothing after it
    assert batches == ([1, 1, 2] if base_kind == "gradcam" else [1, 2, 2])
    snapshot.assert_unchanged()
    assert hook_count(model) == 0


def test_smoothgrad_explain_batch_progress_bar_can_be_turned_off(tiny_model, capsys):
    smooth = SmoothGrad(SquaredInput(tiny_model), num_samples=2, seed=0)
    assert_progress_bar_switch(smooth, [half_and_half()] * 3, "SmoothGrad", capsys)


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"noise_level": -0.1}, ValueError, ["noise_level", "-0.1"]),
        ({"noise_level": float("nan")}, ValueError, ["noise_level"]),
        ({"noise_level": "high"}, TypeError, ["noise_level", "str"]),
        ({"num_samples": 0}, ValueError, ["num_samples", "at least 1"]),
        ({"num_samples": 2.5}, TypeError, ["num_samples", "int"]),
        ({"batch_size": 0}, ValueError, ["batch_size", "at least 1"]),
        ({"seed": "abc"}, TypeError, ["seed", "Generator"]),
    ],
)
def test_smoothgrad_bad_arguments_are_refused_by_name(tiny_model, kwargs, error, words):
    with pytest.raises(error) as info:
        SmoothGrad(SquaredInput(tiny_model), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_base_that_is_not_an_explainer_is_refused(train_model):
    model = train_model
    snapshot = ModelSnapshot(model)
    for base in (model, "gradcam", None):
        with pytest.raises(ValueError, match="base_explainer must be an explainer"):
            SmoothGrad(base)
    snapshot.assert_unchanged()


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.explain(random_image(32, 32), target_class=10),
        lambda s: s.explain(np.full((8, 8, 3), np.nan, np.float32)),
        lambda s: s.explain(random_image(32, 32), progress=3),
        lambda s: s.explain_batch([random_image(32, 32)] * 2, target_classes=[1]),
    ],
    ids=["class-range", "nan-image", "progress-type", "class-count"],
)
def test_smoothgrad_call_errors_leave_the_model_unchanged(train_model, call):
    model = train_model
    snapshot = ModelSnapshot(model)
    smooth = SmoothGrad(GradCAM(model, use_cuda=False), num_samples=2, seed=0)
    with pytest.raises((TypeError, ValueError)):
        call(smooth)
    snapshot.assert_unchanged()
    assert smooth.explain(random_image(32, 32)).shape == (32, 32)
    snapshot.assert_unchanged()
