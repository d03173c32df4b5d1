"""Attention rollout and gradient-weighted relevance: the published maths, batched, on the device.

Rollout (Abnar & Zuidema 2020, with vit-explain's head fusion and discarding), per layer:

1. fuse the heads of the (B, heads, T, T) probabilities with mean, max or min;
2. zero the lowest ``discard_ratio`` fraction of each image's fused (T, T) matrix, leaving the
   CLS entries intact: the CLS token's row (what it attends to) and column (what attends to
   it) are never zeroed. vit-explain protects only the CLS-to-CLS entry, and only in the first
   image of a batch; with that, near-uniform attention can lose the whole CLS row and give an
   all-zero map;
3. add the identity (the residual connection) and row-normalise with ``keepdim`` so every row
   sums to 1 (vit-explain divides without ``keepdim``, which scales columns instead of rows);
4. chain the layers: ``R = A_L ... A_2 A_1``, so row i of R says how much token i after the
   last layer draws from each input token.

Gradient-weighted relevance (Chefer, Gur & Wolf 2021, "Generic Attention-model
Explainability", eq. 5-6): ``R = I``; per layer in forward order,
``A_bar = mean_heads(relu(grad(A) * A))`` and ``R = R + A_bar R``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

from ..registry import Param

HEAD_FUSIONS = ("mean", "max", "min")


def check_head_fusion(head_fusion) -> str:
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"head_fusion must be one of {HEAD_FUSIONS}; got {head_fusion!r}.")
    return head_fusion


def check_discard_ratio(discard_ratio) -> float:
    if isinstance(discard_ratio, bool) or not isinstance(discard_ratio, numbers.Real):
        raise TypeError(f"discard_ratio must be a float in [0, 1); got {type(discard_ratio).__name__}.")
    if not 0.0 <= float(discard_ratio) < 1.0:
        raise ValueError(
            f"discard_ratio must be in [0, 1) (the fraction of lowest attentions to zero); got {discard_ratio}."
        )
    return float(discard_ratio)


HEAD_FUSION = Param("head_fusion", str, check_head_fusion, "Head fusion", choices=HEAD_FUSIONS)
DISCARD_RATIO = Param(
    "discard_ratio", float, check_discard_ratio, "Discard", minimum=0.0, maximum=1.0, maximum_inclusive=False
)


# What rollout and flow register with: their parameters and capabilities.
TOKEN_MAP_METHOD = {"params": (HEAD_FUSION, DISCARD_RATIO), "class_specific": False, "needs_attention": True}


def fuse_heads(attention: torch.Tensor, head_fusion: str) -> torch.Tensor:
    """(B, heads, T, T) -> (B, T, T) by the mean, max or min over heads, in float32 or wider."""
    attention = attention.to(torch.promote_types(attention.dtype, torch.float32))
    if head_fusion == "mean":
        return attention.mean(dim=1)
    if head_fusion == "max":
        return attention.amax(dim=1)
    return attention.amin(dim=1)


def discard_lowest(fused: torch.Tensor, discard_ratio: float, protect_cls: bool = True) -> torch.Tensor:
    """Zero the ``int(T*T*discard_ratio)`` lowest entries of each (T, T) matrix of ``fused`` (B, T, T).

    With ``protect_cls`` the entries of row 0 and column 0 (the CLS token's) are kept even when
    they are among the lowest, so slightly fewer entries may be zeroed.
    """
    batch, tokens, _ = fused.shape
    flat = fused.reshape(batch, tokens * tokens)
    count = int(flat.shape[1] * discard_ratio)
    if count == 0:
        return fused
    # Keep the largest entries rather than select the many lowest: the same set, found faster.
    kept = flat.topk(flat.shape[1] - count, dim=1, largest=True).indices
    mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, kept, True)
    mask = mask.view(batch, tokens, tokens)
    if protect_cls:
        mask[:, 0, :] = True
        mask[:, :, 0] = True
    return torch.where(mask, fused, torch.zeros_like(fused))


def with_residual(fused: torch.Tensor) -> torch.Tensor:
    """Add the identity to each (T, T) matrix of (B, T, T) and normalise rows to sum to 1 (keepdim)."""
    eye = torch.eye(fused.shape[-1], device=fused.device, dtype=fused.dtype)
    augmented = fused + eye
    return augmented / augmented.sum(dim=-1, keepdim=True)


def transitions(fused_layers: Sequence[torch.Tensor], discard_ratio: float, protect_cls: bool = True) -> torch.Tensor:
    """(L, B, T, T): each layer's fused attention after discarding, residual and normalisation.

    All layers are processed at once (a handful of tensor ops, not a handful per layer).
    """
    stacked = torch.stack(list(fused_layers))
    count, batch, tokens, _ = stacked.shape
    kept = discard_lowest(stacked.reshape(count * batch, tokens, tokens), discard_ratio, protect_cls)
    return with_residual(kept).reshape(count, batch, tokens, tokens)


def chain(layers: torch.Tensor) -> torch.Tensor:
    """(L, B, T, T) row-stochastic layers, first layer first -> (B, T, T) product ``A_L ... A_1``.

    Multiplied pairwise, all pairs of a round in one batched matmul: ceil(log2 L) rounds
    instead of L - 1 sequential products: the same product, in another order of
    multiplication (equal up to float rounding).
    """
    while layers.shape[0] > 1:
        pairs = layers.shape[0] // 2
        later, earlier = layers[1 : 2 * pairs : 2], layers[0 : 2 * pairs : 2]
        products = torch.matmul(later, earlier)  # A_{2i+1} A_{2i}: the later layer on the left
        layers = torch.cat([products, layers[2 * pairs :]]) if layers.shape[0] % 2 else products
    return layers[0]


def rollout(fused_layers: Sequence[torch.Tensor], discard_ratio: float, protect_cls: bool = True) -> torch.Tensor:
    """(B, T, T) attention rollout from per-layer fused attention (B, T, T), first layer first."""
    return chain(transitions(fused_layers, discard_ratio, protect_cls))


def relevance(attentions: Sequence[torch.Tensor], gradients: Sequence[torch.Tensor]) -> torch.Tensor:
    """(B, T, T) Chefer et al. relevance from per-layer attentions and their gradients (B, heads, T, T)."""
    tokens = attentions[0].shape[-1]
    dtype = torch.promote_types(attentions[0].dtype, torch.float32)
    eye = torch.eye(tokens, device=attentions[0].device, dtype=dtype)
    result = eye.expand(attentions[0].shape[0], tokens, tokens)
    for attention, gradient in zip(attentions, gradients, strict=True):
        weighted = (gradient.to(dtype) * attention.to(dtype)).clamp_min(0).mean(dim=1)
        result = result + torch.bmm(weighted, result)
    return result
