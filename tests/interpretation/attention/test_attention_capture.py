"""Attention capture on every supported family, as shipped (fused attention on), and model hygiene."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

from autotimm_widgets.interpretation import AttentionFlow, AttentionRollout, GradientWeightedRollout
from autotimm_widgets.interpretation.attention import attention_capture, forward_with_attention, token_layout

from helpers.attention_zoo import EXPECTED_LAYOUT, FAMILIES, hf_vit, switches, timm_vit, torchvision_vit
from helpers.images import random_image
from helpers.models import ModelSnapshot, hook_count

DEPTH = {"timm_vit": 6, "timm_vit_avg": 8}  # the others are built with 2 layers


def _inputs(model: nn.Module, batch: int = 2) -> torch.Tensor:
    explainer = AttentionRollout(model, use_cuda=False)
    h, w = explainer.preprocessor.config.input_size
    return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(0))


def _plain_logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        output = model(inputs)
    return output.logits if hasattr(output, "logits") else output


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_capture_every_family(family):
    model = FAMILIES[family]()
    inputs = _inputs(model)
    snapshot, before = ModelSnapshot(model), switches(model)
    expected_logits = _plain_logits(model, inputs)

    logits, maps = forward_with_attention(model, inputs)

    prefix, grid, class_token, readout = EXPECTED_LAYOUT[family]
    tokens = prefix + grid[0] * grid[1]
    assert len(maps) == DEPTH.get(family, 2), "one map per attention layer"
    for probabilities in maps:
        assert probabilities.shape[0] == 2 and probabilities.shape[-2:] == (tokens, tokens)
        assert probabilities.shape[1] > 1, "heads must be kept apart"
        assert probabilities.min() >= 0
        torch.testing.assert_close(probabilities.sum(-1), torch.ones_like(probabilities.sum(-1)))
        assert probabilities.std() > 0
    # the eager path that was switched on computes the same function as the shipped (fused) one
    torch.testing.assert_close(logits, expected_logits, atol=1e-5, rtol=1e-4)
    layout = token_layout(model, tuple(inputs.shape[-2:]), num_tokens=tokens)
    assert (layout.prefix, layout.grid, layout.class_token, layout.readout) == (prefix, grid, class_token, readout)
    snapshot.assert_unchanged()
    assert switches(model) == before


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_gives_non_constant_maps(family):
    model = FAMILIES[family]()
    image = random_image(48, 72)
    snapshot, before = ModelSnapshot(model), switches(model)
    for explainer in (
        AttentionRollout(model, discard_ratio=0.0, use_cuda=False),
        AttentionRollout(model, discard_ratio=0.5, head_fusion="max", use_cuda=False),
        AttentionFlow(model, target_patch=EXPECTED_LAYOUT[family][0] + 3, use_cuda=False),
        GradientWeightedRollout(model, use_cuda=False),
    ):
        heatmap = explainer.explain(image)
        assert heatmap.shape == (48, 72) and heatmap.dtype == np.float32
        assert heatmap.min() == 0.0 and heatmap.max() == 1.0, f"{type(explainer).__name__} gave a constant map"
    snapshot.assert_unchanged()
    assert switches(model) == before


def test_timm_is_fused_as_shipped_and_flags_come_back():
    model = timm_vit()
    attentions = [m for m in model.modules() if hasattr(m, "fused_attn")]
    assert attentions and all(m.fused_attn for m in attentions), "test_vit should use fused attention by default"
    with attention_capture(model) as record:
        assert not any(m.fused_attn for m in attentions)
        with torch.no_grad():
            model(torch.randn(1, 3, 160, 160))
    assert len(record.maps) == len(attentions)
    assert all(m.fused_attn for m in attentions)


def test_timm_capture_equals_softmax_of_queries_and_keys():
    model = timm_vit()
    inputs = torch.randn(2, 3, 160, 160)
    expected = []

    def recompute(attn, args):
        x = args[0]
        qkv = attn.qkv(x).reshape(x.shape[0], x.shape[1], 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
        expected.append(((q * attn.scale) @ k.transpose(-2, -1)).softmax(-1))

    handles = [block.attn.register_forward_pre_hook(recompute) for block in model.blocks]
    try:
        _, maps = forward_with_attention(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    assert len(maps) == len(expected) == len(model.blocks)
    for got, want in zip(maps, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_hf_sdpa_capture_equals_eager_model():
    eager, sdpa = hf_vit("eager"), hf_vit("sdpa")
    sdpa.load_state_dict(eager.state_dict())
    inputs = torch.randn(2, 3, 32, 32)
    _, from_eager = forward_with_attention(eager, inputs)
    _, from_sdpa = forward_with_attention(sdpa, inputs)
    assert sdpa.config._attn_implementation == "sdpa"
    for a, b in zip(from_eager, from_sdpa, strict=True):
        torch.testing.assert_close(a, b)


def test_torchvision_capture_equals_softmax_of_queries_and_keys():
    model = torchvision_vit()
    inputs = torch.randn(2, 3, 64, 64)
    expected = []

    def recompute(mha, args, kwargs):
        x = args[0]  # (B, T, E), batch_first
        q, k, _ = F.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)
        heads, dim = mha.num_heads, mha.embed_dim // mha.num_heads
        q = q.unflatten(-1, (heads, dim)).transpose(1, 2)
        k = k.unflatten(-1, (heads, dim)).transpose(1, 2)
        expected.append((q @ k.transpose(-2, -1) / dim**0.5).softmax(-1))
        assert kwargs.get("need_weights") is False, "torchvision calls its attention with need_weights=False"

    mhas = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    handles = [m.register_forward_pre_hook(recompute, with_kwargs=True) for m in mhas]
    try:
        _, maps = forward_with_attention(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    for got, want in zip(maps, expected, strict=True):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_differentiable_capture_keeps_the_model_function():
    """For nn.MultiheadAttention the output is recomputed from the captured weights: same logits."""
    for model in (torchvision_vit(), timm_vit(), hf_vit("sdpa")):
        inputs = _inputs(model, batch=2)
        expected = _plain_logits(model, inputs)
        logits, maps = forward_with_attention(model, inputs.requires_grad_(True), differentiable=True)
        torch.testing.assert_close(logits.detach(), expected, atol=1e-5, rtol=1e-4)
        grads = torch.autograd.grad(logits[:, 0].sum(), maps)
        assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_torchvision_vit_b_16_as_shipped():
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.vit_b_16().eval()
    snapshot = ModelSnapshot(model)
    rollout = AttentionRollout(model, use_cuda=False).rollout(random_image(60, 80))
    assert rollout.layout.grid == (14, 14) and rollout.layout.prefix == 1
    heatmap = rollout.map()
    assert heatmap.shape == (60, 80) and heatmap.max() == 1.0 and heatmap.min() == 0.0
    snapshot.assert_unchanged()


class _Boom(nn.Module):
    """Runs a ViT, then fails: the capture must still undo every switch."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        self.inner(x)
        raise RuntimeError("boom")


@pytest.mark.parametrize("family", ["timm_vit", "timm_eva", "hf_vit_sdpa", "torchvision_vit"])
def test_model_restored_when_the_forward_raises(family):
    inner = FAMILIES[family]()
    snapshot, before = ModelSnapshot(inner), switches(inner)
    model = _Boom(inner)
    size = AttentionRollout(inner, use_cuda=False).preprocessor.config.input_size
    image = torch.randn(1, 3, *size)
    for explainer in (
        AttentionRollout(model, use_cuda=False),
        AttentionFlow(model, method="maxflow", use_cuda=False),
        GradientWeightedRollout(model, use_cuda=False),
    ):
        with pytest.raises(RuntimeError, match="boom"):
            explainer.explain(image)
    with pytest.raises(RuntimeError, match="boom"):
        AttentionRollout(model, use_cuda=False).rollout(image)
    snapshot.assert_unchanged()
    assert switches(inner) == before
    assert hook_count(model) == 0


def test_restored_when_the_block_raises():
    model = hf_vit("sdpa")
    before = switches(model)
    with pytest.raises(KeyError), attention_capture(model):
        assert model.config._attn_implementation == "eager"
        raise KeyError("inside")
    assert switches(model) == before and model.config._attn_implementation == "sdpa"
    assert hook_count(model) == 0


@pytest.mark.parametrize("explainer", [AttentionRollout, AttentionFlow, GradientWeightedRollout])
def test_model_without_attention_is_a_type_error(explainer):
    model = timm.create_model("test_resnet", pretrained=False).eval()
    snapshot = ModelSnapshot(model)
    with pytest.raises(TypeError, match=r"timm Vision Transformers.*Hugging Face.*MultiheadAttention"):
        explainer(model, use_cuda=False)
    snapshot.assert_unchanged()


def test_windowed_attention_is_a_type_error():
    """Swin-style window attention has no single token sequence to roll out."""
    model = timm.create_model(
        "swin_tiny_patch4_window7_224", pretrained=False, img_size=56, depths=(1, 1), num_heads=(1, 2), embed_dim=16
    ).eval()
    snapshot = ModelSnapshot(model)
    with pytest.raises(TypeError, match="windowed or hierarchical"):
        AttentionRollout(model, use_cuda=False).explain(random_image(56, 56))
    snapshot.assert_unchanged()
