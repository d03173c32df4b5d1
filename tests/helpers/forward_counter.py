"""Counting forward passes (and their batch sizes) of a model, for batching tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def forward_batches(model: nn.Module) -> Iterator[list[int]]:
    """Yield a list that receives the batch size of every forward pass of ``model`` in the block."""
    batches: list[int] = []
    handle = model.register_forward_pre_hook(lambda _module, args: batches.append(int(args[0].shape[0])))
    try:
        yield batches
    finally:
        handle.remove()
