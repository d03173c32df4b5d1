"""Every accepted image form gives a map at the image's size; everything else a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from autotimm_widgets.interpretation import GradCAM

from helpers.images import random_image
from helpers.models import ModelSnapshot


@pytest.fixture
def explainer(resnet18):
    return GradCAM(resnet18, use_cuda=False)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK", "LA", "I;16"])
def test_pil_modes(explainer, mode):
    image = Image.fromarray(random_image(70, 90)).convert(mode)
    heatmap = explainer.explain(image)
    assert heatmap.shape == (70, 90) and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0 and heatmap.max() <= 1


def test_gray_pil_and_gray_array_agree(explainer):
    gray = random_image(64, 64)[..., 0]
    from_pil = explainer.explain(Image.fromarray(gray, mode="L"))
    from_array = explainer.explain(gray)
    from_rgb = explainer.explain(np.repeat(gray[..., None], 3, axis=2))
    np.testing.assert_allclose(from_pil, from_array, atol=1e-6)
    np.testing.assert_allclose(from_array, from_rgb, atol=1e-6)


def test_rgba_array_ignores_alpha(explainer):
    rgb = random_image(50, 60)
    rgba = np.concatenate([rgb, np.full((50, 60, 1), 7, np.uint8)], axis=2)
    np.testing.assert_allclose(explainer.explain(rgba), explainer.explain(rgb), atol=1e-6)


def test_uint8_and_float_arrays_agree(explainer):
    image = random_image(40, 80)
    np.testing.assert_allclose(explainer.explain(image), explainer.explain(image.astype(np.float64) / 255), atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 32, 48), (1, 3, 32, 48)])
def test_tensor_shapes(explainer, shape):
    heatmap = explainer.explain(torch.randn(*shape))
    assert heatmap.shape == (32, 48)


def test_exif_orientation_is_applied(explainer):
    image = Image.fromarray(random_image(40, 100))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed
    tagged = Image.open(_save_jpeg(image, exif))
    assert explainer.explain(tagged).shape == (100, 40)


def _save_jpeg(image, exif):
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    "bad, error, words",
    [
        ("cat.png", TypeError, "PIL.Image"),
        ([[0, 1], [1, 0]], TypeError, "PIL.Image"),
        (None, TypeError, "PIL.Image"),
        (np.zeros((8, 8, 2), np.uint8), ValueError, "(H, W, 3)"),
        (np.zeros((3, 32, 32), np.uint8), ValueError, "channels-last"),
        (np.zeros((2, 8, 8, 3), np.uint8), ValueError, "(H, W, 3)"),
        (np.zeros((8, 8, 3), np.int64), TypeError, "uint8"),
        (np.zeros((8, 8, 3), np.bool_), TypeError, "uint8"),
        (np.full((8, 8, 3), 255.0), ValueError, "[0, 1]"),
        (np.full((8, 8, 3), np.nan, np.float32), ValueError, "NaN"),
        (np.full((8, 8, 3), np.inf), ValueError, "NaN or Inf"),
        (np.zeros((0, 8, 3), np.uint8), ValueError, "empty"),
        (torch.zeros(4, 32, 32), ValueError, "3 channels"),
        (torch.zeros(2, 3, 32, 32), ValueError, "explain_batch"),
        (torch.zeros(32, 32), ValueError, "(3, H, W)"),
        (torch.zeros(3, 32, 32, dtype=torch.uint8), TypeError, "floating point"),
        (torch.full((3, 32, 32), float("nan")), ValueError, "NaN"),
    ],
)
def test_bad_images_raise_clear_errors_and_leave_the_model_alone(resnet18, bad, error, words):
    snapshot = ModelSnapshot(resnet18)
    explainer = GradCAM(resnet18, use_cuda=False)
    with pytest.raises(error) as raised:
        explainer.explain(bad)
    assert words in str(raised.value)
    snapshot.assert_unchanged()
    assert explainer.explain(random_image()).shape == (96, 128)
