"""The input of each call of a hooked module, kept for its forward hook (the backward rules need it).

A module with ``inplace=True`` would overwrite its input, so its pre-hook hands it a spare to
overwrite instead (a copy by default) and keeps the input itself. Calls are kept per module as a
stack, so a module called several times in one forward pass gets each call's own input.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class ModuleInputs:
    def __init__(self, spare: Callable[[torch.Tensor], torch.Tensor] = torch.clone):
        self.spare = spare
        self._kept: dict[int, list[torch.Tensor]] = {}

    def pre_hook(self, module: nn.Module, args: tuple):
        """``register_forward_pre_hook`` hook: keep ``args[0]``; give an in-place module a spare."""
        self._kept.setdefault(id(module), []).append(args[0])
        if getattr(module, "inplace", False):
            return (self.spare(args[0]), *args[1:])
        return None

    def pop(self, module: nn.Module) -> torch.Tensor:
        """The input of ``module``'s call now ending (call from its forward hook)."""
        return self._kept[id(module)].pop()

    def clear(self) -> None:
        self._kept.clear()
