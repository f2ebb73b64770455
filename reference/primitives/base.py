"""The primitive record: everything the spec says about one primitive, as data (spec 2.3, 3).

A :class:`Primitive` holds the primitive's static rules (operand count, parameters, the shape
and dtype rule, which operand positions may be linear, which operands share a dtype) and its
evaluation rule in both number domains. Family modules (``unary``, ``binary``, ...) define one
record per primitive; the checker and the evaluator only look records up, so no primitive name
appears in either of them.

Conventions: ``ts`` operand types, ``ps`` the parameter mapping (defaults filled in), ``xs``
operand arrays, ``d`` the number domain, ``outs`` the result types.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain, within_range
from lintra.reference.errors import LintraTypeError, ShapeError
from lintra.reference.syntax import ArrayType, Atom, DType, ParamValue, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

# --------------------------------------------------------------------------------------------
# Operand positions


@dataclass(frozen=True)
class Positions:
    """A set of operand positions: the ``explicit`` ones, plus every position >= ``start``."""

    explicit: tuple[int, ...] = ()
    start: int | None = None

    def indices(self, n: int) -> tuple[int, ...]:
        """The positions in this set among ``n`` operands, in increasing order."""
        return _positions(self.explicit, self.start, n)

    def describe(self, n: int) -> str:
        idx = self.indices(n)
        return "none" if not idx else ", ".join(str(i + 1) for i in idx)


@functools.cache
def _positions(explicit: tuple[int, ...], start: int | None, n: int) -> tuple[int, ...]:
    """:meth:`Positions.indices`, computed once per argument triple (the checker asks for it
    for every equation)."""
    rest = range(start, n) if start is not None else range(0)
    return tuple(sorted({i for i in explicit if i < n} | set(rest)))


ALL = Positions(start=0)
NONE = Positions()


def at(*positions: int) -> Positions:
    """The operand positions given (0-based)."""
    return Positions(explicit=positions)


def from_position(start: int) -> Positions:
    """Every operand position from ``start`` (0-based) on."""
    return Positions(start=start)


# --------------------------------------------------------------------------------------------
# Linearity declarations (spec 2.3)


class LinearityKind(enum.Enum):
    NEVER = "never"
    """No operand may be linear (``sin``, comparisons, ...)."""
    TOGETHER = "together"
    """The operands at ``positions`` are all linear or all non-linear; the others are never
    linear (``add``: both; ``div``: the numerator; ``select_n``: the cases)."""
    AT_MOST_ONE = "at_most_one"
    """At most one operand at ``positions`` is linear, scaled by the others (``mul``)."""
    LINEAR_ONLY = "linear_only"
    """Every operand and result is linear (``dup``, ``drop``, ``zero``)."""


@dataclass(frozen=True)
class Linearity:
    kind: LinearityKind
    positions: Positions = NONE

    def describe(self, n: int) -> str:
        where = self.positions.describe(n)
        return {
            LinearityKind.NEVER: "no operand may be linear",
            LinearityKind.TOGETHER: f"operands {where} must be all linear or all non-linear, "
            "the others non-linear",
            LinearityKind.AT_MOST_ONE: f"at most one of operands {where} may be linear, "
            "the others non-linear",
            LinearityKind.LINEAR_ONLY: "every operand must be linear",
        }[self.kind]


NEVER_LINEAR = Linearity(LinearityKind.NEVER)
LINEAR_ONLY = Linearity(LinearityKind.LINEAR_ONLY, ALL)


def linear_together(positions: Positions = ALL) -> Linearity:
    return Linearity(LinearityKind.TOGETHER, positions)


def linear_at_most_one(positions: Positions = ALL) -> Linearity:
    return Linearity(LinearityKind.AT_MOST_ONE, positions)


# --------------------------------------------------------------------------------------------
# Static parameters


class ParamKind(enum.Enum):
    INT = "int"
    BOOL = "bool"
    FLOAT = "float"
    STR = "string"
    DTYPE = "dtype name"
    INTS = "tuple of ints"
    INTS_PAIR = "pair of tuples of ints"
    INTS_TUPLES = "tuple of tuples of ints"


REQUIRED = object()


@dataclass(frozen=True)
class ParamSpec:
    """A static parameter: its name, kind and default (``REQUIRED`` when it has none)."""

    name: str
    kind: ParamKind
    default: object = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_ints(v: object) -> bool:
    return isinstance(v, tuple) and all(_is_int(x) for x in v)


_KIND_CHECKS: dict[ParamKind, Callable[[object], bool]] = {
    ParamKind.INT: _is_int,
    ParamKind.BOOL: lambda v: isinstance(v, bool),
    ParamKind.FLOAT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    ParamKind.STR: lambda v: isinstance(v, str),
    ParamKind.DTYPE: lambda v: isinstance(v, str) and v in DType._value2member_map_,
    ParamKind.INTS: _is_ints,
    ParamKind.INTS_PAIR: lambda v: isinstance(v, tuple) and len(v) == 2 and all(map(_is_ints, v)),
    ParamKind.INTS_TUPLES: lambda v: isinstance(v, tuple) and all(map(_is_ints, v)),
}


def check_param_kind(spec: ParamSpec, value: ParamValue) -> None:
    if not _KIND_CHECKS[spec.kind](value):
        extra = ""
        if spec.kind is ParamKind.DTYPE:
            extra = f" (one of {', '.join(DType._value2member_map_)})"
        raise LintraTypeError(
            f"parameter {spec.name} must be a {spec.kind.value}{extra}, got {value!r}"
        )


# --------------------------------------------------------------------------------------------
# The record

Params = Mapping[str, ParamValue]
TypeRule = Callable[[tuple[ArrayType, ...], Params], tuple[ArrayType, ...]]
EvalRule = Callable[
    [Domain, tuple[np.ndarray, ...], Params, tuple[ArrayType, ...]], tuple[np.ndarray, ...]
]


@dataclass(frozen=True)
class LinearOperand:
    """In a transpose rule, an operand that is linear: only its type is known (spec 5.3)."""

    type: ArrayType


Tangent = Var | None
"""A tangent or cotangent in a rule: a linear variable, or ``None`` for a symbolic zero."""

JvpRule = Callable[
    ["Emitter", tuple[Atom, ...], tuple[Tangent, ...], tuple[Var, ...], Params],
    tuple[Tangent, ...],
]
"""``jvp(em, xs, ts, ys, ps)``: emit the tangent equations of one equation (spec 4.2).

``xs`` are the primal operands, ``ts`` their tangents (``None`` for a symbolic zero: always
for literals and integer or boolean operands; never all ``None``), ``ys`` the primal results
(already emitted), ``ps`` the parameters. Returns one tangent per result, ``None`` for a
symbolic zero (always for integer and boolean results)."""

TransposeRule = Callable[
    ["Emitter", tuple[Tangent, ...], tuple["Atom | LinearOperand", ...], Params],
    tuple[Tangent, ...],
]
"""``transpose(em, cts, xs, ps)``: emit the transpose of one linear equation (spec 5.3).

``cts`` are the cotangents of the results (``None`` for a symbolic zero; never all ``None``),
``xs`` the operands, the linear ones as :class:`LinearOperand`. Returns one cotangent per
operand: a variable of the operand's type or ``None`` (zero) for linear operands, ``None``
for the others."""


@dataclass(frozen=True)
class Arity:
    """How many operands: at least ``min``, at most ``max`` (``None``: any number)."""

    min: int
    max: int | None

    def accepts(self, n: int) -> bool:
        return n >= self.min and (self.max is None or n <= self.max)

    def __str__(self) -> str:
        if self.max == self.min:
            return f"{self.min} operand{'s' if self.min != 1 else ''}"
        if self.max is None:
            return f"at least {self.min} operands"
        return f"{self.min} to {self.max} operands"


def fixed(n: int) -> Arity:
    return Arity(n, n)


def at_least(n: int) -> Arity:
    return Arity(n, None)


@dataclass(frozen=True)
class DerivativeClaim:
    """How exactly a primitive's JVP rule computes its partial derivatives (spec 3.1-3.8,
    column *d-ulp*; the pass rule of spec 7.3 allows exactly this).

    At exact float inputs, the tangent result for a unit tangent in one differentiable
    operand (every other tangent zero) is the partial derivative the rule computes. The claim
    is that each such partial is within ``ulps`` ulp of the true partial derivative, in the
    result dtype, wherever the true value is a normal number of that dtype (and, for
    ``per_term``, ``ulps`` times ``n``, the number of factors or terms that meet in one
    partial along the primitive's axis, as for the γ bounds of cumulative products). The
    formula that achieves it is the rule's own business: a backend is held to the claim, not
    to the reference's formula.
    """

    ulps: float
    per_term: bool = False

    def ulps_for(self, terms: int = 1) -> float:
        """The claim in ulps for a partial in which ``terms`` factors or terms meet."""
        return self.ulps * max(terms, 1) if self.per_term else self.ulps


@dataclass(frozen=True)
class Primitive:
    """One primitive of the language: its static rules and its evaluation rule.

    ``type_rule`` maps operand types and parameters to result types, raising
    :class:`ShapeError` or :class:`LintraTypeError` (the checker adds the place).
    ``shared_dtype`` lists the operands that must share one dtype; a literal among them takes
    that dtype, a literal elsewhere its default dtype (spec 2.2).
    ``evaluate`` computes results from operand arrays in a number domain.
    ``result_from_annotation`` marks ``zero``, whose result type is its binder's annotation.
    ``jvp`` emits the tangent equations (chapter 4); ``transpose`` emits the transpose of an
    equation with linear operands (chapter 5). ``None`` means the primitive has no such rule
    and the transformation reports :class:`UnsupportedPrimitiveError`.
    ``derivative`` is the accuracy claim of the partial derivatives ``jvp`` computes
    (:class:`DerivativeClaim`); ``None`` where the tangent is the primitive applied to the
    tangents (a linear primitive, judged by its value claim) or the derivative is zero.
    """

    name: str
    family: str
    summary: str
    arity: Arity
    params: tuple[ParamSpec, ...]
    type_rule: TypeRule
    linearity: Linearity
    evaluate: EvalRule
    shared_dtype: Positions = ALL
    result_from_annotation: bool = False
    jvp: JvpRule | None = None
    transpose: TransposeRule | None = None
    derivative: DerivativeClaim | None = None

    def param_values(self, given: Params) -> dict[str, ParamValue]:
        """Validate the given parameters and fill in defaults."""
        known = {s.name: s for s in self.params}
        for name in given:
            if name not in known:
                expected = ", ".join(known) or "no parameters"
                raise LintraTypeError(
                    f"{self.name} has no parameter {name!r} (expected: {expected})"
                )
        values: dict[str, ParamValue] = {}
        for spec in self.params:
            if spec.name in given:
                check_param_kind(spec, given[spec.name])
                values[spec.name] = given[spec.name]
            elif spec.required:
                raise LintraTypeError(
                    f"{self.name} needs parameter {spec.name} ({spec.kind.value})"
                )
            else:
                values[spec.name] = spec.default  # type: ignore[assignment]
        return values


# --------------------------------------------------------------------------------------------
# Shared helpers for type rules


def require(condition: bool, message: str, error: type[LintraTypeError] = ShapeError) -> None:
    """Raise ``error(message)`` unless ``condition`` holds: the one helper rules fail through."""
    if not condition:
        raise error(message)


def require_dtype(
    t: ArrayType, allowed: Sequence[DType] | Callable[[DType], bool], what: str
) -> None:
    ok = allowed(t.dtype) if callable(allowed) else t.dtype in allowed
    if not ok:
        if callable(allowed):
            expected = getattr(allowed, "__doc__", None) or "another dtype"
        else:
            expected = " or ".join(str(d) for d in allowed)
        raise LintraTypeError(f"{what} has dtype {t.dtype}, expected {expected}")


def same_dtype(ts: Sequence[ArrayType], what: str = "operands") -> DType:
    """The common dtype of ``ts``; raise if they differ."""
    if any(t.dtype is not ts[0].dtype for t in ts):  # the message is built only on failure
        raise LintraTypeError(f"{what} must have one dtype, got {', '.join(map(str, ts))}")
    return ts[0].dtype


def broadcast_shapes(ts: Sequence[ArrayType], what: str = "operands") -> tuple[int, ...]:
    """Elementwise shape rule: equal shapes, except that rank-0 operands broadcast."""
    shapes = {t.shape for t in ts if t.shape}
    if len(shapes) > 1:  # the message is built only on failure
        raise ShapeError(
            f"{what} must have equal shapes (or rank 0), got {', '.join(map(str, ts))}; "
            "use broadcast_in_dim for other broadcasts"
        )
    return shapes.pop() if shapes else ()


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    """An axis in ``[-rank, rank)`` as a non-negative index."""
    require(-rank <= axis < rank, f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else axis


def normalize_axes(axes: Sequence[int], rank: int, what: str = "axes") -> tuple[int, ...]:
    """Distinct axes in ``[-rank, rank)`` as non-negative indices, in the order given."""
    out = tuple(normalize_axis(a, rank, what) for a in axes)
    require(len(set(out)) == len(out), f"{what} {tuple(axes)} repeat an axis")
    return out


# Dtype predicates with a docstring, used by ``require_dtype`` in messages.


def is_float(d: DType) -> bool:
    """a float dtype (f64 or f32)"""
    return d.is_float


def is_numeric(d: DType) -> bool:
    """a numeric dtype (f64, f32, i64 or i32)"""
    return d.is_numeric


def is_integer(d: DType) -> bool:
    """an integer dtype (i64 or i32)"""
    return d.is_int


def is_bool(d: DType) -> bool:
    """bool"""
    return d is DType.bool


def any_dtype(d: DType) -> bool:
    """any dtype"""
    return True

__all__ = [
    "ALL",
    "LINEAR_ONLY",
    "NEVER_LINEAR",
    "NONE",
    "REQUIRED",
    "Arity",
    "DerivativeClaim",
    "Domain",
    "JvpRule",
    "LinearOperand",
    "Linearity",
    "LinearityKind",
    "ParamKind",
    "ParamSpec",
    "Positions",
    "Primitive",
    "Tangent",
    "TransposeRule",
    "any_dtype",
    "at",
    "at_least",
    "broadcast_shapes",
    "elementwise",
    "fixed",
    "from_position",
    "is_bool",
    "is_float",
    "is_integer",
    "is_numeric",
    "linear_at_most_one",
    "linear_together",
    "normalize_axes",
    "normalize_axis",
    "require",
    "require_dtype",
    "same_dtype",
]


# --------------------------------------------------------------------------------------------
# Shared helper for evaluation rules


def elementwise(
    f64: Callable[..., np.ndarray],
    mp: Callable[..., object],
    param_names: tuple[str, ...] = (),
) -> EvalRule:
    """Evaluation rule of an elementwise primitive.

    ``f64(*arrays, **params)`` is a NumPy function used in the float64 domain and, in both
    domains, for integer and boolean operands. ``mp(ctx, *scalars, **params)`` computes one
    element from mpmath numbers of context ``ctx``; it is used for float operands in the mpmath
    domain, where operands and results are put within the domain's exponent range (spec 3.0.1:
    a value from a sum or product beyond it is ±inf before a function sees it, so no mpmath
    call meets a huge argument). Rank-0 operands broadcast. Floating-point exceptions are not
    warnings: the spec states the value (nan, inf, signed zero) each primitive gives.
    """

    def evaluate(
        d: Domain, xs: tuple[np.ndarray, ...], ps: Params, outs: tuple[ArrayType, ...]
    ) -> tuple[np.ndarray, ...]:
        kw = {k: ps[k] for k in param_names}
        out = outs[0]
        if d.is_mp and any(d.is_float_array(x) for x in xs):
            ctx = d.ctx  # type: ignore[attr-defined]

            def one(*scalars: object) -> object:
                return mp(ctx, *(within_range(ctx, v) for v in scalars), **kw)

            r = d.map(one, *xs)  # type: ignore[attr-defined]
            return (r if out.dtype.is_float else r.astype(out.dtype.numpy),)
        with np.errstate(all="ignore"):
            r = f64(*xs, **kw)
        return (np.asarray(r, dtype=out.dtype.numpy).reshape(out.shape),)

    return evaluate
