"""Kernel-side widget latency, in a plain Python process (no browser).

* cached class switch: setting ``target_class`` to another top-k class until the new map is
  published (target <= 20 ms);
* uncached GradCAM on resnet50 through the widget (trait change -> worker -> explain with the
  top-k prefetch -> publish) against the explainer's own ``explain`` of the same image
  (target <= 1.2x). The two alternate in one run.

    uv run python benchmarks/bench_widget.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
import timm
import torch
from _timing import compare, device_name

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import GradCAM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval()
    image = np.random.default_rng(0).integers(0, 256, size=(384, 512, 3), dtype=np.uint8)
    widget = ExplainerWidget(model, image)
    widget.wait()
    explainer = GradCAM(model)
    display = widget._session.image  # the widget explains its display-size copy
    print(f"device: {device_name(device)}, torch {torch.__version__}")

    top = [c["index"] for c in widget._top_classes]
    switches = []
    for _ in range(args.rounds):
        for index in top[1:] + top[:1]:
            start = time.perf_counter()
            widget.target_class = index
            widget.wait()
            switches.append(time.perf_counter() - start)
    print(
        f"cached class switch: median {statistics.median(switches) * 1000:.2f} ms, "
        f"p90 {np.percentile(switches, 90) * 1000:.2f} ms over {len(switches)} switches"
    )

    widget_classes, direct_classes = itertools.cycle(top[:2]), itertools.cycle(top[:2])

    def via_widget():  # a class change with an empty cache: trait -> worker -> explain -> publish
        widget._engine.cache.clear()
        widget.target_class = next(widget_classes)
        widget.wait()

    def direct():
        explainer.explain(display, target_class=next(direct_classes))

    times = compare({"widget": via_widget, "explainer": direct}, args.rounds, device)
    w, d = times["widget"], times["explainer"]
    print(
        f"uncached GradCAM resnet50: widget {w * 1000:.1f} ms | explainer {d * 1000:.1f} ms | widget/explainer {w / d:.2f}"
    )
    widget.close()


if __name__ == "__main__":
    main()
