"""A notebook open in JupyterLab, driven through the page: run cells, run code, read widgets."""

from __future__ import annotations

import json

from .jupyter import CANVAS_SIGNATURE_JS, EXECUTE_JS, KERNEL_IDLE_JS

CELLS_JS = "[...window.jupyterapp.shell.currentWidget.content.widgets].filter(c => c.model.type === 'code')"
ALL_RAN_OR_ERROR_JS = f"""() => {{ const cells = {CELLS_JS};
  return cells.every(c => c.model.executionCount !== null)
      || cells.some(c => [...Array(c.model.outputs.length).keys()].some(i => c.model.outputs.get(i).type === 'error')); }}"""
CELL_ERRORS_JS = f"""() => {CELLS_JS}.flatMap((c, n) => [...Array(c.model.outputs.length).keys()]
  .map(i => c.model.outputs.get(i).toJSON()).filter(o => o.output_type === 'error')
  .map(o => `cell ${{n}}: ${{o.ename}}: ${{o.evalue}}\\n${{(o.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '')}}`))"""
CELL_STATES_JS = f"""() => {CELLS_JS}.map((c, n) => `cell ${{n}}: execution count ${{c.model.executionCount}}, `
  + `outputs ${{JSON.stringify([...Array(c.model.outputs.length).keys()].map(i => c.model.outputs.get(i).toJSON())).slice(0, 1500)}}`)"""


class NotebookPage:
    def __init__(self, page, lab, name: str, timeout_ms: int = 120_000):
        self.page = page
        self.lab = lab
        self.name = name
        self.timeout_ms = timeout_ms

    def open_and_run(self, url: str | None = None) -> NotebookPage:
        """Open the notebook (at ``url`` if given), run all cells and wait until every one ran.

        A cell error fails at once, with its traceback.
        """
        # By default a workspace of its own, reset: JupyterLab would otherwise reopen the
        # notebooks of earlier pages too, and the current tab could be another notebook.
        workspace = self.name.replace(".ipynb", "").replace("/", "-")
        self.page.goto(url or f"{self.lab.url}/lab/workspaces/{workspace}/tree/{self.name}?reset")
        self._wait(
            f"() => window.jupyterapp?.shell.currentWidget?.context?.path === {json.dumps(self.name)}",
            "the notebook never opened",
        )
        self._wait(KERNEL_IDLE_JS, "the kernel never became idle")
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self._wait(ALL_RAN_OR_ERROR_JS, "the cells did not all run")
        errors = self.page.evaluate(CELL_ERRORS_JS)
        if errors:
            raise AssertionError(f"a cell of {self.name} failed:\n" + "\n".join(errors))
        self._wait(KERNEL_IDLE_JS, "the kernel never became idle after running the cells")
        return self

    def _wait(self, condition_js: str, what: str) -> None:
        """Wait for a page condition; on timeout, fail with the cells' state and the server log."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(condition_js, timeout=self.timeout_ms)
        except PlaywrightTimeout:
            try:
                cells = self.page.evaluate(CELL_STATES_JS)
            except Exception as error:  # noqa: BLE001 - the page itself may be broken
                cells = [f"(could not read the cells: {error})"]
            log = self.lab.log.read_text()[-4000:] if self.lab.log.exists() else "(no log)"
            raise AssertionError(
                f"{what} within {self.timeout_ms / 1000:.0f} s in {self.name}.\ncells:\n"
                + "\n".join(cells)
                + f"\nJupyterLab log (tail):\n{log}"
            ) from None

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
