"""Every registered method of a CNN picked from the menu in real JupyterLab, a CAM option toggled,
and occlusion's own controls (window, baseline) moved.

The menu is built from the registry, so this walks ``list_methods(cnn)``: each method's map in
the kernel must equal the library's map for the same layer and class, and the canvas must show it.
"""

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
from autotimm_widgets.interpretation import create_explainer, list_methods, method_info
torch.manual_seed(0)
cnn = timm.create_model("test_resnet", pretrained=False, num_classes=5).eval()
image = np.random.default_rng(0).integers(0, 256, size=(96, 96, 3), dtype=np.uint8)
w = ExplainerWidget(cnn, image, use_cuda=False)
w
""",
]


def library_map(name: str, **params) -> str:
    """The kernel expression for the library's map of method ``name`` with the widget's layer and class."""
    extra = "".join(f", {k}={v!r}" for k, v in params.items())
    return (
        f"create_explainer({name!r}, cnn, use_cuda=False{extra}, "
        f"**({{'target_layer': w.layer or None}} if method_info({name!r}).capabilities.takes_layer else {{}}))"
        f".explain(image, w.target_class if method_info({name!r}).capabilities.class_specific else None)"
    )


@pytest.fixture(scope="module")
def notebook(jupyter_lab, browser):
    jupyter_lab.write_notebook("cam_zoo.ipynb", CELLS)
    page = open_page(browser, {"width": 1400, "height": 1400})
    nb = NotebookPage(page, jupyter_lab, "cam_zoo.ipynb").open_and_run()
    nb.console_errors = page.console_errors
    nb.wait_idle(0)
    yield nb
    page.context.close()


def settle(nb):
    nb.run("w.wait(120)")
    nb.wait_idle(0)


def test_every_method_in_the_menu_gives_the_librarys_map(notebook):
    root = notebook.root(0)
    names = notebook.value("[n for n in list_methods(cnn) if not method_info(n).capabilities.wrapper]")
    assert {"scorecam", "ablationcam", "eigencam", "fullgrad", "kpca_cam", "shapleycam"} <= set(names)
    options = root.get_by_test_id("atw-method").locator("option").all_inner_texts()
    assert len(options) >= len(names)
    for name in names:
        root.get_by_test_id("atw-method").select_option(name)
        settle(notebook)
        assert notebook.value("(w.method, w.status, w.error)") == [name, "idle", ""], name
        assert notebook.value(f"bool(np.allclose(w.heatmap, {library_map(name)}, atol=1e-4))"), name
        # the canvas shows that map (some maps equal another method's: HiResCAM is GradCAM on a
        # network with global average pooling, so "the canvas changed" would not be a test)
        assert canvas_error(notebook) <= 1, name


def canvas_error(notebook) -> int:
    """Largest channel difference between the canvas pixels and the kernel's ``w.to_image()``."""
    pixels = (
        notebook.root(0)
        .get_by_test_id("atw-canvas")
        .evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")
    )
    canvas = np.array(pixels, dtype=np.int16).reshape(96, 96, 4)[..., :3]
    return int(np.abs(canvas - np.array(notebook.value("np.asarray(w.to_image()).tolist()"), dtype=np.int16)).max())


def test_eigen_smooth_checkbox_changes_the_map_to_the_librarys(notebook):
    root = notebook.root(0)
    root.get_by_test_id("atw-method").select_option("gradcam")
    settle(notebook)
    assert root.get_by_test_id("atw-eigen-smooth").is_visible()
    before = notebook.canvas_signature(0)
    root.get_by_test_id("atw-eigen-smooth").check()
    settle(notebook)
    notebook.wait_canvas_change(before, 0)
    assert notebook.value("w.eigen_smooth") is True
    assert notebook.value(f"bool(np.allclose(w.heatmap, {library_map('gradcam', eigen_smooth=True)}, atol=1e-4))")
    root.get_by_test_id("atw-method").select_option("eigencam")
    settle(notebook)
    assert root.get_by_test_id("atw-eigen-smooth").is_hidden()  # EigenCAM takes no eigen_smooth


def test_occlusion_window_and_baseline_controls_give_the_librarys_map(notebook):
    root = notebook.root(0)
    root.get_by_test_id("atw-method").select_option("occlusion")
    settle(notebook)
    for control in ("atw-window", "atw-stride", "atw-baseline", "atw-reduction"):
        assert root.get_by_test_id(control).is_visible(), control
    assert root.get_by_test_id("atw-eigen-smooth").is_hidden()
    before = notebook.canvas_signature(0)
    root.get_by_test_id("atw-window-value").fill("24")
    root.get_by_test_id("atw-window-value").dispatch_event("change")
    root.get_by_test_id("atw-baseline").select_option("black")
    settle(notebook)
    notebook.wait_canvas_change(before, 0)
    assert notebook.value("(w.window, w.baseline, w.status)") == [24, "black", "idle"]
    expected = library_map("occlusion", window=24, stride=notebook.value("w.stride"), baseline="black")
    assert notebook.value(f"bool(np.allclose(w.heatmap, {expected}, atol=1e-4))")
    assert canvas_error(notebook) <= 1
    root.get_by_test_id("atw-method").select_option("deeplift")
    settle(notebook)
    assert root.get_by_test_id("atw-window").is_hidden() and root.get_by_test_id("atw-baseline").is_visible()


def test_no_errors_in_the_browser_console(notebook):
    assert [e for e in notebook.console_errors if "favicon" not in e and "Failed to load resource" not in e] == []
