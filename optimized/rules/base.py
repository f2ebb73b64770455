"""The rule record: everything the engine knows about one primitive, as data.

One :class:`Rule` per primitive of spec chapter 3, grouped by family in the modules of this
package (``unary``, ``binary``, ``logic``, ``structure``, ``indexing``, ``contraction``,
``reductions``, ``special``). A record holds:

* ``params``: the static parameters with their defaults (:data:`REQUIRED` if none), and
  ``normalize``, which turns given parameters into the canonical form every other field may
  assume (defaults filled, selecting axes made non-negative, spec 2.5);
* ``infer``: the shape and dtype rule, ``(operand types, params) -> result types``, raising
  ``ShapeError`` or ``LintraTypeError`` with a message that says what was expected;
* ``shared_dtype``: the operand positions whose literals take the first variable's dtype
  (spec 2.2);
* ``linearity``: the kind and positions of spec 2.4;
* ``code``: how the plan evaluates it, as a Python expression over the operands' local names
  (:class:`CodeContext` gives names for array-library functions, kernels and constants);
* ``jvp``: the tangent rule of spec 4.2, emitting equations through a Builder;
* ``transpose``: for primitives with linear positions, the transpose rule of spec 5.2.

The rules are written from the spec, never from the reference's code, so that the two
implementations check each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

from lintra.optimized.ir import Atom, AType, Builder, Eqn, Var
from lintra.reference.errors import LinearityError, LintraTypeError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter that must be given."""


_type_of = attrgetter("type")
_linear_of = attrgetter("linear")

# --------------------------------------------------------------------------------------------
# Linearity (spec 2.4)


@dataclass(frozen=True)
class Linearity:
    """Which operand positions may be linear and how: ``never``, ``together`` (all linear or
    none), ``at_most_one`` (one linear operand scaled by the others) or ``linear_only``.
    ``positions`` lists positions; ``start`` means every position from ``start`` on."""

    kind: str
    positions: tuple[int, ...] = ()
    start: int | None = None

    def at(self, n: int) -> tuple[int, ...]:
        """The linear positions among ``n`` operands."""
        if self.kind == "linear_only":
            return tuple(range(n))
        if self.start is not None:
            return tuple(range(self.start, n))
        if not self.positions or self.positions[-1] < n:
            return self.positions
        return tuple(k for k in self.positions if k < n)

    def __post_init__(self) -> None:
        # combinations of linear flags already judged allowed, and the verdict (not a field:
        # equality and hashing ignore it)
        object.__setattr__(self, "_allowed", {})

    def result_linear(self, ins: Sequence[Atom], prim: str) -> bool:
        """Whether the results are linear, given the operands (a LinearityError for a
        combination the rule forbids)."""
        if self.kind != "linear_only":
            for a in ins:
                if a.linear:
                    break
            else:
                return False
        flags = tuple(map(_linear_of, ins))
        allowed: dict[tuple[bool, ...], bool] = self._allowed  # type: ignore[attr-defined]
        verdict = allowed.get(flags)
        if verdict is None:
            verdict = allowed[flags] = self._judge(flags, prim)
        return verdict

    def _judge(self, flags: tuple[bool, ...], prim: str) -> bool:
        """:meth:`result_linear` for operands with these linear flags (raises for a
        combination the rule forbids, so only allowed ones are remembered)."""
        if self.kind == "linear_only":
            if not all(flags):
                raise LinearityError(f"{prim} takes linear operands only")
            return True
        if not any(flags):
            return False
        allowed = self.at(len(flags))
        outside = [k for k, f in enumerate(flags) if f and k not in allowed]
        if self.kind == "never" or outside:
            where = outside or [k for k, f in enumerate(flags) if f]
            raise LinearityError(
                f"{prim} does not accept a linear operand at position {where[0] + 1}")
        chosen = [flags[k] for k in allowed]
        if self.kind == "together" and not all(chosen):
            raise LinearityError(
                f"{prim} needs its operands at positions "
                f"{', '.join(str(k + 1) for k in allowed)} all linear or all non-linear")
        if self.kind == "at_most_one" and sum(chosen) > 1:
            raise LinearityError(f"{prim} takes at most one linear operand (a product of "
                                 "two linear values is not linear)")
        return True


NEVER = Linearity("never")
LINEAR_ONLY = Linearity("linear_only")


def together(*positions: int, start: int | None = None) -> Linearity:
    return Linearity("together", positions, start)


def at_most_one(*positions: int) -> Linearity:
    return Linearity("at_most_one", positions)


# --------------------------------------------------------------------------------------------
# Code generation


class CodeContext(Protocol):
    """What a rule's ``code`` may ask of the plan being generated. Every method returns the
    name of a global of the generated module, bound once when the plan is compiled."""

    def fn(self, path: str) -> str:
        """``xp.<path>`` of the array library (e.g. ``"sin"``, ``"add.reduce"``)."""
        ...

    def special(self, name: str) -> str:
        """A function of the library's special-function module (``"erf"``)."""
        ...

    def kernel(self, factory: Callable[[Any], Callable[..., Any]]) -> str:
        """``factory(table)``: a helper function the rule defines, made once per array
        library (``table`` is the :class:`~lintra.optimized.arrays.ArrayTable`)."""
        ...

    def const(self, value: object) -> str:
        """Any constant object (a tuple, a dtype, a precomputed array)."""
        ...

    def dtype(self, dtype: str) -> str:
        """The library's dtype object for a language dtype name."""
        ...


CodeRule = Callable[[CodeContext, Eqn, Sequence[str]], str]
"""``(ctx, e, operand expressions) -> expression``: one value for a one-result primitive, a
tuple for several; literals arrive as the names of typed rank-0 constants."""

InferRule = Callable[[tuple[AType, ...], dict], tuple[AType, ...]]
NormalizeRule = Callable[[dict, tuple[AType, ...]], dict]

JvpRule = Callable[[Builder, Eqn, Sequence["Var | None"]], Sequence["Var | None"]]
"""``(b, e, tangents) -> result tangents``: ``e`` is the primal equation as re-emitted in the
JVP graph (its operands and results are the new graph's); a tangent is None where it is a
symbolic zero (a non-float operand, a literal, or a value independent of the inputs). Return
None for a result whose tangent is zero. Only called when some operand tangent is not None."""

TransposeRule = Callable[[Builder, Eqn, Sequence["Var | None"]], Sequence["Var | None"]]
"""``(b, e, cotangents) -> operand cotangents``: ``e``'s non-linear operands are variables of
the transposed graph, its linear operands are the original linear variables (read their
types and ``linear`` flags only); one cotangent per result (None: zero; at least one is not
None). Return one entry per operand: the cotangent contribution of each linear operand (None
for a zero contribution) and None at non-linear positions."""


_INFERRED_LIMIT = 4096
"""Combinations of operand types one rule remembers (:meth:`Rule.result_types`)."""


@dataclass(frozen=True)
class Rule:
    """Everything the engine knows about one primitive (see the module docstring)."""

    name: str
    family: str
    infer: InferRule
    code: CodeRule
    linearity: Linearity = NEVER
    params: dict[str, object] = field(default_factory=dict)
    normalize: NormalizeRule | None = None
    shared_dtype: tuple[int, ...] | None = None
    """Positions whose literals take the first variable's dtype; None: all positions."""
    shared_from: int | None = None
    """Instead of listing them: every position from this one on (``select_n``'s cases)."""
    jvp: JvpRule | None = None
    transpose: TransposeRule | None = None
    min_operands: int = 0
    max_operands: int | None = None

    def __post_init__(self) -> None:
        # result types already inferred for operand types, for rules without parameters
        # (not a field: equality and hashing ignore it)
        object.__setattr__(self, "_inferred", {})
        # shared_positions' answers by number of operands (not a field either)
        object.__setattr__(self, "_positions", {})

    def result_types(self, ins: Sequence[Atom], params: dict) -> tuple[AType, ...]:
        """``infer`` on the operands' types. A type rule is a function of the operand types
        and the parameters, so for a primitive without parameters each combination of
        operand types is inferred once (a refused one raises every time)."""
        types = tuple(map(_type_of, ins))
        if params:
            return self.infer(types, params)
        inferred: dict = self._inferred  # type: ignore[attr-defined]
        out = inferred.get(types)
        if out is None:
            out = self.infer(types, params)
            if len(inferred) >= _INFERRED_LIMIT:
                inferred.clear()
            inferred[types] = out
        return out

    def shared_positions(self, n: int) -> tuple[int, ...]:
        """The positions among ``n`` operands whose literals share a dtype (spec 2.2),
        worked out once per number of operands."""
        known: dict[int, tuple[int, ...]] = self._positions  # type: ignore[attr-defined]
        positions = known.get(n)
        if positions is None:
            positions = known[n] = self._shared_positions(n)
        return positions

    def _shared_positions(self, n: int) -> tuple[int, ...]:
        if self.shared_from is not None:
            return tuple(range(self.shared_from, n))
        if self.shared_dtype is None:
            return tuple(range(n))
        return tuple(k for k in self.shared_dtype if k < n)

    def normalized(self, given: dict, ins: Sequence[Atom]) -> dict:
        """The canonical parameters: unknown names refused, defaults filled, then the rule's
        own normalization (which may read the operand types)."""
        n = len(ins)
        if n < self.min_operands or (self.max_operands is not None and n > self.max_operands):
            want = (str(self.min_operands) if self.max_operands == self.min_operands else
                    f"{self.min_operands} to {self.max_operands}"
                    if self.max_operands is not None else f"at least {self.min_operands}")
            noun = "operand" if want == "1" else "operands"
            raise LintraTypeError(f"{self.name} takes {want} {noun}, got {n}")
        if not self.params and not given:
            return given
        for name in given:
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise LintraTypeError(
                    f"{self.name} has no parameter {name!r} (its parameters: {known})")
        ps = dict(given) if len(given) == len(self.params) else {**self.params, **given}
        missing = [k for k, v in ps.items() if v is REQUIRED]
        if missing:
            raise LintraTypeError(f"{self.name} needs parameter {missing[0]!r}")
        if self.normalize is not None:
            ps = self.normalize(ps, tuple(a.type for a in ins))
        return ps


# --------------------------------------------------------------------------------------------
# Shared pieces of the rules


NUMERIC = frozenset({"f64", "f32", "i64", "i32"})
FLOAT = frozenset({"f64", "f32"})
ANY = frozenset({"f64", "f32", "i64", "i32", "bool"})


def elementwise_type(name: str, types: Sequence[AType], dtypes: frozenset[str],
                     result_dtype: str | None = None) -> AType:
    """Spec 2.5's elementwise rule: one dtype among ``dtypes``, equal shapes with rank-0
    operands broadcasting. The result has the common shape and ``result_dtype`` (default:
    the operands' dtype)."""
    first = types[0]
    for t in types:
        if t != first:
            break
    else:  # the common case, operands of one type, decided at once
        if first.dtype in dtypes:
            return first if result_dtype is None else AType(result_dtype, first.shape)
    dtype = first.dtype
    for t in types:
        if t.dtype != dtype:
            raise LintraTypeError(
                f"{name} needs operands of one dtype, got {', '.join(str(u) for u in types)}")
    if dtype not in dtypes:
        kinds = {FLOAT: "float", NUMERIC: "numeric", ANY: "any"}.get(dtypes, "/".join(
            sorted(dtypes)))
        raise LintraTypeError(f"{name} needs {kinds} operands, got {dtype}")
    shape: tuple[int, ...] = ()
    for t in types:
        if t.shape:
            if shape and t.shape != shape:
                from lintra.reference.errors import ShapeError

                raise ShapeError(
                    f"{name} needs operands of equal shapes (a rank-0 operand broadcasts), "
                    f"got {', '.join(str(u) for u in types)}")
            shape = t.shape
    return AType(result_dtype or dtype, shape)


def unary_infer(dtypes: frozenset[str]) -> InferRule:
    """The type rule of a one-operand elementwise primitive accepting ``dtypes``."""

    def infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
        return (elementwise_type("operand", types, dtypes),)

    return infer


def ufunc(path: str) -> CodeRule:
    """Code that calls the array library's function ``path`` (a ufunc) on the operands. The
    plan may add ``out=`` to write the result over an operand no one else can see
    (``plan.py``): the code is marked with ``writes_fresh_arrays``. Its text depends on the
    operands' texts alone (``text_of_operands``), so a plan makes it once per distinct
    operands."""

    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        return f"{ctx.fn(path)}({', '.join(xs)})"

    code.__name__ = f"call_{path.replace('.', '_')}"
    code.writes_fresh_arrays = True  # type: ignore[attr-defined]
    code.text_of_operands = True  # type: ignore[attr-defined]
    return code


def broadcast_to(b: Builder, x: Var, t: AType) -> Var:
    """``x`` (rank 0 or of type ``t``'s shape) as an array of ``t``'s shape."""
    if x.type.shape == t.shape:
        return x
    return b.op("broadcast_in_dim", x, shape=t.shape, broadcast_dimensions=())


def scale(b: Builder, coefficient: Atom, tangent: Var) -> Var:
    """``mul(coefficient, tangent)``: J-Unary's one linear step."""
    return b.op("mul", coefficient, tangent)


def unbroadcast(b: Builder, ct: Var, t: AType) -> Var:
    """The cotangent of an operand of type ``t`` that was broadcast (rank 0) into ``ct``'s
    shape: the sum over every axis; ``ct`` itself when no broadcast happened."""
    if ct.type.shape == t.shape:
        return ct
    return b.op("reduce_sum", ct, axes=tuple(range(ct.type.rank)))
