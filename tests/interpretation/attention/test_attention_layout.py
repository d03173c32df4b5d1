"""Token layout: index <-> (row, col) <-> (x, y) round trips, maps line up with it, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autotimm_widgets.interpretation import AttentionFlow, Rollout, TokenLayout
from autotimm_widgets.interpretation.attention import token_layout

from helpers.attention_zoo import EXPECTED_LAYOUT, FAMILIES, timm_vit

layouts = st.builds(
    lambda prefix, rows, cols, height, width: TokenLayout(
        prefix, (rows, cols), (rows * 16, cols * 16), (height, width), prefix > 0, "cls"
    ),
    st.integers(0, 6),
    st.integers(1, 24),
    st.integers(1, 24),
    st.integers(1, 3000),
    st.integers(1, 3000),
)


@settings(max_examples=60, deadline=None)
@given(layouts)
def test_token_cell_xy_round_trip(layout):
    for token in range(layout.prefix, layout.num_tokens):
        row, col = layout.token_to_cell(token)
        assert layout.cell_to_token(row, col) == token
        x, y = layout.token_to_xy(token)
        assert 0 <= x <= layout.image_size[1] and 0 <= y <= layout.image_size[0]
        assert layout.xy_to_cell(x, y) == (row, col)
        assert layout.xy_to_token(x, y) == token


@settings(max_examples=60, deadline=None)
@given(layouts, st.floats(0, 1), st.floats(0, 1))
def test_any_point_maps_to_the_cell_around_it(layout, fx, fy):
    height, width = layout.image_size
    x, y = fx * width, fy * height
    cx, cy = layout.token_to_xy(layout.xy_to_token(x, y))
    assert abs(cx - x) <= 0.5 * width / layout.grid[1] + 1e-9
    assert abs(cy - y) <= 0.5 * height / layout.grid[0] + 1e-9


@pytest.mark.parametrize("token", [1, 2, 17, 40])
def test_maps_line_up_with_the_layout(token):
    """A one-hot row lands in the cell the layout names, on a non-square grid and an odd image size."""
    layout = TokenLayout(
        prefix=1, grid=(5, 8), input_size=(80, 128), image_size=(97, 131), class_token=True, readout="cls"
    )
    matrix = torch.eye(layout.num_tokens)
    heatmap = Rollout(matrix, layout, torch.zeros(3)).map(token)
    assert heatmap.shape == (97, 131)
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert layout.xy_to_token(x + 0.5, y + 0.5) == token
    hot = heatmap > 0.5
    ys, xs = np.nonzero(hot)
    assert {layout.xy_to_token(x + 0.5, y + 0.5) for y, x in zip(ys, xs, strict=True)} == {token}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_layout_is_read_from_the_model_without_a_forward_pass(family):
    model = FAMILIES[family]()
    layout = AttentionFlow(model, use_cuda=False).layout(image_size=(300, 400))
    prefix, grid, class_token, readout = EXPECTED_LAYOUT[family]
    assert (layout.prefix, layout.grid, layout.class_token, layout.readout) == (prefix, grid, class_token, readout)
    assert layout.image_size == (300, 400)


def test_non_square_dynamic_input():
    model = timm_vit()
    layout = token_layout(model, (160, 224), image_size=(480, 672))
    assert layout.grid == (10, 14) and layout.num_tokens == 141
    assert layout.token_to_xy(1 + 13) == pytest.approx((672 - 24, 24))
    flow = AttentionFlow(model, target_patch=140, use_cuda=False, preprocess={"input_size": (160, 224)})
    assert flow.explain(np.zeros((48, 67, 3), np.uint8)).shape == (48, 67)


def test_errors_name_the_valid_range():
    layout = TokenLayout(1, (10, 10), (160, 160), (90, 120), True, "cls")
    with pytest.raises(ValueError, match=r"valid indices are 0\.\.100 \(0 = CLS\).*patches are 1\.\.100"):
        layout.check_token(101)
    with pytest.raises(ValueError, match="out of range"):
        layout.check_token(-1)
    with pytest.raises(TypeError, match="int token index"):
        layout.check_token(1.0)
    with pytest.raises(TypeError, match="int token index"):
        layout.check_token(True)
    assert layout.check_token(np.int64(7)) == 7 and layout.check_token(torch.tensor(7)) == 7
    with pytest.raises(ValueError, match="outside the 120x90 image"):
        layout.xy_to_token(121, 5)
    with pytest.raises(ValueError, match="outside the 10x10 patch grid"):
        layout.cell_to_token(10, 0)
    with pytest.raises(ValueError, match="prefix token"):
        layout.token_to_xy(0)
    assert layout.describe() == "101 tokens (1 prefix token: CLS; 10x10 patches)"
