"""The evaluator (spec chapter 3): arguments, domains, calls, run-time errors, purity."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from lintra.reference import (
    EvaluationError,
    LintraTypeError,
    MpDomain,
    ShapeError,
    evaluate,
    parse,
    parse_program,
)

POLY = parse_program(
    "def poly(x: f64[3], n: i64[]) -> (f64[3], i64[]):\n"
    "    a = mul(x, x)\n"
    "    b = mul(a, 3.0)\n"
    "    c = sub(b, x)\n"
    "    m = mul(n, 2)\n"
    "    return c, m\n"
)


def test_float64_and_mp_domains() -> None:
    x = np.array([0.5, -1.25, 3.0])
    c, m = evaluate(POLY, x, 7)
    np.testing.assert_array_equal(c, 3 * x * x - x)  # exact: dyadic inputs
    assert c.dtype == np.float64 and m.dtype == np.int64 and int(m) == 14
    c50, m50 = evaluate(POLY, x, 7, dps=50)
    assert c50.dtype == object and all(hasattr(v, "_mpf_") for v in c50)
    assert [float(v) for v in c50] == list(3 * x * x - x)
    assert m50.dtype == np.int64 and int(m50) == 14


def test_mp_decimal_strings_convert_at_precision() -> None:
    p = parse_program("def f(x: f64[]) -> f64[]:\n    y = mul(x, 3.0)\n    return y\n")
    (y,) = evaluate(p, np.array("0.1", dtype=object), dps=40)
    ctx = MpDomain(40).ctx
    assert abs(y[()] - ctx.mpf(3) / 10) < ctx.mpf(10) ** -39
    (yb,) = evaluate(p, 0.1, dps=40)  # the binary double nearest 0.1, exactly
    assert yb[()] != y[()]


def test_mp_precision_is_local() -> None:
    before = mpmath.mp.dps
    evaluate(POLY, [1.0, 2.0, 3.0], 1, dps=80)
    assert mpmath.mp.dps == before


def test_inputs_are_not_mutated() -> None:
    x = np.array([1.0, 2.0, 3.0])
    keep = x.copy()
    evaluate(POLY, x, 1)
    evaluate(POLY, x, 1, dps=30)
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        (([1.0, 2.0], 1), ShapeError, ["x", "(3,)", "(2,)"]),
        (([1.0, 2.0, 3.0],), LintraTypeError, ["2 arguments", "got 1"]),
        (([1.0, 2.0, 3.0], 1.5), LintraTypeError, ["n", "integers"]),
        ((["a", "b", "c"], 1), LintraTypeError, ["x"]),
        (([1.0, 2.0, 3.0], 2**70), LintraTypeError, ["n"]),
    ],
)
def test_bad_arguments(args: tuple, error: type, words: list[str]) -> None:
    with pytest.raises(error) as info:
        evaluate(POLY, *args)
    for w in words:
        assert w in str(info.value)


def test_calls_between_defs() -> None:
    module = parse(
        "def sq(x: f64[]) -> f64[]:\n    y = mul(x, x)\n    return y\n\n"
        "def quad(x: f64[]) -> f64[]:\n    a = call(x, fn=\"sq\")\n    b = call(a, fn=\"sq\")\n"
        "    return b\n"
    )
    assert float(evaluate(module["quad"], 3.0, module=module)[0]) == 81.0
    assert float(evaluate(module["quad"], 3.0, module=module, dps=20)[0][()]) == 81.0


def test_deep_call_chains_need_no_recursion() -> None:
    n = 3000
    defs = ["def g0(x: f64[]) -> f64[]:\n    y = neg(x)\n    return y\n"]
    defs += [
        f"def g{k}(x: f64[]) -> f64[]:\n    y = call(x, fn=\"g{k - 1}\")\n    return y\n"
        for k in range(1, n)
    ]
    module = parse("\n".join(defs))
    (y,) = evaluate(module[f"g{n - 1}"], 2.0, module=module)
    assert float(y) == -2.0


def test_run_time_errors_name_the_equation() -> None:
    p = parse_program(
        "def f(n: i64[]) -> i64[]:\n    k = mul(n, 2)\n    m = div(7, n)\n    return m\n"
    )
    with pytest.raises(EvaluationError) as info:
        evaluate(p, 0)
    err = info.value
    assert err.program == "f" and err.location is not None and err.location.line == 3
    assert "div" in str(err)


F32_LITERALS = [
    # (program body on x: f32[], the exact derivative at x as a function of f32 constants)
    ("y: f32[] = mul(x, 0.1)", lambda x, c: c(0.1)),
    ("y: f32[] = div(x, 0.3)", lambda x, c: 1 / c(0.3)),
    ("y: f32[] = pow(x, 0.7)", lambda x, c: c(0.7) * x ** (c(0.7) - 1)),
    ("y: f32[] = max(x, 0.2)", lambda x, c: 1),
]


@pytest.mark.parametrize(("body", "derivative"), F32_LITERALS, ids=[b for b, _ in F32_LITERALS])
def test_f32_literals_mean_the_same_number_in_the_mpmath_jvp(body: str, derivative) -> None:
    """E-Lit and J-Literal: the tangent program uses f32(0.1) as the primal does, so the
    mpmath JVP is the derivative of the mpmath primal (not of x * 0.1000000000000000055)."""
    from lintra.reference import jvp_program

    p = parse_program(f"def f(x: f32[]) -> f32[]:\n    {body}\n    return y\n")
    ctx = mpmath.MPContext()
    ctx.dps = 50

    def f32(v: float) -> object:
        return ctx.mpf(float(np.float32(v)))

    x = f32(1.2999999523162842)  # an f32 input above every literal used
    _, dy = evaluate(jvp_program(p), np.float32(x), np.float32(1), dps=50)
    want = derivative(x, f32)
    # a few operations at 50 digits; the float64 literal would be off by 1.5e-9 relative
    assert abs(dy[()] - want) <= ctx.mpf(10) ** -45 * abs(want)
    if body.startswith("y: f32[] = mul"):
        assert dy[()] == f32(0.1)  # one exact product by 1
    # the primal's own derivative, by a central difference at 50 digits, agrees to ~1e-20
    h = ctx.mpf(10) ** -20
    up, down = (evaluate(p, str(x + s), dps=50)[0][()] for s in (h, -h))
    assert abs((up - down) / (2 * h) - dy[()]) < ctx.mpf(10) ** -18
