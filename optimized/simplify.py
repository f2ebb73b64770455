"""Clean-ups every transformation ends with: dead-code elimination.

``prune`` removes equations none of whose results is needed (by a later equation or as a
result), walking backwards once. Equations without results (none remain inside the engine)
are kept.
"""

from __future__ import annotations

from lintra.optimized.ir import Graph


def prune(g: Graph) -> Graph:
    """``g`` without the equations nothing needs."""
    needed: set[object] = set(g.outputs)  # literals may join: they are never asked about
    kept = []
    for e in reversed(g.eqns):
        outs = e.outs
        if len(outs) == 1:
            keep = outs[0] in needed
        else:
            keep = not outs or not needed.isdisjoint(outs)
        if keep:
            kept.append(e)
            needed.update(e.ins)
    if len(kept) == len(g.eqns):
        return g
    kept.reverse()
    return Graph(g.name, g.inputs, kept, g.outputs)
