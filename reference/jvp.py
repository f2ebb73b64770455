"""Forward mode as a program transformation (spec chapter 4).

``jvp_program(p)`` returns a program that takes ``p``'s inputs and one linear tangent per
float input, and returns ``p``'s results followed by one linear tangent per float result.
Each equation of ``p`` is copied unchanged and followed by the equations its primitive's JVP
rule emits (rule J-Eqn); a symbolic zero tangent (literals, integer and boolean values,
results of rules that give zero) emits nothing (J-Zero). Sharing of tangents is made explicit
at the end (rule Share). The walk is one loop over equations: no recursion in program length.
"""

from __future__ import annotations

from dataclasses import replace

from lintra.reference.check import CALL, DEFAULT_LITERAL_DTYPE
from lintra.reference.emit import (
    Emitter,
    NameSupply,
    check_argument,
    checked,
    program_names,
    rule_error,
    typed_program,
    without_collector,
)
from lintra.reference.errors import LintraError, UnsupportedPrimitiveError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import Tangent
from lintra.reference.syntax import Binder, Literal, Program, Var, VarType


def tangent_type(vt: VarType) -> VarType | None:
    """J-Type: a float value's tangent is a linear value of the same type; others have none."""
    return VarType(vt.array, linear=True) if vt.array.dtype.is_float else None


def typed_literals(em: Emitter, inputs: tuple, types: tuple[VarType, ...]) -> tuple:
    """J-Literal: a literal that took another dtype than its default (``2`` in ``pow(x, 2)``
    with x: f32) is given to the rule as a variable of that dtype, since the rule may use it
    where nothing else fixes its dtype."""
    if all([isinstance(a, Var) for a in inputs]):
        return inputs
    out = []
    for a, vt in zip(inputs, types):
        if isinstance(a, Literal) and vt.array.dtype is not DEFAULT_LITERAL_DTYPE[a.kind]:
            a = em.constant(a.value, vt.array, "k")
        out.append(a)
    return tuple(out)


@without_collector
def jvp_program(p: Program) -> Program:
    """The JVP program of ``p`` (spec 4.3): ``(xs..., dxs...) -> (ys..., dys...)``.

    ``p`` must be a checked, call-free program. A program with linear parameters is first
    read as the ordinary program it computes (:func:`forget_linearity`): a linear map is its
    own derivative. The result is checked before it is returned.
    """
    typing = check_argument(p, "jvp_program")
    if any(vt.linear for vt in typing.variables.values()):
        p = forget_linearity(p)
        typing = checked(p)
    names = NameSupply(program_names(p))
    em = Emitter(names)
    tangents: dict[str, Tangent] = {}
    tangent_inputs: list[Binder] = []
    for b in p.inputs:
        em.bind_existing(b.name, typing.variables[b.name])
    for b in p.inputs:
        tt = tangent_type(typing.variables[b.name])
        if tt is not None:
            dv = em.declare("d" + b.name, tt)
            tangent_inputs.append(Binder(dv.name, tt))
            tangents[b.name] = dv
    for index, (e, et) in enumerate(zip(p.equations, typing.equations)):
        if e.primitive == CALL:
            raise UnsupportedPrimitiveError(
                "jvp_program needs a call-free program (inline_calls(module, name) gives one)",
                program=p.name, location=e.loc, equation=f"equation {index + 1}: {e}",
            )
        em.copy_equation(e, et.outputs, et)
        ts = tuple([tangents.get(a.name) if isinstance(a, Var) else None for a in e.inputs])
        if all([t is None for t in ts]):
            continue
        prim = lookup(e.primitive)
        if prim.jvp is None:
            raise UnsupportedPrimitiveError(
                f"{prim.name} has no JVP rule", program=p.name, location=e.loc,
                equation=f"equation {index + 1}: {e}",
            )
        ys = tuple([Var(b.name) for b in e.outputs])
        start = len(em.equations)
        try:
            xs = typed_literals(em, e.inputs, et.inputs)
            dys = prim.jvp(em, xs, ts, ys, et.params)
        except LintraError as err:
            raise rule_error(err, prim.name, e, index, p.name, "JVP rule") from None
        for b, vt, dy in zip(e.outputs, et.outputs, dys):
            if dy is not None and vt.array.dtype.is_float:
                tangents[b.name] = em.rename(dy, "d" + b.name, start)
    tangent_outputs: list[Var] = []
    for v, vt in zip(p.outputs, p.result_types):
        if tangent_type(vt) is not None:
            dy = tangents.get(v.name)
            tangent_outputs.append(dy if dy is not None else em.zero(vt.array, "d" + v.name))
    return typed_program(
        p.name + "_jvp",
        [Binder(b.name, typing.variables[b.name]) for b in p.inputs] + tangent_inputs,
        em,
        list(p.outputs) + tangent_outputs,
    )


def forget_linearity(p: Program) -> Program:
    """The ordinary program that computes the same function as ``p`` (spec 4.4).

    ``lin`` qualifiers are dropped, ``a, b = dup(t)`` becomes two names for ``t``, ``drop(t)``
    disappears and ``z: lin T = zero()`` becomes the constant zero array of type ``T``.
    """
    typing = check_argument(p, "forget_linearity")
    names = NameSupply(program_names(p))
    em = Emitter(names)
    alias: dict[str, Var] = {}

    def rename(a: Var | Literal) -> Var | Literal:
        return alias.get(a.name, a) if isinstance(a, Var) else a

    inputs = []
    for b in p.inputs:
        vt = VarType(typing.variables[b.name].array)
        em.bind_existing(b.name, vt)
        inputs.append(Binder(b.name, vt))
    for e, et in zip(p.equations, typing.equations):
        if e.primitive == "dup":
            source = rename(e.inputs[0])
            for b in e.outputs:
                alias[b.name] = source  # type: ignore[assignment]
        elif e.primitive == "drop":
            continue
        elif e.primitive == "zero":
            alias[e.outputs[0].name] = em.constant(0.0, et.outputs[0].array, e.outputs[0].name)
        else:
            plain = replace(e, inputs=tuple(rename(a) for a in e.inputs))
            em.copy_equation(plain, [VarType(vt.array) for vt in et.outputs])
    outputs = [rename(v) for v in p.outputs]
    return Program(
        name=p.name,
        inputs=tuple(inputs),
        result_types=tuple(VarType(t.array) for t in p.result_types),
        equations=tuple(em.equations),
        outputs=tuple(outputs),  # type: ignore[arg-type]
    )
