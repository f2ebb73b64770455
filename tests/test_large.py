"""Programs of 100,000 equations parse, check, print and evaluate (nothing is recursive in the
length of a program). Only success is asserted here; speed belongs in benchmarks."""

from __future__ import annotations

import numpy as np

from lintra.reference import check, evaluate, parse_program

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
