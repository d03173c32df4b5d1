"""ExplainerWidget: explore what an image classifier looks at, in the notebook (anywidget)."""

from __future__ import annotations

import pathlib
import threading
import time
import types
from collections.abc import Sequence

import anywidget
import numpy as np
import torch
import traitlets as t
from torch import nn

from ..interpretation import GradCAM
from ..interpretation._images import to_pixels
from ..interpretation._layers import resolve_layer
from ..interpretation.attention import token_layout
from ..interpretation.preprocessing import resize_pixels
from .class_names import resolve_class_names
from .engine import ComputeEngine, Request
from .methods import METHODS, Session, compute_scores, default_methods, is_vision_transformer, score_key
from .serializers import colormap_tables, composite, fit_within, image_bytes, map_bytes, resize_map
from .traits import PARAMS, VIEW_PARAMS, param_traits, schema, validate_param

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"
# The state a map may depend on: the method, its class, layer and source patch, SmoothGrad's
# switch, and every registered method parameter (one trait each, see ``traits``).
COMPUTE_FIELDS = ("method", "target_class", "layer", "smoothgrad", *PARAMS, "target_patch")
VIEW_FIELDS = ("opacity", "colormap")
FRONT_END_FIELDS = COMPUTE_FIELDS + VIEW_FIELDS  # all the view may set; the rest is read-only state
MAX_ERROR_CHARS = 1000
PROGRESS_INTERVAL_S = 0.1


# A base class whose traits are the registered methods' parameters (``traits.param_traits``).
MethodParamTraits = types.new_class(
    "MethodParamTraits", (anywidget.AnyWidget,), exec_body=lambda namespace: namespace.update(param_traits())
)


class ExplainerWidget(MethodParamTraits):
    """The image with a heatmap over it, and controls to explore the explanation.

    Args:
        model: the classifier (any model the explainers accept).
        image: a PIL image, an ndarray (H, W[, 3|4]) or a preprocessed tensor (3, H, W).
        class_names: names for the classes; else the model's own (timm ``label_names``,
            ImageNet-1k for timm models, HF ``id2label``), else "class i".
        methods: limit the method selector; by default every method that works on the model.
        top_k: classes listed (and prefetched for instant switching) in the class panel.
        use_cuda: compute on the GPU when there is one.
        max_side: the view and the maps it shows are at most this many pixels on a side.
        probabilities: how the class panel turns logits into probabilities: ``"softmax"``
            (single-label), ``"sigmoid"`` (multi-label), or None for ``"sigmoid"`` when the
            model says ``model.multi_label = True`` (the demo models do) and softmax otherwise.
        **explainer_options: initial values of the traits below (``method="gradcam++"``,
            ``layer="layer3"``, ``steps=32``, ...) and ``preprocess=`` for the explainers.

    Traits (two-way): ``method``, ``target_class``, ``layer`` ("" = automatic), ``smoothgrad``,
    ``target_patch``, ``opacity``, ``colormap``, and one per method parameter of the registry
    (``noise_level``, ``num_samples``, ``steps``, ``baseline``, ``head_fusion``,
    ``discard_ratio``, ...: ``method_info(name).params``), accepting exactly what the core
    accepts. Each method keeps its own parameter values (its constructor's defaults until set),
    so switching methods brings back the values that method had; an option passed here, or a
    parameter set while the current method does not take it, sets it for every method. Read-only state: ``status`` ("idle", "computing",
    "error"), ``progress`` (0..1), ``error``.
    ``opacity`` and ``colormap`` are view-only in the browser: moving them repaints at once and
    sends nothing to the kernel; their values reach Python with the view's next update that
    goes there anyway (a class click, a method change, ...). Set from Python, they repaint.

    Maps are computed on a worker thread that shares the model's lock with any explainer you
    use meanwhile; call ``wait()`` before training or running the model yourself. Values from
    the view are untrusted: a malformed or invalid one sets ``status="error"`` and is not applied.
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    method = t.Unicode("gradcam").tag(sync=True)
    target_class = t.Int(0).tag(sync=True)
    layer = t.Unicode("").tag(sync=True)
    smoothgrad = t.Bool(False).tag(sync=True)
    target_patch = t.Int(0).tag(sync=True)
    opacity = t.Float(VIEW_PARAMS["opacity"].default).tag(sync=True)
    colormap = t.Unicode(VIEW_PARAMS["colormap"].default).tag(sync=True)
    status = t.Unicode("idle").tag(sync=True)
    progress = t.Float(0.0).tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    # One-off data for the view (sent once) and the current map (raw uint8 bytes).
    _image = t.Dict().tag(sync=True)
    _colormaps = t.Dict().tag(sync=True)
    _classes = t.List().tag(sync=True)
    _top_classes = t.List().tag(sync=True)
    _methods = t.List().tag(sync=True)
    _schema = t.Dict().tag(sync=True)
    _layers = t.List().tag(sync=True)
    _grid = t.Dict().tag(sync=True)
    _heatmap = t.Dict().tag(sync=True)
    _scores = t.Dict().tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        image,
        *,
        class_names: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        top_k: int = 5,
        use_cuda: bool = True,
        max_side: int = 512,
        probabilities: str | None = None,
        **explainer_options,
    ):
        preprocess = explainer_options.pop("preprocess", None)
        unknown = set(explainer_options) - set(COMPUTE_FIELDS) - set(VIEW_FIELDS)
        if unknown:
            raise TypeError(
                f"unknown ExplainerWidget options {sorted(unknown)}; expected trait names {COMPUTE_FIELDS + VIEW_FIELDS} or preprocess."
            )
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int; got {top_k!r}.")
        self._ready = False
        self._restoring = False
        self._lock = threading.RLock()
        self._rejected: tuple | None = None  # (status, error, progress) a rejected view message replaced
        probe = GradCAM(model, use_cuda=use_cuda, preprocess=preprocess)
        self._model = model
        self._display, self._explain_input, self._image_size = _display_image(image, probe, max_side)
        if probabilities is None:
            probabilities = "sigmoid" if getattr(model, "multi_label", False) else "softmax"
        if probabilities not in ("softmax", "sigmoid"):
            raise ValueError(f"probabilities must be 'softmax', 'sigmoid' or None; got {probabilities!r}.")
        score = "sigmoid" if probabilities == "sigmoid" else "probability"  # what Scores measures, too
        logits = probe.predict(self._explain_input)
        probabilities = torch.sigmoid(logits) if score == "sigmoid" else torch.softmax(logits, dim=0)
        self._num_classes = int(probabilities.shape[0])
        names = resolve_class_names(model, self._num_classes, class_names)
        top = torch.topk(probabilities, min(top_k, self._num_classes))
        top_classes = [int(i) for i in top.indices]
        offered = default_methods(model)
        if methods is not None:
            methods = list(methods)
            bad = [m for m in methods if m not in METHODS]
            if not methods or bad:
                raise ValueError(f"methods must be a non-empty list drawn from {list(METHODS)}; got {methods}.")
            offered = methods
        # Each method's own parameter values: its defaults, unless an option sets them.
        options = {k: validate_param(k, v) for k, v in explainer_options.items() if k in PARAMS}
        self._method_values = {
            name: {p.name: options.get(p.name, p.default) for p in METHODS[name].info.params} for name in offered
        }
        self._session = Session(
            model,
            self._explain_input,
            use_cuda=use_cuda,
            top_classes=top_classes,
            options={"preprocess": preprocess, "score": score},
        )
        # The probe is the automatic-layer GradCAM the first request needs: reuse it (and its layer trace).
        self._session.explainer(METHODS["gradcam"].explainer_key({"target_layer": None}), lambda: probe)
        self._current_map: np.ndarray | None = None
        self._last_progress = 0.0
        self._engine = ComputeEngine(
            self._session_compute,
            self._publish,
            self._fail,
            started=self._started,
            report_progress=self._report_progress,
        )
        grid = _token_grid(model, probe)
        super().__init__(
            _image={
                "data": image_bytes(self._display),
                "height": self._display.shape[0],
                "width": self._display.shape[1],
            },
            _colormaps=colormap_tables(),
            _classes=names,
            _top_classes=[{"index": i, "name": names[i], "probability": float(probabilities[i])} for i in top_classes],
            _methods=offered,
            _schema=schema(offered, COMPUTE_FIELDS),
            _layers=[{"name": c.name, "shape": list(c.shape)} for c in probe.candidate_layers()],
            _grid=grid,
            target_class=top_classes[0],
            method=offered[0],
            **self._method_values[offered[0]],
        )
        with self.hold_trait_notifications():
            for name, value in explainer_options.items():
                setattr(self, name, value)
            self._restore_params(self.method)
        self.on_msg(self._on_view_message)
        self._ready = True
        self._request()

    # -- public API ----------------------------------------------------------------
    @property
    def heatmap(self) -> np.ndarray | None:
        """The current map, float32 (H, W) in [0, 1] at the size of the image passed in."""
        current = self._current_map
        return None if current is None else resize_map(current, self._image_size)

    def wait(self, timeout: float | None = None) -> ExplainerWidget:
        """Block until the current state has been computed (raises TimeoutError)."""
        if not self._engine.wait(timeout):
            raise TimeoutError(f"the widget did not finish computing within {timeout} s")
        return self

    def compute_scores(self) -> None:
        """Ask for the deletion and insertion AUC of the current map (see ``metrics``).

        Runs on the worker like every computation; the result lands in ``scores`` (and the
        view's scores panel). Call ``wait()`` to block until it is there.
        """
        state = self._compute_state()
        self._engine.submit(score_key(state), {**state, "scores": True})

    @property
    def scores(self) -> dict | None:
        """The scores of the current map: deletion/insertion AUC and curves, or None."""
        scores = self._scores
        state = _map_state(self._compute_state())
        if not scores or scores.get("state") != state:
            return None
        return {k: v for k, v in scores.items() if k != "state"}

    def to_image(self):
        """The current view (image, map, opacity, colormap) as a PIL image at display size.

        Uses Python's ``opacity`` and ``colormap``: after moving them in the browser, the
        view's **Export PNG** is the exact view until its next update reaches the kernel.
        """
        from PIL import Image

        heatmap = self._current_map if self._current_map is not None else np.zeros(self._display.shape[:2], np.float32)
        return Image.fromarray(composite(self._display, heatmap, self._colormaps[self.colormap], self.opacity))

    def close(self) -> None:
        """Stop the compute worker and close the widget's views."""
        engine = getattr(self, "_engine", None)  # absent when __init__ failed
        if engine is not None:
            engine.close()
        super().close()

    # -- validation: Python callers get a TraitError, the view an error status -----------
    @t.validate("method")
    def _check_method(self, proposal):
        if proposal.value not in self._methods:
            raise t.TraitError(f"method must be one of {self._methods}; got {proposal.value!r}.")
        if self._ready and proposal.value != self.method:
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

    @t.validate("opacity")
    def _check_opacity(self, proposal):
        return validate_param("opacity", proposal.value)

    @t.validate("colormap")
    def _check_colormap(self, proposal):
        return validate_param("colormap", proposal.value)

    # -- messages from the view: untrusted, never an exception in the comm handler -------
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

        The view may set only the two-way traits (``FRONT_END_FIELDS``); each value is checked
        by its trait's type and validator before anything reaches the explainers. A rejected
        update changes nothing, and the view is sent the current values back; the next accepted
        update clears its error.
        """
        try:
            if not isinstance(sync_data, dict):
                raise TypeError(f"a state update must be a dict of trait values; got {type(sync_data).__name__}")
            refused = sorted(str(key) for key in sync_data if key not in FRONT_END_FIELDS)
            if refused:
                raise ValueError(f"the view may set only {list(FRONT_END_FIELDS)}; got {refused}")
            if "method" in sync_data:  # first: the method brings back its values, the update's own win
                sync_data = {"method": sync_data["method"], **sync_data}
            super().set_state(sync_data)
        except Exception as error:  # noqa: BLE001 - values from the browser are untrusted
            self._reject(f"rejected a value from the view: {error}")
            if isinstance(sync_data, dict):
                self.send_state(key=[k for k in sync_data if k in FRONT_END_FIELDS])
        else:
            self._end_rejection()

    # -- requests and results ----------------------------------------------------------
    @t.observe(*COMPUTE_FIELDS)
    def _state_changed(self, change) -> None:
        if not self._ready or self._restoring:
            return
        if change["name"] in PARAMS:
            self._remember(change["name"], change["new"])
        self._request()

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
                setattr(self, name, value)
        finally:
            self._restoring = False

    def _compute_state(self) -> dict:
        """The traits a map depends on, as the engine's request state."""
        return {name: getattr(self, name) for name in COMPUTE_FIELDS}

    def _request(self) -> None:
        state = self._compute_state()
        self._engine.submit(METHODS[state["method"]].key(state), state)

    def _session_compute(self, state, progress):
        method = METHODS[state["method"]]
        if state.get("scores"):
            return compute_scores(self._session, state, progress, self._engine.cache.get(method.key(state)))
        return method.compute(self._session, state, progress)

    def _on_view_message(self, _widget, content, _buffers) -> None:
        """Custom messages from the view: ``{"type": "scores"}`` asks for the scores."""
        if isinstance(content, dict) and content.get("type") == "scores":
            self.compute_scores()
        else:
            self._reject(f"ignored an unknown message from the view: {str(content)[:200]}")

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
        state = _map_state(request.state)
        with self._lock:
            self._current_map = display_map
            if self._heatmap.get("state") != state or self._heatmap.get("data") is None or scores is None:
                self._heatmap = {
                    "data": map_bytes(display_map),
                    "height": int(display_map.shape[0]),
                    "width": int(display_map.shape[1]),
                    "state": state,
                }
            if scores is not None:
                self._scores = {
                    "deletion_auc": float(scores["deletion_auc"]),
                    "insertion_auc": float(scores["insertion_auc"]),
                    "deletion_curve": [float(v) for v in scores["deletion_curve"]],
                    "insertion_curve": [float(v) for v in scores["insertion_curve"]],
                    "fractions": [float(v) for v in scores["fractions"]],
                    "target_class": int(scores["target_class"]),
                    "state": state,
                }
            self._rejected = None
            self.error = ""
            self.progress = 1.0
            self.status = "idle"

    def _fail(self, request: Request, error: BaseException) -> None:
        with self._lock:
            self._rejected = None
            self._show_error(f"{type(error).__name__}: {error}")

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


def _map_state(state) -> dict:
    """The part of a request state that the method's map depends on (what a shown map and its scores carry)."""
    return {name: state[name] for name in ("method", *METHODS[state["method"]].params)}


def _display_image(image, explainer, max_side: int):
    """(display uint8 (h, w, 3), what the explainers get, (H, W) of the user's image)."""
    if isinstance(image, torch.Tensor):
        tensor = explainer.prepare(image).tensor
        pixels = explainer.preprocessor.denormalize(tensor.float()).clamp(0, 1)[0]
        size = tuple(pixels.shape[-2:])
        target = fit_within(*size, max_side)
        if size != target:
            pixels = resize_pixels(pixels, False, target, "cpu")[0]
        explain_input = image
    else:
        converted = to_pixels(image)
        size = converted.size
        pixels = resize_pixels(converted.pixels, converted.is_uint8, fit_within(*size, max_side), "cpu")[0]
        explain_input = None
    display = (pixels.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return display, (display if explain_input is None else explain_input), size


def _token_grid(model: nn.Module, explainer) -> dict:
    """The patch grid the view hit-tests clicks against ({} for models without attention)."""
    if not is_vision_transformer(model):
        return {}
    layout = token_layout(model, explainer.preprocessor.config.input_size)
    rows, cols = layout.grid
    return {"prefix": layout.prefix, "rows": rows, "cols": cols, "tokens": layout.num_tokens}


def _in_range(name: str, value, low, high):
    if isinstance(value, bool):
        raise t.TraitError(f"{name} must be a number in [{low}, {high}]; got {value!r}.")
    if not low <= value <= high:
        raise t.TraitError(f"{name} must be in [{low}, {high}]; got {value!r}.")
    return value
