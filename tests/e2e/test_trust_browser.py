"""A widget users can trust, in real JupyterLab: colour bar, caption, stale marking, cancel,
class-agnostic methods, the true label, the export, narrow layout, keys and a kernel restart."""

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
torch.manual_seed(0)
model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
image = np.random.default_rng(0).integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
w = ExplainerWidget(model, image, class_names=[f"thing {i}" for i in range(10)], use_cuda=False, label=3)
w
""",
    """
vit = timm.create_model("test_vit", pretrained=False, num_classes=10).eval()
v = ExplainerWidget(vit, image, use_cuda=False)
v
""",
]
PIXELS_JS = "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"


@pytest.fixture(scope="module")
def notebook(jupyter_lab, browser):
    jupyter_lab.write_notebook("trust.ipynb", CELLS)
    page = open_page(browser, {"width": 1400, "height": 2000}, accept_downloads=True)
    nb = NotebookPage(page, jupyter_lab, "trust.ipynb").open_and_run()
    nb.wait_idle(0)
    nb.wait_idle(1)
    yield nb
    page.context.close()


def settle(nb, widget="w", index=0):
    nb.run(f"{widget}.wait(120)")
    nb.wait_idle(index)


def pixels(locator, height: int, width: int) -> np.ndarray:
    return np.array(locator.evaluate(PIXELS_JS), dtype=np.int16).reshape(height, width, 4)[..., :3]


def table(nb, name: str) -> np.ndarray:
    return np.array(nb.value(f"list(w._colormaps[{name!r}])"), dtype=np.int16).reshape(256, 3)


def test_the_colour_bar_shows_the_colormap_from_0_to_1(notebook):
    bar = notebook.root().get_by_test_id("atw-colorbar")
    assert bar.is_visible()
    assert (bar.get_attribute("data-low"), bar.get_attribute("data-high")) == ("0", "1")
    assert bar.inner_text().split() == ["0", "1"]
    strip = pixels(bar.locator("canvas"), 1, 256)[0]
    assert np.array_equal(strip, table(notebook, "jet"))
    notebook.root().get_by_test_id("atw-colormap").select_option("viridis")
    notebook.page.wait_for_function(
        "() => document.querySelector('[data-testid=atw-colorbar]').dataset.colormap === 'viridis'"
    )
    assert np.array_equal(pixels(bar.locator("canvas"), 1, 256)[0], table(notebook, "viridis"))
    notebook.root().get_by_test_id("atw-colormap").select_option("jet")


def test_the_caption_says_what_the_map_is_of_whatever_the_class_list_shows(notebook):
    root = notebook.root()
    caption = root.get_by_test_id("atw-caption")
    assert caption.inner_text() == notebook.value("w.caption")
    assert root.get_by_test_id("atw-canvas").get_attribute("aria-label") == caption.inner_text()
    top = notebook.value("[c['index'] for c in w._top_classes]")
    outside = next(i for i in range(10) if i not in top)
    root.get_by_test_id("atw-class-search").fill(f"thing {outside}")
    root.get_by_test_id(f"atw-class-{outside}").click()
    settle(notebook)
    root.get_by_test_id("atw-class-search").fill("")
    assert root.locator(f"[data-testid=atw-class-{outside}]").count() == 0  # no longer listed...
    text = caption.inner_text()  # ...but the caption names it, with its probability
    assert f"class {outside} \u201cthing {outside}\u201d, p = " in text and text == notebook.value("w.caption")
    assert "true class 3" in text
    root.get_by_test_id(f"atw-class-{top[0]}").click()
    settle(notebook)


def test_the_true_label_shows_beside_the_predicted_class(notebook):
    root = notebook.root()
    label = root.get_by_test_id("atw-label")
    assert label.inner_text().startswith("true 3: thing 3")
    predicted = notebook.value("w._top_classes[0]['index']")
    assert root.get_by_test_id("atw-predicted").inner_text().startswith(f"predicted {predicted}: thing {predicted}")
    assert label.get_attribute("data-correct") == str(predicted == 3).lower()


def test_a_computing_map_is_stale_and_cancel_stops_it(notebook):
    root = notebook.root()
    export = root.get_by_test_id("atw-export")
    assert root.get_attribute("data-stale") == "false" and export.is_enabled()
    notebook.run("w.method = 'integrated_gradients'; w.steps = 4000")
    root.locator("[data-testid=atw-status][data-state=computing]").wait_for()
    assert root.get_attribute("data-stale") == "true"
    assert root.get_by_test_id("atw-canvas").evaluate("c => getComputedStyle(c).opacity") == "0.45"
    assert root.get_by_test_id("atw-caption").inner_text().startswith("Computing Integrated Gradients…")
    assert export.is_disabled()
    root.get_by_test_id("atw-cancel").click()
    root.locator("[data-testid=atw-status][data-state=cancelled]").wait_for(timeout=5000)
    assert notebook.value("w.status") == "cancelled"
    assert root.get_attribute("data-blank") == "true" and "cancelled" in root.get_by_test_id("atw-caption").inner_text()
    assert np.array_equal(
        pixels(root.get_by_test_id("atw-canvas"), 160, 200), np.asarray(notebook.value("w._display.tolist()"))
    )
    notebook.run("w.steps = 4")
    settle(notebook)
    assert root.get_attribute("data-stale") == "false" and export.is_enabled()
    notebook.run("w.steps = 4000")
    root.locator("[data-testid=atw-status][data-state=computing]").wait_for()
    root.get_by_test_id("atw-cancel").click()
    root.get_by_test_id("atw-compute").click()  # computes the cancelled state again
    root.locator("[data-testid=atw-status][data-state=computing]").wait_for()
    assert notebook.value("(w.status, w.steps)") == ["computing", 4000]
    root.get_by_test_id("atw-cancel").click()
    root.locator("[data-testid=atw-status][data-state=cancelled]").wait_for(timeout=5000)
    notebook.run("w.steps = 8; w.method = 'gradcam'")  # later tests compute IG again
    settle(notebook)


def test_after_an_error_no_valid_map_is_shown(notebook):
    root = notebook.root()
    notebook.run("w.layer = 'fc'")
    root.locator("[data-testid=atw-status][data-state=error]").wait_for()
    assert root.get_attribute("data-stale") == "true" and root.get_attribute("data-blank") == "true"
    assert root.get_by_test_id("atw-caption").inner_text().startswith("No valid map:")
    assert np.array_equal(
        pixels(root.get_by_test_id("atw-canvas"), 160, 200), np.asarray(notebook.value("w._display.tolist()"))
    )
    assert root.get_by_test_id("atw-export").is_disabled()
    notebook.run("w.layer = ''")
    settle(notebook)
    assert root.get_attribute("data-stale") == "false"


def test_export_adds_the_colour_bar_and_caption_and_names_the_file(notebook):
    root = notebook.root()
    with notebook.page.expect_download() as download_info:
        root.get_by_test_id("atw-export").click()
    download = download_info.value
    assert download.suggested_filename == notebook.value("w.export_name")
    png = np.asarray(Image.open(io.BytesIO(Path(download.path()).read_bytes())).convert("RGB"), dtype=np.int16)
    assert png.shape[1] == 200 and png.shape[0] > 160 + 8 + 12 + 16
    assert np.array_equal(png[:160], pixels(root.get_by_test_id("atw-canvas"), 160, 200))
    exported = np.asarray(notebook.value("np.asarray(w.export_image()).tolist()"), dtype=np.int16)
    assert np.array_equal(png[160:180], exported[160:180])  # the same colour bar as Python's export
    assert (png[192:] < 100).any(), "no caption text"


def test_class_agnostic_methods_dim_the_class_panel(notebook):
    root = notebook.root(1)
    methods = root.get_by_test_id("atw-method")
    assert {"attention_rollout", "attention_flow", "gradient_rollout"} <= set(
        methods.locator("option").evaluate_all("os => os.map(o => o.value)")
    )
    assert root.locator(".atw-classes").get_attribute("data-ignored") == "false"
    methods.select_option("attention_rollout")
    settle(notebook, "v", 1)
    classes = root.locator(".atw-classes")
    assert classes.get_attribute("data-ignored") == "true"
    assert "ignores the class" in root.get_by_test_id("atw-ignored-note").inner_text()
    assert classes.locator(".atw-class-list").evaluate("e => getComputedStyle(e).opacity") == "0.45"
    methods.select_option("gradient_rollout")
    settle(notebook, "v", 1)
    assert classes.get_attribute("data-ignored") == "false" and root.get_by_test_id("atw-ignored-note").is_hidden()
    assert notebook.value("v.status") == "idle" and notebook.value("v.heatmap is not None")


def test_arrow_keys_move_within_the_class_list_and_not_the_notebook(notebook):
    root = notebook.root()
    active_cell = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
    top = notebook.value("[c['index'] for c in w._top_classes]")
    root.get_by_test_id(f"atw-class-{top[0]}").focus()
    before = notebook.page.evaluate(active_cell)
    for expected in top[1:3]:
        notebook.page.keyboard.press("ArrowDown")
        assert notebook.page.evaluate("() => document.activeElement.dataset.testid") == f"atw-class-{expected}"
    notebook.page.keyboard.press("ArrowUp")
    assert notebook.page.evaluate("() => document.activeElement.dataset.testid") == f"atw-class-{top[1]}"
    assert notebook.page.evaluate(active_cell) == before
    notebook.page.keyboard.press("Enter")  # a focused class is a button: Enter picks it
    settle(notebook)
    assert notebook.value("w.target_class") == top[1]


def test_a_narrow_notebook_puts_the_controls_below_a_picture_of_at_least_240_px(notebook):
    notebook.page.set_viewport_size({"width": 480, "height": 2000})
    try:
        root = notebook.root()
        notebook.page.wait_for_function(
            "() => document.querySelector('[data-testid=atw-root]').getBoundingClientRect().width < 480"
        )
        canvas = root.get_by_test_id("atw-canvas").bounding_box()
        side = root.locator(".atw-side").bounding_box()
        box = root.bounding_box()
        assert canvas["width"] >= 240
        assert side["y"] >= canvas["y"] + canvas["height"], "the controls are not below the picture"
        assert side["x"] + side["width"] <= box["x"] + box["width"] + 1, "the controls are clipped"
        overflow = root.evaluate(
            """e => { const right = e.getBoundingClientRect().right + 1;
                 return [...e.querySelectorAll('*')].filter(c => c.getBoundingClientRect().right > right)
                   .map(c => `${c.className || c.tagName} ${Math.round(c.getBoundingClientRect().right - right)}px`); }"""
        )
        assert overflow == [], f"wider than the {box['width']} px widget: {overflow}"
    finally:
        notebook.page.set_viewport_size({"width": 1400, "height": 2000})


# Fires the click and reads the canvas's counter in one JavaScript task: no message from the kernel
# can be handled in between, so a repaint counted here was made in the browser alone.
CLICK_AND_COUNT_JS = """([root, selector, x, y]) => {
  const canvas = document.querySelectorAll('[data-testid=atw-root]')[root].querySelector('[data-testid=atw-canvas]');
  const count = () => Number(canvas.dataset.localPaints || 0);
  const before = count();
  if (selector) document.querySelectorAll('[data-testid=atw-root]')[root].querySelector(selector).click();
  else {
    const box = canvas.getBoundingClientRect();
    canvas.dispatchEvent(new MouseEvent('click', { clientX: box.left + x * box.width, clientY: box.top + y * box.height, bubbles: true }));
  }
  return count() - before;
}"""


def test_a_cached_class_switch_repaints_without_the_kernel(notebook):
    root = notebook.root()
    canvas = root.get_by_test_id("atw-canvas")
    top = notebook.value("[c['index'] for c in w._top_classes]")
    other = next(c for c in top if c != notebook.value("w.target_class"))
    painted = notebook.page.evaluate(CLICK_AND_COUNT_JS, [0, f"[data-testid=atw-class-{other}]", 0, 0])
    assert painted == 1, "the class switch did not repaint in the click's own handler"
    assert root.get_attribute("data-stale") == "false"
    assert f"class {other} " in root.get_by_test_id("atw-caption").inner_text()
    settle(notebook)
    assert notebook.value("w.target_class") == other  # Python still got the new value
    browser = pixels(canvas, 160, 200)
    assert np.abs(browser - np.asarray(notebook.value("np.asarray(w.to_image()).tolist()"))).max() <= 1


def test_a_patch_click_repaints_from_the_rollout_matrix_without_the_kernel(notebook):
    root = notebook.root(1)
    root.get_by_test_id("atw-method").select_option("attention_flow")
    settle(notebook, "v", 1)
    canvas = root.get_by_test_id("atw-canvas")
    painted = notebook.page.evaluate(CLICK_AND_COUNT_JS, [1, None, 0.8, 0.3])
    assert painted == 1, "the patch click did not repaint in the click's own handler"
    settle(notebook, "v", 1)
    patch = notebook.value("v.target_patch")
    assert patch > 0 and f"from token {patch}" in root.get_by_test_id("atw-caption").inner_text()
    assert root.get_by_test_id("atw-caption").inner_text() == notebook.value("v.caption")
    browser = pixels(canvas, 160, 200)
    close = np.abs(browser - np.asarray(notebook.value("np.asarray(v.to_image()).tolist()"))).max(axis=-1) <= 1
    assert close.mean() > 0.97  # all but the clicked patch's outline, which only the view draws


def test_compare_mode_shows_small_multiples_and_a_click_makes_one_the_main_view(notebook):
    root = notebook.root()
    root.get_by_test_id("atw-compare").select_option("methods")
    grid = root.get_by_test_id("atw-compare-grid")
    grid.wait_for()
    cells = grid.locator(".atw-compare-cell")
    expected = notebook.value("w._methods[:6]")
    notebook.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=atw-compare-grid] .atw-compare-cell')]"
        ".filter(c => c.dataset.state === 'idle').length === 6",
        timeout=120_000,
    )
    assert cells.count() == len(expected) == 6 and notebook.value("w.compare") == "methods"
    assert root.get_by_test_id("atw-colorbar").count() == 1  # one colour scale for all of them
    size = notebook.value("(w._compare['height'], w._compare['width'])")
    first, second = (pixels(cells.nth(n).locator("canvas"), *size) for n in (0, 1))
    assert np.abs(first - second).max() > 10, "GradCAM and GradCAM++ cells look alike"
    before = notebook.canvas_signature()
    cells.nth(1).click()
    notebook.wait_canvas_change(before)
    settle(notebook)
    assert notebook.value("w.method") == expected[1]
    assert "atw-selected" in cells.nth(1).get_attribute("class")
    root.get_by_test_id("atw-compare").select_option("")
    grid.wait_for(state="hidden")
    notebook.run("w.method = 'gradcam'")
    settle(notebook)


def test_after_a_kernel_restart_the_view_says_to_rerun_the_cell(notebook):
    """Last in this module: the kernel it leaves has no widgets."""
    root = notebook.root()
    notebook.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    root.locator("[data-testid=atw-status][data-state=restarted]").wait_for(timeout=60_000)
    assert "Re-run its cell" in root.get_by_test_id("atw-error").inner_text()
    assert root.get_attribute("data-stale") == "true" and root.get_by_test_id("atw-export").is_disabled()
