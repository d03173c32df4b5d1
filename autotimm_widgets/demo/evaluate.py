"""How well the demo models classify, and where their explanations point, on generated scenes.

Accuracy is **exact match**: an image counts as correct only when the set of classes the
model predicts present (logit > 0) equals the set of classes in the image, so one missed or
one spurious class makes the whole image wrong.

The **pointing game** (Zhang et al., 2016, without tolerance) asks, for every class present
in an image, whether the peak of that class's map lies inside a ground-truth mask of that
class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .data import DemoImage


def images_to_tensor(images: Sequence[DemoImage]) -> torch.Tensor:
    """(N, 3, H, W) uint8 tensor of the scenes' pixels."""
    return torch.from_numpy(np.stack([d.image for d in images])).permute(0, 3, 1, 2).contiguous()


def labels_to_tensor(images: Sequence[DemoImage]) -> torch.Tensor:
    """(N, K) bool tensor: which classes each scene contains."""
    return torch.from_numpy(np.stack([d.labels for d in images]))


def normalize_pixels(pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> float32 model input ``(x / 255 - mean) / std``."""
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (pixels.float() / 255.0 - m) / s


@torch.no_grad()
def predict(model: nn.Module, pixels: torch.Tensor, mean, std, batch_size: int = 200) -> torch.Tensor:
    """(N, K) bool: the classes ``model`` (in eval mode) predicts present in (N, 3, H, W) uint8 ``pixels``.

    Each submodule's train/eval mode is restored afterwards.
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        chunks = [
            model(normalize_pixels(pixels[i : i + batch_size], mean, std)) > 0
            for i in range(0, len(pixels), batch_size)
        ]
    finally:
        for module, training in modes.items():
            module.training = training
    return torch.cat(chunks)


def exact_match_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose (K,) predicted set equals the true set; both (N, K) bool."""
    return (predicted == labels).all(dim=1).float().mean().item()


def pointing_game(explainer, images: Sequence[DemoImage], batch_size: int = 32) -> float:
    """Fraction of (image, present class) pairs whose map peaks inside a mask of that class.

    ``explainer`` is any explainer with ``explain_batch`` (e.g. ``GradCAM(model)``); each
    present class of each image is explained once.
    """
    pairs = [(d, int(c)) for d in images for c in np.flatnonzero(d.labels)]
    maps = explainer.explain_batch(
        [d.image for d, _ in pairs], [c for _, c in pairs], batch_size=batch_size, show_progress=False
    )
    hits = [d.class_mask(c).flat[int(np.argmax(m))] for (d, c), m in zip(pairs, maps, strict=True)]
    return float(np.mean(hits))
