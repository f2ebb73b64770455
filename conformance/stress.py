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

:func:`measure` computes every partial of a primitive at such places with a backend's
``jvp`` (a unit tangent in one operand element, every other tangent zero) and judges it by the
primitive's derivative claim (``Primitive.derivative``, spec 3.1-3.8 column *d-ulp*) against
the exact partial: the reference's JVP evaluated in the mpmath domain at two precisions,
raised until they agree. :func:`derivative_accuracy` is the suite's property built on it
(spec 7.4); :func:`grid` gives the deterministic points the tests and spec 3.1's measured
column use beside the hard places.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import itertools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from lintra.conformance import truth_cache
from lintra.conformance.analysis import overflow_threshold, value_class
from lintra.conformance.backend import Backend
from lintra.conformance.results import CheckResult, Status
from lintra.conformance.truth import run_checked
from lintra.reference import PRIMITIVES, check, jvp, parse_program
from lintra.reference.domains import MpDomain
from lintra.reference.emit import checked
from lintra.reference.jvp import jvp_program
from lintra.reference.primitives.base import DerivativeClaim
from lintra.reference.syntax import DType, ParamValue, Program, format_param

if TYPE_CHECKING:
    from lintra.conformance.properties import Case

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
    "dot_general": (Places("products that overflow or are subnormal (rank-0 operands: the "
                           "partials are the other operand, exact)",
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

EXPONENTS = (-2, -1, 3, 17)
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


# --------------------------------------------------------------------------------------------
# Programs: one equation calling the primitive at a hard place

MEASURED_PARAMS: dict[str, tuple[dict[str, ParamValue], ...]] = {
    "integer_pow": tuple({"y": n} for n in EXPONENTS),
    "reduce_max": ({"axes": (0,)},),
    "reduce_min": ({"axes": (0,)},),
    "cumprod": ({"axis": 0}, {"axis": 0, "reverse": True}),
    "cummax": ({"axis": 0}, {"axis": 0, "reverse": True}),
    "sort": ({"dimension": 0},),
    "dot_general": ({"contracting_dims": ((), ()), "batch_dims": ((), ())},),
}
"""The parameters each measurement uses (one-equation programs on rank-1 or rank-0 operands);
a primitive not listed takes none."""


def params_text(params: Mapping[str, ParamValue]) -> str:
    return "".join(f", {k}={format_param(v)}" for k, v in sorted(params.items()))


@functools.cache
def single_equation(primitive: str, arity: int, length: int, dtype: DType,
                    params: tuple[tuple[str, ParamValue], ...]) -> Program:
    """``def stress(x1, ..., xk) = primitive(x1, ..., xk, params)``: rank-0 operands, or for
    an axis primitive one rank-1 operand of ``length`` elements; the result types are the
    checker's."""
    d = dtype.value
    operand = f"{d}[{length}]" if primitive in AXIS_PRIMITIVES else f"{d}[]"
    names = [f"x{i + 1}" for i in range(arity)]
    result_type = result_types(primitive, arity, operand, dict(params))
    outs = [f"y{i + 1}" for i in range(len(result_type))]
    text = (
        f"def stress({', '.join(f'{n}: {operand}' for n in names)}) -> "
        f"({', '.join(result_type)}):\n"
        f"    {', '.join(f'{o}: {t}' for o, t in zip(outs, result_type))} = "
        f"{primitive}({', '.join(names)}{params_text(dict(params))})\n"
        f"    return {', '.join(outs)}\n")
    return parse_program(text)


def result_types(primitive: str, arity: int, operand: str, params: dict[str, ParamValue]
                 ) -> list[str]:
    """The result types of ``primitive`` on ``arity`` operands of type ``operand``."""
    prim = PRIMITIVES[primitive]
    t = parse_program(f"def t(x: {operand}) -> {operand}:\n    return x\n").inputs[0].type.array
    outs = prim.type_rule((t,) * arity, prim.param_values(params))
    return [f"{o.dtype.value}[{', '.join(map(str, o.shape))}]" for o in outs]


def operand_arrays(primitive: str, point: tuple[float, ...], dtype: DType
                   ) -> tuple[np.ndarray, ...]:
    """The operands of the one-equation program at ``point`` (module docstring's layout)."""
    if primitive in AXIS_PRIMITIVES:
        return (np.array(point, dtype=dtype.numpy),)
    return tuple(np.array(v, dtype=dtype.numpy) for v in point)


def unit_tangents(operands: Sequence[np.ndarray]) -> list[tuple[tuple[int, tuple], tuple]]:
    """``((operand, element), tangents)`` for a unit tangent in each element of each operand,
    every other tangent zero."""
    out = []
    for k, a in enumerate(operands):
        for i in np.ndindex(a.shape):
            ts = [np.zeros_like(b) for b in operands]
            ts[k][i] = 1
            out.append(((k, i), tuple(ts)))
    return out


# --------------------------------------------------------------------------------------------
# The truth: the exact partials, computed twice in mpmath and accepted only where they agree

TRUTH_DIGITS = (40, 80, 160, 320)
"""The working precisions tried, in decimal digits: a truth is accepted when two successive
ones agree to :data:`TRUTH_AGREEMENT` relative."""
CTX = mpmath.MPContext()
CTX.prec = 2400
"""The context of the comparisons: differences of float64 values and of the truth (up to 320
digits) are exact in it; never changed after import."""
TRUTH_AGREEMENT = CTX.mpf(2) ** -80
"""Far below the unit roundoff of f64 (2^-53): the truth's own error is below 2^-27 ulp."""


@dataclass(frozen=True)
class Truth:
    """The exact partials ∂y_r[e]/∂x_k[i] at one point (``None`` where two precisions did not
    agree), indexed like the backend's tangent results, and why a partial is unreliable."""

    partials: tuple[tuple[tuple[object, ...], ...], ...]
    """``partials[t][r]``: for unit tangent ``t``, result ``r``, the flat result elements."""
    unreliable: str = ""


def _flat(values: Sequence[object]) -> tuple[tuple[object, ...], ...]:
    return tuple(tuple(np.asarray(v, dtype=object).reshape(-1)) for v in values)


def _agree(a: object, b: object) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return bool(mpmath.isnan(a) and mpmath.isnan(b))
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    a, b = CTX.mpf(a), CTX.mpf(b)
    return abs(a - b) <= TRUTH_AGREEMENT * max(abs(a), abs(b))


@functools.cache
@truth_cache.cached
def true_partials(primitive: str, point: tuple[float, ...],
                  params: tuple[tuple[str, ParamValue], ...]) -> Truth:
    """The exact partials at ``point`` (float64 values: the f32 places are among them), from
    the reference's JVP program evaluated in the mpmath domain at two precisions; raised up
    to 320 digits until they agree. A pure function of its arguments: remembered in the
    process and stored in the truth cache (spec 7.8)."""
    arity = 1 if primitive in AXIS_PRIMITIVES else len(point)
    p = single_equation(primitive, arity, len(point), DType.f64, params)
    operands = operand_arrays(primitive, point, DType.f64)
    tangents = unit_tangents(operands)
    # The JVP program is built and typed once for every tangent and precision.
    typing = checked(jvp_program(p))
    n = len(p.outputs)
    previous = None
    for dps in TRUTH_DIGITS:
        d = MpDomain(dps)
        current = tuple(_flat(run_checked(typing, [*operands, *ts], d)[n:])
                        for _, ts in tangents)
        if previous is not None and all(
                _agree(a, b) for pa, pb in zip(previous, current)
                for ra, rb in zip(pa, pb) for a, b in zip(ra, rb)):
            return Truth(current)
        previous = current
    return Truth(previous, f"the mpmath partials at {TRUTH_DIGITS[-2]} and "  # type: ignore
                           f"{TRUTH_DIGITS[-1]} digits differ by more than 2^-80 relative")


# --------------------------------------------------------------------------------------------
# Measurement


class Verdict(enum.Enum):
    """How one partial at one hard place was judged."""

    WITHIN = "within"
    """The true partial is a normal number and the backend's is within the claim."""
    BEYOND = "beyond"
    """The true partial is a normal number and the backend's is not within the claim, or the
    truth is nan or ±inf (or rounds to ±inf) and the backend's is not of that class."""
    CLASS = "class"
    """The truth is nan or ±inf (or rounds to ±inf) and the backend gives that class."""
    NOT_NORMAL = "not normal"
    """The true partial is zero or subnormal in the dtype: the claim says nothing; the backend
    must only give a finite number (a nan or ±inf there is BEYOND)."""
    KINK = "kink"
    """The place is a kink (chapter 6): the partial is a convention, judged elsewhere."""
    UNRELIABLE = "unreliable"
    """The truth could not be established (two precisions disagree), or the partial is nan
    while another partial of the same result element is beyond the dtype's range (inf·0)."""


@dataclass(frozen=True)
class Partial:
    """One partial derivative at one hard place, as the backend computed it and judged."""

    primitive: str
    dtype: DType
    params: tuple[tuple[str, ParamValue], ...]
    point: tuple[float, ...]
    operand: tuple[int, tuple[int, ...]]
    """(operand position, element) of the unit tangent."""
    result: tuple[int, int]
    """(result position, flat element) of the partial."""
    got: float
    truth: object
    ulps: float
    """The error in ulps of the dtype at the truth (0 where not judged by the claim)."""
    allowed: float
    """The claim in ulps for this partial (``inf`` where no claim exists)."""
    verdict: Verdict

    def where(self) -> str:
        """The partial's place: primitive, operands (hex), parameters, which partial."""
        operands = ", ".join(v.hex() for v in self.point)
        return (f"{self.primitive}({operands}{params_text(dict(self.params))}) "
                f"∂y{self.result[0] + 1}[{self.result[1]}]/∂x{self.operand[0] + 1}"
                f"{list(self.operand[1])}")

    def describe(self) -> str:
        """The partial in words, with the exact operands (hex) to reproduce it."""
        where = ", ".join(v.hex() for v in self.point)
        ps = params_text(dict(self.params))
        error = (f"{self.ulps:.3g} ulp, claim {self.allowed:g}"
                 if self.verdict in (Verdict.WITHIN, Verdict.BEYOND) and self.ulps
                 else self.verdict.value)
        return (f"{self.primitive}({where}{ps}) {self.dtype.value}: ∂y{self.result[0] + 1}"
                f"[{self.result[1]}]/∂x{self.operand[0] + 1}{list(self.operand[1])} = "
                f"{self.got!r}, true {mpmath.nstr(self.truth, 17)} ({error})")


def ulp_at(value: object, dtype: DType) -> object:
    """The spacing of ``dtype`` at ``value`` rounded to ``dtype`` (spec 3.1, Accuracy)."""
    with np.errstate(over="ignore"):
        rounded = abs(dtype.numpy.type(float(value)))
    largest = np.finfo(dtype.numpy).max
    if not np.isfinite(rounded) or rounded == largest:  # spacing(max) would overflow
        return CTX.mpf(float(largest - np.nextafter(largest, dtype.numpy.type(0))))
    return CTX.mpf(float(np.spacing(rounded)))


def negative_zero(point: tuple[float, ...]) -> bool:
    """Whether an operand is -0: the mpmath truth is the value at +0 there (spec 3.0.1), so the
    sign of an infinite partial is a float64 fact the truth cannot confirm."""
    return any(v == 0 and math.copysign(1.0, v) < 0 for v in point)


def at_kink(primitive: str, point: tuple[float, ...]) -> bool:
    """Whether ``point`` is a kink of ``primitive`` (chapter 6): the partial there is the
    spec's convention, which the kink properties judge, not the accuracy claim."""
    values = [v for v in point if not np.isnan(v)]
    if primitive == "abs":
        return point[0] == 0
    if primitive in ("max", "min", "reduce_max", "reduce_min", "cummax", "sort"):
        return len(set(values)) < len(values)
    if primitive == "clamp":
        lo, x, hi = point
        return x in (lo, hi) or lo >= hi
    return False


def claim_terms(primitive: str, point: tuple[float, ...], result_element: int,
                reverse: bool) -> int:
    """The number of factors or terms that meet in one partial (``DerivativeClaim.per_term``):
    the elements of the scan up to the result element, or of the whole axis."""
    n = len(point) if primitive in AXIS_PRIMITIVES else 1
    if primitive in ("cumprod", "cumsum", "cummax"):
        return (n - result_element) if reverse else result_element + 1
    return n


def judge(primitive: str, dtype: DType, params: tuple[tuple[str, ParamValue], ...],
          point: tuple[float, ...], operand: tuple[int, tuple[int, ...]],
          result: tuple[int, int], got: object, truth: object, claim: DerivativeClaim | None,
          reliable: bool) -> Partial:
    """One partial judged against its truth (:class:`Verdict`)."""
    g = float(np.asarray(got, dtype=np.float64))
    allowed = math.inf if claim is None else claim.ulps_for(
        claim_terms(primitive, point, result[1], bool(dict(params).get("reverse", False))))

    def partial(ulps: float, verdict: Verdict) -> Partial:
        return Partial(primitive, dtype, params, point, operand, result, g, truth, ulps,
                       allowed, verdict)

    if at_kink(primitive, point):
        return partial(0.0, Verdict.KINK)
    if not reliable:
        return partial(0.0, Verdict.UNRELIABLE)
    t = CTX.mpf(truth)
    if not mpmath.isfinite(t) or abs(t) >= overflow_threshold(dtype):
        expected = value_class(t) if not mpmath.isfinite(t) else ("+inf" if t > 0 else "-inf")
        got_class = value_class(g)
        if expected != "nan" and negative_zero(point):  # mpmath has no -0: the sign of an
            got_class, expected = got_class.lstrip("+-"), expected.lstrip("+-")  # infinity
        return partial(0.0, Verdict.CLASS if got_class == expected else Verdict.BEYOND)
    if abs(t) < np.finfo(dtype.numpy).tiny:
        return partial(0.0, Verdict.NOT_NORMAL if math.isfinite(g) else Verdict.BEYOND)
    err = abs(CTX.mpf(g) - t) if math.isfinite(g) else CTX.inf
    ulps = float(err / ulp_at(t, dtype))
    return partial(ulps, Verdict.WITHIN if ulps <= allowed else Verdict.BEYOND)


def measure_place(backend: Backend, primitive: str, dtype: DType,
                  params: tuple[tuple[str, ParamValue], ...], point: tuple[float, ...]
                  ) -> list[Partial]:
    """Every partial of ``primitive`` at ``point`` computed by ``backend.jvp`` with unit
    tangents, judged against the mpmath truth and the record's claim."""
    claim = PRIMITIVES[primitive].derivative
    arity = 1 if primitive in AXIS_PRIMITIVES else len(point)
    p = single_equation(primitive, arity, len(point), dtype, params)
    operands = operand_arrays(primitive, point, dtype)
    if at_kink(primitive, point):  # judged elsewhere: no truth needed
        return [Partial(primitive, dtype, params, point, which, (0, 0), math.nan, math.nan,
                        0.0, math.inf, Verdict.KINK) for which, _ in unit_tangents(operands)]
    truth = true_partials(primitive, point, params)
    out = []
    for k, ((which, tangents), true_results) in enumerate(
            zip(unit_tangents(operands), truth.partials)):
        _, got = backend.jvp(p, operands, tangents)
        for r, (g, want) in enumerate(zip(_flat_floats(got), true_results)):
            for e, (ge, we) in enumerate(zip(g, want)):
                judged = judge(primitive, dtype, params, point, which, (r, e), ge, we, claim,
                               not truth.unreliable)
                out.append(overflow_elsewhere(judged, truth, k, dtype))
    return out


def overflow_elsewhere(p: Partial, truth: Truth, k: int, dtype: DType) -> Partial:
    """``p`` (the partial of unit tangent ``k``) as UNRELIABLE where it is nan while another
    partial of the same result element is beyond the dtype's range: with that operand's
    tangent zero, a rule computes ``inf·0 = nan`` (spec 7.3's pass rule leaves such elements
    unjudged too)."""
    if p.verdict is not Verdict.BEYOND or not math.isnan(p.got):
        return p
    r, e = p.result
    others = [t[r][e] for j, t in enumerate(truth.partials) if j != k]
    if not any(not mpmath.isfinite(t) or abs(CTX.mpf(t)) >= overflow_threshold(dtype)
               for t in others):
        return p
    return Partial(p.primitive, p.dtype, p.params, p.point, p.operand, p.result, p.got,
                   p.truth, 0.0, p.allowed, Verdict.UNRELIABLE)


def _flat_floats(values: Sequence[object]) -> list[np.ndarray]:
    return [np.asarray(v).reshape(-1) for v in values]


def measure(backend: Backend, primitive: str, dtype: DType | str,
            points: Sequence[tuple[float, ...]] | None = None) -> list[Partial]:
    """Every partial of ``primitive`` in ``dtype`` at ``points`` (default: its hard places),
    for each parameter set of :data:`MEASURED_PARAMS`."""
    d = DType(dtype) if isinstance(dtype, str) else dtype
    places = hard_places(primitive, d) if points is None else tuple(points)
    out = []
    for params in MEASURED_PARAMS.get(primitive, ({},)):
        key = tuple(sorted(params.items()))
        for point in places:
            out.extend(measure_place(backend, primitive, d, key, point))
    return out


# --------------------------------------------------------------------------------------------
# A dense deterministic grid beside the hard places (the tests and the spec's measured column)

GRID_MAGNITUDES = 32
"""Log-spaced magnitudes from the smallest subnormal to the largest finite number."""


def exact_geomspace(start: float, stop: float, count: int) -> np.ndarray:
    """``count`` points from ``start`` to ``stop`` in geometric progression, each the correctly
    rounded float64 of its exact value (mpmath at 40 digits). ``np.geomspace`` goes through
    ``np.power``, whose kernel NumPy picks by machine: its points, and so the worst cases
    measured at them, would differ from one machine to the next."""
    with CTX.workdps(40):
        lo, ratio = CTX.mpf(start), CTX.mpf(stop) / CTX.mpf(start)
        points = [lo * ratio ** (CTX.mpf(k) / (count - 1)) for k in range(count)]
        return np.array([start, *(float(v) for v in points[1:-1]), stop])


def _dense_line(dtype: DType) -> np.ndarray:
    """Magnitudes over the whole range, a fine line over [-40, 40] (the tails of tanh,
    logistic and erf, where 1 - y has lost every digit), a coarse one over [-800, 800]
    (the overflow and underflow thresholds of exp, cosh, logistic), and the neighbourhood
    of ±1 (the domain edges of asin, acos, atanh, acosh)."""
    info = np.finfo(dtype.numpy)
    magnitudes = exact_geomspace(float(info.smallest_subnormal), float(info.max),
                                 GRID_MAGNITUDES)
    near_one = 1 - exact_geomspace(float(info.eps) / 2, 0.5, 8)
    line = np.concatenate([
        magnitudes, -magnitudes, np.linspace(-40.3, 40.3, 81), np.linspace(-801, 801, 17),
        near_one, -near_one, 2 - near_one,
    ])
    with np.errstate(over="ignore"):
        values = line.astype(dtype.numpy)
    return values[np.isfinite(values)]


def kernel_fingerprint(primitives: Sequence[str]) -> str:
    """Eight hex digits that tell apart machines whose NumPy kernels give different bits for
    what the reference computes on the dense line (:func:`grid`): each primitive's value and
    JVP coefficient there, in f64 and f32, by one vectorized call each. NumPy picks its
    transcendental kernels by machine (spec 3.0.3), so the worst cases measured on the grid
    are a property of the machine as much as of the formulas: spec 3.1 states the
    fingerprint of the machine its measured column comes from."""
    digest = hashlib.sha256()
    lines = {dtype: _dense_line(dtype) for dtype in (DType.f64, DType.f32)}
    for name, (dtype, line) in itertools.product(primitives, lines.items()):
        t = f"{dtype.value}[{len(line)}]"
        for ps in MEASURED_PARAMS.get(name, ({},)):
            p = parse_program(f"def k(x: {t}) -> {t}:\n    y: {t} = {name}(x{params_text(ps)})\n"
                              f"    return y\n")
            with np.errstate(all="ignore"):
                ys, dys = jvp(p, [line], [np.ones_like(line)])
            for v in (*ys, *dys):
                digest.update(np.ascontiguousarray(v).tobytes())
    return digest.hexdigest()[:8]


PAIR_VALUES = (1e-300, 0.3, 1.0, 7.0, 1e300)
"""Magnitudes combined pairwise (with both signs) for operands of primitives of several
operands; f32 takes them rounded (1e±300 become 0 and inf: f32 replaces them by 1e±30)."""


def grid(primitive: str, dtype: DType | str) -> tuple[tuple[float, ...], ...]:
    """Deterministic points beside the hard places: a dense line for one-operand
    elementwise primitives, signed pairs of :data:`PAIR_VALUES` for two operands, triples
    ``(lo, x, hi)`` for ``clamp``, short rank-1 arrays for the axis primitives."""
    d = DType(dtype) if isinstance(dtype, str) else dtype
    values = [v if d is DType.f64 or abs(v) < 1e100 else math.copysign(1e30, v) * (
        1 if abs(v) > 1 else 1e-60) for v in PAIR_VALUES]
    signed = [s * v for v in values for s in (1.0, -1.0)]
    prim = PRIMITIVES[primitive]
    if primitive in AXIS_PRIMITIVES:
        rows = [tuple(signed[(3 * i + 5 * k) % len(signed)] for k in range(2 + i % 3))
                for i in range(24)]
        points: list[tuple[float, ...]] = rows
    elif prim.arity.min == 1:
        points = [(float(v),) for v in _dense_line(d)]
    elif prim.arity.min == 3:
        points = [(min(a, b), x, max(a, b)) for a in signed[::4] for b in signed[1::4]
                  for x in signed[::2]]
    else:
        points = [(a, b) for a in signed for b in signed]
    seen: dict[tuple[str, ...], tuple[float, ...]] = {}
    for p in points:
        rounded = _in_dtype(p, d)
        seen.setdefault(tuple(v.hex() for v in rounded), rounded)
    return tuple(seen.values())


def worst(partials: Sequence[Partial]) -> Partial | None:
    """The partial with the largest error among those the claim judges."""
    judged = [p for p in partials if p.verdict in (Verdict.WITHIN, Verdict.BEYOND)]
    return max(judged, key=lambda p: p.ulps, default=None)


# --------------------------------------------------------------------------------------------
# The property (spec 7.4): derivative accuracy at the focus primitive's hard places

PLACES_PER_CASE = 6
"""Hard places measured per case: a rotating window keyed by the case, so that a profile's
cases around one primitive cover all of its places (the truth is cached per place)."""


def places_for(case: Case, places: Sequence[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The window of ``places`` this case measures: its start comes from a checksum of the
    case's program and inputs (stable across runs and processes)."""
    if len(places) <= PLACES_PER_CASE:
        return list(places)
    key = zlib.crc32((str(case.program) + "".join(
        np.asarray(a).tobytes().hex() for a in case.primals)).encode())
    return [places[(key + i) % len(places)] for i in range(PLACES_PER_CASE)]


def derivative_accuracy(backend: Backend, case: Case) -> CheckResult:
    """The partials of the case's first equation's primitive, at hard places of that
    primitive (:func:`hard_places`) in the equation's dtype, are within the primitive's
    derivative claim (spec 3.1-3.8, column d-ulp) of the exact partials wherever those are
    normal numbers; nan and ±inf where the truth is; finite where it is zero or subnormal.
    Kinks (chapter 6), places whose truth two precisions do not confirm, and nan partials
    next to another partial beyond the dtype's range (inf·0 with a zero tangent, unjudged by
    spec 7.3 too) are counted as unreliable."""
    from lintra.conformance.properties import Tally, _calls

    name = "derivative_accuracy"
    if not case.program.equations:
        return case.result(name, Status.SKIP, "the program has no equation")
    eq = case.program.equations[0]
    prim = PRIMITIVES.get(eq.primitive)
    if prim is None or prim.derivative is None:
        return case.result(name, Status.SKIP, f"{eq.primitive} states no derivative claim")
    typing = check(case.program).equations[0]
    floats = [t.array.dtype for t in typing.outputs if t.array.dtype.is_float]
    if not floats:
        return case.result(name, Status.SKIP, f"{eq.primitive} has no float result here")
    dtype = floats[0]
    if eq.primitive not in backend.capabilities.primitives:
        return case.result(name, Status.SKIP, f"backend does not support primitive "
                                               f"{eq.primitive}")
    if dtype not in backend.capabilities.dtypes:
        return case.result(name, Status.SKIP, f"backend does not support dtype {dtype.value}")
    if eq.primitive in MEASURED_PARAMS and eq.primitive != "integer_pow":
        parameter_sets = MEASURED_PARAMS[eq.primitive]
    else:
        parameter_sets = (dict(typing.params),)
    places = places_for(case, hard_places(eq.primitive, dtype))
    if not places:
        return case.result(name, Status.SKIP, f"{eq.primitive} has no hard places")

    def body() -> CheckResult:
        tally = Tally()
        for params in parameter_sets:
            key = tuple(sorted(params.items()))
            for point in places:
                for p in measure_place(backend, eq.primitive, dtype, key, point):
                    if p.verdict in (Verdict.KINK, Verdict.UNRELIABLE):
                        tally.unreliable += 1
                        continue
                    tally.compared += 1
                    if p.verdict in (Verdict.WITHIN, Verdict.BEYOND):
                        tally.worst_ulps = max(tally.worst_ulps, p.ulps)
                        tally.worst = max(tally.worst, p.ulps / p.allowed if p.allowed
                                          else (0.0 if p.ulps == 0 else math.inf))
                    if p.verdict is Verdict.BEYOND:
                        tally.fail(f"beyond the derivative claim: {p.describe()}",
                                   element=p.where(), got=p.got,
                                   expected=mpmath.nstr(p.truth, 17))
        return tally.outcome(case, name, "every place a kink or unconfirmed")

    return _calls(case, name, body)
