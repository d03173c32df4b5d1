"""ExplainerWidget: explore what an image classifier looks at, in the notebook (anywidget)."""

from __future__ import annotations

import base64
import io
import pathlib
import threading
from collections.abc import Sequence

import numpy as np
import traitlets as t
from torch import nn

from .captions import CaptionContext, export_name
from .class_names import label_index
from .compare import CompareMode
from .engine import ComputeEngine
from .legend import legend_image
from .methods import METHODS, Session, compute_scores, score_key
from .results import ResultHandling, map_state
from .serializers import colormap_tables, composite, image_payload
from .setup import set_up
from .state import COMPUTE_FIELDS, FRONT_END_FIELDS, WidgetState
from .traits import PARAMS, schema, validate_param
from .view_guard import UntrustedViewGuard

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"
FIRST_MAP_TIMEOUT_S = 30.0  # how long displaying the widget waits for its first map (for the PNG beside it)


class ExplainerWidget(CompareMode, ResultHandling, UntrustedViewGuard, WidgetState):
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
        label: the image's true class (an index or a name), shown beside the predicted one.
        **explainer_options: initial values of the traits below (``method="gradcam++"``,
            ``layer="layer3"``, ``steps=32``, ...) and ``preprocess=`` for the explainers.

    Traits (two-way): ``method``, ``target_class``, ``layer`` ("" = automatic), ``smoothgrad``,
    ``target_patch``, ``opacity``, ``colormap``, ``compare`` ("" or small multiples across
    "methods", "layers" or "classes", see ``compare.py``), and one per method parameter of the registry
    (``noise_level``, ``num_samples``, ``steps``, ``baseline``, ``head_fusion``,
    ``discard_ratio``, ...: ``method_info(name).params``), accepting exactly what the core
    accepts. Each method keeps its own parameter values (its constructor's defaults until set),
    so switching methods brings back the values that method had; an option passed here, or a
    parameter set while the current method does not take it, sets it for every method.
    Read-only state: ``status`` ("idle", "computing", "error", "cancelled"), ``progress``
    (0..1), ``error``, ``caption`` (what the map is of).
    ``opacity`` and ``colormap`` are view-only in the browser: moving them repaints at once and
    sends nothing to the kernel; their values reach Python with the view's next update that
    goes there anyway (a class click, a method change, ...). Set from Python, they repaint.

    Maps are computed on the kernel's one worker thread, shared by all widgets, which shares the
    model's lock with any explainer you use meanwhile; call ``wait()`` before training or running
    the model yourself; ``cancel()`` stops a long computation. Values from
    the view are untrusted: a malformed or invalid one sets ``status="error"`` and is not applied.
    """

    _front_end_fields = FRONT_END_FIELDS
    _first_fields = ("method",)  # a method change brings back its values; the update's own then win
    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    status = t.Unicode("idle").tag(sync=True)
    progress = t.Float(0.0).tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    # One-off data for the view (sent once) and the current map (raw uint8 bytes).
    _image = t.Dict().tag(sync=True)
    _colormaps = t.Dict().tag(sync=True)
    _classes = t.List().tag(sync=True)
    _top_classes = t.List().tag(sync=True)
    _probabilities = t.List().tag(sync=True)  # (C,) as the class panel shows them
    _label = t.Dict().tag(sync=True)  # the true class {index, name}, or {}
    _methods = t.List().tag(sync=True)
    _schema = t.Dict().tag(sync=True)
    _layers = t.List().tag(sync=True)
    _grid = t.Dict().tag(sync=True)
    _heatmap = t.Dict().tag(sync=True)
    _native = t.Dict().tag(sync=True)  # the top-k maps at native resolution, for instant class switches
    _rollout = t.Dict().tag(sync=True)  # the rollout matrix, for instant patch clicks
    _compare = t.Dict().tag(sync=True)  # compare mode's cells (see ``compare``)
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
        label=None,
        **explainer_options,
    ):
        preprocess = explainer_options.pop("preprocess", None)
        unknown = set(explainer_options) - set(FRONT_END_FIELDS)
        if unknown:
            raise TypeError(
                f"unknown ExplainerWidget options {sorted(unknown)}; expected trait names {FRONT_END_FIELDS} or preprocess."
            )
        setup = set_up(
            model,
            image,
            class_names=class_names,
            methods=methods,
            top_k=top_k,
            use_cuda=use_cuda,
            max_side=max_side,
            probabilities=probabilities,
            preprocess=preprocess,
        )
        self._ready = False
        self._restoring = False
        self._params_method = ""
        self._lock = threading.RLock()
        self._model = model
        self._display, self._image_size = setup.display, setup.image_size
        true_label = label_index(label, setup.names)
        self._caption_context = CaptionContext(
            setup.names, setup.probabilities.tolist(), setup.top_classes[0], setup.probe.target_layer, true_label
        )
        self._num_classes = int(setup.probabilities.shape[0])
        # Each method's own parameter values: its defaults, unless an option sets them.
        options = {k: validate_param(k, v) for k, v in explainer_options.items() if k in PARAMS}
        self._method_values = {
            name: {p.name: options.get(p.name, p.default) for p in METHODS[name].info.params} for name in setup.offered
        }
        self._session = Session(
            model,
            setup.explain_input,
            use_cuda=use_cuda,
            top_classes=setup.top_classes,
            options={"preprocess": preprocess, "score": setup.score},
            display_size=tuple(setup.display.shape[:2]),
        )
        # The probe is the automatic-layer GradCAM the first request needs: reuse it (and its layer trace).
        probe_key = METHODS[setup.probe.method_name].explainer_key({"target_layer": None})
        self._session.explainer(probe_key, lambda: setup.probe)
        self._current_map: np.ndarray | None = None
        self._last_progress = 0.0
        self._engine = ComputeEngine(
            self._session_compute,
            self._publish,
            self._fail,
            started=self._started,
            report_progress=self._report_progress,
            cancelled=self._cancelled,
        )
        names, probs = setup.names, setup.probabilities
        super().__init__(
            _image=image_payload(self._display),
            _colormaps=colormap_tables(),
            _classes=names,
            _top_classes=[{"index": i, "name": names[i], "probability": float(probs[i])} for i in setup.top_classes],
            _probabilities=[round(float(p), 6) for p in probs],
            _label={} if true_label is None else {"index": true_label, "name": names[true_label]},
            _methods=setup.offered,
            _schema=schema(setup.offered, COMPUTE_FIELDS),
            _layers=[{"name": c.name, "shape": list(c.shape)} for c in setup.probe.candidate_layers()],
            _grid=setup.grid,
            target_class=setup.top_classes[0],
            method=setup.offered[0],
            **self._method_values[setup.offered[0]],
        )
        with self.hold_trait_notifications():
            for name, value in explainer_options.items():
                setattr(self, name, value)
            self._restore_params(self.method)
        self.on_msg(self._on_view_message)
        self._ready = True
        self._request()
        if self.compare:
            self._update_compare()

    # -- public API ----------------------------------------------------------------
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
        state = map_state(self._compute_state())
        if not scores or scores.get("state") != state:
            return None
        return {k: v for k, v in scores.items() if k != "state"}

    def to_image(self):
        """The current view (image, map, opacity, colormap) as a PIL image at display size.

        Uses Python's ``opacity`` and ``colormap``: after moving them in the browser, the
        view's **Export PNG** is the exact view until its next update reaches the kernel.
        """
        from PIL import Image

        heatmap = self._shown_map()
        if heatmap is None:  # no valid map (yet): the image alone, as the view shows it
            return Image.fromarray(self._display)
        return Image.fromarray(composite(self._display, heatmap, self._colormaps[self.colormap], self.opacity))

    def export_image(self):
        """What **Export PNG** saves: the view with its colour bar and caption below (PIL image)."""
        return legend_image(np.asarray(self.to_image()), self._colormaps[self.colormap], self.caption)

    @property
    def export_name(self) -> str:
        """The export's file name, with the method and the class."""
        return export_name(self._compute_state(), self._caption_context)

    def cancel(self) -> bool:
        """Stop the current computation (IG, SmoothGrad, Scores, ...) at its next progress check,
        within a batch of model calls; ``status`` becomes "cancelled". False when nothing was running."""
        stopped = self._engine.cancel()
        return self._cancel_cells() or stopped

    def recompute(self) -> None:
        """Compute the current state again (after a cancel; a cached map comes back at once)."""
        self._request()

    def _repr_mimebundle_(self, **kwargs):
        """The widget's view, and a PNG of it (with colour bar and caption) for where widgets
        do not render: GitHub, nbviewer, a notebook whose widget state is gone."""
        bundle = super()._repr_mimebundle_(**kwargs)  # anywidget: (data, metadata)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        self._engine.wait(FIRST_MAP_TIMEOUT_S)
        buffer = io.BytesIO()
        self.export_image().save(buffer, format="PNG")
        return {**data, "image/png": base64.b64encode(buffer.getvalue()).decode("ascii")}, metadata

    def close(self) -> None:
        """Stop the compute worker and close the widget's views."""
        engine = getattr(self, "_engine", None)  # absent when __init__ failed
        if engine is not None:
            engine.close()
            self._close_cells()
        super().close()

    # -- requests ----------------------------------------------------------------------
    @t.observe(*COMPUTE_FIELDS)
    def _state_changed(self, change) -> None:
        if not self._ready or self._restoring:
            return
        if change["name"] in PARAMS:
            self._remember(change["name"], change["new"])
        self._request()
        if self.compare:
            self._update_compare()

    @t.observe("compare")
    def _compare_changed(self, change) -> None:
        if self._ready:
            self._update_compare()

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
