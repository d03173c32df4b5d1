"""Shared fixtures for the browser's map making (``js/resample.js``): Python's answers, in JSON.

``python -m tests.helpers.browser_maps`` writes ``tests/js/fixtures/maps.json``; vitest compares
the browser's maps with it, and ``test_browser_maps.py`` checks that it is still what Python gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from autotimm_widgets.interpretation.attention.layout import TokenLayout
from autotimm_widgets.interpretation.attention.maps import Rollout
from autotimm_widgets.interpretation.base import BaseInterpreter
from autotimm_widgets.widget.serializers import map_bytes

FIXTURE = Path(__file__).resolve().parents[1] / "js" / "fixtures" / "maps.json"
RESIZES = [(7, 7, 64, 80), (14, 14, 55, 75), (2, 3, 5, 4), (1, 1, 6, 8), (12, 9, 12, 9), (3, 4, 61, 37)]


def _native(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((h, w), dtype=np.float32) * 3 - 0.5).astype(np.float32)  # some negative: clamped


def fixtures() -> dict:
    resizes = []
    for n, (h, w, height, width) in enumerate(RESIZES):
        native = _native(h, w, n)
        finished = BaseInterpreter.finish_maps(torch.from_numpy(native)[None, None], [(height, width)])[0][0]
        resizes.append(
            {"native": native.tolist(), "h": h, "w": w, "H": height, "W": width, "bytes": list(map_bytes(finished))}
        )
    layout = TokenLayout(
        prefix=1, grid=(4, 5), input_size=(64, 80), image_size=(45, 60), class_token=True, readout="cls"
    )
    matrix = np.random.default_rng(7).random((21, 21), dtype=np.float32)
    matrix /= matrix.sum(axis=1, keepdims=True)
    rollout = Rollout(torch.from_numpy(matrix), layout, torch.zeros(3))
    clicks = [{"token": token, "bytes": list(map_bytes(rollout.map(token, size=(45, 60))))} for token in (0, 1, 7, 20)]
    return {
        "resizes": resizes,
        "rollout": {"matrix": matrix.ravel().tolist(), "tokens": 21, "grid": {"prefix": 1, "rows": 4, "cols": 5},
                    "H": 45, "W": 60, "clicks": clicks},
    }  # fmt: skip


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(fixtures()) + "\n")
    print(f"wrote {FIXTURE}")
