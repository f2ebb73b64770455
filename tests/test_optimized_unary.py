"""The optimized engine's unary rules (spec 3.1) against the spec, mpmath and the reference.

Values are judged against the mpmath domain (the reference at 40 digits) within the spec's
``ulp`` column, derivatives against closed-form derivatives evaluated by mpmath within the
``d-ulp`` column (both read from the spec table); conventions (signs of zero, ties, kinks of
chapter 6, integer wrap-around) are compared bit for bit with the reference or with exact
integers; the programs the engine emits for derivatives pass the reference's ``check``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import mpmath
import numpy as np
import pytest

import lintra.optimized as lo
from lintra.conformance import stress
from lintra.reference import check, evaluate
from lintra.reference.derived import jvp, vjp
from lintra.reference.errors import LintraError, LintraTypeError
from lintra.reference.parse import parse_program
from lintra.reference.syntax import Program
from tests.test_prim_accuracy import NAME, SPEC, cells, claims


def derivative_claims() -> dict[str, float]:
    """The first number of each *d-ulp* cell of spec 3.1's table (``—``: no claim)."""
    lines = (SPEC / "3.1-unary.md").read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| primitive |"))
    k = next(i for i, c in enumerate(cells(header)) if c.startswith("d-ulp"))
    out = {}
    for line in lines:
        row = cells(line)
        if line.startswith("| `") and len(row) > k and (m := NAME.match(row[0])):
            first = row[k].split()[0]
            if first != "—":
                out[m.group(1)] = float(first)
    return out


VALUE_ULPS = claims("3.1-unary.md")
DERIVATIVE_ULPS = derivative_claims()

FLOAT_PRIMITIVES = (
    "neg sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp expm1 log log1p "
    "sqrt rsqrt cbrt logistic erf abs sign floor ceil round square").split()
NUMERIC_PRIMITIVES = ("neg", "abs", "sign", "square")
DTYPES = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "i32": np.int32}

MP = mpmath.MPContext()
MP.dps = 40


def program(prim: str, dtype: str, shape: tuple[int, ...], params: str = "") -> Program:
    """``def f(x) -> prim(x, params)`` on one array of ``dtype[shape]``."""
    t = f"{dtype}[{', '.join(map(str, shape))}]"
    return parse_program(f"def f(x: {t}) -> {t}:\n    y: {t} = {prim}(x{params})\n"
                         "    return y\n")


def bits(a: object) -> bytes:
    """The bytes of a float array with every nan made the same nan (its sign is not
    specified)."""
    arr = np.array(a)
    arr[np.isnan(arr)] = np.nan
    return arr.tobytes()


# --------------------------------------------------------------------------------------------
# Values within the claim, against the mpmath domain


def places(prim: str, dtype: str) -> np.ndarray:
    """The suite's hard places and its deterministic grid, plus a dense line through the
    region where the erf kernel switches between its two sources."""
    with np.errstate(over="ignore"):  # the grid's geometric line overflows f32 on its way
        points = [p[0] for p in stress.hard_places(prim, dtype) + stress.grid(prim, dtype)]
    if prim == "erf":  # a line through the kernel's series pieces, and their boundaries
        edges = np.array([0.5, 0.84375, 1.125, 1.5])
        near = [np.nextafter(edges, edges + d) for d in (-1.0, 1.0)]
        points += [*np.linspace(-1.6, 1.6, 81), *edges, *near[0], *near[1], *-near[0]]
    return np.array(points, dtype=DTYPES[dtype])


def ulps_off(got: float, exact: object, dtype: type) -> float:
    """|got − exact| in units of the dtype's spacing at exact rounded to the dtype (the
    smallest subnormal for a subnormal or zero result); 0 or inf for a result that must be
    nan or infinite (exact beyond the dtype's range rounds to an infinity)."""
    info = np.finfo(dtype)
    if MP.isnan(exact):
        return 0.0 if math.isnan(got) else math.inf
    top_ulp = np.spacing(np.nextafter(info.max, dtype(0)))  # spacing(max) itself is inf
    threshold = MP.mpf(float(info.max)) + MP.mpf(float(top_ulp)) / 2
    if MP.isinf(exact) or abs(exact) >= threshold:
        return 0.0 if got == (math.inf if exact > 0 else -math.inf) else math.inf
    if not math.isfinite(got):
        return math.inf
    with np.errstate(over="ignore"):
        rounded = min(abs(dtype(float(exact))), info.max)  # exact just below the threshold
    unit = float(top_ulp if rounded == info.max else np.spacing(rounded)
                 if rounded >= info.tiny else info.smallest_subnormal)
    return float(abs(MP.mpf(got) - exact) / unit)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", FLOAT_PRIMITIVES)
def test_values_within_the_claim(prim: str, dtype: str) -> None:
    x = places(prim, dtype)
    p = program(prim, dtype, x.shape)
    (got,) = lo.compile(p).evaluate(x)
    assert got.dtype == x.dtype
    (exact,) = evaluate(p, x, dps=40)
    errors = [ulps_off(float(g), MP.mpf(e), DTYPES[dtype]) for g, e in zip(got, exact)]
    k = int(np.argmax(errors))
    assert errors[k] <= VALUE_ULPS[prim], f"{prim}({x[k]!r}) = {got[k]!r}: {errors[k]} ulp"


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, -1, -2, 7, -7, 2**24 + 1, -(2**53), 2**53])
def test_integer_pow_values_within_the_claim(n: int, dtype: str) -> None:
    x = places("integer_pow", dtype)
    p = program("integer_pow", dtype, x.shape, f", y={n}")
    (got,) = lo.compile(p).evaluate(x)
    assert got.dtype == x.dtype
    (exact,) = evaluate(p, x, dps=40)
    errors = [ulps_off(float(g), MP.mpf(e), DTYPES[dtype]) for g, e in zip(got, exact)]
    k = int(np.argmax(errors))
    assert errors[k] <= VALUE_ULPS["integer_pow"], f"{x[k]!r}^{n} = {got[k]!r}: {errors[k]}"


# --------------------------------------------------------------------------------------------
# Conventions and edge cases, bit for bit


EDGES = [0.0, -0.0, 0.3, -0.3, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, -2.5, 3.5,
         0.49999999999999994, -0.49999999999999994, 4503599627370495.5, -4503599627370497.0,
         1e-310, -1e-310, 5e-324, 1e300, -1e300, 710.0, -710.0, 800.0, -800.0,
         math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", ["neg", "abs", "sign", "floor", "ceil", "round", "square",
                                  "sqrt", "rsqrt", "logistic"])
def test_exact_and_convention_values_bit_for_bit(prim: str, dtype: str) -> None:
    """The exact primitives, sqrt's and rsqrt's signed zeros and infinities, and logistic's
    tails are the reference's values bit for bit (a sign of zero included)."""
    with np.errstate(over="ignore"):
        x = np.array(EDGES, dtype=DTYPES[dtype])
    p = program(prim, dtype, x.shape)
    (got,) = lo.compile(p).evaluate(x)
    (want,) = evaluate(p, x)
    assert got.dtype == want.dtype and bits(got) == bits(want), (x, got, want)


def test_spec_conventions_by_value() -> None:
    """The table's edge cases, written out: sign keeps ±0, round halves away from zero and
    keeps −0, ceil(−0.5) = −0, rsqrt(−0) = −inf, abs(−0) = +0, logistic never overflows."""
    x = np.array([-0.0, 0.0, -0.3, 2.5, -2.5, 0.49999999999999994, -0.5, math.nan])

    def run(prim: str) -> np.ndarray:
        return lo.compile(program(prim, "f64", x.shape)).evaluate(x)[0]

    assert bits(run("sign")) == bits([-0.0, 0.0, -1.0, 1.0, -1.0, 1.0, -1.0, math.nan])
    assert bits(run("round")) == bits([-0.0, 0.0, -0.0, 3.0, -3.0, 0.0, -1.0, math.nan])
    assert bits(run("ceil")[6:7]) == bits([-0.0])
    assert bits(run("rsqrt")[:2]) == bits([-math.inf, math.inf])
    assert bits(run("abs")[:1]) == bits([0.0])
    tails = np.array([-800.0, 800.0, 0.0, -0.0, -math.inf, math.inf])
    (y,) = lo.compile(program("logistic", "f64", tails.shape)).evaluate(tails)
    assert bits(y) == bits([0.0, 1.0, 0.5, 0.5, 0.0, 1.0])


@pytest.mark.parametrize("n", [0, 1, 2, 3, -1, -2, -3, 17, -17, 2**53])
def test_integer_pow_special_values_bit_for_bit(n: int) -> None:
    """C pow's special values: x⁰ = 1 for nan and ±inf, (±0)ⁿ for n < 0, (−inf)ⁿ."""
    x = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -0.5, 1e300, -1e-300, math.inf, -math.inf,
                  math.nan])
    for dtype in ("f64", "f32"):
        with np.errstate(over="ignore", under="ignore"):
            xd = x.astype(DTYPES[dtype])
        p = program("integer_pow", dtype, x.shape, f", y={n}")
        (got,) = lo.compile(p).evaluate(xd)
        (want,) = evaluate(p, xd)
        assert got.dtype == want.dtype and bits(got) == bits(want), (n, dtype, got, want)


def wrapped(v: int, bits_: int) -> int:
    """``v`` reduced to a two's-complement integer of ``bits_`` bits."""
    v %= 2**bits_
    return v - 2**bits_ if v >= 2 ** (bits_ - 1) else v


INTEGER_EXACT: dict[str, Callable[[int], int]] = {
    "neg": lambda v: -v, "abs": abs, "sign": lambda v: (v > 0) - (v < 0),
    "square": lambda v: v * v,
}


@pytest.mark.parametrize("dtype", ["i64", "i32"])
@pytest.mark.parametrize("prim", (*NUMERIC_PRIMITIVES, "integer_pow"))
def test_integers_wrap_in_twos_complement(prim: str, dtype: str) -> None:
    width = 64 if dtype == "i64" else 32
    lo_, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
    x = np.array([lo_, lo_ + 1, -3, -1, 0, 1, 2, 7, hi // 2 + 1, 2**16, 3037000500 % hi],
                 dtype=DTYPES[dtype])
    for n in (0, 1, 2, 3, 17, 2**53) if prim == "integer_pow" else (None,):
        params = "" if n is None else f", y={n}"
        (got,) = lo.compile(program(prim, dtype, x.shape, params)).evaluate(x)
        exact = INTEGER_EXACT[prim] if n is None else (lambda v, n=n: v ** n if n < 64 else
                                                        pow(v, n, 2**width))
        assert got.dtype == x.dtype
        assert [int(g) for g in got] == [wrapped(exact(int(v)), width) for v in x], (prim, n)


# --------------------------------------------------------------------------------------------
# Derivatives within the claim, against closed forms evaluated by mpmath


def _asin_d(x: object) -> object:
    return 1 / MP.sqrt((1 - x) * (1 + x))


DERIVATIVES: dict[str, Callable[[object], object]] = {
    "sin": MP.cos, "cos": lambda x: -MP.sin(x), "tan": lambda x: 1 / MP.cos(x) ** 2,
    "asin": _asin_d, "acos": lambda x: -_asin_d(x), "atan": lambda x: 1 / (1 + x * x),
    "sinh": MP.cosh, "cosh": MP.sinh, "tanh": lambda x: 1 / MP.cosh(x) ** 2,
    "asinh": lambda x: 1 / MP.sqrt(x * x + 1),
    "acosh": lambda x: 1 / (MP.sqrt(x - 1) * MP.sqrt(x + 1)),
    "atanh": lambda x: 1 / ((1 - x) * (1 + x)), "exp": MP.exp, "expm1": MP.exp,
    "log": lambda x: 1 / x, "log1p": lambda x: 1 / (1 + x),
    "sqrt": lambda x: 1 / (2 * MP.sqrt(x)), "rsqrt": lambda x: -1 / (2 * x * MP.sqrt(x)),
    "cbrt": lambda x: 1 / (3 * MP.cbrt(abs(x)) ** 2),
    "logistic": lambda x: MP.exp(-abs(x)) / (1 + MP.exp(-abs(x))) ** 2,
    "erf": lambda x: 2 / MP.sqrt(MP.pi) * MP.exp(-x * x), "abs": MP.sign,
    "square": lambda x: 2 * x,
}
"""f′(x), written from calculus (not from either implementation's formula)."""

INSIDE: dict[str, Callable[[float], bool]] = {
    "asin": lambda x: abs(x) < 1, "acos": lambda x: abs(x) < 1,
    "atanh": lambda x: abs(x) < 1, "acosh": lambda x: x > 1, "log": lambda x: x > 0,
    "log1p": lambda x: x > -1, "sqrt": lambda x: x > 0, "rsqrt": lambda x: x > 0,
    "cbrt": lambda x: x != 0, "abs": lambda x: x != 0,
}
"""Where the derivative exists and is finite (chapter 6's points are tested bit for bit)."""


def derivative_ulps(got: float, exact: object, dtype: type) -> float | None:
    """The error in ulps where the claim judges it (a normal true derivative), 0 or inf for
    a true derivative beyond the range, None where it says nothing (zero or subnormal,
    which must still be finite)."""
    if abs(exact) < MP.mpf(float(np.finfo(dtype).tiny)):
        assert math.isfinite(got), (got, exact)
        return None
    return ulps_off(got, exact, dtype)


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("prim", sorted(DERIVATIVES))
def test_derivatives_within_the_claim(prim: str, dtype: str) -> None:
    inside = INSIDE.get(prim, lambda x: True)
    x = np.array([v for v in places(prim, dtype) if math.isfinite(v) and inside(v)],
                 dtype=DTYPES[dtype])
    c = lo.compile(program(prim, dtype, x.shape))
    _, (dy,) = c.jvp([x], [np.ones_like(x)])
    assert dy.dtype == x.dtype
    worst = (0.0, None)
    for xi, g in zip(x, dy):
        e = derivative_ulps(float(g), DERIVATIVES[prim](MP.mpf(float(xi))), DTYPES[dtype])
        if e is not None and e > worst[0]:
            worst = (e, (float(xi), float(g)))
    assert worst[0] <= DERIVATIVE_ULPS[prim], f"{prim}' at {worst[1]}: {worst[0]} ulp"


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("n", [3, 4, -1, -2, 17, -17, 2**24 + 1, -(2**53)])
def test_integer_pow_derivative_within_the_claim(n: int, dtype: str) -> None:
    x = np.array([v for v in places("integer_pow", dtype) if math.isfinite(v) and v != 0],
                 dtype=DTYPES[dtype])
    c = lo.compile(program("integer_pow", dtype, x.shape, f", y={n}"))
    _, (dy,) = c.jvp([x], [np.ones_like(x)])
    for xi, g in zip(x, dy):
        xm = MP.mpf(float(xi))
        e = derivative_ulps(float(g), n * xm ** (n - 1), DTYPES[dtype])
        assert e is None or e <= DERIVATIVE_ULPS["integer_pow"], (n, xi, g)


# --------------------------------------------------------------------------------------------
# Kinks (chapter 6) and edges: forward and reverse, bit for bit with the reference


KINKS: dict[str, tuple[list[float], str]] = {
    "abs": ([0.0, -0.0], ""), "sign": ([0.0, -0.0, 1.0], ""), "floor": ([1.0, 0.5], ""),
    "ceil": ([1.0, -0.5], ""), "round": ([0.5, -2.5, 0.3], ""),
    "sqrt": ([0.0, -0.0, math.inf], ""), "cbrt": ([0.0, -0.0, math.inf], ""),
    "rsqrt": ([0.0, -0.0, math.inf], ""), "log": ([0.0, -0.0, math.inf], ""),
    "log1p": ([-1.0, math.inf], ""), "asin": ([1.0, -1.0], ""), "acos": ([1.0, -1.0], ""),
    "atanh": ([1.0, -1.0], ""), "acosh": ([1.0, math.inf], ""),
    "tanh": ([math.inf, -math.inf, 400.0, -400.0], ""),
    "logistic": ([math.inf, -math.inf, 800.0, -800.0], ""),
    "erf": ([math.inf, -math.inf, 30.0, -26.5, 26.4], ""),
    "asinh": ([1.0, -1.0, 1e300, math.inf], ""), "atan": ([1e300, math.inf], ""),
    "integer_pow": ([0.0, -0.0, math.inf, -math.inf, math.nan], ", y=0"),
}


@pytest.mark.parametrize("prim", [*sorted(KINKS), "integer_pow_negative"])
def test_kinks_and_edges_bit_for_bit(prim: str) -> None:
    if prim == "integer_pow_negative":
        points, params, prim = [0.0, -0.0, 2.0], ", y=-3", "integer_pow"
    else:
        points, params = KINKS[prim]
    x = np.array(points)
    p = program(prim, "f64", x.shape, params)
    c = lo.compile(p)
    ones = np.ones_like(x)
    (y,), (dy,) = c.jvp([x], [ones])
    (ry,), (rdy,) = jvp(p, [x], [ones])
    assert bits(y) == bits(ry) and bits(dy) == bits(rdy), (dy, rdy)
    _, pullback = c.vjp(x)
    _, r_pullback = vjp(p, x)
    (ct,) = pullback(ones)
    (r_ct,) = r_pullback(ones)
    assert bits(ct) == bits(r_ct), (ct, r_ct)


def test_chapter_six_values() -> None:
    """The table's numbers themselves: abs′(±0) = 0, sqrt′(±0) = ±inf, cbrt′(±0) = +inf,
    rsqrt′(±0) = −inf, integer_pow′(±0, −1) = n·x^(n−1) = −inf, piecewise constants 0."""
    z = np.array([0.0, -0.0])
    one = np.ones(2)

    def d(prim: str, params: str = "") -> np.ndarray:
        return lo.compile(program(prim, "f64", (2,), params)).jvp([z], [one])[1][0]

    assert bits(d("abs")) == bits([0.0, -0.0])  # dy = sign(x)·dx, sign(−0) = −0
    assert bits(d("sqrt")) == bits([math.inf, -math.inf])
    assert bits(d("cbrt")) == bits([math.inf, math.inf])
    assert bits(d("rsqrt")) == bits([-math.inf, -math.inf])
    assert bits(d("integer_pow", ", y=-1")) == bits([-math.inf, -math.inf])
    for prim in ("sign", "floor", "ceil", "round"):
        assert bits(d(prim)) == bits([0.0, 0.0])


@pytest.mark.parametrize("prim", FLOAT_PRIMITIVES)
def test_jvp_and_vjp_agree_with_the_reference(prim: str) -> None:
    """At ordinary points both implementations are within the derivative claim of the truth,
    so they differ by at most twice the claim."""
    x = np.array([0.3, -0.7, 1.7, 3.25, 0.05, 0.999])
    if prim == "acosh":
        x = 1.0 + np.abs(x)
    if prim in ("log", "sqrt", "rsqrt"):
        x = np.abs(x)
    if prim in ("asin", "acos", "atanh"):
        x = x / 4
    p = program(prim, "f64", x.shape)
    c = lo.compile(p)
    t = np.array([1.0, -0.5, 2.0, 0.25, -3.0, 1.5])
    _, (dy,) = c.jvp([x], [t])
    _, (rdy,) = jvp(p, [x], [t])
    allowed = 2 * DERIVATIVE_ULPS.get(prim, 0.0) + 1  # + the product with the tangent
    assert np.all(np.abs(dy - rdy) <= allowed * np.spacing(np.abs(rdy))), (dy, rdy)
    _, pullback = c.vjp(x)
    _, r_pullback = vjp(p, x)
    (ct,) = pullback(t)
    (r_ct,) = r_pullback(t)
    assert np.all(np.abs(ct - r_ct) <= allowed * np.spacing(np.abs(r_ct))), (ct, r_ct)


# --------------------------------------------------------------------------------------------
# Shapes, dtypes, operands left alone, the programs emitted


@pytest.mark.parametrize("prim", [*FLOAT_PRIMITIVES, "integer_pow"])
def test_rank0_and_size0_operands(prim: str) -> None:
    params = ", y=3" if prim == "integer_pow" else ""
    for dtype in ("f64", "f32"):
        dt = DTYPES[dtype]
        c0 = lo.compile(program(prim, dtype, (), params))
        for arg in (dt(0.75), np.asarray(0.75, dtype=dt), dt(-0.0)):
            (y,) = c0.evaluate(arg)
            (ry,) = evaluate(program(prim, dtype, (), params), np.asarray(arg))
            assert np.asarray(y).dtype == dt and np.shape(y) == ()
            if prim not in ("erf",):  # erf's value is tested within its claim above
                assert bits(y) == bits(ry), (prim, arg, y, ry)
            _, (dy,) = c0.jvp([arg], [dt(1.0)])
            assert np.asarray(dy).dtype == dt and np.shape(dy) == ()
        c = lo.compile(program(prim, dtype, (0,), params))
        (y,) = c.evaluate(np.zeros(0, dt))
        assert y.shape == (0,) and y.dtype == dt
        _, pullback = c.vjp(np.zeros(0, dt))
        (ct,) = pullback(np.zeros(0, dt))
        assert ct.shape == (0,) and ct.dtype == dt


@pytest.mark.parametrize("prim", [*FLOAT_PRIMITIVES, "integer_pow"])
def test_operands_are_left_unchanged(prim: str) -> None:
    params = ", y=5" if prim == "integer_pow" else ""
    x = np.array([0.25, -1.5, 0.0, -0.0, 2.5, math.inf, math.nan, 7.0])
    keep = x.copy()
    c = lo.compile(program(prim, "f64", x.shape, params))
    c.evaluate(x)
    c.jvp([x], [x])
    c.vjp(x)[1](x)
    assert bits(x) == bits(keep)


@pytest.mark.parametrize("prim", [*FLOAT_PRIMITIVES, "integer_pow"])
def test_emitted_programs_pass_the_reference_check(prim: str) -> None:
    for params in ((", y=0", ", y=1", ", y=2", ", y=-5", ", y=6") if prim == "integer_pow"
                   else ("",)):
        for dtype in ("f64", "f32"):
            c = lo.compile(program(prim, dtype, (3,), params))
            x = np.array([0.5, 0.25, 0.75], dtype=DTYPES[dtype])
            check(c.jvp_program())
            _, lin = c.linearize(x)
            check(lin.program)
            check(lin.transpose().program)


# --------------------------------------------------------------------------------------------
# Type rules: the reference's error classes


REFUSED = [
    ("sin", "i64", ""), ("exp", "bool", ""), ("floor", "i32", ""), ("abs", "bool", ""),
    ("neg", "bool", ""), ("square", "bool", ""), ("integer_pow", "i64", ", y=-1"),
    ("integer_pow", "f64", f", y={2**53 + 1}"), ("integer_pow", "f64", f", y={-(2**53) - 1}"),
    ("integer_pow", "f64", ", y=1.5"), ("integer_pow", "f64", ""),
    ("integer_pow", "bool", ", y=2"), ("sin", "f64", ", k=1"),
]


@pytest.mark.parametrize(("prim", "dtype", "params"), REFUSED)
def test_type_rule_refuses_what_the_reference_refuses(prim: str, dtype: str,
                                                      params: str) -> None:
    p = program(prim, dtype, (2,), params)
    with pytest.raises(LintraError) as ref:
        check(p)
    with pytest.raises(LintraError) as got:
        lo.compile(p).evaluate(np.zeros(2, dtype=DTYPES.get(dtype, bool)))
    assert type(got.value) is type(ref.value) is LintraTypeError
    assert "y" in str(got.value) or "dtype" in str(got.value) or "parameter" in str(got.value)


def test_two_operands_refused() -> None:
    p = parse_program("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = sin(x, x)\n"
                      "    return y\n")
    with pytest.raises(LintraTypeError):
        check(p)
    with pytest.raises(LintraTypeError, match="sin takes 1"):
        lo.compile(p).evaluate(np.zeros(2))


@pytest.mark.parametrize("square", ["square(x)", "integer_pow(x, y=2)"])
def test_a_square_rounds_once_each_way_and_keeps_no_new_array(square: str) -> None:
    """The JVP of a square is (2x)·dx: 2x is exact, so the tangent and the cotangent are each
    one correctly rounded product, also where it is subnormal (the transpose of (2·dx)·x,
    (ct·x)·2, doubled a rounded subnormal: the thorough profile found it at a cotangent of
    2.2e-309, outside square's derivative claim). The library's Rosenbrock squares with
    ``** 2``; its gradient stays within the memory target, 1.2 times the hand-written
    pass's peak (0.80 times at n = 100,000, as before: the rematerialization makes
    2·(1 − x0) again in the backward sweep, as it makes 1 − x0; kept, it was 1.00 times)."""
    from fractions import Fraction

    p = parse_program(f"def f(x: f64[3]) -> f64[3]:\n    y = {square}\n    return y\n")
    compiled = lo.compile(p)
    x, dx = np.array([0.1, -3.0, -0.45]), np.array([1.0, 0.3, 2.225073858507203e-309])
    _, (dy,) = compiled.jvp((x,), (dx,))
    _, pullback = compiled.vjp(x)
    (ct,) = pullback(dx)
    for got in (dy, ct):
        want = [float(2 * Fraction(a) * Fraction(d)) for a, d in zip(x, dx)]
        assert got.tolist() == want
    # the library's Rosenbrock squares with ** 2: its gradient's peak stays within the
    # memory target (1.2 times the hand-written pass's), 2·(1 − x0) made in the backward sweep
    import lintra.optimized.numpy as lnp
    from tests.harness import traced_peak

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import workloads  # type: ignore[import-not-found]

    w = workloads.rosenbrock(100_000)
    step = lo.jit(lo.value_and_grad(w.loss(lnp)))
    step(*w.inputs)  # compiled and cached
    (_, got), peak = traced_peak(lambda: step(*w.inputs))
    (_, (want,)), hand_peak = traced_peak(lambda: w.value_and_grad(*w.inputs))
    assert np.allclose(got, want, rtol=1e-13, atol=0)
    assert peak <= 1.2 * hand_peak
