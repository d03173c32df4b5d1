"""compare_methods: several explanations of one image, sharing the work where they can."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import nn

from ._images import to_pixels
from ._model import explaining
from ._targets import explain_targets
from .attention import AttentionFlow, AttentionRollout, GradientWeightedRollout
from .attention.capture import find_attention_layers
from .base import BaseInterpreter
from .gradcam import GradCAM
from .gradcam_plusplus import GradCAMPlusPlus
from .integrated_gradients import IntegratedGradients
from .smoothgrad import SmoothGrad

CAM_VARIANTS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}
METHODS = (
    "gradcam", "gradcam++", "integrated_gradients", "smoothgrad",
    "attention_rollout", "attention_flow", "gradient_rollout",
)  # fmt: skip
CLASS_AGNOSTIC = ("attention_rollout", "attention_flow")


def default_methods(model: nn.Module) -> list[str]:
    """The methods that work on ``model``: CAMs and IG always, attention methods on ViTs."""
    names = ["gradcam", "gradcam++", "integrated_gradients"]
    if any(find_attention_layers(model).values()):
        names += ["attention_rollout", "gradient_rollout"]
    return names


def compare_methods(
    model: nn.Module,
    image,
    methods: Sequence[str] | None = None,
    target_class=None,
    *,
    target_layer=None,
    use_cuda: bool = True,
    steps: int = 50,
    baseline: str = "black",
    preprocess=None,
) -> dict[str, np.ndarray]:
    """Explain one image with several methods: ``{name: (H, W) float32 map in [0, 1]}``.

    Method names: ``"gradcam"``, ``"gradcam++"``, ``"integrated_gradients"``, ``"smoothgrad"``
    (SmoothGrad of GradCAM, default noise and samples, seed 0), ``"attention_rollout"``, ``"attention_flow"`` (from the
    CLS token) and ``"gradient_rollout"`` (Chefer et al.). ``None`` takes
    :func:`default_methods`.

    Every class-specific method explains the same class: ``target_class``, or the class the model
    predicts. GradCAM and GradCAM++ share one forward and backward pass (they differ only in
    their channel weights); each other method runs once. ``steps`` and ``baseline`` configure
    Integrated Gradients; ``target_layer`` the CAMs.
    """
    names = default_methods(model) if methods is None else list(methods)
    unknown = [n for n in names if n not in METHODS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"methods must be distinct names from {list(METHODS)}; got {names}.")
    classes, single = explain_targets(target_class)
    if not single:
        raise ValueError("compare_methods explains one class; give one target_class (or None).")
    results: dict[str, np.ndarray] = {}
    cam = GradCAM(model, target_layer=target_layer, use_cuda=use_cuda, preprocess=preprocess)
    prepared = cam.prepare(image)
    cams = [n for n in names if n in CAM_VARIANTS]
    if cams:
        with explaining(model):
            evidence = cam._evidence(prepared.tensor, [classes])
        for name in cams:
            maps = CAM_VARIANTS[name].cams(evidence.activations, evidence.gradients)
            results[name] = cam._finish(maps, [prepared.size], True)[0][0]
        resolved = int(evidence.classes[0, 0])
    else:
        resolved = classes[0] if classes[0] is not None else int(cam.predict(image).argmax())
    options = {"use_cuda": use_cuda, "preprocess": preprocess}
    others = {
        "integrated_gradients": lambda: IntegratedGradients(model, baseline=baseline, steps=steps, **options),
        "smoothgrad": lambda: SmoothGrad(cam, seed=0),
        "attention_rollout": lambda: AttentionRollout(model, **options),
        "attention_flow": lambda: AttentionFlow(model, **options),
        "gradient_rollout": lambda: GradientWeightedRollout(model, **options),
    }
    for name in names:
        if name not in results:
            explainer: BaseInterpreter = others[name]()
            results[name] = explainer.explain(image, target_class=None if name in CLASS_AGNOSTIC else resolved)
    return {name: results[name] for name in names}


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
