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
over the equations, and work only where a cheap residual exists; never recursive.
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
    forward_end = min(backward_start, len(eqns))
    # the cheap one-result equations of the forward part, by the variable they define
    cheap: dict[Var, int] = {}
    for k in range(forward_end):
        e = eqns[k]
        if e.prim in CHEAP and len(e.outs) == 1 and not e.outs[0].linear:
            cheap[e.outs[0]] = k
    if not cheap or not any(a in cheap for k in range(forward_end, len(eqns))
                            for a in eqns[k].ins):
        return graph  # no cheap residual: nothing to do
    # every variable's last read; the reads of the cheap results, as (position, equation)
    last_read: dict[Var, Position] = {}
    reads: dict[Var, list[tuple[Position, Eqn]]] = {}
    for k, e in enumerate(eqns):
        at = (k, 0)
        for a in e.ins:
            if type(a) is Var:
                last_read[a] = at
                if a in cheap:
                    reads.setdefault(a, []).append((at, e))
    end = (len(eqns), 0)
    for v in graph.outputs:
        last_read[v] = end
    parameters = set(graph.inputs)
    moved: dict[int, Position] = {}  # id(eqn) of a moved equation -> where it now runs
    copies: list[tuple[Position, Eqn]] = []
    rename: dict[int, dict[Var, Var]] = {}  # id(eqn) -> operand replacements
    for r in sorted(cheap, key=cheap.__getitem__, reverse=True):  # last defined first
        e = eqns[cheap[r]]
        if last_read.get(r) == end:  # returned: never recomputed
            continue
        backward = [(q, u) for q, u in reads.get(r, ()) if q[0] >= forward_end]
        if not backward:
            continue
        first = min(q for q, _ in backward)
        if not all(type(a) is not Var or a in parameters
                   or last_read.get(a, (-1, 0)) >= first for a in e.ins):
            continue
        at = (first[0], first[1] - 1)
        forward = [(q, u) for q, u in reads[r] if q[0] < forward_end]
        if forward:  # a copy for the backward reads
            copy = Var(r.type, r.linear)
            runs = Eqn(e.prim, e.ins, (copy,), e.params, e.origin)
            copies.append((at, runs))
            for _, u in backward:
                rename.setdefault(id(u), {})[r] = copy
            reads[r] = forward
        else:  # only the backward part reads it: the equation itself moves
            runs = e
            moved[id(e)] = at
            copies.append((at, e))
            for a in e.ins:
                if a in reads:
                    reads[a] = [(q, u) for q, u in reads[a] if u is not e]
        for a in e.ins:
            if type(a) is Var:
                if a in cheap:
                    reads.setdefault(a, []).append((at, runs))
                if last_read.get(a, (-1, 0)) < at:
                    last_read[a] = at
    if not copies:
        return graph
    # the equations in their new order: each copy or moved equation before the original
    # equation it precedes, lower levels first (a chain's first step first)
    copies.sort(key=_where)
    out: list[Eqn] = []
    j = 0
    for k, e in enumerate(eqns):
        while j < len(copies) and copies[j][0][0] == k:
            out.append(_renamed(copies[j][1], rename))
            j += 1
        if id(e) not in moved:
            out.append(_renamed(e, rename))
    out.extend(_renamed(c, rename) for _, c in copies[j:])
    return Graph(graph.name, graph.inputs, out, graph.outputs)


def _where(item: tuple[Position, Eqn]) -> Position:
    return item[0]


def _renamed(e: Eqn, rename: dict[int, dict[Var, Var]]) -> Eqn:
    """``e`` reading the copies its operands were replaced by, if any."""
    changes = rename.get(id(e))
    if not changes:
        return e
    return Eqn(e.prim, tuple(changes.get(a, a) if type(a) is Var else a for a in e.ins),
               e.outs, e.params, e.origin)
