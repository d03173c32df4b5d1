"""Target classes: accept integer-like values, reject the rest, and check the range."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch

PREDICTED = -1  # marks "explain the predicted class" in a class tensor


def as_class_index(value, name: str = "target_class") -> int | None:
    """Return ``value`` as a non-negative int (``None`` stays ``None``: the predicted class).

    Accepts Python and NumPy integers and 0-d integer tensors or arrays; rejects floats, bools
    and everything else with ``TypeError``, and negative values with ``ValueError``.
    """
    if value is None:
        return None
    if _is_custom_target(value):  # a targets.Target: checked by the method that takes it
        return value
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        is_int = (
            (not value.is_floating_point() and not value.is_complex() and value.dtype != torch.bool)
            if isinstance(value, torch.Tensor)
            else np.issubdtype(value.dtype, np.integer)
        )
        if is_int:
            value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int class index (or None for the predicted class); got {type(value).__name__} {value!r}."
        )
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be a non-negative class index; got {value}.")
    return value


def explain_targets(target_class) -> tuple[list[int | None], bool]:
    """Parse ``explain``'s ``target_class``: one class, or a sequence of classes for one map each.

    Returns the class list and whether a single map (not a stack) was asked for.
    """
    if _is_sequence(target_class):
        classes = [as_class_index(c) for c in _as_list(target_class)]
        if not classes:
            raise ValueError("target_class is an empty sequence; give at least one class index, or None.")
        if any(c is None for c in classes):
            raise ValueError("a target_class list may not contain None; use integer class indices.")
        return classes, False
    return [as_class_index(target_class)], True


def batch_targets(target_classes, count: int) -> list[int | None]:
    """Parse ``explain_batch``'s ``target_classes``: ``None``, or one class (or None) per image."""
    if target_classes is None:
        return [None] * count
    if not _is_sequence(target_classes):
        raise TypeError(
            f"target_classes must be None or a sequence with one class per image; got {type(target_classes).__name__}."
        )
    values = _as_list(target_classes)
    if len(values) != count:
        raise ValueError(f"target_classes has {len(values)} entries but there are {count} images; give one per image.")
    return [as_class_index(v, "target_classes entry") for v in values]


def check_range(classes: Sequence[int | None], num_classes: int) -> None:
    """Raise ``ValueError`` naming the valid range if a class index is too large."""
    for c in classes:
        c = getattr(c, "index", None) if _is_custom_target(c) else c
        if c is not None and c >= num_classes:
            raise ValueError(
                f"target_class {c} is out of range: the model has {num_classes} classes, "
                f"so valid indices are 0..{num_classes - 1}."
            )


def class_tensor(classes: Sequence[Sequence[int | None]], device) -> torch.Tensor:
    """(B, K) int64 tensor of requested classes, with ``PREDICTED`` where None."""

    def index(c):
        c = getattr(c, "index", None) if _is_custom_target(c) else c
        return PREDICTED if c is None else c

    return torch.tensor([[index(c) for c in row] for row in classes], dtype=torch.long, device=device)


def has_custom_targets(classes: Sequence[Sequence]) -> bool:
    """True if any requested class is a custom target (``targets.Target``)."""
    return any(_is_custom_target(c) for row in classes for c in row)


def resolve_classes(logits: torch.Tensor, requested: torch.Tensor) -> torch.Tensor:
    """Replace ``PREDICTED`` entries of a (B, K) class tensor by each image's argmax class."""
    predicted = logits.detach().argmax(dim=1, keepdim=True).expand_as(requested)
    return torch.where(requested == PREDICTED, predicted, requested)


def _is_custom_target(value) -> bool:
    from .targets import Target

    return isinstance(value, Target)


def _is_sequence(value) -> bool:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.ndim >= 1
    return isinstance(value, (list, tuple, range))


def _as_list(value) -> list:
    if isinstance(value, torch.Tensor):
        if value.ndim != 1:
            raise ValueError(f"class indices must be a 1-D sequence; got a tensor of shape {tuple(value.shape)}.")
        return list(value.unbind()) if value.numel() else []
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(f"class indices must be a 1-D sequence; got an array of shape {value.shape}.")
        return list(value)
    return list(value)


def refuse_classes(method: str, classes: Sequence[Sequence[int | None]], alternative: str) -> None:
    """``ValueError`` if any class is requested from a class-agnostic ``method`` (``alternative``: what to use)."""
    if any(c is not None for row in classes for c in row):
        raise ValueError(
            f"{method} does not depend on the class, so it takes no target class; for a class-specific map use {alternative}."
        )
