"""Hard places of the derivatives, and the measurement of derivative accuracy claims.

A *hard place* is an input where a partial derivative is hard to compute accurately: a tail
where the function saturates and its derivative becomes tiny (every digit of ``1 - tanh x`` is
gone long before ``tanh' x`` underflows), the neighbourhood of a domain edge or a pole, an
overflow threshold of the function or of an intermediate a careless formula forms (``x²`` in
``1/(1 + x²)``), huge and tiny magnitudes, subnormals. :func:`hard_places` lists them per
primitive and dtype, as data; the generators of the suite plant them into generated cases.

Entry layout: for an elementwise primitive an entry holds one number per operand, in operand
order (``clamp``: ``(lo, x, hi)``; ``atan2``: ``(y, x)``). For a primitive that works along
an axis (:data:`AXIS_PRIMITIVES`: reductions, scans, ``sort``) an entry holds the elements of
its one operand, a rank-1 array. Every f32 entry is representable in f32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lintra.reference.syntax import DType

AXIS_PRIMITIVES = frozenset({"reduce_max", "reduce_min", "cumprod", "cummax", "sort"})
"""Primitives whose hard-place entries are the elements of one rank-1 operand."""


@dataclass(frozen=True)
class Places:
    """Hard places of one kind: the entries for each float dtype, and why they are hard."""

    why: str
    f64: tuple[tuple[float, ...], ...] = ()
    f32: tuple[tuple[float, ...], ...] = ()


def both(*values: float) -> tuple[tuple[float, ...], ...]:
    """One-operand entries, each value and its negation (for odd or even functions)."""
    return tuple((s * v,) for v in values for s in (1.0, -1.0))


def ones(*values: float) -> tuple[tuple[float, ...], ...]:
    """One-operand entries, one per value."""
    return tuple((v,) for v in values)


F64_TINY = 2.2250738585072014e-308
"""The smallest normal float64."""
F32_TINY = 1.1754943508222875e-38
"""The smallest normal float32."""
F64_MAX = 1.7976931348623157e308
F32_MAX = 3.4028234663852886e38
F64_SUB = 5e-324
F32_SUB = 1.401298464324817e-45
BELOW_ONE_64 = 1 - 2.0**-53
BELOW_ONE_32 = 1 - 2.0**-24
SMALL = Places("tiny and subnormal magnitudes", both(1e-300, F64_TINY, F64_SUB),
               both(1e-30, F32_TINY, F32_SUB))

HARD: dict[str, tuple[Places, ...]] = {
    "sin": (SMALL, Places("huge arguments and the zeros of the derivative cos",
                          both(1e22, 1e300, 1.5707963267948966, 3.141592653589793),
                          both(1e22, 3e38, 1.5707963705062866, 3.1415927410125732))),
    "cos": (SMALL, Places("huge arguments and the zeros of the derivative sin",
                          both(1e22, 1e300, 3.141592653589793, 1.5707963267948966),
                          both(1e22, 3e38, 3.1415927410125732, 1.5707963705062866))),
    "tan": (SMALL, Places("next to the poles (tan x of order 1/u, tan' of order 1/u²)",
                          both(1.5707963267948966, 4.71238898038469, 1e22, 1e300),
                          both(1.5707963705062866, 4.7123889923095703, 1e22, 3e38))),
    "asin": (SMALL, Places("next to the domain edges ±1", both(BELOW_ONE_64, 1 - 2.0**-30, 0.5),
                           both(BELOW_ONE_32, 1 - 2.0**-12, 0.5))),
    "acos": (SMALL, Places("next to the domain edges ±1", both(BELOW_ONE_64, 1 - 2.0**-30, 0.5),
                           both(BELOW_ONE_32, 1 - 2.0**-12, 0.5))),
    "atan": (SMALL, Places("huge |x|: x² overflows (above 2^512 in f64, 2^64 in f32)",
                           both(1e150, 1.3407807929942596e154, 1e200, 1e300, F64_MAX),
                           both(9e18, 1.8446744073709552e19, 1e25, 1e30, F32_MAX))),
    "sinh": (SMALL, Places("the overflow threshold of cosh and sinh",
                           both(710.4758600739439, 710.47, 710.48, 709.78, 20.0),
                           both(89.41598629223294, 89.4, 89.5, 88.72, 10.0))),
    "cosh": (SMALL, Places("the overflow threshold of cosh and sinh",
                           both(710.4758600739439, 710.47, 710.48, 709.78, 20.0),
                           both(89.41598629223294, 89.4, 89.5, 88.72, 10.0))),
    "tanh": (SMALL, Places("the tails: tanh rounds to ±1 (x > 19.1 in f64, 9.1 in f32) while "
                           "tanh' = 1/cosh² is representable up to x ≈ 354.9 (f64), 44.4 (f32)",
                           both(0.5, 19.1, 20.0, 25.0, 40.0, 100.0, 300.0, 354.0, 354.9,
                                355.5, 400.0, 710.5, 1e300),
                           both(0.5, 9.1, 10.0, 15.0, 20.0, 30.0, 40.0, 44.0, 44.5, 50.0,
                                89.5, 1e30))),
    "asinh": (SMALL, Places("huge |x|: x² + 1 overflows above 2^512 (f64), 2^64 (f32)",
                            both(1.0, 1e150, 1.3407807929942596e154, 1e200, 1e300, F64_MAX),
                            both(1.0, 9e18, 1.8446744073709552e19, 1e25, 1e30, F32_MAX))),
    "acosh": (Places("next to the domain edge 1, and huge x where (x − 1)(x + 1) overflows",
                     ones(1.0, 1 + 2.0**-52, 1 + 2.0**-30, 2.0, 1e150, 1.3407807929942596e154,
                          1e200, 1e300, F64_MAX),
                     ones(1.0, 1 + 2.0**-23, 1 + 2.0**-12, 2.0, 9e18, 1.8446744073709552e19,
                          1e25, 1e30, F32_MAX)),),
    "atanh": (SMALL, Places("next to the poles ±1", both(BELOW_ONE_64, 1 - 2.0**-30, 0.5),
                            both(BELOW_ONE_32, 1 - 2.0**-12, 0.5))),
    "exp": (SMALL, Places("the overflow threshold and the subnormal results",
                          ones(709.782712893384, 709.78, 709.79, -708.3964185322641, -708.4,
                               -720.0, -745.0, -746.0),
                          ones(88.72283935546875, 88.72, 88.73, -87.33654022216797, -87.4,
                               -95.0, -103.0, -104.0))),
    "expm1": (SMALL, Places("the overflow threshold, the saturation at −1",
                            ones(709.782712893384, 709.78, 709.79, -40.0, -708.4, -745.0,
                                 -746.0, 1e-10),
                            ones(88.72283935546875, 88.72, 88.73, -20.0, -87.4, -103.0,
                                 -104.0, 1e-5))),
    "log": (Places("subnormal and huge x: 1/x overflows or is subnormal",
                   ones(F64_SUB, 1e-310, F64_TINY, 1e-300, 1.0, 1e300, F64_MAX),
                   ones(F32_SUB, 1e-40, F32_TINY, 1e-30, 1.0, 1e30, F32_MAX)),),
    "log1p": (SMALL, Places("next to the pole −1, huge x",
                            ones(-BELOW_ONE_64, -0.5, 1e300, F64_MAX),
                            ones(-BELOW_ONE_32, -0.5, 1e30, F32_MAX))),
    "sqrt": (Places("subnormal and huge x", ones(F64_SUB, 1e-310, F64_TINY, 1e300, F64_MAX),
                    ones(F32_SUB, 1e-40, F32_TINY, 1e30, F32_MAX)),),
    "rsqrt": (Places("tiny x (x^(−3/2) near the overflow threshold) and huge x",
                     ones(F64_SUB, 1e-310, 2.1e-206, 2.2e-206, 1e-200, 1.0, 1e300, F64_MAX),
                     ones(F32_SUB, 1e-40, 2.05e-26, 2.2e-26, 1e-20, 1.0, 1e30, F32_MAX)),),
    "cbrt": (SMALL, Places("huge magnitudes", both(1e300, F64_MAX), both(1e30, F32_MAX))),
    "logistic": (SMALL, Places("the tails: logistic rounds to 1 (x > 36.7 in f64, 16.6 in f32) "
                               "while logistic' ≈ e^−x is representable up to x ≈ 708 (f64), "
                               "87 (f32)",
                               both(5.0, 36.8, 40.0, 100.0, 700.0, 708.0, 708.5, 745.0, 800.0),
                               both(5.0, 16.7, 20.0, 50.0, 80.0, 87.0, 87.5, 103.0, 110.0))),
    "erf": (SMALL, Places("the tails: erf rounds to ±1 (|x| > 5.9 in f64, 3.9 in f32) while "
                          "erf' is representable up to |x| ≈ 26.6 (f64), 9.3 (f32)",
                          both(3.0, 6.0, 10.0, 20.0, 26.0, 26.5, 26.7, 27.5, 1e10),
                          both(3.0, 4.0, 6.0, 8.0, 9.0, 9.3, 9.5, 1e10))),
    "abs": (SMALL, Places("huge magnitudes", both(1e300, F64_MAX), both(1e30, F32_MAX))),
    "square": (SMALL, Places("2x near the overflow threshold", both(1e300, F64_MAX / 2, F64_MAX),
                             both(1e30, F32_MAX / 2, F32_MAX))),
    "integer_pow": (SMALL, Places("x^(n−1) near the overflow and underflow thresholds",
                                  both(1e-100, 1e-150, 1e100, 1e150, 0.5, 2.0),
                                  both(1e-10, 1e-15, 1e10, 1e15, 0.5, 2.0))),
    "mul": (Places("products that overflow or are subnormal (the partials are exact)",
                   ((1e200, 1e200), (1e-200, 1e-200), (F64_SUB, 2.0), (F64_MAX, 0.5)),
                   ((1e20, 1e20), (1e-20, 1e-20), (F32_SUB, 2.0), (F32_MAX, 0.5))),),
    "div": (Places("divisors whose square overflows or is subnormal",
                   ((1.0, 1e-200), (1e-300, 1e-160), (1.0, 1e200), (1e300, 1e160),
                    (F64_SUB, F64_SUB), (F64_MAX, 1.0), (1.0, F64_MAX), (3.0, 1e-310)),
                   ((1.0, 1e-20), (1e-30, 1e-16), (1.0, 1e20), (1e30, 1e16),
                    (F32_SUB, F32_SUB), (F32_MAX, 1.0), (1.0, F32_MAX), (3.0, 1e-40))),),
    "rem": (Places("large quotients, tiny divisors",
                   ((1e15, 3.0), (1e300, 1e285), (5.5, 1e-300), (-7.0, 2.5)),
                   ((1e6, 3.0), (1e30, 1e25), (5.5, 1e-30), (-7.0, 2.5))),),
    "pow": (Places("large exponents, results near overflow or underflow, bases near 1",
                   ((2.0, 1023.5), (2.0, -1074.0), (10.0, 308.2), (0.5, 1000.0),
                    (1 + 2.0**-52, 1e15), (BELOW_ONE_64, 1e16), (1e300, 1.02), (1e-300, 0.5),
                    (3.0, 0.3), (1e-310, 2.0), (7.0, 1e-20)),
                   ((2.0, 127.5), (2.0, -149.0), (10.0, 38.2), (0.5, 120.0),
                    (1 + 2.0**-23, 1e7), (BELOW_ONE_32, 1e8), (1e30, 1.2), (1e-30, 0.5),
                    (3.0, 0.3), (1e-40, 2.0), (7.0, 1e-10))),),
    "atan2": (Places("both operands huge or tiny (x² + y² overflows or is subnormal), "
                     "very different magnitudes",
                     ((1e-200, 1e-200), (1e200, 1e200), (F64_SUB, F64_SUB), (F64_MAX, F64_MAX),
                      (1e-300, 1.0), (1.0, 1e-300), (1e300, -1e-300), (-1e160, 3e159)),
                     ((1e-20, 1e-20), (1e20, 1e20), (F32_SUB, F32_SUB), (F32_MAX, F32_MAX),
                      (1e-30, 1.0), (1.0, 1e-30), (1e30, -1e-30), (-1e19, 3e18))),),
    "max": (Places("ties and near-ties, signed zeros, infinities",
                   ((1.0, 1.0), (0.0, -0.0), (1.0, 1.0 + 2.0**-52), (F64_MAX, np.inf),
                    (F64_SUB, 0.0)),
                   ((1.0, 1.0), (0.0, -0.0), (1.0, 1.0 + 2.0**-23), (F32_MAX, np.inf),
                    (F32_SUB, 0.0))),),
    "min": (Places("ties and near-ties, signed zeros, infinities",
                   ((1.0, 1.0), (0.0, -0.0), (1.0, 1.0 + 2.0**-52), (-F64_MAX, -np.inf),
                    (-F64_SUB, 0.0)),
                   ((1.0, 1.0), (0.0, -0.0), (1.0, 1.0 + 2.0**-23), (-F32_MAX, -np.inf),
                    (-F32_SUB, 0.0))),),
    "clamp": (Places("x at or next to a bound, lo = hi",
                     ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (0.0, -F64_SUB, 1.0),
                      (0.0, 1.0 + 2.0**-52, 1.0), (1.0, 1.0, 1.0), (-F64_MAX, F64_MAX, F64_MAX)),
                     ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (0.0, -F32_SUB, 1.0),
                      (0.0, 1.0 + 2.0**-23, 1.0), (1.0, 1.0, 1.0), (-F32_MAX, F32_MAX, F32_MAX))),
              ),
    "reduce_max": (Places("ties, signed zeros, huge and subnormal elements",
                          ((1.0, 1.0, 0.5), (0.0, -0.0), (F64_SUB, 0.0, -F64_SUB),
                           (F64_MAX, F64_MAX, 1.0)),
                          ((1.0, 1.0, 0.5), (0.0, -0.0), (F32_SUB, 0.0, -F32_SUB),
                           (F32_MAX, F32_MAX, 1.0))),),
    "reduce_min": (Places("ties, signed zeros, huge and subnormal elements",
                          ((1.0, 1.0, 1.5), (0.0, -0.0), (-F64_SUB, 0.0, F64_SUB),
                           (-F64_MAX, -F64_MAX, 1.0)),
                          ((1.0, 1.0, 1.5), (0.0, -0.0), (-F32_SUB, 0.0, F32_SUB),
                           (-F32_MAX, -F32_MAX, 1.0))),),
    "cummax": (Places("repeated running maxima, signed zeros",
                      ((1.0, 1.0, 0.5, 1.0), (0.0, -0.0, 0.0), (F64_SUB, 0.0, F64_SUB)),
                      ((1.0, 1.0, 0.5, 1.0), (0.0, -0.0, 0.0), (F32_SUB, 0.0, F32_SUB))),),
    "cumprod": (Places("zeros among the factors, products that overflow or underflow",
                       ((2.0, 0.0, 3.0, 4.0), (0.0, 0.0, 5.0), (1e200, 1e200, 1e-200),
                        (1e-200, 1e-200, 1e200), (F64_SUB, 2.0, 0.5), (3.0, -0.0, 1e300)),
                       ((2.0, 0.0, 3.0, 4.0), (0.0, 0.0, 5.0), (1e20, 1e20, 1e-20),
                        (1e-20, 1e-20, 1e20), (F32_SUB, 2.0, 0.5), (3.0, -0.0, 1e30))),),
    "sort": (Places("ties, signed zeros, infinities",
                    ((1.0, 1.0, 0.5), (0.0, -0.0, 0.0), (np.inf, -np.inf, F64_MAX)),
                    ((1.0, 1.0, 0.5), (0.0, -0.0, 0.0), (np.inf, -np.inf, F32_MAX))),),
}
"""The hard places of each primitive with a non-trivial derivative (linear primitives, whose
tangent is the primitive on the tangents, and zero-derivative ones have none)."""

EXPONENTS = (-3, -2, -1, 2, 3, 5, 17)
"""The exponents ``y`` of ``integer_pow`` the measurement uses (the places above are meant
for every one of them: x^(n-1) over- or underflows at some place for the larger ones)."""


def _in_dtype(entry: tuple[float, ...], dtype: DType) -> tuple[float, ...]:
    """``entry`` with every number rounded to ``dtype`` (f32: representable in f32)."""
    if dtype is DType.f32:
        with np.errstate(over="ignore"):
            return tuple(float(np.float32(v)) for v in entry)
    return tuple(float(v) for v in entry)


def hard_places(primitive: str, dtype: DType | str) -> tuple[tuple[float, ...], ...]:
    """The hard places of ``primitive`` in float ``dtype`` (``DType`` or its name), without
    repeats; ``()`` for a primitive without any (module docstring for the layout)."""
    d = DType(dtype) if isinstance(dtype, str) else dtype
    if not d.is_float:
        return ()
    seen: dict[tuple[str, ...], tuple[float, ...]] = {}
    for places in HARD.get(primitive, ()):
        for entry in places.f32 if d is DType.f32 else places.f64:
            rounded = _in_dtype(entry, d)
            seen.setdefault(tuple(v.hex() for v in rounded), rounded)  # keeps -0.0 apart
    return tuple(seen.values())
