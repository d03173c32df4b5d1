"""Infidelity and max-sensitivity (Yeh et al., 2019), as ``captum.metrics`` defines them, batched.

* :func:`infidelity`: E_I[(I . a - (f(x) - f(x - I)))^2] over perturbations I; lower is
  better. ``normalize=True`` first scales the attributions by the beta that minimises it
  (Captum's ``normalize``).
* :func:`sensitivity_max`: max over perturbed inputs x' in an L-inf ball of radius r of
  ||e(x') - e(x)|| / ||e(x)||, e the explainer's signed attributions; lower is better.

Both take an explainer with signed attributions (a :class:`PixelAttribution`: Saliency,
DeepLift, Occlusion, ...) and images; every image's ``n_perturb_samples`` perturbed copies are
rows of shared batches (forward passes for infidelity, the explainer's own batched pass for
sensitivity), never one sample at a time. The perturbations come from a seeded generator, or
from ``perturb_func`` with Captum's signature, which makes results comparable with Captum's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import positive_int
from .._memory import RowSizer
from .._model import explaining, logits_of
from .._pixel import SignedMaps
from .._targets import batch_targets
from ..base import _image_list

PerturbFunc = Callable[..., object]


def _check_explainer(explainer) -> None:
    if not isinstance(explainer, SignedMaps):
        raise TypeError(
            "these metrics need an explainer with signed attributions (Saliency, InputXGradient, "
            f"DeepLift, Occlusion, ... : a PixelAttribution); got {type(explainer).__name__}."
        )


def _inputs(explainer, images) -> torch.Tensor:
    prepared = [explainer.prepare(image).tensor for image in _image_list(images)]
    shapes = {tuple(t.shape) for t in prepared}
    if len(shapes) != 1:
        raise ValueError(f"the images preprocess to different shapes {sorted(shapes)}; give images of one size.")
    return torch.cat(prepared)


def _seeded(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def infidelity(
    explainer,
    images,
    target_classes=None,
    *,
    attributions: torch.Tensor | None = None,
    n_perturb_samples: int = 10,
    noise_std: float = 0.003,
    perturb_func: PerturbFunc | None = None,
    normalize: bool = False,
    batch_size: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Infidelity (B,) of the explainer's attributions of ``images`` (a list, or a (B, C, h, w)
    tensor in the model's input space).

    Args:
        attributions: (B, C, h, w) attributions to score instead of the explainer's own.
        n_perturb_samples: perturbations per image.
        noise_std: the default perturbation I ~ N(0, noise_std^2) per element, in the model's
            input space (the perturbed input is x - I).
        perturb_func: ``perturb_func(inputs) -> (perturbations, perturbed_inputs)`` on the
            repeated inputs (B * n, C, h, w), Captum's signature; replaces the default.
        normalize: Captum's ``normalize`` (the attributions scaled by the optimal beta).
        batch_size: rows per forward pass; ``None`` fits memory.
        seed: seeds the default perturbation.
    """
    _check_explainer(explainer)
    samples = positive_int(n_perturb_samples, "n_perturb_samples")
    inputs = _inputs(explainer, images)
    count = inputs.shape[0]
    classes = batch_targets(target_classes, count)
    if attributions is None:
        signed = explainer.signed_batch(inputs, [[c] for c in classes])
        attributions, targets, logits = signed.attributions[:, 0], signed.classes[:, 0], signed.logits
    else:
        attributions = attributions.to(inputs)
        if tuple(attributions.shape) != tuple(inputs.shape):
            raise ValueError(
                f"attributions must have the inputs' shape {tuple(inputs.shape)}; got {tuple(attributions.shape)}."
            )
        with explaining(explainer.model), torch.no_grad():
            logits = logits_of(explainer.model(inputs))
        targets = explainer._targets(logits, [[c] for c in classes])[:, 0]
    expanded = inputs.repeat_interleave(samples, dim=0)
    with torch.no_grad():
        if perturb_func is None:
            noise = torch.randn(expanded.shape, generator=_seeded(seed, inputs.device), device=inputs.device)
            perturbations = noise.mul_(noise_std).to(inputs.dtype)
            perturbed = expanded - perturbations
        else:
            perturbations, perturbed = perturb_func(expanded)
    rows = targets.repeat_interleave(samples)
    with explaining(explainer.model), torch.no_grad():
        clean = logits.gather(1, targets[:, None])[:, 0].repeat_interleave(samples)  # the clean pass, not redone
        per_pass = batch_size or RowSizer(explainer.model).inference_rows(inputs[:1])
        scores = torch.cat(
            [
                logits_of(explainer.model(perturbed[s : s + per_pass])).gather(1, rows[s : s + per_pass, None])[:, 0]
                for s in range(0, perturbed.shape[0], per_pass)
            ]
        )
    dots = (attributions.repeat_interleave(samples, dim=0) * perturbations).flatten(1).sum(1).view(count, samples)
    differences = (clean - scores).view(count, samples)
    if not normalize:
        return ((dots - differences) ** 2).sum(1).div(samples).cpu()
    a2, ab, b2 = (dots**2).sum(1), (dots * differences).sum(1), (differences**2).sum(1)
    beta = torch.where(a2 != 0, ab / torch.where(a2 != 0, a2, torch.ones_like(a2)), torch.zeros_like(a2))
    return ((beta * beta * a2 - 2 * beta * ab + b2) / samples).cpu()


def sensitivity_max(
    explainer,
    images,
    target_classes=None,
    *,
    n_perturb_samples: int = 10,
    perturb_radius: float = 0.02,
    perturb_func: PerturbFunc | None = None,
    norm_ord="fro",
    batch_size: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Max-sensitivity (B,) of the explainer's signed attributions of ``images``.

    The perturbed copies x + U(-perturb_radius, perturb_radius) (Captum's default perturbation;
    or ``perturb_func(inputs, perturb_radius) -> perturbed inputs``, Captum's signature, on the
    repeated inputs (B * n, C, h, w)) are explained for the clean image's class, ``batch_size``
    copies per call of the explainer's batched pass (``None``: all of them in one call).
    """
    _check_explainer(explainer)
    samples = positive_int(n_perturb_samples, "n_perturb_samples")
    inputs = _inputs(explainer, images)
    count = inputs.shape[0]
    classes = batch_targets(target_classes, count)
    clean = explainer.signed_batch(inputs, [[c] for c in classes])
    reference, targets = clean.attributions[:, 0], clean.classes[:, 0].tolist()
    expanded = inputs.repeat_interleave(samples, dim=0)
    if perturb_func is None:
        noise = torch.rand(expanded.shape, generator=_seeded(seed, inputs.device), device=inputs.device)
        perturbed = expanded + noise.mul_(2 * perturb_radius).sub_(perturb_radius).to(inputs.dtype)
    else:
        perturbed = perturb_func(expanded, perturb_radius)
    per_call = positive_int(batch_size, "batch_size", allow_none=True) or perturbed.shape[0]
    rows = [[targets[r // samples]] for r in range(perturbed.shape[0])]
    explained = torch.cat(
        [
            explainer.signed_batch(perturbed[s : s + per_call], rows[s : s + per_call]).attributions[:, 0].detach()
            for s in range(0, perturbed.shape[0], per_call)
        ]
    )
    order = 2 if norm_ord == "fro" else norm_ord  # Frobenius of a flattened map is its 2-norm
    norms = torch.linalg.norm(reference.flatten(1), ord=order, dim=1)
    norms = torch.where(norms == 0, torch.ones_like(norms), norms).repeat_interleave(samples)
    changes = torch.linalg.norm(
        (reference.repeat_interleave(samples, dim=0) - explained).flatten(1),
        ord=order,
        dim=1,
    )
    return (changes / norms).view(count, samples).amax(dim=1).cpu()
