"""PixelAttribution: the methods whose result is a signed attribution of every input element.

Captum's family (Saliency, InputXGradient, the guided methods, occlusion, DeepLift, LRP, ...).
A method implements one thing, ``_signed``: model inputs (B, C, h, w) and the classes asked for
in, a :class:`SignedAttribution` out (attributions (B, K, C, h, w) in the model's input space).
This base gives it

* ``attribute(image, target_class)``: the signed (C, h, w) attribution, or (K, C, h, w) for a
  list of K classes, on the CPU (what Captum's ``attribute`` returns for the same input);
* ``signed_batch(inputs, classes)``: the same for a preprocessed batch (metrics build on it);
* ``explain`` / ``explain_batch``: the channels reduced by ``reduction`` to an (H, W) map in
  [0, 1] at the image's size: ``'sum'`` is |sum_c a_c|, ``'max_abs'`` is max_c |a_c| (Simonyan
  et al.'s saliency map).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ._model import explaining
from ._targets import explain_targets
from .base import BaseInterpreter, BatchAttribution
from .preprocessing import PreprocessSpec
from .registry import Param
from .types import ImageInput, TargetClass

REDUCTIONS = ("sum", "max_abs")


def check_reduction(value) -> str:
    """``value`` if it is one of ``REDUCTIONS``."""
    if not isinstance(value, str):
        raise TypeError(f"reduction must be a str, one of {REDUCTIONS}; got {type(value).__name__}.")
    if value not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS} (|sum over channels| or max |.|); got {value!r}.")
    return value


REDUCTION = Param("reduction", str, check_reduction, "Channels", choices=REDUCTIONS)


@dataclass(frozen=True)
class SignedAttribution:
    """On the model's device: ``attributions`` (B, K, C, h, w), signed, in the model's input
    space; ``logits`` (B, classes) of the inputs, detached; ``classes`` (B, K) explained."""

    attributions: torch.Tensor
    logits: torch.Tensor
    classes: torch.Tensor


def reduce_channels(attributions: torch.Tensor, reduction: str) -> torch.Tensor:
    """(B, K, C, h, w) signed attributions -> (B, K, h, w) non-negative maps."""
    if reduction == "sum":
        return attributions.sum(dim=2).abs()
    return attributions.abs().amax(dim=2)


class SignedMaps:
    """``attribute``, ``signed_batch`` and the maps of ``explain`` from a method's ``_signed``
    (mixed into :class:`PixelAttribution` and into Guided Grad-CAM, which is also a CAM)."""

    reduction = "sum"

    def _check_supported(self) -> None:
        reason = self.unsupported(self.model)
        if reason is not None:
            raise ValueError(f"{type(self).__name__} cannot explain this model: {reason}")

    # -- what a method implements -------------------------------------------------------
    def _signed(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        """Signed attributions of a batch ``inputs`` (B, C, h, w); ``classes[b]`` as in ``_attribute``."""
        raise NotImplementedError

    # -- public API ---------------------------------------------------------------------
    def attribute(self, image: ImageInput, target_class: TargetClass = None) -> torch.Tensor:
        """Signed attributions in the model's input space, on the CPU: (C, h, w), the shape of
        the preprocessed input, or (K, C, h, w) for a list of K classes."""
        classes, single = explain_targets(target_class)
        prepared = self.prepare(image)
        with explaining(self.model):
            result = self._signed(prepared.tensor, [classes]).attributions[0].cpu()
        return result[0] if single else result

    def signed_batch(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> SignedAttribution:
        """Signed attributions (B, K, C, h, w) of preprocessed inputs (B, C, h, w) on ``self.device``."""
        with explaining(self.model):
            return self._signed(inputs, classes)

    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        signed = self._signed(inputs, classes)
        return BatchAttribution(reduce_channels(signed.attributions, self.reduction), signed.logits, signed.classes)


class PixelAttribution(SignedMaps, BaseInterpreter):
    """Base of the signed, input-resolution attribution methods.

    Args:
        model: the classifier to explain.
        use_cuda: run on the GPU when one is available.
        reduction: how ``explain`` reduces the channels: ``'sum'`` or ``'max_abs'``.
        preprocess: overrides the model's own preprocessing.
    """

    def __init__(
        self, model: nn.Module, use_cuda: bool = True, *, reduction: str = "sum", preprocess: PreprocessSpec = None
    ):
        super().__init__(model, use_cuda, preprocess=preprocess)
        self.reduction = check_reduction(reduction)
        self._check_supported()
