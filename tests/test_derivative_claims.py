"""Derivative accuracy claims (spec 3.1-3.8, column d-ulp): measured, not assumed.

Every record that states a :class:`DerivativeClaim` is measured at its hard places
(``lintra.conformance.stress``) and on a dense deterministic grid, in f64 and f32, against the
exact partials (mpmath, confirmed at two precisions). The worst cases written in spec 3.1 are
the measured ones; the truth itself is checked against mpmath's numerical differentiation of
mpmath's own functions; and the ``derivative_accuracy`` property passes on the reference and
fails on a backend that computes tanh' from y = tanh x.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.properties import Case
from lintra.conformance.results import Status
from lintra.conformance.stress import (
    HARD,
    Partial,
    Verdict,
    derivative_accuracy,
    grid,
    hard_places,
    kernel_fingerprint,
    measure,
    true_partials,
    worst,
)
from lintra.reference import PRIMITIVES, parse_program
from lintra.reference.syntax import DType

SPEC = Path(__file__).resolve().parent.parent / "spec"
REFERENCE = ReferenceBackend()
CLAIMED = sorted(name for name, prim in PRIMITIVES.items() if prim.derivative is not None)
UNARY_CLAIMED = [n for n in CLAIMED if PRIMITIVES[n].family == "unary"]
FLOATS = (DType.f64, DType.f32)


@functools.cache
def measured(name: str, dtype: DType) -> tuple[Partial, ...]:
    """The reference's partials of ``name`` at its hard places and on the grid (computed once
    per session: the claim test and the spec-table test share them)."""
    return tuple(measure(REFERENCE, name, dtype, hard_places(name, dtype) + grid(name, dtype)))


def beyond(partials: Sequence[Partial]) -> list[str]:
    return [p.describe() for p in partials if p.verdict is Verdict.BEYOND]


# --------------------------------------------------------------------------------------------
# The hard places


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.value)
@pytest.mark.parametrize("name", sorted(HARD))
def test_hard_places_are_operand_tuples_of_the_dtype(name: str, dtype: DType) -> None:
    places = hard_places(name, dtype)
    assert places, name
    arity = PRIMITIVES[name].arity
    for entry in places:
        assert all(isinstance(v, float) for v in entry)
        if name not in ("reduce_max", "reduce_min", "cumprod", "cummax", "sort"):
            assert arity.accepts(len(entry)), (name, entry)
        if dtype is DType.f32:
            assert all(np.isnan(v) or float(np.float32(v)) == v for v in entry), entry


def test_every_claimed_primitive_has_hard_places() -> None:
    assert not [n for n in CLAIMED if not hard_places(n, DType.f64)]


def test_hard_places_include_the_tails_that_motivate_the_claims() -> None:
    # tanh' and logistic' at the places where y has rounded to 1 (issue 12)
    assert (25.0,) in hard_places("tanh", "f64")
    assert (40.0,) in hard_places("logistic", "f64")
    assert hard_places("nonexistent", "f64") == ()
    assert hard_places("tanh", "i64") == ()


# --------------------------------------------------------------------------------------------
# The claims, measured


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.value)
@pytest.mark.parametrize("name", CLAIMED)
def test_claim_holds_at_hard_places_and_on_the_grid(name: str, dtype: DType) -> None:
    partials = measured(name, dtype)
    judged = [p for p in partials if p.verdict in (Verdict.WITHIN, Verdict.BEYOND)]
    assert judged, f"{name}: no partial is a normal number anywhere"
    assert not beyond(partials), "\n".join(beyond(partials)[:5])


@settings(max_examples=25, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_unary_claims_hold_anywhere(x: float) -> None:
    for name in UNARY_CLAIMED:
        for dtype in FLOATS:
            point = (float(np.float32(x)),) if dtype is DType.f32 else (x,)
            if not np.isfinite(point[0]):
                continue
            assert not beyond(measure(REFERENCE, name, dtype, [point])), name


def test_the_tails_of_issue_12() -> None:
    """tanh'(25) ≈ 7.7e-22 and logistic'(40) ≈ 4.2e-18, not 0 (mpmath computed here)."""
    ctx = mpmath.MPContext()
    ctx.dps = 40
    for name, x, true in (("tanh", 25.0, 1 / ctx.cosh(25) ** 2),
                          ("logistic", 40.0, ctx.exp(-40) / (1 + ctx.exp(-40)) ** 2)):
        [p] = measure(REFERENCE, name, DType.f64, [(x,)])
        assert p.got != 0 and abs(p.got - float(true)) <= 4 * np.spacing(float(true)), p


# --------------------------------------------------------------------------------------------
# The truth is the derivative (checked against mpmath's own functions, not lintra's rules)

MPMATH_FUNCTIONS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "asinh", "acosh": "acosh",
    "atanh": "atanh", "exp": "exp", "expm1": "expm1", "log": "log", "log1p": "log1p",
    "sqrt": "sqrt", "cbrt": "cbrt", "erf": "erf",
}


@pytest.mark.parametrize("name", sorted(MPMATH_FUNCTIONS))
def test_truth_is_mpmaths_derivative(name: str) -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 60
    fn = getattr(ctx, MPMATH_FUNCTIONS[name])
    for x in (0.375, 0.8125, 1.5, 3.25):
        if name == "acosh":
            x += 1
        if name in ("asin", "acos", "atanh") and x >= 1:
            continue
        truth = true_partials(name, (x,), ()).partials[0][0][0]
        numeric = ctx.diff(fn, ctx.mpf(x))
        assert abs(ctx.mpf(truth) - numeric) <= ctx.mpf(10) ** -40 * abs(numeric), (name, x)


# --------------------------------------------------------------------------------------------
# The spec's table states the claims and the measured worst cases

ROW = re.compile(r"^\| `(\w+)[^`]*` .*\| (\S+) \((\S+) / (\S+)\) \|$")


def spec_rows() -> dict[str, tuple[float, str, str]]:
    """primitive -> (claim, measured f64 text, measured f32 text) from spec 3.1's table."""
    out = {}
    for line in (SPEC / "3.1-unary.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            out[m.group(1)] = (float(m.group(2)), m.group(3), m.group(4))
    return out


def test_spec_table_has_a_claim_for_every_unary_record() -> None:
    rows = spec_rows()
    assert sorted(rows) == sorted(UNARY_CLAIMED)
    for name, (claim, _, _) in rows.items():
        assert PRIMITIVES[name].derivative.ulps == claim, name


def spec_fingerprint() -> str:
    """The kernel fingerprint of the machine spec 3.1's measured column comes from."""
    text = " ".join((SPEC / "3.1-unary.md").read_text(encoding="utf-8").split())
    m = re.search(r"kernel fingerprint `([0-9a-f]{8})`", text)
    assert m, "spec 3.1 names no kernel fingerprint"
    return m.group(1)


@pytest.mark.parametrize("name", UNARY_CLAIMED)
def test_spec_measured_worst_cases_are_the_measurement(name: str) -> None:
    """Everywhere: the measured worst case within the claim. On the machine the table was
    measured on (same kernel fingerprint): the column is that measurement, to its digits."""
    claim, *printed = spec_rows()[name]
    here = kernel_fingerprint(UNARY_CLAIMED)
    stale = []
    for dtype, text in zip(FLOATS, printed):
        w = worst(measured(name, dtype))
        ulps = 0.0 if w is None else w.ulps
        assert ulps <= claim, (name, dtype, ulps, claim)
        decimals = len(text.partition(".")[2])
        if abs(float(text) - ulps) > 0.5 * 10.0 ** -decimals + 1e-12:
            stale.append((dtype.value, text, round(ulps, decimals)))
    if here != spec_fingerprint():
        pytest.skip(f"NumPy's kernels here (fingerprint {here}) are not those spec 3.1's column "
                    f"was measured with ({spec_fingerprint()}): figures not compared")
    assert not stale, (name, stale)


# --------------------------------------------------------------------------------------------
# The property


class CancellingTanh(ReferenceBackend):
    """The reference, except that tanh' is (1 - y)(1 + y) from y = tanh x (the formula that
    loses every digit once y rounds to ±1)."""

    name = "cancelling-tanh"

    def jvp(self, program, primals, tangents):  # type: ignore[no-untyped-def]
        ys, dys = super().jvp(program, primals, tangents)
        if [e.primitive for e in program.equations] == ["tanh"]:
            y = np.asarray(ys[0])
            one = y.dtype.type(1)
            dys = (((one - y) * (one + y) * np.asarray(tangents[0])).astype(y.dtype),)
        return ys, dys


def tanh_case(dtype: str, x: float) -> Case:
    p = parse_program(f"def f(x: {dtype}[]) -> {dtype}[]:\n    y: {dtype}[] = tanh(x)\n"
                      "    return y\n")
    a = np.array(x, dtype=DType(dtype).numpy)
    return Case(p, (a,), (np.ones_like(a),), (np.ones_like(a),))


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_property_passes_on_the_reference_and_fails_on_cancellation(dtype: str) -> None:
    # the rotating window depends on the case: try enough cases that every place is seen
    cases = [tanh_case(dtype, x) for x in np.linspace(0.1, 3, 12)]
    good = [derivative_accuracy(REFERENCE, c) for c in cases]
    assert all(r.status is Status.PASS for r in good), [r.reason for r in good if r.reason]
    bad = [derivative_accuracy(CancellingTanh(), c) for c in cases]
    assert any(r.status is Status.FAIL for r in bad)
    assert all(r.status is not Status.FAIL or "tanh(" in r.reason for r in bad)


def test_property_skips_what_has_no_claim() -> None:
    p = parse_program("def f(x: f64[]) -> f64[]:\n    y: f64[] = neg(x)\n    return y\n")
    a = np.array(1.0)
    r = derivative_accuracy(REFERENCE, Case(p, (a,), (a,), (a,)))
    assert r.status is Status.SKIP and "no derivative claim" in r.reason
