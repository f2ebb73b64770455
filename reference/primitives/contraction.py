"""General tensor contraction (spec 3.6).

``dot_general(x, y, contracting_dims=((cx...), (cy...)), batch_dims=((bx...), (by...)))``
sums ``x * y`` over the contracting dimension pairs, for each index of the batch dimension
pairs; the result's dimensions are the batch dimensions, then x's free dimensions, then y's
free dimensions, each in operand order (XLA's convention). It is bilinear: at most one operand
may be linear. Summation order is unspecified; the accuracy claim of spec 3.6 allows any.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain, indices
from lintra.reference.primitives.base import (
    ALL,
    DerivativeClaim,
    LinearOperand,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    fixed,
    is_numeric,
    linear_at_most_one,
    require,
    require_dtype,
    same_dtype,
)
from lintra.reference.primitives.derivatives import bilinear_jvp
from lintra.reference.syntax import ArrayType, Atom, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]


def dimension_numbers(ps: Params) -> tuple[tuple[int, ...], tuple[int, ...],
                                           tuple[int, ...], tuple[int, ...]]:
    (cx, cy) = ps["contracting_dims"]  # type: ignore[misc]
    (bx, by) = ps["batch_dims"]  # type: ignore[misc]
    return tuple(cx), tuple(cy), tuple(bx), tuple(by)


def free_dims(rank: int, *used: tuple[int, ...]) -> tuple[int, ...]:
    taken = {d for dims in used for d in dims}
    return tuple(d for d in range(rank) if d not in taken)


def dot_general_type(ts: Types, ps: Params) -> Types:
    x, y = ts
    dtype = same_dtype(ts)
    require_dtype(x, is_numeric, "x")
    cx, cy, bx, by = dimension_numbers(ps)
    require(len(cx) == len(cy), f"contracting_dims {(cx, cy)} must pair up dimensions")
    require(len(bx) == len(by), f"batch_dims {(bx, by)} must pair up dimensions")
    for name, dims, t in (("x", cx + bx, x), ("y", cy + by, y)):
        require(all(0 <= d < t.rank for d in dims),
                f"a dimension of {name} in {dims} is out of range for {t}")
        require(len(set(dims)) == len(dims),
                f"the contracting and batch dimensions of {name} ({dims}) repeat")
    for a, b in zip(cx + bx, cy + by):
        require(x.shape[a] == y.shape[b],
                f"paired dimensions differ in size: x dimension {a} ({x.shape[a]}) and "
                f"y dimension {b} ({y.shape[b]})")
    shape = (
        tuple(x.shape[d] for d in bx)
        + tuple(x.shape[d] for d in free_dims(x.rank, cx, bx))
        + tuple(y.shape[d] for d in free_dims(y.rank, cy, by))
    )
    return (ArrayType(dtype, shape),)


def dot_general_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """By ``einsum`` on labelled dimensions (object arrays: exact mpmath sums of products)."""
    x, y = xs
    cx, cy, bx, by = dimension_numbers(ps)
    labels = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    x_labels = [""] * x.ndim
    y_labels = [""] * y.ndim
    for a, b in zip(cx + bx, cy + by):
        x_labels[a] = y_labels[b] = next(labels)
    for i in range(x.ndim):
        x_labels[i] = x_labels[i] or next(labels)
    for i in range(y.ndim):
        y_labels[i] = y_labels[i] or next(labels)
    out_labels = (
        [x_labels[a] for a in bx]
        + [x_labels[i] for i in free_dims(x.ndim, cx, bx)]
        + [y_labels[i] for i in free_dims(y.ndim, cy, by)]
    )
    spec = f"{''.join(x_labels)},{''.join(y_labels)}->{''.join(out_labels)}"
    out = outs[0]
    if x.dtype == object:
        if out.size == 0:
            return (np.empty(out.shape, dtype=object),)
        if x.size == 0 or y.size == 0:
            return (d.zeros(out),)
        result = np.asarray(np.einsum(spec, x, y, dtype=object)).reshape(out.shape)
        return (_as_mp(d, result),)
    return (np.asarray(np.einsum(spec, x, y), dtype=out.dtype.numpy).reshape(out.shape),)


def _as_mp(d: Domain, r: np.ndarray) -> np.ndarray:
    """Every element as a number of the domain's own context."""
    out = np.empty(r.shape, dtype=object)
    for i in indices(r.shape):
        out[i] = d.mpf(r[i])  # type: ignore[attr-defined]
    return out


DOT_GENERAL = Primitive(
    name="dot_general",
    family="contraction",
    summary="Σ over contracting dims of x·y, per batch index; dims: batch, x free, y free",
    arity=fixed(2),
    params=(
        ParamSpec("contracting_dims", ParamKind.INTS_PAIR),
        ParamSpec("batch_dims", ParamKind.INTS_PAIR, ((), ())),
    ),
    type_rule=dot_general_type,
    linearity=linear_at_most_one(ALL),
    derivative=DerivativeClaim(0),
    evaluate=dot_general_eval,
)



# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.6): J-Bilinear, and the transpose with respect to either operand


def dot_general_transpose(em: Emitter, cts: tuple[Tangent, ...],
                          xs: tuple[Atom | LinearOperand, ...], ps: Params
                          ) -> tuple[Tangent, ...]:
    """Contract ct with the non-linear operand over its free dimensions (batch dimensions
    stay batch), then transpose the result into the linear operand's dimension order."""
    ct: Var = cts[0]  # type: ignore[assignment]  # never a zero: the driver skips those
    cx, cy, bx, by = dimension_numbers(ps)
    if isinstance(xs[0], LinearOperand):
        lin, other, mine, theirs, my_batch, their_batch, first = (
            xs[0].type, xs[1], cx, cy, bx, by, True)
    else:
        lin, other, mine, theirs, my_batch, their_batch, first = (
            xs[1].type, xs[0], cy, cx, by, bx, False)  # type: ignore[union-attr]
    other_rank = em.array_type(other).rank  # type: ignore[arg-type]
    nb = len(my_batch)
    my_free = free_dims(lin.rank, mine, my_batch)
    their_free = free_dims(other_rank, theirs, their_batch)
    # ct's dimensions: batch, then x's free, then y's free.
    if first:
        ct_their_free = tuple(range(nb + len(my_free), nb + len(my_free) + len(their_free)))
    else:
        ct_their_free = tuple(range(nb, nb + len(their_free)))
    r = em.emit1("dot_general", ct, other, hint="ct",
                 contracting_dims=(ct_their_free, their_free),
                 batch_dims=(tuple(range(nb)), their_batch))
    # r's dimensions: batch, ct's remaining (my free dims), other's remaining (its
    # contracting dims in increasing order, paired with my contracting dims).
    remaining = sorted(range(len(theirs)), key=lambda k: theirs[k])
    as_mine = list(my_batch) + list(my_free) + [mine[k] for k in remaining]
    perm = tuple(as_mine.index(i) for i in range(lin.rank))
    if perm != tuple(range(lin.rank)):
        r = em.emit1("transpose", r, permutation=perm, hint="ct")
    return (r, None) if first else (None, r)


PRIMITIVES = (replace(DOT_GENERAL, jvp=bilinear_jvp("dot_general"),
                      transpose=dot_general_transpose),)
