"""What a map is of, in words: the caption under the view, its text alternative and the
export's file name.

A caption names the method, the layer (the automatic choice spelled out), the class with its
index and probability (or says the method ignores the class), the method's own parameters,
SmoothGrad's when it is on, the source patch and the true label where one was given, e.g.
``Grad-CAM · layer layer4 (auto) · class 3 "thing 3", p = 41.2% · true class 5 "thing 5"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .methods import METHODS
from .traits import PARAMS, SMOOTHING, SMOOTHING_PARAMS

SEPARATOR = " · "


@dataclass(frozen=True)
class CaptionContext:
    """What a caption needs besides the state: class ``names``, ``probabilities`` (C,) as the
    class panel shows them, the predicted class, the automatic layer's name and the true label
    (an index, or None)."""

    names: Sequence[str]
    probabilities: Sequence[float]
    predicted: int
    auto_layer: str
    label: int | None = None


def caption(state: Mapping, context: CaptionContext) -> str:
    """One line saying what the map for ``state`` (the widget's compute state) is of."""
    method = METHODS[state["method"]]
    caps = method.info.capabilities
    parts = [method.info.label]
    if caps.takes_layer:
        parts.append(f"layer {state['layer']}" if state["layer"] else f"layer {context.auto_layer} (auto)")
    if caps.class_specific:
        parts.append(f"class {_class(state['target_class'], context)}")
    else:
        parts.append(f"any class (predicted {_class(context.predicted, context)})")
    settings = [_setting(name, state[name]) for name in method.own_params if state[name] is not False]
    if caps.smoothable and state["smoothgrad"]:
        smoothing = ", ".join(_setting(p.name, state[p.name]) for p in SMOOTHING_PARAMS)
        settings.append(f"{SMOOTHING.label} ({smoothing})")
    if caps.takes_patch:
        settings.append(f"from token {state['target_patch']}")
    if settings:
        parts.append(", ".join(settings))
    if context.label is not None:
        parts.append(f"true class {context.label} {_quoted(context.names[context.label])}")
    return SEPARATOR.join(parts)


def export_name(state: Mapping, context: CaptionContext) -> str:
    """The export's file name: ``explanation-<method>-class<index>-<name>.png`` (safe characters only)."""
    method = state["method"]
    index = state["target_class"] if METHODS[method].info.capabilities.class_specific else context.predicted
    stem = f"explanation-{method}-class{index}-{context.names[index]}"
    return re.sub(r"[^A-Za-z0-9+._-]+", "_", stem).strip("_")[:120] + ".png"


def _class(index: int, context: CaptionContext) -> str:
    return f"{index} {_quoted(context.names[index])}, p = {100 * float(context.probabilities[index]):.1f}%"


def _quoted(name: str) -> str:
    return f"\u201c{name}\u201d"


def _setting(name: str, value) -> str:
    """``label value``; a switch that is on is its label alone (switches that are off are left out)."""
    label = PARAMS[name].label.lower()
    if value is True:
        return label
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{label} {value}"
