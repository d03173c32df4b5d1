"""Concurrency: explainers shared between threads, and the widget under a burst of changes.

Calls that share a model are serialised by a per-model lock (``_model.explaining``), so an
explainer used from two threads at once gives exactly the maps of sequential use.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation import AttentionRollout, GradCAM, GradCAMPlusPlus, IntegratedGradients

from helpers.images import random_image
from helpers.models import ModelSnapshot
from helpers.reliability_cases import ALL_CASES, PREPROCESS, build_model, update

IMAGES = [random_image(40 + 8 * i, 56, seed=i) for i in range(4)]


class ForwardOverlap:
    """Records the most forward passes of a model that were ever running at the same time."""

    def __init__(self, model):
        self.active = self.most = 0
        self._guard = threading.Lock()
        self._handles = [model.register_forward_pre_hook(self._enter), model.register_forward_hook(self._leave)]

    def _enter(self, *_):
        with self._guard:
            self.active += 1
            self.most = max(self.most, self.active)

    def _leave(self, *_):
        with self._guard:
            self.active -= 1

    def remove(self):
        for handle in self._handles:
            handle.remove()


def run_in_threads(*jobs):
    """Start every job at the same moment; re-raise the first exception of any of them."""
    barrier, errors = threading.Barrier(len(jobs)), []

    def run(job):
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("name", list(ALL_CASES))
def test_one_explainer_from_two_threads_gives_the_sequential_maps(name):
    spec = ALL_CASES[name]
    model = build_model(spec.arch)
    snapshot = ModelSnapshot(model)
    explainer = spec.build(model)
    sequential = [explainer.explain(image) for image in IMAGES]
    batched = explainer.explain_batch(IMAGES, batch_size=2)
    results: dict[int, np.ndarray] = {}

    def work(offset):
        for i in range(offset, len(IMAGES), 2):
            results[i] = explainer.explain(IMAGES[i])
        results[10 + offset] = explainer.explain_batch(IMAGES, batch_size=2)

    overlap = ForwardOverlap(model)
    try:
        run_in_threads(lambda: work(0), lambda: work(1))
    finally:
        overlap.remove()
    for i, expected in enumerate(sequential):
        np.testing.assert_allclose(results[i], expected, atol=1e-6)
    for offset in (0, 1):
        for got, expected in zip(results[10 + offset], batched, strict=True):
            np.testing.assert_allclose(got, expected, atol=1e-6)
    assert overlap.most == 1, "two forward passes of the model ran at once"
    snapshot.assert_unchanged()


def test_different_explainers_of_one_model_from_four_threads():
    """GradCAM, GradCAM++, IG and rollout on one ViT, at once: each gets its sequential maps."""
    model = build_model("vit")
    explainers = [
        GradCAM(model, use_cuda=False, preprocess=PREPROCESS),
        GradCAMPlusPlus(model, target_layer="blocks.2.norm1", use_cuda=False, preprocess=PREPROCESS),
        IntegratedGradients(model, steps=4, use_cuda=False, preprocess=PREPROCESS),
        AttentionRollout(model, use_cuda=False, preprocess=PREPROCESS),
    ]
    sequential = [[e.explain(image) for image in IMAGES] for e in explainers]
    results = [[None] * len(IMAGES) for _ in explainers]

    def job(k):
        def work():
            for i, image in enumerate(IMAGES):
                results[k][i] = explainers[k].explain(image)

        return work

    run_in_threads(*(job(k) for k in range(len(explainers))))
    for got, expected in zip(results, sequential, strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)


# -- the widget under a burst of changes ------------------------------------------------------------
IMAGE = IMAGES[1]


FINAL_STATES = {
    "gradcam++": {"method": "gradcam++", "layer": "blocks.3.norm1", "smoothgrad": False},
    "attention_flow": {"method": "attention_flow", "head_fusion": "min", "discard_ratio": 0.3, "target_patch": 11},
    "integrated_gradients": {"method": "integrated_gradients", "steps": 6, "baseline": "white", "smoothgrad": False},
}


def expected_map(model, w) -> np.ndarray:
    options = {"use_cuda": False, "preprocess": PREPROCESS}
    if w.method in ("attention_rollout", "attention_flow"):
        rollout = AttentionRollout(model, head_fusion=w.head_fusion, discard_ratio=w.discard_ratio, **options).rollout(
            IMAGE
        )
        return rollout.map(w.target_patch if w.method == "attention_flow" else None)
    if w.method == "integrated_gradients":
        return IntegratedGradients(model, baseline=w.baseline, steps=w.steps, **options).explain(IMAGE, w.target_class)
    cam = GradCAMPlusPlus if w.method == "gradcam++" else GradCAM
    return cam(model, target_layer=w.layer or None, **options).explain(IMAGE, w.target_class)


@pytest.mark.parametrize("final", list(FINAL_STATES))
def test_a_burst_of_200_changes_ends_on_the_map_of_the_final_state(final):
    model = build_model("vit")
    w = ExplainerWidget(model, IMAGE, use_cuda=False, preprocess=PREPROCESS)
    w.wait(60)
    classes = [c["index"] for c in w._top_classes]
    rng = np.random.default_rng(0)
    changes = [
        lambda: {"target_class": int(rng.choice(classes))},
        lambda: {"method": str(rng.choice(w._methods))},
        lambda: {"layer": str(rng.choice(["", "blocks.2.norm1", "blocks.4.norm1"]))},
        lambda: {"steps": int(rng.integers(2, 40)), "baseline": str(rng.choice(["black", "blur"]))},
        lambda: {"smoothgrad": bool(rng.integers(2)), "num_samples": int(rng.integers(1, 4))},
        lambda: {"discard_ratio": float(rng.choice([0.0, 0.5, 0.9])), "head_fusion": str(rng.choice(["mean", "max"]))},
        lambda: {"target_patch": int(rng.integers(0, 17))},
        lambda: {"opacity": float(rng.random()), "colormap": str(rng.choice(["jet", "viridis"]))},
        lambda: {"steps": "not a number"},  # rejected on the way: must not stop the burst
    ]
    uncaught = []
    previous_hook, threading.excepthook = threading.excepthook, uncaught.append
    try:
        for _ in range(199):
            w._handle_msg(update(changes[int(rng.integers(len(changes)))]()))
        w._handle_msg(update({**FINAL_STATES[final], "target_class": classes[1]}))
        w.wait(120)
    finally:
        threading.excepthook = previous_hook
    assert not uncaught
    assert (w.status, w.error) == ("idle", "")
    shown = w._heatmap["state"]
    assert shown == {name: getattr(w, name) for name in shown}, "the map shown is not the final state's"
    assert all(shown[k] == v for k, v in FINAL_STATES[final].items() if k in shown)
    np.testing.assert_allclose(w.heatmap, expected_map(model, w), atol=1e-5)
    w.close()
