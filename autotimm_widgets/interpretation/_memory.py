"""How many input rows one forward-and-backward pass can take without running out of memory.

The rule, used for IG's default ``internal_batch_size`` and SmoothGrad's default ``batch_size``:

    rows = max(1, budget // (ROW_FACTOR * activation_bytes_per_row))

* ``activation_bytes_per_row``: the summed size of every leaf module's output for one input
  row, measured once per input shape and dtype by a traced no-grad forward pass of one row;
* ``ROW_FACTOR`` = 2: autograd keeps roughly one copy of those outputs for the backward pass,
  and the backward pass needs about as much again for gradients;
* ``budget``: on a GPU, half of the memory free on the device (free in the driver plus what
  PyTorch holds cached but unused); on the CPU, a quarter of the available RAM
  (``MemAvailable`` on Linux; ``CPU_FALLBACK_BYTES`` where that cannot be read), but at most
  ``CPU_MAX_BYTES`` (2 GiB).

Why the CPU cap: on the CPU a bigger batch does not run faster per row (the cores are busy from
a few rows on), while a bigger working set spills the caches and page-faults freshly allocated
activation memory. Measured on 2 cores, resnet50 at 224 px, one forward and backward of 50 rows
in total: 34 s as one batch, 18-20 s in chunks of 5-10 rows, 25 s one row at a time. The cap
gives resnet50 chunks of 7 rows, resnet18 chunks of about 29.
"""

from __future__ import annotations

import math
import os
import weakref

import torch
from torch import nn

from ._hooks import trace_outputs

ROW_FACTOR = 2
GPU_FRACTION = 0.5
CPU_FRACTION = 0.25
CPU_FALLBACK_BYTES = 2 * 1024**3
CPU_MAX_BYTES = 2 * 1024**3


def activation_bytes(model: nn.Module, row: torch.Tensor) -> int:
    """Summed bytes of all leaf-module outputs for one input row (1, ...); call inside ``explaining``."""
    leaves = {name for name, module in model.named_modules() if name and next(module.children(), None) is None}
    with torch.no_grad(), trace_outputs(model) as shapes:
        model(row[:1])
    per_element = row.element_size()
    total = sum(math.prod(shape) for name, shape in shapes.items() if name in leaves)
    return max(total, row[:1].numel()) * per_element


def memory_budget(device: torch.device) -> int:
    """Bytes that one batch may use on ``device`` (see the module docstring)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(GPU_FRACTION * (free + cached))
    available = _available_ram()
    return min(CPU_MAX_BYTES, int(CPU_FRACTION * available)) if available else CPU_FALLBACK_BYTES


def rows_that_fit(bytes_per_row: int, device: torch.device) -> int:
    """Input rows per forward-and-backward batch, at least 1."""
    return max(1, memory_budget(device) // (ROW_FACTOR * max(1, bytes_per_row)))


def _available_ram() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


_MEASURED: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()


class RowSizer:
    """``rows_that_fit`` for one model, with the activation size cached per input shape and dtype."""

    def __init__(self, model: nn.Module):
        self.model = model
        # Shared by every sizer of this model: the measuring forward pass runs once per input
        # shape, however many explainers (the widget builds a SmoothGrad per computation).
        self._bytes: dict[tuple, int] = _MEASURED.setdefault(model, {})

    def rows(self, inputs: torch.Tensor) -> int:
        """Rows shaped like ``inputs[0]`` that fit one batch now; call inside ``explaining``."""
        key = (tuple(inputs.shape[1:]), inputs.dtype, inputs.device)
        if key not in self._bytes:
            self._bytes[key] = activation_bytes(self.model, inputs[:1])
        return rows_that_fit(self._bytes[key], inputs.device)

    def inference_rows(self, inputs: torch.Tensor) -> int:
        """Rows that fit one no-grad forward pass: no activations are kept for a backward pass,
        so ``ROW_FACTOR`` times :meth:`rows`."""
        return ROW_FACTOR * self.rows(inputs)
