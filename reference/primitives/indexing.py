"""Indexing with run-time indices (spec 3.5).

Index operands are integer arrays (i32 or i64) and never linear. ``dynamic_slice`` and
``dynamic_update_slice`` clamp their start indices into range (as XLA does), so every start
is defined; ``gather`` and ``scatter_add`` raise :class:`EvaluationError` for an index out of
range. ``scatter_add`` (numeric dtypes only) adds duplicate indices in increasing position
order, which fixes the rounding. Evaluation copies or adds elements; the same code serves both
domains (float values of the mpmath domain are object arrays, copied or added as they are).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain
from lintra.reference.domains import indices as all_indices
from lintra.reference.errors import EvaluationError, LintraTypeError
from lintra.reference.primitives.base import (
    NONE,
    LinearOperand,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    TransposeRule,
    at,
    at_least,
    fixed,
    is_integer,
    is_numeric,
    linear_together,
    normalize_axis,
    require,
    require_dtype,
)
from lintra.reference.primitives.derivatives import linear_jvp
from lintra.reference.syntax import ArrayType, Atom, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]


def _starts_type(x: ArrayType, starts: Types, what: str) -> None:
    require(len(starts) == x.rank,
            f"{what} needs one start index per dimension of {x} ({x.rank}), got {len(starts)}")
    for i, t in enumerate(starts):
        require_dtype(t, is_integer, f"start index {i + 1}")
        require(t.rank == 0, f"start index {i + 1} must have rank 0, got {t}")


def clamped_starts(starts: Arrays, shape: tuple[int, ...], sizes: tuple[int, ...]
                   ) -> tuple[int, ...]:
    """Each start clamped into [0, dim - size] (XLA semantics)."""
    return tuple(
        int(min(max(int(s), 0), n - k)) for s, n, k in zip(starts, shape, sizes)
    )


def dynamic_slice_type(ts: Types, ps: Params) -> Types:
    x, starts = ts[0], ts[1:]
    sizes = tuple(ps["slice_sizes"])  # type: ignore[arg-type]
    _starts_type(x, starts, "dynamic_slice")
    require(len(sizes) == x.rank and all(0 <= k <= n for k, n in zip(sizes, x.shape)),
            f"slice_sizes {sizes} must give one size in [0, dim] per dimension of {x}")
    return (ArrayType(x.dtype, sizes),)


def dynamic_slice_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    x = xs[0]
    sizes = outs[0].shape
    starts = clamped_starts(xs[1:], x.shape, sizes)
    # The leading Ellipsis keeps a rank-0 selection an array (x[()] would be a scalar).
    return (x[(..., *(slice(s, s + k) for s, k in zip(starts, sizes)))].copy(),)


def dynamic_update_slice_type(ts: Types, ps: Params) -> Types:
    x, update, starts = ts[0], ts[1], ts[2:]
    require(x.dtype == update.dtype, f"update ({update}) must have the dtype of x ({x})",
            LintraTypeError)
    require(update.rank == x.rank and all(k <= n for k, n in zip(update.shape, x.shape)),
            f"update ({update}) must have the rank of x ({x}) and fit inside it")
    _starts_type(x, starts, "dynamic_update_slice")
    return (x,)


def dynamic_update_slice_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    x, update = xs[0], xs[1]
    starts = clamped_starts(xs[2:], x.shape, update.shape)
    result = x.copy()
    result[(..., *(slice(s, s + k) for s, k in zip(starts, update.shape)))] = update
    return (result,)


def _checked_indices(indices: np.ndarray, size: int, what: str) -> np.ndarray:
    """The indices as i64, after checking each is in [0, size): undefined otherwise."""
    bad = (indices < 0) | (indices >= size)
    if np.any(bad):
        found = int(indices[bad].reshape(-1)[0])
        raise EvaluationError(
            f"{what} index {found} is out of range (expected 0 to {size - 1} for an axis of "
            f"size {size})" if size else f"{what} index {found} into an axis of size 0"
        )
    return indices.astype(np.int64)


def gathered_shape(x: ArrayType, indices: ArrayType, axis: int) -> tuple[int, ...]:
    """x.shape[:axis] + indices.shape + x.shape[axis+1:]: gather's result, scatter's updates."""
    return x.shape[:axis] + indices.shape + x.shape[axis + 1:]


def gather_type(ts: Types, ps: Params) -> Types:
    x, indices = ts
    require(x.rank >= 1, f"gather needs an operand of rank >= 1, got {x}")
    require_dtype(indices, is_integer, "the indices")
    axis = normalize_axis(ps["axis"], x.rank)  # type: ignore[arg-type]
    return (ArrayType(x.dtype, gathered_shape(x, indices, axis)),)


def gather_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    x, indices = xs
    axis = normalize_axis(ps["axis"], x.ndim)  # type: ignore[arg-type]
    idx = _checked_indices(indices, x.shape[axis], "gather")
    # Taking with a flat index array keeps the result an array for rank-0 indices too.
    return (np.take(x, idx.reshape(-1), axis=axis).reshape(outs[0].shape),)


def scatter_add_type(ts: Types, ps: Params) -> Types:
    x, indices, updates = ts
    require(x.rank >= 1, f"scatter_add needs an operand of rank >= 1, got {x}")
    require_dtype(indices, is_integer, "the indices")
    require_dtype(x, is_numeric, "x")
    require(x.dtype == updates.dtype, f"updates ({updates}) must have the dtype of x ({x})",
            LintraTypeError)
    axis = normalize_axis(ps["axis"], x.rank)  # type: ignore[arg-type]
    expected = gathered_shape(x, indices, axis)
    require(updates.shape == expected,
            f"updates must have shape {expected} (x.shape[:axis] + indices.shape + "
            f"x.shape[axis+1:]), got {updates}")
    return (x,)


def scatter_add_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    x, indices, updates = xs
    axis = normalize_axis(ps["axis"], x.ndim)  # type: ignore[arg-type]
    idx = _checked_indices(indices, x.shape[axis], "scatter_add")
    result = np.moveaxis(x.copy(), axis, 0)
    moved = np.moveaxis(updates, list(range(axis, axis + indices.ndim)),
                        list(range(indices.ndim)))
    with np.errstate(all="ignore"):  # overflow and inf - inf: the values IEEE 754 states
        for position in all_indices(indices.shape):  # increasing (row-major) position order
            k = int(idx[position])
            # A length-1 slice keeps this an array operation: integers wrap without a warning.
            result[k:k + 1] += moved[position]
    return (np.moveaxis(result, 0, axis).copy(),)


DYNAMIC_SLICE = Primitive(
    name="dynamic_slice", family="indexing",
    summary="x[s : s + slice_sizes] with starts s clamped into range",
    arity=at_least(1), params=(ParamSpec("slice_sizes", ParamKind.INTS),),
    type_rule=dynamic_slice_type, linearity=linear_together(at(0)),
    evaluate=dynamic_slice_eval, shared_dtype=NONE,
)
DYNAMIC_UPDATE_SLICE = Primitive(
    name="dynamic_update_slice", family="indexing",
    summary="x with the block at starts s (clamped) replaced by update",
    arity=at_least(2), params=(),
    type_rule=dynamic_update_slice_type, linearity=linear_together(at(0, 1)),
    evaluate=dynamic_update_slice_eval, shared_dtype=at(0, 1),
)
GATHER = Primitive(
    name="gather", family="indexing",
    summary="take(x, indices, axis): y[..., j, ...] = x[..., indices[j], ...]",
    arity=fixed(2), params=(ParamSpec("axis", ParamKind.INT, 0),),
    type_rule=gather_type, linearity=linear_together(at(0)),
    evaluate=gather_eval, shared_dtype=NONE,
)
SCATTER_ADD = Primitive(
    name="scatter_add", family="indexing",
    summary="x with updates[..., j, ...] added at x[..., indices[j], ...]",
    arity=fixed(3), params=(ParamSpec("axis", ParamKind.INT, 0),),
    type_rule=scatter_add_type, linearity=linear_together(at(0, 2)),
    evaluate=scatter_add_eval, shared_dtype=at(0, 2),
)

BASE: tuple[Primitive, ...] = (DYNAMIC_SLICE, DYNAMIC_UPDATE_SLICE, GATHER, SCATTER_ADD)


# --------------------------------------------------------------------------------------------
# Transposes (spec 3.5, "Derivatives"); every JVP is J-Linear, indices have no tangent.

Tangents = tuple[Tangent, ...]
Operands = tuple[Atom | LinearOperand, ...]


def _ct(cts: Tangents) -> Var:
    return cts[0]  # type: ignore[return-value]  # never a zero: the driver skips those


def dynamic_slice_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = dynamic_update_slice(0, ct, *starts) (the same clamping)"""
    x = xs[0]
    base = em.zero(x.type)  # type: ignore[union-attr]
    starts = xs[1:]
    return (em.emit1("dynamic_update_slice", base, _ct(cts), *starts, hint="ct"),  # type: ignore
            *(None,) * len(starts))


def dynamic_update_slice_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params
                                   ) -> Tangents:
    """ct_x = dynamic_update_slice(ct, 0, *starts); ct_u = dynamic_slice(ct, *starts)"""
    x, u, starts = xs[0], xs[1], xs[2:]
    ct = _ct(cts)
    out: list[Tangent] = [None, None]
    if isinstance(x, LinearOperand) and isinstance(u, LinearOperand):
        hole = em.zero(u.type)
        out[0] = em.emit1("dynamic_update_slice", ct, hole, *starts, hint="ct")  # type: ignore
        out[1] = em.emit1("dynamic_slice", ct, *starts, slice_sizes=u.type.shape,  # type: ignore
                          hint="ct")
    return (*out, *(None,) * len(starts))


def gather_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = scatter_add(0, indices, ct)"""
    base = em.zero(xs[0].type)  # type: ignore[union-attr]
    return (em.emit1("scatter_add", base, xs[1], _ct(cts), axis=ps["axis"], hint="ct"),  # type: ignore
            None)


def scatter_add_transpose(em: Emitter, cts: Tangents, xs: Operands, ps: Params) -> Tangents:
    """ct_x = ct; ct_updates = gather(ct, indices)"""
    ct = _ct(cts)
    return (ct, None, em.emit1("gather", ct, xs[1], axis=ps["axis"], hint="ct"))  # type: ignore


TRANSPOSES: dict[str, TransposeRule] = {
    "dynamic_slice": dynamic_slice_transpose,
    "dynamic_update_slice": dynamic_update_slice_transpose,
    "gather": gather_transpose,
    "scatter_add": scatter_add_transpose,
}

PRIMITIVES = tuple(
    replace(prim, jvp=linear_jvp(prim.name), transpose=TRANSPOSES[prim.name]) for prim in BASE
)
