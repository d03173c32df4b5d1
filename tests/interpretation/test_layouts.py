"""Every layer layout gives the right map or a clear error, never a silent wrong one.

Correct by construction: a map computed on a channels-last layer must equal the map of the same
tensor made channels-first by hand (``reshape_transform``), and a layer's map must be on the
layer's (H, W) grid, not on (W, C).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import timm
import torch
import torchvision
from torch import nn

from autotimm_widgets.interpretation import GradCAM, ScoreCAM
from autotimm_widgets.interpretation._layout import NCHW, NHWC, two_size_layouts

from helpers.models import hook_count


def small_swin():
    torch.manual_seed(0)
    return timm.create_model(
        "swin_tiny_patch4_window7_224",
        pretrained=False,
        num_classes=5,
        embed_dim=16,
        depths=(1, 1, 1, 1),
        num_heads=(1, 1, 1, 1),
    ).eval()


def channels_last(t):
    return t.permute(0, 3, 1, 2)


def test_swin_default_layer_is_channels_last_and_gives_the_grid_map():
    model = small_swin()
    cam = GradCAM(model, use_cuda=False)
    assert cam.target_layer == "layers.3"
    info = {c.name: c for c in cam.candidate_layers()}["layers.3"]
    assert info.shape == (7, 7, 128) and info.layout == NHWC and info.kind == "spatial"
    x = torch.randn(1, 3, 224, 224)
    raw = cam.attribute(x, 2)
    assert raw.shape == (7, 7)  # not the 7x128 "map" of a (C, H, W) reading
    by_hand = GradCAM(model, target_layer="layers.3", reshape_transform=channels_last, use_cuda=False).attribute(x, 2)
    torch.testing.assert_close(raw, by_hand)
    assert hook_count(model) == 0


def test_swin_block_inside_a_stage_is_channels_last_from_its_metadata():
    model = small_swin()
    raw = GradCAM(model, target_layer="layers.2.blocks.0", use_cuda=False).attribute(torch.randn(1, 3, 224, 224))
    assert raw.shape == (14, 14)


def test_swin_window_tokens_are_refused_clearly():
    model = small_swin()
    cam = GradCAM(model, target_layer="layers.2.blocks.0.attn", use_cuda=False)
    with pytest.raises(
        ValueError, match=r"outputs shape \(4, 49, 64\) for a batch of 1.*Candidates at this input size"
    ):
        cam.attribute(torch.randn(1, 3, 224, 224))


def test_convnext_channels_last_norm_inside_a_block_is_found_from_two_input_sizes():
    torch.manual_seed(0)
    model = timm.create_model("test_convnext", pretrained=False, num_classes=5).eval()
    layer = "stages.3.blocks.0.norm"  # LayerNorm on (B, H, W, C) inside the block
    x = torch.randn(1, 3, 96, 96)
    raw = GradCAM(model, target_layer=layer, use_cuda=False).attribute(x, 1)
    by_hand = GradCAM(model, target_layer=layer, reshape_transform=channels_last, use_cuda=False).attribute(x, 1)
    assert raw.shape == (3, 3)
    torch.testing.assert_close(raw, by_hand)


def test_maxvit_stages_and_channels_last_blocks():
    torch.manual_seed(0)
    model = timm.create_model("test_maxvit", pretrained=False, num_classes=5).eval()
    cam = GradCAM(model, use_cuda=False)
    x = torch.randn(1, 3, 160, 160)
    assert cam.attribute(x).ndim == 2
    shapes = {c.name: c for c in cam.candidate_layers()}
    assert all(c.layout == NCHW for c in shapes.values())
    inner = [n for n, _ in model.named_modules() if n.endswith("attn_grid")][-1]
    raw = GradCAM(model, target_layer=inner, use_cuda=False).attribute(x)
    by_hand = GradCAM(model, target_layer=inner, reshape_transform=channels_last, use_cuda=False).attribute(x)
    torch.testing.assert_close(raw, by_hand)


def test_efficientnet_and_vgg_at_32_pixels():
    torch.manual_seed(0)
    efficientnet = timm.create_model("test_efficientnet", pretrained=False, num_classes=5).eval()
    assert GradCAM(efficientnet, use_cuda=False).explain(torch.randn(1, 3, 64, 64)).shape == (64, 64)
    vgg = torchvision.models.vgg11(weights=None).eval()
    cam = GradCAM(vgg, target_layer="features.20", use_cuda=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        heatmap = cam.explain(torch.randn(1, 3, 32, 32))
    assert heatmap.shape == (32, 32) and np.all(heatmap == 0)
    assert any("'features.20' is 1x1 at this 32x32 input" in str(w.message) for w in caught)
    # candidates at the size actually used: the feature stack is 1x1 at 32 px, 2x2 at 64 px
    assert "features" not in [c.name for c in cam.candidate_layers((32, 32))]
    assert "features" in [c.name for c in cam.candidate_layers((64, 64))]


def test_one_channel_resnet_takes_gray_arrays_and_pil_l_images():
    from PIL import Image

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5, in_chans=1).eval()
    cam = GradCAM(model, use_cuda=False)
    gray = (np.random.default_rng(0).random((48, 40)) * 255).astype(np.uint8)
    from_array = cam.explain(gray, 1)
    from_pil = cam.explain(Image.fromarray(gray, mode="L"), 1)
    assert from_array.shape == (48, 40)
    np.testing.assert_allclose(from_array, from_pil, atol=1e-6)
    rgb = np.repeat(gray[..., None], 3, axis=2)  # a colour image of gray pixels: the same luminance
    np.testing.assert_allclose(cam.explain(rgb, 1), from_array, atol=1e-5)
    with pytest.raises(ValueError, match="model's 1 channels"):
        cam.explain(torch.randn(3, 32, 32))


def test_four_channel_model_takes_rgba():
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5, in_chans=4).eval()
    rgba = (np.random.default_rng(1).random((40, 40, 4)) * 255).astype(np.uint8)
    heatmap = ScoreCAM(model, use_cuda=False).explain(rgba)
    assert heatmap.shape == (40, 40) and np.isfinite(heatmap).all()


class Ambiguous(nn.Module):
    """A channels-last layer in a model that takes one input size only: no way to tell its layout."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=4, padding=1)
        self.mix = nn.Identity()
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        if x.shape[-1] != 32:
            raise AssertionError("this model takes 32x32 inputs")
        y = self.mix(self.conv(x).permute(0, 2, 3, 1))  # (B, 8, 8, 8): square and C == H == W
        return self.head(y.mean(dim=(1, 2)))


def test_an_ambiguous_layout_is_a_clear_error_and_reshape_transform_resolves_it():
    model = Ambiguous().eval()
    x = torch.randn(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"cannot tell whether layer 'mix'.*reshape_transform"):
        GradCAM(model, target_layer="mix", use_cuda=False).attribute(x)
    assert hook_count(model) == 0
    raw = GradCAM(model, target_layer="mix", reshape_transform=channels_last, use_cuda=False).attribute(x)
    assert raw.shape == (8, 8)


def test_two_size_layouts_reads_the_axes_that_move():
    first = {"a": (1, 64, 7, 7), "b": (1, 7, 7, 64), "c": (1, 64, 1, 1), "d": (1, 49, 64)}
    second = {"a": (1, 64, 14, 14), "b": (1, 14, 14, 64), "c": (1, 64, 1, 1), "d": (1, 196, 64)}
    assert two_size_layouts(first, second) == {"a": NCHW, "b": NHWC, "c": None}


def test_reshape_transform_that_returns_a_wrong_shape_is_refused():
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5).eval()
    cam = GradCAM(model, target_layer="layer4", reshape_transform=lambda t: t.flatten(1), use_cuda=False)
    with pytest.raises(ValueError, match="reshape_transform must map layer 'layer4'"):
        cam.explain(torch.randn(1, 3, 64, 64))
    with pytest.raises(TypeError, match="reshape_transform must be callable"):
        GradCAM(model, reshape_transform=3)


@pytest.mark.parametrize("channels", [1, 4])
def test_every_registered_cnn_method_takes_1_and_4_channel_models(channels):
    from autotimm_widgets.interpretation import create_explainer, list_methods

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5, in_chans=channels).eval()
    rng = np.random.default_rng(0)
    image = (rng.random((40, 40) if channels == 1 else (40, 40, 4)) * 255).astype(np.uint8)
    for name in list_methods(model):
        options = {"seed": 0} if name == "smoothgrad" else ({"steps": 4} if name == "integrated_gradients" else {})
        heatmap = create_explainer(name, model, use_cuda=False, **options).explain(image)
        assert heatmap.shape == (40, 40) and np.isfinite(heatmap).all(), name
    for baseline in ("black", "white", "blur", "random"):
        ig = create_explainer("integrated_gradients", model, use_cuda=False, steps=4, baseline=baseline)
        assert ig.explain(image).shape == (40, 40)


def test_two_size_layouts_with_a_grid_axis_that_stays_1():
    assert two_size_layouts({"a": (1, 8, 1, 5)}, {"a": (1, 8, 1, 10)}) == {"a": NCHW}
    assert two_size_layouts({"b": (1, 1, 5, 8)}, {"b": (1, 1, 10, 8)}) == {"b": NHWC}


def test_a_layer_followed_by_an_in_place_relu_is_explained_before_the_relu():
    import copy

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=5).eval()
    out_of_place = copy.deepcopy(model)
    for module in out_of_place.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    x = torch.randn(1, 3, 64, 64)
    layer = "layer3.0.bn1"  # its output goes through ReLU(inplace=True) next
    raw = GradCAM(model, target_layer=layer, use_cuda=False).attribute(x, 1)
    expected = GradCAM(out_of_place, target_layer=layer, use_cuda=False).attribute(x, 1)
    torch.testing.assert_close(raw, expected)
    activation, _ = GradCAM(model, target_layer=layer, use_cuda=False).layer_output(x)
    assert activation.min() < 0  # the BatchNorm's output, not the ReLU's
