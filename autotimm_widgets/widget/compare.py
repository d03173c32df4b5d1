"""Compare mode: small multiples of the same image, across methods, layers or classes.

With ``compare`` set to ``"methods"``, ``"layers"`` or ``"classes"``, the view shows up to
``MAX_CELLS`` thumbnails, each the current state with one field changed, all on the one colour
scale (every map is normalised to [0, 1]). Each cell is computed like any other map: by its own
:class:`~.engine.ComputeEngine` on the shared worker (newest first, cancellable), through the
main engine's cache, so maps already computed show at once. Clicking a cell in the view makes
its value the main state's.
"""

from __future__ import annotations

import numpy as np

from .captions import caption
from .engine import ComputeEngine, Request
from .methods import METHODS
from .serializers import fit_within, map_bytes, resize_map

FIELD = {"methods": "method", "layers": "layer", "classes": "target_class"}
MAX_CELLS = 6
THUMB_SIDE = 160


class CompareMode:
    """Mixin for the widget: the ``compare`` trait's cells, in ``_compare`` (see the module docstring).

    The widget sets ``_engine``, ``_methods``, ``_layers``, ``_top_classes``, ``_method_values``,
    ``_display``, ``_caption_context``, ``_lock`` and ``_session_compute``.
    """

    _cells: list[ComputeEngine] | None = None

    def compare_values(self, axis: str) -> list:
        """The values the cells of ``axis`` take: offered methods, candidate layers (the deepest
        ones, then automatic), or the top-k classes; at most ``MAX_CELLS``."""
        if axis == "methods":
            return list(self._methods[:MAX_CELLS])
        if axis == "layers":
            return ["", *[layer["name"] for layer in self._layers][::-1][: MAX_CELLS - 1]]
        return [c["index"] for c in self._top_classes][:MAX_CELLS]

    def _cell_state(self, axis: str, value) -> dict:
        state = self._compute_state()
        if axis == "methods":
            state.update(self._method_values[value], method=value)
        else:
            state[FIELD[axis]] = value
        return state

    def _update_compare(self) -> None:
        """(Re)start the cells for the current state and ``compare`` axis when they change; off stops them."""
        axis = self.compare
        states = [self._cell_state(axis, value) for value in self.compare_values(axis)] if axis else []
        if self._compare.get("axis", "") == axis and [c["state"] for c in self._compare.get("cells", [])] == states:
            return  # e.g. a cell clicked: the same cells, and their maps are there
        self._close_cells()
        self._cells = []
        if not axis:
            self._compare = {}
            return
        height, width = fit_within(*self._display.shape[:2], THUMB_SIDE)
        cells = [
            {"value": value, "label": _label(axis, value, self), "state": state, "status": "computing"}
            for value, state in zip(self.compare_values(axis), states, strict=True)
        ]
        self._compare = {"axis": axis, "field": FIELD[axis], "height": height, "width": width, "cells": cells}
        for n in reversed(range(len(cells))):  # the first cell last: the worker runs the newest first
            engine = ComputeEngine(
                self._session_compute,
                lambda request, result, n=n: self._cell_done(n, request, result),
                lambda request, error, n=n: self._cell_status(n, "error", f"{type(error).__name__}: {error}"),
                cancelled=lambda request, n=n: self._cell_status(n, "cancelled"),
                cache=self._engine.cache,
            )
            self._cells.insert(0, engine)
            state = cells[n]["state"]
            engine.submit(METHODS[state["method"]].key(state), state)

    def _cell_done(self, n: int, request: Request, result) -> None:
        payload = self._compare
        thumb = resize_map(np.asarray(result, np.float32), (payload["height"], payload["width"]))
        self._cell_status(n, "idle", caption=caption(request.state, self._caption_context), data=map_bytes(thumb))

    def _cell_status(self, n: int, status: str, error: str = "", **extra) -> None:
        with self._lock:
            payload = self._compare
            if not payload or n >= len(payload["cells"]):
                return
            cells = list(payload["cells"])
            cells[n] = {**cells[n], "status": status, "error": error, **extra}
            self._compare = {**payload, "cells": cells}

    def _cancel_cells(self) -> bool:
        return any([engine.cancel() for engine in self._cells or []])

    def _close_cells(self) -> None:
        for engine in self._cells or []:
            engine.close()


def _label(axis: str, value, widget) -> str:
    if axis == "methods":
        return METHODS[value].info.label
    if axis == "layers":
        return value or f"{widget._caption_context.auto_layer} (auto)"
    return f"{value}: {widget._caption_context.names[value]}"
