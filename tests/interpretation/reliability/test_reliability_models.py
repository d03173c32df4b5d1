"""Every registered method on models in every state, and the model's hygiene around each call.

States: train mode, frozen, compiled, DataParallel, half precision, a user's ``no_grad`` or
``inference_mode``, existing ``.grad``. Each gives the plain eval-mode model's map and leaves
the model (and its wrapper) as it found it: weights, modes, flags, ``.grad``, hooks; nothing
it computed outlives the call, and failures (bad classes, a NaN image, a layer that raises
mid-forward) leave it exactly as well.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
from torch import nn

from helpers.images import random_image
from helpers.models import ModelSnapshot, hook_count
from helpers.reliability_cases import CASES, build_model

IMAGE = random_image(48, 64, seed=7)


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    """(spec, the plain model's map); each test builds its own model in the state under test."""
    spec = CASES[request.param]
    return spec, spec.build(build_model(spec.arch)).explain(IMAGE)


def explain_unchanged(spec, model: nn.Module) -> np.ndarray:
    """The map for IMAGE, asserting that ``model`` (as passed, wrapper included) is left as it was."""
    snapshot = ModelSnapshot(model)
    heatmap = spec.build(model).explain(IMAGE)
    snapshot.assert_unchanged()
    return heatmap


def test_train_mode_is_explained_in_eval_and_restored(case):
    spec, expected = case
    model = build_model(spec.arch).train()
    next(iter(model.children())).eval()  # mixed modes come back as they were
    np.testing.assert_allclose(explain_unchanged(spec, model), expected, atol=1e-5)
    assert model.training and not next(iter(model.children())).training


def test_every_parameter_frozen(case):
    spec, expected = case
    model = build_model(spec.arch).requires_grad_(False)
    np.testing.assert_allclose(explain_unchanged(spec, model), expected, atol=1e-5)


def test_data_parallel_is_explained_through_its_module(case):
    spec, expected = case
    model = nn.DataParallel(build_model(spec.arch))
    np.testing.assert_allclose(explain_unchanged(spec, model), expected, atol=1e-5)
    assert spec.build(model).model is model.module


def test_no_grad_is_left_and_existing_grads_are_left_alone(case):
    spec, expected = case
    model = build_model(spec.arch)
    snapshot = ModelSnapshot(model)
    spec.build(model).explain(IMAGE)
    assert all(p.grad is None for p in model.parameters())
    snapshot.assert_unchanged()
    model(torch.randn(1, 3, 64, 64)).sum().backward()
    np.testing.assert_allclose(explain_unchanged(spec, model), expected, atol=1e-5)


def test_under_no_grad_and_inference_mode(case):
    spec, expected = case
    model = build_model(spec.arch)
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            np.testing.assert_allclose(explain_unchanged(spec, model), expected, atol=1e-5)


CALL_ERRORS = {
    "class-out-of-range": lambda e: e.explain(IMAGE, target_class=10),
    "float-class": lambda e: e.explain(IMAGE, target_class=2.0),
    "nan-image": lambda e: e.explain(np.full((8, 8, 3), np.nan, np.float32)),
    "class-count": lambda e: e.explain_batch([IMAGE] * 2, target_classes=[1]),
}


@pytest.mark.parametrize("error", list(CALL_ERRORS))
def test_a_refused_call_leaves_no_hook_and_no_change(case, error):
    spec, expected = case
    model = build_model(spec.arch).train()
    snapshot = ModelSnapshot(model)
    explainer = spec.build(model)
    with pytest.raises((TypeError, ValueError)):
        CALL_ERRORS[error](explainer)
    snapshot.assert_unchanged()
    np.testing.assert_allclose(explainer.explain(IMAGE), expected, atol=1e-5)  # and it still works
    snapshot.assert_unchanged()


def test_an_error_raised_mid_forward_removes_every_hook(case):
    spec, _ = case
    model = build_model(spec.arch)
    last = list(model.children())[-1]

    def explode(*_):
        raise RuntimeError("boom")

    handle = last.register_forward_hook(explode)
    before = hook_count(model)
    with pytest.raises(RuntimeError, match="boom"):
        spec.build(model).explain(IMAGE)
    assert hook_count(model) == before
    handle.remove()


def test_no_activation_or_graph_outlives_a_call(case):
    spec, _ = case
    model = build_model(spec.arch)
    outputs = []
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(lambda _m, _i, o: outputs.append(weakref.ref(o))) for m in leaves]
    spec.build(model).explain(IMAGE)
    for handle in handles:
        handle.remove()
    gc.collect()
    assert outputs and all(ref() is None for ref in outputs)


def test_a_cpu_model_is_neither_moved_nor_copied(case):
    spec, _ = case
    model = build_model(spec.arch)
    explainer = spec.build(model)
    assert explainer.device.type == "cpu" and explainer.model is model


def _compile_counters():
    from torch._dynamo.utils import counters

    return dict(counters["stats"])


@pytest.mark.parametrize(
    "how", ["torch.compile-eager", "torch.compile-aot_eager", "module.compile", "compiled-submodule"]
)
def test_compiled_models_are_explained_eagerly(case, how):
    """Hooks and gradients need the eager forward: no graph is compiled, compiled code is kept for later."""
    spec, expected = case
    model = build_model(spec.arch)
    if how.startswith("torch.compile"):
        explained = torch.compile(model, backend=how.split("-")[1])
        kept = ("forward", explained.__dict__["forward"])
    elif how == "module.compile":
        model.compile(backend="eager")
        explained, kept = model, ("_compiled_call_impl", model.__dict__["_compiled_call_impl"])
    else:
        stage = "blocks" if spec.arch == "vit" else "layer4"
        getattr(model, stage)[-1] = torch.compile(getattr(model, stage)[-1], backend="eager")
        explained = model
        kept = ("forward", getattr(model, stage)[-1].__dict__["forward"])
    before = _compile_counters()
    np.testing.assert_allclose(explain_unchanged(spec, explained), expected, atol=1e-5)
    assert _compile_counters() == before, "a graph was compiled while explaining"
    owner = (
        explained if how != "compiled-submodule" else getattr(model, "blocks" if spec.arch == "vit" else "layer4")[-1]
    )
    assert owner.__dict__[kept[0]] is kept[1], "the compiled forward was not put back"


def test_compiled_explainer_names_layers_without_the_wrapper_prefix():
    from autotimm_widgets.interpretation import GradCAM

    model = build_model("cnn")
    compiled = torch.compile(model, backend="eager")
    explainer = GradCAM(compiled, target_layer="_orig_mod.layer3", use_cuda=False)
    assert explainer.target_layer == "layer3"
    assert [c.name for c in explainer.candidate_layers()] == [
        c.name for c in GradCAM(model, use_cuda=False).candidate_layers()
    ]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_on_the_cpu(case, dtype):
    spec, expected = case
    heatmap = explain_unchanged(spec, build_model(spec.arch).to(dtype))
    assert heatmap.dtype == np.float32 and np.isfinite(heatmap).all()
    if np.ptp(expected) == 0:  # a constant map (RandomCAM's weights can zero it): the same constant
        np.testing.assert_allclose(heatmap, expected, atol=1e-3)
        return
    assert np.corrcoef(heatmap.ravel(), expected.ravel())[0, 1] > (0.95 if dtype == torch.float16 else 0.9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_half_precision_on_the_gpu(case):
    spec, expected = case
    model = build_model(spec.arch).cuda().half()
    heatmap = explain_unchanged(spec, model)
    assert heatmap.dtype == np.float32 and np.isfinite(heatmap).all()
    assert np.corrcoef(heatmap.ravel(), expected.ravel())[0, 1] > 0.95
    assert next(model.parameters()).dtype == torch.float16 and next(model.parameters()).is_cuda
