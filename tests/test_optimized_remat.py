"""Rematerialization (optimized/remat.py): cheap residuals recomputed in the backward sweep,
with the same bits and never a larger live set."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lintra.optimized as lo
from lintra.conformance.strategies import programs
from lintra.optimized.api import _backward_start, _joined
from lintra.optimized.ir import Graph, Var
from lintra.optimized.plan import Plan
from lintra.optimized.remat import recompute_from_sources, rematerialize
from lintra.reference.parse import parse_program
from lintra.reference.syntax import DType, Program
from tests.harness import same_bits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import workloads


def reaction_diffusion(steps: int, n: int = 8) -> str:
    """A small version of the benchmark's reaction-diffusion loop (benchmarks/workloads.py)."""
    lines = [f"def pde(u0: f64[{n}], r: f64[]) -> f64[]:", "    u_0 = copy(u0)",
             "    rdt = mul(r, 0.01)"]
    for t in range(steps):
        u = f"u_{t}"
        lines += [f"    a{t} = slice({u}, start=({n - 1},), limit=({n},))",
                  f"    b{t} = slice({u}, start=(0,), limit=({n - 1},))",
                  f"    left{t} = concatenate(a{t}, b{t}, dimension=0)",
                  f"    twice{t} = mul({u}, 2.0)",
                  f"    lap{t} = sub(left{t}, twice{t})",
                  f"    one{t} = sub(1.0, {u})",
                  f"    grow{t} = mul({u}, one{t})",
                  f"    react{t} = mul(grow{t}, rdt)",
                  f"    inc{t} = add(lap{t}, react{t})",
                  f"    u_{t + 1} = add({u}, inc{t})"]
    lines += [f"    sq = mul(u_{steps}, u_{steps})", "    loss = reduce_sum(sq, axes=(0,))",
              "    return loss"]
    return "\n".join(lines) + "\n"


def gradient_graph(p: Program) -> tuple[Graph, int]:
    """The engine's value-and-gradient graph of ``p`` (one scalar float result) before
    rematerialization, and the index where its backward part starts."""
    compiled = lo.compile(p)
    primal, _ = compiled._unzipped
    out_type = compiled._scalar_result("value_and_grad")
    graph, seed = _joined(primal, compiled._linear.transposed.graph, compiled.graph, out_type,
                          with_value=True)
    return graph, _backward_start(graph, seed)


def live_across(graph: Graph, start: int) -> int:
    """Bytes of the values computed before ``start`` and read at or after it."""
    defined = {v for e in graph.eqns[:start] for v in e.outs}
    read = {a for e in graph.eqns[start:] for a in e.ins if isinstance(a, Var)}
    read |= set(graph.outputs)
    return sum(v.type.size * (4 if v.type.dtype in ("f32", "i32") else 8)
               for v in defined & read)


def peak_live(graph: Graph) -> int:
    """The largest number of bytes of values alive at once (a value lives from its equation
    to its last read; parameters are the caller's and not counted)."""
    last: dict[Var, int] = {}
    for k, e in enumerate(graph.eqns):
        for a in e.ins:
            if isinstance(a, Var):
                last[a] = k
    for v in graph.outputs:
        last[v] = len(graph.eqns)
    alive, peak = 0, 0
    ends: dict[int, int] = {}
    for k, e in enumerate(graph.eqns):
        for v in e.outs:
            if v in last:
                size = v.type.size * 8
                alive += size
                ends[last[v]] = ends.get(last[v], 0) + size
        peak = max(peak, alive)
        alive -= ends.pop(k, 0)
    return peak


def test_cheap_chains_are_recomputed_and_only_the_states_are_kept() -> None:
    steps, n = 6, 8
    program = parse_program(reaction_diffusion(steps, n))
    graph, start = gradient_graph(program)
    after = rematerialize(graph, start)
    # before: each step keeps u, 1 - u and u·(1 - u); after: u only (and the scalars)
    assert live_across(graph, start) >= 3 * steps * n * 8
    assert live_across(after, start) <= (steps + 1) * n * 8 + 8 * 8
    assert peak_live(after) < peak_live(graph)
    rng = np.random.default_rng(3)
    args = (rng.uniform(0.2, 0.8, n), np.float64(0.5))
    table = lo.compile(program).table
    for got, want in zip(Plan(after, table)(*args), Plan(graph, table)(*args), strict=True):
        same_bits(got, want)


def test_a_tanh_rnn_keeps_one_array_per_step() -> None:
    """h = tanh(z) and tanh'(z) (computed from z, spec 3.1) are two residuals per step, both
    recomputed from the step's pre-activation, which is kept instead; each step's input, a
    view of a parameter, is made again where the backward sweep reads it."""
    steps, n, m = 5, 4, 3
    program = parse_program(workloads.rnn(steps, hidden=n, inputs=m).program)
    graph, start = gradient_graph(program)
    after, after_start = recompute_from_sources(graph, start)
    assert after is not graph
    # before: per step the state, the coefficient and the input view; after: one array
    # per step, the first state (a copy of h0) and the value
    assert live_across(graph, start) >= steps * (2 * n + m) * 8
    assert live_across(after, after_start) <= (steps + 1) * n * 8 + 8
    assert peak_live(after) < peak_live(graph)
    rng = np.random.default_rng(5)
    args = (rng.standard_normal((n, n)), rng.standard_normal((n, m)), rng.standard_normal(n),
            rng.standard_normal((steps, m)) * 30, rng.standard_normal(n))  # tanh saturates
    table = lo.compile(program).table
    for got, want in zip(Plan(rematerialize(graph, start), table)(*args),
                         Plan(graph, table)(*args), strict=True):
        same_bits(got, want)


def test_recomputing_a_chain_the_forward_sweep_still_needs_is_declined() -> None:
    """Coefficients along a chain of transcendental steps: recomputing them would repeat
    the chain (more than RECOMPUTE_LIMIT equations per array saved), so nothing changes."""
    lines = ["def f(x: f64[3]) -> f64[]:", "    v0 = sin(x)"]
    for k in range(1, 40):
        lines.append(f"    v{k} = sin(v{k - 1})" if k % 2 else f"    v{k} = mul(v{k - 1}, 1.5)")
    lines += ["    r = reduce_sum(v39, axes=(0,))", "    return r"]
    graph, start = gradient_graph(parse_program("\n".join(lines) + "\n"))
    assert recompute_from_sources(graph, start) == (graph, start)


def test_a_graph_without_cheap_residuals_is_returned_as_it_is() -> None:
    p = parse_program("def f(x: f64[3]) -> f64[]:\n    y = sin(x)\n"
                      "    r = reduce_sum(y, axes=(0,))\n    return r\n")
    graph, start = gradient_graph(p)
    assert rematerialize(graph, start) is graph


def scalar_loss(p: Program) -> Program | None:
    """``p`` with its float results replaced by the sum of their squares (None if it has no
    float result)."""
    floats = [(v.name, t.array) for v, t in zip(p.outputs, p.result_types)
              if t.array.dtype.is_float]
    if not floats:
        return None
    text = str(p)
    head, _, rest = text.partition(":\n")
    body = [line for line in rest.splitlines() if not line.strip().startswith("return")]
    dtype = floats[0][1].dtype.value
    terms = []
    for k, (name, t) in enumerate(floats):
        body.append(f"    q{k} = mul({name}, {name})")
        axes = ", ".join(str(a) for a in range(len(t.shape)))
        body.append(f"    s{k} = reduce_sum(q{k}, axes=({axes}{',' if t.shape else ''}))"
                    if t.shape else f"    s{k} = copy(q{k})")
        if t.dtype.value != dtype:
            body.append(f"    s{k}c = convert_element_type(s{k}, new_dtype=\"{dtype}\")")
            terms.append(f"s{k}c")
        else:
            terms.append(f"s{k}")
    total = terms[0]
    for k, term in enumerate(terms[1:]):
        body.append(f"    total{k} = add({total}, {term})")
        total = f"total{k}"
    signature = head.rsplit(" -> ", 1)[0]
    return parse_program(f"{signature} -> {dtype}[]:\n" + "\n".join(body)
                         + f"\n    return {total}\n")


def random_arguments(p: Program, seed: int) -> list[np.ndarray]:
    """Arguments for ``p``'s parameters: floats in [−2, 2], integers in [−3, 3]."""
    rng = np.random.default_rng(seed)
    args = []
    for b in p.inputs:
        t = b.type.array
        if t.dtype.is_float:
            args.append(rng.uniform(-2, 2, t.shape).astype(t.dtype.numpy))
        else:
            args.append(rng.integers(-3, 4, t.shape).astype(t.dtype.numpy))
    return args


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(programs(max_equations=8, float_input=True, dtypes=(DType.f64, DType.f32, DType.i64)),
       st.integers(0, 2 ** 32 - 1))
def test_same_bits_and_never_a_larger_peak_on_generated_programs(p: Program, seed: int
                                                                  ) -> None:
    loss = scalar_loss(p)
    if loss is None:
        return
    graph, start = gradient_graph(loss)
    after = rematerialize(graph, start)
    assert peak_live(after) <= peak_live(graph)
    args = random_arguments(loss, seed)
    table = lo.compile(loss).table
    for got, want in zip(Plan(after, table)(*args), Plan(graph, table)(*args), strict=True):
        same_bits(got, want)


def test_value_and_grad_runs_the_rematerialized_plan() -> None:
    """The engine's value_and_grad plan is the rematerialized graph: on the loop above it
    keeps only the states across the sweep, and its numbers are those of the plan without."""
    program = parse_program(reaction_diffusion(6, 8))
    compiled = lo.compile(program)
    graph, start = gradient_graph(program)
    used = compiled._value_and_grad_plan((0, 1))._graph
    assert peak_live(used) == peak_live(rematerialize(graph, start)) < peak_live(graph)
    args = (np.linspace(0.2, 0.8, 8), np.float64(0.5))
    value, grads = compiled.value_and_grad(*args, argnums=(0, 1))
    want = Plan(graph, compiled.table)(*args)
    same_bits(value, want[0])
    for g, w in zip(grads, want[1:], strict=True):
        same_bits(g, w)
