"""A truth that knows when it is wrong (spec 7.2): Ziv's strategy in the mpmath truth and in
the finite-difference oracle. The expected values are computed here independently, from
closed forms at high precision, never by the code under test."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from lintra.conformance.oracle import directional_derivative
from lintra.conformance.truth import (
    Settled,
    agree,
    evaluate_until_stable,
    floor_of,
    until_stable,
)
from lintra.reference import evaluate, jvp_program, parse_program, vjp_program
from lintra.reference.syntax import DType

HI = mpmath.MPContext()
HI.dps = 3000  # the closed forms below, far beyond anything the code under test uses

ATAN2_SIN = parse_program(
    "def f(x: f64[], y: f64[]) -> f64[]:\n"
    "    a: f64[] = mul(x, y)\n    s: f64[] = sin(a)\n    z: f64[] = atan2(s, y)\n"
    "    return z\n")
X, Y = -0.6481197002723973, 2.2250738585072014e-308
T = (-1.3, -0.4670136235065492)


def closed_form_partials() -> tuple[object, object]:
    """∂z/∂x and ∂z/∂y of z = atan2(sin(xy), y) at (X, Y), at 3000 digits:
    ∂z/∂x = y² cos(xy) / (s² + y²), ∂z/∂y = (x y cos(xy) − s) / (s² + y²)."""
    x, y = HI.mpf(X), HI.mpf(Y)
    s, c = HI.sin(x * y), HI.cos(x * y)
    d = s * s + y * y
    return y * y * c / d, (x * y * c - s) / d


def test_plain_precisions_are_wrong_here() -> None:
    # the motivation: 30 and 60 digits both give exactly 0, while the truth is -0.915...
    jp = jvp_program(ATAN2_SIN)
    for dps in (30, 60):
        assert evaluate(jp, X, Y, *T, dps=dps)[1][()] == 0


def test_jvp_settles_to_the_closed_form() -> None:
    dx, dy = closed_form_partials()
    want = dx * T[0] + dy * T[1]
    s = evaluate_until_stable(jvp_program(ATAN2_SIN), [X, Y, *T], 30)
    assert s.all_settled
    got = s.values[1][()]
    assert abs(got - want) <= HI.mpf(2) ** -70 * abs(want)
    assert mpmath.nstr(got, 6) == "-0.915455"
    assert s.digits[1][()] > 308  # the absorbed y·dx term needs more than 308 digits


def test_vjp_settles_to_a_subnormal_truth() -> None:
    # at 30 digits the vjp's ∂y is -2.2e276; the truth is 1.4e-309 (a float64 subnormal)
    vp = vjp_program(ATAN2_SIN)
    assert abs(evaluate(vp, X, Y, 1.0, dps=30)[1][()]) > 1e270
    dx, dy = closed_form_partials()
    s = evaluate_until_stable(vp, [X, Y, 1.0], 30)
    assert s.all_settled
    for got, want in ((s.values[0][()], dx), (s.values[1][()], dy)):
        assert abs(got - want) <= HI.mpf(2) ** -70 * abs(want) + floor_of(DType.f64)
    assert float(s.values[1][()]) == float(dy) != 0.0


def test_unsettled_elements_are_marked_with_a_reason() -> None:
    s = evaluate_until_stable(jvp_program(ATAN2_SIN), [X, Y, *T], 30, max_dps=240)
    assert s.settled[0][()] and not s.settled[1][()]
    reason = s.reasons[1][()]
    assert "not settled" in reason and "limit 240 digits" in reason
    assert s.reasons[0][()] == ""


def test_settled_where_plain_evaluation_is_fine() -> None:
    p = parse_program("def f(x: f64[3]) -> (f64[3], i64[]):\n"
                      "    y: f64[3] = exp(x)\n    n: i64[] = argmax(x, axis=0)\n"
                      "    return y, n\n")
    s = evaluate_until_stable(p, [[0.5, -1.0, 2.0]], 40)
    assert s.all_settled
    assert [int(d) for d in s.digits[0]] == [80, 80, 80]  # one doubling: 40 against 80
    assert int(s.values[1]) == 2
    for got, x in zip(s.values[0], (0.5, -1.0, 2.0)):
        assert abs(got - HI.exp(x)) <= HI.mpf(10) ** -75 * HI.exp(x)


def test_specials_settle_by_class() -> None:
    p = parse_program("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = log(x)\n    return y\n")
    s = evaluate_until_stable(p, [[-1.0, 0.0]], 40)
    assert s.all_settled
    assert mpmath.isnan(s.values[0][0]) and s.values[0][1] == -mpmath.inf


def test_agreement_rule() -> None:
    rel, floor = HI.mpf(2) ** -70, floor_of(DType.f64)
    one = HI.mpf(1)
    assert agree(one, one + one * 2 ** -72, rel, floor)
    assert not agree(one, one + one * 2 ** -60, rel, floor)
    assert agree(HI.mpf(0), HI.mpf(2) ** -1080, rel, floor)  # below the floor
    assert not agree(HI.mpf(0), HI.mpf(2) ** -1070, rel, floor)
    assert not agree(HI.inf, HI.mpf(10) ** 400, rel, floor)
    assert agree(mpmath.nan, mpmath.nan, rel, floor) and not agree(mpmath.nan, one, rel, floor)
    assert agree(np.int64(3), np.int64(3), rel, floor)
    assert not agree(np.bool_(True), np.bool_(False), rel, floor)


def test_loop_escalates_only_while_needed() -> None:
    calls: list[tuple[int, str]] = []

    def evaluate_at(dps: int, rounding: str) -> tuple[np.ndarray, ...]:
        calls.append((dps, rounding))
        # an element that agrees from the start, and one that settles at 160 against 320
        late = HI.mpf(1) if dps >= 160 else HI.mpf(dps)
        return (np.array([HI.mpf(2), late], dtype=object),)

    s = until_stable(evaluate_at, 40, [floor_of(DType.f64)])
    assert isinstance(s, Settled) and s.all_settled
    assert calls == [(40, "f"), (80, "c"), (160, "f"), (320, "c")]
    assert list(s.digits[0]) == [80, 320]
    with pytest.raises(ValueError):
        until_stable(evaluate_at, 40, [0], max_dps=60)


def test_oracle_detects_values_that_lost_digits() -> None:
    # (1 + x) - 1 at x = 1e-50 is 0 along the whole line at 40 digits: a confident, wrong
    # estimate 0 with a tiny bound; the second precision shows it and the loop recovers
    p = parse_program("def f(x: f64[]) -> f64[]:\n    a: f64[] = add(x, 1.0)\n"
                      "    b: f64[] = sub(a, 1.0)\n    return b\n")
    e = directional_derivative(p, [1e-50], [1.0], dps=40)
    assert e.settled[0][()] and e.reasons[0][()] == ""
    assert abs(e.values[0][()] - 1) <= e.bounds[0][()] <= HI.mpf(2) ** -60


def test_oracle_on_the_cancelling_atan2() -> None:
    dx, dy = closed_form_partials()
    want = dx * T[0] + dy * T[1]
    e = directional_derivative(ATAN2_SIN, [X, Y], list(T), dps=40)
    assert e.settled[0][()]
    value, bound = e.values[0][()], e.bounds[0][()]
    assert abs(value - want) <= bound <= HI.mpf(2) ** -60 * abs(want)


def test_oracle_marks_what_it_cannot_settle() -> None:
    p = parse_program("def f(x: f64[]) -> f64[]:\n    a: f64[] = add(x, 1.0)\n"
                      "    b: f64[] = sub(a, 1.0)\n    return b\n")
    e = directional_derivative(p, [1e-300], [1.0], dps=40, max_dps=160)
    assert not e.settled[0][()]
    assert e.bounds[0][()] == mpmath.inf  # no caller can compare against it
    assert "limit 160 digits" in e.reasons[0][()]


def _mpf_parts(env: dict) -> dict:
    """Each bound argument as (dtype, shape, elements: the raw mpf tuples and types)."""
    out = {}
    for name, value in env.items():
        flat = value.ravel().tolist()
        out[name] = (value.dtype, value.shape,
                     [(type(v), getattr(v, "_mpf_", v)) for v in flat])
    return out


def test_mp_arguments_bound_as_e_args_binds_them() -> None:
    """run_checked's shortcut for arguments that are already mpmath numbers gives what E-Args
    gives, number for number: normalized numbers of the domain's context as they are, the
    others (more bits than its precision, another context, beyond the exponent range)
    converted; anything else is left to E-Args (None)."""
    from lintra.conformance.truth import _bound_mp_arguments
    from lintra.reference.domains import MpDomain
    from lintra.reference.evaluate import bind_arguments

    p = parse_program("def f(x: f64[3], s: f32[], n: i64[2], b: bool[]) -> f64[3]:\n"
                      "    y: f64[3] = mul(x, x)\n    return y\n")
    d = MpDomain(20)
    wide = mpmath.MPContext()
    wide.prec = 300
    ctx = d.ctx
    xs = np.array([ctx.mpf(1) / 3, wide.mpf(1) / 3, ctx.mpf(2) ** 5000], dtype=object)
    for s in (wide.mpf(2) / 7, ctx.mpf(0), ctx.inf, np.array(ctx.nan, dtype=object)):
        args = [xs, s, np.array([1, -2]), np.array(True)]
        fast = _bound_mp_arguments(p, args, d)
        assert fast is not None
        assert _mpf_parts(fast) == _mpf_parts(bind_arguments(p, args, d))
    assert fast["x"][2] == ctx.inf  # beyond 2^4096: the range applied
    assert fast["x"][1] != wide.mpf(1) / 3  # rounded to the domain's precision
    for wrong in ([np.array([0.5, 1.0, 2.0]), ctx.mpf(1), np.array([1, 2]), np.array(True)],
                  [xs, 0.5, np.array([1, 2]), np.array(True)],
                  [xs[:2], ctx.mpf(1), np.array([1, 2]), np.array(True)],
                  [xs, ctx.mpf(1), np.array([1.5, 2]), np.array(True)]):
        assert _bound_mp_arguments(p, wrong, d) is None
