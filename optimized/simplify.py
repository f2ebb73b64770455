"""Clean-ups every transformation ends with: dead-code elimination.

``prune`` removes equations none of whose results is needed (by a later equation or as a
result), walking backwards once. Equations without results (none remain inside the engine)
are kept.
"""

from __future__ import annotations

from lintra.optimized.ir import Graph, Var


def prune(g: Graph) -> Graph:
    """``g`` without the equations nothing needs."""
    needed: set[Var] = set(g.outputs)
    kept = []
    for e in reversed(g.eqns):
        if not e.outs or any(v in needed for v in e.outs):
            kept.append(e)
            for a in e.ins:
                if isinstance(a, Var):
                    needed.add(a)
    kept.reverse()
    if len(kept) == len(g.eqns):
        return g
    return Graph(g.name, g.inputs, kept, g.outputs)
