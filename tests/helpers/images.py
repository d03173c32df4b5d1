"""Test images: random RGB, and a black image with a white square."""

from __future__ import annotations

import numpy as np


def random_image(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def square_image(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    """Black uint8 RGB image (H, W, 3) with a white square at (top, left)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[top : top + size, left : left + size] = 255
    return image
