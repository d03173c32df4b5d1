"""Messages from the browser are untrusted: each is checked before anything reaches torch.

:class:`UntrustedViewGuard` is the widget's comm handling. A malformed message or a value the
view may not set, or that fails its trait's validation, becomes ``status="error"`` with a
message (never an exception in the comm handler, never a partly applied update); the view is
sent the current values back, and the next accepted update clears the error.
"""

from __future__ import annotations

import threading

MAX_ERROR_CHARS = 1000


class UntrustedViewGuard:
    """Mixin for an ipywidgets widget with ``status``, ``error`` and ``progress`` traits.

    The widget sets ``_front_end_fields`` (the traits the view may set, ``_first_fields`` of
    them applied first in an update) and ``_lock``; the custom messages ``{"type": "scores"}``,
    ``{"type": "cancel"}`` and ``{"type": "compute"}`` call its ``compute_scores()``, ``cancel()``
    and ``recompute()``.
    """

    _front_end_fields: tuple[str, ...] = ()
    _first_fields: tuple[str, ...] = ()
    _lock: threading.RLock
    _updating: frozenset = frozenset()  # the fields of the update being applied
    _rejected: tuple | None = None  # (status, error, progress) that a rejected message replaced

    def _handle_msg(self, msg):
        """The comm handler: a malformed message becomes an error status, never an exception.

        ipywidgets' own handler would print a traceback into the notebook and leave the
        status as it was; here the message's shape is checked first.
        """
        try:
            data = msg["content"]["data"]
            method = data["method"]
            if method == "update":
                state = data.get("state", {})
                if data.get("buffer_paths"):
                    raise ValueError("binary buffers were sent, but no trait the view may set takes them")
                self.set_state(state)
            elif method in ("request_state", "custom"):
                super()._handle_msg(msg)
            else:
                raise ValueError(f"unknown message method {method!r}")
        except Exception as error:  # noqa: BLE001 - messages from the browser are untrusted
            self._reject(f"ignored a malformed message from the view: {type(error).__name__}: {error}")

    def set_state(self, sync_data):
        """Apply a state update from the view; a bad value becomes an error status, never an exception.

        The view may set only the two-way traits (``self._front_end_fields``); each value is checked
        by its trait's type and validator before anything reaches the explainers. A rejected
        update changes nothing, and the view is sent the current values back; the next accepted
        update clears its error.
        """
        try:
            if not isinstance(sync_data, dict):
                raise TypeError(f"a state update must be a dict of trait values; got {type(sync_data).__name__}")
            refused = sorted(str(key) for key in sync_data if key not in self._front_end_fields)
            if refused:
                raise ValueError(f"the view may set only {list(self._front_end_fields)}; got {refused}")
            first = {k: sync_data[k] for k in self._first_fields if k in sync_data}
            sync_data = {**first, **sync_data}
            self._updating = frozenset(sync_data)  # a method's restored values give way to these
            try:
                super().set_state(sync_data)
            finally:
                self._updating = frozenset()
        except Exception as error:  # noqa: BLE001 - values from the browser are untrusted
            self._reject(f"rejected a value from the view: {error}")
            if isinstance(sync_data, dict):
                self.send_state(key=[k for k in sync_data if k in self._front_end_fields])
        else:
            self._end_rejection()

    def _on_view_message(self, _widget, content, _buffers) -> None:
        """Custom messages from the view: ``scores``, ``cancel`` and ``compute`` (see the class)."""
        actions = {"scores": self.compute_scores, "cancel": self.cancel, "compute": self.recompute}
        kind = content.get("type") if isinstance(content, dict) else None
        action = actions.get(kind) if isinstance(kind, str) else None
        if action is not None:
            action()
        else:
            self._reject(f"ignored an unknown message from the view: {str(content)[:200]}")

    def _reject(self, message: str) -> None:
        """Show an error about a message from the view, remembering the status it replaces."""
        with self._lock:
            if self._rejected is None:
                self._rejected = (self.status, self.error, self.progress)
            self._show_error(message)

    def _end_rejection(self) -> None:
        """An accepted update: bring back the status a rejected one replaced (unless the engine moved on)."""
        with self._lock:
            if self._rejected is not None:
                self.status, self.error, self.progress = self._rejected
                self._rejected = None

    def _show_error(self, message: str) -> None:
        if len(message) > MAX_ERROR_CHARS:
            message = message[: MAX_ERROR_CHARS - 1] + "…"
        with self._lock:
            self.error = message
            self.progress = 0.0
            self.status = "error"
