"""Adebayo et al.'s cascading randomisation, layer by layer, on the demo CNN: Spearman's rho between each
method's map and its map after randomising every block from the head down to that layer (mean of
``--images`` held-out scenes). A map that explains the model loses its likeness at once; one that
survives down to the first layers (guided backprop, in the paper) follows the image, not the model.

    uv run python benchmarks/bench_sanity_cascade.py [--images 4] [--methods gradcam saliency guided_backprop ...]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse

import numpy as np

from autotimm_widgets.demo import demo_images, load_demo_model
from autotimm_widgets.interpretation import create_explainer
from autotimm_widgets.interpretation.metrics import parameter_randomisation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--methods", nargs="+", default=["gradcam", "saliency", "guided_backprop", "guided_gradcam"])
    args = parser.parse_args()
    images = [s.image for s in demo_images(20, 0)[: args.images]]
    model = load_demo_model("cnn").model
    for name in args.methods:
        result = parameter_randomisation(
            model, lambda m, n=name: create_explainer(n, m, use_cuda=False), images, cascade=True, seed=0
        )
        cells = " ".join(f"{layer}:{np.nanmean(c):.2f}" for layer, c in zip(result.layers, result.correlations))
        print(f"{name:>16}  {cells}")


if __name__ == "__main__":
    main()
