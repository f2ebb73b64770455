"""Fuzzing evaluation and the API: mutated spec and corpus programs evaluated at odd values,
random single-equation programs with extreme shapes, parameters and values, and rounds of
API abuse (argument counts, dtypes, nesting, argnums, the wrong kind of object) raise only
lintra's own errors (spec 2.6), in both number domains.

The default (``ci``) profile draws a few dozen inputs per test. A deep run sets
``LINTRA_FUZZ_EXAMPLES=N`` for N inputs per test, e.g.::

    LINTRA_FUZZ_EXAMPLES=25000 LINTRA_FUZZ_PROGRESS=progress.txt python -m pytest -n 0 \\
        -q -p no:cacheprovider --hypothesis-show-statistics tests/test_fuzz_api.py
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lintra.conformance.corpus import parse_corpus
from lintra.conformance.strategies import program_text_mutations
from lintra.reference import LintraError, check, derived, evaluate, parse, parse_program
from lintra.reference.check import ProgramTyping
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.primitives.base import ParamKind
from lintra.reference.syntax import (
    ArrayType,
    Binder,
    DType,
    Equation,
    Literal,
    Program,
    Var,
    VarType,
)
from tests.test_spec import by_kind

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("LINTRA_FUZZ_EXAMPLES", "0"))
deep = settings(max_examples=EXAMPLES, derandomize=False,  # a deep run draws anew each time
                suppress_health_check=list(HealthCheck)) if EXAMPLES \
    else settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SMALL = 64
"""Programs are evaluated only when every type in them has at most this many elements (the
limits of spec 2.1 allow types far beyond any memory; those are checked, not run)."""

MP_DPS = 15


def _spec_and_corpus_programs() -> list[str]:
    texts = [b.text for b in by_kind("lintra")]
    for path in sorted((ROOT / "conformance" / "cases").glob("*.lcase")):
        corpus = parse_corpus(path.read_text(encoding="utf-8"), str(path))
        texts.extend(case.program for case in corpus.cases)
    return texts


PROGRAMS = _spec_and_corpus_programs()


DRAWN: dict[str, int] = {}


def tick(test: str) -> None:
    """Count the inputs of a deep run; every 1000 the count is appended to the file that
    ``LINTRA_FUZZ_PROGRESS`` names, if any (pytest captures the test's own output)."""
    DRAWN[test] = DRAWN.get(test, 0) + 1
    progress = os.environ.get("LINTRA_FUZZ_PROGRESS")
    if progress and DRAWN[test] % 1000 == 0:
        with open(progress, "a", encoding="utf-8") as f:
            f.write(f"{test}: {DRAWN[test]} inputs\n")


def only_lintra_errors(f: Callable[[], object]) -> object:
    """Run ``f``; a :class:`LintraError` is an answer, any other exception a finding."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return f()
        except LintraError:
            return None


def small(typing: ProgramTyping) -> bool:
    return all(vt.array.size <= SMALL for vt in typing.variables.values())


def narrow(typing: ProgramTyping) -> bool:
    """Every dimension small too. The mpmath domain's elementwise loops (``np.ndindex``)
    build a range per dimension, so an empty ``f64[0, 2147483648]`` exhausts memory there;
    until that is fixed such types are evaluated in the float64 domain only."""
    return all(n <= SMALL for vt in typing.variables.values() for n in vt.array.shape)


# -- values ---------------------------------------------------------------------------------

FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324,
          2.0**63, 2.0**31, 3.4e38, 1e-40]
INTS = [0, 1, -1, 2, 7, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 2**31, 2**63, 2**64, -3]


def values_of(t: ArrayType, in_range: bool) -> st.SearchStrategy[object]:
    """Arrays of type ``t`` with extreme elements; with ``in_range`` False the elements may
    also be of the wrong kind or out of range."""
    if t.dtype is DType.bool:
        element: st.SearchStrategy = st.booleans()
    elif t.dtype.is_int:
        lo, hi = (-(2**31), 2**31 - 1) if t.dtype is DType.i32 else (-(2**63), 2**63 - 1)
        element = st.one_of(st.sampled_from([v for v in INTS if lo <= v <= hi]),
                            st.integers(-5, 5))
    else:
        element = st.one_of(st.sampled_from(FLOATS), st.floats(allow_nan=True, width=64))
    if not in_range:
        element = st.one_of(element, st.sampled_from(FLOATS), st.sampled_from(INTS),
                            st.booleans())
    return st.lists(element, min_size=t.size, max_size=t.size).map(
        lambda xs: np.array(xs, dtype=object).reshape(t.shape) if xs or t.size == 0
        else np.zeros(t.shape, dtype=object))


def exact_arguments(p: Program) -> st.SearchStrategy[list[object]]:
    """One well-typed argument per parameter, as plain NumPy arrays of the dtype."""
    def as_dtype(v: object, t: ArrayType) -> np.ndarray:
        with np.errstate(over="ignore"):
            flat = np.asarray(v, dtype=object).ravel().tolist()  # no nested lists: a
            return np.array(flat, dtype=t.dtype.numpy).reshape(t.shape)  # (2^59, 0) is empty
    return st.tuples(*(values_of(b.type.array, True).map(
        lambda v, t=b.type.array: as_dtype(v, t)) for b in p.inputs)).map(list)


ODD_ARGUMENTS = st.one_of(
    st.none(), st.booleans(), st.sampled_from(FLOATS), st.sampled_from(INTS),
    st.just(2**1100), st.just(-(2**1100)), st.just("0.1"), st.just("x"), st.just(1j),
    st.just([[1.0], 2.0]), st.just([1.0, [2.0, 3.0]]), st.just([]), st.just([[]]),
    st.just(np.float32(2**31)), st.just(np.uint64(2**64 - 1)), st.just(np.int8(-1)),
    st.just(np.array([1, 2], dtype=object)), st.just(np.array(["a"], dtype=object)),
    st.just({"x": 1}), st.just(np.zeros((2, 0))), st.just(np.array(np.nan)),
    st.just(np.datetime64("2020-01-01")), st.just(b"1"), st.just(object()),
)

ARGNUMS = st.one_of(
    st.integers(-4, 4), st.none(), st.booleans(), st.sampled_from([1.0, "0", np.int64(0),
                                                                   np.int32(-1)]),
    st.lists(st.integers(-4, 4), max_size=3).map(tuple),
    st.lists(st.sampled_from([0, 1, True, 1.5, None, (0,)]), max_size=3),
)


def abused(p: Program) -> st.SearchStrategy[list[object]]:
    """Argument lists for ``p``: right, with one argument swapped for an odd one, one too few
    or one too many."""
    def vary(args: list[object], how: int, odd: object, k: int) -> list[object]:
        if how == 0 or not args:
            return [*args, odd] if how == 1 else args
        k %= len(args)
        if how == 1:
            return [*args[:k], odd, *args[k + 1:]]
        if how == 2:
            return args[:-1]
        return [*args, odd]
    return st.builds(vary, exact_arguments(p), st.integers(0, 3), ODD_ARGUMENTS,
                     st.integers(0, 5))


def tangents_for(p: Program) -> st.SearchStrategy[list[object]]:
    floats = [b.type.array for b in p.inputs if b.type.array.dtype.is_float]
    return st.tuples(*(values_of(t, True) for t in floats)).map(list)


def exercise(p: Program, args: list[object], tangents: list[object], odd: object,
             argnums: object, dps: int | None, which: int) -> None:
    """One call of the API on ``p``; which function is chosen by ``which``."""
    calls: list[Callable[[], object]] = [
        lambda: evaluate(p, *args, dps=dps),
        lambda: derived.jvp(p, args, tangents, dps=dps),
        lambda: derived.jvp(p, args, [*tangents, odd], dps=dps),
        lambda: derived.jvp(p, args, [odd, *tangents[1:]], dps=dps),
        lambda: derived.linearize(p, *args, dps=dps)[1](*tangents),
        lambda: derived.linearize(p, *args, dps=dps)[1](odd, *tangents[1:]),
        lambda: derived.vjp(p, *args, dps=dps)[1](*[np.ones(t.array.shape)
                                                     for t in p.result_types]),
        lambda: derived.vjp(p, *args, dps=dps)[1](odd),
        lambda: derived.grad(p, *args, argnums=argnums, dps=dps),
        lambda: derived.value_and_grad(p, *args, argnums=argnums, dps=dps),
        lambda: derived.jacfwd(p, *args, argnums=argnums, dps=dps),
        lambda: derived.jacrev(p, *args, argnums=argnums, dps=dps),
        lambda: derived.hessian(p, *args, argnums=argnums, dps=dps),
        lambda: derived.hvp(p, args, tangents, dps=dps),
        lambda: derived.transpose(odd),
        lambda: derived.grad_program(p, argnums),
        lambda: evaluate(odd, *args, dps=dps),
        lambda: derived.grad(odd, *args),
    ]
    only_lintra_errors(calls[which % len(calls)])


# -- mutated spec and corpus programs, evaluated ----------------------------------------------


@deep
@given(st.data())
def test_mutated_spec_and_corpus_programs_evaluate_or_refuse(data: st.DataObject) -> None:
    """Every spec example and corpus program, mutated as text; what parses and checks is
    evaluated at extreme values (float64, and mpmath when small)."""
    tick("mutated")
    text = data.draw(program_text_mutations(data.draw(st.sampled_from(PROGRAMS))))
    module = only_lintra_errors(lambda: parse(text))
    if module is None:
        return
    name = data.draw(st.sampled_from(list(module)))
    typing = only_lintra_errors(lambda: check(module[name], module))
    if typing is None or not small(typing):  # type: ignore[arg-type]
        return
    p = module[name]
    args = data.draw(abused(p))
    only_lintra_errors(lambda: evaluate(p, *args, module=module))
    if narrow(typing) and data.draw(st.booleans()):  # type: ignore[arg-type]
        only_lintra_errors(lambda: evaluate(p, *args, dps=MP_DPS, module=module))


# -- random single-equation programs -----------------------------------------------------------

DIMS = st.one_of(st.integers(0, 3), st.sampled_from([2**31, 2**32, 2**60 - 1, 2**60, 2**62,
                                                     2**63, 2**64]))
SHAPES = st.lists(st.one_of(st.integers(0, 3), DIMS), max_size=4).map(tuple) | st.just(
    (1,) * 33)
DTYPES = st.sampled_from(list(DType))
PARAM_INTS = st.one_of(st.integers(-3, 3), st.sampled_from(
    [2**31, 2**32, 2**60, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, -(2**64)]))
PARAM_VALUES = {
    ParamKind.INT: PARAM_INTS,
    ParamKind.BOOL: st.booleans(),
    ParamKind.FLOAT: st.one_of(st.sampled_from(FLOATS), PARAM_INTS),
    ParamKind.STR: st.sampled_from(["f64", "f32", "i64", "i32", "bool", "x", ""]),
    ParamKind.DTYPE: st.sampled_from(["f64", "f32", "i64", "i32", "bool", "f16"]),
    ParamKind.INTS: st.lists(PARAM_INTS, max_size=4).map(tuple),
    ParamKind.INTS_PAIR: st.tuples(st.lists(PARAM_INTS, max_size=2).map(tuple),
                                   st.lists(PARAM_INTS, max_size=2).map(tuple)),
    ParamKind.INTS_TUPLES: st.lists(st.lists(PARAM_INTS, max_size=3).map(tuple),
                                    max_size=3).map(tuple),
}


LEGAL_SHAPES = st.one_of(
    st.lists(st.integers(0, 3), max_size=4).map(tuple),
    # extreme sides that spec 2.1 allows: a huge side beside a zero one, one huge side
    st.permutations([0, 2**59]).map(tuple), st.sampled_from([(2**31,), (0, 2**31, 3)]))


def literals_of(dtype: DType) -> st.SearchStrategy[object]:
    """Literal values a ``dtype`` operand's literal partner can take."""
    if dtype.is_float:
        return st.sampled_from(FLOATS)
    return st.booleans() if dtype == DType.bool else st.sampled_from(INTS)


def fitting_params(rank: int) -> dict[ParamKind, st.SearchStrategy[object]]:
    """Parameter values that fit an operand of ``rank``: axes within it, small sizes."""
    axes = st.integers(-rank, rank - 1) if rank else st.just(0)
    small = st.integers(0, 3)
    return {
        ParamKind.INT: st.one_of(axes, small),
        ParamKind.INTS: st.one_of(st.lists(axes, max_size=rank, unique=True).map(tuple),
                                  st.lists(small, min_size=rank, max_size=rank).map(tuple)),
        ParamKind.INTS_PAIR: st.tuples(st.lists(axes, max_size=1).map(tuple),
                                       st.lists(axes, max_size=1).map(tuple)),
    }


@st.composite
def single_equation_programs(draw: st.DrawFn) -> Program:
    """``def f(params) -> results: outs = prim(operands, params...)`` with operand types of
    extreme shapes (a few beyond the limits of spec 2.1), literal operands and parameter
    values at the edges of the machine integers; result types from the shape rule where it
    gives one, else drawn."""
    prim = PRIMITIVES[draw(st.sampled_from(sorted(PRIMITIVES)))]
    n = draw(st.integers(prim.arity.min, (prim.arity.max if prim.arity.max is not None
                                          else prim.arity.min + 2)))
    # coherent draws give operands one type (an index operand a rank-0 integer) and
    # parameters that fit its rank, so that extreme shapes and values get past check into
    # evaluation and the transformations; the others draw every type and value freely
    coherent = draw(st.integers(0, 3)) > 0
    base = ArrayType(draw(DTYPES), draw(LEGAL_SHAPES if coherent else SHAPES))
    index = ArrayType(draw(st.sampled_from([DType.i32, DType.i64])), ())
    inputs: list[Binder] = []
    operands: list[Var | Literal] = []
    for k in range(n):
        if draw(st.integers(0, 5 if not coherent else 11)) == 0:
            operands.append(Literal(draw(literals_of(base.dtype) if coherent else st.one_of(
                st.sampled_from(FLOATS), st.sampled_from(INTS), st.booleans()))))
            continue
        if coherent:
            t = base if k == 0 or draw(st.integers(0, 3)) > 0 else index
        else:
            t = base if draw(st.booleans()) else ArrayType(draw(DTYPES), draw(SHAPES))
        # the linear-only primitives take linear operands (spec 3.8)
        linear = coherent and prim.name in ("dup", "drop") and t.dtype.is_float
        inputs.append(Binder(f"x{k}", VarType(t, linear=linear)))
        operands.append(Var(f"x{k}"))
    fitting = fitting_params(base.rank)
    params = []
    for spec in prim.params:
        if spec.required or draw(st.booleans()):
            kind = spec.kind
            values = fitting.get(kind) if coherent else None
            params.append((spec.name, draw(values if values is not None
                                           else PARAM_VALUES[kind])))
    results = 1 if prim.name not in ("dup", "sort") else draw(st.integers(1, 2))
    outs = tuple(Binder(f"y{k}", None) for k in range(results))
    result_types = tuple(VarType(ArrayType(draw(DTYPES), draw(SHAPES)), False)
                         for _ in range(results))
    p = Program("f", tuple(inputs), result_types,
                (Equation(outs, prim.name, tuple(operands), tuple(params)),),
                tuple(Var(b.name) for b in outs))
    typing = only_lintra_errors(lambda: check(
        Program("f", p.inputs, (), p.equations, ())))
    if typing is not None:  # the shape rule's types as the declared results
        eq = typing.equations[0]  # type: ignore[union-attr]
        p = Program("f", p.inputs, eq.outputs, p.equations, p.outputs)
    return p


@deep
@given(single_equation_programs(), st.data())
def test_single_equation_programs_check_print_and_run(p: Program, data: st.DataObject) -> None:
    tick("single_equation")
    typing = only_lintra_errors(lambda: check(p))
    if typing is None:
        return
    assert parse_program(str(p)) == p  # a checked record prints as text that parses back
    if not small(typing):  # type: ignore[arg-type]
        return
    args = data.draw(abused(p))
    only_lintra_errors(lambda: evaluate(p, *args))
    if narrow(typing) and data.draw(st.booleans()):  # type: ignore[arg-type]
        only_lintra_errors(lambda: evaluate(p, *args, dps=MP_DPS))
    tangents = data.draw(tangents_for(p))
    only_lintra_errors(lambda: derived.jvp(p, args, tangents))


# -- API abuse -----------------------------------------------------------------------------


def _api_programs() -> list[Program]:
    found = []
    for text in PROGRAMS:
        module = only_lintra_errors(lambda text=text: parse(text))
        for name in module or ():
            p = module[name]
            if any(e.primitive == "call" for e in p.equations):
                continue
            typing = only_lintra_errors(lambda p=p, module=module: check(p, module))
            linear = any(b.type.linear for b in p.inputs)
            if typing is not None and narrow(typing) and not linear and len(found) < 200:
                found.append(p)
    return found


API_PROGRAMS = _api_programs()


@deep
@given(st.sampled_from(API_PROGRAMS), st.data())
def test_api_abuse_raises_only_lintra_errors(p: Program, data: st.DataObject) -> None:
    tick("api_abuse")
    args = data.draw(abused(p))
    tangents = data.draw(tangents_for(p))
    exercise(p, args, tangents, data.draw(ODD_ARGUMENTS), data.draw(ARGNUMS),
             data.draw(st.sampled_from([None, None, MP_DPS])), data.draw(st.integers(0, 99)))


def test_the_fuzzers_have_material() -> None:
    assert len(PROGRAMS) >= 50 and len(API_PROGRAMS) >= 30


@pytest.mark.parametrize("odd", [2**1100, [[1.0], 2.0], None, np.float32(2**31)])
def test_odd_arguments_are_refused_by_every_entry_point(odd: object) -> None:
    """A fixed round of the abuse above, so the default run covers each entry point."""
    p = next(q for q in API_PROGRAMS if q.inputs and q.inputs[0].type.array.dtype.is_float)
    args = [np.zeros(b.type.array.shape, b.type.array.dtype.numpy) for b in p.inputs]
    args[0] = odd
    tangents = [np.zeros(b.type.array.shape) for b in p.inputs
                if b.type.array.dtype.is_float]
    for which in range(18):
        exercise(p, args, tangents, odd, 0, None, which)
