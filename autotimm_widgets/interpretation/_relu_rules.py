"""Guided backpropagation and deconvolution: the backward pass of every ``nn.ReLU``, changed for one call.

For a ReLU y = max(x, 0) with output gradient g (Springenberg et al., 2015; Zeiler and Fergus, 2014):

* ``'guided'``: dx = (x > 0) * max(g, 0), the gradient with negative signals stopped;
* ``'deconv'``: dx = max(g, 0), the mask of the forward pass ignored.

These are Captum's rules, on the same modules (every ``nn.ReLU``, including subclasses; ReLUs
called as functions are not changed, as in Captum). Nothing is swapped; the hooks are removed on
exit. Guided: since (x > 0) * max(g, 0) = ReLU's own backward of max(g, 0), a forward hook puts
a tensor hook on each ReLU's output that clamps its (total) gradient, and ReLU's backward does
the rest (no copy, in-place ReLUs included). Deconv: a forward hook replaces the ReLU's output by
the same values from a function whose backward routes max(g, 0) to the ReLU's input; a ReLU with
``inplace=True`` is given relu(x) to overwrite (a pre-hook), so x keeps its place in the graph. A module
called twice in a forward is handled call by call. ``switch.enabled = False`` gives plain ReLU gradients through the same graph
(Guided Grad-CAM differentiates one forward pass both ways).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from ._module_inputs import ModuleInputs

RULES = ("guided", "deconv")


def relu_modules(model: nn.Module) -> list[nn.Module]:
    """The modules whose backward the rules change: every ``nn.ReLU`` (subclasses included)."""
    return [m for m in model.modules() if isinstance(m, nn.ReLU)]


def missing_relu(model: nn.Module) -> str | None:
    """A sentence if ``model`` has no ``nn.ReLU`` module (the rules would change nothing), else None."""
    if relu_modules(model):
        return None
    activations = sorted({type(m).__name__ for m in model.modules() if type(m).__module__.endswith("activation")})
    found = f" (its activations are {', '.join(activations)})" if activations else ""
    return f"it has no nn.ReLU module{found}, and this rule changes how nn.ReLU back-propagates."


@dataclass
class Switch:
    """Whether the rule is on; read in each backward."""

    enabled: bool = True


class _Deconv(torch.autograd.Function):
    """Forward: the ReLU's output ``y`` as it is; backward: max(g, 0) to the ReLU's input ``x``
    (or, with the switch off, ReLU's own gradient g * (y > 0))."""

    @staticmethod
    def forward(ctx, x, y, switch):
        ctx.switch = switch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        if not ctx.switch.enabled:
            (y,) = ctx.saved_tensors
            return grad * (y > 0), None, None
        return grad.clamp_min(0), None, None


@contextmanager
def relu_rule(model: nn.Module, rule: str, switch: Switch | None = None) -> Iterator[Switch]:
    """Inside the block every ``nn.ReLU`` of ``model`` back-propagates by ``rule``; yields the switch."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    switch = switch or Switch()
    # an in-place ReLU overwrites relu(x), not x, which the rule routes to
    inputs = ModuleInputs(spare=lambda x: x.detach().clamp_min(0))

    def apply_rule(module, _args, output):
        return _Deconv.apply(inputs.pop(module), output.detach(), switch)

    def clamp(grad):
        return grad.clamp_min(0) if switch.enabled else None

    def guide(_module, _args, output):
        if output.requires_grad:
            output.register_hook(clamp)

    handles = []
    try:
        for module in relu_modules(model):
            if rule == "guided":
                handles.append(module.register_forward_hook(guide))
                continue
            handles.append(module.register_forward_pre_hook(inputs.pre_hook))
            handles.append(module.register_forward_hook(apply_rule))
        yield switch
    finally:
        for handle in handles:
            handle.remove()
        inputs.clear()
