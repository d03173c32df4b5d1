"""The step images of deletion and insertion curves, built without a loop over steps or pixels.

Pixels are ranked once per map (:func:`pixel_ranks`); step s deletes (or inserts) the
``step_counts`` most important pixels; :func:`step_images` writes any range of a group's
step images with one broadcast ``torch.where`` per image.
"""

from __future__ import annotations

import torch


def pixel_ranks(maps: torch.Tensor) -> torch.Tensor:
    """(G, h, w) maps -> (G, h*w) int32 rank of each pixel, 0 = most important (ties in raster order)."""
    flat = maps.flatten(1)
    order = torch.argsort(flat, dim=1, descending=True, stable=True)
    positions = torch.arange(flat.shape[1], device=flat.device, dtype=torch.int32).expand_as(order)
    return torch.empty_like(order, dtype=torch.int32).scatter_(1, order, positions)


def step_counts(steps: int, num_pixels: int, device) -> torch.Tensor:
    """(S,) int32 number of pixels deleted (or inserted) at each step: round(f * N), f = 0 .. 1."""
    fractions = torch.linspace(0.0, 1.0, steps, device=device, dtype=torch.float64)
    return torch.round(fractions * num_pixels).to(torch.int32)


def step_images(
    inputs: torch.Tensor,
    base: torch.Tensor,
    ranks: torch.Tensor,
    counts: torch.Tensor,
    insertion: torch.Tensor,
    start: int,
    stop: int,
) -> torch.Tensor:
    """Step images ``start .. stop-1`` (n, 3, h, w) of all curves of a group, without a loop over steps or pixels.

    Item j is (image g, curve k, step s) in row-major order over (G, K, S): ``inputs`` where
    the pixel is kept, ``base`` where it is deleted (deletion) or not yet inserted
    (insertion). Each image's items come from one broadcast ``torch.where`` over its rank
    mask, written straight into the output (no gathered copies of the image or baseline).
    ``ranks`` (G, h*w) from :func:`pixel_ranks`, ``counts`` (S,) from :func:`step_counts`,
    ``insertion`` (K,) bool.
    """
    _, channels, height, width = inputs.shape
    steps = counts.numel()
    per_image = insertion.numel() * steps
    out = torch.empty(stop - start, channels, height, width, device=inputs.device, dtype=inputs.dtype)
    for g in range(start // per_image, (stop - 1) // per_image + 1):
        low, high = max(start, g * per_image), min(stop, (g + 1) * per_image)
        item = torch.arange(low - g * per_image, high - g * per_image, device=inputs.device)
        changed = ranks[g] < counts[item % steps, None]  # (m, h*w): pixels deleted (or inserted) so far
        keep_image = (changed == insertion[item // steps, None]).view(-1, 1, height, width)
        torch.where(keep_image, inputs[g], base[g], out=out[low - start : high - start])
    return out
