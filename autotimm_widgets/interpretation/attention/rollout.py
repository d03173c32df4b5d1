"""AttentionRollout: where the classifier's token draws its information from, through every layer.

One forward pass (no backward) per batch captures every layer's attention; heads are fused
inside the capture hook, so only a (B, T, T) matrix per layer is kept. The full rollout matrix
is available through :meth:`AttentionRollout.rollout`, so maps from any other token (the
widget's patch clicks) need no further forward pass.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import partial

import numpy as np
import torch
from torch import nn

from .._model import explaining
from .._targets import refuse_classes
from ..base import BaseInterpreter, BatchAttribution
from ..preprocessing import PreprocessSpec
from ..registry import register_method
from ..types import ImageInput
from .capture import check_attention_model, forward_with_attention
from .layout import TokenLayout, token_layout
from .maps import Rollout, patch_grid, source_weights
from .maths import TOKEN_MAP_METHOD, check_discard_ratio, check_head_fusion, fuse_heads, rollout


@register_method("attention_rollout", label="Attention rollout", **TOKEN_MAP_METHOD)
class AttentionRollout(BaseInterpreter):
    """Attention rollout (Abnar & Zuidema 2020) as popularised by vit-explain, with its bugs fixed.

    Per layer: fuse the heads (``head_fusion``), zero the lowest ``discard_ratio`` fraction of
    the fused (T, T) matrix except the CLS token's row and column, add the identity, normalise rows
    (keepdim), and chain the layers. The map is read from the token the classifier uses: the
    CLS token, or the mean of the patch tokens for average-pooled models (e.g. timm
    ``global_pool='avg'``). It is class-agnostic; for a class-specific map use
    :class:`GradientWeightedRollout`.

    Args:
        model: a Vision Transformer (timm ViT/DeiT/EVA, Hugging Face ViT, torchvision ViT);
            anything else raises ``TypeError`` naming the supported families.
        head_fusion: ``"mean"``, ``"max"`` or ``"min"`` over heads.
        discard_ratio: fraction in [0, 1) of the lowest fused attentions zeroed in each layer.
        use_cuda: run on the GPU when one is available.
        preprocess: overrides the model's own preprocessing.
    """

    _discard_cls_token = True

    def __init__(
        self,
        model: nn.Module,
        head_fusion: str = "mean",
        discard_ratio: float = 0.9,
        use_cuda: bool = True,
        *,
        preprocess: PreprocessSpec = None,
    ):
        check_attention_model(model, type(self).__name__)
        super().__init__(model, use_cuda, preprocess=preprocess)
        self.head_fusion = check_head_fusion(head_fusion)
        self.discard_ratio = check_discard_ratio(discard_ratio)

    # -- public API ---------------------------------------------------------------------
    def explain(
        self, image, discard_cls_token: bool = True, normalize: bool = True, *, target_class=None
    ) -> np.ndarray:
        """Rollout map of one image: float32 (H, W) at the image's size, in [0, 1] when ``normalize``.

        Args:
            image: a PIL image, an ndarray (H, W[, 3|4]) or a preprocessed tensor (see ``explain``
                of :class:`BaseInterpreter`).
            discard_cls_token: the map shows only patch tokens, so the share of the rollout that
                stays on the CLS token and the other prefix tokens (distillation, registers) has
                no place on it. ``True`` discards that share: the patch values are rescaled to
                sum to 1. ``False`` keeps the raw rollout values, which sum to 1 minus the
                prefix share. After min-max normalisation (``normalize=True``, the default) both
                give the same map; the choice matters for ``normalize=False``.
            normalize: min-max scale to [0, 1]; ``False`` returns the raw values.
            target_class: accepted for a uniform call signature; only ``None`` is valid, since
                rollout does not depend on the class.
        """
        return BaseInterpreter.explain(self._reading(discard_cls_token), image, target_class, normalize)

    def explain_batch(
        self, images, target_classes=None, batch_size: int = 32, *, discard_cls_token: bool = True, **options
    ):
        """Rollout maps of many images, one forward pass per batch of ``batch_size`` (see ``explain``)."""
        return BaseInterpreter.explain_batch(
            self._reading(discard_cls_token), images, target_classes, batch_size, **options
        )

    def rollout(self, image: ImageInput) -> Rollout:
        """The full (T, T) rollout matrix of one image, from one forward pass, kept on the device.

        ``rollout(image).map()`` equals ``explain(image)``; ``rollout(image).map(token)`` is the
        map from any other token (``AttentionFlow``'s fast method) without another forward pass.
        This is the call for interactive patch clicking.
        """
        prepared = self.prepare(image)
        with explaining(self.model):
            logits, matrix, layout = self._rollout(prepared.tensor)
        return Rollout(matrix[0], layout.with_image_size(prepared.size), logits[0].detach())

    # -- computation --------------------------------------------------------------------
    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        _class_agnostic(type(self).__name__, classes)
        logits, matrix, layout = self._rollout(inputs)
        rows = source_weights(layout, None, matrix.device, matrix.dtype) @ matrix  # (B, T)
        maps = patch_grid(rows, layout, self._discard_cls_token).unsqueeze(1)
        return BatchAttribution(maps, logits.detach(), self._targets(logits, classes))

    def _rollout(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, TokenLayout]:
        """Logits (B, C), rollout matrices (B, T, T) and the token layout, from one forward pass."""
        logits, fused = forward_with_attention(
            self.model, inputs, reduce=partial(fuse_heads, head_fusion=self.head_fusion)
        )
        layout = token_layout(self.model, tuple(inputs.shape[-2:]), num_tokens=fused[0].shape[-1])
        with torch.no_grad():
            matrix = rollout(fused, self.discard_ratio, protect_cls=layout.class_token)
        return logits, matrix, layout

    def _reading(self, discard_cls_token: bool) -> AttentionRollout:
        """This explainer, or a shallow per-call copy reading maps with another ``discard_cls_token``."""
        if not isinstance(discard_cls_token, bool):
            raise TypeError(f"discard_cls_token must be True or False; got {type(discard_cls_token).__name__}.")
        if discard_cls_token == self._discard_cls_token:
            return self
        reading = copy.copy(self)
        reading._discard_cls_token = discard_cls_token
        return reading


def _class_agnostic(method: str, classes: Sequence[Sequence[int | None]]) -> None:
    refuse_classes(method, classes, "GradientWeightedRollout")
