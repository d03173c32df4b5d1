"""DeepLIFT's Rescale rule (Shrikumar et al., 2017, in Ancona et al.'s gradient form), as Captum applies it.

The model runs once on the doubled batch [inputs; baselines]. Every supported nonlinear module's
output is replaced, for the call, by the same values from a function whose backward is the
rule's instead of the module's gradient (forward hooks; nothing is swapped):

* elementwise nonlinearities (``RESCALED``): dx = g * (y - y_ref) / (x - x_ref), or the plain
  gradient where |x - x_ref| < eps;
* max pooling (``pool_rule``): ``'gradient'``, the plain gradient (the default of the DeepLIFT
  authors' implementation, and what Captum computes in effect when a hooked module such as a ReLU
  feeds the pool, as in every ResNet stem: its hook records the gradient before the pool's rule
  rewrites it), or ``'cross_max'``, Captum's rule (the change of max(y, y_ref) routed through
  the pooling indices of both halves), which Captum applies when the pool's input comes from a
  module it does not hook;
* softmax: Captum's rule (the rescaled gradient, minus its mean).

Linear modules (``LINEAR``) keep their gradients, which are their multipliers. A leaf module
of any other type has no rule: :func:`unsupported_modules` names them, and DeepLift refuses
the model rather than return attributions that ignore them (Captum passes them through).
A ReLU with ``inplace=True`` gets a copy of its input, so its input is still there for the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ._module_inputs import ModuleInputs

RESCALED = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
POOLS = {
    nn.MaxPool1d: (F.max_pool1d, F.max_unpool1d),
    nn.MaxPool2d: (F.max_pool2d, F.max_unpool2d),
    nn.MaxPool3d: (F.max_pool3d, F.max_unpool3d),
}
LINEAR = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.ZeroPad2d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ConstantPad3d,
)


def _has_rule(module: nn.Module) -> bool:
    return isinstance(module, (*RESCALED, *POOLS, nn.Softmax, *LINEAR))


def unsupported_modules(model: nn.Module) -> list[str]:
    """``'name (Type)'`` for each leaf module DeepLIFT has no rule for."""
    return [
        f"{name} ({type(m).__name__})"
        for name, m in model.named_modules()
        if not list(m.children()) and not _has_rule(m)
    ]


def describe_unsupported(model: nn.Module, method: str) -> str | None:
    """A sentence naming the first unsupported modules, or None."""
    found = unsupported_modules(model)
    if not found:
        return None
    shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    return (
        f"{method} has no rule for {shown}. Its rules cover {', '.join(t.__name__ for t in RESCALED)}, "
        "max pooling, softmax and linear modules (convolutions, linear, batch norm, average pooling)."
    )


def _local_gradient(module: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The module's own gradient at x (what the rule falls back to)."""
    if isinstance(module, nn.ReLU):
        return grad * (x > 0)
    with torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        return torch.autograd.grad(module(leaf), leaf, grad)[0]


class _Rule(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, output, module, eps):
        ctx.module, ctx.eps = module, eps
        ctx.save_for_backward(x, output)
        return output  # the module's output, detached, now with the rule's backward

    @staticmethod
    def backward(ctx, grad):
        x, output = ctx.saved_tensors
        module, eps = ctx.module, max(ctx.eps, torch.finfo(x.dtype).tiny)  # 1e-10 is 0 in float16
        local = _local_gradient(module, x, grad)
        half = x.shape[0] // 2
        delta_in = x[:half] - x[half:]
        if isinstance(module, tuple(POOLS)):
            rescaled = _pool_rescaled(module, x, output, grad)
        else:
            delta_out = output[:half] - output[half:]
            rescaled = grad.view(2, half, *grad.shape[1:]) * delta_out / delta_in
            rescaled = rescaled.view_as(grad)
        flat = (delta_in.abs() < eps).expand(2, *delta_in.shape).reshape(x.shape)
        new = torch.where(flat, local, rescaled)
        if isinstance(module, nn.Softmax):
            new = new - new.sum() / new.numel()
        return new, None, None, None


def _pool_rescaled(module: nn.Module, x: torch.Tensor, output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Captum's max-pool multipliers times (x - x_ref): the change of max(y, y_ref) routed back."""
    pool, unpool = POOLS[type(module)]
    out, out_ref = output.chunk(2)
    cross = torch.max(out, out_ref)
    delta_out = torch.cat([cross - out_ref, out - cross])
    settings = (module.kernel_size, module.stride, module.padding)
    _, indices = pool(x, *settings, module.dilation, module.ceil_mode, True)
    routed = unpool(grad * delta_out, indices, *settings, list(x.shape))
    first, second = routed.chunk(2)
    x_in, x_ref = x.chunk(2)
    return torch.cat(2 * [first + second]) / torch.cat(2 * [x_in - x_ref])


POOL_RULES = ("gradient", "cross_max")


@contextmanager
def rescale_rule(model: nn.Module, eps: float, pool_rule: str = "gradient") -> Iterator[None]:
    """Inside the block, a forward pass of [inputs; baselines] back-propagates DeepLIFT multipliers."""
    if pool_rule not in POOL_RULES:
        raise ValueError(f"pool_rule must be one of {POOL_RULES}; got {pool_rule!r}.")
    hooked = (*RESCALED, nn.Softmax, *(POOLS if pool_rule == "cross_max" else ()))
    inputs = ModuleInputs()

    def apply_rule(module, _args, output):
        return _Rule.apply(inputs.pop(module), output.detach(), module, eps)

    handles = []
    try:
        for module in model.modules():
            if isinstance(module, hooked):
                handles.append(module.register_forward_pre_hook(inputs.pre_hook))
                handles.append(module.register_forward_hook(apply_rule))
        yield
    finally:
        for handle in handles:
            handle.remove()
        inputs.clear()
