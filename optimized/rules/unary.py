"""Unary elementwise functions (spec 3.1).

One record per primitive. Values come from one array-library call where that call meets the
spec's accuracy claim (measured against mpmath: NumPy's float64 and float32 functions are
within the 4-ulp claim), and from a small kernel where the spec fixes a convention NumPy does
not follow (``sign`` of ±0, ``round``'s ties, ``rsqrt`` of −0), a formula NumPy lacks
(``logistic``, ``integer_pow`` in float64), or where the library falls short of the claim
(``erf``: SciPy's is up to 2.6 ulp off below |x| = 1, the claim is 1). The tangent rules are the
coefficient formulas of the spec's "Derivatives" section: each coefficient is computed from
the primal ``x`` (or ``y`` where the spec says so) by non-linear equations, then applied to
the tangent by one linear ``mul`` or ``div``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Atom, AType, Builder, Eqn, Lit, Var
from lintra.optimized.rules.base import (
    FLOAT,
    NEVER,
    NUMERIC,
    REQUIRED,
    CodeContext,
    CodeRule,
    JvpRule,
    Linearity,
    Rule,
    TransposeRule,
    scale,
    together,
    ufunc,
)
from lintra.reference.errors import LintraTypeError

# --------------------------------------------------------------------------------------------
# Types


_DTYPE_WORDS = {FLOAT: "a float dtype (f64 or f32)",
                NUMERIC: "a numeric dtype (f64, f32, i64 or i32)"}


def _operand_type(types: tuple[AType, ...], dtypes: frozenset[str]) -> AType:
    """The one operand's type, refused unless its dtype is among ``dtypes``."""
    (t,) = types
    if t.dtype not in dtypes:
        raise LintraTypeError(f"the operand has dtype {t.dtype}, expected {_DTYPE_WORDS[dtypes]}")
    return t


def _float_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    """Spec 3.1: a float operand; the result has its type."""
    return (_operand_type(types, FLOAT),)


def _numeric_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    """Spec 3.1: a numeric operand; the result has its type."""
    return (_operand_type(types, NUMERIC),)


MAX_EXPONENT = 2**53
"""The largest |y| of ``integer_pow``: every such y is exact as a float64 exponent."""


def _integer_pow_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    """``y`` must be an int (a bool is not one)."""
    y = params["y"]
    if isinstance(y, bool) or not isinstance(y, int):
        raise LintraTypeError(f"integer_pow's parameter y must be an int, got {y!r}")
    return params


def _integer_pow_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    """A numeric operand, |y| ≤ 2⁵³, and y ≥ 0 for integer dtypes."""
    t = _operand_type(types, NUMERIC)
    y = params["y"]
    if abs(y) > MAX_EXPONENT:
        raise LintraTypeError(
            f"integer_pow needs |y| <= 2^53 (exact as a float64 exponent), got y={y}")
    if y < 0 and t.dtype not in FLOAT:
        raise LintraTypeError(f"integer_pow of {t.dtype} needs y >= 0 (an integer has no "
                              f"negative powers), got y={y}")
    return (t,)


# --------------------------------------------------------------------------------------------
# Kernels: made once per array library by ``ctx.kernel``; never write into an operand


def _rsqrt_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp

    def rsqrt(x: Any) -> Any:
        """1/sqrt(x) exactly as that expression evaluates: rsqrt(−0) = 1/(−0) = −inf."""
        s = xp.sqrt(xp.asarray(x))
        return xp.reciprocal(s, out=s) if s.ndim else xp.reciprocal(s)

    return rsqrt


def _float_sign_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp

    def sign(x: Any) -> Any:
        """−1, 0 or 1 with the sign of x: the library's sign gives +0 at −0, copysign
        restores it; nan stays nan."""
        s = xp.sign(xp.asarray(x))
        return xp.copysign(s, x, out=s) if s.ndim else xp.copysign(s, x)

    return sign


def _round_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp

    def round_half_away(x: Any) -> Any:
        """Ties away from zero, keeping the sign of zero: with a = |x| and t = floor(a),
        a − t is exact (Sterbenz, or 0 for a ≥ 2^52), so the tie test a − t ≥ 0.5 is exact
        (floor(a + 0.5) would round 0.49999999999999994 up to 1). inf − inf = nan fails
        the test, so ±inf stay ±inf."""
        x = xp.asarray(x)
        a = xp.abs(x)
        if not a.ndim:
            t = xp.floor(a)
            return xp.copysign(t + (a - t >= 0.5), x)
        t = xp.floor(a)
        xp.subtract(a, t, out=a)
        up = xp.greater_equal(a, 0.5)
        xp.add(t, up, out=t)
        return xp.copysign(t, x, out=t)

    return round_half_away


def _logistic_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp

    def logistic(x: Any) -> Any:
        """1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0, e = exp(−|x|) ∈ [0, 1] (spec 3.1):
        nothing overflows and 1 + e ∈ [1, 2] cancels nothing."""
        x = xp.asarray(x)
        e = xp.abs(x)
        if not e.ndim:
            e = xp.exp(-e)
            return (1 if x >= 0 else e) / (1 + e)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        d = xp.add(e, 1)
        xp.copyto(e, 1, where=x >= 0)  # the numerator: 1 or e (nan: x >= 0 is false)
        return xp.divide(e, d, out=e)

    return logistic


ERF_PIECES = ((0.0, 0.5, None), (0.5, 0.84375, 0.6875), (0.84375, 1.125, 1.0),
              (1.125, 1.5, 1.3125))
"""``(lo, hi, centre)``: the intervals of |x| where the f64 erf kernel evaluates series of
its own. SciPy's erf (a rational approximation on |x| < 1) was measured up to 2.6 ulp off
there, beyond the 1-ulp claim; at and above 1.5 it was within 0.56 ulp (dense line and random
points of [1.5, 6]; erf rounds to ±1 beyond). The series, measured against mpmath on 20,000
random points and a 2,000-point line per interval: at most 0.75 ulp.

* ``centre`` None: erf(a) = a + a·g(a²), g(s) = erf(√s)/√s − 1 = Σ gₙ sⁿ with
  g₀ = 2/√π − 1 and gₙ = (2/√π)(−1)ⁿ/(n!(2n + 1)): the leading term a is exact and
  |g| ≤ 0.13, so the series' rounding reaches the result scaled down by |g|/(1 + g).
* otherwise the Taylor series of erf about ``centre``: erf(a) = E + h(a − c), with E the
  float nearest erf(c) and h's constant term erf(c) − E; a − c is exact (Sterbenz: c/2 ≤ a
  ≤ 2c), and |h| ≤ 0.12 is a small correction to E, so its rounding matters little.

Coefficients are computed once per array library, at 40 digits, and the series are cut where
the next term is below 2⁻⁶⁴ of the result over the interval."""

ERF_TAIL = 2.0**-64


def _erf_series(lo: float, hi: float, centre: float | None) -> tuple[float, tuple[float, ...]]:
    """``(E, coefficients)`` of one piece of :data:`ERF_PIECES` (``E`` = 0 for the series
    in a²), lowest degree first."""
    import mpmath

    mp = mpmath.MPContext()
    mp.dps = 40
    if centre is None:  # terms relative to the leading a
        c0 = 2 / mp.sqrt(mp.pi)
        coefficients = [c0 - 1]
        n = 1
        while abs(term := c0 * (-1) ** n / (mp.factorial(n) * (2 * n + 1))) * hi ** (
                2 * n) > ERF_TAIL:
            coefficients.append(term)
            n += 1
        return 0.0, tuple(float(c) for c in coefficients)
    # erf⁽ⁿ⁾(c) = (2/√π)(−1)ⁿ⁻¹ Hₙ₋₁(c) e^(−c²), Hermite: H₀ = 1, H₁ = 2c,
    # Hₖ₊₁ = 2c Hₖ − 2k Hₖ₋₁
    c = mp.mpf(centre)
    scale = 2 / mp.sqrt(mp.pi) * mp.exp(-c * c)
    series = [mp.erf(c)]
    previous, hermite = mp.mpf(0), mp.mpf(1)
    radius = max(hi - centre, centre - lo)
    for k in range(1, 60):
        series.append(scale * (-1) ** (k - 1) * hermite / mp.factorial(k))
        if abs(series[-1]) * radius**k < ERF_TAIL * mp.erf(lo):
            break
        previous, hermite = hermite, 2 * c * hermite - 2 * (k - 1) * previous
    n = len(series) - 1
    e = float(series[0])
    return e, (float(series[0] - e), *(float(c) for c in series[1:n]))


def _erf_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp
    erf = tab.special.erf
    f64 = tab.dtype("f64")
    pieces = [(lo, hi, centre, *_erf_series(lo, hi, centre)) for lo, hi, centre in ERF_PIECES]

    def horner(coefficients: tuple[float, ...], t: Any) -> Any:
        acc = xp.full_like(t, coefficients[-1])
        for c in coefficients[-2::-1]:
            xp.multiply(acc, t, out=acc)
            xp.add(acc, c, out=acc)
        return acc

    def erf_f64(x: Any) -> Any:
        """erf within 1 ulp in float64: the library's erf, and series of this module where
        the former falls short (:data:`ERF_PIECES`); erf is odd, so the series run on |x|
        and the result takes x's sign (erf(−0) = −0; nan stays nan)."""
        x = xp.asarray(x, dtype=f64)
        flat = x.reshape(-1)
        y = xp.array(erf(flat), dtype=f64)
        a = xp.abs(flat)
        for lo, hi, centre, e, coefficients in pieces:
            inside = (a >= lo) & (a < hi)
            if not bool(xp.any(inside)):
                continue
            ai = a[inside]
            if centre is None:
                r = horner(coefficients, ai * ai)
                xp.multiply(r, ai, out=r)
                xp.add(r, ai, out=r)
            else:
                r = horner(coefficients, ai - centre)
                xp.add(r, e, out=r)
            y[inside] = r
        return xp.copysign(y, flat, out=y).reshape(x.shape)  # the library's erf is odd too

    return erf_f64


def _erf_f32_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    f32 = tab.dtype("f32")
    erf_f64 = _erf_kernel(tab)

    def erf_f32(x: Any) -> Any:
        """f32: float64's erf rounded once (spec 3.1: ≤ 0.5 + 2⁻²⁹ ulp of f32)."""
        return erf_f64(x).astype(f32)

    return erf_f32


def _pow_f64_kernel(tab: ArrayTable) -> Callable[[Any, Any], Any]:
    xp = tab.xp
    f64 = tab.dtype("f64")

    def pow_in_f64(x: Any, n: Any) -> Any:
        """One C-style pow in float64 (n is exact there, |n| ≤ 2⁵³), rounded once to x's
        dtype: pow(x, 0) = 1 even for nan, pow(±0, n < 0) = ±inf."""
        x = xp.asarray(x)
        return xp.power(xp.asarray(x, dtype=f64), n).astype(x.dtype, copy=False)

    return pow_in_f64


def _pow_int_kernel(tab: ArrayTable) -> Callable[[Any, Any], Any]:
    xp = tab.xp
    i64 = tab.dtype("i64")

    def pow_wrapping(x: Any, n: Any) -> Any:
        """Square-and-multiply in int64, which wraps; reduced to x's width (2³² divides
        2⁶⁴, so the int32 result is the int64 one's low half)."""
        x = xp.asarray(x)
        return xp.power(xp.asarray(x, dtype=i64), n).astype(x.dtype, copy=False)

    return pow_wrapping


def _cube_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp
    f64 = tab.dtype("f64")

    def cube(x: Any) -> Any:
        """(x·x)·x in float64: two roundings, a relative error under 2u (< 2 ulp, the claim
        is 4); for f32 operands x·x is exact and the result is rounded once more to f32
        (≤ 0.5 + 2⁻²⁸ ulp). An intermediate overflows or underflows only where the cube
        does; (−0)³ = −0, (±inf)³ = ±inf as C pow."""
        x = xp.asarray(x)
        w = xp.asarray(x, dtype=f64)
        t = xp.multiply(w, w)
        t = xp.multiply(t, w, out=t) if t.ndim else t * w
        return t.astype(x.dtype, copy=False)

    return cube


def _fourth_power_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp
    f64 = tab.dtype("f64")

    def fourth_power(x: Any) -> Any:
        """(x·x)² in float64: a relative error under 3u (< 3 ulp, the claim is 4); exact
        square then one rounding, then one more to f32, for f32 operands."""
        x = xp.asarray(x)
        w = xp.asarray(x, dtype=f64)
        t = xp.multiply(w, w)
        t = xp.multiply(t, t, out=t) if t.ndim else t * t
        return t.astype(x.dtype, copy=False)

    return fourth_power


def _reciprocal_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp
    f64 = tab.dtype("f64")

    def reciprocal(x: Any) -> Any:
        """1/x in float64, correctly rounded (then once more to f32 for f32 operands):
        1/(±0) = ±inf, 1/(±inf) = ±0 as C pow(x, −1)."""
        x = xp.asarray(x)
        return xp.reciprocal(xp.asarray(x, dtype=f64)).astype(x.dtype, copy=False)

    return reciprocal


FAST_POWERS: dict[int, Callable[[ArrayTable], Callable[[Any], Any]]] = {
    3: _cube_kernel, 4: _fourth_power_kernel, -1: _reciprocal_kernel}
"""Exponents computed by products instead of C pow (an order of magnitude faster), within
the claim of 4 ulp; no intermediate overflows or underflows unless the result does."""


def _ones_kernel(tab: ArrayTable) -> Callable[[Any], Any]:
    xp = tab.xp

    def ones(x: Any) -> Any:
        """x⁰ = 1 for every x, nan and ±inf included."""
        return xp.ones_like(xp.asarray(x))

    return ones


# --------------------------------------------------------------------------------------------
# Code rules


def _kernel_code(factory: Callable[[ArrayTable], Callable[..., Any]]) -> CodeRule:
    """Code that calls the kernel ``factory`` makes, on the operand."""

    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        return f"{ctx.kernel(factory)}({xs[0]})"

    code.__name__ = f"call{factory.__name__.removesuffix('_kernel')}"
    return code


def _sign_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    if e.ins[0].type.is_float:
        return f"{ctx.kernel(_float_sign_kernel)}({xs[0]})"
    return f"{ctx.fn('sign')}({xs[0]})"


def _erf_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    factory = _erf_kernel if e.ins[0].type.dtype == "f64" else _erf_f32_kernel
    return f"{ctx.kernel(factory)}({xs[0]})"


def _integer_pow_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """n = 0: ones; n = 1: x itself; n = 2: one correctly rounded square (x·x in float64 is
    exact for f32 operands, so squaring in the operand's dtype gives the value of the
    spec's float64 pow rounded once); n = 3, 4, −1: products in float64 (:data:`FAST_POWERS`);
    otherwise one pow in float64 (floats) or in int64 (integers)."""
    n = e.params["y"]
    x = xs[0]
    if n == 0:
        return f"{ctx.kernel(_ones_kernel)}({x})"
    if n == 1:
        return x
    if n == 2:
        return f"{ctx.fn('square')}({x})"
    if e.ins[0].type.is_float:
        if n in FAST_POWERS:
            return f"{ctx.kernel(FAST_POWERS[n])}({x})"
        return f"{ctx.kernel(_pow_f64_kernel)}({x}, {ctx.const(float(n))})"
    return f"{ctx.kernel(_pow_int_kernel)}({x}, {ctx.const(n)})"


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.1, "Derivatives")


def _lit(value: float, like: Atom) -> Lit:
    """A float literal of ``like``'s dtype."""
    return Lit(value, like.type.dtype)


Coefficient = Callable[[Builder, Atom, Var], Atom]
"""``(b, x, y) -> c``: the derivative f'(x), emitted as non-linear equations."""


def _chain(coefficient: Coefficient) -> JvpRule:
    """J-Unary: ``dy = mul(c, dx)`` with ``c`` the coefficient at the primal point."""

    def jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
        (dx,) = dxs
        return [scale(b, coefficient(b, e.ins[0], e.outs[0]), dx)]  # type: ignore[arg-type]

    jvp.__name__ = f"chain_{coefficient.__name__.lstrip('_')}"
    return jvp


def _one_minus_square(b: Builder, x: Atom) -> Var:
    """(1 − x)(1 + x): 1 − x² with no cancellation near |x| = 1 (1 − x exact on [½, 1])."""
    one = _lit(1.0, x)
    return b.op("mul", b.op("sub", one, x), b.op("add", one, x))


def _sin_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """cos x"""
    return b.op("cos", x)


def _cos_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """−sin x"""
    return b.op("neg", b.op("sin", x))


def _tan_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """1 + y²"""
    return b.op("add", _lit(1.0, x), b.op("square", y))


def _asin_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """rsqrt((1 − x)(1 + x))"""
    return b.op("rsqrt", _one_minus_square(b, x))


def _acos_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """−rsqrt((1 − x)(1 + x))"""
    return b.op("neg", _asin_coefficient(b, x, y))


def _atan_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """1/(1 + x²): 0 where x² overflows (the derivative is subnormal there)."""
    one = _lit(1.0, x)
    return b.op("div", one, b.op("add", one, b.op("square", x)))


def _sinh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """cosh x"""
    return b.op("cosh", x)


def _cosh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """sinh x"""
    return b.op("sinh", x)


def _tanh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """4e/(1 + e)² with e = exp(−2|x|) ∈ [0, 1]: from x, not from 1 − y², which loses every
    digit once y rounds to ±1; nothing overflows (1/cosh² would for |x| > 355)."""
    e = b.op("exp", b.op("mul", _lit(-2.0, x), b.op("abs", x)))
    return b.op("div", b.op("mul", _lit(4.0, x), e),
                b.op("square", b.op("add", _lit(1.0, x), e)))


def _asinh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """(1/m)·rsqrt(q² + (1/m)²), m = max(|x|, 1), q = clamp(−1, x, 1): rsqrt(x² + 1)
    scaled so that nothing overflows for huge |x|."""
    one = _lit(1.0, x)
    r = b.op("div", one, b.op("max", b.op("abs", x), one))
    q = b.op("clamp", _lit(-1.0, x), x, one)
    return b.op("mul", r, b.op("rsqrt", b.op("add", b.op("square", q), b.op("square", r))))


def _acosh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """rsqrt(x − 1)·rsqrt(x + 1): no product (x − 1)(x + 1) to overflow."""
    one = _lit(1.0, x)
    return b.op("mul", b.op("rsqrt", b.op("sub", x, one)), b.op("rsqrt", b.op("add", x, one)))


def _atanh_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """1/((1 − x)(1 + x))"""
    return b.op("div", _lit(1.0, x), _one_minus_square(b, x))


def _exp_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """y = exp x itself"""
    return y


def _expm1_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """exp x"""
    return b.op("exp", x)


def _rsqrt_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """−(0.5·y)/x: halving first is exact, and y/x would overflow for tiny x."""
    return b.op("neg", b.op("div", b.op("mul", _lit(0.5, x), y), x))


def _logistic_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """e/(1 + e)² with e = exp(−|x|) ∈ [0, 1] (logistic′ is even): not y(1 − y), which loses
    every digit once y rounds to 1."""
    e = b.op("exp", b.op("neg", b.op("abs", x)))
    return b.op("div", e, b.op("square", b.op("add", _lit(1.0, x), e)))


ERF_SPLIT_LIMIT = 26.0
"""|h| ≤ 26 in erf's coefficient: h² is exact and exp(h²) finite in float64."""


def _erf_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """k·exp((h − x)(h + x))/exp(h²), h = round(clamp(−26, x, 26)), k = rsqrt(atan2(E, E))
    = 2/√π with E = exp(h²): −x² = (h − x)(h + x) − h² with h² exact and the first term
    small, so the exponent's rounding costs about 2u(|x| + ¼) instead of u·x²; k computed in
    the program's own number domain."""
    h = b.op("round", b.op("clamp", _lit(-ERF_SPLIT_LIMIT, x), x, _lit(ERF_SPLIT_LIMIT, x)))
    exponent = b.op("mul", b.op("sub", h, x), b.op("add", h, x))
    big = b.op("exp", b.op("square", h))
    k = b.op("rsqrt", b.op("atan2", big, big))
    return b.op("div", b.op("mul", k, b.op("exp", exponent)), big)


def _abs_coefficient(b: Builder, x: Atom, y: Var) -> Atom:
    """sign x: 0 at ±0 (chapter 6, the minimum-norm subgradient)"""
    return b.op("sign", x)


def _square_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy = (2x)·dx: the coefficient 2x is exact (where it does not overflow), and each
    direction rounds once. The transpose of (2·dx)·x, (ct·x)·2, rounded before doubling:
    twice the error where ct·x is subnormal, outside the derivative claim (the thorough
    profile found it at a cotangent of 2.2e-309). The backward sweep reads 2x, which the
    rematerialization (:mod:`lintra.optimized.remat`) recomputes from ``x`` where ``x`` is
    at hand, so no array is kept that was not kept before."""
    (dx,) = dxs
    x = e.ins[0]
    return [scale(b, b.op("mul", _lit(2.0, x), x), dx)]  # type: ignore[arg-type]


def _log_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy = dx/x (one correctly rounded division)"""
    return [b.op("div", dxs[0], e.ins[0])]  # type: ignore[arg-type]


def _log1p_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy = dx/(1 + x)"""
    x = e.ins[0]
    return [b.op("div", dxs[0], b.op("add", _lit(1.0, x), x))]  # type: ignore[arg-type]


def _sqrt_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy = dx/(2y): ±inf at ±0 (chapter 6)"""
    y = e.outs[0]
    return [b.op("div", dxs[0], b.op("mul", _lit(2.0, y), y))]  # type: ignore[arg-type]


def _cbrt_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy = dx/(3y²): +inf at ±0 (chapter 6)"""
    y = e.outs[0]
    return [b.op("div", dxs[0],  # type: ignore[arg-type]
                 b.op("mul", _lit(3.0, y), b.op("square", y)))]


def _integer_pow_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """n = 0: zero; n = 1: dx; n = 2: (2·dx)·x; otherwise (n·x^k)·x^(n−1−k)·dx with
    k = ⌊(n − 1)/2⌋: both halves are normal wherever n·x^(n−1) is (x^(n−1) alone may be
    subnormal), and both exponents stay within the type rule's range."""
    (dx,) = dxs
    n = e.params["y"]
    x = e.ins[0]
    if n == 0:
        return [None]
    if n == 1:
        return [dx]
    if n == 2:
        return _square_jvp(b, e, dxs)
    k = (n - 1) // 2
    low, high = (x if m == 1 else b.op("integer_pow", x, y=m) for m in (k, n - 1 - k))
    c = b.op("mul", b.op("mul", _lit(float(n), x), low), high)
    return [scale(b, c, dx)]  # type: ignore[arg-type]


def _zero_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """J-Zero: piecewise constant, the tangent is a symbolic zero."""
    return [None]


def _neg_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """J-Linear: dy = neg(dx)"""
    return [b.op("neg", dxs[0])]  # type: ignore[arg-type]


def _neg_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """ct_x = neg(ct)"""
    return [b.op("neg", cts[0])]  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The records


def _unary(name: str, infer: Callable[..., tuple[AType, ...]], code: CodeRule,
           jvp: JvpRule, linearity: Linearity = NEVER,
           transpose: TransposeRule | None = None) -> Rule:
    """A one-operand elementwise record without parameters."""
    return Rule(name, "unary", infer, code, linearity, jvp=jvp, transpose=transpose,
                min_operands=1, max_operands=1)


RULES = (
    _unary("neg", _numeric_infer, ufunc("negative"), _neg_jvp, together(0), _neg_transpose),
    _unary("sin", _float_infer, ufunc("sin"), _chain(_sin_coefficient)),
    _unary("cos", _float_infer, ufunc("cos"), _chain(_cos_coefficient)),
    _unary("tan", _float_infer, ufunc("tan"), _chain(_tan_coefficient)),
    _unary("asin", _float_infer, ufunc("arcsin"), _chain(_asin_coefficient)),
    _unary("acos", _float_infer, ufunc("arccos"), _chain(_acos_coefficient)),
    _unary("atan", _float_infer, ufunc("arctan"), _chain(_atan_coefficient)),
    _unary("sinh", _float_infer, ufunc("sinh"), _chain(_sinh_coefficient)),
    _unary("cosh", _float_infer, ufunc("cosh"), _chain(_cosh_coefficient)),
    _unary("tanh", _float_infer, ufunc("tanh"), _chain(_tanh_coefficient)),
    _unary("asinh", _float_infer, ufunc("arcsinh"), _chain(_asinh_coefficient)),
    _unary("acosh", _float_infer, ufunc("arccosh"), _chain(_acosh_coefficient)),
    _unary("atanh", _float_infer, ufunc("arctanh"), _chain(_atanh_coefficient)),
    _unary("exp", _float_infer, ufunc("exp"), _chain(_exp_coefficient)),
    _unary("expm1", _float_infer, ufunc("expm1"), _chain(_expm1_coefficient)),
    _unary("log", _float_infer, ufunc("log"), _log_jvp),
    _unary("log1p", _float_infer, ufunc("log1p"), _log1p_jvp),
    _unary("sqrt", _float_infer, ufunc("sqrt"), _sqrt_jvp),
    _unary("rsqrt", _float_infer, _kernel_code(_rsqrt_kernel), _chain(_rsqrt_coefficient)),
    _unary("cbrt", _float_infer, ufunc("cbrt"), _cbrt_jvp),
    _unary("logistic", _float_infer, _kernel_code(_logistic_kernel),
           _chain(_logistic_coefficient)),
    _unary("erf", _float_infer, _erf_code, _chain(_erf_coefficient)),
    _unary("abs", _numeric_infer, ufunc("absolute"), _chain(_abs_coefficient)),
    _unary("sign", _numeric_infer, _sign_code, _zero_jvp),
    _unary("floor", _float_infer, ufunc("floor"), _zero_jvp),
    _unary("ceil", _float_infer, ufunc("ceil"), _zero_jvp),
    _unary("round", _float_infer, _kernel_code(_round_kernel), _zero_jvp),
    _unary("square", _numeric_infer, ufunc("square"), _square_jvp),
    Rule("integer_pow", "unary", _integer_pow_infer, _integer_pow_code,
         params={"y": REQUIRED}, normalize=_integer_pow_normalize, jvp=_integer_pow_jvp,
         min_operands=1, max_operands=1),
)
