"""Model-parameter randomisation check: known answers on constructed models, order, copy-only, Spearman."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import timm
import torch
from scipy.stats import spearmanr
from torch import nn

from autotimm_widgets.interpretation import GradCAM
from autotimm_widgets.interpretation._model import logits_of
from autotimm_widgets.interpretation.base import BaseInterpreter, BatchAttribution
from autotimm_widgets.interpretation.metrics import parameter_randomisation, randomisation_layers, rank_correlation

from helpers.images import random_image, square_image
from helpers.models import BrightSpotNet, ModelSnapshot

SIZE = 16
SMALL = {"input_size": SIZE}


class InputGradient(BaseInterpreter):
    """|d logit / d input| summed over channels: for a linear model, exactly its weights."""

    def _attribute(self, inputs, classes):
        x = inputs.detach().requires_grad_(True)
        logits = logits_of(self.model(x))
        targets = self._targets(logits, classes)
        (grads,) = torch.autograd.grad(logits.gather(1, targets).sum(), x)
        return BatchAttribution(grads.abs().sum(1, keepdim=True), logits.detach(), targets)


class Brightness(BaseInterpreter):
    """Ignores the model: the map is the image's brightness (the kind of map the check exposes)."""

    def _attribute(self, inputs, classes):
        with torch.no_grad():
            logits = logits_of(self.model(inputs))
        brightness = inputs.mean(dim=1, keepdim=True)
        return BatchAttribution(
            brightness - brightness.amin(dim=(2, 3), keepdim=True), logits, self._targets(logits, classes)
        )


class SquareLinear(nn.Module):
    """``features``: both outputs weigh the pixels of a square; ``head`` mixes them; ``spare`` never runs.

    The input gradient of any class is (a mix of head weights) x the square pattern, so its
    ranking depends on ``features`` only: randomising ``head`` keeps it, ``features`` destroys it.
    """

    def __init__(self) -> None:
        super().__init__()
        pattern = torch.zeros(3, SIZE, SIZE)
        pattern[:, 4:12, 4:12] = 1.0
        pattern += torch.linspace(0, 0.1, SIZE * SIZE).view(1, SIZE, SIZE)  # a ranking within each part
        self.features = nn.Linear(3 * SIZE * SIZE, 2)
        self.head = nn.Linear(2, 2)
        self.spare = nn.Linear(2, 2)
        with torch.no_grad():
            self.features.weight.copy_(pattern.flatten().expand(2, -1))
            self.features.bias.zero_()
            self.head.weight.copy_(torch.tensor([[1.0, 0.5], [0.5, 1.0]]))
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.features(x.flatten(1)))


IMAGES = [random_image(SIZE, SIZE, seed=s) for s in range(3)]


def run(model, explainer=InputGradient, **options):
    return parameter_randomisation(
        model, explainer, IMAGES, [0, 1, 0], explainer_kwargs={"use_cuda": False, "preprocess": SMALL}, **options
    )


def test_layers_that_do_not_shape_the_map_keep_it_and_the_relevant_layer_destroys_it():
    result = run(SquareLinear())
    assert result.layers == ["spare", "head", "features"]
    spare, head, features = result.correlations
    np.testing.assert_array_equal(spare, 1.0)  # never runs: the very same maps
    np.testing.assert_allclose(head, 1.0)  # only rescales the map
    assert np.all(np.abs(features) < 0.3), features  # the map was the features' weights: now noise


def test_a_map_that_ignores_the_model_fails_the_check():
    result = run(SquareLinear(), Brightness)
    np.testing.assert_array_equal(result.correlations, 1.0)


def test_each_layer_alone_equals_a_cascade_of_that_layer():
    model = SquareLinear()
    alone = run(model, cascade=False)
    assert alone.cascade is False
    for i, layer in enumerate(alone.layers):
        single = run(model, layers=[layer])
        np.testing.assert_allclose(alone.correlations[i], single.correlations[0])
        for a, b in zip(alone.randomised[i], single.randomised[0]):
            np.testing.assert_array_equal(a, b)
    # with the head restored, randomising only the features still destroys the map
    assert np.all(np.abs(alone.correlations[2]) < 0.3)


def test_randomised_weights_are_zero_mean_noise_at_each_tensors_own_scale():
    model = SquareLinear()
    result = run(model, layers=["head"], seed=5)
    expected = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for param in expected.head.parameters():  # weight, then bias (all zero: unit scale)
            rms = param.square().mean().sqrt()
            scale = rms if rms > 0 else 1.0
            param.copy_(torch.randn(param.shape, generator=generator) * scale)
    want = InputGradient(expected, use_cuda=False, preprocess=SMALL).explain_batch(IMAGES, [0, 1, 0], normalize=False)
    for got, reference in zip(result.randomised[0], want):
        np.testing.assert_allclose(got, reference, rtol=1e-6)
    original = InputGradient(model, use_cuda=False, preprocess=SMALL).explain_batch(IMAGES, [0, 1, 0], normalize=False)
    for got, reference in zip(result.original, original):
        np.testing.assert_allclose(got, reference, rtol=1e-6)


def test_the_users_model_and_random_state_are_untouched():
    model = BrightSpotNet().train()
    model.head.weight.requires_grad_(False)
    snapshot = ModelSnapshot(model)
    rng_state = torch.get_rng_state()
    image = square_image(64, 64, 10, 20, 24)
    result = parameter_randomisation(
        model, GradCAM, image, 0, explainer_kwargs={"use_cuda": False, "target_layer": "features"}
    )
    snapshot.assert_unchanged()
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert result.layers == ["head", "features.0"]
    assert result.correlations.shape == (2, 1) and len(result.randomised) == 2
    assert result.original[0].shape == (64, 64)


def test_a_factory_works_and_no_class_means_the_original_prediction_throughout():
    model = SquareLinear()
    x = torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() / 255 for i in IMAGES])
    from autotimm_widgets.interpretation.preprocessing import Preprocessor

    with torch.no_grad():
        predicted = model(Preprocessor(model, SMALL).normalize(x)).argmax(dim=1).tolist()
    result = parameter_randomisation(model, lambda m: InputGradient(m, use_cuda=False, preprocess=SMALL), IMAGES)
    assert result.target_classes.tolist() == predicted
    with_classes = parameter_randomisation(
        model, InputGradient, IMAGES, predicted, explainer_kwargs={"use_cuda": False, "preprocess": SMALL}
    )
    np.testing.assert_allclose(result.correlations, with_classes.correlations)


def test_default_layers_run_from_the_output_side():
    resnet = timm.create_model("resnet18", pretrained=False, num_classes=3).train()
    snapshot = ModelSnapshot(resnet)
    assert randomisation_layers(resnet) == [
        "fc", "layer4.1", "layer4.0", "layer3.1", "layer3.0", "layer2.1", "layer2.0", "layer1.1", "layer1.0", "bn1", "conv1",
    ]  # fmt: skip
    vit = timm.create_model("test_vit", pretrained=False, num_classes=3)
    depth = len(vit.blocks)
    assert randomisation_layers(vit) == [
        "head", "norm", *[f"blocks.{i}" for i in reversed(range(depth))], "patch_embed", "pos_embed", "cls_token",
    ]  # fmt: skip
    assert randomisation_layers(resnet, ["conv1", "fc", "layer2.0.bn1"]) == ["fc", "layer2.0.bn1", "conv1"]
    snapshot.assert_unchanged()  # the order comes from one forward pass, in eval mode, with no hook left


def test_rank_correlation_matches_scipy_with_ties_and_is_nan_for_flat_maps():
    rng = np.random.default_rng(0)
    a = [np.round(rng.random((6, 7)), 1) for _ in range(4)] + [rng.random((5, 5))]
    b = [np.round(m + rng.normal(0, 0.3, m.shape), 1) for m in a[:4]] + [np.full((5, 5), 0.2)]
    got = rank_correlation(a, b)
    for i in range(4):
        assert got[i] == pytest.approx(spearmanr(a[i].ravel(), b[i].ravel()).statistic, abs=1e-12)
    assert np.isnan(got[4])
    assert rank_correlation([a[0]], [a[0]])[0] == pytest.approx(1.0)
    assert rank_correlation([a[0]], [-a[0]])[0] == pytest.approx(-1.0)


@pytest.mark.parametrize(
    "explainer, kwargs, error, message",
    [
        (GradCAM(BrightSpotNet(), use_cuda=False), None, TypeError, "not an explainer built on your model"),
        ("GradCAM", None, TypeError, "explainer class or a factory"),
        (nn.Linear, None, TypeError, "explainer class or a factory"),
        (
            lambda m: InputGradient(m, use_cuda=False),
            {"use_cuda": False},
            ValueError,
            "explainer_kwargs go with an explainer class",
        ),
        (lambda m: "not an explainer", None, TypeError, "must return an explainer"),
    ],
)
def test_bad_explainers_are_rejected(explainer, kwargs, error, message):
    model = SquareLinear()
    snapshot = ModelSnapshot(model)
    with pytest.raises(error, match=message):
        parameter_randomisation(model, explainer, IMAGES, explainer_kwargs=kwargs)
    snapshot.assert_unchanged()


def test_a_factory_that_ignores_its_argument_is_rejected():
    model = SquareLinear()
    with pytest.raises(ValueError, match="on the model it is given"):
        parameter_randomisation(model, lambda m: InputGradient(model, use_cuda=False), IMAGES)


@pytest.mark.parametrize(
    "layers, message",
    [
        (["fetures"], "Did you mean 'features'"),
        (["features", "nope"], "not a module or parameter"),
        ([], "layers is empty"),
    ],
)
def test_bad_layer_names_are_rejected(layers, message):
    model = SquareLinear()
    snapshot = ModelSnapshot(model)
    with pytest.raises(ValueError, match=message):
        run(model, layers=layers)
    snapshot.assert_unchanged()


def test_a_layer_without_parameters_is_rejected():
    model = BrightSpotNet()
    with pytest.raises(ValueError, match="no parameters to randomise"):
        parameter_randomisation(
            model, GradCAM, random_image(32, 32), layers=["pool"], explainer_kwargs={"use_cuda": False}
        )
