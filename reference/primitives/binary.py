"""Elementwise arithmetic of two operands (spec 3.2).

Operands share one dtype and have equal shapes, except that rank-0 operands broadcast.
Integer arithmetic wraps around (two's complement) like NumPy's; integer ``div`` truncates
toward zero and ``rem`` has the sign of the dividend (C semantics); integer division by zero
is an :class:`EvaluationError`. ``max``/``min`` propagate nan and order signed zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain
from lintra.reference.errors import EvaluationError
from lintra.reference.primitives.base import (
    ALL,
    NEVER_LINEAR,
    DerivativeClaim,
    EvalRule,
    JvpRule,
    Linearity,
    LinearOperand,
    Params,
    Primitive,
    Tangent,
    TransposeRule,
    at,
    broadcast_shapes,
    elementwise,
    fixed,
    is_float,
    is_numeric,
    linear_at_most_one,
    linear_together,
    require_dtype,
    same_dtype,
)
from lintra.reference.primitives.derivatives import (
    bilinear_jvp,
    broadcast_to,
    sum_tangents,
    unbroadcast,
)
from lintra.reference.syntax import ArrayType, Atom, Literal, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]


def numeric_binary_type(ts: Types, ps: Params) -> Types:
    dtype = same_dtype(ts)
    for t in ts:
        require_dtype(t, is_numeric, "each operand")
    return (ArrayType(dtype, broadcast_shapes(ts)),)


def float_binary_type(ts: Types, ps: Params) -> Types:
    dtype = same_dtype(ts)
    for t in ts:
        require_dtype(t, is_float, "each operand")
    return (ArrayType(dtype, broadcast_shapes(ts)),)


# --------------------------------------------------------------------------------------------
# float64-domain functions (also used for integers in both domains)


def f64_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """maximum with nan propagation and max(-0.0, +0.0) = +0.0."""
    r = np.maximum(x, y)
    if r.dtype.kind == "f":
        zeros = (x == 0) & (y == 0)
        r = np.where(zeros, np.where(np.signbit(x), y, x), r)
    return r


def f64_min(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """minimum with nan propagation and min(-0.0, +0.0) = -0.0."""
    r = np.minimum(x, y)
    if r.dtype.kind == "f":
        zeros = (x == 0) & (y == 0)
        r = np.where(zeros, np.where(np.signbit(x), x, y), r)
    return r


def integer_quotient(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """C division: the quotient truncated toward zero, wrapping on overflow."""
    q = np.floor_divide(x, y)
    inexact = np.remainder(x, y) != 0
    return np.where(inexact & ((x < 0) != (y < 0)), q + 1, q).astype(q.dtype)


def integer_operation(name: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                      float_fn: Callable[..., np.ndarray], mp: Callable[..., object]) -> EvalRule:
    """Evaluation of div and rem: integer division by zero is an EvaluationError."""
    float_rule = elementwise(float_fn, mp)

    def evaluate(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
        if outs[0].dtype.is_int:
            x, y = np.broadcast_arrays(*xs)
            if np.any(y == 0):
                raise EvaluationError(f"integer {name} by zero")
            with np.errstate(all="ignore"):
                return (np.asarray(fn(x, y), dtype=outs[0].dtype.numpy).reshape(outs[0].shape),)
        return float_rule(d, xs, ps, outs)

    return evaluate


# --------------------------------------------------------------------------------------------
# mpmath functions


def mp_add(ctx: object, x: object, y: object) -> object:
    return x + y


def mp_sub(ctx: object, x: object, y: object) -> object:
    return x - y


def mp_mul(ctx: object, x: object, y: object) -> object:
    return x * y


def mp_div(ctx: object, x: object, y: object) -> object:
    """IEEE division on the extended reals: x/0 = ±inf (the sign of x; 0 has no sign in
    mpmath, so +), 0/0 = nan."""
    if y == 0:
        if x == 0 or ctx.isnan(x):  # type: ignore[attr-defined]
            return ctx.nan  # type: ignore[attr-defined]
        return ctx.inf if x > 0 else -ctx.inf  # type: ignore[attr-defined]
    return x / y


def mp_rem(ctx: object, x: object, y: object) -> object:
    """C fmod: x - trunc(x/y)·y, exactly."""
    if ctx.isnan(x) or ctx.isnan(y) or ctx.isinf(x) or y == 0:  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    if ctx.isinf(y):  # type: ignore[attr-defined]
        return x
    r = ctx.fmod(abs(x), abs(y))  # type: ignore[attr-defined]  # floor = trunc for |x|, |y|
    return r if x >= 0 else -r


def mp_max(ctx: object, x: object, y: object) -> object:
    if ctx.isnan(x) or ctx.isnan(y):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    return x if x >= y else y


def mp_min(ctx: object, x: object, y: object) -> object:
    if ctx.isnan(x) or ctx.isnan(y):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    return x if x <= y else y


def mp_pow(ctx: object, x: object, y: object) -> object:
    """C99 pow on exact inputs: the special cases of C99 F.9.4.4, else the real power."""
    if y == 0 or x == 1:
        return ctx.mpf(1)  # type: ignore[attr-defined]
    if ctx.isnan(x) or ctx.isnan(y):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    if ctx.isinf(x) or ctx.isinf(y) or x == 0:  # type: ignore[attr-defined]
        # The C99 values at these points are 0, 1 or ±inf: exact, so float64 gives them.
        with np.errstate(all="ignore"):
            special = f64_pow(np.float64(float(x)), np.float64(float(y)))
        return ctx.mpf(float(special))  # type: ignore[attr-defined]
    if x < 0:
        if y != ctx.floor(y):  # type: ignore[attr-defined]
            return ctx.nan  # type: ignore[attr-defined]
        return ctx.power(x, int(y))  # type: ignore[attr-defined]
    return ctx.power(x, y)  # type: ignore[attr-defined]


def mp_atan2(ctx: object, y: object, x: object) -> object:
    """atan2 with C99's values at infinities (multiples of π/4)."""
    if ctx.isnan(x) or ctx.isnan(y):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    if ctx.isinf(x) or ctx.isinf(y):  # type: ignore[attr-defined]
        r = float(np.arctan2(np.float64(float(y)), np.float64(float(x))))
        return ctx.pi * round(r / (math.pi / 4)) / 4  # type: ignore[attr-defined]
    return ctx.atan2(y, x)  # type: ignore[attr-defined]


def f64_fmod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.fmod(x, y)


def f64_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """C99 pow. NumPy computes a scalar exponent 0.5 as sqrt, which differs from C99 pow at
    x = -0 (C99: +0) and x = -inf (C99: +inf); both are |x|, as at +0 and +inf."""
    r = np.power(x, y)
    fix = (y == 0.5) & ((x == 0) | np.isinf(x))
    return np.where(fix, np.abs(x), r) if np.any(fix) else r


# --------------------------------------------------------------------------------------------
# The records


def binary(name: str, summary: str, type_rule: Callable[[Types, Params], Types],
           evaluate: EvalRule, linearity: Linearity = NEVER_LINEAR,
           derivative: DerivativeClaim | None = None) -> Primitive:
    return Primitive(
        name=name, family="binary", summary=summary, arity=fixed(2), params=(),
        type_rule=type_rule, linearity=linearity, evaluate=evaluate, derivative=derivative,
    )


ADD = binary("add", "x + y", numeric_binary_type, elementwise(np.add, mp_add),
             linear_together(ALL))
SUB = binary("sub", "x - y", numeric_binary_type, elementwise(np.subtract, mp_sub),
             linear_together(ALL))
# Derivative claims (spec 3.2, column d-ulp, derived in "Accuracy").
EXACT = DerivativeClaim(0)

MUL = binary("mul", "x · y", numeric_binary_type, elementwise(np.multiply, mp_mul),
             linear_at_most_one(ALL), EXACT)
DIV = binary("div", "x / y (integers: truncated toward zero)", numeric_binary_type,
             integer_operation("division", integer_quotient, np.divide, mp_div),
             linear_together(at(0)), DerivativeClaim(2))
REM = binary("rem", "x - trunc(x / y)·y (C fmod)", numeric_binary_type,
             integer_operation("remainder", f64_fmod, f64_fmod, mp_rem),
             derivative=DerivativeClaim(2))
POW = binary("pow", "x^y (C99 pow)", float_binary_type, elementwise(f64_pow, mp_pow),
             derivative=DerivativeClaim(17))
ATAN2 = binary("atan2", "the angle of the point (x, y): atan2(y, x) with y first",
               float_binary_type, elementwise(np.arctan2, mp_atan2),
               derivative=DerivativeClaim(4.5))
MAX = binary("max", "the larger of x and y; nan if either is nan", numeric_binary_type,
             elementwise(f64_max, mp_max), derivative=EXACT)
MIN = binary("min", "the smaller of x and y; nan if either is nan", numeric_binary_type,
             elementwise(f64_min, mp_min), derivative=EXACT)

BASE: tuple[Primitive, ...] = (ADD, SUB, MUL, DIV, REM, POW, ATAN2, MAX, MIN)


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.2, "Derivatives"). Rank-0 operands broadcast: their tangents are
# broadcast to the result's shape, and cotangents are summed back (unbroadcast).

Atoms = tuple[Atom, ...]
Tangents = tuple[Tangent, ...]
Operands = tuple[Atom | LinearOperand, ...]


def result_shape(em: Emitter, xs: Atoms) -> tuple[int, ...]:
    shapes = [em.array_type(x).shape for x in xs if isinstance(x, Var)]
    return max(shapes, key=len) if shapes else ()


def add_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = dx + dy (one of them alone if the other is zero)"""
    shape = em.array_type(ys[0]).shape
    if ts[0] is not None and ts[1] is not None:
        return (em.emit1("add", ts[0], ts[1], hint="dt"),)
    t = ts[0] if ts[0] is not None else ts[1]
    return (broadcast_to(em, t, shape),)  # type: ignore[arg-type]


def sub_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = dx - dy"""
    shape = em.array_type(ys[0]).shape
    if ts[0] is not None and ts[1] is not None:
        return (em.emit1("sub", ts[0], ts[1], hint="dt"),)
    if ts[0] is not None:
        return (broadcast_to(em, ts[0], shape),)
    return (broadcast_to(em, em.emit1("neg", ts[1], hint="dt"), shape),)  # type: ignore[arg-type]


def add_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = ct, ct_y = ct (summed to rank 0 where the operand had rank 0)"""
    return tuple(
        unbroadcast(em, cts[0], x.type) if isinstance(x, LinearOperand) else None  # type: ignore
        for x in xs
    )


def sub_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = ct, ct_y = -ct"""
    ct = cts[0]
    out: list[Tangent] = [None, None]
    if isinstance(xs[0], LinearOperand):
        out[0] = unbroadcast(em, ct, xs[0].type)  # type: ignore[arg-type]
    if isinstance(xs[1], LinearOperand):
        out[1] = unbroadcast(em, em.emit1("neg", ct, hint="ct"), xs[1].type)  # type: ignore
    return tuple(out)


def mul_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = ct · y for the linear operand x (y the other, non-linear one)"""
    out: list[Tangent] = [None, None]
    for i, j in ((0, 1), (1, 0)):
        x = xs[i]
        if isinstance(x, LinearOperand):
            other = xs[j]
            out[i] = unbroadcast(em, em.emit1("mul", cts[0], other, hint="ct"),  # type: ignore
                                 x.type)
    return tuple(out)


# Thresholds between which a float's square is a normal number in f32 and in f64
# (2^±60 squared is 2^±120, inside f32's normal range [2^-126, 2^128)); outside them the
# rules below take the route that cannot overflow or lose digits to subnormals (spec 3.2).
SQUARE_SAFE_LOW = 2.0 ** -60
SQUARE_SAFE_HIGH = 2.0 ** 60

NORMAL_RANGE = {"f64": (float(np.finfo(np.float64).tiny), float(np.finfo(np.float64).max)),
                "f32": (float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max))}
"""The smallest normal and the largest finite number of each float dtype."""


def within(em: Emitter, a: Atom, low: float, high: float) -> Var:
    """``low <= a <= high`` (false for nan)."""
    return em.emit1("and", em.emit1("ge", a, Literal(low), hint="c"),
                    em.emit1("le", a, Literal(high), hint="c"), hint="c")


def div_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = dx / y - (x / y²) dy: x / (y·y) where y² is a normal number, (x / y) / y (from
    the result z) elsewhere, so that no intermediate overflows or is subnormal while the
    partial is a normal number (spec 3.2, Derivatives)."""
    x, y = xs
    terms: list[Tangent] = []
    if ts[0] is not None:
        terms.append(em.emit1("div", ts[0], y, hint="dt"))
    if ts[1] is not None:
        square_safe = within(em, em.emit1("abs", y, hint="c"), SQUARE_SAFE_LOW,
                             SQUARE_SAFE_HIGH)
        by_result = em.emit1("div", ys[0], y, hint="c")
        by_square = em.emit1("div", x, em.emit1("mul", y, y, hint="c"), hint="c")
        c = em.emit1("neg", em.emit1("select_n", square_safe, by_result, by_square, hint="c"),
                     hint="c")
        terms.append(em.emit1("mul", c, ts[1], hint="dt"))
    shape = em.array_type(ys[0]).shape
    return (broadcast_to(em, sum_tangents(em, terms), shape),)  # type: ignore[arg-type]


def div_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = ct / y (only the numerator may be linear)"""
    x = xs[0]
    if not isinstance(x, LinearOperand):
        return (None, None)
    return (unbroadcast(em, em.emit1("div", cts[0], xs[1], hint="ct"), x.type), None)  # type: ignore


def weighted_sum(em: Emitter, pairs: list[tuple[Atom, Tangent]], shape: tuple[int, ...]
                 ) -> Tangent:
    """Σ c·t over the pairs with a non-zero tangent, broadcast to ``shape``."""
    terms = [em.emit1("mul", c, t, hint="dt") for c, t in pairs if t is not None]
    total = sum_tangents(em, terms)
    return None if total is None else broadcast_to(em, total, shape)


def normal_magnitude(em: Emitter, a: Atom, low: float, high: float) -> Var:
    """``low <= |a| <= high``: ``|a|`` is unchanged by clamping to [low, high] (false for
    nan and infinities when ``high`` is the largest finite number)."""
    size = em.emit1("abs", a, hint="c")
    return em.emit1("eq", em.emit1("clamp", Literal(low), size, Literal(high), hint="c"), size,
                    hint="c")


def pow_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = y x^(y-1) dx + [x ≠ 0] log(x) z dy, the first coefficient 0 where y = 0 and it
    is nan (x = ±0 or nan; chapter 6).

    y x^(y-1) is y z / x from the result z where z is a normal number (pow(x, y - 1) would
    err by |log x| times the rounding of y - 1, inexact for |y| < ½): y (z / x) where z / x
    is normal, (y z) / x where it overflows (x subnormal) or is subnormal (x > 1, y < 0);
    y pow(x, y - 1) where z overflows or is subnormal (spec 3.2, Derivatives)."""
    x, y = xs
    z = ys[0]
    pairs: list[tuple[Atom, Tangent]] = []
    if ts[0] is not None:
        low, high = NORMAL_RANGE[em.array_type(z).dtype.value]
        ratio = em.emit1("div", z, x, hint="c")
        by_ratio = em.emit1("mul", y, ratio, hint="c")
        by_product = em.emit1("div", em.emit1("mul", y, z, hint="c"), x, hint="c")
        by_result = em.emit1("select_n", normal_magnitude(em, ratio, low, high), by_product,
                             by_ratio, hint="c")
        power = em.emit1("pow", x, em.emit1("sub", y, Literal(1.0), hint="c"), hint="c")
        by_power = em.emit1("mul", y, power, hint="c")
        raw = em.emit1("select_n", normal_magnitude(em, z, low, high), by_power, by_result,
                       hint="c")
        # At y = 0 the formula is 0·(1/x), nan only at x = ±0 or nan: the guard replaces that
        # nan alone, so that the coefficient keeps its derivative in y (the mixed partial 1/x)
        undefined = em.emit1("and", em.emit1("eq", y, Literal(0.0), hint="c"),
                             em.emit1("ne", raw, raw, hint="c"), hint="c")
        cx = em.emit1("select_n", undefined, raw, Literal(0.0), hint="c")
        pairs.append((cx, ts[0]))
    if ts[1] is not None:
        raw = em.emit1("mul", em.emit1("log", x, hint="c"), z, hint="c")
        cy = em.emit1("select_n", em.emit1("eq", x, Literal(0.0), hint="c"), raw, Literal(0.0),
                      hint="c")
        pairs.append((cy, ts[1]))
    return (weighted_sum(em, pairs, em.array_type(z).shape),)


def atan2_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params
              ) -> Tangents:
    """atan2(y, x): dz = (x dy - y dx) / (x² + y²), with x and y divided by
    s = max(|x|, |y|) first where s is outside [2^-60, 2^60] (their squares would overflow
    or lose digits): x/(x² + y²) = (x̂ / (x̂² + ŷ²)) / s with x̂ = x/s, ŷ = y/s (spec 3.2)."""
    y, x = xs
    s = em.emit1("max", em.emit1("abs", x, hint="c"), em.emit1("abs", y, hint="c"), hint="c")
    scale = em.emit1("select_n", within(em, s, SQUARE_SAFE_LOW, SQUARE_SAFE_HIGH), s,
                     Literal(1.0), hint="c")
    xh = em.emit1("div", x, scale, hint="c")
    yh = em.emit1("div", y, scale, hint="c")
    den = em.emit1("add", em.emit1("square", xh, hint="c"), em.emit1("square", yh, hint="c"),
                   hint="c")
    pairs: list[tuple[Atom, Tangent]] = []
    if ts[0] is not None:
        cy = em.emit1("div", em.emit1("div", xh, den, hint="c"), scale, hint="c")
        pairs.append((cy, ts[0]))
    if ts[1] is not None:
        cx = em.emit1("div", em.emit1("div", yh, den, hint="c"), scale, hint="c")
        pairs.append((em.emit1("neg", cx, hint="c"), ts[1]))
    return (weighted_sum(em, pairs, em.array_type(ys[0]).shape),)


def rem_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = dx - q dy with q = trunc(x / y) = round((x - z) / y): x - z = q·y exactly in the
    reals, so the rounded quotient is within 2u·|q| of the integer q and rounding to the
    nearest integer recovers it (|q| < 2^51); trunc(fl(x / y)) is off by one where x / y
    rounds up to an integer (spec 3.2)."""
    x, y = xs
    pairs: list[tuple[Atom, Tangent]] = []
    if ts[0] is not None:
        pairs.append((Literal(1.0), ts[0]))
    if ts[1] is not None:
        q = em.emit1("div", em.emit1("sub", x, ys[0], hint="c"), y, hint="c")
        pairs.append((em.emit1("neg", em.emit1("round", q, hint="c"), hint="c"), ts[1]))
    return (weighted_sum(em, pairs, em.array_type(ys[0]).shape),)


def extremum_tangent(em: Emitter, x: Atom, y: Atom, tx: Tangent, ty: Tangent, larger: bool,
                     shape: tuple[int, ...]) -> Tangent:
    """The tangent of max(x, y) (``larger``) or min(x, y): the chosen operand's tangent, half
    of each at a tie, zero where an operand is nan (chapter 6)."""
    dtype = em.array_type(x if isinstance(x, Var) else y).dtype.value
    wins = "gt" if larger else "lt"
    pairs: list[tuple[Atom, Tangent]] = []
    tie = em.emit1("convert_element_type", em.emit1("eq", x, y, hint="c"), new_dtype=dtype,
                   hint="c")
    half_tie = em.emit1("mul", Literal(0.5), tie, hint="c")
    for a, b, t in ((x, y, tx), (y, x, ty)):
        if t is not None:
            w = em.emit1("convert_element_type", em.emit1(wins, a, b, hint="c"),
                         new_dtype=dtype, hint="c")
            pairs.append((em.emit1("add", w, half_tie, hint="c"), t))
    return weighted_sum(em, pairs, shape)


def max_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = w_x dx + w_y dy, w_x = [x > y] + ½[x = y]"""
    return (extremum_tangent(em, xs[0], xs[1], ts[0], ts[1], True,
                             em.array_type(ys[0]).shape),)


def min_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params) -> Tangents:
    """dz = w_x dx + w_y dy, w_x = [x < y] + ½[x = y]"""
    return (extremum_tangent(em, xs[0], xs[1], ts[0], ts[1], False,
                             em.array_type(ys[0]).shape),)


RULES: dict[str, tuple[JvpRule, TransposeRule | None]] = {
    "add": (add_jvp, add_transpose),
    "sub": (sub_jvp, sub_transpose),
    "mul": (bilinear_jvp("mul"), mul_transpose),
    "div": (div_jvp, div_transpose),
    "rem": (rem_jvp, None),
    "pow": (pow_jvp, None),
    "atan2": (atan2_jvp, None),
    "max": (max_jvp, None),
    "min": (min_jvp, None),
}
"""Each primitive's JVP rule and, for the linear-capable ones, its transpose rule."""

PRIMITIVES = tuple(
    replace(prim, jvp=RULES[prim.name][0], transpose=RULES[prim.name][1]) for prim in BASE
)
