"""The optimized engine's dot_general (spec 3.6) against the reference: every kind of
dimension numbers (matrix, transposed, batched with batch dimensions anywhere, outer, inner,
several contracting pairs, rank-0 and size-0 operands), values within the spec's
γ_n·Σ|x||y| of the mpmath domain's exact sums, the nan and inf rules, integer wrap-around,
the JVP and VJP within their bounds, the emitted programs, and the errors of the type rule."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.reference import check, evaluate, jvp, vjp
from lintra.reference.errors import LintraError
from tests.harness import refused_as_the_reference_refuses
from tests.test_optimized_structure import prog, same_bits

NAN, INF = float("nan"), float("inf")

# name: (x shape, y shape, contracting_dims, batch_dims, result shape)
CASES = {
    "matmul": ((2, 3), (3, 4), ((1,), (0,)), ((), ()), (2, 4)),
    "transposed": ((3, 2), (4, 3), ((0,), (1,)), ((), ()), (2, 4)),
    "matvec": ((2, 3), (3,), ((1,), (0,)), ((), ()), (2,)),
    "inner": ((5,), (5,), ((0,), (0,)), ((), ()), ()),
    "batched_anywhere": ((3, 2, 4), (4, 5, 2), ((2,), (0,)), ((1,), (2,)), (2, 3, 5)),
    "two_pairs": ((2, 3, 4), (4, 3, 5), ((1, 2), (1, 0)), ((), ()), (2, 5)),
    "outer": ((2, 3), (4,), ((), ()), ((), ()), (2, 3, 4)),
    "scalar_outer": ((), (3,), ((), ()), ((), ()), (3,)),
    "scalars": ((), (), ((), ()), ((), ()), ()),
    "batched_outer": ((2, 3), (4, 2), ((), ()), ((0,), (1,)), (2, 3, 4)),
    "two_batches": ((2, 3, 4), (3, 4, 2, 5), ((1,), (0,)), ((0, 2), (2, 1)), (2, 4, 5)),
    "empty_contraction": ((2, 0), (0, 3), ((1,), (0,)), ((), ()), (2, 3)),
    "empty_free": ((0, 3), (3, 2), ((1,), (0,)), ((), ()), (0, 2)),
}


def text_of(case: str, dtype: str = "f64") -> str:
    xs, ys, c, bt, out = CASES[case]

    def ty(s: tuple[int, ...]) -> str:
        return f"{dtype}[{', '.join(map(str, s))}]"

    return (f"def f(x: {ty(xs)}, y: {ty(ys)}) -> {ty(out)}:\n"
            f"    z: {ty(out)} = dot_general(x, y, contracting_dims={c}, batch_dims={bt})\n"
            f"    return z\n")


def contraction_size(case: str) -> int:
    xs, _, (cx, _), _, _ = CASES[case]
    return int(np.prod([xs[d] for d in cx], dtype=np.int64))


def gamma(n: int, dtype: np.dtype) -> float:
    u = np.finfo(dtype).eps / 2
    return n * u / (1 - n * u)


def as_float(values: object) -> np.ndarray:
    return np.asarray(np.vectorize(float, otypes=[np.float64])(np.asarray(values, object)))


def within(got: object, exact: np.ndarray, bound: np.ndarray) -> None:
    err = np.abs(np.asarray(got, np.float64) - exact)
    assert np.all(err <= bound), (got, exact, bound)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_values_and_derivatives_within_the_spec_bounds(case: str, dtype: str) -> None:
    p = prog(text_of(case, dtype))
    np_dtype = np.dtype(dtype.replace("f", "float"))
    rng = np.random.default_rng(len(case))
    xs, ys = CASES[case][0], CASES[case][1]
    x, y = (rng.standard_normal(s).astype(np_dtype) for s in (xs, ys))
    dx, dy = (rng.standard_normal(s).astype(np_dtype) for s in (xs, ys))
    c = lo.compile(p)
    n = contraction_size(case)
    # the value: γ_n·Σ|x||y| of the exact sum (the bound's own sum rounded: one more γ_n)
    (z,) = c.evaluate(x, y)
    assert np.asarray(z).dtype == np_dtype and np.shape(z) == CASES[case][4]
    (exact,) = evaluate(p, x, y, dps=40)
    (mags,) = evaluate(p, np.abs(x).astype(np.float64), np.abs(y).astype(np.float64))
    g = gamma(n, np_dtype)
    within(z, as_float(exact), g * (1 + 2 * g) * mags)
    # the JVP: two contractions and one addition, γ_(n+1) of Σ|dx||y| + Σ|x||dy|
    _, (dz,) = c.jvp([x, y], [dx, dy])
    _, (dz_exact,) = jvp(p, [x, y], [dx, dy], dps=40)
    (m1,) = evaluate(p, np.abs(dx).astype(np.float64), np.abs(y).astype(np.float64))
    (m2,) = evaluate(p, np.abs(x).astype(np.float64), np.abs(dy).astype(np.float64))
    g1 = gamma(n + 1, np_dtype)
    within(dz, as_float(dz_exact), g1 * (1 + 2 * g1) * (m1 + m2))
    # the VJP: each cotangent contracts over the other operand's free dimensions
    ct = rng.standard_normal(CASES[case][4]).astype(np_dtype)
    got = c.vjp(x, y)[1](ct)
    want = vjp(p, x, y, dps=40)[1](ct)
    mags = vjp(p, np.abs(x).astype(np.float64), np.abs(y).astype(np.float64))[1](
        np.abs(ct).astype(np.float64))
    m = max(z.size if hasattr(z, "size") else 1, 1)  # at most every result element meets
    gm = gamma(m, np_dtype)
    for gv, wv, mv, t in zip(got, want, mags, (x, y), strict=True):
        assert np.asarray(gv).dtype == np_dtype and np.shape(gv) == t.shape
        within(gv, as_float(wv), gm * (1 + 2 * gm) * np.asarray(mv))
    check(c.jvp_program())
    _, lin = c.linearize(x, y)
    check(lin.program)
    check(lin.transpose().program)


def test_nan_and_inf_follow_ieee_products_and_sums() -> None:
    p = prog(text_of("matmul"))
    x = np.array([[0.0, 1.0, 2.0], [INF, 1.0, -1.0]])
    y = np.array([[INF, 1.0, 0.0, NAN], [1.0, -INF, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]])
    (z,) = lo.compile(p).evaluate(x, y)
    (want,) = evaluate(p, x, y)
    # 0·inf, inf - inf, a nan in the slice: nan; infinite products of one sign: ±inf
    assert np.isnan(z[0, 0]) and z[0, 1] == -INF and np.isnan(z[0, 3])
    assert z[1, 0] == INF and np.isnan(z[1, 1]) and np.isnan(z[1, 2]) and z[0, 2] == 3.0
    same_bits(z[~np.isnan(want)], want[~np.isnan(want)])
    assert np.array_equal(np.isnan(z), np.isnan(want))


@pytest.mark.parametrize("dtype, bits", [("i32", 32), ("i64", 64)])
def test_integer_contractions_wrap_around_exactly(dtype: str, bits: int) -> None:
    rng = np.random.default_rng(bits)
    for case in ("matmul", "batched_anywhere", "two_pairs", "outer", "empty_contraction"):
        p = prog(text_of(case, dtype))
        info = np.iinfo(dtype.replace("i", "int"))
        x, y = (rng.integers(info.min, info.max, CASES[case][k], endpoint=True,
                             dtype=info.dtype) for k in (0, 1))
        (z,) = lo.compile(p).evaluate(x, y)
        (want,) = evaluate(p, x, y)
        same_bits(z, want)
        # the exact sums of products, reduced modulo 2^bits into the range
        exact = np.einsum(_einsum_spec(case), x.astype(object), y.astype(object))
        wrapped = (np.asarray(exact, object) + 2 ** (bits - 1)) % 2 ** bits - 2 ** (bits - 1)
        assert np.asarray(z).astype(object).tolist() == np.asarray(wrapped).tolist()


def _einsum_spec(case: str) -> str:
    xs, ys, (cx, cy), (bx, by), _ = CASES[case]
    letters = iter("abcdefghij")
    xl, yl = [""] * len(xs), [""] * len(ys)
    for a, b in zip(cx + bx, cy + by, strict=True):
        xl[a] = yl[b] = next(letters)
    xl = [v or next(letters) for v in xl]
    yl = [v or next(letters) for v in yl]
    free_x = [xl[d] for d in range(len(xs)) if d not in cx + bx]
    free_y = [yl[d] for d in range(len(ys)) if d not in cy + by]
    out = [xl[d] for d in bx] + free_x + free_y
    return f"{''.join(xl)},{''.join(yl)}->{''.join(out)}"


def test_a_matrix_product_is_one_matmul_and_its_transpose_needs_no_transpose() -> None:
    c = lo.compile(prog(text_of("matmul")))
    assert c._plan.source.count("matmul") == 1
    assert "transpose" not in c._plan.source and "reshape" not in c._plan.source
    x, y = np.ones((2, 3)), np.ones((3, 4))
    _, pullback = c.vjp(x, y)
    assert "transpose" not in str(pullback.program)
    # batch dimensions not leading need one transpose back into the operand's order
    _, pullback = lo.compile(prog(text_of("batched_anywhere"))).vjp(
        np.ones((3, 2, 4)), np.ones((4, 5, 2)))
    assert "transpose(" in str(pullback.program)


@pytest.mark.parametrize("params, types", [
    ("contracting_dims=((1,), (0,))", "x: f64[2, 3], y: f32[3, 2]"),  # dtypes differ
    ("contracting_dims=((1,), (0,))", "x: bool[2, 3], y: bool[3, 2]"),  # not numeric
    ("contracting_dims=((1,), ())", "x: f64[2, 3], y: f64[3, 2]"),  # unpaired
    ("contracting_dims=((), ()), batch_dims=((0,), ())", "x: f64[2, 3], y: f64[3, 2]"),
    ("contracting_dims=((2,), (0,))", "x: f64[2, 3], y: f64[3, 2]"),  # out of range
    ("contracting_dims=((-1,), (0,))", "x: f64[2, 3], y: f64[3, 2]"),  # negative
    ("contracting_dims=((1, 1), (0, 1))", "x: f64[2, 3], y: f64[3, 3]"),  # named twice
    ("contracting_dims=((1,), (0,)), batch_dims=((1,), (1,))", "x: f64[3, 3], y: f64[3, 3]"),
    ("contracting_dims=((1,), (1,))", "x: f64[2, 3], y: f64[3, 2]"),  # sizes differ
    ("contracting_dims=((0,), (0,)), batch_dims=((1,), (1,))", "x: f64[2, 3], y: f64[2, 4]"),
    ("contracting_dims=(1, 0)", "x: f64[2, 3], y: f64[3, 2]"),  # not a pair of tuples
    ("batch_dims=((), ())", "x: f64[2, 3], y: f64[3, 2]"),  # contracting_dims missing
    ("contracting_dims=((1,), (0,)), precision=1", "x: f64[2, 3], y: f64[3, 2]"),
])
def test_type_errors_are_the_reference_classes(params: str, types: str) -> None:
    p = prog(f"def f({types}) -> f64[]:\n    z = dot_general(x, y, {params})\n    return z\n")
    refused_as_the_reference_refuses(p, lambda: lo.compile(p)._plan)


def test_a_linear_operand_on_either_side_but_not_both() -> None:
    both_linear = prog("def f(x: lin f64[2], y: lin f64[2]) -> lin f64[]:\n"
                       "    z = dot_general(x, y, contracting_dims=((0,), (0,)))\n"
                       "    return z\n")
    with pytest.raises(LintraError) as want:
        check(both_linear)
    with pytest.raises(LintraError) as got:
        lo.compile(both_linear)._plan  # noqa: B018
    assert type(got.value) is type(want.value)
