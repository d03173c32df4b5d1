"""Preprocessing: from the timm config, from a user dict or callable, ImageNet for plain models."""

from __future__ import annotations

import pytest
import timm
import torch

from autotimm_widgets.interpretation import GradCAM
from autotimm_widgets.interpretation.preprocessing import PreprocessConfig

from helpers.images import random_image


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
