"""The quality table: where each explanation method points, and how faithful it is, on held-out demo scenes.

A **case** is one (scene, present class) pair: every class present in a scene is explained
once, for that class, and judged against the union of that class's object masks. Per method
and model, over all cases:

* **pointing**: the pointing game (Zhang et al., 2016, no tolerance): the share of cases whose
  map peaks inside the class's mask (a tied peak counts only when every tied pixel is inside);
* **energy**: the energy-based pointing game (Wang et al., 2020): the mean share of the map's
  mass inside the mask;
* **deletion** / **insertion**: the mean deletion and insertion AUC (Petsiuk et al., 2018) with
  the library's defaults: blur baseline, softmax probability of the class, ``steps`` points.
  Lower deletion and higher insertion are better.

Maps are those ``explain_batch`` returns (resized to the scene, min-max normalised to [0, 1]).
Class-agnostic methods (attention rollout) give one map per scene, used for each of its
classes: in a scene with several classes it cannot point at all of them.

Everything runs on the library's batched paths: ``explain_batch`` with one class per case,
``pointing_game`` / ``energy_pointing_game`` on the stack of maps and masks, and one
``faithfulness_curves`` call for all cases of a method.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from torch import nn

from ..interpretation import (
    AttentionRollout,
    GradCAM,
    GradCAMPlusPlus,
    GradientWeightedRollout,
    IntegratedGradients,
    SmoothGrad,
    create_explainer,
    list_methods,
    method_info,
)
from ..interpretation.base import BaseInterpreter
from ..interpretation.metrics import energy_pointing_game, faithfulness_curves, pointing_game
from .data import DemoImage

Maps = list[np.ndarray]


@dataclass(frozen=True)
class Cases:
    """N (scene, class) cases: ``scene_index`` (N,) into ``scenes``, ``classes`` (N,), ``masks`` (N, H, W) bool."""

    scenes: list[DemoImage]
    scene_index: np.ndarray
    classes: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def images(self) -> list[np.ndarray]:
        """The (H, W, 3) uint8 image of each case (a scene's image once per present class)."""
        return [self.scenes[i].image for i in self.scene_index]


def demo_cases(scenes: Sequence[DemoImage]) -> Cases:
    """Every present class of every scene, in scene order then class order."""
    scenes = list(scenes)
    pairs = [(i, int(c)) for i, s in enumerate(scenes) for c in np.flatnonzero(s.labels)]
    if not pairs:
        raise ValueError("no cases: give at least one scene.")
    return Cases(
        scenes=scenes,
        scene_index=np.array([i for i, _ in pairs], dtype=np.int64),
        classes=np.array([c for _, c in pairs], dtype=np.int64),
        masks=np.stack([scenes[i].class_mask(c) for i, c in pairs]),
    )


@dataclass(frozen=True)
class Method:
    """A row of the table: ``maps(model, cases)`` gives one (H, W) map per case.

    ``name`` is the method ("Integrated Gradients"), ``detail`` its settings ("32 steps").
    """

    name: str
    maps: Callable[[nn.Module, Cases], Maps]
    class_specific: bool = True
    detail: str = ""
    build: Callable[[nn.Module], BaseInterpreter] | None = None  # the explainer factory, when there is one

    @property
    def label(self) -> str:
        """The name, with the settings in parentheses when there are any."""
        return f"{self.name} ({self.detail})" if self.detail else self.name


def explainer_method(
    name: str,
    build: Callable[[nn.Module], BaseInterpreter],
    class_specific: bool = True,
    *,
    detail: str = "",
    batch_size: int = 32,
) -> Method:
    """A method from an explainer factory: class-specific ones explain each case's class,
    class-agnostic ones explain each scene once and reuse its map for every class of the scene."""

    def maps(model: nn.Module, cases: Cases) -> Maps:
        explainer = build(model)
        if class_specific:
            return explainer.explain_batch(cases.images, cases.classes.tolist(), batch_size, show_progress=False)
        per_scene = explainer.explain_batch([s.image for s in cases.scenes], None, batch_size, show_progress=False)
        return [per_scene[i] for i in cases.scene_index]

    return Method(name, maps, class_specific, detail, build)


def random_method(seed: int = 0) -> Method:
    """Reference row: an independent uniform random map per case (its pointing is the mask's area share)."""

    def maps(_model: nn.Module, cases: Cases) -> Maps:
        rng = np.random.default_rng(seed)
        return list(rng.random(cases.masks.shape, dtype=np.float32))

    return Method("Random map", maps, class_specific=False, detail="reference")


def demo_methods(kind: str, *, ig_steps: int = 32, smoothgrad_samples: int = 50, seed: int = 0) -> list[Method]:
    """The table's methods for demo model ``kind``: CAMs, IG and SmoothGrad(GradCAM); rollouts on the ViT.

    Every explainer keeps its defaults (GradCAM's automatic layer, IG's black baseline and
    Gauss-Legendre rule, SmoothGrad's noise level 0.15), except IG's ``ig_steps`` and
    SmoothGrad's ``smoothgrad_samples``; SmoothGrad is seeded with ``seed``.
    """
    cpu = dict(use_cuda=False)
    methods = [
        explainer_method("GradCAM", lambda m: GradCAM(m, **cpu)),
        explainer_method("GradCAM++", lambda m: GradCAMPlusPlus(m, **cpu)),
        explainer_method(
            "Integrated Gradients", lambda m: IntegratedGradients(m, steps=ig_steps, **cpu), detail=f"{ig_steps} steps"
        ),
        explainer_method(
            "SmoothGrad(GradCAM)",
            lambda m: SmoothGrad(GradCAM(m, **cpu), num_samples=smoothgrad_samples, seed=seed),
            detail=f"{smoothgrad_samples} samples",
        ),
    ]
    if kind == "vit":
        methods += [
            explainer_method(
                "AttentionRollout", lambda m: AttentionRollout(m, **cpu), class_specific=False, detail="class-agnostic"
            ),
            explainer_method("GradientWeightedRollout", lambda m: GradientWeightedRollout(m, **cpu)),
        ]
    return methods


def zoo_methods(model: nn.Module, *, skip: Sequence[str] = ("gradcam", "gradcam++")) -> list[Method]:
    """A row for every other registered method that applies to ``model`` (the registry's order):
    the CAMs and Captum's family (Saliency to LRP), each with its defaults; class-agnostic ones
    (EigenCAM, KPCA-CAM) explain each scene once. Integrated Gradients and SmoothGrad have their
    own rows in ``demo_methods``; attention methods are in the attention table."""
    rows = []
    for name in list_methods(model):
        info = method_info(name)
        if name in skip or info.capabilities.wrapper or info.capabilities.needs_attention:
            continue
        if name == "integrated_gradients":  # its own row in demo_methods
            continue
        rows.append(
            explainer_method(
                info.label,
                lambda m, n=name: create_explainer(n, m, use_cuda=False),
                class_specific=info.capabilities.class_specific,
                detail="" if info.capabilities.class_specific else "class-agnostic",
            )
        )
    return rows


@dataclass(frozen=True)
class CaseScores:
    """Per-case figures (N,): ``pointing`` bool, ``energy``, ``deletion`` and ``insertion`` AUC float64."""

    pointing: np.ndarray
    energy: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray


def score_maps(
    model: nn.Module, cases: Cases, maps: Maps, *, steps: int = 50, baseline: str = "blur", batch_size: int = 128
) -> CaseScores:
    """Pointing, energy, deletion and insertion of one map per case (all cases batched)."""
    curves = faithfulness_curves(
        model, cases.images, maps, cases.classes.tolist(), steps=steps, baseline=baseline, batch_size=batch_size
    )
    return CaseScores(
        pointing=pointing_game(maps, cases.masks),
        energy=energy_pointing_game(maps, cases.masks),
        deletion=curves["deletion"].auc,
        insertion=curves["insertion"].auc,
    )


@dataclass(frozen=True)
class Row:
    """One method's line: means over ``cases`` cases, their standard errors, and seconds spent."""

    method: str
    class_specific: bool
    cases: int
    pointing: float
    energy: float
    deletion_auc: float
    insertion_auc: float
    pointing_sem: float
    energy_sem: float
    deletion_sem: float
    insertion_sem: float
    explain_s: float
    metrics_s: float

    def as_dict(self) -> dict:
        return asdict(self)


def quality_row(model: nn.Module, cases: Cases, method: Method, **score_options) -> Row:
    """Explain every case with ``method`` and score the maps (options as :func:`score_maps`)."""
    start = time.perf_counter()
    maps = method.maps(model, cases)
    explained = time.perf_counter()
    scores = score_maps(model, cases, maps, **score_options)
    scored = time.perf_counter()
    return Row(
        method=method.label,
        class_specific=method.class_specific,
        cases=len(cases),
        pointing=_mean(scores.pointing),
        energy=_mean(scores.energy),
        deletion_auc=_mean(scores.deletion),
        insertion_auc=_mean(scores.insertion),
        pointing_sem=_sem(scores.pointing),
        energy_sem=_sem(scores.energy),
        deletion_sem=_sem(scores.deletion),
        insertion_sem=_sem(scores.insertion),
        explain_s=explained - start,
        metrics_s=scored - explained,
    )


def markdown_table(rows: dict[str, list[Row]]) -> str:
    """``{model kind: rows}`` as one markdown table (arrows say which direction is better)."""
    lines = [
        "| model | method | pointing ↑ | energy pointing ↑ | deletion AUC ↓ | insertion AUC ↑ |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, model_rows in rows.items():
        for r in model_rows:
            lines.append(
                f"| {kind} | {r.method} | {r.pointing:.3f} | {r.energy:.3f} | {r.deletion_auc:.3f} | {r.insertion_auc:.3f} |"
            )
    return "\n".join(lines)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values.astype(np.float64)))


def _sem(values: np.ndarray) -> float:
    values = values.astype(np.float64)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
