"""Programs of 100,000 equations parse, check, print, evaluate and go through jvp_program,
unzip and transpose_program (nothing is recursive in the length of a program, and a fan-out
of 50,000 uses of one variable is shared by a chain, not a tree of recursion). Results are
asserted; speed belongs in benchmarks."""

from __future__ import annotations

import numpy as np

from lintra.reference import check, evaluate, parse_program, vjp

N = 100_000


def chain_text(n: int) -> str:
    lines = ["def long(x: f64[2], t: lin f64[2]) -> (f64[2], lin f64[2]):"]
    prev, tprev = "x", "t"
    for k in range(n // 2):
        lines.append(f"    a{k} = mul({prev}, 0.5)" if k % 2 else f"    a{k} = add({prev}, 1.0)")
        lines.append(f"    u{k} = neg({tprev})")
        prev, tprev = f"a{k}", f"u{k}"
    lines.append(f"    return {prev}, {tprev}")
    return "\n".join(lines) + "\n"


def test_hundred_thousand_equations() -> None:
    text = chain_text(N)
    p = parse_program(text)
    assert len(p.equations) == N
    check(p)
    assert str(p) == text.rstrip("\n")
    y, ty = evaluate(p, np.array([0.0, 2.0]), np.array([1.0, -1.0]))
    # x -> (x + 1) / 2 repeated converges to 1; N/2 negations of t give t back.
    np.testing.assert_array_equal(y, [1.0, 1.0])
    np.testing.assert_array_equal(ty, [1.0, -1.0])


def fan_out_text(n: int) -> str:
    """``y = Σ_{k<n/2} sin(x)``: ``x`` is read n/2 times, so its tangent is shared by a chain
    of n/2 - 1 ``dup`` equations, which transposition turns into a chain of ``add``s."""
    lines = ["def fan(x: f64[2]) -> f64[2]:", "    y0 = sin(x)"]
    for k in range(1, n // 2):
        lines.append(f"    a{k} = sin(x)")
        lines.append(f"    y{k} = add(y{k - 1}, a{k})")
    lines.append(f"    return y{n // 2 - 1}")
    return "\n".join(lines) + "\n"


def test_hundred_thousand_equations_through_reverse_mode() -> None:
    """jvp_program, unzip, transpose_program and both evaluations on a 100,000-equation
    program. The pullback of w is m·cos(x)·w with m = N/2 (nearly: one fewer add than sin).
    At x = 0 every term is 1, so the sum is exact; elsewhere the m products cos(x)·w and
    their m - 1 additions give at most γ_m·m·|cos(x)·w| from m·c·w, with c the float64
    cosine used (one rounding per product, the additions as in a recursive sum)."""
    p = parse_program(fan_out_text(N))
    assert len(p.equations) == N - 1
    x = np.array([0.0, 0.7])
    (y,), pullback = vjp(p, x)
    m = N // 2
    (g,) = pullback(np.array([1.0, 1.0]))
    assert y[0] == 0.0 and g[0] == m
    c = np.cos(0.7)
    u = 2.0**-53
    gamma = m * u / (1 - m * u)
    assert abs(g[1] - m * c) <= gamma * m * abs(c)
    assert abs(y[1] - m * np.sin(0.7)) <= gamma * m * abs(np.sin(0.7))


def test_hundred_thousand_equations_in_the_optimized_engine() -> None:
    """The engine's conversion, JVP, partial evaluation, transposition and plans on the same
    100,000-equation programs (its plans run as compiled steps beyond 20,000 equations), with
    the same assertions: the linear chain exactly, the fan-out's pullback within the bound
    derived above."""
    import lintra.optimized as lo

    chain = lo.compile(parse_program(chain_text(N)))
    y, ty = chain.evaluate(np.array([0.0, 2.0]), np.array([1.0, -1.0]))
    np.testing.assert_array_equal(y, [1.0, 1.0])
    np.testing.assert_array_equal(ty, [1.0, -1.0])
    x = np.array([0.0, 0.7])
    (y,), pullback = lo.compile(parse_program(fan_out_text(N))).vjp(x)
    (g,) = pullback(np.array([1.0, 1.0]))
    m = N // 2
    assert y[0] == 0.0 and g[0] == m
    c = np.cos(0.7)
    gamma = m * 2.0**-53 / (1 - m * 2.0**-53)
    assert abs(g[1] - m * c) <= gamma * m * abs(c)
    assert abs(y[1] - m * np.sin(0.7)) <= gamma * m * abs(np.sin(0.7))
