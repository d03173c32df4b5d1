"""Spearman rank correlation between pairs of maps, vectorised over a batch."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import rankdata


def rank_correlation(maps_a: Sequence[np.ndarray], maps_b: Sequence[np.ndarray]) -> np.ndarray:
    """Spearman's rho of each pair ``(maps_a[i], maps_b[i])`` of equal-shape maps, as float64 (B,).

    Ties get average ranks (as ``scipy.stats.spearmanr``); a constant map has no ranking,
    so its correlation is NaN. Pairs of the same shape are ranked together, along one axis.
    """
    if len(maps_a) != len(maps_b):
        raise ValueError(f"got {len(maps_a)} and {len(maps_b)} maps; give pairs of maps.")
    out = np.empty(len(maps_a), dtype=np.float64)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (a, b) in enumerate(zip(maps_a, maps_b, strict=True)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"pair {i} has maps of shapes {np.shape(a)} and {np.shape(b)}; they must match.")
        groups.setdefault(np.shape(a), []).append(i)
    for index in groups.values():
        a = np.stack([np.asarray(maps_a[i], dtype=np.float64).ravel() for i in index])
        b = np.stack([np.asarray(maps_b[i], dtype=np.float64).ravel() for i in index])
        out[index] = _pearson_rows(rankdata(a, axis=1), rankdata(b, axis=1))
    return out


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)
