"""The methods the widget offers: which state each map depends on, and how it is computed.

Each method is a small object with ``name``, ``params`` (the widget state fields its map
depends on, which form the cache key) and ``compute(session, state, progress)`` returning
``{key: map}``; it may return several maps at once (CAM methods prefetch the top-k classes
from the same forward pass, so switching between them needs no model call).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

import numpy as np
from torch import nn

from ..interpretation import AttentionRollout, GradCAM, GradCAMPlusPlus, IntegratedGradients, SmoothGrad
from ..interpretation._progress import ProgressCallback as Progress
from ..interpretation.attention.capture import check_attention_model

SMOOTHGRAD_PARAMS = ("noise_level", "num_samples")
SMOOTHGRAD_SEED = 0  # fixed, so a cached SmoothGrad map is the map the same state recomputes


class Session:
    """What every computation of one widget shares: model, image, options and built explainers.

    Explainers (and the rollout matrices kept for patch clicks) are reused per configuration,
    the ``MAX_EXPLAINERS`` most recently used ones, so a long session of slider moves holds a
    bounded amount of memory.
    """

    MAX_EXPLAINERS = 16

    def __init__(self, model: nn.Module, image, *, use_cuda: bool, top_classes: list[int], options: Mapping):
        self.model = model
        self.image = image
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
    """A method the widget offers: its name, the state its map depends on, how to compute it."""

    name: str
    params: tuple[str, ...]

    def applies_to(self, model: nn.Module) -> bool:
        return True

    def key(self, state: Mapping) -> tuple:
        """Cache key: the method and its parameters (SmoothGrad's too when it is on)."""
        extra = SMOOTHGRAD_PARAMS if "smoothgrad" in self.params and state["smoothgrad"] else ()
        return (self.name, *(state[p] for p in self.params + extra))

    def compute(self, session: Session, state: Mapping, progress: Progress) -> dict[Hashable, np.ndarray]:
        raise NotImplementedError


class CamMethod(Method):
    """GradCAM or GradCAM++ on the chosen layer, optionally smoothed."""

    def __init__(self, name: str, explainer_class):
        self.name = name
        self.explainer_class = explainer_class
        self.params = ("layer", "target_class", "smoothgrad")

    def explainer_key(self, layer: str | None) -> tuple:
        """The session's key for this method's explainer on ``layer`` (None: automatic)."""
        return (self.name, layer)

    def compute(self, session: Session, state: Mapping, progress: Progress) -> dict[Hashable, np.ndarray]:
        layer = state["layer"] or None
        explainer = session.explainer(
            self.explainer_key(layer),
            lambda: self.explainer_class(session.model, target_layer=layer, **session.explainer_options),
        )
        if state["smoothgrad"]:
            return {self.key(state): _smooth(session, explainer, state, progress)}
        classes = list(dict.fromkeys([state["target_class"], *session.top_classes]))
        maps = explainer.explain(session.image, target_class=classes)
        return {self.key({**state, "target_class": c}): m for c, m in zip(classes, maps, strict=True)}


class IntegratedGradientsMethod(Method):
    """Integrated Gradients with the chosen steps and baseline, optionally smoothed."""

    name = "integrated_gradients"
    params = ("target_class", "steps", "baseline", "smoothgrad")

    def compute(self, session: Session, state: Mapping, progress: Progress) -> dict[Hashable, np.ndarray]:
        steps, baseline = state["steps"], state["baseline"]
        explainer = session.explainer(
            (self.name, steps, baseline),
            lambda: IntegratedGradients(session.model, baseline=baseline, steps=steps, **session.explainer_options),
        )
        if state["smoothgrad"]:
            return {self.key(state): _smooth(session, explainer, state, progress)}
        return {
            self.key(state): explainer.explain(session.image, target_class=state["target_class"], progress=progress)
        }


def _smooth(session: Session, explainer, state: Mapping, progress: Progress) -> np.ndarray:
    smooth = SmoothGrad(
        explainer, noise_level=state["noise_level"], num_samples=state["num_samples"], seed=SMOOTHGRAD_SEED
    )
    return smooth.explain(session.image, target_class=state["target_class"], progress=progress)


class AttentionMethod(Method):
    """Attention rollout (the classifier's token) or attention flow (from ``target_patch``).

    Both read the same rollout matrix, kept per (head fusion, discard ratio): the first map
    costs one forward pass, every patch click after it none.
    """

    def __init__(self, name: str, from_patch: bool):
        self.name = name
        self.from_patch = from_patch
        self.params = ("head_fusion", "discard_ratio") + (("target_patch",) if from_patch else ())

    def applies_to(self, model: nn.Module) -> bool:
        return is_vision_transformer(model)

    def compute(self, session: Session, state: Mapping, progress: Progress) -> dict[Hashable, np.ndarray]:
        fusion, discard = state["head_fusion"], state["discard_ratio"]
        rollout = session.explainer(
            ("rollout", fusion, discard),
            lambda: AttentionRollout(
                session.model, head_fusion=fusion, discard_ratio=discard, **session.explainer_options
            ).rollout(session.image),
        )
        token = state["target_patch"] if self.from_patch else None
        return {self.key(state): rollout.map(token)}


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
    )
    results[score_key(state)] = {"map": heatmap, "scores": scores}
    return results


METHODS = {
    m.name: m
    for m in (
        CamMethod("gradcam", GradCAM),
        CamMethod("gradcam++", GradCAMPlusPlus),
        IntegratedGradientsMethod(),
        AttentionMethod("attention_rollout", from_patch=False),
        AttentionMethod("attention_flow", from_patch=True),
    )
}


def is_vision_transformer(model: nn.Module) -> bool:
    """True when the attention methods can read the model's self-attention layers."""
    try:
        check_attention_model(model)
    except TypeError:
        return False
    return True


def default_methods(model: nn.Module) -> list[str]:
    """The methods that work on ``model``, in the order the selector shows them."""
    return [name for name, method in METHODS.items() if method.applies_to(model)]
