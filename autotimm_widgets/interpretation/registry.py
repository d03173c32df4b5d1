"""The method registry: every explainer registers itself where it is defined.

In the spirit of timm's ``register_model`` / ``list_models`` / ``create_model``:

* ``@register_method(name, label=..., params=(...), ...)`` on an explainer class records a
  :class:`MethodInfo`: its name, label, class, :class:`Capabilities` and :class:`Param` list;
* :func:`list_methods` names the registered methods (those that apply to a model, given one);
* :func:`method_info` returns one descriptor; :func:`create_explainer` builds an explainer.

A :class:`Param` holds no default and no range of its own: the default is read from the class's
constructor signature, and the type, bounds and choices are the constants next to the core's
validator, which :meth:`Param.validate` calls. So the widget, ``compare_methods`` and the tests,
which all read the registry, accept exactly what the core accepts.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from torch import nn

_REGISTRY: dict[str, MethodInfo] = {}


@dataclass(frozen=True)
class Param:
    """One parameter of a method's map.

    ``kind`` is ``int``, ``float``, ``bool`` or ``str``; ``choices`` (for ``str``) or
    ``minimum``/``maximum`` (numbers; ``maximum_inclusive=False`` for ``< maximum``) state what
    ``check``, the core's own validator, accepts. ``argument`` is the constructor's keyword when
    it differs from ``name``. ``default`` is filled in from the constructor at registration.
    """

    name: str
    kind: type
    check: Callable[[Any], Any]
    label: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    maximum_inclusive: bool = True
    argument: str | None = None
    default: Any = None

    def validate(self, value):
        """``value`` as the core accepts it, or the core's ``TypeError``/``ValueError``."""
        return self.check(value)

    def describe(self) -> dict:
        """JSON-able description (the widget's front end builds its controls from it)."""
        return {
            "name": self.name,
            "kind": self.kind.__name__,
            "label": self.label,
            "default": self.default,
            "choices": list(self.choices) if self.choices is not None else None,
            "min": self.minimum,
            "max": self.maximum,
            "max_inclusive": self.maximum_inclusive,
        }


@dataclass(frozen=True)
class Capabilities:
    """What a method does and needs.

    ``class_specific``: explains one class (else class-agnostic, ``target_class`` unused);
    ``takes_layer``: explains a chosen layer (``target_layer``); ``smoothable``: SmoothGrad can
    wrap it; ``needs_attention``: only for models with self-attention layers (ViTs);
    ``takes_patch``: explains from a chosen source token (``target_patch``);
    ``resolution``: ``"pixel"`` (input-resolution maps) or ``"region"`` (layer or patch grid);
    ``shared_classes``: maps of several classes come from one forward pass (cheap to prefetch);
    ``wrapper``: wraps another method (SmoothGrad), configured by ``base``.
    """

    class_specific: bool = True
    takes_layer: bool = False
    smoothable: bool = False
    needs_attention: bool = False
    takes_patch: bool = False
    resolution: str = "region"
    shared_classes: bool = False
    wrapper: bool = False


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: ``name``, ``label``, ``cls``, ``capabilities`` and ``params``."""

    name: str
    label: str
    cls: type
    capabilities: Capabilities
    params: tuple[Param, ...] = field(default_factory=tuple)
    rank: int = 100

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(f"method {self.name!r} has no parameter {name!r}; it has {[p.name for p in self.params]}.")

    def applies_to(self, model: nn.Module) -> bool:
        """True when the method can explain ``model``: attention methods need attention layers,
        and a method may refuse a model for its own reasons (``cls.unsupported(model)``)."""
        if self.capabilities.needs_attention:
            from .attention.capture import has_attention_layers

            if not has_attention_layers(model):
                return False
        return self.cls.unsupported(model) is None

    def describe(self) -> dict:
        caps = self.capabilities
        return {"name": self.name, "label": self.label, "params": [p.name for p in self.params], **caps.__dict__}


def register_method(
    name: str, *, label: str, params: Sequence[Param] = (), rank: int = 100, **capabilities
) -> Callable[[type], type]:
    """Class decorator: register an explainer under ``name`` (see :class:`Capabilities`).

    ``rank`` orders methods of the same kind in :func:`list_methods` (lower first; the contract's
    GradCAM, GradCAM++ and Integrated Gradients lead, so GradCAM is the widget's default;
    class-agnostic CAMs come last among the CAMs, at 200)."""

    def decorator(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"a method named {name!r} is registered already ({_REGISTRY[name].cls.__name__}).")
        signature = constructor_parameters(cls)
        filled = []
        for param in params:
            argument = param.argument or param.name
            if argument not in signature:
                raise TypeError(f"{cls.__name__}.__init__ has no argument {argument!r} for parameter {param.name!r}.")
            declared = signature[argument].default
            default = param.default if declared is inspect.Parameter.empty else declared
            filled.append(replace(param, default=param.validate(default)))
        _REGISTRY[name] = MethodInfo(name, label, cls, Capabilities(**capabilities), tuple(filled), rank)
        cls.method_name = name
        return cls

    return decorator


def list_methods(model: nn.Module | None = None) -> list[str]:
    """Registered method names, with ``model`` those that apply to it: the attribution methods
    first, then the attention methods, then wrappers; in each group by rank, then in
    registration order."""
    _load_methods()
    ordered = sorted(
        _REGISTRY.values(),
        key=lambda i: (i.capabilities.wrapper, i.capabilities.needs_attention, i.rank),
    )
    return [info.name for info in ordered if model is None or info.applies_to(model)]


def method_info(name: str) -> MethodInfo:
    """The descriptor of method ``name``; ``ValueError`` with the closest names if there is none."""
    _load_methods()
    if not isinstance(name, str):
        raise TypeError(f"a method name must be a str; got {type(name).__name__}.")
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"no method named {name!r}; registered: {list(_REGISTRY)}.{hint}")
    return _REGISTRY[name]


def create_explainer(name: str, model: nn.Module, **params):
    """Build method ``name`` for ``model``.

    ``params`` are the method's :class:`Param` values (validated by the core, by name) and any
    other keyword its constructor takes (``use_cuda``, ``preprocess``, ``target_layer``,
    ``internal_batch_size``, ...). A wrapper (``"smoothgrad"``) takes ``base=`` (a method name,
    by default its parameter's default) and passes the keywords it does not take to the base.
    """
    info = method_info(name)
    if info.capabilities.wrapper:
        return _create_wrapper(info, model, params)
    return _construct(info, model, params)


def _construct(info: MethodInfo, model, params: dict, *leading):
    signature = constructor_parameters(info.cls)
    accepted = {p.argument or p.name for p in info.params} | {n for n in signature if n not in ("self", "model")}
    by_name = {p.name: p for p in info.params}
    kwargs = {}
    for key, value in params.items():
        if key in by_name:
            param = by_name[key]
            kwargs[param.argument or param.name] = param.validate(value)
        elif key in signature and key not in ("self", "model"):
            kwargs[key] = value
        else:
            raise TypeError(f"{info.name!r} takes no parameter {key!r}; it takes {sorted(set(by_name) | accepted)}.")
    return info.cls(*leading, **kwargs) if leading else info.cls(model, **kwargs)


def _create_wrapper(info: MethodInfo, model, params: dict):
    params = dict(params)
    own = {p.name for p in info.params} | set(constructor_parameters(info.cls))
    base_name = params.pop("base", None)
    base_param = info.param("base")
    base_name = base_param.validate(base_param.default if base_name is None else base_name)
    base_params = {k: params.pop(k) for k in list(params) if k not in own}
    base = create_explainer(base_name, model, **base_params)
    return _construct(info, model, params, base)


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The named keywords ``cls(...)`` takes: its ``__init__``'s, and where that passes
    ``**options`` on, those of the next ``__init__`` up the class hierarchy (first declaration wins)."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        for name, parameter in parameters.items():
            if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                found.setdefault(name, parameter)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    return found


def _load_methods() -> None:
    """Import the package, whose ``__init__`` imports every method's module (each registers
    itself on import)."""
    import autotimm_widgets.interpretation  # noqa: F401
