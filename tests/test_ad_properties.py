"""The AD properties of spec chapters 4-5, on randomly generated programs.

Programs come from :func:`lintra.conformance.strategies.programs` (every primitive, f64, f32,
i64 and bool values, fan-out, literals, structure); inputs are drawn per parameter. A case
whose evaluation raises :class:`EvaluationError` (a generated index out of range, an integer
division by zero) is discarded: these properties are about derivatives.

Exact properties are checked with ``==`` (nan equal to nan):

* ``linearize == jvp``: the linear program applies the same operations in the same order to
  the same residual values as the JVP program, in either domain; the recompute policy
  changes nothing;
* unzip's structure: the primal program has no linear variable; the linear program's
  non-linear parameters are exactly the residuals it reads, each read;
* homogeneity ``lin(2 t) == 2 lin(t)`` in the mpmath domain (binary floating point with an
  unbounded exponent: scaling by 2 commutes with every rounding).

Properties that hold only up to rounding are checked in the mpmath domain at ``P`` digits,
with each side's error estimated by evaluating it again at ``2P`` digits: for a computation
whose error scales with the working precision, ``|r_P - r| <= |r_P - r_2P| + |r_2P - r|``,
and the last term is ``10^-P`` times smaller than the first (we add it as ``10^(10-2P)``
times the result's magnitude). The bound of a comparison is the sum of its sides'
estimates: additivity, adjointness ``<w, L t> = <L^T w, t>``, double transpose, jacfwd ==
jacrev. The JVP is compared with the finite-difference oracle (its own bound) at the
elements where the function is smooth and finite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lintra.conformance.oracle import directional_derivative
from lintra.conformance.strategies import programs
from lintra.reference import (
    EvaluationError,
    Program,
    check,
    evaluate,
    jacfwd,
    jacrev,
    jvp,
    jvp_program,
    linearize,
    transpose,
    unzip,
    vjp,
)
from lintra.reference.syntax import ArrayType, DType, Var
from lintra.reference.unzip import is_linear_equation
from tests.harness import values_of as harness_values_of

P = 25
"""Working precision (digits) of the inexact properties; errors are estimated at 2P."""

DTYPES = (DType.f64, DType.f32, DType.i64, DType.bool)
CTX = mpmath.MPContext()
CTX.dps = 4 * P  # exact enough for the sums of the comparisons


# --------------------------------------------------------------------------------------------
# Inputs


def values_of(draw: st.DrawFn, t: ArrayType) -> np.ndarray:
    """Moderate floats (the oracle needs finite, unremarkable points), small ints, bools."""
    return harness_values_of(draw, t, st.floats(-3.0, 3.0, width=32 if t.dtype is DType.f32
                                                else 64))


def tangents_of(draw: st.DrawFn, p: Program) -> list[np.ndarray]:
    """One float64-valued tangent of the input's float type per float input."""
    out = []
    for b in p.inputs:
        t = b.type.array
        if t.dtype.is_float:
            flat = draw(st.lists(st.floats(-2.0, 2.0), min_size=t.size, max_size=t.size))
            out.append(np.asarray(flat, dtype=t.dtype.numpy).reshape(t.shape))
    return out


@st.composite
def cases(draw: st.DrawFn, linear_outputs_only: bool = False
          ) -> tuple[Program, list[np.ndarray], list[np.ndarray]]:
    """A program whose JVP has at least one tangent input, its primals and tangents; cases
    whose primal evaluation fails are discarded."""
    p = draw(programs(dtypes=DTYPES, max_equations=6))
    assume(any(b.type.array.dtype.is_float for b in p.inputs))
    if linear_outputs_only:
        assume(all(t.array.dtype.is_float for t in p.result_types))
    primals = [values_of(draw, b.type.array) for b in p.inputs]
    try:
        evaluate(p, *primals)
        evaluate(p, *primals, dps=P)
    except EvaluationError:
        assume(False)
    return p, primals, tangents_of(draw, p)


# --------------------------------------------------------------------------------------------
# Comparisons


def same(a: object, b: object) -> bool:
    """Equal dtype, shape and values, nan equal to nan (object arrays: mpf by value)."""
    x, y = np.asarray(a), np.asarray(b)
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    if x.dtype == object:
        return all((u == v) or (CTX.isnan(u) and CTX.isnan(v))
                   for u, v in zip(x.reshape(-1), y.reshape(-1)))
    return bool(np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))


def flat(values: Sequence[object]) -> list[object]:
    """All elements of a tuple of arrays as mpf (ints and bools too), in order."""
    out = []
    for v in values:
        for e in np.asarray(v, dtype=object).reshape(-1):
            out.append(CTX.mpf(e.item() if isinstance(e, np.generic) else e))
    return out


def with_error(compute: Callable[[int], Sequence[object]]) -> tuple[list, list]:
    """``compute(P)`` flattened, and its error estimate ``|r_P - r_2P| + 10^(10-2P)|r_2P|``
    per element (module docstring)."""
    low, high = flat(compute(P)), flat(compute(2 * P))
    floor = CTX.mpf(10) ** (10 - 2 * P)
    return low, [abs(a - b) + floor * abs(b) for a, b in zip(low, high)]


def finite(xs: Sequence[object]) -> bool:
    return all(CTX.isfinite(x) for x in xs)


# --------------------------------------------------------------------------------------------
# Exact properties


@given(cases())
def test_linearize_equals_jvp_exactly(case: tuple) -> None:
    """Primal parts equal evaluate; lin(t) equals the JVP tangent; vjp is transpose of
    linearize; lin(0) is 0 wherever lin(t) is finite (a non-finite coefficient times 0 is
    nan, as IEEE arithmetic says)."""
    p, primals, tangents = case
    for dps in (None, P):
        outs, dys = jvp(p, primals, tangents, dps=dps)
        outs_lin, lin = linearize(p, *primals, dps=dps)
        values = evaluate(p, *primals, dps=dps)
        assert all(same(a, b) for a, b in zip(outs, outs_lin))
        assert all(same(a, b) for a, b in zip(outs, values))
        assert all(same(a, b) for a, b in zip(dys, lin(*tangents)))
        outs_vjp, pullback = vjp(p, *primals, dps=dps)
        assert all(same(a, b) for a, b in zip(outs, outs_vjp))
        cotangents = [np.ones(t.shape, dtype=t.dtype.numpy) for t in lin.output_types]
        by_transpose = transpose(lin)(*cotangents)
        assert all(same(a, b) for a, b in zip(pullback(*cotangents), by_transpose))
        zeros = [np.zeros_like(t) for t in tangents]
        for z, d in zip(flat(lin(*zeros)), flat(dys)):
            assert z == 0 or not CTX.isfinite(d)


@given(cases())
def test_recompute_policy_changes_nothing(case: tuple) -> None:
    p, primals, tangents = case
    jp = jvp_program(p)
    n = len(p.outputs)
    results = []
    for policy in ("save", "recompute"):
        primal, linear = unzip(jp, policy)
        outs = evaluate(primal, *primals)
        results.append((outs[:n], evaluate(linear, *outs[n:], *tangents)))
    (o1, d1), (o2, d2) = results
    assert all(same(a, b) for a, b in zip(o1 + d1, o2 + d2))


@given(cases())
def test_unzip_structure(case: tuple) -> None:
    p, _, _ = case
    primal, linear = unzip(jvp_program(p))
    primal_typing, linear_typing = check(primal), check(linear)
    assert not any(vt.linear for vt in primal_typing.variables.values())
    residuals = [b for b in linear.inputs if not b.type.linear]
    assert linear.inputs[: len(residuals)] == tuple(residuals)  # residuals first
    assert len(primal.outputs) == len(p.outputs) + len(residuals)
    read = {a.name for e in linear.equations for a in e.inputs if isinstance(a, Var)}
    read |= {v.name for v in linear.outputs}
    assert all(b.name in read for b in residuals)  # nothing unused is saved
    assert all(is_linear_equation(e, linear_typing) for e in linear.equations)


@given(cases())
def test_homogeneity_is_exact_in_mp(case: tuple) -> None:
    p, primals, tangents = case
    _, lin = linearize(p, *primals, dps=P)
    doubled = [np.asarray(2 * np.asarray(t, dtype=np.float64), dtype=t.dtype) for t in tangents]
    once, twice = flat(lin(*tangents)), flat(lin(*doubled))
    assert all(same(2 * a, b) for a, b in zip(once, twice))


# --------------------------------------------------------------------------------------------
# Properties up to rounding, with estimated errors


@given(cases(), st.data())
def test_additivity(case: tuple, data: st.DataObject) -> None:
    p, primals, t1 = case
    t2 = tangents_of(data.draw, p)
    sums = [np.asarray([CTX.fadd(a, b, exact=True) for a, b in zip(x.reshape(-1), y.reshape(-1))],
                       dtype=object).reshape(x.shape) for x, y in zip(t1, t2)]
    lins = {dps: linearize(p, *primals, dps=dps)[1] for dps in (P, 2 * P)}
    s, es = with_error(lambda dps: lins[dps](*sums))
    a, ea = with_error(lambda dps: lins[dps](*t1))
    b, eb = with_error(lambda dps: lins[dps](*t2))
    for k in range(len(s)):
        if finite((s[k], a[k], b[k])):
            assert abs(s[k] - a[k] - b[k]) <= es[k] + ea[k] + eb[k], k


def inner(ws: Sequence[object], vs: Sequence[object]) -> object:
    return CTX.fsum(w * v for w, v in zip(flat(ws), flat(vs)))


@given(cases(), st.data())
def test_transpose_is_adjoint(case: tuple, data: st.DataObject) -> None:
    p, primals, tangents = case
    lins = {dps: linearize(p, *primals, dps=dps)[1] for dps in (P, 2 * P)}
    ws = [values_of(data.draw, t) for t in lins[P].output_types]
    ws = [np.asarray(w, dtype=np.float64) for w in ws]

    def left(dps: int) -> list[object]:
        return [inner(ws, lins[dps](*tangents))]

    def right(dps: int) -> list[object]:
        return [inner(transpose(lins[dps])(*ws), tangents)]

    (lv,), (le,) = with_error(left)
    (rv,), (re,) = with_error(right)
    if finite((lv, rv)):
        assert abs(lv - rv) <= le + re


@given(cases())
def test_double_transpose_computes_the_map(case: tuple) -> None:
    p, primals, tangents = case
    lins = {dps: linearize(p, *primals, dps=dps)[1] for dps in (P, 2 * P)}
    a, ea = with_error(lambda dps: lins[dps](*tangents))
    b, eb = with_error(lambda dps: transpose(transpose(lins[dps]))(*tangents))
    for k in range(len(a)):
        if finite((a[k], b[k])):
            assert abs(a[k] - b[k]) <= ea[k] + eb[k], k
        else:
            assert same(np.asarray([a[k]], dtype=object), np.asarray([b[k]], dtype=object))


@given(cases(linear_outputs_only=True))
def test_jacfwd_equals_jacrev(case: tuple) -> None:
    p, primals, _ = case
    nums = tuple(k for k, b in enumerate(p.inputs) if b.type.array.dtype.is_float)

    def as_tuple(j: object) -> Sequence[object]:
        return [x for row in (j if isinstance(j, tuple) else (j,)) for x in
                (row if isinstance(row, tuple) else (row,))]

    fwd, ef = with_error(lambda dps: as_tuple(jacfwd(p, *primals, argnums=nums, dps=dps)))
    rev, er = with_error(lambda dps: as_tuple(jacrev(p, *primals, argnums=nums, dps=dps)))
    assert len(fwd) == len(rev)
    for k in range(len(fwd)):
        if finite((fwd[k], rev[k])):
            assert abs(fwd[k] - rev[k]) <= ef[k] + er[k], k


@given(cases())
def test_jvp_matches_the_oracle_where_smooth(case: tuple) -> None:
    p, primals, tangents = case
    estimate = directional_derivative(p, primals, tangents, dps=2 * P)
    dy, edy = with_error(lambda dps: jvp(p, primals, tangents, dps=dps)[1])
    values = flat(estimate.values)
    bounds = flat(estimate.bounds)
    kinks = [bool(k) for arr in estimate.kinks for k in np.ravel(arr)]
    assert len(values) == len(dy) == len(kinks)
    for k in range(len(dy)):
        if kinks[k] or not finite((dy[k], values[k], bounds[k])):
            continue
        assert abs(dy[k] - values[k]) <= bounds[k] + edy[k], (k, dy[k], values[k])


def test_generated_programs_are_not_all_discarded() -> None:
    """The properties above see real programs: most drawn cases evaluate."""
    kept = []

    @given(programs(dtypes=DTYPES, max_equations=6), st.data())
    def probe(p: Program, data: st.DataObject) -> None:
        primals = [values_of(data.draw, b.type.array) for b in p.inputs]
        try:
            evaluate(p, *primals)
            kept.append(True)
        except EvaluationError:
            kept.append(False)

    probe()
    assert sum(kept) >= 0.8 * len(kept)


pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
