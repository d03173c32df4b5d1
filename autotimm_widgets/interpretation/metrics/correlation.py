"""Spearman rank correlation between pairs of maps, vectorised over a batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata


def rank_correlation(maps_a: Sequence[np.ndarray], maps_b: Sequence[np.ndarray]) -> np.ndarray:
    """Spearman's rho of each pair ``(maps_a[i], maps_b[i])`` of equal-shape maps, as float64 (B,).

    Ties get average ranks (as ``scipy.stats.spearmanr``); a constant map has no ranking,
    so its correlation is NaN. Pairs of the same shape are ranked together, along one axis.
    """
    if len(maps_a) != len(maps_b):
        raise ValueError(f"got {len(maps_a)} and {len(maps_b)} maps; give pairs of maps.")
    _check_shapes(maps_a, maps_b)
    return RankedMaps(maps_a).correlation(maps_b)


class RankedMaps:
    """Maps ranked once, to correlate with many others (the randomisation check compares one
    set of original maps with a set per layer: ranking the originals once saves half the work)."""

    def __init__(self, maps: Sequence[np.ndarray]):
        self.count = len(maps)
        self.shapes = [np.shape(m) for m in maps]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, shape in enumerate(self.shapes):
            groups.setdefault(shape, []).append(i)
        # shape -> (indices, centred ranks (G, N), their sums of squares (G,))
        self._groups = {}
        for shape, index in groups.items():
            ranks = _centred(rankdata(_rows(maps, index), axis=1))
            self._groups[shape] = (index, ranks, (ranks * ranks).sum(axis=1))

    def correlation(self, others: Sequence[np.ndarray]) -> np.ndarray:
        """Spearman's rho of each ranked map with ``others[i]`` (same shapes), float64 (B,)."""
        if len(others) != self.count:
            raise ValueError(f"got {self.count} and {len(others)} maps; give pairs of maps.")
        out = np.empty(self.count, dtype=np.float64)
        for shape, (index, a, a_squares) in self._groups.items():
            for i in index:
                if np.shape(others[i]) != shape:
                    raise ValueError(f"pair {i} has maps of shapes {shape} and {np.shape(others[i])}; they must match.")
            b = _centred(rankdata(_rows(others, index), axis=1))
            norm = np.sqrt(a_squares * (b * b).sum(axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[index] = np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)
        return out


def _check_shapes(maps_a: Sequence[np.ndarray], maps_b: Sequence[np.ndarray]) -> None:
    for i, (a, b) in enumerate(zip(maps_a, maps_b, strict=True)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"pair {i} has maps of shapes {np.shape(a)} and {np.shape(b)}; they must match.")


def _rows(maps: Sequence[np.ndarray], index: list[int]) -> np.ndarray:
    return np.stack([np.asarray(maps[i], dtype=np.float64).ravel() for i in index])


def _centred(rows: np.ndarray) -> np.ndarray:
    return rows - rows.mean(axis=1, keepdims=True)
