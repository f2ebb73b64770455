"""The indexing family (spec 3.5), in both number domains.

Each primitive is checked against an explicit loop that states the spec's definition element
by element (clamping written as ``max(0, min(s, n - k))``, ``gather`` as a loop over output
positions, ``scatter_add`` as Python additions in increasing position order), never against
the NumPy calls the implementation uses, on Hypothesis-drawn shapes (rank 0 and size-0
dimensions included), dtypes, starts and indices. Copies are exact; ``scatter_add`` in the
float64 domain must equal the stated addition order bit for bit, and in the mpmath domain the
exact sum (computed with fractions). Out-of-range indices raise EvaluationError; type-rule
violations raise ShapeError (LintraTypeError for dtypes) with a message naming what was found.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import check, parse
from lintra.reference.errors import EvaluationError, LinearityError, LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import NONE, LinearityKind, at
from lintra.reference.primitives.indexing import PRIMITIVES
from tests.harness import (
    apply,
    assert_exactly_equal,
    build,
    distinct_arrays,
    run,
)

NAMES = ("dynamic_slice", "dynamic_update_slice", "gather", "scatter_add")
DTYPES = (np.float64, np.float32, np.int64, np.int32, np.bool_)
NUMERIC = (np.float64, np.float32, np.int64, np.int32)
INDEX_DTYPES = (np.int64, np.int32)
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 0.0)

# --------------------------------------------------------------------------------------------
# Strategies and helpers

sizes = st.integers(0, 4)
shapes = st.lists(sizes, min_size=0, max_size=3).map(tuple)
nonempty_rank_shapes = st.lists(sizes, min_size=1, max_size=3).map(tuple)
domains = st.sampled_from((None, 50))
index_dtypes = st.sampled_from(INDEX_DTYPES)


def arrays(shape: tuple[int, ...], dtype: type) -> st.SearchStrategy[np.ndarray]:
    return distinct_arrays(shape, dtype, scale=1.25)


def clamp(s: int, n: int, k: int) -> int:
    """Spec 3.5: the start used is min(max(s, 0), n - k)."""
    return max(0, min(s, n - k))


def scalar(v: int, dtype: type) -> np.ndarray:
    return np.asarray(v, dtype=dtype)


# --------------------------------------------------------------------------------------------
# The records


def test_every_indexing_primitive_has_a_record() -> None:
    assert tuple(p.name for p in PRIMITIVES) == NAMES
    for prim in PRIMITIVES:
        assert lookup(prim.name) is prim
        assert prim.family == "indexing"
        assert prim.linearity.kind is LinearityKind.TOGETHER
        assert prim.jvp is not None and prim.transpose is not None
    assert lookup("dynamic_slice").linearity.positions == at(0)
    assert lookup("gather").linearity.positions == at(0)
    assert lookup("dynamic_update_slice").linearity.positions == at(0, 1)
    assert lookup("scatter_add").linearity.positions == at(0, 2)
    assert lookup("dynamic_slice").shared_dtype == NONE
    assert lookup("gather").shared_dtype == NONE
    assert lookup("dynamic_update_slice").shared_dtype == at(0, 1)
    assert lookup("scatter_add").shared_dtype == at(0, 2)


def test_arities_and_defaults() -> None:
    assert lookup("gather").param_values({})["axis"] == 0
    assert lookup("scatter_add").param_values({})["axis"] == 0
    assert lookup("dynamic_slice").arity.accepts(1)  # rank-0 x: no starts
    assert lookup("dynamic_update_slice").arity.accepts(2)
    assert not lookup("gather").arity.accepts(3)
    assert not lookup("scatter_add").arity.accepts(2)


# --------------------------------------------------------------------------------------------
# dynamic_slice and dynamic_update_slice: clamped starts


@given(shapes, st.sampled_from(DTYPES), st.data(), domains)
def test_dynamic_slice(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                       dps: int | None) -> None:
    x = data.draw(arrays(shape, dtype))
    ks = tuple(data.draw(st.integers(0, n)) for n in shape)
    starts = [data.draw(st.integers(-6, 8)) for _ in shape]
    start_arrays = [scalar(s, data.draw(index_dtypes)) for s in starts]
    got = run("dynamic_slice", x, *start_arrays, dps=dps, slice_sizes=ks)
    cs = [clamp(s, n, k) for s, n, k in zip(starts, shape, ks)]
    want = build(ks, x.dtype, lambda o: x[tuple(c + i for c, i in zip(cs, o))])
    assert_exactly_equal(got, want, dps)


@given(shapes, st.sampled_from(DTYPES), st.data(), domains)
def test_dynamic_update_slice(shape: tuple[int, ...], dtype: type, data: st.DataObject,
                              dps: int | None) -> None:
    x = data.draw(arrays(shape, dtype))
    ushape = tuple(data.draw(st.integers(0, n)) for n in shape)
    u = data.draw(arrays(ushape, dtype))
    starts = [data.draw(st.integers(-6, 8)) for _ in shape]
    start_arrays = [scalar(s, data.draw(index_dtypes)) for s in starts]
    got = run("dynamic_update_slice", x, u, *start_arrays, dps=dps)
    cs = [clamp(s, n, k) for s, n, k in zip(starts, shape, ushape)]

    def element(o: tuple[int, ...]) -> object:
        inside = all(c <= i < c + k for c, i, k in zip(cs, o, ushape))
        return u[tuple(i - c for c, i in zip(cs, o))] if inside else x[o]

    assert_exactly_equal(got, build(shape, x.dtype, element), dps)


@pytest.mark.parametrize("dps", [None, 50])
def test_dynamic_slice_table(dps: int | None) -> None:
    x = np.array([[0.0, 1.0, 2.0], [3.0, -0.0, np.nan]])
    cases = [  # starts, sizes, expected
        ((0, 0), (1, 2), [[0.0, 1.0]]),
        ((1, 2), (1, 1), [[np.nan]]),
        ((5, 9), (1, 2), [[-0.0, np.nan]]),  # past the end: moved back
        ((-3, -1), (2, 1), [[0.0], [3.0]]),  # negative: moved to 0
        ((1, 1), (2, 3), [[0.0, 1.0, 2.0], [3.0, -0.0, np.nan]]),  # the whole array
        ((1, 3), (0, 0), np.zeros((0, 0))),
        ((2**62, -(2**62)), (1, 1), [[3.0]]),
    ]
    for starts, ks, want in cases:
        got = run("dynamic_slice", x, *(scalar(s, np.int64) for s in starts), dps=dps,
                  slice_sizes=ks)
        assert_exactly_equal(got, np.asarray(want, dtype=np.float64), dps)
    # rank 0: no starts, a copy
    assert_exactly_equal(run("dynamic_slice", np.float64(-0.0), dps=dps, slice_sizes=()),
                         np.asarray(-0.0), dps)


@pytest.mark.parametrize("dps", [None, 50])
def test_dynamic_update_slice_table(dps: int | None) -> None:
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    u = np.array([[np.inf, -1.5]])
    cases = [
        ((0, 0), [[np.inf, -1.5, 2.0], [3.0, 4.0, 5.0]]),
        ((1, 7), [[0.0, 1.0, 2.0], [3.0, np.inf, -1.5]]),
        ((-4, -4), [[np.inf, -1.5, 2.0], [3.0, 4.0, 5.0]]),
        ((3, 1), [[0.0, 1.0, 2.0], [3.0, np.inf, -1.5]]),
    ]
    for starts, want in cases:
        got = run("dynamic_update_slice", x, u, *(scalar(s, np.int32) for s in starts),
                  dps=dps)
        assert_exactly_equal(got, np.asarray(want), dps)
    empty = np.zeros((0, 2))
    assert_exactly_equal(run("dynamic_update_slice", x, empty, scalar(1, np.int64),
                             scalar(1, np.int64), dps=dps), x, dps)
    assert_exactly_equal(run("dynamic_update_slice", np.float64(1.0), np.float64(np.nan),
                             dps=dps), np.asarray(np.nan), dps)


# --------------------------------------------------------------------------------------------
# gather


@st.composite
def gather_case(draw: st.DrawFn, dtypes: Sequence[type] = DTYPES
                ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """x (rank >= 1), in-range indices (any rank, repeats allowed), the axis as written and
    as a non-negative number."""
    shape = draw(nonempty_rank_shapes)
    x = draw(arrays(shape, draw(st.sampled_from(dtypes))))
    axis = draw(st.integers(0, len(shape) - 1))
    ishape = draw(st.lists(st.integers(0, 3), max_size=2).map(tuple))
    n = shape[axis]
    if n == 0:
        ishape = (*ishape[:-1], 0) if ishape else (0,)
    count = int(np.prod(ishape, dtype=np.int64))
    values = draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=count, max_size=count))
    indices = np.asarray(values, dtype=draw(index_dtypes)).reshape(ishape)
    written = draw(st.sampled_from((axis, axis - len(shape))))
    return x, indices, written, axis


def gather_loop(x: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """y[o] = x[o[:a], indices[o[a:a+k]], o[a+k:]] (spec 3.5)."""
    k = indices.ndim
    shape = x.shape[:axis] + indices.shape + x.shape[axis + 1:]

    def element(o: tuple[int, ...]) -> object:
        j = int(indices[o[axis:axis + k]])
        return x[(*o[:axis], j, *o[axis + k:])]

    return build(shape, x.dtype, element)


@given(gather_case(), domains)
def test_gather(case: tuple, dps: int | None) -> None:
    x, indices, written, axis = case
    got = run("gather", x, indices, dps=dps, axis=written)
    assert_exactly_equal(got, gather_loop(x, indices, axis), dps)


@given(gather_case(), st.data(), domains)
def test_gather_out_of_range_raises(case: tuple, data: st.DataObject, dps: int | None) -> None:
    x, indices, written, axis = case
    n = x.shape[axis]
    bad = data.draw(st.one_of(st.integers(-2**31, -1), st.integers(n, 2**31 - 1)))
    if indices.size == 0:
        indices = np.asarray([bad], dtype=indices.dtype)
    else:
        indices = indices.copy()
        indices.reshape(-1)[data.draw(st.integers(0, indices.size - 1))] = bad
    with pytest.raises(EvaluationError) as info:
        run("gather", x, indices, dps=dps, axis=written)
    message = str(info.value)
    assert str(bad) in message
    assert (f"0 to {n - 1}" in message) if n else ("size 0" in message)


def test_gather_table() -> None:
    x = np.array([[1.0, -0.0, np.nan], [np.inf, 5.0, 6.0]])
    assert_exactly_equal(run("gather", x, np.int64(2), dps=None, axis=1),
                         np.array([np.nan, 6.0]), None)
    assert_exactly_equal(run("gather", x, np.array([1, 1, 0], np.int32), dps=None, axis=-1),
                         np.array([[-0.0, -0.0, 1.0], [5.0, 5.0, np.inf]]), None)
    assert_exactly_equal(run("gather", x, np.array([[1], [0]]), dps=None),
                         np.array([[[np.inf, 5.0, 6.0]], [[1.0, -0.0, np.nan]]]), None)
    empty_axis = np.zeros((2, 0))
    assert run("gather", empty_axis, np.zeros(0, np.int64), dps=None, axis=1).shape == (2, 0)
    with pytest.raises(EvaluationError, match="size 0"):
        run("gather", empty_axis, np.array([0]), dps=None, axis=1)
    with pytest.raises(EvaluationError, match=r"-1 .*0 to 2"):
        run("gather", x, np.array([0, -1]), dps=50, axis=1)


# --------------------------------------------------------------------------------------------
# scatter_add


def scatter_loop(x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int,
                 add: Callable[[object, object], object]) -> list:
    """Spec 3.5: each update added at its index, in increasing row-major position order, with
    the given scalar addition; returns nested lists of Python values of x's shape."""
    out = {o: x[o].item() for o in itertools.product(*(range(n) for n in x.shape))}
    k = indices.ndim
    for o in itertools.product(*(range(n) for n in updates.shape)):  # row-major
        p = o[axis:axis + k]
        target = (*o[:axis], int(indices[p]), *o[axis + k:])
        out[target] = add(out[target], updates[o].item())
    return [out[o] for o in itertools.product(*(range(n) for n in x.shape))]


def wrapping(bits: int) -> Callable[[int, int], int]:
    def add(a: int, b: int) -> int:
        s = (a + b) % 2**bits
        return s - 2**bits if s >= 2 ** (bits - 1) else s
    return add


def float32_add(a: float, b: float) -> float:
    return float(np.float32(a) + np.float32(b))


def float64_add(a: float, b: float) -> float:
    return a + b  # Python floats are IEEE binary64, rounded to nearest


ORDER_SENSITIVE = st.sampled_from((1.0, -1.0, 3.0, 0.1, 2.0**25, -(2.0**25), 2.0**54, 1e16))
SCALED = st.builds(np.ldexp, st.integers(-2**20, 2**20).map(float), st.integers(-30, 30))


@st.composite
def scatter_case(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """x, indices, updates, the axis as written and as a non-negative number. Half the cases
    draw indices from at most two values, so that repeats (where order matters) are common."""
    x, indices, written, axis = draw(gather_case(NUMERIC))
    if indices.size and draw(st.booleans()):
        low = draw(st.integers(0, x.shape[axis] - 1))
        few = draw(st.lists(st.sampled_from((low, min(low + 1, x.shape[axis] - 1))),
                            min_size=2, max_size=6))
        indices = np.asarray(few, dtype=indices.dtype)
    ushape = x.shape[:axis] + indices.shape + x.shape[axis + 1:]
    n = int(np.prod(ushape, dtype=np.int64))
    if x.dtype.kind == "f":
        # Values of many magnitudes so that the order of additions matters to the rounding.
        values = draw(st.lists(st.one_of(ORDER_SENSITIVE, SCALED), min_size=n, max_size=n))
    else:
        info = np.iinfo(x.dtype)
        values = draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=n,
                               max_size=n))
    return x, indices, np.asarray(values, dtype=x.dtype).reshape(ushape), written, axis


@given(scatter_case())
def test_scatter_add_float64_domain_follows_the_stated_order(case: tuple) -> None:
    x, indices, u, written, axis = case
    got = run("scatter_add", x, indices, u, dps=None, axis=written)
    add = {np.float64: float64_add, np.float32: float32_add, np.int64: wrapping(64),
           np.int32: wrapping(32)}[x.dtype.type]
    want = np.asarray(scatter_loop(x, indices, u, axis, add), dtype=x.dtype).reshape(x.shape)
    assert_exactly_equal(got, want, None)


def fraction_add(a: object, b: object) -> Fraction:
    return Fraction(a) + Fraction(b)  # type: ignore[arg-type]


def finite(x: np.ndarray) -> np.ndarray:
    """x with nan and ±inf replaced by 0 (for sums that must be exact)."""
    return np.where(np.isfinite(x), x, 0.0).astype(x.dtype) if x.dtype.kind == "f" else x


@given(scatter_case())
def test_scatter_add_mp_domain_is_the_exact_sum(case: tuple) -> None:
    x, indices, u, written, axis = case
    x = finite(x)
    got = run("scatter_add", x, indices, u, dps=50, axis=written)
    if x.dtype.kind == "f":
        # 50 digits hold these sums exactly; float() of a Fraction is correctly rounded.
        sums = [float(v) for v in scatter_loop(x, indices, u, axis, fraction_add)]
    else:
        sums = scatter_loop(x, indices, u, axis, wrapping(8 * x.dtype.itemsize))
    want = np.asarray(sums, dtype=np.float64 if x.dtype.kind == "f" else x.dtype)
    assert_exactly_equal(got, want.astype(x.dtype).reshape(x.shape), 50)


def scatter_terms(x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int
                  ) -> list[list[Fraction]]:
    """For each element of x (row-major), the exact terms x, u_p1, u_p2, ... summed there."""
    terms = {o: [Fraction(x[o].item())] for o in itertools.product(*(range(n) for n in x.shape))}
    k = indices.ndim
    for o in itertools.product(*(range(n) for n in updates.shape)):
        target = (*o[:axis], int(indices[o[axis:axis + k]]), *o[axis + k:])
        terms[target].append(Fraction(updates[o].item()))
    return list(terms.values())


@given(scatter_case())
def test_scatter_add_within_the_summation_bound(case: tuple) -> None:
    """|computed - exact| <= gamma_m (|x| + sum |u_p|) per element, m updates (spec 3.5)."""
    x, indices, u, written, axis = case
    if x.dtype.kind != "f":
        return
    x = finite(x)
    got = run("scatter_add", x, indices, u, dps=None, axis=written)
    unit = Fraction(1, 2**53) if x.dtype == np.float64 else Fraction(1, 2**24)
    for g, terms in zip(got.reshape(-1).tolist(), scatter_terms(x, indices, u, axis)):
        m = len(terms) - 1
        gamma = m * unit / (1 - m * unit)
        assert abs(Fraction(g) - sum(terms)) <= gamma * sum(abs(t) for t in terms)


@pytest.mark.filterwarnings("error")  # the values the spec states, never a warning
@pytest.mark.parametrize("dps", [None, 50])
def test_scatter_add_table(dps: int | None) -> None:
    x = np.array([1.0, np.inf, -0.0, 2.0])
    i = np.array([1, 1, 2, 0, 2])
    u = np.array([-np.inf, 1.0, -0.0, np.nan, 0.0])
    # inf + -inf = nan; -0 + -0 = -0 then + 0 = +0 (float64 domain); nan propagates
    want = np.array([np.nan, np.nan, 0.0, 2.0])
    assert_exactly_equal(run("scatter_add", x, i, u, dps=dps), want, dps)
    # the spec's example: order fixes the rounding in float64; mp is exact
    big = run("scatter_add", np.array([0.0]), np.array([0, 0, 0]), np.array([1e16, 1.0, 1.0]),
              dps=dps)
    assert big[0] == (1e16 if dps is None else 1e16 + 2)
    # a sum beyond the largest float64 is inf in the float64 domain, exact in mpmath
    huge = run("scatter_add", np.array([1e308]), np.array([0, 0]), np.array([1e308, -1e308]),
               dps=dps)
    assert huge[0] == (np.inf if dps is None else 1e308)
    # int wraparound
    ints = run("scatter_add", np.array([2**31 - 1], np.int32), np.array([0, 0]),
               np.array([1, 1], np.int32), dps=dps)
    assert_exactly_equal(ints, np.array([-(2**31) + 1], np.int32), dps)
    # along axis 1 with rank-2 indices
    got = run("scatter_add", np.zeros((2, 2), np.int64), np.array([[1, 1], [0, 1]]),
              np.arange(8, dtype=np.int64).reshape(2, 2, 2), dps=dps, axis=1)
    assert_exactly_equal(got, np.array([[2, 0 + 1 + 3], [6, 4 + 5 + 7]]), dps)
    with pytest.raises(EvaluationError, match=r"index 4 .*0 to 3"):
        run("scatter_add", x, np.array([0, 4]), np.array([1.0, 1.0]), dps=dps)
    with pytest.raises(EvaluationError, match=r"index -2"):
        run("scatter_add", x, np.array([-2]), np.array([1.0]), dps=dps)


# --------------------------------------------------------------------------------------------
# Type rules

f64 = np.float64
I0 = np.int64(0)

TYPE_ERRORS = [
    ("dynamic_slice", (np.zeros((3, 4)), I0), {"slice_sizes": (1, 1)}, "one start index"),
    ("dynamic_slice", (np.zeros((3, 4)), I0, I0), {"slice_sizes": (4, 1)}, "(4, 1)"),
    ("dynamic_slice", (np.zeros((3, 4)), I0, I0), {"slice_sizes": (1,)}, "(1,)"),
    ("dynamic_slice", (np.zeros((3, 4)), I0, I0), {"slice_sizes": (-1, 1)}, "(-1, 1)"),
    ("dynamic_slice", (np.zeros(3), np.zeros(1, np.int64)), {"slice_sizes": (1,)}, "rank 0"),
    ("dynamic_update_slice", (np.zeros((3, 4)), np.zeros((4, 1)), I0, I0), {}, "f64[4, 1]"),
    ("dynamic_update_slice", (np.zeros((3, 4)), np.zeros(3), I0, I0), {}, "f64[3]"),
    ("dynamic_update_slice", (np.zeros((3, 4)), np.zeros((1, 1)), I0), {}, "one start index"),
    ("gather", (np.float64(1.0), np.zeros(2, np.int64)), {}, "rank >= 1"),
    ("gather", (np.zeros((2, 3)), np.zeros(2, np.int64)), {"axis": 2}, "axis 2"),
    ("gather", (np.zeros((2, 3)), np.zeros(2, np.int64)), {"axis": -3}, "axis -3"),
    ("scatter_add", (np.zeros((2, 3)), np.zeros(4, np.int64), np.zeros((2, 3))), {"axis": 1},
     "(2, 4)"),
    ("scatter_add", (np.zeros((2, 3)), np.zeros(4, np.int64), np.zeros((4, 2))), {},
     "(4, 3)"),
    ("scatter_add", (np.zeros(3), np.zeros(1, np.int64), np.zeros(1)), {"axis": 1}, "axis 1"),
]


@pytest.mark.parametrize(("name", "xs", "params", "fragment"), TYPE_ERRORS)
def test_type_rule_errors(name: str, xs: tuple, params: dict, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply(name, *xs, **params)
    assert fragment in str(info.value), str(info.value)


DTYPE_ERRORS = [
    ("dynamic_slice", (np.zeros(3), np.float64(0.0)), {"slice_sizes": (1,)}),
    ("dynamic_slice", (np.zeros(3), np.bool_(True)), {"slice_sizes": (1,)}),
    ("dynamic_update_slice", (np.zeros(3), np.zeros(1, np.float32), I0), {}),
    ("gather", (np.zeros(3), np.zeros(2)), {}),
    ("scatter_add", (np.zeros(3), np.zeros(2, np.int64), np.zeros(2, np.float32)), {}),
    ("scatter_add", (np.zeros(3, np.bool_), np.zeros(2, np.int64), np.zeros(2, np.bool_)), {}),
]


@pytest.mark.parametrize(("name", "xs", "params"), DTYPE_ERRORS)
def test_dtype_errors_are_type_errors(name: str, xs: tuple, params: dict) -> None:
    with pytest.raises(LintraTypeError) as info:
        apply(name, *xs, **params)
    assert not isinstance(info.value, ShapeError)
    assert "dtype" in str(info.value)


def test_linearity_in_programs() -> None:
    ok = (
        "def f(i: i64[2], j: i32[], t1: lin f64[4], t2: lin f64[4], t3: lin f64[4], "
        "t4: lin f64[4], v2: lin f64[2], v3: lin f64[2]) "
        "-> (lin f64[2], lin f64[4], lin f64[4], lin f64[2]):\n"
        "    a: lin f64[2] = gather(t1, i)\n"
        "    b: lin f64[4] = scatter_add(t2, i, v2)\n"
        "    c: lin f64[4] = dynamic_update_slice(t3, v3, j)\n"
        "    d: lin f64[2] = dynamic_slice(t4, j, slice_sizes=(2,))\n"
        "    return a, b, c, d\n"
    )
    check(parse(ok))
    mixed = """
def f(x: f64[4], i: i64[2], v: lin f64[2]) -> lin f64[4]:
    b: lin f64[4] = scatter_add(x, i, v)
    return b
"""
    with pytest.raises(LinearityError):
        check(parse(mixed))
