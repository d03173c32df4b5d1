"""Forward-hook capture that lives exactly as long as one call (Captum's lifecycle).

Hooks are registered when the ``with`` block starts and removed when it ends, also on
error. Captured tensors stay on their device: a hook never calls ``.cpu()``, ``.item()`` or
NumPy, so it never forces a device sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class Captured:
    """The output of a module during one forward pass (``None`` until it runs)."""

    def __init__(self) -> None:
        self.output: torch.Tensor | None = None


@contextmanager
def capture_output(module: nn.Module, name: str = "layer", grad_from_here: bool = False) -> Iterator[Captured]:
    """Capture ``module``'s output tensor and make sure it is part of the autograd graph.

    If the output does not require grad (every earlier parameter frozen, or the forward runs
    under ``no_grad``), it is replaced by a detached copy that does, so gradients with respect
    to it exist without touching any ``requires_grad`` flag. For a tuple output the first item
    is captured.

    With ``grad_from_here=True`` the hook also switches grad mode on for the rest of the
    forward pass: run the forward under ``torch.no_grad()`` and autograd records only what
    comes after this layer, which is all that gradients with respect to it need. The
    enclosing ``no_grad`` block restores the mode when the forward returns or raises.
    """
    captured = Captured()

    def hook(_module, _inputs, output):
        tensor = output[0] if isinstance(output, (tuple, list)) and output else output
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"{name} returned {type(output).__name__}, not a tensor; choose another layer.")
        if grad_from_here:
            torch.set_grad_enabled(True)
        if tensor.requires_grad or not tensor.is_floating_point():
            captured.output = tensor
            return None
        # A leaf that requires grad is what gradients are taken with respect to; the model goes on
        # with a copy of it, so an in-place layer after this one (BatchNorm then ReLU(inplace=True))
        # changes neither the captured values nor a leaf autograd must keep intact.
        captured.output = tensor.detach().requires_grad_(True)
        replaced = captured.output.clone()
        if isinstance(output, (tuple, list)):
            return type(output)([replaced, *output[1:]])
        return replaced

    handle = module.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()
        captured.output = None


@contextmanager
def trace_outputs(model: nn.Module) -> Iterator[dict[str, tuple[int, ...]]]:
    """Record the output shape of every submodule, in the order the modules finish."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            tensor = output[0] if isinstance(output, (tuple, list)) and output else output
            if isinstance(tensor, torch.Tensor) and name not in shapes:
                shapes[name] = tuple(tensor.shape)

        return hook

    try:
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_hook(make_hook(name)))
        yield shapes
    finally:
        for handle in handles:
            handle.remove()
