"""Transposition of linear programs (spec 5.2).

``transpose_program(lp)`` turns a checked linear program ``(rs..., ts...) -> (us...)``, with
non-linear parameters ``rs`` and linear parameters ``ts`` and linear results ``us``, into
``(rs..., cts...) -> (cts of ts...)``: one linear cotangent parameter per result of ``lp``
and one cotangent result per linear parameter. Non-linear equations (computations on
residuals) are copied first, in order (T-Forward); linear equations are transposed in reverse
order, each by its primitive's transpose rule (T-Eqn). Linear A's dualities fall out of the
rules of the linear-only primitives: ``dup`` transposes to ``add``, ``drop`` to ``zero`` and
``zero`` to ``drop``. Zero cotangents are symbolic: an equation whose results all have zero
cotangents emits nothing (T-Skip).
"""

from __future__ import annotations

from lintra.reference.check import CALL
from lintra.reference.emit import (
    Emitter,
    NameSupply,
    check_argument,
    program_names,
    rule_error,
    typed_program,
    without_collector,
)
from lintra.reference.errors import LinearityError, LintraError, UnsupportedPrimitiveError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import LinearOperand, Tangent
from lintra.reference.syntax import Binder, Program, Var
from lintra.reference.unzip import is_linear_equation


@without_collector
def transpose_program(lp: Program) -> Program:
    """The transpose of linear program ``lp`` (spec 5.2).

    Raises :class:`LinearityError` naming the place if ``lp`` is not linear (a product of
    two linear values, ``add(t, 1.0)``, a linear value fed to ``sin``, a linear value used
    twice without ``dup``, a non-linear result), before any transposition work.
    """
    typing = check_argument(lp, "transpose_program")
    types = typing.variables
    for i, (v, vt) in enumerate(zip(lp.outputs, lp.result_types)):
        if not vt.linear:
            raise LinearityError(
                f"result {i + 1} ({v.name}: {vt}) is non-linear; transpose_program needs a "
                "program whose results are all linear",
                program=lp.name, location=v.loc, variable=v.name,
            )
    names = NameSupply(program_names(lp))
    em = Emitter(names)
    residual_inputs = [Binder(b.name, types[b.name]) for b in lp.inputs
                       if not types[b.name].linear]
    for b in residual_inputs:
        em.bind_existing(b.name, types[b.name])
    linear_eqns = []
    for index, (e, et) in enumerate(zip(lp.equations, typing.equations)):
        if e.primitive == CALL:
            raise UnsupportedPrimitiveError(
                "transpose_program needs a call-free program "
                "(inline_calls(module, name) gives one)",
                program=lp.name, location=e.loc, equation=f"equation {index + 1}: {e}",
            )
        if is_linear_equation(e, typing):
            linear_eqns.append((index, e, et))
        else:
            em.copy_equation(e, et.outputs, et)

    cotangents: dict[str, Tangent] = {}
    cotangent_inputs: list[Binder] = []
    for v, vt in zip(lp.outputs, lp.result_types):
        ct = em.declare("ct_" + v.name, vt)
        cotangent_inputs.append(Binder(ct.name, vt))
        cotangents[v.name] = ct
    for index, e, et in reversed(linear_eqns):
        cts = tuple([cotangents.pop(b.name, None) for b in e.outputs])
        if e.outputs and all([ct is None for ct in cts]):
            continue
        prim = lookup(e.primitive)
        if prim.transpose is None:
            raise UnsupportedPrimitiveError(
                f"{prim.name} has no transpose rule", program=lp.name, location=e.loc,
                equation=f"equation {index + 1}: {e}",
            )
        xs = tuple([
            LinearOperand(vt.array) if vt.linear else a for a, vt in zip(e.inputs, et.inputs)
        ])
        start = len(em.equations)
        try:
            contributions = prim.transpose(em, cts, xs, et.params)
        except LintraError as err:
            raise rule_error(err, prim.name, e, index, lp.name, "transpose rule") from None
        for a, x, ct in zip(e.inputs, xs, contributions):
            if isinstance(x, LinearOperand) and isinstance(a, Var) and ct is not None:
                cotangents[a.name] = em.rename(ct, "ct_" + a.name, start)
    outputs: list[Var] = []
    for b in lp.inputs:
        vt = types[b.name]
        if vt.linear:
            ct = cotangents.get(b.name)
            outputs.append(ct if ct is not None else em.zero(vt.array, "ct_" + b.name))
    return typed_program(lp.name + "_t", residual_inputs + cotangent_inputs, em, outputs)
