"""Integrated Gradients calls: progress after every internal batch, cancellation, and bad
arguments refused by name with the model left unchanged."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from autotimm_widgets.interpretation import IntegratedGradients

from helpers.forward_counter import forward_batches
from helpers.images import random_image
from helpers.models import ModelSnapshot, hook_count
from helpers.progress import Cancelled, assert_progress_bar_switch, cancel

SMALL = {"input_size": (32, 32)}


# -- progress and cancellation --------------------------------------------------------------------
def test_ig_progress_after_every_internal_batch(resnet18):
    image = random_image(32, 32, seed=12)
    explainer = IntegratedGradients(resnet18, steps=10, use_cuda=False, internal_batch_size=4, preprocess=SMALL)
    for call in (explainer.explain, explainer.attribute, explainer.check_completeness, explainer.visualize_polarity):
        calls = []
        call(image, progress=lambda done, total: calls.append((done, total)))
        assert calls == [(4, 10), (8, 10), (10, 10)]


def test_ig_a_raising_progress_callback_cancels_at_once(train_model):
    model = train_model
    snapshot = ModelSnapshot(model)
    explainer = IntegratedGradients(model, steps=10, use_cuda=False, internal_batch_size=2, preprocess=SMALL)

    with forward_batches(model) as batches, pytest.raises(Cancelled, match="2/10"):
        explainer.explain(random_image(32, 32), progress=cancel)
    assert batches == [1, 2]  # stopped after the first chunk
    snapshot.assert_unchanged()


def test_ig_explain_batch_progress_bar_can_be_turned_off(resnet18, capsys):
    explainer = IntegratedGradients(resnet18, steps=2, use_cuda=False, preprocess=SMALL)
    images = [random_image(32, 32, seed=s) for s in range(3)]
    assert_progress_bar_switch(explainer, images, "IntegratedGradients", capsys)


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"baseline": "grey"}, ValueError, ["'grey'", "'black'", "'white'", "'blur'", "'random'"]),
        ({"baseline": [0, 0, 0]}, TypeError, ["baseline", "list"]),
        ({"baseline": torch.zeros(2, 3, 8, 8)}, ValueError, ["baseline", "(3, h, w)", "(2, 3, 8, 8)"]),
        ({"baseline": torch.zeros(4, 8, 8)}, ValueError, ["baseline", "(1, 4, 8, 8)"]),
        ({"baseline": torch.zeros(3, 8, 8, dtype=torch.long)}, TypeError, ["baseline", "floating"]),
        ({"baseline": np.zeros((8, 8, 5), np.uint8)}, ValueError, ["baseline", "(8, 8, 5)"]),
        ({"steps": 0}, ValueError, ["steps", "at least 1"]),
        ({"steps": 2.0}, TypeError, ["steps", "int"]),
        ({"method": "simpson"}, ValueError, ["'simpson'", "'gausslegendre'", "'riemann_left'"]),
        ({"method": "riemann_trapezoid", "steps": 1}, ValueError, ["riemann_trapezoid", "steps >= 2"]),
        ({"internal_batch_size": 0}, ValueError, ["internal_batch_size", "at least 1"]),
    ],
)
def test_ig_bad_arguments_are_refused_by_name(train_model, kwargs, error, words):
    model = train_model
    snapshot = ModelSnapshot(model)
    with pytest.raises(error) as info:
        IntegratedGradients(model, use_cuda=False, **kwargs)
    for word in words:
        assert word in str(info.value)
    snapshot.assert_unchanged()


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.explain(torch.randn(3, 24, 24)),  # the (3, 32, 32) tensor baseline does not fit
        lambda e: e.attribute(random_image(32, 32), target_class=10),
        lambda e: e.check_completeness(random_image(32, 32), target_class=[1, 2]),
        lambda e: e.check_completeness(random_image(32, 32), tolerance=-1),
        lambda e: e.explain(random_image(32, 32), progress="yes"),
        lambda e: e.explain_batch([random_image(32, 32)] * 2, target_classes=[1]),
    ],
    ids=["baseline-shape", "class-range", "class-list", "tolerance", "progress-type", "class-count"],
)
def test_ig_call_errors_leave_the_model_unchanged(train_model, call):
    model = train_model
    snapshot = ModelSnapshot(model)
    explainer = IntegratedGradients(model, baseline=torch.zeros(3, 32, 32), steps=2, use_cuda=False, preprocess=SMALL)
    with pytest.raises((TypeError, ValueError)) as info:
        call(explainer)
    assert str(info.value)
    snapshot.assert_unchanged()
    assert hook_count(model) == 0
    assert explainer.explain(random_image(32, 32)).shape == (32, 32)
    snapshot.assert_unchanged()


def test_baseline_shape_error_names_both_shapes(resnet18):
    explainer = IntegratedGradients(resnet18, baseline=torch.zeros(3, 32, 32), steps=2, use_cuda=False)
    with pytest.raises(ValueError, match=r"\(3, 32, 32\).*\(3, 24, 24\)"):
        explainer.attribute(torch.randn(3, 24, 24))


def test_settings_are_validated_when_changed(resnet18):
    explainer = IntegratedGradients(resnet18, use_cuda=False)
    with pytest.raises(ValueError, match="steps"):
        explainer.steps = 0
    with pytest.raises(ValueError, match="'simpson'"):
        explainer.method = "simpson"
    with pytest.raises(ValueError, match="'grey'"):
        explainer.baseline = "grey"
    assert (explainer.steps, explainer.method, explainer.baseline) == (50, "gausslegendre", "black")


def test_checkpoints_stop_a_call_inside_a_batch_in_their_own_thread_only(resnet18):
    """``checkpoints(check)`` runs ``check`` before each module's forward pass, so a cancel need
    not wait for a batch; no process-wide hook is left, and other threads never see the check."""
    import threading

    from torch.nn.modules import module as torch_module

    from autotimm_widgets.interpretation._progress import checkpoints

    calls = []

    def check():
        calls.append(threading.get_ident())
        if len(calls) == 5:
            raise Cancelled()

    progress = []
    explainer = IntegratedGradients(resnet18, steps=16, internal_batch_size=16, use_cuda=False)
    with pytest.raises(Cancelled), checkpoints(check):
        explainer.explain(random_image(64, 64), 0, progress=lambda done, total: progress.append(done))
    assert progress == [] and calls == [threading.get_ident()] * 5  # stopped inside the only batch
    assert len(torch_module._global_forward_pre_hooks) == 0 and hook_count(resnet18) == 0
    with checkpoints(check):
        other = threading.Thread(target=lambda: resnet18(torch.rand(1, 3, 32, 32)))
        other.start()
        other.join()
    assert len(calls) == 5  # the other thread's forward pass ran no check
