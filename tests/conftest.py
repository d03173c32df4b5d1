"""Shared fixtures: tiny models, a constructed model whose answer is known, the built distribution.

Helpers (snapshots, images, progress, cases) live in the ``helpers`` package."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine (and with the
# e2e kernel beside pytest) spinning threads slow every forward pass many times over.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import timm
import torch
from torch import nn

from helpers.distribution import Distribution
from helpers.models import BrightSpotNet

# Under pytest-xdist (scripts/test runs two workers) each worker computes on its own share of the cores.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // WORKERS)))

# Tests that share a session's JupyterLab, Chromium or built distribution run on one worker.
SHARED_SESSION = ("tests/e2e/", "tests/test_packaging.py")


def pytest_collection_modifyitems(items):
    for item in items:
        path = item.nodeid.replace("\\", "/")
        if any(path.startswith(prefix) for prefix in SHARED_SESSION):
            item.add_marker(pytest.mark.xdist_group("shared-session"))


@pytest.fixture(scope="session")
def distribution(tmp_path_factory) -> Distribution:
    """The sdist, the wheels and the clean-venv install, built once a session on first use."""
    return Distribution(tmp_path_factory.mktemp("distribution"))


@pytest.fixture
def bright_spot_net() -> BrightSpotNet:
    return BrightSpotNet().eval()


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
