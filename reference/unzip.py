"""Partial evaluation of a JVP program into a primal and a linear program (spec 5.1).

``unzip(jp)`` sends every non-linear equation to the *primal* program and every equation with
a linear operand or result to the *linear* program. The non-linear values the linear program
reads are its *residuals*: the primal program returns them after its own results and the
linear program takes them as its first (non-linear) parameters. A recompute policy may copy a
non-linear equation into the linear program instead of saving its result (checkpointing);
every policy computes the same values (U-Recompute).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal as Choice

from lintra.reference.check import EquationTyping, ProgramTyping, keep_typing
from lintra.reference.emit import check_argument, without_collector
from lintra.reference.errors import LintraTypeError
from lintra.reference.syntax import Binder, Equation, Program, Var

RecomputePolicy = Callable[[Equation], bool]
"""Decides, for a non-linear equation whose result the linear program reads, whether the
linear program recomputes it (``True``) or reads it as a residual (``False``)."""


def save_all(e: Equation) -> bool:
    """The default policy: save every residual, recompute nothing (U-Save)."""
    return False


def recompute_all(e: Equation) -> bool:
    """Recompute everything the linear program needs from the primal inputs (checkpointing)."""
    return True


POLICIES: dict[str, RecomputePolicy] = {"save": save_all, "recompute": recompute_all}


def is_linear_equation(e: Equation, typing: ProgramTyping) -> bool:
    """An equation belongs to the linear side if an operand or a result is linear."""
    types = typing.variables
    for b in e.outputs:
        if types[b.name].linear:
            return True
    for a in e.inputs:
        if isinstance(a, Var) and types[a.name].linear:
            return True
    return False


@without_collector
def unzip(
    jp: Program, recompute: RecomputePolicy | Choice["save", "recompute"] = "save"
) -> tuple[Program, Program]:
    """Split ``jp`` into ``(primal_program, linear_program)`` (spec 5.1).

    ``primal_program``: ``jp``'s non-linear parameters -> its non-linear results, then the
    residuals. ``linear_program``: the residuals (non-linear), then ``jp``'s linear parameters
    -> ``jp``'s linear results. Residuals are exactly the non-linear variables the linear
    program reads and does not recompute, in order of definition.
    """
    policy = POLICIES.get(recompute) if isinstance(recompute, str) else recompute
    if policy is None:
        raise LintraTypeError(
            f"unknown recompute policy {recompute!r} (expected one of {', '.join(POLICIES)} "
            "or a function of an equation)"
        )
    typing = check_argument(jp, "unzip")
    types = typing.variables
    linear_eqns: list[Equation] = []
    primal_eqns: list[Equation] = []
    for e in jp.equations:
        (linear_eqns if is_linear_equation(e, typing) else primal_eqns).append(e)

    needed: set[str] = set()
    for e in linear_eqns:
        for a in e.inputs:
            if isinstance(a, Var) and not types[a.name].linear:
                needed.add(a.name)
    recomputed: list[Equation] = []
    for e in reversed(primal_eqns):
        if any([b.name in needed for b in e.outputs]) and policy(e):
            recomputed.append(e)
            needed.difference_update([b.name for b in e.outputs])
            needed.update([a.name for a in e.inputs if isinstance(a, Var)])
    recomputed.reverse()
    order = [b.name for b in jp.inputs] + [b.name for e in jp.equations for b in e.outputs]
    residuals = [name for name in order if name in needed]

    primal_outputs = [v for v in jp.outputs if not types[v.name].linear]
    live = {v.name for v in primal_outputs} | set(residuals)
    kept_recomputed = {id(e) for e in recomputed}
    kept: list[Equation] = []
    for e in reversed(primal_eqns):
        if id(e) not in kept_recomputed or any([b.name in live for b in e.outputs]):
            kept.append(e)
            for a in e.inputs:
                if isinstance(a, Var):
                    live.add(a.name)
    kept.reverse()

    def annotated(e: Equation) -> Equation:
        if all([b.type is not None for b in e.outputs]):  # checked: annotations are the types
            return e
        return Equation(
            tuple(Binder(b.name, types[b.name], b.loc) for b in e.outputs),
            e.primitive, e.inputs, e.params, e.loc,
        )

    primal = Program(
        name=jp.name + "_primal",
        inputs=tuple(Binder(b.name, types[b.name]) for b in jp.inputs
                     if not types[b.name].linear),
        result_types=tuple(types[v.name] for v in primal_outputs)
        + tuple(types[r] for r in residuals),
        equations=tuple(annotated(e) for e in kept),
        outputs=tuple(primal_outputs) + tuple(Var(r) for r in residuals),
    )
    linear_outputs = [v for v in jp.outputs if types[v.name].linear]
    linear = Program(
        name=jp.name + "_lin",
        inputs=tuple(Binder(r, types[r]) for r in residuals)  # non-linear (U-Split)
        + tuple(Binder(b.name, types[b.name]) for b in jp.inputs if types[b.name].linear),
        result_types=tuple(types[v.name] for v in linear_outputs),
        equations=tuple(annotated(e) for e in recomputed + linear_eqns),
        outputs=tuple(linear_outputs),
    )
    typing_of = dict(zip(map(id, jp.equations), typing.equations))
    return (part_with_typing(primal, [typing_of[id(e)] for e in kept]),
            part_with_typing(linear, [typing_of[id(e)] for e in recomputed + linear_eqns]))


def part_with_typing(part: Program, typings: list[EquationTyping]) -> Program:
    """``part``, whose equations are equations of a checked program in their order there, with
    its typing kept on it (:func:`~lintra.reference.check.keep_typing`), given the typing each
    equation had in that program: an equation's typing depends only on its operands' types
    and its parameters, which are the same in the part, so no type is inferred again. That
    each part passes the checker is what U-Split's construction guarantees (spec 5.1), and
    ``tests/test_reference_scale.py`` compares these typings with ``check``'s."""
    variables = {b.name: b.type for b in part.inputs}
    for e, et in zip(part.equations, typings):
        for b, vt in zip(e.outputs, et.outputs):
            variables[b.name] = vt
    keep_typing(ProgramTyping(part, variables, tuple(typings)))  # type: ignore[arg-type]
    return part
