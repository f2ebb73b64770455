"""The type and linearity checker (spec chapter 2).

``check`` walks a program's equations once, in order (no recursion in program length), and
either returns the typing of every equation or raises the first error as a
:class:`LintraTypeError`, :class:`ShapeError`, :class:`LinearityError` or
:class:`UnsupportedPrimitiveError` naming the program, line and column, equation and variable.

Each judgment of chapter 2 has one function here, named after it:
``check_program`` (T-Program), ``check_params`` (T-Params), ``check_operand`` (T-Var, T-Lit),
``check_linearity`` (L-Never, L-Together, L-AtMostOne, L-LinearOnly), ``check_equation``
(T-Eqn), ``check_call`` (T-Call), ``check_return`` (T-Return) and ``check_consumed``
(L-Exhaust). Conventions: ``p`` program, ``e`` equation, ``a`` atom, ``vt`` variable type.

Two memos make long programs cheap without changing a typing or an error: the judgments that
depend only on an equation's primitive, operand types and parameters (T-Params, linearity,
the type rule) are remembered per such signature (:func:`known_typing`), since a long
program repeats a few signatures many times, and a failing one is judged again in order to
raise its error at its place; and a checked program object can keep its typing
(:func:`keep_typing`), so that the transformation or evaluation that takes it next does not
check it again.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import NamedTuple

from lintra.reference.errors import (
    LinearityError,
    LintraError,
    LintraTypeError,
    Location,
    ShapeError,
)
from lintra.reference.parse import RESERVED
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import LinearityKind, Primitive
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    Module,
    ParamValue,
    Program,
    Var,
    VarType,
)

CALL = "call"
"""The call form ``call(args..., fn="name")`` (spec 1.4): a language construct, not a primitive."""

DEFAULT_LITERAL_DTYPE = {"float": DType.f64, "int": DType.i64, "bool": DType.bool}

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A name (spec 1.2): the parser's name token."""

MAX_RANK = 32
"""The largest rank of a type (spec 2.1), NumPy's historical limit."""

MAX_ELEMENTS = 2**60
"""The product of a type's non-zero dimensions (its number of elements when none is 0) is
below this (spec 2.1): an array of that many 8-byte elements would need 2^63 bytes, beyond a
signed 64-bit size, and NumPy bounds the non-zero dimensions' product even of empty arrays."""

INT_RANGE = {DType.i64: (-(2**63), 2**63 - 1), DType.i32: (-(2**31), 2**31 - 1)}
"""The values each integer dtype holds (two's complement)."""

FLOAT_OVERFLOW = {DType.f64: 2**1024 - 2**970, DType.f32: 2**128 - 2**103}
"""The smallest magnitude that rounds to infinity in each float dtype (the largest finite
value plus half its ulp): an integer at or beyond it has no finite value there."""

PARAM_INT_RANGE = INT_RANGE[DType.i64]
"""Integer values in static parameters (sizes, axes, bounds, exponents) lie in i64's range."""


@dataclass(frozen=True, slots=True)
class EquationTyping:
    """What the checker learned about one equation: resolved operand and result types, and
    the parameters with their defaults filled in (read-only: equations with the same
    primitive, operand types and parameters may share one typing)."""

    inputs: tuple[VarType, ...]
    outputs: tuple[VarType, ...]
    params: Mapping[str, ParamValue]


@dataclass(frozen=True)
class ProgramTyping:
    """The typing of a well-typed program: its variables' types and each equation's typing."""

    program: Program
    variables: Mapping[str, VarType] = field(repr=False)
    equations: tuple[EquationTyping, ...] = field(repr=False)


_KEPT_TYPING = "_checked_typing"
"""Where a checked program keeps its typing: an entry of the program object's ``__dict__``,
as :func:`functools.cached_property` keeps a computed attribute. It is not a field, so it
takes no part in equality, hashing, printing or pickling."""


def keep_typing(typing: ProgramTyping) -> ProgramTyping:
    """Keep ``typing`` on its program, so that the transformations and the evaluator that
    meet the same program object again do not infer its types again; returns ``typing``."""
    object.__setattr__(typing.program, _KEPT_TYPING, (typing.variables, typing.equations))
    return typing


def kept_typing(p: Program) -> ProgramTyping | None:
    """The typing :func:`keep_typing` kept on ``p``, or ``None``."""
    kept = getattr(p, "__dict__", {}).get(_KEPT_TYPING)
    return None if kept is None else ProgramTyping(p, *kept)


def annotate(typing: ProgramTyping) -> Program:
    """The program with every binder annotated with its checked type: the canonical form that
    the transformations and the runner print (spec 1.3)."""
    p = typing.program
    equations = tuple(
        replace(e, outputs=tuple(replace(b, type=vt) for b, vt in zip(e.outputs, et.outputs)))
        for e, et in zip(p.equations, typing.equations)
    )
    return replace(p, equations=equations)


@dataclass
class _Scope:
    """The checker's state while walking one program (local to one ``check_program`` call)."""

    program: Program
    types: dict[str, VarType] = field(default_factory=dict)
    bound_at: dict[str, Location | None] = field(default_factory=dict)
    used_at: dict[str, Location | None] = field(default_factory=dict)  # linear variables only


def _where(e: Equation | None, index: int | None) -> str | None:
    if e is None:
        return None
    return f"equation {index + 1}: {e}" if index is not None else str(e)


def _fail(
    error: type[LintraError],
    message: str,
    scope: _Scope,
    *,
    loc: Location | None = None,
    eqn: Equation | None = None,
    index: int | None = None,
    variable: str | None = None,
) -> LintraError:
    """The one helper every checker error goes through: attaches program, place and equation."""
    return error(
        message,
        program=scope.program.name,
        location=loc or (eqn.loc if eqn is not None else None),
        equation=_where(eqn, index),
        variable=variable,
    )


def _located(err: LintraError, scope: _Scope, e: Equation, index: int) -> LintraError:
    return err.at(program=scope.program.name, location=e.loc, equation=_where(e, index))


def _line_of(loc: Location | None) -> str:
    return f" at line {loc.line}" if loc is not None else ""


# --------------------------------------------------------------------------------------------
# Judgments


def type_limits(t: object) -> str | None:
    """What is wrong with an array type's form (spec 2.1), or ``None``: a dtype of the
    language, a tuple of non-negative int dimensions, rank at most :data:`MAX_RANK`, the
    product of the non-zero dimensions below :data:`MAX_ELEMENTS`."""
    if not isinstance(t, ArrayType) or not isinstance(t.dtype, DType):
        return f"{t!r} is not an array type of the language"
    shape = t.shape
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in shape
    ):
        return f"the shape {shape!r} is not a tuple of ints"
    if len(shape) > MAX_RANK:
        return f"rank {len(shape)} exceeds the largest rank, {MAX_RANK}"
    if any(n < 0 for n in shape):
        return "a negative dimension"
    extent = 1  # the product of the non-zero dimensions, as NumPy bounds it
    for n in shape:
        extent *= max(n, 1)
    if extent >= MAX_ELEMENTS:
        what = "elements" if 0 not in shape else "as the product of its non-zero dimensions"
        return f"{shape} has {extent} {what}, not fewer than 2^60"
    return None


@functools.lru_cache(maxsize=4096, typed=True)
def _valid_type(dtype: object, linear: object, *shape: object) -> bool:
    """Whether T-Type holds for a type, remembered per type (``typed``: a dimension ``True``
    or ``1.0`` is not the dimension ``1``); a program has few distinct types."""
    return type_limits(ArrayType(dtype, shape)) is None and (  # type: ignore[arg-type]
        not linear or dtype.is_float)  # type: ignore[attr-defined]


def check_binder_type(vt: VarType, name: str, scope: _Scope, loc: Location | None) -> None:
    """T-Type: a linear variable has a float dtype; the shape is within the limits of 2.1."""
    if (type(vt) is VarType and type(vt.array) is ArrayType and type(vt.array.shape) is tuple
            and _valid_type(vt.array.dtype, vt.linear, *vt.array.shape)):
        return
    if not isinstance(vt, VarType):
        raise _fail(LintraTypeError, f"{name} has no type of the language ({vt!r})", scope,
                    loc=loc, variable=name)
    problem = type_limits(vt.array)
    if problem is not None:
        raise _fail(ShapeError, f"the type of {name}: {problem}", scope, loc=loc, variable=name)
    if vt.linear and not vt.array.dtype.is_float:
        raise _fail(
            LinearityError,
            f"{name} is declared lin {vt.array}, but linear values must have a float dtype",
            scope,
            loc=loc,
            variable=name,
        )


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a variable or program (spec 1.2), or ``None``: a name is a
    letter or ``_`` followed by letters, digits and ``_``, and not a reserved word, so that
    the canonical text of any checked program parses back (spec 1.3, 1.5)."""
    if not isinstance(name, str):
        return f"a name must be a str, got {type(name).__name__} {name!r}"
    if not NAME.fullmatch(name):
        return (f"{name!r} is not a name (a letter or _, then letters, digits or _; "
                "anything else would not print as text that parses)")
    if name in RESERVED:
        return f"{name!r} is a reserved word and cannot name a variable or program"
    return None


def check_name(name: object, scope: _Scope, loc: Location | None,
               eqn: Equation | None = None, index: int | None = None) -> None:
    problem = name_problem(name)
    if problem is not None:
        raise _fail(LintraTypeError, problem, scope, loc=loc, eqn=eqn, index=index,
                    variable=name if isinstance(name, str) else None)


def check_equation_form(e: object, scope: _Scope, index: int) -> None:
    """An equation record holds what spec 1.5 says: binders, a primitive name, atoms (checked
    in :func:`check_operand`) and (name, value) parameters with distinct names, so that it
    prints as text that parses. Plain loops: this runs once per equation."""
    ok = (isinstance(e, Equation) and type(e.primitive) is str and type(e.outputs) is tuple
          and type(e.inputs) is tuple and type(e.params) is tuple)
    if ok:
        for b in e.outputs:  # type: ignore[union-attr]
            if not isinstance(b, Binder):
                ok = False
    if not ok:
        raise _fail(LintraTypeError, f"equation {index + 1} is not an Equation record of "
                    "binders, a primitive name, atoms and (name, value) parameters", scope)
    assert isinstance(e, Equation)
    if not e.params:
        return
    names = []
    for kv in e.params:
        if type(kv) is not tuple or len(kv) != 2:
            raise _fail(LintraTypeError, f"parameter {kv!r} is not a (name, value) pair",
                        scope, eqn=e, index=index)
        problem = name_problem(kv[0])
        if problem is not None:
            raise _fail(LintraTypeError, f"parameter name: {problem}", scope, eqn=e,
                        index=index)
        names.append(kv[0])
    if len(set(names)) != len(names):
        twice = next(k for k in names if names.count(k) > 1)
        raise _fail(LintraTypeError, f"parameter {twice} is given twice", scope, eqn=e,
                    index=index)


def bind(scope: _Scope, name: str, vt: VarType, loc: Location | None, eqn: Equation | None = None,
         index: int | None = None) -> None:
    """SSA: every variable is bound exactly once, under a name that prints and parses."""
    if type(name) is not str or not NAME.fullmatch(name) or name in RESERVED:
        check_name(name, scope, loc, eqn, index)
    if name in scope.types:
        raise _fail(
            LintraTypeError,
            f"variable {name} is bound twice (first{_line_of(scope.bound_at[name])})",
            scope,
            loc=loc,
            eqn=eqn,
            index=index,
            variable=name,
        )
    check_binder_type(vt, name, scope, loc)
    scope.types[name] = vt
    scope.bound_at[name] = loc


def check_operand(
    a: Atom, dtype_hint: DType | None, scope: _Scope, e: Equation, index: int
) -> VarType:
    """T-Var and T-Lit: the type of an operand; a linear variable is consumed here."""
    if isinstance(a, Var):
        vt = scope.types.get(a.name)
        if vt is None:
            raise _fail(
                LintraTypeError,
                f"variable {a.name} is not defined before this equation",
                scope, loc=a.loc, eqn=e, index=index, variable=a.name,
            )
        if vt.linear:
            consume(scope, a, e, index)
        return vt
    if not isinstance(a, Literal):
        raise _fail(LintraTypeError, f"operand {a!r} is neither a Var nor a Literal", scope,
                    eqn=e, index=index)
    dtype = dtype_hint or DEFAULT_LITERAL_DTYPE[a.kind]
    check_literal(a, dtype, scope, e, index)
    return LITERAL_TYPES[dtype]


LITERAL_TYPES = {dtype: VarType(ArrayType(dtype, ()), linear=False) for dtype in DType}
"""T-Lit: a literal is a non-linear rank-0 value of the dtype it takes; one shared type
object per dtype, since a program may hold a literal in every equation."""

LITERAL_KINDS_OF = {
    DType.f64: ("int", "float"),
    DType.f32: ("int", "float"),
    DType.i64: ("int",),
    DType.i32: ("int",),
    DType.bool: ("bool",),
}
"""Which literal syntax each dtype accepts (spec 2.2)."""


def literal_problem(a: Literal, dtype: DType) -> str | None:
    """Why literal ``a`` cannot take ``dtype`` (spec 2.2), or ``None``: it must be
    representable there."""
    kind = a.kind
    value = a.value
    ok = kind in LITERAL_KINDS_OF[dtype]
    if ok and kind == "int" and dtype in INT_RANGE:
        lo, hi = INT_RANGE[dtype]
        ok = lo <= value <= hi
    if (ok and dtype in FLOAT_OVERFLOW and (kind == "int" or math.isfinite(value))
            and abs(value) >= FLOAT_OVERFLOW[dtype]):
        return (f"the {'integer' if kind == 'int' else 'float'} literal {_short(value)} "
                f"has no finite value in {dtype} (it rounds to infinity; write inf for "
                "infinity)")
    if not ok:
        return (f"literal {a} cannot take dtype {dtype} (a {kind} literal; "
                "literals take the dtype of the other operands)")
    return None


def check_literal(a: Literal, dtype: DType, scope: _Scope, e: Equation | None, index: int | None
                  ) -> None:
    """A literal must be representable in the dtype it takes (spec 2.2)."""
    problem = literal_problem(a, dtype)
    if problem is not None:
        raise _fail(LintraTypeError, problem, scope, loc=a.loc, eqn=e, index=index)


def consume(scope: _Scope, v: Var, e: Equation | None, index: int | None) -> None:
    """L-Use: a linear variable is used exactly once."""
    if v.name in scope.used_at:
        first = scope.used_at[v.name]
        raise _fail(
            LinearityError,
            f"linear variable {v.name} is used a second time (first use{_line_of(first)}); "
            f"share a linear value explicitly with dup({v.name})",
            scope, loc=v.loc, eqn=e, index=index, variable=v.name,
        )
    scope.used_at[v.name] = v.loc or (e.loc if e is not None else None)


def resolve_literal_dtypes(prim: Primitive, e: Equation, scope: _Scope) -> list[DType | None]:
    """The dtype each literal operand takes: the dtype of the first variable among the
    primitive's shared-dtype positions, if the literal is one of them (spec 2.2)."""
    shared = prim.shared_dtype.indices(len(e.inputs))
    common = None
    for i in shared:
        a = e.inputs[i]
        if isinstance(a, Var) and a.name in scope.types:
            common = scope.types[a.name].array.dtype
            break
    return [common if i in shared else None for i in range(len(e.inputs))]


class LinearityBreach(NamedTuple):
    """Which linearity rule an equation's operands break, and at which operands."""

    rule: str  # "linear_only", "never", "position", "together" or "at_most_one"
    operand: int  # the operand the error points at
    other: int = -1  # the linear operand it is mixed with ("together", "at_most_one")


def linearity_judgment(prim: Primitive, lin: Sequence[bool]) -> bool | LinearityBreach:
    """L-Never, L-Together, L-AtMostOne, L-LinearOnly on the operands' linearity flags:
    whether the results are linear, or the first rule broken."""
    n = len(lin)
    rule = prim.linearity
    if rule.kind is LinearityKind.LINEAR_ONLY:
        for i in range(n):
            if not lin[i]:
                return LinearityBreach("linear_only", i)
        return True
    positions = rule.positions.indices(n)
    for i in range(n):
        if lin[i] and i not in positions:
            return LinearityBreach("never" if rule.kind is LinearityKind.NEVER else "position", i)
    linear_here = [i for i in positions if lin[i]]
    if rule.kind is LinearityKind.TOGETHER and linear_here and len(linear_here) < len(positions):
        other = next(i for i in positions if not lin[i])
        return LinearityBreach("together", other, linear_here[0])
    if rule.kind is LinearityKind.AT_MOST_ONE and len(linear_here) > 1:
        return LinearityBreach("at_most_one", linear_here[1], linear_here[0])
    return bool(linear_here)


def check_linearity(
    prim: Primitive, e: Equation, operands: Sequence[VarType], scope: _Scope, index: int
) -> bool:
    """L-Never, L-Together, L-AtMostOne, L-LinearOnly: whether the results are linear, or the
    :class:`LinearityError` naming the operand that breaks the rule."""
    judgment = linearity_judgment(prim, [vt.linear for vt in operands])
    if not isinstance(judgment, LinearityBreach):
        return judgment
    n = len(operands)
    i = judgment.operand

    def name(k: int) -> str:
        a = e.inputs[k]
        return a.name if isinstance(a, Var) else f"literal {a}"

    describe = prim.linearity.describe(n)
    if judgment.rule == "linear_only":
        msg = f"{prim.name} takes only linear operands, but {name(i)} is non-linear"
    elif judgment.rule == "never":
        msg = (f"{prim.name} is not linear, so it cannot take the linear value {name(i)} "
               "(no value may flow from a linear variable into a non-linear result)")
    elif judgment.rule == "position":
        msg = f"operand {i + 1} of {prim.name} ({name(i)}) must be non-linear: {describe}"
    elif judgment.rule == "together":
        hint = (" (a literal is non-linear: adding a constant is affine, not linear)"
                if isinstance(e.inputs[i], Literal) else "")
        msg = (f"{prim.name} mixes linear {name(judgment.other)} with non-linear {name(i)}: "
               f"{describe}{hint}")
    else:
        msg = (f"{prim.name} of two linear values ({name(judgment.other)}, {name(i)}) "
               f"is not linear: {describe}")
    a = e.inputs[i]
    raise _fail(LinearityError, msg, scope, loc=a.loc, eqn=e, index=index,
                variable=a.name if isinstance(a, Var) else None)


def _short(n: int) -> str:
    """An integer as text, abbreviated when it has more than 40 digits."""
    text = str(n)
    return text if len(text) <= 40 else f"{text[:12]}...({len(text.lstrip('-'))} digits)"


def param_int_problem(params: tuple[tuple[str, ParamValue], ...]) -> str | None:
    """Integers in parameter values lie in i64's range (spec 2.1), so that no shape rule
    meets an integer that a machine integer cannot hold: the first one that does not, or
    ``None``."""
    lo, hi = PARAM_INT_RANGE
    for name, value in params:
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, tuple):
                stack.extend(v)
            elif isinstance(v, int) and not isinstance(v, bool) and not lo <= v <= hi:
                return (f"parameter {name} holds {_short(v)}, outside the range of i64 "
                        "(integers in parameters are at most 2^63 - 1 in magnitude)")
    return None


def check_params(prim: Primitive, e: Equation, scope: _Scope, index: int) -> dict[str, ParamValue]:
    """T-Params: known parameter names of the right kinds, defaults filled in."""
    problem = param_int_problem(e.params)
    if problem is not None:
        raise _fail(LintraTypeError, problem, scope, eqn=e, index=index)
    try:
        return prim.param_values(e.param_dict)
    except LintraError as err:
        raise _located(err, scope, e, index) from None


def exact_params(params: tuple[tuple[str, ParamValue], ...]) -> tuple | None:
    """``params`` written out so that two are equal only when their values are the same
    values of the same types (``True`` is not ``1``, ``-0.0`` is not ``0.0``, as they are
    for ``==``), or ``None`` for a value of another type. One loop, no recursion."""
    out: list[object] = []
    stack: list[object] = [params]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is tuple:
            out.append(("(", len(v)))  # type: ignore[arg-type]
            stack.extend(reversed(v))  # type: ignore[arg-type]
        elif kind is float:
            out.append((kind, v.hex()))  # type: ignore[attr-defined]
        elif kind is int or kind is bool or kind is str:
            out.append((kind, v))
        else:
            return None
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _typing_by_signature(primitive: str, operands: tuple[VarType, ...],
                         params: tuple[tuple[str, ParamValue], ...], exact: tuple
                         ) -> EquationTyping | None:
    """T-Params, the linearity rules and the primitive's type rule, which depend on the
    primitive, the operand types and the parameters alone, remembered for each such
    signature (``exact`` makes equal keys mean identical parameters): a long program repeats
    a few signatures many times. ``None`` when a judgment fails."""
    prim = lookup(primitive)
    if param_int_problem(params) is not None:
        return None
    try:
        values = prim.param_values(dict(params))
        linear = linearity_judgment(prim, [vt.linear for vt in operands])
        if isinstance(linear, LinearityBreach):
            return None
        results = prim.type_rule(tuple(vt.array for vt in operands), values)
    except LintraError:
        return None
    outputs = tuple(VarType(t, linear) for t in results)
    return EquationTyping(operands, outputs, MappingProxyType(values))


def known_typing(prim: Primitive, operands: tuple[VarType, ...],
                 params: tuple[tuple[str, ParamValue], ...]) -> EquationTyping | None:
    """The remembered typing of an equation of ``prim`` with these operand types and
    parameters, or ``None`` where there is none to remember (``zero`` takes its type from
    its binder) or a judgment fails (the caller then runs the judgments in order, which
    raise the error at its place)."""
    if prim.result_from_annotation:
        return None
    exact = exact_params(params) if params else ()
    if exact is None:
        return None
    return _typing_by_signature(prim.name, operands, params, exact)


def check_equation(
    e: Equation, index: int, scope: _Scope, module: Module | None
) -> EquationTyping:
    """T-Eqn: operands, parameters, linearity, result types, annotations, bindings."""
    check_equation_form(e, scope, index)
    if e.primitive == CALL:
        return check_call(e, index, scope, module)
    try:
        prim = lookup(e.primitive)
    except LintraError as err:
        raise _located(err, scope, e, index) from None
    if not prim.arity.accepts(len(e.inputs)):
        raise _fail(
            LintraTypeError,
            f"{prim.name} takes {prim.arity}, got {len(e.inputs)}",
            scope, eqn=e, index=index,
        )
    hints = resolve_literal_dtypes(prim, e, scope)
    operands = tuple([check_operand(a, h, scope, e, index) for a, h in zip(e.inputs, hints)])
    typing = known_typing(prim, operands, e.params)
    if typing is None:
        typing = judge_equation(prim, e, operands, scope, index)
    bind_results(e, index, typing.outputs, scope)
    return typing


def judge_equation(prim: Primitive, e: Equation, operands: tuple[VarType, ...], scope: _Scope,
                   index: int) -> EquationTyping:
    """T-Params, then linearity, then the result types, each raising its error at its place."""
    params = check_params(prim, e, scope, index)
    linear = check_linearity(prim, e, operands, scope, index)
    if prim.result_from_annotation:
        results = annotated_results(prim, e, scope, index)
    else:
        try:
            results = prim.type_rule(tuple(vt.array for vt in operands), params)
        except LintraError as err:
            raise _located(err, scope, e, index) from None
    return EquationTyping(operands, tuple(VarType(t, linear) for t in results), params)


def annotated_results(prim: Primitive, e: Equation, scope: _Scope, index: int
                      ) -> tuple[ArrayType, ...]:
    """T-Zero: ``z: lin f64[3] = zero()`` takes its type from the annotation."""
    if len(e.outputs) != 1 or e.outputs[0].type is None or not e.outputs[0].type.linear:
        raise _fail(
            LintraTypeError,
            f"{prim.name}() needs one annotated linear result, e.g. z: lin f64[3] = {prim.name}()",
            scope, eqn=e, index=index,
        )
    return (e.outputs[0].type.array,)


def bind_results(e: Equation, index: int, outputs: tuple[VarType, ...], scope: _Scope) -> None:
    """T-Bind: as many binders as results, annotations equal to the inferred types."""
    if len(e.outputs) != len(outputs):
        raise _fail(
            LintraTypeError,
            f"{e.primitive} gives {len(outputs)} result{'s' if len(outputs) != 1 else ''}, "
            f"but {len(e.outputs)} variable{'s are' if len(e.outputs) != 1 else ' is'} bound",
            scope, eqn=e, index=index,
        )
    for b, vt in zip(e.outputs, outputs):
        if b.type is not None and b.type != vt:
            raise _fail(
                LinearityError if b.type.array == vt.array else LintraTypeError,
                f"{b.name} is annotated {b.type}, but {e.primitive} gives {vt}",
                scope, loc=b.loc, eqn=e, index=index, variable=b.name,
            )
        bind(scope, b.name, vt, b.loc or e.loc, e, index)


def check_call(e: Equation, index: int, scope: _Scope, module: Module | None) -> EquationTyping:
    """T-Call: ``call(args..., fn="name")`` calls another def of the same module."""
    params = e.param_dict
    fn = params.get("fn")
    if set(params) != {"fn"} or not isinstance(fn, str):
        raise _fail(
            LintraTypeError, 'call takes operands and exactly one parameter fn="name"',
            scope, eqn=e, index=index,
        )
    if module is None or fn not in module:
        known = f" (defs: {', '.join(module)})" if module else " (no module given)"
        raise _fail(
            LintraTypeError, f"call to unknown def {fn!r}{known}", scope, eqn=e, index=index
        )
    callee = module[fn]
    if len(e.inputs) != len(callee.inputs):
        raise _fail(
            LintraTypeError,
            f"{fn} takes {len(callee.inputs)} arguments, got {len(e.inputs)}",
            scope, eqn=e, index=index,
        )
    operands: list[VarType] = []
    for a, param in zip(e.inputs, callee.inputs):
        expected = param.type
        if expected is None:
            raise _fail(LintraTypeError, f"parameter {param.name} of {fn} needs a type", scope,
                        eqn=e, index=index)
        vt = check_operand(a, expected.array.dtype, scope, e, index)
        if vt != expected:
            cls = LinearityError if vt.array == expected.array else LintraTypeError
            raise _fail(
                cls, f"argument {a} of call to {fn} has type {vt}, expected {expected} "
                f"(parameter {param.name})", scope, loc=a.loc, eqn=e, index=index,
            )
        operands.append(vt)
    outputs = callee.result_types
    bind_results(e, index, outputs, scope)
    return EquationTyping(tuple(operands), outputs, dict(params))


def check_return(p: Program, scope: _Scope) -> None:
    """T-Return: returned variables match the declared result types, linear ones consumed."""
    if len(p.outputs) != len(p.result_types):
        raise _fail(
            LintraTypeError,
            f"{p.name} declares {len(p.result_types)} results but returns {len(p.outputs)}",
            scope, loc=p.outputs[0].loc if p.outputs else p.loc,
        )
    for v, declared in zip(p.outputs, p.result_types):
        vt = scope.types.get(v.name)
        if vt is None:
            raise _fail(LintraTypeError, f"returned variable {v.name} is not defined", scope,
                        loc=v.loc, variable=v.name)
        if vt != declared:
            cls = LinearityError if vt.array == declared.array else LintraTypeError
            raise _fail(cls, f"returned {v.name} has type {vt}, but the result is declared "
                        f"{declared}", scope, loc=v.loc, variable=v.name)
        if vt.linear:
            consume(scope, v, None, None)


def check_consumed(scope: _Scope) -> None:
    """L-Exhaust: every linear variable is used; discarding one needs an explicit drop."""
    for name, vt in scope.types.items():
        if vt.linear and name not in scope.used_at:
            raise _fail(
                LinearityError,
                f"linear variable {name} (bound{_line_of(scope.bound_at[name])}) is never "
                f"used; discard it explicitly with drop({name})",
                scope, loc=scope.bound_at[name], variable=name,
            )


def check_program(p: Program, module: Module | None = None) -> ProgramTyping:
    """T-Program: parameters, then each equation in order, then the return and L-Exhaust."""
    if not isinstance(p, Program):
        raise LintraTypeError(f"expected a Program, got {type(p).__name__}")
    if not isinstance(p.name, str):
        raise LintraTypeError(f"program name: {name_problem(p.name)}")
    scope = _Scope(p)
    check_name(p.name, scope, p.loc)
    form = (isinstance(p.inputs, tuple) and all(isinstance(b, Binder) for b in p.inputs)
            and isinstance(p.result_types, tuple)
            and all(isinstance(t, VarType) for t in p.result_types)
            and isinstance(p.equations, tuple)
            and isinstance(p.outputs, tuple) and all(isinstance(v, Var) for v in p.outputs))
    if not form:
        raise _fail(LintraTypeError, "a Program holds a tuple of Binders, a tuple of VarTypes, "
                    "a tuple of Equations and a tuple of returned Vars (spec 1.5)", scope)
    for b in p.inputs:
        if b.type is None:
            raise _fail(LintraTypeError, f"parameter {b.name} needs a type", scope, loc=b.loc)
        bind(scope, b.name, b.type, b.loc)
    for t in p.result_types:
        problem = type_limits(t.array) if isinstance(t, VarType) else f"{t!r} is not a type"
        if problem is not None:
            raise _fail(ShapeError, f"result type {t}: {problem}", scope, loc=p.loc)
        if t.linear and not t.array.dtype.is_float:
            raise _fail(LinearityError, f"result type {t}: linear values must be float", scope,
                        loc=p.loc)
    typings = [check_equation(e, i, scope, module) for i, e in enumerate(p.equations)]
    check_return(p, scope)
    check_consumed(scope)
    return ProgramTyping(p, dict(scope.types), tuple(typings))


def call_order(module: Module) -> list[str]:
    """The defs in an order where callees come before callers; raise on recursion (T-Module).

    Iterative depth-first search, so long call chains need no Python recursion.
    """
    calls = {
        name: [str(e.param_dict.get("fn")) for e in p.equations if e.primitive == CALL]
        for name, p in module.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = in progress, 2 = done
    for root in module:
        if state.get(root):
            continue
        stack = [(root, iter(calls[root]))]
        state[root] = 1
        while stack:
            name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif nxt in module:
                if state.get(nxt) == 1:
                    cycle = [n for n, _ in stack] + [nxt]
                    raise LintraTypeError(
                        "recursive calls are not allowed: " + " -> ".join(cycle),
                        program=name,
                        location=module[name].loc,
                    )
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(calls[nxt])))
    return order


def check(
    target: Program | Module, module: Module | None = None
) -> ProgramTyping | dict[str, ProgramTyping]:
    """Check a program (with the module its calls refer to) or a whole module (spec chapter 2).

    Returns the typing (a :class:`ProgramTyping`, or one per def for a module); raises a
    :class:`LintraTypeError` subclass naming the place of the first error.
    """
    if isinstance(target, Module):
        return {name: check_program(target[name], target) for name in call_order(target)}
    if module is not None:
        call_order(module)
    return check_program(target, module)
