"""Running a lintra program over a framework's own array operations: the interpreter shared by
the ``jax`` and ``torch`` adapters (spec 7.1).

A :class:`Framework` holds, as data, one *lowering rule* per primitive: a small named function
from the operand arrays (and the equation's static parameters) to the result arrays, written
with the framework's operations. :func:`run` walks ``program.equations`` in order, looks each
primitive up in that table, binds the results and returns the program's results: a straight
loop, no recursion in the length of the program.

The interpreter deliberately shares nothing with the reference's evaluator, its primitive
records or its transformations: it reads the syntax (``lintra.reference.syntax``) and raises
the reference's error classes, nothing more. Two independent implementations of the spec are
what make differential testing mean something. It does not call the checker either: the
backends check a program before running it (:class:`FrameworkBackend`), except in
``linear_map``, whose program may be deliberately ill-typed (``mul(t, t)`` with ``t``
linear): whether the framework refuses to transpose it is the point of that check.

Literal dtypes (spec 2.2) are therefore resolved at run time: a literal in a position that
shares its dtype takes the dtype of the first variable among those positions, otherwise its
default dtype. The run-time errors of spec 3.0.3 (integer division by zero, indices out of
range, ...) are raised as :class:`EvaluationError` wherever the values are concrete; inside a
framework's tracing transformations they are not visible, and the framework's own value
stands (the suite discards such inputs before they reach a backend).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lintra.reference.check import check
from lintra.reference.errors import (
    EvaluationError,
    LintraTypeError,
    ShapeError,
    UnsupportedPrimitiveError,
)
from lintra.reference.syntax import (
    ArrayType,
    DType,
    Equation,
    Literal,
    Program,
    Var,
)

Array = Any
"""A framework array (a ``jax.Array``, a ``torch.Tensor``)."""

Rule = Callable[..., Any]
"""``rule(e: Eqn, *operands) -> array | tuple of arrays``: one primitive in one framework."""

_REQUIRED = object()

# --------------------------------------------------------------------------------------------
# What a rule sees of its equation


@dataclass(frozen=True)
class Eqn:
    """One equation as its lowering rule sees it: the static parameters, the annotated result
    types (``zero`` takes its type from its annotation) and the program, for error messages."""

    equation: Equation
    program: str
    framework: Framework

    def param(self, name: str, default: object = _REQUIRED) -> Any:
        """The static parameter ``name``, or ``default`` when the equation omits it (the
        defaults are those of the spec's primitive tables)."""
        for key, value in self.equation.params:
            if key == name:
                return value
        if default is _REQUIRED:
            raise self.error(f"missing parameter {name!r}")
        return default

    def result_type(self, k: int = 0) -> ArrayType:
        """The annotated type of result ``k``."""
        b = self.equation.outputs[k]
        if b.type is None:
            raise self.error(f"result {b.name} needs a type annotation")
        return b.type.array

    def error(self, message: str) -> EvaluationError:
        """An :class:`EvaluationError` naming this equation."""
        return EvaluationError(message, program=self.program, location=self.equation.loc,
                               equation=str(self.equation))

    def require(self, ok: Array, message: str) -> None:
        """Raise ``message`` as an :class:`EvaluationError` if the boolean array ``ok`` is
        concrete and not all true (spec 3.0.3: values for which the spec defines no result).
        Traced values cannot be inspected, and are let through."""
        values = self.framework.concrete(ok)
        if values is not None and not bool(np.all(values)):
            raise self.error(message)


# --------------------------------------------------------------------------------------------
# The framework interface


class Framework(ABC):
    """A framework's lowering table and the three services the interpreter needs from it."""

    name: str
    rules: Mapping[str, Rule]

    @abstractmethod
    def literal(self, value: bool | int | float, dtype: DType) -> Array:
        """A rank-0 array holding ``value`` in ``dtype`` (floats rounded to nearest)."""

    @abstractmethod
    def dtype_of(self, x: Array) -> DType:
        """The lintra dtype of array ``x``."""

    @abstractmethod
    def concrete(self, x: Array) -> np.ndarray | None:
        """The values of ``x`` as a NumPy array, or None while ``x`` is being traced."""


SHARED_DTYPE: Mapping[str, tuple[tuple[int, ...], int | None]] = {
    "select_n": ((), 1),  # the cases: every position from 1 on
    "dynamic_slice": ((), None),
    "dynamic_update_slice": ((0, 1), None),
    "gather": ((), None),
    "scatter_add": ((0, 2), None),
    "sort": ((), None),
}
"""Operand positions whose literals take the dtype of the first variable among them, as
``(explicit positions, every position from)``, for the primitives where that is not every
position (spec 2.2 and the ``shared dtype`` of the chapter 3 tables)."""

EVERY_POSITION: tuple[tuple[int, ...], int | None] = ((), 0)


def shared_positions(primitive: str, n: int) -> set[int]:
    """The operand positions of ``primitive`` (with ``n`` operands) that share one dtype."""
    explicit, start = SHARED_DTYPE.get(primitive, EVERY_POSITION)
    return set(explicit) | (set(range(start, n)) if start is not None else set())


DEFAULT_LITERAL_DTYPE = {"bool": DType.bool, "int": DType.i64, "float": DType.f64}


def literal_dtypes(e: Equation, dtypes: Sequence[DType | None]) -> list[DType | None]:
    """The dtype each literal operand of ``e`` takes (None for variables), given the dtypes
    of the variable operands (None for literals): spec 2.2, rule T-Lit."""
    shared = shared_positions(e.primitive, len(e.inputs))
    leader = next((d for i, d in enumerate(dtypes) if i in shared and d is not None), None)
    out: list[DType | None] = []
    for i, a in enumerate(e.inputs):
        if not isinstance(a, Literal):
            out.append(None)
        elif i in shared and leader is not None:
            out.append(leader)
        else:
            out.append(DEFAULT_LITERAL_DTYPE[a.kind])
    return out


# --------------------------------------------------------------------------------------------
# The interpreter


def run(program: Program, args: Sequence[Array], fw: Framework) -> tuple[Array, ...]:
    """Evaluate ``program`` on framework arrays ``args`` (one per parameter, already of the
    parameter's dtype and shape) with ``fw``'s rules; one array per result."""
    if len(args) != len(program.inputs):
        raise ShapeError(f"{program.name} takes {len(program.inputs)} arguments, "
                         f"got {len(args)}", program=program.name)
    env: dict[str, Array] = {b.name: x for b, x in zip(program.inputs, args)}
    for e in program.equations:
        rule = fw.rules.get(e.primitive)
        if rule is None:
            raise UnsupportedPrimitiveError(
                f"the {fw.name} backend does not lower {e.primitive!r}", program=program.name,
                location=e.loc, equation=str(e))
        operands = _operands(e, env, fw)
        results = rule(Eqn(e, program.name, fw), *operands)
        if not isinstance(results, tuple):
            results = (results,)
        if len(results) != len(e.outputs):
            raise EvaluationError(f"{e.primitive} gave {len(results)} results for "
                                  f"{len(e.outputs)} binders", program=program.name,
                                  location=e.loc, equation=str(e))
        for b, value in zip(e.outputs, results):
            env[b.name] = value
    return tuple(env[v.name] for v in program.outputs)


def _operands(e: Equation, env: Mapping[str, Array], fw: Framework) -> list[Array]:
    """The operand arrays of ``e``: variables looked up, literals made in their dtype."""
    dtypes = [fw.dtype_of(env[a.name]) if isinstance(a, Var) else None for a in e.inputs]
    lit = literal_dtypes(e, dtypes)
    return [env[a.name] if isinstance(a, Var) else fw.literal(a.value, d)  # type: ignore[arg-type]
            for a, d in zip(e.inputs, lit)]


# --------------------------------------------------------------------------------------------
# Helpers the rules of both frameworks use


def norm_axis(a: int, rank: int) -> int:
    """A selecting axis in ``[-rank, rank)`` as a non-negative one (spec 2.5)."""
    return a + rank if a < 0 else a


def norm_axes(values: Sequence[int], rank: int) -> tuple[int, ...]:
    """Selecting axes, normalized (spec 2.5)."""
    return tuple(norm_axis(a, rank) for a in values)


def result_shape(shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """The common shape of elementwise operands: rank-0 operands broadcast (spec 2.5)."""
    return max(shapes, key=len) if shapes else ()


def float_positions(program: Program) -> tuple[list[int], list[int]]:
    """Positions of the float parameters and of the float results: the ones with tangents
    and cotangents (spec 7.1)."""
    ins = [i for i, b in enumerate(program.inputs) if b.type.array.dtype.is_float]
    outs = [k for k, t in enumerate(program.result_types) if t.array.dtype.is_float]
    return ins, outs


def float_types(program: Program) -> tuple[tuple[ArrayType, ...], tuple[ArrayType, ...]]:
    """The types of the float parameters and of the float results."""
    ins, outs = float_positions(program)
    return (tuple(program.inputs[i].type.array for i in ins),
            tuple(program.result_types[k].array for k in outs))


def tangent_arrays(program: Program, tangents: Sequence[object]) -> list[np.ndarray]:
    """One NumPy tangent per float parameter, of its type (a TypeError for a wrong count)."""
    ins, _ = float_positions(program)
    if len(tangents) != len(ins):
        raise TypeError(f"{program.name} has {len(ins)} float inputs, got "
                        f"{len(tangents)} tangents")
    return [argument(t, program.inputs[i].type.array, f"tangent of {program.inputs[i].name}")
            for i, t in zip(ins, tangents)]


def merged_results(program: Program, floats: Sequence[Any], others: Sequence[Any],
                   to_numpy: Callable[[Any], np.ndarray]) -> tuple[np.ndarray, ...]:
    """Results in program order from the float results and the others, as NumPy arrays."""
    _, outs = float_positions(program)
    f, o = iter(floats), iter(others)
    return tuple(to_numpy(next(f) if k in outs else next(o))
                 for k in range(len(program.result_types)))


def argument(value: object, t: ArrayType, name: str) -> np.ndarray:
    """``value`` as a NumPy array of type ``t`` (spec 3.0.2, E-Args): the shape must match, and
    an integer or bool parameter takes no fractional or non-boolean data."""
    arr = np.asarray(value)
    if arr.shape != t.shape:
        raise ShapeError(f"argument {name} must have shape {t.shape}, got {arr.shape}")
    out = arr.astype(t.dtype.numpy)
    if not t.dtype.is_float and arr.dtype != out.dtype and not np.array_equal(out, arr):
        raise LintraTypeError(f"argument {name} of type {t} cannot hold {arr.dtype} values "
                              "exactly")
    return out


@dataclass(frozen=True)
class LinearMap:
    """A linear map of a framework, with the types of its arguments and results, which the
    framework's transposition needs (spec 7.1: callable on one array per linear argument,
    returning one array per result)."""

    fn: Callable[..., Sequence[Array]]
    """The framework-level map: framework arrays in, a sequence of framework arrays out."""
    inputs: tuple[ArrayType, ...]
    outputs: tuple[ArrayType, ...]
    to_array: Callable[[object], Array]
    """NumPy array (or array-like) to framework array."""
    to_numpy: Callable[[Array], np.ndarray]

    def __call__(self, *args: object) -> tuple[np.ndarray, ...]:
        if len(args) != len(self.inputs):
            raise TypeError(f"linear map takes {len(self.inputs)} arguments, got {len(args)}")
        return tuple(self.to_numpy(r) for r in self.fn(*(self.to_array(a) for a in args)))


# --------------------------------------------------------------------------------------------
# What the adapters share


class FrameworkBackend(ABC):
    """The parts of the backend protocol (spec 7.1) that every framework adapter does the
    same way: arguments checked and converted, the program as a function of its float
    parameters, ``evaluate`` and ``linear_map``. A subclass names its :class:`Framework`
    (``ops``) and its array conversions, and implements the derivatives with its framework's
    transformations.

    Tangents and cotangents exist for float parameters and float results only: integer and
    boolean parameters are closed over, held fixed, and integer or boolean results are
    returned by the primal computation without a tangent.
    """

    name: str
    ops: Framework

    @staticmethod
    @abstractmethod
    def to_array(x: object) -> Array:
        """A NumPy array (or array-like) as a framework array."""

    @staticmethod
    @abstractmethod
    def to_numpy(x: Array) -> np.ndarray:
        """A framework array as a NumPy array."""

    def _arguments(self, program: Program, args: Sequence[object]) -> list[Array]:
        """The arguments as framework arrays of the parameters' types, after checking the
        program: one that is not well typed is refused (spec 7.7, step ``check``), so that
        the framework is never asked for a meaning the spec does not give. ``linear_map``
        alone takes programs unchecked."""
        check(program)
        if len(args) != len(program.inputs):
            raise TypeError(f"{program.name} takes {len(program.inputs)} arguments, "
                            f"got {len(args)}")
        return [self.to_array(argument(a, b.type.array, b.name))
                for a, b in zip(args, program.inputs)]

    def _of_floats(self, program: Program, args: Sequence[object], aux: bool = True
                   ) -> tuple[Callable[..., Any], list[Array]]:
        """The program as a function of its float parameters (the others closed over),
        returning its float results (and, with ``aux``, the other results as a second
        element), and the float arguments."""
        xs = self._arguments(program, args)
        ins, outs = float_positions(program)

        def of_floats(*floats: Array) -> Any:
            full = list(xs)
            for i, v in zip(ins, floats):
                full[i] = v
            results = run(program, full, self.ops)
            ys = tuple(results[k] for k in outs)
            if not aux:
                return ys
            return ys, tuple(r for k, r in enumerate(results) if k not in outs)

        return of_floats, [xs[i] for i in ins]

    def _tangents(self, program: Program, tangents: Sequence[object]) -> list[Array]:
        return [self.to_array(t) for t in tangent_arrays(program, tangents)]

    def _merge(self, program: Program, floats: Sequence[Array], others: Sequence[Array]
               ) -> tuple[np.ndarray, ...]:
        return merged_results(program, floats, others, self.to_numpy)

    def _map(self, fn: Callable[..., Sequence[Array]], inputs: tuple[ArrayType, ...],
             outputs: tuple[ArrayType, ...]) -> LinearMap:
        return LinearMap(fn, inputs, outputs, self.to_array, self.to_numpy)

    @staticmethod
    def _scalar_result(program: Program) -> None:
        """Refuse, for ``hvp``, a program without exactly one float result, a scalar."""
        _, outs = float_positions(program)
        if len(outs) != 1 or program.result_types[outs[0]].array.shape != ():
            raise ValueError(f"hvp needs one scalar float result; {program.name} returns "
                             f"{', '.join(str(t) for t in program.result_types)}")

    def evaluate(self, program: Program, args: Sequence[object]) -> tuple[np.ndarray, ...]:
        return tuple(self.to_numpy(r) for r in run(program, self._arguments(program, args),
                                                   self.ops))

    def linear_map(self, program: Program, residuals: Sequence[object]) -> LinearMap:
        """The program as a map of its ``lin`` parameters, the others bound to ``residuals``
        in order. Not checked with lintra's checker: whether the framework refuses to
        transpose a program that is not linear is what the suite wants to see."""
        lin = [i for i, b in enumerate(program.inputs) if b.type.linear]
        fixed = [i for i, b in enumerate(program.inputs) if not b.type.linear]
        if len(residuals) != len(fixed):
            raise TypeError(f"{program.name} has {len(fixed)} non-linear parameters, got "
                            f"{len(residuals)} residuals")
        bound = {i: self.to_array(argument(r, program.inputs[i].type.array,
                                           program.inputs[i].name))
                 for i, r in zip(fixed, residuals)}

        def apply(*ts: Array) -> tuple[Array, ...]:
            full = dict(bound)
            full.update(zip(lin, ts))
            return run(program, [full[i] for i in range(len(program.inputs))], self.ops)

        return self._map(apply, tuple(program.inputs[i].type.array for i in lin),
                         tuple(t.array for t in program.result_types))
