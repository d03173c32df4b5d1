"""Every image form gives a map at the image's size, for every registered method, or a
TypeError/ValueError that says what was wrong. Images and tensors are generated with hypothesis;
the expected outcome of each comes from the documented contract (``_images`` module docstring)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from autotimm_widgets.interpretation import BaseCAM

from helpers.battery import GOOD, assert_good_map, assert_refused
from helpers.images import random_image

HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- images: generated arrays ---------------------------------------------------------------------
DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]
CONTENTS = ["in_range", "above_one", "below_zero", "nan", "inf"]


@st.composite
def arrays(draw):
    """Arrays of every rank, channel layout, dtype and value range, including NaN and Inf."""
    h, w = draw(st.integers(0, 24)), draw(st.integers(1, 24))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4, 5]))
    layout = draw(st.sampled_from(["last", "first", "batch", "flat"]))
    shape = {
        "last": (h, w) if channels is None else (h, w, channels),
        "first": (channels or 3, h, w),
        "batch": (2, h, w, 3),
        "flat": (h * w,),
    }[layout]
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    content = draw(st.sampled_from(CONTENTS))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if dtype.kind == "f":
        array = rng.random(shape).astype(dtype)
        spot = (0,) * len(shape)
        if array.size and content != "in_range":
            array[spot] = {"above_one": 1.5, "below_zero": -0.5, "nan": np.nan, "inf": -np.inf}[content]
        return array
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -300), min(info.max, 300), size=shape, endpoint=True).astype(dtype)


def expected_for_array(array: np.ndarray):
    """(error type, words) the documented contract gives for ``array``, or None for a map."""
    shape = array.shape
    if array.ndim == 3 and shape[-1] in (1, 3, 4):
        shape = shape[:2]
    elif array.ndim == 3 and shape[0] in (1, 3, 4):
        return ValueError, ["channels-last", "transpose"]
    elif array.ndim != 2:
        return ValueError, ["(H, W), (H, W, 3) or (H, W, 4)", str(array.shape)]
    if 0 in shape:
        return ValueError, ["empty"]
    if array.dtype == np.uint8:
        return None
    if array.dtype.kind != "f":
        return TypeError, ["uint8", "float in [0, 1]", str(array.dtype)]
    if not np.isfinite(array).all():
        return ValueError, ["NaN or Inf"]
    if array.min() < 0 or array.max() > 1:
        return ValueError, ["[0, 1]", "Divide 0..255 data by 255"]
    return None


@HYPOTHESIS
@given(array=arrays())
def test_generated_arrays(case, array):
    expected = expected_for_array(array)
    if expected is None:
        assert_good_map(case.explainer.explain(array), array.shape[:2])
    else:
        assert_refused(case, lambda: case.explainer.explain(array), *expected)


# -- images: generated tensors --------------------------------------------------------------------
@st.composite
def tensors(draw):
    """Preprocessed tensors: right and wrong ranks, channels, dtypes, sizes; NaN and Inf."""
    h, w = draw(st.sampled_from([16, 32, 48])), draw(st.sampled_from([16, 32, 48]))
    if draw(st.booleans()):
        h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape = draw(
        st.sampled_from([(3, h, w), (1, 3, h, w), (1, h, w), (4, h, w), (2, 3, h, w), (h, w), (1, 1, 3, h, w)])
    )
    dtype = draw(st.sampled_from([torch.float32, torch.float16, torch.float64, torch.int64, torch.uint8, torch.bool]))
    tensor = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 2**16)))).to(dtype)
    if tensor.is_floating_point() and draw(st.booleans()):
        tensor.view(-1)[0] = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
    return tensor


def expected_for_tensor(tensor: torch.Tensor, arch: str):
    """(error type, words) for a tensor image, or None for a map (the module docstring of ``_images``)."""
    if not tensor.is_floating_point():
        return TypeError, ["floating point", str(tensor.dtype)]
    if tensor.ndim not in (3, 4) or (tensor.ndim == 4 and tensor.shape[0] != 1):
        return ValueError, ["(3, H, W) or (1, 3, H, W)"]
    if tensor.shape[-3] != 3:
        return ValueError, ["3 channels"]
    if not torch.isfinite(tensor).all():
        return ValueError, ["NaN or Inf"]
    h, w = tensor.shape[-2:]
    if arch == "vit" and (h % 16 or w % 16):  # test_vit: 16 px patches, any size, no padding
        return ValueError, [f"{h}x{w} pixels", "multiples of its 16x16 patches"]
    return None


@HYPOTHESIS
@given(tensor=tensors())
def test_generated_tensors(case, tensor):
    expected = expected_for_tensor(tensor, case.spec.arch)
    if expected is not None:
        assert_refused(case, lambda: case.explainer.explain(tensor), *expected)
        return
    try:
        heatmap = case.explainer.explain(tensor)
    except ValueError as error:  # a tiny input leaves a CNN no spatial layer, or a ViT no token 3: said so
        said = "Traced at an input of" if case.spec.arch == "cnn" else "target_patch 3 is out of range"
        assert said in str(error) and min(tensor.shape[-2:]) < 32, str(error)
        return
    assert_good_map(heatmap, tensor.shape[-2:])


# -- images: everything else ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["cat.png", b"\x89PNG", [[0, 1], [1, 0]], None, 3, {"image": GOOD}], ids=repr)
def test_other_types_are_refused(case, bad):
    words = ["PIL.Image", "np.ndarray", "torch.Tensor", type(bad).__name__]
    assert_refused(case, lambda: case.explainer.explain(bad), TypeError, words)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.ones((1, 1), np.float32),
        Image.new("RGB", (1, 1), "white"),
        Image.new("1", (5, 1)),
    ],
    ids=["array-1x1", "gray-float-1x1", "pil-1x1", "pil-bilevel-5x1"],
)
def test_one_pixel_images_give_a_map(case, image):
    size = (image.height, image.width) if isinstance(image, Image.Image) else image.shape[:2]
    assert_good_map(case.explainer.explain(image), size)


def test_one_pixel_tensor_gives_a_map_or_says_it_is_too_small(case):
    tiny = torch.zeros(3, 1, 1)
    if case.spec.arch == "vit" or isinstance(getattr(case.explainer, "base_explainer", case.explainer), BaseCAM):
        words = ["1x1 pixels", "patches" if case.spec.arch == "vit" else "Traced at an input of"]
        assert_refused(case, lambda: case.explainer.explain(tiny), ValueError, words)
    else:
        assert_good_map(case.explainer.explain(tiny), (1, 1))


def test_pil_modes_and_exif_orientation(case):
    """Every method sees a JPEG's pixels as displayed (EXIF orientation applied), in any mode."""
    image = Image.fromarray(random_image(36, 90, seed=3))
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))))
    heatmap = case.explainer.explain(Image.open(buffer))
    assert_good_map(heatmap, (90, 36))
    np.testing.assert_allclose(heatmap, case.explainer.explain(upright), atol=1e-5)
    for mode in ("L", "RGBA", "P", "I;16", "CMYK"):
        assert_good_map(case.explainer.explain(image.convert(mode)), (36, 90))


# -- images: forms that must agree ------------------------------------------------------------------------
def test_gray_pil_gray_array_and_gray_rgb_agree(case):
    gray = random_image(40, 48)[..., 0]
    from_pil = case.explainer.explain(Image.fromarray(gray, mode="L"))
    np.testing.assert_allclose(from_pil, case.explainer.explain(gray), atol=1e-5)
    np.testing.assert_allclose(from_pil, case.explainer.explain(np.repeat(gray[..., None], 3, axis=2)), atol=1e-5)


def test_an_rgba_array_ignores_alpha_and_uint8_equals_float(case):
    rgb = random_image(40, 48)
    rgba = np.concatenate([rgb, np.full((40, 48, 1), 7, np.uint8)], axis=2)
    np.testing.assert_allclose(case.explainer.explain(rgba), case.explainer.explain(rgb), atol=1e-5)
    # float64 / 255 and uint8 / 255 differ in the last float32 bit; normalising the map magnifies
    # that to ~1e-5 on XGradCAM (it failed at 1.04e-5 when run alone, before this note)
    np.testing.assert_allclose(
        case.explainer.explain(rgb.astype(np.float64) / 255), case.explainer.explain(rgb), atol=1e-4
    )


BAD_IMAGES = {
    "path": ("cat.png", TypeError, "PIL.Image"),
    "nested-list": ([[0, 1], [1, 0]], TypeError, "PIL.Image"),
    "two-channels": (np.zeros((8, 8, 2), np.uint8), ValueError, "(H, W, 3)"),
    "channels-first-array": (np.zeros((3, 32, 32), np.uint8), ValueError, "channels-last"),
    "array-batch": (np.zeros((2, 8, 8, 3), np.uint8), ValueError, "(H, W, 3)"),
    "int64": (np.zeros((8, 8, 3), np.int64), TypeError, "uint8"),
    "float-0-255": (np.full((8, 8, 3), 255.0), ValueError, "[0, 1]"),
    "empty": (np.zeros((0, 8, 3), np.uint8), ValueError, "empty"),
    "four-channel-tensor": (torch.zeros(4, 32, 32), ValueError, "3 channels"),
    "tensor-batch": (torch.zeros(2, 3, 32, 32), ValueError, "explain_batch"),
    "2d-tensor": (torch.zeros(32, 32), ValueError, "(3, H, W)"),
    "uint8-tensor": (torch.zeros(3, 32, 32, dtype=torch.uint8), TypeError, "floating point"),
    "nan-tensor": (torch.full((3, 32, 32), float("nan")), ValueError, "NaN"),
}


@pytest.mark.parametrize("bad", list(BAD_IMAGES))
def test_bad_images_are_named(case, bad):
    image, error, words = BAD_IMAGES[bad]
    assert_refused(case, lambda: case.explainer.explain(image), error, [words])
