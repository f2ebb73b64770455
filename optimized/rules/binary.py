"""Binary arithmetic (spec 3.2): add sub mul div rem pow atan2 max min.

Integer arithmetic wraps around (NumPy's integer arrays do). Integer ``div`` truncates toward
zero and ``rem`` takes the sign of the numerator (C), both raising an EvaluationError on a
zero divisor. ``max`` and ``min`` propagate nan and order the zeros (max(-0, +0) = +0,
min(-0, +0) = -0), which NumPy's ``maximum`` and ``minimum`` do not. The derivative
coefficients follow spec 3.2 *Accuracy*: the scaled forms that keep intermediate values away
from overflow and subnormals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Atom, AType, Builder, Eqn, Lit, Var
from lintra.optimized.rules.base import (
    FLOAT,
    NUMERIC,
    CodeContext,
    Rule,
    at_most_one,
    broadcast_to,
    elementwise_type,
    together,
    ufunc,
    unbroadcast,
)
from lintra.reference.errors import EvaluationError

SCALE_LOW = 2.0 ** -60
"""Below this magnitude (and above SCALE_HIGH) ``div`` and ``atan2`` rescale before squaring:
the square of a value in [2^-60, 2^60] is a normal number in f32 and f64 (spec 3.2)."""
SCALE_HIGH = 2.0 ** 60
SMALLEST_NORMAL = {"f64": 2.0 ** -1022, "f32": 2.0 ** -126}
LARGEST_FINITE = {"f64": 1.7976931348623157e308, "f32": 3.4028234663852886e38}


def _binary_infer(dtypes: frozenset[str]):
    """The type rule of an elementwise two-operand primitive accepting ``dtypes``."""

    def infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
        return (elementwise_type("operands", types, dtypes),)

    return infer


def _is_float(e: Eqn) -> bool:
    return e.outs[0].type.is_float


# --------------------------------------------------------------------------------------------
# Evaluation kernels (made once per array library)


def _integer_divider(tab: ArrayTable):
    """C integer division: the quotient truncated toward zero; min / -1 wraps; a zero divisor
    is an EvaluationError."""
    xp = tab.xp

    def integer_div(x, y):
        if (y == 0).any():
            raise EvaluationError("div: integer division by zero")
        q = xp.floor_divide(x, y)  # min // -1 gives min: the wrap-around C has
        # floor and truncation differ where the division is inexact (q·y ≠ x: exact in
        # wrap-around arithmetic, as |x - q·y| < |y|) and the operands' signs differ
        late = (q * y != x) & ((x ^ y) < 0)
        if isinstance(q, xp.ndarray) and q.ndim:
            q += late  # q is floor_divide's own new array
            return q
        return q + late.astype(q.dtype)

    return integer_div


def _integer_remainder(tab: ArrayTable):
    """C ``%``: x - trunc(x/y)·y, the sign of x; a zero divisor is an EvaluationError."""
    xp = tab.xp

    def integer_rem(x, y):
        if (y == 0).any():
            raise EvaluationError("rem: integer remainder by zero")
        return xp.fmod(x, y)

    return integer_rem


def _zero_patterns(tab: ArrayTable) -> dict:
    """For each float dtype of ``tab``: the integer dtype of the same width and the bit
    patterns of -0 (the sign bit alone) and +0 (no bit)."""
    xp = tab.xp
    return {xp.dtype(xp.float64): (xp.int64, -2 ** 63),
            xp.dtype(xp.float32): (xp.int32, -2 ** 31)}


def float_maximum(tab: ArrayTable):
    """maximum with nan propagation and max(-0, +0) = +0. NumPy's ``maximum`` returns either
    zero at a tie of zeros, so the one wrong result it can give is -0 where an operand is +0:
    only a -0 result (one comparison of bit patterns) is looked at again."""
    xp = tab.xp
    patterns = _zero_patterns(tab)

    def float_max(x, y):
        r = xp.maximum(x, y)
        bits, negative_zero = patterns[r.dtype]
        suspect = r.view(bits) == negative_zero
        if suspect.any():
            # where both operands are zeros, x + y is +0 unless both are -0
            r = xp.where(suspect & (x == y), x + y, r)
        return r

    return float_max


def float_minimum(tab: ArrayTable):
    """minimum with nan propagation and min(-0, +0) = -0: the one wrong result NumPy's
    ``minimum`` can give is +0 where an operand is -0, so only +0 results are looked at
    again."""
    xp = tab.xp
    patterns = _zero_patterns(tab)

    def float_min(x, y):
        r = xp.minimum(x, y)
        bits, _ = patterns[r.dtype]
        suspect = r.view(bits) == 0
        if suspect.any():
            # where both operands are zeros, -((-x) - y) is -0 unless both are +0
            r = xp.where(suspect & (x == y), -(-x - y), r)
        return r

    return float_min


def _maximum_with_zero(tab: ArrayTable):
    """max(x, +0): maximum, then + (+0) turns a -0 result (x = -0) into +0 and leaves every
    other result (all >= +0, or nan) unchanged."""
    xp = tab.xp

    def max_with_zero(x, zero):
        r = xp.maximum(x, zero)
        if isinstance(r, xp.ndarray) and r.ndim:
            return xp.add(r, zero, out=r)
        return r + zero

    return max_with_zero


def _c99_power(tab: ArrayTable):
    """C99 pow. NumPy computes an exponent 0.5 given once (a scalar, or an array broadcast
    with stride 0) as sqrt, which gives -0 at x = -0 and nan at x = -inf where C99 gives +0
    and +inf: |x| in both, as at +0 and +inf."""
    xp = tab.xp

    def c99_pow(x, y):
        r = xp.power(x, y)
        edge = (x == 0) | (x == -xp.inf)
        if edge.any():
            r = xp.where(edge & (y == 0.5), xp.abs(x), r)
        return r

    return c99_pow


def _pow_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, y = e.ins
    if (isinstance(y, Lit) and y.value != 0.5) or (
            isinstance(x, Lit) and x.value != 0 and x.value != -math.inf):
        return f"{ctx.fn('power')}({xs[0]}, {xs[1]})"
    return f"{ctx.kernel(_c99_power)}({xs[0]}, {xs[1]})"


def _is_positive_zero(a: Atom) -> bool:
    return isinstance(a, Lit) and a.value == 0 and math.copysign(1.0, a.value) > 0


def nonzero_literal(a: Atom) -> bool:
    """A literal that cannot tie with a signed zero (nan included)."""
    return isinstance(a, Lit) and not a.value == 0


def _div_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    if _is_float(e):
        return f"{ctx.fn('divide')}({xs[0]}, {xs[1]})"
    return f"{ctx.kernel(_integer_divider)}({xs[0]}, {xs[1]})"


def _rem_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    if _is_float(e):
        return f"{ctx.fn('fmod')}({xs[0]}, {xs[1]})"
    return f"{ctx.kernel(_integer_remainder)}({xs[0]}, {xs[1]})"


def _extremum_code(larger: bool):
    ufunc_name = "maximum" if larger else "minimum"
    exact = float_maximum if larger else float_minimum

    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        x, y = e.ins
        if not _is_float(e) or nonzero_literal(x) or nonzero_literal(y):
            return f"{ctx.fn(ufunc_name)}({xs[0]}, {xs[1]})"
        if larger and _is_positive_zero(y):
            return f"{ctx.kernel(_maximum_with_zero)}({xs[0]}, {xs[1]})"
        if larger and _is_positive_zero(x):
            return f"{ctx.kernel(_maximum_with_zero)}({xs[1]}, {xs[0]})"
        return f"{ctx.kernel(exact)}({xs[0]}, {xs[1]})"

    code.__name__ = f"{ufunc_name}_code"
    return code


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.2 "Derivatives")


def _sum_terms(b: Builder, terms: list[Var]) -> Var | None:
    """The sum of linear terms (None if there are none)."""
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = b.op("add", total, t)
    return total


def _dtype_of(e: Eqn) -> str:
    return e.outs[0].type.dtype


def _filled(b: Builder, value: float, t: AType) -> Atom:
    """A constant of ``t``'s dtype and shape: a literal at rank 0, a broadcast otherwise."""
    lit = Lit(value, t.dtype)
    if not t.shape:
        return lit
    return b.op("broadcast_in_dim", lit, shape=t.shape, broadcast_dimensions=())


def weight_constants(b: Builder, out: AType) -> tuple[Atom, Atom, Atom]:
    """The weights 0, ½ and 1 as constants of ``out``'s dtype and shape."""
    return _filled(b, 0.0, out), _filled(b, 0.5, out), _filled(b, 1.0, out)


def extremum_weights(b: Builder, x: Atom, y: Atom, larger: bool,
                     constants: tuple[Atom, Atom, Atom], want: tuple[bool, bool]
                     ) -> tuple[Atom | None, Atom | None]:
    """The weights of max(x, y) (``larger``) or min(x, y) in its operands (chapter 6):
    ``[x > y] + ½[x = y]`` for x (``<`` for min), symmetric for y: 1 to the chosen operand,
    ½ to each at a tie, 0 to both where an operand is nan. ``constants`` are those of
    :func:`weight_constants`; only the ``want``ed weights are built."""
    wins = "gt" if larger else "lt"
    zero, half, one = constants
    tie = b.op("select_n", b.op("eq", x, y), zero, half)
    wx = b.op("select_n", b.op(wins, x, y), tie, one) if want[0] else None
    wy = b.op("select_n", b.op(wins, y, x), tie, one) if want[1] else None
    return wx, wy


def weighted_tangent(b: Builder, pairs: Sequence[tuple[Atom | None, Var | None]]
                     ) -> Var | None:
    """``Σ c·t`` over the pairs whose tangent ``t`` is not a symbolic zero."""
    return _sum_terms(b, [b.op("mul", c, t) for c, t in pairs if t is not None])


def _extremum_jvp(larger: bool):
    def jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
        x, y = e.ins
        dx, dy = dxs
        wx, wy = extremum_weights(b, x, y, larger, weight_constants(b, e.outs[0].type),
                                  (dx is not None, dy is not None))
        return [weighted_tangent(b, [(wx, dx), (wy, dy)])]

    jvp.__name__ = "max_jvp" if larger else "min_jvp"
    return jvp


def _add_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    dx, dy = dxs
    out = e.outs[0].type
    if dx is None:
        return [broadcast_to(b, dy, out)]
    if dy is None:
        return [broadcast_to(b, dx, out)]
    return [b.op("add", dx, dy)]


def _add_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    return [unbroadcast(b, ct, a.type) if a.linear else None for a in e.ins]


def _sub_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    dx, dy = dxs
    out = e.outs[0].type
    if dx is None:
        return [broadcast_to(b, b.op("neg", dy), out)]
    if dy is None:
        return [broadcast_to(b, dx, out)]
    return [b.op("sub", dx, dy)]


def _sub_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x, y = e.ins
    return [unbroadcast(b, ct, x.type) if x.linear else None,
            unbroadcast(b, b.op("neg", ct), y.type) if y.linear else None]


def _mul_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dz = dx·y + x·dy; a square ``mul(v, v)`` as (2·dv)·v, one product fewer each way:
    the same bits as dv·v + v·dv where no result is subnormal (doubling is exact), and its
    transpose is 2·(ct·v), the same bits as ct·v + v·ct."""
    x, y = e.ins
    dx, dy = dxs
    if x is y and dx is not None and dx is dy:
        return [b.op("mul", b.op("mul", dx, Lit(2.0, dx.type.dtype)), x)]
    terms = []
    if dx is not None:
        terms.append(b.op("mul", dx, y))
    if dy is not None:
        terms.append(b.op("mul", x, dy))
    return [_sum_terms(b, terms)]


def _mul_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x, y = e.ins
    if x.linear:
        return [unbroadcast(b, b.op("mul", ct, y), x.type), None]
    return [None, unbroadcast(b, b.op("mul", x, ct), y.type)]


def _unscaled(b: Builder, square: Var, dtype: str) -> Var:
    """Whether ``square = v·v`` comes from 2^-60 <= |v| <= 2^60 (squares are exact powers of
    two at the bounds, so comparing the square compares |v|; nan gives false)."""
    return b.op("and", b.op("ge", square, Lit(SCALE_LOW ** 2, dtype)),
                b.op("le", square, Lit(SCALE_HIGH ** 2, dtype)))


def _div_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dz = dx/y - (x/y²)·dy, x/y² as x/(y·y) where 2^-60 <= |y| <= 2^60 and (z/y) from the
    result elsewhere (spec 3.2 *Accuracy*)."""
    x, y = e.ins
    (z,) = e.outs
    dx, dy = dxs
    terms = []
    if dx is not None:
        terms.append(b.op("div", dx, y))
    if dy is None:
        return [terms[0]]
    yy = b.op("mul", y, y)
    slope = b.op("select_n", _unscaled(b, yy, _dtype_of(e)), b.op("div", z, y),
                 b.op("div", x, yy))
    by_dy = b.op("mul", slope, dy)
    if not terms:
        return [b.op("neg", by_dy)]
    return [b.op("sub", terms[0], by_dy)]


def _div_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x, y = e.ins
    return [unbroadcast(b, b.op("div", ct, y), x.type), None]


def _rem_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dz = dx - q·dy with q = round((x - z)/y) = trunc(x/y) exactly (x - z = q·y exactly;
    spec 3.2 *Accuracy*)."""
    x, y = e.ins
    (z,) = e.outs
    dx, dy = dxs
    out = e.outs[0].type
    if dy is None:
        return [broadcast_to(b, dx, out)]
    q = b.op("round", b.op("div", b.op("sub", x, z), y))
    by_dy = b.op("mul", q, dy)
    if dx is None:
        return [b.op("neg", by_dy)]
    return [b.op("sub", dx, by_dy)]


def _is_normal(b: Builder, v: Var, dtype: str) -> Var:
    """|v| is a normal number of ``dtype``: clamping it to [smallest normal, largest finite]
    leaves it unchanged (not for zero, subnormals, ±inf and nan)."""
    magnitude = b.op("abs", v)
    bounded = b.op("clamp", Lit(SMALLEST_NORMAL[dtype], dtype), magnitude,
                   Lit(LARGEST_FINITE[dtype], dtype))
    return b.op("eq", bounded, magnitude)


def _pow_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """∂x = y·z/x where z = x^y is normal (y·(z/x), or (y·z)/x where z/x is not normal),
    y·x^(y-1) elsewhere, 0 where y = 0 and that is nan; ∂y = log(x)·z, 0 at x = 0 (spec 3.2,
    chapter 6)."""
    x, y = e.ins
    (z,) = e.outs
    dx, dy = dxs
    dtype = _dtype_of(e)
    out = e.outs[0].type
    pairs: list[tuple[Atom | None, Var | None]] = []
    zeros = _filled(b, 0.0, out)
    if dx is not None:
        z_over_x = b.op("div", z, x)
        from_result = b.op("select_n", _is_normal(b, z_over_x, dtype),
                           b.op("div", b.op("mul", y, z), x), b.op("mul", y, z_over_x))
        from_power = b.op("mul", y, b.op("pow", x, b.op("sub", y, Lit(1, dtype))))
        slope = b.op("select_n", _is_normal(b, z, dtype), from_power, from_result)
        # 0 where y = 0 makes the slope nan (x = ±0 or nan) and only there: elsewhere at
        # y = 0 the slope is y·(1/x) itself, whose derivative in y is the mixed partial 1/x
        undefined = b.op("and", b.op("eq", y, Lit(0, dtype)), b.op("ne", slope, slope))
        pairs.append((b.op("select_n", undefined, slope, zeros), dx))
    if dy is not None:
        slope_y = b.op("mul", b.op("log", x), z)
        pairs.append((b.op("select_n", b.op("eq", x, Lit(0, dtype)), slope_y, zeros), dy))
    return [weighted_tangent(b, pairs)]


def _atan2_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """atan2(y, x): dz = (x̂·dy - ŷ·dx)/(x̂² + ŷ²)/s with x̂ = x/s, ŷ = y/s and s = max(|x|,
    |y|) outside [2^-60, 2^60], 1 inside (spec 3.2 *Accuracy*)."""
    y, x = e.ins
    dy, dx = dxs
    dtype = _dtype_of(e)
    s = b.op("max", b.op("abs", x), b.op("abs", y))
    inside = b.op("and", b.op("ge", s, Lit(SCALE_LOW, dtype)),
                  b.op("le", s, Lit(SCALE_HIGH, dtype)))
    s = b.op("select_n", inside, s, Lit(1, dtype))
    xs = b.op("div", x, s)
    ys = b.op("div", y, s)
    d = b.op("add", b.op("mul", xs, xs), b.op("mul", ys, ys))
    terms = []
    if dy is not None:
        terms.append(b.op("mul", b.op("div", b.op("div", xs, d), s), dy))
    if dx is not None:
        terms.append(b.op("mul", b.op("div", b.op("div", ys, d), s), dx))
    if dx is None:
        return [terms[0]]
    if dy is None:
        return [b.op("neg", terms[0])]
    return [b.op("sub", terms[0], terms[1])]


RULES = (
    Rule("add", "binary", _binary_infer(NUMERIC), ufunc("add"), together(0, 1),
         jvp=_add_jvp, transpose=_add_transpose, min_operands=2, max_operands=2),
    Rule("sub", "binary", _binary_infer(NUMERIC), ufunc("subtract"), together(0, 1),
         jvp=_sub_jvp, transpose=_sub_transpose, min_operands=2, max_operands=2),
    Rule("mul", "binary", _binary_infer(NUMERIC), ufunc("multiply"), at_most_one(0, 1),
         jvp=_mul_jvp, transpose=_mul_transpose, min_operands=2, max_operands=2),
    Rule("div", "binary", _binary_infer(NUMERIC), _div_code, together(0),
         jvp=_div_jvp, transpose=_div_transpose, min_operands=2, max_operands=2),
    Rule("rem", "binary", _binary_infer(NUMERIC), _rem_code, jvp=_rem_jvp,
         min_operands=2, max_operands=2),
    Rule("pow", "binary", _binary_infer(FLOAT), _pow_code, jvp=_pow_jvp,
         min_operands=2, max_operands=2),
    Rule("atan2", "binary", _binary_infer(FLOAT), ufunc("arctan2"), jvp=_atan2_jvp,
         min_operands=2, max_operands=2),
    Rule("max", "binary", _binary_infer(NUMERIC), _extremum_code(True),
         jvp=_extremum_jvp(True), min_operands=2, max_operands=2),
    Rule("min", "binary", _binary_infer(NUMERIC), _extremum_code(False),
         jvp=_extremum_jvp(False), min_operands=2, max_operands=2),
)
