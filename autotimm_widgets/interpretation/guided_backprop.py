"""Guided Backpropagation (Springenberg et al., 2015): the gradient with negative signals stopped at every ReLU."""

from __future__ import annotations

from contextlib import AbstractContextManager

from torch import nn

from ._input_gradients import InputGradients
from ._pixel import REDUCTION
from ._relu_rules import missing_relu, relu_rule
from .registry import register_method


@register_method(
    "guided_backprop", label="Guided Backprop", params=(REDUCTION,), smoothable=True, resolution="pixel", rank=12
)
class GuidedBackprop(InputGradients):
    """The input gradient with every ``nn.ReLU`` back-propagating ``(x > 0) * max(g, 0)``, as
    Captum's ``GuidedBackprop`` (see ``_relu_rules``). Needs a model with ``nn.ReLU`` modules.

    Known to fail the model-parameter randomisation test (Adebayo et al., 2018): its map stays
    close to an edge detector when the weights are randomised.
    """

    rule = "guided"

    @classmethod
    def unsupported(cls, model: nn.Module) -> str | None:
        return missing_relu(model)

    def backward_rule(self) -> AbstractContextManager:
        return relu_rule(self.model, self.rule)
