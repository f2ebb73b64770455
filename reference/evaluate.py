"""The reference evaluator (spec chapter 3): run a checked program in a number domain.

Evaluation is a loop over equations that looks each primitive's record up and applies its
evaluation rule; calls push a frame on an explicit stack, so neither program length nor call
depth uses Python recursion. Inputs are never mutated and nothing global changes (the mpmath
domain's contexts are never changed once made). In the mpmath domain every equation's float
results are put within the domain's exponent range (spec 3.0.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lintra.reference.check import CALL, FLOAT_OVERFLOW, INT_RANGE, ProgramTyping, check
from lintra.reference.domains import Domain, MpDomain, domain_for
from lintra.reference.domains import _nearest_f32 as nearest_f32
from lintra.reference.emit import checked, without_collector
from lintra.reference.errors import LintraError, LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.syntax import (
    ArrayType,
    DType,
    Equation,
    Literal,
    Module,
    Program,
    VarType,
)

Value = np.ndarray


@dataclass
class _Frame:
    """One activation: a program, its variables' values and the next equation to run."""

    typing: ProgramTyping
    env: dict[str, Value]
    pc: int = 0
    caller_binders: tuple[str, ...] = field(default=())


def read_array(value: object, name: str, t: ArrayType) -> np.ndarray:
    """The argument as a NumPy array; a ragged nested list is a :class:`ShapeError`."""
    if isinstance(value, (Program, Module, dict)):
        raise LintraTypeError(
            f"argument {name} must be an array of type {t}, got a {type(value).__name__}"
        )
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as err:  # inhomogeneous nesting, unreadable objects
        raise ShapeError(
            f"argument {name} must be an array of type {t}, but NumPy cannot read it as "
            f"one rectangular array ({err})"
        ) from None


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def exact_argument(arr: np.ndarray, name: str, t: ArrayType) -> np.ndarray:
    """E-Args for integer and boolean parameters: booleans for bool; integers, or integral
    floats, within the dtype's range for i64 and i32; never rounded, truncated or wrapped."""
    elements = arr.ravel().tolist() if arr.dtype == object else None
    if t.dtype is DType.bool:
        ok = (arr.dtype.kind == "b" if elements is None
              else all(isinstance(v, (bool, np.bool_)) for v in elements))
        if not ok:
            raise LintraTypeError(f"argument {name} must be booleans ({t}), got {_what(arr)}")
        return arr.astype(np.bool_)
    if elements is None:
        if arr.dtype.kind == "f":
            elements = arr.ravel().tolist()  # Python floats: exact
        elif arr.dtype.kind in "iu":
            elements = [int(arr.min()), int(arr.max())] if arr.size else []
        else:
            raise LintraTypeError(f"argument {name} must be integers ({t}), got {_what(arr)}")
    lo, hi = INT_RANGE[t.dtype]
    for v in elements:
        if isinstance(v, (float, np.floating)):
            if not (np.isfinite(v) and float(v).is_integer()):
                raise LintraTypeError(
                    f"argument {name} must be integers ({t}), got the non-integral {v!r}"
                )
            v = int(v)
        elif not _is_int(v):
            raise LintraTypeError(
                f"argument {name} must be integers ({t}), got an element of type "
                f"{type(v).__name__}"
            )
        if not lo <= int(v) <= hi:
            raise LintraTypeError(
                f"argument {name}: {v} is outside the range of {t.dtype} [{lo}, {hi}] "
                "(integers never wrap around)"
            )
    if arr.dtype == object or arr.dtype.kind == "f":
        flat = [int(v) for v in arr.ravel().tolist()]
        return np.array(flat, dtype=t.dtype.numpy).reshape(arr.shape)
    return arr.astype(t.dtype.numpy)


def float_elements(arr: np.ndarray, name: str, t: ArrayType) -> np.ndarray:
    """E-Args for the elements of an object array given for a float parameter: a binary
    float, integer or boolean is rounded to the parameter's dtype here (in both domains);
    an integer with no finite value in the dtype is refused; a decimal string or an mpmath
    number is left to the domain, which takes it as the real it denotes."""
    kind = t.dtype.numpy.type
    limit = FLOAT_OVERFLOW[t.dtype]
    out = []
    for v in arr.ravel().tolist():  # flat: np.ndindex would build a range per dimension
        if isinstance(v, (bool, np.bool_)):
            v = kind(bool(v))
        elif _is_int(v):
            if abs(int(v)) >= limit:
                raise LintraTypeError(
                    f"argument {name}: an integer of {int(v).bit_length()} bits has no finite "
                    f"value in {t.dtype} (it rounds to infinity: {t} needs magnitudes below "
                    f"its largest finite value plus half an ulp)"
                )
            v = nearest_f32(int(v)) if t.dtype is DType.f32 else kind(int(v))
        elif isinstance(v, (float, np.floating)):
            v = nearest_f32(v) if t.dtype is DType.f32 else kind(v)
        elif not (isinstance(v, str) or type(v).__module__.startswith("mpmath")):
            raise LintraTypeError(
                f"argument {name} must be numbers ({t}), got an element of type "
                f"{type(v).__name__}"
            )
        out.append(v)
    result = np.empty(len(out), dtype=object)
    result[:] = out
    return result.reshape(arr.shape)


def _what(arr: np.ndarray) -> str:
    return f"an array of {arr.dtype}" if arr.dtype != object else "other objects"


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
        try:
            arr = read_array(value, b.name, t)
            if arr.shape != t.shape:
                raise ShapeError(
                    f"argument {b.name} must have shape {t.shape} ({t}), got shape {arr.shape}"
                )
            if not t.dtype.is_float:
                arr = exact_argument(arr, b.name, t)
            elif arr.dtype == object:
                arr = float_elements(arr, b.name, t)
            env[b.name] = d.argument(arr, t)
        except LintraError as err:
            message = err.message
            if not message.startswith(f"argument {b.name}"):
                message = f"argument {b.name}: {message}"
            raise type(err)(message, program=p.name, variable=b.name) from None
        except (TypeError, ValueError, ArithmeticError) as err:
            raise LintraTypeError(
                f"argument {b.name} cannot be read as {t}: {err}", program=p.name, variable=b.name
            ) from None
    return env


def _operands(e: Equation, types: tuple[VarType, ...], env: dict[str, Value], d: Domain
              ) -> tuple:
    """E-Var and E-Lit: a variable's value, a literal in the dtype it takes."""
    return tuple([
        d.literal(a.value, vt.array.dtype) if isinstance(a, Literal) else env[a.name]
        for a, vt in zip(e.inputs, types)
    ])


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
    in_range = isinstance(d, MpDomain)  # sums and products may leave the range (spec 3.0.1)
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
        xs = _operands(e, et.inputs, frame.env, d)
        if e.primitive == CALL:
            callee = typings[str(et.params["fn"])]
            env = dict(zip((b.name for b in callee.program.inputs), xs))
            frames.append(_Frame(callee, env, 0, tuple(b.name for b in e.outputs)))
            continue
        prim = lookup(e.primitive)
        outs = tuple([vt.array for vt in et.outputs])
        try:
            ys = prim.evaluate(d, xs, et.params, outs)
        except LintraError as err:
            raise err.at(
                program=prog.name, location=e.loc, equation=f"equation {frame.pc + 1}: {e}"
            ) from None
        if in_range:
            ys = tuple(d.within_range(y) if y.dtype == object else y  # type: ignore[attr-defined]
                       for y in ys)
        for b, y in zip(e.outputs, ys):
            frame.env[b.name] = y
        frame.pc += 1
    return results


@without_collector
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
    if not isinstance(program, Program):
        hint = " (pick one def with module['name'])" if isinstance(program, Module) else ""
        raise LintraTypeError(
            f"evaluate takes a Program, got a {type(program).__name__}{hint}"
        )
    if module is not None and not isinstance(module, Module):
        raise LintraTypeError(f"module must be a Module, got a {type(module).__name__}")
    return run(program, args, domain_for(dps), module)
