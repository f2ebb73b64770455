"""Unary elementwise functions (spec 3.1)."""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.ir import Builder, Eqn, Var
from lintra.optimized.rules.base import (
    FLOAT,
    NUMERIC,
    Rule,
    scale,
    together,
    ufunc,
    unary_infer,
)


def _neg_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("neg", dxs[0])]


def _neg_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("neg", cts[0])]


def _sin_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [scale(b, b.op("cos", e.ins[0]), dxs[0])]


def _cos_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [scale(b, b.op("neg", b.op("sin", e.ins[0])), dxs[0])]


RULES = (
    Rule("neg", "unary", unary_infer(NUMERIC), ufunc("negative"), together(0),
         jvp=_neg_jvp, transpose=_neg_transpose, min_operands=1, max_operands=1),
    Rule("sin", "unary", unary_infer(FLOAT), ufunc("sin"), jvp=_sin_jvp,
         min_operands=1, max_operands=1),
    Rule("cos", "unary", unary_infer(FLOAT), ufunc("cos"), jvp=_cos_jvp,
         min_operands=1, max_operands=1),
)
