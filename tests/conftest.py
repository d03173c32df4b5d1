"""Shared fixtures: tiny models, a constructed model whose answer is known, and a model snapshot."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine (and with the
# e2e kernel beside pytest) spinning threads slow every forward pass many times over.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import timm
import torch
from distribution import Distribution
from torch import nn

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def distribution(tmp_path_factory) -> Distribution:
    """The sdist, the wheels and the clean-venv install, built once a session on first use."""
    return Distribution(tmp_path_factory.mktemp("distribution"))


class BrightSpotNet(nn.Module):
    """Class 0 responds to bright pixels, class 1 to dark ones (ImageNet-normalised input).

    ``features`` is a stride-4 conv: channel 0 is the mean brightness of a 5x5 window, channel
    1 its darkness. The head averages each channel, so class 0's GradCAM is the bright area.
    """

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 2, kernel_size=5, stride=4, padding=2)
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0] = 1.0 / 75
            conv.weight[1] = -1.0 / 75
            conv.bias.copy_(torch.tensor([0.0, 0.0]))
        self.features = nn.Sequential(conv, nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(2))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


@pytest.fixture
def bright_spot_net() -> BrightSpotNet:
    return BrightSpotNet().eval()


def square_image(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    """Black uint8 RGB image (H, W, 3) with a white square at (top, left)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[top : top + size, left : left + size] = 255
    return image


@pytest.fixture(scope="session")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=10).eval()


@pytest.fixture(scope="module")
def train_model() -> nn.Module:
    """A resnet18 in train mode, shared by a module's failure tests (each checks it is left unchanged)."""
    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=10).train()


@pytest.fixture(scope="session")
def vit_tiny() -> nn.Module:
    torch.manual_seed(0)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10).eval()


def random_image(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def hook_count(model: nn.Module) -> int:
    """All forward, pre-forward and backward hooks registered on any submodule."""
    total = 0
    for module in model.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            total += len(getattr(module, attr, {}))
    return total


class ModelSnapshot:
    """Everything about a model that an explainer must leave as it found it."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.modes = [m.training for m in model.modules()]
        self.flags = [p.requires_grad for p in model.parameters()]
        self.grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
        self.hooks = hook_count(model)

    def assert_unchanged(self) -> None:
        model = self.model
        state = model.state_dict()
        assert state.keys() == self.state.keys()
        for key, value in self.state.items():
            assert torch.equal(state[key], value), f"{key} changed"
        assert [m.training for m in model.modules()] == self.modes, "train/eval modes changed"
        assert [p.requires_grad for p in model.parameters()] == self.flags, "requires_grad flags changed"
        for p, g in zip(model.parameters(), self.grads):
            assert (p.grad is None) == (g is None), ".grad appeared or vanished"
            if g is not None:
                assert torch.equal(p.grad, g)
        assert hook_count(model) == self.hooks, "a hook was left behind"


class Cancelled(Exception):
    """What :func:`cancel`, a progress callback, raises: ``"done/total"`` at its first call."""


def cancel(done: int, total: int) -> None:
    raise Cancelled(f"{done}/{total}")


def assert_progress_bar_switch(explainer, images, label: str, capsys) -> None:
    """``explain_batch``'s tqdm bar (named ``label``) is off with ``show_progress=False``, on with True."""
    explainer.explain_batch(images, batch_size=1, show_progress=False)
    assert label not in capsys.readouterr().err
    explainer.explain_batch(images, batch_size=1, show_progress=True)
    assert label in capsys.readouterr().err
