"""Pointing game and energy pointing game: known answers, boxes, tolerance, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autotimm_widgets.interpretation.metrics import energy_pointing_game, pointing_game


def box_mask(shape, x0, y0, x1, y1) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_a_map_that_equals_the_mask_scores_a_perfect_game():
    mask = box_mask((60, 80), 10, 20, 30, 45)
    heatmap = mask.astype(np.float32)
    assert pointing_game(heatmap, mask) is True
    assert energy_pointing_game(heatmap, mask) == 1.0
    assert pointing_game(heatmap, (10, 20, 30, 45)) is True
    assert energy_pointing_game(heatmap, (10, 20, 30, 45)) == 1.0


def test_a_peak_outside_the_region_misses_and_energy_is_the_share_inside():
    heatmap = np.zeros((40, 40), dtype=np.float32)
    heatmap[5, 5] = 1.0  # the peak, outside
    heatmap[20:23, 20] = 0.5  # 1.5 of mass inside
    region = (18, 18, 30, 30)
    assert pointing_game(heatmap, region) is False
    assert energy_pointing_game(heatmap, region) == pytest.approx(1.5 / 2.5)
    heatmap[21, 20] = 2.0  # now the peak is inside: 0.5 + 2.0 + 0.5 inside, 1.0 outside
    assert pointing_game(heatmap, region) is True
    assert energy_pointing_game(heatmap, region) == pytest.approx(3.0 / 4.0)


def test_ties_at_the_maximum_must_all_lie_inside():
    flat = np.full((10, 10), 0.3, dtype=np.float32)
    assert pointing_game(flat, (0, 0, 5, 5)) is False
    assert pointing_game(flat, np.ones((10, 10), dtype=bool)) is True
    two_peaks = np.zeros((10, 10), dtype=np.float32)
    two_peaks[1, 1] = two_peaks[8, 8] = 1.0
    assert pointing_game(two_peaks, (0, 0, 3, 3)) is False
    assert pointing_game(two_peaks, (0, 0, 10, 10)) is True


def test_an_all_zero_map_has_no_energy_inside():
    assert energy_pointing_game(np.zeros((8, 8)), (0, 0, 4, 4)) == 0.0


def test_tolerance_grows_the_region_by_a_disc():
    heatmap = np.zeros((30, 30), dtype=np.float32)
    heatmap[12, 17] = 1.0  # 3 px right of the box's last column (14)
    region = (5, 5, 15, 15)
    assert pointing_game(heatmap, region) is False
    assert pointing_game(heatmap, region, tolerance=2.9) is False
    assert pointing_game(heatmap, region, tolerance=3) is True
    diagonal = np.zeros((30, 30), dtype=np.float32)
    diagonal[17, 17] = 1.0  # 3 px right and 3 px below the corner (14, 14): distance 4.24
    assert pointing_game(diagonal, region, tolerance=4) is False
    assert pointing_game(diagonal, region, tolerance=4.25) is True


def test_a_box_holds_the_pixels_whose_centres_lie_inside():
    rng = np.random.default_rng(0)
    heatmap = rng.random((20, 30)).astype(np.float32)
    for x0, y0, x1, y1 in [(0, 0, 30, 20), (3, 4, 9, 17), (10, 2, 11, 3)]:
        mask = box_mask((20, 30), x0, y0, x1, y1)
        assert energy_pointing_game(heatmap, (x0, y0, x1, y1)) == energy_pointing_game(heatmap, mask)
    # (0.4, 0, 1.6, 1) covers the centres 0.5 and 1.5 of columns 0 and 1 in row 0.
    assert energy_pointing_game(heatmap, (0.4, 0.0, 1.6, 1.0)) == energy_pointing_game(
        heatmap, box_mask((20, 30), 0, 0, 2, 1)
    )
    # boxes may reach past the image; they are clipped
    assert energy_pointing_game(heatmap, (-5, -5, 100, 100)) == pytest.approx(1.0)


def reference_scores(heatmap: np.ndarray, mask: np.ndarray) -> tuple[bool, float]:
    """Straightforward per-map definitions, for comparison."""
    peak_pixels = np.argwhere(heatmap == heatmap.max())
    hit = all(mask[r, c] for r, c in peak_pixels)
    energy = heatmap[mask].sum() / heatmap.sum() if heatmap.sum() > 0 else 0.0
    return hit, energy


def test_a_batch_of_mixed_sizes_equals_the_reference_pair_by_pair():
    rng = np.random.default_rng(7)
    maps, masks = [], []
    for shape in [(16, 16), (20, 12), (16, 16), (9, 31), (20, 12)]:
        heatmap = rng.random(shape).astype(np.float32)
        heatmap[rng.random(shape) < 0.3] = 0
        maps.append(heatmap)
        masks.append(rng.random(shape) < 0.4)
    hits = pointing_game(maps, masks)
    energy = energy_pointing_game(maps, masks)
    assert hits.dtype == np.bool_ and energy.dtype == np.float64 and hits.shape == energy.shape == (5,)
    for i, (heatmap, mask) in enumerate(zip(maps, masks)):
        want_hit, want_energy = reference_scores(heatmap, mask)
        assert hits[i] == want_hit
        assert energy[i] == pytest.approx(want_energy, rel=1e-6)
    assert 0 < hits.sum() < 5, "the random cases should include hits and misses"


def test_stacks_tensors_and_box_arrays_are_accepted():
    rng = np.random.default_rng(1)
    maps = rng.random((3, 12, 12)).astype(np.float32)
    boxes = np.array([[0, 0, 6, 6], [6, 6, 12, 12], [0, 6, 6, 12]])
    from_lists = energy_pointing_game(list(maps), [tuple(b) for b in boxes])
    np.testing.assert_allclose(energy_pointing_game(maps, boxes), from_lists)
    np.testing.assert_allclose(energy_pointing_game(torch.from_numpy(maps), torch.from_numpy(boxes)), from_lists)
    masks = np.stack([box_mask((12, 12), *b) for b in boxes])
    np.testing.assert_array_equal(pointing_game(maps, masks), pointing_game(maps, boxes))
    np.testing.assert_array_equal(pointing_game(maps, masks.astype(np.uint8)), pointing_game(maps, boxes))
