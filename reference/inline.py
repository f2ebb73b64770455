"""Inlining calls (spec 1.4): the call-free program of one def of a module.

The transformations of chapters 4-5 take call-free programs; ``inline_calls`` gives one for
any def, so modules can be differentiated too. Defs are flattened in callee-first order
(``call_order``), each once, so a def called from many places is inlined from its flat
form and nothing recurses in the depth of the call graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from lintra.reference.check import CALL, ProgramTyping, annotate, call_order, check
from lintra.reference.emit import Emitter, NameSupply, checked_result, program_names
from lintra.reference.errors import LintraTypeError
from lintra.reference.syntax import (
    Atom,
    Binder,
    Equation,
    Literal,
    Module,
    Program,
    Var,
    VarType,
)


def inline_calls(module: Module, name: str | None = None) -> Program:
    """The def ``name`` of ``module`` (the module's only def if ``None``) with every call
    replaced by the callee's body, its variables renamed freshly. The result is annotated,
    checked and computes the same function (E-Call)."""
    if not isinstance(module, Module):
        raise LintraTypeError(f"inline_calls takes a Module, got {type(module).__name__}")
    if name is None:
        if len(module) != 1:
            raise LintraTypeError(
                f"the module has {len(module)} defs ({', '.join(module) or 'none'}); "
                "name the one to inline"
            )
        name = next(iter(module))
    if name not in module:
        raise LintraTypeError(f"the module has no def {name!r} (defs: {', '.join(module)})")
    typings = cast(dict[str, ProgramTyping], check(module))
    flat: dict[str, Flat] = {}
    for def_name in call_order(module):
        flat[def_name] = _flatten(annotate(typings[def_name]), flat)
        if def_name == name:
            break
    return checked_result(flat[name].program)


@dataclass(frozen=True)
class Flat:
    """A call-free def, and for each variable its origin: the def whose body wrote the
    equation and its name there (so nested inlining names ``y`` of ``g`` ``g_y``, never
    ``f_g_y``)."""

    program: Program
    origins: dict[str, tuple[str, str]]


def _flatten(p: Program, flat: dict[str, Flat]) -> Flat:
    """``p`` with each call replaced by the body of the (already flat) callee."""
    em = Emitter(NameSupply(program_names(p)))
    env: dict[str, Atom] = {}
    origins: dict[str, tuple[str, str]] = {}

    def resolve(a: Atom) -> Atom:
        return env.get(a.name, a) if isinstance(a, Var) else a

    for b in p.inputs:
        em.bind_existing(b.name, cast(VarType, b.type))  # parameters are always annotated
    for e in p.equations:
        args = [resolve(a) for a in e.inputs]
        if e.primitive != CALL:
            for b in e.outputs:
                em.bind_existing(b.name, cast(VarType, b.type))  # annotate() typed it
                origins[b.name] = (p.name, b.name)
            em.equations.append(Equation(e.outputs, e.primitive, tuple(args), e.params, e.loc))
            continue
        callee = flat[str(dict(e.params)["fn"])]
        inner: dict[str, Atom] = {b.name: a for b, a in zip(callee.program.inputs, args)}
        for ce in callee.program.equations:
            outs = []
            for b in ce.outputs:
                origin, base = callee.origins.get(b.name, (callee.program.name, b.name))
                v = em.declare(f"{origin}_{base}", cast(VarType, b.type))
                inner[b.name] = v
                origins[v.name] = (origin, base)
                outs.append(Binder(v.name, b.type))
            ins = tuple(inner.get(a.name, a) if isinstance(a, Var) else a for a in ce.inputs)
            em.equations.append(Equation(tuple(outs), ce.primitive, ins, ce.params))
        for b, v in zip(e.outputs, callee.program.outputs):
            env[b.name] = inner.get(v.name, v)
    outputs: list[Var] = []
    for v, vt in zip(p.outputs, p.result_types):
        a = resolve(v)
        if isinstance(a, Literal):  # a callee returned a literal argument: give it a name
            a = em.constant(a.value, vt.array, v.name)  # type: ignore[arg-type]
        outputs.append(cast(Var, a))
    program = Program(p.name, p.inputs, p.result_types, tuple(em.equations), tuple(outputs),
                      p.loc)
    return Flat(program, origins)
