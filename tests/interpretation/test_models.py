"""Any classifier output shape the contract accepts; anything else a clear error."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import timm
import torch
from torch import nn

from autotimm_widgets.interpretation import GradCAM
from autotimm_widgets.interpretation.preprocessing import PreprocessConfig

from helpers.images import random_image
from helpers.models import ModelSnapshot


class Wrapped(nn.Module):
    def __init__(self, wrap):
        super().__init__()
        torch.manual_seed(0)
        self.net = timm.create_model("test_resnet", pretrained=False, num_classes=6)
        self.wrap = wrap

    def forward(self, x):
        return self.wrap(self.net(x))


WRAPS = {
    "tensor": lambda y: y,
    "tuple": lambda y: (y, y.sum()),
    "list": lambda y: [y],
    "hf_output": lambda y: SimpleNamespace(logits=y, hidden_states=None),
    "dict": lambda y: {"logits": y, "aux": y * 2},
}


def test_all_output_forms_give_the_same_map():
    maps = {
        name: GradCAM(Wrapped(wrap).eval(), use_cuda=False).explain(random_image(), target_class=2)
        for name, wrap in WRAPS.items()
    }
    for name, heatmap in maps.items():
        np.testing.assert_allclose(heatmap, maps["tensor"], atol=1e-6, err_msg=name)


@pytest.mark.parametrize(
    "wrap, words",
    [
        (lambda y: y[:, :, None], r"shape \(B, C\)"),
        (lambda y: {"scores": y}, "'logits' key"),
        (lambda y: "nope", "must return logits"),
    ],
)
def test_bad_outputs_are_named(wrap, words):
    model = Wrapped(wrap).eval()
    snapshot = ModelSnapshot(model)
    with pytest.raises(ValueError, match=words):
        GradCAM(model, use_cuda=False).explain(random_image())
    snapshot.assert_unchanged()


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match=r"nn\.Module"):
        GradCAM(lambda x: x, use_cuda=False)


def test_preprocessing_comes_from_the_timm_config():
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, img_size=160)
    config = GradCAM(model, use_cuda=False).preprocessor.config
    assert config.input_size == (160, 160)
    assert config.mean == pytest.approx(model.pretrained_cfg["mean"])


def test_preprocess_override_dict_and_callable(resnet18):
    explainer = GradCAM(resnet18, use_cuda=False, preprocess={"mean": 0.5, "std": 0.5, "input_size": 64})
    assert explainer.preprocessor.config == PreprocessConfig((0.5,) * 3, (0.5,) * 3, (64, 64), "bilinear")
    assert explainer.attribute(random_image()).shape == (2, 2)

    seen = []

    def transform(image):
        seen.append(image.shape)
        return torch.zeros(3, 96, 96)

    explainer = GradCAM(resnet18, use_cuda=False, preprocess=transform)
    heatmap = explainer.explain(random_image(50, 70))
    assert seen == [(50, 70, 3)] and heatmap.shape == (50, 70)
    with pytest.raises(TypeError, match="preprocess must be"):
        GradCAM(resnet18, use_cuda=False, preprocess=3)
    with pytest.raises(ValueError, match="unknown preprocess keys"):
        GradCAM(resnet18, use_cuda=False, preprocess={"men": 0.5})


def test_plain_model_uses_imagenet_defaults(bright_spot_net):
    config = GradCAM(bright_spot_net, use_cuda=False).preprocessor.config
    assert config == PreprocessConfig()
