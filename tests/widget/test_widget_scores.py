"""The widget's Scores (deletion and insertion AUC of the current map), its class panel's
probabilities (softmax or sigmoid), and the view composed in Python as the browser does."""

from __future__ import annotations

import numpy as np
import pytest

from autotimm_widgets import ExplainerWidget


def test_scores_of_the_current_map(widget, resnet18):
    from autotimm_widgets.interpretation.metrics import deletion_insertion

    assert widget.scores is None
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "scores"}}}, "buffers": []})
    widget.wait(120)
    scores = widget.scores
    direct = deletion_insertion(resnet18, widget._session.image, widget._current_map, widget.target_class, steps=50)
    assert scores["deletion_auc"] == pytest.approx(direct["deletion_auc"], abs=1e-6)
    assert scores["insertion_auc"] == pytest.approx(direct["insertion_auc"], abs=1e-6)
    assert len(scores["deletion_curve"]) == len(scores["insertion_curve"]) == 50
    assert widget._scores["state"]["target_class"] == widget.target_class
    widget.layer = "layer3"
    widget.wait(30)
    assert widget.scores is None  # scores belong to the map they were computed for
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "launch"}}}, "buffers": []})
    assert widget.status == "error" and "unknown message" in widget.error


def test_scores_use_the_class_panels_probabilities_and_the_widgets_preprocessing():
    from autotimm_widgets.demo import demo_image, load_demo_model
    from autotimm_widgets.interpretation import PreprocessConfig
    from autotimm_widgets.interpretation.metrics import deletion_insertion

    demo = load_demo_model("cnn")
    image = demo_image("two_classes").image
    preprocess = PreprocessConfig(input_size=(96, 96), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    for probabilities, score in (("sigmoid", "sigmoid"), ("softmax", "probability")):
        w = ExplainerWidget(demo.model, image, use_cuda=False, probabilities=probabilities, preprocess=preprocess)
        w.wait(60)
        w.compute_scores()
        w.wait(120)
        direct = deletion_insertion(
            demo.model, image, w.heatmap, w.target_class, steps=50, score=score, preprocess=preprocess
        )
        assert w.scores["insertion_auc"] == pytest.approx(direct["insertion_auc"], abs=1e-5)
        assert w.scores["deletion_auc"] == pytest.approx(direct["deletion_auc"], abs=1e-5)
        w.close()
    model_default = deletion_insertion(demo.model, image, w.heatmap, w.target_class, steps=50)
    assert model_default["insertion_auc"] != pytest.approx(direct["insertion_auc"], abs=1e-3)  # preprocess= mattered


def test_multi_label_models_show_independent_probabilities():
    from autotimm_widgets.demo import demo_image, load_demo_model

    demo = load_demo_model("cnn")
    scene = demo_image("two_classes")
    w = ExplainerWidget(demo.model, scene.image, use_cuda=False)
    shown = {c["name"]: c["probability"] for c in w._top_classes}
    present = [demo.class_names[c] for c in set(scene.classes)]
    assert len(present) == 2 and all(shown[name] > 0.5 for name in present)  # sigmoid: both present classes high
    assert [c["name"] for c in w._top_classes[:2]] and set(present) == {c["name"] for c in w._top_classes[:2]}
    w.close()
    w = ExplainerWidget(demo.model, scene.image, use_cuda=False, probabilities="softmax")
    assert sum(c["probability"] for c in w._top_classes) <= 1 + 1e-6
    w.close()
    with pytest.raises(ValueError, match="probabilities"):
        ExplainerWidget(demo.model, scene.image, probabilities="odds")


def test_python_composes_the_view_exactly_as_the_browser_rounds():
    """colormap.js: Math.round((1 - opacity) * image + opacity * lut[heat]); halves go up, not to even."""
    from autotimm_widgets.widget.serializers import composite

    rgb = np.full((1, 2, 3), [1, 3, 5], dtype=np.uint8)
    table = bytes(v for i in range(256) for v in (i, i, i))  # grey: row i is (i, i, i)
    heatmap = np.zeros((1, 2), dtype=np.float32)  # heat 0 -> colour (0, 0, 0)
    out = composite(rgb, heatmap, table, 0.5)
    # 0.5, 1.5, 2.5 -> 1, 2, 3 (numpy's round would give 0, 2, 2)
    assert out[0, 0].tolist() == [1, 2, 3]
