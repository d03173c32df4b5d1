"""The method zoo (CAMs and Captum's family) in the quality table and the parameter-randomisation sanity check, on the demo models.

Rows: every registered method besides GradCAM, GradCAM++, IG and SmoothGrad (``demo.quality.zoo_methods``; ``--methods`` picks some), with
GradCAM as the anchor, on ``--scenes`` held-out demo scenes (the full table in
``bench_quality.py`` uses 200; the zoo uses fewer to fit a CPU run). Sanity: Adebayo et al.'s
cascading randomisation (``parameter_randomisation``), Spearman's rho between each method's map
and its map once every block is randomised, mean over ``--sanity-images`` scenes; a method that
passes has rho near 0 (a map that survives randomisation does not explain the model).

    uv run python benchmarks/bench_cam_zoo_quality.py [--scenes 40] [--sanity-images 8] [--json PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import sys
import time

import numpy as np
import torch
from _timing import device_name

from autotimm_widgets.demo import demo_images, load_demo_model
from autotimm_widgets.demo.quality import demo_cases, explainer_method, markdown_table, quality_row, zoo_methods
from autotimm_widgets.interpretation import GradCAM, method_info
from autotimm_widgets.interpretation.metrics import parameter_randomisation

HELD_OUT_SEED = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--sanity-images", type=int, default=8)
    parser.add_argument("--models", nargs="+", choices=("cnn", "vit"), default=["cnn", "vit"])
    parser.add_argument("--json")
    parser.add_argument("--methods", nargs="+", help="registry names of the zoo rows to run (default: all)")
    args = parser.parse_args()

    started = time.perf_counter()
    scenes = demo_images(args.scenes, HELD_OUT_SEED)
    cases = demo_cases(scenes)
    sanity_images = [s.image for s in scenes[: args.sanity_images]]
    print(
        f"device: {device_name(torch.device('cpu'))}, torch {torch.__version__}; {args.scenes} scenes, {len(cases)} cases"
    )
    rows, sanity = {}, {}
    for kind in args.models:
        model = load_demo_model(kind).model
        zoo = zoo_methods(model)
        if args.methods:
            labels = {method_info(n).label for n in args.methods}
            zoo = [m for m in zoo if m.name in labels]
        methods = [explainer_method("GradCAM", lambda m: GradCAM(m, use_cuda=False)), *zoo]
        rows[kind], sanity[kind] = [], {}
        for method in methods:
            row = quality_row(model, cases, method, steps=args.steps)
            rows[kind].append(row)
            result = parameter_randomisation(model, method.build, sanity_images, cascade=True, seed=0)
            rho = float(np.nanmean(result.correlations[-1]))
            sanity[kind][row.method] = rho
            print(
                f"  {kind} {row.method}: pointing {row.pointing:.3f}, energy {row.energy:.3f}, deletion "
                f"{row.deletion_auc:.3f}, insertion {row.insertion_auc:.3f}, randomised rho {rho:.3f} "
                f"(explain {row.explain_s:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    print()
    table = markdown_table(rows).splitlines()
    table[0] += " randomised ρ (→ 0) |"
    table[1] += "---:|"
    index = 2
    for kind, model_rows in rows.items():
        for r in model_rows:
            table[index] += f" {sanity[kind][r.method]:.3f} |"
            index += 1
    print("\n".join(table))
    total = time.perf_counter() - started
    print(f"\nruntime: {total:.0f} s")
    if args.json:
        record = {
            "scenes": args.scenes,
            "cases": len(cases),
            "sanity_images": args.sanity_images,
            "rows": {k: [r.as_dict() | {"randomised_rho": sanity[k][r.method]} for r in v] for k, v in rows.items()},
            "runtime_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
