"""Transposition (spec 5.2): the adjoint of a linear graph, with cotangent accumulation.

The non-linear equations of the linear graph (coefficients, masks) run first, forward, in the
transposed graph. Then the linear equations are visited in reverse: each one whose results
have a cotangent hands them to its primitive's ``transpose`` rule, which emits the equations
giving each linear operand's contribution; contributions to one variable are summed with
``add`` as they arrive. A linear parameter that received nothing gets a concrete ``zero``.
One pass each way; never recursive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lintra.optimized.ir import Builder, Graph, Var, collector_paused_during, lookup
from lintra.optimized.simplify import prune
from lintra.reference.errors import LinearityError, LintraError

if TYPE_CHECKING:
    from lintra.optimized.rules.base import TransposeRule


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
        # linear: a linear result or a linear operand (the results of one equation are
        # all linear or all not)
        outs = e.outs
        if (outs and outs[0].linear) or any(a.linear for a in e.ins):
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
    rules: dict[str, TransposeRule] = {}  # each primitive's transpose rule, looked up once
    for e in reversed(linear_eqns):
        outs = e.outs
        if len(outs) == 1:  # most equations: one result, one lookup
            c = ct.pop(outs[0], None)
            if c is None:
                continue
            cts = [c]
        else:
            cts = [ct.pop(v, None) for v in outs]
            if cts.count(None) == len(cts):
                continue
        transpose = rules.get(e.prim)
        if transpose is None:
            transpose = rules[e.prim] = _transpose_rule(e.prim)
        b.origin = e.origin
        contributions = transpose(b, e, cts)
        ins = e.ins
        if len(contributions) != len(ins):
            raise LintraError(f"the transpose rule of {e.prim} returned "
                              f"{len(contributions)} cotangents for {len(ins)} operands")
        # the last operand's contribution first: a variable read by several operands of
        # one equation sums its cotangents in the order the reference's transposition
        # does, so the two agree bit for bit
        for k in range(len(contributions) - 1, -1, -1):
            c = contributions[k]
            if c is not None:
                a = ins[k]
                if a.linear:
                    old = ct.get(a)  # type: ignore[arg-type]
                    ct[a] = c if old is None else b.op("add", old, c)  # type: ignore[index]
    b.origin = None
    outputs = []
    for v in lg.inputs:
        if v.linear:
            c = ct.get(v)
            outputs.append(c if c is not None else b.zero(v.type))
    return prune(Graph(lg.name + "_t", nonlinear_inputs + ct_inputs, eqns, outputs))


def _transpose_rule(prim: str) -> TransposeRule:
    """The transpose rule of ``prim`` (a LinearityError if it is not linear)."""
    transpose = lookup(prim).transpose
    if transpose is None:
        raise LinearityError(f"{prim} is not linear: it has no transpose rule")
    return transpose


def _accumulate(b: Builder, ct: dict[Var, Var], v: Var, c: Var) -> None:
    old = ct.get(v)
    ct[v] = c if old is None else b.op("add", old, c)
