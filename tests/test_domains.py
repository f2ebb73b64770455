"""The mpmath domain's exponent range and shared contexts (spec 3.0.1).

Every example here used to hang, raise mpmath's ``OverflowError`` or ``MemoryError``, or take
seconds; each evaluation now runs under a one-second alarm, far above its measured few
milliseconds, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from lintra.conformance.analysis import value_bounds
from lintra.reference import MpDomain, evaluate, parse_program, to_float64
from lintra.reference.domains import EXPONENT_LIMIT, context, within_range
from lintra.reference.syntax import DType

LIMIT_S = 1.0


class TookTooLong(Exception):
    """An evaluation ran past its alarm."""


@contextlib.contextmanager
def within_time(limit: float = LIMIT_S) -> Iterator[None]:
    """Fail (not hang) when the block runs longer than ``limit`` seconds."""

    def alarm(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {limit} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def chain(*names: str, dtype: str = "f64") -> object:
    """``x -> names[-1](...names[0](x))`` as a one-input program."""
    lines = [f"def f(x: {dtype}[]) -> {dtype}[]:"]
    prev = "x"
    for k, name in enumerate(names):
        lines.append(f"    v{k}: {dtype}[] = {name}({prev})")
        prev = f"v{k}"
    lines.append(f"    return {prev}")
    return parse_program("\n".join(lines) + "\n")


def mp_value(program: object, *args: object, dps: int = 40) -> object:
    with within_time():
        return evaluate(program, *args, dps=dps)[0][()]


@pytest.mark.parametrize("dps", [30, 60])
def test_issue_examples_end_quickly_with_float64s_answer(dps: int) -> None:
    # exp(exp(exp(3))) = e^(5.3e8) is beyond 2^4096: inf, and sin(inf) is nan
    assert mpmath.isnan(mp_value(chain("exp", "exp", "exp", "sin"), 3.0, dps=dps))
    assert mpmath.isnan(mp_value(chain("exp", "sin"), 1e7, dps=dps))
    assert mp_value(chain("exp", "tanh"), 1e200, dps=dps) == 1
    assert mp_value(chain("exp", "tanh"), 1e18, dps=dps) == 1


def test_the_analysis_ends_quickly_too() -> None:
    for program, x in [(chain("exp", "exp", "exp", "sin"), 3.0), (chain("exp", "sin"), 1e7),
                       (chain("exp", "tanh"), 1e200), (chain("exp", "tanh"), 1e18)]:
        with within_time():
            value_bounds(program, [x], 40)


def test_exponential_guards_answer_without_computing() -> None:
    ctx = context(40)
    start = time.perf_counter()
    assert ctx.exp(ctx.mpf(10) ** 300) == ctx.inf
    assert ctx.exp(-ctx.mpf(10) ** 300) == 0
    assert ctx.expm1(-ctx.mpf(10) ** 300) == -1
    assert ctx.sinh(-ctx.mpf(2) ** 4000) == ctx.ninf
    assert ctx.cosh(-ctx.mpf(2) ** 4000) == ctx.inf
    assert ctx.power(ctx.mpf(1e300), ctx.mpf(1e300)) == ctx.inf
    assert ctx.power(ctx.mpf(0.5), ctx.mpf(1e300)) == 0
    assert ctx.power(ctx.mpf(-2), ctx.mpf(2**13 + 1)) == ctx.ninf
    assert ctx.power(ctx.mpf(-2), ctx.mpf(2**13)) == ctx.inf
    assert ctx.power(ctx.mpf(-2), 2**13 + 1) == ctx.ninf  # an integer exponent, as pow's rule
    assert ctx.power(ctx.mpf(-3), 10**1200) == ctx.inf
    # each of these costs mpmath about a second or more when computed
    assert time.perf_counter() - start < 0.1


def test_guards_leave_values_within_the_range_alone() -> None:
    ctx, plain = context(40), mpmath.MPContext()
    plain.dps = 40
    assert ctx.exp(ctx.mpf(2800)) == plain.exp(2800)  # 2^4039.5: within the range
    assert ctx.exp(ctx.mpf(4000)) == ctx.inf  # computed, then put within the range
    assert ctx.power(ctx.mpf(-2), ctx.mpf(3)) == -8
    x = ctx.mpf(1) + ctx.mpf(2) ** -60  # log2|x| lost in a binary float: computed
    assert ctx.power(x, ctx.mpf(2) ** 60) == plain.power(x, 2**60)


def test_range_boundaries() -> None:
    ctx = context(40)
    top = ctx.mpf(2) ** EXPONENT_LIMIT
    below_top = top - ctx.mpf(2) ** (EXPONENT_LIMIT - 100)  # 136 bits at 40 digits
    assert within_range(ctx, top) == ctx.inf
    assert within_range(ctx, -top) == ctx.ninf
    assert within_range(ctx, below_top) == below_top
    bottom = ctx.mpf(2) ** -EXPONENT_LIMIT
    assert within_range(ctx, bottom) == bottom
    assert within_range(ctx, -bottom) == -bottom
    assert within_range(ctx, bottom * (1 - ctx.mpf(2) ** -100)) == 0
    assert within_range(ctx, -bottom / 2) == 0
    for v in (ctx.inf, ctx.ninf, ctx.zero):
        assert within_range(ctx, v) == v
    assert mpmath.isnan(within_range(ctx, ctx.nan))
    assert within_range(ctx, 7) == 7  # integers pass through


def test_decimal_arguments_beyond_the_range() -> None:
    d = MpDomain(30)
    assert d.mpf("1e2000") == d.ctx.inf
    assert d.mpf("-1e-2000") == 0
    assert d.mpf("1e1000") == d.ctx.mpf("1e1000")  # 1e1000 < 2^4096 = 1.04e1233


def test_just_beyond_float64_overflow_stays_exact() -> None:
    # the analysis tells a float result overflows from its exact truth beyond 2^1024
    p = parse_program("def f(x: f64[], y: f64[]) -> f64[]:\n"
                      "    z: f64[] = mul(x, y)\n    return z\n")
    z = mp_value(p, 1e308, 1e308)
    man, exp = z.man_exp  # 106 bits of product at 136 bits of working precision: exact
    assert Fraction(man) * Fraction(2) ** exp == Fraction(1e308) ** 2
    assert mpmath.isfinite(mp_value(chain("exp"), 710.0))
    assert np.isinf(to_float64(np.asarray(z, dtype=object), DType.f64))


def test_products_and_sums_beyond_the_range_become_infinities() -> None:
    cumprod = parse_program("def f(x: f64[5]) -> f64[5]:\n"
                            "    c: f64[5] = cumprod(x, axis=0)\n    return c\n")
    with within_time():
        (c,) = evaluate(cumprod, [1e300] * 5, dps=40)
    assert [mpmath.isinf(v) for v in c] == [False, False, False, False, True]  # 1e1500
    # a huge cumprod feeding sin: the range keeps sin's argument reduction short
    scan_sin = parse_program("def f(x: f64[8]) -> f64[8]:\n"
                             "    c: f64[8] = cumprod(x, axis=0)\n"
                             "    s: f64[8] = sin(c)\n    return s\n")
    with within_time():
        (s,) = evaluate(scan_sin, [1e300] * 8, dps=40)
    assert [mpmath.isnan(v) for v in s] == [False] * 4 + [True] * 4
    dot = parse_program(
        "def f(x: f64[4], y: f64[4]) -> f64[]:\n"
        "    d: f64[] = dot_general(x, y, contracting_dims=((0,), (0,)), batch_dims=((), ()))\n"
        "    e: f64[] = exp(d)\n    return e\n")
    with within_time():
        assert mpmath.isinf(evaluate(dot, [1e300] * 4, [1e300] * 4, dps=40)[0][()])


def test_pow_and_integer_pow_of_huge_values() -> None:
    pow_sin = parse_program("def f(x: f64[], y: f64[]) -> f64[]:\n"
                            "    p: f64[] = pow(x, y)\n    s: f64[] = sin(p)\n    return s\n")
    assert mpmath.isnan(mp_value(pow_sin, 1e300, 1e300))
    assert mp_value(pow_sin, 1e-300, 1e300) == 0  # sin(0)
    ipow = parse_program("def f(x: f64[]) -> f64[]:\n"
                         "    p: f64[] = integer_pow(x, y=9007199254740992)\n"
                         "    s: f64[] = cos(p)\n    return s\n")
    assert mpmath.isnan(mp_value(ipow, 1e300))
    assert mp_value(ipow, 0.5) == 1  # cos(0): 2^-(2^53) is far below the range


def test_contexts_are_shared_per_precision_and_never_changed() -> None:
    assert MpDomain(33).ctx is MpDomain(33).ctx
    assert MpDomain(33).ctx is not MpDomain(34).ctx
    ctx = context(33)
    evaluate(chain("erf", "atanh", "expm1", "cbrt"), 0.3, dps=33)
    assert ctx.dps == 33 and context(33) is ctx


def test_a_context_left_at_another_precision_is_replaced() -> None:
    ctx = context(35)
    ctx.dps = 20  # as an interrupted mpmath call might leave it
    fresh = context(35)
    assert fresh is not ctx and fresh.dps == 35


EXTREMES = ("1e1200", "-1e1200", "1e-1200", "-1e-1200", "1e300", "-1e300", "0.5")
"""Decimal arguments near the edges of the range (2^4096 = 1.04e1233) and ordinary ones."""


def test_every_elementwise_primitive_ends_quickly_at_the_edges_of_the_range() -> None:
    from lintra.reference import PRIMITIVES

    slow = []
    for prim in PRIMITIVES.values():
        if prim.family not in ("unary", "binary"):
            continue
        if prim.name == "integer_pow":
            params, arity = ", y=-7", 1
        else:
            params, arity = "", 1 if prim.family == "unary" else 2
        names = ", ".join(f"x{k}" for k in range(arity))
        sig = ", ".join(f"x{k}: f64[]" for k in range(arity))
        p = parse_program(f"def f({sig}) -> f64[]:\n    y: f64[] = {prim.name}({names}{params})"
                          "\n    return y\n")
        for a in EXTREMES:
            for b in EXTREMES[: len(EXTREMES) if arity == 2 else 1]:
                args = [a, b][:arity]
                start = time.perf_counter()
                with within_time():
                    evaluate(p, *args, dps=40)
                if time.perf_counter() - start > 0.1:
                    slow.append((prim.name, args))
    assert not slow
