"""ExplainerWidget in a plain Python process (no kernel): traits, engine, cache, errors."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import traitlets

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus, method_info

from helpers.images import random_image, square_image
from helpers.models import ModelSnapshot


def test_initial_state_is_the_predicted_class_with_a_map(widget, resnet18):
    assert widget.status == "idle" and widget.error == ""
    explainer = GradCAM(resnet18, use_cuda=False)
    assert widget.target_class == int(explainer.predict(random_image(120, 160)).argmax())
    np.testing.assert_allclose(
        widget.heatmap, explainer.explain(random_image(120, 160), widget.target_class), atol=1e-5
    )
    assert widget.heatmap.shape == (120, 160) and widget.heatmap.dtype == np.float32
    assert widget._methods[0] == "gradcam" and {"gradcam++", "integrated_gradients"} <= set(widget._methods)
    assert not any(method_info(m).capabilities.needs_attention for m in widget._methods)  # not a ViT
    assert [c["name"] for c in widget._top_classes][:1] == [f"class {widget.target_class}"]


def test_heatmap_travels_as_raw_uint8_bytes(widget):
    payload = widget._heatmap
    assert isinstance(payload["data"], bytes)
    assert len(payload["data"]) == payload["height"] * payload["width"] == 120 * 160
    decoded = np.frombuffer(payload["data"], np.uint8).reshape(120, 160) / 255
    np.testing.assert_allclose(decoded, widget.heatmap, atol=1 / 255)
    assert payload["state"]["target_class"] == widget.target_class
    assert isinstance(widget._image["data"], bytes) and len(widget._image["data"]) == 120 * 160 * 3
    assert all(isinstance(v, bytes) and len(v) == 768 for v in widget._colormaps.values())


def test_switching_among_top_classes_is_served_from_the_cache(widget, resnet18):
    computations = widget._engine.computations
    for entry in widget._top_classes[1:]:
        widget.target_class = entry["index"]
        widget.wait(10)
        expected = GradCAM(resnet18, use_cuda=False).explain(random_image(120, 160), target_class=entry["index"])
        np.testing.assert_allclose(widget.heatmap, expected, atol=1e-5)
    assert widget._engine.computations == computations


def test_method_and_layer_changes_recompute(widget, resnet18):
    widget.layer = "layer3"
    widget.wait(30)
    expected = GradCAM(resnet18, target_layer="layer3", use_cuda=False).explain(
        random_image(120, 160), widget.target_class
    )
    np.testing.assert_allclose(widget.heatmap, expected, atol=1e-5)
    widget.method = "gradcam++"
    widget.wait(30)
    expected = GradCAMPlusPlus(resnet18, target_layer="layer3", use_cuda=False).explain(
        random_image(120, 160), widget.target_class
    )
    np.testing.assert_allclose(widget.heatmap, expected, atol=1e-5)


def test_going_back_to_an_earlier_setting_is_instant(widget):
    first = widget.heatmap.copy()
    widget.layer = "layer2"
    widget.wait(30)
    computations = widget._engine.computations
    widget.layer = ""
    widget.wait(5)
    assert widget._engine.computations == computations
    np.testing.assert_array_equal(widget.heatmap, first)


def test_burst_of_changes_ends_on_the_final_state(widget, resnet18):
    indices = [c["index"] for c in widget._top_classes]
    for i in range(40):
        widget.layer = ["layer2", "layer3", ""][i % 3]
        widget.target_class = indices[i % len(indices)]
    widget.wait(60)
    expected = GradCAM(resnet18, target_layer=widget.layer or None, use_cuda=False).explain(
        random_image(120, 160), widget.target_class
    )
    np.testing.assert_allclose(widget.heatmap, expected, atol=1e-5)
    assert widget._heatmap["state"] == {
        "method": "gradcam",
        "layer": widget.layer,
        "target_class": widget.target_class,
        "smoothgrad": False,
        "eigen_smooth": False,  # GradCAM's own options are part of what the map is of
        "aug_smooth": False,
    }


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("method", "magic", "method must be one of"),
        ("target_class", 5000, r"\[0, 9\]"),
        ("target_class", -1, r"\[0, 9\]"),
        ("layer", "layer5", "'layer4'"),
        ("opacity", 1.5, r"opacity must be in \[0.0, 1.0\]"),
        ("colormap", "rainbowish", "colormap must be one of"),
        ("baseline", "grey", "unknown baseline 'grey'"),
        ("head_fusion", "median", "head_fusion must be one of"),
        ("discard_ratio", 1.0, r"discard_ratio must be in \[0, 1\)"),
        ("steps", 0, "steps must be at least 1"),
        ("num_samples", 0, "num_samples must be at least 1"),
        ("noise_level", -0.1, "noise_level must be a finite number >= 0"),
    ],
)
def test_invalid_values_from_python_raise_a_clear_trait_error(widget, name, value, words):
    before = getattr(widget, name)
    with pytest.raises(traitlets.TraitError, match=words):
        setattr(widget, name, value)
    assert getattr(widget, name) == before


@pytest.mark.parametrize(
    "update",
    [
        {"target_class": 10**6},
        {"method": 3},
        {"layer": "nope"},
        {"target_class": "2"},
        {"opacity": "x"},
        {"steps": None},
    ],
)
def test_bad_values_from_the_view_become_an_error_status(widget, update):
    widget.set_state(update)  # must not raise: the comm handler calls this
    assert widget.status == "error" and "rejected" in widget.error
    good = widget._top_classes[1]["index"]
    widget.target_class = good
    widget.wait(10)
    assert widget.status == "idle" and widget.error == "" and widget.target_class == good


def test_a_failing_computation_shows_in_the_widget_and_it_recovers(resnet18):
    w = ExplainerWidget(resnet18, random_image(), use_cuda=False, layer="fc")
    w.wait(30)
    assert w.status == "error" and "spatial" in w.error
    w.layer = "layer4"
    w.wait(30)
    assert w.status == "idle" and w.error == "" and w.heatmap is not None
    w.close()


def test_class_names_and_top_k():
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=4).eval()
    w = ExplainerWidget(model, random_image(), class_names=["a", "b", "c", "d"], top_k=2, use_cuda=False)
    assert w._classes == ["a", "b", "c", "d"] and len(w._top_classes) == 2
    assert sum(c["probability"] for c in w._top_classes) <= 1
    w.close()
    with pytest.raises(ValueError, match="3 names but the model has 4"):
        ExplainerWidget(model, random_image(), class_names=["a", "b", "c"], use_cuda=False)
    imagenet = timm.create_model("test_resnet", pretrained=False).eval()
    w = ExplainerWidget(imagenet, random_image(), use_cuda=False)
    assert w._classes[1].startswith("goldfish")
    w.close()


def test_constructor_errors(resnet18):
    with pytest.raises(TypeError, match="unknown ExplainerWidget options"):
        ExplainerWidget(resnet18, random_image(), colour="red")
    with pytest.raises(ValueError, match="methods must be"):
        ExplainerWidget(resnet18, random_image(), methods=["gradcam", "lime"])
    with pytest.raises(ValueError, match="top_k"):
        ExplainerWidget(resnet18, random_image(), top_k=0)
    with pytest.raises(TypeError, match=r"PIL\.Image"):
        ExplainerWidget(resnet18, "image.png")


def test_options_set_initial_traits_and_large_images_are_shown_smaller(resnet18):
    w = ExplainerWidget(
        resnet18, random_image(900, 1200), use_cuda=False, method="gradcam++", opacity=0.3, max_side=256
    )
    w.wait(30)
    assert (w.method, w.opacity) == ("gradcam++", 0.3)
    assert (w._image["height"], w._image["width"]) == (192, 256)
    assert w.heatmap.shape == (900, 1200)
    w.close()


def test_the_map_lines_up_with_the_image(bright_spot_net):
    w = ExplainerWidget(
        bright_spot_net, square_image(150, 300, 50, 200, 40), class_names=["bright", "dark"], use_cuda=False
    )
    w.target_class = 0
    w.wait(10)
    row, col = np.unravel_index(int(np.argmax(w.heatmap)), w.heatmap.shape)
    assert 50 <= row < 90 and 200 <= col < 240
    w.close()


def test_view_settings_never_reach_the_engine(widget):
    computations, published = widget._engine.computations, widget._heatmap
    widget.opacity = 0.9
    widget.colormap = "viridis"
    widget.wait(5)
    assert widget._engine.computations == computations and widget._heatmap is published
    assert np.asarray(widget.to_image()).shape == (120, 160, 3)


def test_the_model_is_left_unchanged(resnet18):
    resnet18.train()
    snapshot = ModelSnapshot(resnet18)
    w = ExplainerWidget(resnet18, random_image(), use_cuda=False)
    w.wait(30)
    w.layer = "layer2"
    w.wait(30)
    w.close()
    snapshot.assert_unchanged()
    resnet18.eval()


def test_integrated_gradients_and_smoothgrad_through_the_widget(resnet18):
    from autotimm_widgets.interpretation import IntegratedGradients, SmoothGrad

    image = random_image(64, 80)
    w = ExplainerWidget(resnet18, image, use_cuda=False, method="integrated_gradients", steps=8, baseline="blur")
    w.wait(60)
    expected = IntegratedGradients(resnet18, baseline="blur", steps=8, use_cuda=False).explain(image, w.target_class)
    np.testing.assert_allclose(w.heatmap, expected, atol=1e-4)
    w.smoothgrad, w.num_samples, w.noise_level = True, 4, 0.2
    w.wait(60)
    smooth = SmoothGrad(
        IntegratedGradients(resnet18, baseline="blur", steps=8, use_cuda=False), noise_level=0.2, num_samples=4, seed=0
    )
    np.testing.assert_allclose(w.heatmap, smooth.explain(image, w.target_class), atol=1e-4)
    w.method = "gradcam"
    w.wait(60)
    smooth = SmoothGrad(GradCAM(resnet18, use_cuda=False), noise_level=0.2, num_samples=4, seed=0)
    np.testing.assert_allclose(w.heatmap, smooth.explain(image, w.target_class), atol=1e-4)
    w.close()


def test_superseded_long_work_is_abandoned_between_batches(resnet18):
    w = ExplainerWidget(resnet18, random_image(64, 80), use_cuda=False, method="integrated_gradients", steps=4)
    w.wait(60)
    progress_seen = []
    w.observe(lambda change: progress_seen.append(change["new"]), "progress")
    w.steps = 1000  # long: many internal batches
    while not progress_seen or w.status != "computing":
        w._engine.wait(0.01)
    w.steps = 2
    w.wait(60)
    assert w._heatmap["state"]["steps"] == 2 and w.status == "idle"
    assert max(progress_seen[:-1] or [0]) < 1.0, "the 1000-step computation was not abandoned"
    w.close()


def test_attention_methods_on_a_vit(vit_tiny):
    from autotimm_widgets.interpretation import AttentionFlow, AttentionRollout

    image = random_image(90, 120)
    w = ExplainerWidget(vit_tiny, image, use_cuda=False, method="attention_rollout")
    assert w._methods[-3:] == ["attention_rollout", "attention_flow", "gradient_rollout"]
    assert w._grid == {"prefix": 1, "rows": 14, "cols": 14, "tokens": 197}
    w.wait(60)
    rollout = AttentionRollout(vit_tiny, use_cuda=False).rollout(image)
    np.testing.assert_allclose(w.heatmap, rollout.map(), atol=1e-5)
    assert w.discard_ratio == 0.9  # the rollout's own default...
    w.method = "attention_flow"
    assert w.discard_ratio == 0.0  # ...and the flow's, each from its constructor
    w.wait(60)
    flow = AttentionFlow(vit_tiny, use_cuda=False).flow(image)
    computations = w._engine.computations
    for token in (1, 100, 196):
        w.target_patch = token
        w.wait(10)
        np.testing.assert_allclose(w.heatmap, flow.map(token), atol=1e-5)
    assert w._engine.computations == computations + 3  # three cheap readings of one forward pass
    assert len([k for k in w._session._explainers if k[0] == "token maps"]) == 1
    w.discard_ratio = 0.5
    w.method = "attention_rollout"
    assert w.discard_ratio == 0.9  # each method keeps its own values
    w.method = "attention_flow"
    assert w.discard_ratio == 0.5
    with pytest.raises(traitlets.TraitError, match=r"\[0, 196\]"):
        w.target_patch = 197
    w.close()
