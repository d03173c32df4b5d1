"""Gradients of chosen class logits, with ``torch.autograd.grad`` (never ``.backward()``, so no
``.grad`` is left on any parameter): what the CAMs, Integrated Gradients and gradient-weighted
rollout differentiate."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def class_gradients(logits: torch.Tensor, activation, classes: torch.Tensor):
    """Gradients (B, K, ...) of each image's chosen logits with respect to ``activation`` (B, ...),
    or a list of them for a list of activations (one backward serves them all).

    Images in a batch are independent in eval mode, so one backward of the summed logits
    gives every image its own gradient; K classes take K backward passes through the head.
    """
    return score_gradients(logits.gather(1, classes), activation)


def score_gradients(scores: torch.Tensor, activation, create_graph: bool = False):
    """Gradients (B, K, ...) of the scores (B, K) (one per image and map) with respect to
    ``activation`` (B, ...), or a list of them for a list of activations; K backward passes."""
    inputs = (activation,) if isinstance(activation, torch.Tensor) else tuple(activation)
    count = scores.shape[1]
    per_column = [
        torch.autograd.grad(
            scores[:, k].sum(), inputs, retain_graph=create_graph or k < count - 1, create_graph=create_graph
        )
        for k in range(count)
    ]
    stacked = [torch.stack([grads[i] for grads in per_column], dim=1) for i in range(len(inputs))]
    return stacked[0] if isinstance(activation, torch.Tensor) else stacked


def per_class_gradients(logits: torch.Tensor, inputs, classes: torch.Tensor) -> Iterator[tuple[torch.Tensor, ...]]:
    """For each of the K columns of ``classes`` (B, K): the gradients of each image's logit of
    that class with respect to ``inputs`` (a tensor or a sequence of tensors), one backward each."""
    picked = logits.gather(1, classes)
    count = classes.shape[1]
    for k in range(count):
        yield torch.autograd.grad(picked[:, k].sum(), inputs, retain_graph=k < count - 1)
