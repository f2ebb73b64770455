"""The optimized engine's indexing rules (spec 3.5) against the reference: clamped starts,
gather's and scatter_add's range checks (EvaluationError naming the primitive), scatter_add's
order of accumulation bit for bit (and within its bound of the mpmath sum), integer
wrap-around, rank-0 and empty indices, i32 and i64 index operands, the derivatives, the
programs the engine emits and the errors of the type rules."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.reference import check, evaluate
from lintra.reference.errors import EvaluationError, LintraError, LintraTypeError, ShapeError
from lintra.reference.parse import parse_program
from tests.test_optimized_structure import agree_with_reference, prog, same_bits

NAN, INF = float("nan"), float("inf")
X34 = np.array([[-2.0, -0.0, NAN, -0.5], [0.0, 0.5, INF, 1.5], [2.0, -INF, 3.0, 3.5]])

WINDOW = """
def f(x: f64[3, 4], i: i64[], j: i32[])
& -> (f64[2, 2], f64[0, 4], f64[3, 4], f64[2, 3]):
    a: f64[2, 2] = dynamic_slice(x, i, j, slice_sizes=(2, 2))
    b: f64[0, 4] = dynamic_slice(x, i, j, slice_sizes=(0, 4))
    c: f64[3, 4] = dynamic_slice(x, i, j, slice_sizes=(3, 4))
    d: f64[2, 3] = dynamic_slice(x, 1, -1, slice_sizes=(2, 3))
    return a, b, c, d
"""


@pytest.mark.parametrize("i, j", [(7, -3), (0, 0), (1, 2), (-(2**63), 2**31 - 1),
                                  (2**62, -(2**31)), (2, 3)])
def test_dynamic_slice_clamps_its_starts(i: int, j: int) -> None:
    args = (X34, np.int64(i), np.int32(j))
    agree_with_reference(WINDOW, *args)
    (a, *_) = lo.compile(prog(WINDOW)).evaluate(*args)
    r, c = min(max(i, 0), 1), min(max(j, 0), 2)
    same_bits(a, X34[r:r + 2, c:c + 2])


UPDATE = """
def f(x: f64[3, 4], u: f64[2, 2], w: f64[3, 4], e: f64[0, 2], i: i32[], j: i64[])
& -> (f64[3, 4], f64[3, 4], f64[3, 4], f64[3, 4]):
    a: f64[3, 4] = dynamic_update_slice(x, u, i, j)
    b: f64[3, 4] = dynamic_update_slice(x, w, i, j)
    c: f64[3, 4] = dynamic_update_slice(x, e, i, j)
    d: f64[3, 4] = dynamic_update_slice(x, u, -1, 9)
    return a, b, c, d
"""


@pytest.mark.parametrize("i, j", [(7, -3), (1, 1), (-(2**31), 2**62), (0, 2)])
def test_dynamic_update_slice_clamps_its_starts_and_leaves_x_unchanged(i: int, j: int) -> None:
    u = np.array([[-0.0, NAN], [INF, 7.0]])
    w = -X34
    x = X34.copy()
    args = (x, u, w, np.zeros((0, 2)), np.int32(i), np.int64(j))
    agree_with_reference(UPDATE, *args)
    same_bits(x, X34)


def test_indexing_copies_integers_and_booleans_exactly() -> None:
    text = """
def f(n: i64[4], b: bool[2, 2], k: i32[3], s: i64[])
& -> (i64[2], bool[2, 1], i64[3], i64[4], bool[2, 2], i64[4]):
    a: i64[2] = dynamic_slice(n, s, slice_sizes=(2,))
    c: bool[2, 1] = dynamic_slice(b, s, s, slice_sizes=(2, 1))
    g: i64[3] = gather(n, k)
    d: i64[4] = dynamic_update_slice(n, a, 1)
    h: bool[2, 2] = dynamic_update_slice(b, c, s, 0)
    w: i64[4] = scatter_add(n, k, g)
    return a, c, g, d, h, w
"""
    n = np.array([9007199254740993, -(2**63), 2**62, -5], np.int64)
    b = np.array([[True, False], [False, True]])
    agree_with_reference(text, n, b, np.array([2, 2, 0], np.int32), np.int64(5))
    (*_, w) = lo.compile(prog(text)).evaluate(n, b, np.array([2, 2, 0], np.int32),
                                              np.int64(5))
    # two's complement wrap-around: 2**62 + 2**62 + 2**62 and 2**53 + 1 doubled
    assert int(w[2]) == 3 * 2**62 - 2**64 and int(w[0]) == 2 * 9007199254740993


GATHER = """
def f(x: f64[3, 4], i: i64[2, 2], k: i32[], e: i64[0])
& -> (f64[2, 2, 4], f64[3, 2, 2], f64[3], f64[3, 0], f64[2, 2, 4]):
    a: f64[2, 2, 4] = gather(x, i)
    b: f64[3, 2, 2] = gather(x, i, axis=-1)
    c: f64[3] = gather(x, k, axis=1)
    d: f64[3, 0] = gather(x, e, axis=1)
    g: f64[2, 2, 4] = gather(x, i, axis=-2)
    return a, b, c, d, g
"""


def test_gather_takes_along_any_axis_with_any_index_rank() -> None:
    i = np.array([[2, 0], [2, 2]])
    args = (X34, i, np.int32(3), np.zeros(0, np.int64))
    agree_with_reference(GATHER, *args)
    a, b, c, _, _ = lo.compile(prog(GATHER)).evaluate(*args)
    same_bits(a, np.take(X34, i, axis=0))
    same_bits(b, np.take(X34, i, axis=1))
    same_bits(c, X34[:, 3])


def test_an_empty_index_array_is_valid_even_into_a_size_0_axis() -> None:
    text = """
def f(x: f64[0, 2], e: i32[0], u: f64[0, 2]) -> (f64[0, 2], f64[0, 2]):
    g: f64[0, 2] = gather(x, e)
    s: f64[0, 2] = scatter_add(x, e, u)
    return g, s
"""
    agree_with_reference(text, np.zeros((0, 2)), np.zeros(0, np.int32), np.zeros((0, 2)))


RANGE = """
def f(x: f64[4, 2], i: {dtype}[3], u: f64[3, 2]) -> (f64[3, 2], f64[4, 2]):
    g: f64[3, 2] = gather(x, i)
    s: f64[4, 2] = scatter_add(x, i, u)
    return g, s
"""


@pytest.mark.parametrize("dtype", ["i64", "i32"])
@pytest.mark.parametrize("bad", [-1, 4, 2**31 - 1, -(2**31)])
def test_an_index_out_of_range_is_an_evaluation_error(dtype: str, bad: int) -> None:
    p = parse_program(RANGE.format(dtype=dtype))
    indices = np.array([0, bad, 1], dtype={"i64": np.int64, "i32": np.int32}[dtype])
    args = (np.ones((4, 2)), indices, np.ones((3, 2)))
    with pytest.raises(EvaluationError):
        evaluate(p, *args)
    c = lo.compile(p)
    with pytest.raises(EvaluationError, match=rf"gather: index {bad} .*size 4"):
        c.evaluate(*args)
    only_scatter = parse_program(
        f"def f(x: f64[4, 2], i: {dtype}[3], u: f64[3, 2]) -> f64[4, 2]:\n"
        "    s: f64[4, 2] = scatter_add(x, i, u)\n    return s\n")
    with pytest.raises(EvaluationError, match=rf"scatter_add: index {bad} "):
        lo.compile(only_scatter).evaluate(*args)


@pytest.mark.parametrize("bad", [-1, 50])
def test_a_long_index_array_is_checked_too(bad: int) -> None:
    """More indices than the short-list check takes: the array library's reduction."""
    p = parse_program("def f(x: f64[50], i: i32[40]) -> f64[40]:\n"
                      "    g: f64[40] = gather(x, i)\n    return g\n")
    indices = np.arange(40, dtype=np.int32)
    agree_with_reference("def f(x: f64[50], i: i32[40]) -> f64[40]:\n"
                         "    g: f64[40] = gather(x, i)\n    return g\n",
                         np.arange(50.0), indices)
    indices[37] = bad
    with pytest.raises(EvaluationError, match=rf"gather: index {bad} "):
        lo.compile(p).evaluate(np.arange(50.0), indices)


def test_an_index_into_a_size_0_axis_is_an_evaluation_error() -> None:
    p = parse_program("def f(x: f64[0, 2], i: i64[]) -> f64[2]:\n"
                      "    g: f64[2] = gather(x, i)\n    return g\n")
    with pytest.raises(EvaluationError, match=r"gather: index 0 .*size 0"):
        lo.compile(p).evaluate(np.zeros((0, 2)), np.int64(0))


SCATTER = """
def f(x: {t}[{n}, {w}], i: i64[{m}], u: {t}[{m}, {w}], v: {t}[{w}, {m}])
& -> ({t}[{n}, {w}], {t}[{w}, {n}]):
    a: {t}[{n}, {w}] = scatter_add(x, i, u)
    y: {t}[{w}, {n}] = transpose(x, permutation=(1, 0))
    b: {t}[{w}, {n}] = scatter_add(y, i, v, axis=-1)
    return a, b
"""

SCATTERED = [
    (4, [3, 3, 0, 3, 1, 3]),
    (4, [2, 0, 3]),
    (40, [39, 0, 17]),
    (40, [5, 17, 5]),
    (1, [0, 0, 0, 0, 0]),
    (4, [1] * 10 + [0, 3, 1]),  # more repeats than rounds are worth on NumPy
]
"""Axis sizes and indices: repeats and distinct indices, few and many against the axis."""


def scatter_case(t: str, n: int, indices: list[int], w: int) -> tuple[str, tuple]:
    """The SCATTER program and arguments whose magnitudes spread over 30 binades, so that
    every order of addition rounds differently."""
    m = len(indices)
    rng = np.random.default_rng(n * 100 + m * 10 + w)
    dtype = np.float64 if t == "f64" else np.float32

    def spread(shape: tuple[int, int]) -> np.ndarray:
        return (rng.standard_normal(shape) * 2.0 ** rng.integers(-15, 15, shape)).astype(dtype)

    return (SCATTER.format(t=t, n=n, m=m, w=w),
            (spread((n, w)), np.array(indices, np.int64), spread((m, w)), spread((w, m))))


@pytest.mark.parametrize("n, indices", SCATTERED)
@pytest.mark.parametrize("w", [3, 9])  # slabs below and above ROWS_FROM: both NumPy paths
@pytest.mark.parametrize("t", ["f64", "f32"])
def test_scatter_add_adds_in_row_major_order_bit_for_bit(n: int, indices: list[int], w: int,
                                                         t: str) -> None:
    """Only the stated order reproduces the reference's bits."""
    text, args = scatter_case(t, n, indices, w)
    x, _, u, _ = args
    agree_with_reference(text, *args)
    # against the mathematical sum: γ_k·(|x| + Σ|u|), k the updates an element receives
    got = lo.compile(prog(text)).evaluate(*args)
    truth = evaluate(prog(text), *args, dps=40)
    k = max(indices.count(j) for j in set(indices))
    eps = float(np.finfo(x.dtype).eps) / 2
    gamma = k * eps / (1 - k * eps)
    magnitude = np.abs(x.astype(np.float64))
    np.add.at(magnitude, np.array(indices), np.abs(u.astype(np.float64)))
    exact = np.array([[float(e) for e in row] for row in truth[0]])
    assert np.all(np.abs(np.asarray(got[0], np.float64) - exact) <= gamma * magnitude)


@pytest.mark.parametrize("n, indices", SCATTERED)
@pytest.mark.parametrize("w", [1, 3])
def test_scatter_add_off_numpy_keeps_the_order_by_rounds(n: int, indices: list[int],
                                                         w: int) -> None:
    """On an array library other than NumPy (CuPy's add.at adds in no fixed order) every
    repeated index goes through rounds of distinct indices: the same bits, shown here by a
    plan bound to a table named otherwise that holds NumPy itself."""
    import scipy.special

    from lintra.optimized.arrays import ArrayTable
    from lintra.optimized.convert import from_program
    from lintra.optimized.plan import Plan

    text, args = scatter_case("f64", n, indices, w)
    p = prog(text)
    emulated = ArrayTable("numpy-without-add-at", np, scipy.special, np.asarray)
    got = Plan(from_program(p), emulated)(*args)
    for g, want in zip(got, evaluate(p, *args)):
        same_bits(g, want)
    rank1 = parse_program(f"def g(x: f64[{n}], i: i64[{len(indices)}], u: f64[{len(indices)}])"
                          f" -> f64[{n}]:\n    y: f64[{n}] = scatter_add(x, i, u)\n"
                          "    return y\n")
    args1 = (args[0][:, 0].copy(), args[1], args[2][:, 0].copy())
    same_bits(Plan(from_program(rank1), emulated)(*args1)[0], evaluate(rank1, *args1)[0])


def test_the_spec_example_of_a_repeated_index() -> None:
    text = """
def repeated(x: f64[1], i: i64[3], u: f64[3]) -> f64[1]:
    y: f64[1] = scatter_add(x, i, u)
    return y
"""
    args = (np.zeros(1), np.zeros(3, np.int64), np.array([1e16, 1.0, 1.0]))
    agree_with_reference(text, *args)
    (y,) = lo.compile(prog(text)).evaluate(*args)
    same_bits(y, np.array([1e16]))  # ((0 + 1e16) + 1) + 1: each + 1 rounds back to 1e16


def test_scatter_add_wraps_integers_and_takes_a_rank_0_index() -> None:
    text = """
def f(x: i32[2, 3], k: i64[], u: i32[2], y: i64[3], i: i32[4], w: i64[4])
& -> (i32[2, 3], i64[3]):
    a: i32[2, 3] = scatter_add(x, k, u, axis=1)
    b: i64[3] = scatter_add(y, i, w)
    return a, b
"""
    x = np.array([[2**31 - 1, 0, 5], [-(2**31), 1, 2]], np.int32)
    args = (x, np.int64(0), np.array([1, -1], np.int32),
            np.array([2**62, 0, -(2**63)], np.int64), np.array([0, 0, 2, 0], np.int32),
            np.array([2**62, 2**62, -1, 1], np.int64))
    agree_with_reference(text, *args)
    a, b = lo.compile(prog(text)).evaluate(*args)
    assert int(a[0, 0]) == -(2**31) and int(a[1, 0]) == 2**31 - 1
    assert int(b[0]) == 3 * 2**62 + 1 - 2**64 and int(b[2]) == 2**63 - 1


def test_derivatives_through_every_indexing_primitive() -> None:
    """Gather and scatter_add transpose into each other, the dynamic slices into each other;
    a chain of all four agrees with the reference in value, JVP and VJP."""
    text = """
def f(x: f64[5, 3], u: f64[2, 3], i: i64[4], s: i32[])
& -> (f64[2, 3], f64[5, 3], f64[]):
    g: f64[4, 3] = gather(x, i)
    d: f64[2, 3] = dynamic_slice(g, s, 0, slice_sizes=(2, 3))
    w: f64[5, 3] = dynamic_update_slice(x, d, s, s)
    a: f64[5, 3] = scatter_add(w, i, g)
    b: f64[5, 3] = dynamic_update_slice(a, u, 4, -2)
    r: f64[] = reduce_sum(b, axes=(0, 1))
    return d, b, r
"""
    x = np.arange(15.0).reshape(5, 3) / 4 - 1
    args = (x, np.array([[-0.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), np.array([4, 1, 1, 0]),
            np.int32(2))
    agree_with_reference(text, *args)
    _, lin = lo.compile(prog(text)).linearize(*args)
    prims = {e.primitive for e in lin.transpose().program.equations}
    assert {"scatter_add", "gather", "dynamic_slice", "dynamic_update_slice"} <= prims, prims


def test_a_constant_update_still_hides_the_tangent_under_it() -> None:
    """dynamic_update_slice(x, c) with c constant: the tangent is dx with c's block zeroed,
    and scatter_add(x, i, c) passes dx through unchanged."""
    text = """
def f(x: f64[4]) -> (f64[4], f64[4]):
    c: f64[2] = broadcast_in_dim(7.0, shape=(2,), broadcast_dimensions=())
    a: f64[4] = dynamic_update_slice(x, c, 1)
    return a, x
"""
    c = lo.compile(prog(text))
    _, (da, _) = c.jvp([np.arange(4.0)], [np.array([1.0, 2.0, 3.0, 4.0])])
    same_bits(da, np.array([1.0, 0.0, 0.0, 4.0]))
    agree_with_reference(text, np.arange(4.0))


INVALID = {
    "ds_count": ("dynamic_slice(x, 0, slice_sizes=(1, 1))", "f64[1, 1]", ShapeError),
    "ds_sizes": ("dynamic_slice(x, 0, 0, slice_sizes=(3, 1))", "f64[3, 1]", ShapeError),
    "ds_sizes_len": ("dynamic_slice(x, 0, 0, slice_sizes=(1,))", "f64[1]", ShapeError),
    "ds_float_start": ("dynamic_slice(x, 0.0, 0, slice_sizes=(1, 1))", "f64[1, 1]",
                       LintraTypeError),
    "ds_rank1_start": ("dynamic_slice(x, k, 0, slice_sizes=(1, 1))", "f64[1, 1]", ShapeError),
    "ds_missing": ("dynamic_slice(x, 0, 0)", "f64[1, 1]", LintraTypeError),
    "dus_fit": ("dynamic_update_slice(x, w, 0, 0)", "f64[2, 3]", ShapeError),
    "dus_rank": ("dynamic_update_slice(x, k, 0, 0)", "f64[2, 3]", LintraTypeError),
    "dus_starts": ("dynamic_update_slice(x, x, 0)", "f64[2, 3]", ShapeError),
    "gather_dtype": ("gather(x, x)", "f64[2, 2, 3, 3]", LintraTypeError),
    "gather_axis": ("gather(x, k, axis=2)", "f64[2, 3]", ShapeError),
    "gather_axis_neg": ("gather(x, k, axis=-3)", "f64[2, 3]", ShapeError),
    "gather_axis_kind": ("gather(x, k, axis=(0,))", "f64[2, 3]", LintraTypeError),
    "gather_rank0": ("gather(s, k)", "f64[2]", ShapeError),
    "scatter_bool": ("scatter_add(b, k, b)", "bool[2, 3]", LintraTypeError),
    "scatter_shape": ("scatter_add(x, k, x)", "f64[2, 3]", ShapeError),
    "scatter_dtype": ("scatter_add(x, k, c)", "f64[2, 3]", LintraTypeError),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_ill_typed_equations_raise_the_reference_class(name: str) -> None:
    eqn, out, error = INVALID[name]
    p = parse_program(
        "def bad(x: f64[2, 3], k: i64[1], w: f64[3, 3], s: f64[], b: bool[2, 3], "
        f"c: f32[2, 1, 3]) -> {out}:\n    y: {out} = {eqn}\n    return y\n")
    with pytest.raises(LintraError) as ref:
        check(p)
    with pytest.raises(LintraError) as got:
        lo.compile(p)
    assert type(ref.value) is error, ref.value
    assert type(got.value) is error, got.value
