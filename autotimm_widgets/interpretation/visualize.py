"""Colouring maps and blending them over images, with matplotlib's colormaps."""

from __future__ import annotations

import matplotlib
import numpy as np
from PIL import Image

from ._images import to_pixels


def colorize(heatmap: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """(H, W) map in [0, 1] -> (H, W, 3) uint8 RGB through a matplotlib colormap."""
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must have shape (H, W); got {heatmap.shape}.")
    cmap = matplotlib.colormaps[colormap]
    return (cmap(np.clip(heatmap, 0.0, 1.0))[..., :3] * 255).round().astype(np.uint8)


def overlay(image, heatmap: np.ndarray, colormap: str = "jet", alpha: float = 0.5) -> Image.Image:
    """Blend a coloured (H, W) map over the image (PIL or ndarray of the same H, W)."""
    rgb = to_pixels(image).rgb()
    if rgb.shape[:2] != np.shape(heatmap):
        raise ValueError(f"heatmap shape {np.shape(heatmap)} does not match the image's {rgb.shape[:2]}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    blended = (1 - alpha) * rgb + alpha * colorize(heatmap, colormap).astype(np.float32) / 255.0
    return Image.fromarray((blended * 255).round().astype(np.uint8))
