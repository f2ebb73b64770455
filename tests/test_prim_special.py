"""The special family (spec 3.8): linear-only primitives, iota, identities and conversions.

``convert_element_type`` is checked between every pair of dtypes (f64, f32, i64, i32, bool),
in the float64 domain and the mpmath domain, against a reference written from the spec's
table with exact rational arithmetic (``fractions.Fraction``), never with the NumPy casts the
implementation uses:

* float→float and int/bool→float: the float nearest the exact value, ties to the even
  significand, ±inf beyond the largest finite float (IEEE 754 roundTiesToEven, implemented
  here from the formats' precision and exponent range); nan, ±inf and the sign of zero kept;
* float→int: truncation toward zero; nan, ±inf or a truncation outside the dtype's range is
  an ``EvaluationError`` (and so is int→int out of range: the spec defines no wrap-around);
* anything→bool is ``x ≠ 0`` (nan → true), bool→numeric is 0/1;
* in the mpmath domain float→float is the identity (the result is exactly the operand's real
  value, however far outside f32's range or precision), and int/bool→float gives the integer
  itself, not first rounded to the dtype's width (exact from 20 digits on, rounded to
  nearest at the domain's precision below that). Raw mpmath results are compared as exact
  rationals, and the rounding of mpmath values to f32 (``domains.to_float64``) is checked to
  round once (through f64 it would round twice).

Values come from Hypothesis, biased to ties and to the boundaries of each format (f32's
subnormals and overflow threshold, 2^24, 2^53, ±2^31, ±2^63), on shapes of rank 0 to 3 with
size-0 dimensions; an explicit table gives the spec's edge cases with values worked out by
hand. ``iota`` is checked against an explicit loop over positions for every numeric dtype,
shape and (negative) dimension; ``copy`` and ``stop_gradient`` return equal values in fresh
arrays; ``dup``, ``drop`` and ``zero`` are evaluated through linear programs, and the checker's
linearity rules for this family are exercised. Type-rule violations raise the specific error
class with a message fragment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import check, evaluate, parse, parse_program
from lintra.reference.domains import Float64Domain, MpDomain, to_float64
from lintra.reference.errors import (
    EvaluationError,
    LinearityError,
    LintraTypeError,
    ShapeError,
)
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import ALL, LinearityKind
from lintra.reference.primitives.special import PRIMITIVES
from lintra.reference.syntax import DType
from tests.harness import (
    apply,
    array_type,
    assert_exactly_equal,
    build,
    distinct_arrays,
    run,
)

NAMES = ("dup", "drop", "zero", "iota", "copy", "stop_gradient", "convert_element_type")
DTYPE_NAMES = ("f64", "f32", "i64", "i32", "bool")
NUMPY = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "i32": np.int32,
         "bool": np.bool_}
PAIRS = [(a, b) for a in DTYPE_NAMES for b in DTYPE_NAMES]
INT_RANGE = {"i64": (-(2**63), 2**63 - 1), "i32": (-(2**31), 2**31 - 1)}

sizes = st.integers(0, 3)
shapes = st.lists(sizes, min_size=0, max_size=3).map(tuple)
domains = st.sampled_from((None, 50))


# --------------------------------------------------------------------------------------------
# Exact rounding to a binary format (IEEE 754 roundTiesToEven), from the format's parameters


@dataclass(frozen=True)
class Format:
    """A binary floating-point format: significand bits (implicit bit included) and the
    exponent range of its normal numbers."""

    precision: int
    emin: int
    emax: int


F64 = Format(53, -1022, 1023)
F32 = Format(24, -126, 127)
FORMATS = {"f64": F64, "f32": F32}


def floor_log2(q: Fraction) -> int:
    """The e with 2^e <= q < 2^(e+1), for q > 0."""
    assert q > 0
    e = q.numerator.bit_length() - q.denominator.bit_length()
    while Fraction(2) ** e > q:
        e -= 1
    while Fraction(2) ** (e + 1) <= q:
        e += 1
    return e


def nearest(q: Fraction, fmt: Format, negative_zero: bool = False) -> float:
    """The float of ``fmt`` nearest the real ``q``, ties to the even significand; ±inf when
    the rounded magnitude (with an unbounded exponent) reaches 2^(emax+1)."""
    if q == 0:
        return -0.0 if negative_zero else 0.0
    sign = -1.0 if q < 0 else 1.0
    a = abs(q)
    quantum = Fraction(2) ** (max(floor_log2(a), fmt.emin) - (fmt.precision - 1))
    n = a // quantum
    twice_rest = 2 * (a - n * quantum)
    if twice_rest > quantum or (twice_rest == quantum and n % 2 == 1):
        n += 1
    magnitude = n * quantum
    if magnitude and floor_log2(magnitude) > fmt.emax:
        return sign * math.inf
    return sign * float(magnitude)  # exact: magnitude is a float of fmt, so of f64


def test_nearest_on_known_values() -> None:
    """The reference rounding itself, on values whose rounding is known by hand."""
    assert nearest(Fraction(1, 3), F32) == 11184811 / 2**25  # 0x3EAAAAAB
    assert nearest(Fraction(2**24 + 1), F32) == 2**24  # tie: 2^24 has the even significand
    assert nearest(Fraction(2**24 + 3), F32) == 2**24 + 4  # tie: 2^24 + 4 is even
    assert nearest(Fraction(2**53 + 1), F64) == 2.0**53
    assert nearest(Fraction(2**53 + 3), F64) == 2.0**53 + 4
    assert nearest(Fraction(1, 2**150), F32) == 0.0  # half the smallest subnormal: tie to 0
    assert nearest(Fraction(3, 2**150), F32) == 2.0**-148  # tie between 2^-149 and 2^-148
    assert nearest(-Fraction(1, 2**151), F32, negative_zero=True) == 0.0
    largest = Fraction(2**24 - 1) * 2**104  # the largest finite f32
    assert nearest(largest, F32) == float(largest)
    assert nearest(largest + 2**103, F32) == math.inf  # halfway to 2^128: ties to "even" inf
    assert nearest(-(largest + 2**103 - 1), F32) == -float(largest)
    assert math.copysign(1.0, nearest(-Fraction(1, 2**200), F32)) == -1.0


# --------------------------------------------------------------------------------------------
# The spec's conversion rules, element by element


class Raises:
    """Expected outcome: EvaluationError with ``fragment`` in its message."""

    def __init__(self, fragment: str) -> None:
        self.fragment = fragment

    def __repr__(self) -> str:
        return f"Raises({self.fragment!r})"


NOT_FINITE = Raises("not a finite number")
OUT_OF_RANGE = Raises("out of range")


def expected(v: float | int | bool, src: str, dst: str) -> float | int | bool | Raises:
    """What the float64 domain gives for one element ``v`` of dtype ``src`` (spec 3.8)."""
    if dst == "bool":
        return bool(v) if src == "bool" else bool(math.isnan(v) or v != 0)
    if src == "bool":
        return (1.0 if v else 0.0) if dst in FORMATS else (1 if v else 0)
    if dst in FORMATS:
        if src in FORMATS:
            if math.isnan(v) or math.isinf(v):
                return v
            negative_zero = math.copysign(1.0, v) < 0
            return nearest(Fraction(v), FORMATS[dst], negative_zero)
        return nearest(Fraction(int(v)), FORMATS[dst])
    if src in FORMATS:
        if math.isnan(v) or math.isinf(v):
            return NOT_FINITE
        n = math.trunc(Fraction(v))
    else:
        n = int(v)
    lo, hi = INT_RANGE[dst]
    return n if lo <= n <= hi else OUT_OF_RANGE


def expected_mp(v: float | int | bool, src: str, dst: str) -> object:
    """What the mpmath domain gives before rounding to the dtype: the operand's exact value
    for a float result from a float (the identity) or from an integer or bool (50 digits hold
    every i64 exactly); otherwise the same as the float64 domain."""
    if dst in FORMATS and src != "bool":
        if src in FORMATS and (math.isnan(v) or math.isinf(v)):
            return v
        return Fraction(v) if src in FORMATS else Fraction(int(v))
    return expected(v, src, dst)


def mp_fraction(m: object) -> Fraction:
    """The exact rational value of a finite mpmath number."""
    sign, man, exp, _ = m._mpf_  # type: ignore[attr-defined]
    return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


def assert_mp_element(m: object, want: object) -> None:
    """``m`` is an mpmath number of exactly the value ``want`` (a Fraction, nan or ±inf)."""
    assert type(m).__name__ == "mpf", type(m)
    if isinstance(want, float) and math.isnan(want):
        assert mpmath.isnan(m), m
    elif isinstance(want, float) and math.isinf(want):
        assert mpmath.isinf(m) and (m > 0) == (want > 0), m
    else:
        assert mp_fraction(m) == want, (m, want)


def as_list(x: np.ndarray) -> list:
    return [x[i] for i in np.ndindex(x.shape)]


# --------------------------------------------------------------------------------------------
# Value strategies: each format's boundaries, ties, and ordinary values


def f32_ties() -> st.SearchStrategy[float]:
    """f64 values k/4 of an f32 ulp away from an f32 value (k = -4..4): the exact halfway
    points (k = ±2) and their neighbours, in the normal and subnormal range and at the top."""
    return st.builds(
        lambda a, k: float(a) + k * float(np.spacing(np.float32(a))) / 4,
        st.floats(width=32, allow_nan=False, allow_infinity=False)
        | st.sampled_from([3.4028234663852886e38, -3.4028234663852886e38, 2.0**-149,
                           2.0**-126, 2.0**24, 1.0]),
        st.integers(-4, 4),
    )


def float_values(src: str) -> st.SearchStrategy[float]:
    width = 64 if src == "f64" else 32
    boundaries = [2.0**31, -(2.0**31), 2.0**31 - 1, -(2.0**31) - 1, 2.0**63, -(2.0**63),
                  2.0**63 - 1024, 2.5, -2.5, 0.5, -0.5, 1.0, -1.0, 0.0, -0.0]
    near = st.sampled_from(boundaries).map(
        lambda b: float(np.asarray(b, dtype=NUMPY[src])))
    base = st.floats(width=width) | near | st.floats(-3e9, 3e9, width=width)
    return base | f32_ties() if src == "f64" else base


def int_values(src: str) -> st.SearchStrategy[int]:
    lo, hi = INT_RANGE[src]
    # m * 2^s plus a few units around half of 2^s: the ties of f32 (and of f64 for i64)
    ties = st.builds(
        lambda m, s, k: (m << s) + (1 << (s - 1)) + k,
        st.integers(-(2**24), 2**24), st.integers(1, 39), st.integers(-1, 1),
    ).filter(lambda n: lo <= n <= hi)
    boundaries = st.sampled_from([lo, hi, lo + 1, hi - 1, 0, 1, -1, 2**24 + 1, 2**31,
                                  -(2**31) - 1, 2**53 + 1, -(2**53) - 1])
    return st.integers(lo, hi) | ties | boundaries.filter(lambda n: lo <= n <= hi)


def values(src: str) -> st.SearchStrategy:
    if src == "bool":
        return st.booleans()
    return float_values(src) if src in FORMATS else int_values(src)


def tame_values(src: str) -> st.SearchStrategy:
    """Values that every conversion from ``src`` accepts (no nan, inf or out-of-range)."""
    if src == "bool":
        return st.booleans()
    if src in FORMATS:
        width = 64 if src == "f64" else 32
        top = 2.0**31 - (1 if src == "f64" else 128)  # the largest float below 2^31
        return st.floats(-(2.0**31), top, width=width) | st.floats(-300.0, 300.0, width=width)
    return st.integers(*INT_RANGE["i32"]) | st.integers(-300, 300)


@st.composite
def operands(draw: st.DrawFn, src: str) -> np.ndarray:
    shape = draw(shapes)
    n = math.prod(shape)
    element = values(src) if draw(st.booleans()) else tame_values(src)
    return np.array(draw(st.lists(element, min_size=n, max_size=n)),
                    dtype=NUMPY[src]).reshape(shape)


# --------------------------------------------------------------------------------------------
# The records


def test_every_special_primitive_has_a_record() -> None:
    assert tuple(p.name for p in PRIMITIVES) == NAMES
    for prim in PRIMITIVES:
        assert lookup(prim.name) is prim
        assert prim.family == "special"
    for name in ("dup", "drop", "zero"):
        assert lookup(name).linearity.kind is LinearityKind.LINEAR_ONLY
        assert lookup(name).transpose is not None
    for name in ("iota", "stop_gradient"):
        assert lookup(name).linearity.kind is LinearityKind.NEVER
    for name in ("copy", "convert_element_type"):
        assert lookup(name).linearity.kind is LinearityKind.TOGETHER
        assert lookup(name).linearity.positions == ALL
    assert lookup("zero").result_from_annotation
    assert lookup("iota").param_values({"dtype": "f64", "shape": (2,)})["dimension"] == 0


# --------------------------------------------------------------------------------------------
# convert_element_type: every pair of dtypes, both domains, against the reference


def convert_and_check(x: np.ndarray, src: str, dst: str, dps: int | None) -> None:
    want = [expected(v.item(), src, dst) for v in as_list(x)]
    errors = [w for w in want if isinstance(w, Raises)]
    if errors:
        with pytest.raises(EvaluationError) as info:
            apply("convert_element_type", x, dps=dps, new_dtype=dst)
        message = str(info.value)
        assert "convert_element_type" in message and dst in message
        assert any(e.fragment in message for e in errors), (message, errors)
        return
    got = run("convert_element_type", x, dps=dps, new_dtype=dst)  # type, freshness, operands
    if dps is None or dst not in FORMATS:
        assert_exactly_equal(got, np.array(want, dtype=NUMPY[dst]).reshape(x.shape), dps)
        return
    (raw,), (t,) = apply("convert_element_type", x, dps=dps, new_dtype=dst)
    assert t == array_type(np.zeros(x.shape, NUMPY[dst]))
    for m, v in zip(as_list(raw), as_list(x)):
        assert_mp_element(m, expected_mp(v.item(), src, dst))


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@given(data=st.data(), dps=domains)
def test_convert_every_pair(src: str, dst: str, data: st.DataObject, dps: int | None) -> None:
    convert_and_check(data.draw(operands(src)), src, dst, dps)


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@given(data=st.data(), dps=domains)
def test_convert_one_value(src: str, dst: str, data: st.DataObject, dps: int | None) -> None:
    """Rank 0, each value on its own: every error case is reached with its own message."""
    v = data.draw(values(src))
    convert_and_check(np.array(v, dtype=NUMPY[src]), src, dst, dps)


@given(st.lists(f32_ties() | st.floats(), min_size=1, max_size=8))
def test_f64_to_f32_is_the_nearest_float32(vs: list[float]) -> None:
    """Beyond equality with the reference: no float32 neighbour of the result is nearer to
    the operand, and at a tie the result's significand is even."""
    got = run("convert_element_type", np.array(vs), dps=None, new_dtype="f32")
    for v, r in zip(vs, got):
        if not math.isfinite(v) or not math.isfinite(float(r)):
            continue
        q, rq = Fraction(v), Fraction(float(r))
        for nb in (np.nextafter(r, np.float32(np.inf)), np.nextafter(r, np.float32(-np.inf))):
            if math.isfinite(float(nb)):
                assert abs(q - rq) <= abs(q - Fraction(float(nb))), (v, r, nb)
                if abs(q - rq) == abs(q - Fraction(float(nb))) and r != 0:
                    assert int(np.float32(r).view(np.int32)) % 2 == 0, (v, r)


@given(st.integers(-(2**63), 2**63 - 1) | int_values("i64"), st.sampled_from([5, 8, 15, 20]),
       st.sampled_from(["f64", "f32"]))
def test_mp_int_to_float_rounds_at_the_domain_precision(n: int, dps: int, dst: str) -> None:
    """In the mpmath domain int→float rounds to nearest at the domain's precision (not to the
    float dtype's width): exactly the integer from 20 digits on, as spec 3.8 states."""
    d = MpDomain(dps)
    (raw,), _ = apply("convert_element_type", np.array(n, dtype=np.int64), dps=dps,
                      new_dtype=dst)
    unbounded = Format(d.ctx.prec, -(10**9), 10**9)
    assert mp_fraction(raw[()]) == Fraction(nearest(Fraction(n), unbounded))
    if dps >= 20:
        assert mp_fraction(raw[()]) == n


def test_mp_result_rounds_once_to_f32() -> None:
    """2^60 + 2^36 + 1 is above the f32 halfway point 2^60 + 2^36: nearest is 2^60 + 2^37.
    Rounding to f64 first gives exactly the halfway point, which then ties to 2^60."""
    n = 2**60 + 2**36 + 1
    assert nearest(Fraction(n), F32) == 2.0**60 + 2.0**37
    got = run("convert_element_type", np.array(n, dtype=np.int64), dps=50, new_dtype="f32")
    assert float(got) == 2.0**60 + 2.0**37
    assert float(to_float64(np.array(MpDomain(50).mpf(n), dtype=object), DType.f32)) == float(got)


# --------------------------------------------------------------------------------------------
# The spec's edge cases, expected values worked out by hand

F32_MAX = 3.4028234663852886e38  # (2 - 2^-23) * 2^127
F32_HALF_ULP_AT_MAX = 2.0**103

EDGE_CASES: list[tuple[str, str, object, object]] = [
    # float -> float: nearest, ties to even; beyond range ±inf; nan, inf, -0.0 kept
    ("f64", "f32", 0.1, 0.10000000149011612),
    ("f64", "f32", 1.0 + 2.0**-24, 1.0),  # tie: 1.0 is even
    ("f64", "f32", 1.0 + 3 * 2.0**-24, 1.0 + 2.0**-22),  # tie: 1 + 2^-22 is even
    ("f64", "f32", 1.0 + 2.0**-24 + 2.0**-52, 1.0 + 2.0**-23),  # just above the tie
    ("f64", "f32", F32_MAX + F32_HALF_ULP_AT_MAX, math.inf),  # halfway to 2^128 overflows
    ("f64", "f32", F32_MAX + F32_HALF_ULP_AT_MAX - 2.0**75, F32_MAX),
    ("f64", "f32", -1e39, -math.inf),
    ("f64", "f32", 1e300, math.inf),
    ("f64", "f32", 2.0**-150, 0.0),  # half the smallest subnormal: tie to zero
    ("f64", "f32", -(2.0**-150), -0.0),
    ("f64", "f32", 2.0**-150 + 2.0**-200, 2.0**-149),
    ("f64", "f32", 3 * 2.0**-150, 2.0**-148),
    ("f64", "f32", -0.0, -0.0),
    ("f64", "f32", math.inf, math.inf),
    ("f64", "f32", math.nan, math.nan),
    ("f32", "f64", 0.10000000149011612, 0.10000000149011612),
    ("f32", "f64", -0.0, -0.0),
    ("f32", "f64", -math.inf, -math.inf),
    # int/bool -> float
    ("i64", "f64", 2**53 + 1, 2.0**53),
    ("i64", "f64", 2**53 + 3, 2.0**53 + 4),
    ("i64", "f64", 2**63 - 1, 2.0**63),
    ("i64", "f64", -(2**63), -(2.0**63)),
    ("i64", "f32", 2**24 + 1, 2.0**24),
    ("i64", "f32", 2**60 + 2**36 + 1, 2.0**60 + 2.0**37),
    ("i32", "f32", 2**31 - 1, 2.0**31),
    ("i32", "f32", -(2**24) - 3, -(2.0**24) - 4),
    ("i32", "f64", 0, 0.0),
    ("bool", "f64", True, 1.0),
    ("bool", "f32", False, 0.0),
    # float -> int: truncation toward zero, then the range
    ("f64", "i32", -2.75, -2),
    ("f64", "i32", 3.5, 3),
    ("f64", "i32", -0.5, 0),
    ("f64", "i32", -0.0, 0),
    ("f64", "i32", 2147483647.75, 2147483647),
    ("f64", "i32", -2147483648.75, -2147483648),
    ("f64", "i32", 2147483648.0, OUT_OF_RANGE),
    ("f64", "i32", -2147483649.0, OUT_OF_RANGE),
    ("f64", "i64", 2.0**63, OUT_OF_RANGE),
    ("f64", "i64", -(2.0**63), -(2**63)),
    ("f64", "i64", 2.0**63 - 1024, 2**63 - 1024),
    ("f64", "i64", 1e300, OUT_OF_RANGE),
    ("f32", "i32", 2.0**31, OUT_OF_RANGE),
    ("f32", "i32", -(2.0**31), -(2**31)),
    ("f32", "i64", -1.5, -1),
    ("f64", "i64", math.nan, NOT_FINITE),
    ("f64", "i32", math.inf, NOT_FINITE),
    ("f32", "i64", -math.inf, NOT_FINITE),
    # int -> int: exact or an error, never wrapped
    ("i64", "i32", 2**31 - 1, 2**31 - 1),
    ("i64", "i32", -(2**31), -(2**31)),
    ("i64", "i32", 2**31, OUT_OF_RANGE),
    ("i64", "i32", -(2**31) - 1, OUT_OF_RANGE),
    ("i64", "i32", 2**32 + 5, OUT_OF_RANGE),
    ("i32", "i64", -(2**31), -(2**31)),
    # anything -> bool is x != 0, nan -> true; bool -> numeric is 0/1
    ("f64", "bool", math.nan, True),
    ("f64", "bool", -0.0, False),
    ("f64", "bool", 2.0**-1074, True),
    ("f32", "bool", -math.inf, True),
    ("i64", "bool", -(2**63), True),
    ("i32", "bool", 0, False),
    ("bool", "i32", True, 1),
    ("bool", "i64", False, 0),
    ("bool", "bool", True, True),
]


@pytest.mark.parametrize("dps", [None, 50])
@pytest.mark.parametrize(("src", "dst", "value", "want"), EDGE_CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(EDGE_CASES)])
def test_edge_cases(src: str, dst: str, value: object, want: object, dps: int | None) -> None:
    x = np.array(value, dtype=NUMPY[src])
    assert x.item() == value or (isinstance(value, float) and math.isnan(value))
    if isinstance(want, Raises):
        with pytest.raises(EvaluationError, match=want.fragment):
            apply("convert_element_type", x, dps=dps, new_dtype=dst)
        return
    if dps is not None and dst in FORMATS and src != "bool":
        # the mpmath domain keeps the operand's real value: float->float is the identity
        (raw,), _ = apply("convert_element_type", x, dps=dps, new_dtype=dst)
        assert_mp_element(raw[()], expected_mp(value, src, dst))  # type: ignore[arg-type]
        return
    got = run("convert_element_type", x, dps=dps, new_dtype=dst)
    assert_exactly_equal(got, np.array(want, dtype=NUMPY[dst]), dps)
    assert expected(value, src, dst) == want or math.isnan(want)  # type: ignore[arg-type]


def test_mp_float_to_float_is_the_identity_beyond_f32() -> None:
    """1e300, 0.1 and 2^-1074 are no f32, yet the mpmath domain keeps each exactly."""
    x = np.array([1e300, 0.1, 2.0**-1074, -3.5])
    (raw,), (t,) = apply("convert_element_type", x, dps=50, new_dtype="f32")
    assert t.dtype is DType.f32
    assert [mp_fraction(m) for m in raw] == [Fraction(v) for v in x.tolist()]


def test_mp_conversion_of_computed_values() -> None:
    """In the mpmath domain values need not be binary floats: 7/3, -7/3 and 2^31 - 1/3 (as
    computed at 50 digits) truncate to 2, -2 and 2^31 - 1; 2^31 + 1/3 is out of range."""
    program = parse_program("def f(x: f64[3]) -> (i32[3], f32[3], bool[3]):\n"
                            "    y: f64[3] = div(x, 3.0)\n"
                            "    n: i32[3] = convert_element_type(y, new_dtype=\"i32\")\n"
                            "    g: f32[3] = convert_element_type(y, new_dtype=\"f32\")\n"
                            "    b: bool[3] = convert_element_type(y, new_dtype=\"bool\")\n"
                            "    return n, g, b\n")
    x = np.array([7.0, -7.0, 3.0 * 2**31 - 1])
    n, g, b = evaluate(program, x, dps=50)
    assert_exactly_equal(n, np.array([2, -2, 2**31 - 1], dtype=np.int32))
    assert_exactly_equal(b, np.array([True, True, True]))
    assert all(type(e).__name__ == "mpf" for e in g)
    assert abs(mp_fraction(g[0]) - Fraction(7, 3)) < Fraction(1, 10**49)
    n64, _, _ = evaluate(program, x, dps=None)
    assert_exactly_equal(n64, np.array([2, -2, 2**31 - 1], dtype=np.int32))
    with pytest.raises(EvaluationError, match="out of range") as info:
        evaluate(program, np.array([0.0, 0.0, 3.0 * 2**31 + 1]), dps=50)
    assert "equation 2" in str(info.value)


def test_spec_example() -> None:
    """The example of spec 3.8, value by value from the table."""
    program = parse_program("def conversions(x: f64[3]) -> (i32[3], bool[3], f32[3]):\n"
                            "    n: i32[3] = convert_element_type(x, new_dtype=\"i32\")\n"
                            "    b: bool[3] = convert_element_type(x, new_dtype=\"bool\")\n"
                            "    f: f32[3] = convert_element_type(x, new_dtype=\"f32\")\n"
                            "    return n, b, f\n")
    n, b, f = evaluate(program, [-2.75, 0.0, 3.5])
    assert_exactly_equal(n, np.array([-2, 0, 3], dtype=np.int32))
    assert_exactly_equal(b, np.array([True, False, True]))
    assert_exactly_equal(f, np.array([-2.75, 0.0, 3.5], dtype=np.float32))
    with pytest.raises(EvaluationError, match="not a finite number") as info:
        evaluate(program, [1.0, math.nan, 2.0])
    assert "conversions" in str(info.value) and "equation 1" in str(info.value)


# --------------------------------------------------------------------------------------------
# iota against an explicit loop


@st.composite
def iota_cases(draw: st.DrawFn) -> tuple[str, tuple[int, ...], int]:
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    dimension = draw(st.integers(-len(shape), len(shape) - 1))
    return draw(st.sampled_from(("f64", "f32", "i64", "i32"))), shape, dimension


@given(iota_cases(), domains, st.booleans())
def test_iota(case: tuple[str, tuple[int, ...], int], dps: int | None, default: bool) -> None:
    dtype, shape, dimension = case
    if default:
        dimension = 0
        got = run("iota", dps=dps, dtype=dtype, shape=shape)
    else:
        got = run("iota", dps=dps, dtype=dtype, shape=shape, dimension=dimension)
    axis = dimension + len(shape) if dimension < 0 else dimension
    assert_exactly_equal(got, build(shape, NUMPY[dtype], lambda i: i[axis]), dps)


def test_iota_explicit() -> None:
    for dps in (None, 50):
        got = run("iota", dps=dps, dtype="i32", shape=(2, 3), dimension=1)
        assert_exactly_equal(got, np.array([[0, 1, 2], [0, 1, 2]], dtype=np.int32))
        got = run("iota", dps=dps, dtype="f32", shape=(3, 1), dimension=-2)
        assert_exactly_equal(got, np.array([[0.0], [1.0], [2.0]], dtype=np.float32), dps)
        got = run("iota", dps=dps, dtype="i64", shape=(0, 2))
        assert_exactly_equal(got, np.zeros((0, 2), dtype=np.int64))


# --------------------------------------------------------------------------------------------
# copy and stop_gradient: equal values in fresh arrays


@pytest.mark.parametrize("name", ["copy", "stop_gradient"])
@given(data=st.data(), dps=domains)
def test_identities(name: str, data: st.DataObject, dps: int | None) -> None:
    dtype = data.draw(st.sampled_from(list(NUMPY.values())))
    x = data.draw(distinct_arrays(data.draw(shapes), dtype))
    got = run(name, x, dps=dps)  # checks the result shares no memory with the operand
    assert not np.shares_memory(got, x)
    assert_exactly_equal(got, x, dps)


@pytest.mark.parametrize("name", ["copy", "stop_gradient"])
def test_identity_results_are_fresh_in_both_domains(name: str) -> None:
    for d in (Float64Domain(), MpDomain(30)):
        x = np.array([1.5, -0.0, np.nan])
        arg = d.argument(x, array_type(x))
        (r,) = lookup(name).evaluate(d, (arg,), {}, (array_type(x),))
        assert r is not arg and not np.shares_memory(r, arg)
        if d.is_mp:
            assert all(isinstance(e, d.ctx.mpf) for e in r)  # type: ignore[attr-defined]
        r[0] = r[1]  # mutate the result: the operand must not see it
        assert float(arg[0]) == 1.5


# --------------------------------------------------------------------------------------------
# dup, drop, zero: evaluation through linear programs, and the checker's rules

DUP_DROP = ("def f(t: lin f64[3]) -> lin f64[3]:\n"
            "    u, v = dup(t)\n"
            "    drop(u)\n"
            "    return v\n")


@pytest.mark.parametrize("dps", [None, 50])
def test_dup_drop_program(dps: int | None) -> None:
    x = np.array([1.5, -0.0, np.inf])
    (v,) = evaluate(parse_program(DUP_DROP), x, dps=dps)
    assert_exactly_equal(to_float64(v, DType.f64), x, dps)


@pytest.mark.parametrize("dps", [None, 50])
def test_dup_gives_the_operand_twice(dps: int | None) -> None:
    program = parse_program("def f(t: lin f32[2, 0]) -> (lin f32[2, 0], lin f32[2, 0]):\n"
                            "    u, v = dup(t)\n    return u, v\n")
    x = np.zeros((2, 0), dtype=np.float32)
    u, v = evaluate(program, x, dps=dps)
    for r in (u, v):
        assert_exactly_equal(to_float64(r, DType.f32), x, dps)
    program = parse_program("def f(t: lin f64[]) -> (lin f64[], lin f64[]):\n"
                            "    u, v = dup(t)\n    return u, v\n")
    u, v = evaluate(program, -2.5, dps=dps)
    assert float(u) == float(v) == -2.5 and u.shape == v.shape == ()


@pytest.mark.parametrize("dps", [None, 50])
@pytest.mark.parametrize(("dtype", "shape"), [("f64", "3"), ("f32", "2, 0"), ("f64", "")])
def test_zero_is_zero_of_the_annotation(dps: int | None, dtype: str, shape: str) -> None:
    program = parse_program(f"def f(t: lin {dtype}[{shape}]) -> lin {dtype}[{shape}]:\n"
                            f"    z: lin {dtype}[{shape}] = zero()\n"
                            "    drop(t)\n    return z\n")
    dims = tuple(int(n) for n in shape.split(",")) if shape else ()
    x = np.ones(dims, dtype=NUMPY[dtype])
    (z,) = evaluate(program, x, dps=dps)
    if dps is not None:
        assert z.dtype == object and all(type(e).__name__ == "mpf" for e in z.reshape(-1))
    else:
        assert z.dtype == NUMPY[dtype]
    assert_exactly_equal(to_float64(z, DType(dtype)), np.zeros(dims, dtype=NUMPY[dtype]), dps)


@pytest.mark.parametrize("dps", [None, 50])
def test_drop_gives_no_result(dps: int | None) -> None:
    got, outs = apply("drop", np.zeros(3), dps=dps)
    assert got == () and outs == ()


LINEARITY_ERRORS = [
    ("def f(t: f64[3]) -> f64[3]:\n    u, v = dup(t)\n    return u\n",
     LinearityError, "dup takes only linear operands"),
    ("def f(x: f64[3]) -> f64[3]:\n    drop(x)\n    return x\n",
     LinearityError, "drop takes only linear operands"),
    ("def f(t: lin f64[3]) -> lin f64[3]:\n    u, v = dup(t)\n    return u\n",
     LinearityError, "never used"),
    ("def f(t: lin f64[3]) -> lin f64[3]:\n    z = zero()\n    drop(t)\n    return z\n",
     LintraTypeError, "needs one annotated linear result"),
    ("def f(t: lin f64[3]) -> lin f64[3]:\n    z: f64[3] = zero()\n    drop(t)\n    return z\n",
     LintraTypeError, "needs one annotated linear result"),
    ("def f(t: lin f64[3]) -> f64[3]:\n    y = stop_gradient(t)\n    return y\n",
     LinearityError, "stop_gradient is not linear"),
    ("def f(t: lin f64[3]) -> lin i32[3]:\n"
     "    y = convert_element_type(t, new_dtype=\"i32\")\n    return y\n",
     LinearityError, "linear values must"),
    ("def f(t: lin f64[3]) -> bool[3]:\n"
     "    y: bool[3] = convert_element_type(t, new_dtype=\"bool\")\n    return y\n",
     LinearityError, "y is annotated bool[3], but convert_element_type gives lin bool[3]"),
    ("def f(t: lin f64[3]) -> f32[3]:\n"
     "    y: f32[3] = convert_element_type(t, new_dtype=\"f32\")\n    return y\n",
     LinearityError, "annotated f32[3]"),
]


@pytest.mark.parametrize(("source", "error", "fragment"), LINEARITY_ERRORS,
                         ids=[str(i) for i in range(len(LINEARITY_ERRORS))])
def test_linearity_errors(source: str, error: type, fragment: str) -> None:
    with pytest.raises(error) as info:
        check(parse(source))
    assert type(info.value) is error
    assert fragment in str(info.value)


@pytest.mark.parametrize("dps", [None, 50])
def test_linear_conversions_between_floats_and_copy(dps: int | None) -> None:
    program = parse_program("def f(t: lin f64[2]) -> (lin f32[2], lin f64[2]):\n"
                            "    a, b = dup(t)\n"
                            "    y = convert_element_type(a, new_dtype=\"f32\")\n"
                            "    c = copy(b)\n"
                            "    return y, c\n")
    y, c = evaluate(program, [0.1, -(2.0**-150)], dps=dps)
    if dps is None:
        assert_exactly_equal(y, np.array([0.10000000149011612, -0.0], dtype=np.float32))
    else:
        assert [mp_fraction(e) for e in y] == [Fraction(0.1), -Fraction(1, 2**150)]
    assert_exactly_equal(to_float64(c, DType.f64), np.array([0.1, -(2.0**-150)]), dps)


# --------------------------------------------------------------------------------------------
# Type rules: violations raise the specific class and name the problem

TYPE_ERRORS: list[tuple[str, tuple, dict, type, str]] = [
    ("iota", (), {"dtype": "bool", "shape": (3,)}, LintraTypeError, "numeric"),
    ("iota", (), {"dtype": "f64", "shape": (2, -3)}, ShapeError, "negative dimension"),
    ("iota", (), {"dtype": "f64", "shape": (2, 3), "dimension": 2}, ShapeError,
     "dimension 2 is out of range for rank 2"),
    ("iota", (), {"dtype": "i32", "shape": (2, 3), "dimension": -3}, ShapeError,
     "out of range for rank 2"),
    ("iota", (), {"dtype": "i32", "shape": ()}, ShapeError, "out of range for rank 0"),
    ("iota", (), {"dtype": "f16", "shape": (3,)}, LintraTypeError,
     "parameter dtype must be a dtype name"),
    ("iota", (), {"shape": (3,)}, LintraTypeError, "needs parameter dtype"),
    ("iota", (), {"dtype": "f64", "shape": 3}, LintraTypeError, "shape must be a tuple of ints"),
    ("convert_element_type", (np.zeros(2),), {}, LintraTypeError, "needs parameter new_dtype"),
    ("convert_element_type", (np.zeros(2),), {"new_dtype": "int8"}, LintraTypeError,
     "one of f64, f32, i64, i32, bool"),
    ("convert_element_type", (np.zeros(2),), {"new_dtype": "f32", "rounding": "up"},
     LintraTypeError, "no parameter 'rounding'"),
    ("copy", (np.zeros(2),), {"new_dtype": "f32"}, LintraTypeError, "no parameter 'new_dtype'"),
]


@pytest.mark.parametrize(("name", "xs", "params", "error", "fragment"), TYPE_ERRORS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TYPE_ERRORS)])
def test_type_rule_errors(name: str, xs: tuple, params: dict, error: type,
                          fragment: str) -> None:
    with pytest.raises(error) as info:
        apply(name, *xs, **params)
    assert type(info.value) is error
    assert fragment in str(info.value)


@pytest.mark.parametrize(("source", "fragment"), [
    ("def f(x: f64[3]) -> f64[3]:\n    y = copy(x, x)\n    return y\n", "takes 1 operand"),
    ("def f(x: f64[3]) -> f64[3]:\n    y = iota(x, dtype=\"f64\", shape=(3,))\n    return y\n",
     "takes 0 operands"),
    ("def f(x: f64[3]) -> f32[3]:\n    y: f32[3] = convert_element_type(x, new_dtype=\"i32\")\n"
     "    return y\n", "annotated f32[3], but convert_element_type gives i32[3]"),
])
def test_programs_with_type_errors(source: str, fragment: str) -> None:
    with pytest.raises(LintraTypeError) as info:
        check(parse(source))
    assert fragment in str(info.value)
