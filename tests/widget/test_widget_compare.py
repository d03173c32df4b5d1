"""Compare mode in Python: its cells, their maps, the cache they share, cancel and bad values."""

from __future__ import annotations

import time

import numpy as np
import pytest
import traitlets

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.widget.compare import MAX_CELLS
from autotimm_widgets.widget.serializers import map_bytes, resize_map

from helpers.images import random_image


def settled(w, timeout=120):
    deadline = time.monotonic() + timeout
    while any(c["status"] == "computing" for c in w._compare["cells"]):
        assert time.monotonic() < deadline, "compare cells did not finish"
        time.sleep(0.02)
    return w._compare["cells"]


def thumb(w, full_map):
    return map_bytes(resize_map(full_map, (w._compare["height"], w._compare["width"])))


def test_classes_come_from_the_cache_and_match_the_main_maps(widget):
    before = widget._engine.computations
    widget.compare = "classes"
    cells = settled(widget)
    assert [c["value"] for c in cells] == [c["index"] for c in widget._top_classes][:MAX_CELLS]
    assert widget._engine.computations == before  # the top-k were prefetched with the first map
    assert all(c["status"] == "idle" for c in cells)
    other = cells[1]["value"]
    widget.target_class = other  # what clicking the cell does
    widget.wait(60)
    assert widget._compare["cells"] == cells  # the same cells: nothing restarted
    assert cells[1]["data"] == thumb(widget, resize_map(widget.heatmap, widget._display.shape[:2]))
    assert f"class {other} " in cells[1]["caption"]


def test_methods_and_layers_are_computed_on_the_worker_and_cancellable(widget):
    widget.compare = "methods"
    cells = settled(widget)
    assert [c["value"] for c in cells] == widget._methods[:MAX_CELLS]
    assert [c["label"] for c in cells][:2] == ["GradCAM", "GradCAM++"] and all(c["status"] == "idle" for c in cells)
    widget.method = cells[2]["value"]  # clicking a cell makes it the main view, from the cache
    widget.wait(60)
    assert widget._heatmap["data"] is not None and widget.status == "idle"
    assert np.array_equal(
        np.frombuffer(cells[2]["data"], np.uint8),
        np.frombuffer(thumb(widget, resize_map(widget.heatmap, widget._display.shape[:2])), np.uint8),
    )
    widget.method = "gradcam"
    widget.wait(60)
    widget.compare = "layers"
    layers = settled(widget)
    assert layers[0]["value"] == "" and layers[0]["label"].endswith("(auto)") and len(layers) == MAX_CELLS
    widget.steps = 3000  # the IG cell (methods) is long: cancel stops it
    widget.compare = "methods"
    time.sleep(0.3)
    assert widget.cancel() is True
    cells = settled(widget, timeout=10)
    assert {c["status"] for c in cells} <= {"idle", "cancelled"} and "cancelled" in {c["status"] for c in cells}
    widget.compare = ""
    assert widget._compare == {}


def test_compare_accepts_only_its_axes(resnet18):
    with pytest.raises(traitlets.TraitError, match="compare must be one of"):
        ExplainerWidget(resnet18, random_image(48, 48), use_cuda=False, compare="rows")
    w = ExplainerWidget(resnet18, random_image(48, 48), use_cuda=False, compare="classes")
    assert settled(w) and w._compare["axis"] == "classes"
    w.set_state({"compare": "everything"})
    assert w.status == "error" and "compare must be one of" in w.error and w.compare == "classes"
    w.close()
