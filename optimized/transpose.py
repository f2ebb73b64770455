"""Transposition (spec 5.2): the adjoint of a linear graph, with cotangent accumulation.

The non-linear equations of the linear graph (coefficients, masks) run first, forward, in the
transposed graph. Then the linear equations are visited in reverse: each one whose results
have a cotangent hands them to its primitive's ``transpose`` rule, which emits the equations
giving each linear operand's contribution; contributions to one variable are summed with
``add`` as they arrive. A linear parameter that received nothing gets a concrete ``zero``.
One pass each way; never recursive.
"""

from __future__ import annotations

from lintra.optimized.ir import Atom, Builder, Eqn, Graph, Lit, Var, collector_paused_during, lookup
from lintra.optimized.simplify import prune
from lintra.reference.errors import LinearityError, LintraError


@collector_paused_during
def transpose_graph(lg: Graph) -> Graph:
    """For ``lg(nonlinear..., linear...) -> (results)`` (parameters in any order): the graph
    ``(nonlinear..., cotangents of the linear results...) -> (cotangents of the linear
    parameters...)``. Non-linear results of ``lg`` are left out."""
    b = Builder()
    env: dict[Var, Atom] = {}
    nonlinear_inputs = []
    for v in lg.inputs:
        if not v.linear:
            new = Var(v.type)
            env[v] = new
            nonlinear_inputs.append(new)
    linear_eqns = []
    for e in lg.eqns:  # the non-linear part runs forward
        if any(v.linear for v in e.outs) or any(getattr(a, "linear", False) for a in e.ins):
            linear_eqns.append(e)
            continue
        outs = b.copy_of(e, [a if isinstance(a, Lit) else env[a] for a in e.ins])
        for old, new in zip(e.outs, outs):
            env[old] = new
    ct: dict[Var, Var] = {}
    ct_inputs = []
    for v in lg.outputs:
        if v.linear:
            c = Var(v.type, True)
            ct_inputs.append(c)
            _accumulate(b, ct, v, c)
    for e in reversed(linear_eqns):
        cts = [ct.pop(v, None) for v in e.outs]
        if all(c is None for c in cts):
            continue
        rule = lookup(e.prim)
        if rule.transpose is None:
            raise LinearityError(f"{e.prim} is not linear: it has no transpose rule")
        b.origin = e.origin
        view = _view(e, env)
        contributions = rule.transpose(b, view, cts)
        if len(contributions) != len(e.ins):
            raise LintraError(f"the transpose rule of {e.prim} returned "
                              f"{len(contributions)} cotangents for {len(e.ins)} operands")
        # the last operand's contribution first: a variable read by several operands of
        # one equation sums its cotangents in the order the reference's transposition
        # does, so the two agree bit for bit
        for a, c in reversed(list(zip(e.ins, contributions))):
            if c is not None and isinstance(a, Var) and a.linear:
                _accumulate(b, ct, a, c)
        b.origin = None
    outputs = []
    for v in lg.inputs:
        if v.linear:
            c = ct.get(v)
            outputs.append(c if c is not None else b.zero(v.type))
    return prune(Graph(lg.name + "_t", nonlinear_inputs + ct_inputs, b.eqns, outputs))


def _view(e: Eqn, env: dict[Var, Atom]) -> Eqn:
    """``e`` with its non-linear operands replaced by the transposed graph's variables."""
    ins = tuple(a if isinstance(a, Lit) or a.linear else env[a] for a in e.ins)
    return Eqn(e.prim, ins, e.outs, e.params, e.origin)


def _accumulate(b: Builder, ct: dict[Var, Var], v: Var, c: Var) -> None:
    old = ct.get(v)
    ct[v] = c if old is None else b.op("add", old, c)
