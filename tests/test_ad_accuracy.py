"""The derivative formulas of spec 3.2 and 3.7 at the points that motivated them.

Each partial is computed by the reference with the other operand held by ``stop_gradient``
(its tangent a symbolic zero, as the claims of spec 3.2 are stated), in f64 and f32, and
compared with the exact partial computed here in mpmath from the textbook formula, never from
the rule under test. The allowed error is the record's derivative claim in ulps of the dtype
at the exact value (spec 3.1, *Accuracy*, for the units).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from lintra.reference import PRIMITIVES, jacfwd, jvp, parse_program

CTX = mpmath.MPContext()
CTX.dps = 80
M = CTX.mpf


def partial(name: str, operand: int, x: float, y: float, dtype: str) -> float:
    """∂ name(x, y) / ∂ operand by the reference, the other operand held constant."""
    held, ops = ("b", "a, h") if operand == 0 else ("a", "h, b")
    p = parse_program(f"def f(a: {dtype}[], b: {dtype}[]) -> {dtype}[]:\n"
                      f"    h = stop_gradient({held})\n    z = {name}({ops})\n    return z\n")
    kind = np.float64 if dtype == "f64" else np.float32
    one, zero = kind(1), kind(0)
    _, (dz,) = jvp(p, (kind(x), kind(y)), (one, zero) if operand == 0 else (zero, one))
    assert dz.dtype == kind
    return float(dz)


def ulps(got: float, true: object, dtype: str) -> float:
    """|got − true| in ulps of the dtype at the exact value (a normal number here)."""
    info = np.finfo(np.float64 if dtype == "f64" else np.float32)
    assert info.tiny <= abs(true) <= info.max, true
    exponent = int(CTX.floor(CTX.log(abs(true), 2)))
    return float(abs(M(got) - true) / CTX.ldexp(1, exponent - info.nmant))


def exact(name: str, operand: int, x: float, y: float) -> object:
    """The textbook partial at the exact inputs."""
    a, b = M(x), M(y)
    if name == "atan2":  # atan2(a, b): ∂a = b/(a² + b²), ∂b = −a/(a² + b²)
        return (b if operand == 0 else -a) / (a * a + b * b)
    if name == "div":
        return 1 / b if operand == 0 else -a / (b * b)
    if name == "pow":
        return b * CTX.power(a, b - 1) if operand == 0 else CTX.log(a) * CTX.power(a, b)
    if name == "rem":
        q = a / b
        return M(1) if operand == 0 else -(CTX.floor(q) if q >= 0 else CTX.ceil(q))
    raise KeyError(name)


POINTS = [
    # atan2: x² + y² underflows (the unscaled partials were ±inf) and overflows (0)
    ("atan2", 1e-200, 1e-200, "f64"), ("atan2", 1e200, 1e200, "f64"),
    ("atan2", 1e-20, 1e-20, "f32"), ("atan2", 1e20, 1e20, "f32"),
    # atan2 and div: y subnormal, x moderate: scaling by s would make y/s subnormal
    ("atan2", 1e-320, 1e-5, "f64"), ("div", 1e-320, 1e-10, "f64"),
    # div: y·y overflows (the partial −x/y² is normal for x huge)
    ("div", 1e300, 1e160, "f64"), ("div", 1e30, 1e20, "f32"),
    # pow: y − 1 inexact with |log x| large (x^(y−1) from pow(x, y − 1) lost ~10² ulp)
    ("pow", 1e-300, 0.3, "f64"), ("pow", 1e-30, 0.3, "f32"),
    # pow: z = x^y subnormal or overflowing while y·x^(y−1) is normal; z/x overflowing (x
    # subnormal, y small) or subnormal (x > 1, y < 0) while y·z/x is normal
    ("pow", 5e-324, 0.96, "f64"), ("pow", 1e-310, 2.0, "f64"), ("pow", 2.0, 1023.5, "f64"),
    ("pow", 5e-324, 5e-324, "f64"), ("pow", 5e-324, -1e-18, "f64"), ("pow", 100.0, -153.8, "f64"),
    ("pow", 1.401298464324817e-45, 0.001, "f32"),
    # rem: x/y rounds up to the integer 90 while trunc(x/y) = 89
    ("rem", 9.0, 0.1, "f64"), ("rem", 1e15, 3.0, "f64"), ("rem", 5.5, 1e-300, "f64"),
]


@pytest.mark.parametrize("operand", [0, 1])
@pytest.mark.parametrize(("name", "x", "y", "dtype"), POINTS)
def test_partial_within_claim(name: str, x: float, y: float, dtype: str, operand: int) -> None:
    kind = np.float64 if dtype == "f64" else np.float32
    xr, yr = float(kind(x)), float(kind(y))
    true = exact(name, operand, xr, yr)
    info = np.finfo(kind)
    if not info.tiny <= abs(true) <= info.max:
        pytest.skip("the true partial is not a normal number of the dtype: no claim")
    if name == "pow" and operand == 1 and not info.tiny <= CTX.power(M(xr), M(yr)) <= info.max:
        pytest.skip("spec 3.2, pow (i): ∂y where x^y is outside the normal range")
    got = partial(name, operand, xr, yr, dtype)
    assert ulps(got, true, dtype) <= PRIMITIVES[name].derivative.ulps, (got, float(true))


def test_rem_partial_is_the_integer_quotient() -> None:
    """9/0.1 rounds to 90, but 0.1 is slightly more than 1/10: trunc(x/y) = 89 exactly."""
    assert partial("rem", 1, 9.0, 0.1, "f64") == -89.0


def test_cumprod_partials_are_products_of_the_other_factors() -> None:
    """∂y_i/∂x_j = Π_{k ≤ i, k ≠ j} x_k, within n ulp for n factors (spec 3.7), zeros
    included exactly (no division)."""
    x = np.array([1.5, 0.0, -3.25, 1e10, 7e-5])
    p = parse_program("def f(x: f64[5]) -> f64[5]:\n    y = cumprod(x, axis=0)\n    return y\n")
    jac = jacfwd(p, x)
    for i in range(5):
        for j in range(5):
            factors = [M(float(x[k])) for k in range(i + 1) if k != j]
            true = CTX.fprod(factors) if j <= i else M(0)
            if true == 0:
                assert jac[i, j] == 0, (i, j)
            else:
                assert ulps(float(jac[i, j]), true, "f64") <= len(factors), (i, j)


@pytest.mark.parametrize(("x", "y", "expected"), [
    (1.0, 0.0, -np.inf), (1.0, -0.0, -np.inf), (-1.0, 0.0, np.inf), (0.0, 0.0, np.nan),
    (1.0, np.inf, -0.0), (-1.0, -np.inf, 0.0), (np.inf, 2.0, -np.inf), (1.0, np.nan, np.nan),
])
def test_div_partial_keeps_the_ieee_special_values(x: float, y: float, expected: float) -> None:
    """∂y of x/y = −x/y² with IEEE arithmetic at y = ±0, ±inf, nan and x infinite (spec 3.2:
    both forms of the coefficient give these values): −1/(+0)² = −inf, −0/0 = nan,
    −1/inf = −0, −inf/4 = −inf."""
    got = partial("div", 1, x, y, "f64")
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == expected and np.signbit(got) == np.signbit(expected)
