"""GradientWeightedRollout (Chefer et al. 2021) against a reference written here, class specificity, hygiene."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autotimm_widgets.interpretation import GradientWeightedRollout

from helpers.attention_zoo import timm_vit, torchvision_vit
from helpers.images import random_image
from helpers.models import ModelSnapshot


def manual_forward(model, x: torch.Tensor):
    """A timm ViT computed by hand with explicit attention: (logits, per-layer attention (B, heads, T, T))."""
    attentions = []
    h = model.norm_pre(model.patch_drop(model._pos_embed(model.patch_embed(x))))
    for block in model.blocks:
        attn, y = block.attn, block.norm1(h)
        batch, tokens, dim = y.shape
        q, k, v = attn.qkv(y).reshape(batch, tokens, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k = attn.q_norm(q), attn.k_norm(k)
        probabilities = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(-1)
        attentions.append(probabilities)
        out = attn.proj(attn.norm((probabilities @ v).transpose(1, 2).reshape(batch, tokens, dim)))
        h = h + block.ls1(out)
        h = h + block.ls2(block.mlp(block.norm2(h)))
    return model.forward_head(model.norm(h)), attentions


def chefer_reference(model, x: torch.Tensor, index: int) -> torch.Tensor:
    """Chefer et al.'s ``generate_relevance`` for one image: R = I; R += mean_h(relu(grad * cam)) @ R."""
    logits, attentions = manual_forward(model, x)
    grads = torch.autograd.grad(logits[0, index], attentions)
    tokens = attentions[0].shape[-1]
    relevance = torch.eye(tokens)
    for cam, grad in zip(attentions, grads, strict=True):
        cam = (grad[0] * cam[0].detach()).clamp(min=0).mean(dim=0)
        relevance = relevance + torch.matmul(cam, relevance)
    return relevance


def test_manual_forward_is_the_model():
    model = timm_vit()
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        torch.testing.assert_close(manual_forward(model, x)[0], model(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("index", [0, 3])
def test_matches_chefer_reference(index):
    model = timm_vit()
    x = torch.randn(1, 3, 160, 160, generator=torch.Generator().manual_seed(index))
    expected = chefer_reference(model, x, index)
    explainer = GradientWeightedRollout(model, use_cuda=False)
    got = explainer.rollout(x, target_class=index).matrix
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-4)
    mask = expected[0, 1:] / expected[0, 1:].sum()
    mask = F.interpolate(mask.reshape(1, 1, 10, 10), size=(160, 160), mode="bilinear", align_corners=False)[0, 0]
    mask = ((mask - mask.min()) / (mask.max() - mask.min())).numpy()
    np.testing.assert_allclose(explainer.explain(x, target_class=index), mask, atol=1e-5)


def test_class_specific_and_batched():
    model = timm_vit()
    explainer = GradientWeightedRollout(model, use_cuda=False)
    image = random_image(80, 80)
    stack = explainer.explain(image, target_class=[0, 1, 2])  # one forward, one backward per class
    assert stack.shape == (3, 80, 80)
    assert not np.allclose(stack[0], stack[1], atol=1e-3), "different classes must give different maps"
    np.testing.assert_allclose(stack[1], explainer.explain(image, target_class=1), atol=1e-5)
    images = [image, random_image(80, 80, seed=1)]
    batch = explainer.explain_batch(images, target_classes=[2, None], batch_size=2)
    np.testing.assert_allclose(batch[0], stack[2], atol=1e-5)
    rollout = explainer.rollout(images[1])  # None: the predicted class
    np.testing.assert_allclose(batch[1], rollout.map(), atol=1e-5)
    predicted = int(rollout.logits.argmax())
    torch.testing.assert_close(rollout.matrix, explainer.rollout(images[1], target_class=predicted).matrix)


@pytest.mark.parametrize("build", [timm_vit, torchvision_vit])
def test_frozen_model_inside_no_grad_is_left_untouched(build):
    model = build()
    for p in model.parameters():
        p.requires_grad_(False)
    snapshot = ModelSnapshot(model)
    explainer = GradientWeightedRollout(model, use_cuda=False)
    size = explainer.preprocessor.config.input_size
    with torch.inference_mode():
        heatmap = explainer.explain(random_image(*size))
    assert heatmap.max() == 1.0 and heatmap.min() == 0.0
    assert all(p.grad is None for p in model.parameters())
    snapshot.assert_unchanged()


def test_class_errors():
    model = timm_vit()
    explainer = GradientWeightedRollout(model, use_cuda=False)
    with pytest.raises(ValueError, match=r"valid indices are 0\.\.4"):
        explainer.explain(random_image(), target_class=5)
    with pytest.raises(ValueError, match="one target_class"):
        explainer.rollout(random_image(), target_class=[1, 2])
