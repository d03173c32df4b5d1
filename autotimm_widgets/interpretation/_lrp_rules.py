"""The epsilon rule of layer-wise relevance propagation, as Captum's ``LRP`` applies it, for one call.

In gradient form: at each layer with a rule (``RULED``) the gradient arriving at its output z is
divided by z + eps * sign(z) (sign 0 counted as 1), and the gradient arriving at its input a is
multiplied by a, once per tensor (a tensor read by several layers is multiplied once, on the
sum of their gradients, as Captum's hook on it does). ReLU, Tanh and dropout pass the gradient
through unchanged (the relevance of their output is that of their input). Identity and Flatten
change nothing (Captum refuses them unless a rule is set on them). The relevance at the input
is then the gradient times the target's logit.

Forward hooks register the tensor hooks for one call; nothing is swapped and no weight changes
(the epsilon rule needs none), so one forward pass serves (Captum's ``LRP`` runs two). A module
called twice gets its rule on each call (Captum refuses reused modules).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ._module_inputs import ModuleInputs

RULED = (
    nn.Conv2d,
    nn.Linear,
    nn.BatchNorm2d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
)
PASSED = (nn.ReLU, nn.Tanh, nn.Dropout)
NEUTRAL = (nn.Identity, nn.Flatten)
EPSILON = 1e-9  # Captum's EpsilonRule default


def describe_unsupported(model: nn.Module, method: str = "LRP") -> str | None:
    """A sentence naming the leaf modules with no rule, or None."""
    found = [
        f"{name} ({type(m).__name__})"
        for name, m in model.named_modules()
        if not list(m.children()) and not isinstance(m, (*RULED, *PASSED, *NEUTRAL))
    ]
    if not found:
        return None
    shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    covered = ", ".join(t.__name__ for t in (*RULED, *PASSED, *NEUTRAL))
    return f"{method} has no rule for {shown}; its rules cover {covered} (Captum's LRP covers the same)."


class _PassThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, output):
        return output.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


@contextmanager
def epsilon_rule(model: nn.Module, epsilon: float = EPSILON) -> Iterator[None]:
    """Inside the block a forward pass back-propagates LRP-epsilon relevances (divided by the logit)."""
    multiplied: set[int] = set()
    kept: list[torch.Tensor] = []  # keeps the tensors alive, so that their ids stay unique
    inputs = ModuleInputs()

    def ruled(_module, args, output):
        x = args[0]
        if x.requires_grad and id(x) not in multiplied:
            multiplied.add(id(x))
            kept.append(x)
            values = x.detach()
            x.register_hook(lambda grad: grad * values)
        if not output.requires_grad:
            return None
        z = output.detach()
        floor = max(epsilon, torch.finfo(z.dtype).tiny)  # 1e-9 is 0 in float16
        stabiliser = torch.where(z >= 0, floor, -floor).to(z.dtype)
        output.register_hook(lambda grad: grad / (z + stabiliser))
        return output.clone()

    def passed(module, _args, output):
        return _PassThrough.apply(inputs.pop(module), output)

    handles = []
    try:
        for module in model.modules():
            if isinstance(module, RULED):
                handles.append(module.register_forward_hook(ruled))
            elif isinstance(module, PASSED):
                handles.append(module.register_forward_pre_hook(inputs.pre_hook))
                handles.append(module.register_forward_hook(passed))
        yield
    finally:
        for handle in handles:
            handle.remove()
        inputs.clear()
        kept.clear()
