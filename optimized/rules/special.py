"""Linear-only primitives, identities and conversions (spec 3.8)."""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import (
    ANY,
    LINEAR_ONLY,
    CodeContext,
    Rule,
    together,
    unary_infer,
)


def _zero_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    from lintra.reference.errors import LintraTypeError

    raise LintraTypeError("zero() takes its type from its binder's annotation")


def _zero_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    t = e.outs[0].type
    return f"{ctx.fn('zeros')}({ctx.const(t.shape)}, {ctx.dtype(t.dtype)})"


def _zero_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return []


def _dup_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return (types[0], types[0])


def _dup_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return f"({xs[0]}, {xs[0]})"


def _dup_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    present = [c for c in cts if c is not None]
    return [present[0] if len(present) == 1 else b.op("add", *present)]


def _drop_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return ()


def _drop_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return "None"


def _drop_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [None]  # dropped: no cotangent flows back (a zero, made concrete where needed)


def _identity_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return xs[0]


def _pass_tangent(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [dxs[0]]


def _pass_cotangent(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [cts[0]]


def _no_tangent(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [None] * len(e.outs)


RULES = (
    Rule("zero", "special", _zero_infer, _zero_code, LINEAR_ONLY, transpose=_zero_transpose,
         max_operands=0),
    Rule("dup", "special", _dup_infer, _dup_code, LINEAR_ONLY, transpose=_dup_transpose,
         min_operands=1, max_operands=1),
    Rule("drop", "special", _drop_infer, _drop_code, LINEAR_ONLY,
         transpose=_drop_transpose, min_operands=1, max_operands=1),
    Rule("copy", "special", unary_infer(ANY), _identity_code, together(0), jvp=_pass_tangent,
         transpose=_pass_cotangent, min_operands=1, max_operands=1),
    Rule("stop_gradient", "special", unary_infer(ANY), _identity_code, jvp=_no_tangent,
         min_operands=1, max_operands=1),
)
