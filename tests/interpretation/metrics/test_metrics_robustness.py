"""Infidelity and max-sensitivity against ``captum.metrics`` on the same inputs and perturbations."""

from __future__ import annotations

import pytest
import timm
import torch
from captum.attr import DeepLift as CaptumDeepLift
from captum.attr import Saliency as CaptumSaliency
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max as captum_sensitivity

from autotimm_widgets.interpretation import DeepLift, GradCAM, InputXGradient, Saliency
from autotimm_widgets.interpretation.metrics import infidelity, sensitivity_max

PRE = {"input_size": 64, "mean": 0.5, "std": 0.5}
TARGETS = [3, 5]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return timm.create_model("test_resnet", pretrained=False, num_classes=10).eval()


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def fixed(tensor):
    return tensor.clone()


@pytest.mark.parametrize("normalize", [False, True])
def test_infidelity_equals_captum(model, inputs, normalize):
    explainer = InputXGradient(model, use_cuda=False, preprocess=PRE)
    noise = torch.randn(2 * 8, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 0.1

    def perturb(x):
        return noise, x - noise

    attributions = explainer.signed_batch(inputs, [[t] for t in TARGETS]).attributions[:, 0]
    ours = infidelity(
        explainer, inputs, TARGETS, n_perturb_samples=8, perturb_func=perturb, normalize=normalize, batch_size=5
    )
    theirs = captum_infidelity(
        model, perturb, inputs, attributions, target=torch.tensor(TARGETS), n_perturb_samples=8, normalize=normalize
    )
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=0)  # float32 logit differences, batched differently
    assert (ours > 0).all()


def test_infidelity_scores_given_attributions_and_prefers_the_faithful_ones(model, inputs):
    """For small perturbations the first-order attribution (the gradient) predicts the logit change far
    better than a random attribution of the same size: its infidelity is lower."""
    explainer = Saliency(model, use_cuda=False, preprocess=PRE, abs=False)
    gradient = explainer.signed_batch(inputs, [[t] for t in TARGETS]).attributions[:, 0]
    shuffled = gradient.flatten(1)[:, torch.randperm(gradient[0].numel(), generator=torch.Generator().manual_seed(0))]
    good = infidelity(explainer, inputs, TARGETS, attributions=gradient, noise_std=1e-3)
    bad = infidelity(explainer, inputs, TARGETS, attributions=shuffled.view_as(gradient), noise_std=1e-3)
    assert (good * 10 < bad).all()
    assert torch.equal(good, infidelity(explainer, inputs, TARGETS, attributions=gradient, noise_std=1e-3))  # seeded


@pytest.mark.parametrize("method,reference", [(Saliency, CaptumSaliency), (DeepLift, CaptumDeepLift)])
def test_sensitivity_max_equals_captum(model, inputs, method, reference):
    explainer = method(model, use_cuda=False, preprocess=PRE)
    uniform = torch.rand(2 * 5, 3, 64, 64, generator=torch.Generator().manual_seed(3)) * 0.04 - 0.02

    def perturb(x, radius):
        return x + uniform

    ours = sensitivity_max(explainer, inputs, TARGETS, n_perturb_samples=5, perturb_func=perturb, batch_size=3)
    theirs = captum_sensitivity(
        reference(model).attribute, inputs, perturb_func=perturb, n_perturb_samples=5, target=torch.tensor(TARGETS)
    )
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-7)
    assert (ours > 0).all()


def test_sensitivity_grows_with_the_radius(model, inputs):
    explainer = Saliency(model, use_cuda=False, preprocess=PRE)
    small = sensitivity_max(explainer, inputs, TARGETS, perturb_radius=0.001)
    large = sensitivity_max(explainer, inputs, TARGETS, perturb_radius=0.2)
    assert (small < large).all()


def test_metrics_refuse_explainers_without_signed_attributions(model, inputs):
    cam = GradCAM(model, use_cuda=False, preprocess=PRE)
    with pytest.raises(TypeError, match="signed attributions"):
        infidelity(cam, inputs)
    with pytest.raises(TypeError, match="signed attributions"):
        sensitivity_max(cam, inputs)
    explainer = Saliency(model, use_cuda=False, preprocess=PRE)
    with pytest.raises(ValueError, match="n_perturb_samples"):
        infidelity(explainer, inputs, n_perturb_samples=0)
    with pytest.raises(ValueError, match="shape"):
        infidelity(explainer, inputs, attributions=torch.zeros(1, 3, 8, 8))
