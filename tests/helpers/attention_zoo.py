"""Tiny random-initialised Vision Transformers of every family the attention methods support.

Each builder returns a model in eval mode, as shipped: timm with fused attention on (its
default), Hugging Face with SDPA or eager attention, torchvision with nn.MultiheadAttention.
"""

from __future__ import annotations

import timm
import torch
import torchvision
from torch import nn


def timm_vit() -> nn.Module:
    """timm ``test_vit``: CLS token, CLS-pooled, 160 px, 10x10 patches, dynamic_img_size=True.

    Its query/key weights are scaled up so that attention is peaked, as in a trained model,
    rather than near-uniform (which would make min-max normalised maps ill-conditioned).
    """
    torch.manual_seed(0)
    model = timm.create_model("test_vit", pretrained=False, num_classes=5).eval()
    with torch.no_grad():
        for block in model.blocks:
            dim = block.attn.qkv.in_features
            block.attn.qkv.weight[: 2 * dim].mul_(6.0)
    return model


def timm_vit_avg() -> nn.Module:
    """timm ``test_vit2``: one prefix token that is not a CLS token, average-pooled."""
    torch.manual_seed(0)
    return timm.create_model("test_vit2", pretrained=False, num_classes=5).eval()


def timm_deit_distilled() -> nn.Module:
    """DeiT distilled: CLS + distillation token."""
    torch.manual_seed(0)
    return timm.create_model(
        "deit_tiny_distilled_patch16_224", pretrained=False, img_size=64, depth=2, num_classes=5
    ).eval()


def timm_vit_registers() -> nn.Module:
    """DINOv2-style ViT with a CLS token and 4 register tokens, patch 14."""
    torch.manual_seed(0)
    return timm.create_model(
        "vit_small_patch14_reg4_dinov2",
        pretrained=False,
        img_size=56,
        depth=2,
        embed_dim=48,
        num_heads=3,
        num_classes=5,
    ).eval()


def timm_eva() -> nn.Module:
    """EVA-02 with rotary position embedding and q/k-norm, average-pooled."""
    torch.manual_seed(0)
    return timm.create_model(
        "eva02_tiny_patch14_224", pretrained=False, img_size=56, depth=2, qk_norm=True, num_classes=5
    ).eval()


def hf_vit(attn_implementation: str, image_size: int = 32) -> nn.Module:
    """Hugging Face ``ViTForImageClassification`` from a small ``ViTConfig`` (32 px, 4x4 patches)."""
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    size = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    config = ViTConfig(
        image_size=image_size, patch_size=8, num_labels=5, attn_implementation=attn_implementation, **size
    )
    return ViTForImageClassification(config).eval()


def torchvision_vit() -> nn.Module:
    """torchvision's ``VisionTransformer`` class (that of vit_b_16) with a small config, 64 px.

    torchvision initialises the head to zeros (every logit is constant, every gradient zero), so
    the head gets random weights here, as it would have after training.
    """
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=5
    )
    nn.init.normal_(model.heads.head.weight, std=0.5)
    return model.eval()


FAMILIES = {
    "timm_vit": timm_vit,
    "timm_vit_avg": timm_vit_avg,
    "timm_deit_distilled": timm_deit_distilled,
    "timm_vit_registers": timm_vit_registers,
    "timm_eva": timm_eva,
    "hf_vit_eager": lambda: hf_vit("eager"),
    "hf_vit_sdpa": lambda: hf_vit("sdpa"),
    "torchvision_vit": torchvision_vit,
}

# (prefix tokens, grid, class token, readout) each family must report at its default input size
EXPECTED_LAYOUT = {
    "timm_vit": (1, (10, 10), True, "cls"),
    "timm_vit_avg": (1, (10, 10), False, "patches"),
    "timm_deit_distilled": (2, (4, 4), True, "cls"),
    "timm_vit_registers": (5, (4, 4), True, "cls"),
    "timm_eva": (1, (4, 4), True, "patches"),
    "hf_vit_eager": (1, (4, 4), True, "cls"),
    "hf_vit_sdpa": (1, (4, 4), True, "cls"),
    "torchvision_vit": (1, (4, 4), True, "cls"),
}


def switches(model: nn.Module) -> list:
    """Every attention switch a capture may touch: timm fused flags, HF attention implementations."""
    state = []
    for module in model.modules():
        if "fused_attn" in module.__dict__:
            state.append(("fused_attn", id(module), module.__dict__["fused_attn"]))
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            state.append(("attn_implementation", id(config), config._attn_implementation))
    return state
