"""Deletion and insertion curves and their AUC (Petsiuk et al., 2018, "RISE").

Pixels are taken in the order of the map, most important first (ties in raster order).
**Deletion** replaces a growing share of them with the baseline and watches the class
score fall: a faithful map makes it fall at once, so *lower AUC is better*. **Insertion**
starts from the baseline and puts the image's pixels back in the same order: *higher AUC
is better*. Both curves have ``steps`` points at 0, 1/(steps-1), ..., 1 of the pixels, and
the AUC is the trapezoid area under the score over that fraction (not divided by the
original score, as in RISE).

How it runs: every map is resized to the model input on the device (``F.interpolate``)
and turned into a rank per pixel; the images of all steps of all curves come from one
vectorised comparison ``rank < count[step]`` and go through the model ``batch_size`` at a
time under ``torch.inference_mode`` - never a loop over pixels or steps, no host sync.

The score is the softmax probability of the target class (``score="sigmoid"`` for
multi-label models, whose classes are independent; ``score="logit"`` for the raw logit).
Baselines: see :mod:`.baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._memory import RowSizer
from .._model import check_model, explaining, logits_of, model_device, model_dtype
from .._progress import advance, check_progress, tracking
from .._targets import check_range, class_tensor, resolve_classes
from ..preprocessing import Preprocessor, PreprocessSpec
from ._inputs import InputGroup, prepare_inputs
from ._validation import (
    BASELINES,
    SCORES,
    as_image_list,
    as_map_list,
    as_targets,
    check_batch_size,
    check_choice,
    check_curve_steps,
)
from .removal import baseline_inputs
from .steps import pixel_ranks, step_counts, step_images

KINDS = ("deletion", "insertion")


@dataclass(frozen=True)
class FaithfulnessCurves:
    """Deletion or insertion curves of a batch of B images.

    ``fractions`` (S,): share of pixels deleted or inserted at each point, 0 to 1;
    ``scores`` (B, S) float32: the target class's score at each point;
    ``auc`` (B,) float64: trapezoid area under ``scores`` over ``fractions``;
    ``target_classes`` (B,) int64: the class scored (the predicted class where none was given).
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray
    auc: np.ndarray
    target_classes: np.ndarray
    baseline: str
    score: str


def faithfulness_curves(
    model: nn.Module,
    images,
    maps,
    target_classes=None,
    *,
    kinds: Sequence[str] = KINDS,
    steps: int = 50,
    baseline: str = "blur",
    score: str = "probability",
    batch_size: int | None = None,
    preprocess: PreprocessSpec = None,
    progress=None,
) -> dict[str, FaithfulnessCurves]:
    """Deletion and/or insertion curves for a batch, sharing the preprocessing and the forward passes.

    Args:
        model: the classifier; it runs where it is (its device and dtype) and is left unchanged.
        images: a list of images (any kind ``explain`` accepts, sizes may differ), a
            (B, 3, H, W) tensor, or one image.
        maps: one (H, W) map per image at that image's size, as ``explain`` returns it (a
            list, a (B, H, W) stack, or one map). Higher means more important.
        target_classes: ``None`` (each image's predicted class), one class for all images,
            or one class (or None) per image.
        kinds: which curves, from ``("deletion", "insertion")``.
        steps: points per curve (>= 2), from 0 % to 100 % of the pixels.
        baseline: ``"blur"``, ``"black"`` or ``"mean"`` (see :mod:`.baselines`).
        score: ``"probability"`` (softmax of the target class), ``"sigmoid"`` (multi-label
            models) or ``"logit"``.
        batch_size: step images per forward pass (B * len(kinds) * steps images in all); ``None``
            fits the device: the rows one no-grad forward pass can take in the memory budget
            of ``_memory`` (on a 2-core CPU a few dozen for resnet50, on a GPU hundreds).
        preprocess: overrides the model's preprocessing, as for the explainers.
        progress: ``progress(done, total)`` after every forward pass, counting step images
            (B * len(kinds) * steps in all); an exception it raises stops the call.

    Returns:
        ``{kind: FaithfulnessCurves}`` for each requested kind.
    """
    check_model(model)
    kinds = _check_kinds(kinds)
    steps = check_curve_steps(steps)
    baseline = check_choice(baseline, BASELINES, "baseline")
    score = check_choice(score, SCORES, "score")
    batch_size = None if batch_size is None else check_batch_size(batch_size)
    images = as_image_list(images)
    maps = as_map_list(maps, len(images))
    targets = as_targets(target_classes, len(images))
    progress = check_progress(progress)

    preprocessor = Preprocessor(model, preprocess)
    device, dtype = model_device(model), model_dtype(model)
    groups = prepare_inputs(preprocessor, images, maps, device, dtype)

    scores = torch.empty(len(images), len(kinds), steps, device=device, dtype=torch.float32)
    classes = torch.empty(len(images), device=device, dtype=torch.long)
    insertion = torch.tensor([k == "insertion" for k in kinds], device=device)
    with explaining(model), torch.inference_mode(), tracking(progress, len(images) * len(kinds) * steps):
        for group in groups:
            requested = [targets[i] for i in group.index]
            group_classes = _group_classes(model, group.inputs, requested)
            base = baseline_inputs(group.inputs, baseline, preprocessor)
            rows = batch_size or RowSizer(model).inference_rows(group.inputs)
            scores[group.index] = _group_scores(
                model, group, base, group_classes, requested, insertion, steps, score, rows
            )
            classes[group.index] = group_classes

    fractions = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    host_scores = scores.cpu()
    auc = torch.trapezoid(host_scores.double(), fractions, dim=-1).numpy()
    host_classes = classes.cpu().numpy()
    return {
        kind: FaithfulnessCurves(
            kind=kind,
            fractions=fractions.numpy(),
            scores=host_scores[:, k].numpy(),
            auc=auc[:, k],
            target_classes=host_classes,
            baseline=baseline,
            score=score,
        )
        for k, kind in enumerate(kinds)
    }


def deletion(model: nn.Module, images, maps, target_classes=None, **options) -> FaithfulnessCurves:
    """Deletion curves and AUC of a batch (lower is better); options as :func:`faithfulness_curves`."""
    return faithfulness_curves(model, images, maps, target_classes, kinds=("deletion",), **options)["deletion"]


def insertion(model: nn.Module, images, maps, target_classes=None, **options) -> FaithfulnessCurves:
    """Insertion curves and AUC of a batch (higher is better); options as :func:`faithfulness_curves`."""
    return faithfulness_curves(model, images, maps, target_classes, kinds=("insertion",), **options)["insertion"]


def deletion_insertion(
    model: nn.Module,
    image,
    heatmap,
    target_class=None,
    *,
    steps: int = 50,
    baseline: str = "blur",
    score: str = "probability",
    batch_size: int | None = None,
    preprocess: PreprocessSpec = None,
    progress=None,
) -> dict:
    """Score one map of one image: both AUCs and both curves as plain values.

    ``heatmap`` is (H, W) at the image's size, as ``explain`` returns it. ``batch_size``: step
    images per forward pass, by default as many as fit the device; ``progress`` as for
    ``faithfulness_curves``.

    Returns:
        ``{"deletion_auc": float, "insertion_auc": float, "deletion_curve": (S,) float32,
        "insertion_curve": (S,) float32, "fractions": (S,) float64, "target_class": int,
        "baseline": str, "score": str}``.
    """
    heatmap = heatmap if isinstance(heatmap, (np.ndarray, torch.Tensor)) else np.asarray(heatmap)
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be one (H, W) map; got shape {tuple(heatmap.shape)}.")
    if isinstance(image, (list, tuple)):
        raise TypeError("deletion_insertion scores one image; use faithfulness_curves for a batch.")
    curves = faithfulness_curves(
        model,
        [image],
        [heatmap],
        [target_class],
        steps=steps,
        baseline=baseline,
        score=score,
        batch_size=batch_size,
        preprocess=preprocess,
        progress=progress,
    )
    dele, ins = curves["deletion"], curves["insertion"]
    return {
        "deletion_auc": float(dele.auc[0]),
        "insertion_auc": float(ins.auc[0]),
        "deletion_curve": dele.scores[0],
        "insertion_curve": ins.scores[0],
        "fractions": dele.fractions,
        "target_class": int(dele.target_classes[0]),
        "baseline": baseline,
        "score": score,
    }


# -- the computation ---------------------------------------------------------------------
def _group_classes(model: nn.Module, inputs: torch.Tensor, requested: list[int | None]) -> torch.Tensor:
    """(G,) classes to score; ``None`` entries take the predicted class (one extra forward, only then)."""
    if all(c is not None for c in requested):
        return torch.tensor(requested, device=inputs.device, dtype=torch.long)
    logits = logits_of(model(inputs))
    check_range(requested, logits.shape[1])
    return resolve_classes(logits, class_tensor([[c] for c in requested], inputs.device))[:, 0]


def _group_scores(
    model: nn.Module,
    group: InputGroup,
    base: torch.Tensor,
    classes: torch.Tensor,
    requested: list[int | None],
    insertion: torch.Tensor,
    steps: int,
    score: str,
    batch_size: int,
) -> torch.Tensor:
    """(G, K, S) scores of a group's curves, ``batch_size`` step images per forward pass."""
    inputs = group.inputs
    count, _, height, width = inputs.shape
    per_image = insertion.numel() * steps
    ranks = pixel_ranks(group.maps)
    counts = step_counts(steps, height * width, inputs.device)
    total = count * per_image
    item_class = classes.repeat_interleave(per_image)
    out = torch.empty(total, device=inputs.device, dtype=torch.float32)
    for start in range(0, total, batch_size):
        stop = min(total, start + batch_size)
        logits = logits_of(model(step_images(inputs, base, ranks, counts, insertion, start, stop))).float()
        if start == 0:
            check_range(requested, logits.shape[1])
        if score == "probability":
            logits = logits.softmax(dim=1)
        elif score == "sigmoid":
            logits = logits.sigmoid()
        out[start:stop] = logits.gather(1, item_class[start:stop, None])[:, 0]
        advance(stop - start)
    return out.view(count, insertion.numel(), steps)


def _check_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds or len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds must name 'deletion' and/or 'insertion', each once; got {kinds!r}.")
    for kind in kinds:
        check_choice(kind, KINDS, "kinds entry")
    return kinds
