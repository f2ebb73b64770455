"""Comparisons, logic, selection and clamping (spec 3.3): eq, ne, lt, le, gt, ge, and, or, not,
select_n, clamp, in both number domains.

What is checked against what:

* Comparisons: against Python's float and int comparison operators (IEEE 754: nan is unordered,
  ``nan != nan``, ``-0 == +0``) on drawn values with nan, signed zeros and infinities mixed in,
  and against a hand-written table of the spec's edge cases; integers of any magnitude are
  compared exactly (2^53 + 1 > 2^53); bool supports eq and ne only.
* and, or, not: against Python's ``and``, ``or``, ``not`` on bools; the spec allows bool
  operands only, so integer and float operands are type errors.
* select_n: against an explicit loop over the predicate's elements picking ``cases[p]``
  (bool predicates pick c0 when false); rank-0 predicate and cases broadcast; an integer
  predicate outside ``[0, n)`` is an EvaluationError.
* clamp: against ``min(max(x, lo), hi)`` written in Python with the max/min rules of spec 3.2
  (nan if either is nan, -0 < +0), so lo > hi gives hi and nan anywhere gives nan; the sign of
  zero is compared in the float64 domain only (mpmath has one unsigned zero).
* Type rules: the specific error class (ShapeError or LintraTypeError) and message fragment.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import evaluate, parse_program
from lintra.reference.errors import EvaluationError, LintraTypeError, ShapeError
from lintra.reference.primitives.logic import PRIMITIVES
from tests.harness import assert_exactly_equal, distinct_arrays, run, spec_max, spec_min

INF = math.inf
NAN = math.nan
FLOAT_DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
DOMAINS = [None, 50]
DOMAIN_IDS = ["float64", "mpmath"]

COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
    "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}
ORDER = ["eq", "ne", "lt", "le", "gt", "ge"]


def test_the_family_is_covered() -> None:
    tested = {*COMPARISONS, "and", "or", "not", "select_n", "clamp"}
    assert tested == {p.name for p in PRIMITIVES}


SPECIAL_FLOATS = st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324])
FLOATS = {
    np.float64: st.floats() | SPECIAL_FLOATS,
    np.float32: st.floats(width=32) | SPECIAL_FLOATS.map(lambda v: float(np.float32(v))),
}


def float_pairs(dtype: type) -> st.SearchStrategy[list[tuple[float, float]]]:
    """Pairs of floats; some pairs repeat one value, so that equality occurs."""
    one = FLOATS[dtype]
    pair = st.tuples(one, one) | one.map(lambda v: (v, v))
    return st.lists(pair, min_size=1, max_size=8)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@given(data=st.data())
def test_float_comparisons_against_python(dtype: type, dps: int | None,
                                          data: st.DataObject) -> None:
    pairs = data.draw(float_pairs(dtype))
    x = np.array([p[0] for p in pairs], dtype=dtype)
    y = np.array([p[1] for p in pairs], dtype=dtype)
    for name, op in COMPARISONS.items():
        got = run(name, x, y, dps=dps)
        assert got.dtype == np.bool_ and got.shape == x.shape
        assert list(got) == [op(float(a), float(b)) for a, b in zip(x, y)], name


# (x, y, results of eq ne lt le gt ge) written from the spec: nan ≠ nan; −0 = +0; an
# ordering is false if either operand is nan.
COMPARISON_TABLE: list[tuple[float, float, str]] = [
    (NAN, NAN, "FTFFFF"), (NAN, 1.0, "FTFFFF"), (1.0, NAN, "FTFFFF"),
    (NAN, INF, "FTFFFF"), (-INF, NAN, "FTFFFF"), (NAN, 0.0, "FTFFFF"),
    (-0.0, 0.0, "TFFTFT"), (0.0, -0.0, "TFFTFT"), (-0.0, -0.0, "TFFTFT"),
    (INF, INF, "TFFTFT"), (-INF, -INF, "TFFTFT"), (-INF, INF, "FTTTFF"),
    (INF, -INF, "FTFFTT"), (3.4028234663852886e38, INF, "FTTTFF"), (-1.0, -0.0, "FTTTFF"),
    (5e-324, 0.0, "FTFFTT"), (-5e-324, -0.0, "FTTTFF"), (1.0, 1.0, "TFFTFT"),
    (1.0, 2.0, "FTTTFF"), (2.0, 1.0, "FTFFTT"),
]


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_comparison_edge_table(dtype: type, dps: int | None) -> None:
    rows = [r for r in COMPARISON_TABLE
            if all(math.isnan(v) or float(dtype(v)) == v for v in r[:2])]
    x = np.array([r[0] for r in rows], dtype=dtype)
    y = np.array([r[1] for r in rows], dtype=dtype)
    for k, name in enumerate(ORDER):
        want = [r[2][k] == "T" for r in rows]
        assert list(run(name, x, y, dps=dps)) == want, name
        for i, r in enumerate(rows):  # rank-0 operands
            got = run(name, np.array(r[0], dtype=dtype), np.array(r[1], dtype=dtype), dps=dps)
            assert got.shape == () and bool(got) == want[i], (name, r)


INTEGER_DTYPES = [(np.int64, 64), (np.int32, 32)]
INTEGER_IDS = ["i64", "i32"]


def int_values(bits: int) -> st.SearchStrategy[int]:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    near = [lo, lo + 1, hi, hi - 1, 0, -1, 1] + ([2**53, 2**53 + 1, -(2**53) - 1]
                                                 if bits == 64 else [2**24, 2**24 + 1])
    return st.integers(lo, hi) | st.integers(-3, 3) | st.sampled_from(near)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=INTEGER_IDS)
@given(data=st.data())
def test_integer_comparisons_against_python(dtype: type, bits: int, dps: int | None,
                                            data: st.DataObject) -> None:
    one = int_values(bits)
    pairs = data.draw(st.lists(st.tuples(one, one) | one.map(lambda v: (v, v)), min_size=1,
                               max_size=8))
    x = np.array([p[0] for p in pairs], dtype=dtype)
    y = np.array([p[1] for p in pairs], dtype=dtype)
    for name, op in COMPARISONS.items():
        assert list(run(name, x, y, dps=dps)) == [op(a, b) for a, b in pairs], name
        s = pairs[0][1]
        got = run(name, x, np.array(s, dtype=dtype), dps=dps)
        assert list(got) == [op(a, s) for a, _ in pairs], name


def test_large_integers_compare_exactly() -> None:
    """2^53 + 1 and 2^53 are one float64 but two int64."""
    x = np.array([2**53 + 1, 2**63 - 1], dtype=np.int64)
    y = np.array([2**53, 2**63 - 2], dtype=np.int64)
    for dps in DOMAINS:
        assert list(run("gt", x, y, dps=dps)) == [True, True]
        assert list(run("eq", x, y, dps=dps)) == [False, False]


BOOLS = [False, True]


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
def test_bool_equality(dps: int | None) -> None:
    x = np.array([a for a in BOOLS for _ in BOOLS])
    y = np.array([b for _ in BOOLS for b in BOOLS])
    assert list(run("eq", x, y, dps=dps)) == [a == b for a in BOOLS for b in BOOLS]
    assert list(run("ne", x, y, dps=dps)) == [a != b for a in BOOLS for b in BOOLS]


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge"])
def test_ordering_rejects_bool(name: str) -> None:
    b = np.array([True, False])
    with pytest.raises(LintraTypeError, match="has dtype bool, expected a numeric dtype"):
        run(name, b, b, dps=None)


@pytest.mark.parametrize("name", ORDER)
def test_comparison_type_rules(name: str) -> None:
    with pytest.raises(ShapeError, match="equal shapes"):
        run(name, np.ones(3), np.ones(2), dps=None)
    with pytest.raises(ShapeError, match="equal shapes"):
        run(name, np.ones((2, 3)), np.ones(3), dps=None)
    for a, b in ((np.float64, np.float32), (np.int64, np.int32), (np.float64, np.int64),
                 (np.int64, np.bool_)):
        with pytest.raises(LintraTypeError, match="one dtype") as info:
            run(name, np.ones(2, dtype=a), np.ones(2, dtype=b), dps=None)
        assert type(info.value) is LintraTypeError
    got = run(name, np.ones((2, 3)), np.array(1.0), dps=None)
    assert got.shape == (2, 3) and got.dtype == np.bool_


# --------------------------------------------------------------------------------------------
# and, or, not

LOGICAL: dict[str, Callable[..., bool]] = {
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "not": lambda a: not a,
}


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@given(data=st.data())
def test_logical_against_python(dps: int | None, data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1,
                               max_size=8))
    x = np.array([p[0] for p in pairs], dtype=np.bool_)
    y = np.array([p[1] for p in pairs], dtype=np.bool_)
    for name in ("and", "or"):
        got = run(name, x, y, dps=dps)
        assert got.dtype == np.bool_
        assert list(got) == [LOGICAL[name](a, b) for a, b in pairs], name
        s = pairs[0][1]
        got = run(name, np.array(s), x, dps=dps)  # rank-0 operand first
        assert list(got) == [LOGICAL[name](s, a) for a, _ in pairs], name
    assert list(run("not", x, dps=dps)) == [not a for a, _ in pairs]


def test_logical_truth_tables() -> None:
    x = np.array([False, False, True, True])
    y = np.array([False, True, False, True])
    assert list(run("and", x, y, dps=None)) == [False, False, False, True]
    assert list(run("or", x, y, dps=None)) == [False, True, True, True]
    assert list(run("not", x, dps=None)) == [True, True, False, False]
    assert bool(run("not", np.array(False), dps=None)) is True


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, np.float32])
@pytest.mark.parametrize("name", ["and", "or", "not"])
def test_logical_takes_bool_only(name: str, dtype: type) -> None:
    """The spec defines and/or/not on bool only: no bitwise integer form."""
    x = np.array([1, 2], dtype=dtype)
    with pytest.raises(LintraTypeError, match="expected bool"):
        run(name, *([x] if name == "not" else [x, x]), dps=None)


def test_logical_shapes() -> None:
    with pytest.raises(ShapeError, match="equal shapes"):
        run("and", np.ones(3, dtype=np.bool_), np.ones(2, dtype=np.bool_), dps=None)


# --------------------------------------------------------------------------------------------
# select_n

CASE_DTYPES = [np.float64, np.float32, np.int64, np.int32, np.bool_]


def loop_select(p: np.ndarray, cases: list[np.ndarray], shape: tuple[int, ...],
                dtype: type) -> np.ndarray:
    """select_n by definition: element i is cases[p[i]][i] (p and cases broadcast)."""
    out = np.empty(shape, dtype=dtype)
    for index in np.ndindex(*shape):
        k = int(p[index] if p.ndim else p[()])
        case = cases[k]
        out[index] = case[index] if case.ndim else case[()]
    return out


@st.composite
def selections(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray], tuple[int, ...], type]:
    dtype = draw(st.sampled_from(CASE_DTYPES))
    shape = draw(st.sampled_from([(), (1,), (4,), (2, 3)]))
    pred_dtype = draw(st.sampled_from([np.bool_, np.int32, np.int64]))
    n = 2 if pred_dtype is np.bool_ else draw(st.integers(1, 4))
    cases = []
    for i in range(n):
        case_shape = shape if draw(st.booleans()) else ()
        case = draw(distinct_arrays(case_shape, dtype))
        if dtype is not np.bool_:
            case = (case + dtype(100 * i)).astype(dtype)  # each case its own values
        else:
            case = case ^ bool(i % 2)
        cases.append(case)
    pred_shape = shape if draw(st.booleans()) else ()
    size = int(np.prod(pred_shape, dtype=np.int64))
    if pred_dtype is np.bool_:
        picks = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    else:
        picks = draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size))
    pred = np.array(picks, dtype=pred_dtype).reshape(pred_shape)
    out_shape = shape if any(c.ndim for c in cases) else ()
    if pred.ndim and not out_shape:  # the predicate must then be rank 0 too
        pred = pred.reshape(-1)[0].reshape(())
    return pred, cases, out_shape, dtype


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@given(selection=selections())
def test_select_n_against_a_loop(dps: int | None,
                                 selection: tuple[np.ndarray, list[np.ndarray],
                                                  tuple[int, ...], type]) -> None:
    pred, cases, shape, dtype = selection
    got = run("select_n", pred, *cases, dps=dps)
    assert_exactly_equal(got, loop_select(pred, cases, shape, dtype), dps)


def test_select_n_bool_picks_c0_when_false() -> None:
    p = np.array([False, True, False])
    a = np.array([1.0, -0.0, NAN])
    b = np.array([10.0, 20.0, -0.0])
    assert_exactly_equal(run("select_n", p, a, b, dps=None), np.array([1.0, 20.0, NAN]))
    assert_exactly_equal(run("select_n", np.array(True), a, b, dps=None), b)
    assert_exactly_equal(run("select_n", np.array(False), a, b, dps=None), a)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("pred_dtype", [np.int64, np.int32], ids=INTEGER_IDS)
@pytest.mark.parametrize("bad", [-1, 3, 4, -(2**31), 2**31 - 1])
def test_select_n_out_of_range_predicate(bad: int, pred_dtype: type, dps: int | None) -> None:
    cases = [np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array(5.0)]
    for pred in (np.array([0, bad], dtype=pred_dtype), np.array(bad, dtype=pred_dtype)):
        with pytest.raises(EvaluationError, match=f"predicate {bad} is out of range"):
            run("select_n", pred, *cases, dps=dps)
    assert_exactly_equal(run("select_n", np.array([2, 1], dtype=pred_dtype), *cases, dps=dps),
                         np.array([5.0, 4.0]), dps)


def test_select_n_one_case() -> None:
    c = np.array([1, 2, 3], dtype=np.int32)
    assert_exactly_equal(run("select_n", np.zeros(3, dtype=np.int64), c, dps=None), c)
    with pytest.raises(EvaluationError, match="out of range"):
        run("select_n", np.ones(3, dtype=np.int64), c, dps=None)


def test_select_n_type_rules() -> None:
    a, b = np.ones(3), np.zeros(3)
    with pytest.raises(LintraTypeError, match="the predicate has dtype f64"):
        run("select_n", np.zeros(3), a, b, dps=None)
    with pytest.raises(LintraTypeError, match="the predicate has dtype f32"):
        run("select_n", np.zeros(3, dtype=np.float32), a, b, dps=None)
    with pytest.raises(LintraTypeError, match="a bool predicate selects between 2 cases"):
        run("select_n", np.zeros(3, dtype=np.bool_), a, b, a, dps=None)
    with pytest.raises(LintraTypeError, match="a bool predicate selects between 2 cases"):
        run("select_n", np.zeros(3, dtype=np.bool_), a, dps=None)
    with pytest.raises(LintraTypeError, match="the cases must have one dtype") as info:
        run("select_n", np.zeros(3, dtype=np.int64), a, b.astype(np.float32), dps=None)
    assert type(info.value) is LintraTypeError
    with pytest.raises(ShapeError, match="the cases must have equal shapes"):
        run("select_n", np.zeros(3, dtype=np.int64), a, np.zeros(2), dps=None)
    with pytest.raises(ShapeError, match="rank 0 or the cases' shape"):
        run("select_n", np.zeros(2, dtype=np.int64), a, b, dps=None)
    with pytest.raises(ShapeError, match="rank 0 or the cases' shape"):
        run("select_n", np.zeros(3, dtype=np.int64), np.array(1.0), np.array(2.0), dps=None)
    with pytest.raises(ShapeError, match="at least one case"):
        run("select_n", np.zeros(3, dtype=np.int64), dps=None)


# --------------------------------------------------------------------------------------------
# clamp






def spec_clamp(lo: float, x: float, hi: float) -> float:
    return spec_min(spec_max(x, lo), hi)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@given(data=st.data())
def test_clamp_against_definition(dtype: type, dps: int | None, data: st.DataObject) -> None:
    one = FLOATS[dtype]
    triples = data.draw(st.lists(st.tuples(one, one, one), min_size=1, max_size=6))
    lo, x, hi = (np.array([t[i] for t in triples], dtype=dtype) for i in range(3))
    want = np.array([spec_clamp(*map(float, t)) for t in zip(lo, x, hi)], dtype=dtype)
    assert_exactly_equal(run("clamp", lo, x, hi, dps=dps), want, dps)
    lo0, hi0 = np.array(lo[0]), np.array(hi[0])  # rank-0 bounds broadcast
    want0 = np.array([spec_clamp(float(lo0), float(v), float(hi0)) for v in x], dtype=dtype)
    assert_exactly_equal(run("clamp", lo0, x, hi0, dps=dps), want0, dps)


# (lo, x, hi, expected) from the spec: lo > hi gives hi; nan in any operand gives nan; signed
# zeros as min(max(x, lo), hi) with max(-0, +0) = +0 and min(-0, +0) = -0.
CLAMP_TABLE: list[tuple[float, float, float, float]] = [
    (-1.0, -3.0, 1.0, -1.0), (-1.0, 0.5, 1.0, 0.5), (-1.0, 2.0, 1.0, 1.0), (-1.0, 1.0, 1.0, 1.0),
    (2.0, 0.0, 1.0, 1.0), (2.0, 5.0, 1.0, 1.0), (2.0, 1.5, 1.0, 1.0), (INF, 0.0, -INF, -INF),
    (NAN, 0.5, 1.0, NAN), (-1.0, NAN, 1.0, NAN), (-1.0, 0.5, NAN, NAN), (2.0, NAN, 1.0, NAN),
    (NAN, NAN, NAN, NAN), (-INF, 3.0, INF, 3.0), (1.0, -INF, 2.0, 1.0), (1.0, INF, 2.0, 2.0),
    (0.0, -0.0, 1.0, 0.0), (-0.0, -0.0, 1.0, -0.0), (-0.0, 0.0, 1.0, 0.0),
    (-1.0, 0.0, -0.0, -0.0), (-1.0, -0.0, 0.0, -0.0), (-0.0, 0.0, 0.0, 0.0),
    (0.0, -5.0, -0.0, -0.0), (-0.0, -5.0, 0.0, -0.0),
]


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
def test_clamp_edge_table(dtype: type, dps: int | None) -> None:
    lo, x, hi, want = (np.array([r[i] for r in CLAMP_TABLE], dtype=dtype) for i in range(4))
    assert_exactly_equal(run("clamp", lo, x, hi, dps=dps), want, dps)
    for r in CLAMP_TABLE:
        got = run("clamp", *(np.array(v, dtype=dtype) for v in r[:3]), dps=dps)
        assert_exactly_equal(got, np.array(r[3], dtype=dtype), dps)


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
@pytest.mark.parametrize(("dtype", "bits"), INTEGER_DTYPES, ids=INTEGER_IDS)
@given(data=st.data())
def test_integer_clamp_against_python(dtype: type, bits: int, dps: int | None,
                                      data: st.DataObject) -> None:
    one = int_values(bits)
    triples = data.draw(st.lists(st.tuples(one, one, one), min_size=1, max_size=6))
    lo, x, hi = (np.array([t[i] for t in triples], dtype=dtype) for i in range(3))
    got = run("clamp", lo, x, hi, dps=dps)
    assert got.dtype == np.dtype(dtype)
    assert [int(v) for v in got] == [min(max(b, a), c) for a, b, c in triples]


def test_clamp_type_rules() -> None:
    x = np.ones(3)
    with pytest.raises(LintraTypeError, match="x has dtype bool"):
        b = np.ones(3, dtype=np.bool_)
        run("clamp", b, b, b, dps=None)
    with pytest.raises(LintraTypeError, match="one dtype") as info:
        run("clamp", np.array(0.0, dtype=np.float32), x, np.array(1.0), dps=None)
    assert type(info.value) is LintraTypeError
    with pytest.raises(LintraTypeError, match="one dtype"):
        run("clamp", np.array(0), np.array([1, 2]), np.array(1.0), dps=None)
    with pytest.raises(ShapeError, match="lo must have rank 0 or the shape of x"):
        run("clamp", np.zeros(2), x, np.array(1.0), dps=None)
    with pytest.raises(ShapeError, match="hi must have rank 0 or the shape of x"):
        run("clamp", np.array(0.0), x, np.ones((3, 1)), dps=None)
    with pytest.raises(ShapeError, match="lo must have rank 0 or the shape of x"):
        run("clamp", np.zeros(3), np.array(0.5), np.ones(3), dps=None)


# --------------------------------------------------------------------------------------------
# Literals take the shared dtype (spec 2.2)


def program(body: str, params: str, result: str) -> object:
    return parse_program(f"def f({params}) -> {result}:\n    y: {result} = {body}\n    return y\n")


@pytest.mark.parametrize("dps", DOMAINS, ids=DOMAIN_IDS)
def test_literals(dps: int | None) -> None:
    (y,) = evaluate(program("lt(x, 0)", "x: i32[3]", "bool[3]"),
                    np.array([-1, 0, 1], dtype=np.int32), dps=dps)
    assert list(y) == [True, False, False]
    (y,) = evaluate(program("clamp(0, x, 10)", "x: i32[3]", "i32[3]"),
                    np.array([-5, 5, 50], dtype=np.int32), dps=dps)
    assert y.dtype == np.int32 and list(y) == [0, 5, 10]
    (y,) = evaluate(program("select_n(p, x, 0.5)", "p: bool[2], x: f32[2]", "f32[2]"),
                    [True, False], np.array([1.0, 2.0], dtype=np.float32), dps=dps)
    assert [float(v) for v in y] == [0.5, 2.0]
    (y,) = evaluate(program("select_n(2, x, x, 7)", "x: i64[2]", "i64[2]"),
                    np.array([1, 2], dtype=np.int64), dps=dps)
    assert list(y) == [7, 7]
    (y,) = evaluate(program("and(p, true)", "p: bool[2]", "bool[2]"), [True, False], dps=dps)
    assert list(y) == [True, False]
    with pytest.raises(LintraTypeError, match="literal"):
        evaluate(program("and(p, 1)", "p: bool[2]", "bool[2]"), [True, False], dps=dps)
