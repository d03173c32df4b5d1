"""The methods the widget offers, one per registered method: which state each map depends
on, and how it is computed, both from the method's capabilities.

Each method has ``name``, ``params`` (the widget state fields its map depends on, which form
the cache key) and ``compute(session, state, progress)`` returning ``{key: map}``; it may
return several maps at once (methods whose classes share a forward pass prefetch the top-k
classes, so switching between them needs no model call).
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

import numpy as np
from torch import nn

from ..interpretation import SmoothGrad
from ..interpretation._progress import ProgressCallback as Progress
from ..interpretation.attention.maps import Rollout
from ..interpretation.registry import MethodInfo, create_explainer
from .traits import SMOOTHING_PARAMS, widget_methods

SMOOTHGRAD_PARAMS = tuple(p.name for p in SMOOTHING_PARAMS)
SMOOTHGRAD_SEED = 0  # fixed, so a cached SmoothGrad map is the map the same state recomputes


class Session:
    """What every computation of one widget shares: model, image, options and built explainers.

    Explainers (and the rollout matrices kept for patch clicks) are reused per configuration,
    the ``MAX_EXPLAINERS`` most recently used ones, so a long session of slider moves holds a
    bounded amount of memory.
    """

    MAX_EXPLAINERS = 16

    def __init__(
        self,
        model: nn.Module,
        image,
        *,
        use_cuda: bool,
        top_classes: list[int],
        options: Mapping,
        display_size: tuple[int, int] | None = None,
    ):
        self.model = model
        self.image = image
        self.display_size = display_size  # (h, w) maps are computed at; None: the image's size
        self.use_cuda = use_cuda
        self.top_classes = top_classes
        self.options = dict(options)
        self._explainers: OrderedDict[Hashable, object] = OrderedDict()

    @property
    def explainer_options(self) -> dict:
        """Keyword arguments every explainer of this session is built with (device, preprocessing)."""
        return {"use_cuda": self.use_cuda, "preprocess": self.options.get("preprocess")}

    def explainer(self, key: Hashable, build: Callable[[], object]):
        """Build an explainer once per configuration and reuse it (least recently used goes first)."""
        if key in self._explainers:
            self._explainers.move_to_end(key)
        else:
            self._explainers[key] = build()
            while len(self._explainers) > self.MAX_EXPLAINERS:
                self._explainers.popitem(last=False)
        return self._explainers[key]


class Method:
    """A registered method as the widget computes it.

    ``params`` are the state fields its map depends on (the cache key): the layer, the class,
    the method's own parameters, SmoothGrad's switch (its parameters too when it is on) and the
    source patch, each as the method's capabilities say.
    """

    def __init__(self, info: MethodInfo):
        caps = info.capabilities
        self.info = info
        self.name = info.name
        self.own_params = tuple(p.name for p in info.params)
        self.params = (
            (("layer",) if caps.takes_layer else ())
            + (("target_class",) if caps.class_specific else ())
            + self.own_params
            + (("smoothgrad",) if caps.smoothable else ())
            + (("target_patch",) if caps.takes_patch else ())
        )

    def key(self, state: Mapping) -> tuple:
        """Cache key: the method and its parameters (SmoothGrad's too when it is on)."""
        extra = SMOOTHGRAD_PARAMS if "smoothgrad" in self.params and state["smoothgrad"] else ()
        return (self.name, *(state[p] for p in self.params + extra))

    def config(self, state: Mapping) -> dict:
        """The explainer's construction parameters in ``state`` (layer "" = automatic)."""
        config = {name: state[name] for name in self.own_params}
        if self.info.capabilities.takes_layer:
            config["target_layer"] = state["layer"] or None
        return config

    def explainer_key(self, config: Mapping) -> tuple:
        """The session's key for this method's explainer built with ``config``."""
        return (self.name, *sorted(config.items()))

    def compute(self, session: Session, state: Mapping, progress: Progress) -> dict[Hashable, np.ndarray]:
        caps = self.info.capabilities
        config = self.config(state)
        explainer = session.explainer(
            self.explainer_key(config),
            lambda: create_explainer(self.name, session.model, **config, **session.explainer_options),
        )
        if caps.smoothable and state["smoothgrad"]:
            smooth = SmoothGrad(
                explainer, noise_level=state["noise_level"], num_samples=state["num_samples"], seed=SMOOTHGRAD_SEED
            )
            return {
                self.key(state): smooth.explain(session.image, target_class=state["target_class"], progress=progress)
            }
        if caps.takes_patch:  # one forward pass, then any source token for free
            maps = session.explainer(("token maps", *self.explainer_key(config)), lambda: explainer.flow(session.image))
            results = {self.key(state): maps.map(state["target_patch"], size=session.display_size)}
            if isinstance(maps, Rollout):  # the browser repaints patch clicks from the matrix itself
                results[rollout_key(self.key(state))] = maps.matrix.detach().float().cpu().numpy()
            return results
        if not caps.class_specific:
            return {self.key(state): explainer.explain(session.image)}
        if caps.shared_classes:  # the top-k classes from the same forward pass: instant switching
            return self._shared_classes(session, explainer, state)
        options = {"progress": progress} if _takes_progress(type(explainer)) else {}
        return {self.key(state): explainer.explain(session.image, target_class=state["target_class"], **options)}

    def _shared_classes(self, session: Session, explainer, state: Mapping) -> dict[Hashable, np.ndarray]:
        """The state's class and the top-k from one forward pass, at display size, and each
        map at its native resolution too when it is small (the browser switches classes from those)."""
        classes = list(dict.fromkeys([state["target_class"], *session.top_classes]))
        prepared = explainer.prepare(session.image)
        native = explainer.attribute_batch(prepared.tensor, [classes]).maps  # (1, K, h, w)
        size = session.display_size or prepared.size
        maps = explainer.finish_maps(native, [size])[0]
        results: dict[Hashable, np.ndarray] = {}
        small = native.shape[-2] * native.shape[-1] <= MAX_NATIVE_PIXELS
        host = native[0].detach().float().cpu().numpy() if small else None
        for k, c in enumerate(classes):
            key = self.key({**state, "target_class": c})
            results[key] = maps[k]
            if host is not None:
                results[native_key(key)] = host[k]
        return results


MAX_NATIVE_PIXELS = 64 * 64  # native maps up to this size go to the browser as well


def native_key(key: tuple) -> tuple:
    """Cache key of the native-resolution map behind the display map of ``key``."""
    return ("native", *key)


def rollout_key(key: tuple) -> tuple:
    """Cache key of the rollout matrix behind a patch map's ``key`` (its last entry is the patch)."""
    return ("rollout", *key[:-1])


SCORE_STEPS = 50  # points on each deletion/insertion curve


def score_key(state: Mapping) -> tuple:
    """Cache key of the deletion/insertion scores of the map for ``state``."""
    return ("scores", *METHODS[state["method"]].key(state))


def compute_scores(session: Session, state: Mapping, progress: Progress, cached_map) -> dict[Hashable, object]:
    """Deletion and insertion AUC and curves of the map for ``state`` (computing the map if needed).

    The class scored is the state's class for class-specific methods and the predicted class
    for the class-agnostic attention methods; its score is the one the class panel shows
    (softmax or sigmoid probability), with the widget's own preprocessing.
    """
    from ..interpretation.metrics import deletion_insertion

    method = METHODS[state["method"]]
    results: dict[Hashable, object] = {}
    heatmap = cached_map
    if heatmap is None:
        results.update(method.compute(session, state, progress))
        heatmap = results[method.key(state)]
    target = state["target_class"] if "target_class" in method.params else session.top_classes[0]
    scores = deletion_insertion(
        session.model,
        session.image,
        heatmap,
        target,
        steps=SCORE_STEPS,
        score=session.options.get("score", "probability"),
        preprocess=session.options.get("preprocess"),
        progress=progress,  # reported like IG's, and how a cancel stops it
    )
    results[score_key(state)] = {"map": heatmap, "scores": scores}
    return results


METHODS = {info.name: Method(info) for info in widget_methods()}


@functools.cache
def _takes_progress(cls: type) -> bool:
    """True when ``cls.explain`` reports progress (``progress=``), checked once per class."""
    return "progress" in inspect.signature(cls.explain).parameters


def default_methods(model: nn.Module) -> list[str]:
    """The methods that work on ``model``, in the order the selector shows them."""
    return [info.name for info in widget_methods(model)]
