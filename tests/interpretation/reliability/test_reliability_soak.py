"""Soak tests: hundreds of calls in one process leave memory flat (no hook, graph or tensor kept per call).

Resident memory (psutil RSS, after ``gc.collect()``) may grow by at most ``MAX_GROWTH`` between the
end of a warm-up and the end of the loop; on a GPU the same holds for CUDA memory. The count of
live tensors must not grow at all, a finer check than RSS for Python-side leaks.
"""

from __future__ import annotations

import gc

import numpy as np
import psutil
import pytest
import torch

from autotimm_widgets import ExplainerWidget
from autotimm_widgets.interpretation._ablation import Ablation
from autotimm_widgets.interpretation._gradient_free import PerturbationCAM

from helpers.images import random_image
from helpers.models import ModelSnapshot
from helpers.reliability_cases import ALL_CASES, NUM_CLASSES, PREPROCESS, build_model, update

pytestmark = pytest.mark.soak

LOOPS = 300
PERTURBATION_LOOPS = 100  # one call is many passes of its own (ScoreCAM, occlusion, IG, SmoothGrad, ...)
WARM_UP = 30
MAX_GROWTH = 0.05
IMAGES = [random_image(48, 64, seed=s) for s in range(3)]
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")),
]


def resident() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def cuda_allocated() -> int:
    gc.collect()
    torch.cuda.synchronize()
    return torch.cuda.memory_allocated()


def live_tensors() -> int:
    gc.collect()
    return sum(
        1 for obj in gc.get_objects() if issubclass(type(obj), torch.Tensor)
    )  # type(): no lazy attribute lookups


def assert_flat(label: str, before: int, after: int) -> None:
    growth = (after - before) / before
    print(f"{label}: {before / 2**20:.1f} -> {after / 2**20:.1f} MiB ({100 * growth:+.2f}%)")
    assert growth <= MAX_GROWTH, f"{label} grew by {100 * growth:.1f}%"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(ALL_CASES))
def test_300_explains_keep_memory_flat(name, device):
    spec = ALL_CASES[name]
    model = build_model(spec.arch).to(device)
    snapshot = ModelSnapshot(model)
    explainer = spec.build(model)
    classes = [None, *range(NUM_CLASSES), [1, 3]] if spec.takes_class else [None]

    def call(i):
        heatmap = explainer.explain(IMAGES[i % len(IMAGES)], target_class=classes[i % len(classes)])
        assert np.isfinite(heatmap).all()

    for i in range(WARM_UP):
        call(i)
    tensors, memory = live_tensors(), resident()
    gpu = cuda_allocated() if device == "cuda" else None
    many_passes = isinstance(explainer, (PerturbationCAM, Ablation)) or explainer.rows_per_input > 1
    loops = PERTURBATION_LOOPS if many_passes else LOOPS
    for i in range(loops):
        call(i)
    assert_flat(f"{name} {device} RSS", memory, resident())
    if gpu is not None:
        assert_flat(f"{name} CUDA allocated", max(gpu, 1), cuda_allocated())
    assert live_tensors() <= tensors, "tensors are kept alive across calls"
    snapshot.assert_unchanged()


def test_300_widget_state_changes_keep_memory_flat():
    """Trait changes through the comm handler: computations (new discard ratios) and cache hits."""
    model = build_model("vit")
    snapshot = ModelSnapshot(model)
    w = ExplainerWidget(model, IMAGES[0], use_cuda=False, preprocess=PREPROCESS)
    w.wait(60)
    top = [c["index"] for c in w._top_classes]
    cycle = [
        *({"target_class": c} for c in top),
        {"method": "gradcam++"},
        {"layer": "blocks.3.norm1"},
        {"layer": ""},
        {"method": "integrated_gradients", "steps": 4},
        {"smoothgrad": True, "num_samples": 2},
        {"smoothgrad": False},
        {"method": "attention_rollout"},
        {"head_fusion": "max"},
        {"method": "attention_flow"},
        *({"target_patch": p} for p in (1, 5, 9, 16)),
        {"head_fusion": "mean"},
        {"method": "gradcam"},
    ]
    fresh = iter(np.linspace(0.0, 0.95, 200))  # every third change a discard ratio never seen: a real computation

    def change(i):
        state = (
            {"method": "attention_flow", "discard_ratio": float(next(fresh))} if i % 3 == 2 else cycle[i % len(cycle)]
        )
        w._handle_msg(update(state))
        w.wait(60)
        assert (w.status, w.error) == ("idle", ""), (state, w.error)

    for i in range(2 * len(cycle)):
        change(i)
    memory, computations = resident(), w._engine.computations
    for i in range(LOOPS):
        change(i)
    assert_flat("widget RSS", memory, resident())
    assert w._engine.computations - computations >= LOOPS // 3, "the loop did not compute"
    assert len(w._session._explainers) <= w._session.MAX_EXPLAINERS
    w.close()
    snapshot.assert_unchanged()
