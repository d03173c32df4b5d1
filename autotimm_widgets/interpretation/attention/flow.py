"""AttentionFlow: where attention flows from one chosen token (the CLS token or any patch).

Two algorithms, both from one forward pass per batch:

* ``method="rollout"`` (default, fast): the chosen token's row of the attention rollout
  matrix. A single matrix product chain on the device; every token's map comes from the same
  matrix (see :meth:`AttentionFlow.flow`).
* ``method="maxflow"`` (exact): Abnar & Zuidema's attention flow, the maximum flow from the
  chosen token after the last layer to each input patch through the layered attention graph,
  with SciPy's ``maximum_flow`` on integer-scaled capacities. It runs on the CPU, one
  max-flow per patch, and takes seconds per map.

Token index convention: 0 is the CLS token; patches follow in row-major order after the
prefix tokens (CLS, distillation, registers). ``AttentionFlow.layout()`` converts between
token indices, patch (row, col) and (x, y) pixels of the user's image.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from .._model import explaining
from ..base import BaseInterpreter, BatchAttribution
from ..preprocessing import PreprocessSpec
from ..registry import register_method
from ..types import ImageInput
from .capture import check_attention_model, forward_with_attention
from .layout import TokenLayout, as_token_index, token_layout
from .maps import MaxFlow, Rollout, TokenMaps, patch_grid
from .maths import TOKEN_MAP_METHOD, chain, check_discard_ratio, check_head_fusion, fuse_heads, transitions
from .rollout import _class_agnostic

METHODS = ("rollout", "maxflow")


@register_method("attention_flow", label="Attention flow", takes_patch=True, **TOKEN_MAP_METHOD)
class AttentionFlow(BaseInterpreter):
    """Attention flow from the token ``target_patch`` to the image's patches.

    Args:
        model: a Vision Transformer (timm ViT/DeiT/EVA, Hugging Face ViT, torchvision ViT).
        target_patch: the source token: 0 is the CLS token, patches follow in row-major order
            after the prefix tokens (use ``layout().xy_to_token(x, y)`` for a pixel).
            Out of range raises ``ValueError`` with the valid range.
        use_cuda: run on the GPU when one is available (max-flow itself runs on the CPU).
        method: ``"rollout"`` (fast, default: the token's row of the rollout matrix) or
            ``"maxflow"`` (exact maximum flow; seconds per map).
        head_fusion: ``"mean"``, ``"max"`` or ``"min"`` over heads.
        discard_ratio: fraction of the lowest fused attentions zeroed per layer. Defaults to
            0.0: unlike the CLS rollout picture, a flow from a patch should keep every path.
        preprocess: overrides the model's own preprocessing.
    """

    def __init__(
        self,
        model: nn.Module,
        target_patch: int = 0,
        use_cuda: bool = True,
        *,
        method: str = "rollout",
        head_fusion: str = "mean",
        discard_ratio: float = 0.0,
        preprocess: PreprocessSpec = None,
    ):
        check_attention_model(model, type(self).__name__)
        super().__init__(model, use_cuda, preprocess=preprocess)
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
        self.method = method
        self.head_fusion = check_head_fusion(head_fusion)
        self.discard_ratio = check_discard_ratio(discard_ratio)
        self.target_patch = _as_index(target_patch)
        predicted = self._predicted_layout()
        if predicted is not None:
            predicted.check_token(self.target_patch, "target_patch")

    def layout(self, image_size: tuple[int, int] | None = None) -> TokenLayout:
        """The token layout at the model's input size, for an image of ``image_size`` (H, W).

        No forward pass; raises ``ValueError`` if the model does not state its patch size.
        """
        return token_layout(self.model, self.preprocessor.config.input_size, image_size)

    def flow(self, image: ImageInput) -> TokenMaps:
        """Everything needed to map the flow from ANY token of ``image``, from one forward pass.

        Returns a :class:`Rollout` (``method="rollout"``) or a :class:`MaxFlow`
        (``method="maxflow"``); call ``.map(token)`` for an (H, W) map in [0, 1].
        """
        prepared = self.prepare(image)
        with explaining(self.model):
            logits, layers, layout = self._layers(prepared.tensor)
        layout = layout.with_image_size(prepared.size)
        if self.method == "rollout":
            return Rollout(chain(layers)[0], layout, logits[0].detach())
        return MaxFlow(layers[:, 0], layout, logits[0].detach())

    # -- computation --------------------------------------------------------------------
    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        _class_agnostic(type(self).__name__, classes)
        logits, layers, layout = self._layers(inputs)
        token = layout.check_token(self.target_patch, "target_patch")
        if self.method == "rollout":
            grids = patch_grid(chain(layers)[:, token], layout)
        else:
            grids = torch.stack([MaxFlow(layers[:, b], layout, logits[b]).grid(token) for b in range(inputs.shape[0])])
        return BatchAttribution(grids.unsqueeze(1), logits.detach(), self._targets(logits, classes))

    def _layers(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, TokenLayout]:
        """Logits (B, C), per-layer transition matrices (L, B, T, T) and the layout, from one forward pass."""
        logits, fused = forward_with_attention(
            self.model, inputs, reduce=partial(fuse_heads, head_fusion=self.head_fusion)
        )
        layout = token_layout(self.model, tuple(inputs.shape[-2:]), num_tokens=fused[0].shape[-1])
        with torch.no_grad():
            layers = transitions(fused, self.discard_ratio, protect_cls=layout.class_token)
        return logits, layers, layout

    def _predicted_layout(self) -> TokenLayout | None:
        try:
            return self.layout()
        except ValueError:
            return None


def _as_index(value) -> int:
    value = as_token_index(value, "target_patch")
    if value < 0:
        raise ValueError(f"target_patch must be a non-negative token index (0 = CLS); got {value}.")
    return value
