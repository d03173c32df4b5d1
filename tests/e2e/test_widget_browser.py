"""The widget in real JupyterLab, in headless Chromium: every interaction checked on screen
(canvas pixels) and in Python (the kernel's view of the widget)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import open_page
from .notebook_page import NotebookPage

pytestmark = pytest.mark.e2e

CELLS = [
    """
import numpy as np, timm, torch
from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus
torch.manual_seed(0)
model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
image = np.random.default_rng(0).integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
w = ExplainerWidget(model, image, class_names=[f"thing {i}" for i in range(10)], use_cuda=False)
w
""",
    """
model2 = timm.create_model("resnet18", pretrained=False, num_classes=4).eval()
image2 = np.random.default_rng(1).integers(0, 256, size=(120, 120, 3), dtype=np.uint8)
w2 = ExplainerWidget(model2, image2, class_names=["cat", "dog", "fox", "owl"], use_cuda=False)
w2
""",
    "w  # the first widget, shown a second time",
    """
def differing_class(widget, model, image):
    # A listed class whose map differs from the one shown (random weights can give all-zero maps).
    listed = [c["index"] for c in widget._top_classes if c["index"] != widget.target_class]
    maps = GradCAM(model, use_cuda=False).explain(image, target_class=listed)
    return next(c for c, m in zip(listed, maps) if not np.allclose(m, widget.heatmap, atol=0.05))

def matches(widget, explainer_class, layer=None, model=model, image=image):
    expected = explainer_class(model, target_layer=layer, use_cuda=False).explain(image, target_class=widget.target_class)
    return bool(np.allclose(widget.heatmap, expected, atol=1e-4))
""",
]
IGNORED_CONSOLE = ("favicon", "Failed to load resource", "[Violation]")


@pytest.fixture(scope="module")
def notebook(jupyter_lab, browser):
    jupyter_lab.write_notebook("widgets.ipynb", CELLS)
    page = open_page(browser, {"width": 1400, "height": 2400}, accept_downloads=True)
    nb = NotebookPage(page, jupyter_lab, "widgets.ipynb").open_and_run()
    nb.console_errors = page.console_errors
    for index in range(3):
        nb.wait_idle(index)
    yield nb
    page.context.close()


def settle(nb, widget="w", index=0):
    nb.run(f"{widget}.wait(60)")
    nb.wait_idle(index)


def test_class_click(notebook):
    before = notebook.canvas_signature()
    assert (before["width"], before["height"]) == (200, 160)
    target = notebook.value("differing_class(w, model, image)")
    notebook.root().get_by_test_id(f"atw-class-{target}").click()
    notebook.wait_canvas_change(before)
    settle(notebook)
    assert notebook.value("w.target_class") == target
    assert notebook.value("matches(w, GradCAM)")


def test_class_search_finds_any_class_by_name_or_index(notebook):
    root = notebook.root()
    outside_top = next(i for i in range(10) if i not in notebook.value("[c['index'] for c in w._top_classes]"))
    search = root.get_by_test_id("atw-class-search")
    search.fill(f"thing {outside_top}")
    before = notebook.canvas_signature()
    root.get_by_test_id(f"atw-class-{outside_top}").click()
    notebook.wait_canvas_change(before)
    settle(notebook)
    assert notebook.value("w.target_class") == outside_top
    search.fill("3")
    assert (
        root.locator("[data-testid^=atw-class-]").filter(has_text="thing").first.get_attribute("data-testid")
        == "atw-class-3"
    )
    search.fill("")
    # Back to the top class: a random-weight model's map for an unlikely class can be all zero,
    # and later cases need maps that differ between layers and methods.
    top_class = notebook.value("w._top_classes[0]['index']")
    root.get_by_test_id(f"atw-class-{top_class}").click()
    settle(notebook)


def test_method_change(notebook):
    before = notebook.canvas_signature()
    notebook.root().get_by_test_id("atw-method").select_option("gradcam++")
    notebook.wait_canvas_change(before)
    settle(notebook)
    assert notebook.value("w.method") == "gradcam++"
    assert notebook.value("matches(w, GradCAMPlusPlus)")
    notebook.root().get_by_test_id("atw-method").select_option("gradcam")
    settle(notebook)


def test_layer_change(notebook):
    layer = notebook.root().get_by_test_id("atw-layer")
    assert "layer3" in layer.locator("option").all_inner_texts()[4]  # fed by candidate_layers()
    before = notebook.canvas_signature()
    layer.select_option("layer3")
    notebook.wait_canvas_change(before)
    settle(notebook)
    assert notebook.value("w.layer") == "layer3"
    assert notebook.value("matches(w, GradCAM, 'layer3')")
    layer.select_option("")
    settle(notebook)


def test_opacity_and_colormap_repaint_in_the_browser_without_the_kernel(notebook):
    computations = notebook.value("w._engine.computations")
    assert notebook.value("(w.opacity, w.colormap)") == [0.5, "jet"]
    notebook.page.evaluate(
        """() => { const w = window.jupyterapp.shell.currentWidget;
                 w.sessionContext.session.kernel.requestExecute({ code: 'import time; time.sleep(4)' }); }"""
    )
    notebook.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'busy'"
    )
    before = notebook.canvas_signature()
    notebook.root().get_by_test_id("atw-opacity").fill("0.9")
    after_opacity = notebook.wait_canvas_change(before)
    busy = notebook.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
    assert busy == "busy", "the repaint must not wait for the kernel"
    notebook.root().get_by_test_id("atw-colormap").select_option("viridis")
    notebook.wait_canvas_change(after_opacity)
    notebook.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"
    )
    # No message reached the kernel: Python still has the old values, and computed nothing.
    assert notebook.value("(w.opacity, w.colormap)") == [0.5, "jet"]
    assert notebook.value("w._engine.computations") == computations

    # The values ride along with the view's next update: here a method change and back.
    method = notebook.root().get_by_test_id("atw-method")
    method.select_option("gradcam++")
    settle(notebook)
    method.select_option("gradcam")
    settle(notebook)
    assert notebook.value("(w.opacity, w.colormap)") == [0.9, "viridis"]
    canvas = np.array(
        notebook.page.evaluate(
            "() => Array.from(document.querySelector('[data-testid=atw-canvas]').getContext('2d').getImageData(0,0,200,160).data)"
        ),
        dtype=np.int16,
    ).reshape(160, 200, 4)[..., :3]
    expected = np.array(notebook.value("np.asarray(w.to_image()).tolist()"), dtype=np.int16)
    assert np.abs(canvas - expected).max() <= 1  # the browser paints what Python composes


def test_png_export_is_the_current_view(notebook):
    root = notebook.root()
    with notebook.page.expect_download() as download_info:
        root.get_by_test_id("atw-export").click()
    data = Path(download_info.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    png = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
    canvas = np.array(
        root.get_by_test_id("atw-canvas").evaluate(
            "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ),
        dtype=np.int16,
    ).reshape(160, 200, 4)[..., :3]
    # The view on top; the colour bar and the caption below it (test_trust_browser checks them).
    assert png.shape[1:] == (200, 3) and png.shape[0] > 160 and np.array_equal(png[:160], canvas)


def test_an_error_shows_in_the_widget_and_it_recovers(notebook):
    root = notebook.root()
    notebook.run("w.layer = 'fc'")
    root.locator("[data-testid=atw-status][data-state=error]").wait_for()
    assert "spatial" in root.get_by_test_id("atw-error").inner_text()
    root.get_by_test_id("atw-layer").select_option("layer4")
    settle(notebook)
    assert root.get_by_test_id("atw-error").is_hidden()
    assert notebook.value("(w.status, w.error, w.layer)") == ["idle", "", "layer4"]
    root.get_by_test_id("atw-layer").select_option("")
    settle(notebook)


def test_two_widgets_do_not_interfere(notebook):
    first, second = notebook.canvas_signature(0), notebook.canvas_signature(1)
    target = notebook.value("differing_class(w2, model2, image2)")
    first_class = notebook.value("w.target_class")
    notebook.root(1).get_by_test_id(f"atw-class-{target}").click()
    notebook.wait_canvas_change(second, 1)
    settle(notebook, "w2", 1)
    assert notebook.value("w2.target_class") == target
    assert notebook.value("w.target_class") == first_class
    assert notebook.canvas_signature(0)["hash"] == first["hash"]


def test_one_widget_shown_twice_stays_in_sync(notebook):
    views = [notebook.canvas_signature(0), notebook.canvas_signature(2)]
    assert views[0]["hash"] == views[1]["hash"]
    target = notebook.value("differing_class(w, model, image)")
    notebook.root(0).get_by_test_id(f"atw-class-{target}").click()
    notebook.wait_canvas_change(views[1], 2)
    settle(notebook, "w", 2)
    assert notebook.canvas_signature(0)["hash"] == notebook.canvas_signature(2)["hash"]
    assert notebook.root(2).get_by_test_id("atw-method").input_value() == notebook.value("w.method")


def test_a_burst_of_changes_ends_on_the_final_state(notebook):
    root = notebook.root()
    top = notebook.value("[c['index'] for c in w._top_classes]")
    layer = root.get_by_test_id("atw-layer")
    for i in range(12):
        root.get_by_test_id(f"atw-class-{top[i % len(top)]}").click()
        layer.select_option(["layer2", "layer3", ""][i % 3])
    settle(notebook)
    final_class, final_layer = top[11 % len(top)], ""
    assert notebook.value("(w.target_class, w.layer)") == [final_class, final_layer]
    assert notebook.value("matches(w, GradCAM)")
    canvas = np.array(
        root.get_by_test_id("atw-canvas").evaluate(
            "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ),
        dtype=np.int16,
    ).reshape(160, 200, 4)[..., :3]
    expected = np.array(notebook.value("np.asarray(w.to_image()).tolist()"), dtype=np.int16)
    assert np.abs(canvas - expected).max() <= 1


def test_scores_control(notebook):
    root = notebook.root()
    result = root.get_by_test_id("atw-scores-result")
    assert result.get_attribute("data-state") == "none"
    root.get_by_test_id("atw-scores").click()
    root.locator("[data-testid=atw-scores-result][data-state=shown]").wait_for(timeout=120_000)
    assert "deletion AUC" in result.inner_text() and "insertion AUC" in result.inner_text()
    assert root.locator(".atw-scores-chart polyline").count() == 2
    scores = notebook.value("w.scores")
    assert f"{scores['deletion_auc']:.3f}" in result.inner_text()


def test_dark_theme(notebook):
    root = notebook.root()
    light = root.evaluate("e => getComputedStyle(e).backgroundColor")
    notebook.page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })"
    )
    notebook.page.wait_for_function(
        "before => getComputedStyle(document.querySelector('[data-testid=atw-root]')).backgroundColor !== before",
        arg=light,
    )
    dark = root.evaluate("e => getComputedStyle(e).backgroundColor")
    text = root.evaluate("e => getComputedStyle(e).color")

    def brightness(rgb: str) -> float:
        return sum(int(v) for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]) / 3

    assert brightness(dark) < 80 < brightness(light)
    assert brightness(text) > 150
    notebook.page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })"
    )


def test_no_errors_in_the_browser_console(notebook):
    errors = [e for e in notebook.console_errors if not any(s in e for s in IGNORED_CONSOLE)]
    assert errors == []
