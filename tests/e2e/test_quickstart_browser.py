"""The README's main command, ``scripts/start``, as a new user meets it: JupyterLab starts
headless, prints a URL, and that URL opens the quickstart, whose widgets explain the demo
CNN with maps that sit on the right objects.

The server serves a copy of ``notebooks/`` (an extra argument to the script), so JupyterLab's
autosave cannot write outputs into the committed notebook. The widget's screenshot is saved
as ``artifacts/e2e/quickstart-widget.png`` (the README's ``docs/widget.png`` comes from it).
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

from .conftest import ARTIFACTS, open_page
from .jupyter import LAB_TEST_FLAGS, REPO, JupyterLab
from .notebook_page import NotebookPage

pytestmark = pytest.mark.e2e
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab/tree/01_quickstart\.ipynb\?token=[0-9a-f]{48}")

# Run in the quickstart's kernel after its cells: every map there, judged against the masks.
JUDGE = """
import ipywidgets
from autotimm_widgets.interpretation.metrics import energy_pointing_game, pointing_game

def judge():
    opened = next(w for w in ipywidgets.widgets.widget._instances.values() if isinstance(w, ExplainerWidget))
    candidates = {**maps, "opened " + class_names[opened.target_class]: opened.heatmap}
    results = {}
    for name, heatmap in candidates.items():
        region = scene.class_mask(class_names.index(name.removeprefix("opened ")))
        results[name] = {
            "hit": bool(pointing_game(heatmap, region)),
            "area": float(region.mean()),
            "shares": {class_names[c]: float(energy_pointing_game(heatmap, m)) for c, m in zip(scene.classes, scene.masks)},
        }
    return results
"""


@pytest.fixture(scope="module")
def started():
    lab = JupyterLab()
    notebooks = lab.home / "notebooks"
    shutil.copytree(REPO / "notebooks", notebooks)
    # setup.sh runs first (npm ci, build, uv sync): allow for it.
    lab.start(
        timeout=300,
        command=["bash", str(REPO / "scripts" / "start"), f"--ServerApp.root_dir={notebooks}", *LAB_TEST_FLAGS],
    )
    try:
        yield lab
    finally:
        lab.stop()


def printed_url(lab) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = URL.search(lab.log.read_text())
        if match:
            return match.group(0)
        time.sleep(0.2)  # polling a log file for an explicit line
    raise AssertionError(f"scripts/start printed no quickstart URL:\n{lab.log.read_text()[-3000:]}")


@pytest.fixture
def page(browser):
    page = open_page(browser, {"width": 1400, "height": 1400})
    yield page
    page.context.close()


def test_the_main_command_opens_the_quickstart_with_meaningful_maps(started, page):
    url = printed_url(started)
    assert int(URL.search(url).group(1)) == started.port  # PORT is honoured
    nb = NotebookPage(page, started, "01_quickstart.ipynb", timeout_ms=180_000).open_and_run(url)
    for index in range(2):  # the three-line widget, and the one driven from Python
        nb.wait_idle(index)
        signature = nb.canvas_signature(index)
        assert (signature["width"], signature["height"]) == (384, 384)
        heat = nb.root(index).get_by_test_id("atw-canvas").get_attribute("data-heat-paints")
        assert int(heat or 0) >= 1, "the widget painted no heatmap"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nb.root(0).screenshot(path=str(ARTIFACTS / "quickstart-widget.png"))

    # Meaningful maps: the peak lies on the explained shape (pointing game), and the share
    # of the map's mass on it is several times its area (3.7% star, 5.0% heart) and several
    # times the share on the other shape. The three-line widget opens on the class the
    # model is surest of; ``maps`` holds the second widget's maps for both shapes.
    nb.run(JUDGE)
    judged = nb.value("judge()")
    assert len(judged) == 3 and any(name.startswith("opened ") for name in judged), judged
    for name, result in judged.items():
        shape = name.removeprefix("opened ")
        other = next(s for s in result["shares"] if s != shape)
        assert result["hit"], (name, judged)
        assert result["shares"][shape] > 3 * result["area"], (name, judged)
        assert result["shares"][shape] > 5 * result["shares"][other], (name, judged)
