"""Procedurally generated demo scenes: coloured shapes on cluttered, textured backgrounds.

Every image holds one to three non-overlapping objects, each one of six shape classes
(:data:`CLASS_NAMES`), and comes with one ground-truth mask per object, so that an
explanation can be checked against where the objects really are. The class is the shape
alone: colours, sizes, rotations and positions are random, and the background carries
stripes, a smooth colour field, thin line clutter, dots and pixel noise.

Generation is deterministic: image ``i`` of ``demo_images(n, seed)`` depends only on
``(seed, i)``, so ``demo_images(3, s)`` is the start of ``demo_images(100, s)``. Scene
parameters are drawn per image (a few dozen numbers); the background's colour field and
stripes are computed for a whole batch with torch; clutter and objects are rasterised by
Pillow, and each object's mask is exactly the set of pixels painted in its colour.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "heart")
IMAGE_SIZE = 128
MAX_OBJECTS = 3

_LINES = 8  # clutter line segments per image
_DOTS = 10  # clutter dots per image
_GRID = 5  # the smooth background colour field is a 5x5 grid, upsampled


@dataclass(frozen=True)
class DemoImage:
    """One generated scene and its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        classes: the class index of each object, length M (1 to 3).
        masks: (M, H, W) bool, ``masks[m]`` covers object m; masks never overlap.
        labels: (K,) bool over the K classes, True where the class is present (multi-hot).
    """

    image: np.ndarray
    classes: tuple[int, ...]
    masks: np.ndarray
    labels: np.ndarray = field(repr=False)

    @property
    def class_names(self) -> list[str]:
        """Names of the classes present, in class order."""
        return [CLASS_NAMES[c] for c in np.flatnonzero(self.labels)]

    def class_mask(self, class_index: int) -> np.ndarray:
        """(H, W) bool: the union of the masks of every object of ``class_index``."""
        picked = [m for m, c in zip(self.masks, self.classes) if c == class_index]
        return np.any(picked, axis=0) if picked else np.zeros(self.image.shape[:2], dtype=bool)


@dataclass(frozen=True)
class _Object:
    """Shape ``cls`` centred at (cy, cx) px with circumradius ``radius`` px, rotated by ``angle`` rad."""

    cls: int
    cy: float
    cx: float
    radius: float
    angle: float
    colour: tuple[float, float, float]


def demo_images(n: int, seed: int = 0, size: int = IMAGE_SIZE) -> list[DemoImage]:
    """``n`` random scenes of ``size`` x ``size`` px; image ``i`` depends only on ``(seed, i)``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 64:
        raise ValueError(f"size must be an int of at least 64 px; got {size!r}.")
    out: list[DemoImage] = []
    for start in range(0, n, 256):  # bounded memory: render 256 scenes at a time
        rngs = [np.random.default_rng([seed, i]) for i in range(start, min(n, start + 256))]
        objects = [_sample_objects(rng, size) for rng in rngs]
        out.extend(_render(objects, [_sample_background(rng, size) for rng in rngs], size))
    return out


def demo_image(name: str, size: int = IMAGE_SIZE) -> DemoImage:
    """A hand-placed scene of ``size`` x ``size`` px for demos and tests, on a generated background.

    * ``"two_classes"``: a yellow star (upper left) and a red heart (lower right):
      switching the explained class moves the heatmap from one object to the other.
    * ``"same_class_twice"``: a red and a green square, the several-instances case that
      GradCAM++ was designed for; compare GradCAM and GradCAM++ on it.
    """
    if name not in _CURATED:
        raise ValueError(f"unknown demo image {name!r}; choose one of {list(_CURATED)}.")
    placed, background_seed = _CURATED[name]
    objects = [
        _Object(CLASS_NAMES.index(c), cy * size, cx * size, r * size, angle, colour)
        for c, cy, cx, r, angle, colour in placed
    ]
    background = _sample_background(np.random.default_rng([background_seed, 2**31]), size)
    return _render([objects], [background], size)[0]


# Curated scenes: objects as (class, cy, cx, radius in fractions of the size, angle, colour), background seed.
_CURATED = {
    "two_classes": (
        [("star", 0.32, 0.31, 0.17, 0.3, (0.95, 0.85, 0.15)), ("heart", 0.68, 0.70, 0.17, 0.25, (0.9, 0.2, 0.35))],
        11,
    ),
    "same_class_twice": (
        [("square", 0.31, 0.69, 0.16, 0.4, (0.95, 0.3, 0.25)), ("square", 0.70, 0.30, 0.15, 1.1, (0.25, 0.85, 0.35))],
        12,
    ),
}
CURATED_NAMES = tuple(_CURATED)


# -- sampling: per image, a few dozen numbers ------------------------------------------
def _sample_objects(rng: np.random.Generator, size: int) -> list[_Object]:
    count = int(rng.choice(np.arange(1, MAX_OBJECTS + 1), p=[0.2, 0.4, 0.4]))
    objects: list[_Object] = []
    attempts = 0
    while len(objects) < count and attempts < 1000:  # rejection sampling of non-overlapping positions
        attempts += 1  # (the cap only matters when earlier objects leave no room: then the scene has fewer)
        radius = rng.uniform(0.14, 0.19) * size
        cy, cx = rng.uniform(radius + 3, size - radius - 3, size=2)
        if all(math.hypot(cy - o.cy, cx - o.cx) > radius + o.radius + 4 for o in objects):
            hue, sat, val = rng.uniform(0, 1), rng.uniform(0.55, 1.0), rng.uniform(0.7, 1.0)
            objects.append(
                _Object(
                    int(rng.integers(len(CLASS_NAMES))),
                    cy,
                    cx,
                    radius,
                    rng.uniform(0, 2 * math.pi),
                    colorsys.hsv_to_rgb(hue, sat, val),
                )
            )
            attempts = 0
    return objects


def _sample_background(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    grey = rng.uniform(0.2, 0.55)
    return {
        "field": (grey + rng.uniform(-0.15, 0.15, size=(3, _GRID, _GRID))).astype(np.float32),
        # stripes: amplitude, frequency (cycles/px), angle, phase
        "stripes": np.array(
            [rng.uniform(0.03, 0.1), rng.uniform(0.06, 0.2), rng.uniform(0, math.pi), rng.uniform(0, 2 * math.pi)],
            dtype=np.float32,
        ),
        # thin lines: y0, x0, y1, x1, width (1 or 2 px), then RGB
        "lines": np.concatenate(
            [
                rng.uniform(0, size, size=(_LINES, 4)),
                rng.integers(1, 3, size=(_LINES, 1)),
                rng.uniform(0.1, 0.9, size=(_LINES, 3)),
            ],
            axis=1,
        ).astype(np.float32),
        # dots: y, x, radius, then RGB
        "dots": np.concatenate(
            [
                rng.uniform(0, size, size=(_DOTS, 2)),
                rng.uniform(1.0, 2.5, size=(_DOTS, 1)),
                rng.uniform(0.1, 0.9, size=(_DOTS, 3)),
            ],
            axis=1,
        ).astype(np.float32),
        "noise": rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8),  # uniform pixel noise
    }


# -- rendering ---------------------------------------------------------------------------
def _render(objects: list[list[_Object]], backgrounds: list[dict[str, np.ndarray]], size: int) -> list[DemoImage]:
    """Paint textured backgrounds (one batch), then clutter and objects; one :class:`DemoImage` per scene."""
    n = len(objects)
    field = torch.from_numpy(np.stack([b["field"] for b in backgrounds]))
    stripes = torch.from_numpy(np.stack([b["stripes"] for b in backgrounds])).view(n, 4, 1, 1)
    ys = torch.arange(size, dtype=torch.float32).view(1, size, 1) + 0.5
    xs = torch.arange(size, dtype=torch.float32).view(1, 1, size) + 0.5
    amp, freq, theta, phase = stripes.unbind(1)
    waves = amp * torch.sin(2 * math.pi * freq * (xs * torch.cos(theta) + ys * torch.sin(theta)) + phase)
    base = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=False) + waves.unsqueeze(1)
    base = (base.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [_finish_scene(base[i], objects[i], backgrounds[i]) for i in range(n)]


def _finish_scene(base: np.ndarray, objects: list[_Object], background: dict[str, np.ndarray]) -> DemoImage:
    """Draw clutter on ``base`` (H, W, 3) uint8, then the objects and pixel noise."""
    size = base.shape[0]
    canvas = Image.fromarray(base)
    draw = ImageDraw.Draw(canvas)
    for y0, x0, y1, x1, width, *rgb in background["lines"]:
        draw.line([(x0, y0), (x1, y1)], fill=_rgb(rgb), width=int(width))
    for y, x, r, *rgb in background["dots"]:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_rgb(rgb))
    image = np.asarray(canvas, dtype=np.float32) / 255.0
    masks = np.stack([_object_mask(o, size) for o in objects])
    for o, mask in zip(objects, masks):
        _, xs = np.nonzero(mask)
        shade = 1.0 + 0.12 * (xs.astype(np.float32) + 0.5 - o.cx) / o.radius  # soft left-to-right shading
        image[mask] = np.asarray(o.colour, dtype=np.float32) * shade[:, None]
    image += background["noise"] * np.float32(0.08 / 255) - np.float32(0.04)
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    labels = np.zeros(len(CLASS_NAMES), dtype=bool)
    labels[[o.cls for o in objects]] = True
    return DemoImage(pixels, tuple(o.cls for o in objects), masks, labels)


def _object_mask(o: _Object, size: int) -> np.ndarray:
    """(H, W) bool mask of one object, rasterised by Pillow."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    name = CLASS_NAMES[o.cls]
    if name == "circle":
        r = 0.85 * o.radius
        draw.ellipse([o.cx - r, o.cy - r, o.cx + r, o.cy + r], fill=255)
    else:
        radii, angles = _OUTLINES[name]
        a = angles + o.angle
        draw.polygon(list(zip(o.cx + o.radius * radii * np.cos(a), o.cy + o.radius * radii * np.sin(a))), fill=255)
    return np.asarray(mask) > 0


def _polar(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(points, dtype=np.float64)
    return np.hypot(xy[:, 0], xy[:, 1]), np.arctan2(xy[:, 1], xy[:, 0])


def _heart_outline(vertices: int = 48) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 2 * math.pi, vertices, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))  # point down in image rows
    y = y - (y.max() + y.min()) / 2
    radius = np.hypot(x, y)
    return radius / radius.max(), np.arctan2(y, x)


def _star_outline(points: int = 5, inner: float = 0.42) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(2 * points)
    return np.where(k % 2 == 0, 1.0, inner), k * math.pi / points


# Polygon outlines as (radius, angle) per vertex, circumradius 1, before rotation.
_OUTLINES = {
    "square": (np.full(4, 0.72 * math.sqrt(2)), math.pi / 4 + np.arange(4) * math.pi / 2),
    "triangle": (np.ones(3), np.arange(3) * 2 * math.pi / 3),
    "star": _star_outline(),
    "heart": _heart_outline(),
    "cross": _polar(
        [
            (0.95, 0.28),
            (0.28, 0.28),
            (0.28, 0.95),
            (-0.28, 0.95),
            (-0.28, 0.28),
            (-0.95, 0.28),
            (-0.95, -0.28),
            (-0.28, -0.28),
            (-0.28, -0.95),
            (0.28, -0.95),
            (0.28, -0.28),
            (0.95, -0.28),
        ]
    ),
}


def _rgb(values) -> tuple[int, int, int]:
    return tuple(round(255 * float(v)) for v in values)  # type: ignore[return-value]
