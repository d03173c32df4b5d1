"""The method registry: names, descriptors and construction, and that they tell the truth.

Every descriptor is checked against the core it describes: defaults against the constructors,
bounds and choices against the validators, and the registry against the classes the package
exports, so a method that is not registered, or a descriptor that drifts, fails here.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import timm
import torch

import autotimm_widgets.interpretation as interpretation
from autotimm_widgets.interpretation import (
    BaseInterpreter,
    GradCAM,
    IntegratedGradients,
    SmoothGrad,
    compare_methods,
    create_explainer,
    list_methods,
    method_info,
    register_method,
)
from autotimm_widgets.interpretation._pixel import PixelAttribution
from autotimm_widgets.interpretation.cam import BaseCAM
from autotimm_widgets.interpretation.registry import _REGISTRY, constructor_parameters

from helpers.images import random_image
from helpers.params import ALL_PARAMS, CORE, PARAM_IDS, candidate_values, descriptor_allows


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return timm.create_model("test_resnet", pretrained=False, num_classes=4).eval()


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    return timm.create_model("test_vit", pretrained=False, num_classes=4).eval()


def test_list_methods_names_every_method_in_order_and_filters_by_model(cnn, vit):
    names = list_methods()
    assert [n for n in names if n in CORE] == CORE  # the contract's methods, in the documented order
    caps = [method_info(n).capabilities for n in names]
    groups = [(c.wrapper, c.needs_attention) for c in caps]
    assert groups == sorted(groups)  # attribution methods, then attention methods, then wrappers
    # the methods that change how ReLUs or other modules back-propagate refuse the ViT's GELU and LayerNorm
    refused_by_vit = {"guided_backprop", "deconvolution", "guided_gradcam", "deeplift", "deeplift_shap", "lrp"}
    assert list_methods(vit) == [n for n in names if n not in refused_by_vit]
    assert all(method_info(n).cls.unsupported(vit) for n in refused_by_vit)
    assert list_methods(cnn) == [n for n, c in zip(names, caps, strict=True) if not c.needs_attention]
    assert {"gradcam", "gradcam++", "integrated_gradients", "smoothgrad"} <= set(list_methods(cnn))


def test_every_public_explainer_class_is_registered():
    exported = [getattr(interpretation, name) for name in interpretation.__all__]
    classes = {c for c in exported if inspect.isclass(c) and issubclass(c, BaseInterpreter)}
    abstract = {BaseInterpreter, BaseCAM, PixelAttribution}
    registered = {method_info(name).cls for name in list_methods()}
    assert classes - abstract == registered, f"not registered: {classes - abstract - registered}"
    for name in list_methods():
        assert method_info(name).cls.method_name == name


def test_method_info_describes_capabilities():
    ig = method_info("integrated_gradients")
    assert ig.cls is IntegratedGradients and ig.label == "Integrated Gradients"
    assert ig.capabilities.class_specific and ig.capabilities.smoothable and ig.capabilities.resolution == "pixel"
    assert [p.name for p in ig.params] == ["steps", "baseline"]
    assert method_info("gradcam").capabilities.takes_layer and method_info("gradcam").capabilities.shared_classes
    flow = method_info("attention_flow").capabilities
    assert flow.needs_attention and flow.takes_patch and not flow.class_specific
    assert method_info("smoothgrad").capabilities.wrapper
    json.dumps([method_info(n).describe() for n in list_methods()])  # the widget sends these to the browser


def test_method_info_refuses_unknown_names_with_the_closest_ones():
    with pytest.raises(ValueError, match=r"no method named 'gradcm'.*'gradcam'"):
        method_info("gradcm")
    with pytest.raises(TypeError, match="must be a str"):
        method_info(3)


@pytest.mark.parametrize("name, param", ALL_PARAMS, ids=PARAM_IDS)
def test_a_param_default_is_its_constructors(name, param):
    info = method_info(name)
    declared = constructor_parameters(info.cls)[param.argument or param.name].default
    if declared is inspect.Parameter.empty:  # a wrapper's base: no constructor default, a method name
        assert info.capabilities.wrapper and param.default in list_methods()
    else:
        assert param.default == declared
    assert param.validate(param.default) == param.default
    json.dumps(param.describe())


@pytest.mark.parametrize("name, param", ALL_PARAMS, ids=PARAM_IDS)
def test_a_descriptor_states_exactly_what_the_core_validator_accepts(name, param):
    if param.name == "base":
        assert param.validate("integrated_gradients") == "integrated_gradients"
        with pytest.raises(ValueError, match="cannot wrap"):
            param.validate("attention_rollout")
        return
    for value in candidate_values(param):
        try:
            param.validate(value)
            accepted = True
        except (TypeError, ValueError):
            accepted = False
        assert accepted == descriptor_allows(param, value), (param.name, value)


def test_params_that_share_a_name_share_their_meaning():
    seen = {}
    for _, param in ALL_PARAMS:
        key = (param.kind, param.check, param.choices, param.minimum, param.maximum, param.maximum_inclusive)
        assert seen.setdefault(param.name, key) == key, param.name


def test_create_explainer_builds_the_class_and_validates_with_the_core(cnn):
    image = random_image(64, 64)
    built = create_explainer("gradcam", cnn, use_cuda=False, target_layer="layer4")
    assert type(built) is GradCAM and built.target_layer == "layer4"
    np.testing.assert_array_equal(built.explain(image, 1), GradCAM(cnn, "layer4", use_cuda=False).explain(image, 1))
    ig = create_explainer("integrated_gradients", cnn, steps=3, baseline="white", use_cuda=False, internal_batch_size=2)
    assert (ig.steps, ig.baseline, ig.internal_batch_size) == (3, "white", 2)
    with pytest.raises(ValueError, match="steps must be at most 10000"):
        create_explainer("integrated_gradients", cnn, steps=10_001)
    with pytest.raises(TypeError, match="takes no parameter 'discard_ratio'"):
        create_explainer("gradcam", cnn, discard_ratio=0.5)


def test_create_explainer_wraps_a_base_for_smoothgrad(cnn):
    image = random_image(64, 64)
    smooth = create_explainer(
        "smoothgrad", cnn, base="integrated_gradients", steps=3, num_samples=2, seed=0, use_cuda=False
    )
    assert isinstance(smooth, SmoothGrad) and isinstance(smooth.base_explainer, IntegratedGradients)
    assert smooth.base_explainer.steps == 3 and smooth.num_samples == 2
    direct = SmoothGrad(IntegratedGradients(cnn, steps=3, use_cuda=False), num_samples=2, seed=0)
    np.testing.assert_allclose(smooth.explain(image, 0), direct.explain(image, 0), atol=1e-6)
    default = create_explainer("smoothgrad", cnn, use_cuda=False)
    assert type(default.base_explainer) is GradCAM and default.noise_level == 0.15
    with pytest.raises(ValueError, match="cannot wrap 'attention_rollout'"):
        create_explainer("smoothgrad", cnn, base="attention_rollout")


@pytest.fixture
def toy_method():
    """A method registered by a test, as a new method's file would: a CAM with uniform weights."""

    @register_method("toy_cam", label="Toy CAM", takes_layer=True, shared_classes=True)
    class ToyCAM(BaseCAM):
        @staticmethod
        def cam_weights(activations, gradients):
            return torch.ones(gradients.shape[:3], dtype=gradients.dtype, device=gradients.device)

    yield ToyCAM
    del _REGISTRY["toy_cam"]


def test_a_method_that_registers_itself_is_listed_built_and_compared(toy_method, cnn):
    image = random_image(64, 64)
    assert "toy_cam" in list_methods(cnn)
    assert type(create_explainer("toy_cam", cnn, use_cuda=False)) is toy_method
    maps = compare_methods(cnn, image, ["gradcam", "toy_cam"], use_cuda=False)
    expected = toy_method(cnn, use_cuda=False).explain(image, int(GradCAM(cnn, use_cuda=False).predict(image).argmax()))
    np.testing.assert_allclose(maps["toy_cam"], expected, atol=1e-5)
    with pytest.raises(ValueError, match="registered already"):
        register_method("toy_cam", label="again")(toy_method)
