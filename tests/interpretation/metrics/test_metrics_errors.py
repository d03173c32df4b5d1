"""Bad input to the metrics: a clear ValueError/TypeError, and the model left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from autotimm_widgets.interpretation.metrics import (
    deletion,
    deletion_insertion,
    energy_pointing_game,
    faithfulness_curves,
    pointing_game,
)

from helpers.images import square_image
from helpers.models import BrightSpotNet, ModelSnapshot

IMAGE = square_image(40, 60, 10, 10, 12)
MAP = np.random.default_rng(0).random((40, 60)).astype(np.float32)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: deletion(m, IMAGE, MAP[:, :50], 0), ValueError, r"map 0 has shape \(40, 50\) but image 0 is 40x60"),
        (lambda m: deletion(m, IMAGE, MAP, 0, steps=1), ValueError, "steps must be >= 2"),
        (lambda m: deletion(m, IMAGE, MAP, 0, steps=0), ValueError, "steps must be >= 2"),
        (lambda m: deletion(m, IMAGE, MAP, 0, steps=2.5), TypeError, "steps must be an int"),
        (lambda m: deletion(m, IMAGE, MAP, 0, steps=True), TypeError, "steps must be an int"),
        (
            lambda m: deletion(m, IMAGE, MAP, 0, baseline="white"),
            ValueError,
            "baseline must be one of 'blur', 'black', 'mean'",
        ),
        (lambda m: deletion(m, IMAGE, MAP, 0, baseline=None), ValueError, "baseline must be one of"),
        (
            lambda m: deletion(m, IMAGE, MAP, 0, score="prob"),
            ValueError,
            "score must be one of 'probability', 'sigmoid', 'logit'",
        ),
        (lambda m: deletion(m, IMAGE, MAP, 0, batch_size=0), ValueError, "batch_size must be a positive int"),
        (lambda m: deletion(m, [IMAGE, IMAGE], [MAP], 0), ValueError, "got 1 maps for 2 images"),
        (lambda m: deletion(m, IMAGE, np.stack([MAP, MAP]), 0), ValueError, r"got 2 maps for 1 images.*\(K, H, W\)"),
        (
            lambda m: deletion(m, [IMAGE, IMAGE], [MAP, MAP], [0]),
            ValueError,
            "target_classes has 1 entries but there are 2 images",
        ),
        (lambda m: deletion(m, IMAGE, MAP, 5), ValueError, r"target_class 5 is out of range.*0\.\.1"),
        (lambda m: deletion(m, IMAGE, MAP, 0.5), TypeError, "must be an int class index"),
        (lambda m: deletion(m, [], [], 0), ValueError, "images is empty"),
        (lambda m: deletion(m, IMAGE, MAP * np.nan, 0), ValueError, "NaN or Inf"),
        (lambda m: deletion(m, IMAGE, "map", 0), TypeError, "maps must be an"),
        (lambda m: deletion(m, IMAGE, MAP > 0.5, 0), TypeError, "real numbers"),
        (lambda m: deletion(m, IMAGE, MAP[None, None], 0), TypeError, "maps must be an"),
        (lambda m: deletion(m, "image.png", MAP, 0), TypeError, "image must be"),
        (
            lambda m: faithfulness_curves(m, IMAGE, MAP, 0, kinds=("deletion", "removal")),
            ValueError,
            "kinds entry must be one of",
        ),
        (lambda m: faithfulness_curves(m, IMAGE, MAP, 0, kinds=()), ValueError, "kinds must name"),
        (lambda m: deletion_insertion(m, IMAGE, np.stack([MAP, MAP]), 0), ValueError, r"one \(H, W\) map"),
        (lambda m: deletion_insertion(m, [IMAGE], MAP, 0), TypeError, "scores one image"),
        (lambda m: deletion("not a model", IMAGE, MAP, 0), TypeError, "model must be a torch.nn.Module"),
    ],
)
def test_bad_faithfulness_arguments_raise_and_leave_the_model_unchanged(call, error, message):
    model = BrightSpotNet().train()
    snapshot = ModelSnapshot(model)
    with pytest.raises(error, match=message):
        call(model)
    snapshot.assert_unchanged()


MASK = np.zeros((40, 60), dtype=bool)
MASK[5:15, 5:25] = True


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: pointing_game(MAP, MASK[:, :50]), ValueError, r"mask 0 has shape \(40, 50\) but map 0 is 40x60"),
        (lambda: pointing_game(MAP, np.zeros_like(MASK)), ValueError, "mask 0 is empty"),
        (lambda: energy_pointing_game([MAP, MAP], [MASK, np.zeros_like(MASK)]), ValueError, "mask 1 is empty"),
        (lambda: pointing_game(MAP, MASK.astype(np.uint8) * 255), ValueError, "only 0 and 1.*mask > 0"),
        (lambda: pointing_game(MAP, (70, 0, 90, 10)), ValueError, "holds no pixel of the 40x60"),
        (lambda: pointing_game(MAP, (20, 0, 10, 10)), ValueError, "x0 < x1 and y0 < y1"),
        (lambda: pointing_game(MAP, (0, 0, 10)), ValueError, "4 numbers"),
        (lambda: pointing_game(MAP, (0, 0, 10, float("nan"))), ValueError, "non-finite"),
        (lambda: pointing_game([MAP, MAP], [MASK]), ValueError, "got 2 maps but 1 regions"),
        (lambda: pointing_game([], []), ValueError, "maps is empty"),
        (lambda: pointing_game(MAP, MASK, tolerance=-1), ValueError, "tolerance must be"),
        (lambda: pointing_game(MAP, "mask"), TypeError, "region 0 must be a bool mask"),
        (lambda: pointing_game("map", MASK), TypeError, "maps must be a list"),
        (lambda: energy_pointing_game(MAP - 0.5, MASK), ValueError, "negative values"),
    ],
)
def test_bad_localisation_arguments_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()
