"""What makes the widget's map trustworthy, in Python: the caption, the export with its colour
bar, no stale map, cancel, the true label, the PNG beside the widget and one worker thread."""

from __future__ import annotations

import base64
import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.widget.legend import BAR_HEIGHT, PAD, bar_colours
from autotimm_widgets.widget.worker import THREAD_NAME, WORKER

from helpers.images import random_image
from helpers.models import ModelSnapshot

NAMES = [f"thing {i}" for i in range(10)]
CANCEL_WITHIN_S = 1.0


@pytest.fixture
def named(resnet18):
    w = ExplainerWidget(resnet18, random_image(120, 160), class_names=NAMES, use_cuda=False, label=3)
    w.wait(60)
    yield w
    w.close()


def start_long(w, **traits):
    """Set ``traits`` (a long computation) and return once it has started."""
    for name, value in traits.items():
        setattr(w, name, value)
    deadline = time.monotonic() + 30
    while w.status != "computing" and time.monotonic() < deadline:
        time.sleep(0.005)
    assert w.status == "computing"


def test_the_caption_names_method_layer_class_probability_and_settings(named):
    c = named.target_class
    p = named._probabilities[c]
    assert named.caption == (
        f"GradCAM · layer layer4 (auto) · class {c} \u201cthing {c}\u201d, p = {100 * p:.1f}% · true class 3 \u201cthing 3\u201d"
    )
    assert named._heatmap["caption"] == named.caption
    named.layer = "layer3"
    named.smoothgrad, named.noise_level, named.num_samples = True, 0.2, 4
    named.wait(60)
    assert "layer layer3 ·" in named.caption and "SmoothGrad (noise 0.2, samples 4)" in named.caption
    named.smoothgrad = False
    named.method = "integrated_gradients"
    named.steps = 8
    named.wait(60)
    assert named.caption.startswith("Integrated Gradients · class")
    assert "steps 8, baseline black" in named.caption and "layer" not in named.caption
    assert named.export_name == f"explanation-integrated_gradients-class{c}-thing_{c}.png"


def test_attention_captions_say_the_class_is_ignored_and_name_the_patch(vit_tiny):
    w = ExplainerWidget(vit_tiny, random_image(64, 64), use_cuda=False, method="attention_flow", target_patch=5)
    w.wait(60)
    predicted = w._top_classes[0]["index"]
    assert f"any class (predicted {predicted} " in w.caption and "from token 5" in w.caption
    assert "gradient_rollout" in w._methods
    w.close()


def test_export_is_the_view_with_a_colour_bar_and_the_caption_below(named):
    view = np.asarray(named.to_image())
    exported = np.asarray(named.export_image())
    height, width = view.shape[:2]
    assert exported.shape[1] == width and exported.shape[0] > height + PAD + BAR_HEIGHT + 16
    np.testing.assert_array_equal(exported[:height], view)
    bar = exported[height + PAD : height + PAD + BAR_HEIGHT, PAD : width - PAD]
    np.testing.assert_array_equal(
        bar, np.broadcast_to(bar_colours(named._colormaps["jet"], width - 2 * PAD), bar.shape)
    )
    named.colormap = "gray"
    gray_bar = np.asarray(named.export_image())[height + PAD, PAD : width - PAD]
    assert gray_bar[0].tolist() == [0, 0, 0] and gray_bar[-1].tolist() == [255, 255, 255]
    caption_area = exported[height + PAD + BAR_HEIGHT + 2 :]
    assert (caption_area < 100).any(), "no caption text was drawn"


def test_the_output_carries_a_png_of_the_view_beside_the_widget(named):
    bundle, _ = named._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    np.testing.assert_array_equal(np.asarray(png.convert("RGB")), np.asarray(named.export_image()))


def test_no_stale_map_while_computing_after_an_error_or_a_cancel(named):
    assert named.heatmap is not None
    start_long(named, method="integrated_gradients", steps=2000)
    assert named.heatmap is None and np.array_equal(np.asarray(named.to_image()), named._display)
    assert named.cancel() is True
    named.wait(10)
    assert named.status == "cancelled" and named.heatmap is None
    named.method = "gradcam"
    named.wait(60)
    assert named.status == "idle" and named.heatmap is not None
    named.layer = "fc"  # not spatial: an error
    named.wait(60)
    assert named.status == "error" and named.heatmap is None


@pytest.mark.parametrize(
    "traits",
    [
        {"method": "integrated_gradients", "steps": 3000},
        {"smoothgrad": True, "num_samples": 400},
        {"scores": True},
    ],
    ids=["integrated_gradients", "smoothgrad", "scores"],
)
def test_cancel_stops_a_long_computation_within_a_second(resnet18, traits):
    w = ExplainerWidget(resnet18, random_image(120, 160), use_cuda=False)
    w.wait(60)
    snapshot = ModelSnapshot(resnet18)
    progress = []
    w.observe(lambda change: progress.append(change["new"]), "progress")
    if traits.pop("scores", False):
        w.compute_scores()
        while w.status != "computing" or not progress or progress[-1] <= 0:
            time.sleep(0.005)  # Scores report progress like IG
    else:
        start_long(w, **traits)
        time.sleep(0.3)
    started = time.monotonic()
    assert w.cancel() is True
    assert w._engine.wait(CANCEL_WITHIN_S * 5)
    took = time.monotonic() - started
    assert w.status == "cancelled" and w.error == ""
    print(f"cancel took {took:.3f} s")
    assert took < CANCEL_WITHIN_S, f"cancel took {took:.2f} s"
    assert w.cancel() is False  # nothing left to stop
    snapshot.assert_unchanged()
    w.recompute() if not traits else setattr(w, "steps" if "steps" in traits else "num_samples", 2)
    w.wait(120)
    assert w.status == "idle"
    w.close()


def test_scores_report_progress_to_one(named):
    progress = []
    named.observe(lambda change: progress.append(change["new"]), "progress")
    named.compute_scores()
    named.wait(120)
    assert named.scores is not None and progress[-1] == 1.0
    assert any(0 < p < 1 for p in progress) or len(progress) >= 2


def test_the_view_cancels_and_recomputes_through_messages(named):
    start_long(named, method="integrated_gradients", steps=2000)
    named._on_view_message(named, {"type": "cancel"}, [])
    named.wait(10)
    assert named.status == "cancelled"
    named.steps = 4
    named.wait(60)
    named.steps = 2000
    start_long(named)
    named._on_view_message(named, {"type": "cancel"}, [])
    named.wait(10)
    named.steps = 4  # back to a cached state: no computation, the map at once
    named.wait(10)
    assert named.status == "idle" and named.heatmap is not None
    named._on_view_message(named, {"type": ["cancel"]}, [])
    assert named.status == "error" and "unknown message" in named.error


def test_the_true_label_is_shown_and_checked(resnet18):
    image = random_image(64, 64)
    w = ExplainerWidget(resnet18, image, class_names=NAMES, use_cuda=False, label="thing 7")
    assert w._label == {"index": 7, "name": "thing 7"}
    w.close()
    for bad, error in [(10, ValueError), ("dog", ValueError), (2.0, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="label"):
            ExplainerWidget(resnet18, image, class_names=NAMES, use_cuda=False, label=bad)
    plain = ExplainerWidget(resnet18, image, use_cuda=False)
    assert plain._label == {} and "true class" not in plain.caption
    plain.close()


def test_many_widgets_share_one_worker_thread(resnet18):
    image = random_image(48, 48)
    first = ExplainerWidget(resnet18, image, use_cuda=False).wait(60)
    before = threading.active_count()
    widgets = [ExplainerWidget(resnet18, image, use_cuda=False) for _ in range(20)]
    for w in widgets:
        w.wait(60)
    assert threading.active_count() <= before + 1
    assert {w._engine._worker for w in widgets} == {WORKER}
    assert sum(t.name == THREAD_NAME for t in threading.enumerate()) >= 1
    for w in [first, *widgets]:
        w.close()


def test_a_saved_notebook_keeps_a_picture_of_the_widget(tmp_path):
    """Run by nbclient, as a saved notebook is: the output holds a PNG beside the widget view, so
    GitHub and nbviewer, which cannot restore the widget, show the picture."""
    import nbclient
    import nbformat

    source = (
        "import numpy as np, timm, torch\n"
        "from autotimm_widgets import ExplainerWidget\n"
        "torch.manual_seed(0)\n"
        "model = timm.create_model('resnet18', pretrained=False, num_classes=10).eval()\n"
        "w = ExplainerWidget(model, np.full((40, 50, 3), 128, np.uint8), use_cuda=False)\n"
        "w"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    data = notebook.cells[0].outputs[-1]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    png = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
    assert png.size[0] == 50 and png.size[1] > 40  # the view, then the colour bar and the caption
