"""Input x Gradient (Shrikumar et al., 2016): the input times the gradient of the class logit."""

from __future__ import annotations

import torch

from ._input_gradients import InputGradients
from ._pixel import REDUCTION
from .registry import register_method


@register_method(
    "input_x_gradient", label="Input × Gradient", params=(REDUCTION,), smoothable=True, resolution="pixel", rank=11
)
class InputXGradient(InputGradients):
    """x * dy_c/dx in the model's input space, as Captum's ``InputXGradient``.

    See :class:`PixelAttribution` for the arguments, ``attribute`` and ``explain``.
    """

    def combine(self, inputs: torch.Tensor, gradients: torch.Tensor) -> torch.Tensor:
        return inputs.unsqueeze(1) * gradients
