"""Comparisons, logical operators, selection and clamping (spec 3.3).

Comparisons follow IEEE 754: every comparison with nan is false except ``ne``, and
``-0.0 == 0.0``. ``select_n`` picks, elementwise, the case its predicate names; ``clamp`` is
``min(max(x, lo), hi)`` with the conventions of ``max`` and ``min`` (spec 3.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain
from lintra.reference.errors import EvaluationError
from lintra.reference.primitives.base import (
    NEVER_LINEAR,
    DerivativeClaim,
    JvpRule,
    LinearOperand,
    Params,
    Primitive,
    Tangent,
    TransposeRule,
    at_least,
    broadcast_shapes,
    elementwise,
    fixed,
    from_position,
    is_bool,
    is_numeric,
    linear_together,
    require,
    require_dtype,
    same_dtype,
)
from lintra.reference.primitives.binary import (
    extremum_tangent,
    f64_max,
    f64_min,
    mp_max,
    mp_min,
)
from lintra.reference.primitives.derivatives import linear_jvp, unbroadcast, zero_jvp
from lintra.reference.syntax import ArrayType, Atom, DType, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]


def equality_type(ts: Types, ps: Params) -> Types:
    same_dtype(ts)
    return (ArrayType(DType.bool, broadcast_shapes(ts)),)


def order_type(ts: Types, ps: Params) -> Types:
    same_dtype(ts)
    for t in ts:
        require_dtype(t, is_numeric, "each operand")
    return (ArrayType(DType.bool, broadcast_shapes(ts)),)


def logical_type(ts: Types, ps: Params) -> Types:
    for t in ts:
        require_dtype(t, is_bool, "each operand")
    return (ArrayType(DType.bool, broadcast_shapes(ts)),)


def is_predicate_dtype(d: DType) -> bool:
    """bool, i32 or i64"""
    return d in (DType.bool, DType.i32, DType.i64)


def select_n_type(ts: Types, ps: Params) -> Types:
    pred, cases = ts[0], ts[1:]
    require(len(cases) >= 1, "select_n needs at least one case")
    require_dtype(pred, is_predicate_dtype, "the predicate")
    if pred.dtype is DType.bool:
        require(len(cases) == 2, f"a bool predicate selects between 2 cases, got {len(cases)}")
    dtype = same_dtype(cases, "the cases")
    shape = broadcast_shapes(cases, "the cases")
    require(
        pred.rank == 0 or pred.shape == shape,
        f"the predicate must have rank 0 or the cases' shape {shape}, got {pred}",
    )
    return (ArrayType(dtype, shape),)


def clamp_type(ts: Types, ps: Params) -> Types:
    lo, x, hi = ts
    dtype = same_dtype(ts)
    require_dtype(x, is_numeric, "x")
    for name, t in (("lo", lo), ("hi", hi)):
        require(t.rank == 0 or t.shape == x.shape,
                f"{name} must have rank 0 or the shape of x ({x}), got {t}")
    return (ArrayType(dtype, x.shape),)


# --------------------------------------------------------------------------------------------
# Evaluation


def compare(np_fn: Callable[..., np.ndarray], mp_fn: Callable[[object, object], bool]
            ) -> Callable[..., object]:
    """An mpmath comparison from Python's operators (nan compares as in IEEE 754)."""

    def fn(ctx: object, x: object, y: object) -> object:
        return bool(mp_fn(x, y))

    fn.__name__ = f"mp_{np_fn.__name__}"
    return fn


def mp_eq(x: object, y: object) -> bool:
    return x == y


def mp_ne(x: object, y: object) -> bool:
    return x != y


def mp_lt(x: object, y: object) -> bool:
    return x < y  # type: ignore[operator]


def mp_le(x: object, y: object) -> bool:
    return x <= y  # type: ignore[operator]


def mp_gt(x: object, y: object) -> bool:
    return x > y  # type: ignore[operator]


def mp_ge(x: object, y: object) -> bool:
    return x >= y  # type: ignore[operator]


def mp_unused(ctx: object, *xs: object) -> object:
    """Logical operators take booleans only, which stay NumPy arrays in every domain."""
    raise EvaluationError("a logical operator was given float operands")


def select_n_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    out = outs[0]
    pred, cases = xs[0], xs[1:]
    index = pred.astype(np.int64)
    bad = (index < 0) | (index >= len(cases))
    if np.any(bad):
        found = int(index[bad].reshape(-1)[0])
        raise EvaluationError(
            f"select_n predicate {found} is out of range for {len(cases)} cases "
            f"(expected 0 to {len(cases) - 1})"
        )
    index = np.broadcast_to(index, out.shape)
    result = np.broadcast_to(cases[0], out.shape).copy()
    for i, case in enumerate(cases[1:], start=1):
        mask = index == i
        result[mask] = np.broadcast_to(case, out.shape)[mask]
    return (result,)


def clamp_f64(lo: np.ndarray, x: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return f64_min(f64_max(x, lo), hi)


def clamp_mp(ctx: object, lo: object, x: object, hi: object) -> object:
    return mp_min(ctx, mp_max(ctx, x, lo), hi)


def comparison(name: str, summary: str, np_fn: Callable[..., np.ndarray],
               mp_fn: Callable[[object, object], bool], ordered: bool) -> Primitive:
    return Primitive(
        name=name, family="logic", summary=summary, arity=fixed(2), params=(),
        type_rule=order_type if ordered else equality_type, linearity=NEVER_LINEAR,
        evaluate=elementwise(np_fn, compare(np_fn, mp_fn)),
    )


def logical(name: str, summary: str, np_fn: Callable[..., np.ndarray], n: int) -> Primitive:
    return Primitive(
        name=name, family="logic", summary=summary, arity=fixed(n), params=(),
        type_rule=logical_type, linearity=NEVER_LINEAR, evaluate=elementwise(np_fn, mp_unused),
    )


EQ = comparison("eq", "x = y", np.equal, mp_eq, ordered=False)
NE = comparison("ne", "x ≠ y (true if either is nan)", np.not_equal, mp_ne, ordered=False)
LT = comparison("lt", "x < y", np.less, mp_lt, ordered=True)
LE = comparison("le", "x ≤ y", np.less_equal, mp_le, ordered=True)
GT = comparison("gt", "x > y", np.greater, mp_gt, ordered=True)
GE = comparison("ge", "x ≥ y", np.greater_equal, mp_ge, ordered=True)
AND = logical("and", "x ∧ y", np.logical_and, 2)
OR = logical("or", "x ∨ y", np.logical_or, 2)
NOT = logical("not", "¬x", np.logical_not, 1)
SELECT_N = Primitive(
    name="select_n",
    family="logic",
    summary="select_n(p, c0, ..., c(n-1))[i] = c(p[i])[i]; a bool p picks c0 if false",
    arity=at_least(2),
    params=(),
    type_rule=select_n_type,
    linearity=linear_together(from_position(1)),
    evaluate=select_n_eval,
    shared_dtype=from_position(1),
)
CLAMP = Primitive(
    name="clamp",
    family="logic",
    summary="clamp(lo, x, hi) = min(max(x, lo), hi)",
    arity=fixed(3),
    params=(),
    type_rule=clamp_type,
    linearity=NEVER_LINEAR,
    evaluate=elementwise(clamp_f64, clamp_mp),
    derivative=DerivativeClaim(0),
)

BASE: tuple[Primitive, ...] = (EQ, NE, LT, LE, GT, GE, AND, OR, NOT, SELECT_N, CLAMP)


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.3, "Derivatives")


def select_n_transpose(em: Emitter, cts: tuple[Tangent, ...],
                       xs: tuple[Atom | LinearOperand, ...], ps: Params
                       ) -> tuple[Tangent, ...]:
    """ct_ci = select_n(p, 0, ..., ct, ..., 0): each case receives ct where it was chosen."""
    ct: Var = cts[0]  # type: ignore[assignment]  # never a zero: the driver skips those
    t = em.array_type(ct)
    out: list[Tangent] = [None]
    for i, x in enumerate(xs[1:], start=1):
        if not isinstance(x, LinearOperand):
            out.append(None)
            continue
        cases = [ct if j == i else em.zero(t) for j in range(1, len(xs))]
        chosen = em.emit1("select_n", xs[0], *cases, hint="ct")  # type: ignore[arg-type]
        out.append(unbroadcast(em, chosen, x.type))
    return tuple(out)


def clamp_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
              ps: Params) -> tuple[Tangent, ...]:
    """The derivative of min(max(x, lo), hi) with the tie rules of max and min (chapter 6)."""
    lo, x, hi = xs
    shape = em.array_type(ys[0]).shape
    m = em.emit1("max", x, lo, hint="c")
    dm = extremum_tangent(em, x, lo, ts[1], ts[0], True, shape)
    return (extremum_tangent(em, m, hi, dm, ts[2], False, shape),)


RULES: dict[str, tuple[JvpRule, TransposeRule | None]] = {
    **{name: (zero_jvp, None) for name in ("eq", "ne", "lt", "le", "gt", "ge", "and", "or",
                                           "not")},
    "select_n": (linear_jvp("select_n"), select_n_transpose),
    "clamp": (clamp_jvp, None),
}
"""Each primitive's JVP rule and, for select_n, its transpose rule."""

PRIMITIVES = tuple(
    replace(prim, jvp=RULES[prim.name][0], transpose=RULES[prim.name][1]) for prim in BASE
)
