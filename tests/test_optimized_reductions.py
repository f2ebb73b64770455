"""The optimized engine's reductions, scans and sort (spec 3.7) against the reference: the
special values (sums of −0s, +0 above −0, nan first in argmax, nan last in sort, empty
reductions), integer wrap-around, reverse scans and negative axes, bit for bit where the
spec's value is fixed (extremes, scans, sort) and within γ_(n−1)·Σ|x| of the mpmath sum for
reduce_sum; the derivative conventions of chapter 6 at ties bit for bit, cumprod's partials
within the per-factor claim and exact at zeros, the emitted programs, and the type errors."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.reference import check, evaluate, jvp, vjp
from tests.harness import evaluated_as_the_reference_evaluates as both
from tests.harness import refused_as_the_reference_refuses
from tests.test_optimized_structure import prog, same_bits

NAN, INF = float("nan"), float("inf")

ROWS = np.array([
    [3.0, -0.0, 0.0, 3.0, -1.0],
    [-0.0, -0.0, -0.0, -0.0, -0.0],
    [NAN, 2.0, INF, NAN, -INF],
    [1e308, 1e308, -1e308, 5e-324, -5e-324],
    [-INF, -INF, 2.5, 2.5, 2.5],
])

EXACT = """
def f(x: f64[5, 5], n: i32[2, 3], k: i64[4])
& -> (f64[5], f64[5], f64[5], i64[5], i32[5], i64[5], f64[5, 5], f64[5, 5], f64[5, 5],
&     f64[5, 5], f64[5, 5], f64[5, 5], i32[3], i32[2], i32[2, 3], i32[2, 3], i64[4], i64[])
:
    a: f64[5] = reduce_max(x, axes=(1,))
    b: f64[5] = reduce_min(x, axes=(-1,))
    c: f64[5] = reduce_max(x, axes=(0,))
    d: i64[5] = argmax(x, axis=1)
    e: i32[5] = argmin(x, axis=-1, index_dtype="i32")
    g: i64[5] = argmax(x, axis=0)
    h: f64[5, 5] = cummax(x, axis=1)
    m: f64[5, 5] = cummax(x, axis=-1, reverse=true)
    s: f64[5, 5] = cumsum(x, axis=1)
    t: f64[5, 5] = cumsum(x, axis=0, reverse=true)
    p: f64[5, 5] = cumprod(x, axis=1, reverse=true)
    o: f64[5, 5] = sort(x, dimension=1)
    u: i32[3] = reduce_max(n, axes=(0,))
    v: i32[2] = reduce_min(n, axes=(1,))
    w: i32[2, 3] = cumprod(n, axis=1)
    q: i32[2, 3] = cummax(n, axis=0, reverse=true)
    r: i64[4] = cumsum(k, axis=0)
    z: i64[] = reduce_sum(k, axes=(0,))
    return a, b, c, d, e, g, h, m, s, t, p, o, u, v, w, q, r, z
""".replace(")\n:", "):")


def test_extremes_scans_sort_and_integers_equal_the_reference_bit_for_bit() -> None:
    n = np.array([[2 ** 31 - 1, -5, 0], [3, -(2 ** 31), 7]], np.int32)
    k = np.array([2 ** 62, 2 ** 62, 2 ** 62, -3], np.int64)
    got = both(EXACT, ROWS, n, k)
    a, _, _, d, e, _, h, *_ = got
    assert a[1] == 0 and np.signbit(a[1])  # the max of −0s is −0
    assert np.isnan(a[2]) and d[2] == 0 and e[2] == 0  # nan propagates; the first nan wins
    assert h[0].tolist() == [3.0, 3.0, 3.0, 3.0, 3.0]
    assert int(got[-1]) == 3 * 2 ** 62 - 3 - 2 ** 64  # wraps around


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_zero_signs_of_max_min_and_cummax(dtype: str) -> None:
    text = f"""
def f(x: {dtype}[4, 3]) -> ({dtype}[4], {dtype}[4], {dtype}[4, 3], {dtype}[4, 3]):
    a: {dtype}[4] = reduce_max(x, axes=(1,))
    b: {dtype}[4] = reduce_min(x, axes=(1,))
    c: {dtype}[4, 3] = cummax(x, axis=1)
    d: {dtype}[4, 3] = cummax(x, axis=1, reverse=true)
    return a, b, c, d
"""
    x = np.array([[-0.0, 0.0, -0.0], [0.0, -0.0, -1.0], [-0.0, -0.0, -2.0],
                  [-3.0, -0.0, 0.0]], dtype.replace("f", "float"))
    a, b, c, d = both(text, x)
    assert list(np.signbit(a)) == [False, False, True, False]
    assert list(np.signbit(b)) == [True, True, True, True]
    assert list(np.signbit(c[0])) == [True, False, False]  # max(+0, −0) = +0 along the scan
    assert list(np.signbit(d[0])) == [False, False, True]


def test_reduce_sum_within_its_bound_and_its_special_values() -> None:
    text = """
def f(x: f64[3, 40], z: f64[0, 2], s: f64[], w: f32[64])
& -> (f64[40], f64[3], f64[], f64[2], f64[], f64[3, 40], f32[]):
    a: f64[40] = reduce_sum(x, axes=(0,))
    b: f64[3] = reduce_sum(x, axes=(1,))
    c: f64[] = reduce_sum(x, axes=(1, 0))
    d: f64[2] = reduce_sum(z, axes=(0,))
    e: f64[] = reduce_sum(s, axes=())
    g: f64[3, 40] = reduce_sum(x, axes=())
    h: f32[] = reduce_sum(w, axes=(0,))
    return a, b, c, d, e, g, h
"""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 40)) * 10.0 ** rng.integers(-5, 5, (3, 40))
    w = rng.standard_normal(64).astype(np.float32)
    p = prog(text)
    got = lo.compile(p).evaluate(x, np.zeros((0, 2)), np.float64(-0.0), w)
    exact = evaluate(p, x, np.zeros((0, 2)), np.float64(-0.0), w, dps=40)
    for k, (g, t, arr, axes) in enumerate(zip(got, exact, (x, x, x, None, None, None, w),
                                             ((0,), (1,), (0, 1), None, None, None, (0,)))):
        if arr is None:
            continue
        n = int(np.prod([arr.shape[a] for a in axes]))
        u = np.finfo(arr.dtype).eps / 2
        bound = (n - 1) * u / (1 - (n - 1) * u) * np.sum(np.abs(arr.astype(np.float64)),
                                                           axis=axes) * (1 + 2 * n * u)
        t = np.vectorize(float, otypes=[np.float64])(np.asarray(t, object))
        assert np.all(np.abs(np.asarray(g, np.float64) - t) <= bound), k
    same_bits(got[3], np.zeros(2))  # an empty sum is +0
    assert np.signbit(got[4])  # axes=() copies x
    same_bits(got[5], x)
    signs = """
def f(x: f64[2, 3]) -> f64[2]:
    a: f64[2] = reduce_sum(x, axes=(1,))
    return a
"""
    (a,) = both(signs, np.array([[-0.0, -0.0, -0.0], [-0.0, 0.0, -0.0]]))
    assert list(np.signbit(a)) == [True, False]  # a sum of −0s only is −0


EMPTY = """
def f(x: f64[0, 3], n: i32[2, 0], w: f64[3])
& -> (f64[3], f64[3], f64[3], i32[2], i32[2], f64[0, 3], f64[3], f64[0, 3], f64[0, 3]):
    a: f64[3] = reduce_max(x, axes=(0,))
    b: f64[3] = reduce_min(x, axes=(0,))
    c: f64[3] = reduce_sum(x, axes=(0,))
    d: i32[2] = reduce_max(n, axes=(1,))
    e: i32[2] = reduce_min(n, axes=(1,))
    g: f64[0, 3] = cumprod(x, axis=0)
    h: f64[3] = max(a, w)
    k: f64[0, 3] = sort(x, dimension=0)
    m: f64[0, 3] = cummax(x, axis=1)
    return a, b, c, d, e, g, h, k, m
"""


def test_empty_reductions_are_the_identities_and_their_tangents_zero() -> None:
    x, n, w = np.zeros((0, 3)), np.zeros((2, 0), np.int32), np.array([1.0, -2.0, 3.0])
    a, b, _, d, e, *_ = both(EMPTY, x, n, w)
    assert (a == -INF).all() and (b == INF).all()
    assert d.tolist() == [-(2 ** 31)] * 2 and e.tolist() == [2 ** 31 - 1] * 2
    p = prog(EMPTY)
    c = lo.compile(p)
    dw = np.array([1.0, 1.0, 1.0])
    _, tangents = c.jvp([x, n, w], [np.zeros((0, 3)), dw])
    same_bits(tangents[0], np.zeros(3))  # a symbolic zero, not 0/0 = nan
    same_bits(tangents[4], dw)  # ∂w of max(reduce_max(empty), w) = 1 in forward mode
    cts = [np.ones(3)] * 3 + [np.ones((0, 3)), np.ones(3), np.ones((0, 3)), np.ones((0, 3))]
    _, ct_w = c.vjp(x, n, w)[1](*cts)
    same_bits(ct_w, np.ones(3))  # and in reverse mode
    check(c.jvp_program())


def test_argmax_argmin_ties_nan_and_index_dtypes() -> None:
    text = """
def f(x: f64[4, 4], k: i64[3]) -> (i64[4], i32[4], i64[4], i32[])
:
    a: i64[4] = argmax(x, axis=1)
    b: i32[4] = argmin(x, axis=1, index_dtype="i32")
    c: i64[4] = argmin(x, axis=0)
    d: i32[] = argmax(k, axis=-1, index_dtype="i32")
    return a, b, c, d
""".replace(")\n:", "):")
    x = np.array([[1.0, 3.0, 3.0, -1.0], [0.0, -0.0, NAN, NAN], [-INF, -INF, INF, INF],
                  [2.0, NAN, -5.0, -5.0]])
    a, b, c, d = both(text, x, np.array([7, 7, -1], np.int64))
    assert a.tolist() == [1, 2, 2, 1] and b.tolist() == [3, 2, 0, 1]
    assert c.tolist() == [2, 3, 1, 1] and int(d) == 0 and b.dtype == np.int32


def test_sort_keys_values_nan_last_and_stability() -> None:
    text = """
def f(k: f64[2, 6], v: i64[2, 6], b: bool[2, 6], w: f32[2, 6])
& -> (f64[2, 6], i64[2, 6], f32[2, 6], bool[2, 6], i64[2, 6], f64[2, 6], f32[2, 6], f64[2, 6])
:
    s: f64[2, 6], t: i64[2, 6], u: f32[2, 6] = sort(k, v, w, dimension=1)
    c: bool[2, 6], d: i64[2, 6], e: f64[2, 6], g: f32[2, 6] = sort(b, v, k, w, num_keys=2)
    h: f64[2, 6] = sort(k, dimension=0)
    return s, t, u, c, d, e, g, h
""".replace(")\n:", "):")
    k = np.array([[3.0, NAN, -0.0, 0.0, -INF, -0.0], [1.0, 1.0, NAN, INF, NAN, 0.0]])
    v = np.array([[0, 1, 2, 3, 4, 5], [5, 3, 4, 1, 2, 0]])
    b = np.array([[True, False, True, False, True, False], [False] * 6])
    w = np.arange(12, dtype=np.float32).reshape(2, 6)
    s, t, *_ = both(text, k, v, b, w)
    assert t[0].tolist() == [4, 2, 3, 5, 0, 1]  # −0 and +0 keep their order; nan last
    assert list(np.signbit(s[0, 1:4])) == [True, False, True]


DERIVATIVES = """
def f(x: f64[3, 4], y: f32[5])
& -> (f64[3], f64[4], f64[3, 4], f64[3, 4], f64[3, 4], f64[3, 4], f64[3, 4], f32[5], f32[],
&     f32[5], f64[3, 4], f32[5])
:
    a: f64[3] = reduce_max(x, axes=(1,))
    b: f64[4] = reduce_min(x, axes=(0,))
    c: f64[3, 4] = cummax(x, axis=1)
    d: f64[3, 4] = cummax(x, axis=0, reverse=true)
    e: f64[3, 4] = cumprod(x, axis=1)
    g: f64[3, 4] = cumprod(x, axis=-2, reverse=true)
    h: f64[3, 4] = cumsum(x, axis=1, reverse=true)
    k: f32[5] = cumprod(y, axis=0)
    m: f32[] = reduce_max(y, axes=(0,))
    n: f32[5] = sort(y)
    o: f64[3, 4] = sort(x, dimension=0)
    q: f32[5] = cumsum(y, axis=0)
    return a, b, c, d, e, g, h, k, m, n, o, q
""".replace(")\n:", "):")

# ties of two (exact halves), zeros in products, signed zeros, a nan row
X = np.array([[2.0, -1.0, 2.0, 0.5], [0.0, 3.0, 0.0, -0.0], [1.5, 1.5, -4.0, 1.5]])
Y = np.array([0.5, -2.0, 0.5, 4.0, 4.0], np.float32)


def test_derivatives_at_ties_and_zeros_equal_the_reference_bit_for_bit() -> None:
    p = prog(DERIVATIVES)
    c = lo.compile(p)
    rng = np.random.default_rng(5)
    # tangents of small integers: every sum and product of them is exact in any order
    dx = rng.integers(-8, 8, X.shape).astype(np.float64)
    dy = rng.integers(-8, 8, Y.shape).astype(np.float32)
    (outs, touts), (r_outs, r_touts) = c.jvp([X, Y], [dx, dy]), jvp(p, [X, Y], [dx, dy])
    for g, w in zip((*outs, *touts), (*r_outs, *r_touts), strict=True):
        same_bits(g, w)
    assert touts[0][0] == (dx[0, 0] + dx[0, 2]) / 2  # the mean over the tie
    cts = [rng.integers(-8, 8, np.shape(o)).astype(np.asarray(o).dtype) for o in outs]
    got = c.vjp(X, Y)[1](*cts)
    want = vjp(p, X, Y)[1](*cts)
    for g, w in zip(got, want, strict=True):
        same_bits(g, w)
    check(c.jvp_program())
    _, lin = c.linearize(X, Y)
    check(lin.program)
    check(lin.transpose().program)


def test_nan_result_of_reduce_max_has_a_nan_tangent() -> None:
    text = """
def f(x: f64[3]) -> (f64[], f64[3]):
    a: f64[] = reduce_max(x, axes=(0,))
    b: f64[3] = cummax(x, axis=0)
    return a, b
"""
    p = prog(text)
    x, dx = np.array([1.0, NAN, 2.0]), np.array([1.0, 1.0, 1.0])
    _, (da, db) = lo.compile(p).jvp([x], [dx])
    _, (ra, rb) = jvp(p, [x], [dx])
    same_bits(da, ra)
    same_bits(db, rb)
    assert np.isnan(da) and db[0] == 1.0 and np.isnan(db[1:]).all()


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_partials_within_one_ulp_per_factor(dtype: str, reverse: bool) -> None:
    """∂y_i/∂x_j is the product of the other factors of y_i; the claim allows n ulp of the
    true partial with n factors in it (spec 3.7, per_term)."""
    n = 7
    np_dtype = np.dtype(dtype.replace("f", "float"))
    text = f"""
def f(x: {dtype}[{n}]) -> {dtype}[{n}]:
    y: {dtype}[{n}] = cumprod(x, axis=0, reverse={str(reverse).lower()})
    return y
"""
    p = prog(text)
    c = lo.compile(p)
    rng = np.random.default_rng(7)
    x = (rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)).astype(np_dtype)
    for j in range(n):
        e = np.zeros(n, np_dtype)
        e[j] = 1
        _, (col,) = c.jvp([x], [e])
        _, (exact,) = jvp(p, [x], [e], dps=40)
        exact = np.vectorize(float, otypes=[np.float64])(np.asarray(exact, object))
        for i in range(n):
            factors = (i + 1) if not reverse else (n - i)
            ulp = float(np.spacing(np_dtype.type(abs(exact[i])))) if exact[i] else 0.0
            assert abs(float(col[i]) - exact[i]) <= factors * ulp, (j, i, col[i], exact[i])


def test_cumprod_tangents_are_exact_at_zeros() -> None:
    text = """
def f(x: f64[5]) -> f64[5]:
    y: f64[5] = cumprod(x, axis=0)
    return y
"""
    p = prog(text)
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    _, (dy,) = lo.compile(p).jvp([x], [np.array([1.0, 1.0, 1.0, 1.0, 1.0])])
    # dy_i = Σ_j Π_(k≠j) x_k: 1; 2 + 0 (the zero's partial is 2); 6; 0 (two zeros); 0
    same_bits(dy, np.array([1.0, 2.0, 6.0, 0.0, 0.0]))


def test_sort_tangents_follow_the_stable_permutation() -> None:
    text = """
def f(k: f64[2, 4], v: f64[2, 4]) -> (f64[2, 4], f64[2, 4]):
    a: f64[2, 4], b: f64[2, 4] = sort(k, v, dimension=1)
    return a, b
"""
    k = np.array([[1.0, -0.0, 1.0, 0.0], [NAN, 2.0, -INF, 2.0]])
    v = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    dk, dv = 10 * v, -v
    _, (da, db) = lo.compile(prog(text)).jvp([k, v], [dk, dv])
    same_bits(db, -np.array([[2.0, 4.0, 1.0, 3.0], [7.0, 6.0, 8.0, 5.0]]))
    same_bits(da, -10 * db)


@pytest.mark.parametrize("text", [
    "def f(x: bool[3]) -> bool[]:\n    y = reduce_max(x, axes=(0,))\n    return y\n",
    "def f(x: f64[3]) -> f64[]:\n    y = reduce_max(x, axes=(1,))\n    return y\n",
    "def f(x: f64[3]) -> f64[]:\n    y = reduce_min(x, axes=(0, -1))\n    return y\n",
    "def f(x: f64[3]) -> f64[]:\n    y = reduce_sum(x, axes=0)\n    return y\n",
    "def f(x: f64[3]) -> f64[]:\n    y = reduce_sum(x)\n    return y\n",
    "def f(x: f64[0, 2]) -> i64[2]:\n    y = argmax(x, axis=0)\n    return y\n",
    "def f(x: f64[3]) -> i64[]:\n    y = argmin(x, axis=0, index_dtype=\"f64\")\n    return y\n",
    "def f(x: f64[3]) -> i64[]:\n    y = argmin(x, axis=(0,))\n    return y\n",
    "def f(x: f64[]) -> i64[]:\n    y = argmax(x, axis=0)\n    return y\n",
    "def f(x: bool[3]) -> i64[]:\n    y = argmax(x, axis=0)\n    return y\n",
    "def f(x: f64[]) -> f64[]:\n    y = cumsum(x, axis=0)\n    return y\n",
    "def f(x: f64[3]) -> f64[3]:\n    y = cumprod(x, axis=0, reverse=1)\n    return y\n",
    "def f(x: bool[3]) -> bool[3]:\n    y = cummax(x, axis=0)\n    return y\n",
    "def f(x: f64[3], y: f64[2]) -> f64[3]:\n    a, b = sort(x, y)\n    return a\n",
    "def f(x: f64[3], y: f64[3]) -> f64[3]:\n    a, b = sort(x, y, num_keys=3)\n    return a\n",
    "def f(x: f64[3]) -> f64[3]:\n    a = sort(x, num_keys=0)\n    return a\n",
    "def f(x: f64[]) -> f64[]:\n    a = sort(x)\n    return a\n",
    "def f(x: f64[3]) -> f64[3]:\n    a = sort(x, dimension=1)\n    return a\n",
    "def f(x: lin f64[3]) -> f64[]:\n    a = reduce_max(x, axes=(0,))\n    return a\n",
])
def test_type_errors_are_the_reference_classes(text: str) -> None:
    p = prog(text)
    refused_as_the_reference_refuses(p, lambda: lo.compile(p)._plan)


def test_the_paths_for_other_array_libraries_give_the_same_bits() -> None:
    """The kernels' paths for libraries other than NumPy (CuPy: no ``accumulate``, a radix
    sort that orders −0 before +0, no ``lexsort`` along an axis, no ``initial``), run here
    through a table over NumPy under another name."""
    import scipy.special

    from lintra.optimized.arrays import ArrayTable
    from lintra.optimized.convert import from_program
    from lintra.optimized.plan import Plan

    generic = ArrayTable("generic", np, scipy.special, np.asarray)
    text = """
def f(x: f64[5, 5], v: i64[5, 5], b: bool[5, 5])
& -> (f64[5, 5], f64[5, 5], f64[5, 5], i64[5, 5], f64[5, 5], bool[5, 5], f64[5], f64[5],
&     i64[5, 5], f64[5, 5])
:
    a: f64[5, 5] = cummax(x, axis=1)
    c: f64[5, 5] = cummax(x, axis=0, reverse=true)
    s: f64[5, 5] = sort(x, dimension=1)
    k: f64[5, 5], t: i64[5, 5] = sort(x, v, dimension=0)
    d: bool[5, 5], e: f64[5, 5], g: i64[5, 5] = sort(b, x, v, num_keys=2)
    m: f64[5] = reduce_sum(x, axes=(1,))
    n: f64[5] = reduce_max(x, axes=(0,))
    w: i64[5, 5] = cummax(v, axis=1)
    return a, c, s, t, e, d, m, n, w, k
""".replace(")\n:", "):")
    p = prog(text)
    x = ROWS.copy()
    x[0, 4] = 0.0  # ties of −0 and +0 in the keys
    v = np.arange(25, dtype=np.int64).reshape(5, 5)[::-1] % 7
    b = (v % 2).astype(bool)
    got = Plan(from_program(p), generic)(x, v, b)
    for g, w in zip(got, evaluate(p, x, v, b), strict=True):
        same_bits(g, w)


def test_size_0_operands_along_kept_axes() -> None:
    text = """
def f(x: f64[0, 3], n: i32[0, 3])
& -> (f64[0], i64[0], f64[0, 3], f64[0, 3], f64[0], i32[0, 3], f64[0, 3], f64[0, 3])
:
    a: f64[0] = reduce_max(x, axes=(1,))
    b: i64[0] = argmax(x, axis=1)
    c: f64[0, 3] = cummax(x, axis=1)
    d: f64[0, 3] = cumsum(x, axis=1, reverse=true)
    e: f64[0] = reduce_sum(x, axes=(1,))
    g: i32[0, 3] = cumprod(n, axis=1)
    h: f64[0, 3] = sort(x, dimension=1)
    k: f64[0, 3] = cumprod(x, axis=1, reverse=true)
    return a, b, c, d, e, g, h, k
""".replace(")\n:", "):")
    x, n = np.zeros((0, 3)), np.zeros((0, 3), np.int32)
    both(text, x, n)
    c = lo.compile(prog(text))
    _, tangents = c.jvp([x, n], [x])
    assert [np.shape(t) for t in tangents] == [(0,), (0, 3), (0, 3), (0,), (0, 3), (0, 3)]
    cts = [np.zeros((0,)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0,)),
           np.zeros((0, 3)), np.zeros((0, 3))]
    (ct_x,) = c.vjp(x, n)[1](*cts)
    same_bits(ct_x, np.zeros((0, 3)))
