"""Model outputs and layers, for every registered method: every output form gives the plain
model's map, bad outputs and layers are named, non-finite outputs are never a silent map."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from torch import nn

from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus, SmoothGrad

from helpers.battery import GOOD, assert_refused
from helpers.models import ModelSnapshot


# -- model outputs -----------------------------------------------------------------------------------
class Output(nn.Module):
    """The tiny model with its logits passed through ``wrap``."""

    def __init__(self, net: nn.Module, wrap):
        super().__init__()
        self.net, self.wrap = net, wrap

    def forward(self, x):
        return self.wrap(self.net(x))


def _hf_output(logits):
    from transformers.modeling_outputs import ImageClassifierOutput

    return ImageClassifierOutput(logits=logits)


GOOD_OUTPUTS = {
    "tuple": lambda y: (y, y.sum()),
    "list": lambda y: [y],
    "dict": lambda y: {"logits": y, "aux": y * 2},
    "namespace": lambda y: SimpleNamespace(logits=y),
    "hf": _hf_output,
}
BAD_OUTPUTS = {
    "3-D": (lambda y: y[:, :, None], ["(B, C)", "(1, 5, 1)"]),
    "1-D": (lambda y: y[0], ["(B, C)", "(5,)"]),
    "no-classes": (lambda y: y[:, :0], ["C >= 1", "(1, 0)"]),
    "dict-without-logits": (lambda y: {"scores": y}, ["'logits' key", "scores"]),
    "none": (lambda y: None, ["must return logits", "NoneType"]),
    "empty-tuple": (lambda y: (), ["must return logits", "tuple"]),
    "integer-logits": (lambda y: y.long(), ["floating point", "int64"]),
}


@pytest.mark.parametrize("output", list(GOOD_OUTPUTS))
def test_every_output_form_gives_the_plain_models_map(case, output):
    wrapped = case.spec.build(Output(case.model, GOOD_OUTPUTS[output]))
    np.testing.assert_allclose(wrapped.explain(GOOD), case.explainer.explain(GOOD), atol=1e-5)


@pytest.mark.parametrize("output", list(BAD_OUTPUTS))
def test_bad_outputs_are_named(case, output):
    wrap, words = BAD_OUTPUTS[output]
    bad = case.spec.build(Output(case.model, wrap))
    assert_refused(case, lambda: bad.explain(GOOD), ValueError, words)


def test_non_finite_outputs_are_never_a_silent_map(case):
    """NaN logits: class-specific maps would be NaN, so they are refused; attention maps do not use them."""
    nan = case.spec.build(Output(case.model, lambda y: y * float("nan")))
    if case.spec.takes_class:
        assert_refused(case, lambda: nan.explain(GOOD), ValueError, ["not finite", "NaN or Inf"])
    else:
        np.testing.assert_allclose(nan.explain(GOOD), case.explainer.explain(GOOD), atol=1e-6)


# -- layers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arch, layer, error, words",
    [
        ("cnn", "layer5", ValueError, ["no layer named 'layer5'", "'layer4'"]),
        ("cnn", "fc", ValueError, ["'fc' outputs shape (", ", 5)", "spatial", "'layer4'"]),
        ("cnn", "global_pool", ValueError, [", 96)", "Candidates"]),
        ("vit", "blocks.99", ValueError, ["no layer named 'blocks.99'", "'blocks.5'"]),
        ("vit", "head", ValueError, ["'head' outputs shape (", "'blocks.5.norm1'"]),
        ("vit", "", ValueError, ["no layer named ''"]),
        ("cnn", 4, TypeError, ["target_layer", "int"]),
        ("cnn", nn.Linear(2, 2), ValueError, ["not a submodule"]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("method", ["GradCAM", "GradCAMPlusPlus", "SmoothGrad"])
def test_bad_layers_are_named(models, method, arch, layer, error, words):
    model = models[arch]
    snapshot = ModelSnapshot(model)
    cam = GradCAMPlusPlus if method == "GradCAMPlusPlus" else GradCAM

    def build_and_explain():
        explainer = cam(model, target_layer=layer, use_cuda=False)
        explainer = SmoothGrad(explainer, num_samples=2, seed=0) if method == "SmoothGrad" else explainer
        explainer.explain(GOOD)

    with pytest.raises(error) as raised:
        build_and_explain()
    for word in words:
        assert word in str(raised.value)
    snapshot.assert_unchanged()


def test_a_bad_layer_set_later_leaves_the_explainer_usable(models):
    model = models["cnn"]
    snapshot = ModelSnapshot(model)
    explainer = GradCAM(model, use_cuda=False)
    expected = explainer.explain(GOOD)
    explainer.set_target_layer("fc")
    with pytest.raises(ValueError, match="spatial"):
        explainer.explain(GOOD)
    with pytest.raises(ValueError, match="no layer named"):
        explainer.set_target_layer("nope")
    explainer.set_target_layer(None)
    np.testing.assert_allclose(explainer.explain(GOOD), expected, atol=1e-6)
    snapshot.assert_unchanged()


def test_the_model_must_be_a_module(case):
    with pytest.raises(TypeError, match=r"nn\.Module"):
        case.spec.build(lambda x: x)
