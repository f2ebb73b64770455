"""How the reference scales with program length: parse, check and evaluate a chain program.

Run with ``python -m pytest benchmarks --benchmark-only -n 0`` (not part of the default test run;
``-n 0`` turns off the two test workers, under which pytest-benchmark measures nothing).
The reference is written for clarity, not speed; these numbers show that its cost is linear
in the number of equations, which the 100,000-equation test relies on.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintra.reference import check, evaluate, parse_program


def chain(n: int) -> str:
    lines = ["def chain(x: f64[4]) -> f64[4]:"]
    prev = "x"
    for k in range(n):
        lines.append(f"    a{k} = mul({prev}, 0.5)" if k % 2 else f"    a{k} = add({prev}, 1.0)")
        prev = f"a{k}"
    lines.append(f"    return {prev}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_parse(benchmark, n: int) -> None:
    text = chain(n)
    benchmark.pedantic(parse_program, args=(text,), rounds=3, iterations=1)


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_check(benchmark, n: int) -> None:
    p = parse_program(chain(n))
    benchmark.pedantic(check, args=(p,), rounds=3, iterations=1)


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_evaluate_float64(benchmark, n: int) -> None:
    p = parse_program(chain(n))
    x = np.arange(4.0)
    benchmark.pedantic(evaluate, args=(p, x), rounds=3, iterations=1)


@pytest.mark.parametrize("n", [1_000, 10_000])
def test_evaluate_mpmath_50_digits(benchmark, n: int) -> None:
    p = parse_program(chain(n))
    x = np.arange(4.0)
    benchmark.pedantic(evaluate, args=(p, x), kwargs={"dps": 50}, rounds=3, iterations=1)
