"""Size bounds (spec 4.4 and 5.4, and the *Sizes* line of each family in chapter 3).

Each family states how many equations a JVP rule and a transpose rule emit at most, per
operand. On generated programs every rule application is measured (the rule is run on a
fresh emitter, as the transformations run it) and must stay within its family's statement;
whole transformed programs must stay within the bounds of 4.4 and 5.4.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lintra.conformance.properties import (
    JVP_EQUATIONS_PER_OPERAND,
    SCAN_JVP_EQUATIONS,
    TRANSPOSE_EQUATIONS_PER_OPERAND,
    jvp_equations_allowed,
)
from lintra.conformance.strategies import programs
from lintra.reference import PRIMITIVES, Program, check, jvp_program, transpose_program, unzip
from lintra.reference.emit import Emitter, NameSupply, program_names
from lintra.reference.jvp import tangent_type, typed_literals
from lintra.reference.primitives.base import LinearOperand
from lintra.reference.syntax import Var

SPEC = Path(__file__).resolve().parent.parent / "spec"
SIZES = re.compile(
    r"Sizes:\s+a\s+JVP\s+rule\s+emits\s+at\s+most\s+(\d+)\s+equations?\s+per\s+operand"
    r"[^;]*;\s+a\s+transpose\s+rule\s+at\s+most\s+(\d+)"
)


def stated_sizes() -> dict[str, tuple[int, int]]:
    """Family -> (JVP, transpose) equations per operand, read from spec 3.1-3.8."""
    out = {}
    for path in SPEC.glob("3.*.md"):
        m = SIZES.search(path.read_text(encoding="utf-8"))
        assert m, f"{path.name} has no 'Sizes:' statement"
        out[path.stem.split("-", 1)[1]] = (int(m.group(1)), int(m.group(2)))
    return out


STATED = stated_sizes()
JVP_BOUND = max(j for j, _ in STATED.values())
TRANSPOSE_BOUND = max(t for _, t in STATED.values())


def test_every_family_states_its_sizes() -> None:
    assert set(STATED) == {prim.family for prim in PRIMITIVES.values()}
    assert (JVP_BOUND, TRANSPOSE_BOUND) == (13, 3)  # the constants quoted in 4.4 and 5.4
    # the conformance suite's structural check uses the same constants
    assert (JVP_EQUATIONS_PER_OPERAND, TRANSPOSE_EQUATIONS_PER_OPERAND) == (
        JVP_BOUND, TRANSPOSE_BOUND)


def rule_sizes(p: Program) -> list[tuple[str, str, int, int, int]]:
    """(primitive, "jvp" or "transpose", equations emitted, operands, the length of a
    cumprod's or cummax's axis or 0) per rule application that the transformations of ``p``
    would make, with
    every float operand varying."""
    typing = check(p)
    out = []
    for e, et in zip(p.equations, typing.equations):
        prim = PRIMITIVES.get(e.primitive)
        if prim is None:
            continue
        length = 0
        if e.primitive in SCAN_JVP_EQUATIONS:
            x = et.inputs[0].array
            length = x.shape[int(et.params["axis"]) % x.rank]
        varying = [isinstance(a, Var) and tangent_type(vt) is not None
                   for a, vt in zip(e.inputs, et.inputs)]
        if prim.jvp is not None and any(varying):
            em = Emitter(NameSupply(program_names(p)))
            for name, vt in typing.variables.items():
                em.bind_existing(name, vt)
            ts = tuple(em.declare("d", tangent_type(vt)) if v else None  # type: ignore[arg-type]
                       for v, vt in zip(varying, et.inputs))
            xs = typed_literals(em, e.inputs, et.inputs)
            start = len(em.equations)
            prim.jvp(em, xs, ts, tuple(Var(b.name) for b in e.outputs), et.params)
            out.append((e.primitive, "jvp", len(em.equations) - start, len(e.inputs), length))
        if prim.transpose is not None and any(vt.linear for vt in et.inputs):
            em = Emitter(NameSupply(program_names(p)))
            for name, vt in typing.variables.items():
                em.bind_existing(name, vt)
            cts = tuple(em.declare("ct", vt) for vt in et.outputs)
            xs = tuple(LinearOperand(vt.array) if vt.linear else a
                       for a, vt in zip(e.inputs, et.inputs))
            start = len(em.equations)
            prim.transpose(em, cts, xs, et.params)
            out.append((e.primitive, "transpose", len(em.equations) - start, len(e.inputs),
                        length))
    return out


@given(st.booleans().flatmap(lambda linear: programs(linear=linear, max_equations=8)))
def test_rules_emit_what_their_family_states(p: Program) -> None:
    for name, stage, emitted, operands, length in rule_sizes(p):
        jvp_limit, transpose_limit = STATED[PRIMITIVES[name].family]
        limit = (jvp_limit if stage == "jvp" else transpose_limit) * max(operands, 1)
        if name in SCAN_JVP_EQUATIONS and stage == "jvp":  # grows with the axis (spec 3.7)
            limit = SCAN_JVP_EQUATIONS[name](length)
        assert emitted <= limit, (name, stage, emitted, operands, length)


def operands_and_uses(p: Program) -> tuple[int, int]:
    """``k``, the operands of all equations, and ``u``, the variable uses plus the
    variables: rule Share adds at most one dup per extra use and one drop per variable."""
    k = sum(len(e.inputs) for e in p.equations)
    variables = len(p.inputs) + sum(len(e.outputs) for e in p.equations)
    return k, k + len(p.outputs) + variables


@given(programs(max_equations=8))
def test_transformed_programs_stay_within_the_size_bounds(p: Program) -> None:
    n = len(p.equations)
    k, u = operands_and_uses(p)
    jp = jvp_program(p)
    assert len(jp.equations) <= n + jvp_equations_allowed(p) + k + u  # spec 4.4, Size
    _, linear = unzip(jp)
    n_lin = len(linear.equations)
    k_lin, u_lin = operands_and_uses(linear)
    lt = transpose_program(linear)
    assert len(lt.equations) <= n_lin + TRANSPOSE_BOUND * k_lin + u_lin  # spec 5.4
