"""AttentionRollout against a plain reference written here, readout, batching, and the reusable matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autotimm_widgets.interpretation import AttentionFlow, AttentionRollout

from helpers.attention_zoo import timm_vit, timm_vit_avg
from helpers.images import random_image
from helpers.models import ModelSnapshot


def manual_attentions(model, x: torch.Tensor) -> list[torch.Tensor]:
    """Run a timm ViT block by block and compute each layer's attention by hand: softmax(q k^T * scale)."""
    attentions = []
    with torch.no_grad():
        h = model.norm_pre(model.patch_drop(model._pos_embed(model.patch_embed(x))))
        for block in model.blocks:
            attn, y = block.attn, block.norm1(h)
            qkv = attn.qkv(y).reshape(y.shape[0], y.shape[1], 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
            q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
            attentions.append(((q * attn.scale) @ k.transpose(-2, -1)).softmax(-1))
            h = block(h)
    return attentions


def reference_rollout(attentions, discard_ratio: float, head_fusion: str) -> torch.Tensor:
    """vit-explain's ``rollout``, one image at a time, with rows normalised WITH keepdim and the
    CLS token's row and column kept out of the discarding. Returns (B, T, T)."""
    batch, _, tokens, _ = attentions[0].shape
    results = []
    for b in range(batch):
        result = torch.eye(tokens)
        for attention in attentions:
            if head_fusion == "mean":
                fused = attention[b].mean(axis=0)
            elif head_fusion == "max":
                fused = attention[b].max(axis=0)[0]
            else:
                fused = attention[b].min(axis=0)[0]
            flat = fused.flatten().clone()
            _, indices = flat.topk(int(flat.size(-1) * discard_ratio), -1, False)
            indices = indices[(indices >= tokens) & (indices % tokens != 0)]  # not in CLS row or column
            flat[indices] = 0
            a = (flat.view(tokens, tokens) + torch.eye(tokens)) / 2
            a = a / a.sum(dim=-1, keepdim=True)
            result = torch.matmul(a, result)
        results.append(result)
    return torch.stack(results)


def reference_map(matrix: torch.Tensor, grid, size) -> np.ndarray:
    """CLS row over the patches, resized bilinearly to ``size`` and min-max scaled."""
    mask = matrix[0, 1:].reshape(1, 1, *grid)
    mask = F.interpolate(mask, size=size, mode="bilinear", align_corners=False)[0, 0]
    return ((mask - mask.min()) / (mask.max() - mask.min())).numpy()


@pytest.mark.parametrize("discard_ratio", [0.0, 0.9])
@pytest.mark.parametrize("head_fusion", ["mean", "max", "min"])
def test_matches_reference(discard_ratio, head_fusion):
    model = timm_vit()
    inputs = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(1))
    expected = reference_rollout(manual_attentions(model, inputs), discard_ratio, head_fusion)
    explainer = AttentionRollout(model, head_fusion=head_fusion, discard_ratio=discard_ratio, use_cuda=False)

    for b in range(2):
        torch.testing.assert_close(explainer.rollout(inputs[b]).matrix, expected[b], atol=1e-6, rtol=1e-4)
    maps = explainer.explain_batch(inputs, batch_size=2)  # both images in one forward pass
    for b in range(2):
        np.testing.assert_allclose(maps[b], reference_map(expected[b], (10, 10), (160, 160)), atol=1e-5)


def test_matches_reference_on_a_non_square_input():
    """dynamic_img_size=True: a 160x224 input is a 10x14 grid; nothing assumes a square."""
    model = timm_vit()
    explainer = AttentionRollout(model, discard_ratio=0.5, use_cuda=False, preprocess={"input_size": (160, 224)})
    image = random_image(80, 112)
    inputs = explainer.prepare(image).tensor
    expected = reference_rollout(manual_attentions(model, inputs), 0.5, "mean")[0]
    rollout = explainer.rollout(image)
    assert rollout.layout.grid == (10, 14) and rollout.layout.image_size == (80, 112)
    torch.testing.assert_close(rollout.matrix, expected, atol=1e-6, rtol=1e-4)
    np.testing.assert_allclose(explainer.explain(image), reference_map(expected, (10, 14), (80, 112)), atol=1e-5)


def test_rows_are_normalised_with_keepdim():
    """The bug this project avoids: after discarding, rows no longer sum alike, and dividing by the
    row sums without keepdim scales columns instead of rows."""
    model = timm_vit()
    inputs = torch.randn(1, 3, 160, 160)
    rollout = AttentionRollout(model, discard_ratio=0.9, use_cuda=False).rollout(inputs).matrix
    torch.testing.assert_close(rollout.sum(-1), torch.ones(rollout.shape[0]))


def test_rollout_object_reuses_one_forward_pass():
    model = timm_vit()
    calls = []
    handle = model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        explainer = AttentionRollout(model, discard_ratio=0.0, use_cuda=False)
        image = random_image(90, 120)
        rollout = explainer.rollout(image)
        assert len(calls) == 1
        maps = [rollout.map(token) for token in range(rollout.layout.num_tokens)]
        assert len(calls) == 1, "maps from other tokens must not run the model again"
        np.testing.assert_array_equal(rollout.map(), explainer.explain(image))
        for token in (0, 1, 57):
            np.testing.assert_array_equal(maps[token], AttentionFlow(model, token, use_cuda=False).explain(image))
        assert all(m.shape == (90, 120) and m.dtype == np.float32 for m in maps)
        assert rollout.grid_map(5).shape == (10, 10)
        np.testing.assert_array_equal(rollout.map(5, size=(10, 10)), rollout.grid_map(5))
        assert rollout.map(5, size=(45, 60)).shape == (45, 60)
        calls.clear()
        explainer.explain_batch([image, random_image(90, 120, seed=1), random_image(90, 120, seed=2)], batch_size=3)
        assert len(calls) == 1, "a batch is one forward pass"
    finally:
        handle.remove()


def test_batch_equals_single_images():
    model = timm_vit()
    explainer = AttentionRollout(model, use_cuda=False)
    images = [random_image(64, 64, seed=s) for s in range(3)] + [random_image(50, 90)]
    batch = explainer.explain_batch(images, batch_size=4)
    for image, heatmap in zip(images, batch, strict=True):
        np.testing.assert_allclose(heatmap, explainer.explain(image), atol=1e-6)


def test_discard_cls_token():
    model = timm_vit()
    image = random_image(80, 80)
    explainer = AttentionRollout(model, discard_ratio=0.0, use_cuda=False)
    rollout = explainer.rollout(image)
    kept, discarded = rollout.grid(discard_cls_token=False), rollout.grid(discard_cls_token=True)
    cls_share = rollout.matrix[0, 0]
    torch.testing.assert_close(kept.sum(), 1 - cls_share)
    torch.testing.assert_close(discarded.sum(), torch.tensor(1.0))
    torch.testing.assert_close(discarded * (1 - cls_share), kept)
    raw_true = explainer.explain(image, discard_cls_token=True, normalize=False)
    raw_false = explainer.explain(image, discard_cls_token=False, normalize=False)
    np.testing.assert_allclose(raw_false, raw_true * float(1 - cls_share), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(explainer.explain(image, discard_cls_token=False), explainer.explain(image), atol=1e-5)
    assert explainer.explain_batch([image], discard_cls_token=False, normalize=False)[0] == pytest.approx(raw_false)


def test_average_pooled_model_reads_the_mean_of_patch_rows():
    model = timm_vit_avg()  # one prefix token, no CLS, global_pool='avg'
    rollout = AttentionRollout(model, discard_ratio=0.0, use_cuda=False).rollout(random_image(64, 64))
    assert rollout.layout.readout == "patches" and not rollout.layout.class_token
    torch.testing.assert_close(rollout.row(), rollout.matrix[1:].mean(0))


def test_parameters_and_class_are_checked():
    model = timm_vit()
    snapshot = ModelSnapshot(model)
    with pytest.raises(ValueError, match="head_fusion"):
        AttentionRollout(model, head_fusion="median")
    with pytest.raises(ValueError, match=r"discard_ratio must be in \[0, 1\)"):
        AttentionRollout(model, discard_ratio=1.0)
    with pytest.raises(TypeError, match="discard_ratio"):
        AttentionRollout(model, discard_ratio="0.9")
    explainer = AttentionRollout(model, use_cuda=False)
    with pytest.raises(TypeError, match="discard_cls_token"):
        explainer.explain(random_image(), discard_cls_token="no")
    with pytest.raises(ValueError, match="GradientWeightedRollout"):
        explainer.explain(random_image(), target_class=3)
    with pytest.raises(ValueError, match="prefix token"):
        explainer.rollout(random_image()).layout.token_to_cell(0)
    snapshot.assert_unchanged()
