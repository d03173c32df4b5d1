"""A figure of signed attributions: the image, the positive part and the negative part, with colour bars.

Built with ``matplotlib.figure.Figure`` (not pyplot), so it works under any backend, including
Agg, and never leaves a pyplot figure open.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def polarity_figure(pixels: np.ndarray, positive: np.ndarray, negative: np.ndarray, title: str = "") -> Figure:
    """Three panels side by side.

    Args:
        pixels: the image, (H, W, 3) float in [0, 1].
        positive: (H, W) >= 0, attribution for the class (evidence for it).
        negative: (H, W) >= 0, magnitude of attribution against the class.
        title: the figure's title.

    Both maps share one colour scale, so their magnitudes can be compared.
    """
    vmax = float(max(positive.max(initial=0.0), negative.max(initial=0.0))) or 1.0
    figure = Figure(figsize=(13, 4.2), layout="constrained")
    image_ax, positive_ax, negative_ax = figure.subplots(1, 3)
    image_ax.imshow(np.clip(pixels, 0.0, 1.0))
    image_ax.set_title("image")
    for ax, values, cmap, label in (
        (positive_ax, positive, "Reds", "positive (for the class)"),
        (negative_ax, negative, "Blues", "negative (against the class)"),
    ):
        shown = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=vmax)
        ax.set_title(label)
        figure.colorbar(shown, ax=ax, shrink=0.85, label="attribution")
    for ax in (image_ax, positive_ax, negative_ax):
        ax.set_axis_off()
    if title:
        figure.suptitle(title)
    return figure
