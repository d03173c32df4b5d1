"""Layers for the randomisation check: which ones, in which order, and how they are randomised.

A *layer* is a module (``"layer4.1"``, ``"head"``) or a single parameter (``"pos_embed"``)
of the model. The default list is the model's blocks: its top-level modules with parameters,
where containers (``nn.Sequential``, ``nn.ModuleList``, ``nn.ModuleDict``) and modules that
hold such containers are opened up. For a timm ResNet that is ``conv1, bn1, layer1.0, ...,
layer4.2, fc``; for a timm ViT ``patch_embed, blocks.0 .. blocks.11, norm, head`` and the
parameters ``cls_token`` and ``pos_embed`` that the model holds itself.

The cascade runs from the output side: layers are ordered by when their module first runs
in one forward pass, last first; layers that never run come first (they cannot change the map).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import torch
from torch import nn

from .._model import explaining

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass(frozen=True)
class Layer:
    """A named group of parameters, and the module whose forward pass uses them first."""

    name: str
    owner: nn.Module
    params: tuple[nn.Parameter, ...]


def default_layer_names(model: nn.Module) -> list[str]:
    """The model's blocks, in registration order (see the module docstring)."""
    names: list[str] = []

    def visit(prefix: str, module: nn.Module) -> None:
        names.extend(_join(prefix, pname) for pname, _ in module.named_parameters(recurse=False))
        for cname, child in module.named_children():
            if not _has_params(child):
                continue
            name = _join(prefix, cname)
            if isinstance(child, CONTAINERS) or (not isinstance(module, CONTAINERS) and _holds_container(child)):
                visit(name, child)
            else:
                names.append(name)

    visit("", model)
    return names


def resolve_layers(model: nn.Module, names) -> list[Layer]:
    """Layers for module or parameter names; ``ValueError`` for unknown names or layers without parameters."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"layers must be a list of module or parameter names; got {names!r}.")
    if not names:
        raise ValueError("layers is empty; give at least one module or parameter name, or None for the default.")
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    layers = []
    for name in dict.fromkeys(names):
        if name in modules:
            found = tuple(modules[name].parameters())
            if not found:
                raise ValueError(f"layer {name!r} has no parameters to randomise.")
            layers.append(Layer(name, modules[name], found))
        elif name in params:
            owner = modules[name.rpartition(".")[0]]
            layers.append(Layer(name, owner, (params[name],)))
        else:
            close = difflib.get_close_matches(name, [*modules, *params], n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"layer {name!r} is not a module or parameter of the model.{hint}")
    return layers


def cascade_order(model: nn.Module, layers: list[Layer], probe: torch.Tensor) -> list[Layer]:
    """``layers`` from the output side to the input side, by when each owner first runs on ``probe``."""
    started: dict[int, int] = {}
    handles = []

    def note(module, _inputs):
        started.setdefault(id(module), len(started))

    try:
        for owner in {id(layer.owner): layer.owner for layer in layers}.values():
            handles.append(owner.register_forward_pre_hook(note))
        with explaining(model), torch.inference_mode():
            model(probe)
    finally:
        for handle in handles:
            handle.remove()
    never = len(started)  # modules that never ran sort as the very last to run
    position = {id(layer): i for i, layer in enumerate(layers)}
    return sorted(layers, key=lambda layer: (started.get(id(layer.owner), never), position[id(layer)]), reverse=True)


@torch.no_grad()
def randomise_(layer: Layer, generator: torch.Generator) -> None:
    """Replace each parameter by zero-mean Gaussian noise with the parameter's root mean square.

    The structure and the signs go; the scale stays, so activations keep a sensible range
    and the maps stay defined. An all-zero tensor (a zero-initialised bias, or the last
    BatchNorm gain of a residual block in an untrained timm model) has no scale of its own
    and gets unit scale, so the block it silences comes alive as it would when trained.
    """
    for param in layer.params:
        scale = param.detach().float().square().mean().sqrt()
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
        param.copy_((noise.to(param.device) * scale).to(param.dtype))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _has_params(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _holds_container(module: nn.Module) -> bool:
    """A wrapper (``model.backbone``, Hugging Face's ``vit`` / ``encoder``) whose blocks sit in a container."""
    return any(isinstance(m, CONTAINERS) and _has_params(m) for m in module.modules() if m is not module)
