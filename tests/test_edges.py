"""Forward and reverse mode at the edges (spec 5.4 item 5, chapter 6 sections 6.1 to 6.3).

The examples are the ones the spec discusses, each run in both modes and in both number
domains, with the expected entries written by hand from the spec's text (IEEE arithmetic on
the coefficients the rules compute). The generated check draws small programs of primitives
with infinite or undefined derivatives at points on their edges and checks the rule of 5.4
item 5: where every coefficient of the linear program is finite, every entry of both
Jacobians is a number, and where both modes give a number, they agree within the rounding
bound of 5.4 item 3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintra.reference import (
    LinearFunction,
    Var,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    parse_program,
    transpose,
)
from tests.test_ad_properties import rounding_bound

INF = math.inf
NAN = math.nan
MP_DPS = 30
DOMAINS = [pytest.param(None, id="f64"), pytest.param(MP_DPS, id=f"mp{MP_DPS}")]


def program(params: str, *body: str) -> str:
    """``def f(params) -> f64[]:`` with ``body``, returning what its last line binds."""
    out = body[-1].split("=")[0].strip()
    return "\n".join([f"def f({params}) -> f64[]:", *(f"    {b}" for b in body),
                      f"    return {out}"]) + "\n"


def entries(jac: object) -> list[float]:
    """A Jacobian of scalar results as a flat list of floats (mpmath numbers converted)."""
    parts = jac if isinstance(jac, tuple) else (jac,)
    return [float(v) for part in parts for v in np.asarray(part, dtype=object).reshape(-1)]


def assert_entries(got: Sequence[float], want: Sequence[float], what: str) -> None:
    """Exact equality entry by entry; nan matches only nan."""
    assert len(got) == len(want), (what, got, want)
    for g, w in zip(got, want):
        assert (math.isnan(g) and math.isnan(w)) or g == w, (what, got, want)


@pytest.mark.parametrize("dps", DOMAINS)
def test_empty_reduction_has_zero_tangent(dps: int | None) -> None:
    """reduce_max over an empty axis is −inf whatever x is: its tangent is zero (spec 3.7),
    not the 0/0 of a mean over no elements, so max(m, w) has ∂w = 1 in both modes."""
    p = parse_program(program("x: f64[0], w: f64[]", "m = reduce_max(x, axes=(0,))",
                              "z = max(m, w)"))
    x = np.zeros(0)
    assert_entries(entries(jacfwd(p, x, 1.0, argnums=1, dps=dps)), [1.0], "jacfwd")
    assert_entries(entries(jacrev(p, x, 1.0, argnums=1, dps=dps)), [1.0], "jacrev")
    q = parse_program("def f(x: f64[2, 0]) -> f64[2]:\n"
                      "    m = reduce_min(x, axes=(1,))\n    return m\n")
    values, tangents = jvp(q, [np.zeros((2, 0))], [np.zeros((2, 0))], dps=dps)
    assert_entries([float(v) for v in values[0]], [INF, INF], "primal")
    assert_entries([float(v) for v in tangents[0]], [0.0, 0.0], "tangent")


@pytest.mark.parametrize("dps", DOMAINS)
def test_nan_coefficient_meets_a_zero_tangent(dps: int | None) -> None:
    """pow at x = −2, y = 2: ∂x = 2·(−2) = −4, ∂y = log(−2)·4 = nan (chapter 6). Forward
    mode multiplies the nan by y's zero tangent in x's column: (nan, nan); reverse mode
    multiplies each coefficient by the cotangent 1: (−4, nan). With y a literal its tangent
    is a symbolic zero and no product is formed: −4 forward too."""
    p = parse_program(program("x: f64[], y: f64[]", "z = pow(x, y)"))
    assert_entries(entries(jacfwd(p, -2.0, 2.0, argnums=(0, 1), dps=dps)), [NAN, NAN],
                   "jacfwd")
    assert_entries(entries(jacrev(p, -2.0, 2.0, argnums=(0, 1), dps=dps)), [-4.0, NAN],
                   "jacrev")
    q = parse_program(program("x: f64[]", "z = pow(x, 2.0)"))
    assert_entries(entries(jacfwd(q, -2.0, dps=dps)), [-4.0], "jacfwd, literal y")


@pytest.mark.parametrize("dps", DOMAINS)
def test_infinite_coefficient_meets_a_zero_tangent(dps: int | None) -> None:
    """sqrt(x) + y at x = 0: sqrt's coefficient is +inf (chapter 6). Forward: x's column is
    inf·1 + 0 = inf, y's column inf·0 + 1 = nan. Reverse: the cotangent 1 meets inf (∂x =
    inf) and reaches y through add alone (∂y = 1)."""
    p = parse_program(program("x: f64[], y: f64[]", "s = sqrt(x)", "z = add(s, y)"))
    assert_entries(entries(jacfwd(p, 0.0, 3.0, argnums=(0, 1), dps=dps)), [INF, NAN],
                   "jacfwd")
    assert_entries(entries(jacrev(p, 0.0, 3.0, argnums=(0, 1), dps=dps)), [INF, 1.0],
                   "jacrev")


@pytest.mark.parametrize("dps", DOMAINS)
def test_infinite_coefficient_on_the_path(dps: int | None) -> None:
    """A non-finite coefficient on a path from input j to output k makes entry (k, j)
    non-finite in both modes: sqrt(x)·y at x = 0, y = 3 has ∂x = inf·3 = inf both ways. In
    y's column forward mode still meets the inf with x's zero tangent (nan), while reverse
    mode reaches y through mul's coefficient sqrt(0) = 0 alone."""
    p = parse_program(program("x: f64[], y: f64[]", "s = sqrt(x)", "z = mul(s, y)"))
    fwd = entries(jacfwd(p, 0.0, 3.0, argnums=(0, 1), dps=dps))
    rev = entries(jacrev(p, 0.0, 3.0, argnums=(0, 1), dps=dps))
    assert fwd[0] == rev[0] == INF
    assert math.isnan(fwd[1])
    assert rev[1] == 0.0


@pytest.mark.parametrize("dps", DOMAINS)
def test_outside_the_domain_forward_keeps_numbers(dps: int | None) -> None:
    """log at x = −2 is nan (outside its domain, chapter 6.3): its coefficient is no part of
    the spec. A result element that is a number never sees it in forward mode (select_n drops
    the tangent of the case it does not choose), but reverse mode sends the zero cotangent
    of that case through the coefficient (6.1): what the coefficient is decides the entry."""
    p = parse_program(program("x: f64[]", "b = lt(x, 0.0)", "g = log(x)", "n = neg(x)",
                              "z = select_n(b, g, n)"))
    _, (dz,) = jvp(p, (-2.0,), (1.0,), dps=dps)
    assert float(dz) == -1.0
    # The reference's coefficient is its formula's value 1/x = −0.5, finite: 0·(−0.5) = 0.
    assert entries(jacrev(p, -2.0, dps=dps)) == [-1.0]


# --------------------------------------------------------------------------------------------
# Generated check of spec 5.4 item 5

EDGE_OPERATIONS = (
    "sqrt({a})", "log({a})", "rsqrt({a})", "pow({a}, {b})", "div({a}, {b})",
    "atan2({a}, {b})", "max({a}, {b})", "mul({a}, {b})", "add({a}, {b})", "acosh({a})",
    "cbrt({a})", "integer_pow({a}, y=-1)", "abs({a})",
)
EDGE_POINTS = (0.0, -0.0, 1.0, -1.0, -2.0, 0.5, 2.0)


@st.composite
def edge_programs(draw: st.DrawFn) -> tuple[str, tuple[float, ...]]:
    """Three scalar inputs, two to five equations of primitives with edges, two results
    (the last two variables), and a point whose coordinates sit on those edges."""
    names = ["x", "y", "w"]
    body = []
    for k in range(draw(st.integers(2, 5))):
        op = draw(st.sampled_from(EDGE_OPERATIONS))
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        names.append(f"v{k}")
        body.append(f"v{k} = {op.format(a=a, b=b)}")
    results = names[-2:]
    source = ("def f(x: f64[], y: f64[], w: f64[]) -> (f64[], f64[]):\n"
              + "".join(f"    {line}\n" for line in body)
              + f"    return {', '.join(results)}\n")
    point = tuple(draw(st.sampled_from(EDGE_POINTS)) for _ in range(3))
    return source, point


def is_number(v: object) -> bool:
    """Whether a scalar (a float, an mpmath number, or a rank-0 array of either) is finite."""
    return bool(mpmath.isfinite(np.asarray(v, dtype=object).reshape(-1)[0]))


def coefficients(lin: LinearFunction) -> list[object]:
    """The factors by which the linear program scales (co)tangents (spec 5.4 item 5): each
    non-linear float operand of an equation, its reciprocal where it is a divisor. With the
    default policy the linear program's non-linear operands are residuals or literals."""
    values = {b.name: r for b, r in zip(lin.program.inputs, lin.residuals)}
    out: list[object] = []
    for e in lin.program.equations:
        for position, a in enumerate(e.inputs):
            if isinstance(a, Var) and a.name in values:
                v = np.asarray(values[a.name], dtype=object).reshape(-1)
                if e.primitive == "div" and position == 1:
                    v = np.array([1 / mpmath.mpf(x) if x != 0 else mpmath.inf for x in v])
                if np.asarray(values[a.name]).dtype.kind in "fO":
                    out.extend(v)
    return out


@settings(max_examples=60, deadline=None)
@given(edge_programs())
def test_forward_and_reverse_agree_where_both_are_numbers(case: tuple) -> None:
    """Spec 5.4 item 5, in the mpmath domain (no overflow, so only the coefficients can be
    non-finite): (a) where both modes give a number, they agree within the sum of the two
    rounding bounds; (b) where every coefficient is finite, every entry is a number in
    both modes."""
    source, point = case
    p = parse_program(source)
    _, lin = linearize(p, *point, dps=MP_DPS)
    lin_t = transpose(lin)
    coefficients_finite = all(is_number(c) for c in coefficients(lin))
    for j in range(3):
        seed = [np.float64(1.0 if m == j else 0.0) for m in range(3)]
        forward = lin(*seed)
        forward_bound = rounding_bound(lin, *seed)
        for k in range(2):
            cotangent = [np.float64(1.0 if m == k else 0.0) for m in range(2)]
            reverse = lin_t(*cotangent)[j]
            reverse_bound = rounding_bound(lin_t, *cotangent)[j]
            a, b = np.asarray(forward[k], dtype=object).item(), np.asarray(
                reverse, dtype=object).item()
            if coefficients_finite:
                assert is_number(a) and is_number(b), (source, point, j, k, a, b)
            if is_number(a) and is_number(b):
                allowed = forward_bound[k] + reverse_bound
                assert abs(a - b) <= allowed, (source, point, j, k, a, b)
