"""Integrated Gradients: Captum agreement, known answers, baselines, batching, completeness, polarity, errors."""

from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG
from matplotlib.figure import Figure
from PIL import Image
from torch import nn

from autotimm_widgets.interpretation import IntegratedGradients
from autotimm_widgets.interpretation.path_baselines import BLUR_SIGMA_FRACTION
from autotimm_widgets.interpretation.quadrature import METHODS

from helpers.forward_counter import forward_batches
from helpers.images import random_image

SMALL = {"input_size": (32, 32)}  # ImageNet mean/std, bilinear resize to 32x32: fast tests


class HalvesNet(nn.Module):
    """A linear model: class 0 is the sum of the input's left half minus its right half; class 1 = -class 0.

    IG of a linear model is exact for any number of steps: attribution = w * (x - b) * sum(weights),
    with w = +1 on the left half and -1 on the right half (for class 0).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        score = x[..., :half].sum(dim=(1, 2, 3)) - x[..., half:].sum(dim=(1, 2, 3))
        return torch.stack([score, -score], dim=1)


def halves_weights(h: int, w: int) -> torch.Tensor:
    weights = torch.ones(3, h, w)
    weights[..., w // 2 :] = -1
    return weights


@pytest.fixture(scope="module")
def resnet18_double(resnet18):
    return copy.deepcopy(resnet18).double()


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return float((ours - reference).norm() / reference.norm())


# -- agreement with Captum ------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_attribute_matches_captum(resnet18_double, method):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 32, 32, generator=generator, dtype=torch.float64)
    baseline = torch.randn(1, 3, 32, 32, generator=generator, dtype=torch.float64) * 0.5
    explainer = IntegratedGradients(
        resnet18_double, baseline=baseline, steps=9, use_cuda=False, method=method, internal_batch_size=4
    )
    ours = explainer.attribute(x, target_class=3)
    reference = CaptumIG(resnet18_double).attribute(x, baselines=baseline, target=3, n_steps=9, method=method)[0]
    assert ours.shape == (3, 32, 32) and ours.dtype == torch.float64
    assert relative_error(ours, reference) <= 1e-4
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4 * float(reference.abs().max()))


def test_float32_model_matches_captum_with_the_named_baseline(resnet18):
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    explainer = IntegratedGradients(resnet18, baseline="random", steps=16, use_cuda=False)
    ours = explainer.attribute(x, target_class=5)
    baseline = explainer.baseline_for(x)[None]
    reference = CaptumIG(resnet18).attribute(x, baselines=baseline, target=5, n_steps=16)[0]
    assert relative_error(ours, reference) <= 1e-4


def test_batched_images_and_steps_match_captum(resnet18_double):
    """Chunks of 5 rows cross image boundaries (2 images x 8 steps); each image keeps its own class."""
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    explainer = IntegratedGradients(resnet18_double, steps=8, use_cuda=False, internal_batch_size=5)
    maps = explainer.explain_batch(x, target_classes=[1, 4], batch_size=2, normalize=False)
    baseline = explainer.baseline_for(x[0])[None].expand(2, -1, -1, -1)
    reference = CaptumIG(resnet18_double).attribute(x, baselines=baseline, target=[1, 4], n_steps=8)
    for ours, expected in zip(maps, reference.sum(dim=1).abs(), strict=True):
        np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


# -- known answers ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gausslegendre", "riemann_middle", "riemann_trapezoid"])
def test_linear_model_gets_weights_times_difference(method):
    x = torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(4))
    explainer = IntegratedGradients(
        HalvesNet(), steps=5, use_cuda=False, method=method, preprocess={"input_size": (8, 8)}
    )
    weights_sum = 1.0 - 1.0 / 5 if method == "riemann_trapezoid" else 1.0  # Captum's trapezoid weights
    expected = halves_weights(8, 8) * (x - explainer.baseline_for(x)) * weights_sum
    torch.testing.assert_close(explainer.attribute(x, target_class=0), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(explainer.attribute(x, target_class=1), -expected, rtol=1e-5, atol=1e-5)
    completeness = explainer.check_completeness(x, target_class=0)
    assert completeness["completeness_score"] == pytest.approx(1 - weights_sum, abs=1e-5)


@pytest.mark.parametrize("name", ["black", "white"])
def test_image_equal_to_its_baseline_gets_zero_everywhere(resnet18, name):
    value = 0 if name == "black" else 255
    explainer = IntegratedGradients(resnet18, baseline=name, steps=4, use_cuda=False, preprocess=SMALL)
    for image in (np.full((32, 32, 3), value, np.uint8), Image.new("RGB", (32, 32), (value,) * 3)):
        attribution = explainer.attribute(image, target_class=2)
        assert torch.count_nonzero(attribution) == 0
        assert not explainer.explain(image, target_class=2).any()
        result = explainer.check_completeness(image, target_class=2)
        assert result["attribution_sum"] == result["prediction_difference"] == 0.0
        assert result["completeness_score"] == 0.0 and result["is_satisfied"]
    # Resized whole to the input size, a black image stays exactly 0; a white one can keep pixels
    # at 1 - 6e-8 (the antialiasing weights' rounding), so its attribution is zero to that precision.
    scale = float(explainer.attribute(random_image(40, 56), target_class=2).abs().max())
    resized = explainer.attribute(np.full((40, 56, 3), value, np.uint8), target_class=2)
    assert float(resized.abs().max()) <= (0.0 if name == "black" else 1e-6 * scale)


def test_named_baselines_in_pixel_space(resnet18):
    image = random_image(32, 32, seed=5)
    explainer = IntegratedGradients(resnet18, use_cuda=False, preprocess=SMALL)
    normalize = explainer.preprocessor.normalize
    black, white = (
        explainer.__class__(resnet18, baseline=n, use_cuda=False, preprocess=SMALL).baseline_for(image)
        for n in ("black", "white")
    )
    torch.testing.assert_close(black, normalize(torch.zeros(1, 3, 32, 32))[0])
    torch.testing.assert_close(white, normalize(torch.ones(1, 3, 32, 32))[0])
    explainer.baseline = "random"
    noise = explainer.preprocessor.denormalize(explainer.baseline_for(image)[None])
    assert float(noise.min()) >= 0 and float(noise.max()) < 1 and float(noise.std()) > 0.25
    again = IntegratedGradients(resnet18, baseline="random", use_cuda=False, preprocess=SMALL).baseline_for(image)
    assert torch.equal(explainer.baseline_for(image), again)  # seeded: the same on every call


def test_blur_baseline_is_the_documented_gaussian_of_the_pixels(resnet18):
    size = 64
    explainer = IntegratedGradients(resnet18, baseline="blur", use_cuda=False, preprocess={"input_size": (size, size)})
    impulse = np.zeros((size, size, 3), np.uint8)
    impulse[size // 2, size // 2] = 255
    blurred = explainer.preprocessor.denormalize(explainer.baseline_for(impulse)[None])[0, 0].double()
    assert float(blurred.sum()) == pytest.approx(1.0, rel=1e-3)  # a blur keeps the total brightness
    rows = torch.arange(size, dtype=torch.float64) - size // 2
    variance = float((blurred.sum(dim=1) * rows**2).sum() / blurred.sum())
    sigma = BLUR_SIGMA_FRACTION * size
    assert variance == pytest.approx(sigma**2, rel=0.05)
    gray = np.full((size, size, 3), 120, np.uint8)  # a flat image is its own blur: zero attribution
    assert float(explainer.attribute(gray, target_class=0).abs().max()) < 1e-4


def test_user_baselines(resnet18):
    image = random_image(32, 32, seed=6)
    black = IntegratedGradients(resnet18, steps=4, use_cuda=False, preprocess=SMALL)
    expected = black.attribute(image, target_class=1)
    as_array = IntegratedGradients(
        resnet18, baseline=np.zeros((10, 20, 3), np.uint8), steps=4, use_cuda=False, preprocess=SMALL
    )
    as_pil = IntegratedGradients(resnet18, baseline=Image.new("RGB", (7, 7)), steps=4, use_cuda=False, preprocess=SMALL)
    as_tensor = IntegratedGradients(
        resnet18, baseline=black.baseline_for(image), steps=4, use_cuda=False, preprocess=SMALL
    )
    for explainer in (as_array, as_pil, as_tensor):
        torch.testing.assert_close(explainer.attribute(image, target_class=1), expected)


# -- batching and completeness -----------------------------------------------------------------
def test_steps_run_as_batches_never_one_at_a_time(resnet18):
    image = random_image(32, 32, seed=7)
    explainer = IntegratedGradients(resnet18, steps=10, use_cuda=False, internal_batch_size=4, preprocess=SMALL)
    with forward_batches(resnet18) as batches:
        explainer.explain(image)
    assert batches == [1, 4, 4, 2]  # the input's own logits, then 10 steps in chunks of 4
    explainer.internal_batch_size = None  # sized to fit memory: 10 small rows fit in one chunk
    explainer.explain(image)
    with forward_batches(resnet18) as batches:
        explainer.explain_batch([image, image, image], batch_size=3)
    assert batches == [3, 30]


def test_explain_batch_equals_explain(resnet18):
    images = [random_image(40, 30, seed=8), random_image(32, 32, seed=9), torch.randn(3, 32, 32)]
    explainer = IntegratedGradients(resnet18, steps=6, use_cuda=False, internal_batch_size=7, preprocess=SMALL)
    batched = explainer.explain_batch(images, target_classes=[0, None, 7], batch_size=3)
    for image, target, heatmap in zip(images, [0, None, 7], batched, strict=True):
        np.testing.assert_allclose(heatmap, explainer.explain(image, target_class=target), atol=1e-5)


def test_completeness_score_falls_as_steps_rise(resnet18):
    image = random_image(64, 64, seed=0)
    explainer = IntegratedGradients(
        resnet18, use_cuda=False, preprocess={"input_size": (64, 64)}
    )  # black, gausslegendre
    scores = []
    for steps in (8, 32, 128):
        explainer.steps = steps
        scores.append(explainer.check_completeness(image)["completeness_score"])
    assert scores[0] > scores[1] > scores[2]
    assert scores[2] <= 0.05 < scores[0]


def test_check_completeness_computes_ig_once_and_reports(resnet18):
    image = random_image(32, 32, seed=10)
    explainer = IntegratedGradients(resnet18, steps=12, use_cuda=False, internal_batch_size=12, preprocess=SMALL)
    with forward_batches(resnet18) as batches:
        result = explainer.check_completeness(image, target_class=4, tolerance=0.3)
    assert batches == [1, 12, 1]  # input logits, the 12 steps, the baseline's logits
    assert set(result) == {
        "completeness_score",
        "is_satisfied",
        "attribution_sum",
        "prediction_difference",
        "tolerance",
        "target_class",
    }
    attribution = explainer.attribute(image, target_class=4)
    assert result["attribution_sum"] == pytest.approx(float(attribution.double().sum()), rel=1e-5)
    inputs = explainer.prepare(image).tensor
    with torch.no_grad():
        difference = resnet18(inputs)[0, 4] - resnet18(explainer.baseline_for(image)[None])[0, 4]
    assert result["prediction_difference"] == pytest.approx(float(difference), rel=1e-5)
    score = abs(result["attribution_sum"] - result["prediction_difference"]) / abs(result["prediction_difference"])
    assert result["completeness_score"] == pytest.approx(score)
    assert result["is_satisfied"] == (score <= 0.3) and result["tolerance"] == 0.3 and result["target_class"] == 4
    strict = explainer.check_completeness(image, target_class=4, tolerance=0.0)
    assert strict["is_satisfied"] is (strict["completeness_score"] == 0.0)


def test_float64_model_stays_float64(resnet18_double):
    explainer = IntegratedGradients(resnet18_double, steps=3, use_cuda=False, preprocess=SMALL)
    image = random_image(32, 32, seed=11)
    assert explainer.attribute(image).dtype == torch.float64
    heatmap = explainer.explain(image)
    assert heatmap.dtype == np.float32 and heatmap.shape == (32, 32) and heatmap.min() >= 0 and heatmap.max() == 1


# -- polarity figure ------------------------------------------------------------------------------
def test_polarity_figure_shows_signs_apart(tmp_path):
    explainer = IntegratedGradients(HalvesNet(), steps=3, use_cuda=False, preprocess={"input_size": (8, 8)})
    white = np.full((16, 16, 3), 255, np.uint8)  # x - black > 0 everywhere: left half for class 0, right half against
    open_before = plt.get_fignums()
    path = tmp_path / "polarity.png"
    figure = explainer.visualize_polarity(white, target_class=0, save_path=path)
    assert isinstance(figure, Figure) and plt.get_fignums() == open_before
    panels = [ax for ax in figure.axes if ax.images and ax.get_title()]
    assert [ax.get_title().split()[0] for ax in panels] == ["image", "positive", "negative"]
    assert len(figure.axes) == 5  # three panels and two colour bars
    positive, negative = (np.asarray(ax.images[0].get_array()) for ax in panels[1:])
    assert positive.shape == negative.shape == (16, 16)
    assert positive[:, :7].min() > 0 and not positive[:, 9:].any()
    assert negative[:, 9:].min() > 0 and not negative[:, :7].any()
    assert panels[1].images[0].get_clim() == panels[2].images[0].get_clim()  # one shared scale
    assert Image.open(path).size[0] > 100
    assert "class 0" in figure.get_suptitle()


def test_polarity_figure_of_a_tensor_image(resnet18):
    explainer = IntegratedGradients(resnet18, steps=2, use_cuda=False)
    figure = explainer.visualize_polarity(torch.randn(3, 32, 48))
    pixels = np.asarray(figure.axes[0].images[0].get_array())
    assert pixels.shape == (32, 48, 3) and pixels.min() >= 0 and pixels.max() <= 1
    assert plt.get_fignums() == []
