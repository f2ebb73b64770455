"""Transposition (spec 5.2): the adjoint of a linear graph, with cotangent accumulation.

The non-linear equations of the linear graph (coefficients, masks) run first, forward, in the
transposed graph. Then the linear equations are visited in reverse: each one whose results
have a cotangent hands them to its primitive's ``transpose`` rule, which emits the equations
giving each linear operand's contribution; contributions to one variable are summed with
``add`` as they arrive. A linear parameter that received nothing gets a concrete ``zero``.
One pass each way; never recursive.
"""

from __future__ import annotations

from lintra.optimized.ir import Builder, Eqn, Graph, Var, collector_paused_during, lookup
from lintra.optimized.simplify import prune
from lintra.reference.errors import LinearityError, LintraError


@collector_paused_during
def transpose_graph(lg: Graph) -> Graph:
    """For ``lg(nonlinear..., linear...) -> (results)`` (parameters in any order): the graph
    ``(nonlinear..., cotangents of the linear results...) -> (cotangents of the linear
    parameters...)``. Non-linear results of ``lg`` are left out.

    The non-linear parameters and equations of ``lg`` are taken over as they are (graphs
    are never changed once built), so the transpose rules see ``lg``'s own equations."""
    b = Builder()
    eqns = b.eqns
    nonlinear_inputs = [v for v in lg.inputs if not v.linear]
    linear_eqns = []
    for e in lg.eqns:  # the non-linear part runs forward
        if _is_linear(e):
            linear_eqns.append(e)
        else:
            eqns.append(e)
    ct: dict[Var, Var] = {}
    ct_inputs = []
    for v in lg.outputs:
        if v.linear:
            c = Var(v.type, True)
            ct_inputs.append(c)
            _accumulate(b, ct, v, c)
    for e in reversed(linear_eqns):
        cts = [ct.pop(v, None) for v in e.outs]
        for c in cts:
            if c is not None:
                break
        else:
            continue
        rule = lookup(e.prim)
        if rule.transpose is None:
            raise LinearityError(f"{e.prim} is not linear: it has no transpose rule")
        b.origin = e.origin
        contributions = rule.transpose(b, e, cts)
        if len(contributions) != len(e.ins):
            raise LintraError(f"the transpose rule of {e.prim} returned "
                              f"{len(contributions)} cotangents for {len(e.ins)} operands")
        # the last operand's contribution first: a variable read by several operands of
        # one equation sums its cotangents in the order the reference's transposition
        # does, so the two agree bit for bit
        for k in range(len(contributions) - 1, -1, -1):
            c, a = contributions[k], e.ins[k]
            if c is not None and a.linear:
                _accumulate(b, ct, a, c)
        b.origin = None
    outputs = []
    for v in lg.inputs:
        if v.linear:
            c = ct.get(v)
            outputs.append(c if c is not None else b.zero(v.type))
    return prune(Graph(lg.name + "_t", nonlinear_inputs + ct_inputs, eqns, outputs))


def _is_linear(e: Eqn) -> bool:
    """Whether ``e`` has a linear result or reads a linear operand (the results of one
    equation are all linear or all not)."""
    outs = e.outs
    if outs and outs[0].linear:
        return True
    for a in e.ins:
        if a.linear:
            return True
    return False


def _accumulate(b: Builder, ct: dict[Var, Var], v: Var, c: Var) -> None:
    old = ct.get(v)
    ct[v] = c if old is None else b.op("add", old, c)
