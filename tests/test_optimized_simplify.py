"""Products by uniform arrays (``lintra.optimized.simplify.uniform_products``): a gradient's
plan multiplies by the value a broadcast holds instead of by the broadcast array, drops
products by 1 and folds a negation into a product by a literal, with the same bits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lintra.optimized as lo
import lintra.optimized.numpy as lnp
from lintra.conformance.strategies import programs
from lintra.optimized.ir import Graph, Lit, Var
from lintra.optimized.plan import Plan
from lintra.optimized.remat import rematerialize
from lintra.optimized.simplify import uniform_products
from lintra.reference.parse import parse_program
from lintra.reference.syntax import DType, Program
from tests.harness import same_bits
from tests.test_optimized_remat import gradient_graph, random_arguments, scalar_loss

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import workloads


def producers(g: Graph) -> dict[Var, str]:
    return {v: e.prim for e in g.eqns for v in e.outs}


def uniform_operands(g: Graph) -> list[str]:
    """The ``mul`` equations of ``g`` that read a broadcast of a rank-0 value at full size,
    and the ``neg`` equations of a product by a literal read nowhere else."""
    made = {v: e for e in g.eqns for v in e.outs}
    reads: dict[Var, int] = {}
    for e in g.eqns:
        for a in e.ins:
            if isinstance(a, Var):
                reads[a] = reads.get(a, 0) + 1
    found = []
    for e in g.eqns:
        if e.prim == "mul":
            for a in e.ins:
                src = made.get(a) if isinstance(a, Var) else None
                if src is not None and src.prim == "broadcast_in_dim" and (
                        src.ins[0].type.shape == () and a.type.shape):
                    found.append("mul by a broadcast")
        if e.prim == "neg":
            src = made.get(e.ins[0]) if isinstance(e.ins[0], Var) else None
            if src is not None and src.prim == "mul" and reads[e.ins[0]] == 1 and any(
                    isinstance(a, Lit) for a in src.ins):
                found.append("neg of a product by a literal")
    return found


def test_rosenbrock_gradient_multiplies_by_values() -> None:
    """The backward sweep of Rosenbrock multiplies by the seed's broadcast (ones, then 100
    of them) and negates products by 2 before the pass; after it, none of that is left, the
    plan is shorter, and the gradient is the same to the bit."""
    w = workloads.rosenbrock(7)
    graph, start = gradient_graph(parse_program(w.program))
    before = rematerialize(graph, start)
    after = uniform_products(before)
    assert uniform_operands(before), "the case no longer has what it tests"
    assert not uniform_operands(after)
    assert len(after.eqns) < len(before.eqns)
    table = lo.compile(parse_program(w.program)).table
    for got, want in zip(Plan(after, table)(*w.inputs), Plan(before, table)(*w.inputs),
                         strict=True):
        same_bits(got, want)
    # the library's cached gradient runs that plan: the hand-written pass's numbers
    _, (want,) = w.value_and_grad(*w.inputs)
    np.testing.assert_allclose(lo.grad(w.loss(lnp))(*w.inputs), want, rtol=1e-14)


def test_a_returned_product_by_one_is_not_the_operand() -> None:
    """grad of Σ x·y in x is y·1 (the seed broadcast): returned, so a new array with y's
    values, never y itself (the caller may write into what it gets)."""
    p = parse_program("def f(x: f64[3], y: f64[3]) -> f64[]:\n    z = mul(x, y)\n"
                      "    s = reduce_sum(z, axes=(0,))\n    return s\n")
    x, y = np.array([1.0, -2.0, 0.5]), np.array([-0.0, 3.0, np.inf])
    _, (gx,) = lo.compile(p).value_and_grad(x, y, argnums=(0,))
    same_bits(gx, y)
    assert not np.shares_memory(gx, y)
    gx_lib = lo.grad(lambda a, b: lnp.sum(a * b))(x, y)
    same_bits(gx_lib, y)
    assert not np.shares_memory(gx_lib, y)


def test_negation_folds_only_into_a_product_read_once() -> None:
    """neg(mul(x, 2)) becomes mul(x, -2) where the product is read once, and stays where the
    product is also returned; the bits are those of the original either way (−0, inf, nan
    included)."""
    x = np.array([0.0, -0.0, 1.5, -np.inf, np.nan, 5e-324])
    for returned in (False, True):
        extra = ", q" if returned else ""
        types = ", f64[6]" if returned else ""
        p = parse_program(f"def f(x: f64[6]) -> (f64[6]{types}):\n    q = mul(x, 2.0)\n"
                          f"    r = neg(q)\n    return r{extra}\n")
        g = lo.compile(p).graph
        after = uniform_products(g)
        assert ("neg" in producers(after).values()) == returned
        table = lo.compile(p).table
        for got, want in zip(Plan(after, table)(x), Plan(g, table)(x), strict=True):
            same_bits(got, want)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs(max_equations=8, float_input=True, dtypes=(DType.f64, DType.f32, DType.i64)),
       st.integers(0, 2 ** 32 - 1))
def test_same_bits_on_generated_programs(p: Program, seed: int) -> None:
    """The gradient plans of random programs (their float results summed as squares) give
    the same bits with and without the pass."""
    loss = scalar_loss(p)
    if loss is None:
        return
    graph, start = gradient_graph(loss)
    before = rematerialize(graph, start)
    after = uniform_products(before)
    args = random_arguments(loss, seed)
    table = lo.compile(loss).table
    for got, want in zip(Plan(after, table)(*args), Plan(before, table)(*args), strict=True):
        same_bits(got, want)
