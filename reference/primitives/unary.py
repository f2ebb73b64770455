"""Elementwise functions of one operand (spec 3.1).

Each record pairs a NumPy function (the float64 domain, and integer operands in both domains)
with an mpmath function of one mpf (the mpmath domain). The mpmath functions return the real
value the spec defines, or nan where float64 gives nan (mpmath itself would return a complex
number or raise there), so that both domains agree in class at every input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.errors import LintraTypeError
from lintra.reference.primitives.base import (
    ALL,
    NEVER_LINEAR,
    DerivativeClaim,
    JvpRule,
    Linearity,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    TransposeRule,
    elementwise,
    fixed,
    is_float,
    is_numeric,
    linear_together,
    require,
    require_dtype,
)
from lintra.reference.primitives.derivatives import (
    chain_rule,
    linear_jvp,
    self_transpose,
    zero_jvp,
)
from lintra.reference.syntax import ArrayType, Atom, Literal, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
MpFn = Callable[..., object]


def float_type(ts: Types, ps: Params) -> Types:
    require_dtype(ts[0], is_float, "the operand")
    return (ts[0],)


def numeric_type(ts: Types, ps: Params) -> Types:
    require_dtype(ts[0], is_numeric, "the operand")
    return (ts[0],)


MAX_EXPONENT = 2**53
"""Largest |y| of integer_pow: every such y is exact as a float64 exponent."""


def integer_pow_type(ts: Types, ps: Params) -> Types:
    """Numeric operand; |y| <= 2^53; a negative y only for float operands."""
    require_dtype(ts[0], is_numeric, "the operand")
    y = int(ps["y"])  # type: ignore[arg-type]
    require(
        abs(y) <= MAX_EXPONENT,
        f"integer_pow needs |y| <= 2^53 (exact as a float64 exponent), got y={y}",
        LintraTypeError,
    )
    require(
        ts[0].dtype.is_float or y >= 0,
        f"integer_pow of {ts[0].dtype} needs y >= 0 (an integer has no negative powers), "
        f"got y={y}",
        LintraTypeError,
    )
    return (ts[0],)


# --------------------------------------------------------------------------------------------
# mpmath versions: real results, nan outside the real domain


def real(ctx: object, fn: MpFn, x: object) -> object:
    """``fn(x)`` if it is a real number, else nan (mpmath gives complex numbers or raises)."""
    if ctx.isnan(x):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    try:
        y = fn(x)
    except (ValueError, ZeroDivisionError):
        return ctx.nan  # type: ignore[attr-defined]
    return y if isinstance(y, ctx.mpf) else ctx.nan  # type: ignore[attr-defined]


def mp_of(name: str) -> MpFn:
    """The mpmath function ``ctx.<name>`` with real results only."""

    def fn(ctx: object, x: object) -> object:
        return real(ctx, getattr(ctx, name), x)

    fn.__name__ = f"mp_{name}"
    return fn


def mp_neg(ctx: object, x: object) -> object:
    return -x


def mp_asin(ctx: object, x: object) -> object:
    return real(ctx, ctx.asin, x) if abs(x) <= 1 else ctx.nan  # type: ignore[attr-defined]


def mp_acos(ctx: object, x: object) -> object:
    return real(ctx, ctx.acos, x) if abs(x) <= 1 else ctx.nan  # type: ignore[attr-defined]


def mp_acosh(ctx: object, x: object) -> object:
    return real(ctx, ctx.acosh, x) if x >= 1 else ctx.nan  # type: ignore[attr-defined]


def mp_atanh(ctx: object, x: object) -> object:
    if abs(x) > 1:
        return ctx.nan  # type: ignore[attr-defined]
    if abs(x) == 1:
        return ctx.inf if x > 0 else -ctx.inf  # type: ignore[attr-defined]
    return ctx.atanh(x)  # type: ignore[attr-defined]


def mp_log(ctx: object, x: object) -> object:
    return real(ctx, ctx.log, x) if x >= 0 or ctx.isnan(x) else ctx.nan  # type: ignore


def mp_log1p(ctx: object, x: object) -> object:
    if x < -1:
        return ctx.nan  # type: ignore[attr-defined]
    return real(ctx, ctx.log1p, x)  # type: ignore[attr-defined]


def mp_sqrt(ctx: object, x: object) -> object:
    return real(ctx, ctx.sqrt, x) if not x < 0 else ctx.nan  # type: ignore[attr-defined]


def mp_rsqrt(ctx: object, x: object) -> object:
    if x < 0 or ctx.isnan(x):  # type: ignore[attr-defined]
        return ctx.nan  # type: ignore[attr-defined]
    if x == 0:
        return ctx.inf  # type: ignore[attr-defined]
    return 1 / ctx.sqrt(x)  # type: ignore[attr-defined]


def mp_cbrt(ctx: object, x: object) -> object:
    """The real cube root (mpmath's is the principal complex root for x < 0)."""
    if ctx.isnan(x) or ctx.isinf(x):  # type: ignore[attr-defined]
        return x
    return -ctx.cbrt(-x) if x < 0 else ctx.cbrt(x)  # type: ignore[attr-defined]


def mp_tan(ctx: object, x: object) -> object:
    return real(ctx, ctx.tan, x) if not ctx.isinf(x) else ctx.nan  # type: ignore[attr-defined]


def mp_trig(name: str) -> MpFn:
    """sin and cos: nan at ±inf, as float64."""

    def fn(ctx: object, x: object) -> object:
        if ctx.isinf(x):  # type: ignore[attr-defined]
            return ctx.nan  # type: ignore[attr-defined]
        return real(ctx, getattr(ctx, name), x)

    fn.__name__ = f"mp_{name}"
    return fn


def mp_logistic(ctx: object, x: object) -> object:
    if ctx.isnan(x):  # type: ignore[attr-defined]
        return x
    return 1 / (1 + ctx.exp(-x))  # type: ignore[attr-defined]


def mp_abs(ctx: object, x: object) -> object:
    return abs(x)


def mp_sign(ctx: object, x: object) -> object:
    if ctx.isnan(x):  # type: ignore[attr-defined]
        return x
    return ctx.mpf((x > 0) - (x < 0))  # type: ignore[attr-defined]


def mp_floor(ctx: object, x: object) -> object:
    return x if ctx.isnan(x) or ctx.isinf(x) else ctx.floor(x)  # type: ignore[attr-defined]


def mp_ceil(ctx: object, x: object) -> object:
    return x if ctx.isnan(x) or ctx.isinf(x) else ctx.ceil(x)  # type: ignore[attr-defined]


def mp_round(ctx: object, x: object) -> object:
    """Half away from zero. The fraction is computed exactly (``exact=True``), so the tie
    test does not depend on the context's precision."""
    if ctx.isnan(x) or ctx.isinf(x):  # type: ignore[attr-defined]
        return x
    t = ctx.floor(abs(x))  # type: ignore[attr-defined]
    fraction = ctx.fsub(abs(x), t, exact=True)  # type: ignore[attr-defined]
    r = t + 1 if fraction >= 0.5 else t
    return r if x >= 0 else -r


def mp_square(ctx: object, x: object) -> object:
    return x * x


def mp_integer_pow(ctx: object, x: object, y: int) -> object:
    """C pow with an integer exponent: pow(x, 0) = 1 even for nan; pow(±0, y < 0) = inf."""
    if y == 0:
        return ctx.mpf(1)  # type: ignore[attr-defined]
    if ctx.isnan(x):  # type: ignore[attr-defined]
        return x
    if x == 0 and y < 0:
        return ctx.inf  # type: ignore[attr-defined]
    if ctx.isinf(x):  # type: ignore[attr-defined]
        if y < 0:
            return ctx.mpf(0)  # type: ignore[attr-defined]
        return ctx.inf if x > 0 or y % 2 == 0 else -ctx.inf  # type: ignore[attr-defined]
    return x**y


def mp_erf(ctx: object, x: object) -> object:
    return x if ctx.isnan(x) else ctx.erf(x)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# float64 versions


def f64_rsqrt(x: np.ndarray) -> np.ndarray:
    return (1 / np.sqrt(x)).astype(x.dtype)


def f64_logistic(x: np.ndarray) -> np.ndarray:
    """1/(1+exp(-x)) for x >= 0 and e/(1+e), e = exp(x), for x < 0: no overflow, no
    cancellation."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def f64_erf(x: np.ndarray) -> np.ndarray:
    out = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)) if x.size else x
    return np.asarray(out).astype(x.dtype)


def f64_sign(x: np.ndarray) -> np.ndarray:
    """sign keeping the sign of zero (NumPy's sign(-0.0) is +0.0)."""
    s = np.sign(x)
    return np.where(x == 0, x, s) if x.dtype.kind == "f" else s


def f64_round(x: np.ndarray) -> np.ndarray:
    """Half away from zero; x - trunc(x) is exact, so the tie test is exact."""
    t = np.trunc(x)
    r = np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)
    return np.copysign(r, x).astype(x.dtype)


def f64_integer_pow(x: np.ndarray, y: int) -> np.ndarray:
    """One float64 ``pow`` call (y is exact as a float64 since |y| <= 2^53; float32 operands
    are widened exactly and the result rounded once: float32 could not hold y beyond 2^24).
    Integers: NumPy's square-and-multiply in int64, which wraps; the int64 result reduced
    to int32 is the int32 result, as 2^32 divides 2^64. The type rule rejects y < 0 there."""
    if x.dtype.kind == "f":
        return np.power(x.astype(np.float64), np.float64(y)).astype(x.dtype)
    return np.power(x.astype(np.int64), np.int64(y)).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.1, "Derivatives"): coefficients f'(x) emitted from x and y = f(x)


def one_minus_square(em: Emitter, x: Atom) -> Var:
    """(1 - x)(1 + x): 1 - x² without cancellation near |x| = 1."""
    return em.emit1("mul", em.emit1("sub", Literal(1.0), x, hint="c"),
                    em.emit1("add", Literal(1.0), x, hint="c"), hint="c")


def sin_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """cos(x)"""
    return em.emit1("cos", x, hint="c")


def cos_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """-sin(x)"""
    return em.emit1("neg", em.emit1("sin", x, hint="c"), hint="c")


def tan_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """1 + y²"""
    return em.emit1("add", Literal(1.0), em.emit1("square", y, hint="c"), hint="c")


def asin_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """rsqrt((1 - x)(1 + x))"""
    return em.emit1("rsqrt", one_minus_square(em, x), hint="c")


def acos_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """-rsqrt((1 - x)(1 + x))"""
    return em.emit1("neg", asin_coefficient(em, x, y, ps), hint="c")


def atan_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """1 / (1 + x²)"""
    return em.emit1("div", Literal(1.0),
                    em.emit1("add", Literal(1.0), em.emit1("square", x, hint="c"), hint="c"),
                    hint="c")


def sinh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """cosh(x)"""
    return em.emit1("cosh", x, hint="c")


def cosh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """sinh(x)"""
    return em.emit1("sinh", x, hint="c")


def tanh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """4e / (1 + e)² with e = exp(-2|x|) ∈ [0, 1]: from x, not from y = tanh x (1 - y² loses
    every digit once y rounds to ±1, at |x| > 19.1 in f64, while tanh' is a normal number up
    to |x| ≈ 354.9). Nothing overflows, so the coefficient's own derivative is finite too
    (1/cosh(x)² would give 0·inf there)."""
    e = em.emit1("exp", em.emit1("mul", Literal(-2.0), em.emit1("abs", x, hint="c"), hint="c"),
                 hint="c")
    return em.emit1("div", em.emit1("mul", Literal(4.0), e, hint="c"),
                    em.emit1("square", em.emit1("add", Literal(1.0), e, hint="c"), hint="c"),
                    hint="c")


def asinh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """(1/m) rsqrt(q² + (1/m)²) with m = max(|x|, 1), q = clamp(-1, x, 1): rsqrt(x² + 1)
    scaled by m (the expression is the same for every m > 0), so that nothing overflows for
    huge |x|, where x² + 1 would; at |x| = 1 the tie conventions of max and clamp (half of
    each side) add up to the derivative of the unscaled expression."""
    m = em.emit1("max", em.emit1("abs", x, hint="c"), Literal(1.0), hint="c")
    r = em.emit1("div", Literal(1.0), m, hint="c")
    q = em.emit1("clamp", Literal(-1.0), x, Literal(1.0), hint="c")
    s = em.emit1("add", em.emit1("square", q, hint="c"), em.emit1("square", r, hint="c"),
                 hint="c")
    return em.emit1("mul", r, em.emit1("rsqrt", s, hint="c"), hint="c")


def acosh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """rsqrt(x - 1) rsqrt(x + 1): no product forms, so nothing overflows for huge x, where
    (x - 1)(x + 1) would (above 2^512 in f64); x - 1 is exact for x in [1, 2] (Sterbenz)."""
    return em.emit1("mul", em.emit1("rsqrt", em.emit1("sub", x, Literal(1.0), hint="c"),
                                    hint="c"),
                    em.emit1("rsqrt", em.emit1("add", x, Literal(1.0), hint="c"), hint="c"),
                    hint="c")


def atanh_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """1 / ((1 - x)(1 + x))"""
    return em.emit1("div", Literal(1.0), one_minus_square(em, x), hint="c")


def exp_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """y = exp(x)"""
    return y


def expm1_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """exp(x)"""
    return em.emit1("exp", x, hint="c")


def rsqrt_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """-(0.5 y) / x: halving y first is exact, and y / x would overflow for tiny x where
    0.5 y / x is still finite."""
    return em.emit1("neg", em.emit1("div", em.emit1("mul", Literal(0.5), y, hint="c"), x,
                                    hint="c"), hint="c")


def logistic_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """e / (1 + e)² with e = exp(-|x|) ∈ [0, 1]: from x, not from y = logistic x (y (1 - y)
    loses every digit once y rounds to 1, at x > 36.7 in f64, while logistic' ≈ e^-x is a
    normal number up to x ≈ 708)."""
    e = em.emit1("exp", em.emit1("neg", em.emit1("abs", x, hint="c"), hint="c"), hint="c")
    return em.emit1("div", e, em.emit1("square", em.emit1("add", Literal(1.0), e, hint="c"),
                                       hint="c"), hint="c")


ERF_SPLIT_LIMIT = 26.0
"""|h| is at most this in erf's coefficient: h² ≤ 676 is exact in both dtypes and e^(h²) is
finite in f64 (e^709.78 overflows). erf' is a normal number of f64 only for |x| < 26.6, of f32
only for |x| < 9.35 (where |h| ≤ 9 and e^81 is finite in f32)."""


def erf_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """(2/√π) e^(-x²) as (2/√π) e^((h - x)(h + x)) / e^(h²), h = round(clamp(x, ±26)).

    The identity holds for every h; with h the integer nearest x, h² is exact and
    |(h - x)(h + x)| ≤ |x| + 1/4, so the rounding of the exponent costs an absolute error of
    about 2u(|x| + 1/4) instead of u x² for e^(-x·x). 2/√π is rsqrt(atan2(e, e)) with
    e = e^(h²) ≥ 1 (π/4 exactly; atan2(inf, inf) = π/4 too), computed in the program's own
    domain: a float64 literal would carry float64's error into the mpmath domain. Nothing is
    nan for huge or infinite x: the exponent is then -inf or hugely negative, e^(h²) finite
    or inf."""
    h = em.emit1("round", em.emit1("clamp", Literal(-ERF_SPLIT_LIMIT), x,
                                   Literal(ERF_SPLIT_LIMIT), hint="c"), hint="c")
    exponent = em.emit1("mul", em.emit1("sub", h, x, hint="c"),
                        em.emit1("add", h, x, hint="c"), hint="c")
    big = em.emit1("exp", em.emit1("square", h, hint="c"), hint="c")
    two_over_sqrt_pi = em.emit1("rsqrt", em.emit1("atan2", big, big, hint="c"), hint="c")
    scaled = em.emit1("mul", two_over_sqrt_pi, em.emit1("exp", exponent, hint="c"), hint="c")
    return em.emit1("div", scaled, big, hint="c")


def abs_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """sign(x): 0 at ±0 (chapter 6)"""
    return em.emit1("sign", x, hint="c")


def square_coefficient(em: Emitter, x: Atom, y: Var, ps: Params) -> Atom:
    """2x"""
    return em.emit1("mul", Literal(2.0), x, hint="c")


def log_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
            ps: Params) -> tuple[Tangent, ...]:
    """dy = dx / x"""
    return (em.emit1("div", ts[0], xs[0], hint="dt"),)


def log1p_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
              ps: Params) -> tuple[Tangent, ...]:
    """dy = dx / (1 + x)"""
    return (em.emit1("div", ts[0], em.emit1("add", Literal(1.0), xs[0], hint="c"), hint="dt"),)


def sqrt_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
    """dy = dx / (2y)"""
    return (em.emit1("div", ts[0], em.emit1("mul", Literal(2.0), ys[0], hint="c"), hint="dt"),)


def cbrt_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
    """dy = dx / (3y²)"""
    c = em.emit1("mul", Literal(3.0), em.emit1("square", ys[0], hint="c"), hint="c")
    return (em.emit1("div", ts[0], c, hint="dt"),)


def integer_pow_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...],
                    ys: tuple[Var, ...], ps: Params) -> tuple[Tangent, ...]:
    """dy = n x^(n-1) dx; zero for n = 0, dx for n = 1, 2x dx for n = 2; otherwise
    (n x^k) x^(n-1-k) with k = ⌊(n-1)/2⌋: both powers are normal numbers wherever
    n x^(n-1) is (x^(n-1) itself may be subnormal there, |n| times smaller), and every
    exponent stays within the type rule's range (n = -2^53 included)."""
    n = int(ps["y"])  # type: ignore[arg-type]
    if n == 0:
        return (None,)
    if n == 1:
        return (ts[0],)
    if n == 2:
        return (em.emit1("mul", em.emit1("mul", Literal(2.0), xs[0], hint="c"), ts[0],
                         hint="dt"),)
    first = (n - 1) // 2
    powers = [xs[0] if k == 1 else em.emit1("integer_pow", xs[0], y=k, hint="c")
              for k in (first, n - 1 - first)]
    scaled = em.emit1("mul", Literal(float(n)), powers[0], hint="c")
    c = em.emit1("mul", scaled, powers[1], hint="c")
    return (em.emit1("mul", c, ts[0], hint="dt"),)


JVPS: dict[str, JvpRule] = {
    "neg": linear_jvp("neg"),
    "sin": chain_rule(sin_coefficient),
    "cos": chain_rule(cos_coefficient),
    "tan": chain_rule(tan_coefficient),
    "asin": chain_rule(asin_coefficient),
    "acos": chain_rule(acos_coefficient),
    "atan": chain_rule(atan_coefficient),
    "sinh": chain_rule(sinh_coefficient),
    "cosh": chain_rule(cosh_coefficient),
    "tanh": chain_rule(tanh_coefficient),
    "asinh": chain_rule(asinh_coefficient),
    "acosh": chain_rule(acosh_coefficient),
    "atanh": chain_rule(atanh_coefficient),
    "exp": chain_rule(exp_coefficient),
    "expm1": chain_rule(expm1_coefficient),
    "log": log_jvp,
    "log1p": log1p_jvp,
    "sqrt": sqrt_jvp,
    "rsqrt": chain_rule(rsqrt_coefficient),
    "cbrt": cbrt_jvp,
    "logistic": chain_rule(logistic_coefficient),
    "erf": chain_rule(erf_coefficient),
    "abs": chain_rule(abs_coefficient),
    "sign": zero_jvp,
    "floor": zero_jvp,
    "ceil": zero_jvp,
    "round": zero_jvp,
    "square": chain_rule(square_coefficient),
    "integer_pow": integer_pow_jvp,
}
"""The JVP rule of each primitive of the family (J-Unary, J-Linear or J-Zero)."""


# --------------------------------------------------------------------------------------------
# The records


DERIVATIVE_ULPS: dict[str, float] = {
    "sin": 4, "cos": 4, "tan": 18, "asin": 3.5, "acos": 3.5, "atan": 3, "sinh": 4, "cosh": 4,
    "tanh": 20, "asinh": 5.25, "acosh": 6, "atanh": 4, "exp": 4, "expm1": 4, "log": 0.5,
    "log1p": 2, "sqrt": 2, "rsqrt": 3, "cbrt": 19, "logistic": 20, "erf": 88, "abs": 0,
    "square": 0, "integer_pow": 19,
}
"""The derivative accuracy claim of each differentiable primitive, in ulps of the result
dtype (spec 3.1, column d-ulp, derived in "Derivative accuracy"). ``neg`` is linear and
``sign``, ``floor``, ``ceil``, ``round`` have a zero derivative: no claim."""


def unary(name: str, summary: str, type_rule: Callable[[Types, Params], Types],
          f64: Callable[..., np.ndarray], mp: MpFn,
          linearity: Linearity = NEVER_LINEAR, transpose: TransposeRule | None = None
          ) -> Primitive:
    """A one-operand elementwise record; its JVP rule comes from ``JVPS``, its derivative
    claim from ``DERIVATIVE_ULPS``."""
    return Primitive(
        name=name, family="unary", summary=summary, arity=fixed(1), params=(),
        type_rule=type_rule, linearity=linearity, evaluate=elementwise(f64, mp),
        jvp=JVPS[name], transpose=transpose, derivative=derivative_claim(name),
    )


def derivative_claim(name: str) -> DerivativeClaim | None:
    ulps = DERIVATIVE_ULPS.get(name)
    return None if ulps is None else DerivativeClaim(ulps)


NEG = unary("neg", "neg(x) = -x", numeric_type, np.negative, mp_neg, linear_together(ALL),
            self_transpose("neg"))
SIN = unary("sin", "sin(x)", float_type, np.sin, mp_trig("sin"))
COS = unary("cos", "cos(x)", float_type, np.cos, mp_trig("cos"))
TAN = unary("tan", "tan(x)", float_type, np.tan, mp_tan)
ASIN = unary("asin", "arcsin(x), x in [-1, 1]", float_type, np.arcsin, mp_asin)
ACOS = unary("acos", "arccos(x), x in [-1, 1]", float_type, np.arccos, mp_acos)
ATAN = unary("atan", "arctan(x)", float_type, np.arctan, mp_of("atan"))
SINH = unary("sinh", "sinh(x)", float_type, np.sinh, mp_of("sinh"))
COSH = unary("cosh", "cosh(x)", float_type, np.cosh, mp_of("cosh"))
TANH = unary("tanh", "tanh(x)", float_type, np.tanh, mp_of("tanh"))
ASINH = unary("asinh", "arsinh(x)", float_type, np.arcsinh, mp_of("asinh"))
ACOSH = unary("acosh", "arcosh(x), x >= 1", float_type, np.arccosh, mp_acosh)
ATANH = unary("atanh", "artanh(x), x in [-1, 1]", float_type, np.arctanh, mp_atanh)
EXP = unary("exp", "e^x", float_type, np.exp, mp_of("exp"))
EXPM1 = unary("expm1", "e^x - 1", float_type, np.expm1, mp_of("expm1"))
LOG = unary("log", "ln(x), x >= 0", float_type, np.log, mp_log)
LOG1P = unary("log1p", "ln(1 + x), x >= -1", float_type, np.log1p, mp_log1p)
SQRT = unary("sqrt", "√x, x >= 0", float_type, np.sqrt, mp_sqrt)
RSQRT = unary("rsqrt", "1/√x, x >= 0", float_type, f64_rsqrt, mp_rsqrt)
CBRT = unary("cbrt", "the real cube root of x", float_type, np.cbrt, mp_cbrt)
LOGISTIC = unary("logistic", "1/(1 + e^-x)", float_type, f64_logistic, mp_logistic)
ERF = unary("erf", "(2/√π) ∫_0^x e^(-t²) dt", float_type, f64_erf, mp_erf)
ABS = unary("abs", "|x|", numeric_type, np.abs, mp_abs)
SIGN = unary("sign", "-1, 0 or 1 with the sign of x; ±0 at ±0", numeric_type, f64_sign, mp_sign)
FLOOR = unary("floor", "the largest integer <= x", float_type, np.floor, mp_floor)
CEIL = unary("ceil", "the smallest integer >= x", float_type, np.ceil, mp_ceil)
ROUND = unary("round", "the nearest integer, ties away from zero", float_type, f64_round,
              mp_round)
SQUARE = unary("square", "x·x", numeric_type, np.square, mp_square)
INTEGER_POW = Primitive(
    name="integer_pow",
    family="unary",
    summary="x^y for an integer constant y",
    arity=fixed(1),
    params=(ParamSpec("y", ParamKind.INT),),
    type_rule=integer_pow_type,
    linearity=NEVER_LINEAR,
    evaluate=elementwise(f64_integer_pow, mp_integer_pow, ("y",)),
    jvp=integer_pow_jvp,
    derivative=derivative_claim("integer_pow"),
)

PRIMITIVES: tuple[Primitive, ...] = (
    NEG, SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, TANH, ASINH, ACOSH, ATANH, EXP, EXPM1,
    LOG, LOG1P, SQRT, RSQRT, CBRT, LOGISTIC, ERF, ABS, SIGN, FLOOR, CEIL, ROUND, SQUARE,
    INTEGER_POW,
)
