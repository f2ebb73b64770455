"""lintra.optimized.numpy (lnp) against NumPy: values, dtypes and shapes of the functions a
model is written with, traced under ``lo.jit`` and run at once outside any transformation.

Tolerances: an elementwise function is one call of the same library function in both (the
engine's plan calls NumPy or SciPy), so the results agree to a few units in the last place
(``ULPS`` ulps, relative); a sum of n terms may be associated differently, so it agrees
within the standard bound n·u·Σ|xᵢ| (u the unit roundoff); contractions likewise with the
contracted length."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special

import lintra.optimized as lo
import lintra.optimized.numpy as lnp
from lintra.reference import check
from lintra.reference import grad as reference_grad
from lintra.reference.errors import LintraTypeError, ShapeError, UnsupportedPrimitiveError

U = np.finfo(np.float64).eps / 2
ULPS = 4


def close(got: np.ndarray, want: np.ndarray, rtol: float = ULPS * 2 * U) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


def sum_close(got: np.ndarray, want: np.ndarray, terms: np.ndarray, n: int) -> None:
    """Agreement within n·u·Σ|terms| per result element (twice: both sides err)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    bound = 2 * n * U * terms
    assert np.all(np.abs(got - want) <= bound + 1e-300), np.max(np.abs(got - want) - bound)


RNG = np.random.default_rng(7)
X = RNG.uniform(0.1, 0.9, (3, 4))
Y = RNG.uniform(-2.0, 2.0, (3, 4))

UNARY = [
    ("sin", X), ("cos", X), ("tan", X), ("arcsin", X), ("arccos", X), ("arctan", Y),
    ("sinh", Y), ("cosh", Y), ("tanh", Y), ("arcsinh", Y), ("arccosh", X + 1.0),
    ("arctanh", X), ("exp", Y), ("expm1", Y), ("log", X), ("log1p", X), ("sqrt", X),
    ("cbrt", Y), ("abs", Y), ("sign", Y), ("floor", Y), ("ceil", Y), ("square", Y),
    ("negative", Y), ("absolute", Y), ("reciprocal", Y),
]


@pytest.mark.parametrize(("name", "x"), UNARY, ids=[n for n, _ in UNARY])
def test_unary_functions_match_numpy(name: str, x: np.ndarray) -> None:
    want = getattr(np, name)(x)
    close(lo.jit(getattr(lnp, name))(x), want)
    close(getattr(lnp, name)(x), want)  # outside a transformation: run at once


def test_functions_beyond_numpy_match_scipy() -> None:
    close(lnp.erf(Y), scipy.special.erf(Y))
    close(lnp.logistic(Y), scipy.special.expit(Y))
    # rsqrt is one primitive; 1/sqrt(x) rounds twice: within 1 ulp of each rounding
    close(lnp.rsqrt(X), 1 / np.sqrt(X), rtol=3 * 2 * U)
    close(lnp.log2(X), np.log2(X), rtol=4 * 2 * U / np.min(np.abs(np.log2(X))))


BINARY = [("add", X, Y), ("subtract", X, Y), ("multiply", X, Y), ("divide", X, Y),
          ("maximum", X, Y), ("minimum", X, Y), ("arctan2", Y, X), ("power", X, Y),
          ("fmod", Y, X), ("remainder", Y, X)]


@pytest.mark.parametrize(("name", "x", "y"), BINARY, ids=[n for n, *_ in BINARY])
def test_binary_functions_match_numpy(name: str, x: np.ndarray, y: np.ndarray) -> None:
    close(lo.jit(getattr(lnp, name))(x, y), getattr(np, name)(x, y))


def test_operators_broadcast_as_numpy_does() -> None:
    a, b, c = RNG.normal(size=(2, 1, 4)), RNG.normal(size=(3, 1)), RNG.normal(size=(4,))

    def f(a, b, c):
        return (a + b) * c - a / (b * b + 1.0), -a ** 2, 2.0 ** c, a @ np.ones((4, 2))

    got = lo.jit(f)(a, b, c)
    want = ((a + b) * c - a / (b * b + 1.0), -a ** 2, 2.0 ** c, a @ np.ones((4, 2)))
    for g, w in zip(got, want):
        close(g, w, rtol=16 * U)
    with pytest.raises(ShapeError, match=r"could not be broadcast together"):
        lo.jit(lambda p, q: p + q)(np.ones(3), np.ones(4))


def test_comparisons_and_logic() -> None:
    def f(x, y):
        return (x < y, x <= y, x > y, x >= y, x == y, x != y, (x < 0.5) & (y > 0),
                (x < 0.5) | (y > 0), ~(x < 0.5), lnp.isfinite(x / (y - y)),
                lnp.isnan(lnp.log(y)), lnp.isinf(x / (y - y)))

    with np.errstate(all="ignore"):
        want = (X < Y, X <= Y, X > Y, X >= Y, X == Y, X != Y, (X < 0.5) & (Y > 0),
                (X < 0.5) | (Y > 0), ~(X < 0.5), np.isfinite(X / (Y - Y)),
                np.isnan(np.log(Y)), np.isinf(X / (Y - Y)))
        for g, w in zip(lo.jit(f)(X, Y), want):
            assert g.dtype == np.bool_ and np.array_equal(g, w)


def test_operators_keep_their_rules_whatever_ran_before() -> None:
    """``/`` of integers is float division even after a ``//`` (whose integer quotient
    is made by the same primitive), operators and functions alike."""
    a, b = np.array([7, -7]), np.array([2, 2])
    floor, true = lo.jit(lambda x, y: (x // y, x / y))(a, b)
    assert floor.dtype == np.int64 and np.array_equal(floor, a // b)
    assert true.dtype == np.float64 and np.array_equal(true, a / b)
    assert np.array_equal(lo.jit(lambda x, y: lnp.divide(x, y) + (x < y))(a, b), a / b + (a < b))

def test_promotion_rules_stated_in_the_docs() -> None:
    f32, i32, i64 = X.astype(np.float32), np.arange(4, dtype=np.int32), np.arange(4)
    assert lo.jit(lambda a: a * 2.0)(f32).dtype == np.float32  # a weak scalar
    assert lo.jit(lambda a: a * 2)(i32).dtype == np.int32
    assert lo.jit(lambda a: a * 2.5)(i64).dtype == np.float64  # a higher kind: f64
    assert lo.jit(lambda a, b: a + b)(i32, i64).dtype == np.int64
    assert lo.jit(lambda a, b: a + b)(f32, i64).dtype == np.float32  # as JAX, not NumPy
    assert lo.jit(lambda a, b: a + b)(f32, X).dtype == np.float64
    assert lo.jit(lambda a: a / 2)(i64).dtype == np.float64
    assert lo.jit(lambda a: lnp.sin(a))(i64).dtype == np.float64
    assert lo.jit(lambda a: a.sum())(np.array([True, True])).dtype == np.int64
    assert lo.jit(lambda a, s: a * s)(f32, 3.0).dtype == np.float32  # a weak argument
    close(lo.jit(lambda a: a // 3)(np.arange(-5, 5)), np.arange(-5, 5) // 3)
    close(lo.jit(lambda a: a % 3)(np.arange(-5, 5)), np.arange(-5, 5) % 3)
    with pytest.raises(LintraTypeError, match="outside the range of i32"):
        lo.jit(lambda a: a + 2**40)(i32)


REDUCTIONS = [("sum", None, False), ("sum", 0, False), ("sum", (0, 2), True),
              ("mean", 1, False), ("mean", None, True), ("max", 2, False),
              ("min", (0, 1), True), ("prod", 1, False), ("prod", None, False),
              ("var", 0, False), ("std", (1, 2), False)]


@pytest.mark.parametrize(("name", "axis", "keepdims"), REDUCTIONS)
def test_reductions_match_numpy(name: str, axis: object, keepdims: bool) -> None:
    a = RNG.uniform(0.5, 1.5, (2, 3, 4))
    got = lo.jit(lambda v: getattr(lnp, name)(v, axis=axis, keepdims=keepdims))(a)
    want = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    n = a.size if axis is None else math.prod(
        a.shape[k] for k in ((axis,) if isinstance(axis, int) else axis))
    # each reduction is a sum (or product, or sums of squares) of n terms of size <= 1.5^n
    sum_close(got, want, np.full(np.shape(want), 4 * 1.5 ** n), n)


def test_arg_and_scan_reductions() -> None:
    a = RNG.normal(size=(3, 5))
    assert np.array_equal(lo.jit(lnp.argmax)(a), np.argmax(a))
    assert np.array_equal(lo.jit(lambda v: lnp.argmin(v, axis=1))(a), np.argmin(a, axis=1))
    close(lo.jit(lambda v: lnp.cumsum(v, axis=1))(a), np.cumsum(a, axis=1), rtol=1e-12)
    close(lo.jit(lambda v: v.cumprod(axis=0))(a), np.cumprod(a, axis=0), rtol=8 * U)


def test_logsumexp_and_softmax_are_stable() -> None:
    a = np.array([[1000.0, 999.0, -1000.0], [0.5, -np.inf, 2.0]])
    close(lnp.logsumexp(a, axis=1), scipy.special.logsumexp(a, axis=1), rtol=8 * U)
    close(lnp.logsumexp(a), scipy.special.logsumexp(a), rtol=8 * U)
    close(lnp.softmax(a, axis=1), scipy.special.softmax(a, axis=1), rtol=8 * U)
    close(lnp.log_softmax(a, axis=-1), scipy.special.log_softmax(a, axis=-1), rtol=8 * U)
    assert np.isneginf(lnp.logsumexp(np.array([-np.inf, -np.inf])))


def test_contractions_match_numpy() -> None:
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5))
    v, w = RNG.normal(size=4), RNG.normal(size=(4, 5))
    cases = [
        (lambda p, q: p @ q, (a, b)), (lambda p, q: lnp.matmul(p, q), (a, w)),
        (lambda p, q: p @ q, (v, w)), (lambda p, q: q.T @ p, (v, w)),
        (lambda p, q: lnp.dot(p, q), (v, v)), (lambda p, q: lnp.dot(p, q), (a, w)),
        (lambda p, q: lnp.tensordot(p, q, axes=([1, 2], [0, 1])), (a, RNG.normal(
            size=(3, 4, 2)))),
        (lambda p, q: lnp.einsum("bij,bjk->bik", p, q), (a, b)),
        (lambda p, q: lnp.einsum("bij,bjk->kb", p, q), (a, b)),
        (lambda p, q: lnp.einsum("ij,j", p, q), (w.T, v)),
        (lambda p, q: lnp.einsum("i,j->ij", p, q), (v, v)),
        (lambda p, q: lnp.einsum("bij->jb", p), (a, a)),
        (lambda p, q: lnp.outer(p, q), (v, v)), (lambda p, q: lnp.inner(p, q), (a, w.T)),
        (lambda p, q: lnp.trace(p), (w[:, :4], w)),
    ]
    numpy_cases = [
        a @ b, np.matmul(a, w), v @ w, w.T @ v, np.dot(v, v), np.dot(a, w),
        None, np.einsum("bij,bjk->bik", a, b), np.einsum("bij,bjk->kb", a, b),
        np.einsum("ij,j", w.T, v), np.einsum("i,j->ij", v, v), np.einsum("bij->jb", a),
        np.outer(v, v), np.inner(a, w.T), np.trace(w[:, :4]),
    ]
    for (fn, args), want in zip(cases, numpy_cases):
        got = lo.jit(fn)(*args)
        if want is None:
            want = np.tensordot(*args, axes=([1, 2], [0, 1]))
        # a sum of at most 12 products of standard normals (|x| < 6 here)
        sum_close(got, want, np.full(np.shape(want), 36.0 * 12), 12)
    e = RNG.normal(size=(3, 3))
    sum_close(lo.jit(lambda p, q, r: lnp.einsum("ij,jk,kl->il", p, q, r))(e, e, e),
              np.einsum("ij,jk,kl->il", e, e, e), np.full((3, 3), 36.0 * 36 * 9), 9)


EINSUMS = [("ii", "a"), ("ii->i", "a"), ("ij,jj->i", "a", "a"), ("iij->ij", "c"),
           ("iii->i", "e"), ("bij,jj->bi", "b3", "a"), ("...ij,...jk->...ik", "b", "f"),
           ("...j,jk", "b", "g"), ("...ij->...ji", "b"), ("i...,i...->...", "b", "b"),
           ("...ij,...jk", "d", "bt"), ("ij...,jk->ik...", "bm", "g"), ("...", "a")]


@pytest.mark.parametrize("case", EINSUMS, ids=[c[0] for c in EINSUMS])
def test_einsum_with_ellipsis_and_diagonals(case: tuple) -> None:
    """Values against NumPy's einsum (sums of at most 4 products of standard normals) and
    gradients against the reference's on the traced program (same products and sums, maybe
    associated otherwise: within 8 terms' rounding of the largest)."""
    b = RNG.normal(size=(2, 3, 4))
    arrays = {"a": RNG.normal(size=(3, 3)), "b": b, "b3": b[:, :, :3],
              "c": RNG.normal(size=(4, 4, 2)), "e": RNG.normal(size=(3, 3, 3)),
              "f": RNG.normal(size=(2, 4, 5)), "g": RNG.normal(size=(4, 2)),
              "d": RNG.normal(size=(1, 3, 4)), "bt": b.transpose(0, 2, 1),
              "bm": b.transpose(1, 2, 0)}
    subscripts, *names = case
    ops = [arrays[n] for n in names]
    want = np.einsum(subscripts, *ops)
    got = lo.jit(lambda *xs: lnp.einsum(subscripts, *xs))(*ops)
    sum_close(got, want, np.full(np.shape(want), 36.0 * 4), 4)

    def f(*xs: object) -> object:
        return lnp.sum(lnp.sin(lnp.einsum(subscripts, *xs)))

    program, constants = lo.make_program(f, with_constants=True)(*ops)
    check(program)
    argnums = tuple(range(len(ops)))
    ref = reference_grad(program, *ops, *constants, argnums=argnums)
    for g, r in zip(lo.grad(f, argnums=argnums)(*ops), ref):
        assert g.shape == r.shape
        assert np.all(np.abs(g - r) <= 16 * U * 36.0 * 8), subscripts
    with pytest.raises(LintraTypeError, match=r"'\.\.\.' missing"):
        lo.jit(lambda v: lnp.einsum("...ij->ij", v))(b)

def test_shape_functions_match_numpy() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    cases = [
        (lambda v: v.reshape(4, -1), lambda v: v.reshape(4, -1)),
        (lambda v: lnp.reshape(v, (6, 4)), lambda v: np.reshape(v, (6, 4))),
        (lambda v: v.T, lambda v: v.T),
        (lambda v: lnp.transpose(v, (1, 0, 2)), lambda v: np.transpose(v, (1, 0, 2))),
        (lambda v: lnp.swapaxes(v, 0, 2), lambda v: np.swapaxes(v, 0, 2)),
        (lambda v: lnp.moveaxis(v, 0, -1), lambda v: np.moveaxis(v, 0, -1)),
        (lambda v: lnp.squeeze(v[:, :1, :1]), lambda v: np.squeeze(v[:, :1, :1])),
        (lambda v: lnp.expand_dims(v, (0, 3)), lambda v: np.expand_dims(v, (0, 3))),
        (lambda v: lnp.concatenate([v, v * 2], axis=1),
         lambda v: np.concatenate([v, v * 2], axis=1)),
        (lambda v: lnp.stack([v, v], axis=-1), lambda v: np.stack([v, v], axis=-1)),
        (lambda v: lnp.split(v, 2, axis=2)[1], lambda v: np.split(v, 2, axis=2)[1]),
        (lambda v: lnp.split(v, [1, 3], axis=1)[2], lambda v: np.split(v, [1, 3], axis=1)[2]),
        (lambda v: lnp.flip(v, 1), lambda v: np.flip(v, 1)),
        (lambda v: lnp.ravel(v), lambda v: np.ravel(v)),
        (lambda v: lnp.broadcast_to(v[0, 0], (2, 4)), lambda v: np.broadcast_to(v[0, 0], (2, 4))),
        (lambda v: lnp.where(v > 5, v, -v), lambda v: np.where(v > 5, v, -v)),
        (lambda v: lnp.clip(v, 3.0, 7.5), lambda v: np.clip(v, 3.0, 7.5)),
        (lambda v: lnp.take(v, np.array([2, 0]), axis=1),
         lambda v: np.take(v, np.array([2, 0]), axis=1)),
        (lambda v: v.astype(np.int32), lambda v: v.astype(np.int32)),
        (lambda v: lnp.vstack([v[0], v[1]]), lambda v: np.vstack([v[0], v[1]])),
        (lambda v: lnp.hstack([v[0], v[1]]), lambda v: np.hstack([v[0], v[1]])),
    ]
    for fn, want in cases:
        got = lo.jit(fn)(a)
        assert got.dtype == want(a).dtype and np.array_equal(got, want(a)), fn


INDICES = [(1,), (-1,), (slice(None), 2), (Ellipsis, 1), (slice(1, None), slice(None, None, 2)),
           (slice(None, None, -1),), (slice(None), slice(3, 0, -2)), (None, 0),
           (0, None, slice(1, 3)), (slice(None), np.array([2, 0, 2])), (np.array([[1, 0]]),),
           (0, np.array([3, -1])), (np.array([True, False, True]),), (Ellipsis, None),
           (1, 2, 3),
           # several integer arrays, broadcast together; adjacent ones stay in place, ones
           # separated by a slice (or None) come first; ints among arrays are arrays
           (np.array([[0, 2], [-1, 1]]), np.array([1, 3])), (slice(None), [0, 3], [4, 1]),
           (np.array([2, 0]), slice(None), np.array([[4], [1]])), (np.array([1, 2]), 3),
           (1, slice(1, 3), np.array([0, 4])), (None, [0, 1], [2, 3], slice(None, None, -2)),
           ([0, 2], None, [1, 3]), ([0, 1, 2], [1, 2, 3], [4, 3, 2]),
           # static boolean masks of any rank (their counts are known when traced)
           (np.arange(12).reshape(3, 4) % 3 == 0,), (slice(None), np.array([1, 0, 1, 1], bool)),
           (np.arange(12).reshape(3, 4) % 5 == 1, None), (np.zeros((3, 4, 5), bool),),
           (Ellipsis, np.array([0, 1, 0, 0, 1], bool))]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_indexing_matches_numpy(index: tuple) -> None:
    a = np.arange(60.0).reshape(3, 4, 5)
    got = lo.jit(lambda v: v[index])(a)
    assert np.array_equal(got, a[index]) and got.shape == a[index].shape


def test_indexing_gradients_agree_with_the_reference() -> None:
    """An integer array index is a gather; its gradient (a scatter-add, repeated indices
    adding up) against the reference's on the traced program: sums of at most two equal
    terms here, so the two agree to the unit roundoff of the largest magnitude."""
    a = RNG.standard_normal((3, 4, 5))
    for index in INDICES[15:]:
        def f(v: object, index: tuple = index) -> object:
            return lnp.sum(lnp.sin(v[index]) * v[index])

        program, constants = lo.make_program(f, with_constants=True)(a)
        check(program)
        want = reference_grad(program, a, *constants)
        got = lo.grad(f)(a)
        assert np.all(np.abs(got - want) <= 2 * U * np.max(np.abs(want))), index


def test_traced_integer_index() -> None:
    a = np.arange(12.0).reshape(3, 4)
    got = lo.jit(lambda v, i: v[i])(a, np.array([2, 1]))
    assert np.array_equal(got, a[[2, 1]])
    b = np.arange(60.0).reshape(3, 4, 5)
    i, j = np.array([0, 2, 1]), np.array([[4], [1]], dtype=np.int32)
    got = lo.jit(lambda v, p, q: v[p, :, q])(b, i, j)
    assert np.array_equal(got, b[i, :, j]) and got.shape == (2, 3, 4)
    got = lo.jit(lambda v, p: v[p, 1, p])(b, i)  # a traced array with a static one
    assert np.array_equal(got, b[i, 1, i])


def test_a_traced_boolean_mask_is_refused_naming_the_line() -> None:
    def f(v: object) -> object:
        return v[v > 0]

    with pytest.raises(lo.ConcretizationError, match="traced boolean mask") as err:
        lo.jit(f)(np.ones(3))
    assert f"test_library_numpy.py:{f.__code__.co_firstlineno + 1}" in str(err.value)
    with pytest.raises(ShapeError, match="does not match"):
        lo.jit(lambda v: v[np.ones(4, bool)])(np.ones(3))


def test_constants_match_numpy() -> None:
    cases = [
        (lambda: lnp.zeros((2, 3)), np.zeros((2, 3))),
        (lambda: lnp.ones(4, dtype=np.float32), np.ones(4, dtype=np.float32)),
        (lambda: lnp.full((2, 2), 7), np.full((2, 2), 7)),
        (lambda: lnp.arange(5), np.arange(5)),
        (lambda: lnp.arange(1, 10, 3), np.arange(1, 10, 3)),
        (lambda: lnp.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25)),
        (lambda: lnp.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 5)),
        (lambda: lnp.eye(3), np.eye(3)),
        (lambda: lnp.eye(3, 4, k=1, dtype=np.int32), np.eye(3, 4, k=1, dtype=np.int32)),
        (lambda: lnp.zeros_like(X), np.zeros_like(X)),
    ]
    for fn, want in cases:
        got = lo.jit(fn)()
        assert got.dtype == want.dtype and np.array_equal(got, want), want
        got = fn()  # at once
        assert got.dtype == want.dtype and np.array_equal(got, want), want


def test_numpy_calls_on_traced_values_run_as_lnp() -> None:
    got = lo.jit(lambda v: np.sin(v) + np.sum(v) + np.ones(4) * v)(X)
    close(got, np.sin(X) + np.sum(X) + np.ones(4) * X, rtol=1e-14)


def test_an_unknown_function_names_the_closest() -> None:
    with pytest.raises(UnsupportedPrimitiveError, match=r"'sinn'.*closest is lnp\.sin"):
        lnp.sinn  # noqa: B018
    with pytest.raises(AttributeError):  # and it is an AttributeError, as hasattr expects
        lnp.cumlogsumexp  # noqa: B018
    assert not hasattr(lnp, "fft")
    with pytest.raises(UnsupportedPrimitiveError, match=r"'median'.*closest is lnp\.mean"):
        lo.jit(lambda v: np.median(v))(X)  # a NumPy function lnp lacks, on a traced value
