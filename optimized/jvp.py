"""Forward mode (spec chapter 4): the JVP graph of a graph, with symbolic zeros.

One pass over the equations in order. Each equation is re-emitted unchanged; when some
operand has a tangent, the primitive's ``jvp`` rule emits the tangent equations and returns
the results' tangents. A tangent is a linear variable or None, the symbolic zero: literals,
integer and boolean values and everything computed from them alone have tangent None and
cost nothing (J-Skip); a zero is made concrete (``zero``) only where a result needs it
(J-Instantiate). Linear in the size of the graph; never recursive.
"""

from __future__ import annotations

from lintra.optimized.ir import Atom, Builder, Graph, Lit, Var, collector_paused_during, lookup
from lintra.reference.errors import LintraError


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
    tangent result per float result (spec 4.1), each a linear variable."""
    g = forget_linearity(g)
    b = Builder()
    env: dict[Var, Var] = {}
    tangent: dict[Var, Var] = {}
    inputs = []
    for v in g.inputs:
        new = Var(v.type)
        env[v] = new
        inputs.append(new)
    tangent_inputs = []
    for v in g.inputs:
        if v.type.is_float:
            t = Var(v.type, True)
            tangent[env[v]] = t
            tangent_inputs.append(t)
    for e in g.eqns:
        ins = tuple(a if isinstance(a, Lit) else env[a] for a in e.ins)
        outs = b.copy_of(e, ins)
        for old, new in zip(e.outs, outs):
            env[old] = new
        tans = [tangent.get(a) if isinstance(a, Var) else None for a in ins]
        if not any(t is not None for t in tans):
            continue  # J-Skip
        rule = lookup(e.prim)
        if rule.jvp is None:
            raise LintraError(f"{e.prim} has no JVP rule in the optimized engine")
        b.origin = e.origin
        result_tangents = rule.jvp(b, b.eqns[-1], tans)  # the copy just appended
        for v, t in zip(outs, result_tangents):
            if t is not None and v.type.is_float:
                tangent[v] = t
        b.origin = None
    primal_outputs = [env[v] for v in g.outputs]
    tangent_outputs = []
    for v in primal_outputs:
        if v.type.is_float:
            t = tangent.get(v)
            tangent_outputs.append(t if t is not None else b.zero(v.type))  # J-Instantiate
    return Graph(g.name + "_jvp", inputs + tangent_inputs, b.eqns,
                 primal_outputs + tangent_outputs)

