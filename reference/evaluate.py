"""The reference evaluator (spec chapter 3): run a checked program in a number domain.

Evaluation is a loop over equations that looks each primitive's record up and applies its
evaluation rule; calls push a frame on an explicit stack, so neither program length nor call
depth uses Python recursion. Inputs are never mutated and nothing global changes (the mpmath
domain's contexts are never changed once made). In the mpmath domain every equation's float
results are put within the domain's exponent range (spec 3.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lintra.reference.check import CALL, ProgramTyping, check
from lintra.reference.domains import Domain, MpDomain, domain_for
from lintra.reference.emit import checked
from lintra.reference.errors import LintraError, LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.syntax import Literal, Module, Program

Value = np.ndarray


@dataclass
class _Frame:
    """One activation: a program, its variables' values and the next equation to run."""

    typing: ProgramTyping
    env: dict[str, Value]
    pc: int = 0
    caller_binders: tuple[str, ...] = field(default=())


def bind_arguments(p: Program, args: Sequence[object], d: Domain) -> dict[str, Value]:
    """E-Args: convert each argument to its parameter's type in domain ``d``."""
    if len(args) != len(p.inputs):
        sig = ", ".join(str(b) for b in p.inputs)
        raise LintraTypeError(
            f"{p.name}({sig}) takes {len(p.inputs)} argument{'s' if len(p.inputs) != 1 else ''}"
            f", got {len(args)}",
            program=p.name,
        )
    env: dict[str, Value] = {}
    for b, value in zip(p.inputs, args):
        if b.type is None:
            raise LintraTypeError(f"parameter {b.name} needs a type", program=p.name)
        t = b.type.array
        shape = np.shape(value)
        if tuple(shape) != t.shape:
            raise ShapeError(
                f"argument {b.name} must have shape {t.shape} ({t}), got shape {tuple(shape)}",
                program=p.name,
                variable=b.name,
            )
        try:
            env[b.name] = d.argument(value, t)
        except LintraError as err:
            raise type(err)(
                f"argument {b.name}: {err.message}", program=p.name, variable=b.name
            ) from None
        except (TypeError, ValueError) as err:
            raise LintraTypeError(
                f"argument {b.name} cannot be read as {t}: {err}", program=p.name, variable=b.name
            ) from None
    return env


def _operands(typing: ProgramTyping, index: int, env: dict[str, Value], d: Domain) -> tuple:
    e = typing.program.equations[index]
    types = typing.equations[index].inputs
    return tuple(
        d.literal(a.value, vt.array.dtype) if isinstance(a, Literal) else env[a.name]
        for a, vt in zip(e.inputs, types)
    )


def run(
    p: Program, args: Sequence[object], d: Domain, module: Module | None = None
) -> tuple[Value, ...]:
    """Evaluate program ``p`` on ``args`` in domain ``d`` (E-Program)."""
    typings = check(module) if module is not None else {}
    top = typings.get(p.name) if module is not None and module.get(p.name) is p else None
    if top is None:
        top = check(p, module) if module is not None else checked(p)
    frames = [_Frame(top, bind_arguments(p, args, d))]
    results: tuple[Value, ...] = ()
    while frames:
        frame = frames[-1]
        prog = frame.typing.program
        if frame.pc == len(prog.equations):
            results = tuple(frame.env[v.name] for v in prog.outputs)
            frames.pop()
            if frames:
                caller = frames[-1]
                for name, value in zip(frame.caller_binders, results):
                    caller.env[name] = value
                caller.pc += 1
            continue
        e = prog.equations[frame.pc]
        et = frame.typing.equations[frame.pc]
        xs = _operands(frame.typing, frame.pc, frame.env, d)
        if e.primitive == CALL:
            callee = typings[str(et.params["fn"])]
            env = dict(zip((b.name for b in callee.program.inputs), xs))
            frames.append(_Frame(callee, env, 0, tuple(b.name for b in e.outputs)))
            continue
        prim = lookup(e.primitive)
        outs = tuple(vt.array for vt in et.outputs)
        try:
            ys = prim.evaluate(d, xs, et.params, outs)
        except LintraError as err:
            raise err.at(
                program=prog.name, location=e.loc, equation=f"equation {frame.pc + 1}: {e}"
            ) from None
        if isinstance(d, MpDomain):  # sums and products may leave the range (spec 3.1)
            ys = tuple(d.within_range(y) if y.dtype == object else y for y in ys)
        for b, y in zip(e.outputs, ys):
            frame.env[b.name] = y
        frame.pc += 1
    return results


def evaluate(
    program: Program, *args: object, dps: int | None = None, module: Module | None = None
) -> tuple[Value, ...]:
    """Evaluate ``program`` on ``args`` (spec chapter 3).

    With ``dps=None`` values are float64-domain NumPy arrays of the declared dtypes; with
    ``dps=N`` float values are NumPy object arrays of mpmath numbers at ``N`` decimal digits
    (integers and booleans stay exact NumPy arrays). ``module`` supplies the defs that
    ``call`` refers to. Returns one array per result, rank-0 arrays for scalars. The program is
    checked first; ill-typed programs and bad arguments raise :class:`LintraError` subclasses.
    """
    return run(program, args, domain_for(dps), module)
