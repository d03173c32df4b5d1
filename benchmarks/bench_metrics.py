"""Deletion + insertion, 50 steps at 224 px on resnet50: ours against a per-pixel Python loop.

Part 1, the whole metric (both curves, 100 step images), interleaved in one process on the
same input, map, class and blur baseline:

* ``ours``: ``faithfulness_curves`` - the step images of both curves come from one
  vectorised rank comparison and are scored ``--batch-size`` at a time (one forward pass
  at the default 100);
* ``loop``: the style of the contract's library (AutoTimm ``ExplanationMetrics.deletion``
  and ``.insertion``): at every step the pixels up to that step are written one at a time
  in a Python loop (``x[:, :, r, c] = b[:, :, r, c]``), then one forward pass and ``.item()``;
* ``floor``: the same 100 step images through the model in one no-grad forward pass - the
  model's own cost, which no implementation of the metric can go below;
* ``loop forwards``: the loop's model calls alone (the 100 step images one at a time, with
  ``.item()``), so that the loop's time splits into model calls and pixel writes.

Part 2, building the 100 step images only (no model): ours (``step_images``) against a
kinder per-pixel loop that writes only the pixels new at each step.

Part 3 (``--default-batch-only``): the library's default batch, which follows the device (the
no-grad rows its memory budget allows), against all 100 step images in one pass and the floor.

Before timing, the script checks that ours and the loop return the same curves.

    uv run python benchmarks/bench_metrics.py [--rounds 3] [--device cpu|cuda] [--default-batch-only]
"""

from __future__ import annotations

import argparse

import numpy as np
import timm
import torch
from _timing import compare, device_name

from autotimm_widgets.interpretation.metrics import faithfulness_curves
from autotimm_widgets.interpretation.metrics.removal import baseline_inputs
from autotimm_widgets.interpretation.metrics.steps import pixel_ranks, step_counts, step_images
from autotimm_widgets.interpretation.preprocessing import Preprocessor

STEPS = 50


def pixel_order(heatmap: np.ndarray):
    """Rows and columns of the pixels, most important first (ties in raster order, as ours)."""
    order = np.argsort(-heatmap.ravel(), kind="stable")
    return order // heatmap.shape[1], order % heatmap.shape[1]


def loop_curves(model, inputs, baseline, heatmap, target, steps):
    """Deletion and insertion scores the per-pixel way: every step rewrites its pixels one by one, one forward per step."""
    rows, cols = pixel_order(heatmap)
    counts = step_counts(steps, heatmap.size, "cpu").tolist()
    curves = {}
    for kind, start, source in (("deletion", inputs, baseline), ("insertion", baseline, inputs)):
        modified = start.clone()
        scores = []
        for count in counts:
            for r, c in zip(rows[:count], cols[:count]):
                modified[:, :, r, c] = source[:, :, r, c]
            with torch.no_grad():
                scores.append(torch.softmax(model(modified), dim=1)[0, target].item())
        curves[kind] = np.array(scores)
    return curves


def loop_step_images(inputs, baseline, heatmap, steps):
    """The 100 step images the kinder per-pixel way: only the pixels new at each step are written."""
    rows, cols = pixel_order(heatmap)
    counts = step_counts(steps, heatmap.size, "cpu").tolist()
    images = []
    for start, source in ((inputs, baseline), (baseline, inputs)):
        modified, done = start.clone(), 0
        for count in counts:
            for r, c in zip(rows[done:count], cols[done:count]):
                modified[:, :, r, c] = source[:, :, r, c]
            done = count
            images.append(modified.clone())
    return torch.cat(images)


def default_batch(ours_default, ours, floor, args, device) -> None:
    """Part 3: the default batch (following the device) against one pass of all step images."""
    times = compare({"default": ours_default, "one pass": ours, "floor": floor}, args.rounds, device, warmup=1)
    print(
        f"default batch: {times['default']:.2f} s | batch {args.batch_size} {times['one pass']:.2f} s"
        f" | floor {times['floor']:.2f} s | default/one pass {times['default'] / times['one pass']:.2f}"
        f" | default/floor {times['default'] / times['floor']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=2 * STEPS)
    parser.add_argument("--default-batch-only", action="store_true", help="only part 3: the default batch")
    args = parser.parse_args()
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    inputs = torch.randn(1, 3, 224, 224, device=device)
    heatmap = np.random.default_rng(0).random((224, 224), dtype=np.float32)
    target = 3
    baseline = baseline_inputs(inputs, "blur", Preprocessor(model))
    ranks = pixel_ranks(torch.as_tensor(heatmap, device=device)[None])
    counts = step_counts(STEPS, heatmap.size, device)
    both = torch.tensor([False, True], device=device)
    print(f"device: {device_name(device)}, torch {torch.__version__}; resnet50, 224 px, {STEPS} steps per curve")

    def ours():
        return faithfulness_curves(
            model, inputs, heatmap, target, steps=STEPS, baseline="blur", batch_size=args.batch_size
        )

    def loop():
        return loop_curves(model, inputs, baseline, heatmap, target, STEPS)

    def ours_images():
        return step_images(inputs, baseline, ranks, counts, both, 0, 2 * STEPS)

    def loop_images():
        return loop_step_images(inputs, baseline, heatmap, STEPS)

    def floor():
        with torch.no_grad():
            model(step_images_once)

    def loop_forwards():
        with torch.no_grad():
            for image in step_images_once.split(1):
                torch.softmax(model(image), dim=1)[0, target].item()

    def ours_default():  # the library's default batch: the rows the device's memory budget allows
        return faithfulness_curves(model, inputs, heatmap, target, steps=STEPS, baseline="blur")

    step_images_once = ours_images()
    if args.default_batch_only:
        default_batch(ours_default, ours, floor, args, device)
        return
    torch.testing.assert_close(step_images_once, loop_images(), rtol=0, atol=0)
    got, want = ours(), loop()
    for kind in ("deletion", "insertion"):
        np.testing.assert_allclose(got[kind].scores[0], want[kind], rtol=1e-3, atol=1e-5)

    times = compare(
        {"ours": ours, "loop": loop, "floor": floor, "loop forwards": loop_forwards}, args.rounds, device, warmup=0
    )
    print(
        f"whole metric: ours {times['ours']:.2f} s | loop {times['loop']:.2f} s | floor {times['floor']:.2f} s"
        f" | loop/ours {times['loop'] / times['ours']:.1f}x | ours/floor {times['ours'] / times['floor']:.2f}"
        f" | loop/floor {times['loop'] / times['floor']:.1f}x (the most any implementation could reach)"
    )
    writes = times["loop"] - times["loop forwards"]
    print(
        f"the loop's time: model calls {times['loop forwards']:.2f} s (one image at a time) + pixel writes {writes:.2f} s"
    )
    times = compare({"ours": ours_images, "loop": loop_images}, args.rounds, device)
    print(
        f"step images only: ours {times['ours'] * 1000:.1f} ms | per-pixel loop {times['loop'] * 1000:.0f} ms"
        f" | loop/ours {times['loop'] / times['ours']:.0f}x"
    )


if __name__ == "__main__":
    main()
