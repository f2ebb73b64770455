"""The reductions family (spec 3.7), in both number domains.

What is checked against what:

* ``reduce_max``, ``reduce_min``, ``argmax``, ``argmin``, ``cummax`` and ``sort`` are exact:
  each is compared, element for element, with an explicit Python loop over indices written
  from the spec's definition (``max``/``min`` of spec 3.2 for nan and signed zeros, the first
  extreme with a nan counting as the extreme, a stable insertion sort with nan after +inf),
  never with the NumPy calls the implementation uses, on Hypothesis-drawn shapes (rank 0 where
  allowed, size-0 dimensions), every accepted dtype, every axis (written positive or negative)
  and values drawn from small pools so that ties, signed zeros, infinities and nan are common.
* Integer ``reduce_sum``, ``cumsum`` and ``cumprod`` are the exact Python-integer sum or product
  wrapped to the dtype (two's complement), in both domains.
* Float ``reduce_sum`` (any order), ``cumsum`` and ``cumprod`` (sequential) in the float64
  domain, for f64 and f32, are within the componentwise bounds of spec 3.7 of the exact value
  computed with fractions; ``cumsum``/``cumprod`` also equal the sequential IEEE operations bit
  for bit. In the mpmath domain ``reduce_sum`` is the exact sum rounded once to the domain's
  precision, and ``cumsum``/``cumprod`` are exact where every partial result fits in 50 digits.
* The special values the table states (nan, ±inf, the sign of zero in the float64 domain),
  empty reductions' identities, and a table of small cases whose expected values are written
  by hand from the spec text.
* Type-rule violations raise ShapeError (LintraTypeError for dtypes) with a message fragment.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference.domains import domain_for
from lintra.reference.errors import LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import ALL, LinearityKind
from lintra.reference.primitives.reductions import PRIMITIVES
from tests.harness import apply, assert_exactly_equal, build, rounded, run

NAMES = ("reduce_sum", "reduce_max", "reduce_min", "argmax", "argmin", "cumsum", "cumprod",
         "cummax", "sort")
NUMERIC = (np.float64, np.float32, np.int64, np.int32)
DTYPES = (*NUMERIC, np.bool_)
UNIT = {np.dtype(np.float64): Fraction(1, 2**53), np.dtype(np.float32): Fraction(1, 2**24)}
INT_RANGE = {np.dtype(np.int64): (-(2**63), 2**63 - 1), np.dtype(np.int32): (-(2**31), 2**31 - 1)}
INF, NAN = math.inf, math.nan

# --------------------------------------------------------------------------------------------
# Strategies

sizes = st.integers(0, 4)
shapes = st.lists(sizes, min_size=0, max_size=3).map(tuple)
ranked_shapes = st.lists(sizes, min_size=1, max_size=3).map(tuple)
domains = st.sampled_from((None, 50))
numeric = st.sampled_from(NUMERIC)
floats = st.sampled_from((np.float64, np.float32))
integers = st.sampled_from((np.int64, np.int32))

FLOAT_POOL = (-1.5, -1.0, -0.0, 0.0, 1.0, 2.0, INF, -INF, NAN)


def pool_values(dtype: type) -> st.SearchStrategy[object]:
    """Few distinct values (ties are common), the specials and the integer extremes."""
    if dtype is np.bool_:
        return st.booleans()
    if np.dtype(dtype).kind == "f":
        return st.sampled_from(FLOAT_POOL)
    low, high = INT_RANGE[np.dtype(dtype)]
    return st.one_of(st.sampled_from((low, low + 1, -1, 0, 1, 2, high)),
                     st.integers(low, high))


@st.composite
def pool_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    n = math.prod(shape)
    values = draw(st.lists(pool_values(dtype), min_size=n, max_size=n))
    return np.asarray(values, dtype=dtype).reshape(shape)


@st.composite
def axes_of(draw: st.DrawFn, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Distinct axes in any order, each written as ``a`` or ``a - rank``; returns (written,
    normalized)."""
    order = draw(st.permutations(range(rank)))
    chosen = tuple(order[:draw(st.integers(0, rank))])
    written = tuple(draw(st.sampled_from((a, a - rank))) for a in chosen)
    return written, chosen


@st.composite
def axis_of(draw: st.DrawFn, rank: int) -> tuple[int, int]:
    a = draw(st.integers(0, rank - 1))
    return draw(st.sampled_from((a, a - rank))), a


def scaled(mantissa_bits: int, exponents: int) -> st.SearchStrategy[float]:
    """m · 2^e with |m| < 2^mantissa_bits and |e| <= exponents: exact sums and products of a
    few of these need far fewer than the 166 bits of 50 digits."""
    return st.builds(math.ldexp, st.integers(-(2**mantissa_bits) + 1, 2**mantissa_bits - 1),
                     st.integers(-exponents, exponents))


def wide_floats(dtype: type) -> st.SearchStrategy[float]:
    """Finite floats of the dtype, full mantissas, magnitudes up to 2^40 (no overflow in a sum
    of 64 of them), subnormals included."""
    width = 64 if dtype is np.float64 else 32
    return st.floats(-(2.0**40), 2.0**40, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def float_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: type,
                 values: st.SearchStrategy[float]) -> np.ndarray:
    n = math.prod(shape)
    return np.asarray(draw(st.lists(values, min_size=n, max_size=n)), dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------------------------
# Independent formulations from the spec's definitions


def indices(shape: Sequence[int]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n) for n in shape)))


def groups(x: np.ndarray, axes: Sequence[int]) -> tuple[tuple[int, ...],
                                                       dict[tuple[int, ...], list[object]]]:
    """The result shape of a reduction over ``axes`` and, for each result index, the list of
    the elements reduced there (each element of x goes to the index of its kept axes)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    out_shape = tuple(x.shape[i] for i in kept)
    out: dict[tuple[int, ...], list[object]] = {o: [] for o in indices(out_shape)}
    for index in indices(x.shape):
        out[tuple(index[i] for i in kept)].append(x[index].item())
    return out_shape, out


def lines(shape: tuple[int, ...], axis: int, reverse: bool = False
          ) -> Iterator[list[tuple[int, ...]]]:
    """The indices of each line along ``axis``, in scan order."""
    rest = shape[:axis] + shape[axis + 1:]
    for r in indices(rest):
        line = [(*r[:axis], k, *r[axis:]) for k in range(shape[axis])]
        yield line[::-1] if reverse else line


def is_nan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


def is_neg_zero(v: object) -> bool:
    return isinstance(v, float) and v == 0 and math.copysign(1.0, v) < 0


def spec_max(a: object, b: object) -> object:
    """max of spec 3.2: nan if either is nan; max(−0, +0) = +0; else the larger."""
    if is_nan(a) or is_nan(b):
        return NAN
    if a == b:
        return b if is_neg_zero(a) else a
    return a if a > b else b  # type: ignore[operator]


def spec_min(a: object, b: object) -> object:
    """min of spec 3.2: nan if either is nan; min(−0, +0) = −0; else the smaller."""
    if is_nan(a) or is_nan(b):
        return NAN
    if a == b:
        return a if is_neg_zero(a) else b
    return a if a < b else b  # type: ignore[operator]


def identity_of(dtype: np.dtype, largest: bool) -> object:
    """The identity of max (−inf, the integer dtype's minimum) or of min."""
    if dtype.kind == "f":
        return -INF if largest else INF
    low, high = INT_RANGE[dtype]
    return low if largest else high


def first_extreme(values: list[object], largest: bool) -> int:
    """Spec: the index of the first maximum (minimum); a nan is the extreme, the first nan
    wins; −0 and +0 tie (they compare equal)."""
    for k, v in enumerate(values):
        if is_nan(v):
            return k
    best = max(values) if largest else min(values)  # type: ignore[type-var]
    return next(k for k, v in enumerate(values) if v == best)


def wrap(v: int, dtype: np.dtype) -> int:
    """Two's complement wrap-around of an exact integer to the dtype."""
    bits = 8 * dtype.itemsize
    v %= 2**bits
    return v - 2**bits if v >= 2 ** (bits - 1) else v


def ieee(dtype: np.dtype, op: Callable[[object, object], object]
         ) -> Callable[[object, object], object]:
    """One correctly rounded operation of the dtype (Python floats are binary64; numpy
    float32 scalars round to binary32); integers exact then wrapped."""
    if dtype.kind in "iu":
        return lambda a, b: wrap(op(a, b), dtype)  # type: ignore[arg-type]
    if dtype == np.float32:
        def f32(a: object, b: object) -> object:
            with np.errstate(all="ignore"):
                return float(op(np.float32(a), np.float32(b)))
        return f32
    return lambda a, b: float(op(a, b))  # type: ignore[arg-type]


def add(a: object, b: object) -> object:
    return a + b  # type: ignore[operator]


def mul(a: object, b: object) -> object:
    return a * b  # type: ignore[operator]


def scan_loop(x: np.ndarray, axis: int, reverse: bool,
              step: Callable[[object, object], object]) -> np.ndarray:
    """Spec 3.7: element 1 is x_1, element k is step(element k − 1, x_k), in scan order."""
    out = np.empty(x.shape, dtype=x.dtype)
    for line in lines(x.shape, axis, reverse):
        acc: object = None
        for k, index in enumerate(line):
            acc = x[index].item() if k == 0 else step(acc, x[index].item())
            out[index] = acc
    return out


def sort_less(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """Lexicographic order of spec 3.7 over the key values: numbers ascending (−0 = +0),
    nan after +inf, nans equal to each other."""
    for u, v in zip(a, b):
        if is_nan(u) or is_nan(v):
            if is_nan(u) and is_nan(v):
                continue
            return is_nan(v)
        if u != v:
            return u < v  # type: ignore[operator]
    return False


def stable_order(keys: list[tuple[object, ...]]) -> list[int]:
    """Insertion sort: each position goes after every earlier one that is not greater, so
    equal keys keep their input order."""
    order: list[int] = []
    for k in range(len(keys)):
        place = len(order)
        while place > 0 and sort_less(keys[k], keys[order[place - 1]]):
            place -= 1
        order.insert(place, k)
    return order


def fraction(v: object) -> Fraction:
    """The exact value of a finite Python float, int or mpmath number."""
    if hasattr(v, "_mpf_"):
        sign, man, exp, _ = v._mpf_  # type: ignore[attr-defined]
        return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)
    return Fraction(v)  # type: ignore[arg-type]


def round_to_bits(q: Fraction, p: int) -> Fraction:
    """q rounded to p significant bits, to nearest, ties to even."""
    if q == 0:
        return q
    e = abs(q.numerator).bit_length() - q.denominator.bit_length()
    if abs(q) < Fraction(2) ** e:
        e -= 1
    scale = Fraction(2) ** (e - p + 1)
    return round(q / scale) * scale  # round() of a Fraction: half to even


def gamma(m: int, u: Fraction) -> Fraction:
    """γ_m = m u / (1 − m u) (spec 3.0.4)."""
    return m * u / (1 - m * u)


def mp_results(name: str, *xs: np.ndarray, **params: object) -> tuple[np.ndarray, ...]:
    """The raw results of the mpmath domain at 50 digits (not rounded to a dtype)."""
    results, _ = apply(name, *xs, dps=50, **params)
    return tuple(results)


MP_BITS = domain_for(50).ctx.prec  # type: ignore[attr-defined]


def test_mp_precision_holds_50_digits() -> None:
    assert MP_BITS >= math.ceil(50 * math.log2(10))


# --------------------------------------------------------------------------------------------
# The records


def test_every_reduction_primitive_has_a_record() -> None:
    assert tuple(p.name for p in PRIMITIVES) == NAMES
    for prim in PRIMITIVES:
        assert lookup(prim.name) is prim
        assert prim.family == "reductions"
        assert prim.jvp is not None
        if prim.name in ("reduce_sum", "cumsum"):
            assert prim.linearity.kind is LinearityKind.TOGETHER
            assert prim.linearity.positions == ALL
            assert prim.transpose is not None
        else:
            assert prim.linearity.kind is LinearityKind.NEVER
            assert prim.transpose is None


def test_arities_and_defaults() -> None:
    assert lookup("argmax").param_values({"axis": 0})["index_dtype"] == "i64"
    assert lookup("cumsum").param_values({"axis": 0})["reverse"] is False
    sort = lookup("sort")
    assert sort.param_values({}) == {"dimension": -1, "num_keys": 1}
    assert sort.arity.accepts(1) and sort.arity.accepts(4) and not sort.arity.accepts(0)
    for name in NAMES[:-1]:
        assert lookup(name).arity.accepts(1) and not lookup(name).arity.accepts(2)


# --------------------------------------------------------------------------------------------
# reduce_max and reduce_min: exact, nan and signed zeros as max/min of 3.2


@given(shapes, numeric, st.data(), domains)
def test_reduce_max_and_min(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                            dps: int | None) -> None:
    x = data.draw(pool_arrays(shape, dtype))
    written, axes = data.draw(axes_of(len(shape)))
    out_shape, by_index = groups(x, axes)
    for name, largest, combine in (("reduce_max", True, spec_max), ("reduce_min", False,
                                                                    spec_min)):
        got = run(name, x, dps=dps, axes=written)
        ident = identity_of(x.dtype, largest)
        want = build(out_shape, x.dtype,
                     lambda o: functools.reduce(combine, by_index[o], ident))  # noqa: B023
        assert_exactly_equal(got, want, dps)


# --------------------------------------------------------------------------------------------
# argmax and argmin: the first extreme


@given(ranked_shapes, numeric, st.data(), domains, st.sampled_from(("i64", "i32")))
def test_argmax_and_argmin(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                           dps: int | None, index_dtype: str) -> None:
    written, axis = data.draw(axis_of(len(shape)))
    shape = tuple(max(n, 1) if i == axis else n for i, n in enumerate(shape))
    x = data.draw(pool_arrays(shape, dtype))
    out_shape, by_index = groups(x, (axis,))
    idt = np.int64 if index_dtype == "i64" else np.int32
    for name, largest in (("argmax", True), ("argmin", False)):
        got = run(name, x, dps=dps, axis=written, index_dtype=index_dtype)
        want = build(out_shape, idt, lambda o: first_extreme(by_index[o], largest))  # noqa: B023
        assert_exactly_equal(got, want, dps)


# --------------------------------------------------------------------------------------------
# cummax: exact; cumsum and cumprod: the sequential operations of the dtype


@given(ranked_shapes, numeric, st.data(), domains, st.booleans())
def test_cummax(shape: tuple[int, ...], dtype: type, data: st.DataObject, dps: int | None,
                reverse: bool) -> None:
    x = data.draw(pool_arrays(shape, dtype))
    written, axis = data.draw(axis_of(len(shape)))
    got = run("cummax", x, dps=dps, axis=written, reverse=reverse)
    assert_exactly_equal(got, scan_loop(x, axis, reverse, spec_max), dps)


@given(ranked_shapes, numeric, st.data(), st.booleans())
def test_cumsum_and_cumprod_float64_domain_are_sequential(
        shape: tuple[int, ...], dtype: type, data: st.DataObject, reverse: bool) -> None:
    """Element k = add (mul) of element k − 1 and x_k, each one rounding of the dtype, specials
    by the rules of add and mul (inf − inf and 0·inf are nan), integers wrapped."""
    if np.dtype(dtype).kind == "f":
        values = st.one_of(st.sampled_from(FLOAT_POOL), wide_floats(dtype),
                           st.sampled_from((1e38, -3e38, 1e-40, 2.0**-149)))
        x = data.draw(float_arrays(shape, dtype, values))
    else:
        x = data.draw(pool_arrays(shape, dtype))
    written, axis = data.draw(axis_of(len(shape)))
    for name, op in (("cumsum", add), ("cumprod", mul)):
        got = run(name, x, dps=None, axis=written, reverse=reverse)
        assert_exactly_equal(got, scan_loop(x, axis, reverse, ieee(x.dtype, op)), None)


@given(ranked_shapes, integers, st.data(), st.booleans())
def test_integer_scans_wrap_in_the_mp_domain(shape: tuple[int, ...], dtype: type,
                                             data: st.DataObject, reverse: bool) -> None:
    """Integers are exact in both domains: the exact prefix sum (product) wrapped."""
    x = data.draw(pool_arrays(shape, dtype))
    written, axis = data.draw(axis_of(len(shape)))
    for name, op in (("cumsum", add), ("cumprod", mul)):
        got = run(name, x, dps=50, axis=written, reverse=reverse)
        want = np.empty(shape, dtype=dtype)
        for line in lines(shape, axis, reverse):
            for k, index in enumerate(line):
                exact = functools.reduce(op, (int(x[i]) for i in line[:k + 1]))
                want[index] = wrap(exact, x.dtype)  # type: ignore[arg-type]
        assert_exactly_equal(got, want, 50)


@given(ranked_shapes, floats, st.data(), st.booleans())
def test_float_scans_mp_domain_are_exact(shape: tuple[int, ...], dtype: type,
                                         data: st.DataObject, reverse: bool) -> None:
    """Each step is rounded to 50 digits; with at most 4 factors of 21-bit mantissas and
    exponents within ±30 every partial sum and product is exact there."""
    x = data.draw(float_arrays(shape, dtype, scaled(20, 30)))
    written, axis = data.draw(axis_of(len(shape)))
    for name, op in (("cumsum", add), ("cumprod", mul)):
        run(name, x, dps=50, axis=written, reverse=reverse)  # representation, no mutation
        (got,) = mp_results(name, x, axis=written, reverse=reverse)
        for line in lines(shape, axis, reverse):
            for k, index in enumerate(line):
                exact = functools.reduce(op, (Fraction(x[i].item()) for i in line[:k + 1]))
                assert fraction(got[index]) == exact, (name, index)


def scan_bound_check(x: np.ndarray, got: np.ndarray, axis: int, reverse: bool,
                     product: bool) -> None:
    u = UNIT[x.dtype]
    for line in lines(x.shape, axis, reverse):
        for k, index in enumerate(line, start=1):
            terms = [Fraction(x[i].item()) for i in line[:k]]
            g = Fraction(got[index].item())
            if product:
                exact = functools.reduce(mul, terms)
                assert abs(g - exact) <= gamma(k - 1, u) * abs(exact), (index, k)
            else:
                bound = gamma(k - 1, u) * sum(abs(t) for t in terms)
                assert abs(g - sum(terms)) <= bound, (index, k)


@given(ranked_shapes, floats, st.data(), st.booleans())
def test_cumsum_within_the_stated_bound(shape: tuple[int, ...], dtype: type,
                                        data: st.DataObject, reverse: bool) -> None:
    """Spec 3.7: element k (from 1, in scan order) is within γ_(k−1) Σ_(j≤k)|x_j|.

    Derivation: element k is ((x_1 + x_2)(1 + δ_2) + ...)(1 + δ_k), |δ_i| ≤ u; term x_j is
    multiplied by at most k − 1 factors (1 + δ), whose product differs from 1 by at most
    γ_(k−1) (Higham, Lemma 3.1); summing over j gives the bound. Values of mixed signs and
    magnitudes (cancellation), full mantissas, no overflow.
    """
    x = data.draw(float_arrays(shape, dtype, wide_floats(dtype)))
    written, axis = data.draw(axis_of(len(shape)))
    got = run("cumsum", x, dps=None, axis=written, reverse=reverse)
    scan_bound_check(x, got, axis, reverse, product=False)


@given(ranked_shapes, floats, st.data(), st.booleans())
def test_cumprod_within_the_stated_bound(shape: tuple[int, ...], dtype: type,
                                         data: st.DataObject, reverse: bool) -> None:
    """Spec 3.7: element k is within γ_(k−1)·|exact|.

    Derivation: element k is x_1 ⋯ x_k · Π_(i=2..k) (1 + δ_i), |δ_i| ≤ u, while every partial
    product is normal (no underflow or overflow); |Π(1 + δ_i) − 1| ≤ γ_(k−1). Factors are 0 or
    of magnitude in [2^−20, 2^20] with full mantissas, so 4 factors stay normal in f32 too.
    """
    width = 64 if dtype is np.float64 else 32
    magnitudes = st.floats(2.0**-20, 2.0**20, width=width)
    values = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda v: -v))
    x = data.draw(float_arrays(shape, dtype, values))
    written, axis = data.draw(axis_of(len(shape)))
    got = run("cumprod", x, dps=None, axis=written, reverse=reverse)
    scan_bound_check(x, got, axis, reverse, product=True)


# --------------------------------------------------------------------------------------------
# reduce_sum


@given(shapes, integers, st.data(), domains)
def test_integer_reduce_sum_wraps(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                                  dps: int | None) -> None:
    x = data.draw(pool_arrays(shape, dtype))
    written, axes = data.draw(axes_of(len(shape)))
    out_shape, by_index = groups(x, axes)
    got = run("reduce_sum", x, dps=dps, axes=written)
    want = build(out_shape, dtype, lambda o: wrap(sum(by_index[o]), x.dtype))  # type: ignore
    assert_exactly_equal(got, want, dps)


@given(shapes, floats, st.data())
def test_reduce_sum_float64_domain_within_the_stated_bound(
        shape: tuple[int, ...], dtype: type, data: st.DataObject) -> None:
    """Spec 3.0.4/3.7: |computed − exact| ≤ γ_(n−1) Σ|x| over the n summed elements, for any
    order: any summation tree puts each term through at most n − 1 roundings (1 + δ), whose
    product is within γ_(n−1) of 1. n = 0 and n = 1 are exact (γ_0 = 0)."""
    x = data.draw(float_arrays(shape, dtype, wide_floats(dtype)))
    written, axes = data.draw(axes_of(len(shape)))
    out_shape, by_index = groups(x, axes)
    got = run("reduce_sum", x, dps=None, axes=written)
    assert got.shape == out_shape
    u = UNIT[x.dtype]
    for o, terms in by_index.items():
        exact = [Fraction(t) for t in terms]  # type: ignore[arg-type]
        bound = gamma(max(len(terms) - 1, 0), u) * sum(abs(t) for t in exact)
        assert abs(Fraction(got[o].item()) - sum(exact)) <= bound, (o, terms)


@given(shapes, floats, st.data())
def test_reduce_sum_mp_domain_is_the_exact_sum_rounded_once(
        shape: tuple[int, ...], dtype: type, data: st.DataObject) -> None:
    """Spec 3.7: the exact sum (fractions) rounded once to the precision of 50 digits."""
    x = data.draw(float_arrays(shape, dtype, wide_floats(dtype)))
    written, axes = data.draw(axes_of(len(shape)))
    out_shape, by_index = groups(x, axes)
    run("reduce_sum", x, dps=50, axes=written)  # representation, no mutation
    (got,) = mp_results("reduce_sum", x, axes=written)
    assert got.shape == out_shape
    for o, terms in by_index.items():
        exact = sum((Fraction(t) for t in terms), Fraction(0))  # type: ignore[arg-type]
        assert fraction(got[o]) == round_to_bits(exact, MP_BITS), (o, terms)


@given(shapes, floats, st.data(), domains)
def test_reduce_sum_special_values(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                                   dps: int | None) -> None:
    """The table: nan if any element is nan or +inf and −inf both occur, else ±inf if one
    occurs; a sum of −0s only is −0 (float64 domain), an empty sum +0. Finite values here are
    small integers, so the finite part is exact."""
    x = data.draw(pool_arrays(shape, dtype))
    written, axes = data.draw(axes_of(len(shape)))
    out_shape, by_index = groups(x, axes)

    def expected(terms: list[object]) -> float:
        if any(is_nan(t) for t in terms) or (INF in terms and -INF in terms):
            return NAN
        if INF in terms or -INF in terms:
            return INF if INF in terms else -INF
        if terms and all(is_neg_zero(t) for t in terms):
            return -0.0
        return float(sum(Fraction(t) for t in terms) + 0)  # type: ignore[arg-type]

    want = build(out_shape, dtype, lambda o: expected(by_index[o]))
    assert_exactly_equal(run("reduce_sum", x, dps=dps, axes=written), want, dps)


# --------------------------------------------------------------------------------------------
# sort


@st.composite
def sort_case(draw: st.DrawFn) -> tuple[list[np.ndarray], int, int, int]:
    """1 to 3 operands of one shape (rank >= 1), each of its own dtype (the first a float
    half the time), values from small pools (many equal keys, nan, ±inf, ±0), num_keys, the
    dimension as written and normalized."""
    shape = draw(ranked_shapes)
    first = draw(st.one_of(floats, st.sampled_from(DTYPES)))  # float keys half the time
    dtypes = [first, *draw(st.lists(st.sampled_from(DTYPES), max_size=2))]
    xs = [draw(pool_arrays(shape, d)) for d in dtypes]
    keys = draw(st.integers(1, len(xs)))
    written, axis = draw(axis_of(len(shape)))
    return xs, keys, written, axis


@given(sort_case(), domains)
def test_sort(case: tuple[list[np.ndarray], int, int, int], dps: int | None) -> None:
    xs, keys, written, axis = case
    before = [x.copy() for x in xs]
    results, types = apply("sort", *xs, dps=dps, dimension=written, num_keys=keys)
    got = rounded(results, types)
    assert len(got) == len(xs)
    wants = [np.empty(x.shape, dtype=x.dtype) for x in xs]
    for line in lines(xs[0].shape, axis):
        order = stable_order([tuple(x[i].item() for x in xs[:keys]) for i in line])
        for x, want in zip(xs, wants):
            for target, source in zip(line, order):
                want[target] = x[line[source]]
    for g, want, x, b in zip(got, wants, xs, before):
        assert_exactly_equal(g, want, dps)
        assert_exactly_equal(x, b, None)


# --------------------------------------------------------------------------------------------
# Explicit cases from the spec text, both domains (the sign of zero in float64 only)

f32, i32, i64 = np.float32, np.int32, np.int64
T = 2**-1074  # the smallest subnormal

CASES: list[tuple[str, object, dict[str, object], object, type]] = [
    # name, x, params, expected, dtype of x (and of the result unless stated by the case)
    ("reduce_sum", [1.0, 2.0, 3.5], {"axes": (0,)}, 6.5, np.float64),
    ("reduce_sum", [[1.0, 2.0], [3.0, 4.0]], {"axes": (0, 1)}, 10.0, np.float64),
    ("reduce_sum", [[1.0, 2.0], [3.0, 4.0]], {"axes": (1,)}, [3.0, 7.0], np.float64),
    ("reduce_sum", [[1.0, 2.0], [3.0, 4.0]], {"axes": (-2,)}, [4.0, 6.0], np.float64),
    ("reduce_sum", [[1.0, -0.0]], {"axes": ()}, [[1.0, -0.0]], np.float64),  # a copy
    ("reduce_sum", -0.0, {"axes": ()}, -0.0, np.float64),  # rank 0
    ("reduce_sum", [-0.0, -0.0], {"axes": (0,)}, -0.0, np.float64),  # −0 + −0 = −0
    ("reduce_sum", [-0.0], {"axes": (0,)}, -0.0, np.float32),
    ("reduce_sum", [-0.0, 0.0], {"axes": (0,)}, 0.0, np.float64),
    ("reduce_sum", [1.0, -1.0], {"axes": (0,)}, 0.0, np.float64),
    ("reduce_sum", [], {"axes": (0,)}, 0.0, np.float64),  # an empty sum is +0
    ("reduce_sum", np.zeros((2, 0)), {"axes": (1,)}, [0.0, 0.0], np.float64),
    ("reduce_sum", np.zeros((0, 3)), {"axes": (0,)}, [0.0, 0.0, 0.0], np.float32),
    ("reduce_sum", np.zeros((0, 3)), {"axes": (1,)}, np.zeros(0), np.float64),
    ("reduce_sum", np.zeros((3, 0, 2)), {"axes": (0, 2)}, np.zeros(0), np.float64),
    ("reduce_sum", [1.0, NAN], {"axes": (0,)}, NAN, np.float64),
    ("reduce_sum", [INF, 1.0], {"axes": (0,)}, INF, np.float64),
    ("reduce_sum", [-1.0, -INF], {"axes": (0,)}, -INF, np.float32),
    ("reduce_sum", [INF, -INF], {"axes": (0,)}, NAN, np.float64),
    ("reduce_sum", [2**31 - 1, 1], {"axes": (0,)}, -(2**31), np.int32),
    ("reduce_sum", [2**63 - 1, 2**63 - 1], {"axes": (0,)}, -2, np.int64),
    ("reduce_sum", np.zeros((0,), np.int64), {"axes": (0,)}, 0, np.int64),
    ("reduce_max", [1.0, 3.0, 2.0], {"axes": (0,)}, 3.0, np.float64),
    ("reduce_max", [-0.0, 0.0], {"axes": (0,)}, 0.0, np.float64),
    ("reduce_max", [0.0, -0.0], {"axes": (0,)}, 0.0, np.float64),
    ("reduce_max", [-0.0, -0.0], {"axes": (0,)}, -0.0, np.float64),
    ("reduce_max", [1.0, NAN, 5.0], {"axes": (0,)}, NAN, np.float64),
    ("reduce_max", [INF, NAN], {"axes": (0,)}, NAN, np.float32),
    ("reduce_max", [-INF, -INF], {"axes": (0,)}, -INF, np.float64),
    ("reduce_max", [], {"axes": (0,)}, -INF, np.float64),
    ("reduce_max", np.zeros((2, 0)), {"axes": (1,)}, [-INF, -INF], np.float32),
    ("reduce_max", np.zeros((0,), np.int64), {"axes": (0,)}, -(2**63), np.int64),
    ("reduce_max", np.zeros((0,), np.int32), {"axes": (0,)}, -(2**31), np.int32),
    ("reduce_max", [[1, 5], [7, 2]], {"axes": (1,)}, [5, 7], np.int32),
    ("reduce_max", [[1, 5], [7, 2]], {"axes": (-1, 0)}, 7, np.int64),
    ("reduce_max", 2.5, {"axes": ()}, 2.5, np.float64),
    ("reduce_min", [1.0, -3.0, 2.0], {"axes": (0,)}, -3.0, np.float64),
    ("reduce_min", [-0.0, 0.0], {"axes": (0,)}, -0.0, np.float64),
    ("reduce_min", [0.0, -0.0], {"axes": (0,)}, -0.0, np.float64),
    ("reduce_min", [0.0, 0.0], {"axes": (0,)}, 0.0, np.float32),
    ("reduce_min", [-INF, NAN], {"axes": (0,)}, NAN, np.float64),
    ("reduce_min", [], {"axes": (0,)}, INF, np.float32),
    ("reduce_min", np.zeros((0,), np.int64), {"axes": (0,)}, 2**63 - 1, np.int64),
    ("reduce_min", np.zeros((0,), np.int32), {"axes": (0,)}, 2**31 - 1, np.int32),
    ("reduce_min", [[1, 5], [7, 2]], {"axes": (0,)}, [1, 2], np.int64),
    ("argmax", [1.0, 3.0, 3.0], {"axis": 0}, 1, np.float64),
    ("argmax", [3.0, NAN, 5.0, NAN], {"axis": 0}, 1, np.float64),
    ("argmax", [NAN], {"axis": 0}, 0, np.float32),
    ("argmax", [-0.0, 0.0], {"axis": 0}, 0, np.float64),  # −0 and +0 tie: the first
    ("argmax", [0.0, -0.0], {"axis": 0}, 0, np.float64),
    ("argmax", [-INF, -INF], {"axis": 0}, 0, np.float64),
    ("argmax", [2, 7, 7, -1], {"axis": 0}, 1, np.int32),
    ("argmax", [[1.0, 5.0], [7.0, 2.0]], {"axis": 0}, [1, 0], np.float64),
    ("argmax", [[1.0, 5.0], [7.0, 2.0]], {"axis": -1}, [1, 0], np.float64),
    ("argmax", np.zeros((0, 2)), {"axis": 1}, np.zeros(0, np.int64), np.float64),
    ("argmin", [3.0, 1.0, 1.0], {"axis": 0}, 1, np.float64),
    ("argmin", [3.0, NAN, -5.0], {"axis": 0}, 1, np.float64),
    ("argmin", [0.0, -0.0], {"axis": 0}, 0, np.float64),
    ("argmin", [INF, INF], {"axis": 0}, 0, np.float32),
    ("argmin", [-(2**63), 5, -(2**63)], {"axis": 0}, 0, np.int64),
    ("argmin", [[1.0, 5.0], [7.0, 2.0]], {"axis": 1}, [0, 1], np.float64),
    ("cumsum", [1.0, 2.0, 3.0], {"axis": 0}, [1.0, 3.0, 6.0], np.float64),
    ("cumsum", [1.0, 2.0, 3.0], {"axis": 0, "reverse": True}, [6.0, 5.0, 3.0], np.float64),
    ("cumsum", [INF, -INF, 1.0], {"axis": 0}, [INF, NAN, NAN], np.float64),
    ("cumsum", [-0.0, -0.0], {"axis": 0}, [-0.0, -0.0], np.float64),
    ("cumsum", [-0.0, 0.0], {"axis": 0}, [-0.0, 0.0], np.float32),
    ("cumsum", [2**31 - 1, 1, 1], {"axis": 0}, [2**31 - 1, -(2**31), -(2**31) + 1], np.int32),
    ("cumsum", [[1.0, 2.0], [3.0, 4.0]], {"axis": 0}, [[1.0, 2.0], [4.0, 6.0]], np.float64),
    ("cumsum", [[1, 2], [3, 4]], {"axis": -1, "reverse": True}, [[3, 2], [7, 4]], np.int64),
    ("cumsum", np.zeros((0, 2)), {"axis": 0}, np.zeros((0, 2)), np.float64),
    ("cumprod", [2.0, 3.0, 4.0], {"axis": 0}, [2.0, 6.0, 24.0], np.float64),
    ("cumprod", [2.0, 3.0, 4.0], {"axis": 0, "reverse": True}, [24.0, 12.0, 4.0], np.float64),
    ("cumprod", [0.0, INF, 2.0], {"axis": 0}, [0.0, NAN, NAN], np.float64),
    ("cumprod", [-1.0, 0.0], {"axis": 0}, [-1.0, -0.0], np.float64),
    ("cumprod", [65536, 65536, 2], {"axis": 0}, [65536, 0, 0], np.int32),
    ("cumprod", [2**62, 2, -1], {"axis": 0}, [2**62, -(2**63), -(2**63)], np.int64),
    ("cumprod", np.zeros((2, 0)), {"axis": 1}, np.zeros((2, 0)), np.float32),
    ("cummax", [1.0, 3.0, 2.0], {"axis": 0}, [1.0, 3.0, 3.0], np.float64),
    ("cummax", [1.0, 3.0, 2.0], {"axis": 0, "reverse": True}, [3.0, 3.0, 2.0], np.float64),
    ("cummax", [1.0, NAN, 5.0], {"axis": 0}, [1.0, NAN, NAN], np.float64),
    ("cummax", [-0.0, 0.0, -0.0], {"axis": 0}, [-0.0, 0.0, 0.0], np.float64),
    ("cummax", [0.0, -0.0], {"axis": 0}, [0.0, 0.0], np.float32),
    ("cummax", [-0.0, -0.0], {"axis": 0}, [-0.0, -0.0], np.float64),
    ("cummax", [-(2**63), 5, 1], {"axis": 0}, [-(2**63), 5, 5], np.int64),
    ("cummax", [[1, 9], [4, 2]], {"axis": 0}, [[1, 9], [4, 9]], np.int32),
]


@pytest.mark.parametrize("dps", [None, 50])
@pytest.mark.parametrize(("name", "x", "params", "want", "dtype"), CASES)
def test_table(name: str, x: object, params: dict[str, object], want: object, dtype: type,
               dps: int | None) -> None:
    operand = np.asarray(x, dtype=dtype)
    got = run(name, operand, dps=dps, **params)
    result_dtype = np.int64 if name in ("argmax", "argmin") else dtype
    assert_exactly_equal(got, np.asarray(want, dtype=result_dtype), dps)


def test_argmax_index_dtype() -> None:
    got = run("argmax", np.array([[1.0, 2.0]]), dps=None, axis=1, index_dtype="i32")
    assert_exactly_equal(got, np.array([1], np.int32))


@pytest.mark.parametrize("dps", [None, 50])
def test_sort_table(dps: int | None) -> None:
    def check(xs: list[np.ndarray], wants: list[list[object]], **params: object) -> None:
        results, types = apply("sort", *xs, dps=dps, **params)
        for g, w, x in zip(rounded(results, types), wants, xs):
            assert_exactly_equal(g, np.asarray(w, dtype=x.dtype), dps)

    check([np.array([3.0, NAN, -1.0, 3.0]), np.array([0, 1, 2, 3])],
          [[-1.0, 3.0, 3.0, NAN], [2, 0, 3, 1]])  # the spec's example
    check([np.array([INF, NAN, -INF, 0.5], f32)], [[-INF, 0.5, INF, NAN]])  # nan after +inf
    check([np.array([0.0, -0.0, 0.0]), np.array([0, 1, 2], i32)],
          [[0.0, -0.0, 0.0], [0, 1, 2]])  # −0 = +0: input order kept
    check([np.array([NAN, 1.0, NAN]), np.array([0, 1, 2])], [[1.0, NAN, NAN], [1, 0, 2]])
    k1, k2, v = np.array([1, 0, 1, 0]), np.array([2.0, 5.0, 1.0, 5.0]), np.array([0, 1, 2, 3])
    check([k1, k2, v], [[0, 0, 1, 1], [5.0, 5.0, 1.0, 2.0], [1, 3, 2, 0]], num_keys=2)
    check([k1, k2, v], [[0, 0, 1, 1], [5.0, 5.0, 2.0, 1.0], [1, 3, 0, 2]], num_keys=1)
    check([np.array([True, False, True]), np.array([0.5, 1.5, 2.5])],
          [[False, True, True], [1.5, 0.5, 2.5]])  # bool: false before true
    m = np.array([[3, 1], [1, 2]], i64)
    check([m], [[[1, 1], [3, 2]]], dimension=0)
    check([m], [[[1, 3], [1, 2]]], dimension=-1)
    check([m], [[[1, 3], [1, 2]]])  # default dimension = −1
    check([np.zeros((2, 0))], [np.zeros((2, 0))])


def test_cumprod_underflow_and_mp_exactness() -> None:
    """The spec's exception to the cumprod bound: 3·2^−1074 · 0.5 = 1.5·2^−1074 rounds (ties
    to even) to 2^−1073 in float64; the mpmath domain keeps 1.5·2^−1074."""
    x = np.array([3 * T, 0.5])
    assert_exactly_equal(run("cumprod", x, dps=None, axis=0), np.array([3 * T, 2 * T]))
    (got,) = mp_results("cumprod", x, axis=0)
    assert [fraction(v) for v in got] == [3 * Fraction(T), Fraction(3, 2) * Fraction(T)]


def test_mp_sums_are_exact() -> None:
    """Spec 3.7: in the mpmath domain the sum is exact (to 50 digits), whatever the order."""
    x = np.array([1e16, 1.0, 1.0])
    (s,) = mp_results("reduce_sum", x, axes=(0,))
    assert fraction(s[()]) == 10**16 + 2
    (c,) = mp_results("cumsum", x, axis=0)
    assert [fraction(v) for v in c] == [10**16, 10**16 + 1, 10**16 + 2]
    tenth = np.array([0.1] * 10)
    (s,) = mp_results("reduce_sum", tenth, axes=(0,))
    assert fraction(s[()]) == 10 * Fraction(0.1)


# --------------------------------------------------------------------------------------------
# Type rules

F23 = np.zeros((2, 3))

SHAPE_ERRORS = [
    ("reduce_sum", (F23,), {"axes": (2,)}, "axes 2 is out of range for rank 2"),
    ("reduce_sum", (F23,), {"axes": (-3,)}, "axes -3 is out of range"),
    ("reduce_sum", (F23,), {"axes": (1, 1)}, "repeat an axis"),
    ("reduce_max", (F23,), {"axes": (0, -2)}, "(0, -2) repeat an axis"),
    ("reduce_min", (np.float64(1.0),), {"axes": (0,)}, "rank 0"),
    ("argmax", (F23,), {"axis": 2}, "axis 2 is out of range"),
    ("argmin", (F23,), {"axis": -3}, "axis -3 is out of range"),
    ("argmax", (np.float64(1.0),), {"axis": 0}, "rank 0"),
    ("argmax", (np.zeros((2, 0)),), {"axis": 1}, "no element along axis 1"),
    ("argmin", (np.zeros((0, 2)),), {"axis": -2}, "no element along axis 0"),
    ("cumsum", (np.zeros(3),), {"axis": 1}, "axis 1 is out of range for rank 1"),
    ("cumprod", (np.float64(1.0),), {"axis": 0}, "rank 0"),
    ("cummax", (np.zeros(3),), {"axis": -2}, "axis -2"),
    ("sort", (np.float64(1.0),), {}, "rank >= 1"),
    ("sort", (np.zeros(3), np.zeros(2)), {}, "operand 2 (f64[2]) must have the shape"),
    ("sort", (np.zeros(3),), {"num_keys": 0}, "num_keys must be in [1, 1], got 0"),
    ("sort", (np.zeros(3), np.zeros(3)), {"num_keys": 3}, "[1, 2], got 3"),
    ("sort", (F23,), {"dimension": 2}, "dimension 2 is out of range"),
]


@pytest.mark.parametrize(("name", "xs", "params", "fragment"), SHAPE_ERRORS)
def test_type_rule_errors(name: str, xs: tuple, params: dict, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply(name, *xs, **params)
    assert fragment in str(info.value), str(info.value)


B3 = np.zeros(3, np.bool_)

DTYPE_ERRORS = [
    ("reduce_sum", {"axes": (0,)}, "bool"),
    ("reduce_max", {"axes": ()}, "bool"),
    ("reduce_min", {"axes": (0,)}, "bool"),
    ("argmax", {"axis": 0}, "bool"),
    ("argmin", {"axis": 0}, "bool"),
    ("cumsum", {"axis": 0}, "bool"),
    ("cumprod", {"axis": 0}, "bool"),
    ("cummax", {"axis": 0}, "bool"),
]


@pytest.mark.parametrize(("name", "params", "fragment"), DTYPE_ERRORS)
def test_dtype_errors_are_type_errors(name: str, params: dict, fragment: str) -> None:
    with pytest.raises(LintraTypeError) as info:
        apply(name, B3, **params)
    assert not isinstance(info.value, ShapeError)
    assert "dtype" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("index_dtype", ["f64", "f32", "bool"])
def test_index_dtype_must_be_an_integer(index_dtype: str) -> None:
    with pytest.raises(LintraTypeError) as info:
        apply("argmax", np.zeros(3), axis=0, index_dtype=index_dtype)
    assert not isinstance(info.value, ShapeError)
    assert f"index_dtype must be i32 or i64, got {index_dtype}" in str(info.value)


def test_sort_accepts_operands_of_different_dtypes() -> None:
    xs = (np.array([2, 1], i32), np.array([True, False]), np.array([0.5, 1.5], f32))
    results, types = apply("sort", *xs)
    assert [t.dtype.value for t in types] == ["i32", "bool", "f32"]
    for g, w in zip(rounded(results, types), ([1, 2], [False, True], [1.5, 0.5])):
        assert g.tolist() == w
