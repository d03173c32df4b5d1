"""Model-parameter randomisation check (Adebayo et al., 2018, "Sanity checks for saliency maps").

A map that explains the model must change when the model's weights are destroyed. The
check works on a deep copy of the model (yours is never touched): it randomises the layers
one by one from the output side ("cascading"; or each layer alone with ``cascade=False``),
explains the same images with the same classes after each step, and reports the Spearman
rank correlation of each new map with the original one. A method that passes shows the
correlation falling as soon as layers that shape the map are randomised; one that stays
near 1 throughout (an edge detector, say) does not depend on the model.

Randomising a layer replaces each of its parameters with zero-mean Gaussian noise at the
parameter's own root-mean-square scale, drawn from a generator seeded with ``seed`` (the
global random state is neither used nor changed). Buffers such as BatchNorm statistics
are kept. A map that becomes flat has no ranking: its correlation is NaN.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._model import check_model, explaining, model_device
from ..base import BaseInterpreter, same_shape_groups
from ..preprocessing import Preprocessor
from ._randomise import Layer, cascade_order, default_layer_names, randomise_, resolve_layers
from ._validation import as_image_list, as_targets, check_batch_size
from .correlation import RankedMaps
from .faithfulness import _group_classes


@dataclass(frozen=True)
class RandomisationResult:
    """What the check found, for B images and L layers.

    ``layers`` (L,): in the order randomised, output side first;
    ``correlations`` (L, B) float64: Spearman's rho with the original map after each step
    (NaN where a map is constant); ``target_classes`` (B,) the classes explained;
    ``original`` B maps (H, W); ``randomised`` L lists of B maps; ``cascade`` the mode.
    """

    layers: list[str]
    correlations: np.ndarray
    target_classes: np.ndarray
    original: list[np.ndarray]
    randomised: list[list[np.ndarray]]
    cascade: bool


def parameter_randomisation(
    model: nn.Module,
    explainer: type[BaseInterpreter] | Callable[[nn.Module], BaseInterpreter],
    images,
    target_classes=None,
    *,
    explainer_kwargs: dict | None = None,
    layers: list[str] | None = None,
    cascade: bool = True,
    seed: int = 0,
    batch_size: int = 32,
) -> RandomisationResult:
    """Run the randomisation check for any explanation method.

    Args:
        model: the classifier; only a deep copy is changed.
        explainer: an explainer class (``GradCAM``), built as ``explainer(copy, **explainer_kwargs)``,
            or a factory ``model -> explainer`` (``lambda m: GradCAM(m, target_layer="layer4")``)
            that must build the explainer on the model it is given.
        images: a list of images, a (B, 3, H, W) tensor, or one image.
        target_classes: ``None`` (the original model's predicted classes, kept for every
            step), one class for all images, or one per image.
        layers: module or parameter names to randomise; ``None`` for the model's blocks
            (see :func:`randomisation_layers`). They are always taken output side first.
        cascade: randomise cumulatively (True) or each layer alone on the original weights.
        seed: seeds the noise (one stream for a cascade; with ``cascade=False`` each layer
            starts from ``seed``, so it gets the same noise as when randomised on its own).
        batch_size: images per explanation batch.
    """
    check_model(model)
    images = as_image_list(images)
    targets = as_targets(target_classes, len(images))
    batch_size = check_batch_size(batch_size)
    factory = _factory(explainer, explainer_kwargs)

    duplicate = copy.deepcopy(model)
    built = factory(duplicate)
    if not isinstance(built, BaseInterpreter):
        raise TypeError(
            f"the explainer factory must return an explainer (a BaseInterpreter); got {type(built).__name__}."
        )
    if built.model is not duplicate:
        raise ValueError(
            "the explainer factory must build the explainer on the model it is given (its argument), "
            "not on a model it holds: e.g. lambda m: GradCAM(m)."
        )
    chosen = resolve_layers(duplicate, default_layer_names(duplicate) if layers is None else layers)
    order = cascade_order(duplicate, chosen, _probe(built.preprocessor, built.device, images[0]))
    classes = _resolve_classes(built, images, targets)

    specific = _class_specific(built)

    def explain() -> list[np.ndarray]:  # a class-agnostic method (EigenCAM, rollout) is given no class
        given = classes if specific else None
        return built.explain_batch(images, given, batch_size, normalize=False, show_progress=False)

    original = explain()
    ranked_original = RankedMaps(original)  # ranked once, compared with every layer's maps
    generator = torch.Generator().manual_seed(int(seed))
    randomised, correlations = [], []
    for layer in order:
        saved = None if cascade else [p.detach().clone() for p in layer.params]
        if not cascade:  # each layer alone draws the same noise as a run with layers=[that layer]
            generator.manual_seed(int(seed))
        randomise_(layer, generator)
        maps = explain()
        if saved is not None:
            _restore(layer, saved)
        randomised.append(maps)
        correlations.append(ranked_original.correlation(maps))
    return RandomisationResult(
        layers=[layer.name for layer in order],
        correlations=np.stack(correlations),
        target_classes=np.asarray(classes, dtype=np.int64),
        original=original,
        randomised=randomised,
        cascade=bool(cascade),
    )


def randomisation_layers(model: nn.Module, layers: list[str] | None = None, image=None) -> list[str]:
    """The layers :func:`parameter_randomisation` randomises, in its order (output side first).

    The order comes from one forward pass on ``image`` (any accepted kind), or on a black
    image at the model's input size.
    """
    check_model(model)
    chosen = resolve_layers(model, default_layer_names(model) if layers is None else layers)
    probe = _probe(Preprocessor(model), model_device(model), image)
    return [layer.name for layer in cascade_order(model, chosen, probe)]


# -- helpers -----------------------------------------------------------------------------
def _factory(explainer, kwargs: dict | None) -> Callable[[nn.Module], BaseInterpreter]:
    if isinstance(explainer, type):
        if not issubclass(explainer, BaseInterpreter):
            raise TypeError(f"explainer must be an explainer class or a factory; got the class {explainer.__name__}.")
        options = dict(kwargs or {})
        return lambda m: explainer(m, **options)
    if isinstance(explainer, BaseInterpreter):
        raise TypeError(
            "pass the explainer's class (with explainer_kwargs) or a factory such as "
            "lambda m: GradCAM(m, target_layer='layer4'), not an explainer built on your model: "
            "the check needs one built on a copy."
        )
    if not callable(explainer):
        raise TypeError(
            f"explainer must be an explainer class or a factory model -> explainer; got {type(explainer).__name__}."
        )
    if kwargs:
        raise ValueError("explainer_kwargs go with an explainer class; a factory sets its own options.")
    return explainer


def _probe(preprocessor: Preprocessor, device: torch.device, image) -> torch.Tensor:
    """A (1, 3, h, w) input on ``device``: ``image`` prepared, or black at the model's input size."""
    if image is None:
        image = np.zeros((*preprocessor.config.input_size, 3), dtype=np.uint8)
    return preprocessor(image, device).tensor


def _class_specific(explainer: BaseInterpreter) -> bool:
    """Whether the registry says the explainer's method depends on the class (unregistered: yes)."""
    from ..registry import method_info

    name = getattr(explainer, "method_name", None)
    return True if name is None else method_info(name).capabilities.class_specific


def _resolve_classes(explainer: BaseInterpreter, images: list, targets: list[int | None]) -> list[int]:
    """Fill ``None`` with the unrandomised model's predicted class (batched forward per input shape)."""
    missing = [i for i, t in enumerate(targets) if t is None]
    if not missing:
        return list(targets)  # type: ignore[arg-type]
    prepared = {i: explainer.prepare(images[i]) for i in missing}
    classes = list(targets)
    with explaining(explainer.model), torch.inference_mode():
        for index in same_shape_groups(prepared):
            inputs = torch.cat([prepared[i].tensor for i in index])
            predicted = _group_classes(explainer.model, inputs, [None] * len(index))
            for i, c in zip(index, predicted.tolist(), strict=True):
                classes[i] = int(c)
    return classes  # type: ignore[return-value]


@torch.no_grad()
def _restore(layer: Layer, saved: list[torch.Tensor]) -> None:
    for param, value in zip(layer.params, saved, strict=True):
        param.copy_(value)
