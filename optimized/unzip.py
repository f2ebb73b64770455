"""Partial evaluation (spec 5.1): a JVP graph split into a primal graph and a linear graph.

An equation with a linear result reads tangents, so it belongs to the linear graph; every
other equation computes from the primal inputs alone and runs in the primal graph, now. The
primal values the linear graph reads are its *residuals*: the primal graph returns them after
the primal results, the linear graph takes them as its first parameters. Only residuals some
linear equation (or linear result) reads are saved. One pass; the primal graph is then pruned
of equations nothing needs.
"""

from __future__ import annotations

from lintra.optimized.ir import Eqn, Graph, Var, collector_paused_during
from lintra.optimized.simplify import prune


@collector_paused_during
def unzip_graph(jg: Graph, n_primal_inputs: int, n_primal_outputs: int
                ) -> tuple[Graph, Graph]:
    """``(primal, linear)`` for the JVP graph ``jg`` whose first ``n_primal_inputs``
    parameters are primal and the rest tangents, and whose first ``n_primal_outputs``
    results are primal and the rest tangents.

    ``primal(xs) -> (ys, residuals)``; ``linear(residuals, dxs) -> dys``.
    """
    primal_eqns, linear_eqns = [], []
    for e in jg.eqns:
        outs = e.outs
        # the results of one equation are all linear or all not (one flag per equation)
        if outs[0].linear if outs else _reads_linear(e):
            linear_eqns.append(e)
        else:
            primal_eqns.append(e)
    tangent_inputs = jg.inputs[n_primal_inputs:]
    tangent_outputs = jg.outputs[n_primal_outputs:]
    residuals: list[Var] = []
    seen: set[Var] = set()
    for e in linear_eqns:
        for a in e.ins:
            if not a.linear and isinstance(a, Var) and a not in seen:
                seen.add(a)
                residuals.append(a)
    primal = prune(Graph(jg.name + "_primal", jg.inputs[:n_primal_inputs], primal_eqns,
                         list(jg.outputs[:n_primal_outputs]) + residuals))
    linear = prune(Graph(jg.name + "_linear", residuals + list(tangent_inputs), linear_eqns,
                         tangent_outputs))
    return primal, linear


def _reads_linear(e: Eqn) -> bool:
    """Whether ``e`` (an equation without results) reads a linear operand."""
    return any(a.linear for a in e.ins)
