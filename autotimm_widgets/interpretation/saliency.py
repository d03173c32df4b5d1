"""Saliency (Simonyan et al., 2014): the gradient of the class logit with respect to the input."""

from __future__ import annotations

import torch
from torch import nn

from ._input_gradients import InputGradients
from ._pixel import REDUCTION
from .cam import check_flag
from .preprocessing import PreprocessSpec
from .registry import Param, register_method

ABSOLUTE = Param("abs", bool, lambda v: check_flag(v, "abs"), "Absolute gradient")


@register_method(
    "saliency", label="Saliency", params=(ABSOLUTE, REDUCTION), smoothable=True, resolution="pixel", rank=10
)
class Saliency(InputGradients):
    """dy_c/dx, as Captum's ``Saliency``: its absolute value when ``abs`` (Captum's default).

    ``reduction`` defaults to ``'max_abs'``, the paper's map (max over channels of |gradient|).
    See :class:`PixelAttribution` for ``attribute`` and ``explain``.
    """

    def __init__(
        self,
        model: nn.Module,
        use_cuda: bool = True,
        *,
        abs: bool = True,
        reduction: str = "max_abs",
        preprocess: PreprocessSpec = None,
    ):
        super().__init__(model, use_cuda, reduction=reduction, preprocess=preprocess)
        self.abs = ABSOLUTE.validate(abs)

    def combine(self, inputs: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return gradients.abs() if self.abs else gradients
