"""The bad-input battery's subjects: every registered method (``CASES``) on shared tiny models.

``case``: every method; ``class_case``: those that take a target class. The model is shared
by a module and checked unchanged after each test; ``assert_refused`` checks that a refused
call names what was wrong (``helpers.battery``).
"""

from __future__ import annotations

import pytest

from helpers.battery import Subject
from helpers.models import ModelSnapshot
from helpers.reliability_cases import CASES, CLASS_CASES, build_model


@pytest.fixture(scope="module")
def models():
    return {"cnn": build_model("cnn"), "vit": build_model("vit")}


@pytest.fixture(params=list(CASES))
def case(request, models):
    """Every method; the model is shared by the module and checked unchanged after each test."""
    spec = CASES[request.param]
    model = models[spec.arch]
    snapshot = ModelSnapshot(model)
    yield Subject(spec, model, spec.build(model))
    snapshot.assert_unchanged()


@pytest.fixture(params=CLASS_CASES)
def class_case(request, models):
    """Every method that takes a target class."""
    spec = CASES[request.param]
    return Subject(spec, models[spec.arch], spec.build(models[spec.arch]))
