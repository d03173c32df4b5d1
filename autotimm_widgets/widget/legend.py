"""The exported picture: the view, a colour bar with its low and high values, and the caption.

Laid out as the browser's Export PNG lays it out (``js/exporter.js``): the view at the top, a
``BAR_HEIGHT`` px colour bar ``PAD`` px below it with column ``x`` of ``n`` coloured by table entry
``round(255 * x / (n - 1))``, its low and high labels under its ends, then the caption, wrapped.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAD = 8
BAR_HEIGHT = 12
LINE_HEIGHT = 16
SCALE = ("0", "1")  # the widget's maps are normalised to [0, 1]


def bar_colours(table: bytes, width: int) -> np.ndarray:
    """(width, 3) uint8: the colour bar's columns, low to high."""
    lut = np.frombuffer(table, dtype=np.uint8).reshape(256, 3)
    index = np.round(255.0 * np.arange(width) / max(1, width - 1)).astype(np.int64)
    return lut[index]


def legend_image(view: np.ndarray, table: bytes, caption: str) -> Image.Image:
    """``view`` (H, W, 3) uint8 with the colour bar of ``table`` and ``caption`` below it."""
    height, width = view.shape[:2]
    font = ImageFont.load_default()
    lines = _wrap(caption, font, width - 2 * PAD)
    bar_top = height + PAD
    labels_top = bar_top + BAR_HEIGHT + 2
    caption_top = labels_top + LINE_HEIGHT + 2
    total = caption_top + LINE_HEIGHT * len(lines) + PAD
    out = Image.new("RGB", (width, total), "white")
    out.paste(Image.fromarray(view), (0, 0))
    bar_width = max(2, width - 2 * PAD)
    strip = np.broadcast_to(bar_colours(table, bar_width)[None], (BAR_HEIGHT, bar_width, 3))
    out.paste(Image.fromarray(np.ascontiguousarray(strip)), (PAD, bar_top))
    draw = ImageDraw.Draw(out)
    low, high = SCALE
    draw.text((PAD, labels_top), low, fill="black", font=font)
    draw.text((PAD + bar_width - draw.textlength(high, font=font), labels_top), high, fill="black", font=font)
    for n, line in enumerate(lines):
        draw.text((PAD, caption_top + n * LINE_HEIGHT), line, fill="black", font=font)
    return out


def _wrap(text: str, font, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to lines at most ``width`` px wide (a long word keeps its own line)."""
    lines: list[str] = []
    for word in text.split(" "):
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]
