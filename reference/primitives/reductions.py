"""Reductions, scans and sorting (spec 3.7).

``reduce_max``/``reduce_min`` and ``cummax`` follow ``max``/``min`` of spec 3.2 (nan
propagates, ``+0.0`` is above ``-0.0``); an empty reduction gives the identity of its
operation. ``argmax``/``argmin`` give the first extreme, a nan counting as the extreme.
``sort`` is stable and places nan after ``+inf``. Sums in the mpmath domain are exact sums
of the domain's numbers (rounded once to the working precision).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lintra.reference.domains import Domain, indices
from lintra.reference.errors import LintraTypeError
from lintra.reference.primitives.base import (
    ALL,
    NEVER_LINEAR,
    NONE,
    DerivativeClaim,
    JvpRule,
    Linearity,
    LinearOperand,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    TransposeRule,
    at_least,
    fixed,
    is_numeric,
    linear_together,
    normalize_axes,
    normalize_axis,
    require,
    require_dtype,
)
from lintra.reference.primitives.binary import f64_max, f64_min, mp_max, mp_min
from lintra.reference.primitives.derivatives import linear_jvp, zero_jvp
from lintra.reference.syntax import ArrayType, Atom, DType, Literal, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Types = tuple[ArrayType, ...]
Arrays = tuple[np.ndarray, ...]
Combine = Callable[[np.ndarray, np.ndarray], np.ndarray]


def reduce_type(ts: Types, ps: Params) -> Types:
    x = ts[0]
    require_dtype(x, is_numeric, "the operand")
    axes = normalize_axes(ps["axes"], x.rank)  # type: ignore[arg-type]
    return (ArrayType(x.dtype, tuple(n for i, n in enumerate(x.shape) if i not in axes)),)


def scan_type(ts: Types, ps: Params) -> Types:
    require_dtype(ts[0], is_numeric, "the operand")
    normalize_axis(ps["axis"], ts[0].rank)  # type: ignore[arg-type]
    return (ts[0],)


def arg_type(ts: Types, ps: Params) -> Types:
    x = ts[0]
    require_dtype(x, is_numeric, "the operand")
    axis = normalize_axis(ps["axis"], x.rank)  # type: ignore[arg-type]
    require(x.shape[axis] > 0, f"{x} has no element along axis {axis} to choose")
    index = DType(ps["index_dtype"])
    require(index.is_int, f"index_dtype must be i32 or i64, got {index}", LintraTypeError)
    return (ArrayType(index, tuple(n for i, n in enumerate(x.shape) if i != axis)),)


def sort_type(ts: Types, ps: Params) -> Types:
    shape = ts[0].shape
    for i, t in enumerate(ts):
        require(t.shape == shape, f"operand {i + 1} ({t}) must have the shape of operand 1")
    require(ts[0].rank >= 1, "sort needs operands of rank >= 1")
    normalize_axis(ps["dimension"], ts[0].rank, "dimension")  # type: ignore[arg-type]
    k = ps["num_keys"]
    require(1 <= k <= len(ts), f"num_keys must be in [1, {len(ts)}], got {k}")  # type: ignore
    return ts


# --------------------------------------------------------------------------------------------
# Folding along axes, identical for both domains


def grouped(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """x with the kept axes first, in order, and the ``axes`` flattened into one last axis
    (its length given explicitly: ``-1`` cannot be inferred when a kept axis has size 0)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    n = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    return np.transpose(x, rest + list(axes)).reshape([x.shape[i] for i in rest] + [n])


def fold(x: np.ndarray, axes: tuple[int, ...], combine: Combine, identity: np.ndarray
         ) -> np.ndarray:
    """Combine the elements along ``axes`` left to right (``identity`` for empty axes)."""
    moved = grouped(x, axes)
    result = np.broadcast_to(identity, moved.shape[:-1]).copy()
    for k in range(moved.shape[-1]):
        result = combine(result, moved[..., k])
    return np.asarray(result, dtype=x.dtype)


def mp_add_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b


def max_arrays(d: Domain) -> Combine:
    if d.is_mp:
        return functools.partial(_mp_map2, d, mp_max)
    return f64_max


def min_arrays(d: Domain) -> Combine:
    if d.is_mp:
        return functools.partial(_mp_map2, d, mp_min)
    return f64_min


def _mp_map2(d: Domain, fn: Callable[..., object], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not isinstance(a, (np.ndarray, np.generic)):  # mpf elements: a scan of a rank-1 operand
        return fn(d.ctx, a, b)  # type: ignore[attr-defined,return-value]
    if a.dtype != object:
        return f64_max(a, b) if fn is mp_max else f64_min(a, b)
    return d.map(lambda u, v: fn(d.ctx, u, v), a, b)  # type: ignore[attr-defined]


def reduce_sum_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    x = xs[0]
    axes = normalize_axes(ps["axes"], x.ndim)  # type: ignore[arg-type]
    if d.is_float_array(x) and d.is_mp:
        # Exact: mpmath's fsum of each group, rounded once to the working precision.
        moved = grouped(x, axes)
        out = np.empty(moved.shape[:-1], dtype=object)
        for i in indices(out.shape):
            out[i] = d.ctx.fsum(moved[i])  # type: ignore[attr-defined]
        return (out,)
    with np.errstate(all="ignore"):
        r = np.sum(x, axis=axes, dtype=x.dtype) if axes else x.copy()
    if axes and d.is_float_array(x) and all(x.shape[a] for a in axes):
        # IEEE addition: a sum of -0s is -0 (NumPy's reduction may start from +0 instead).
        r = np.where(np.all((x == 0) & np.signbit(x), axis=axes), -x.dtype.type(0), r)
    return (np.asarray(r, dtype=outs[0].dtype.numpy).reshape(outs[0].shape),)


def extreme_identity(d: Domain, t: ArrayType, largest: bool) -> np.ndarray:
    """The identity of max (-inf or the dtype's minimum) or of min."""
    if t.dtype.is_float:
        return d.literal(float("-inf") if largest else float("inf"), t.dtype)
    info = np.iinfo(t.dtype.numpy)
    return np.asarray(info.min if largest else info.max, dtype=t.dtype.numpy)


def reduce_max_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    axes = normalize_axes(ps["axes"], xs[0].ndim)  # type: ignore[arg-type]
    ident = extreme_identity(d, ArrayType(outs[0].dtype, ()), largest=True)
    return (fold(xs[0], axes, max_arrays(d), ident).reshape(outs[0].shape),)


def reduce_min_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    axes = normalize_axes(ps["axes"], xs[0].ndim)  # type: ignore[arg-type]
    ident = extreme_identity(d, ArrayType(outs[0].dtype, ()), largest=False)
    return (fold(xs[0], axes, min_arrays(d), ident).reshape(outs[0].shape),)


def _is_nan(d: Domain, x: object) -> bool:
    """nan is the one value unequal to itself, in NumPy and in mpmath alike."""
    return bool(x != x)


def arg_extreme(d: Domain, xs: Arrays, ps: Params, outs: Types, largest: bool) -> Arrays:
    x = xs[0]
    axis = normalize_axis(ps["axis"], x.ndim)  # type: ignore[arg-type]
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1], dtype=outs[0].dtype.numpy)
    for i in indices(out.shape):
        row = moved[i]
        best = 0
        for k in range(1, len(row)):
            if _is_nan(d, row[best]):
                break
            if _is_nan(d, row[k]) or (row[k] > row[best] if largest else row[k] < row[best]):
                best = k
        out[i] = best
    return (out,)


def argmax_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return arg_extreme(d, xs, ps, outs, largest=True)


def argmin_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return arg_extreme(d, xs, ps, outs, largest=False)


def scan(d: Domain, x: np.ndarray, ps: Params, combine: Combine) -> np.ndarray:
    """Inclusive scan along ``axis`` (from the end if ``reverse``), sequentially."""
    if x.size == 0:  # nothing to combine, however long the scanned axis
        return x.copy()
    axis = normalize_axis(ps["axis"], x.ndim)  # type: ignore[arg-type]
    moved = np.moveaxis(x, axis, 0)
    if ps["reverse"]:
        moved = moved[::-1]
    out = moved.copy()
    with np.errstate(all="ignore"):
        for k in range(1, moved.shape[0]):
            out[k] = combine(out[k - 1], moved[k])
    if ps["reverse"]:
        out = out[::-1]
    return np.moveaxis(out, 0, axis).copy()


def _times(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a * b


def cumsum_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (scan(d, xs[0], ps, mp_add_arrays),)


def cumprod_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (scan(d, xs[0], ps, _times),)


def cummax_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (scan(d, xs[0], ps, max_arrays(d)),)


def sort_key(d: Domain, v: object) -> tuple[int, object]:
    """Total order of sort: numbers ascending (-0.0 == +0.0), then nan."""
    if _is_nan(d, v):
        return (1, 0)
    return (0, v)


def sort_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    axis = normalize_axis(ps["dimension"], xs[0].ndim)  # type: ignore[arg-type]
    keys = int(ps["num_keys"])  # type: ignore[arg-type]
    moved = [np.moveaxis(x, axis, -1) for x in xs]
    results = [m.copy() for m in moved]
    if xs[0].size == 0:  # nothing to order, however many empty lines
        return tuple(np.moveaxis(r, -1, axis).copy() for r in results)
    for i in indices(moved[0].shape[:-1]):
        n = moved[0].shape[-1]
        order = sorted(range(n), key=lambda k: tuple(sort_key(d, m[i][k]) for m in moved[:keys]))
        for m, r in zip(moved, results):
            r[i] = m[i][order]
    return tuple(np.moveaxis(r, -1, axis).copy() for r in results)


# --------------------------------------------------------------------------------------------
# The records

AXES = (ParamSpec("axes", ParamKind.INTS),)
SCAN = (ParamSpec("axis", ParamKind.INT), ParamSpec("reverse", ParamKind.BOOL, False))
ARG = (ParamSpec("axis", ParamKind.INT), ParamSpec("index_dtype", ParamKind.DTYPE, "i64"))


def record(name: str, summary: str, params: tuple[ParamSpec, ...], type_rule, evaluate,
           linearity: Linearity = NEVER_LINEAR,
           derivative: DerivativeClaim | None = None) -> Primitive:
    return Primitive(name=name, family="reductions", summary=summary, arity=fixed(1),
                     params=params, type_rule=type_rule, linearity=linearity,
                     evaluate=evaluate, derivative=derivative)


# Derivative claims (spec 3.7, "Accuracy"): a tie's share 1/k is rounded once; a partial of
# cumprod is a product of the other factors, one rounding per factor.
TIE_SHARE = DerivativeClaim(0.5)
PRODUCT_OF_FACTORS = DerivativeClaim(1, per_term=True)


REDUCE_SUM = record("reduce_sum", "Σ of x over axes", AXES, reduce_type, reduce_sum_eval,
                    linear_together(ALL))
REDUCE_MAX = record("reduce_max", "max of x over axes (nan if any is nan)", AXES, reduce_type,
                    reduce_max_eval, derivative=TIE_SHARE)
REDUCE_MIN = record("reduce_min", "min of x over axes (nan if any is nan)", AXES, reduce_type,
                    reduce_min_eval, derivative=TIE_SHARE)
ARGMAX = record("argmax", "the index of the first maximum along axis", ARG, arg_type,
                argmax_eval)
ARGMIN = record("argmin", "the index of the first minimum along axis", ARG, arg_type,
                argmin_eval)
CUMSUM = record("cumsum", "inclusive running sum along axis", SCAN, scan_type, cumsum_eval,
                linear_together(ALL))
CUMPROD = record("cumprod", "inclusive running product along axis", SCAN, scan_type,
                 cumprod_eval, derivative=PRODUCT_OF_FACTORS)
CUMMAX = record("cummax", "inclusive running maximum along axis", SCAN, scan_type, cummax_eval,
                derivative=TIE_SHARE)
SORT = Primitive(
    name="sort", family="reductions",
    summary="sorts the operands together along dimension by the first num_keys (stable)",
    arity=at_least(1),
    params=(ParamSpec("dimension", ParamKind.INT, -1), ParamSpec("num_keys", ParamKind.INT, 1)),
    type_rule=sort_type, linearity=NEVER_LINEAR, evaluate=sort_eval, shared_dtype=NONE,
    derivative=DerivativeClaim(0),
)

BASE: tuple[Primitive, ...] = (
    REDUCE_SUM, REDUCE_MAX, REDUCE_MIN, ARGMAX, ARGMIN, CUMSUM, CUMPROD, CUMMAX, SORT,
)


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.7, "Derivatives")

Atoms = tuple[Atom, ...]
Tangents = tuple[Tangent, ...]


def reduce_sum_transpose(em: Emitter, cts: Tangents, xs: tuple[Atom | LinearOperand, ...],
                         ps: Params) -> Tangents:
    """ct_x = broadcast_in_dim(ct) back over the summed axes"""
    x = xs[0].type  # type: ignore[union-attr]
    axes = normalize_axes(ps["axes"], x.rank)  # type: ignore[arg-type]
    kept = tuple(i for i in range(x.rank) if i not in axes)
    return (em.emit1("broadcast_in_dim", cts[0], shape=x.shape,  # type: ignore[arg-type]
                     broadcast_dimensions=kept, hint="ct"),)


def mean_where(em: Emitter, mask: Var, t: Var, axes: tuple[int, ...]) -> Var:
    """Σ(mask·t) / Σmask over ``axes``: the mean of the tangents where ``mask`` holds."""
    dtype = em.array_type(t).dtype.value
    m = em.emit1("convert_element_type", mask, new_dtype=dtype, hint="c")
    count = em.emit1("reduce_sum", m, axes=axes, hint="c")
    total = em.emit1("reduce_sum", em.emit1("mul", m, t, hint="dt"), axes=axes, hint="dt")
    return em.emit1("div", total, count, hint="dt")


def extreme_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params
                ) -> Tangents:
    """dy = the mean of dx over the elements equal to the result (chapter 6); over an empty
    operand the result (-inf or +inf) does not depend on x and its tangent is zero, not the
    0/0 of a mean of no tangents (spec 3.7)."""
    x = em.array_type(xs[0])
    axes = normalize_axes(ps["axes"], x.rank)  # type: ignore[arg-type]
    if any(x.shape[a] == 0 for a in axes):
        return (None,)
    kept = tuple(i for i in range(x.rank) if i not in axes)
    yb = em.emit1("broadcast_in_dim", ys[0], shape=x.shape, broadcast_dimensions=kept, hint="c")
    mask = em.emit1("eq", xs[0], yb, hint="c")
    return (mean_where(em, mask, ts[0], axes),)  # type: ignore[arg-type]


def cumsum_transpose(em: Emitter, cts: Tangents, xs: tuple[Atom | LinearOperand, ...],
                     ps: Params) -> Tangents:
    """ct_x = cumsum(ct) in the opposite direction"""
    return (em.emit1("cumsum", cts[0], axis=ps["axis"], reverse=not ps["reverse"],  # type: ignore
                     hint="ct"),)


class AxisScan:
    """The slices, paddings and interleavings along one axis that the work-efficient scan of
    :func:`cumprod_jvp` is built from; pairs are ordered as the scan meets their elements
    (from the end if ``reverse``)."""

    def __init__(self, em: Emitter, x: ArrayType, axis: int, reverse: bool) -> None:
        self.em, self.x, self.axis, self.reverse = em, x, axis, reverse
        self.first = 1 if reverse else 0
        """Of each pair of neighbours (2k, 2k + 1), the one the scan meets first."""

    def take(self, v: Var, start: int, limit: int, stride: int = 1, hint: str = "c") -> Var:
        """The elements start, start + stride, ... below limit along the axis."""
        shape = self.em.array_type(v).shape
        a = self.axis
        return self.em.emit1(
            "slice", v, hint=hint,
            start=tuple(start if i == a else 0 for i in range(len(shape))),
            limit=tuple(limit if i == a else n for i, n in enumerate(shape)),
            strides=tuple(stride if i == a else 1 for i in range(len(shape))))

    def extend(self, v: Var, value: Atom, count: int, at_start: bool, hint: str = "c") -> Var:
        """v with ``count`` copies of ``value`` before (``at_start``) or after it."""
        a, rank = self.axis, self.x.rank
        low = tuple(count if i == a and at_start else 0 for i in range(rank))
        high = tuple(count if i == a and not at_start else 0 for i in range(rank))
        return self.em.emit1("pad", v, value, low=low, high=high, hint=hint)

    def pairs(self, v: Var, hint: str = "c") -> tuple[Var, Var]:
        """The first and the second element of each pair, in the scan's order."""
        m = self.em.array_type(v).shape[self.axis]
        return (self.take(v, self.first, m, 2, hint), self.take(v, 1 - self.first, m, 2, hint))

    def interleave(self, first: Var, second: Var, hint: str = "dt") -> Var:
        """The array whose pair k is (first_k, second_k) in the scan's order."""
        em, a = self.em, self.axis
        shape = em.array_type(first).shape
        even, odd = (second, first) if self.reverse else (first, second)
        stacked = em.emit1(
            "concatenate", em.emit1("expand_dims", even, dimensions=(a + 1,), hint=hint),
            em.emit1("expand_dims", odd, dimensions=(a + 1,), hint=hint),
            dimension=a + 1, hint=hint)
        size = (*shape[:a], 2 * shape[a], *shape[a + 1:])
        return em.emit1("reshape", stacked, new_sizes=size, hint=hint)

    def carry(self, prefix: Var, factors: Var, own: Var, steps: ScanSteps) -> Var:
        """The inclusive scan at the first element of each pair: own_k alone for the pair
        the scan meets first, else ``steps.apply`` of the scan up to the pair before
        (``prefix``) to the pair's own (factor_k, own_k)."""
        em = self.em
        h = em.array_type(own).shape[self.axis]
        if h == 1:
            return own
        before, inner, edge = ((1, h), (0, h - 1), (h - 1, h)) if self.reverse else (
            (0, h - 1), (1, h), (0, 1))
        carried = steps.apply(em, self.take(prefix, *before, hint="dt"),
                              self.take(factors, *inner), self.take(own, *inner, hint="dt"))
        head = self.take(own, *edge, hint="dt")
        parts = (carried, head) if self.reverse else (head, carried)
        return em.emit1("concatenate", *parts, dimension=self.axis, hint="dt")

    def sweep(self, a: Atom, b: Var, steps: ScanSteps, fill: Literal) -> Var:
        """The inclusive scan of the pairs (a, b) under ``steps`` (a primal, b linear):
        the axis padded to a power of two with (``fill``, 0) after its last element in the
        scan's order (pairs the scan meets after every real one change none of its
        results), an up-sweep combining neighbours level by level, a down-sweep spreading
        the inclusive results back, and the padding cut off."""
        em, axis = self.em, self.axis
        n = self.x.shape[axis]
        size = 1 << (n - 1).bit_length()
        if size > n:
            a = self.extend(a, fill, size - n, at_start=self.reverse)  # type: ignore[arg-type]
            b = self.extend(b, em.zero(ArrayType(self.x.dtype, ())), size - n,
                            at_start=self.reverse, hint="dt")
        levels = []
        while em.array_type(b).shape[axis] > 1:  # up-sweep: pair k combines 2k, 2k + 1
            a1, a2 = self.pairs(a)  # type: ignore[arg-type]
            b1, b2 = self.pairs(b, hint="dt")
            levels.append((a1, b1))
            top = em.array_type(a1).shape[axis] == 1  # the top level's a is never read
            a, b = steps.compose(em, a1, b1, a2, b2, top)  # type: ignore[assignment]
        z = b
        for a1, b1 in reversed(levels):  # down-sweep: z is the inclusive scan, level by level
            z = self.interleave(self.carry(z, a1, b1, steps), z)
        if size > n:
            z = self.take(z, *((size - n, size) if self.reverse else (0, n)), hint="dt")
        return z


class ScanSteps(Protocol):
    """How :meth:`AxisScan.sweep` combines pairs (a, b): ``compose`` two neighbours (the one
    the scan meets first, then the other; no combined a at the ``top`` level, where it is
    never read), and ``apply`` a prefix z to a pair."""

    def compose(self, em: Emitter, a1: Var, b1: Var, a2: Var, b2: Var, top: bool
                ) -> tuple[Var | None, Var]: ...

    def apply(self, em: Emitter, z: Var, a: Var, b: Var) -> Var: ...


class AffineSteps:
    """cumprod's pairs, the maps t ↦ t·A + B: (A₁, B₁)∘(A₂, B₂) = (A₁·A₂, B₁·A₂ + B₂)."""

    @staticmethod
    def compose(em: Emitter, a1: Var, b1: Var, a2: Var, b2: Var, top: bool
                ) -> tuple[Var | None, Var]:
        a = None if top else em.emit1("mul", a1, a2, hint="c")
        return a, em.emit1("add", em.emit1("mul", a2, b1, hint="dt"), b2, hint="dt")

    @staticmethod
    def apply(em: Emitter, z: Var, a: Var, b: Var) -> Var:
        return em.emit1("add", em.emit1("mul", a, z, hint="dt"), b, hint="dt")


class SegmentedSumSteps:
    """cummax's pairs (R, B), a running sum that restarts where R holds:
    (R₁, B₁)∘(R₂, B₂) = (R₁ ∨ R₂, B₂ if R₂ else B₁ + B₂). The choice is a ``select_n``, not
    a multiplication by 0 or 1, so an infinite or nan sum before a restart stays out."""

    @staticmethod
    def compose(em: Emitter, a1: Var, b1: Var, a2: Var, b2: Var, top: bool
                ) -> tuple[Var | None, Var]:
        r = None if top else em.emit1("or", a1, a2, hint="c")
        return r, em.emit1("select_n", a2, em.emit1("add", b1, b2, hint="dt"), b2, hint="dt")

    @staticmethod
    def apply(em: Emitter, z: Var, a: Var, b: Var) -> Var:
        return em.emit1("select_n", a, em.emit1("add", z, b, hint="dt"), b, hint="dt")


def cumprod_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params
                ) -> Tangents:
    """dy_i = Σ_(j ≤ i) y_(j−1)·(Π_(j < k ≤ i) x_k)·dx_j (y_(−1) = 1), the solution of the
    recurrence dy_i = x_i·dy_(i−1) + y_(i−1)·dx_i, by a work-efficient scan of the pairs
    (A, B) = (x_i, y_(i−1)·dx_i) under (A₁, B₁)∘(A₂, B₂) = (A₁A₂, B₁A₂ + B₂) (spec 3.7):
    no division (exact where x has zeros), memory linear in x, each partial a product of the
    other factors. The axis is padded to a power of two with (1, 0) after its last element
    in the scan's order; an up-sweep combines neighbours level by level, a down-sweep
    spreads the inclusive results back."""
    x = em.array_type(xs[0])
    if 0 in x.shape:  # no element: nothing depends on x
        return (None,)
    axis = normalize_axis(ps["axis"], x.rank)  # type: ignore[arg-type]
    reverse = bool(ps["reverse"])
    scan = AxisScan(em, x, axis, reverse)
    n = x.shape[axis]
    kept = (1, n) if reverse else (0, n - 1)
    before = scan.extend(scan.take(ys[0], *kept), Literal(1.0), 1, at_start=not reverse)
    b = em.emit1("mul", before, ts[0], hint="dt")  # type: ignore[arg-type]
    return (scan.sweep(xs[0], b, AffineSteps(), Literal(1.0)),)


def cummax_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params
               ) -> Tangents:
    """dy_i = the mean of dx_j over j ≤ i with x_j = y_i (chapter 6). Such a j has
    y_j = y_i (x_j ≤ y_j ≤ y_i) and x_j = y_j, so the mean is over the plateau of equal
    running maxima that ends at i (a run restarting where y changes; a nan y is its own
    run) and its elements with m_j = [x_j = y_j]: S_i / C_i with S a running sum of
    ``select_n(m, −0, dx)`` that restarts at each run (a scan as cumprod's, linear in
    memory) and C the count of m in the run (integers: a cumsum K less its value before
    the run's start, carried by a cummax). −0 adds exactly, so S is the sum over the mean's
    elements alone (spec 3.7)."""
    x = em.array_type(xs[0])
    if 0 in x.shape:  # no element: nothing depends on x
        return (None,)
    axis = normalize_axis(ps["axis"], x.rank)  # type: ignore[arg-type]
    reverse = bool(ps["reverse"])
    scan = AxisScan(em, x, axis, reverse)
    n = x.shape[axis]
    y = ys[0]
    # a run starts where y differs from its neighbour before it in the scan's order
    changed = em.emit1("ne", scan.take(y, 1, n), scan.take(y, 0, n - 1), hint="c")
    starts = scan.extend(changed, Literal(True), 1, at_start=not reverse)
    member = em.emit1("eq", xs[0], y, hint="c")
    counted = em.emit1("convert_element_type", member, new_dtype="i64", hint="c")
    total = em.emit1("cumsum", counted, axis=axis, reverse=reverse, hint="c")
    earlier = em.emit1("select_n", starts, Literal(0),
                       em.emit1("sub", total, counted, hint="c"), hint="c")
    count = em.emit1("sub", total, em.emit1("cummax", earlier, axis=axis, reverse=reverse,
                                            hint="c"), hint="c")
    minus_zero = em.emit1("neg", em.zero(x, hint="dt"), hint="dt")
    own = em.emit1("select_n", member, minus_zero, ts[0], hint="dt")  # type: ignore[arg-type]
    sums = scan.sweep(starts, own, SegmentedSumSteps(), Literal(True))
    return (em.emit1("div", sums, em.emit1("convert_element_type", count,
                                           new_dtype=x.dtype.value, hint="c"), hint="dt"),)


def sort_jvp(em: Emitter, xs: Atoms, ts: Tangents, ys: tuple[Var, ...], ps: Params
             ) -> Tangents:
    """Each float result's tangent is its operand's tangent permuted as the evaluation
    permutes the operand (stable: ties keep input order): a ``gather`` at the permutation,
    which sorting an ``iota`` along with the keys gives. Along the last axis of a rank-1
    operand directly; otherwise from the flattened tangent, at the flat position of the
    element each result element comes from: its own flat position moved along the axis by
    (perm − index)·stride. Exact: the tangents are copied, inf, nan and −0 included."""
    x = em.array_type(xs[0])
    if x.size == 0:  # no element: nothing depends on x
        return tuple(None for _ in ts)
    axis = normalize_axis(ps["dimension"], x.rank)  # type: ignore[arg-type]
    keys = int(ps["num_keys"])  # type: ignore[arg-type]
    index = em.emit1("iota", dtype="i64", shape=x.shape, dimension=axis, hint="c")
    perm = em.emit("sort", *xs[:keys], index, dimension=axis, num_keys=keys, hint="c")[-1]
    if x.rank > 1:
        stride = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
        moved = em.emit1("sub", perm, index, hint="c")
        if stride != 1:
            moved = em.emit1("mul", moved, Literal(stride), hint="c")
        flat = em.emit1("iota", dtype="i64", shape=(x.size,), dimension=0, hint="c")
        here = em.emit1("reshape", flat, new_sizes=x.shape, hint="c")
        perm = em.emit1("add", here, moved, hint="c")
    out: list[Tangent] = []
    for t in ts:
        if t is None:
            out.append(None)
            continue
        line = t if x.rank == 1 else em.emit1("reshape", t, new_sizes=(x.size,), hint="dt")
        out.append(em.emit1("gather", line, perm, axis=0, hint="dt"))
    return tuple(out)


RULES: dict[str, tuple[JvpRule, TransposeRule | None]] = {
    "reduce_sum": (linear_jvp("reduce_sum"), reduce_sum_transpose),
    "reduce_max": (extreme_jvp, None),
    "reduce_min": (extreme_jvp, None),
    "argmax": (zero_jvp, None),
    "argmin": (zero_jvp, None),
    "cumsum": (linear_jvp("cumsum"), cumsum_transpose),
    "cumprod": (cumprod_jvp, None),
    "cummax": (cummax_jvp, None),
    "sort": (sort_jvp, None),
}
"""Each primitive's JVP rule and, for the linear-capable ones, its transpose rule."""

PRIMITIVES = tuple(
    replace(prim, jvp=RULES[prim.name][0], transpose=RULES[prim.name][1]) for prim in BASE
)
