"""Layer layouts: which axes of a layer's output are channels and which are the spatial grid.

A 4-D output is channels-first (B, C, H, W) in most CNNs, but channels-last (B, H, W, C) in timm
Swin, inside ConvNeXt and MaxViT blocks, and in any NHWC layer. Sizes alone cannot tell
(7, 7, 768) from (768, 7, 7) in general, so the layout is read, first match wins, from:

1. the model's metadata: a module type whose output is channels-first by definition (``nn.Conv2d``, ``nn.BatchNorm2d``, 2-D pooling), a timm
   ``feature_info`` stage whose ``num_chs`` sits on one axis only, or timm's ``output_fmt``
   (``"NHWC"`` on Swin: its blocks and stages are channels-last);
2. the shapes at two input sizes: the grid axes change with the input, the channel axis does
   not (``two_size_layouts``). Models that take one input size only (a ViT or Swin built for
   224 px) cannot be traced at a second one.

Where neither settles it the layout is ``None`` and explaining that layer raises a clear error
that suggests a ``reshape_transform``. A 3-D output (B, N, C) is ``"tokens"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

NCHW, NHWC, TOKENS = "NCHW", "NHWC", "tokens"

CHANNELS_FIRST_TYPES = (
    nn.Conv2d,
    nn.ConvTranspose2d,
    nn.BatchNorm2d,
    nn.InstanceNorm2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Upsample,
)


def two_size_layouts(
    first: Mapping[str, tuple[int, ...]], second: Mapping[str, tuple[int, ...]]
) -> dict[str, str | None]:
    """Layouts of the 4-D layers traced at two input sizes (shapes include the batch axis).

    The grid axes are those that changed between the traces (or stayed 1); the one that did not
    is the channel axis. A layer whose axes fit both readings, or neither, gets ``None``.
    """
    layouts: dict[str, str | None] = {}
    for name, shape in first.items():
        other = second.get(name)
        if len(shape) != 4 or other is None or len(other) != 4:
            continue

        # the channel axis stays; each grid axis grows with the input, or stays 1 (a 1xW input)
        def grid(axes, shape=shape, other=other):
            moved = [shape[a] != other[a] for a in axes]
            return any(moved) and all(m or shape[a] == 1 for m, a in zip(moved, axes, strict=True))

        first_is_channels = shape[1] == other[1] and grid((2, 3))
        last_is_channels = shape[3] == other[3] and grid((1, 2))
        layouts[name] = {(True, False): NCHW, (False, True): NHWC}.get((first_is_channels, last_is_channels))
    return layouts


def metadata_layout(model: nn.Module, name: str, shape: tuple[int, ...]) -> str | None:
    """The layout of layer ``name``'s 4-D output ``shape`` from the model's own metadata, or None."""
    module = model.get_submodule(name)
    if isinstance(module, CHANNELS_FIRST_TYPES):
        return NCHW
    stage_channels = feature_channels(model).get(name)
    if stage_channels is not None:
        on_first, on_last = shape[1] == stage_channels, shape[3] == stage_channels
        if on_first != on_last:
            return NCHW if on_first else NHWC
    if _declared_format(model) == NHWC:
        return NHWC
    return None


def layout_of(model: nn.Module, name: str, shape: tuple[int, ...], two_size: Callable[[], Mapping]) -> str | None:
    """``"NCHW"``, ``"NHWC"``, ``"tokens"`` or None for layer ``name`` with output ``shape``.

    The metadata decides where it can (no extra forward pass); otherwise ``two_size()`` gives the
    layouts found from two traces (empty where the model takes no second input size).
    """
    if len(shape) == 3:
        return TOKENS
    if len(shape) != 4:
        return None
    return metadata_layout(model, name, shape) or two_size().get(name)


def to_channels_first(tensor: torch.Tensor, layout: str) -> torch.Tensor:
    """(B, ..., H, W, C) -> (B, ..., C, H, W) for ``"NHWC"``; other layouts are returned as they are."""
    return tensor.movedim(-1, -3) if layout == NHWC else tensor


def grid_shape(shape: tuple[int, ...], layout: str | None) -> tuple[int, int] | None:
    """(H, W) of a 4-D output of ``layout`` (batch axis included), or None."""
    if layout == NCHW:
        return shape[2], shape[3]
    if layout == NHWC:
        return shape[1], shape[2]
    return None


def second_size(input_hw: tuple[int, int]) -> tuple[int, int]:
    """The other input size to trace at: twice the size (half for inputs above 1024x1024), which
    keeps window and patch divisibility wherever the first size had it."""
    h, w = input_hw
    if h * w > 1024 * 1024:
        return max(1, h // 2), max(1, w // 2)
    return 2 * h, 2 * w


def feature_channels(model: nn.Module) -> dict[str, int]:
    """timm ``feature_info`` stage names (prefixed for wrapped models) -> their ``num_chs``."""
    for owner, module in model.named_modules():
        info = getattr(module, "feature_info", None)
        entries = info.info if hasattr(info, "info") else info
        if isinstance(entries, list) and entries and all(isinstance(e, Mapping) and "module" in e for e in entries):
            prefix = f"{owner}." if owner else ""
            return {prefix + e["module"].replace("-", "."): int(e.get("num_chs", -1)) for e in entries}
    return {}


def _declared_format(model: nn.Module) -> str | None:
    for module in model.modules():
        value = vars(module).get("output_fmt")
        if value is not None:
            return str(getattr(value, "value", value)).upper()
    return None
