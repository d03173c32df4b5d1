"""Captum's gradient and perturbation family, against Captum itself.

Same model, input tensor, target and baseline; ``attribute`` (ours, signed, in the model's input
space) equals Captum's ``attribute`` within a relative error of 1e-5 (max |ours - theirs| / max
|theirs|). Models: timm's tiny test models and resnet18 / vgg11 at 64-96 px, random weights.

Where the two differ on purpose, the test says so:
* GradientShap samples: the fixed-seed test gives ours Captum's own draws (NumPy's baseline
  indices and alphas, torch's noise, in Captum's order) and then agrees within 1e-5.
* DeepLift on max pooling: Captum's cross-max rule is lost whenever a hooked module (a ReLU)
  feeds the pool, as in every ResNet stem, because the ReLU's hook records the gradient before
  the pool's rule rewrites it; so Captum computes the plain gradient there. Our
  ``pool_rule='gradient'`` (the default) equals Captum on those models, ``'cross_max'`` equals
  Captum where its rule does run; both are checked, and so is the artefact itself.
* LRP: Captum refuses nn.Identity and nn.Flatten unless a rule is set; the reference runs give
  them Captum's EpsilonRule, which leaves the relevance unchanged up to epsilon.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import timm
import torch
from captum import attr as ca
from captum.attr._utils.lrp_rules import EpsilonRule
from torch import nn

from autotimm_widgets.interpretation import (
    LRP,
    Deconvolution,
    DeepLift,
    DeepLiftShap,
    FeatureAblation,
    GradientShap,
    GuidedBackprop,
    GuidedGradCAM,
    InputXGradient,
    Occlusion,
    Saliency,
)

SIZE = 64
PRE = {"input_size": SIZE, "mean": 0.5, "std": 0.5}
TARGETS = [3, 5]
RTOL = 1e-5


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    theirs = theirs.detach()
    assert float(theirs.abs().max()) > 0, "the reference attribution is all zero: the case tests nothing"
    return float((ours - theirs).abs().max() / theirs.abs().max())


@pytest.fixture(scope="module")
def models():
    built = {}
    for name in ("test_resnet", "resnet18", "test_vit", "vgg11"):
        torch.manual_seed(0)
        built[name] = timm.create_model(name, pretrained=False, num_classes=10).eval()
    return built


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def ours(explainer, x, targets=TARGETS):
    return explainer.signed_batch(x, [[t] for t in targets]).attributions[:, 0]


GRADIENT_CASES = [
    (Saliency, ca.Saliency, {}, {}),
    (Saliency, ca.Saliency, {"abs": False}, {"abs": False}),
    (InputXGradient, ca.InputXGradient, {}, {}),
    (GuidedBackprop, ca.GuidedBackprop, {}, {}),
    (Deconvolution, ca.Deconvolution, {}, {}),
]


@pytest.mark.parametrize("arch", ["test_resnet", "resnet18", "test_vit"])
@pytest.mark.parametrize(
    "method,reference,options,ref_options", GRADIENT_CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_gradient_methods_equal_captum(models, inputs, arch, method, reference, options, ref_options):
    model = models[arch]
    if method.unsupported(model) is not None:  # the guided rules need nn.ReLU; the ViT has GELU
        with pytest.raises(ValueError, match="GELU"):
            method(model, use_cuda=False, preprocess=PRE)
        return
    mine = ours(method(model, use_cuda=False, preprocess=PRE, **options), inputs)
    theirs = reference(model).attribute(inputs.clone().requires_grad_(True), target=TARGETS, **ref_options)
    assert relative_error(mine, theirs) <= RTOL


@pytest.mark.parametrize("arch,layer", [("test_resnet", "layer4"), ("resnet18", "layer3"), ("resnet18", "layer2.1")])
def test_guided_gradcam_equals_captum(models, arch, layer):
    model = models[arch]
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(2))
    explainer = GuidedGradCAM(model, layer, use_cuda=False, preprocess={**PRE, "input_size": 96})
    theirs = ca.GuidedGradCam(model, model.get_submodule(layer)).attribute(
        x.clone().requires_grad_(True), target=TARGETS
    )
    assert relative_error(ours(explainer, x), theirs) <= RTOL


@pytest.mark.parametrize("arch", ["test_resnet", "test_vit"])
@pytest.mark.parametrize("window,stride", [(15, 8), (16, 16), (7, 3)])
def test_occlusion_equals_captum(models, inputs, arch, window, stride):
    # float64, as for FeatureAblation below: a 7 px window's logit drops are small, and float32
    # rounding of differently batched passes (or another thread count) reached 1.3e-5 of them
    model = copy.deepcopy(models[arch]).double()
    inputs = inputs.double()
    mine = ours(Occlusion(model, window, stride, use_cuda=False, preprocess=PRE), inputs)  # batches fit memory
    theirs = ca.Occlusion(model).attribute(
        inputs,
        sliding_window_shapes=(3, window, window),
        strides=(3, stride, stride),
        target=TARGETS,
        perturbations_per_eval=7,
    )
    assert relative_error(mine, theirs) <= RTOL


def scene(seed: int) -> torch.Tensor:
    """A structured image in the model's input space (SLIC finds no regions in white noise)."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.zeros(3, SIZE, SIZE)
    for _ in range(6):
        top, left, h, w = (int(v) for v in torch.randint(0, SIZE - 8, (4,), generator=g))
        pixels[:, top : top + h // 2 + 4, left : left + w // 2 + 4] = torch.rand(3, 1, 1, generator=g)
    return (pixels - 0.5) / 0.5


@pytest.mark.parametrize("arch", ["test_resnet", "test_vit"])
@pytest.mark.parametrize("features", ["patches", "superpixels", "mask"])
def test_feature_ablation_equals_captum(models, arch, features):
    # float64: the logit drops of small patches are ~1e-3 of the logits, so float32 rounding of
    # differently batched passes alone reaches ~1e-5 of them
    model = copy.deepcopy(models[arch]).double()
    x = torch.stack([scene(0), scene(1)]).double()
    options = (
        {"feature_mask": (torch.arange(SIZE)[:, None] // 10 * 7 + torch.arange(SIZE) // 20)}
        if features == "mask"
        else {}
    )
    explainer = FeatureAblation(
        model,
        "patches" if features == "mask" else features,
        patch_size=12,
        segments=12,
        use_cuda=False,
        preprocess=PRE,
        perturbations_per_eval=5,
        **options,
    )
    ids = explainer._feature_ids(x)
    assert int(ids.max()) >= 5  # several features per image
    theirs = torch.cat(
        [
            ca.FeatureAblation(model).attribute(x[i : i + 1], feature_mask=ids[i][None, None], target=t)
            for i, t in enumerate(TARGETS)
        ]
    )
    assert relative_error(ours(explainer, x), theirs) <= RTOL


def captum_draws(seed: int, count: int, samples: int, members: int, stdev: float, shape):
    """The draws Captum's GradientShap makes after ``np.random.seed(seed); torch.manual_seed(seed)``,
    in its order: the noise (torch.normal), the baseline indices and the alphas (NumPy)."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    noise = torch.normal(0, torch.tensor(stdev).repeat((count * samples, *shape)))
    index = torch.tensor(np.random.choice(members, samples * count))
    alpha = torch.tensor(np.random.uniform(0.0, 1.0, count * samples), dtype=torch.float32)
    return index, alpha, noise


@pytest.mark.parametrize("arch", ["test_resnet", "test_vit"])
def test_gradient_shap_equals_captum_on_the_same_draws(models, inputs, arch):
    model, samples, stdev = models[arch], 6, 0.1
    explainer = GradientShap(
        model,
        "black+white+random",
        n_samples=samples,
        stdevs=stdev,
        use_cuda=False,
        preprocess=PRE,
        internal_batch_size=5,
    )
    distribution = explainer._baselines.build(inputs, explainer.preprocessor)[0]
    np.random.seed(7)
    torch.manual_seed(7)
    theirs = ca.GradientShap(model).attribute(
        inputs, baselines=distribution, n_samples=samples, stdevs=stdev, target=TARGETS
    )
    draws = captum_draws(7, 2, samples, len(distribution), stdev, inputs.shape[1:])
    explainer.draws = lambda count, x: draws
    assert relative_error(ours(explainer, inputs), theirs) <= RTOL


def test_gradient_shap_agrees_with_captum_in_expectation(models, inputs):
    """With their own generators and 400 samples, the two estimates of the same expectation agree:
    correlation > 0.97 and relative L2 distance < 0.25 (measured 0.988 and 0.17)."""
    model = models["test_resnet"]
    x = inputs[:1]
    explainer = GradientShap(model, "black+white", n_samples=400, use_cuda=False, preprocess=PRE, seed=3)
    distribution = explainer._baselines.build(x, explainer.preprocessor)[0]
    np.random.seed(0)
    theirs = ca.GradientShap(model).attribute(x, baselines=distribution, n_samples=400, target=3)
    mine = ours(explainer, x, [3])
    assert np.corrcoef(mine.ravel(), theirs.ravel())[0, 1] > 0.97
    assert float((mine - theirs).norm() / theirs.norm()) < 0.25


@pytest.mark.parametrize("arch", ["test_resnet", "resnet18"])
@pytest.mark.parametrize("baseline", ["zero", "black"])
def test_deeplift_equals_captum(models, inputs, arch, baseline):
    model = models[arch]
    explainer = DeepLift(model, baseline, use_cuda=False, preprocess=PRE)
    base = explainer._baseline.build(inputs, explainer.preprocessor)
    theirs = ca.DeepLift(model).attribute(inputs, base, target=TARGETS)
    assert relative_error(ours(explainer, inputs), theirs) <= RTOL


@pytest.mark.parametrize("baseline", ["zero", "black"])
def test_deeplift_sums_to_the_change_of_the_logit(inputs, baseline):
    """Summation to delta, exact where every nonlinearity has a rescale rule (a ResNet whose stem
    pool is a strided conv); max pooling by its gradient breaks it (measured 6% off on test_resnet)."""
    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=10, replace_stem_pool=True).eval()
    explainer = DeepLift(model, baseline, use_cuda=False, preprocess=PRE)
    base = explainer._baseline.build(inputs, explainer.preprocessor)
    with torch.no_grad():
        delta = (model(inputs) - model(base)).gather(1, torch.tensor(TARGETS)[:, None])[:, 0]
    assert torch.allclose(ours(explainer, inputs).sum(dim=(1, 2, 3)), delta, rtol=1e-4, atol=1e-6)


class PoolNet(nn.Module):
    """conv -> (ReLU or +0) -> max pool -> conv -> ReLU -> linear: a pool fed by a ReLU, or not."""

    def __init__(self, relu_before_pool: bool):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.act, self.pool = nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.act2, self.head = nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Linear(8 * 29 * 29, 10)
        self.relu_before_pool = relu_before_pool

    def forward(self, x):
        x = self.conv(x)
        x = self.act(x) if self.relu_before_pool else x + 0
        return self.head(self.act2(self.conv2(self.pool(x))).flatten(1))


@pytest.mark.parametrize("relu_before_pool", [True, False])
def test_deeplift_pool_rules_against_captum(inputs, relu_before_pool):
    model = PoolNet(relu_before_pool).eval()
    theirs = ca.DeepLift(model).attribute(inputs, 0 * inputs, target=TARGETS)
    errors = {
        rule: relative_error(
            ours(DeepLift(model, "zero", use_cuda=False, preprocess=PRE, pool_rule=rule), inputs), theirs
        )
        for rule in ("gradient", "cross_max")
    }
    # Captum applies its cross-max rule only when the pool is not fed by a module it hooks
    matching, other = ("gradient", "cross_max") if relu_before_pool else ("cross_max", "gradient")
    assert errors[matching] <= RTOL
    assert errors[other] > 0.01  # the two rules really differ on this model


def test_deeplift_shap_equals_captum(models, inputs):
    model = models["test_resnet"]
    explainer = DeepLiftShap(model, "black+white+random", use_cuda=False, preprocess=PRE, internal_batch_size=2)
    distribution = explainer._baselines.build(inputs, explainer.preprocessor)[0]
    for i, target in enumerate(TARGETS):
        theirs = ca.DeepLiftShap(model).attribute(inputs[i : i + 1], distribution, target=target)
        assert relative_error(ours(explainer, inputs[i : i + 1], [target]), theirs) <= RTOL


@pytest.mark.parametrize("arch", ["test_resnet", "resnet18", "vgg11"])
def test_lrp_equals_captum(models, inputs, arch):
    model = models[arch]
    mine = ours(LRP(model, use_cuda=False, preprocess=PRE), inputs)
    neutral = [m for m in model.modules() if isinstance(m, (nn.Identity, nn.Flatten))]
    for module in neutral:
        module.rule = EpsilonRule()
    try:
        theirs = ca.LRP(model).attribute(inputs, target=TARGETS)
    finally:
        for module in neutral:
            if hasattr(module, "rule"):  # Captum removes the rules it attached itself
                del module.rule
    assert relative_error(mine, theirs) <= RTOL


@pytest.mark.parametrize("method,named", [(DeepLift, "GELU"), (DeepLiftShap, "LayerNorm"), (LRP, "GELU")])
def test_methods_without_rules_for_a_module_name_it(models, method, named):
    with pytest.raises(ValueError, match=named):
        method(models["test_vit"], use_cuda=False, preprocess=PRE)
    assert not method_applies(method, models["test_vit"])


def method_applies(method, model) -> bool:
    from autotimm_widgets.interpretation import method_info

    return method_info(method.method_name).applies_to(model)
