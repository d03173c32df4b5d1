"""Argument checks shared by the metrics: each bad input gets a ValueError or TypeError saying what was expected.

Every check runs before the model is touched, so a rejected call leaves the model as it was.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

from .._checks import check_batch_size  # noqa: F401 - re-exported for the metrics modules
from .._targets import as_class_index, batch_targets

BASELINES = ("blur", "black", "mean")
SCORES = ("probability", "sigmoid", "logit")


def check_curve_steps(steps) -> int:
    """``steps`` is the number of points on a curve, from 0 % to 100 % of the pixels: an int >= 2."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be an int >= 2 (points on the curve, 0% to 100% of the pixels); got {steps!r}.")
    if steps < 2:
        raise ValueError(
            f"steps must be >= 2: a curve needs at least its two ends (0% and 100% of the pixels); got {steps}."
        )
    return int(steps)


def check_choice(value, choices: Sequence[str], name: str) -> str:
    """``value`` must be one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}.")
    return value


def as_image_list(images) -> list:
    """A batch of images as a list: a list or tuple, a (B, 3, H, W) tensor, a (B, H, W, C) array, or one image."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("images is empty; give at least one image.")
        return list(images)
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return list(images.unbind(0))
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return list(images)
    return [images]  # one image; its own checks run when it is prepared


def as_map_list(maps, count: int) -> list[torch.Tensor]:
    """One (H, W) map per image: a list of maps, a (B, H, W) stack, or one (H, W) map for one image."""
    if isinstance(maps, (torch.Tensor, np.ndarray)) and maps.ndim == 2:
        items = [maps]
    elif (isinstance(maps, (torch.Tensor, np.ndarray)) and maps.ndim == 3) or isinstance(maps, (list, tuple)):
        items = list(maps)
    else:
        raise TypeError(
            "maps must be an (H, W) array, a (B, H, W) stack or a list of (H, W) arrays; "
            f"got {type(maps).__name__}{_shape_text(maps)}."
        )
    if len(items) != count:
        raise ValueError(
            f"got {len(items)} maps for {count} images; give one (H, W) map per image"
            " (a (K, H, W) stack from explain(target_class=[...]) holds K maps for ONE image)."
        )
    return [as_map(m, i) for i, m in enumerate(items)]


def as_map(value, index: int = 0) -> torch.Tensor:
    """One map as a float tensor (H, W) with finite values (it stays on its device)."""
    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise TypeError(f"map {index} must hold real numbers; got dtype {value.dtype}.")
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"map {index} must be an np.ndarray or torch.Tensor (H, W); got {type(value).__name__}.")
    if value.dtype == torch.bool or value.is_complex():
        raise TypeError(f"map {index} must hold real numbers; got dtype {value.dtype}.")
    if value.ndim != 2:
        raise ValueError(f"map {index} must have shape (H, W); got {tuple(value.shape)}.")
    if value.numel() == 0:
        raise ValueError(f"map {index} is empty (shape {tuple(value.shape)}).")
    value = value.detach().float()
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"map {index} contains NaN or Inf values.")
    return value


def check_map_size(heatmap: torch.Tensor, size: tuple[int, int], index: int) -> None:
    if tuple(heatmap.shape) != tuple(size):
        raise ValueError(
            f"map {index} has shape {tuple(heatmap.shape)} but image {index} is {size[0]}x{size[1]} (H x W); "
            "give maps at the image's own size, as explain() returns them."
        )


def as_targets(target_classes, count: int) -> list[int | None]:
    """``None`` (each image's predicted class), one class for every image, or one class (or None) per image."""
    is_sequence = isinstance(target_classes, (list, tuple, range)) or (
        isinstance(target_classes, (torch.Tensor, np.ndarray)) and target_classes.ndim >= 1
    )
    if not is_sequence:
        return [as_class_index(target_classes, "target_classes")] * count
    return batch_targets(target_classes, count)


def as_region(region, size: tuple[int, int], index: int) -> torch.Tensor:
    """A mask (H, W) of bool (or 0/1 values), or a box (x0, y0, x1, y1) -> bool mask (H, W), non-empty.

    A box holds the pixels whose centres (x + 0.5, y + 0.5) lie inside it: for integer
    corners that is ``mask[y0:y1, x0:x1]``.
    """
    if _is_box(region):
        mask = _box_mask(region, size, index)
    else:
        mask = _as_mask(region, index)
        if tuple(mask.shape) != tuple(size):
            raise ValueError(
                f"mask {index} has shape {tuple(mask.shape)} but map {index} is {size[0]}x{size[1]} (H x W); "
                "give masks in the user's image coordinates, at the image's size."
            )
    if not bool(mask.any()):
        raise ValueError(f"mask {index} is empty (no pixel inside); the pointing game needs a non-empty region.")
    return mask


def _is_box(region) -> bool:
    if isinstance(region, (torch.Tensor, np.ndarray)):
        return region.ndim == 1
    return isinstance(region, (list, tuple))


def _box_mask(box, size: tuple[int, int], index: int) -> torch.Tensor:
    values = box.tolist() if isinstance(box, (torch.Tensor, np.ndarray)) else list(box)
    if len(values) != 4 or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise ValueError(f"box {index} must be 4 numbers (x0, y0, x1, y1) in image pixels; got {box!r}.")
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(np.isfinite([x0, y0, x1, y1])):
        raise ValueError(f"box {index} has non-finite corners: {box!r}.")
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {index} must have x0 < x1 and y0 < y1 (corners (x0, y0, x1, y1)); got {box!r}.")
    height, width = size
    ys = torch.arange(height, dtype=torch.float64) + 0.5
    xs = torch.arange(width, dtype=torch.float64) + 0.5
    rows = (ys >= y0) & (ys < y1)
    cols = (xs >= x0) & (xs < x1)
    mask = rows[:, None] & cols[None, :]
    if not bool(mask.any()):
        raise ValueError(f"box {index} {tuple(values)} holds no pixel of the {height}x{width} (H x W) image.")
    return mask


def _as_mask(mask, index: int) -> torch.Tensor:
    if isinstance(mask, np.ndarray):
        if not (
            mask.dtype == np.bool_ or np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)
        ):
            raise TypeError(f"mask {index} must be a bool array (H, W); got dtype {mask.dtype}.")
        mask = torch.from_numpy(np.ascontiguousarray(mask))
    if not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"region {index} must be a bool mask (H, W) or a box (x0, y0, x1, y1); got {type(mask).__name__}."
        )
    if mask.ndim != 2:
        raise ValueError(f"mask {index} must have shape (H, W); got {tuple(mask.shape)}.")
    if mask.dtype != torch.bool:
        if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"mask {index} must be bool or hold only 0 and 1; use e.g. mask > 0 for a 0..255 mask.")
        mask = mask != 0
    return mask


def _shape_text(value) -> str:
    shape = getattr(value, "shape", None)
    return f" of shape {tuple(shape)}" if shape is not None else ""
