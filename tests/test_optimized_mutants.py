"""The suite catches a broken optimized engine: each mutant here is ``lintra.optimized`` with
ONE rule record replaced by a plausible wrong one, and the ``ci`` profile must FAIL it on the
generated cases around the primitive it breaks (issue 13: the self-test runs against the
engine too). The reference-based catalogue is tests/mutants.py.

A mutant compiles every program afresh with its rule swapped in for the duration of each
backend call (the engine builds derived programs lazily, inside those calls), and keeps its
own compiled programs, never the engine's shared cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from lintra.conformance.backends.optimized import OptimizedBackend
from lintra.conformance.results import Status
from lintra.conformance.runner import run_check
from lintra.optimized import ir
from lintra.optimized.api import Compiled
from lintra.optimized.arrays import table
from lintra.optimized.convert import from_program
from lintra.optimized.ir import Builder, Eqn, Var
from lintra.optimized.rules import RULES
from lintra.reference.syntax import Program


@contextlib.contextmanager
def swapped(prim: str, rule: object) -> Iterator[None]:
    ir.lookup(prim)  # the registry is filled
    saved = ir._RULES[prim]
    ir._RULES[prim] = rule  # type: ignore[assignment]
    try:
        yield
    finally:
        ir._RULES[prim] = saved


class RuleMutant(OptimizedBackend):
    """The engine with ``RULES[prim]`` replaced by ``replace(RULES[prim], **changes)``."""

    def __init__(self, prim: str, **changes: object) -> None:
        super().__init__()
        self.name = f"optimized with a broken {prim}"
        self.prim = prim
        self.rule = replace(RULES[prim], **changes)
        self._cache: dict[Program, Compiled] = {}

    def _compiled(self, program: Program) -> Compiled:
        c = self._cache.get(program)
        if c is None:
            with swapped(self.prim, self.rule):
                c = self._cache[program] = Compiled(from_program(program), table())
        return c


def _wrap(method: str) -> object:
    def call(self: RuleMutant, *args: object, **kwargs: object) -> object:
        with swapped(self.prim, self.rule):
            result = getattr(OptimizedBackend, method)(self, *args, **kwargs)
            if method in ("linearize", "vjp", "transpose", "linear_map"):
                lin = result[1] if isinstance(result, tuple) else result
                lin._linear.plan  # noqa: B018  (the lazy plan is built while swapped)
            return result

    call.__name__ = method
    return call


for _method in ("evaluate", "jvp", "linearize", "vjp", "transpose", "linear_map", "hvp"):
    setattr(RuleMutant, _method, _wrap(_method))


def _sin_jvp_negated(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """sin' taken as -cos: a sign slip."""
    c = b.op("neg", b.op("cos", e.ins[0]))
    return [b.op("mul", c, dxs[0])]


def _mul_transpose_same_operand(b: Builder, e: Eqn, cts: Sequence[Var | None]
                                ) -> list[Var | None]:
    """The cotangent doubled before it is scaled by the other operand: an adjoint off by a
    factor of two (the JVP is untouched, so only reverse mode shows it)."""
    (ct,) = cts
    x, y = e.ins
    doubled = b.op("add", ct, ct)
    if x.linear:
        return [b.op("mul", doubled, y), None]
    return [None, b.op("mul", x, doubled)]


def _tanh_jvp_from_y(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """tanh' = (1 - y)(1 + y) from the result: right in theory, every digit gone in the
    tails where y rounds to ±1 (the tanh'(25) = 0 of the numerics issue)."""
    y = e.outs[0]
    dtype = y.type.dtype
    one = b.lit(1.0, dtype)
    c = b.op("mul", b.op("sub", one, y), b.op("add", one, y))
    return [b.op("mul", c, dxs[0])]


def _reduce_sum_transpose_unscaled(b: Builder, e: Eqn, cts: Sequence[Var | None]
                                   ) -> list[Var | None]:
    """The cotangent broadcast back and halved: a wrong adjoint that still has the right
    type (only the adjoint identity of transposition can see it)."""
    (ct,) = cts
    x = e.ins[0]
    axes = e.params["axes"]
    kept = tuple(i for i in range(x.type.rank) if i not in axes)
    widened = b.op("broadcast_in_dim", ct, shape=x.type.shape, broadcast_dimensions=kept)
    return [b.op("mul", widened, b.lit(0.5, x.type.dtype))]


MUTANTS = {
    "sin_jvp_sign": (RuleMutant("sin", jvp=_sin_jvp_negated), "sin", "jvp_vs_oracle"),
    "mul_transpose_doubled": (RuleMutant("mul", transpose=_mul_transpose_same_operand), "mul",
                              "vjp_vs_reference"),
    "tanh_jvp_from_y": (RuleMutant("tanh", jvp=_tanh_jvp_from_y), "tanh",
                        "derivative_accuracy"),
    "reduce_sum_transpose_halved": (
        RuleMutant("reduce_sum", transpose=_reduce_sum_transpose_unscaled), "reduce_sum",
        "transpose_adjoint"),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_broken_engine_rule_is_caught(name: str) -> None:
    backend, prim, check = MUTANTS[name]
    results = run_check(backend, check, "ci", primitives=[prim])
    assert any(r.status is Status.FAIL for r in results), [
        (r.status, r.reason) for r in results]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_engine_itself_passes_the_same_checks(name: str) -> None:
    _, prim, check = MUTANTS[name]
    results = run_check(OptimizedBackend(), check, "ci", primitives=[prim])
    assert not [r for r in results if r.status is Status.FAIL], [
        r.reason for r in results if r.status is Status.FAIL]
