"""The binary arithmetic family (spec 3.2): special values, integer semantics, broadcasting and
type rules of add, sub, mul, div, rem, pow, atan2, max, min.

What is checked against what (the ulp claims on ordinary floats are in test_prim_accuracy):

* ``EDGES``: every edge case the spec table states (IEEE for add/sub/mul/div, C ``fmod`` for
  rem, C99 F.9.4.4 for pow, C99 F.9.1.4 for atan2, the nan and signed-zero rules of max/min)
  as hand-written (x, y, expected) rows, in f64 and f32 (the expected value rounded to the
  dtype; rows whose operands the dtype cannot hold are skipped), in both number domains. The
  sign of zero, and results that depend on the sign of a zero operand, are compared in the
  float64 domain only (spec chapter 3: mpmath has one unsigned zero).
* rem is exact: against ``fractions.Fraction`` on arbitrary finite floats.
* max/min: against a Python transcription of the spec (nan if either is nan, -0 < +0).
* Integers (i64, i32): against Python integers, wrapped to the dtype (two's complement); div
  truncates toward zero, rem has the sign of x; division by zero is an EvaluationError.
* Broadcasting: a rank-0 operand gives what the same value repeated to the other shape gives;
  literals in a program take the other operand's dtype (spec 2.2).
* Type rules: ShapeError for unequal shapes, LintraTypeError for mixed or wrong dtypes.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import evaluate, parse_program
from lintra.reference.errors import EvaluationError, LintraTypeError, ShapeError
from lintra.reference.primitives.binary import PRIMITIVES
from tests.harness import assert_exactly_equal, run, spec_max, spec_min

# Rounding an mpmath result beyond the dtype's range gives inf, as the spec says; NumPy warns.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")

INF = math.inf
NAN = math.nan
PI = math.pi
F64_MAX = 1.7976931348623157e308
F32_MAX = 3.4028234663852886e38  # exactly representable in float64
FLOAT_DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
DOMAINS = [None, 50]
DOMAIN_IDS = ["float64", "mpmath"]
NAMES = ["add", "sub", "mul", "div", "rem", "pow", "atan2", "max", "min"]

# (primitive, x, y, expected): the expected value is the exact result (or the special value
# the spec names), rounded to the dtype under test. atan2's operands are (y, x).
EDGES: list[tuple[str, float, float, float]] = [
    # add: IEEE
    ("add", 1.0, 2.0, 3.0), ("add", INF, 1.0, INF), ("add", INF, INF, INF),
    ("add", -INF, -INF, -INF), ("add", INF, -INF, NAN), ("add", -INF, INF, NAN),
    ("add", NAN, 1.0, NAN), ("add", 1.0, NAN, NAN), ("add", NAN, INF, NAN),
    ("add", 0.0, 0.0, 0.0), ("add", -0.0, -0.0, -0.0), ("add", -0.0, 0.0, 0.0),
    ("add", 0.0, -0.0, 0.0), ("add", 1.5, -1.5, 0.0), ("add", -1.5, 1.5, 0.0),
    ("add", -0.0, 2.0, 2.0), ("add", F64_MAX, F64_MAX, INF), ("add", -F64_MAX, -F64_MAX, -INF),
    ("add", F32_MAX, F32_MAX, 2 * F32_MAX), ("add", 1.0, 2.0**-53, 1.0),
    ("add", 1.0 + 2.0**-52, 2.0**-53, 1.0 + 2.0**-51), ("add", 1.0, 2.0**-24, 1.0 + 2.0**-24),
    # sub: IEEE
    ("sub", INF, INF, NAN), ("sub", -INF, -INF, NAN), ("sub", INF, -INF, INF),
    ("sub", -INF, INF, -INF), ("sub", 0.0, 0.0, 0.0), ("sub", -0.0, 0.0, -0.0),
    ("sub", 0.0, -0.0, 0.0), ("sub", -0.0, -0.0, 0.0), ("sub", 2.5, 2.5, 0.0),
    ("sub", -2.5, -2.5, 0.0), ("sub", NAN, NAN, NAN), ("sub", 1.0, NAN, NAN),
    ("sub", -F64_MAX, F64_MAX, -INF), ("sub", -F32_MAX, F32_MAX, -2 * F32_MAX),
    ("sub", 3.0, 5.0, -2.0),
    # mul: IEEE
    ("mul", 0.0, INF, NAN), ("mul", -INF, 0.0, NAN), ("mul", -0.0, -INF, NAN),
    ("mul", INF, -2.0, -INF), ("mul", -INF, -INF, INF), ("mul", -0.0, 3.0, -0.0),
    ("mul", -0.0, -3.0, 0.0), ("mul", 0.0, -3.0, -0.0), ("mul", -0.0, -0.0, 0.0),
    ("mul", 1e-300, 1e-300, 0.0), ("mul", -1e-300, 1e-300, -0.0), ("mul", 1e200, 1e200, INF),
    ("mul", -1e200, 1e200, -INF), ("mul", 2.0**127, 4.0, 2.0**129),
    ("mul", 2.0**-149, 0.5, 2.0**-150), ("mul", NAN, 0.0, NAN), ("mul", -1.5, 4.0, -6.0),
    # div: x/±0 = ±inf, 0/0 = nan, IEEE otherwise
    ("div", 1.0, 0.0, INF), ("div", 1.0, -0.0, -INF), ("div", -1.0, 0.0, -INF),
    ("div", -1.0, -0.0, INF), ("div", INF, 0.0, INF), ("div", -INF, -0.0, INF),
    ("div", 0.0, 0.0, NAN), ("div", -0.0, 0.0, NAN), ("div", 0.0, -0.0, NAN),
    ("div", INF, INF, NAN), ("div", -INF, INF, NAN), ("div", 1.0, INF, 0.0),
    ("div", -1.0, INF, -0.0), ("div", 1.0, -INF, -0.0), ("div", 0.0, INF, 0.0),
    ("div", 0.0, 5.0, 0.0), ("div", -0.0, 5.0, -0.0), ("div", 0.0, -5.0, -0.0),
    ("div", NAN, 0.0, NAN), ("div", 0.0, NAN, NAN), ("div", 1e308, 1e-308, INF),
    ("div", 6.0, -4.0, -1.5), ("div", 2.0**-126, 2.0**30, 2.0**-156),
    # rem: x - trunc(x/y)·y with the sign of x; rem(x, ±inf) = x, rem(±inf, y) = nan,
    # rem(x, 0) = nan
    ("rem", 5.5, INF, 5.5), ("rem", -5.5, INF, -5.5), ("rem", 5.5, -INF, 5.5),
    ("rem", -0.0, INF, -0.0), ("rem", 0.0, -INF, 0.0), ("rem", F64_MAX, INF, F64_MAX),
    ("rem", INF, 2.0, NAN), ("rem", -INF, 2.0, NAN), ("rem", INF, INF, NAN),
    ("rem", INF, 0.0, NAN), ("rem", 5.5, 0.0, NAN), ("rem", 5.5, -0.0, NAN),
    ("rem", 0.0, 0.0, NAN), ("rem", NAN, 1.0, NAN), ("rem", 1.0, NAN, NAN),
    ("rem", NAN, INF, NAN), ("rem", 7.0, 2.0, 1.0), ("rem", -7.0, 2.0, -1.0),
    ("rem", 7.0, -2.0, 1.0), ("rem", -7.0, -2.0, -1.0), ("rem", -4.0, 2.0, -0.0),
    ("rem", 4.0, -2.0, 0.0), ("rem", -0.0, 3.0, -0.0), ("rem", 5.5, 2.0, 1.5),
    ("rem", -5.5, 2.0, -1.5), ("rem", 1.0, 3.0, 1.0), ("rem", 2.0**100, 3.0, 1.0),
    ("rem", -(2.0**100), 3.0, -1.0), ("rem", 2.0**-140, 2.0**-149, 0.0),
    # pow: C99 F.9.4.4
    ("pow", NAN, 0.0, 1.0), ("pow", NAN, -0.0, 1.0), ("pow", INF, 0.0, 1.0),
    ("pow", -INF, -0.0, 1.0), ("pow", 0.0, 0.0, 1.0), ("pow", -0.0, 0.0, 1.0),
    ("pow", -3.0, 0.0, 1.0), ("pow", 1.0, NAN, 1.0), ("pow", 1.0, INF, 1.0),
    ("pow", 1.0, -INF, 1.0), ("pow", 1.0, -3.5, 1.0), ("pow", -1.0, INF, 1.0),
    ("pow", -1.0, -INF, 1.0), ("pow", -2.0, 0.5, NAN), ("pow", -1.0, 1.5, NAN),
    ("pow", -8.0, 1 / 3, NAN), ("pow", -0.5, -2.5, NAN), ("pow", -1e300, 0.5, NAN),
    ("pow", -2.0, 3.0, -8.0), ("pow", -2.0, -3.0, -0.125), ("pow", -2.0, 2.0, 4.0),
    ("pow", 0.0, -1.0, INF), ("pow", -0.0, -1.0, -INF), ("pow", -0.0, -3.0, -INF),
    ("pow", 0.0, -3.0, INF), ("pow", -0.0, -2.0, INF), ("pow", -0.0, -0.5, INF),
    ("pow", 0.0, -0.5, INF), ("pow", -0.0, -INF, INF), ("pow", 0.0, -INF, INF),
    ("pow", -0.0, 3.0, -0.0), ("pow", 0.0, 3.0, 0.0), ("pow", -0.0, 2.0, 0.0),
    ("pow", -0.0, 0.5, 0.0), ("pow", 0.0, 0.5, 0.0), ("pow", -0.0, 2.5, 0.0),
    ("pow", 0.0, INF, 0.0), ("pow", -0.0, INF, 0.0), ("pow", 0.5, -INF, INF),
    ("pow", -0.5, -INF, INF), ("pow", 2.0, -INF, 0.0), ("pow", -2.0, -INF, 0.0),
    ("pow", 0.5, INF, 0.0), ("pow", -0.5, INF, 0.0), ("pow", 2.0, INF, INF),
    ("pow", -2.0, INF, INF), ("pow", -INF, -3.0, -0.0), ("pow", -INF, -2.0, 0.0),
    ("pow", -INF, -0.5, 0.0), ("pow", -INF, 3.0, -INF), ("pow", -INF, 2.0, INF),
    ("pow", -INF, 0.5, INF), ("pow", -INF, 2.5, INF), ("pow", INF, -1.0, 0.0),
    ("pow", INF, -0.5, 0.0), ("pow", INF, 0.5, INF), ("pow", INF, 2.0, INF),
    ("pow", NAN, 1.0, NAN), ("pow", 2.0, NAN, NAN), ("pow", -1.0, NAN, NAN),
    ("pow", 4.0, 0.5, 2.0), ("pow", 2.0, -1.0, 0.5), ("pow", 10.0, 400.0, INF),
    ("pow", 10.0, -400.0, 0.0), ("pow", -10.0, -401.0, -0.0), ("pow", -10.0, 401.0, -INF),
    # atan2(y, x): C99 F.9.1.4
    ("atan2", 0.0, -0.0, PI), ("atan2", -0.0, -0.0, -PI), ("atan2", 0.0, 0.0, 0.0),
    ("atan2", -0.0, 0.0, -0.0), ("atan2", 0.0, -1.0, PI), ("atan2", -0.0, -1.0, -PI),
    ("atan2", 0.0, 1.0, 0.0), ("atan2", -0.0, 1.0, -0.0), ("atan2", -1.0, 0.0, -PI / 2),
    ("atan2", -1.0, -0.0, -PI / 2), ("atan2", 1.0, 0.0, PI / 2), ("atan2", 1.0, -0.0, PI / 2),
    ("atan2", 1.0, -INF, PI), ("atan2", -1.0, -INF, -PI), ("atan2", 1.0, INF, 0.0),
    ("atan2", -1.0, INF, -0.0), ("atan2", INF, 1.0, PI / 2), ("atan2", -INF, 1.0, -PI / 2),
    ("atan2", INF, -1.0, PI / 2), ("atan2", INF, 0.0, PI / 2), ("atan2", -INF, -0.0, -PI / 2),
    ("atan2", INF, -INF, 3 * PI / 4), ("atan2", -INF, -INF, -3 * PI / 4),
    ("atan2", INF, INF, PI / 4), ("atan2", -INF, INF, -PI / 4), ("atan2", NAN, 1.0, NAN),
    ("atan2", 1.0, NAN, NAN), ("atan2", NAN, INF, NAN), ("atan2", INF, NAN, NAN),
    # max, min: nan if either is nan; max(-0, +0) = +0, min(-0, +0) = -0
    ("max", NAN, 1.0, NAN), ("max", 1.0, NAN, NAN), ("max", NAN, NAN, NAN),
    ("max", NAN, INF, NAN), ("max", -INF, NAN, NAN), ("max", -0.0, 0.0, 0.0),
    ("max", 0.0, -0.0, 0.0), ("max", -0.0, -0.0, -0.0), ("max", 0.0, 0.0, 0.0),
    ("max", -INF, 1.0, 1.0), ("max", INF, 1.0, INF), ("max", -1.0, -0.0, -0.0),
    ("max", -0.0, -1.0, -0.0), ("max", -INF, -INF, -INF), ("max", 2.0, 3.0, 3.0),
    ("min", NAN, 1.0, NAN), ("min", 1.0, NAN, NAN), ("min", NAN, NAN, NAN),
    ("min", NAN, -INF, NAN), ("min", INF, NAN, NAN), ("min", -0.0, 0.0, -0.0),
    ("min", 0.0, -0.0, -0.0), ("min", -0.0, -0.0, -0.0), ("min", 0.0, 0.0, 0.0),
    ("min", INF, 1.0, 1.0), ("min", -INF, 1.0, -INF), ("min", 1.0, 0.0, 0.0),
    ("min", 0.0, 1.0, 0.0), ("min", INF, INF, INF), ("min", 2.0, 3.0, 2.0),
]


def representable(v: float, dtype: type) -> bool:
    with np.errstate(over="ignore"):
        return math.isnan(v) or float(dtype(v)) == v


def rows_for(dtype: type, dps: int | None) -> list[tuple[str, float, float, float]]:
    """The table rows the dtype can hold; in the mpmath domain, those without a -0 operand
    (it enters as 0: the +0 row states the result)."""
    rows = [r for r in EDGES if representable(r[1], dtype) and representable(r[2], dtype)]
    if dps is not None:
        rows = [r for r in rows if not any(v == 0 and math.copysign(1, v) < 0 for v in r[1:3])]
    return rows


def expected_array(values: list[float], dtype: type) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64).astype(dtype)


def test_edge_table_covers_the_family() -> None:
    assert {r[0] for r in EDGES} == set(NAMES) == {p.name for p in PRIMITIVES}


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_edge_cases_rank0(name: str, dtype: type, dps: int | None) -> None:
    """Each row on rank-0 operands."""
    for _, x, y, want in (r for r in rows_for(dtype, dps) if r[0] == name):
        got = run(name, np.array(x, dtype=dtype), np.array(y, dtype=dtype), dps=dps)
        try:
            assert_exactly_equal(got, expected_array([want], dtype).reshape(()), dps)
        except AssertionError as err:
            raise AssertionError(f"{name}({x!r}, {y!r}): got {got!r}, want {want!r}") from err


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_edge_cases_arrays(name: str, dtype: type, dps: int | None) -> None:
    """All rows of a primitive at once, as rank-1 operands, and with each y as a rank-0
    operand broadcast against x (NumPy takes other paths for a scalar operand)."""
    rows = [r for r in rows_for(dtype, dps) if r[0] == name]
    x = np.array([r[1] for r in rows], dtype=dtype)
    y = np.array([r[2] for r in rows], dtype=dtype)
    want = expected_array([r[3] for r in rows], dtype)
    assert_exactly_equal(run(name, x, y, dps=dps), want, dps)
    for i in range(len(rows)):
        got = run(name, x[i : i + 1], np.array(y[i]), dps=dps)
        assert_exactly_equal(got, want[i : i + 1], dps)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_negative_zero_enters_mpmath_as_zero(name: str, dtype: type) -> None:
    """Spec 3.0.1: -0.0 enters the mpmath domain as 0, so the result is that of +0."""
    values = np.array([-0.0, 0.0, 1.0, -2.0, INF, -INF], dtype=dtype)
    x = np.repeat(values, len(values))
    y = np.tile(values, len(values))
    got = run(name, x, y, dps=50)
    plus = dtype(0.0)
    want = run(name, np.where(x == 0, plus, x), np.where(y == 0, plus, y), dps=50)
    assert_exactly_equal(got, want, 50)


FINITE = {
    np.float64: st.floats(allow_nan=False, allow_infinity=False),
    np.float32: st.floats(allow_nan=False, allow_infinity=False, width=32),
}


def exact_fmod(x: float, y: float) -> float:
    """x - trunc(x/y)·y in rational arithmetic; the sign of x (a zero result included)."""
    fx, fy = Fraction(x), Fraction(y)
    q = abs(fx) // abs(fy)
    r = abs(fx) - q * abs(fy)
    return math.copysign(float(r), x)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@given(data=st.data())
def test_rem_exact_on_finite_floats(dtype: type, dps: int | None, data: st.DataObject) -> None:
    """rem is exact (0 ulp) at any magnitudes, e.g. 1e300 rem 1e-300."""
    pairs = data.draw(
        st.lists(st.tuples(FINITE[dtype], FINITE[dtype].filter(lambda v: v != 0)),
                 min_size=1, max_size=5)
    )
    x = np.array([p[0] for p in pairs], dtype=dtype)
    y = np.array([p[1] for p in pairs], dtype=dtype)
    want = np.array([exact_fmod(float(a), float(b)) for a, b in zip(x, y)], dtype=dtype)
    assert_exactly_equal(run("rem", x, y, dps=dps), want, dps)






SPECIAL_OR_SMALL = st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 2.5])
ANY_FLOAT = {
    np.float64: st.floats() | SPECIAL_OR_SMALL,
    np.float32: st.floats(width=32) | SPECIAL_OR_SMALL,
}


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@given(data=st.data())
def test_max_min_against_spec(dtype: type, dps: int | None, data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(ANY_FLOAT[dtype], ANY_FLOAT[dtype]), min_size=1,
                               max_size=8))
    x = np.array([p[0] for p in pairs], dtype=dtype)
    y = np.array([p[1] for p in pairs], dtype=dtype)
    for name, reference in (("max", spec_max), ("min", spec_min)):
        want = np.array([reference(float(a), float(b)) for a, b in zip(x, y)], dtype=dtype)
        assert_exactly_equal(run(name, x, y, dps=dps), want, dps)


# --------------------------------------------------------------------------------------------
# Integers

INTEGER_DTYPES = [(np.int64, 64), (np.int32, 32)]
INTEGER_IDS = ["i64", "i32"]


def wrap(v: int, bits: int) -> int:
    return (v + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)


def c_quotient(a: int, b: int) -> int:
    """a / b truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def c_remainder(a: int, b: int) -> int:
    """a - trunc(a / b)·b: the sign of a."""
    return a - c_quotient(a, b) * b


INTEGER_FUNCTIONS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": c_quotient,
    "rem": c_remainder,
    "max": max,
    "min": min,
}


def int_values(bits: int) -> st.SearchStrategy[int]:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (st.integers(lo, hi) | st.integers(-9, 9)
            | st.sampled_from([lo, hi, lo + 1, hi - 1, -1, 0, 1]))


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=INTEGER_IDS)
@given(data=st.data())
def test_integers_against_python(dtype: type, bits: int, dps: int | None,
                                 data: st.DataObject) -> None:
    """Every numeric primitive on the same drawn pairs (divisors made non-zero for div, rem),
    with y as an array and as a rank-0 operand broadcast against x."""
    pairs = data.draw(st.lists(st.tuples(int_values(bits), int_values(bits)), min_size=1,
                               max_size=6))
    s = data.draw(int_values(bits).filter(lambda v: v != 0))
    for name, fn in INTEGER_FUNCTIONS.items():
        if name in ("div", "rem"):
            pairs = [(a, b if b != 0 else s) for a, b in pairs]
        x = np.array([p[0] for p in pairs], dtype=dtype)
        y = np.array([p[1] for p in pairs], dtype=dtype)
        got = run(name, x, y, dps=dps)
        assert got.dtype == np.dtype(dtype), name
        assert [int(v) for v in got] == [wrap(fn(a, b), bits) for a, b in pairs], name
        got = run(name, x, np.array(s, dtype=dtype), dps=dps)
        assert got.shape == x.shape and got.dtype == np.dtype(dtype), name
        assert [int(v) for v in got] == [wrap(fn(a, s), bits) for a, _ in pairs], name


# (name, x, y, expected) for i32 and i64 alike; MIN is the dtype's least value.
MIN = "MIN"
INTEGER_TABLE: list[tuple[str, int | str, int | str, int | str]] = [
    ("div", 7, 2, 3), ("div", -7, 2, -3), ("div", 7, -2, -3), ("div", -7, -2, 3),
    ("div", 0, -5, 0), ("div", 1, 2, 0), ("div", -1, 2, 0), ("div", MIN, -1, MIN),
    ("div", MIN, 1, MIN), ("rem", 7, 2, 1), ("rem", -7, 2, -1), ("rem", 7, -2, 1),
    ("rem", -7, -2, -1), ("rem", -4, 2, 0), ("rem", MIN, -1, 0), ("rem", MIN, 2, 0),
    ("mul", MIN, -1, MIN), ("sub", 0, MIN, MIN), ("add", MIN, -1, "MAX"),
]


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=INTEGER_IDS)
@pytest.mark.parametrize(("name", "x", "y", "expected"), INTEGER_TABLE)
def test_integer_table(name: str, x: int | str, y: int | str, expected: int | str, dtype: type,
                       bits: int, dps: int | None) -> None:
    named = {MIN: -(2 ** (bits - 1)), "MAX": 2 ** (bits - 1) - 1}
    xv, yv, want = (named[v] if isinstance(v, str) else v for v in (x, y, expected))
    got = run(name, np.array(xv, dtype=dtype), np.array(yv, dtype=dtype), dps=dps)
    assert got.dtype == np.dtype(dtype) and int(got) == want


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=INTEGER_IDS)
@pytest.mark.parametrize(("name", "word"), [("div", "division"), ("rem", "remainder")])
def test_integer_division_by_zero_is_an_evaluation_error(name: str, word: str, dtype: type,
                                                         dps: int | None) -> None:
    cases = [
        (np.array([1, 2, 3], dtype=dtype), np.array([1, 0, 2], dtype=dtype)),
        (np.array([0, 5], dtype=dtype), np.array(0, dtype=dtype)),  # rank-0 divisor
        (np.array(0, dtype=dtype), np.array(0, dtype=dtype)),
    ]
    for x, y in cases:
        with pytest.raises(EvaluationError, match=f"integer {word} by zero"):
            run(name, x, y, dps=dps)


def test_integer_division_by_zero_in_a_program_names_the_program() -> None:
    p = parse_program(
        "def quot(a: i32[2], b: i32[2]) -> i32[2]:\n    q: i32[2] = div(a, b)\n    return q\n"
    )
    for dps in DOMAINS:
        with pytest.raises(EvaluationError, match="by zero") as info:
            evaluate(p, np.array([4, 4], dtype=np.int32), np.array([2, 0], dtype=np.int32),
                     dps=dps)
        assert "quot" in str(info.value)


# --------------------------------------------------------------------------------------------
# Broadcasting of rank-0 operands and literals

VALUES = {
    np.float64: st.floats() | SPECIAL_OR_SMALL | st.sampled_from([0.5, 2.0, 3.0, -3.0]),
    np.float32: st.floats(width=32) | SPECIAL_OR_SMALL | st.sampled_from([0.5, 2.0, -3.0]),
}


LIBRARY_CALLS = {"pow": 4.0, "atan2": 4.0}  # the spec's ulp column for these two


def assert_same_function_value(name: str, got: np.ndarray, want: np.ndarray,
                               dps: int | None) -> None:
    """Equal, for a correctly rounded (or exact) primitive. pow and atan2 are one library
    call each, within 4 ulp of the exact value: NumPy computes a scalar operand by another
    path (pow(x, 0.5) as sqrt), so two float64 results may differ by up to twice that in
    value, but never in class (nan, inf, sign of zero)."""
    if name not in LIBRARY_CALLS or dps is not None:
        assert_exactly_equal(got, want, dps)
        return
    assert got.dtype == want.dtype and got.shape == want.shape
    finite = np.isfinite(want) & (want != 0)
    classes = np.where(finite, 1.0, want).astype(want.dtype)
    assert_exactly_equal(np.where(finite, 1.0, got).astype(got.dtype), classes, dps)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = 2 * LIBRARY_CALLS[name] * np.spacing(np.maximum(np.abs(got), np.abs(want)))
        assert np.all(np.abs(got - want)[finite] <= bound[finite]), (name, got, want)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@given(data=st.data())
def test_rank0_operand_broadcasts(dtype: type, dps: int | None, data: st.DataObject) -> None:
    """op(a, s) and op(s, a) with s rank 0 equal op on s repeated to a's shape (2, 2), for
    every primitive; op(s, s) has rank 0."""
    a = np.array(data.draw(st.lists(VALUES[dtype], min_size=4, max_size=4)),
                 dtype=dtype).reshape(2, 2)
    s = np.array(data.draw(VALUES[dtype]), dtype=dtype)
    full = np.full((2, 2), s, dtype=dtype)
    lefts, rights = np.stack([a, full, full]), np.stack([full, a, full])
    for name in NAMES:
        want = run(name, lefts, rights, dps=dps)  # op(a, s), op(s, a), op(s, s) repeated
        for i, (left, right) in enumerate(((a, s), (s, a))):
            got = run(name, left, right, dps=dps)
            assert got.shape == (2, 2) and got.dtype == np.dtype(dtype), name
            assert_same_function_value(name, got, want[i], dps)
        both = run(name, s, s, dps=dps)
        assert both.shape == () and both.dtype == np.dtype(dtype), name
        assert_same_function_value(name, both, want[2, 0, 0], dps)


def program(body: str, params: str, result: str) -> object:
    return parse_program(f"def f({params}) -> {result}:\n    y: {result} = {body}\n    return y\n")


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
def test_integer_literal_takes_the_operand_dtype(dps: int | None) -> None:
    """2147483647 takes i32 from x: the sum wraps at 32 bits, not 64."""
    p = program("add(x, 2147483647)", "x: i32[3]", "i32[3]")
    (y,) = evaluate(p, np.array([1, 0, -1], dtype=np.int32), dps=dps)
    assert y.dtype == np.int32
    assert [int(v) for v in y] == [wrap(v + 2**31 - 1, 32) for v in (1, 0, -1)]
    p = program("mul(3, x)", "x: i32[2]", "i32[2]")
    (y,) = evaluate(p, np.array([2**30, -5], dtype=np.int32), dps=dps)
    assert y.dtype == np.int32 and [int(v) for v in y] == [wrap(3 * 2**30, 32), -15]


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
def test_float_literal_takes_f32(dps: int | None) -> None:
    """0.1 takes f32 from x; the result is f32 and, at x = 0, the f32 nearest 0.1."""
    p = program("add(x, 0.1)", "x: f32[2]", "f32[2]")
    (y,) = evaluate(p, np.array([0.0, -0.0], dtype=np.float32), dps=dps)
    y = np.asarray([float(v) for v in y], dtype=np.float32)
    assert list(y) == [np.float32(0.1), np.float32(0.1)]
    p = program("max(x, 0)", "x: f32[3]", "f32[3]")
    (y,) = evaluate(p, np.array([-2.0, 3.0, NAN], dtype=np.float32), dps=dps)
    got = np.asarray([float(v) for v in y], dtype=np.float32)
    assert_exactly_equal(got, np.array([0.0, 3.0, NAN], dtype=np.float32), dps)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
def test_float_literal_and_argument_round_to_f32(dps: int | None) -> None:
    """x - 0.1 with x = 0.1 is exactly 0 only if the literal and the argument are both
    rounded to f32 (spec 3, E-Args and E-Lit), in either domain."""
    p = program("sub(x, 0.1)", "x: f32[]", "f32[]")
    for x in (np.float32(0.1), 0.1, np.float64(0.1)):
        (y,) = evaluate(p, x, dps=dps)
        assert float(y) == 0.0
        if dps is None:
            assert y.dtype == np.float32


@pytest.mark.parametrize(
    ("body", "params", "result", "arg"),
    [
        ("add(n, 1.5)", "n: i64[]", "i64[]", 0),
        ("add(n, 1.5)", "n: i32[2]", "i32[2]", [0, 0]),
        ("mul(x, true)", "x: f64[]", "f64[]", 0.0),
        ("max(n, false)", "n: i64[]", "i64[]", 0),
        ("add(n, 2147483648)", "n: i32[]", "i32[]", 0),
    ],
)
def test_unrepresentable_literal_is_a_type_error(body: str, params: str, result: str,
                                                 arg: object) -> None:
    with pytest.raises(LintraTypeError, match="literal"):
        evaluate(program(body, params, result), arg)


# --------------------------------------------------------------------------------------------
# Type rules


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("xshape", "yshape"), [((3,), (2,)), ((2, 3), (3,)), ((1,), (3,)),
                                               ((3, 1), (3,)), ((2, 2), (4,))])
def test_unequal_shapes_are_a_shape_error(name: str, xshape: tuple[int, ...],
                                          yshape: tuple[int, ...]) -> None:
    for a, b in ((xshape, yshape), (yshape, xshape)):
        with pytest.raises(ShapeError, match="equal shapes"):
            run(name, np.ones(a), np.ones(b), dps=None)


MIXED = [(np.float64, np.float32), (np.int64, np.int32), (np.float64, np.int64),
         (np.float32, np.int32), (np.float64, np.bool_)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("a", "b"), MIXED, ids=lambda d: np.dtype(d).name)
def test_mixed_dtypes_are_a_type_error(name: str, a: type, b: type) -> None:
    for first, second in ((a, b), (b, a)):
        with pytest.raises(LintraTypeError, match="one dtype") as info:
            run(name, np.ones(2, dtype=first), np.ones(2, dtype=second), dps=None)
        assert type(info.value) is LintraTypeError  # a dtype error, not a shape error


@pytest.mark.parametrize("name", NAMES)
def test_bool_operands_are_a_type_error(name: str) -> None:
    b = np.array([True, False])
    with pytest.raises(LintraTypeError, match="has dtype bool") as info:
        run(name, b, b, dps=None)
    assert type(info.value) is LintraTypeError


@pytest.mark.parametrize("name", ["pow", "atan2"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32], ids=INTEGER_IDS)
def test_pow_atan2_take_floats_only(name: str, dtype: type) -> None:
    x = np.array([2, 3], dtype=dtype)
    with pytest.raises(LintraTypeError, match="expected a float dtype"):
        run(name, x, x, dps=None)


@pytest.mark.parametrize("name", sorted(INTEGER_FUNCTIONS))
def test_numeric_primitives_accept_every_numeric_dtype(name: str) -> None:
    for dtype in (np.float64, np.float32, np.int64, np.int32):
        got = run(name, np.array([6, 4], dtype=dtype), np.array(3, dtype=dtype), dps=None)
        assert got.dtype == np.dtype(dtype) and got.shape == (2,)
