"""The optimized engine's comparisons, logical operators, select_n and clamp (spec 3.3)
against the reference and the spec: IEEE comparisons (nan, signed zeros) in every dtype,
select_n's predicate dtypes, range check, rank-0 predicates and cases, its JVP and transpose,
clamp's values (lo > hi, nan, signed zeros) and its derivative at the bounds (chapter 6), the
emitted programs, and the errors of the type rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.conformance import stress
from lintra.conformance.backends.optimized import OptimizedBackend
from lintra.reference import check, evaluate
from lintra.reference.derived import jvp, vjp
from lintra.reference.errors import (
    EvaluationError,
    LinearityError,
    LintraTypeError,
    ShapeError,
)
from lintra.reference.parse import parse_program
from tests.harness import ill_typed_refused_alike, same_bits

NAN, INF = float("nan"), float("inf")
NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "i32": np.int32, "bool": np.bool_}
FLOATS = (0.0, -0.0, 1.0, -1.0, 2.5, 1e-310, INF, -INF, NAN, 1e308)
INTS = (0, 1, -1, 7, -2 ** 31, 2 ** 31 - 1)


COMPARE = """
def f(x: {t}, y: {t}) -> ({b}, {b}, {b}, {b}, {b}, {b}):
    a: {b} = eq(x, y)
    c: {b} = ne(x, y)
    d: {b} = lt(x, y)
    e: {b} = le(x, y)
    g: {b} = gt(x, y)
    h: {b} = ge(x, y)
    return a, c, d, e, g, h
"""


@pytest.mark.parametrize("dtype", ["f64", "f32", "i64", "i32"])
def test_comparisons_follow_ieee_in_every_numeric_dtype(dtype: str) -> None:
    values = FLOATS if dtype[0] == "f" else INTS
    xs, ys = zip(*itertools.product(values, values))
    n = len(xs)
    with np.errstate(over="ignore"):
        x, y = np.array(xs, dtype=NP[dtype]), np.array(ys, dtype=NP[dtype])
    xs, ys = x.tolist(), y.tolist()  # the values in the dtype (f32 rounds 1e-310 to 0)
    p = parse_program(COMPARE.format(t=f"{dtype}[{n}]", b=f"bool[{n}]"))
    got = lo.compile(p).evaluate(x, y)
    # Python's float comparisons are IEEE's: nan unequal to everything, -0 = +0
    expected = [[a == b for a, b in zip(xs, ys)], [a != b for a, b in zip(xs, ys)],
                [a < b for a, b in zip(xs, ys)], [a <= b for a, b in zip(xs, ys)],
                [a > b for a, b in zip(xs, ys)], [a >= b for a, b in zip(xs, ys)]]
    for g, w, r in zip(got, expected, evaluate(p, x, y)):
        same_bits(g, np.array(w))
        same_bits(g, r)


def test_bool_equality_and_logical_operators() -> None:
    p = parse_program("""
def f(x: bool[4], y: bool[4], s: bool[]) -> (bool[4], bool[4], bool[4], bool[4], bool[4]):
    a: bool[4] = eq(x, y)
    b: bool[4] = ne(x, s)
    c: bool[4] = and(x, y)
    d: bool[4] = or(x, false)
    e: bool[4] = not(y)
    return a, b, c, d, e
""")
    x = np.array([False, False, True, True])
    y = np.array([False, True, False, True])
    got = lo.compile(p).evaluate(x, y, True)
    expected = [x == y, x != True, x & y, x, ~y]  # noqa: E712
    for g, w, r in zip(got, expected, evaluate(p, x, y, True)):
        same_bits(g, w)
        same_bits(g, r)


def test_comparisons_have_no_tangent_and_their_programs_check() -> None:
    p = parse_program("def f(x: f64[3], y: f64[3]) -> (bool[3], f64[3]):\n"
                      "    b: bool[3] = lt(x, y)\n    z: f64[3] = select_n(b, x, y)\n"
                      "    return b, z\n")
    c = lo.compile(p)
    check(c.jvp_program())
    x, y = np.array([1.0, 5.0, NAN]), np.array([2.0, 3.0, 0.0])
    (b, _), (dz,) = c.jvp([x, y], [np.ones(3), 2 * np.ones(3)])
    same_bits(b, np.array([True, False, False]))
    same_bits(dz, np.array([2.0, 1.0, 1.0]))


# --------------------------------------------------------------------------------------------
# select_n


SELECT = """
def f(p: {p}, a: {a}, b: {b}, c: {c}) -> f64[4]:
    z: f64[4] = select_n(p, a, b, c)
    return z
"""


def test_select_n_with_an_integer_predicate_and_rank_0_cases() -> None:
    p = parse_program(SELECT.format(p="i32[4]", a="f64[4]", b="f64[]", c="f64[4]"))
    pred = np.array([2, 0, 1, 2], dtype=np.int32)
    a, b, c = np.array([1.0, -0.0, 3.0, 4.0]), np.float64(NAN), np.array([-5.0, 6, 7, -0.0])
    (got,) = lo.compile(p).evaluate(pred, a, b, c)
    same_bits(got, np.array([-5.0, -0.0, NAN, -0.0]))
    same_bits(got, evaluate(p, pred, a, b, c)[0])


@pytest.mark.parametrize("dtype", ["i32", "i64"])
@pytest.mark.parametrize("bad", [3, -1, 2 ** 31 - 1, -2 ** 31])
def test_select_n_refuses_a_predicate_outside_the_cases(dtype: str, bad: int) -> None:
    p = parse_program(SELECT.format(p=f"{dtype}[4]", a="f64[4]", b="f64[]", c="f64[4]"))
    pred = np.array([0, 1, bad, 2], dtype=NP[dtype])
    with pytest.raises(EvaluationError, match=f"select_n: predicate {bad} "):
        lo.compile(p).evaluate(pred, np.zeros(4), 1.0, np.ones(4))
    with pytest.raises(EvaluationError):
        evaluate(p, pred, np.zeros(4), 1.0, np.ones(4))


def test_select_n_with_one_case_and_a_rank_0_integer_predicate() -> None:
    p = parse_program("def f(p: i64[], a: i32[3]) -> i32[3]:\n    z: i32[3] = select_n(p, a)\n"
                      "    return z\n")
    a = np.array([1, 2, 3], dtype=np.int32)
    same_bits(lo.compile(p).evaluate(0, a)[0], a)
    with pytest.raises(EvaluationError):
        lo.compile(p).evaluate(1, a)


def test_select_n_literal_cases_take_the_first_variables_dtype() -> None:
    p = parse_program("def f(p: bool[3], x: f32[3]) -> (f32[3], f32[3]):\n"
                      "    a: f32[3] = select_n(p, 0.1, x)\n    b: f32[3] = select_n(p, x, 2)\n"
                      "    return a, b\n")
    pred = np.array([True, False, True])
    x = np.array([1.5, 2.5, 3.5], dtype=np.float32)
    a, b = lo.compile(p).evaluate(pred, x)
    same_bits(a, np.array([1.5, 0.1, 3.5], dtype=np.float32))
    same_bits(b, np.array([2.0, 2.5, 2.0], dtype=np.float32))


def test_select_n_derivatives_and_transpose_agree_with_the_reference() -> None:
    """J-Linear: the chosen case's tangent; each case's cotangent is ct where it was chosen
    (summed for the rank-0 case). Every value is a copy or one sum of copies: exact."""
    p = parse_program(SELECT.format(p="i64[4]", a="f64[4]", b="f64[]", c="f64[4]"))
    pred = np.array([1, 0, 1, 2], dtype=np.int64)
    a, b, c = np.array([1.0, 2.0, 3.0, 4.0]), np.float64(7.0), np.array([5.0, 6.0, 7.0, 8.0])
    compiled = lo.compile(p)
    ts = [np.array([0.5, -1.0, 2.0, 3.0]), np.float64(-4.0), np.array([9.0, 8.0, 7.0, 6.0])]
    _, (dz,) = compiled.jvp([pred, a, b, c], ts)
    same_bits(dz, np.array([-4.0, -1.0, -4.0, 6.0]))
    _, (rdz,) = jvp(p, [pred, a, b, c], ts)
    same_bits(dz, rdz)
    _, pullback = compiled.vjp(pred, a, b, c)
    ct = np.array([1.0, 10.0, 100.0, 1000.0])
    ga, gb, gc = pullback(ct)
    same_bits(ga, np.array([0.0, 10.0, 0.0, 0.0]))
    same_bits(gb, np.float64(101.0))
    same_bits(gc, np.array([0.0, 0.0, 0.0, 1000.0]))
    _, r_pullback = vjp(p, pred, a, b, c)
    for g, w in zip((ga, gb, gc), r_pullback(ct)):
        same_bits(g, w)
    _, lin = compiled.linearize(pred, a, b, c)
    check(lin.program)
    check(lin.transpose().program)
    check(compiled.jvp_program())


def test_select_n_keeps_a_nan_of_the_case_not_chosen_out_of_forward_mode() -> None:
    """Spec 6.1: forward mode selects the chosen case's tangent; reverse mode multiplies the
    zero cotangent of the case not chosen by its infinite coefficient: nan."""
    p = parse_program("def f(x: f64[2]) -> f64[2]:\n    b: bool[2] = gt(x, 0.0)\n"
                      "    g: f64[2] = log(x)\n    z: f64[2] = select_n(b, x, g)\n"
                      "    return z\n")
    x = np.array([0.0, 2.0])
    _, (dz,) = lo.compile(p).jvp([x], [np.ones(2)])
    same_bits(dz, np.array([1.0, 0.5]))
    _, pullback = lo.compile(p).vjp(x)
    (gx,) = pullback(np.ones(2))
    assert np.isnan(gx[0]) and gx[1] == 0.5


# --------------------------------------------------------------------------------------------
# clamp


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_clamp_values_equal_the_reference_bit_for_bit(dtype: str) -> None:
    values = (0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 0.5)
    triples = list(itertools.product(values, values, values))
    lo_, x, hi = (np.array(v, dtype=NP[dtype]) for v in zip(*triples))
    n = len(triples)
    t = f"{dtype}[{n}]"
    p = parse_program(f"def f(l: {t}, x: {t}, h: {t}) -> {t}:\n    z: {t} = clamp(l, x, h)\n"
                      "    return z\n")
    (got,) = lo.compile(p).evaluate(lo_, x, hi)
    same_bits(got, evaluate(p, lo_, x, hi)[0])


def test_clamp_edge_cases_of_the_table() -> None:
    p = parse_program("def f(x: f64[6]) -> (f64[6], f64[6], f64[6]):\n"
                      "    a: f64[6] = clamp(-1.0, x, 1.0)\n    b: f64[6] = clamp(2.0, x, 1.0)\n"
                      "    c: f64[6] = clamp(-0.0, x, 0.0)\n    return a, b, c\n")
    x = np.array([-3.0, 0.5, 2.0, NAN, -0.0, 0.0])
    a, b, c = lo.compile(p).evaluate(x)
    same_bits(a, np.array([-1.0, 0.5, 1.0, NAN, -0.0, 0.0]))
    same_bits(b, np.array([1.0, 1.0, 1.0, NAN, 1.0, 1.0]))  # lo > hi gives hi
    # max(x, -0) then min(., +0): max(-0, -0) = -0, min(-0, +0) = -0; max(+0, -0) = +0
    same_bits(c, np.array([-0.0, 0.0, 0.0, NAN, -0.0, 0.0]))


def test_clamp_integers() -> None:
    p = parse_program("def f(l: i32[], x: i32[5], h: i32[5]) -> i32[5]:\n"
                      "    z: i32[5] = clamp(l, x, h)\n    return z\n")
    x = np.array([-7, 0, 3, 9, -2 ** 31], dtype=np.int32)
    h = np.array([5, 5, 5, 5, -4], dtype=np.int32)
    (got,) = lo.compile(p).evaluate(np.int32(-3), x, h)
    same_bits(got, np.array([-3, 0, 3, 5, -4], dtype=np.int32))


def clamp_partials(lo_: list[float], x: list[float], hi: list[float]) -> list[np.ndarray]:
    """(∂lo, ∂x, ∂hi) elementwise: a unit tangent in one operand, the others zero."""
    n = len(x)
    t = f"f64[{n}]"
    p = parse_program(f"def f(l: {t}, x: {t}, h: {t}) -> {t}:\n    z: {t} = clamp(l, x, h)\n"
                      "    return z\n")
    c = lo.compile(p)
    primals = [np.array(lo_), np.array(x), np.array(hi)]
    out = []
    for k in range(3):
        ts = [np.zeros(n) for _ in range(3)]
        ts[k] = np.ones(n)
        _, (dz,) = c.jvp(primals, ts)
        r_ = jvp(p, primals, ts)[1][0]
        same_bits(dz, r_)
        out.append(np.asarray(dz))
    return out


def test_clamp_derivative_at_its_bounds_follows_chapter_6() -> None:
    """The derivative of min(max(x, lo), hi) with ties split in halves: at x = lo < hi,
    dx/2 + dlo/2; at x = hi > lo, dx/2 + dhi/2; at lo = x = hi, ¼, ¼, ½; lo > hi gives hi."""
    lo_ = [-1.0, -1.0, -1.0, -1.0, 1.0, 2.0, NAN, 0.0]
    x = [0.5, -1.0, 1.0, -3.0, 1.0, 0.0, 0.0, -0.0]
    hi = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    dlo, dx, dhi = clamp_partials(lo_, x, hi)
    same_bits(dx, np.array([1.0, 0.5, 0.5, 0.0, 0.25, 0.0, 0.0, 0.25]))
    same_bits(dlo, np.array([0.0, 0.5, 0.0, 1.0, 0.25, 0.0, 0.0, 0.25]))
    same_bits(dhi, np.array([0.0, 0.0, 0.5, 0.0, 0.5, 1.0, 0.0, 0.5]))


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_clamp_partials_are_exact_at_the_hard_places(dtype: str) -> None:
    points = stress.hard_places("clamp", dtype) + stress.grid("clamp", dtype)[::97]
    measured = stress.measure(OptimizedBackend(), "clamp", dtype, points)
    assert measured
    beyond = [m.describe() for m in measured if m.verdict is stress.Verdict.BEYOND]
    assert not beyond, beyond[:5]


def test_clamp_vjp_with_rank_0_bounds_and_its_programs() -> None:
    p = parse_program("def f(l: f64[], x: f64[4], h: f64[]) -> f64[4]:\n"
                      "    z: f64[4] = clamp(l, x, h)\n    return z\n")
    c = lo.compile(p)
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    _, pullback = c.vjp(-1.0, x, 0.5)
    got = pullback(np.array([1.0, 2.0, 4.0, 8.0]))
    _, r_pullback = vjp(p, np.float64(-1.0), x, np.float64(0.5))
    want = r_pullback(np.array([1.0, 2.0, 4.0, 8.0]))
    for g, w in zip(got, want):
        same_bits(g, w)
    same_bits(got[0], np.float64(1.0))
    same_bits(got[2], np.float64(2.0 + 8.0))  # x = 0.5 = hi: half of 4; x = 3: all of 8
    check(c.jvp_program())
    _, lin = c.linearize(np.float64(-1.0), x, np.float64(0.5))
    check(lin.program)
    check(lin.transpose().program)


def test_size_zero_operands() -> None:
    p = parse_program("def f(p: bool[0], x: f64[0], s: f64[]) -> (f64[0], bool[0], f64[0]):\n"
                      "    a: f64[0] = select_n(p, x, s)\n    b: bool[0] = le(x, s)\n"
                      "    c: f64[0] = clamp(s, x, s)\n    return a, b, c\n")
    z = np.zeros(0)
    got = lo.compile(p).evaluate(np.zeros(0, bool), z, 1.0)
    for g, w in zip(got, evaluate(p, np.zeros(0, bool), z, 1.0)):
        same_bits(g, w)
    _, pullback = lo.compile(p).vjp(np.zeros(0, bool), z, np.float64(1.0))
    gx, gs = pullback(z, z)
    same_bits(gx, z)
    same_bits(gs, np.float64(0.0))


# --------------------------------------------------------------------------------------------
# Type rules


BAD = [
    ("def f(x: f64[2], y: f32[2]) -> bool[2]:\n    z: bool[2] = eq(x, y)\n", LintraTypeError),
    ("def f(x: bool[2], y: bool[2]) -> bool[2]:\n    z: bool[2] = lt(x, y)\n", LintraTypeError),
    ("def f(x: f64[2], y: f64[3]) -> bool[2]:\n    z: bool[2] = ge(x, y)\n", ShapeError),
    ("def f(x: i64[2], y: i64[2]) -> bool[2]:\n    z: bool[2] = and(x, y)\n", LintraTypeError),
    ("def f(x: f64[2]) -> bool[2]:\n    z: bool[2] = not(x)\n", LintraTypeError),
    ("def f(p: f64[2], x: f64[2]) -> f64[2]:\n    z: f64[2] = select_n(p, x, x)\n",
     LintraTypeError),
    ("def f(p: bool[2], x: f64[2]) -> f64[2]:\n    z: f64[2] = select_n(p, x, x, x)\n",
     ShapeError),
    ("def f(p: bool[3], x: f64[2]) -> f64[2]:\n    z: f64[2] = select_n(p, x, x)\n",
     ShapeError),
    ("def f(p: bool[2], x: f64[2], y: f32[2]) -> f64[2]:\n    z: f64[2] = select_n(p, x, y)\n",
     LintraTypeError),
    ("def f(p: i32[2], x: f64[2], y: f64[3]) -> f64[2]:\n    z: f64[2] = select_n(p, x, y)\n",
     ShapeError),
    ("def f(p: i32[2]) -> f64[2]:\n    z: f64[2] = select_n(p)\n", LintraTypeError),
    ("def f(p: bool[2], x: f64[2], t: lin f64[2]) -> lin f64[2]:\n"
     "    z: lin f64[2] = select_n(p, x, t)\n", LinearityError),
    ("def f(l: f64[], x: bool[2], h: f64[]) -> f64[2]:\n    z: f64[2] = clamp(l, x, h)\n",
     LintraTypeError),
    ("def f(l: bool[], x: bool[2], h: bool[]) -> bool[2]:\n    z: bool[2] = clamp(l, x, h)\n",
     LintraTypeError),
    ("def f(l: f64[3], x: f64[2], h: f64[]) -> f64[2]:\n    z: f64[2] = clamp(l, x, h)\n",
     ShapeError),
    ("def f(l: f64[2], x: f64[], h: f64[]) -> f64[]:\n    z: f64[] = clamp(l, x, h)\n",
     ShapeError),
    ("def f(l: f64[], t: lin f64[2], h: f64[]) -> lin f64[2]:\n"
     "    z: lin f64[2] = clamp(l, t, h)\n", LinearityError),
]


@pytest.mark.parametrize("text,error", BAD)
def test_ill_typed_equations_raise_the_reference_class(text: str, error: type) -> None:
    ill_typed_refused_alike(text, error)
