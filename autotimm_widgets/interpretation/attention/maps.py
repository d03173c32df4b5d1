"""Per-image results that turn a token into a map without another forward pass.

:class:`Rollout` holds a (T, T) matrix on the model's device (attention rollout, or Chefer
relevance); :class:`MaxFlow` holds the per-layer attention graph and runs Abnar & Zuidema's
maximum flow on demand. Both answer ``.map(token)`` with an (H, W) float32 array in [0, 1]
lined up with the user's image, which is what the widget calls on every patch click.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..base import BaseInterpreter
from .layout import TokenLayout
from .maxflow import max_flow_to_tokens


def source_weights(layout: TokenLayout, token: int | None, device, dtype=torch.float32) -> torch.Tensor:
    """(T,) weights over the output tokens a map is read from: one token, or the classifier's readout.

    ``token=None`` means the readout: the CLS token, or the mean of the patch tokens for models
    that average them (``layout.readout == "patches"``).
    """
    weights = torch.zeros(layout.num_tokens, device=device, dtype=dtype)
    if token is not None:
        weights[layout.check_token(token)] = 1.0
    elif layout.readout == "cls":
        weights[0] = 1.0
    else:
        weights[layout.prefix :] = 1.0 / layout.num_patches
    return weights


def patch_grid(rows: torch.Tensor, layout: TokenLayout, discard_cls_token: bool = True) -> torch.Tensor:
    """(..., T) token scores -> (..., rows, cols) patch scores, dropping the prefix tokens.

    With ``discard_cls_token`` the share that went to the prefix tokens (CLS, distillation,
    registers) is discarded and the patch scores are rescaled to sum to 1; without, the
    patch scores keep their raw share (and sum to less than 1).
    """
    patches = rows[..., layout.prefix :].clamp_min(0)
    if discard_cls_token:
        total = patches.sum(dim=-1, keepdim=True)
        patches = patches / torch.where(total > 0, total, torch.ones_like(total))
    return patches.reshape(*patches.shape[:-1], *layout.grid)


class TokenMaps:
    """Maps from any token of one image, with no forward pass (see :class:`Rollout`, :class:`MaxFlow`)."""

    layout: TokenLayout

    def grid(self, token: int | None = None, *, discard_cls_token: bool = True) -> torch.Tensor:
        """Raw non-negative (rows, cols) patch scores for ``token`` (``None``: the classifier's readout)."""
        raise NotImplementedError

    def map(
        self,
        token: int | None = None,
        *,
        normalize: bool = True,
        discard_cls_token: bool = True,
        size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """Float32 (H, W) map lined up with the user's image, in [0, 1] unless ``normalize=False``.

        Args:
            token: the token the map is read from (see ``layout`` for the index convention:
                0 is the CLS token, patches follow in row-major order); ``None`` reads from the
                token(s) the classifier uses: the CLS token, or the mean of the patch tokens for
                average-pooled models.
            normalize: min-max scale to [0, 1].
            discard_cls_token: see ``AttentionRollout.explain``.
            size: (h, w) to resize to instead of the image's (H, W), e.g. a display size.
        """
        grid = self.grid(token, discard_cls_token=discard_cls_token)
        target = tuple(size) if size is not None else tuple(self.layout.image_size)
        return BaseInterpreter.finish_maps(grid[None, None], [target], normalize)[0][0]

    def grid_map(self, token: int | None = None) -> np.ndarray:
        """Float32 (rows, cols) map in [0, 1] at patch resolution (cheap to send to a browser)."""
        grid = self.grid(token)
        return BaseInterpreter.finish_maps(grid[None, None], [tuple(self.layout.grid)], True)[0][0]


@dataclass(frozen=True, eq=False)
class Rollout(TokenMaps):
    """One image's (T, T) token matrix, on the model's device, and its token layout.

    ``matrix[i, j]``: how much token i after the last layer draws from input token j (attention
    rollout: rows sum to 1; gradient-weighted: Chefer et al.'s relevance). ``logits`` (C,) are
    the model's output for the image, detached.
    """

    matrix: torch.Tensor = field(repr=False)
    layout: TokenLayout
    logits: torch.Tensor = field(repr=False)

    def row(self, token: int | None = None) -> torch.Tensor:
        """(T,) row of ``token`` (``None``: the classifier's readout), on the device."""
        return source_weights(self.layout, token, self.matrix.device, self.matrix.dtype) @ self.matrix

    def grid(self, token: int | None = None, *, discard_cls_token: bool = True) -> torch.Tensor:
        return patch_grid(self.row(token), self.layout, discard_cls_token)


@dataclass(frozen=True, eq=False)
class MaxFlow(TokenMaps):
    """One image's layered attention graph: ``layers`` (L, T, T) row-stochastic, first layer first.

    ``map(token)`` runs a maximum flow from ``token`` after the last layer to each patch token
    at the input (Abnar & Zuidema 2020) with SciPy, on the CPU: exact, and slow (one max-flow
    per patch).
    """

    layers: torch.Tensor = field(repr=False)
    layout: TokenLayout
    logits: torch.Tensor = field(repr=False)

    def grid(self, token: int | None = None, *, discard_cls_token: bool = True) -> torch.Tensor:
        weights = source_weights(self.layout, token, "cpu", torch.float64).numpy()
        capacities = self.layers.detach().to("cpu", torch.float64).numpy()
        sinks = np.arange(self.layout.prefix, self.layout.num_tokens)
        flows = np.zeros(self.layout.num_tokens)
        flows[sinks] = max_flow_to_tokens(capacities, weights, sinks)
        rows = torch.from_numpy(flows).to(self.layers.device, torch.float32)
        return patch_grid(rows, self.layout, discard_cls_token)
