"""Binary arithmetic (spec 3.2)."""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import (
    NUMERIC,
    Rule,
    at_most_one,
    broadcast_to,
    elementwise_type,
    together,
    ufunc,
    unbroadcast,
)


def _binary_infer(dtypes: frozenset[str]):
    def infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
        return (elementwise_type("operands", types, dtypes),)

    return infer


def _add_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    dx, dy = dxs
    out = e.outs[0].type
    if dx is None:
        return [broadcast_to(b, dy, out)]
    if dy is None:
        return [broadcast_to(b, dx, out)]
    return [b.op("add", dx, dy)]


def _add_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    return [unbroadcast(b, ct, a.type) if a.linear else None for a in e.ins]


def _sub_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    dx, dy = dxs
    out = e.outs[0].type
    if dx is None:
        return [broadcast_to(b, b.op("neg", dy), out)]
    if dy is None:
        return [broadcast_to(b, dx, out)]
    return [b.op("sub", dx, dy)]


def _sub_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x, y = e.ins
    return [unbroadcast(b, ct, x.type) if x.linear else None,
            unbroadcast(b, b.op("neg", ct), y.type) if y.linear else None]


def _mul_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    x, y = e.ins
    dx, dy = dxs
    terms = []
    if dx is not None:
        terms.append(b.op("mul", dx, y))
    if dy is not None:
        terms.append(b.op("mul", x, dy))
    return [terms[0] if len(terms) == 1 else b.op("add", *terms)]


def _mul_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x, y = e.ins
    if x.linear:
        return [unbroadcast(b, b.op("mul", ct, y), x.type), None]
    return [None, unbroadcast(b, b.op("mul", x, ct), y.type)]


RULES = (
    Rule("add", "binary", _binary_infer(NUMERIC), ufunc("add"), together(0, 1),
         jvp=_add_jvp, transpose=_add_transpose, min_operands=2, max_operands=2),
    Rule("sub", "binary", _binary_infer(NUMERIC), ufunc("subtract"), together(0, 1),
         jvp=_sub_jvp, transpose=_sub_transpose, min_operands=2, max_operands=2),
    Rule("mul", "binary", _binary_infer(NUMERIC), ufunc("multiply"), at_most_one(0, 1),
         jvp=_mul_jvp, transpose=_mul_transpose, min_operands=2, max_operands=2),
)
