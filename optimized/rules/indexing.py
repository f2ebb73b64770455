"""Indexing with run-time indices (spec 3.5): dynamic_slice, dynamic_update_slice, gather,
scatter_add.

Index operands (the starts, ``indices``) are ``i32`` or ``i64`` and never linear. The starts of
``dynamic_slice`` and ``dynamic_update_slice`` are clamped so the block lies inside ``x``
(XLA's rule): no start is an error. ``gather`` and ``scatter_add`` refuse an index outside
``[0, x.shape[axis])`` at run time with an EvaluationError naming the primitive, the index
and the valid range (one pass over the indices, read as unsigned so a negative index is a huge
one). ``scatter_add`` adds the updates one at a time in increasing row-major position of
``indices``, which fixes the rounding where an index repeats: NumPy's unbuffered ``add.at``
does exactly that; where every index is distinct (one update per element, so no order to
keep) a buffered fancy-index ``+=`` gives the same bits faster, and where indices repeat a
few times, one such ``+=`` per round of distinct indices, the rounds in position order (the
only way on CuPy, whose ``add.at`` adds atomically in no fixed order).

``dynamic_slice`` and ``gather`` along axis 0 may return views of ``x``; the updating
primitives return fresh arrays (never writing into an operand) or, where nothing is updated,
an operand itself.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from numbers import Integral

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import AType, Builder, Eqn, Var
from lintra.optimized.rules.base import NUMERIC, REQUIRED, CodeContext, Rule, together
from lintra.reference.errors import EvaluationError, LintraTypeError, ShapeError

INDEX_DTYPES = frozenset({"i64", "i32"})
_UNSIGNED = {"i64": ("uint64", 2**63), "i32": ("uint32", 2**31)}
"""The unsigned dtype of each index dtype's width, and half its modulus: a negative index read
as unsigned is at least that, a valid one below it."""


FEW_INDICES = 32
"""Index arrays up to this size are range-checked by Python's ``max`` over a list (a NumPy
reduction costs a few microseconds of fixed overhead)."""


def _range_args(ctx: CodeContext, x: AType, indices: AType, axis: int) -> str:
    """The arguments ``size, limit, unsigned`` of ``check_indices`` for ``indices`` into
    ``x``'s ``axis``."""
    unsigned, half = _UNSIGNED[indices.dtype]
    size = x.shape[axis]
    return f"{size}, {min(size, half)}, {ctx.fn(unsigned)}"


# --------------------------------------------------------------------------------------------
# Shared pieces


def _int(value: object, prim: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise LintraTypeError(f"{prim}: parameter {name} must be an int, got {value!r}")
    return operator.index(value)


def _ints(value: object, prim: str, name: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or any(
            isinstance(v, bool) or not isinstance(v, Integral) for v in value):
        raise LintraTypeError(f"{prim}: parameter {name} must be a tuple of ints, got "
                              f"{value!r}")
    return tuple(operator.index(v) for v in value)


def _check_starts(prim: str, x: AType, starts: Sequence[AType]) -> None:
    """One rank-0 integer start per dimension of ``x``."""
    if len(starts) != x.rank:
        raise ShapeError(f"{prim} needs one start index per dimension of {x} ({x.rank}), "
                         f"got {len(starts)}")
    for i, t in enumerate(starts):
        if t.dtype not in INDEX_DTYPES:
            raise LintraTypeError(f"{prim}: start index {i + 1} has dtype {t.dtype}, "
                                  "expected i64 or i32")
        if t.rank:
            raise ShapeError(f"{prim}: start index {i + 1} must have rank 0, got {t}")


def _block(starts: Sequence[object], highs: tuple[int, ...], sizes: tuple[int, ...]
           ) -> tuple[slice, ...]:
    """The basic index of the block of ``sizes`` at the clamped starts:
    ``c_i = min(max(s_i, 0), highs_i)`` with ``highs_i = x.shape[i] - sizes[i]`` (Python
    ints: no overflow at any start)."""
    out = []
    for s, h, k in zip(starts, highs, sizes):
        c = int(s)
        c = 0 if c < 0 else h if c > h else c
        out.append(slice(c, c + k))
    return tuple(out)


def _index_checker(tab: ArrayTable):
    xp = tab.xp

    def check_indices(indices, size, limit, unsigned, prim, axis, few):
        """Raise EvaluationError unless every index is in ``[0, size)``: one maximum of the
        indices read as unsigned, where a negative index reads as at least half the modulus
        (``limit`` is the smaller of ``size`` and that half). ``few``: so few indices that
        Python's ``max`` of a list beats the array library's reduction."""
        read = indices.view(unsigned)
        if read.ndim == 0:
            top = int(read)
        else:
            top = max(read.reshape(-1).tolist()) if few else int(read.max())
        if top < limit:
            return
        flat = xp.asarray(indices).reshape(-1)
        bad = int(flat[(flat < 0) | (flat >= size)][0])
        expected = f"0 to {size - 1}" if size else "none: the axis has size 0"
        raise EvaluationError(f"{prim}: index {bad} is out of range for axis {axis} of size "
                              f"{size} (expected {expected}; no negative indices)")

    return check_indices


# --------------------------------------------------------------------------------------------
# dynamic_slice


def _dynamic_slice_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"slice_sizes": _ints(params["slice_sizes"], "dynamic_slice", "slice_sizes")}


def _dynamic_slice_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, starts = types[0], types[1:]
    _check_starts("dynamic_slice", x, starts)
    sizes = params["slice_sizes"]
    if len(sizes) != x.rank or any(not 0 <= k <= n for k, n in zip(sizes, x.shape)):
        raise ShapeError(f"dynamic_slice: slice_sizes {sizes} must give one size in "
                         f"[0, n] per dimension of {x}")
    return (AType(x.dtype, sizes),)


def _dynamic_slicer(tab: ArrayTable):
    def dynamic_slice(x, highs, sizes, *starts):
        """The block of ``x`` at the clamped starts (a view)."""
        return x[_block(starts, highs, sizes)]

    return dynamic_slice


def _dynamic_slice_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x = e.ins[0].type
    sizes = e.params["slice_sizes"]
    if sizes == x.shape:  # every start clamps to 0: the whole operand
        return xs[0]
    highs = tuple(n - k for n, k in zip(x.shape, sizes))
    return (f"{ctx.kernel(_dynamic_slicer)}({xs[0]}, {ctx.const(highs)}, "
            f"{ctx.const(sizes)}, {', '.join(xs[1:])})")


def _dynamic_slice_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    (out,) = b.emit("dynamic_slice", (dxs[0], *e.ins[1:]), e.params)
    return [out]


def _dynamic_slice_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]
                             ) -> list[Var | None]:
    """``ct_x = dynamic_update_slice(0, ct, starts)``: the same clamped block."""
    (ct,) = cts
    base = b.zero(e.ins[0].type)
    (ct_x,) = b.emit("dynamic_update_slice", (base, ct, *e.ins[1:]))
    return [ct_x, *(None,) * (len(e.ins) - 1)]


# --------------------------------------------------------------------------------------------
# dynamic_update_slice


def _dynamic_update_slice_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, u, starts = types[0], types[1], types[2:]
    if u.dtype != x.dtype:
        raise LintraTypeError(f"dynamic_update_slice: the update ({u}) must have the dtype "
                              f"of x ({x})")
    if u.rank != x.rank or any(k > n for k, n in zip(u.shape, x.shape)):
        raise ShapeError(f"dynamic_update_slice: the update ({u}) must have the rank of x "
                         f"({x}) and fit inside it")
    _check_starts("dynamic_update_slice", x, starts)
    return (x,)


def _dynamic_updater(tab: ArrayTable):
    def dynamic_update_slice(x, u, highs, *starts):
        """A copy of ``x`` with the block at the clamped starts replaced by ``u``."""
        out = x.copy()
        out[_block(starts, highs, u.shape)] = u
        return out

    return dynamic_update_slice


def _dynamic_update_slice_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, u = e.ins[0].type, e.ins[1].type
    if u.shape == x.shape:  # the block is all of x
        return xs[1]
    if u.size == 0:  # nothing is replaced
        return xs[0]
    highs = tuple(n - k for n, k in zip(x.shape, u.shape))
    return (f"{ctx.kernel(_dynamic_updater)}({xs[0]}, {xs[1]}, {ctx.const(highs)}, "
            f"{', '.join(xs[2:])})")


def _dynamic_update_slice_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]
                              ) -> list[Var | None]:
    """``dynamic_update_slice(dx, du, starts)``, a zero for a symbolic zero (the block of a
    constant update still replaces ``dx``'s elements)."""
    x, u = e.ins[0], e.ins[1]
    dx = dxs[0] if dxs[0] is not None else b.zero(x.type)
    du = dxs[1] if dxs[1] is not None else b.zero(u.type)
    (out,) = b.emit("dynamic_update_slice", (dx, du, *e.ins[2:]))
    return [out]


def _dynamic_update_slice_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]
                                    ) -> list[Var | None]:
    """``ct_x = dynamic_update_slice(ct, 0, starts)``, ``ct_u = dynamic_slice(ct, starts,
    slice_sizes=u.shape)``."""
    (ct,) = cts
    x, u, starts = e.ins[0], e.ins[1], e.ins[2:]
    ct_x = ct_u = None
    if x.linear:
        (ct_x,) = b.emit("dynamic_update_slice", (ct, b.zero(u.type), *starts))
    if u.linear:
        (ct_u,) = b.emit("dynamic_slice", (ct, *starts), {"slice_sizes": u.type.shape})
    return [ct_x, ct_u, *(None,) * len(starts)]


# --------------------------------------------------------------------------------------------
# gather, scatter_add


def _axis_normalize(prim: str):
    def normalize(params: dict, types: tuple[AType, ...]) -> dict:
        """The axis made non-negative when it is in range (the type rule reports the rest,
        after the operand's rank)."""
        axis = _int(params["axis"], prim, "axis")
        rank = types[0].rank
        return {"axis": axis % rank if -rank <= axis < rank and rank else axis}

    normalize.__name__ = f"normalize_{prim}"
    return normalize


def _gathered(prim: str, x: AType, indices: AType, axis: int) -> tuple[int, ...]:
    """``x.shape[:axis] + indices.shape + x.shape[axis+1:]``, after the checks gather and
    scatter_add share."""
    if x.rank < 1:
        raise ShapeError(f"{prim} needs an operand of rank >= 1, got {x}")
    if indices.dtype not in INDEX_DTYPES:
        raise LintraTypeError(f"{prim}: the indices have dtype {indices.dtype}, expected "
                              "i64 or i32")
    if not 0 <= axis < x.rank:
        raise ShapeError(f"{prim}: axis {axis} is out of range for rank {x.rank} (expected "
                         f"-{x.rank} <= axis < {x.rank})")
    return x.shape[:axis] + indices.shape + x.shape[axis + 1:]


def _gather_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, indices = types
    return (AType(x.dtype, _gathered("gather", x, indices, params["axis"])),)


def _gatherer(tab: ArrayTable):
    check = _index_checker(tab)

    def gather(x, indices, size, limit, unsigned, axis, before, few):
        """``take(x, indices, axis)`` after the range check, by fancy indexing (faster than
        ``take``, whose own bounds check is slower than ours)."""
        check(indices, size, limit, unsigned, "gather", axis, few)
        return x[(*before, indices)]

    return gather


def _gather_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, indices = e.ins[0].type, e.ins[1].type
    axis = e.params["axis"]
    out = e.outs[0].type
    if indices.size == 0:  # always valid, even into a size-0 axis
        return f"{ctx.fn('zeros')}({ctx.const(out.shape)}, {ctx.dtype(out.dtype)})"
    return (f"{ctx.kernel(_gatherer)}({xs[0]}, {xs[1]}, {_range_args(ctx, x, indices, axis)}, "
            f"{axis}, {ctx.const((slice(None),) * axis)}, {indices.size <= FEW_INDICES})")


def _gather_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("gather", dxs[0], e.ins[1], **e.params)]


def _gather_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """``ct_x = scatter_add(0, indices, ct)``: a repeated index receives every cotangent."""
    (ct,) = cts
    base = b.zero(e.ins[0].type)
    return [b.op("scatter_add", base, e.ins[1], ct, **e.params), None]


def _scatter_add_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, indices, u = types
    expected = _gathered("scatter_add", x, indices, params["axis"])
    if x.dtype not in NUMERIC:
        raise LintraTypeError(f"scatter_add: x has dtype {x.dtype}, expected a numeric dtype "
                              "(f64, f32, i64 or i32)")
    if u.dtype != x.dtype:
        raise LintraTypeError(f"scatter_add: the updates ({u}) must have the dtype of x ({x})")
    if u.shape != expected:
        raise ShapeError(f"scatter_add: the updates must have shape {expected} "
                         f"(x.shape[:axis] + indices.shape + x.shape[axis+1:]), got {u}")
    return (x,)


ROWS_FROM = 8
"""Elements per index (the slab of ``x`` one index addresses) from which NumPy's buffered
fancy-index ``+=`` beats ``add.at`` (measured: about even at 4 to 16, 3 to 5 times faster
from 64 on)."""

ROUNDS_BEFORE_ADD_AT = 8
"""On NumPy, the most rounds of buffered ``+=`` (the largest number of times one index
repeats) worth running before ``add.at`` (one unbuffered pass, slower per element) is cheaper."""


def _scatterer(tab: ArrayTable):
    xp = tab.xp
    check = _index_checker(tab)
    # NumPy's add.at adds one update at a time in index order; CuPy's adds with atomic
    # operations in no fixed order, so there every repeated index goes through the rounds
    unbuffered = tab.name == "numpy"

    def rounds(flat, keyed):
        """The positions of ``flat`` ordered by (index, position), and each one's rank among
        the positions of the same index (0 for the first): round r adds every rank-r update,
        and the indices of one round are distinct. ``keyed``: index·m + position fits in
        int64, so one sort of these distinct keys orders them without a stable sort."""
        m = flat.size
        positions = xp.arange(m)
        if keyed:
            order = xp.argsort(flat.astype(xp.int64) * m + positions)
        else:
            order = xp.argsort(flat, kind="stable")
        ordered = flat[order]
        rank = positions - xp.searchsorted(ordered, ordered, side="left")
        return order, rank

    def scatter_add(x, indices, u, size, limit, unsigned, axis, moved_from, moved_to, rows,
                    keyed, few):
        """A copy of ``x`` with the updates added in increasing position order.

        Where no index repeats, one buffered ``+=`` (one addition per element: the same bits
        as the ordered sum). Where indices repeat: on NumPy, ``add.at`` for small slabs
        (``rows`` false: fewer than ``ROWS_FROM`` elements per index) or many repeats; else one
        buffered ``+=`` per round of distinct indices, rounds in position order, so each
        element still receives its updates in increasing position."""
        check(indices, size, limit, unsigned, "scatter_add", axis, few)
        out = x.copy()
        target, updates = out, u
        if axis:
            target = xp.moveaxis(out, axis, 0)
            updates = xp.moveaxis(u, moved_from, moved_to)
        if indices.size == 1:
            target[indices] += updates
            return out
        if unbuffered and not rows:
            xp.add.at(target, indices, updates)
            return out
        flat = indices.reshape(-1)
        order, rank = rounds(flat, keyed)
        n_rounds = int(rank.max()) + 1
        if n_rounds == 1:
            target[indices] += updates
        elif unbuffered and n_rounds > ROUNDS_BEFORE_ADD_AT:
            xp.add.at(target, indices, updates)
        else:
            updates = updates.reshape((flat.size, *updates.shape[indices.ndim:]))
            for r in range(n_rounds):
                chosen = order[rank == r]
                target[flat[chosen]] += updates[chosen]
        return out

    return scatter_add


def _scatter_add_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, indices = e.ins[0].type, e.ins[1].type
    axis = e.params["axis"]
    if indices.size == 0:  # no update
        return xs[0]
    k = indices.rank
    moved_from = tuple(range(axis, axis + k))
    moved_to = tuple(range(k))
    slab = x.size // x.shape[axis] if x.shape[axis] else 0
    rows = slab >= ROWS_FROM
    keyed = x.shape[axis] * indices.size < 2**62
    return (f"{ctx.kernel(_scatterer)}({xs[0]}, {xs[1]}, {xs[2]}, "
            f"{_range_args(ctx, x, indices, axis)}, {axis}, {ctx.const(moved_from)}, "
            f"{ctx.const(moved_to)}, {rows}, {keyed}, {indices.size <= FEW_INDICES})")


def _scatter_add_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """``scatter_add(dx, indices, du)``; with no update tangent the result's tangent is
    ``dx`` itself, with no operand tangent a zero takes its place."""
    x, indices = e.ins[0], e.ins[1]
    dx, du = dxs[0], dxs[2]
    if du is None:
        return [dx]
    if dx is None:
        dx = b.zero(x.type)
    return [b.op("scatter_add", dx, indices, du, **e.params)]


def _scatter_add_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """``ct_x = ct``, ``ct_u = gather(ct, indices)``."""
    (ct,) = cts
    x, indices, u = e.ins
    ct_u = b.op("gather", ct, indices, **e.params) if u.linear else None
    return [ct if x.linear else None, None, ct_u]


RULES = (
    Rule("dynamic_slice", "indexing", _dynamic_slice_infer, _dynamic_slice_code, together(0),
         params={"slice_sizes": REQUIRED}, normalize=_dynamic_slice_normalize, shared_dtype=(),
         jvp=_dynamic_slice_jvp, transpose=_dynamic_slice_transpose, min_operands=1),
    Rule("dynamic_update_slice", "indexing", _dynamic_update_slice_infer,
         _dynamic_update_slice_code, together(0, 1), shared_dtype=(0, 1),
         jvp=_dynamic_update_slice_jvp, transpose=_dynamic_update_slice_transpose,
         min_operands=2),
    Rule("gather", "indexing", _gather_infer, _gather_code, together(0), params={"axis": 0},
         normalize=_axis_normalize("gather"), shared_dtype=(), jvp=_gather_jvp,
         transpose=_gather_transpose, min_operands=2, max_operands=2),
    Rule("scatter_add", "indexing", _scatter_add_infer, _scatter_add_code, together(0, 2),
         params={"axis": 0}, normalize=_axis_normalize("scatter_add"), shared_dtype=(0, 2),
         jvp=_scatter_add_jvp, transpose=_scatter_add_transpose, min_operands=3,
         max_operands=3),
)
