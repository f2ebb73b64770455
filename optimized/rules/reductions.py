"""Reductions, scans and sort (spec 3.7)."""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import NUMERIC, REQUIRED, CodeContext, Rule, together
from lintra.reference.errors import LintraTypeError, ShapeError


def _normalize_axes(params: dict, types: tuple[AType, ...]) -> dict:
    rank = types[0].rank if types else 0
    axes = params["axes"]
    if isinstance(axes, int):
        axes = (axes,)
    out = []
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool) or not -rank <= a < rank:
            raise ShapeError(f"axis {a} is out of range for rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ShapeError(f"axes {tuple(axes)} repeat an axis")
    return {**params, "axes": tuple(sorted(out))}


def _reduce_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    if t.dtype not in NUMERIC:
        raise LintraTypeError(f"reduce_sum needs a numeric operand, got {t.dtype}")
    axes = params["axes"]
    return (AType(t.dtype, tuple(d for i, d in enumerate(t.shape) if i not in axes)),)


def _reduce_sum_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    t = e.outs[0].type
    return (f"{ctx.fn('sum')}({xs[0]}, axis={ctx.const(e.params['axes'])}, "
            f"dtype={ctx.dtype(t.dtype)})")


def _reduce_sum_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("reduce_sum", dxs[0], **e.params)]


def _reduce_sum_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x = e.ins[0]
    axes = e.params["axes"]
    kept = tuple(i for i in range(x.type.rank) if i not in axes)
    return [b.op("broadcast_in_dim", ct, shape=x.type.shape, broadcast_dimensions=kept)]


RULES = (
    Rule("reduce_sum", "reductions", _reduce_infer, _reduce_sum_code, together(0),
         params={"axes": REQUIRED}, normalize=_normalize_axes, jvp=_reduce_sum_jvp,
         transpose=_reduce_sum_transpose, min_operands=1, max_operands=1),
)
