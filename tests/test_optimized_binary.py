"""The optimized engine's binary arithmetic rules (spec 3.2) against the reference and the
spec: IEEE values bit for bit (signed zeros, nan, inf, subnormals), pow and atan2 within their
4-ulp claim of the mpmath truth, integer semantics (wrap-around, truncating division, C
remainder, zero divisors), the conventions of chapter 6 exactly, the derivative claims at the
hard places, rank 0 and size 0, the emitted programs, and the errors of the type rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.conformance import stress
from lintra.conformance.backends.optimized import OptimizedBackend
from lintra.reference import check, evaluate
from lintra.reference.derived import hvp, jvp, vjp
from lintra.reference.errors import (
    EvaluationError,
    LinearityError,
    LintraTypeError,
    ShapeError,
)
from lintra.reference.parse import parse_program
from tests.harness import ill_typed_refused_alike, same_bits

NAN, INF = float("nan"), float("inf")
SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 9.0, 0.1, -7.0, 1e-310, -5e-324, 1e308,
           -1e308, INF, -INF, NAN, 2.0 ** -61, 2.0 ** 61, 1e-200, 1e200)
"""Operand values whose pairs cover the edge cases of the table's column."""
EXACT = ("add", "sub", "mul", "div", "rem", "max", "min")
"""Correctly rounded or exact (spec 3.2 *Accuracy*): equal to the reference bit for bit."""
LIBRARY = ("pow", "atan2")
"""One library call each, claimed within 4 ulp."""
ALL = EXACT + LIBRARY
NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "i32": np.int32}


def pairs(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of SPECIAL values, as two arrays of ``dtype``."""
    xs, ys = zip(*itertools.product(SPECIAL, SPECIAL))
    with np.errstate(over="ignore"):
        return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


def one_equation(prim: str, dtype: str, n: int | None) -> object:
    t = f"{dtype}[{'' if n is None else n}]"
    return parse_program(f"def f(x: {t}, y: {t}) -> {t}:\n    z: {t} = {prim}(x, y)\n"
                         "    return z\n")


def ulps(got: np.ndarray, truth: np.ndarray, dtype: type) -> np.ndarray:
    """|got - truth| in units of the dtype's spacing at the truth (truth finite, non-zero)."""
    spacing = np.spacing(np.abs(truth.astype(dtype))).astype(np.float64)
    return np.abs(got.astype(np.float64) - truth) / spacing


# --------------------------------------------------------------------------------------------
# Values


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", EXACT)
def test_exact_primitives_equal_the_reference_bit_for_bit(prim: str, dtype: str) -> None:
    x, y = pairs(np.float64 if dtype == "f64" else np.float32)
    p = one_equation(prim, dtype, x.size)
    (got,) = lo.compile(p).evaluate(x, y)
    (want,) = evaluate(p, x, y)
    same_bits(got, want)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", LIBRARY)
def test_pow_and_atan2_are_within_4_ulp_of_the_truth(prim: str, dtype: str) -> None:
    np_dtype = np.float64 if dtype == "f64" else np.float32
    x, y = pairs(np_dtype)
    p = one_equation(prim, dtype, x.size)
    (got,) = lo.compile(p).evaluate(x, y)
    got = np.asarray(got)
    assert got.dtype == np_dtype
    (exact,) = evaluate(p, x, y, dps=40)
    with np.errstate(over="ignore"):
        truth = np.array([float(v) for v in exact], dtype=np.float64)
        rounded = truth.astype(np_dtype)
    # where an operand is a zero, an infinity or nan, or the truth rounds to 0, ±inf or nan
    # (the C99 cases), the value is exact: that of the reference in the float domain (mpmath
    # has no signed zero: its pow(-0, -1) is +inf and its atan2(0, -0) is 0); the table test
    # below states the C99 values themselves
    special = (~np.isfinite(rounded) | (rounded == 0) | ~np.isfinite(x) | ~np.isfinite(y)
               | (x == 0) | (y == 0))
    (reference,) = evaluate(p, x, y)
    same_bits(got[special], np.asarray(reference)[special])
    assert np.all(ulps(got[~special], truth[~special], np_dtype) <= 4.0)


def test_the_spec_table_edge_cases() -> None:
    """The edge-case column of spec 3.2, value by value."""
    pz, nz = 0.0, -0.0

    def run(prim: str, x: float, y: float) -> float:
        return float(lo.compile(one_equation(prim, "f64", None)).evaluate(x, y)[0])

    def same(a: float, b: float) -> bool:
        return (np.isnan(a) and np.isnan(b)) or (a == b and np.signbit(a) == np.signbit(b))

    table = [
        ("div", 1.0, pz, INF), ("div", 1.0, nz, -INF), ("div", pz, pz, NAN),
        ("rem", 5.5, INF, 5.5), ("rem", -5.5, -INF, -5.5), ("rem", INF, 2.0, NAN),
        ("rem", 1.0, pz, NAN), ("rem", -7.0, 2.0, -1.0), ("rem", nz, 3.0, nz),
        ("pow", NAN, pz, 1.0), ("pow", 7.0, nz, 1.0), ("pow", 1.0, NAN, 1.0),
        ("pow", -8.0, 1.0 / 3.0, NAN), ("pow", pz, -1.0, INF), ("pow", nz, -1.0, -INF),
        ("pow", nz, -2.0, INF), ("pow", pz, 0.5, pz), ("pow", nz, 0.5, pz),
        ("pow", -INF, 0.5, INF), ("pow", -INF, 3.0, -INF), ("pow", 2.0, -INF, 0.0),
        ("atan2", pz, nz, np.pi), ("atan2", nz, nz, -np.pi), ("atan2", INF, INF, np.pi / 4),
        ("atan2", INF, -INF, 3 * np.pi / 4), ("atan2", -INF, -INF, -3 * np.pi / 4),
        ("max", nz, pz, pz), ("max", pz, nz, pz), ("max", nz, nz, nz), ("max", NAN, 1.0, NAN),
        ("max", 1.0, NAN, NAN), ("min", nz, pz, nz), ("min", pz, nz, nz), ("min", pz, pz, pz),
        ("min", 2.0, NAN, NAN),
    ]
    for prim, x, y, want in table:
        assert same(run(prim, x, y), want), (prim, x, y, run(prim, x, y), want)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_max_and_min_with_a_literal_zero_order_the_zeros(dtype: str) -> None:
    """max(x, 0.0) (a ReLU) and its mirror images: -0 and +0 ordered as the spec says."""
    t = f"{dtype}[5]"
    p = parse_program(
        f"def f(x: {t}) -> ({t}, {t}, {t}, {t}, {t}, {t}):\n"
        f"    a: {t} = max(x, 0.0)\n    b: {t} = max(0.0, x)\n    c: {t} = max(x, -0.0)\n"
        f"    d: {t} = min(x, 0.0)\n    e: {t} = min(-0.0, x)\n    g: {t} = max(x, 2)\n"
        "    return a, b, c, d, e, g\n")
    x = np.array([-0.0, 0.0, -3.0, NAN, 4.0], dtype=NP[dtype])
    got = lo.compile(p).evaluate(x)
    for g, w in zip(got, evaluate(p, x)):
        same_bits(g, w)
    same_bits(got[0], np.array([0.0, 0.0, 0.0, NAN, 4.0], dtype=NP[dtype]))
    same_bits(got[3], np.array([-0.0, 0.0, -3.0, NAN, 0.0], dtype=NP[dtype]))


# --------------------------------------------------------------------------------------------
# Integers


INT_PROGRAM = """
def f(x: {t}, y: {t}) -> ({t}, {t}, {t}, {t}, {t}, {t}, {t}):
    a: {t} = add(x, y)
    b: {t} = sub(x, y)
    c: {t} = mul(x, y)
    d: {t} = div(x, y)
    r: {t} = rem(x, y)
    m: {t} = max(x, y)
    n: {t} = min(x, y)
    return a, b, c, d, r, m, n
"""


def test_int32_wraps_truncates_and_keeps_the_numerators_sign() -> None:
    lo32, hi32 = -2 ** 31, 2 ** 31 - 1
    x = np.array([7, -7, 7, -7, lo32, hi32, lo32, 0, 5], dtype=np.int32)
    y = np.array([2, 2, -2, -2, -1, 1, 1, 3, 5], dtype=np.int32)
    p = parse_program(INT_PROGRAM.format(t="i32[9]"))
    a, b, c, d, r, m, n = lo.compile(p).evaluate(x, y)
    # written from C's semantics (two's complement wrap-around, truncation toward zero)
    same_bits(a, np.array([9, -5, 5, -9, hi32, lo32, lo32 + 1, 3, 10], dtype=np.int32))
    same_bits(b, np.array([5, -9, 9, -5, lo32 + 1, hi32 - 1, hi32, -3, 0], dtype=np.int32))
    same_bits(c, np.array([14, -14, -14, 14, lo32, hi32, lo32, 0, 25], dtype=np.int32))
    same_bits(d, np.array([3, -3, -3, 3, lo32, hi32, lo32, 0, 1], dtype=np.int32))
    same_bits(r, np.array([1, -1, 1, -1, 0, 0, 0, 0, 0], dtype=np.int32))
    same_bits(m, np.maximum(x, y))
    same_bits(n, np.minimum(x, y))
    for g, w in zip((a, b, c, d, r, m, n), evaluate(p, x, y)):
        same_bits(g, w)


def test_int64_extremes_built_inside_the_program() -> None:
    """i64's min and max, reached by wrap-around from values of the middle of the range."""
    p = parse_program("""
def f(h: i64[3], k: i64[3]) -> (i64[3], i64[3], i64[3], i64[3], i64[3]):
    top: i64[3] = add(h, h)
    low: i64[3] = neg(top)
    edge: i64[3] = sub(low, k)
    q: i64[3] = div(edge, -1)
    r: i64[3] = rem(edge, -1)
    s: i64[3] = div(edge, k)
    w: i64[3] = mul(edge, 3)
    return q, r, s, w, top
""")
    h = np.full(3, 2 ** 62, dtype=np.int64)
    k = np.array([0, 1, -1], dtype=np.int64)
    with pytest.raises(EvaluationError, match="div"):  # division of low by k = 0
        lo.compile(p).evaluate(h, k)
    k = np.array([2, 1, -1], dtype=np.int64)
    got = lo.compile(p).evaluate(h, k)
    low = -2 ** 63  # top wraps to low, low - k wraps for k = 1 to the maximum
    edge = [low - 2 + 2 ** 64, low - 1 + 2 ** 64, low + 1]
    same_bits(got[4], np.full(3, low, dtype=np.int64))
    same_bits(got[0], np.array([-edge[0], -edge[1], -edge[2]], dtype=np.int64))
    same_bits(got[1], np.zeros(3, dtype=np.int64))
    same_bits(got[2], np.array([edge[0] // 2, edge[1], -edge[2]], dtype=np.int64))
    for g, w in zip(got, evaluate(p, h, k)):
        same_bits(g, w)


@pytest.mark.parametrize("dtype", ["i32", "i64"])
def test_integer_division_against_python_integers(dtype: str) -> None:
    """Random operands of every magnitude: C's quotient and remainder from Python's exact
    integers (|x| // |y| with the sign of x·y; x - q·y), wrapped to the dtype."""
    info = np.iinfo(NP[dtype])
    rng = np.random.default_rng(3)
    bits = rng.integers(0, info.bits - 1, 2000)
    x = (rng.integers(info.min, info.max, 2000, dtype=NP[dtype]) >> bits).astype(NP[dtype])
    y = (rng.integers(info.min, info.max, 2000, dtype=NP[dtype])
         >> rng.integers(0, info.bits - 1, 2000)).astype(NP[dtype])
    y[y == 0] = -1
    x[:3], y[:3] = info.min, [-1, 1, info.min]
    p = parse_program(INT_PROGRAM.format(t=f"{dtype}[2000]"))
    got = lo.compile(p).evaluate(x, y)
    q = [abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1) for a, b in zip(x.tolist(),
                                                                            y.tolist())]
    r = [a - qa * b for a, b, qa in zip(x.tolist(), y.tolist(), q)]

    def wrapped(values: list[int]) -> np.ndarray:
        span = 2 ** info.bits
        return np.array([(v - info.min) % span + info.min for v in values], dtype=NP[dtype])

    same_bits(got[3], wrapped(q))
    same_bits(got[4], wrapped(r))


@pytest.mark.parametrize("dtype", ["i32", "i64"])
@pytest.mark.parametrize("prim", ["div", "rem"])
def test_integer_division_by_zero_is_an_evaluation_error(prim: str, dtype: str) -> None:
    for x, y, n in ((np.array([4, 5]), np.array([1, 0]), 2), (np.array(4), np.array(0), None)):
        p = one_equation(prim, dtype, n)
        with pytest.raises(EvaluationError, match=prim):
            lo.compile(p).evaluate(x.astype(NP[dtype]), y.astype(NP[dtype]))
        with pytest.raises(EvaluationError):
            evaluate(p, x.astype(NP[dtype]), y.astype(NP[dtype]))


def test_an_integer_literal_divisor_and_numerator() -> None:
    p = parse_program("def f(x: i32[4]) -> (i32[4], i32[4]):\n    q: i32[4] = div(x, -3)\n"
                      "    r: i32[4] = rem(100, x)\n    return q, r\n")
    x = np.array([7, -7, 9, -1], dtype=np.int32)
    q, r = lo.compile(p).evaluate(x)
    same_bits(q, np.array([-2, 2, -3, 0], dtype=np.int32))
    same_bits(r, np.array([2, 2, 1, 0], dtype=np.int32))


# --------------------------------------------------------------------------------------------
# Derivatives


def partials(prim: str, x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(∂z/∂x, ∂z/∂y) elementwise in f64, each computed with the other operand's tangent a
    symbolic zero (stop_gradient), so an infinite partial does not meet a zero tangent."""
    t = f"f64[{len(x)}]"
    out = []
    for held in ("y", "x"):
        p = parse_program(
            f"def f(x: {t}, y: {t}) -> {t}:\n    h: {t} = stop_gradient({held})\n"
            f"    z: {t} = {prim}({'x, h' if held == 'y' else 'h, y'})\n    return z\n")
        ones = np.ones(len(x))
        _, (dz,) = lo.compile(p).jvp([np.array(x), np.array(y)], [ones, ones])
        out.append(np.asarray(dz))
    return out[0], out[1]


def test_max_and_min_split_a_tie_and_give_nothing_at_nan() -> None:
    """Chapter 6: the chosen operand's tangent, half of each at a tie, zero at a nan."""
    x = [1.0, 2.0, 3.0, -0.0, 0.0, NAN, 1.0, INF]
    y = [2.0, 1.0, 3.0, 0.0, -0.0, 1.0, NAN, INF]
    dx, dy = partials("max", x, y)
    same_bits(dx, np.array([0.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5]))
    same_bits(dy, np.array([1.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5]))
    dx, dy = partials("min", x, y)
    same_bits(dx, np.array([1.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5]))
    same_bits(dy, np.array([0.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5]))


def test_pow_kinks_follow_chapter_6() -> None:
    # y = 0: ∂x = 0 wherever x is: the guard's 0 where y·x^(y-1) would be 0·inf or 0·nan
    # (x = ±0, nan), the formula's own 0·(1/x) elsewhere (-0 for a negative x)
    dx, _ = partials("pow", [0.0, -0.0, 2.0, -3.0, INF, NAN], [0.0] * 6)
    same_bits(dx, np.array([0.0, 0.0, 0.0, -0.0, 0.0, 0.0]))
    # x = 0: ∂y = 0 for every y (log(x)·x^y would be -inf·0 or -inf·inf)
    _, dy = partials("pow", [0.0, 0.0, -0.0, 0.0], [2.0, -1.0, 0.5, -2.0])
    same_bits(dy, np.zeros(4))
    # x < 0: ∂y is nan (log(x)); infinite ∂x at 0 for 0 < y < 1
    dx, dy = partials("pow", [-2.0, 0.0], [3.0, 0.5])
    assert np.isnan(dy[0]) and dx[0] == 12.0
    same_bits(dx[1:], np.array([INF]))


def test_pow_hessian_keeps_the_mixed_partial_at_a_zero_exponent() -> None:
    """At y = 0 the ∂x coefficient keeps its derivative in y (spec 3.2: the guard replaces
    only the nan of 0·inf): forward over reverse along (tx, ty) at (x, 0) is (ty/x, tx/x +
    log²(x)·ty), the Hessian [[0, 1/x], [1/x, log²x]], and the reference's bit for bit."""
    p = parse_program("def f(x: f64[], y: f64[]) -> f64[]:\n    z: f64[] = pow(x, y)\n"
                      "    return z\n")
    for x in (0.7, 2.1, 1e-310):
        primals, tangents = [np.float64(x), np.float64(0.0)], [np.float64(1.1), np.float64(-0.6)]
        hx, hy = lo.compile(p).hvp(primals, tangents)
        want = hvp(p, primals, tangents)
        same_bits(np.asarray(hx), np.asarray(want[0]))
        same_bits(np.asarray(hy), np.asarray(want[1]))
        if x > 1e-300:
            assert abs(float(hx) - (-0.6 / x)) <= 1e-15 * abs(0.6 / x)
        else:  # 1/x overflows, as the true partial does
            assert float(hx) == -INF


def test_atan2_has_nan_coefficients_at_the_origin() -> None:
    dy, dx = partials("atan2", [0.0, -0.0], [0.0, 0.0])
    assert np.all(np.isnan(dy)) and np.all(np.isnan(dx))


def test_rem_partials_are_one_and_minus_the_truncated_quotient() -> None:
    """∂y = -trunc(x/y) exactly, also where x/y rounds up to an integer (9 / 0.1 = 89.99...)
    and at the jumps (6 / 3)."""
    dx, dy = partials("rem", [9.0, 6.0, -7.0, 7.5, 1e300], [0.1, 3.0, 2.0, -2.0, 3.0])
    same_bits(dx, np.ones(5))
    same_bits(dy[:4], -np.array([89.0, 2.0, -3.0, -3.0]))
    # 1e300 = q·3 + r for the integer q = trunc(1e300 / 3); q has more digits than a float:
    # ∂y is -q within the claim (2 ulp)
    exact_q = int(1e300) // 3
    assert abs(-dy[4] - exact_q) <= 2 * np.spacing(float(exact_q))


def test_div_partials_at_the_edges_of_the_scaling() -> None:
    """∂y = -x/y² stays accurate where y·y would overflow or x/y would be subnormal."""
    x = [1e-320, 1.0, 3.0, 1e-300, 1e-300, 5.0]
    y = [1e-10, 2.0 ** 600, 7.0, 1e-200, 1e-100, 2.0 ** -61]
    dx, dy = partials("div", x, y)
    same_bits(dx, 1.0 / np.array(y))
    import mpmath

    with mpmath.workdps(50):
        want = [float(-mpmath.mpf(a) / mpmath.mpf(b) ** 2) for a, b in zip(x, y)]
    assert np.all(ulps(np.asarray(dy), np.array(want), np.float64) <= 2.0)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", ["div", "rem", "pow", "atan2", "max", "min", "mul"])
def test_partials_meet_the_derivative_claim_at_the_hard_places(prim: str, dtype: str) -> None:
    """Every partial at the suite's hard places and a slice of its grid, against the mpmath
    truth, within the d-ulp column (stress.measure judges; the claims are the spec's)."""
    points = stress.hard_places(prim, dtype) + stress.grid(prim, dtype)[::41]
    measured = stress.measure(OptimizedBackend(), prim, dtype, points)
    assert measured
    beyond = [m.describe() for m in measured if m.verdict is stress.Verdict.BEYOND]
    assert not beyond, beyond[:5]


RANDOM_PROGRAM = """
def f(x: f64[6], y: f64[6], s: f64[]) -> (f64[6], f64[6], f64[6], f64[6], f64[6], f64[6]):
    a: f64[6] = div(x, y)
    b: f64[6] = rem(x, s)
    c: f64[6] = pow(y, x)
    d: f64[6] = atan2(s, x)
    e: f64[6] = max(a, s)
    g: f64[6] = min(x, y)
    return a, b, c, d, e, g
"""


def test_jvp_and_vjp_agree_with_the_reference() -> None:
    """At ordinary points, with rank-0 operands broadcast (their cotangents are sums). The
    tolerance: each side's partials are within their claim (at most 17 ulp, pow's ∂y), so the
    two differ by at most 2·17 ulp ≤ 68u relative per partial, and sums of n terms add n·u."""
    p = parse_program(RANDOM_PROGRAM)
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 3.0, 6)
    y = rng.uniform(0.5, 3.0, 6)  # pow(y, x) with y > 0: a real derivative in x
    s = np.float64(1.3)
    c = lo.compile(p)
    tangents = [rng.standard_normal(6), rng.standard_normal(6), np.float64(0.7)]
    outs, touts = c.jvp([x, y, s], tangents)
    r_outs, r_touts = jvp(p, [x, y, s], tangents)
    rtol = 80 * 2.0 ** -53
    for k, (g, w) in enumerate(zip(outs, r_outs)):
        if k in (2, 3):  # pow, atan2: each within 4 ulp of the truth
            np.testing.assert_allclose(np.asarray(g), w, rtol=16 * 2.0 ** -53, atol=0)
        else:
            same_bits(g, w)
    for g, w in zip(touts, r_touts):
        np.testing.assert_allclose(np.asarray(g), w, rtol=rtol, atol=0)
    _, pullback = c.vjp(x, y, s)
    _, r_pullback = vjp(p, x, y, s)
    cts = [rng.standard_normal(6) for _ in range(6)]
    for g, w in zip(pullback(*cts), r_pullback(*cts)):
        scale = sum(np.abs(ct).sum() for ct in cts) * 10
        np.testing.assert_allclose(np.asarray(g), w, rtol=rtol, atol=scale * 20 * 2.0 ** -53)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_emitted_programs_pass_the_reference_check(dtype: str) -> None:
    t = f"{dtype}[3]"
    p = parse_program(
        f"def f(x: {t}, y: {t}, s: {dtype}[]) -> ({t}, {t}, {t}, {t}, {t}, {t}, {t}):\n"
        f"    a: {t} = div(x, s)\n    b: {t} = rem(s, y)\n    c: {t} = pow(x, 2)\n"
        f"    d: {t} = atan2(y, x)\n    e: {t} = max(x, 0.0)\n    g: {t} = min(s, y)\n"
        f"    h: {t} = div(2, y)\n    return a, b, c, d, e, g, h\n")
    c = lo.compile(p)
    check(c.jvp_program())
    x = np.array([0.5, 2.0, -1.0], dtype=NP[dtype])
    y = np.array([1.5, -0.25, 3.0], dtype=NP[dtype])
    s = np.asarray(0.75, dtype=NP[dtype])
    outs, lin = c.linearize(x, y, s)
    check(lin.program)
    check(lin.transpose().program)
    for v in outs:
        assert np.asarray(v).dtype == NP[dtype]


def test_size_zero_and_rank_zero_operands() -> None:
    p = parse_program(
        "def f(x: f64[0], y: f64[0], s: f64[]) -> (f64[0], f64[0], f64[0], f64[]):\n"
        "    a: f64[0] = pow(x, s)\n    b: f64[0] = max(y, s)\n    c: f64[0] = rem(x, y)\n"
        "    d: f64[] = atan2(s, s)\n    return a, b, c, d\n")
    c = lo.compile(p)
    z = np.zeros(0)
    got = c.evaluate(z, z, 1.5)
    for g, w in zip(got, evaluate(p, z, z, 1.5)):
        same_bits(g, w)
    _, pullback = c.vjp(z, z, np.float64(1.5))
    gx, gy, gs = pullback(z, z, z, np.float64(1.0))
    same_bits(gy, z)
    same_bits(gx, z)
    # b's cotangent sums over no elements; atan2(s, s) has partials 1/3 and -1/3 in its two
    # operands (x/(x² + y²) and -y/(x² + y²) at x = y = 1.5), which cancel exactly
    assert np.asarray(gs) == 0.0


# --------------------------------------------------------------------------------------------
# Type rules


BAD = [
    ("def f(x: f64[2], y: f32[2]) -> f64[2]:\n    z: f64[2] = div(x, y)\n", LintraTypeError),
    ("def f(x: i64[2], y: i64[2]) -> i64[2]:\n    z: i64[2] = pow(x, y)\n", LintraTypeError),
    ("def f(x: i32[], y: i32[]) -> i32[]:\n    z: i32[] = atan2(x, y)\n", LintraTypeError),
    ("def f(x: bool[2], y: bool[2]) -> bool[2]:\n    z: bool[2] = max(x, y)\n",
     LintraTypeError),
    ("def f(x: bool[2], y: bool[2]) -> bool[2]:\n    z: bool[2] = add(x, y)\n",
     LintraTypeError),
    ("def f(x: f64[2], y: f64[3]) -> f64[2]:\n    z: f64[2] = rem(x, y)\n", ShapeError),
    ("def f(x: f64[2, 1], y: f64[2]) -> f64[2, 1]:\n    z: f64[2, 1] = min(x, y)\n",
     ShapeError),
    ("def f(x: i64[2]) -> i64[2]:\n    z: i64[2] = div(x, 1.5)\n", LintraTypeError),
    ("def f(x: f64[2], y: f64[2], w: f64[2]) -> f64[2]:\n    z: f64[2] = mul(x, y, w)\n",
     LintraTypeError),
    ("def f(c: f64[2], t: lin f64[2]) -> lin f64[2]:\n    z: lin f64[2] = div(c, t)\n",
     LinearityError),
    ("def f(c: f64[2], t: lin f64[2]) -> lin f64[2]:\n    z: lin f64[2] = max(t, c)\n",
     LinearityError),
    ("def f(c: f64[2], t: lin f64[2]) -> lin f64[2]:\n    z: lin f64[2] = rem(t, c)\n",
     LinearityError),
    ("def f(t: lin f64[2]) -> lin f64[2]:\n    z: lin f64[2] = div(t, t)\n",
     LinearityError),
]


@pytest.mark.parametrize("text,error", BAD)
def test_ill_typed_equations_raise_the_reference_class(text: str, error: type) -> None:
    ill_typed_refused_alike(text, error)


def test_a_square_costs_one_product_fewer_each_way_with_the_same_bits() -> None:
    """mul(v, v): the tangent is (2·dv)·v (two linear products, not three equations) and the
    cotangent 2·(ct·v), bit for bit dv·v + v·dv and ct·v + v·ct on normal values."""
    p = parse_program("def f(x: f64[64]) -> f64[64]:\n    s: f64[64] = mul(x, x)\n"
                      "    return s\n")
    rng = np.random.default_rng(5)
    x, dx, ct = (rng.uniform(-3, 3, 64) * 10.0 ** rng.integers(-100, 100, 64)
                 for _ in range(3))
    compiled = lo.compile(p)
    linear = [e for e in compiled.jvp_program().equations
              if any(v.type.linear for v in e.outputs)]
    assert [e.primitive for e in linear] == ["mul", "mul"]
    (tangent,) = compiled.jvp([x], [dx])[1]
    same_bits(tangent, dx * x + x * dx)
    _, pullback = compiled.vjp(x)
    (cotangent,) = pullback(ct)
    same_bits(cotangent, ct * x + x * ct)
