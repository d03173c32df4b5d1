"""Argument checks with messages that name the argument, what was expected and what was given."""

from __future__ import annotations

import math
import numbers


def positive_int(value, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an int >= 1 (or None when allowed); ``TypeError`` for non-ints, ``ValueError`` below 1."""
    if value is None and allow_none:
        return None
    expected = "an int >= 1" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}.")
    return int(value)


def non_negative(value, name: str) -> float:
    """``value`` as a finite float >= 0; ``TypeError`` for non-numbers, ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0; got {type(value).__name__} {value!r}.")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}.")
    return float(value)


def check_batch_size(batch_size) -> int:
    """``batch_size`` as an int >= 1 (numpy integers too); ``ValueError`` otherwise."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    return int(batch_size)


def at_most(value, maximum, name: str, why: str = ""):
    """``value`` if it is at most ``maximum``, else ``ValueError`` naming both (and ``why``)."""
    if value > maximum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{name} must be at most {maximum}{reason}; got {value}.")
    return value


def non_negative_int(value, name: str) -> int:
    """``value`` as an int >= 0; ``TypeError`` for non-ints, ``ValueError`` below 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0; got {type(value).__name__} {value!r}.")
    if value < 0:
        raise ValueError(f"{name} must be at least 0; got {value}.")
    return int(value)
