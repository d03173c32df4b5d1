"""InputGradients: attributions built from the gradients of class logits with respect to the input.

One forward pass of the batch (the input a leaf that requires grad) and one ``autograd.grad``
per requested class: every image of the batch gets its own gradients from each backward (images
are independent in eval mode), and K classes share the forward pass. A variant says how the
gradient is turned into the attribution (:meth:`combine`) and, for the guided methods, which
backward rule the ReLUs follow during the call (:meth:`backward_rule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import torch

from ._model import logits_of
from ._pixel import PixelAttribution, SignedAttribution
from .gradients import class_gradients


class InputGradients(PixelAttribution):
    """Base of Saliency, InputXGradient, GuidedBackprop and Deconvolution (see :class:`PixelAttribution`)."""

    def backward_rule(self) -> AbstractContextManager:
        """A context manager in which the forward pass runs (hooks that change the backward)."""
        return nullcontext()

    def combine(self, inputs: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        """(B, K, C, h, w) attributions from inputs (B, C, h, w) and gradients (B, K, C, h, w)."""
        return gradients

    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        leaf = inputs.detach().requires_grad_(True)
        with self.backward_rule():
            logits = logits_of(self.model(leaf))
        targets = self._targets(logits.detach(), classes)
        gradients = class_gradients(logits, leaf, targets)
        return SignedAttribution(self.combine(inputs, gradients), logits.detach(), targets)
