"""Building blocks for the JVP rules (chapter 4) and transpose rules (chapter 5) of records.

A rule emits equations through an :class:`~lintra.reference.emit.Emitter`; these helpers
capture the patterns most rules share, so that each record states only what is particular to
its primitive. Tangents and cotangents are linear variables or ``None`` (a symbolic zero).
A rule may use a linear variable more than once: the transformation makes sharing explicit
afterwards (rule *Share*, spec 4.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lintra.reference.primitives.base import (
    JvpRule,
    LinearOperand,
    Params,
    Tangent,
    TransposeRule,
)
from lintra.reference.syntax import ArrayType, Atom, DType, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter


# --------------------------------------------------------------------------------------------
# Tangent arithmetic with symbolic zeros


def add_tangents(em: Emitter, a: Tangent, b: Tangent) -> Tangent:
    """``a + b`` where ``None`` is the zero: no equation when either is zero."""
    if a is None:
        return b
    if b is None:
        return a
    return em.emit1("add", a, b, hint="dt")


def sum_tangents(em: Emitter, terms: Sequence[Tangent]) -> Tangent:
    """The sum of ``terms``, left to right, skipping symbolic zeros."""
    total: Tangent = None
    for t in terms:
        total = add_tangents(em, total, t)
    return total


def scale(em: Emitter, coefficient: Atom, t: Tangent, hint: str = "dt") -> Tangent:
    """``coefficient * t`` (``mul`` with the non-linear coefficient first); zero stays zero."""
    if t is None:
        return None
    return em.emit1("mul", coefficient, t, hint=hint)


def negate(em: Emitter, t: Tangent, hint: str = "dt") -> Tangent:
    return None if t is None else em.emit1("neg", t, hint=hint)


def broadcast_to(em: Emitter, t: Var, shape: tuple[int, ...], hint: str = "dt") -> Var:
    """A rank-0 value broadcast to ``shape`` (the implicit rank-0 broadcast made explicit)."""
    if em.array_type(t).shape == shape:
        return t
    return em.emit1("broadcast_in_dim", t, shape=shape, broadcast_dimensions=(), hint=hint)


def unbroadcast(em: Emitter, ct: Var, target: ArrayType, hint: str = "ct") -> Var:
    """The transpose of the implicit rank-0 broadcast: sum ``ct`` down to ``target``'s shape."""
    shape = em.array_type(ct).shape
    if shape == target.shape:
        return ct
    return em.emit1("reduce_sum", ct, axes=tuple(range(len(shape))), hint=hint)


def instantiate(em: Emitter, t: Tangent, like: ArrayType) -> Var:
    """A symbolic zero made concrete (``zero()``), for rules that need every operand."""
    return em.zero(like) if t is None else t


def operand_type(em: Emitter, xs: Sequence[Atom], i: int, shared: Sequence[int]) -> ArrayType:
    """The type of operand ``i``; a literal takes the dtype of the shared-dtype operands."""
    common: DType | None = None
    for j in shared:
        if isinstance(xs[j], Var):
            common = em.array_type(xs[j]).dtype
            break
    return em.array_type(xs[i], common if i in shared else None)


# --------------------------------------------------------------------------------------------
# Generic JVP rules


def zero_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
    """J-Zero: the derivative is zero (piecewise-constant or discrete results)."""
    return (None,) * len(ys)


def linear_jvp(name: str) -> JvpRule:
    """J-Linear: a linear primitive's tangent is the primitive applied to the tangents.

    Operands in the record's linear positions are replaced by their tangents (a symbolic zero
    is made concrete); the other operands (indices, predicates) keep their primal values.
    """

    def rule(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
        from lintra.reference.primitives import lookup

        prim = lookup(name)
        n = len(xs)
        linear = prim.linearity.positions.indices(n)
        shared = prim.shared_dtype.indices(n)
        operands = [
            instantiate(em, ts[i], operand_type(em, xs, i, shared)) if i in linear else xs[i]
            for i in range(n)
        ]
        return em.emit(name, *operands, hint="dt", **ps)

    rule.__name__ = f"{name}_jvp"
    rule.__doc__ = f"J-Linear for {name}: {name} applied to the tangents."
    return rule


def bilinear_jvp(name: str) -> JvpRule:
    """J-Bilinear: ``d f(x, y) = f(dx, y) + f(x, dy)`` for ``mul`` and ``dot_general``."""

    def rule(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
        terms: list[Tangent] = []
        for i, t in enumerate(ts):
            if t is not None:
                operands = list(xs)
                operands[i] = t
                terms.append(em.emit1(name, *operands, hint="dt", **ps))
        return (sum_tangents(em, terms),)

    rule.__name__ = f"{name}_jvp"
    rule.__doc__ = f"J-Bilinear for {name}."
    return rule


Coefficient = Callable[["Emitter", Atom, Var, Params], Atom]
"""``coefficient(em, x, y, ps)``: emit f'(x) for a unary primitive with result ``y = f(x)``."""


def chain_rule(coefficient: Coefficient) -> JvpRule:
    """J-Unary: ``dy = f'(x) * dx`` with ``f'(x)`` emitted by ``coefficient``."""

    def rule(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...], ys: tuple[Var, ...],
             ps: Params) -> tuple[Tangent, ...]:
        return (scale(em, coefficient(em, xs[0], ys[0], ps), ts[0]),)

    rule.__name__ = f"jvp_{coefficient.__name__}"
    rule.__doc__ = f"J-Unary with coefficient {coefficient.__name__}."
    return rule


# --------------------------------------------------------------------------------------------
# Generic transpose rules


def linear_operands(xs: Sequence[Atom | LinearOperand]) -> list[int]:
    """The positions of the linear operands of an equation being transposed."""
    return [i for i, x in enumerate(xs) if isinstance(x, LinearOperand)]


def self_transpose(name: str) -> TransposeRule:
    """T-Self: for a one-operand primitive that is its own transpose (``neg``, ``copy``)."""

    def rule(em: Emitter, cts: tuple[Tangent, ...], xs: tuple[Atom | LinearOperand, ...],
             ps: Params) -> tuple[Tangent, ...]:
        return (em.emit1(name, cts[0], hint="ct", **ps),)

    rule.__name__ = f"{name}_transpose"
    rule.__doc__ = f"T-Self for {name}: {name} applied to the cotangent."
    return rule


__all__ = [
    "Coefficient",
    "add_tangents",
    "bilinear_jvp",
    "broadcast_to",
    "chain_rule",
    "instantiate",
    "linear_jvp",
    "linear_operands",
    "negate",
    "operand_type",
    "scale",
    "self_transpose",
    "sum_tangents",
    "unbroadcast",
    "zero_jvp",
]
