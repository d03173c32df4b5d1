"""Images and maps, prepared like the explainers prepare them and grouped into batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..base import same_shape_groups
from ..preprocessing import PreparedImage, Preprocessor
from ._validation import check_map_size


@dataclass(frozen=True)
class InputGroup:
    """Images of one input shape: ``index`` into the user's batch, ``inputs`` (G, 3, h, w) and
    ``maps`` (G, h, w), both on the model's device, maps resized to the input resolution."""

    index: list[int]
    inputs: torch.Tensor
    maps: torch.Tensor


def prepare_inputs(
    preprocessor: Preprocessor, images: Sequence, maps: Sequence[torch.Tensor], device, dtype
) -> list[InputGroup]:
    """Preprocess every image (with the explainers' ``Preprocessor``, without their input-size
    check: the model's own error shows for a wrong size), check each map is at its image's
    size, and group images by input shape; maps are resized on the device with ``F.interpolate``."""
    prepared: list[PreparedImage] = []
    with torch.inference_mode(False):
        for image in images:
            prepared.append(preprocessor(image, device, dtype))
    for i, (p, m) in enumerate(zip(prepared, maps, strict=True)):
        check_map_size(m, p.size, i)
    out = []
    for index in same_shape_groups(dict(enumerate(prepared))):
        inputs = torch.cat([prepared[i].tensor for i in index])
        out.append(InputGroup(index, inputs, resize_maps([maps[i] for i in index], inputs.shape[-2:], device)))
    return out


def resize_maps(maps: Sequence[torch.Tensor], size: Sequence[int], device) -> torch.Tensor:
    """(H, W) maps of any sizes -> (G, h, w) float32 on ``device``, bilinear, one call per distinct size."""
    size = tuple(int(s) for s in size)
    out = torch.empty(len(maps), *size, device=device, dtype=torch.float32)
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, m in enumerate(maps):
        by_size.setdefault(tuple(m.shape), []).append(i)
    for map_size, index in by_size.items():
        stack = torch.stack([maps[i] for i in index]).to(device=device, dtype=torch.float32)
        if map_size != size:
            stack = F.interpolate(stack[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        out[index] = stack
    return out
