"""The bad-input battery's subject and checks: a correct map, or a refusal that says what was
wrong and leaves the model unchanged and the explainer still working."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from torch import nn

from autotimm_widgets.interpretation import BaseInterpreter

from helpers.images import random_image
from helpers.models import ModelSnapshot
from helpers.reliability_cases import Case

GOOD = random_image(48, 64, seed=7)


@dataclass(frozen=True)
class Subject:
    """One case under test: its spec, its (shared) model and a fresh explainer."""

    spec: Case
    model: nn.Module
    explainer: BaseInterpreter


def assert_good_map(heatmap, shape):
    assert isinstance(heatmap, np.ndarray) and heatmap.dtype == np.float32
    assert heatmap.shape == tuple(shape)
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0 and heatmap.max() <= 1


def assert_refused(subject: Subject, call, error, words):
    """``call()`` raises ``error`` naming ``words``; the model is unchanged and the subject's explainer still works."""
    snapshot = ModelSnapshot(subject.model)
    with pytest.raises(error) as raised:
        call()
    assert type(raised.value) in (TypeError, ValueError), f"{type(raised.value).__name__}: {raised.value}"
    for word in words:
        assert word in str(raised.value), f"{word!r} not in: {raised.value}"
    snapshot.assert_unchanged()
    assert_good_map(subject.explainer.explain(GOOD), GOOD.shape[:2])
    snapshot.assert_unchanged()
