"""Abstract syntax of lintra programs (spec chapter 1) and their canonical printing.

Conventions used throughout the reference: ``p`` a program, ``e`` an equation, ``a`` an atom
(variable or literal), ``t`` an array type, ``b`` a binder. All nodes are frozen dataclasses;
source locations are carried for error messages but never take part in equality.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from lintra.reference.errors import Location

# --------------------------------------------------------------------------------------------
# Types


class DType(enum.Enum):
    """Element types of the language."""

    f64 = "f64"
    f32 = "f32"
    i64 = "i64"
    i32 = "i32"
    bool = "bool"

    @property
    def numpy(self) -> np.dtype:
        """The NumPy dtype that represents this element type in the float64 domain."""
        return _NUMPY_DTYPES[self]

    @property
    def is_float(self) -> bool:
        return self in (DType.f64, DType.f32)

    @property
    def is_int(self) -> bool:
        return self in (DType.i64, DType.i32)

    @property
    def is_numeric(self) -> bool:
        return self is not DType.bool

    def __str__(self) -> str:
        return self.value

    # Members are singletons compared by identity, so they may hash by identity too: the
    # inherited Enum.__hash__ is a Python call, and dtypes key dicts and memos everywhere.
    __hash__ = object.__hash__


_NUMPY_DTYPES = {
    DType.f64: np.dtype(np.float64),
    DType.f32: np.dtype(np.float32),
    DType.i64: np.dtype(np.int64),
    DType.i32: np.dtype(np.int32),
    DType.bool: np.dtype(np.bool_),
}


@dataclass(frozen=True, slots=True)
class ArrayType:
    """``dtype[d0, d1, ...]``: an array of statically known shape; ``f64[]`` is a scalar."""

    dtype: DType
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True, slots=True)
class VarType:
    """The type of a variable: an array type and whether the variable is linear (``lin``)."""

    array: ArrayType
    linear: bool = False

    def __str__(self) -> str:
        return f"lin {self.array}" if self.linear else str(self.array)


# --------------------------------------------------------------------------------------------
# Atoms, binders, equations, programs


@dataclass(frozen=True, slots=True)
class Var:
    """A use of a variable."""

    name: str
    loc: Location | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.name


LiteralValue = bool | int | float


class Literal:
    """A rank-0 literal: ``2.0``, ``-1``, ``true``, ``inf``, ``nan``.

    A literal has no dtype of its own: it takes the dtype of the other operands (spec 2.2).
    Equality compares the printed text, so ``nan == nan`` and ``-0.0 != 0.0`` as literals.
    """

    __slots__ = ("loc", "value")

    def __init__(self, value: LiteralValue, loc: Location | None = None) -> None:
        if not isinstance(value, (bool, int, float)):
            raise TypeError(f"literal must be bool, int or float, not {type(value).__name__}")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "loc", loc)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Literal is immutable")

    @property
    def kind(self) -> str:
        """``"bool"``, ``"int"`` or ``"float"``: which literal syntax was used."""
        if isinstance(self.value, bool):
            return "bool"
        return "int" if isinstance(self.value, int) else "float"

    def __str__(self) -> str:
        return format_literal(self.value)

    def __repr__(self) -> str:
        return f"Literal({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Literal) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(("Literal", str(self)))


Atom = Var | Literal


def format_literal(value: LiteralValue) -> str:
    """Canonical text of a literal value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))  # '2.0', '-0.0', '1e-300', 'inf', '-inf', 'nan'


ParamValue = bool | int | float | str | tuple  # tuples nest: tuple[ParamValue, ...]


def format_param(value: ParamValue) -> str:
    """Canonical text of a static parameter value."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        # Iterative so that deeply nested tuples print without recursion.
        out: list[str] = []
        stack: list[tuple[tuple, int]] = [(value, 0)]
        out.append("(")
        while stack:
            items, i = stack.pop()
            if i < len(items):
                stack.append((items, i + 1))
                if i > 0:
                    out.append(", ")
                item = items[i]
                if isinstance(item, tuple):
                    out.append("(")
                    stack.append((item, 0))
                else:
                    out.append(format_param(item))
            else:
                if len(items) == 1:
                    out.append(",")
                out.append(")")
        return "".join(out)
    return format_literal(value)


@dataclass(frozen=True, slots=True)
class Binder:
    """A variable introduced by a parameter or an equation, with its (optional) annotation."""

    name: str
    type: VarType | None = None
    loc: Location | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.name if self.type is None else f"{self.name}: {self.type}"


@dataclass(frozen=True, slots=True)
class Equation:
    """``outputs = primitive(inputs, params)``; ``drop(t)`` has no outputs."""

    outputs: tuple[Binder, ...]
    primitive: str
    inputs: tuple[Atom, ...]
    params: tuple[tuple[str, ParamValue], ...] = ()
    loc: Location | None = field(default=None, compare=False, repr=False)

    @property
    def param_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def __str__(self) -> str:
        args = [str(a) for a in self.inputs]
        args += [f"{k}={format_param(v)}" for k, v in self.params]
        call = f"{self.primitive}({', '.join(args)})"
        if not self.outputs:
            return call
        return f"{', '.join(str(b) for b in self.outputs)} = {call}"


@dataclass(frozen=True)
class Program:
    """A typed, first-order, A-normal-form function over arrays (spec 1.2).

    ``inputs`` are the parameters (always annotated), ``result_types`` the declared result
    types, ``equations`` the body in order and ``outputs`` the returned variables.
    """

    name: str
    inputs: tuple[Binder, ...]
    result_types: tuple[VarType, ...]
    equations: tuple[Equation, ...]
    outputs: tuple[Var, ...]
    loc: Location | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, object]:
        """The fields alone (pickling, copying): a typing that the checker keeps on the
        program object is not part of the program."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> Iterator[str]:
        """The canonical text, line by line."""
        params = ", ".join(str(b) for b in self.inputs)
        if len(self.result_types) == 1:
            results = str(self.result_types[0])
        else:
            results = "(" + ", ".join(str(t) for t in self.result_types) + ")"
        yield f"def {self.name}({params}) -> {results}:"
        for e in self.equations:
            yield f"    {e}"
        if self.outputs:
            yield f"    return {', '.join(str(v) for v in self.outputs)}"
        else:
            yield "    return"


class Module(Mapping[str, Program]):
    """The defs of one file, by name, in file order (spec 1.1)."""

    def __init__(self, programs: tuple[Program, ...] | list[Program] = ()) -> None:
        self._programs: dict[str, Program] = {}
        for p in programs:
            self._programs[p.name] = p

    def __getitem__(self, name: str) -> Program:
        return self._programs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._programs)

    def __len__(self) -> int:
        return len(self._programs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Module) and list(self.values()) == list(other.values())

    def __hash__(self) -> int:
        return hash(tuple(self.values()))

    def __str__(self) -> str:
        return "\n\n".join(str(p) for p in self.values())

    def __repr__(self) -> str:
        return f"Module({list(self)})"
