"""Structural primitives (spec 3.4)."""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import REQUIRED, CodeContext, Rule, together
from lintra.reference.errors import ShapeError


def _broadcast_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    shape, dims = tuple(params["shape"]), tuple(params["broadcast_dimensions"])
    if len(dims) != t.rank:
        raise ShapeError(f"broadcast_in_dim needs one broadcast dimension per operand axis "
                         f"({t.rank}), got {dims}")
    for i, d in enumerate(dims):
        if not 0 <= d < len(shape) or t.shape[i] not in (1, shape[d]):
            raise ShapeError(f"broadcast_in_dim: operand axis {i} of size {t.shape[i]} cannot "
                             f"broadcast to axis {d} of shape {shape}")
    return (AType(t.dtype, shape),)


def _broadcaster(tab: ArrayTable):
    xp = tab.xp

    def broadcast_in_dim(x, shape, dims):
        x = xp.asarray(x)
        inner = [1] * len(shape)
        for i, d in enumerate(dims):
            inner[d] = x.shape[i]
        return xp.broadcast_to(xp.reshape(x, inner), shape)

    return broadcast_in_dim


def _broadcast_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    ps = e.params
    return (f"{ctx.kernel(_broadcaster)}({xs[0]}, {ctx.const(tuple(ps['shape']))}, "
            f"{ctx.const(tuple(ps['broadcast_dimensions']))})")


def _broadcast_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("broadcast_in_dim", dxs[0], **e.params)]


def _broadcast_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x = e.ins[0]
    dims = tuple(e.params["broadcast_dimensions"])
    summed = tuple(d for d in range(ct.type.rank) if d not in dims)
    stretched = tuple(dims[i] for i in range(x.type.rank)
                      if x.type.shape[i] == 1 and ct.type.shape[dims[i]] != 1)
    axes = tuple(sorted(summed + stretched))
    if axes:
        ct = b.op("reduce_sum", ct, axes=axes)
    if ct.type.shape != x.type.shape:
        ct = b.op("reshape", ct, new_sizes=x.type.shape)
    return [ct]


RULES = (
    Rule("broadcast_in_dim", "structure", _broadcast_infer, _broadcast_code, together(0),
         params={"shape": REQUIRED, "broadcast_dimensions": REQUIRED}, jvp=_broadcast_jvp,
         transpose=_broadcast_transpose, min_operands=1, max_operands=1),
)
