"""Attention methods for Vision Transformers: capture, rollout, flow and class-specific attention.

* :class:`AttentionRollout` — class-agnostic rollout of the classifier's token.
* :class:`AttentionFlow` — the flow from any token, fast (rollout row) or exact (max-flow).
* :class:`GradientWeightedRollout` — class-specific attention (Chefer et al. 2021).
* :class:`Rollout` / :class:`MaxFlow` — one image's result; ``.map(token)`` needs no forward pass.
* :class:`TokenLayout` — token index <-> patch (row, col) <-> (x, y) in the user's image.
* :func:`attention_capture` — the per-layer attention probabilities of one forward pass.
"""

from .capture import SUPPORTED_FAMILIES, AttentionRecord, attention_capture, forward_with_attention
from .flow import AttentionFlow
from .gradient import GradientWeightedRollout
from .layout import TokenLayout, token_layout
from .maps import MaxFlow, Rollout, TokenMaps
from .rollout import AttentionRollout

__all__ = [
    "SUPPORTED_FAMILIES",
    "AttentionFlow",
    "AttentionRecord",
    "AttentionRollout",
    "GradientWeightedRollout",
    "MaxFlow",
    "Rollout",
    "TokenLayout",
    "TokenMaps",
    "attention_capture",
    "forward_with_attention",
    "token_layout",
]
