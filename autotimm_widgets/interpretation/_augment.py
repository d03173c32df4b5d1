"""Test-time augmentation for ``aug_smooth``: pytorch-grad-cam's default ttach transforms.

``ttach.Compose([HorizontalFlip(), Multiply([0.9, 1, 1.1])])``: each input is explained as six
copies (unflipped and flipped, each scaled by 0.9, 1 and 1.1 in the model's input space); each
copy's map is resized to the input, normalised to [0, 1], flipped back, and the six are averaged.
All copies run as one batch. The unaugmented copy comes first, so the class "predicted" for
every copy is the one predicted for the image itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .base import BatchAttribution, normalize_maps, resize_maps

FACTORS = (1.0, 0.9, 1.1)
FLIPS = (False, True)
COPIES = len(FACTORS) * len(FLIPS)


def augment(inputs: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (COPIES * B, C, h, w): copy-major, the unaugmented copy first."""
    copies = []
    for flip in FLIPS:
        flipped = inputs.flip(-1) if flip else inputs
        copies.extend(flipped * factor if factor != 1.0 else flipped for factor in FACTORS)
    return torch.cat(copies)


def smoothed(explain_copies: Callable[..., BatchAttribution], inputs: torch.Tensor, classes) -> BatchAttribution:
    """``aug_smooth`` around a method's batch maps: ``explain_copies(inputs, classes, copies=COPIES)``
    on the augmented batch, its maps resized to the input and averaged back per image."""
    batch = len(inputs)
    result = explain_copies(augment(inputs), list(classes) * COPIES, copies=COPIES)
    maps = resize_maps(result.maps.float(), tuple(inputs.shape[-2:])).clamp_min(0)
    return BatchAttribution(deaugment(maps, batch), result.logits[:batch], result.classes[:batch])


def deaugment(maps: torch.Tensor, batch: int) -> torch.Tensor:
    """(COPIES * B, K, h, w) maps at input resolution -> (B, K, h, w): normalised, unflipped, averaged."""
    maps = normalize_maps(maps.float()).reshape(len(FLIPS), len(FACTORS), batch, *maps.shape[1:])
    maps = torch.stack([maps[0], maps[1].flip(-1)])
    return maps.mean(dim=(0, 1))
