"""``python -m autotimm_widgets.demo_cli``: explain an image with GradCAM and write a PNG.

Runs offline: the image is a generated scene and the model a small timm ResNet whose
weights are random until the trained demo models ship, so the map shows the mechanics,
not a trained model's reasoning.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import timm
import torch

from .interpretation import GradCAM, GradCAMPlusPlus
from .interpretation.visualize import overlay


def scene(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """A textured background with two bright discs, (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 90, size=(height, width, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:height, :width]
    for cy, cx, r, colour in [(80, 90, 40, (230, 60, 50)), (160, 230, 35, (60, 200, 90))]:
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = colour
    return image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gradcam_demo.png", help="where to write the PNG")
    parser.add_argument("--method", choices=["gradcam", "gradcam++"], default="gradcam")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10).eval()
    method = GradCAM if args.method == "gradcam" else GradCAMPlusPlus
    explainer = method(model)
    image = scene()
    start = time.perf_counter()
    heatmap = explainer.explain(image)
    elapsed = time.perf_counter() - start
    overlay(image, heatmap).save(args.out)
    print(f"{method.__name__} on resnet18 ({explainer.device}), layer {explainer.target_layer}: "
          f"{heatmap.shape[1]}x{heatmap.shape[0]} map in {elapsed * 1000:.0f} ms -> {args.out}")


if __name__ == "__main__":
    main()
