"""What the worker's outcomes do to the widget: status, progress, the shown map and its caption.

:class:`ResultHandling` is mixed into the widget; its methods are the compute engine's
callbacks (called on the worker thread, under the widget's lock). A map is kept with the state
it is the map of, so ``heatmap`` is never a stale map: it is None while a new state computes,
after an error and after a cancel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import numpy as np

from .captions import CaptionContext, caption, export_name
from .engine import Request
from .methods import METHODS, native_key, rollout_key
from .serializers import heatmap_payload, native_payload, resize_map, rollout_payload, scores_payload

PROGRESS_INTERVAL_S = 0.1
TOKEN = "{token}"  # where the browser writes the clicked token into a rollout caption


def map_state(state: Mapping) -> dict:
    """The part of a request state that the method's map depends on (what a shown map and its scores carry)."""
    return {name: state[name] for name in ("method", *METHODS[state["method"]].params)}


class ResultHandling:
    """Engine callbacks and the map they leave. The widget sets ``_lock``, ``_display``,
    ``_image_size``, ``_caption_context`` and the traits ``status``, ``progress``, ``error``,
    ``_heatmap``, ``_scores``; ``_compute_state()`` gives the state the traits ask for."""

    _lock: threading.RLock
    _display: np.ndarray
    _image_size: tuple[int, int]
    _caption_context: CaptionContext
    _current_map: np.ndarray | None = None  # at display size
    _current_state: dict | None = None  # what _current_map is the map of
    _last_progress = 0.0

    @property
    def heatmap(self) -> np.ndarray | None:
        """The current map, float32 (H, W) in [0, 1] at the size of the image passed in; None
        while the current state computes, after an error and after a cancel (never a stale map)."""
        current = self._shown_map()
        return None if current is None else resize_map(current, self._image_size)

    def _shown_map(self) -> np.ndarray | None:
        """The map of the current state at display size, or None when there is none yet."""
        current = self._current_map
        if current is None or self._current_state != map_state(self._compute_state()):
            return None
        return current

    @property
    def caption(self) -> str:
        """What the map of the current state is of (method, layer, class, probability, settings)."""
        return caption(self._compute_state(), self._caption_context)

    # -- engine callbacks, on the worker ---------------------------------------------------
    def _started(self, request: Request) -> None:
        with self._lock:
            self._rejected = None
            self._last_progress = 0.0
            self.progress = 0.0
            self.status = "computing"

    def _report_progress(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_S or fraction >= 1.0:
            self._last_progress = now
            with self._lock:
                self.progress = float(fraction)

    def _publish(self, request: Request, result) -> None:
        scores = None
        if request.state.get("scores"):
            result, scores = result["map"], result["scores"]
        display_map = resize_map(result, self._display.shape[:2])
        state = map_state(request.state)
        with self._lock:
            self._current_map, self._current_state = display_map, state
            if self._heatmap.get("state") != state or self._heatmap.get("data") is None or scores is None:
                context = self._caption_context
                self._heatmap = heatmap_payload(
                    display_map, state, caption(request.state, context), export_name(request.state, context)
                )
            if scores is not None:
                self._scores = scores_payload(scores, state)
            self._send_browser_maps(request.state)
            self._rejected = None
            self.error = ""
            self.progress = 1.0
            self.status = "idle"

    def _send_browser_maps(self, state: Mapping) -> None:
        """What lets the browser repaint without the kernel: the native maps of the top-k classes
        of ``state``'s configuration, and the rollout matrix of a patch method (each sent once)."""
        method = METHODS[state["method"]]
        cache, context = self._engine.cache, self._caption_context
        if method.info.capabilities.shared_classes:
            entries = []
            for c in dict.fromkeys([state["target_class"], *self._session.top_classes]):
                other = {**state, "target_class": c}
                native = cache.get(native_key(method.key(other)))
                if native is not None:
                    entries.append(
                        native_payload(native, map_state(other), caption(other, context), export_name(other, context))
                    )
            states = [e["state"] for e in entries]
            if entries and [e["state"] for e in self._native.get("entries", [])] != states:
                self._native = {"entries": entries, "size": list(self._display.shape[:2])}
        if method.info.capabilities.takes_patch:
            matrix = cache.get(rollout_key(method.key(state)))
            fixed = {k: v for k, v in map_state(state).items() if k != "target_patch"}
            if matrix is not None and self._rollout.get("state") != fixed:
                token = {**state, "target_patch": TOKEN}
                self._rollout = rollout_payload(
                    matrix, fixed, self._grid, caption(token, context), export_name(state, context)
                )

    def _fail(self, request: Request, error: BaseException) -> None:
        with self._lock:
            self._rejected = None
            self._show_error(f"{type(error).__name__}: {error}")

    def _cancelled(self, request: Request) -> None:
        with self._lock:
            self._rejected = None
            self.error = ""
            self.progress = 0.0
            self.status = "cancelled"
