"""SmoothGrad, Integrated Gradients and ViT attention controls in real JupyterLab."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import open_page
from .notebook_page import NotebookPage

pytestmark = pytest.mark.e2e

CELLS = [
    """
import numpy as np, timm, torch
from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import AttentionRollout, GradCAM, IntegratedGradients, SmoothGrad
torch.manual_seed(0)
cnn = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
image = np.random.default_rng(0).integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
w = ExplainerWidget(cnn, image, use_cuda=False, num_samples=4)
w
""",
    """
torch.manual_seed(0)
vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10).eval()
v = ExplainerWidget(vit, image, use_cuda=False, method="attention_rollout")
v
""",
]


@pytest.fixture(scope="module")
def notebook(jupyter_lab, browser):
    jupyter_lab.write_notebook("methods.ipynb", CELLS)
    page = open_page(browser, {"width": 1400, "height": 1800})
    nb = NotebookPage(page, jupyter_lab, "methods.ipynb").open_and_run()
    nb.console_errors = page.console_errors
    nb.wait_idle(0)
    nb.wait_idle(1)
    yield nb
    page.context.close()


def settle(nb, name, index):
    nb.run(f"{name}.wait(120)")
    nb.wait_idle(index)


def change_and_wait(nb, index, action):
    before = nb.canvas_signature(index)
    action()
    return nb.wait_canvas_change(before, index)


def test_smoothgrad_toggle_and_sliders(notebook):
    root = notebook.root(0)
    assert root.get_by_test_id("atw-noise-level").is_hidden()
    change_and_wait(notebook, 0, lambda: root.get_by_test_id("atw-smoothgrad").check())
    settle(notebook, "w", 0)
    assert notebook.value("(w.smoothgrad, w.num_samples)") == [True, 4]
    assert root.get_by_test_id("atw-noise-level").is_visible()
    change_and_wait(notebook, 0, lambda: root.get_by_test_id("atw-num-samples").fill("6"))
    settle(notebook, "w", 0)
    change_and_wait(notebook, 0, lambda: root.get_by_test_id("atw-noise-level").fill("0.3"))
    settle(notebook, "w", 0)
    assert notebook.value("(w.num_samples, w.noise_level)") == [6, 0.3]
    expected = "SmoothGrad(GradCAM(cnn, use_cuda=False), noise_level=0.3, num_samples=6, seed=0).explain(image, w.target_class)"
    assert notebook.value(f"bool(np.allclose(w.heatmap, {expected}, atol=1e-4))")
    root.get_by_test_id("atw-smoothgrad").uncheck()
    settle(notebook, "w", 0)


def test_integrated_gradients_steps_and_baseline(notebook):
    root = notebook.root(0)
    root.get_by_test_id("atw-method").select_option("integrated_gradients")
    settle(notebook, "w", 0)
    assert root.get_by_test_id("atw-layer").is_hidden() and root.get_by_test_id("atw-steps").is_visible()
    change_and_wait(notebook, 0, lambda: root.get_by_test_id("atw-steps").fill("8"))
    settle(notebook, "w", 0)
    change_and_wait(notebook, 0, lambda: root.get_by_test_id("atw-baseline").select_option("white"))
    settle(notebook, "w", 0)
    assert notebook.value("(w.method, w.steps, w.baseline)") == ["integrated_gradients", 8, "white"]
    expected = "IntegratedGradients(cnn, baseline='white', steps=8, use_cuda=False).explain(image, w.target_class)"
    assert notebook.value(f"bool(np.allclose(w.heatmap, {expected}, atol=1e-4))")


def test_a_burst_of_slider_changes_ends_on_the_final_state(notebook):
    root = notebook.root(0)
    steps = root.get_by_test_id("atw-steps")
    for value in (3, 40, 5, 60, 2, 30, 7):
        steps.fill(str(value))
    settle(notebook, "w", 0)
    assert notebook.value("w.steps") == 7
    expected = "IntegratedGradients(cnn, baseline='white', steps=7, use_cuda=False).explain(image, w.target_class)"
    assert notebook.value(f"bool(np.allclose(w.heatmap, {expected}, atol=1e-4))")
    canvas = np.array(
        notebook.root(0)
        .get_by_test_id("atw-canvas")
        .evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"),
        dtype=np.int16,
    ).reshape(120, 160, 4)[..., :3]
    assert np.abs(canvas - np.array(notebook.value("np.asarray(w.to_image()).tolist()"), dtype=np.int16)).max() <= 1


def test_head_fusion_and_discard_ratio(notebook):
    root = notebook.root(1)
    assert root.get_by_test_id("atw-head-fusion").is_visible() and root.get_by_test_id("atw-layer").is_hidden()
    change_and_wait(notebook, 1, lambda: root.get_by_test_id("atw-head-fusion").select_option("max"))
    settle(notebook, "v", 1)
    change_and_wait(notebook, 1, lambda: root.get_by_test_id("atw-discard-ratio").fill("0.5"))
    settle(notebook, "v", 1)
    assert notebook.value("(v.head_fusion, v.discard_ratio)") == ["max", 0.5]
    expected = "AttentionRollout(vit, head_fusion='max', discard_ratio=0.5, use_cuda=False).explain(image)"
    assert notebook.value(f"bool(np.allclose(v.heatmap, {expected}, atol=1e-4))")


def test_patch_click_moves_the_flow_source(notebook):
    root = notebook.root(1)
    root.get_by_test_id("atw-method").select_option("attention_flow")
    root.get_by_test_id("atw-discard-ratio").fill("0")
    settle(notebook, "v", 1)
    canvas = root.get_by_test_id("atw-canvas")
    box = canvas.bounding_box()
    rows, cols, prefix = 14, 14, 1
    for row, col in [(2, 11), (10, 3)]:
        x, y = (col + 0.5) / cols, (row + 0.5) / rows  # the centre of patch (row, col)
        before = notebook.canvas_signature(1)
        canvas.click(position={"x": x * box["width"], "y": y * box["height"]})
        notebook.wait_canvas_change(before, 1)
        settle(notebook, "v", 1)
        token = prefix + row * cols + col
        assert notebook.value("v.target_patch") == token
        # attention_flow keeps its own head fusion (an earlier test set rollout's to 'max')
        assert notebook.value("(v.head_fusion, v.discard_ratio)") == [
            notebook.value("v._method_values['attention_flow']['head_fusion']"),
            0.0,
        ]
        expected = "AttentionRollout(vit, head_fusion=v.head_fusion, discard_ratio=0.0, use_cuda=False).rollout(image).map(v.target_patch)"
        assert notebook.value(f"bool(np.allclose(v.heatmap, {expected}, atol=1e-4))")
        # the clicked patch is outlined: white pixels along its top edge
        pixels = np.array(
            canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"),
            dtype=np.uint8,
        ).reshape(120, 160, 4)
        top, left = round(row * 120 / rows) + 1, int(col * 160 / cols) + 3
        assert (pixels[top, left : left + 5, :3] == 255).all()
    assert root.locator(".atw-hint").is_visible()


def test_no_errors_in_the_browser_console_across_the_methods(notebook):
    assert [e for e in notebook.console_errors if "favicon" not in e and "Failed to load resource" not in e] == []
