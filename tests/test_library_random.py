"""Random compositions of lnp calls (drawn by Hypothesis): ``lo.grad`` of each agrees with the
reference's gradient of the traced program, ``lo.make_program(f)``, which the reference's
``check`` accepts, and ``lo.jit`` with the reference's value.

Both sides compute the same float64 program; they may associate the additions inside a sum
or a contraction differently, so they agree to first order within N·n·u·(largest
magnitude), N the number of equations and n the largest array size (each equation's
rounding error at most n·u relative, propagated additively through the chain: the drawn
steps are bounded and smooth, so the chain does not amplify).

The gradient is also held to mpmath finite differences through the conformance suite's own
``grad_vs_oracle`` property: ``<lo.grad(f), t>`` along a random direction ``t`` against the
oracle's directional derivative of the traced program, within the bound the suite derives
(the analysis' bound on a correct reverse mode plus the oracle's own error estimate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import lintra.optimized as lo
import lintra.optimized.numpy as lnp
from lintra.conformance.properties import Case, Status, run_property
from lintra.reference import check, evaluate
from lintra.reference import grad as reference_grad

U = np.finfo(np.float64).eps / 2

Step = Callable[[Any, Any, Any], Any]

STEPS: dict[str, Step] = {
    "sin": lambda h, x, y: lnp.sin(h),
    "tanh": lambda h, x, y: lnp.tanh(h),
    "logistic": lambda h, x, y: lnp.logistic(h),
    "gauss": lambda h, x, y: lnp.exp(-h * h),
    "add_row": lambda h, x, y: h + x,
    "mul": lambda h, x, y: h * y,
    "div": lambda h, x, y: h / (1.0 + y * y),
    "matmul": lambda h, x, y: lnp.tanh(h @ lnp.outer(x, x)) / 3.0,
    "softmax": lambda h, x, y: lnp.softmax(h, axis=1),
    "logsumexp": lambda h, x, y: h - lnp.logsumexp(h, axis=0, keepdims=True),
    "max": lambda h, x, y: h * lnp.max(h, axis=1, keepdims=True),
    "mean": lambda h, x, y: h - lnp.mean(h, axis=0),
    "transpose": lambda h, x, y: (h.T @ y)[:2, :] / 3.0,
    "flip": lambda h, x, y: lnp.flip(h, 1) * x[::-1],
    "where": lambda h, x, y: lnp.where(h > 0, h, 0.1 * h),
    "concatenate": lambda h, x, y: lnp.concatenate([h[:, 1:], h[:, :1] * x[0]], axis=1),
    "reshape": lambda h, x, y: lnp.reshape(h, (3, 2)).T.reshape(2, 3),
    "einsum": lambda h, x, y: lnp.einsum("ij,j->ij", h, x),
    "cube": lambda h, x, y: h ** 3 / 3.0,
    "cumsum": lambda h, x, y: lnp.cumsum(h, axis=1) / 3.0,
    "abs": lambda h, x, y: lnp.abs(h) * y,
    "clip": lambda h, x, y: lnp.clip(h, -0.5, 0.5),
    "stack": lambda h, x, y: lnp.stack([h[0], h[1] * x], axis=0),
    "prod": lambda h, x, y: h * lnp.prod(1.0 + 0.1 * h, axis=0),
    "take": lambda h, x, y: h[:, [2, 0, 2]] * x,
    "gather2": lambda h, x, y: h[np.array([[1, 0, 1], [0, 1, 0]]), np.array([2, 0, 1])],
    "mask": lambda h, x, y: lnp.concatenate(
        [h[np.array([[True, False, True], [False, True, True]])].reshape(2, 2), h[:, 1:2]],
        axis=1),
    "diagonal": lambda h, x, y: h * lnp.einsum("ii->i", lnp.outer(x, x)),
    "ellipsis": lambda h, x, y: lnp.einsum("...j,j->...j", h, x) / 2.0,
}
NAMES = sorted(STEPS)

HOLDS_CONSTANT = {"softmax", "logsumexp"}
"""Steps whose stable forms hold the largest element constant (``stop_gradient``): the
suite's oracle properties skip such programs (a derivative zero by definition is not one
its values show), so the oracle test draws from the other steps."""
ORACLE_NAMES = [n for n in NAMES if n not in HOLDS_CONSTANT]


def composed(names: list[str]) -> Callable[[Any, Any], Any]:
    def f(x: Any, y: Any) -> Any:
        h = y * x
        for name in names:
            h = STEPS[name](h, x, y)
        return lnp.sum(h * h) + lnp.sum(x)

    return f


@given(names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
       seed=st.integers(0, 2**32 - 1))
def test_random_compositions_agree_with_the_reference(names: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1.5, 1.5, 3), rng.uniform(-1.5, 1.5, (2, 3))
    f = composed(names)
    program, constants = lo.make_program(f, with_constants=True)(x, y)  # index arrays
    check(program)
    n = len(program.equations) * 9
    (ref_value,) = evaluate(program, x, y, *constants)
    value = lo.jit(f)(x, y)
    assert abs(float(value) - float(ref_value)) <= n * U * max(1.0, abs(float(ref_value)))
    got = lo.grad(f, argnums=(0, 1))(x, y)
    want = reference_grad(program, x, y, *constants, argnums=(0, 1))
    scale = max(1.0, *(float(np.max(np.abs(w))) for w in want))
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert np.all(np.abs(g - w) <= n * U * scale), (names, np.max(np.abs(g - w)))


class LibraryGradient:
    """The suite's backend protocol, as far as ``grad_vs_oracle`` uses it: ``vjp`` of the
    traced program is answered by ``lo.grad`` of the Python function it was traced from (the
    result is one scalar, and the property's cotangent is 1, so the pullback is the
    gradient itself)."""

    name = "lintra.optimized grad"

    def __init__(self, f: Callable[[Any, Any], Any]) -> None:
        self.f = f

    def vjp(self, program: Any, primals: Any) -> tuple[tuple[Any, ...], Any]:
        x, y = primals[:2]  # then the index arrays the function closes over (not float)
        value = lo.jit(self.f)(x, y)
        grads = lo.grad(self.f, argnums=(0, 1))(x, y)

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            assert float(cotangent) == 1.0
            return grads

        return (value,), pullback


@settings(max_examples=max(8, settings.default.max_examples // 5))
@given(names=st.lists(st.sampled_from(ORACLE_NAMES), min_size=1, max_size=4),
       seed=st.integers(0, 2**32 - 1))
def test_random_compositions_agree_with_the_oracle(names: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1.5, 1.5, 3), rng.uniform(-1.5, 1.5, (2, 3))
    tangents = (rng.standard_normal(3), rng.standard_normal((2, 3)))
    f = composed(names)
    program, constants = lo.make_program(f, with_constants=True)(x, y)
    assert all(np.asarray(c).dtype.kind == "i" for c in constants)  # index arrays only
    case = Case(program, (x, y, *constants), tangents, (np.array(1.0),))
    result = run_property("grad_vs_oracle", LibraryGradient(f), case)
    event(result.status.name)
    # a kink exactly on the way (abs, clip, where, max at a tie) has no derivative to compare
    assert result.status is Status.PASS or (
        result.status is Status.SKIP and "kink" in result.reason), (names, result.reason)
