"""The widget in the other front ends: Jupyter Notebook 7 and marimo, each rendered and clicked
in headless Chromium, with the kernel's state checked against the view's."""

from __future__ import annotations

import sys
import textwrap

import pytest

from .conftest import open_page
from .jupyter import JupyterLab
from .notebook_page import NotebookPage
from .test_widget_browser import IGNORED_CONSOLE

pytestmark = pytest.mark.e2e

NOTEBOOK_CELLS = [
    """
import numpy as np, timm, torch
from autotimm_widgets import ExplainerWidget
torch.manual_seed(0)
model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
image = np.random.default_rng(0).integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
w = ExplainerWidget(model, image, class_names=[f"thing {i}" for i in range(10)], use_cuda=False)
w
"""
]
NOTEBOOK_FLAGS = [
    "--ServerApp.disable_check_xsrf=True", "--JupyterNotebookApp.expose_app_in_browser=True",
    "--ServerApp.allow_root=True", "--IdentityProvider.token=", "--ServerApp.password=",
]  # fmt: skip


def click_another_class(page, root) -> int:
    """Click a listed class that is not the current one; return its index."""
    selected = root.locator(".atw-class.atw-selected").get_attribute("data-testid")
    buttons = [b for b in root.locator(".atw-class").all() if b.get_attribute("data-testid") != selected]
    other = buttons[0]
    index = int(other.get_attribute("data-testid").removeprefix("atw-class-"))
    other.click()
    return index


def test_notebook_7_renders_and_clicks_without_console_errors_of_its_own(browser):
    """Notebook 7.6 itself logs "Cannot read properties of undefined (reading 'schema')" (its
    shortcuts plugin, on its file browser page too, with no widget and no kernel): the widget
    must add no console error to what that page logs."""
    server = JupyterLab()
    server.start(
        command=[sys.executable, "-m", "jupyter", "notebook", "--no-browser", f"--port={server.port}",
                 "--ip=127.0.0.1", f"--ServerApp.root_dir={server.root}", *NOTEBOOK_FLAGS]
    )  # fmt: skip
    page = open_page(browser, {"width": 1400, "height": 1600})
    try:
        page.goto(f"{server.url}/tree")
        page.wait_for_function("() => !!window.jupyterapp?.shell")
        page.wait_for_load_state("networkidle")
        notebook_own = {e for e in page.console_errors if not any(s in e for s in IGNORED_CONSOLE)}
        page.console_errors.clear()
        server.write_notebook("nb7.ipynb", NOTEBOOK_CELLS)
        nb = NotebookPage(page, server, "nb7.ipynb").open_and_run(f"{server.url}/notebooks/nb7.ipynb")
        nb.wait_idle()
        root = nb.root()
        assert root.get_by_test_id("atw-caption").inner_text() == nb.value("w.caption")
        index = click_another_class(page, root)
        nb.run("w.wait(60)")
        nb.wait_idle()
        assert nb.value("w.target_class") == index
        assert root.get_by_test_id("atw-caption").inner_text() == nb.value("w.caption")
        errors = {e for e in page.console_errors if not any(s in e for s in IGNORED_CONSOLE)}
        assert errors <= notebook_own, f"console errors from the widget: {errors - notebook_own}"
    finally:
        page.context.close()
        server.stop()


MARIMO_APP = """
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import numpy as np, timm, torch
    from autotimm_widgets import ExplainerWidget

    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
    image = np.random.default_rng(0).integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
    widget = ExplainerWidget(model, image, class_names=[f"thing {i}" for i in range(10)], use_cuda=False)
    view = mo.ui.anywidget(widget)
    view
    return mo, view, widget


@app.cell
def _(mo, view, widget):
    widget.wait(60)
    state = view.value
    mo.md(f"kernel: class {widget.target_class} status {widget.status} / value: class {state['target_class']} status {state['status']}")
    return


if __name__ == "__main__":
    app.run()
"""


def test_marimo_renders_clicks_and_agrees_with_python(browser, tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent(MARIMO_APP))
    server = JupyterLab(root=tmp_path)  # its process handling; the command is marimo's
    server.start(
        timeout=120,
        command=[sys.executable, "-m", "marimo", "run", str(tmp_path / "app.py"), "--headless",
                 "--host", "127.0.0.1", "-p", str(server.port), "--no-token"],
        cwd=tmp_path,
        ready_path="/",
    )  # fmt: skip
    page = open_page(browser, {"width": 1400, "height": 1600})
    try:
        page.goto(server.url)
        root = page.get_by_test_id("atw-root").first
        root.locator("[data-testid=atw-status][data-state=idle]").wait_for(timeout=120_000)
        report = page.get_by_text("kernel: class")
        report.wait_for(timeout=120_000)
        first = report.inner_text()
        current = int(first.split("class ")[1].split()[0])
        assert f"value: class {current} status idle" in first and "status idle /" in first
        index = click_another_class(page, root)
        page.get_by_text(f"kernel: class {index} status idle / value: class {index} status idle").wait_for(
            timeout=120_000
        )
        root.locator("[data-testid=atw-status][data-state=idle]").wait_for(timeout=60_000)
        assert f"class {index} " in root.get_by_test_id("atw-caption").inner_text()
        errors = [e for e in page.console_errors if not any(s in e for s in IGNORED_CONSOLE)]
        assert errors == []
    finally:
        page.context.close()
        server.stop()
