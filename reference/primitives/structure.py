"""Primitives that rearrange values without arithmetic (spec 3.4).

Every result element is a copy of an operand element (or of ``pad``'s padding value), so
evaluation is exact and the same NumPy code serves both domains (mpmath values are object
arrays). All of them are linear in all their operands together.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain
from lintra.reference.primitives.base import (
    ALL,
    Arity,
    EvalRule,
    LinearOperand,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    TransposeRule,
    TypeRule,
    at_least,
    fixed,
    linear_together,
    normalize_axes,
    normalize_axis,
    require,
    same_dtype,
)
from lintra.reference.primitives.derivatives import linear_jvp
from lintra.reference.syntax import ArrayType, Atom, Literal, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]


def _ints(ps: Params, name: str) -> tuple[int, ...]:
    return tuple(ps[name])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# broadcast_in_dim


def broadcast_in_dim_type(ts: Types, ps: Params) -> Types:
    """XLA's rule: operand dimension i maps to output dimension broadcast_dimensions[i]."""
    x = ts[0]
    shape = _ints(ps, "shape")
    dims = _ints(ps, "broadcast_dimensions")
    require(all(n >= 0 for n in shape), f"shape {shape} has a negative dimension")
    require(len(dims) == x.rank,
            f"broadcast_dimensions {dims} must name one output dimension per operand "
            f"dimension ({x.rank} for {x})")
    require(all(0 <= d < len(shape) for d in dims),
            f"broadcast_dimensions {dims} out of range for output rank {len(shape)}")
    require(all(a < b for a, b in itertools.pairwise(dims)),
            f"broadcast_dimensions {dims} must be strictly increasing")
    for i, d in enumerate(dims):
        require(x.shape[i] in (1, shape[d]),
                f"operand dimension {i} has size {x.shape[i]}, which cannot broadcast to "
                f"output dimension {d} of size {shape[d]} (sizes must be equal or 1)")
    return (ArrayType(x.dtype, shape),)


def broadcast_in_dim_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """Reshape to the output rank (size 1 where new), then let NumPy repeat the size-1 dims."""
    out = outs[0]
    dims = _ints(ps, "broadcast_dimensions")
    view_shape = [1] * out.rank
    for i, dim in enumerate(dims):
        view_shape[dim] = xs[0].shape[i]
    return (np.broadcast_to(xs[0].reshape(view_shape), out.shape).copy(),)


# --------------------------------------------------------------------------------------------
# reshape, transpose, squeeze, expand_dims, rev


def reshape_type(ts: Types, ps: Params) -> Types:
    """Any sizes with the operand's element count (no ``-1`` wildcard)."""
    x = ts[0]
    sizes = _ints(ps, "new_sizes")
    require(all(n >= 0 for n in sizes), f"new_sizes {sizes} has a negative dimension")
    require(int(np.prod(sizes, dtype=np.int64)) == x.size,
            f"reshape of {x} ({x.size} elements) to {sizes} "
            f"({int(np.prod(sizes, dtype=np.int64))} elements)")
    return (ArrayType(x.dtype, sizes),)


def reshape_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """Row-major reshape (also squeeze and expand_dims), copied so no result aliases x."""
    return (xs[0].reshape(outs[0].shape).copy(),)


def transpose_type(ts: Types, ps: Params) -> Types:
    """Output dimension k has the size of operand dimension permutation[k]."""
    x = ts[0]
    perm = _ints(ps, "permutation")
    require(sorted(perm) == list(range(x.rank)),
            f"permutation {perm} is not a permutation of the {x.rank} dimensions of {x}")
    return (ArrayType(x.dtype, tuple(x.shape[p] for p in perm)),)


def transpose_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """NumPy's transpose has the same convention as the spec (axes[k] is the source dim)."""
    return (np.transpose(xs[0], _ints(ps, "permutation")).copy(),)


def squeeze_type(ts: Types, ps: Params) -> Types:
    """Removes the named dimensions (in [-rank, rank), distinct), each of size 1."""
    x = ts[0]
    dims = normalize_axes(_ints(ps, "dimensions"), x.rank, "dimensions")
    for dim in dims:
        require(x.shape[dim] == 1, f"squeeze of dimension {dim} of {x}, which has size "
                f"{x.shape[dim]} (only size-1 dimensions can be removed)")
    return (ArrayType(x.dtype, tuple(n for i, n in enumerate(x.shape) if i not in dims)),)


def squeeze_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (xs[0].reshape(outs[0].shape).copy(),)


def expand_dims_type(ts: Types, ps: Params) -> Types:
    """Size-1 dimensions at the named positions of the output (in [-rank, rank) of it)."""
    x = ts[0]
    rank = x.rank + len(ps["dimensions"])  # type: ignore[arg-type]
    dims = normalize_axes(_ints(ps, "dimensions"), rank, "dimensions")
    rest = iter(x.shape)
    return (ArrayType(x.dtype, tuple(1 if i in dims else next(rest) for i in range(rank))),)


def rev_type(ts: Types, ps: Params) -> Types:
    """The operand's type; the dimensions must be distinct and in range."""
    normalize_axes(_ints(ps, "dimensions"), ts[0].rank, "dimensions")
    return (ts[0],)


def rev_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """np.flip along the named dimensions (``axis=()`` would mean all of them: a copy)."""
    dims = normalize_axes(_ints(ps, "dimensions"), outs[0].rank)
    return (np.flip(xs[0], dims).copy() if dims else xs[0].copy(),)


# --------------------------------------------------------------------------------------------
# slice, pad, concatenate


def slice_type(ts: Types, ps: Params) -> Types:
    """Per dimension ceil((limit - start) / stride) elements; no negative or clamped bounds."""
    x = ts[0]
    start, limit = _ints(ps, "start"), _ints(ps, "limit")
    strides = _ints(ps, "strides") or (1,) * x.rank
    require(len(start) == len(limit) == len(strides) == x.rank,
            f"start, limit and strides need one entry per dimension of {x}, got "
            f"start={start}, limit={limit}, strides={strides}")
    shape = []
    for i, (s, e, k, n) in enumerate(zip(start, limit, strides, x.shape)):
        require(0 <= s <= e <= n, f"dimension {i}: need 0 <= start <= limit <= {n}, "
                f"got start={s}, limit={e}")
        require(k >= 1, f"dimension {i}: stride must be >= 1, got {k}")
        shape.append((e - s + k - 1) // k)
    return (ArrayType(x.dtype, tuple(shape)),)


def slice_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """Basic NumPy slicing; the trailing ``...`` keeps a rank-0 result an array."""
    strides = _ints(ps, "strides") or (1,) * outs[0].rank
    index = tuple(slice(s, e, k) for s, e, k in zip(_ints(ps, "start"), _ints(ps, "limit"),
                                                     strides))
    return (xs[0][(*index, ...)].copy(),)


def pad_type(ts: Types, ps: Params) -> Types:
    """Per dimension low + high + n + interior·(n - 1) (n = 0: low + high)."""
    x, v = ts
    dtype = same_dtype(ts)
    require(v.rank == 0, f"the padding value must have rank 0, got {v}")
    low, high = _ints(ps, "low"), _ints(ps, "high")
    interior = _ints(ps, "interior") or (0,) * x.rank
    require(len(low) == len(high) == len(interior) == x.rank,
            f"low, high and interior need one entry per dimension of {x}")
    require(all(n >= 0 for n in low + high + interior),
            "padding amounts must be non-negative")
    shape = tuple(
        lo + hi + n + max(n - 1, 0) * k for lo, hi, k, n in zip(low, high, interior, x.shape)
    )
    return (ArrayType(dtype, shape),)


def pad_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """Fill with v, then write x at the strided positions low + i·(interior + 1)."""
    x, v = xs
    out = outs[0]
    interior = _ints(ps, "interior") or (0,) * out.rank
    result = np.broadcast_to(v, out.shape).copy()
    index = tuple(slice(lo, lo + max(n + (n - 1) * k, 0), k + 1)
                  for lo, k, n in zip(_ints(ps, "low"), interior, x.shape))
    # ``...`` makes this an array assignment also at rank 0, where a bare ``()`` index would
    # store the rank-0 operand array itself as one element of an object array.
    result[(*index, ...)] = x
    return (result,)


def concatenate_type(ts: Types, ps: Params) -> Types:
    """One dtype and rank >= 1; sizes equal except along ``dimension``, where they add."""
    dtype = same_dtype(ts)
    first = ts[0]
    require(first.rank > 0, "concatenate needs operands of rank >= 1")
    axis = normalize_axis(ps["dimension"], first.rank, "dimension")  # type: ignore[arg-type]
    for i, t in enumerate(ts):
        require(t.rank == first.rank and all(
            a == b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != axis),
            f"operand {i + 1} ({t}) must match operand 1 ({first}) except in dimension {axis}")
    size = sum(t.shape[axis] for t in ts)
    return (ArrayType(dtype, (*first.shape[:axis], size, *first.shape[axis + 1:])),)


def concatenate_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """np.concatenate (a fresh array of the operands' common dtype)."""
    axis = normalize_axis(ps["dimension"], outs[0].rank)  # type: ignore[arg-type]
    return (np.concatenate(xs, axis=axis).astype(xs[0].dtype),)


ONE = fixed(1)


def structural(name: str, summary: str, params: tuple[ParamSpec, ...], type_rule: TypeRule,
               evaluate: EvalRule, arity: Arity = ONE) -> Primitive:
    """A structure-family record: any dtype, all operands linear together, one shared dtype."""
    return Primitive(
        name=name, family="structure", summary=summary, arity=arity, params=params,
        type_rule=type_rule, linearity=linear_together(ALL), evaluate=evaluate,
    )


INTS = ParamKind.INTS

BROADCAST_IN_DIM = structural(
    "broadcast_in_dim", "y[i] = x[i at broadcast_dimensions] (size-1 dims repeat)",
    (ParamSpec("shape", INTS), ParamSpec("broadcast_dimensions", INTS)),
    broadcast_in_dim_type, broadcast_in_dim_eval)
RESHAPE = structural("reshape", "the same elements in row-major order, new dimensions",
                     (ParamSpec("new_sizes", INTS),), reshape_type, reshape_eval)
TRANSPOSE = structural("transpose", "y[i] = x[i permuted]: y dim k is x dim permutation[k]",
                       (ParamSpec("permutation", INTS),), transpose_type, transpose_eval)
SQUEEZE = structural("squeeze", "removes the named size-1 dimensions",
                     (ParamSpec("dimensions", INTS),), squeeze_type, squeeze_eval)
EXPAND_DIMS = structural("expand_dims", "inserts size-1 dimensions at the named output positions",
                         (ParamSpec("dimensions", INTS),), expand_dims_type, squeeze_eval)
REV = structural("rev", "reverses the order along the named dimensions",
                 (ParamSpec("dimensions", INTS),), rev_type, rev_eval)
SLICE = structural(
    "slice", "y[i] = x[start + i·strides], start <= index < limit",
    (ParamSpec("start", INTS), ParamSpec("limit", INTS), ParamSpec("strides", INTS, ())),
    slice_type, slice_eval)
PAD = structural(
    "pad", "x with low/high edge padding and interior padding between elements, filled with v",
    (ParamSpec("low", INTS), ParamSpec("high", INTS), ParamSpec("interior", INTS, ())),
    pad_type, pad_eval, fixed(2))
CONCATENATE = structural(
    "concatenate", "the operands joined along dimension",
    (ParamSpec("dimension", ParamKind.INT),), concatenate_type, concatenate_eval, at_least(1))

BASE: tuple[Primitive, ...] = (
    BROADCAST_IN_DIM, RESHAPE, TRANSPOSE, SQUEEZE, EXPAND_DIMS, REV, SLICE, PAD, CONCATENATE,
)


# --------------------------------------------------------------------------------------------
# Transposes (spec 3.4, "Derivatives"); every JVP is J-Linear.

Tangents = tuple[Tangent, ...]
Operands = tuple[Atom | LinearOperand, ...]


def _ct(cts: Tangents) -> Var:
    return cts[0]  # type: ignore[return-value]  # never a zero: the driver skips those


def _type(x: Atom | LinearOperand) -> ArrayType:
    return x.type  # type: ignore[union-attr]  # linear operands of structural primitives


def broadcast_in_dim_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params
                               ) -> Tangents:
    """Sum ct over the added dimensions and over the expanded size-1 ones, then reshape."""
    x = _type(xs[0])
    shape = _ints(ps, "shape")
    dims = _ints(ps, "broadcast_dimensions")
    expanded = {d for i, d in enumerate(dims) if x.shape[i] == 1 and shape[d] != 1}
    axes = tuple(d for d in range(len(shape)) if d not in dims or d in expanded)
    r = _ct(cts)
    if axes:
        r = em.emit1("reduce_sum", r, axes=axes, hint="ct")
    if em.array_type(r).shape != x.shape:
        r = em.emit1("reshape", r, new_sizes=x.shape, hint="ct")
    return (r,)


def reshape_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """reshape(ct) back to the operand's shape (also squeeze and expand_dims)"""
    return (em.emit1("reshape", _ct(cts), new_sizes=_type(xs[0]).shape, hint="ct"),)


def transpose_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """transpose(ct) by the inverse permutation"""
    perm = _ints(ps, "permutation")
    inverse = tuple(perm.index(i) for i in range(len(perm)))
    return (em.emit1("transpose", _ct(cts), permutation=inverse, hint="ct"),)


def rev_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """rev(ct) along the same dimensions"""
    return (em.emit1("rev", _ct(cts), dimensions=_ints(ps, "dimensions"), hint="ct"),)


def slice_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """pad(ct, 0) back to the operand's shape: low = start, interior = stride - 1"""
    x = _type(xs[0])
    out = em.array_type(_ct(cts)).shape
    strides = _ints(ps, "strides") or (1,) * x.rank
    low, high, interior = [], [], []
    for s, k, n, m in zip(_ints(ps, "start"), strides, x.shape, out):
        if m == 0:
            low.append(n)
            high.append(0)
            interior.append(0)
        else:
            low.append(s)
            high.append(n - (s + (m - 1) * k + 1))
            interior.append(k - 1)
    zero = em.zero(ArrayType(x.dtype, ()))
    return (em.emit1("pad", _ct(cts), zero, low=tuple(low), high=tuple(high),
                     interior=tuple(interior), hint="ct"),)


def pad_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = the elements of ct at x's positions (a strided slice); ct_v = Σ(m·ct) with m
    the 0/1 mask of the padding positions (a sum over those positions only: no cancellation
    against x's elements)."""
    x = _type(xs[0])
    ct = _ct(cts)
    interior = _ints(ps, "interior") or (0,) * x.rank
    start = _ints(ps, "low")
    limit = tuple(lo + (n - 1) * (k + 1) + 1 if n else lo
                  for lo, k, n in zip(start, interior, x.shape))
    ct_x = em.emit1("slice", ct, start=start, limit=limit,
                    strides=tuple(k + 1 for k in interior), hint="ct")
    mask = em.emit1("pad", em.constant(0.0, x, "m"), Literal(1.0), hint="m",
                    **{k: v for k, v in ps.items() if k in ("low", "high", "interior")})
    padding = em.emit1("mul", mask, ct, hint="ct")
    return (ct_x, em.emit1("reduce_sum", padding, axes=tuple(range(x.rank)), hint="ct"))


def concatenate_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """each operand receives the slice of ct at its block"""
    ct = _ct(cts)
    shape = em.array_type(ct).shape
    axis = normalize_axis(ps["dimension"], len(shape))  # type: ignore[arg-type]
    out: list[Tangent] = []
    offset = 0
    for x in xs:
        size = _type(x).shape[axis]
        start = tuple(offset if i == axis else 0 for i in range(len(shape)))
        limit = tuple(offset + size if i == axis else n for i, n in enumerate(shape))
        out.append(em.emit1("slice", ct, start=start, limit=limit, hint="ct"))
        offset += size
    return tuple(out)


TRANSPOSES: dict[str, TransposeRule] = {
    "broadcast_in_dim": broadcast_in_dim_transpose,
    "reshape": reshape_transpose,
    "transpose": transpose_transpose,
    "squeeze": reshape_transpose,
    "expand_dims": reshape_transpose,
    "rev": rev_transpose,
    "slice": slice_transpose,
    "pad": pad_transpose,
    "concatenate": concatenate_transpose,
}

PRIMITIVES = tuple(
    replace(prim, jvp=linear_jvp(prim.name), transpose=TRANSPOSES[prim.name]) for prim in BASE
)
