"""GradientWeightedRollout: class-specific attention (Chefer, Gur & Wolf, ICCV 2021).

"Generic Attention-model Explainability for Interpreting Bi-Modal and Encoder-Decoder
Transformers", eq. 5-6 for self-attention: each layer's attention A is weighted by the
gradient of the class logit with respect to it, negative contributions are removed and the
heads averaged, ``A_bar = mean_h(relu(dA * A))``, and relevance accumulates from the identity
as ``R = R + A_bar R``, first layer first. The map is the CLS token's row of R over the patches
(the mean of the patch rows for average-pooled models).

A class of its own rather than a flag of AttentionRollout: it takes ``target_class`` and
neither ``head_fusion`` nor ``discard_ratio`` (the gradient does their job). Cost: one forward
and one backward pass per batch (one backward per extra class).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._model import explaining
from .._targets import explain_targets
from ..base import BaseInterpreter, BatchAttribution
from ..gradients import per_class_gradients
from ..preprocessing import PreprocessSpec
from ..registry import register_method
from ..types import ImageInput
from .capture import check_attention_model, forward_with_attention
from .layout import TokenLayout, token_layout
from .maps import Rollout, patch_grid, source_weights
from .maths import relevance


@register_method("gradient_rollout", label="Gradient-weighted rollout", needs_attention=True, shared_classes=True)
class GradientWeightedRollout(BaseInterpreter):
    """Class-specific attention map of a Vision Transformer (Chefer et al. 2021).

    Args:
        model: a Vision Transformer (timm ViT/DeiT/EVA, Hugging Face ViT, torchvision ViT).
        use_cuda: run on the GPU when one is available.
        preprocess: overrides the model's own preprocessing.

    ``explain(image, target_class=None)`` explains the predicted class by default; a list of
    classes gives one map each from the same forward pass.
    """

    def __init__(self, model: nn.Module, use_cuda: bool = True, *, preprocess: PreprocessSpec = None):
        check_attention_model(model, type(self).__name__)
        super().__init__(model, use_cuda, preprocess=preprocess)

    def rollout(self, image: ImageInput, target_class: int | None = None) -> Rollout:
        """The (T, T) relevance matrix of one image for one class, kept on the device.

        ``.map()`` equals ``explain(image, target_class)``; ``.map(token)`` reads any token's row.
        """
        classes, single = explain_targets(target_class)
        if not single:
            raise ValueError("rollout() takes one target_class (or None); call it once per class.")
        prepared = self.prepare(image)
        with explaining(self.model):
            logits, matrices, _, layout = self._relevance(prepared.tensor, [classes])
        return Rollout(matrices[0, 0], layout.with_image_size(prepared.size), logits[0])

    def _attribute(self, inputs: torch.Tensor, classes: Sequence[Sequence[int | None]]) -> BatchAttribution:
        logits, matrices, targets, layout = self._relevance(inputs, classes)
        rows = source_weights(layout, None, matrices.device, matrices.dtype) @ matrices  # (B, K, T)
        return BatchAttribution(patch_grid(rows, layout), logits, targets)

    def _relevance(self, inputs: torch.Tensor, classes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, TokenLayout]:
        """Detached logits (B, C), relevance (B, K, T, T), classes (B, K) and the layout."""
        # An input that requires grad keeps every attention map in the graph, also when all of
        # the model's parameters are frozen; no parameter's .grad is touched (autograd.grad).
        inputs = inputs.detach().requires_grad_(True)
        logits, attentions = forward_with_attention(self.model, inputs, differentiable=True)
        targets = self._targets(logits, classes)
        detached = [a.detach() for a in attentions]
        matrices = [relevance(detached, gradients) for gradients in per_class_gradients(logits, attentions, targets)]
        layout = token_layout(self.model, tuple(inputs.shape[-2:]), num_tokens=attentions[0].shape[-1])
        return logits.detach(), torch.stack(matrices, dim=1), targets, layout
