"""The oracle's marks of kinks inside a program (spec 7.2, *Kinks*): an equation at a kink of
its own primitive marks what depends on it, even where the program is smooth along every
line through its inputs, so that the oracle comparisons leave those results to the
differential checks. ``clamp``'s tie of all three operands is the hard case: it is smooth
along every line on which the upper bound's slope lies between the other two's."""

from __future__ import annotations

import itertools

import numpy as np

from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.oracle import directional_derivative, irregular_direction, kinks_inside
from lintra.conformance.properties import Case, grad_vs_oracle, jvp_vs_oracle
from lintra.conformance.results import Status
from lintra.reference import parse_program

CLAMP_TIED = parse_program("def f(x0: f64[2, 3], x1: f64[2, 3]) -> f64[2, 3]:\n"
                           "    a0 = clamp(x1, x0, x0)\n    return a0\n")
"""``clamp(x1, x0, x0)``: x at its upper bound everywhere; where x1 = x0 too, all three
operands tie and chapter 6's convention (3/4 of x0's tangent and 1/4 of x1's) is not the
derivative along a line, which is x0's tangent alone."""


def clamp_case() -> tuple[np.ndarray, np.ndarray]:
    """The thorough profile's seed-2 case that failed grad_vs_oracle on every backend: a
    tie of all three operands at element 5, and a tiny lower bound 2^-149 at element 3,
    which made the line's step so small that the slope test at 40 digits saw only
    rounding."""
    x0 = np.array([0.7, -1.3, 2.1, -0.45, 1.55, -0.85]).reshape(2, 3)
    x1 = np.array([1.15, 0.7, -1.3, 2.0 ** -149, -0.45, -0.85]).reshape(2, 3)
    return x0, x1


def test_a_tie_of_all_three_clamp_operands_is_marked_beside_a_tiny_operand() -> None:
    x0, x1 = clamp_case()
    (marks,) = kinks_inside(CLAMP_TIED, [x0, x1], 40)
    assert marks.all()
    apart = parse_program("def f(x0: f64[2, 3], x1: f64[2, 3], x2: f64[2, 3]) -> f64[2, 3]:\n"
                          "    a0 = clamp(x1, x0, x2)\n    return a0\n")
    (marks,) = kinks_inside(apart, [x0, x0 - 1, x0 + 1], 40)  # no tie: nothing to mark
    assert not marks.any()
    x1[1, 2] = -0.9  # the tiny element kept, no triple tie: x at its upper bound still ties
    (marks,) = kinks_inside(apart, [x0, x1, x0], 40)
    assert marks.all()


def test_grad_vs_oracle_leaves_the_tie_to_the_differential_checks() -> None:
    """The case grad_vs_oracle failed on the reference itself (<vjp(w), t> by the convention
    1.63875, <w, D f t> along the line 1.5325): now a kink on the way, skipped."""
    x0, x1 = clamp_case()
    t0 = np.array([1.1, -0.6, 0.35, -1.7, 0.8, 1.1]).reshape(2, 3)
    t1 = np.array([-0.6, 0.35, -1.7, 0.8, 1.1, -0.6]).reshape(2, 3)
    w = np.array([-0.9, 1.45, 0.55, -1.15, 1.9, -0.25]).reshape(2, 3)
    case = Case(CLAMP_TIED, (x0, x1), (t0, t1), (w,), source="test")
    result = grad_vs_oracle(ReferenceBackend(), case)
    assert result.status is Status.SKIP, result.reason


def test_the_direction_leaves_every_tie_by_a_kink() -> None:
    """Distinct elements move differently (ties between elements), the same element of
    operands 1, 2, 3 in the ratio 1 : 2 : 3 (ties between operands), so at clamp's triple
    tie the upper bound's slope is never between the other two's."""
    shapes = [(6,), (6,), (6,)]
    lo, x, hi = irregular_direction([np.zeros(s) for s in shapes])
    steps = np.concatenate([lo, x, hi])
    assert len(set(np.round(lo, 12))) == lo.size and np.all(lo != 0)
    assert np.allclose(x, 2 * lo) and np.allclose(hi, 3 * lo)
    for a, b, c in zip(lo, x, hi):
        assert not min(a, b) <= c <= max(a, b)
    for (i, u), (j, v) in itertools.combinations(enumerate(steps), 2):
        assert u != v or i % 6 == j % 6, (i, j)


FLOOR_OF_PRODUCT = parse_program("def f(x0: f64[], x1: f64[]) -> f64[]:\n"
                                 "    a0 = mul(x0, x1)\n    a1 = floor(a0)\n    return a1\n")


def test_a_line_across_jumps_finer_than_itself_is_a_kink() -> None:
    """floor(x0·x1) at x0 = x1 = 1e200 (thorough profile, seed 5: jvp_vs_oracle failed every
    backend): below 210 digits the line does not move its points, at 320 it moves x0·x1 by
    1e120, across that many jumps, and floor looks like the identity along it, with a
    confident slope of 5e199 at 320 and 640 digits where the derivative is 0. The step
    function takes other values at the line's two ends, so the estimate is a kink, and the
    property leaves the element to the differential checks."""
    tangents = [np.array(1.1), np.array(-0.6)]
    huge = [np.array(1e200), np.array(1e200)]
    (kink,) = directional_derivative(FLOOR_OF_PRODUCT, huge, tangents, 40).kinks
    assert kink
    case = Case(FLOOR_OF_PRODUCT, tuple(huge), tuple(tangents), (np.array(-0.9),),
                source="test")
    result = jvp_vs_oracle(ReferenceBackend(), case)
    assert result.status is not Status.FAIL, result.reason
    # between jumps, the estimate is floor's derivative 0, judged
    smooth = directional_derivative(FLOOR_OF_PRODUCT, [np.array(0.3), np.array(1.7)],
                                    tangents, 40)
    assert not smooth.kinks[0] and smooth.values[0][()] == 0 and smooth.settled[0][()]
    # a jump 1.3e-9 away (3e7 · 1.7 rounds just below 51,000,000) is crossed by the line at
    # 40 digits only; the finer lines at 80 and 160 digits settle on 0 between the jumps
    near = directional_derivative(FLOOR_OF_PRODUCT, [np.array(3e7), np.array(1.7)],
                                  tangents, 40)
    assert not near.kinks[0] and near.values[0][()] == 0 and near.settled[0][()]


def test_a_huge_operand_does_not_hide_the_kinks_of_its_equation() -> None:
    """clamp(x1, x0, x1) (thorough profile, seed 6: jvp_vs_oracle failed every backend),
    with element 0 of both operands the largest float64, a tie of all three operands where
    the outer line keeps lo = hi and sees x1's tangent. The equation's own line moved its
    operands by 10^-10 at 40 digits, below the precision of 1.8e308, and the slope test's
    rounding level, relative to the largest operand, hid every kink of the line, the lo = hi
    tie of element 1 too: the line now gets 4/3 of a digit for every decade of its largest
    operand."""
    big = np.finfo(np.float64).max
    tied = parse_program("def f(x0: f64[2], x1: f64[2]) -> f64[2]:\n"
                         "    a0 = clamp(x1, x0, x1)\n    return a0\n")
    x0, x1 = np.array([big, -1.3]), np.array([big, -0.45])
    (marks,) = kinks_inside(tied, [x0, x1], 40)
    assert marks.all()
    case = Case(tied, (x0, x1), (np.array([1.1, -0.6]), np.array([0.35, -1.7])),
                (np.array([-0.9, 1.45]),), source="test")
    result = jvp_vs_oracle(ReferenceBackend(), case)
    assert result.status is Status.SKIP, result.reason
    # beside a huge operand, an equation away from its kinks stays unmarked
    apart = parse_program("def f(x0: f64[2], x1: f64[2]) -> f64[2]:\n"
                          "    a0 = mul(x0, x1)\n    return a0\n")
    (marks,) = kinks_inside(apart, [np.array([1e300, 0.5]), np.array([1e-300, 2.0])], 40)
    assert not marks.any()


def test_a_line_on_which_the_program_raises_settles_nothing() -> None:
    """rem(a, a) with a = argmax(rem(x0, x2)) (thorough profile, seed 9: grad_vs_oracle
    failed every backend, blaming it for the oracle's error): at the point rem(2.1, 0) is
    nan and wins the argmax, a = 2; along the line x2 moves off 0, the argmax moves to 0,
    and rem(0, 0) raises. No difference estimates a derivative there: no element is
    settled, each says why, and the property skips the case."""
    p = parse_program("def f(x0: f64[3], x2: f64[3]) -> f64[3]:\n"
                      "    a0 = rem(x0, x2)\n    a2 = argmax(a0, axis=0)\n"
                      "    a5 = rem(a2, a2)\n    return a0\n")
    primals = (np.array([0.7, -1.3, 2.1]), np.array([-0.85, 1.15, 0.0]))
    tangents = (np.array([1.1, -0.6, 0.35]), np.array([-1.7, 0.8, 1.1]))
    (settled,), (reason,) = (lambda e: (e.settled, e.reasons))(
        directional_derivative(p, list(primals), list(tangents), 40))
    assert not settled.any()
    assert all("raises at a point of the line" in r for r in reason.reshape(-1))
    case = Case(p, primals, tangents, (np.array([-0.9, 1.45, 0.55]),), source="test")
    result = grad_vs_oracle(ReferenceBackend(), case)
    assert result.status is Status.SKIP, result.reason
