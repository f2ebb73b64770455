"""Rematerialization: cheap values recomputed in the backward sweep instead of kept alive.

A gradient graph runs the primal equations, then the transposed ones. Every primal value the
backward sweep reads (a residual) stays in memory from the moment it is computed until that
read, so the forward sweep's peak holds all of them at once. Some residuals are one cheap
elementwise step away from values that stay alive that long anyway: in ``grow = mul(u,
sub(1.0, u))`` with ``u`` itself a residual, both ``sub(1.0, u)`` and ``grow`` can be
computed again just before the backward sweep reads them, from ``u``, and need not be kept.
A hand-written reverse pass does exactly that; this pass does it for the engine.

The rule: an equation of the forward part with one result ``r``, read by the backward part,
whose primitive is in :data:`CHEAP`, is copied to just before the first backward read of
``r`` (every backward read then takes the copy) when each of its variable operands is a
parameter of the graph (the caller holds it) or is read at or after that point anyway. So
no value lives longer than before, and ``r``'s buffer is released after its last forward
read. Equations are visited from last to first, so a chain of cheap steps
(``sub``, then ``mul``) is recomputed as a chain. The copies compute the same operations on
the same operands: the results are bit for bit those of the graph without the pass. One pass
over the equations plus a sort; never recursive.
"""

from __future__ import annotations

from lintra.optimized.ir import Eqn, Graph, Var

CHEAP = frozenset({"neg", "add", "sub", "mul", "abs", "max", "min"})
"""Elementwise primitives worth recomputing: one pass over memory and no transcendental
function, so recomputing costs about what reading a saved copy back would."""

Position = tuple[int, int]
"""Where an equation runs: (index of the original equation it runs before or is, level);
original equations have level 0, copies placed before them negative levels (lower first)."""


def rematerialize(graph: Graph, backward_start: int) -> Graph:
    """``graph`` with the cheap residuals of its forward part (equations before
    ``backward_start``) recomputed where its backward part first reads them (module
    docstring). The same results, bit for bit; the same graph when nothing qualifies."""
    eqns = graph.eqns
    position: dict[int, Position] = {}  # id(eqn) -> where it runs
    defined_at: dict[Var, int] = {}
    reads: dict[Var, list[tuple[Position, Eqn]]] = {}
    for k, e in enumerate(eqns):
        position[id(e)] = (k, 0)
        for v in e.outs:
            defined_at[v] = k
        for a in e.ins:
            if isinstance(a, Var):
                reads.setdefault(a, []).append(((k, 0), e))
    parameters = set(graph.inputs)
    returned = set(graph.outputs)
    end = (len(eqns), 0)
    last_read: dict[Var, Position] = {
        v: max(p for p, _ in uses) for v, uses in reads.items()}
    for v in returned:
        last_read[v] = end
    copies: list[tuple[Position, Eqn]] = []
    changed = False
    rename: dict[int, dict[Var, Var]] = {}  # id(eqn) -> operand replacements
    for k in range(min(backward_start, len(eqns)) - 1, -1, -1):
        e = eqns[k]
        if e.prim not in CHEAP or len(e.outs) != 1:
            continue
        (r,) = e.outs
        if r in returned or r.linear:
            continue
        backward = [(p, u) for p, u in reads.get(r, ()) if p[0] >= backward_start]
        if not backward:
            continue
        first = min(p for p, _ in backward)
        if not all(not isinstance(a, Var) or a in parameters
                   or last_read.get(a, (-1, 0)) >= first for a in e.ins):
            continue
        at = (first[0], first[1] - 1)
        forward = [(p, u) for p, u in reads[r] if p[0] < backward_start]
        if forward:  # a copy for the backward reads
            copy = Var(r.type, r.linear)
            moved = Eqn(e.prim, e.ins, (copy,), e.params, e.origin)
            copies.append((at, moved))
            for _, u in backward:
                rename.setdefault(id(u), {})[r] = copy
            reads[r] = forward
            reads[copy] = backward
            last_read[r] = max(p for p, _ in forward)
            last_read[copy] = max(p for p, _ in backward)
        else:  # only the backward part reads it: the equation itself moves
            moved = e
            for a in e.ins:
                if isinstance(a, Var):
                    reads[a] = [(p, u) for p, u in reads[a] if u is not e]
        position[id(moved)] = at
        changed = True
        for a in e.ins:
            if isinstance(a, Var):
                reads.setdefault(a, []).append((at, moved))
                if last_read.get(a, (-1, 0)) < at:
                    last_read[a] = at
    if not changed:
        return graph
    ordered = [(position[id(e)], e) for e in eqns] + copies
    ordered.sort(key=_first)
    out = []
    for _, e in ordered:
        changes = rename.get(id(e))
        if changes:
            e = Eqn(e.prim, tuple(changes.get(a, a) if isinstance(a, Var) else a
                                  for a in e.ins), e.outs, e.params, e.origin)
        out.append(e)
    return Graph(graph.name, graph.inputs, out, graph.outputs)


def _first(item: tuple[Position, Eqn]) -> Position:
    return item[0]
