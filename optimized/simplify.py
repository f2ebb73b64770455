"""Clean-ups: dead-code elimination, which every transformation ends with, and products by
uniform arrays, which a gradient's plan is made without.

``prune`` removes equations none of whose results is needed (by a later equation or as a
result), walking backwards once. Equations without results (none remain inside the engine)
are kept. ``uniform_products`` multiplies by a value instead of by an array holding it
everywhere.
"""

from __future__ import annotations

from lintra.optimized.ir import Atom, Builder, Graph, Lit, Var


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


def uniform_products(g: Graph) -> Graph:
    """``g`` with products by arrays that hold one value everywhere taken as products by that
    value: the same numbers with fewer passes over memory. The backward sweep of a gradient
    meets them (a reduction's cotangent is the seed 1.0 broadcast, then scaled):

    * an array made by ``broadcast_in_dim`` of a rank-0 operand is *uniform*, and so is
      ``mul`` of two uniform arrays or of a uniform array and a rank-0 operand: the
      broadcast of the product of their values (rank 0);
    * ``mul(x, u)`` with u uniform and x of the result's type is ``mul(x, s)``, s the value
      of u (each element is the same product); where s is the literal 1 (or a ``copy`` of
      it) the product is x itself, unless it is returned (a caller may write into it);
    * ``neg(mul(x, c))`` with c a float literal and the product read nowhere else is
      ``mul(x, −c)`` (IEEE negation is exact and rounding symmetric: the same bits).

    One pass, linear in the graph; what is no longer read is pruned."""
    uses: dict[Var, int] = {}
    for e in g.eqns:
        for a in e.ins:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    returned = set(g.outputs)
    known: dict[Var, Lit] = {}  # rank-0 variables that are a copy of a literal
    uniform: dict[Var, Atom] = {}  # broadcasts of a rank-0 value, by their variable now
    scaled: dict[Var, tuple[Atom, Lit]] = {}  # original product -> (x, literal) of mul
    env: dict[Var, Atom] = {}
    b = Builder()
    changed = False

    def value_of(a: Atom) -> Atom:
        """The literal a rank-0 ``copy`` of one stands for, else ``a`` itself."""
        return known.get(a, a) if type(a) is Var else a  # type: ignore[arg-type]

    for e in g.eqns:
        ins = tuple([env.get(a, a) if type(a) is Var else a for a in e.ins]) if env else e.ins
        prim = e.prim
        if prim == "mul":
            out = e.outs[0]
            x, y = ins
            ux, uy = uniform.get(x), uniform.get(y)  # type: ignore[arg-type]
            if out.type.shape:  # a rank-0 operand of a larger product is as good as uniform
                if x.type.shape == ():
                    ux = value_of(x)
                if y.type.shape == ():
                    uy = value_of(y)
            if ux is not None and uy is not None:
                product = b.op("mul", ux, uy)
                spread = b.op("broadcast_in_dim", product, shape=out.type.shape,
                              broadcast_dimensions=())
                env[out], uniform[spread] = spread, product
                changed = True
                continue
            if ux is not None and ux is not x and y.type == out.type:
                changed = True
                x, ins = ux, (ux, y)
            elif uy is not None and uy is not y and x.type == out.type:
                changed = True
                y, ins = uy, (x, uy)
            lx, ly = value_of(x), value_of(y)
            if type(ly) is Lit and x.type == out.type:
                literal, other = ly, x
            elif type(lx) is Lit and y.type == out.type:
                literal, other = lx, y
            else:
                literal = None
            if literal is not None and literal.dtype == out.type.dtype:
                if literal.value == 1 and out not in returned:
                    env[out] = other  # x·1 is x
                    changed = True
                    continue
                if out.type.is_float:
                    scaled[out] = (other, literal)
        elif prim == "neg" and e.ins[0] in scaled and uses.get(e.ins[0]) == 1 and (
                e.ins[0] not in returned):
            x, c = scaled[e.ins[0]]  # type: ignore[index]
            env[e.outs[0]] = b.op("mul", x, Lit(-c.value, c.dtype))
            changed = True
            continue
        if ins is e.ins:
            b.eqns.append(e)
            outs = e.outs
        else:
            outs = b.copy_of(e, ins)
            env.update(zip(e.outs, outs))
        if prim == "copy" and type(ins[0]) is Lit:
            known[outs[0]] = ins[0]  # type: ignore[assignment]
        elif prim == "broadcast_in_dim" and ins[0].type.shape == ():
            uniform[outs[0]] = value_of(ins[0])
    if not changed:
        return g
    return prune(Graph(g.name, g.inputs, b.eqns, [env.get(v, v) for v in g.outputs]))
