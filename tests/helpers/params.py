"""Every registered parameter, and values around what its descriptor allows."""

from __future__ import annotations

import math

import numpy as np

from autotimm_widgets.interpretation import list_methods, method_info

# The methods the contract names: they must stay registered, whatever else joins them.
CORE = [
    "gradcam",
    "gradcam++",
    "integrated_gradients",
    "attention_rollout",
    "attention_flow",
    "gradient_rollout",
    "smoothgrad",
]
EXPECTED = list_methods()
ALL_PARAMS = [(name, param) for name in EXPECTED for param in method_info(name).params]
PARAM_IDS = [f"{name}.{param.name}" for name, param in ALL_PARAMS]


def candidate_values(param) -> list:
    """Values around what a descriptor says is allowed: its bounds, past them, its choices, junk."""
    if param.choices is not None:
        return [*param.choices, "nope", "", 3, None]
    if param.kind in (int, float):
        low, high = param.minimum, param.maximum
        values = [low, high, (low + high) / 2, low - 1, high + 1, math.nan, math.inf, "1", None, True]
        if param.kind is int:
            values += [int(low), int(high), int(low) - 1, int(high) + 1, np.int64(low), 2.5]
        else:
            values += [np.float32(low), low + 1e-9, high - 1e-6, high + 1e-6]
        return values
    return [True, False, 1, "x"]


def descriptor_allows(param, value) -> bool:
    if param.kind is bool:
        return isinstance(value, bool)
    if param.choices is not None:
        return value in param.choices
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    if param.kind is int and not isinstance(value, (int, np.integer)):
        return False
    if not math.isfinite(value) or value < param.minimum:
        return False
    return value <= param.maximum if param.maximum_inclusive else value < param.maximum
