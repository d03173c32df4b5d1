"""Maps line up with the user's image: a constructed model's answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus

from helpers.images import square_image


def peak(heatmap: np.ndarray) -> tuple[int, int]:
    return np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)


@pytest.mark.parametrize("method", [GradCAM, GradCAMPlusPlus])
@pytest.mark.parametrize("form", ["pil", "array", "float_array"])
def test_heatmap_peaks_on_the_bright_square_of_a_non_square_image(bright_spot_net, method, form):
    height, width, top, left, size = 180, 320, 110, 40, 40
    image = square_image(height, width, top, left, size)
    given = {"pil": Image.fromarray(image), "array": image, "float_array": image.astype(np.float32) / 255}[form]
    heatmap = method(bright_spot_net, use_cuda=False).explain(given, target_class=0)

    assert heatmap.shape == (height, width) and heatmap.dtype == np.float32
    assert heatmap.min() == 0.0 and heatmap.max() == pytest.approx(1.0)
    row, col = peak(heatmap)
    assert top <= row < top + size and left <= col < left + size
    inside = heatmap[top : top + size, left : left + size].mean()
    outside = np.delete(heatmap, np.s_[top - 10 : top + size + 10], axis=0).mean()
    assert inside > 0.5 > 10 * outside


def test_square_moves_and_the_peak_follows(bright_spot_net):
    explainer = GradCAM(bright_spot_net, use_cuda=False)
    for top, left in [(10, 10), (10, 260), (130, 150)]:
        row, col = peak(explainer.explain(square_image(180, 320, top, left, 40), target_class=0))
        assert top <= row < top + 40 and left <= col < left + 40


def test_dark_class_highlights_everything_but_the_square(bright_spot_net):
    image = square_image(160, 160, 60, 60, 40)
    heatmap = GradCAM(bright_spot_net, use_cuda=False).explain(image, target_class=1)
    assert heatmap[70:90, 70:90].max() < 0.05
    assert heatmap[16:50, 16:50].min() > 0.9  # away from the zero padding at the border


def test_tensor_input_keeps_its_own_size(bright_spot_net):
    image = square_image(64, 96, 20, 50, 16)
    tensor = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    tensor = (tensor - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[
        :, None, None
    ]
    heatmap = GradCAM(bright_spot_net, use_cuda=False).explain(tensor, target_class=0)
    assert heatmap.shape == (64, 96)
    row, col = peak(heatmap)
    assert 20 <= row < 36 and 50 <= col < 66


def test_normalize_false_returns_the_raw_cam_at_image_size(bright_spot_net):
    image = square_image(120, 200, 40, 100, 40)
    explainer = GradCAM(bright_spot_net, use_cuda=False)
    raw = explainer.explain(image, target_class=0, normalize=False)
    scaled = explainer.explain(image, target_class=0)
    assert raw.shape == (120, 200) and raw.min() >= 0
    assert raw.max() > 0 and not np.isclose(raw.max(), 1.0)
    np.testing.assert_allclose(raw / raw.max(), scaled, atol=1e-6)
    feature_cam = explainer.attribute(image, target_class=0)
    assert feature_cam.shape == (56, 56)
    assert raw.max() == pytest.approx(float(feature_cam.max()), rel=1e-5)
