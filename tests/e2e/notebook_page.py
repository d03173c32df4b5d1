"""A notebook open in JupyterLab, driven through the page: run cells, run code, read widgets."""

from __future__ import annotations

import json

from .jupyter import CANVAS_SIGNATURE_JS, EXECUTE_JS, KERNEL_IDLE_JS


class NotebookPage:
    def __init__(self, page, lab, name: str, timeout_ms: int = 120_000):
        self.page = page
        self.lab = lab
        self.name = name
        self.timeout_ms = timeout_ms

    def open_and_run(self) -> "NotebookPage":
        self.page.goto(f"{self.lab.url}/lab/tree/{self.name}")
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=self.timeout_ms)
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp.shell.currentWidget;
                 return [...w.content.widgets].every(c => c.model.type !== 'code' || c.model.executionCount !== null); }""",
            timeout=self.timeout_ms,
        )
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=self.timeout_ms)
        return self

    def run(self, code: str) -> str:
        """Run ``code`` in the notebook's kernel and return what it printed or evaluated to."""
        return self.page.evaluate(EXECUTE_JS, code)

    def value(self, expression: str):
        """Evaluate a Python expression in the kernel and return it decoded from JSON."""
        return json.loads(self.run(f"import json as _j; print(_j.dumps({expression}))"))

    def root(self, index: int = 0):
        return self.page.get_by_test_id("atw-root").nth(index)

    def wait_idle(self, index: int = 0) -> None:
        self.root(index).locator("[data-testid=atw-status][data-state=idle]").wait_for(timeout=self.timeout_ms)

    def canvas_signature(self, index: int = 0) -> dict:
        return self.root(index).get_by_test_id("atw-canvas").evaluate(CANVAS_SIGNATURE_JS)

    def wait_canvas_change(self, before: dict, index: int = 0) -> dict:
        canvas = self.root(index).get_by_test_id("atw-canvas")
        canvas.evaluate(
            """(c, hash) => new Promise((resolve, reject) => {
                 const started = performance.now();
                 const check = () => {
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let h = 0; for (let i = 0; i < d.length; i++) h = (h * 31 + d[i]) >>> 0;
                   if (h !== hash) resolve(h);
                   else if (performance.now() - started > 60000) reject(new Error('canvas never changed'));
                   else requestAnimationFrame(check);
                 };
                 check();
               })""",
            before["hash"],
        )
        return self.canvas_signature(index)
