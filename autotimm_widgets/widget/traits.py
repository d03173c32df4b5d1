"""The widget's method parameters as traits, validated by the core, and the schema for the view.

Every :class:`~autotimm_widgets.interpretation.registry.Param` of a registered method becomes a
synced trait of the same name (SmoothGrad's own parameters too, but for ``base``: the widget
smooths the method it shows). Values are checked by the param's core validator, so the widget
accepts exactly the values of the param's type that the core accepts. The view gets the same
descriptors as ``_schema`` and builds its menu and controls from them.
"""

from __future__ import annotations

import numbers

import traitlets as t

from ..interpretation.registry import MethodInfo, Param, list_methods, method_info
from .serializers import COLORMAPS

SMOOTHING = method_info("smoothgrad")
SMOOTHING_PARAMS = tuple(p for p in SMOOTHING.params if p.name != "base")
KINDS = {
    int: (numbers.Integral,),
    float: (numbers.Real,),
    str: (str,),
    bool: (bool,),
}


def widget_methods(model=None) -> list[MethodInfo]:
    """The registered methods the widget shows (all but wrappers; with ``model``, those that apply)."""
    return [method_info(n) for n in list_methods(model) if not method_info(n).capabilities.wrapper]


def method_params() -> dict[str, Param]:
    """Every parameter a widget method or SmoothGrad takes, by name (first registration's descriptor)."""
    params: dict[str, Param] = {}
    for info in widget_methods():
        for param in info.params:
            params.setdefault(param.name, param)
    for param in SMOOTHING_PARAMS:
        params.setdefault(param.name, param)
    return params


PARAMS = method_params()


def check_opacity(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"opacity must be in [0.0, 1.0]; got {value!r}.")
    return float(value)


def check_colormap(value) -> str:
    if value not in COLORMAPS:
        raise ValueError(f"colormap must be one of {list(COLORMAPS)}; got {value!r}.")
    return value


# View-only state: repainted in the browser, never sent to an explainer.
VIEW_PARAMS = {
    "opacity": Param("opacity", float, check_opacity, "Opacity", minimum=0.0, maximum=1.0, default=0.5),
    "colormap": Param("colormap", str, check_colormap, "Colormap", choices=tuple(COLORMAPS), default="jet"),
}


def param_traits() -> dict[str, t.TraitType]:
    """One synced trait per parameter, holding its default until the widget sets a method's values."""
    return {name: t.Any(param.default).tag(sync=True) for name, param in PARAMS.items()}


def validate_param(name: str, value):
    """``value`` for parameter ``name`` as the core accepts it, else ``TraitError`` with the core's message."""
    param = PARAMS.get(name) or VIEW_PARAMS[name]
    if (isinstance(value, bool) and param.kind is not bool) or not isinstance(value, KINDS[param.kind]):
        article = "an" if param.kind is int else "a"
        raise t.TraitError(f"{name}: expected {article} {param.kind.__name__}; got {type(value).__name__} {value!r}.")
    try:
        return param.validate(value)
    except (TypeError, ValueError) as error:
        raise t.TraitError(str(error)) from None


def schema(offered: list[str], fields: tuple[str, ...]) -> dict:
    """What the view builds its controls from: the offered methods, every parameter, the
    view-only controls and the state ``fields`` a map depends on."""
    return {
        "methods": [method_info(name).describe() for name in offered],
        "params": {name: param.describe() for name, param in PARAMS.items()},
        "smoothing": {"label": SMOOTHING.label, "params": [p.name for p in SMOOTHING_PARAMS]},
        "view": {name: param.describe() for name, param in VIEW_PARAMS.items()},
        "fields": list(fields),
    }
