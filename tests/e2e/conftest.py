"""Browser fixtures: one JupyterLab and one Chromium per session; pages from ``open_page``.

Screenshots of failing tests go to ``artifacts/e2e/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from .jupyter import CHROMIUM_ARGS, JupyterLab, ensure_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"


@pytest.fixture(scope="session")
def jupyter_lab():
    lab = JupyterLab().start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, viewport: dict, **options):
    """A page in a context of its own that records console errors and uncaught exceptions in
    ``page.console_errors``; close it with ``page.context.close()``."""
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    return page


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test leaves a screenshot of its page in ``artifacts/e2e/<test>.png``."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        page = getattr(value, "page", value)  # a NotebookPage, or a Playwright page
        if hasattr(page, "screenshot") and hasattr(page, "goto"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):  # a screenshot must never hide the failure itself
                page.screenshot(path=str(ARTIFACTS / f"{item.name}.png"), full_page=True)
            return
