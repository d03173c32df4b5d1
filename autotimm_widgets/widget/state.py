"""The widget's state traits: what the view may set, each checked, and per-method values.

:class:`WidgetState` declares every two-way trait: the method, its class, layer and source
patch, SmoothGrad's switch, the view-only opacity and colormap, and one trait per registered
method parameter (``traits.param_traits``). Each is validated before it is set (Python gets a
``TraitError``; the view an error status, see ``view_guard``). Each method keeps its own
parameter values, brought back when the method is chosen again.

The widget sets ``_methods`` (offered), ``_num_classes``, ``_grid``, ``_model``,
``_method_values`` ({method: {param: value}}), ``_params_method`` (whose values the traits
hold), ``_ready`` and ``_restoring``.
"""

from __future__ import annotations

import types

import anywidget
import traitlets as t

from ..interpretation._layers import resolve_layer
from .traits import PARAMS, VIEW_PARAMS, param_traits, validate_param

# The state a map may depend on: the method, its class, layer and source patch, SmoothGrad's
# switch, and every registered method parameter (one trait each, see ``traits``).
COMPUTE_FIELDS = ("method", "target_class", "layer", "smoothgrad", *PARAMS, "target_patch")
VIEW_FIELDS = tuple(VIEW_PARAMS)  # opacity, colormap: repainted in the browser alone
COMPARE_AXES = ("", "methods", "layers", "classes")
FRONT_END_FIELDS = COMPUTE_FIELDS + VIEW_FIELDS + ("compare",)  # all the view may set; the rest is read-only


# A base class whose traits are the registered methods' parameters (``traits.param_traits``).
MethodParamTraits = types.new_class(
    "MethodParamTraits", (anywidget.AnyWidget,), exec_body=lambda namespace: namespace.update(param_traits())
)


class WidgetState(MethodParamTraits):
    """Two-way state traits with their validators (see the module docstring)."""

    method = t.Unicode("").tag(sync=True)  # set to the first offered method on construction
    target_class = t.Int(0).tag(sync=True)
    layer = t.Unicode("").tag(sync=True)
    smoothgrad = t.Bool(False).tag(sync=True)
    target_patch = t.Int(0).tag(sync=True)
    opacity = t.Float(VIEW_PARAMS["opacity"].default).tag(sync=True)
    colormap = t.Unicode(VIEW_PARAMS["colormap"].default).tag(sync=True)
    compare = t.Unicode("").tag(sync=True)  # small multiples across "methods", "layers" or "classes"

    # -- validation: Python callers get a TraitError, the view an error status -----------
    @t.validate("method")
    def _check_method(self, proposal):
        if proposal.value not in self._methods:
            raise t.TraitError(f"method must be one of {self._methods}; got {proposal.value!r}.")
        # Compared with the method whose values the traits hold, not with ``self.method``: inside
        # ``hold_trait_notifications`` (every update from the view) validation runs after the
        # new value is stored, so ``self.method`` already is the new method.
        if self._ready and proposal.value != self._params_method:
            self._restore_params(proposal.value)  # before the values an update sets with it
        return proposal.value

    @t.validate("target_class")
    def _check_class(self, proposal):
        return _in_range("target_class", proposal.value, 0, self._num_classes - 1)

    @t.validate("target_patch")
    def _check_patch(self, proposal):
        tokens = self._grid.get("tokens") if self._grid else None
        return _in_range("target_patch", proposal.value, 0, (tokens or 1) - 1)

    @t.validate("layer")
    def _check_layer(self, proposal):
        if proposal.value:
            try:
                resolve_layer(self._model, proposal.value)
            except ValueError as error:
                raise t.TraitError(str(error)) from None
        return proposal.value

    @t.validate(*PARAMS)
    def _check_param(self, proposal):
        return validate_param(proposal.trait.name, proposal.value)

    @t.validate("compare")
    def _check_compare(self, proposal):
        if proposal.value not in COMPARE_AXES:
            raise t.TraitError(f"compare must be one of {list(COMPARE_AXES)}; got {proposal.value!r}.")
        return proposal.value

    @t.validate("opacity")
    def _check_opacity(self, proposal):
        return validate_param("opacity", proposal.value)

    @t.validate("colormap")
    def _check_colormap(self, proposal):
        return validate_param("colormap", proposal.value)

    def _remember(self, name: str, value) -> None:
        """Keep a parameter's new value for the current method; for every method that takes it
        when the current one does not."""
        current = self._method_values[self.method]
        for values in [current] if name in current else self._method_values.values():
            if name in values:
                values[name] = value

    def _restore_params(self, method: str) -> None:
        """Set the parameters of ``method`` to the values it keeps (no request of their own;
        called while ``method`` is validated, so the request that follows has both)."""
        self._restoring = True
        try:
            for name, value in self._method_values[method].items():
                if name not in self._updating:  # a value sent with the method is the one to keep
                    setattr(self, name, value)
            self._params_method = method
        finally:
            self._restoring = False


def _in_range(name: str, value, low, high):
    if isinstance(value, bool):
        raise t.TraitError(f"{name} must be a number in [{low}, {high}]; got {value!r}.")
    if not low <= value <= high:
        raise t.TraitError(f"{name} must be in [{low}, {high}]; got {value!r}.")
    return value
