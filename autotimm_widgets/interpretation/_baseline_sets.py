"""Baseline distributions: the several baselines DeepLiftShap averages over and GradientShap samples from.

A set is given as names joined by ``'+'`` (``'black+white+random'``; each a ``path_baselines``
name) or as a sequence of any baselines ``path_baselines.Baseline`` accepts (names, tensors in the
model's input space, ndarrays, PIL images).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .path_baselines import NAMES, Baseline
from .preprocessing import Preprocessor
from .registry import Param

SETS = ("black+white+random", "black+white", "black+white+blur", "zero+random", "blur")


def _members(spec) -> list:
    if isinstance(spec, str):
        return spec.split("+")
    if isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)) and len(spec) > 0:
        return list(spec)
    raise TypeError(
        f"baselines must be names joined by '+' (from {NAMES}) or a non-empty sequence of baselines; got {spec!r:.60}."
    )


def check_baseline_set(spec):
    """``spec`` if it is a baseline set (see the module docstring)."""
    for member in _members(spec):
        try:
            Baseline(member)
        except (TypeError, ValueError) as error:
            raise type(error)(f"baselines: {error}") from None
    return spec


BASELINES = Param("baselines", str, check_baseline_set, "Baselines", choices=SETS)


class BaselineSet:
    """A validated set; ``build(inputs, preprocessor)`` gives (B, N, C, h, w) baselines."""

    def __init__(self, spec, channels: int = 3):
        self.spec = check_baseline_set(spec)
        self.members = [Baseline(member, channels) for member in _members(spec)]

    def __len__(self) -> int:
        return len(self.members)

    def build(self, inputs: torch.Tensor, preprocessor: Preprocessor) -> torch.Tensor:
        return torch.stack([member.build(inputs, preprocessor) for member in self.members], dim=1)
