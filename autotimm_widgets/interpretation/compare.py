"""compare_methods: several explanations of one image, sharing the work where they can."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from ._images import to_pixels
from ._model import explaining
from ._targets import explain_targets
from .cam import BaseCAM
from .registry import create_explainer, list_methods, method_info
from .types import ImageInput


def default_methods(model: nn.Module) -> list[str]:
    """Every registered method that applies to ``model``, wrappers (SmoothGrad) aside."""
    return [name for name in list_methods(model) if not method_info(name).capabilities.wrapper]


def compare_methods(
    model: nn.Module,
    image: ImageInput,
    methods: Sequence[str] | None = None,
    target_class: int | None = None,
    *,
    target_layer=None,
    use_cuda: bool = True,
    steps: int = 50,
    baseline: str = "black",
    preprocess=None,
) -> dict[str, np.ndarray]:
    """Explain one image with several methods: ``{name: (H, W) float32 map in [0, 1]}``.

    Method names are the registry's (``list_methods()``): ``"gradcam"``, ``"gradcam++"``,
    ``"integrated_gradients"``, ``"attention_rollout"``, ``"attention_flow"`` (from the CLS
    token), ``"gradient_rollout"`` (Chefer et al.) and ``"smoothgrad"`` (SmoothGrad of GradCAM,
    default noise and samples, seed 0). ``None`` takes :func:`default_methods`.

    Every class-specific method explains the same class: ``target_class``, or the class the model
    predicts. The CAM methods share one forward and backward pass (they differ only in their
    channel weights); each other method runs once. ``steps`` and ``baseline`` configure
    Integrated Gradients; ``target_layer`` the methods that take a layer.
    """
    names = default_methods(model) if methods is None else list(methods)
    registered = list_methods()
    unknown = [n for n in names if n not in registered]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"methods must be distinct names from {registered}; got {names}.")
    classes, single = explain_targets(target_class)
    if not single:
        raise ValueError("compare_methods explains one class; give one target_class (or None).")
    options = {"use_cuda": use_cuda, "preprocess": preprocess}
    results: dict[str, np.ndarray] = {}
    cam = create_explainer("gradcam", model, target_layer=target_layer, **options)
    prepared = cam.prepare(image)
    # Gradient CAMs: one forward and backward pass serves them all.
    shared = [
        n
        for n in names
        if issubclass(method_info(n).cls, BaseCAM)
        and method_info(n).cls.uses_class_gradients
        and method_info(n).capabilities.class_specific
    ]
    if shared:
        with explaining(model):
            evidence = cam.evidence(prepared.tensor, [classes])
        for name in shared:
            cls = method_info(name).cls
            maps = cls.combine_layers([cls.cams(e.activations, e.gradients) for e in evidence], prepared.tensor)
            results[name] = cam.finish_maps(maps, [prepared.size])[0][0]
        resolved = int(evidence[0].classes[0, 0])
    else:
        resolved = classes[0] if classes[0] is not None else int(cam.predict(image).argmax())
    for name in names:
        if name not in results:
            explainer = create_explainer(name, model, **_options(name, options, target_layer, steps, baseline))
            specific = method_info(name).capabilities.class_specific
            results[name] = explainer.explain(image, target_class=resolved if specific else None)
    return {name: results[name] for name in names}


def _options(name: str, options: dict, target_layer, steps: int, baseline: str) -> dict:
    """compare_methods' keywords, as the method ``name`` (a wrapper: its base, GradCAM) takes them."""
    info = method_info(name)
    if info.capabilities.wrapper:
        return {**options, "base": info.param("base").default, "seed": 0, "target_layer": target_layer}
    given = {**options, "target_layer": target_layer}
    if name == "integrated_gradients":  # the other methods with a baseline keep their own default
        given.update(steps=steps, baseline=baseline)
    taken = {p.name for p in info.params} | ({"target_layer"} if info.capabilities.takes_layer else set())
    return {k: v for k, v in given.items() if k in taken or k in options}


def compare_figure(image, maps: dict[str, np.ndarray], colormap: str = "jet", alpha: float = 0.5) -> Figure:
    """The image, then each map over it, side by side on one colour scale with one colour bar.

    Built with ``matplotlib.figure.Figure`` (no pyplot): works under Agg, leaves no figure open.
    """
    rgb = to_pixels(image).rgb()
    for name, heatmap in maps.items():
        if np.shape(heatmap) != rgb.shape[:2]:
            raise ValueError(f"map {name!r} has shape {np.shape(heatmap)}; the image is {rgb.shape[:2]}.")
    figure = Figure(figsize=(3.2 * (len(maps) + 1) + 0.8, 3.4), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(maps) + 1))
    axes[0].imshow(rgb)
    axes[0].set_title("image")
    shown = None
    for ax, (name, heatmap) in zip(axes[1:], maps.items()):
        ax.imshow(rgb)
        shown = ax.imshow(heatmap, cmap=colormap, alpha=alpha, vmin=0.0, vmax=1.0)
        ax.set_title(name)
    for ax in axes:
        ax.set_axis_off()
    if shown is not None:
        figure.colorbar(shown, ax=list(axes[1:]), shrink=0.85, label="importance (normalised)")
    return figure
