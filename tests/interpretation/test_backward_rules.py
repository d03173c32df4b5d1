"""The changed backward passes (guided, deconvolution, DeepLIFT, LRP) on constructed models whose
answers are known, and the model as it was after every call, an error inside the forward included."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autotimm_widgets.interpretation import (
    LRP,
    Deconvolution,
    DeepLift,
    DeepLiftShap,
    GuidedBackprop,
    GuidedGradCAM,
    Saliency,
)

from helpers.models import ModelSnapshot

PRE = {"input_size": 8, "mean": 0.0, "std": 1.0}


class Negated(nn.Module):
    """logit 0 = -sum(relu(conv(x))), logit 1 = +sum: the gradient reaching the ReLU is negative for class 0."""

    def __init__(self, inplace: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
        self.act = nn.ReLU(inplace=inplace)
        self.fail = False

    def forward(self, x):
        h = self.act(self.conv(x))
        if self.fail:
            raise RuntimeError("the model failed inside its forward pass")
        s = h.sum(dim=(1, 2, 3))
        return torch.stack([-s, s], dim=1)


def image(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("inplace", [True, False])
def test_guided_backprop_stops_negative_gradients_and_deconvolution_ignores_the_mask(inplace):
    model = Negated(inplace).eval()
    x = image()
    active = (model.conv(x[None]) > 0).any(dim=1, keepdim=True)[0]  # where the ReLU passes
    plain = Saliency(model, use_cuda=False, preprocess=PRE, abs=False).attribute(x, 0)
    assert plain.abs().sum() > 0 and torch.equal(plain != 0, active.expand_as(plain))
    assert torch.equal(GuidedBackprop(model, use_cuda=False, preprocess=PRE).attribute(x, 0), torch.zeros_like(x))
    positive = GuidedBackprop(model, use_cuda=False, preprocess=PRE).attribute(x, 1)
    assert torch.equal(positive, Saliency(model, use_cuda=False, preprocess=PRE, abs=False).attribute(x, 1))
    # deconvolution: every pixel gets max(g, 0) = 1 per channel of the conv, whatever the ReLU did
    assert torch.equal(Deconvolution(model, use_cuda=False, preprocess=PRE).attribute(x, 1), torch.full_like(x, 2.0))
    assert torch.equal(Deconvolution(model, use_cuda=False, preprocess=PRE).attribute(x, 0), torch.zeros_like(x))


def test_deeplift_rescales_a_relu_by_its_secant():
    """y = relu(x - 1) summed; from baseline 0 to x = 3 the multiplier is (2 - 0) / 3, so each
    element's attribution is its own change of output, and they add up to F(x) - F(0)."""

    class Shifted(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            return torch.stack([self.act(x - 1).sum(dim=(1, 2, 3))] * 2, dim=1)

    x = torch.full((3, 8, 8), 3.0)
    x[0, :4] = 0.5  # below the kink: no change of output, no attribution
    attributions = DeepLift(Shifted(), "zero", use_cuda=False, preprocess=PRE).attribute(x, 0)
    expected = torch.where(x > 1, x - 1, torch.zeros_like(x))
    torch.testing.assert_close(attributions, expected)


class SharedReLU(nn.Module):
    """One ReLU module called twice (as torchvision's ResNet blocks do), or two separate ones."""

    def __init__(self, shared: bool):
        super().__init__()
        torch.manual_seed(0)
        self.c1, self.c2, self.head = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1), nn.Linear(4, 3)
        self.a1 = nn.ReLU()
        self.a2 = self.a1 if shared else nn.ReLU()

    def forward(self, x):
        return self.head(self.a2(self.c2(self.a1(self.c1(x)))).mean(dim=(2, 3)))


@pytest.mark.parametrize("method", [DeepLift, LRP, GuidedBackprop, Deconvolution])
def test_a_module_called_twice_gets_its_rule_on_each_call(method):
    """Captum's DeepLift and LRP refuse a reused module; here it equals the model with two modules."""
    shared, separate = SharedReLU(True).eval(), SharedReLU(False).eval()
    x = image(1)
    torch.testing.assert_close(
        method(shared, use_cuda=False, preprocess=PRE).attribute(x, 2),
        method(separate, use_cuda=False, preprocess=PRE).attribute(x, 2),
    )


RULED = [
    lambda m: GuidedBackprop(m, use_cuda=False, preprocess=PRE),
    lambda m: Deconvolution(m, use_cuda=False, preprocess=PRE),
    lambda m: GuidedGradCAM(m, "act", use_cuda=False, preprocess=PRE),
    lambda m: DeepLift(m, use_cuda=False, preprocess=PRE),
    lambda m: DeepLiftShap(m, "black+white", use_cuda=False, preprocess=PRE),
    lambda m: LRP(m, use_cuda=False, preprocess=PRE),
]
IDS = ["guided", "deconv", "guided_gradcam", "deeplift", "deeplift_shap", "lrp"]


@pytest.mark.parametrize("build", RULED, ids=IDS)
def test_an_error_inside_the_forward_leaves_the_model_as_it_was(build):
    model = Negated(inplace=True).train()
    snapshot = ModelSnapshot(model)
    explainer = build(model)
    model.fail = True
    with pytest.raises(RuntimeError, match="inside its forward"):
        explainer.attribute(image(), 1)
    snapshot.assert_unchanged()
    model.fail = False
    assert explainer.attribute(image(), 1).shape == (3, 8, 8)  # and it works again
    snapshot.assert_unchanged()
    assert model.training and model.act.inplace
