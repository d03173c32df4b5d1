"""Finding the layer to explain: by name, by module, or automatically.

The automatic choice is the last spatial feature stage before global pooling:

* a model with timm's ``feature_info`` (also when wrapped, e.g. at ``model.backbone``):
  its last stage, such as ``layer4`` of a ResNet (not the last Conv2d inside it);
* a token model (ViT, DeiT, EVA, Hugging Face ViT, torchvision ViT): the first norm of the
  last transformer block (timm ``blocks.11.norm1``), the usual GradCAM choice for ViTs,
  because the patch tokens after the last block no longer reach a CLS-pooled head;
* any other CNN: the last module, in execution order, with a spatial (B, C, H, W) output
  larger than 1x1 that is not a pooling layer.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from torch import nn

from ._layout import NCHW, TOKENS, feature_channels, grid_shape

LayerSpec = str | nn.Module | None


@dataclass(frozen=True)
class LayerInfo:
    """A layer that makes sense to explain: its name, output shape without batch, and kind.

    ``kind`` is ``"spatial"`` for grid outputs and ``"tokens"`` for (N, C) outputs; ``layout``
    says where the channels are: ``"NCHW"`` (C, H, W), ``"NHWC"`` (H, W, C) or ``"tokens"``.
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    layout: str = NCHW


class LayerTrace:
    """Every module's output ``shapes`` (batch axis included, in the order the modules finished)
    at one input size, and their layouts, resolved on demand by ``resolve(name, shape)`` (see
    ``_layout``) and remembered."""

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], resolve: Callable[[str, tuple[int, ...]], str | None]):
        self.shapes = shapes
        self._resolve = resolve
        self._layouts: dict[str, str | None] = {}

    def layout(self, name: str) -> str | None:
        """``"NCHW"``, ``"NHWC"``, ``"tokens"`` or None (not a grid, or unknown) for layer ``name``."""
        if name not in self._layouts:
            self._layouts[name] = self._resolve(name, self.shapes[name])
        return self._layouts[name]

    def kind(self, name: str) -> str | None:
        """``"spatial"`` for a grid of more than one cell, ``"tokens"`` for N > 1 tokens, else None."""
        shape = self.shapes[name]
        if len(shape) not in (3, 4):
            return None
        layout = self.layout(name)
        if layout == TOKENS:
            return "tokens" if shape[1] > 1 else None
        grid = grid_shape(shape, layout)
        return "spatial" if grid is not None and grid[0] * grid[1] > 1 else None


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """Return (name, module) for a layer given by dotted name or as a module of ``model``.

    Names may use negative indices into lists (``"blocks.-1.norm1"``). A wrapper prefix
    (``module.`` of DataParallel, ``_orig_mod.`` of torch.compile) may be left out, or given for
    a model that explainers unwrap.
    Raises ``ValueError`` naming the closest valid names.
    """
    names = {id(module): name for name, module in model.named_modules()}
    if isinstance(layer, nn.Module):
        if id(layer) not in names:
            raise ValueError(f"target_layer {type(layer).__name__} is not a submodule of the model.")
        return names[id(layer)], layer
    if not isinstance(layer, str):
        raise TypeError(f"target_layer must be None, a layer name or an nn.Module; got {type(layer).__name__}.")
    wrappers = ("module.", "_orig_mod.", "_orig_mod.module.", "module._orig_mod.")
    stripped = [layer[len(w) :] for w in wrappers if layer.startswith(w)]  # names of a wrapper, model unwrapped
    for candidate in [layer, *(w + layer for w in wrappers), *stripped]:
        module = _walk(model, candidate)
        if module is not None and module is not model:
            return names[id(module)], module
    valid = [name for name in names.values() if name]
    close = difflib.get_close_matches(layer, valid, n=5, cutoff=0.5)
    hint = f" Closest valid names: {', '.join(repr(c) for c in close)}." if close else ""
    raise ValueError(f"the model has no layer named {layer!r}.{hint} See candidate_layers() for good choices.")


def detect_target_layer(model: nn.Module, trace: LayerTrace) -> str:
    """Name of the layer to explain when none is given (see the module docstring)."""
    shapes = trace.shapes
    stages = _feature_stages(model, shapes)
    if stages and trace.kind(stages[-1]) == "spatial":
        return stages[-1]
    blocks = _token_blocks(model, trace)
    if blocks:
        return _block_norm(model, blocks[-1], trace) or (blocks[-2] if len(blocks) > 1 else blocks[-1])
    modules = dict(model.named_modules())
    spatial = [name for name in shapes if trace.kind(name) == "spatial" and "Pool" not in type(modules[name]).__name__]
    if spatial:
        return spatial[-1]
    raise ValueError(
        "found no layer with a spatial (B, C, H, W) or token (B, N, C) output in this model; "
        "GradCAM needs a convolutional or transformer feature layer."
    )


def candidate_layers(model: nn.Module, trace: LayerTrace) -> list[LayerInfo]:
    """Layers that make sense to explain at the traced input size, in model order: stages of a
    CNN, blocks of a ViT. Layers whose output is 1x1 there (or whose layout is unknown) are left out."""
    shapes = trace.shapes
    chosen: set[str] = set()
    blocks = _token_blocks(model, trace)
    if blocks:
        chosen.update(filter(None, (_block_norm(model, block, trace) for block in blocks)))
    else:
        stages = _feature_stages(model, shapes)
        if stages:
            chosen.update(name for name in stages if trace.kind(name) == "spatial")
        else:
            chosen.update(
                name
                for name, module in model.named_modules()
                if name in shapes
                and trace.kind(name) == "spatial"
                and name.count(".") <= 1
                and next(module.children(), None) is not None
            )
    with contextlib.suppress(ValueError):  # no spatial layer to detect: the list stands as it is
        chosen.add(detect_target_layer(model, trace))
    return [
        LayerInfo(name, tuple(shapes[name][1:]), trace.kind(name) or "", trace.layout(name) or NCHW)
        for name, _ in model.named_modules()
        if name in chosen and trace.kind(name) is not None
    ]


def _walk(model: nn.Module, dotted: str) -> nn.Module | None:
    module = model
    for part in dotted.split("."):
        if part.lstrip("-").isdigit() and isinstance(module, (nn.ModuleList, nn.Sequential)):
            index = int(part)
            if not -len(module) <= index < len(module):
                return None
            module = module[index]
        elif part in module._modules and module._modules[part] is not None:
            module = module._modules[part]
        else:
            return None
    return module


def _feature_stages(model: nn.Module, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
    """timm ``feature_info`` stage names (prefixed for wrapped models) that ran in the trace."""
    return [name for name in feature_channels(model) if name in shapes]


def _token_blocks(model: nn.Module, trace: LayerTrace) -> list[str]:
    """Names of the transformer blocks: the children of the list that holds most token layers."""
    shapes = trace.shapes
    best: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.ModuleList, nn.Sequential)) and len(module) >= 2:
            prefix = f"{name}." if name else ""
            children = [prefix + key for key in module._modules]
            tokens = [c for c in children if c in shapes and trace.kind(c) == "tokens"]
            if len(tokens) >= 2 and len(tokens) >= len(best):
                best = tokens
    return best


def _block_norm(model: nn.Module, block: str, trace: LayerTrace) -> str | None:
    """The first normalisation layer inside ``block`` (in execution order) with a token output."""
    modules = dict(model.named_modules())
    for name in trace.shapes:
        if name.startswith(block + ".") and trace.kind(name) == "tokens" and "Norm" in type(modules[name]).__name__:
            return name
    return None
