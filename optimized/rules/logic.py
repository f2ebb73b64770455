"""Comparisons, logical operators, selection and clamping (spec 3.3).

Comparisons follow IEEE 754 (nan is unequal to everything, -0 = +0) and give bool results
without tangents. ``select_n`` is linear in its cases; an integer predicate outside
``[0, n)`` is an EvaluationError. ``clamp`` is ``min(max(x, lo), hi)`` with the zero and tie
conventions of ``max`` and ``min`` (spec 3.2, chapter 6).
"""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Atom, AType, Builder, Eqn, Var
from lintra.optimized.rules.base import (
    ANY,
    NUMERIC,
    CodeContext,
    Rule,
    elementwise_type,
    together,
    ufunc,
    unbroadcast,
)
from lintra.optimized.rules.binary import (
    extremum_weights,
    float_maximum,
    float_minimum,
    nonzero_literal,
    weight_constants,
    weighted_tangent,
)
from lintra.reference.errors import EvaluationError, LintraTypeError, ShapeError

BOOL = frozenset({"bool"})
PREDICATE_DTYPES = frozenset({"bool", "i32", "i64"})


def _predicate_infer(dtypes: frozenset[str]):
    """The type rule of a comparison or logical operator: operands of one dtype among
    ``dtypes``, elementwise shapes, a bool result."""

    def infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
        return (elementwise_type("operands", types, dtypes, result_dtype="bool"),)

    return infer


def _no_tangent(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """J-Zero: bool results have no tangent."""
    return [None]


# --------------------------------------------------------------------------------------------
# select_n


def _select_n_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    pred, cases = types[0], types[1:]
    if pred.dtype not in PREDICATE_DTYPES:
        raise LintraTypeError(f"select_n's predicate must be bool, i32 or i64, got {pred}")
    if pred.dtype == "bool" and len(cases) != 2:
        raise ShapeError(f"a bool predicate selects between 2 cases, got {len(cases)}")
    out = elementwise_type("the cases of select_n", cases, ANY)
    if pred.shape and pred.shape != out.shape:
        raise ShapeError(f"select_n's predicate must have rank 0 or the cases' shape "
                         f"{out.shape}, got {pred}")
    return (out,)


def _case_selector(tab: ArrayTable):
    """select_n with an integer predicate: every predicate value must name a case."""
    xp = tab.xp
    unsigned = {xp.dtype(xp.int64): xp.uint64, xp.dtype(xp.int32): xp.uint32}

    def select_case(pred, cases):
        pred = xp.asarray(pred)
        n = len(cases)
        # viewed as unsigned, a negative predicate is larger than any case count
        outside = pred.view(unsigned[pred.dtype]) >= n
        if outside.any():
            found = int(pred[outside].reshape(-1)[0])
            raise EvaluationError(f"select_n: predicate {found} is out of range for {n} "
                                  f"cases (expected 0 to {n - 1})")
        if n == 1:
            return cases[0]
        result = xp.where(pred == 1, cases[1], cases[0])
        for i in range(2, n):
            result = xp.where(pred == i, cases[i], result)
        return result

    return select_case


def _select_n_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    pred = e.ins[0]
    if pred.type.dtype == "bool":
        return f"{ctx.fn('where')}({xs[0]}, {xs[2]}, {xs[1]})"
    return f"{ctx.kernel(_case_selector)}({xs[0]}, ({''.join(c + ', ' for c in xs[1:])}))"


def _select_n_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """J-Linear: the cases' tangents selected by the same predicate, zeros made concrete."""
    cases = [t if t is not None else b.zero(c.type) for c, t in zip(e.ins[1:], dxs[1:])]
    return [b.op("select_n", e.ins[0], *cases)]


def _select_n_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """Case i receives ct where the predicate chose it and 0 elsewhere."""
    (ct,) = cts
    pred, cases = e.ins[0], e.ins[1:]
    zero = b.zero(ct.type)
    out: list[Var | None] = [None]
    for i, case in enumerate(cases):
        if not case.linear:
            out.append(None)
            continue
        chosen = b.op("select_n", pred, *[ct if j == i else zero for j in range(len(cases))])
        out.append(unbroadcast(b, chosen, case.type))
    return out


# --------------------------------------------------------------------------------------------
# clamp


def _clamp_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    lo, x, hi = types
    for t in types:
        if t.dtype != x.dtype:
            raise LintraTypeError(f"clamp needs lo, x and hi of one dtype, got "
                                  f"{lo}, {x}, {hi}")
    if x.dtype not in NUMERIC:
        raise LintraTypeError(f"clamp needs numeric operands, got {x.dtype}")
    for name, t in (("lo", lo), ("hi", hi)):
        if t.shape and t.shape != x.shape:
            raise ShapeError(f"clamp's {name} must have rank 0 or the shape of x ({x}), "
                             f"got {t}")
    return (x,)


def _clamper(tab: ArrayTable):
    """min(max(x, lo), hi) for integers, and for bounds that cannot tie with a zero."""
    xp = tab.xp

    def clamp(lo, x, hi):
        r = xp.maximum(x, lo)
        if isinstance(r, xp.ndarray) and r.ndim:
            return xp.minimum(r, hi, out=r)
        return xp.minimum(r, hi)

    return clamp


def _float_clamper(tab: ArrayTable):
    """min(max(x, lo), hi) with the zero order of max and min (spec 3.2)."""
    larger = float_maximum(tab)
    smaller = float_minimum(tab)

    def float_clamp(lo, x, hi):
        return smaller(larger(x, lo), hi)

    return float_clamp


def _clamp_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    lo, _, hi = e.ins
    exact = not e.outs[0].type.is_float or (nonzero_literal(lo) and nonzero_literal(hi))
    kernel = _clamper if exact else _float_clamper
    return f"{ctx.kernel(kernel)}({xs[0]}, {xs[1]}, {xs[2]})"


def _clamp_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """The derivative of min(max(x, lo), hi) with max's and min's tie rules (chapter 6):
    the partials are products of the weights 0, ½, 1."""
    lo, x, hi = e.ins
    dlo, dx, dhi = dxs
    out = e.outs[0].type
    inner = dx is not None or dlo is not None
    m = b.op("max", x, lo)
    constants = weight_constants(b, out)
    wm, whi = extremum_weights(b, m, hi, False, constants, (inner, dhi is not None))
    pairs: list[tuple[Atom | None, Var | None]] = [(whi, dhi)]
    if inner:
        wx, wlo = extremum_weights(b, x, lo, True, constants,
                                   (dx is not None, dlo is not None))
        if dx is not None:
            pairs.append((b.op("mul", wm, wx), dx))
        if dlo is not None:
            pairs.append((b.op("mul", wm, wlo), dlo))
    return [weighted_tangent(b, pairs)]


def _comparison(name: str, numpy_name: str, dtypes: frozenset[str]) -> Rule:
    return Rule(name, "logic", _predicate_infer(dtypes), ufunc(numpy_name), jvp=_no_tangent,
                min_operands=2, max_operands=2)


RULES = (
    _comparison("eq", "equal", ANY),
    _comparison("ne", "not_equal", ANY),
    _comparison("lt", "less", NUMERIC),
    _comparison("le", "less_equal", NUMERIC),
    _comparison("gt", "greater", NUMERIC),
    _comparison("ge", "greater_equal", NUMERIC),
    _comparison("and", "logical_and", BOOL),
    _comparison("or", "logical_or", BOOL),
    Rule("not", "logic", _predicate_infer(BOOL), ufunc("logical_not"), jvp=_no_tangent,
         min_operands=1, max_operands=1),
    Rule("select_n", "logic", _select_n_infer, _select_n_code, together(start=1),
         shared_from=1, jvp=_select_n_jvp, transpose=_select_n_transpose,
         min_operands=2),
    Rule("clamp", "logic", _clamp_infer, _clamp_code, jvp=_clamp_jvp,
         min_operands=3, max_operands=3),
)
