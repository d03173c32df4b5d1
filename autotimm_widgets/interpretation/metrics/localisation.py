"""Pointing game (Zhang et al., 2016) and energy-based pointing game (Wang et al., 2020, "Score-CAM").

A region is given in the user's image coordinates, at the map's size (maps as ``explain``
returns them): a bool mask (H, W), or a box ``(x0, y0, x1, y1)`` in pixels that holds the
pixels whose centres lie inside it (``mask[y0:y1, x0:x1]`` for integer corners).

* **Pointing game:** a hit when the map's maximum lies in the region. When several pixels
  share the maximum, all of them must lie in the region, so a flat map is a miss (unless
  the region is the whole image). ``tolerance`` (pixels, Zhang et al. use 15) grows the
  region by a disc of that radius first.
* **Energy pointing game:** the share of the map's total (non-negative) mass inside the
  region, in [0, 1]; an all-zero map scores 0.

Maps and regions of the same size are stacked and scored together, on the maps' device
(the CPU for NumPy maps).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._validation import as_map, as_region


def pointing_game(maps, regions, *, tolerance: float = 0):
    """Hit or miss for each (map, region) pair.

    Args:
        maps: a list of (H, W) maps (sizes may differ), a (B, H, W) stack, or one (H, W) map.
        regions: one region per map: a bool mask (H, W) or a box (x0, y0, x1, y1); for
            several maps a list, a (B, H, W) stack of masks or a (B, 4) array of boxes.
        tolerance: radius in pixels by which each region is grown (0 = exact).

    Returns:
        bool array (B,), or a Python bool for one map.
    """
    tolerance = _check_tolerance(tolerance)
    single, pairs = _pairs(maps, regions)
    hits = _scored(pairs, lambda m, r: _hits(m, _grow(r, tolerance)), torch.bool)
    return bool(hits[0]) if single else hits


def energy_pointing_game(maps, regions):
    """Share of each map's mass inside its region, in [0, 1]; maps must be non-negative.

    Arguments as :func:`pointing_game`. Returns float64 array (B,), or a float for one map.
    """
    single, pairs = _pairs(maps, regions)
    for i, (m, _) in enumerate(pairs):
        if bool((m < 0).any()):
            raise ValueError(f"map {i} has negative values; the energy pointing game needs non-negative maps.")
    energy = _scored(pairs, _energy, torch.float64)
    return float(energy[0]) if single else energy


# -- vectorised scores over a stack (G, H, W) --------------------------------------------
def _hits(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    top = maps.flatten(1).amax(dim=1)[:, None, None]
    return ~((maps == top) & ~masks).flatten(1).any(dim=1)


def _energy(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    maps = maps.double()
    total = maps.flatten(1).sum(dim=1)
    inside = (maps * masks).flatten(1).sum(dim=1)
    return torch.where(
        total > 0, inside / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(total)
    )


def _grow(masks: torch.Tensor, radius: float) -> torch.Tensor:
    """Dilate (G, H, W) masks by a disc of ``radius`` pixels (a convolution on the masks' device)."""
    if radius <= 0:
        return masks
    reach = int(np.floor(radius))
    offsets = torch.arange(-reach, reach + 1, device=masks.device, dtype=torch.float32)
    disc = ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2).float()[None, None]
    return F.conv2d(masks[:, None].float(), disc, padding=reach)[:, 0] > 0


# -- plumbing ------------------------------------------------------------------------------
def _pairs(maps, regions) -> tuple[bool, list[tuple[torch.Tensor, torch.Tensor]]]:
    single = isinstance(maps, (np.ndarray, torch.Tensor)) and maps.ndim == 2
    map_list = [maps] if single else _as_list(maps, "maps")
    region_list = [regions] if single else _as_list(regions, "regions")
    if len(region_list) != len(map_list):
        raise ValueError(f"got {len(map_list)} maps but {len(region_list)} regions; give one region per map.")
    if not map_list:
        raise ValueError("maps is empty; give at least one map.")
    pairs = []
    for i, (m, r) in enumerate(zip(map_list, region_list, strict=True)):
        heatmap = as_map(m, i)
        pairs.append((heatmap, as_region(r, tuple(heatmap.shape), i).to(heatmap.device)))
    return single, pairs


def _as_list(values, name: str) -> list:
    if isinstance(values, (np.ndarray, torch.Tensor)) and values.ndim == 3:
        return list(values)
    if (
        name == "regions"
        and isinstance(values, (np.ndarray, torch.Tensor))
        and values.ndim == 2
        and values.shape[1] == 4
    ):
        return list(values)  # (B, 4) boxes
    if isinstance(values, (list, tuple)):
        return list(values)
    raise TypeError(
        f"{name} must be a list (one per image) or a (B, H, W) stack; got {type(values).__name__}"
        f"{'' if getattr(values, 'shape', None) is None else f' of shape {tuple(values.shape)}'}."
    )


def _scored(pairs, score, dtype) -> np.ndarray:
    """Apply ``score(maps (G, H, W), masks (G, H, W)) -> (G,)`` to each same-size group; (B,) NumPy."""
    out = np.empty(len(pairs), dtype=np.bool_ if dtype == torch.bool else np.float64)
    groups: dict[tuple, list[int]] = {}
    for i, (m, _) in enumerate(pairs):
        groups.setdefault((tuple(m.shape), m.device), []).append(i)
    for index in groups.values():
        maps = torch.stack([pairs[i][0] for i in index])
        masks = torch.stack([pairs[i][1] for i in index])
        out[index] = score(maps, masks).cpu().numpy()
    return out


def _check_tolerance(tolerance) -> float:
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, numbers.Real)
        or not np.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ValueError(f"tolerance must be a finite number of pixels >= 0; got {tolerance!r}.")
    return float(tolerance)
