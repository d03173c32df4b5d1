"""The quality table: pointing game, energy pointing, deletion and insertion AUC per method, on held-out demo scenes.

For the demo CNN and the demo ViT (``load_demo_model``), on ``--scenes`` held-out scenes
(``demo_images(n, seed=0)``; training used seed 1), every class present in a scene is one
case, explained for that class and judged against that class's masks (see
``autotimm_widgets/demo/quality.py`` for the definitions). Methods: GradCAM, GradCAM++,
Integrated Gradients (``--ig-steps``), SmoothGrad(GradCAM) (``--smoothgrad-samples``), and on
the ViT also AttentionRollout (class-agnostic: one map per scene, used for each of its
classes) and GradientWeightedRollout (class-specific). A random map per case is the chance
reference. Deletion and insertion use the library defaults: blur baseline, softmax
probability, ``--steps`` points per curve.

Prints a markdown table and, with ``--json PATH``, writes the table, the settings and the
runtime as JSON. Checks issue 8's requirement: GradCAM's pointing accuracy on the demo CNN
is at least 0.8 (exit status 1 otherwise).

    uv run python benchmarks/bench_quality.py [--scenes 200] [--steps 50] [--models cnn vit] [--json PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep (shared CPUs), before torch loads

import argparse
import json
import platform
import sys
import time

import torch
from _timing import device_name

from autotimm_widgets.demo import demo_images, load_demo_model
from autotimm_widgets.demo.quality import Row, demo_cases, demo_methods, markdown_table, quality_row, random_method
from autotimm_widgets.demo.train import HELD_OUT_SEED

GRADCAM_POINTING_BAR = 0.8  # issue 8: GradCAM's pointing accuracy on the demo CNN


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200, help="held-out scenes (seed 0)")
    parser.add_argument("--steps", type=int, default=50, help="points per deletion/insertion curve")
    parser.add_argument("--ig-steps", type=int, default=32)
    parser.add_argument("--smoothgrad-samples", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128, help="step images per forward pass")
    parser.add_argument("--models", nargs="+", choices=("cnn", "vit"), default=["cnn", "vit"])
    parser.add_argument("--no-random", action="store_true", help="skip the random-map reference row")
    parser.add_argument("--json", help="write the table as JSON here")
    args = parser.parse_args()

    started = time.perf_counter()
    cases = demo_cases(demo_images(args.scenes, HELD_OUT_SEED))
    print(
        f"device: {device_name(torch.device('cpu'))}, torch {torch.__version__}; "
        f"{args.scenes} held-out scenes (seed {HELD_OUT_SEED}), {len(cases)} (scene, class) cases; "
        f"deletion/insertion: blur baseline, softmax probability, {args.steps} steps",
        flush=True,
    )
    rows: dict[str, list[Row]] = {}
    seconds: dict[str, float] = {}
    for kind in args.models:
        model_start = time.perf_counter()
        model = load_demo_model(kind).model
        methods = demo_methods(kind, ig_steps=args.ig_steps, smoothgrad_samples=args.smoothgrad_samples)
        if not args.no_random:
            methods.append(random_method(seed=0))
        rows[kind] = []
        for method in methods:
            row = quality_row(model, cases, method, steps=args.steps, batch_size=args.batch_size)
            rows[kind].append(row)
            print(
                f"  {kind} {row.method}: pointing {row.pointing:.3f}, energy {row.energy:.3f}, "
                f"deletion {row.deletion_auc:.3f}, insertion {row.insertion_auc:.3f} "
                f"(explain {row.explain_s:.1f} s, metrics {row.metrics_s:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
        seconds[kind] = time.perf_counter() - model_start
    total = time.perf_counter() - started

    print()
    print(markdown_table(rows))
    print()
    print(f"runtime: {total:.0f} s in all (" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ")")

    status = 0
    if "cnn" in rows:
        gradcam = next(r for r in rows["cnn"] if r.method == "GradCAM")
        verdict = "PASS" if gradcam.pointing >= GRADCAM_POINTING_BAR else "FAIL"
        status = 0 if verdict == "PASS" else 1
        print(
            f"issue 8 requirement: GradCAM pointing on the demo CNN {gradcam.pointing:.3f} >= {GRADCAM_POINTING_BAR}: {verdict}"
        )

    if args.json:
        record = {
            "scenes": args.scenes,
            "held_out_seed": HELD_OUT_SEED,
            "cases": len(cases),
            "settings": {
                "steps": args.steps,
                "baseline": "blur",
                "score": "probability",
                "ig_steps": args.ig_steps,
                "smoothgrad_samples": args.smoothgrad_samples,
                "batch_size": args.batch_size,
            },
            "environment": {
                "device": device_name(torch.device("cpu")),
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
            "runtime_s": {"total": total, **seconds},
            "rows": {kind: [r.as_dict() for r in model_rows] for kind, model_rows in rows.items()},
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
        print(f"wrote {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
