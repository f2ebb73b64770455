"""The unary elementwise family (spec 3.1): float64 against mpmath, edge tables, integers.

* Accuracy: the float64-domain result is compared with the mpmath result (50 digits) rounded
  to the result dtype, in ulps of that dtype (``np.spacing`` of the rounded reference); the
  bound is the ``ulp`` column of the spec table, read from the spec itself.
* Classes: nan, ±inf and zero are compared exactly between the domains, and nan must be what
  the spec states at that input (``NAN_WHERE`` restates the spec's domains). The mpmath domain
  has no signed zero, so the sign of zero is checked against explicit tables in float64.
* Integer dtypes: exact against Python integers wrapped to the dtype (two's complement).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference.errors import LintraTypeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import NEVER_LINEAR, linear_together
from lintra.reference.primitives.unary import PRIMITIVES
from tests.harness import apply, rounded

SPEC = Path(__file__).resolve().parent.parent / "spec" / "3.1-unary.md"
ROW = re.compile(r"^\| `(\w+)[`(].*\| ([0-9.]+) \| [^|]* \|$", re.MULTILINE)
"""A row of the table: the name, then the ``ulp`` column (the last column is *d-ulp*)."""
CLAIMS = {m.group(1): float(m.group(2)) for m in ROW.finditer(SPEC.read_text("utf-8"))}

FLOAT_DTYPES = [np.float64, np.float32]
NAMES = sorted(p.name for p in PRIMITIVES)
MP = mpmath.MPContext()
MP.dps = 60


def is_nan(x: float) -> bool:
    return math.isnan(x)


def nan_or_inf(x: float) -> bool:
    return math.isnan(x) or math.isinf(x)


def outside_unit(x: float) -> bool:
    return math.isnan(x) or abs(x) > 1


def below(bound: float) -> Callable[[float], bool]:
    def predicate(x: float) -> bool:
        return math.isnan(x) or x < bound

    return predicate


# Where the spec says the float result is nan (beyond nan in, nan out).
NAN_WHERE: dict[str, Callable[[float], bool]] = {
    "neg": is_nan, "sin": nan_or_inf, "cos": nan_or_inf, "tan": nan_or_inf,
    "asin": outside_unit, "acos": outside_unit, "atan": is_nan, "sinh": is_nan,
    "cosh": is_nan, "tanh": is_nan, "asinh": is_nan, "acosh": below(1.0),
    "atanh": outside_unit, "exp": is_nan, "expm1": is_nan, "log": below(0.0),
    "log1p": below(-1.0), "sqrt": below(0.0), "rsqrt": below(0.0), "cbrt": is_nan,
    "logistic": is_nan, "erf": is_nan, "abs": is_nan, "sign": is_nan, "floor": is_nan,
    "ceil": is_nan, "round": is_nan, "square": is_nan,
}

# Where most inputs of each primitive lie (sampled besides arbitrary floats).
DOMAIN: dict[str, tuple[float, float]] = {
    "neg": (-1e3, 1e3), "sin": (-50.0, 50.0), "cos": (-50.0, 50.0), "tan": (-50.0, 50.0),
    "asin": (-1.0, 1.0), "acos": (-1.0, 1.0), "atan": (-50.0, 50.0), "sinh": (-90.0, 90.0),
    "cosh": (-90.0, 90.0), "tanh": (-20.0, 20.0), "asinh": (-1e3, 1e3), "acosh": (1.0, 1e3),
    "atanh": (-1.0, 1.0), "exp": (-110.0, 90.0), "expm1": (-2.0, 2.0), "log": (0.0, 1e3),
    "log1p": (-1.0, 10.0), "sqrt": (0.0, 1e4), "rsqrt": (0.0, 1e4), "cbrt": (-1e3, 1e3),
    "logistic": (-110.0, 90.0), "erf": (-6.0, 6.0), "abs": (-1e3, 1e3), "sign": (-5.0, 5.0),
    "floor": (-1e3, 1e3), "ceil": (-1e3, 1e3), "round": (-1e3, 1e3), "square": (-1e3, 1e3),
    "integer_pow": (-3.0, 3.0),
}


def floats_for(name: str, dtype: type) -> st.SearchStrategy[float]:
    """In-domain values, values near its ends (a bit outside) and arbitrary floats."""
    width = 64 if dtype is np.float64 else 32
    lo, hi = DOMAIN[name]
    inside = st.floats(lo, hi, width=width)
    span = 2.0 ** math.floor(math.log2(max(1.0, (hi - lo) / 100)))  # exact in float32
    near_ends = st.floats(lo - span, lo + span, width=width) | st.floats(
        hi - span, hi + span, width=width
    )
    anywhere = st.floats(width=width)
    return inside | near_ends | anywhere


def ulps(got: float, exact: object, dtype: type) -> float:
    """|got - exact| in units of the spacing of the dtype at exact rounded to the dtype."""
    reference = dtype(float(exact))
    spacing = np.spacing(np.abs(reference))
    return float(abs(MP.mpf(float(got)) - exact) / MP.mpf(float(spacing)))


def compare(name: str, x: np.ndarray, **params: object) -> None:
    """Class agreement everywhere and the spec's ulp claim where the result is finite."""
    dtype = x.dtype.type
    (got,), types = apply(name, x, **params)
    exact_results, _ = apply(name, x, dps=50, **params)
    (reference,) = rounded(exact_results, types)
    (exact,) = exact_results
    assert got.dtype == x.dtype and got.shape == x.shape
    nan_expected = NAN_WHERE.get(name, is_nan)
    for i in np.ndindex(x.shape):
        xi, g, r = float(x[i]), got[i], reference[i]
        where = f"{name}({xi!r}, {params}) [{np.dtype(dtype).name}]: got {g!r}, mp {r!r}"
        if name == "integer_pow" and params["y"] == 0:
            assert g == 1 and r == 1, where  # C pow: x^0 = 1, even for nan
            continue
        assert np.isnan(g) == np.isnan(r) == nan_expected(xi), where
        assert np.isinf(g) == np.isinf(r), where
        if np.isinf(g):
            if xi == 0:  # the mpmath domain has no signed zero: signs tested in the tables
                continue
            assert g == r, where
        if not np.isfinite(g):
            continue
        assert (g == 0) == (r == 0), where
        assert ulps(g, exact[i], dtype) <= CLAIMS[name], where


def test_every_primitive_has_a_claim_and_a_nan_rule() -> None:
    assert set(CLAIMS) == set(NAMES)
    assert set(NAN_WHERE) | {"integer_pow"} == set(NAMES) == set(DOMAIN)
    assert all(p.family == "unary" for p in PRIMITIVES)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "integer_pow"])
@given(data=st.data())
def test_float_within_claim_and_classes_agree(name: str, dtype: type, data) -> None:
    values = data.draw(st.lists(floats_for(name, dtype), min_size=1, max_size=6))
    compare(name, np.array(values, dtype=dtype))


EXPONENTS = st.integers(-40, 40) | st.integers(-(2**53), 2**53)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@given(data=st.data(), y=EXPONENTS)
def test_integer_pow_float_within_claim(dtype: type, data, y: int) -> None:
    values = data.draw(st.lists(floats_for("integer_pow", dtype), min_size=1, max_size=6))
    compare("integer_pow", np.array(values, dtype=dtype), y=y)


# Edge values for every float primitive: signed zeros, infinities, nan, boundaries of the
# domains, tiny and huge magnitudes, overflow thresholds of exp/sinh/cosh, ties of round.
EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 2.0, -2.0, np.inf, -np.inf, np.nan,
    5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, -1e-300, 1e-8, 1e300, -1e300,
    1.7976931348623157e308, -1.7976931348623157e308, 709.782712893384, 709.7827128933841,
    710.4758600739439, 710.475860073944, -708.4, -745.1332191019411, -745.1332191019412,
    0.49999999999999994, -0.49999999999999994, 4503599627370495.5, 4503599627370497.0,
    1 - 2**-53, -1 + 2**-53, 1 + 2**-52, -1 - 2**-52, 19.0, 20.0, 37.0, 40.0, -40.0, 88.7,
    89.5, -103.9, -104.0, 800.0, -800.0, 3.0, 1e-20, -1e-20, 0.8813735870195430,
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "integer_pow"])
def test_float_edges(name: str, dtype: type) -> None:
    with np.errstate(over="ignore"):
        compare(name, np.array(EDGES, dtype=dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("y", [0, 1, 2, 3, 4, -1, -2, -3, 7, -8, 2**53, -(2**53), 2**53 - 1])
def test_integer_pow_edges(dtype: type, y: int) -> None:
    with np.errstate(over="ignore"):
        compare("integer_pow", np.array(EDGES, dtype=dtype), y=y)


def f64(name: str, x: float, **params: object) -> float:
    (r,), _ = apply(name, np.array(x), **params)
    return float(r)


def same(a: float, b: float) -> bool:
    """Equal as IEEE classes: nan matches nan, zeros must agree in sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


# Values the spec states at special inputs (float64), signs of zero included.
SPECIAL_VALUES: list[tuple[str, float, float]] = [
    ("neg", 0.0, -0.0), ("neg", -0.0, 0.0), ("sin", -0.0, -0.0), ("sin", np.inf, np.nan),
    ("cos", -np.inf, np.nan), ("tan", -0.0, -0.0), ("tan", np.inf, np.nan),
    ("asin", -0.0, -0.0), ("asin", 1.0000000000000002, np.nan), ("acos", 1.0, 0.0),
    ("acos", -2.0, np.nan), ("atan", np.inf, math.pi / 2), ("atan", -np.inf, -math.pi / 2),
    ("atan", -0.0, -0.0), ("sinh", -0.0, -0.0), ("sinh", 711.0, np.inf),
    ("sinh", -711.0, -np.inf), ("cosh", -711.0, np.inf), ("cosh", -0.0, 1.0),
    ("tanh", np.inf, 1.0), ("tanh", -np.inf, -1.0), ("tanh", -0.0, -0.0), ("tanh", 40.0, 1.0),
    ("asinh", -np.inf, -np.inf), ("asinh", -0.0, -0.0), ("acosh", 1.0, 0.0),
    ("acosh", 0.5, np.nan), ("acosh", np.inf, np.inf), ("atanh", 1.0, np.inf),
    ("atanh", -1.0, -np.inf), ("atanh", 2.0, np.nan), ("atanh", -0.0, -0.0),
    ("exp", -np.inf, 0.0), ("exp", 710.0, np.inf), ("exp", -0.0, 1.0), ("exp", -746.0, 0.0),
    ("expm1", -np.inf, -1.0), ("expm1", -0.0, -0.0), ("expm1", 710.0, np.inf),
    ("log", 0.0, -np.inf), ("log", -0.0, -np.inf), ("log", -1.0, np.nan), ("log", 1.0, 0.0),
    ("log", np.inf, np.inf), ("log1p", -1.0, -np.inf), ("log1p", -2.0, np.nan),
    ("log1p", -0.0, -0.0), ("sqrt", -0.0, -0.0), ("sqrt", -1.0, np.nan),
    ("sqrt", np.inf, np.inf), ("rsqrt", 0.0, np.inf), ("rsqrt", -0.0, -np.inf),
    ("rsqrt", -1.0, np.nan), ("rsqrt", np.inf, 0.0), ("rsqrt", 4.0, 0.5),
    ("cbrt", -8.0, -2.0), ("cbrt", -0.0, -0.0), ("cbrt", -np.inf, -np.inf),
    ("logistic", 0.0, 0.5), ("logistic", -0.0, 0.5), ("logistic", np.inf, 1.0),
    ("logistic", -np.inf, 0.0), ("logistic", 800.0, 1.0), ("logistic", -800.0, 0.0),
    ("logistic", -745.0, 5e-324), ("erf", np.inf, 1.0), ("erf", -np.inf, -1.0),
    ("erf", -0.0, -0.0), ("erf", 6.0, 1.0), ("abs", -0.0, 0.0), ("abs", -np.inf, np.inf),
    ("sign", -0.0, -0.0), ("sign", 0.0, 0.0), ("sign", -5e-324, -1.0),
    ("sign", np.inf, 1.0), ("sign", np.nan, np.nan), ("floor", -0.0, -0.0),
    ("floor", -0.5, -1.0), ("floor", 0.5, 0.0), ("floor", -np.inf, -np.inf),
    ("ceil", -0.5, -0.0), ("ceil", 0.5, 1.0), ("ceil", -0.0, -0.0),
    ("round", -0.3, -0.0), ("round", 0.3, 0.0), ("round", 0.5, 1.0), ("round", -0.5, -1.0),
    ("round", 1.5, 2.0), ("round", 2.5, 3.0), ("round", -2.5, -3.0),
    ("round", 0.49999999999999994, 0.0), ("round", -0.49999999999999994, -0.0),
    ("round", 0.4999999701976776, 0.0), ("round", -0.4999999701976776, -0.0),
    ("round", 8388607.5, 8388608.0), ("round", -8388607.5, -8388608.0),
    ("round", 4503599627370495.5, 4503599627370496.0), ("round", 1e300, 1e300),
    ("round", -np.inf, -np.inf), ("round", -0.0, -0.0), ("square", -0.0, 0.0),
    ("square", 1e200, np.inf), ("square", -3.0, 9.0),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("name", "x", "expected"), SPECIAL_VALUES)
def test_special_values(name: str, x: float, expected: float, dtype: type) -> None:
    xd = dtype(x)
    if float(xd) != x and not math.isnan(x):
        pytest.skip(f"{x!r} is not a {np.dtype(dtype).name}")
    with np.errstate(all="ignore"):
        want = float(dtype(expected))
    (r,), _ = apply(name, np.array(xd))
    assert same(float(r), want), f"{name}({x!r}) = {float(r)!r}, expected {want!r}"


# integer_pow at special points, as C pow (spec 3.1): (x, y, expected).
POW_SPECIAL: list[tuple[float, int, float]] = [
    (np.nan, 0, 1.0), (np.inf, 0, 1.0), (0.0, 0, 1.0), (-0.0, 0, 1.0),
    (0.0, -1, np.inf), (-0.0, -1, -np.inf), (-0.0, -2, np.inf), (-0.0, -3, -np.inf),
    (-0.0, 3, -0.0), (-0.0, 2, 0.0), (-np.inf, 3, -np.inf), (-np.inf, 2, np.inf),
    (-np.inf, -3, -0.0), (np.inf, -2, 0.0), (np.nan, 1, np.nan), (-1.0, 2**53 - 1, -1.0),
    (-1.0, 2**53, 1.0), (-2.0, 3, -8.0), (2.0, -1, 0.5), (10.0, 400, np.inf),
    (-10.0, 401, -np.inf), (10.0, -400, 0.0), (-10.0, -401, -0.0),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("x", "y", "expected"), POW_SPECIAL)
def test_integer_pow_special_values(x: float, y: int, expected: float, dtype: type) -> None:
    (r,), _ = apply("integer_pow", np.array(dtype(x)), y=y)
    assert r.dtype == np.dtype(dtype)
    assert same(float(r), expected), f"integer_pow({x!r}, y={y}) = {float(r)!r}"


def test_integer_pow_large_odd_exponent_in_float32() -> None:
    """y = 2^24 + 1 is odd, but float32(y) is even: the exponent must stay exact."""
    x = np.array([-1.0, 1 - 2.0**-24], dtype=np.float32)
    (r,), _ = apply("integer_pow", x, y=2**24 + 1)
    assert r[0] == -1.0
    exact = MP.mpf(float(x[1])) ** (2**24 + 1)
    assert ulps(float(r[1]), exact, np.float32) <= CLAIMS["integer_pow"]


INTEGER_DTYPES = [(np.int64, 64), (np.int32, 32)]


def wrap(v: int, bits: int) -> int:
    return (v + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)


def ints(bits: int) -> st.SearchStrategy[list[int]]:
    one = st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) | st.sampled_from(
        [0, 1, -1, 2, -2, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
    )
    return st.lists(one, min_size=1, max_size=6)


def python_neg(v: int) -> int:
    return -v


def python_sign(v: int) -> int:
    return (v > 0) - (v < 0)


def python_square(v: int) -> int:
    return v * v


INTEGER_FUNCTIONS: dict[str, Callable[[int], int]] = {
    "neg": python_neg, "abs": abs, "sign": python_sign, "square": python_square,
}


@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=["i64", "i32"])
@pytest.mark.parametrize("name", sorted(INTEGER_FUNCTIONS))
@pytest.mark.parametrize("dps", [None, 50], ids=["float64", "mpmath"])
@given(data=st.data())
def test_integer_exact_and_wrapping(name: str, dtype: type, bits: int, dps, data) -> None:
    values = data.draw(ints(bits))
    (r,), _ = apply(name, np.array(values, dtype=dtype), dps=dps)
    assert r.dtype == np.dtype(dtype)
    assert [int(v) for v in r] == [wrap(INTEGER_FUNCTIONS[name](v), bits) for v in values]


@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=["i64", "i32"])
@pytest.mark.parametrize("dps", [None, 50], ids=["float64", "mpmath"])
@given(data=st.data(), y=st.integers(0, 70) | st.integers(0, 2**53))
def test_integer_pow_integers_exact_and_wrapping(dtype: type, bits: int, dps, data,
                                                 y: int) -> None:
    values = data.draw(ints(bits))
    (r,), _ = apply("integer_pow", np.array(values, dtype=dtype), dps=dps, y=y)
    assert r.dtype == np.dtype(dtype)
    assert [int(v) for v in r] == [wrap(pow(v, y, 2**bits), bits) for v in values]


def test_integer_wrap_table() -> None:
    low = np.array([-(2**63)], dtype=np.int64)
    assert int(apply("neg", low)[0][0][0]) == -(2**63)
    assert int(apply("abs", low)[0][0][0]) == -(2**63)
    assert int(apply("square", np.array([2**32], dtype=np.int64))[0][0][0]) == 0
    assert int(apply("integer_pow", np.array([3], dtype=np.int32), y=21)[0][0][0]) == wrap(
        3**21, 32
    )


FLOAT_ONLY = [n for n in NAMES if n not in ("neg", "abs", "sign", "square", "integer_pow")]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_float_only_rejects_other_dtypes(name: str, dtype: type) -> None:
    with pytest.raises(LintraTypeError, match="dtype"):
        apply(name, np.zeros(2, dtype=dtype))


@pytest.mark.parametrize("name", ["neg", "abs", "sign", "square"])
def test_numeric_rejects_bool(name: str) -> None:
    with pytest.raises(LintraTypeError, match="dtype"):
        apply(name, np.zeros(2, dtype=np.bool_))


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_pow_negative_exponent_of_integers_is_a_type_error(dtype: type) -> None:
    with pytest.raises(LintraTypeError, match="y >= 0"):
        apply("integer_pow", np.array([2], dtype=dtype), y=-1)


@pytest.mark.parametrize("y", [2**53 + 1, -(2**53) - 1, 10**30])
def test_integer_pow_exponent_bound(y: int) -> None:
    with pytest.raises(LintraTypeError, match="2\\^53"):
        apply("integer_pow", np.array([1.0]), y=y)


def test_integer_pow_requires_an_int_y() -> None:
    with pytest.raises(LintraTypeError):
        apply("integer_pow", np.array([1.0]))
    with pytest.raises(LintraTypeError):
        apply("integer_pow", np.array([1.0]), y=2.0)


def test_linearity_declarations() -> None:
    for p in PRIMITIVES:
        expected = linear_together() if p.name == "neg" else NEVER_LINEAR
        assert p.linearity == expected, p.name
        assert lookup(p.name) is p


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NAMES)
def test_shape_kept_and_inputs_not_mutated(name: str, dtype: type) -> None:
    x = np.arange(-3, 3, dtype=dtype).reshape(2, 3) / 4
    before = x.copy()
    params = {"y": 3} if name == "integer_pow" else {}
    for dps in (None, 30):
        (r,), (t,) = apply(name, x, dps=dps, **params)
        assert r.shape == (2, 3) and t.shape == (2, 3)
        np.testing.assert_array_equal(x, before)
    (r0,), _ = apply(name, np.array(dtype(0.25)), **params)
    assert r0.shape == ()
