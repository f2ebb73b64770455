"""Test helpers shared by the primitive tests: apply one primitive in either number domain,
compare results exactly, build arrays element by element, draw arrays of distinct values.

``apply`` is deliberately independent of the parser: it goes through the same record the
checker and evaluator use (parameter validation, type rule, evaluation) so that a primitive's
tests run on exactly what a program would run.
"""

from __future__ import annotations

import itertools
import math
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import strategies as st

from lintra.reference.domains import MpDomain, domain_for, to_float64
from lintra.reference.primitives import lookup
from lintra.reference.syntax import ArrayType, DType

_FROM_NUMPY = {
    np.dtype(np.float64): DType.f64,
    np.dtype(np.float32): DType.f32,
    np.dtype(np.int64): DType.i64,
    np.dtype(np.int32): DType.i32,
    np.dtype(np.bool_): DType.bool,
}


def array_type(x: np.ndarray) -> ArrayType:
    """The lintra type of a NumPy array."""
    return ArrayType(_FROM_NUMPY[x.dtype], tuple(x.shape))


def apply(name: str, *operands: np.ndarray, dps: int | None = None, **params: object):
    """Apply primitive ``name`` to NumPy operands, in float64 (``dps=None``) or mpmath.

    Returns ``(results, result_types)``. Results in the mpmath domain are object arrays of
    mpmath numbers for float types; use :func:`rounded` to bring them to their dtype.
    """
    prim, d, xs, ps, outs = prepare(name, operands, dps, params)
    return prim.evaluate(d, xs, ps, outs), outs


def prepare(name: str, operands: Sequence[object], dps: int | None, params: dict[str, object]):
    """The record, the domain, the operands as the domain's values, the parameters with
    defaults, and the result types, through the same type rule a program would use."""
    prim = lookup(name)
    arrays = tuple(np.asarray(x) for x in operands)
    ts = tuple(array_type(x) for x in arrays)
    ps = prim.param_values(params)
    outs = prim.type_rule(ts, ps)
    d = domain_for(dps)
    return prim, d, tuple(d.argument(x, t) for x, t in zip(arrays, ts)), ps, outs


def rounded(results, types) -> tuple[np.ndarray, ...]:
    """Round results of either domain to their declared dtypes."""
    return tuple(to_float64(np.asarray(r), t.dtype) for r, t in zip(results, types))


def run(name: str, *xs: np.ndarray, dps: int | None, **params: object) -> np.ndarray:
    """Apply one primitive with one result in a domain (as :func:`apply` does, keeping the
    domain's operand values); check the result's type and representation, that the operands
    are unchanged and share no memory with it; return the result rounded to its dtype."""
    prim, d, args, ps, outs = prepare(name, xs, dps, params)
    before = [a.copy() for a in args]
    results = prim.evaluate(d, args, ps, outs)
    assert len(results) == len(outs) == 1
    (r,), (t,) = results, outs
    assert isinstance(r, np.ndarray) and r.shape == t.shape
    if isinstance(d, MpDomain) and t.dtype.is_float:
        assert r.dtype == object
        assert all(isinstance(e, d.ctx.mpf) for e in r.reshape(-1))
    else:
        assert r.dtype == t.dtype.numpy
    for a, b in zip(args, before):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == object:
            assert all(p is q for p, q in zip(a.reshape(-1), b.reshape(-1)))
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        assert not np.shares_memory(r, a)
    return rounded(results, outs)[0]


def assert_exactly_equal(got: np.ndarray, want: np.ndarray, dps: int | None = None) -> None:
    """Same dtype, shape and values; floats by class: nan = nan (the sign of a nan carries no
    meaning), and the sign of zero in the float64 domain only (mpmath has a single, unsigned
    zero: spec chapter 3)."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if got.dtype.kind == "f":
        assert np.array_equal(got, want, equal_nan=True), (got, want)
        numbers = ~np.isnan(want) if dps is None else ~np.isnan(want) & (want != 0)
        assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers])), (got, want)
    else:
        assert np.array_equal(got, want), (got, want)


def build(shape: Sequence[int], dtype: np.dtype | type,
          element: Callable[[tuple[int, ...]], object]) -> np.ndarray:
    """The array of ``shape`` whose element at each index is ``element(index)``."""
    out = np.empty(tuple(shape), dtype=dtype)
    for index in itertools.product(*(range(n) for n in shape)):
        out[index] = element(index)
    return out


def elements(x: np.ndarray) -> list[object]:
    """The elements of ``x`` in row-major order, by explicit loops over the indices."""
    return [x[index] for index in itertools.product(*(range(n) for n in x.shape))]


FLOAT_SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 0.0)


@st.composite
def distinct_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: type,
                    scale: float = 1.5) -> np.ndarray:
    """Distinct values (so that a misplaced element shows: a permutation of ``k - n // 2``
    times ``scale`` for floats), with up to three float specials mixed in; bools alternate."""
    n = int(np.prod(shape, dtype=np.int64))
    order = np.asarray(draw(st.permutations(range(n))), dtype=np.int64)
    if dtype is np.bool_:
        return (order % 2 == 1).reshape(shape)
    values = (order - n // 2).astype(dtype)
    if np.dtype(dtype).kind == "f":
        values = values * dtype(scale)
        for i in draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else ():
            values[i] = draw(st.sampled_from(FLOAT_SPECIALS))
    return values.reshape(shape)


def spec_max(a: float, b: float) -> float:
    """max of spec 3.2, written out: nan if either is nan; max(-0, +0) = +0."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b:
        return b if math.copysign(1, a) < 0 else a
    return a if a > b else b


def spec_min(a: float, b: float) -> float:
    """min of spec 3.2, written out: nan if either is nan; min(-0, +0) = -0."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b:
        return a if math.copysign(1, a) < 0 else b
    return a if a < b else b


def values_of(draw: st.DrawFn, t: ArrayType,
              floats: st.SearchStrategy[float] | None = None) -> np.ndarray:
    """An array of type ``t``: booleans, small integers (-3..5), and ``floats`` (default:
    every float of the dtype, nan and infinities included)."""
    if t.dtype is DType.bool:
        elements: st.SearchStrategy = st.booleans()
    elif t.dtype.is_int:
        elements = st.integers(-3, 5)
    else:
        elements = floats if floats is not None else st.floats(
            width=32 if t.dtype is DType.f32 else 64)
    flat = draw(st.lists(elements, min_size=t.size, max_size=t.size))
    return np.asarray(flat, dtype=t.dtype.numpy).reshape(t.shape)


def runner_cases(profile: object, focus: str, seed: int, label: str = "generated",
                 check: str = "evaluate_vs_truth") -> tuple[object, ...]:
    """The cases ``run_check(..., check, profile, seed=seed, primitives=[focus])`` checks in
    its first pass (the runner's strategy, settings and per-item seed), the simplest first."""
    from hypothesis import Phase, given
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import Unsatisfiable

    from lintra.conformance.generation import cases
    from lintra.conformance.runner import _settings, item_seed

    found: list[object] = []

    @hypothesis_seed(item_seed(seed, check, focus))
    @_settings(profile, [Phase.generate])
    @given(cases(profile, focus, label))
    def collect(case: object) -> None:
        found.append(case)

    from lintra.conformance.strategies import seed_determined

    try:
        with seed_determined():
            collect()
    except Unsatisfiable:
        pass
    return tuple(found)


def same_bits(got: object, want: object) -> None:
    """Equal dtype, shape and values, nan where nan, and the sign of every zero."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if got.dtype.kind == "f":
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan), (got, want)
        assert np.array_equal(got[~nan], want[~nan]), (got, want)
        assert np.array_equal(np.signbit(got[~nan]), np.signbit(want[~nan])), (got, want)
    else:
        assert np.array_equal(got, want), (got, want)


def refused_as_the_reference_refuses(p: object, attempt: object) -> None:
    """The reference's ``check`` refuses ``p``, and ``attempt()`` (another implementation
    compiling or running it) raises a lintra error of exactly the same class."""
    import pytest

    from lintra.reference import check
    from lintra.reference.errors import LintraError

    with pytest.raises(LintraError) as want:
        check(p)
    with pytest.raises(LintraError) as got:
        attempt()  # type: ignore[operator]
    assert type(got.value) is type(want.value), (got.value, want.value)


def evaluated_as_the_reference_evaluates(text: str, *args: object) -> tuple:
    """The optimized engine's results for the program ``text`` (lines continued with
    ``& ``), after checking that they equal the reference's bit for bit."""
    import lintra.optimized as lo
    from lintra.reference import evaluate
    from lintra.reference.parse import parse_program

    p = parse_program(text.replace("\n& ", " "))
    got = lo.compile(p).evaluate(*args)
    for g, w in zip(got, evaluate(p, *args), strict=True):
        same_bits(g, w)
    return got


def ill_typed_refused_alike(text: str, error: type) -> None:
    """The one-equation body ``text`` (result ``z``) is refused with ``error`` by the
    reference's ``check`` and by the optimized engine's ``compile``."""
    import pytest

    import lintra.optimized as lo
    from lintra.reference import check
    from lintra.reference.parse import parse_program

    p = parse_program(text + "    return z\n")
    with pytest.raises(error):
        check(p)
    with pytest.raises(error):
        lo.compile(p)


def traced_peak(f: Callable[[], object]) -> tuple[object, int]:
    """``f()`` and the peak of the memory traced while it ran, in bytes."""
    tracemalloc.start()
    try:
        out = f()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak
