"""Layer choice: automatic, by name, by module, for CNNs, wrapped models and token models."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
import torchvision
from torch import nn

from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus

from helpers.attention_zoo import hf_vit
from helpers.images import random_image
from helpers.models import ModelSnapshot


@pytest.mark.parametrize(
    "arch, expected",
    [
        ("resnet18", "layer4"),
        ("convnext_atto", "stages.3"),
        ("efficientnet_b0", "blocks.6"),
        ("regnetx_002", "s4"),
        ("mobilenetv3_small_050", "blocks.5"),
        ("vit_tiny_patch16_224", "blocks.11.norm1"),
        ("deit_tiny_distilled_patch16_224", "blocks.11.norm1"),
        ("vit_base_patch16_reg4_gap_256", "blocks.11.norm1"),
        ("eva02_tiny_patch14_224", "blocks.11.norm1"),
    ],
)
def test_automatic_layer_on_timm_families(arch, expected):
    model = timm.create_model(arch, pretrained=False, num_classes=7).eval()
    explainer = GradCAM(model, use_cuda=False)
    assert explainer.target_layer == expected
    h, w = explainer.preprocessor.config.input_size
    heatmap = explainer.explain(random_image(h + 8, w - 8))
    assert heatmap.shape == (h + 8, w - 8)
    assert heatmap.std() > 0.01, "the map is constant"


def test_automatic_layer_is_the_stage_not_its_last_conv(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    assert explainer.target_layer == "layer4"
    assert isinstance(resnet18.get_submodule(explainer.target_layer), nn.Sequential)


class AutoTimmStyle(nn.Module):
    """A timm backbone at ``.backbone`` with a head beside it, as AutoTimm builds classifiers."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = timm.create_model("resnet18", pretrained=False, num_classes=0)
        self.head = nn.Linear(512, 4)

    def forward(self, x):
        return self.head(self.backbone(x))


def test_wrapped_backbone_layers_resolve():
    model = AutoTimmStyle().eval()
    assert GradCAM(model, use_cuda=False).target_layer == "backbone.layer4"
    explainer = GradCAM(model, target_layer="backbone.layer3", use_cuda=False)
    assert explainer.target_layer == "backbone.layer3"
    assert explainer.attribute(random_image()).shape == (14, 14)
    assert "backbone.layer4" in [c.name for c in explainer.candidate_layers()]


def test_torchvision_cnn():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=5).eval()
    explainer = GradCAMPlusPlus(model, use_cuda=False)
    assert explainer.target_layer == "layer4"
    assert explainer.explain(random_image()).std() > 0.01


def test_torchvision_vit_token_layer():
    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(num_classes=5).eval()
    nn.init.normal_(model.heads.head.weight)  # torchvision zero-initialises the head
    explainer = GradCAM(model, use_cuda=False)
    assert explainer.target_layer == "encoder.layers.encoder_layer_11.ln_1"
    assert explainer.attribute(torch.randn(3, 224, 224)).shape == (14, 14)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_hugging_face_vit(attn):
    model = hf_vit(attn, image_size=64)
    explainer = GradCAM(model, use_cuda=False)
    assert explainer.target_layer.endswith("1.layernorm_before")
    assert explainer.preprocessor.config.input_size == (64, 64)
    assert explainer.attribute(random_image()).shape == (8, 8)
    assert explainer.explain(random_image(50, 70)).std() > 0.01


def test_non_square_vit_grid_is_inferred_not_hard_coded():
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, dynamic_img_size=True).eval()
    cam = GradCAM(model, use_cuda=False).attribute(torch.randn(3, 96, 160))
    assert cam.shape == (6, 10)


def test_register_tokens_are_dropped():
    model = timm.create_model("vit_base_patch16_reg4_gap_256", pretrained=False, num_classes=3).eval()
    assert model.num_prefix_tokens == 4  # four registers and no CLS token (global average pooling)
    assert GradCAM(model, use_cuda=False).attribute(torch.randn(3, 256, 256)).shape == (16, 16)


def test_candidate_layers_have_names_and_shapes(resnet18, vit_tiny):
    layers = GradCAM(resnet18, use_cuda=False).candidate_layers()
    assert [(c.name, c.shape, c.kind) for c in layers][-2:] == [
        ("layer3", (256, 14, 14), "spatial"),
        ("layer4", (512, 7, 7), "spatial"),
    ]
    tokens = GradCAM(vit_tiny, use_cuda=False).candidate_layers()
    assert len(tokens) == 12 and tokens[0].name == "blocks.0.norm1"
    assert tokens[0].shape == (197, 192) and tokens[0].kind == "tokens"


def test_set_target_layer_changes_the_resolution(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False)
    assert explainer.attribute(random_image()).shape == (7, 7)
    explainer.set_target_layer("layer2")
    assert explainer.target_layer == "layer2"
    assert explainer.attribute(random_image()).shape == (28, 28)
    explainer.set_target_layer(resnet18.layer3)
    assert explainer.attribute(random_image()).shape == (14, 14)
    explainer.set_target_layer(None)
    assert explainer.target_layer == "layer4"


def test_negative_indices_in_layer_names(vit_tiny):
    assert GradCAM(vit_tiny, target_layer="blocks.-1.norm1", use_cuda=False).target_layer == "blocks.11.norm1"


def test_bad_layer_name_names_the_closest_valid_ones(resnet18):
    with pytest.raises(ValueError, match=r"no layer named 'layer5'.*'layer4'"):
        GradCAM(resnet18, target_layer="layer5", use_cuda=False)
    explainer = GradCAM(resnet18, use_cuda=False)
    with pytest.raises(ValueError, match="'layer1'"):
        explainer.set_target_layer("layr1")
    with pytest.raises(TypeError, match=r"layer name or an nn\.Module"):
        explainer.set_target_layer(4)
    with pytest.raises(ValueError, match="not a submodule"):
        explainer.set_target_layer(nn.Conv2d(1, 1, 1))


@pytest.mark.parametrize("layer", ["fc", "global_pool"])
def test_layer_without_spatial_output_is_rejected_cleanly(resnet18, layer):
    snapshot = ModelSnapshot(resnet18)
    explainer = GradCAM(resnet18, target_layer=layer, use_cuda=False)
    with pytest.raises(ValueError, match=r"spatial .* or token"):
        explainer.explain(random_image())
    snapshot.assert_unchanged()


def test_model_with_no_spatial_or_token_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 224 * 224, 4)).eval()
    snapshot = ModelSnapshot(model)
    with pytest.raises(ValueError, match="no layer with a spatial"):
        GradCAM(model, use_cuda=False).explain(random_image())
    snapshot.assert_unchanged()


def test_gradcam_plusplus_differs_from_gradcam_on_the_same_layer(resnet18):
    image = random_image()
    a = GradCAM(resnet18, use_cuda=False).explain(image)
    b = GradCAMPlusPlus(resnet18, use_cuda=False).explain(image)
    assert a.shape == b.shape and not np.allclose(a, b, atol=1e-3)
