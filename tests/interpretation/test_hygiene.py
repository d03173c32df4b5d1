"""The model comes back exactly as it was: weights, modes, flags, .grad, hooks; nothing kept alive."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
import timm
import torch

from autotimm_widgets.interpretation import GradCAM, GradCAMPlusPlus

from helpers.images import random_image
from helpers.models import ModelSnapshot, hook_count


@pytest.fixture
def model():
    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=10)


@pytest.mark.parametrize("method", [GradCAM, GradCAMPlusPlus])
def test_train_mode_model_is_explained_in_eval_and_restored(model, method):
    model.train()
    model.layer2.eval()  # mixed modes must survive too
    snapshot = ModelSnapshot(model)
    heatmap = method(model, use_cuda=False).explain(random_image())
    snapshot.assert_unchanged()  # includes BatchNorm running stats: eval mode was used

    model.eval()
    expected = method(model, use_cuda=False).explain(random_image())
    np.testing.assert_allclose(heatmap, expected, atol=1e-6)


def test_no_grad_is_left_on_parameters(model):
    snapshot = ModelSnapshot(model.eval())
    GradCAM(model, use_cuda=False).explain(random_image(), target_class=[1, 2])
    assert all(p.grad is None for p in model.parameters())
    snapshot.assert_unchanged()


def test_existing_grads_are_left_alone(model):
    model.eval()
    model(torch.randn(1, 3, 64, 64)).sum().backward()
    snapshot = ModelSnapshot(model)
    GradCAM(model, use_cuda=False).explain(random_image())
    snapshot.assert_unchanged()


def test_frozen_model(model):
    model.eval().requires_grad_(False)
    snapshot = ModelSnapshot(model)
    frozen = GradCAM(model, use_cuda=False).explain(random_image())
    snapshot.assert_unchanged()
    model.requires_grad_(True)
    np.testing.assert_allclose(frozen, GradCAM(model, use_cuda=False).explain(random_image()), atol=1e-6)


def test_works_under_no_grad_and_inference_mode(model):
    model.eval()
    expected = GradCAM(model, use_cuda=False).explain(random_image())
    with torch.no_grad():
        np.testing.assert_allclose(GradCAM(model, use_cuda=False).explain(random_image()), expected, atol=1e-6)
    with torch.inference_mode():
        np.testing.assert_allclose(GradCAM(model, use_cuda=False).explain(random_image()), expected, atol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.explain(random_image(), target_class=10),
        lambda e: e.explain(random_image(), target_class=2.0),
        lambda e: e.explain(np.full((8, 8, 3), np.nan, np.float32)),
        lambda e: e.explain_batch([random_image()] * 2, target_classes=[1]),
    ],
    ids=["class-out-of-range", "float-class", "nan-image", "class-count"],
)
def test_errors_leave_no_hook_and_no_change(model, call):
    model.train()
    snapshot = ModelSnapshot(model)
    explainer = GradCAM(model, use_cuda=False)
    with pytest.raises((TypeError, ValueError)):
        call(explainer)
    snapshot.assert_unchanged()
    assert explainer.explain(random_image()).shape == (96, 128)
    snapshot.assert_unchanged()


def test_error_raised_mid_forward_removes_hooks(model):
    model.eval()

    def explode(*_):
        raise RuntimeError("boom")

    handle = model.fc.register_forward_hook(explode)
    before = hook_count(model)
    with pytest.raises(RuntimeError, match="boom"):
        GradCAM(model, use_cuda=False).explain(random_image())
    assert hook_count(model) == before
    handle.remove()


def test_no_activation_or_graph_outlives_a_call(model):
    model.eval()
    outputs = []
    handle = model.layer4.register_forward_hook(lambda m, i, o: outputs.append(weakref.ref(o)))
    GradCAM(model, use_cuda=False).explain(random_image(), target_class=[0, 1])
    handle.remove()
    gc.collect()
    assert outputs and all(ref() is None for ref in outputs)


def test_two_threads_give_the_same_maps_as_sequential_use(model):
    model.eval()
    explainer = GradCAM(model, use_cuda=False)
    images = [random_image(seed=s) for s in range(4)]
    sequential = [explainer.explain(im) for im in images]
    results: dict[int, np.ndarray] = {}

    def work(offset):
        for i in range(offset, 4, 2):
            results[i] = explainer.explain(images[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        np.testing.assert_allclose(results[i], sequential[i], atol=1e-6)


def test_explaining_does_not_move_or_copy_a_cpu_model(model):
    model.eval()
    explainer = GradCAM(model, use_cuda=False)
    assert explainer.device.type == "cpu" and explainer.model is model
