"""The wheel, installed by plain pip into a clean venv, renders in JupyterLab: the notebook's
kernel runs the clean venv's Python, so the widget's bundle is the one the wheel shipped."""

from __future__ import annotations

import pytest

from .conftest import open_page
from .notebook_page import NotebookPage

pytestmark = pytest.mark.e2e

CELLS = [
    """
import autotimm_widgets
from autotimm_widgets import ExplainerWidget, demo
model, class_names, _ = demo.load_demo_model("cnn")
w = ExplainerWidget(model, demo.demo_image("two_classes").image, use_cuda=False)
w
"""
]


def test_the_installed_wheel_renders_its_widget(distribution, jupyter_lab, browser):
    python = distribution.clean_python
    env = distribution.clean_env()
    kernel_env = {key: env[key] for key in ("PYTHONPATH", "HF_HUB_OFFLINE")} | {"OMP_WAIT_POLICY": "PASSIVE"}
    kernel = jupyter_lab.add_kernel(
        "atw-wheel", [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"], kernel_env
    )
    jupyter_lab.write_notebook("wheel.ipynb", CELLS, kernel=kernel)
    page = open_page(browser, {"width": 1200, "height": 1200})
    try:
        nb = NotebookPage(page, jupyter_lab, "wheel.ipynb").open_and_run()
        prefix = str(python.parent.parent)
        assert nb.value("autotimm_widgets.__file__").startswith(prefix)  # the wheel's copy, not the checkout
        nb.wait_idle()
        signature = nb.canvas_signature()
        assert signature["width"] > 0 and signature["mean"] > 0
        heat = nb.root().get_by_test_id("atw-canvas").get_attribute("data-heat-paints")
        assert int(heat or 0) >= 1, "the widget from the wheel painted no heatmap"
        assert nb.root().locator(".atw-class").count() >= 2  # the class panel lists the demo's classes
        assert not [e for e in page.console_errors if "favicon" not in e and "Failed to load resource" not in e]
    finally:
        page.context.close()
