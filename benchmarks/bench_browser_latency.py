"""Click-to-repaint latency in real JupyterLab, headless Chromium, on the demo models.

Each interaction is started inside the page (a DOM click or input event, as a user's would
fire) and timed with ``performance.now()`` until the canvas has painted the new map (the
``data-heat-paints`` counter, or ``data-paints`` for opacity) and the next animation frame
has begun. Cases:

* cached class switch: clicking between the top classes of the demo CNN (prefetched);
* uncached GradCAM: the same clicks after the kernel's cache and the browser's native maps were
  cleared (not timed): a round trip to the kernel and a GradCAM there;
* attention-flow patch click: clicking patches of the demo ViT (the rollout is reused);
* opacity change: moving the opacity slider (no kernel involved);
* the cached class switch and the patch click again on full-size models with random weights
  (timm resnet50 and vit_base_patch16_224) and a 512 x 600 image.

The cached class switch and the patch click are made in the browser from the native maps and
the rollout matrix the kernel sent once (``js/local.js``), so they need no round trip.

    uv run python benchmarks/bench_browser_latency.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.jupyter import CHROMIUM_ARGS, JupyterLab, ensure_chromium
from tests.e2e.notebook_page import NotebookPage

CELLS = [
    """
from autotimm_widgets import ExplainerWidget
from autotimm_widgets.demo import demo_image, load_demo_model
cnn, vit = load_demo_model("cnn"), load_demo_model("vit")
scene = demo_image("two_classes")
w = ExplainerWidget(cnn.model, scene.image, top_k=6)
w
""",
    """
v = ExplainerWidget(vit.model, scene.image, method="attention_flow", discard_ratio=0.0)
v
""",
    """
import numpy as np, timm
photo = np.random.default_rng(0).integers(0, 256, size=(512, 600, 3), dtype=np.uint8)
big = ExplainerWidget(timm.create_model("resnet50", pretrained=False).eval(), photo, top_k=6)
big
""",
    """
big_vit = ExplainerWidget(timm.create_model("vit_base_patch16_224", pretrained=False).eval(), photo,
                          method="attention_flow", discard_ratio=0.0)
big_vit
""",
]

TIMED = """async ([index, kind, arg]) => {
  const root = document.querySelectorAll('[data-testid=atw-root]')[index];
  const canvas = root.querySelector('[data-testid=atw-canvas]');
  const counter = kind === 'opacity' ? 'paints' : 'heatPaints';
  const before = Number(canvas.dataset[counter] || 0);
  return await new Promise((resolve, reject) => {
    let start;
    const timer = setTimeout(() => reject(new Error('no repaint within 30 s')), 30000);
    const observer = new MutationObserver(() => {
      if (Number(canvas.dataset[counter] || 0) > before) {
        observer.disconnect();
        const painted = performance.now();
        requestAnimationFrame(() => { clearTimeout(timer); resolve({ painted: painted - start, frame: performance.now() - start }); });
      }
    });
    observer.observe(canvas, { attributes: true });
    start = performance.now();
    if (kind === 'class') root.querySelector(`[data-testid=atw-class-${arg}]`).click();
    else if (kind === 'patch') {
      const box = canvas.getBoundingClientRect();
      canvas.dispatchEvent(new MouseEvent('click', { clientX: box.left + arg[0] * box.width, clientY: box.top + arg[1] * box.height, bubbles: true }));
    } else if (kind === 'opacity') {
      const slider = root.querySelector('[data-testid=atw-opacity]');
      slider.value = String(arg);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });
}"""


def summary(name: str, values: list[float]) -> str:
    return f"| {name} | {statistics.median(values):.1f} ms | {np.percentile(values, 90):.1f} ms | {len(values)} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    lab = JupyterLab().start()
    try:
        lab.write_notebook("latency.ipynb", CELLS)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            nb = NotebookPage(page, lab, "latency.ipynb").open_and_run()
            for index in range(4):
                nb.wait_idle(index)
            top = nb.value("[c['index'] for c in w._top_classes]")
            big_top = nb.value("[c['index'] for c in big._top_classes]")
            results: dict[str, list[float]] = {
                "cached class switch": [],
                "uncached GradCAM": [],
                "attention-flow patch click": [],
                "opacity change": [],
                "cached class switch (resnet50, 512x600)": [],
                "attention-flow patch click (vit_base, 512x600)": [],
            }

            def timed(index, kind, arg):
                return page.evaluate(TIMED, [index, kind, arg])["frame"]

            for i in range(args.repeats):  # every top class is prefetched after the first map
                results["cached class switch"].append(timed(0, "class", top[(i + 1) % len(top)]))
                nb.run("w.wait()")
            for i in range(args.repeats):
                nb.run("w._engine.cache.clear(); w._native = {}")  # the browser's copies too: a round trip
                results["uncached GradCAM"].append(timed(0, "class", top[i % 2]))
                nb.run("w.wait()")
            cells = [(0.1 + 0.8 * ((i * 7) % 8) / 7, 0.1 + 0.8 * ((i * 3) % 8) / 7) for i in range(args.repeats)]
            for i, (x, y) in enumerate(cells):
                if i and cells[i - 1] == (x, y):
                    continue
                results["attention-flow patch click"].append(timed(1, "patch", [x, y]))
                nb.run("v.wait()")
            for i in range(args.repeats):
                results["opacity change"].append(timed(0, "opacity", 0.2 + 0.6 * (i % 2)))
            for i in range(args.repeats):
                results["cached class switch (resnet50, 512x600)"].append(timed(2, "class", big_top[(i + 1) % 6]))
                nb.run("big.wait()")
            for i, (x, y) in enumerate(cells):
                if i and cells[i - 1] == (x, y):
                    continue
                results["attention-flow patch click (vit_base, 512x600)"].append(timed(3, "patch", [x, y]))
                nb.run("big_vit.wait()")
            browser.close()
    finally:
        lab.stop()
    print("| interaction | median | p90 | n |\n|---|---|---|---|")
    for name, values in results.items():
        print(summary(name, values))


if __name__ == "__main__":
    main()
