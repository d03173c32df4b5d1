"""Quadrature rules: Captum's names and definitions, and what a rule must integrate exactly."""

from __future__ import annotations

import pytest
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from autotimm_widgets.interpretation.quadrature import METHODS, quadrature


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("steps", [2, 7, 50])
def test_alphas_and_weights_are_captums(method, steps):
    step_sizes, alphas = approximation_parameters(method)
    ours_alphas, ours_weights = quadrature(method, steps)
    assert ours_alphas.dtype == ours_weights.dtype == torch.float64
    torch.testing.assert_close(ours_alphas, torch.tensor(alphas(steps), dtype=torch.float64), rtol=0, atol=1e-7)
    torch.testing.assert_close(ours_weights, torch.tensor(step_sizes(steps), dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 3, 8])
def test_gauss_legendre_integrates_polynomials_up_to_degree_2n_minus_1(steps):
    alphas, weights = quadrature("gausslegendre", steps)
    for degree in range(2 * steps):
        assert float((weights * alphas**degree).sum()) == pytest.approx(1 / (degree + 1), abs=1e-12)
    assert float((weights * alphas ** (2 * steps)).sum()) != pytest.approx(1 / (2 * steps + 1), abs=1e-12)


@pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle"])
def test_single_step_riemann_rules(method):
    alphas, weights = quadrature(method, 1)
    assert alphas.tolist() == [{"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]]
    assert weights.tolist() == [1.0]


@pytest.mark.parametrize(
    ("method", "steps", "error", "words"),
    [
        ("simpson", 10, ValueError, ["simpson", "gausslegendre", "riemann_trapezoid", "riemann_middle"]),
        ("gausslegendre", 0, ValueError, ["steps", "at least 1", "0"]),
        ("gausslegendre", -3, ValueError, ["steps", "-3"]),
        ("gausslegendre", 2.5, TypeError, ["steps", "int"]),
        ("gausslegendre", True, TypeError, ["steps", "int"]),
        ("riemann_trapezoid", 1, ValueError, ["riemann_trapezoid", "steps >= 2"]),
    ],
)
def test_bad_rules_are_refused_by_name(method, steps, error, words):
    with pytest.raises(error) as info:
        quadrature(method, steps)
    for word in words:
        assert word in str(info.value)
