"""Forward mode (spec chapter 4): the JVP graph of a graph, with symbolic zeros.

One pass over the equations in order. Each equation is re-emitted unchanged; when some
operand has a tangent, the primitive's ``jvp`` rule emits the tangent equations and returns
the results' tangents. A tangent is a linear variable or None, the symbolic zero: literals,
integer and boolean values and everything computed from them alone have tangent None and
cost nothing (J-Skip); a zero is made concrete (``zero``) only where a result needs it
(J-Instantiate). Linear in the size of the graph; never recursive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lintra.optimized.ir import (
    FLOAT_DTYPES,
    Atom,
    Builder,
    Graph,
    Lit,
    Var,
    collector_paused_during,
    lookup,
)
from lintra.reference.errors import LintraError

if TYPE_CHECKING:
    from lintra.optimized.rules.base import JvpRule


def forget_linearity(g: Graph) -> Graph:
    """``g`` read as an ordinary program (J-Forget, spec 4.3): linear variables become
    non-linear ones and ``zero`` a constant zero array."""
    if not any(v.linear for v in g.inputs) and not any(
            v.linear for e in g.eqns for v in e.outs):
        return g
    env: dict[Var, Atom] = {}

    def plain(v: Var) -> Var:
        new = env.get(v)
        if new is None:
            new = env[v] = Var(v.type, False)
        return new  # type: ignore[return-value]

    b = Builder()
    inputs = [plain(v) for v in g.inputs]
    for e in g.eqns:
        b.origin = e.origin
        ins = [a if isinstance(a, Lit) else env[a] for a in e.ins]
        if e.prim == "zero":
            (t,) = (v.type for v in e.outs)
            env[e.outs[0]] = b.op("broadcast_in_dim", Lit(0.0, t.dtype), shape=t.shape,
                                  broadcast_dimensions=())
            continue
        outs = b.emit(e.prim, ins, e.params)
        for old, new in zip(e.outs, outs):
            env[old] = new
    return Graph(g.name, inputs, b.eqns, [env[v] for v in g.outputs])


@collector_paused_during
def jvp_graph(g: Graph) -> Graph:
    """``def f_jvp(xs, dxs) -> (ys, dys)``: one tangent parameter per float parameter and one
    tangent result per float result (spec 4.1), each a linear variable.

    The primal equations of ``g`` (non-linear once J-Forget has run) are taken over as they
    are, variables included: graphs are never changed once built, so sharing them is safe and
    spares a copy of every equation."""
    g = forget_linearity(g)
    b = Builder()
    eqns = b.eqns
    tangent: dict[Var, Var] = {}
    tangent_inputs = []
    for v in g.inputs:
        if v.type.dtype in FLOAT_DTYPES:
            t = Var(v.type, True)
            tangent[v] = t
            tangent_inputs.append(t)
    rules: dict[str, JvpRule] = {}  # each primitive's JVP rule, looked up once
    for e in g.eqns:
        eqns.append(e)
        if not tangent:
            continue
        ins = e.ins
        if len(ins) == 1:  # most equations: one operand, one lookup
            t = tangent.get(ins[0])  # a literal is never a key: None
            if t is None:
                continue  # J-Skip
            tans = [t]
        else:
            tans = list(map(tangent.get, ins))
            if tans.count(None) == len(tans):
                continue  # J-Skip
        jvp = rules.get(e.prim)
        if jvp is None:
            jvp = rules[e.prim] = _jvp_rule(e.prim)
        b.origin = e.origin
        result_tangents = jvp(b, e, tans)
        for v, t in zip(e.outs, result_tangents):
            if t is not None and v.type.dtype in FLOAT_DTYPES:
                tangent[v] = t
    b.origin = None
    tangent_outputs = []
    for v in g.outputs:
        if v.type.dtype in FLOAT_DTYPES:
            t = tangent.get(v)
            tangent_outputs.append(t if t is not None else b.zero(v.type))  # J-Instantiate
    return Graph(g.name + "_jvp", list(g.inputs) + tangent_inputs, eqns,
                 list(g.outputs) + tangent_outputs)


def _jvp_rule(prim: str) -> JvpRule:
    """The JVP rule of ``prim`` (a LintraError if the engine has none)."""
    jvp = lookup(prim).jvp
    if jvp is None:
        raise LintraError(f"{prim} has no JVP rule in the optimized engine")
    return jvp
