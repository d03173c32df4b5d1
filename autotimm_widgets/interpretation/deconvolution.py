"""Deconvolution (Zeiler and Fergus, 2014): the gradient with every ReLU passing only positive signals back."""

from __future__ import annotations

from ._pixel import REDUCTION
from .guided_backprop import GuidedBackprop
from .registry import register_method


@register_method(
    "deconvolution", label="Deconvolution", params=(REDUCTION,), smoothable=True, resolution="pixel", rank=13
)
class Deconvolution(GuidedBackprop):
    """The input gradient with every ``nn.ReLU`` back-propagating ``max(g, 0)`` whatever its
    input was, as Captum's ``Deconvolution`` (see ``_relu_rules``)."""

    rule = "deconv"
