"""Projections of a stack of channel maps onto their first principal component (EigenCAM's).

pytorch-grad-cam's ``get_2d_projection``: per map stack (C, h, w), the h*w positions are points
in channel space; centred over the positions, they are projected onto the first right singular
vector. SVD leaves that vector's sign arbitrary (NumPy's LAPACK picks one, CUDA's another), so
here the sign is fixed: the projection is oriented to correlate positively with ``reference``
(the map the projection smooths, e.g. the channel sum). A sign-free comparison with
pytorch-grad-cam is therefore exact up to the sign, and the sign is stable across devices.
"""

from __future__ import annotations

import torch


def first_component(stack: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
    """(..., C, h, w) -> (..., h, w): each stack's positions projected on its first component.

    ``reference`` (..., h, w) orients each projection (positive correlation with it); by default
    the channel sum of ``stack``. Non-finite input gives a NaN map (so the caller's finiteness check
    raises). Computed in float64, returned in float32 or wider.
    """
    lead, (channels, h, w) = stack.shape[:-3], stack.shape[-3:]
    dtype = torch.promote_types(stack.dtype, torch.float32)
    if not bool(torch.isfinite(stack).all()):  # NaN maps: finish_maps then raises its clear error
        return torch.full((*lead, h, w), float("nan"), dtype=dtype, device=stack.device)
    points = stack.reshape(-1, channels, h * w).transpose(1, 2).double()
    points = points - points.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(points, full_matrices=False)
    projection = (points @ vh[:, 0, :, None])[..., 0]  # (N, h*w)
    if reference is None:
        reference = stack.sum(dim=-3)
    return orient(projection, reference.reshape(-1, h * w)).reshape(*lead, h, w).to(dtype)


def orient(projection: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(N, n) projections, each sign-flipped where it correlates negatively with ``reference`` (N, n)."""
    centred = reference.double() - reference.double().mean(dim=1, keepdim=True)
    sign = torch.where((projection * centred).sum(dim=1, keepdim=True) < 0, -1.0, 1.0).to(projection)
    return projection * sign
