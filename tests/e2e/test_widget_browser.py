"""The widget in real JupyterLab, in headless Chromium: render, click a class, see the canvas change."""

from __future__ import annotations

import pytest

from .notebook_page import NotebookPage

pytestmark = pytest.mark.e2e

SETUP = """
import numpy as np, timm, torch
from autotimm_widgets import ExplainerWidget
torch.manual_seed(0)
model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
image = np.random.default_rng(0).integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
w = ExplainerWidget(model, image, class_names=[f"thing {i}" for i in range(10)])
w
"""


@pytest.fixture(scope="module")
def notebook(jupyter_lab, browser):
    jupyter_lab.write_notebook("widget.ipynb", [SETUP])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    nb = NotebookPage(page, jupyter_lab, "widget.ipynb").open_and_run()
    nb.console_errors = errors
    nb.wait_idle()
    yield nb
    context.close()


def test_class_click_repaints_the_canvas_and_reaches_python(notebook):
    before = notebook.canvas_signature()
    assert before["width"] == 200 and before["height"] == 160
    current = notebook.value("w.target_class")
    other = next(c for c in notebook.value("[c['index'] for c in w._top_classes]") if c != current)

    notebook.root().get_by_test_id(f"atw-class-{other}").click()
    after = notebook.wait_canvas_change(before)
    notebook.wait_idle()

    assert notebook.value("w.target_class") == other
    assert after["hash"] != before["hash"]
    assert notebook.value("w.status") == "idle"
    widget_errors = [e for e in notebook.console_errors if "atw" in e or "anywidget" in e.lower()]
    assert widget_errors == []
