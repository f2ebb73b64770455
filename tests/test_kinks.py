"""Chapter 6 exactly: the derivative assigned at every kink, jump, tie and infinite slope.

One record per checked point of the table in ``spec/6-kinks.md``: the smallest program using
the primitive, a point on the kink, dyadic tangents (so ``dx/2 + dy/2`` and the like are
exact) and the expected tangent and cotangents, written here by hand from the table's text,
never computed by the code under test. Each record runs

* forward (``jvp``) and reverse (``vjp``: the pullback of the given result cotangents, the
  transposed value; for a scalar function with cotangent 1 it is the gradient),
* in float64 (``dps=None``) and, where the row makes sense there, in the mpmath domain
  (``dps=50``; mpmath has no signed zero, so the records about ``-0`` are float64 only),

and compares with exact equality (``nan`` matches only ``nan``; no tolerance anywhere). The
last tests parse the table and require a record for every primitive it names
(and as many distinct points as the primitive has rows), so a row added to the spec without
a record here fails.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lintra.reference import jvp, jvp_program, parse_program, vjp

Value = float | bool | int | np.ndarray

SPEC = Path(__file__).resolve().parent.parent / "spec" / "6-kinks.md"
MP_DPS = 50
INF = math.inf
NAN = math.nan


@dataclass(frozen=True)
class Kink:
    """One checked point of one row of the chapter-6 table.

    ``primitive`` is the name in the table's first column (a plain-word group such as
    ``integer arithmetic`` where the table names no primitive); ``point`` names the row of
    that primitive (pow and integer_pow have several rows); ``label`` says what this record
    checks. Tangents and cotangents are given for the float parameters and results only.
    """

    primitive: str
    point: str
    label: str
    source: str
    primals: tuple[Value, ...]
    tangents: tuple[Value, ...]
    expected_tangents: tuple[Value, ...]
    cotangents: tuple[Value, ...]
    expected_cotangents: tuple[Value, ...]
    mp: bool = True

    @property
    def id(self) -> str:
        return f"{self.primitive}[{self.point}]-{self.label}"


def program(params: str, result: str, *body: str) -> str:
    """``def f(params) -> result:`` with ``body``, returning what its last line binds."""
    outs = body[-1].split("=")[0].strip()
    lines = [f"def f({params}) -> {result}:", *(f"    {b}" for b in body), f"    return {outs}"]
    return "\n".join(lines) + "\n"


def arr(*xs: object) -> np.ndarray:
    """A float64 array of the given (nested) values."""
    return np.array(xs, dtype=np.float64)


def scalar(primitive: str, point: str, label: str, params: str, call: str,
           primals: Sequence[Value], tangents: Sequence[Value], expected: Value,
           gradient: Sequence[Value], *, mp: bool = True) -> Kink:
    """A one-equation program with a scalar f64 result; reverse mode with cotangent 1, so
    ``gradient`` is the table's derivative with respect to each float parameter."""
    return Kink(primitive, point, label, program(params, "f64[]", f"z = {call}"),
                tuple(primals), tuple(tangents), (expected,), (1.0,), tuple(gradient),
                mp=mp)


def unary(primitive: str, point: str, label: str, call: str, x: float, dx: float,
          dy: float, coefficient: float, *, mp: bool = True) -> Kink:
    """``z = call`` of one f64 parameter ``x``: dy is the tangent, coefficient the gradient."""
    return scalar(primitive, point, label, "x: f64[]", call, (x,), (dx,), dy, (coefficient,),
                  mp=mp)


XY = "x: f64[], y: f64[]"
CLAMP = "lo: f64[], x: f64[], hi: f64[]"
TO_F64 = 'convert_element_type({}, new_dtype="f64")'

RECORDS: list[Kink] = [
    # abs: dy = sign(x)·dx, 0 at ±0.
    unary("abs", "x=0", "+0", "abs(x)", 0.0, 1.0, 0.0, 0.0),
    unary("abs", "x=0", "-0", "abs(x)", -0.0, -2.0, 0.0, 0.0, mp=False),
    # sign, floor, ceil, round: 0 everywhere, including the jumps.
    unary("sign", "everywhere", "at+0", "sign(x)", 0.0, 1.0, 0.0, 0.0),
    unary("sign", "everywhere", "at-0", "sign(x)", -0.0, 1.0, 0.0, 0.0, mp=False),
    unary("sign", "everywhere", "at-1.5", "sign(x)", -1.5, 0.5, 0.0, 0.0),
    unary("floor", "everywhere", "jump-at-1", "floor(x)", 1.0, 1.0, 0.0, 0.0),
    unary("floor", "everywhere", "at-0.5", "floor(x)", -0.5, -2.0, 0.0, 0.0),
    unary("ceil", "everywhere", "jump-at-1", "ceil(x)", 1.0, 1.0, 0.0, 0.0),
    unary("ceil", "everywhere", "at-0.25", "ceil(x)", 0.25, 0.5, 0.0, 0.0),
    unary("round", "everywhere", "jump-at-0.5", "round(x)", 0.5, 1.0, 0.0, 0.0),
    unary("round", "everywhere", "jump-at--2.5", "round(x)", -2.5, -2.0, 0.0, 0.0),
    # max, min at x = y: dx/2 + dy/2.
    scalar("max", "x=y", "tie", XY, "max(x, y)", (1.0, 1.0), (1.0, 0.5), 0.75, (0.5, 0.5)),
    scalar("max", "x=y", "tie-negative", XY, "max(x, y)", (-2.5, -2.5), (-2.0, 4.0), 1.0,
           (0.5, 0.5)),
    scalar("max", "x=y", "tie-signed-zeros", XY, "max(x, y)", (-0.0, 0.0), (1.0, 0.5), 0.75,
           (0.5, 0.5), mp=False),
    unary("max", "x=y", "same-operand", "max(x, x)", 3.0, -2.0, -2.0, 1.0),
    scalar("max", "x=y", "no-tie", XY, "max(x, y)", (2.0, 1.0), (1.0, 0.5), 1.0, (1.0, 0.0)),
    scalar("min", "x=y", "tie", XY, "min(x, y)", (-1.5, -1.5), (1.0, -2.0), -0.5, (0.5, 0.5)),
    scalar("min", "x=y", "tie-signed-zeros", XY, "min(x, y)", (0.0, -0.0), (1.0, 0.5), 0.75,
           (0.5, 0.5), mp=False),
    unary("min", "x=y", "same-operand", "min(x, x)", 3.0, 0.5, 0.5, 1.0),
    scalar("min", "x=y", "no-tie", XY, "min(x, y)", (2.0, 1.0), (1.0, 0.5), 0.5, (0.0, 1.0)),
    # clamp(lo, x, hi): the derivative of min(max(x, lo), hi) with the tie rule.
    scalar("clamp", "x=lo or x=hi", "x=lo<hi", CLAMP, "clamp(lo, x, hi)", (0.0, 0.0, 1.0),
           (0.5, 1.0, -2.0), 0.75, (0.5, 0.5, 0.0)),  # dx/2 + dlo/2
    scalar("clamp", "x=lo or x=hi", "lo<x=hi", CLAMP, "clamp(lo, x, hi)", (-1.0, 1.0, 1.0),
           (0.5, 1.0, -2.0), -0.5, (0.0, 0.5, 0.5)),  # dx/2 + dhi/2
    scalar("clamp", "x=lo or x=hi", "lo=x=hi", CLAMP, "clamp(lo, x, hi)", (2.0, 2.0, 2.0),
           (0.5, 1.0, -2.0), -0.625, (0.25, 0.25, 0.5)),  # (dx/2 + dlo/2)/2 + dhi/2
    # reduce_max, reduce_min: the mean of the tangents of the tied extremes.
    Kink("reduce_max", "ties", "two-of-four",
         program("x: f64[4]", "f64[]", "z = reduce_max(x, axes=(0,))"),
         (arr(1, 3, 3, 2),), (arr(1, 0.5, -2, 4),), (-0.75,),
         (1.0,), (arr(0, 0.5, 0.5, 0),)),
    Kink("reduce_max", "ties", "all-four",
         program("x: f64[4]", "f64[]", "z = reduce_max(x, axes=(0,))"),
         (arr(5, 5, 5, 5),), (arr(1, 2, 3, -2),), (1.0,),
         (1.0,), (arr(0.25, 0.25, 0.25, 0.25),)),
    Kink("reduce_max", "ties", "rows-axis-1",
         program("x: f64[2, 3]", "f64[2]", "z = reduce_max(x, axes=(1,))"),
         (arr([1, 1, 0], [4, 2, 4]),), (arr([1, 0.5, 8], [-2, 16, 4]),), (arr(0.75, 1.0),),
         (arr(1, -2),), (arr([0.5, 0.5, 0], [-1, 0, -1]),)),
    Kink("reduce_max", "ties", "signed-zeros",
         program("x: f64[3]", "f64[]", "z = reduce_max(x, axes=(0,))"),
         (arr(-0.0, 0.0, -1),), (arr(1, 0.5, 4),), (0.75,),
         (1.0,), (arr(0.5, 0.5, 0),), mp=False),
    Kink("reduce_min", "ties", "two-of-four",
         program("x: f64[4]", "f64[]", "z = reduce_min(x, axes=(0,))"),
         (arr(2, -1, 0, -1),), (arr(1, 0.5, 4, -2),), (-0.75,),
         (1.0,), (arr(0, 0.5, 0, 0.5),)),
    Kink("reduce_min", "ties", "both-axes",
         program("x: f64[2, 2]", "f64[]", "z = reduce_min(x, axes=(0, 1))"),
         (arr([0, 1], [1, 0]),), (arr([1, 2], [3, -2]),), (-0.5,),
         (1.0,), (arr([0.5, 0], [0, 0.5]),)),
    # reduce_max, reduce_min over an empty axis: ±inf whatever x is, tangent zero (not the
    # 0/0 of a mean over no elements); max(m, w) then has ∂w = 1 in both modes.
    Kink("reduce_max", "empty", "then-max",
         program("x: f64[0], w: f64[]", "f64[]", "m = reduce_max(x, axes=(0,))",
                 "z = max(m, w)"),
         (np.zeros(0), 2.0), (np.zeros(0), 0.5), (0.5,), (1.0,), (np.zeros(0), 1.0)),
    Kink("reduce_min", "empty", "rows-of-nothing",
         program("x: f64[2, 0]", "f64[2]", "z = reduce_min(x, axes=(1,))"),
         (np.zeros((2, 0)),), (np.zeros((2, 0)),), (arr(0, 0),), (arr(1, -2),),
         (np.zeros((2, 0)),)),
    # cummax: at position i, the mean of the tangents of the tied running maxima j <= i.
    # y = (2, 2, 2, 3, 3): dy = (dx0, (dx0+dx1)/2, (dx0+dx1)/2, dx3, (dx3+dx4)/2).
    Kink("cummax", "ties in a prefix", "forward-scan",
         program("x: f64[5]", "f64[5]", "z = cummax(x, axis=0)"),
         (arr(2, 2, 1, 3, 3),), (arr(1, 0.5, 4, -2, 0.25),), (arr(1, 0.75, 0.75, -2, -0.875),),
         (arr(1, 0.5, -2, 4, 0.25),), (arr(0.25, -0.75, 0, 4.125, 0.125),)),
    # reverse: y_i = max over j >= i; y = (3, 3, 3): dy = ((dx0+dx2)/2, dx2, dx2).
    Kink("cummax", "ties in a prefix", "reverse-scan",
         program("x: f64[3]", "f64[3]", "z = cummax(x, axis=0, reverse=true)"),
         (arr(3, 1, 3),), (arr(1, 0.5, -2),), (arr(-0.5, -2, -2),),
         (arr(1, 0.5, 4),), (arr(0.5, 0, 5),)),
    # argmax, argmin: integer results, no tangent at all; through a conversion, zero.
    Kink("argmax", "everywhere", "tie-no-tangent",
         program("x: f64[3]", "i64[]", "i = argmax(x, axis=0)"),
         (arr(3, 3, 1),), (arr(1, 0.5, -2),), (), (), (arr(0, 0, 0),)),
    Kink("argmax", "everywhere", "tie-as-float",
         program("x: f64[3]", "f64[]", "i = argmax(x, axis=0)", f"z = {TO_F64.format('i')}"),
         (arr(3, 3, 1),), (arr(1, 0.5, -2),), (0.0,), (1.0,), (arr(0, 0, 0),)),
    Kink("argmin", "everywhere", "tie-no-tangent",
         program("x: f64[3]", "i64[]", "i = argmin(x, axis=0)"),
         (arr(1, 3, 1),), (arr(1, 0.5, -2),), (), (), (arr(0, 0, 0),)),
    Kink("argmin", "everywhere", "tie-as-float",
         program("x: f64[3]", "f64[]", "i = argmin(x, axis=0)", f"z = {TO_F64.format('i')}"),
         (arr(1, 3, 1),), (arr(1, 0.5, -2),), (0.0,), (1.0,), (arr(0, 0, 0),)),
    # sort: ties keep input order; each output takes the tangent of the element put there.
    # (2, 1, 2, 1) sorts as x1, x3, x0, x2.
    Kink("sort", "equal keys", "ties",
         program("x: f64[4]", "f64[4]", "z = sort(x, dimension=0)"),
         (arr(2, 1, 2, 1),), (arr(1, 0.5, -2, 4),), (arr(0.5, 4, 1, -2),),
         (arr(1, 0.5, -2, 4),), (arr(-2, 1, 4, 0.5),)),
    # keys (1, 0, 1) sort as k1, k0, k2; the values follow.
    Kink("sort", "equal keys", "ties-with-values",
         program("k: f64[3], v: f64[3]", "(f64[3], f64[3])", "a, b = sort(k, v, dimension=0)"),
         (arr(1, 0, 1), arr(5, 6, 7)), (arr(1, 0.5, -2), arr(4, 0.25, 8)),
         (arr(0.5, 1, -2), arr(0.25, 4, 8)),
         (arr(1, 2, 4), arr(0.5, -1, 8)), (arr(2, 1, 4), arr(-1, 0.5, 8))),
    # +0 and -0 are equal keys: (0, -0, -1) sorts as x2, x0, x1.
    Kink("sort", "equal keys", "signed-zeros",
         program("x: f64[3]", "f64[3]", "z = sort(x, dimension=0)"),
         (arr(0.0, -0.0, -1),), (arr(1, 0.5, 4),), (arr(4, 1, 0.5),),
         (arr(1, 0.5, 4),), (arr(0.5, 4, 1),), mp=False),
    # sqrt: coefficient 0.5/sqrt(x) = +inf at +0, -inf at -0; dx = 0 gives nan.
    unary("sqrt", "x=0", "+0", "sqrt(x)", 0.0, 1.0, INF, INF),
    unary("sqrt", "x=0", "+0-negative-dx", "sqrt(x)", 0.0, -2.0, -INF, INF),
    unary("sqrt", "x=0", "+0-zero-dx", "sqrt(x)", 0.0, 0.0, NAN, INF),
    unary("sqrt", "x=0", "-0", "sqrt(x)", -0.0, 1.0, -INF, -INF, mp=False),
    unary("sqrt", "x=0", "-0-zero-dx", "sqrt(x)", -0.0, 0.0, NAN, -INF, mp=False),
    # cbrt: coefficient 1/(3 cbrt(x)²) = +inf at ±0.
    unary("cbrt", "x=0", "+0", "cbrt(x)", 0.0, 1.0, INF, INF),
    unary("cbrt", "x=0", "+0-negative-dx", "cbrt(x)", 0.0, -2.0, -INF, INF),
    unary("cbrt", "x=0", "+0-zero-dx", "cbrt(x)", 0.0, 0.0, NAN, INF),
    unary("cbrt", "x=0", "-0", "cbrt(x)", -0.0, 1.0, INF, INF, mp=False),
    # rsqrt: coefficient -0.5·rsqrt(x)/x = -inf at both zeros (at -0: -0.5·(-inf/-0)).
    unary("rsqrt", "x=0", "+0", "rsqrt(x)", 0.0, 1.0, -INF, -INF),
    unary("rsqrt", "x=0", "+0-negative-dx", "rsqrt(x)", 0.0, -2.0, INF, -INF),
    unary("rsqrt", "x=0", "-0", "rsqrt(x)", -0.0, 1.0, -INF, -INF, mp=False),
    # pow(x, y) at y = 0: ∂x = 0, also at x = 0 (where y·x^(y-1) is 0·inf).
    unary("pow", "y=0", "x=0", "pow(x, 0.0)", 0.0, 1.0, 0.0, 0.0),
    unary("pow", "y=0", "x=-0", "pow(x, 0.0)", -0.0, 1.0, 0.0, 0.0, mp=False),
    unary("pow", "y=0", "x=2.5", "pow(x, 0.0)", 2.5, -2.0, 0.0, 0.0),
    unary("pow", "y=0", "x=-2", "pow(x, 0.0)", -2.0, 0.5, 0.0, 0.0),
    # both guards at once: ∂x = 0 (y = 0) and ∂y = 0 (x = 0).
    scalar("pow", "y=0", "x=y=0", XY, "pow(x, y)", (0.0, 0.0), (1.0, 0.5), 0.0, (0.0, 0.0)),
    # pow(x, y) at x = 0: ∂y = 0 for every y (where log(x)·x^y is -inf·0, or -inf·inf).
    scalar("pow", "x=0", "y=2", "y: f64[]", "pow(0.0, y)", (2.0,), (1.0,), 0.0, (0.0,)),
    scalar("pow", "x=0", "y=0.5", "y: f64[]", "pow(0.0, y)", (0.5,), (-2.0,), 0.0, (0.0,)),
    scalar("pow", "x=0", "y=-1", "y: f64[]", "pow(0.0, y)", (-1.0,), (1.0,), 0.0, (0.0,)),
    scalar("pow", "x=0", "x=-0,y=2", "y: f64[]", "pow(-0.0, y)", (2.0,), (1.0,), 0.0, (0.0,),
           mp=False),
    # ∂x = y·x^(y-1) = 2·0 = 0 and ∂y = 0.
    scalar("pow", "x=0", "both-operands-y=2", XY, "pow(x, y)", (0.0, 2.0), (1.0, 0.5), 0.0,
           (0.0, 0.0)),
    # pow(x, y) at x < 0: ∂y = nan (also at integer y, where x^y is real).
    scalar("pow", "x<0", "y=2", "y: f64[]", "pow(-2.0, y)", (2.0,), (1.0,), NAN, (NAN,)),
    scalar("pow", "x<0", "y=0.5", "y: f64[]", "pow(-2.0, y)", (0.5,), (1.0,), NAN, (NAN,)),
    # ∂x = 3·(-2)² = 12 (finite), ∂y = nan: the tangent is nan.
    scalar("pow", "x<0", "both-operands-y=3", XY, "pow(x, y)", (-2.0, 3.0), (1.0, 0.5), NAN,
           (12.0, NAN)),
    # integer_pow(x, n), n < 0, at ±0: n·x^(n-1), an infinity.
    unary("integer_pow", "x=0,n<0", "n=-1,+0", "integer_pow(x, y=-1)", 0.0, 1.0, -INF, -INF),
    unary("integer_pow", "x=0,n<0", "n=-1,-0", "integer_pow(x, y=-1)", -0.0, 1.0, -INF, -INF,
          mp=False),  # -1·(-0)^-2 = -1·inf
    unary("integer_pow", "x=0,n<0", "n=-2,+0", "integer_pow(x, y=-2)", 0.0, 1.0, -INF, -INF),
    unary("integer_pow", "x=0,n<0", "n=-2,+0-negative-dx", "integer_pow(x, y=-2)", 0.0, -2.0,
          INF, -INF),
    unary("integer_pow", "x=0,n<0", "n=-2,-0", "integer_pow(x, y=-2)", -0.0, 1.0, INF, INF,
          mp=False),  # -2·(-0)^-3 = -2·(-inf)
    # integer_pow(x, 0): 0 everywhere.
    unary("integer_pow", "n=0", "x=0", "integer_pow(x, y=0)", 0.0, 1.0, 0.0, 0.0),
    unary("integer_pow", "n=0", "x=-0", "integer_pow(x, y=0)", -0.0, 1.0, 0.0, 0.0, mp=False),
    unary("integer_pow", "n=0", "x=-1.5", "integer_pow(x, y=0)", -1.5, 0.5, 0.0, 0.0),
    unary("integer_pow", "n=0", "x=inf", "integer_pow(x, y=0)", INF, 1.0, 0.0, 0.0),
    # rem(x, y) at x/y an integer: ∂x = 1, ∂y = -trunc(x/y).
    scalar("rem", "x/y integer", "6/2", XY, "rem(x, y)", (6.0, 2.0), (1.0, 0.5), -0.5,
           (1.0, -3.0)),
    scalar("rem", "x/y integer", "-6/2", XY, "rem(x, y)", (-6.0, 2.0), (1.0, 0.5), 2.5,
           (1.0, 3.0)),
    scalar("rem", "x/y integer", "6/-2", XY, "rem(x, y)", (6.0, -2.0), (1.0, 0.5), 2.5,
           (1.0, 3.0)),
    scalar("rem", "x/y integer", "7.5/2.5", XY, "rem(x, y)", (7.5, 2.5), (-2.0, 4.0), -14.0,
           (1.0, -3.0)),
    scalar("rem", "x/y integer", "0/2", XY, "rem(x, y)", (0.0, 2.0), (1.0, 0.5), 1.0,
           (1.0, 0.0)),
    # atan2(y, x) at x = y = 0: nan coefficients (0/0).
    scalar("atan2", "x=y=0", "both", XY, "atan2(y, x)", (0.0, 0.0), (1.0, 0.5), NAN,
           (NAN, NAN)),
    scalar("atan2", "x=y=0", "y-only", "y: f64[]", "atan2(y, 0.0)", (0.0,), (1.0,), NAN,
           (NAN,)),
    scalar("atan2", "x=y=0", "x-only", "x: f64[]", "atan2(0.0, x)", (0.0,), (1.0,), NAN,
           (NAN,)),
    # log, log1p, atanh, acosh, asin, acos at the boundary: the formula's ±inf.
    unary("log", "boundary", "+0", "log(x)", 0.0, 1.0, INF, INF),  # dx/x
    unary("log", "boundary", "+0-negative-dx", "log(x)", 0.0, -2.0, -INF, INF),
    unary("log", "boundary", "-0", "log(x)", -0.0, 1.0, -INF, -INF, mp=False),
    unary("log1p", "boundary", "-1", "log1p(x)", -1.0, 1.0, INF, INF),  # dx/(1 + x)
    unary("atanh", "boundary", "1", "atanh(x)", 1.0, 1.0, INF, INF),  # 1/((1-x)(1+x))
    unary("atanh", "boundary", "-1", "atanh(x)", -1.0, -2.0, -INF, INF),
    unary("acosh", "boundary", "1", "acosh(x)", 1.0, 1.0, INF, INF),  # rsqrt((x-1)(x+1))
    unary("asin", "boundary", "1", "asin(x)", 1.0, 1.0, INF, INF),  # rsqrt((1-x)(1+x))
    unary("asin", "boundary", "-1", "asin(x)", -1.0, 0.5, INF, INF),
    unary("acos", "boundary", "1", "acos(x)", 1.0, 1.0, -INF, -INF),  # -rsqrt((1-x)(1+x))
    unary("acos", "boundary", "-1", "acos(x)", -1.0, -2.0, INF, -INF),
    # stop_gradient: 0 everywhere.
    unary("stop_gradient", "everywhere", "at-2", "stop_gradient(x)", 2.0, 1.0, 0.0, 0.0),
    unary("stop_gradient", "everywhere", "at-0", "stop_gradient(x)", 0.0, -2.0, 0.0, 0.0),
    Kink("stop_gradient", "everywhere", "beside-identity",
         program("x: f64[]", "f64[]", "s = stop_gradient(x)", "z = add(x, s)"),
         (1.5,), (0.5,), (0.5,), (1.0,), (1.0,)),
    # convert_element_type to an integer or bool dtype: no tangent; back to a float, zero.
    Kink("convert_element_type", "to int or bool", "to-i64-no-tangent",
         program("x: f64[]", "i64[]", 'i = convert_element_type(x, new_dtype="i64")'),
         (2.5,), (1.0,), (), (), (0.0,)),
    Kink("convert_element_type", "to int or bool", "to-bool-no-tangent",
         program("x: f64[]", "bool[]", 'b = convert_element_type(x, new_dtype="bool")'),
         (0.0,), (1.0,), (), (), (0.0,)),
    Kink("convert_element_type", "to int or bool", "i64-and-back",
         program("x: f64[]", "f64[]", 'i = convert_element_type(x, new_dtype="i64")',
                 f"z = {TO_F64.format('i')}"),
         (2.0,), (1.0,), (0.0,), (1.0,), (0.0,)),
    Kink("convert_element_type", "to int or bool", "bool-and-back",
         program("x: f64[]", "f64[]", 'b = convert_element_type(x, new_dtype="bool")',
                 f"z = {TO_F64.format('b')}"),
         (0.0,), (1.0,), (0.0,), (1.0,), (0.0,)),
    # comparisons, and, or, not, iota, integer arithmetic: no tangent.
    *(
        Kink(op, "everywhere", "tie-as-float",
             program(XY, "f64[]", f"b = {op}(x, y)", f"z = {TO_F64.format('b')}"),
             (1.0, 1.0), (1.0, 0.5), (0.0,), (1.0,), (0.0, 0.0))
        for op in ("eq", "ne", "lt", "le", "gt", "ge")
    ),
    Kink("eq", "everywhere", "bool-no-tangent", program(XY, "bool[]", "b = eq(x, y)"),
         (1.0, 1.0), (1.0, 0.5), (), (), (0.0, 0.0)),
    Kink("and", "everywhere", "as-float",
         program("x: f64[]", "f64[]", "a = ge(x, 0.0)", "b = le(x, 1.0)", "c = and(a, b)",
                 f"z = {TO_F64.format('c')}"),
         (0.0,), (1.0,), (0.0,), (1.0,), (0.0,)),
    Kink("or", "everywhere", "as-float",
         program("x: f64[]", "f64[]", "a = lt(x, 0.0)", "b = gt(x, 1.0)", "c = or(a, b)",
                 f"z = {TO_F64.format('c')}"),
         (1.0,), (1.0,), (0.0,), (1.0,), (0.0,)),
    Kink("not", "everywhere", "as-float",
         program("x: f64[]", "f64[]", "a = lt(x, 0.0)", "c = not(a)",
                 f"z = {TO_F64.format('c')}"),
         (0.0,), (1.0,), (0.0,), (1.0,), (0.0,)),
    # a float iota adds nothing to the tangent: dz = (dx, dx, dx).
    Kink("iota", "everywhere", "float-iota-plus-x",
         program("x: f64[]", "f64[3]", 'a = iota(dtype="f64", shape=(3,), dimension=0)',
                 "b = broadcast_in_dim(x, shape=(3,), broadcast_dimensions=())",
                 "z = add(a, b)"),
         (1.0,), (0.5,), (arr(0.5, 0.5, 0.5),), (arr(1, -2, 4),), (3.0,)),
    Kink("integer arithmetic", "everywhere", "i64-mul-add",
         program("x: f64[]", "f64[]", 'n = convert_element_type(x, new_dtype="i64")',
                 "m = mul(n, n)", "k = add(m, 3)", f"z = {TO_F64.format('k')}"),
         (2.5,), (1.0,), (0.0,), (1.0,), (0.0,)),
    # select_n: no derivative in the predicate; the chosen case's tangent.
    scalar("select_n", "everywhere", "bool-true", "p: bool[], x: f64[], y: f64[]",
           "select_n(p, x, y)", (True, 1.0, 2.0), (1.0, 0.5), 0.5, (0.0, 1.0)),
    scalar("select_n", "everywhere", "i64-three-cases", "p: i64[], x: f64[], y: f64[], w: f64[]",
           "select_n(p, x, y, w)", (np.int64(2), 1.0, 2.0, 3.0), (1.0, 0.5, -2.0), -2.0,
           (0.0, 0.0, 1.0)),
    # the predicate jumps at x = 0 (gt(0, 0) is false: case 0, -x, is chosen).
    Kink("select_n", "everywhere", "predicate-jump",
         program("x: f64[]", "f64[]", "b = gt(x, 0.0)", "n = neg(x)", "z = select_n(b, n, x)"),
         (0.0,), (1.0,), (-1.0,), (1.0,), (-1.0,)),
    # 6.1: the case not chosen, log at 0, has an infinite coefficient: forward is unaffected,
    # reverse gets 0·(1/0) = nan.
    Kink("select_n", "everywhere", "trap-6.1",
         program("x: f64[]", "f64[]", "b = eq(x, 0.0)", "g = log(x)", "z = select_n(b, g, x)"),
         (0.0,), (1.0,), (1.0,), (1.0,), (NAN,)),
    # 6.1's remedy: keep the case not chosen inside its domain.
    Kink("select_n", "everywhere", "trap-6.1-remedy",
         program("x: f64[]", "f64[]", "b = eq(x, 0.0)", "s = select_n(b, x, 1.0)",
                 "g = log(s)", "z = select_n(b, g, x)"),
         (0.0,), (1.0,), (1.0,), (1.0,), (1.0,)),
]


def cases() -> list[object]:
    """Every record in float64, and in the mpmath domain where it makes sense there."""
    out = []
    for r in RECORDS:
        out.append(pytest.param(r, None, id=f"{r.id}-f64"))
        if r.mp:
            out.append(pytest.param(r, MP_DPS, id=f"{r.id}-mp{MP_DPS}"))
    return out


CASES = cases()


def assert_exact(actual: Sequence[object], expected: Sequence[Value], dps: int | None,
                 what: str) -> None:
    """Exact equality, element by element; ``nan`` matches only ``nan``. The elements must
    come from the domain asked for: float64 arrays, or mpmath numbers at ``dps``."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} values, expected {len(expected)}"
    for k, (a, e) in enumerate(zip(actual, expected)):
        got = np.asarray(a)
        want = np.asarray(e, dtype=np.float64)
        assert got.shape == want.shape, f"{what} {k}: shape {got.shape}, expected {want.shape}"
        if dps is None:
            assert got.dtype == np.float64, f"{what} {k}: dtype {got.dtype}"
        for g, w in zip(got.reshape(-1), want.reshape(-1)):
            if dps is not None:
                assert hasattr(g, "_mpf_") and g.context.dps == dps, (
                    f"{what} {k}: {g!r} is not an mpmath number at {dps} digits")
            if math.isnan(w):
                assert g != g, f"{what} {k}: {got}, expected {want}"
            else:
                assert g == w, f"{what} {k}: {got}, expected {want}"


@pytest.mark.parametrize(("record", "dps"), CASES)
def test_jvp_at_kink(record: Kink, dps: int | None) -> None:
    """Forward mode gives the table's derivative in the direction of the tangents."""
    p = parse_program(record.source)
    _, tangents = jvp(p, record.primals, record.tangents, dps=dps)
    assert_exact(tangents, record.expected_tangents, dps, "tangent")


@pytest.mark.parametrize(("record", "dps"), CASES)
def test_vjp_at_kink(record: Kink, dps: int | None) -> None:
    """Reverse mode gives the transposed value: the pullback of the result cotangents."""
    p = parse_program(record.source)
    _, pullback = vjp(p, *record.primals, dps=dps)
    assert_exact(pullback(*record.cotangents), record.expected_cotangents, dps, "cotangent")


@pytest.mark.parametrize("record", [r for r in RECORDS if not r.expected_tangents],
                         ids=lambda r: r.id)
def test_integer_results_have_no_tangent(record: Kink) -> None:
    """An integer or bool result has no tangent result in the JVP program (J-Type)."""
    p = parse_program(record.source)
    jp = jvp_program(p)
    assert len(jp.result_types) == len(p.outputs)
    assert not any(t.linear for t in jp.result_types)


# --------------------------------------------------------------------------------------------
# Every row of the table has records


PLAIN_GROUPS = {"comparisons": ("eq", "ne", "lt", "le", "gt", "ge")}
"""Plain words of the first column that stand for several primitives."""


def table_rows() -> list[list[str]]:
    """The names each row of the chapter-6 table's first column gives, row by row."""
    lines = [line for line in SPEC.read_text(encoding="utf-8").splitlines()
             if line.startswith("|")]
    assert len(lines) > 2 and set(lines[1]) <= set("|-: "), "no table in 6-kinks.md"
    rows = []
    for line in lines[2:]:
        cell = line.split("|")[1]
        names = [re.match(r"\s*([A-Za-z_][A-Za-z_0-9]*)", code).group(1)  # type: ignore[union-attr]
                 for code in re.findall(r"`([^`]*)`", cell)]
        rest = re.sub(r"`[^`]*`", "", cell)
        for word in (w.strip() for w in rest.split(",")):
            if word:
                names.extend(PLAIN_GROUPS.get(word, (word,)))
        rows.append(names)
    return rows


def test_table_parses() -> None:
    rows = table_rows()
    assert len(rows) >= 24
    assert ["max", "min"] in rows
    assert ["floor", "ceil", "round"] in rows
    assert any("integer arithmetic" in row and "eq" in row and "iota" in row for row in rows)


def test_every_table_row_has_records() -> None:
    """Each name of the first column has records for as many distinct points as it has rows
    (pow has three rows, integer_pow two)."""
    rows_per_name = Counter(name for row in table_rows() for name in row)
    points: dict[str, set[str]] = {}
    for r in RECORDS:
        points.setdefault(r.primitive, set()).add(r.point)
    missing = {name: n for name, n in rows_per_name.items() if len(points.get(name, ())) < n}
    assert not missing, f"table rows without enough records (name: rows): {missing}"


def test_records_name_table_rows_and_use_their_primitive() -> None:
    """No record under a name the table does not have, and each record's program uses the
    primitive it is filed under."""
    names = {name for row in table_rows() for name in row}
    for r in RECORDS:
        assert r.primitive in names, r.id
        if r.primitive != "integer arithmetic":
            used = {e.primitive for e in parse_program(r.source).equations}
            assert r.primitive in used, r.id
