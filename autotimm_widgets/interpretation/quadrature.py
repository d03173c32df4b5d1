"""Quadrature rules for the path integral of Integrated Gradients, with Captum's names and definitions.

IG approximates ``integral_0^1 dF(b + a (x - b)) / dx da`` by ``sum_i w_i * grad F(b + a_i (x - b))``.
A rule gives the points ``a_i`` (alphas) and weights ``w_i`` for ``n`` steps, exactly as Captum's
``captum.attr._utils.approximation_methods`` defines them:

============================  =========================================  ==============================
method                        alphas                                     weights
============================  =========================================  ==============================
``'gausslegendre'`` (default)  Gauss-Legendre nodes mapped to [0, 1]       Gauss-Legendre weights / 2
``'riemann_left'``            ``linspace(0, 1 - 1/n, n)``                ``1/n`` each
``'riemann_right'``           ``linspace(1/n, 1, n)``                    ``1/n`` each
``'riemann_middle'``          ``linspace(1/(2n), 1 - 1/(2n), n)``        ``1/n`` each
``'riemann_trapezoid'``       ``linspace(0, 1, n)``                      ``1/n`` each, ends halved
============================  =========================================  ==============================

Gauss-Legendre is exact for polynomials of degree ``2n - 1`` and converges fastest on smooth
paths. Note Captum's trapezoid weights: they sum to ``1 - 1/n`` (the textbook rule on
``linspace(0, 1, n)`` uses ``1/(n-1)``), so its attributions are ``(n-1)/n`` of the textbook
trapezoid sum. We keep Captum's definition so that results agree with Captum; prefer
``'gausslegendre'`` or ``'riemann_middle'`` when completeness matters at few steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._checks import at_most, positive_int
from .registry import Param

METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")
MAX_STEPS = 10_000  # each step is a forward and backward pass; more only costs time


def check_steps(steps) -> int:
    """Return ``steps`` as an int in [1, ``MAX_STEPS``], or raise ``TypeError``/``ValueError`` naming the problem."""
    why = "a few hundred already make the quadrature error negligible"
    return at_most(positive_int(steps, "steps"), MAX_STEPS, "steps", why)


STEPS = Param("steps", int, check_steps, "Steps", minimum=1, maximum=MAX_STEPS)


def check_method(method: str, steps: int) -> str:
    """Validate a rule name (and that the rule can use ``steps`` points)."""
    if method not in METHODS:
        raise ValueError(f"unknown quadrature method {method!r}; choose one of {', '.join(map(repr, METHODS))}.")
    if method == "riemann_trapezoid" and steps < 2:
        raise ValueError(f"method 'riemann_trapezoid' needs steps >= 2 (both ends of the path); got steps={steps}.")
    return method


def quadrature(method: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Alphas (steps,) in [0, 1] and weights (steps,) of a rule, as float64 CPU tensors."""
    steps = check_steps(steps)
    check_method(method, steps)
    n = steps
    if method == "gausslegendre":
        # SciPy's nodes equal NumPy's leggauss (Captum's) to 1e-13, in O(n) memory rather than an
        # n x n companion matrix (1000 steps: 0.03 s instead of seconds).
        from scipy.special import roots_legendre

        nodes, weights = roots_legendre(n)
        return torch.from_numpy(0.5 * (1.0 + nodes)), torch.from_numpy(0.5 * weights)
    weights = torch.full((n,), 1.0 / n, dtype=torch.float64)
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
        return torch.linspace(0.0, 1.0, n, dtype=torch.float64), weights
    start, end = {
        "riemann_left": (0.0, 1.0 - 1.0 / n),
        "riemann_right": (1.0 / n, 1.0),
        "riemann_middle": (1.0 / (2 * n), 1.0 - 1.0 / (2 * n)),
    }[method]
    return torch.linspace(start, end, n, dtype=torch.float64), weights


@dataclass(frozen=True)
class Rule:
    """A quadrature rule: name, steps, alphas (S,) and weights (S,), replaced as a whole."""

    method: str
    steps: int
    alphas: torch.Tensor
    weights: torch.Tensor

    @classmethod
    def make(cls, method: str, steps: int) -> Rule:
        steps = check_steps(steps)
        return cls(check_method(method, steps), steps, *quadrature(method, steps))
