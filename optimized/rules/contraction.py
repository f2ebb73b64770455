"""Contraction: ``dot_general`` (spec 3.6).

Evaluation is one matrix product: x's dimensions are permuted into (batch, free, contracting)
and y's into (batch, contracting, free), each group flattened into one axis, so that
``matmul`` (a BLAS call for floats) gives (batch, x free, y free), which is already the
result's dimension order; a reshape restores the sizes. Permutations and reshapes that are
identities are left out, so a plain matrix product is a bare ``matmul``. Any summation order
meets the spec's γ_n bound; integer products wrap around in the dtype (the ring is the same
for every order).
"""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import NUMERIC, REQUIRED, CodeContext, Rule, at_most_one
from lintra.optimized.rules.special import ints_pair_param
from lintra.reference.errors import LintraTypeError, ShapeError

Dims = tuple[int, ...]


def _free(rank: int, *used: Dims) -> Dims:
    """The dimensions of an operand of rank ``rank`` named in none of ``used``."""
    taken = {d for dims in used for d in dims}
    return tuple(d for d in range(rank) if d not in taken)


def _normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"contracting_dims": ints_pair_param("dot_general", "contracting_dims",
                                                params["contracting_dims"]),
            "batch_dims": ints_pair_param("dot_general", "batch_dims", params["batch_dims"])}


def _infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, y = types
    if x.dtype != y.dtype:
        raise LintraTypeError(f"dot_general needs x and y of one dtype, got {x} and {y}")
    if x.dtype not in NUMERIC:
        raise LintraTypeError(f"dot_general needs numeric operands (f64, f32, i64, i32), "
                              f"got {x.dtype}")
    (cx, cy), (bx, by) = params["contracting_dims"], params["batch_dims"]
    if len(cx) != len(cy):
        raise ShapeError(f"dot_general: contracting_dims {(cx, cy)} must pair up dimensions "
                         f"(as many of x as of y)")
    if len(bx) != len(by):
        raise ShapeError(f"dot_general: batch_dims {(bx, by)} must pair up dimensions "
                         f"(as many of x as of y)")
    for name, dims, t in (("x", cx + bx, x), ("y", cy + by, y)):
        for d in dims:
            if not 0 <= d < t.rank:
                raise ShapeError(f"dot_general: dimension {d} of {name} is out of range for "
                                 f"{t} (expected one in [0, {t.rank}))")
        if len(set(dims)) != len(dims):
            raise ShapeError(f"dot_general: the contracting and batch dimensions of {name} "
                             f"{dims} name a dimension twice")
    for kind, xs, ys in (("contracting", cx, cy), ("batch", bx, by)):
        for a, c in zip(xs, ys):
            if x.shape[a] != y.shape[c]:
                raise ShapeError(f"dot_general: paired {kind} dimensions differ in size: x "
                                 f"dimension {a} ({x.shape[a]}) and y dimension {c} "
                                 f"({y.shape[c]})")
    shape = (tuple(x.shape[d] for d in bx)
             + tuple(x.shape[d] for d in _free(x.rank, cx, bx))
             + tuple(y.shape[d] for d in _free(y.rank, cy, by)))
    return (AType(x.dtype, shape),)


def _size(t: AType, dims: Dims) -> int:
    n = 1
    for d in dims:
        n *= t.shape[d]
    return n


def _arranged(ctx: CodeContext, v: str, t: AType, order: Dims, groups: tuple[Dims, ...]
              ) -> str:
    """``v`` (of type ``t``) with its dimensions permuted into ``order`` and each of
    ``groups`` (consecutive runs of ``order``) flattened into one axis (an empty group: an
    axis of size 1). Identity permutations and reshapes are left out."""
    expr = v
    if order != tuple(range(t.rank)):
        expr = f"{ctx.fn('transpose')}({expr}, {ctx.const(order)})"
    shape = tuple(_size(t, g) for g in groups)
    if shape != tuple(t.shape[d] for d in order):
        expr = f"{ctx.fn('reshape')}({expr}, {ctx.const(shape)})"
    return expr


def _code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, y = (a.type for a in e.ins)
    (cx, cy), (bx, by) = e.params["contracting_dims"], e.params["batch_dims"]
    fx, fy = _free(x.rank, cx, bx), _free(y.rank, cy, by)
    out = e.outs[0].type
    if bx:  # (B, Fx, K) @ (B, K, Fy), or (B, Fx, 1) * (B, 1, Fy) with nothing contracted
        xg: tuple[Dims, ...] = (bx, fx, cx)
        yg: tuple[Dims, ...] = (by, cy, fy)
    elif cx:  # matmul's 1-D forms stand for an empty free group: (K,) @ (K, Fy) and so on
        xg = (fx, cx) if fx else (cx,)
        yg = (cy, fy) if fy else (cy,)
    else:  # an outer product by broadcasting: (Fx, 1) * (Fy,), rank-0 operands as they are
        xg = ((fx, ()) if fy else (fx,)) if fx else ()
        yg = (fy,) if fy else ()
    xa = _arranged(ctx, xs[0], x, tuple(d for g in xg for d in g), xg)
    ya = _arranged(ctx, xs[1], y, tuple(d for g in yg for d in g), yg)
    op = "matmul" if cx else "multiply"
    expr = f"{ctx.fn(op)}({xa}, {ya})"
    if bx:
        got: tuple[int, ...] = (_size(x, bx), _size(x, fx), _size(y, fy))
    else:
        got = tuple(_size(t, f) for t, f in ((x, fx), (y, fy)) if f)
    if got != out.shape:
        expr = f"{ctx.fn('reshape')}({expr}, {ctx.const(out.shape)})"
    return expr


def _jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    x, y = e.ins
    dx, dy = dxs
    terms = []
    if dx is not None:
        terms.append(b.op("dot_general", dx, y, **e.params))
    if dy is not None:
        terms.append(b.op("dot_general", x, dy, **e.params))
    return [terms[0] if len(terms) == 1 else b.op("add", *terms)]


def _transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """Contract ct with the non-linear operand over that operand's free dimensions (batch
    dimensions stay batch); the operand order of the new ``dot_general`` is chosen so that
    its result is in the linear operand's dimension order where one of the two orders gives
    that, else a ``transpose`` follows."""
    (ct,) = cts
    x, y = e.ins
    (cx, cy), (bx, by) = e.params["contracting_dims"], e.params["batch_dims"]
    first = x.linear
    lin, other = (x, y) if first else (y, x)
    mine, theirs = (cx, cy) if first else (cy, cx)
    my_batch, their_batch = (bx, by) if first else (by, bx)
    nb = len(bx)
    my_free = _free(lin.type.rank, mine, my_batch)
    their_free = _free(other.type.rank, theirs, their_batch)
    x_free = len(_free(x.type.rank, cx, bx))
    start = nb + x_free if first else nb  # where the other operand's free dims sit in ct
    ct_theirs = tuple(range(start, start + len(their_free)))
    ct_batch = tuple(range(nb))
    # the other operand's contracting dims come out in increasing order, as my dims
    by_theirs = tuple(mine[k] for k in sorted(range(len(theirs)), key=lambda k: theirs[k]))
    identity = tuple(range(lin.type.rank))
    ct_first = (*my_batch, *my_free, *by_theirs)
    other_first = (*my_batch, *by_theirs, *my_free)
    if other_first == identity and ct_first != identity:
        r = b.op("dot_general", other, ct, contracting_dims=(their_free, ct_theirs),
                 batch_dims=(their_batch, ct_batch))
    else:
        r = b.op("dot_general", ct, other, contracting_dims=(ct_theirs, their_free),
                 batch_dims=(ct_batch, their_batch))
        if ct_first != identity:
            r = b.op("transpose", r,
                     permutation=tuple(ct_first.index(i) for i in range(lin.type.rank)))
    return [r, None] if first else [None, r]


RULES = (
    Rule("dot_general", "contraction", _infer, _code, at_most_one(0, 1),
         params={"contracting_dims": REQUIRED, "batch_dims": ((), ())},
         normalize=_normalize, jvp=_jvp, transpose=_transpose,
         min_operands=2, max_operands=2),
)
