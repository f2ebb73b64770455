"""Structural primitives (spec 3.4): rearranging elements without arithmetic.

Every shape is static, so each rule's ``code`` decides at plan-generation time which NumPy call
(if any) the equation needs: an equation that changes nothing (a reshape to the same shape, a
full slice, an empty ``rev``) is its operand's name, and the others are one basic-indexing or
reshaping call. Such results may be **views** of their operand (``reshape``, ``transpose``,
``squeeze``, ``expand_dims``, ``rev``, ``slice``, a large ``broadcast_in_dim`` (read-only) and
the no-op cases of ``pad`` and ``concatenate``): plans never write into a value, so a view is
as good as a copy. ``pad``, ``concatenate`` and small broadcasts return fresh arrays.

Every primitive is linear in all its operands together; its JVP is the primitive applied to the
tangents (a symbolic zero made concrete where the primitive needs an array), and its transpose
is the one of the spec's "Derivatives" section.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from numbers import Integral

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import AType, Builder, Eqn, Lit, Var
from lintra.optimized.rules.base import REQUIRED, CodeContext, Rule, together
from lintra.reference.errors import LintraTypeError, ShapeError

ALL_TOGETHER = together(start=0)
"""Every operand linear, or none (spec 3.4: structure primitives are linear maps)."""


# --------------------------------------------------------------------------------------------
# Parameters


def _int(value: object, prim: str, name: str) -> int:
    """``value`` as a Python int (a LintraTypeError for a bool or a non-integer)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise LintraTypeError(f"{prim}: parameter {name} must be an int, got {value!r}")
    return operator.index(value)


def _ints(value: object, prim: str, name: str) -> tuple[int, ...]:
    """``value`` (a tuple or list of ints) as a tuple of Python ints."""
    if not isinstance(value, (tuple, list)):
        raise LintraTypeError(
            f"{prim}: parameter {name} must be a tuple of ints, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise LintraTypeError(
                f"{prim}: parameter {name} must be a tuple of ints, got {tuple(value)!r}")
        out.append(operator.index(v))
    return tuple(out)


def _axes(value: object, rank: int, prim: str, name: str = "dimensions") -> tuple[int, ...]:
    """Selecting axes (spec 2.5): distinct, in ``[-rank, rank)``, made non-negative (in the
    order given)."""
    axes = _ints(value, prim, name)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ShapeError(f"{prim}: {name} entry {a} is out of range for rank {rank} "
                             f"(expected -{rank} <= d < {rank})")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ShapeError(f"{prim}: {name} {axes} repeat a dimension")
    return tuple(out)


def _all_dimensions(value: tuple[int, ...], rank: int, fill: int) -> tuple[int, ...]:
    """A per-dimension parameter where ``()`` means ``fill`` in every dimension (a wrong
    length is left for the type rule to report)."""
    return (fill,) * rank if value == () else value


def _per_dimension(t: AType, prim: str, **values: tuple[int, ...]) -> None:
    """Each named per-dimension parameter has one entry per dimension of ``t``."""
    if any(len(v) != t.rank for v in values.values()):
        given = ", ".join(f"{k}={v}" for k, v in values.items())
        raise ShapeError(f"{prim}: {', '.join(values)} need one entry per dimension of the "
                         f"operand {t} ({t.rank}), got {given}")


def _same_dtype(prim: str, types: Sequence[AType]) -> str:
    dtype = types[0].dtype
    if any(t.dtype != dtype for t in types):
        raise LintraTypeError(f"{prim} needs operands of one dtype, got "
                              f"{', '.join(str(t) for t in types)}")
    return dtype


# --------------------------------------------------------------------------------------------
# broadcast_in_dim


def _broadcast_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"shape": _ints(params["shape"], "broadcast_in_dim", "shape"),
            "broadcast_dimensions": _ints(params["broadcast_dimensions"], "broadcast_in_dim",
                                          "broadcast_dimensions")}


def _broadcast_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    shape, dims = params["shape"], params["broadcast_dimensions"]
    if any(n < 0 for n in shape):
        raise ShapeError(f"broadcast_in_dim: shape {shape} has a negative size")
    if len(dims) != t.rank:
        raise ShapeError(f"broadcast_in_dim: broadcast_dimensions needs one entry per "
                         f"dimension of the operand {t} ({t.rank}), got {dims}")
    for i, d in enumerate(dims):
        if not 0 <= d < len(shape):
            raise ShapeError(f"broadcast_in_dim: broadcast_dimensions {dims} out of range "
                             f"for the result rank {len(shape)}")
        if i and d <= dims[i - 1]:
            raise ShapeError(f"broadcast_in_dim: broadcast_dimensions {dims} must be "
                             "strictly increasing")
        if t.shape[i] not in (1, shape[d]):
            raise ShapeError(f"broadcast_in_dim: operand dimension {i} of size {t.shape[i]} "
                             f"cannot broadcast to result dimension {d} of size {shape[d]} "
                             "(sizes must be equal or 1)")
    return (AType(t.dtype, shape),)


MATERIALIZE_UP_TO = 1024
"""Result sizes up to which ``broadcast_in_dim`` fills a fresh array (about 2 us) rather than
returning a ``broadcast_to`` view (10 to 20 us of fixed cost in NumPy, free beyond it)."""


def _filler(tab: ArrayTable):
    xp = tab.xp

    def broadcast_filled(x, shape, dtype):
        """A fresh array of ``shape`` holding ``x`` (already of the result's rank, or rank
        0) repeated."""
        out = xp.empty(shape, dtype)
        out[...] = x
        return out

    return broadcast_filled


def _broadcast_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """The operand itself when nothing changes; a small result filled into a fresh array;
    a large one a read-only ``broadcast_to`` view of the operand."""
    x, out = e.ins[0].type, e.outs[0].type
    if x.shape == out.shape:
        return xs[0]
    inner = [1] * out.rank
    for i, d in enumerate(e.params["broadcast_dimensions"]):
        inner[d] = x.shape[i]
    operand = xs[0]
    if x.rank and tuple(inner) != x.shape:
        operand = f"{xs[0]}.reshape({ctx.const(tuple(inner))})"
    if out.size <= MATERIALIZE_UP_TO:
        return (f"{ctx.kernel(_filler)}({operand}, {ctx.const(out.shape)}, "
                f"{ctx.dtype(out.dtype)})")
    return f"{ctx.fn('broadcast_to')}({operand}, {ctx.const(out.shape)})"


def _broadcast_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """Sum over the added result dimensions and the stretched size-1 ones, then reshape."""
    (ct,) = cts
    x = e.ins[0].type
    dims = e.params["broadcast_dimensions"]
    out = e.outs[0].type.shape
    summed = [d for d in range(len(out)) if d not in dims]
    summed += [d for i, d in enumerate(dims) if x.shape[i] == 1 and out[d] != 1]
    if summed:
        ct = b.op("reduce_sum", ct, axes=tuple(sorted(summed)))
    if ct.type.shape != x.shape:
        ct = b.op("reshape", ct, new_sizes=x.shape)
    return [ct]


# --------------------------------------------------------------------------------------------
# reshape, squeeze, expand_dims: the same row-major elements in another shape


def _reshape_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"new_sizes": _ints(params["new_sizes"], "reshape", "new_sizes")}


def _reshape_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    sizes = params["new_sizes"]
    if any(n < 0 for n in sizes):
        raise ShapeError(f"reshape: new_sizes {sizes} has a negative size (there is no -1 "
                         "wildcard)")
    out = AType(t.dtype, sizes)
    if out.size != t.size:
        raise ShapeError(f"reshape of {t} ({t.size} elements) to new_sizes {sizes} "
                         f"({out.size} elements): the element counts must be equal")
    return (out,)


def _reshape_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """A view in the result's shape (``xp.reshape`` for a rank-0 operand, which may be a
    scalar of the array library rather than an array)."""
    x, out = e.ins[0].type, e.outs[0].type
    if x.shape == out.shape:
        return xs[0]
    if x.rank == 0:
        return f"{ctx.fn('reshape')}({xs[0]}, {ctx.const(out.shape)})"
    return f"{xs[0]}.reshape({ctx.const(out.shape)})"


def _reshape_back(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """The transpose of every reshaping primitive: ``reshape`` to the operand's shape."""
    (ct,) = cts
    x = e.ins[0].type
    if ct.type.shape == x.shape:
        return [ct]
    return [b.op("reshape", ct, new_sizes=x.shape)]


def _squeeze_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"dimensions": _axes(params["dimensions"], types[0].rank, "squeeze")}


def _squeeze_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    dims = params["dimensions"]
    for d in dims:
        if t.shape[d] != 1:
            raise ShapeError(f"squeeze of dimension {d} of {t}, which has size {t.shape[d]} "
                             "(only size-1 dimensions can be removed)")
    return (AType(t.dtype, tuple(n for i, n in enumerate(t.shape) if i not in dims)),)


def _expand_dims_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    dims = _ints(params["dimensions"], "expand_dims", "dimensions")
    return {"dimensions": _axes(dims, types[0].rank + len(dims), "expand_dims")}


def _expand_dims_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    dims = params["dimensions"]
    rest = iter(t.shape)
    shape = tuple(1 if i in dims else next(rest) for i in range(t.rank + len(dims)))
    return (AType(t.dtype, shape),)


# --------------------------------------------------------------------------------------------
# transpose, rev


def _transpose_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"permutation": _ints(params["permutation"], "transpose", "permutation")}


def _transpose_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    perm = params["permutation"]
    if sorted(perm) != list(range(t.rank)):
        raise ShapeError(f"transpose: permutation {perm} is not a permutation of the "
                         f"{t.rank} dimensions of {t} (each of 0..{t.rank - 1} once)")
    return (AType(t.dtype, tuple(t.shape[p] for p in perm)),)


def _transpose_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """A view with permuted strides (the operand itself for the identity permutation)."""
    perm = e.params["permutation"]
    if perm == tuple(range(len(perm))):
        return xs[0]
    return f"{xs[0]}.transpose({ctx.const(perm)})"


def _transpose_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    perm = e.params["permutation"]
    inverse = [0] * len(perm)
    for k, p in enumerate(perm):
        inverse[p] = k
    return [b.op("transpose", ct, permutation=tuple(inverse))]


def _rev_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"dimensions": _axes(params["dimensions"], types[0].rank, "rev")}


def _rev_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return (types[0],)


def _rev_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """A view with negative strides along the named dimensions."""
    dims = e.params["dimensions"]
    if not dims:
        return xs[0]
    index = tuple(slice(None, None, -1) if i in dims else slice(None)
                  for i in range(e.ins[0].type.rank))
    return f"{xs[0]}[{ctx.const(index)}]"


def _rev_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("rev", cts[0], **e.params)]


# --------------------------------------------------------------------------------------------
# slice


def _slice_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"start": _ints(params["start"], "slice", "start"),
            "limit": _ints(params["limit"], "slice", "limit"),
            "strides": _all_dimensions(_ints(params["strides"], "slice", "strides"),
                                       types[0].rank, 1)}


def _slice_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    _per_dimension(t, "slice", start=params["start"], limit=params["limit"],
                   strides=params["strides"])
    shape = []
    for i, (s, e, k, n) in enumerate(zip(params["start"], params["limit"], params["strides"],
                                         t.shape)):
        if not 0 <= s <= e <= n:
            raise ShapeError(f"slice: dimension {i} of {t} needs 0 <= start <= limit <= {n}, "
                             f"got start={s}, limit={e}")
        if k < 1:
            raise ShapeError(f"slice: dimension {i} needs a stride >= 1, got {k}")
        shape.append(-(-(e - s) // k))
    return (AType(t.dtype, tuple(shape)),)


def _slice_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """A basic-indexing view (the operand itself for a slice that keeps everything)."""
    ps = e.params
    x = e.ins[0].type
    if ps["start"] == (0,) * x.rank and ps["limit"] == x.shape and ps["strides"] == (
            1,) * x.rank:
        return xs[0]
    index = tuple(slice(s, lim, k) for s, lim, k in zip(ps["start"], ps["limit"], ps["strides"]))
    return f"{xs[0]}[{ctx.const(index)}]"


def _slice_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """``pad(ct, 0, low=start, high=n - last - 1, interior=stride - 1)`` with a linear zero
    as the padding value (a literal would not be linear)."""
    (ct,) = cts
    x = e.ins[0].type
    if ct.type.shape == x.shape:  # a full slice: the identity
        return [ct]
    low, high, interior = [], [], []
    for s, k, n, m in zip(e.params["start"], e.params["strides"], x.shape, ct.type.shape):
        if m == 0:  # nothing was taken: the whole dimension is padding
            low.append(n)
            high.append(0)
            interior.append(0)
        else:
            last = s + (m - 1) * k
            low.append(s)
            high.append(n - last - 1)
            interior.append(k - 1)
    zero = b.zero(AType(x.dtype, ()))
    return [b.op("pad", ct, zero, low=tuple(low), high=tuple(high), interior=tuple(interior))]


# --------------------------------------------------------------------------------------------
# pad


def _pad_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"low": _ints(params["low"], "pad", "low"),
            "high": _ints(params["high"], "pad", "high"),
            "interior": _all_dimensions(_ints(params["interior"], "pad", "interior"),
                                        types[0].rank, 0)}


def _pad_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    x, v = types
    dtype = _same_dtype("pad", types)
    if v.rank != 0:
        raise ShapeError(f"pad: the padding value must have rank 0, got {v}")
    low, high, interior = params["low"], params["high"], params["interior"]
    _per_dimension(x, "pad", low=low, high=high, interior=interior)
    if any(n < 0 for n in low + high + interior):
        raise ShapeError(f"pad: padding amounts must be >= 0 (no negative padding), got "
                         f"low={low}, high={high}, interior={interior}")
    shape = tuple(lo + hi + n + k * max(n - 1, 0)
                  for lo, hi, k, n in zip(low, high, interior, x.shape))
    return (AType(dtype, shape),)


def _padder(tab: ArrayTable):
    xp = tab.xp

    def pad(x, v, shape, dtype, inside, borders):
        """A fresh array of ``shape`` holding ``v`` in the ``borders`` (every element when
        ``borders`` is None) and ``x`` at ``inside``."""
        out = xp.empty(shape, dtype)
        if borders is None:
            out[...] = v
        else:
            for border in borders:
                out[border] = v
        out[inside] = x
        return out

    return pad


def _pad_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """The operand itself when nothing is padded; else an ``empty`` array whose padding is
    filled (only the border slabs when there is no interior padding) and whose other
    positions receive ``x`` by one strided assignment."""
    ps = e.params
    x, out = e.ins[0].type, e.outs[0].type
    if out.shape == x.shape:
        return xs[0]
    inside, borders = [], []
    for i, (lo, k, n, size) in enumerate(zip(ps["low"], ps["interior"], x.shape, out.shape)):
        span = n + k * (n - 1) if n else 0
        inside.append(slice(lo, lo + span, k + 1))
        before = (slice(None),) * i
        if lo:
            borders.append((*before, slice(0, lo), ...))
        if lo + span < size:
            borders.append((*before, slice(lo + span, size), ...))
    filled = None if any(ps["interior"]) else tuple(borders)
    return (f"{ctx.kernel(_padder)}({xs[0]}, {xs[1]}, {ctx.const(out.shape)}, "
            f"{ctx.dtype(out.dtype)}, {ctx.const((*inside, ...))}, {ctx.const(filled)})")


def _pad_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    """``ct_x``: the strided slice of ``ct`` at ``x``'s positions; ``ct_v``: the sum of
    ``ct`` over the padding positions only (``mask · ct``, the mask ``pad`` of zeros with
    1), so no element of ``x``'s block enters it."""
    (ct,) = cts
    x, v = e.ins
    ps = e.params
    strides = tuple(k + 1 for k in ps["interior"])
    limit = tuple(lo + (n - 1) * s + 1 if n else lo
                  for lo, s, n in zip(ps["low"], strides, x.type.shape))
    ct_x = b.op("slice", ct, start=ps["low"], limit=limit, strides=strides)
    ct_v = None
    if v.linear:
        zeros = b.op("broadcast_in_dim", Lit(0.0, x.type.dtype), shape=x.type.shape,
                     broadcast_dimensions=())
        mask = b.op("pad", zeros, Lit(1.0, x.type.dtype), **ps)
        ct_v = b.op("reduce_sum", b.op("mul", mask, ct), axes=tuple(range(ct.type.rank)))
    return [ct_x if x.linear else None, ct_v]


# --------------------------------------------------------------------------------------------
# concatenate


def _concatenate_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    """The dimension made non-negative when it is in range (the type rule reports the
    rest, after the dtypes, as the spec orders the checks)."""
    dim = _int(params["dimension"], "concatenate", "dimension")
    rank = types[0].rank
    return {"dimension": dim % rank if -rank <= dim < rank else dim}


def _concatenate_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    dtype = _same_dtype("concatenate", types)
    dim = params["dimension"]
    first = types[0]
    if first.rank == 0:
        raise ShapeError(f"concatenate needs operands of rank >= 1, got {first}")
    if not 0 <= dim < first.rank:
        raise ShapeError(f"concatenate: dimension {dim} is out of range for rank "
                         f"{first.rank} (expected -{first.rank} <= d < {first.rank})")
    for k, t in enumerate(types):
        if t.rank != first.rank or any(a != c for i, (a, c) in enumerate(
                zip(t.shape, first.shape)) if i != dim):
            raise ShapeError(f"concatenate: operand {k + 1} ({t}) must match operand 1 "
                             f"({first}) in every dimension but {dim}")
    size = sum(t.shape[dim] for t in types)
    return (AType(dtype, (*first.shape[:dim], size, *first.shape[dim + 1:])),)


def _concatenate_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    """One ``concatenate`` call over the operands that hold elements (the operand itself
    when only one does)."""
    dim = e.params["dimension"]
    full = [x for x, a in zip(xs, e.ins) if a.type.shape[dim]]
    if len(full) <= 1:
        return full[0] if full else xs[0]
    return f"{ctx.fn('concatenate')}(({''.join(x + ', ' for x in full)}), axis={dim})"


def _concatenate_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]
                           ) -> list[Var | None]:
    """Each linear operand receives the slice of ``ct`` at its block."""
    (ct,) = cts
    dim = e.params["dimension"]
    shape = ct.type.shape
    out: list[Var | None] = []
    offset = 0
    for a in e.ins:
        size = a.type.shape[dim]
        if not a.linear:
            out.append(None)
        elif size == shape[dim]:
            out.append(ct)
        else:
            start = tuple(offset if i == dim else 0 for i in range(len(shape)))
            limit = tuple(offset + size if i == dim else n for i, n in enumerate(shape))
            out.append(b.op("slice", ct, start=start, limit=limit))
        offset += size
    return out


# --------------------------------------------------------------------------------------------
# JVP: the primitive applied to the tangents (J-Linear)


def _linear_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """``prim(dx1, ..., dxn)`` with the same parameters, a zero of its operand's type in
    place of each symbolic zero (an operand the structure needs, e.g. ``pad``'s value)."""
    tangents = [dx if dx is not None else b.zero(a.type) for a, dx in zip(e.ins, dxs)]
    (out,) = b.emit(e.prim, tangents, e.params)
    return [out]


RULES = (
    Rule("broadcast_in_dim", "structure", _broadcast_infer, _broadcast_code, ALL_TOGETHER,
         params={"shape": REQUIRED, "broadcast_dimensions": REQUIRED},
         normalize=_broadcast_normalize, jvp=_linear_jvp, transpose=_broadcast_transpose,
         min_operands=1, max_operands=1),
    Rule("reshape", "structure", _reshape_infer, _reshape_code, ALL_TOGETHER,
         params={"new_sizes": REQUIRED}, normalize=_reshape_normalize, jvp=_linear_jvp,
         transpose=_reshape_back, min_operands=1, max_operands=1),
    Rule("transpose", "structure", _transpose_infer, _transpose_code, ALL_TOGETHER,
         params={"permutation": REQUIRED}, normalize=_transpose_normalize, jvp=_linear_jvp,
         transpose=_transpose_transpose, min_operands=1, max_operands=1),
    Rule("squeeze", "structure", _squeeze_infer, _reshape_code, ALL_TOGETHER,
         params={"dimensions": REQUIRED}, normalize=_squeeze_normalize, jvp=_linear_jvp,
         transpose=_reshape_back, min_operands=1, max_operands=1),
    Rule("expand_dims", "structure", _expand_dims_infer, _reshape_code, ALL_TOGETHER,
         params={"dimensions": REQUIRED}, normalize=_expand_dims_normalize, jvp=_linear_jvp,
         transpose=_reshape_back, min_operands=1, max_operands=1),
    Rule("rev", "structure", _rev_infer, _rev_code, ALL_TOGETHER,
         params={"dimensions": REQUIRED}, normalize=_rev_normalize, jvp=_linear_jvp,
         transpose=_rev_transpose, min_operands=1, max_operands=1),
    Rule("slice", "structure", _slice_infer, _slice_code, ALL_TOGETHER,
         params={"start": REQUIRED, "limit": REQUIRED, "strides": ()},
         normalize=_slice_normalize, jvp=_linear_jvp, transpose=_slice_transpose,
         min_operands=1, max_operands=1),
    Rule("pad", "structure", _pad_infer, _pad_code, ALL_TOGETHER,
         params={"low": REQUIRED, "high": REQUIRED, "interior": ()}, normalize=_pad_normalize,
         jvp=_linear_jvp, transpose=_pad_transpose, min_operands=2, max_operands=2),
    Rule("concatenate", "structure", _concatenate_infer, _concatenate_code, ALL_TOGETHER,
         params={"dimension": REQUIRED}, normalize=_concatenate_normalize, jvp=_linear_jvp,
         transpose=_concatenate_transpose, min_operands=1),
)
