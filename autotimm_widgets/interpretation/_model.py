"""What an explainer needs from a model: its logits, its device, and a guard that leaves it as found."""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def check_model(model) -> nn.Module:
    """Raise ``TypeError`` unless ``model`` is an ``nn.Module``; return it without its wrappers.

    ``nn.DataParallel``, ``DistributedDataParallel`` and ``torch.compile``'s ``OptimizedModule``
    are unwrapped: explanations run on the module they wrap (the same parameters), on one
    device and eagerly, so that hooks see every layer once (see :func:`eager`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}.")
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif _is_optimized_module(model):
            model = model._orig_mod
        else:
            return model


def logits_of(output) -> torch.Tensor:
    """Return the (B, C) logits from a model output.

    Accepts a tensor, a tuple or list whose first item is the logits, an object with
    ``.logits`` (Hugging Face) or a dict with a ``"logits"`` key.
    """
    logits = output
    if isinstance(output, Mapping):
        if "logits" not in output:
            raise ValueError(f"the model returned a dict without a 'logits' key (keys: {sorted(output)}).")
        logits = output["logits"]
    elif hasattr(output, "logits") and not isinstance(output, torch.Tensor):
        logits = output.logits
    elif isinstance(output, (tuple, list)) and output:
        logits = output[0]
    if not isinstance(logits, torch.Tensor):
        raise ValueError(
            "the model must return logits of shape (B, C): a tensor, a tuple or list whose first item "
            f"is the logits, or an object with .logits; got {type(output).__name__}."
        )
    if logits.ndim != 2 or logits.shape[1] < 1:
        raise ValueError(f"the model's logits must have shape (B, C) with C >= 1; got shape {tuple(logits.shape)}.")
    if not logits.is_floating_point():
        raise ValueError(f"the model's logits must be floating point (gradients need them); got dtype {logits.dtype}.")
    return logits


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter (float32 when there is none)."""
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def input_channels(model: nn.Module) -> int:
    """Channels the model takes: its first convolution's ``in_channels`` (1 for a grayscale
    model, 4 for RGBA); a Hugging Face ``config.num_channels``; else 3."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Conv1d)):
            return int(module.in_channels)
    channels = getattr(getattr(model, "config", None), "num_channels", None)
    return int(channels) if isinstance(channels, int) else 3


def choose_device(model: nn.Module, use_cuda: bool) -> torch.device:
    """Pick the device for explanations and move the model there once if needed.

    With ``use_cuda=True`` and CUDA available the work runs on the GPU: a model still on
    the CPU is moved to it once, here, as pytorch-grad-cam and AutoTimm do. Otherwise the
    work runs where the model is.
    """
    current = model_device(model)
    if use_cuda and torch.cuda.is_available():
        if current.type != "cuda":
            model.to("cuda")
            return model_device(model)
        return current
    return current


def model_lock(model: nn.Module) -> threading.RLock:
    """One re-entrant lock per model: explanations that share a model run one at a time."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock


@contextmanager
def explaining(model: nn.Module) -> Iterator[None]:
    """Run a block with the model locked, in eval mode and with gradients enabled.

    Every submodule's own ``training`` flag is restored afterwards, also on error; weights,
    buffers and ``requires_grad`` flags are never touched. Works inside a user's
    ``torch.no_grad()`` or ``torch.inference_mode()``.
    """
    with model_lock(model):
        modes = [(module, module.training) for module in model.modules()]
        try:
            model.eval()
            with torch.inference_mode(False), torch.enable_grad(), eager(model):
                yield
        finally:
            for module, training in modes:
                module.training = training


@contextmanager
def eager(model: nn.Module) -> Iterator[None]:
    """Run compiled parts of ``model`` eagerly inside the block, and restore them afterwards.

    Forward hooks and gradients with respect to intermediate outputs need the eager forward:
    under TorchDynamo a hooked layer's output can be missing or not part of the graph. Covers
    ``module.compile()`` (in place) and ``torch.compile``'d submodules; the compiled code is
    kept and used again after the block. Call with the model's lock held (``explaining``).
    """
    with ExitStack() as restore:
        for module in model.modules():
            if module.__dict__.get("_compiled_call_impl") is not None:
                restore.enter_context(_swapped(module, "_compiled_call_impl", None))
            if _is_optimized_module(module):
                restore.enter_context(_swapped(module, "forward", module._orig_mod.__call__))
        yield


@contextmanager
def _swapped(module: nn.Module, name: str, value) -> Iterator[None]:
    previous = module.__dict__[name]
    module.__dict__[name] = value
    try:
        yield
    finally:
        module.__dict__[name] = previous


def _is_optimized_module(module: nn.Module) -> bool:
    """Whether ``module`` is ``torch.compile``'s wrapper (only possible once TorchDynamo is loaded)."""
    dynamo = sys.modules.get("torch._dynamo.eval_frame")
    return dynamo is not None and isinstance(module, dynamo.OptimizedModule)
