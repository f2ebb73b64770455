"""How the reference scales with program length: parse, check and evaluate a chain program,
and differentiate one (jvp_program, linearize, transpose_program, grad).

Run with ``python -m pytest benchmarks --benchmark-only -n 0`` (not part of the default test run;
``-n 0`` turns off the two test workers, under which pytest-benchmark measures nothing).
The reference is written for clarity, not speed; these numbers show that its cost is linear
in the number of equations, which the 100,000-equation test relies on.

Each transformation is timed on a fresh copy of its argument: a program object keeps the
typing it was checked with (``lintra.reference.check.keep_typing``), and a copy does not, so
every round pays for checking its argument once, as a first call does. The transformations
and the evaluator hold Python's cyclic garbage collector off while they run, so a round's
time depends little on how much else the process holds.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lintra.reference import (
    check,
    evaluate,
    grad,
    jvp_program,
    linearize,
    parse_program,
    transpose_program,
    unzip,
)
from lintra.reference.syntax import Program


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


def differentiable_chain(n: int) -> str:
    """``n`` equations cycling through sin, mul by 0.5, exp and add 1.0 on f64[4], summed to
    a scalar: nonlinear equations whose JVP rules emit equations (sin, exp), linear ones
    whose tangents are scaled or passed through (mul, add), so that JVP, unzip and transpose
    all do real work. Values stay in [-1, 2.7]."""
    ops = ["sin({})", "mul({}, 0.5)", "exp({})", "add({}, 1.0)"]
    lines = ["def chain(x: f64[4]) -> f64[]:"]
    prev = "x"
    for k in range(n - 1):
        lines.append(f"    a{k} = {ops[k % len(ops)].format(prev)}")
        prev = f"a{k}"
    lines += [f"    s = reduce_sum({prev}, axes=(0,))", "    return s"]
    return "\n".join(lines) + "\n"


SIZES = [1_000, 10_000, 100_000]
X = np.array([0.1, 0.2, 0.3, 0.4])


def fresh(p: Program) -> tuple[tuple[Program], dict]:
    """A copy of ``p`` that has not been checked (pytest-benchmark's ``setup``)."""
    return (copy.copy(p),), {}


@pytest.mark.parametrize("n", SIZES)
def test_jvp_program(benchmark, n: int) -> None:
    p = parse_program(differentiable_chain(n))
    benchmark.pedantic(jvp_program, setup=lambda: fresh(p), rounds=3)


@pytest.mark.parametrize("n", SIZES)
def test_unzip(benchmark, n: int) -> None:
    jp = jvp_program(parse_program(differentiable_chain(n)))
    benchmark.pedantic(unzip, setup=lambda: fresh(jp), rounds=3)


@pytest.mark.parametrize("n", SIZES)
def test_transpose_program(benchmark, n: int) -> None:
    _, lp = unzip(jvp_program(parse_program(differentiable_chain(n))))
    benchmark.pedantic(transpose_program, setup=lambda: fresh(lp), rounds=3)


@pytest.mark.parametrize("n", SIZES)
def test_linearize(benchmark, n: int) -> None:
    """jvp_program, unzip and the primal program's evaluation."""
    p = parse_program(differentiable_chain(n))
    benchmark.pedantic(lambda q: linearize(q, X), setup=lambda: fresh(p), rounds=3)


@pytest.mark.parametrize("n", SIZES)
def test_grad(benchmark, n: int) -> None:
    """Everything: check, jvp_program, unzip, transpose_program and both evaluations."""
    p = parse_program(differentiable_chain(n))
    benchmark.pedantic(lambda q: grad(q, X), setup=lambda: fresh(p), rounds=3)
