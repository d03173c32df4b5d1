"""Target classes, for every registered method: integer-likes are accepted, anything else is
refused by name; class-agnostic methods refuse any class."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.battery import GOOD, Subject, assert_good_map, assert_refused
from helpers.reliability_cases import CASES, NUM_CLASSES

# -- target classes --------------------------------------------------------------------------------------
INTEGER_LIKE = [np.int64(3), np.uint8(3), np.int32(3), torch.tensor(3), torch.tensor(3, dtype=torch.int8), np.array(3)]
NOT_INTEGER = [
    3.0,
    np.float32(3),
    torch.tensor(3.0),
    np.array(3.0),
    True,
    np.bool_(True),
    torch.tensor(True),
    "3",
    3 + 0j,
]


@pytest.mark.parametrize("value", INTEGER_LIKE, ids=repr)
def test_integer_like_classes_are_accepted(class_case, value):
    explain = class_case.explainer.explain
    np.testing.assert_allclose(explain(GOOD, target_class=value), explain(GOOD, target_class=3), atol=1e-6)


@pytest.mark.parametrize("value", NOT_INTEGER, ids=repr)
def test_other_class_types_are_refused(class_case, value):
    call = lambda: class_case.explainer.explain(GOOD, target_class=value)  # noqa: E731
    assert_refused(class_case, call, TypeError, ["int class index", "None", type(value).__name__])


@pytest.mark.parametrize(
    "value, error, words",
    [
        ([[1]], TypeError, ["int class index", "list"]),
        ([1, 2.5], TypeError, ["int class index", "float"]),
        ([], ValueError, ["empty"]),
        ([1, None], ValueError, ["may not contain None"]),
        (np.array([[1, 2]]), ValueError, ["1-D", "(1, 2)"]),
        ([1, NUM_CLASSES], ValueError, [f"0..{NUM_CLASSES - 1}"]),
    ],
    ids=repr,
)
def test_bad_class_lists_are_refused(class_case, value, error, words):
    assert_refused(class_case, lambda: class_case.explainer.explain(GOOD, target_class=value), error, words)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(-(2**70), 2**70), st.integers(-2, NUM_CLASSES + 1)))
def test_any_integer_is_a_map_or_a_range_error(class_case, value):
    call = lambda: class_case.explainer.explain(GOOD, target_class=value)  # noqa: E731
    if 0 <= value < NUM_CLASSES:
        assert_good_map(call(), GOOD.shape[:2])
    elif value < 0:
        assert_refused(class_case, call, ValueError, ["non-negative", str(value)])
    else:
        assert_refused(class_case, call, ValueError, [str(value), f"valid indices are 0..{NUM_CLASSES - 1}"])


@pytest.mark.parametrize("value", [3, np.int64(0), torch.tensor(1), 2.0, "0"], ids=repr)
@pytest.mark.parametrize("name", [name for name, c in CASES.items() if not c.takes_class])
def test_class_agnostic_methods_refuse_any_class(models, name, value):
    spec = CASES[name]
    case = Subject(spec, models[spec.arch], spec.build(models[spec.arch]))
    integer = not isinstance(value, (float, str))
    words = ["does not depend on the class", "for a class-specific map use"] if integer else ["int class index"]
    call = lambda: case.explainer.explain(GOOD, target_class=value)  # noqa: E731
    assert_refused(case, call, ValueError if integer else TypeError, words)


def test_explain_batch_class_errors(case):
    call = lambda: case.explainer.explain_batch([GOOD, GOOD], target_classes=[1])  # noqa: E731
    assert_refused(case, call, ValueError, ["1 entries but there are 2 images"])
