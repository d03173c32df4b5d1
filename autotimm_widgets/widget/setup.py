"""What a widget is set up with: its display image, the model's classes and what it offers.

:func:`set_up` checks the constructor's arguments, runs the one forward pass the class panel
needs, and returns a :class:`WidgetSetup`; the widget keeps it and builds its state from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..interpretation import GradCAM
from ..interpretation._images import to_pixels
from ..interpretation.attention import token_layout
from ..interpretation.attention.capture import has_attention_layers
from ..interpretation.preprocessing import resize_pixels
from .class_names import resolve_class_names
from .methods import METHODS, default_methods
from .serializers import fit_within


@dataclass
class WidgetSetup:
    """``display`` uint8 (h, w, 3) view image; ``explain_input`` what the explainers get;
    ``image_size`` (H, W) of the user's image; ``probabilities`` (C,) as the class panel shows
    them (``score``: "probability" or "sigmoid"); ``top_classes`` the top-k indices;
    ``offered`` method names; ``probe`` the automatic-layer GradCAM used for all this;
    ``grid`` the patch grid for clicks ({} without attention)."""

    display: np.ndarray
    explain_input: object
    image_size: tuple[int, int]
    probabilities: torch.Tensor
    score: str
    names: list[str]
    top_classes: list[int]
    offered: list[str]
    probe: GradCAM
    grid: dict


def set_up(
    model: nn.Module,
    image,
    *,
    class_names: Sequence[str] | None,
    methods: Sequence[str] | None,
    top_k: int,
    use_cuda: bool,
    max_side: int,
    probabilities: str | None,
    preprocess,
) -> WidgetSetup:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; got {top_k!r}.")
    if probabilities is None:
        probabilities = "sigmoid" if getattr(model, "multi_label", False) else "softmax"
    if probabilities not in ("softmax", "sigmoid"):
        raise ValueError(f"probabilities must be 'softmax', 'sigmoid' or None; got {probabilities!r}.")
    offered = default_methods(model)
    if methods is not None:
        methods = list(methods)
        bad = [m for m in methods if m not in METHODS]
        if not methods or bad:
            raise ValueError(f"methods must be a non-empty list drawn from {list(METHODS)}; got {methods}.")
        offered = methods
    probe = GradCAM(model, use_cuda=use_cuda, preprocess=preprocess)
    display, explain_input, image_size = _display_image(image, probe, max_side)
    score = "sigmoid" if probabilities == "sigmoid" else "probability"  # what Scores measures, too
    logits = probe.predict(explain_input)
    probs = torch.sigmoid(logits) if score == "sigmoid" else torch.softmax(logits, dim=0)
    names = resolve_class_names(model, int(probs.shape[0]), class_names)
    top = torch.topk(probs, min(top_k, int(probs.shape[0])))
    top_classes = [int(i) for i in top.indices]
    grid = _token_grid(model, probe)
    return WidgetSetup(display, explain_input, image_size, probs, score, names, top_classes, offered, probe, grid)


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
    if not has_attention_layers(model):
        return {}
    layout = token_layout(model, explainer.preprocessor.config.input_size)
    rows, cols = layout.grid
    return {"prefix": layout.prefix, "rows": rows, "cols": cols, "tokens": layout.num_tokens}
