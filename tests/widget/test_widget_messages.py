"""Messages from the browser are untrusted: each bad one sets status="error", never raises, never sticks.

Messages go through the real comm path, ``ExplainerWidget._handle_msg`` with ipywidgets'
``update`` message shape (``{"content": {"data": {"method": "update", "state": ...,
"buffer_paths": []}}, "buffers": []}``), as the kernel's comm manager delivers them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import AttentionRollout, GradCAM
from autotimm_widgets.widget.state import FRONT_END_FIELDS
from autotimm_widgets.widget.view_guard import MAX_ERROR_CHARS

from helpers.images import random_image
from helpers.reliability_cases import PREPROCESS, build_model, update

IMAGE = random_image(48, 64, seed=5)


@pytest.fixture(scope="module")
def vit():
    return build_model("vit")


@pytest.fixture
def widget(vit):
    w = ExplainerWidget(vit, IMAGE, use_cuda=False, preprocess=PREPROCESS)
    w.wait(60)
    sent = []
    w._send = lambda msg, buffers=None: sent.append(msg)  # what goes back to the view
    w.sent = sent
    yield w
    w.wait(60)
    w.close()


def front_end_state(w) -> dict:
    return {name: getattr(w, name) for name in FRONT_END_FIELDS}


def assert_recovers(w, vit) -> None:
    """A good change after the bad one computes normally."""
    other = next(c["index"] for c in w._top_classes if c["index"] != w.target_class)
    w._handle_msg(update({"method": "gradcam", "layer": "", "target_class": other}))
    w.wait(60)
    assert (w.status, w.error, w.target_class) == ("idle", "", other)
    expected = GradCAM(vit, use_cuda=False, preprocess=PREPROCESS).explain(IMAGE, target_class=other)
    np.testing.assert_allclose(w.heatmap, expected, atol=1e-5)


BAD_UPDATES = {
    # wrong types
    "class-as-string": ({"target_class": "2"}, "expected an int"),
    "class-as-fraction": ({"target_class": 2.5}, "expected an int"),
    "class-none": ({"target_class": None}, "expected an int"),
    "class-bool": ({"target_class": True}, "target_class must be a number"),
    "method-number": ({"method": 3}, "expected a unicode string"),
    "layer-none": ({"layer": None}, "expected a unicode string"),
    "layer-list": ({"layer": ["blocks.5.norm1"]}, "expected a unicode string"),
    "smoothgrad-string": ({"smoothgrad": "yes"}, "expected a boolean"),
    "steps-string": ({"steps": "50"}, "expected an int"),
    "opacity-string": ({"opacity": "x"}, "expected a float"),
    "noise-none": ({"noise_level": None}, "expected a float"),
    "colormap-number": ({"colormap": 1}, "expected a unicode string"),
    "fusion-dict": ({"head_fusion": {"mean": 1}}, "expected a str"),
    "patch-list": ({"target_patch": [1]}, "expected an int"),
    # out of range, huge, NaN and Inf
    "class-too-big": ({"target_class": 10**6}, "target_class must be in [0, 4]"),
    "class-negative": ({"target_class": -1}, "target_class must be in [0, 4]"),
    "class-huge": ({"target_class": 10**400}, "target_class must be in [0, 4]"),
    "patch-too-big": ({"target_patch": 10**9}, "target_patch must be in [0, 16]"),
    "steps-zero": ({"steps": 0}, "steps must be at least 1"),
    "steps-huge": ({"steps": 10**12}, "steps must be at most 10000"),
    "samples-too-many": ({"num_samples": 1001}, "num_samples must be at most 1000"),
    "noise-too-big": ({"noise_level": 2.0}, "noise_level must be at most 1.0"),
    "noise-nan": ({"noise_level": math.nan}, "noise_level must be a finite number"),
    "opacity-inf": ({"opacity": math.inf}, "opacity must be in"),
    "discard-one": ({"discard_ratio": 1.0}, "discard_ratio must be in [0, 1)"),
    "discard-nan": ({"discard_ratio": math.nan}, "discard_ratio must be in"),
    "class-inf": ({"target_class": math.inf}, "expected an int"),
    # unknown names
    "method-unknown": ({"method": "lime"}, "method must be one of"),
    "layer-unknown": ({"layer": "blocks.99"}, "no layer named 'blocks.99'"),
    "layer-huge": ({"layer": "x" * 100_000}, "no layer named"),
    "baseline-unknown": ({"baseline": "grey"}, "unknown baseline 'grey'"),
    "fusion-unknown": ({"head_fusion": "median"}, "head_fusion must be one of"),
    "colormap-unknown": ({"colormap": "rainbowish"}, "colormap must be one of"),
    # keys the view may not set
    "unknown-key": ({"bogus": 1}, "the view may set only"),
    "status": ({"status": "idle"}, "['status']"),
    "error": ({"error": ""}, "['error']"),
    "method-list": ({"_methods": ["lime"]}, "['_methods']"),
    "grid": ({"_grid": {"tokens": 10**9}}, "['_grid']"),
    "heatmap": ({"_heatmap": {}}, "['_heatmap']"),
    # one bad value spoils the whole update: nothing of it is applied
    "good-and-bad": ({"target_class": 1, "steps": 0}, "steps must be at least 1"),
}


@pytest.mark.parametrize("name", list(BAD_UPDATES))
def test_bad_updates_become_an_error_status(widget, vit, name):
    state, words = BAD_UPDATES[name]
    before, requests, shown = front_end_state(widget), widget._engine._latest, widget._heatmap
    widget.sent.clear()
    widget._handle_msg(update(state))  # must not raise
    assert widget.status == "error" and "rejected a value from the view" in widget.error
    assert words in widget.error and len(widget.error) <= MAX_ERROR_CHARS
    assert front_end_state(widget) == before, "part of a rejected update was applied"
    assert widget._engine._latest == requests, "a rejected value reached the compute engine"
    assert widget._heatmap is shown
    echoed = {k for msg in widget.sent if msg.get("method") == "update" for k in msg["state"]}
    assert echoed >= {k for k in state if k in FRONT_END_FIELDS}, "the view was not sent the current values back"
    assert_recovers(widget, vit)


MALFORMED = {
    "state-none": (update(None), "a state update must be a dict"),
    "state-string": (update("target_class=2"), "a state update must be a dict"),
    "state-list": (update([["target_class", 2]]), "a state update must be a dict"),
    "no-content": ({"buffers": []}, "KeyError"),
    "no-data": ({"content": {}}, "KeyError"),
    "data-none": ({"content": {"data": None}}, "TypeError"),
    "no-method": ({"content": {"data": {"state": {"target_class": 1}}}}, "KeyError"),
    "unknown-method": ({"content": {"data": {"method": "exec", "state": {}}}}, "unknown message method 'exec'"),
    "buffers-without-buffers": (update({"target_class": 1}, buffer_paths=[["target_class"]]), "binary buffers"),
    "not-a-dict": (["update"], "TypeError"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_messages_become_an_error_status(widget, vit, name):
    message, words = MALFORMED[name]
    before, requests = front_end_state(widget), widget._engine._latest
    widget._handle_msg(message)  # must not raise
    assert widget.status == "error" and words in widget.error
    assert front_end_state(widget) == before and widget._engine._latest == requests
    assert_recovers(widget, vit)


def test_state_requests_and_custom_messages_still_work(widget):
    widget._handle_msg({"content": {"data": {"method": "request_state"}}, "buffers": []})
    assert any(msg.get("method") == "update" and "target_class" in msg["state"] for msg in widget.sent)
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "scores"}}}, "buffers": []})
    widget.wait(60)
    assert widget.status == "idle" and widget.error == "" and widget.scores is not None


def test_unknown_custom_messages_become_an_error_status_that_clears(widget, vit):
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"hello": 1}}}, "buffers": []})
    assert widget.status == "error" and "unknown message" in widget.error
    assert_recovers(widget, vit)


# Each field the view may set, with a value of the wrong type and (for numbers) one out of range.
BAD_VALUE_PER_FIELD = {
    "method": ("gradcam++", 1, "lime"),
    "target_class": (None, "1", 99),  # good: another top class
    "layer": ("blocks.4.norm1", 4, "nope"),
    "smoothgrad": (True, "true", None),
    "noise_level": (0.3, "0.3", -1.0),
    "num_samples": (4, 4.5, 0),
    "steps": (8, "8", 10_001),
    "baseline": ("white", 0, "grey"),
    "head_fusion": ("max", 0, "median"),
    "discard_ratio": (0.5, "0.5", 1.5),
    "target_patch": (5, "5", 17),
    "opacity": (0.7, "0.7", 1.01),
    "colormap": ("viridis", 0, "nope"),
    "eigen_smooth": (True, "true", None),
    "aug_smooth": (True, 1, None),
    "alpha": (0.5, "0.5", 11.0),
    "seed": (3, 2.5, -1),
    "kernel": ("rbf", 0, "nope"),
    "reduction": ("max_abs", 0, "mean"),
    "abs": (False, "false", None),
    "window": (16, "16", 0),
    "stride": (8, "8", 0),
    "features": ("superpixels", 0, "pixels"),
    "patch_size": (8, "8", 0),
    "segments": (32, "32", 0),
    "baselines": ("black+white", 0, "grey+white"),
    "n_samples": (5, 5.5, 0),
    "stdevs": (0.1, "0.1", 2.0),
    "compare": ("classes", 0, "rows"),
}


def test_every_value_the_view_may_set_is_validated_in_python(widget):
    """Type and range of every two-way trait are checked before anything reaches the explainers."""
    assert set(BAD_VALUE_PER_FIELD) == set(FRONT_END_FIELDS), "a field the view may set has no test"
    for name, (good, wrong_type, out_of_range) in BAD_VALUE_PER_FIELD.items():
        if good is None:
            good = next(c["index"] for c in widget._top_classes if c["index"] != widget.target_class)
        for bad in (wrong_type, out_of_range) if out_of_range is not None else (wrong_type,):
            before, requests = getattr(widget, name), widget._engine._latest
            widget._handle_msg(update({name: bad}))
            assert widget.status == "error" and name in widget.error, (name, bad, widget.error)
            assert getattr(widget, name) == before and widget._engine._latest == requests, (name, bad)
        widget._handle_msg(update({name: good}))  # accepted: the rejection's error goes away
        assert getattr(widget, name) == good and widget.error == "", (name, widget.error)
        widget.wait(60)
        assert (widget.status, widget.error) == ("idle", ""), (name, widget.error)


def test_an_accepted_update_brings_back_a_computation_error(vit):
    """A rejection hides nothing for good: after an accepted view-only change the real error shows again."""
    w = ExplainerWidget(vit, IMAGE, use_cuda=False, preprocess=PREPROCESS, layer="head")
    w.wait(60)
    failure = w.error
    assert w.status == "error" and "spatial" in failure
    w._handle_msg(update({"opacity": "x"}))
    assert "rejected" in w.error
    w._handle_msg(update({"opacity": 0.8}))
    assert (w.status, w.error) == ("error", failure)
    w.close()


def test_a_bad_message_during_a_computation_does_not_stick(vit):
    """The error shows at once; the running computation still publishes its map and clears it."""
    w = ExplainerWidget(vit, IMAGE, use_cuda=False, preprocess=PREPROCESS, method="integrated_gradients", steps=4)
    w.wait(60)
    w._handle_msg(update({"steps": 300}))
    w._handle_msg(update({"steps": "many"}))
    assert w.status == "error" and "expected an int" in w.error
    w.wait(120)
    assert (w.status, w.error, w._heatmap["state"]["steps"]) == ("idle", "", 300)
    w.close()


def test_rollout_state_from_the_view_matches_the_library(widget, vit):
    widget._handle_msg(
        update({"method": "attention_flow", "discard_ratio": 0.5, "head_fusion": "max", "target_patch": 9})
    )
    widget.wait(60)
    rollout = AttentionRollout(
        vit, head_fusion="max", discard_ratio=0.5, use_cuda=False, preprocess=PREPROCESS
    ).rollout(IMAGE)
    np.testing.assert_allclose(widget.heatmap, rollout.map(9), atol=1e-5)
    assert widget._heatmap["state"] == {
        "method": "attention_flow",
        "head_fusion": "max",
        "discard_ratio": 0.5,
        "target_patch": 9,
    }


def test_switching_methods_from_the_view_brings_back_each_methods_own_values():
    """A method chosen in the view gets its own parameter values, not the ones the previous method
    showed: eigen_smooth set on GradCAM stays GradCAM's; Saliency's 'max_abs' reduction is not
    Input x Gradient's 'sum'; occlusion's baseline is its own 'zero', not IG's 'black'."""
    import timm
    import torch

    torch.manual_seed(0)
    cnn = timm.create_model("test_resnet", pretrained=False, num_classes=5).eval()
    w = ExplainerWidget(cnn, IMAGE, use_cuda=False, preprocess=PREPROCESS)
    w.wait(60)
    w._handle_msg(update({"eigen_smooth": True}))
    seen = {}
    for name in ["gradcam++", "gradcam", "integrated_gradients", "occlusion", "saliency", "input_x_gradient"]:
        w._handle_msg(update({"method": name}))
        w.wait(120)
        seen[name] = (w.eigen_smooth, w.reduction, w.baseline)
    w.close()
    assert seen["gradcam++"][0] is False and seen["gradcam"][0] is True
    assert seen["integrated_gradients"][2] == "black" and seen["occlusion"][2] == "zero"
    assert seen["saliency"][1] == "max_abs" and seen["input_x_gradient"][1] == "sum"
