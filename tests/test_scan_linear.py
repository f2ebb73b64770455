"""cummax's and sort's JVPs in linear memory (spec 3.7, *Derivatives* and *Sizes*), in the
reference and in the engine.

Expected values are computed here independently, line by line: cummax's tangent is the mean
of the tangents of the elements equal to the running maximum among those so far (chapter 6),
sort's is the tangent permuted by NumPy's stable argsort. With small integer tangents every
sum either rule forms is exact, so tangents must match bit for bit (signs of zeros, inf and
nan included) and cotangents exactly; the engine gives the reference's bits. Gradients at
n = 10⁵ take memory linear in n (the pair layout these rules replaced held n² elements).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.conformance.properties import cummax_jvp_equations
from lintra.reference import (
    Program,
    check,
    evaluate,
    grad,
    jvp,
    jvp_program,
    parse_program,
    transpose_program,
    unzip,
    vjp,
)
from tests.harness import same_bits, traced_peak
from tests.test_cumprod_linear import (
    INF,
    N_LARGE,
    NAN,
    NUMPY,
    PADDED,
    SPEC,
    assert_scan_sizes,
)
from tests.test_sizes import rule_sizes


def type_text(dtype: str, shape: tuple[int, ...]) -> str:
    return f"{dtype}[{', '.join(map(str, shape))}]"


def cummax_program(shape: tuple[int, ...], dtype: str = "f64", axis: int = 0,
                   reverse: bool = False) -> Program:
    t = type_text(dtype, shape)
    return parse_program(f"def f(x: {t}) -> {t}:\n"
                         f"    y: {t} = cummax(x, axis={axis}, reverse={str(reverse).lower()})\n"
                         f"    return y\n")


def sort_program(types: list[str], dimension: int, keys: int = 1) -> Program:
    params = ", ".join(f"x{i}: {t}" for i, t in enumerate(types))
    outs = ", ".join(f"y{i}: {t}" for i, t in enumerate(types))
    args = ", ".join(f"x{i}" for i in range(len(types)))
    res = ", ".join(f"y{i}" for i in range(len(types)))
    return parse_program(f"def f({params}) -> ({', '.join(types)}):\n"
                         f"    {outs} = sort({args}, dimension={dimension}, num_keys={keys})\n"
                         f"    return {res}\n")


# --------------------------------------------------------------------------------------------
# cummax: expected values, one line at a time in the scan's order


def members(line: np.ndarray) -> list[list[int]]:
    """For each i, the j ≤ i with x_j = y_i (y the running maximum; nan propagates and
    equals nothing; −0 and +0 are equal)."""
    out, best = [], None
    for i, v in enumerate(line):
        if best is None or np.isnan(v) or (not np.isnan(best) and v > best):
            best = v
        out.append([j for j in range(i + 1) if line[j] == best])
    return out


def lines(a: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    """``a`` with the scanned axis last, in the scan's order (a view)."""
    m = np.moveaxis(a, axis, -1)
    return m[..., ::-1] if reverse else m


def expected_cummax_jvp(x: np.ndarray, dx: np.ndarray, axis: int, reverse: bool
                        ) -> np.ndarray:
    """dy_i = (Σ dx_j over the members) / their count: the IEEE sum (exact for the small
    integers used here; −0 only if every term is −0, inf and nan as in ``add``), divided
    once; 0/0 = nan where there is no member."""
    out = np.empty_like(x)
    xl, dl, ol = lines(x, axis, reverse), lines(dx, axis, reverse), lines(out, axis, reverse)
    one = x.dtype.type
    for line in np.ndindex(xl.shape[:-1]):
        for i, js in enumerate(members(xl[line])):
            terms = [dl[line][j] for j in js]
            total = one(-0.0)
            for t in terms:
                total = total + t
            with np.errstate(all="ignore"):
                ol[line][i] = total / one(len(js))
    return out


def expected_cummax_vjp(x: np.ndarray, ct: np.ndarray, axis: int, reverse: bool
                        ) -> np.ndarray:
    """ct_x_j = Σ ct_i / count_i over the i whose members include j (each quotient exact for
    the cotangents used here)."""
    out = np.zeros_like(x)
    xl, cl, ol = lines(x, axis, reverse), lines(ct, axis, reverse), lines(out, axis, reverse)
    for line in np.ndindex(xl.shape[:-1]):
        for i, js in enumerate(members(xl[line])):
            for j in js:
                ol[line][j] = ol[line][j] + cl[line][i] / x.dtype.type(len(js))
    return out


CUMMAX_SHAPES = [((1,), 0), ((2,), 0), ((7,), 0), ((8,), 0), ((9,), 0), ((4, 6), 0),
                 ((4, 6), -1), ((3, 5, 2), 1), ((2, 3, 5), 2), ((5, 2, 3), 0)]
VALUES = [-2.0, -1.0, -0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0]
SPECIAL = [NAN, INF, -INF]


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(("shape", "axis"), CUMMAX_SHAPES)
def test_cummax_tangents_and_cotangents(shape: tuple[int, ...], axis: int, reverse: bool,
                                        dtype: str) -> None:
    """Ties, −0/+0, and (every other draw) nan and ±inf in x; small integer tangents with
    −0s, then with inf and nan among them; unit tangents (the partials 1/k, rounded once)."""
    rng = np.random.default_rng(len(shape) * 100 + shape[axis] * 10 + 2 * reverse)
    np_dtype = NUMPY[dtype]
    p = cummax_program(shape, dtype, axis, reverse)
    c = lo.compile(p)
    for k in range(4):
        pool = VALUES + SPECIAL if k % 2 else VALUES
        x = rng.choice(pool, shape).astype(np_dtype)
        dx = rng.choice([-3.0, -1.0, -0.0, -0.0, 0.0, 1.0, 2.0], shape).astype(np_dtype)
        if k >= 2:
            dx = np.where(rng.random(shape) < 0.2, rng.choice(SPECIAL, shape), dx
                          ).astype(np_dtype)
        _, (dy,) = jvp(p, [x], [dx])
        same_bits(dy, expected_cummax_jvp(x, dx, axis, reverse))
        same_bits(c.jvp([x], [dx])[1][0], dy)
        ct = (12 * rng.integers(-3, 4, shape)).astype(np_dtype)  # 12/k exact for k ≤ 4
        if np.max([len(js) for line in np.ndindex(lines(x, axis, reverse).shape[:-1])
                   for js in members(lines(x, axis, reverse)[line])]) <= 4:
            want = expected_cummax_vjp(x, ct, axis, reverse)
            np.testing.assert_array_equal(vjp(p, x)[1](ct)[0], want)
            np.testing.assert_array_equal(c.vjp(x)[1](ct)[0], want)
        e = np.zeros(x.size, np_dtype)
        e[rng.integers(x.size)] = 1  # one column of the Jacobian: 1/k or 0, rounded once
        e = e.reshape(shape)
        same_bits(jvp(p, [x], [e])[1][0], expected_cummax_jvp(x, e, axis, reverse))


def test_cummax_tangents_outside_the_mean_do_not_enter_it() -> None:
    """An infinite or nan tangent of an element that is not in y_i's mean (a later element,
    an element below the running maximum, an earlier plateau's) leaves dy_i as it is: the
    rule chooses, it multiplies no tangent by 0."""
    p = cummax_program((6,))
    x = np.array([1.0, 0.5, 3.0, 2.0, 3.0, 4.0])
    dx = np.array([INF, NAN, 2.0, -INF, 6.0, NAN])
    want = np.array([INF, INF, 2.0, 2.0, 4.0, NAN])
    for got in (jvp(p, [x], [dx])[1][0], lo.compile(p).jvp([x], [dx])[1][0]):
        same_bits(got, want)


def test_cummax_nan_has_no_member() -> None:
    """A nan in x makes y nan from there on: forward, each such element's tangent is the mean
    over no element, 0/0 = nan; reverse, its cotangent reaches no element."""
    p = cummax_program((4,))
    x = np.array([2.0, 1.0, NAN, 5.0])
    dx = np.array([1.0, 2.0, 3.0, 4.0])
    for got in (jvp(p, [x], [dx])[1][0], lo.compile(p).jvp([x], [dx])[1][0]):
        same_bits(got, np.array([1.0, 1.0, NAN, NAN]))
    ct = np.array([1.0, 10.0, 100.0, 1000.0])
    for got in (vjp(p, x)[1](ct)[0], lo.compile(p).vjp(x)[1](ct)[0]):
        same_bits(got, np.array([11.0, 0.0, 0.0, 0.0]))


def test_cummax_signed_zeros_tie() -> None:
    """−0 and +0 are equal: x = (−0, +0, −0) has y = (−0, +0, +0) and one plateau, each
    element's tangent the mean of all so far; a mean of −0 tangents is −0."""
    p = cummax_program((3,))
    x = np.array([-0.0, 0.0, -0.0])
    for dx, want in ((np.array([1.0, 2.0, 6.0]), [1.0, 1.5, 3.0]),
                     (np.array([-0.0, -0.0, -0.0]), [-0.0, -0.0, -0.0]),
                     (np.array([-0.0, 0.0, -0.0]), [-0.0, 0.0, 0.0])):
        for got in (jvp(p, [x], [dx])[1][0], lo.compile(p).jvp([x], [dx])[1][0]):
            same_bits(got, np.array(want))


@pytest.mark.parametrize(("shape", "axis"), [((0,), 0), ((0, 3), 0), ((3, 0), 0),
                                             ((4, 1), 1)])
def test_cummax_empty_operands_and_axes_of_one(shape: tuple[int, ...], axis: int) -> None:
    """An empty operand has an empty tangent (the rule emits nothing); along an axis of one
    element y = x and dy = dx (nan where x is nan)."""
    p = cummax_program(shape, axis=axis)
    x = np.where(np.arange(int(np.prod(shape))) == 1, NAN, 3.0).reshape(shape)
    dx = np.arange(x.size, dtype=np.float64).reshape(shape) - 1.5
    want = np.where(np.isnan(x), NAN, dx)
    for got in (jvp(p, [x], [dx])[1][0], lo.compile(p).jvp([x], [dx])[1][0]):
        same_bits(got, want)
    want = np.where(np.isnan(x), 0.0, dx)
    for got in (vjp(p, x)[1](dx)[0], lo.compile(p).vjp(x)[1](dx)[0]):
        same_bits(got, want)


def test_cummax_in_the_mpmath_domain() -> None:
    """The partials are 1/k at the domain's working precision (ties of 1, 2 and 3)."""
    import mpmath

    p = cummax_program((5,))
    x = np.array([1.0, 1.0, 0.0, 1.0, 2.0])
    (dy,) = jvp(p, [x], [np.array([1.0, 0.0, 0.0, 0.0, 0.0])], dps=30)[1]
    with mpmath.workdps(30):
        want = [mpmath.mpf(1), mpmath.mpf(1) / 2, mpmath.mpf(1) / 2, mpmath.mpf(1) / 3, 0]
        assert [mpmath.mpf(v) for v in dy] == want


# --------------------------------------------------------------------------------------------
# sort: the tangent permuted by the stable order of the keys


def permutation(keys: list[np.ndarray], axis: int) -> np.ndarray:
    """NumPy's stable order along ``axis``, lexicographic in the keys (nan last; −0 = +0)."""
    if len(keys) == 1:
        return np.argsort(keys[0], axis=axis, kind="stable")
    moved = [np.moveaxis(k, axis, -1) for k in keys]
    out = np.empty(moved[0].shape, np.int64)
    for line in np.ndindex(out.shape[:-1]):
        out[line] = np.lexsort([m[line] for m in reversed(moved)])
    return np.moveaxis(out, -1, axis)


SORT_CASES = [((6,), 0), ((4, 5), 0), ((4, 5), 1), ((2, 3, 4), 1), ((3, 2, 5), -1),
              ((5, 2, 2), 0)]


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize(("shape", "dimension"), SORT_CASES)
def test_sort_permutes_tangents_exactly(shape: tuple[int, ...], dimension: int, dtype: str
                                        ) -> None:
    """Keys with ties, ±0, nan and ±inf; tangents with −0, inf and nan: each result's tangent
    is its operand's tangent at the permuted position, bit for bit (nothing is multiplied or
    summed). The cotangent is scattered back into zeros, so a −0 arrives as +0 (0 + −0)."""
    rng = np.random.default_rng(sum(shape) + 7 * (dimension % len(shape)))
    np_dtype = NUMPY[dtype]
    p = sort_program([type_text(dtype, shape)], dimension)
    c = lo.compile(p)
    for _ in range(3):
        x = rng.choice([-1.0, -0.0, 0.0, 1.0, 2.0, NAN, INF, -INF], shape).astype(np_dtype)
        dx = rng.choice([-2.0, -0.0, 0.0, 3.0, INF, -INF, NAN], shape).astype(np_dtype)
        perm = permutation([x], dimension)
        _, (dy,) = jvp(p, [x], [dx])
        same_bits(dy, np.take_along_axis(dx, perm, axis=dimension))
        same_bits(c.jvp([x], [dx])[1][0], dy)
        ct = rng.choice([-2.0, -0.0, 0.0, 3.0, INF, NAN], shape).astype(np_dtype)
        back = np.zeros_like(ct)
        np.put_along_axis(back, perm, ct, axis=dimension)
        want = np.zeros_like(ct) + back
        same_bits(vjp(p, x)[1](ct)[0], want)
        same_bits(c.vjp(x)[1](ct)[0], want)


def test_sort_with_several_operands_and_keys() -> None:
    """Two keys (the second breaks the first's ties), an integer operand riding along
    (no tangent) and a float one: both float results permuted as the keys order them."""
    shape, dimension = (3, 6), 1
    p = sort_program(["f64[3, 6]", "f32[3, 6]", "i64[3, 6]", "f64[3, 6]"], dimension, keys=2)
    rng = np.random.default_rng(5)
    k1 = rng.choice([0.0, -0.0, 1.0, NAN], shape)
    k2 = rng.choice([2.0, 1.0, -INF], shape).astype(np.float32)
    ints = rng.integers(0, 9, shape)
    v = rng.standard_normal(shape)
    dk1, dk2 = rng.standard_normal(shape), rng.standard_normal(shape).astype(np.float32)
    dv = rng.standard_normal(shape)
    perm = permutation([k1, k2], dimension)
    primals, tangents = [k1, k2, ints, v], [dk1, dk2, dv]  # one tangent per float operand
    for got in (jvp(p, primals, tangents)[1], lo.compile(p).jvp(primals, tangents)[1]):
        for d, want in zip(got, (dk1, dk2, dv)):  # the float results' tangents
            same_bits(d, np.take_along_axis(want, perm, axis=dimension))


# --------------------------------------------------------------------------------------------
# Linear memory at n = 10⁵



def sum_of(call: str) -> Program:
    return parse_program(f"def f(x: f64[{N_LARGE}]) -> f64[]:\n    y = {call}\n"
                         f"    s = reduce_sum(y, axes=(0,))\n    return s\n")


def held_bytes(p: Program) -> int:
    """Every variable of the programs grad evaluates (the primal one with its residuals and
    the transposed linear one), in bytes: what the reference could hold at once if it freed
    nothing."""
    primal, linear = unzip(jvp_program(p))
    total = 0
    for q in (primal, transpose_program(linear)):
        total += sum(vt.array.size * np.dtype(vt.array.dtype.numpy).itemsize
                     for vt in check(q).variables.values())
    return total


BYTES_PER_PADDED = {"cummax": 8 * 72, "sort": 8 * 8}
"""The bound on held_bytes (and on what grad traces beyond evaluation), per element of the
padded axis N (8 bytes a float64). cummax: at a level of 2h elements the scan's JVP arrays take
at most 35h bytes in the up-sweep and 89h in the down-sweep (float64 and bool), the transposed
program a cotangent for each of its float arrays and two selections and a sum for each
``select_n`` (at most 3 × 8 × 2h more), and the h of all levels sum to N − 1; the rest (x, y,
the shifted y, the run starts, the members, the integer counts, the −0s, the quotient and their
cotangents) are at most 24 arrays of n 8-byte elements. Counted from the types: 67.2N·8 bytes.
sort: x, y, the iota, the sorted iota (8 bytes each), the gathered tangent and its scattered
cotangent, and the zeros they are scattered into: 6.9N·8 bytes at n = 10⁵ (n < N). The pair
layout held n² elements: 76,000N·8 bytes."""


@pytest.mark.parametrize("prim", ["cummax", "sort"])
def test_the_programs_of_grad_at_1e5_hold_linear_memory(prim: str) -> None:
    call = "cummax(x, axis=0)" if prim == "cummax" else "sort(x, dimension=0)"
    held = held_bytes(sum_of(call))
    assert held <= BYTES_PER_PADDED[prim] * PADDED, held / PADDED / 8


def sum_gradients(x: np.ndarray) -> dict[str, np.ndarray]:
    """∂/∂x_j Σ_i y_i, directly: for sort every element appears once (1 each); for cummax
    y_i's share of 1 goes equally to the members of its mean, so x_j receives Σ 1/k_i over
    the i whose plateau counts it (a loop over the plateaus of running maxima)."""
    g = np.zeros_like(x)
    best, run = -np.inf, []
    for i, v in enumerate(x):
        if v > best:
            best, run = v, []
        if v == best:
            run.append(i)
        for j in run:
            g[j] += 1.0 / len(run)
    return {"sort": np.ones_like(x), "cummax": g}


@pytest.mark.parametrize("engine", ["reference", "optimized"])
@pytest.mark.parametrize("prim", ["cummax", "sort"])
def test_grad_at_1e5_in_linear_memory(prim: str, engine: str) -> None:
    """The gradient of Σ prim(x) at n = 10⁵ (x with many ties for cummax): the memory traced
    beyond what evaluating Σ prim(x) alone takes in the same engine (the reference sorts with
    arrays of its own) within the bound above, and the values those of the direct
    computation: sort exactly 1; cummax within (L + 1)·ε relative, L the longest plateau:
    each side rounds its at most L shares 1/k once and adds them in at most L − 1 roundings,
    in different orders, each within (L + 1)·u of the true sum to first order."""
    call = "cummax(x, axis=0)" if prim == "cummax" else "sort(x, dimension=0)"
    p = sum_of(call)
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal(N_LARGE) * 8) / 8 + np.arange(N_LARGE) * 1e-4
    if prim == "cummax":
        x = np.round(x * 2) / 2  # long plateaus with ties
    if engine == "optimized":
        compiled = lo.compile(p)
        _, primal_peak = traced_peak(lambda: compiled.evaluate(x))
        g, peak = traced_peak(lambda: compiled.vjp(x)[1](np.float64(1.0))[0])
    else:
        _, primal_peak = traced_peak(lambda: evaluate(p, x))
        g, peak = traced_peak(lambda: grad(p, x))
    assert peak - primal_peak <= BYTES_PER_PADDED[prim] * PADDED, peak / PADDED / 8
    want = sum_gradients(x)[prim]
    if prim == "sort":
        np.testing.assert_array_equal(g, want)
    else:
        _, plateaus = np.unique(np.maximum.accumulate(x), return_counts=True)
        longest = int(plateaus.max())
        assert longest > 100  # the case has the long plateaus it is meant to have
        np.testing.assert_allclose(g, want, rtol=(longest + 1) * np.finfo(np.float64).eps,
                                   atol=0)


# --------------------------------------------------------------------------------------------
# Sizes


def test_cummax_rule_emits_what_sizes_states() -> None:
    """18⌈log₂ n⌉ + 12 equations for n ≥ 2 not a power of two, 4 fewer for a power of two
    (no padding to add or cut), 16 for n = 1, none for an empty operand; any axis, direction
    and rank."""
    text = " ".join(SPEC.read_text(encoding="utf-8").split())
    assert re.search(r"`cummax`, whose scan emits at most 18⌈log₂ n⌉ \+ 12 for an axis of "
                     r"length n ≥ 2, 16 for n = 1 and none for an empty operand", text)
    assert_scan_sizes(cummax_program, cummax_jvp_equations)


@pytest.mark.parametrize(("shape", "dimension", "count"), [
    ((5,), 0, 3), ((3, 4), 1, 8), ((3, 4), 0, 9), ((2, 3, 4), 1, 9), ((0, 3), 1, 0)])
def test_sort_rule_emits_what_sizes_states(shape: tuple[int, ...], dimension: int,
                                           count: int) -> None:
    """2 equations and 1 per tangent along a rank-1 operand; 7 (6 where the axis is last)
    and 2 per tangent otherwise; none for an empty operand."""
    for operands in (1, 3):
        p = sort_program([type_text("f64", shape)] * operands, dimension, keys=1)
        (emitted,) = [e for name, stage, e, *_ in rule_sizes(p) if stage == "jvp"]
        per_tangent = 1 if len(shape) == 1 else 2
        assert emitted == (0 if count == 0 else count + per_tangent * (operands - 1))
