"""Reductions, scans and sorting (spec 3.7).

Evaluation uses the array library's reductions and accumulations, with what the spec asks
beyond them: a sum of −0s only is −0 (the sum starts from −0, which adds exactly); the
maximum (minimum) of zeros is +0 (−0) when one is present, since NumPy returns whichever zero
it met first; an empty reduction is the identity, known from the type; scans are sequential,
as the accuracy claims of cumsum and cumprod assume (``accumulate`` is); sorting is stable
with nan last (NumPy's stable sort and ``lexsort``).

Derivatives follow the spec's "Derivatives" section: reduce_max/min and cummax take the mean
of the tangents of the elements equal to the extreme (chapter 6); cumprod's partials are the
products of the other factors, computed without division by a work-efficient scan whose
arrays are linear in the axis length; sort permutes the tangents as the
evaluation permutes the operands, by a ``gather`` at the permutation (sorting an ``iota``
along with the keys gives it).
"""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Atom, AType, Builder, Eqn, Lit, Var
from lintra.optimized.rules.base import NEVER, NUMERIC, REQUIRED, CodeContext, Rule, together
from lintra.optimized.rules.special import (
    axis_in,
    bool_param,
    dtype_param,
    int_param,
    ints_param,
    no_tangent,
)
from lintra.reference.errors import LintraTypeError, ShapeError

_INT_LIMITS = {"i64": (-(2 ** 63), 2 ** 63 - 1), "i32": (-(2 ** 31), 2 ** 31 - 1)}


def _numeric_operand(prim: str, types: tuple[AType, ...]) -> AType:
    (t,) = types
    if t.dtype not in NUMERIC:
        raise LintraTypeError(f"{prim} needs a numeric operand (f64, f32, i64, i32), "
                              f"got {t}")
    return t


# --------------------------------------------------------------------------------------------
# Parameters


def _axes_normalizer(prim: str):
    def normalize(params: dict, types: tuple[AType, ...]) -> dict:
        axes = ints_param(prim, "axes", params["axes"])
        t = _numeric_operand(prim, types)
        out = tuple(axis_in(prim, "axis", a, t.rank) for a in axes)
        if len(set(out)) != len(out):
            raise ShapeError(f"{prim}: axes {axes} name an axis twice")
        return {"axes": tuple(sorted(out))}

    normalize.__name__ = f"normalize_{prim}"
    return normalize


def _arg_normalizer(prim: str):
    def normalize(params: dict, types: tuple[AType, ...]) -> dict:
        axis = int_param(prim, "axis", params["axis"])
        index = dtype_param(prim, "index_dtype", params["index_dtype"])
        t = _numeric_operand(prim, types)
        axis = axis_in(prim, "axis", axis, t.rank)
        if t.shape[axis] == 0:
            raise ShapeError(f"{prim}: {t} has no element along axis {axis} to choose")
        if index not in _INT_LIMITS:
            raise LintraTypeError(f"{prim}: index_dtype must be i32 or i64, got {index}")
        return {"axis": axis, "index_dtype": index}

    normalize.__name__ = f"normalize_{prim}"
    return normalize


def _scan_normalizer(prim: str):
    def normalize(params: dict, types: tuple[AType, ...]) -> dict:
        axis = int_param(prim, "axis", params["axis"])
        reverse = bool_param(prim, "reverse", params["reverse"])
        t = _numeric_operand(prim, types)
        return {"axis": axis_in(prim, "axis", axis, t.rank), "reverse": reverse}

    normalize.__name__ = f"normalize_{prim}"
    return normalize


def _sort_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    dimension = int_param("sort", "dimension", params["dimension"])
    keys = int_param("sort", "num_keys", params["num_keys"])
    shape = types[0].shape
    for i, t in enumerate(types):
        if t.shape != shape:
            raise ShapeError(f"sort: operand {i + 1} ({t}) must have the shape of operand 1 "
                             f"({types[0]})")
    if not shape:
        raise ShapeError("sort needs operands of rank >= 1")
    dimension = axis_in("sort", "dimension", dimension, len(shape))
    if not 1 <= keys <= len(types):
        raise ShapeError(f"sort: num_keys must be in [1, {len(types)}] (the number of "
                         f"operands), got {keys}")
    return {"dimension": dimension, "num_keys": keys}


# --------------------------------------------------------------------------------------------
# Type rules


def _reduce_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    axes = params["axes"]
    return (AType(t.dtype, tuple(n for i, n in enumerate(t.shape) if i not in axes)),)


def _arg_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    axis = params["axis"]
    return (AType(params["index_dtype"], tuple(n for i, n in enumerate(t.shape) if i != axis)),)


def _same_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return types


def _is_empty(e: Eqn) -> bool:
    """Whether a reduction reduces over an axis of size 0 (its result is the identity)."""
    shape = e.ins[0].type.shape
    return any(shape[a] == 0 for a in e.params["axes"])


# --------------------------------------------------------------------------------------------
# Evaluation


def _sum_kernel(tab: ArrayTable):
    xp = tab.xp
    numpy = tab.name == "numpy"

    def float_sum(x, axes):
        """Σ over a non-empty set of axes, starting from −0 so that a sum of −0s is −0."""
        if numpy:
            return xp.add.reduce(x, axis=axes, initial=-0.0)
        r = xp.sum(x, axis=axes)
        return xp.where((r == 0) & xp.all(xp.signbit(x), axis=axes), -0.0, r)

    return float_sum


def _reduce_sum_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x, out = e.ins[0].type, e.outs[0].type
    axes = e.params["axes"]
    if not axes:
        return xs[0]
    if _is_empty(e):
        return f"{ctx.fn('zeros')}({ctx.const(out.shape)}, {ctx.dtype(out.dtype)})"
    if x.is_float:
        return f"{ctx.kernel(_sum_kernel)}({xs[0]}, {ctx.const(axes)})"
    return f"{ctx.fn('add.reduce')}({xs[0]}, axis={ctx.const(axes)}, dtype={ctx.dtype(x.dtype)})"


def _extreme_kernel(tab: ArrayTable):
    xp = tab.xp

    def extreme(x, axes, largest):
        """max (min) of a float array over non-empty axes: nan propagates; of zeros, +0 is
        above −0 (spec 3.2), whichever the library met first."""
        r = xp.max(x, axis=axes) if largest else xp.min(x, axis=axes)
        zero = r == 0
        if xp.any(zero):
            wanted = (x == 0) & (xp.signbit(x) != largest)  # +0 for max, −0 for min
            r = xp.where(zero & xp.any(wanted, axis=axes), 0.0 if largest else -0.0, r)
        return r

    return extreme


def _extreme_code(largest: bool):
    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        x, out = e.ins[0].type, e.outs[0].type
        axes = e.params["axes"]
        if not axes:
            return xs[0]
        if _is_empty(e):
            if x.is_float:
                ident: object = float("-inf") if largest else float("inf")
            else:
                ident = _INT_LIMITS[x.dtype][0 if largest else 1]
            return (f"{ctx.fn('full')}({ctx.const(out.shape)}, {ctx.const(ident)}, "
                    f"{ctx.dtype(out.dtype)})")
        if x.is_float:
            return f"{ctx.kernel(_extreme_kernel)}({xs[0]}, {ctx.const(axes)}, {largest})"
        fn = "max" if largest else "min"
        return f"{ctx.fn(fn)}({xs[0]}, axis={ctx.const(axes)})"

    code.__name__ = "reduce_max_code" if largest else "reduce_min_code"
    return code


def _arg_code(largest: bool):
    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        # NumPy's argmax/argmin give the first extreme, a nan counting as the extreme
        fn = "argmax" if largest else "argmin"
        expr = f"{ctx.fn(fn)}({xs[0]}, axis={e.params['axis']})"
        if e.params["index_dtype"] != "i64":
            expr = f"{ctx.fn('asarray')}({expr}).astype({ctx.dtype(e.params['index_dtype'])})"
        return expr

    code.__name__ = "argmax_code" if largest else "argmin_code"
    return code


def _scan_kernel(tab: ArrayTable):
    xp = tab.xp

    def scan(x, axis, reverse, accumulate, dtype):
        """The inclusive sequential scan ``accumulate`` along ``axis``."""
        if reverse:
            return xp.flip(accumulate(xp.flip(x, axis), axis=axis, dtype=dtype), axis)
        return accumulate(x, axis=axis, dtype=dtype)

    return scan


def _cummax_kernel(tab: ArrayTable):
    xp = tab.xp
    numpy = tab.name == "numpy"

    def running(x, ufunc, axis):
        """``ufunc.accumulate`` along ``axis``; elsewhere (CuPy) by doubling: log2(n) passes
        of an associative, exact ufunc give the same values."""
        if numpy:
            return ufunc.accumulate(x, axis=axis)
        y = xp.moveaxis(xp.array(x), axis, 0)
        d = 1
        while d < y.shape[0]:
            y[d:] = ufunc(y[d:], y[:-d].copy())
            d *= 2
        return xp.moveaxis(y, 0, axis)

    def cummax(x, axis, reverse, is_float):
        """Running maximum: nan propagates; of zeros, +0 is above −0 (spec 3.2)."""
        if reverse:
            x = xp.flip(x, axis)
        y = running(x, xp.maximum, axis)
        if is_float:
            zero = y == 0
            if xp.any(zero):
                plus = running((x == 0) & ~xp.signbit(x), xp.logical_or, axis)
                y = xp.where(zero & plus, 0.0, y)
        return xp.flip(y, axis) if reverse else y

    return cummax


def _scan_code(accumulate: str):
    def code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
        ps = e.params
        t = e.ins[0].type
        if accumulate == "maximum":
            return (f"{ctx.kernel(_cummax_kernel)}({xs[0]}, {ps['axis']}, {ps['reverse']}, "
                    f"{t.is_float})")
        if not ps["reverse"]:
            return f"{ctx.fn(accumulate)}({xs[0]}, axis={ps['axis']}, dtype={ctx.dtype(t.dtype)})"
        return (f"{ctx.kernel(_scan_kernel)}({xs[0]}, {ps['axis']}, True, "
                f"{ctx.fn(accumulate)}, {ctx.dtype(t.dtype)})")

    code.__name__ = f"{accumulate}_code"
    return code


def _sort_kernel(tab: ArrayTable):
    xp = tab.xp
    numpy = tab.name == "numpy"

    def order(key, axis):
        """The stable order of ``key`` along ``axis``: nan after +inf, −0 and +0 equal. NumPy
        compares −0 and +0 equal; elsewhere (CuPy's radix sort orders the bits) −0 becomes +0
        first."""
        if numpy:
            return xp.argsort(key, axis=axis, kind="stable")
        if key.dtype.kind == "f":
            key = key + 0.0
        return xp.argsort(key, axis=axis, kind="stable")

    def sort(operands, axis, keys):
        """The operands sorted together along ``axis``, lexicographically by the first
        ``keys``, stably."""
        operands = tuple(xp.asarray(op) for op in operands)
        if keys == 1:
            perm = order(operands[0], axis)
        elif numpy:
            perm = xp.lexsort(tuple(reversed(operands[:keys])), axis=axis)
        else:  # stable sorts from the last key to the first
            perm = order(operands[keys - 1], axis)
            for key in reversed(operands[:keys - 1]):
                perm = xp.take_along_axis(
                    perm, order(xp.take_along_axis(key, perm, axis=axis), axis), axis=axis)
        return tuple(xp.take_along_axis(op, perm, axis=axis) for op in operands)

    return sort


def _sort_one_kernel(tab: ArrayTable):
    sort = _sort_kernel(tab)

    def sort_one(x, axis):
        """One operand sorted along ``axis`` (the sign of each zero kept in input order)."""
        if tab.name == "numpy":
            return tab.xp.sort(x, axis=axis, kind="stable")
        return sort((x,), axis, 1)[0]

    return sort_one


def _sort_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    ps = e.params
    if len(xs) == 1:
        return f"{ctx.kernel(_sort_one_kernel)}({xs[0]}, {ps['dimension']})"
    return (f"{ctx.kernel(_sort_kernel)}(({''.join(x + ', ' for x in xs)}), "
            f"{ps['dimension']}, {ps['num_keys']})")


# --------------------------------------------------------------------------------------------
# Derivatives


def _reduce_sum_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("reduce_sum", dxs[0], **e.params)]


def _reduce_sum_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    (ct,) = cts
    x = e.ins[0]
    axes = e.params["axes"]
    kept = tuple(i for i in range(x.type.rank) if i not in axes)
    return [b.op("broadcast_in_dim", ct, shape=x.type.shape, broadcast_dimensions=kept)]


def _mean_where(b: Builder, mask: Var, dx: Var, axes: tuple[int, ...]) -> Var:
    """Σ(m·dx)/Σm over ``axes``, m the mask as 0/1 of dx's dtype: the mean of the tangents
    where the mask holds (0/0 = nan where it holds nowhere)."""
    m = b.op("convert_element_type", mask, new_dtype=dx.type.dtype)
    count = b.op("reduce_sum", m, axes=axes)
    total = b.op("reduce_sum", b.op("mul", m, dx), axes=axes)
    return b.op("div", total, count)


def _extreme_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """The mean of the tangents of the elements equal to the result (chapter 6); over an empty
    operand the result does not depend on x: a symbolic zero (spec 3.7)."""
    if _is_empty(e):
        return [None]
    x, y = e.ins[0], e.outs[0]
    axes = e.params["axes"]
    kept = tuple(i for i in range(x.type.rank) if i not in axes)
    spread = b.op("broadcast_in_dim", y, shape=x.type.shape, broadcast_dimensions=kept)
    return [_mean_where(b, b.op("eq", x, spread), dxs[0], axes)]


def _cumsum_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("cumsum", dxs[0], **e.params)]


def _cumsum_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [b.op("cumsum", cts[0], axis=e.params["axis"], reverse=not e.params["reverse"])]


def _along(b: Builder, v: Var, axis: int, lo: int, hi: int, step: int = 1) -> Var:
    """``v[lo:hi:step]`` along ``axis``, everything along the other axes."""
    shape = v.type.shape
    return b.op("slice", v, start=tuple(lo if d == axis else 0 for d in range(len(shape))),
                limit=tuple(hi if d == axis else n for d, n in enumerate(shape)),
                strides=tuple(step if d == axis else 1 for d in range(len(shape))))


def _padded(b: Builder, v: Var, fill: Atom, axis: int, before: int, after: int) -> Var:
    """``v`` with ``before`` and ``after`` copies of ``fill`` around it along ``axis``."""
    rank = v.type.rank
    return b.op("pad", v, fill, low=tuple(before if d == axis else 0 for d in range(rank)),
                high=tuple(after if d == axis else 0 for d in range(rank)))


def _interleave(b: Builder, even: Var, odd: Var, axis: int) -> Var:
    """The array with ``even`` at the even positions of ``axis`` and ``odd`` at the odd ones:
    stacked on a new axis after ``axis``, which a reshape folds into it."""
    pair = b.op("concatenate", b.op("expand_dims", even, dimensions=(axis + 1,)),
                b.op("expand_dims", odd, dimensions=(axis + 1,)), dimension=axis + 1)
    shape = even.type.shape
    return b.op("reshape", pair, new_sizes=(*shape[:axis], 2 * shape[axis], *shape[axis + 1:]))


class _Affine:
    """cumprod's scan elements, the affine maps t ↦ t·A + B (factor A, offset B)."""

    @staticmethod
    def compose(b: Builder, fa: Var, fb: Var, sa: Var, sb: Var, keep_factor: bool
                ) -> tuple[Var | None, Var]:
        """The map of a pair: its first element's (fa, fb), then its second's (sa, sb)."""
        return (b.op("mul", fa, sa) if keep_factor else None,
                b.op("add", b.op("mul", sa, fb), sb))

    @staticmethod
    def after(b: Builder, prefix: Var, fa: Var, fb: Var) -> Var:
        """The scan at an element (fa, fb) given the scan before it."""
        return b.op("add", b.op("mul", fa, prefix), fb)


class _Restarting:
    """cummax's scan elements (R, B): a running sum of B that starts afresh where R holds.
    A restart chooses with ``select_n`` rather than multiplying the sum before it by 0, so
    an infinite or nan sum there does not become nan."""

    @staticmethod
    def compose(b: Builder, fa: Var, fb: Var, sa: Var, sb: Var, keep_factor: bool
                ) -> tuple[Var | None, Var]:
        return (b.op("or", fa, sa) if keep_factor else None,
                b.op("select_n", sa, b.op("add", fb, sb), sb))

    @staticmethod
    def after(b: Builder, prefix: Var, fa: Var, fb: Var) -> Var:
        return b.op("select_n", fa, b.op("add", prefix, fb), fb)


def _blelloch(b: Builder, factor: Var, offset: Var, fill: Lit, axis: int, reverse: bool,
              kind: type[_Affine] | type[_Restarting]) -> Var:
    """The inclusive scan along ``axis`` (from the end if ``reverse``) of the elements
    (factor, offset) under ``kind``'s composition, work-efficiently (spec 3.7): the axis
    padded to a power of two with (``fill``, 0) after its last element in the scan's
    direction (elements met after every real one change none of their results); an up-sweep
    composes neighbouring elements level by level, a down-sweep applies each level's
    composed prefix to the pairs after it; the arrays of all levels together are linear in
    the axis length."""
    n = offset.type.shape[axis]
    width = 1 << (n - 1).bit_length()
    if width > n:
        before, after = (width - n, 0) if reverse else (0, width - n)
        factor = _padded(b, factor, fill, axis, before, after)
        offset = _padded(b, offset, b.zero(AType(offset.type.dtype, ())), axis, before, after)
    early = 1 if reverse else 0  # which of the positions 2k, 2k + 1 the scan meets first
    sweep: list[tuple[Var, Var]] = []
    while offset.type.shape[axis] > 1:
        size = offset.type.shape[axis]
        fa, sa = _along(b, factor, axis, early, size, 2), _along(b, factor, axis, 1 - early,
                                                                  size, 2)
        fb, sb = _along(b, offset, axis, early, size, 2), _along(b, offset, axis, 1 - early,
                                                                  size, 2)
        sweep.append((fa, fb))
        composed, offset = kind.compose(b, fa, fb, sa, sb, size > 2)  # top: factor unread
        if composed is not None:
            factor = composed
    scanned = offset  # the inclusive scan at the later element of each pair, level by level
    for fa, fb in reversed(sweep):
        pairs = fb.type.shape[axis]
        if pairs == 1:
            early_part = fb
        elif reverse:  # pair k follows pair k + 1
            moved = kind.after(b, _along(b, scanned, axis, 1, pairs),
                               _along(b, fa, axis, 0, pairs - 1),
                               _along(b, fb, axis, 0, pairs - 1))
            early_part = b.op("concatenate", moved, _along(b, fb, axis, pairs - 1, pairs),
                              dimension=axis)
        else:  # pair k follows pair k − 1
            moved = kind.after(b, _along(b, scanned, axis, 0, pairs - 1),
                               _along(b, fa, axis, 1, pairs), _along(b, fb, axis, 1, pairs))
            early_part = b.op("concatenate", _along(b, fb, axis, 0, 1), moved,
                              dimension=axis)
        if reverse:
            scanned = _interleave(b, scanned, early_part, axis)
        else:
            scanned = _interleave(b, early_part, scanned, axis)
    if width > n:
        scanned = _along(b, scanned, axis, width - n, width) if reverse else _along(
            b, scanned, axis, 0, n)
    return scanned


def _cumprod_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy solves dy_i = x_i·dy_(i−1) + y_(i−1)·dx_i (dy_(−1) = 0, y_(−1) = 1), computed as a
    work-efficient scan of the affine maps t ↦ t·x_i + y_(i−1)·dx_i (spec 3.7). The partial
    ∂y_i/∂x_j is y_(j−1) times products of disjoint runs of x after j: no division (exact
    at zeros), at most i − 1 roundings; memory linear in the axis length."""
    x, y, dx = e.ins[0], e.outs[0], dxs[0]
    if x.type.size == 0:  # an empty result depends on nothing
        return [None]
    axis, reverse = e.params["axis"], e.params["reverse"]
    dtype, n = x.type.dtype, x.type.shape[axis]
    # y_(i−1) in the scan's direction: y shifted by one, 1 entering at the scan's start
    if reverse:
        shifted = _padded(b, _along(b, y, axis, 1, n), Lit(1.0, dtype), axis, 0, 1)
    else:
        shifted = _padded(b, _along(b, y, axis, 0, n - 1), Lit(1.0, dtype), axis, 1, 0)
    return [_blelloch(b, x, b.op("mul", shifted, dx), Lit(1.0, dtype), axis, reverse, _Affine)]


def _cummax_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """dy_i = the mean of dx_j over j ≤ i (in the scan's direction) with x_j = y_i. Those j
    are the elements with x_j = y_j in the run of equal y that ends at i (y only grows along
    the scan; a nan y equals nothing and is a run of its own): dy = S/C, S the sum of the
    run's members' tangents so far (a restarting scan, linear in memory, over
    ``select_n(member, −0, dx)``: −0 is the exact neutral element of IEEE addition) and C
    their count (an integer cumsum less its value where the run began, which a cummax
    carries along the run)."""
    x, y, dx = e.ins[0], e.outs[0], dxs[0]
    if x.type.size == 0 or dx is None:
        return [None]
    axis, reverse = e.params["axis"], e.params["reverse"]
    n = x.type.shape[axis]
    differs = b.op("ne", _along(b, y, axis, 1, n), _along(b, y, axis, 0, n - 1))
    if reverse:  # element i's predecessor is i + 1; the last element starts a run
        starts = _padded(b, differs, Lit(True, "bool"), axis, 0, 1)
    else:
        starts = _padded(b, differs, Lit(True, "bool"), axis, 1, 0)
    member = b.op("eq", x, y)
    ones = b.op("convert_element_type", member, new_dtype="i64")
    seen = b.op("cumsum", ones, axis=axis, reverse=reverse)
    at_start = b.op("select_n", starts, Lit(0, "i64"), b.op("sub", seen, ones))
    count = b.op("sub", seen, b.op("cummax", at_start, axis=axis, reverse=reverse))
    neutral = b.op("neg", b.zero(x.type))
    terms = b.op("select_n", member, neutral, dx)
    sums = _blelloch(b, starts, terms, Lit(True, "bool"), axis, reverse, _Restarting)
    return [b.op("div", sums, b.op("convert_element_type", count, new_dtype=x.type.dtype))]


def _sort_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """Each float result's tangent is its operand's tangent permuted as the evaluation
    permutes the operand: a gather at the flat positions the stable sort of the keys and an
    iota picks (linear in memory)."""
    t = e.ins[0].type
    axis, keys = e.params["dimension"], e.params["num_keys"]
    index = b.op("iota", dtype="i64", shape=t.shape, dimension=axis)
    outs = b.emit("sort", (*e.ins[:keys], index), {"dimension": axis, "num_keys": keys})
    perm = outs[-1]
    if t.rank > 1:  # positions in the flattened operand: perm's axis, the others as they are
        stride = 1
        for n in t.shape[axis + 1:]:
            stride *= n
        flat = b.op("reshape", b.op("iota", dtype="i64", shape=(t.size,)), new_sizes=t.shape)
        if stride != 1:
            index = b.op("mul", index, Lit(stride, "i64"))
            perm = b.op("mul", perm, Lit(stride, "i64"))
        perm = b.op("add", b.op("sub", flat, index), perm)
    result: list[Var | None] = []
    for dx in dxs:
        if dx is None:
            result.append(None)
            continue
        if t.rank > 1:
            dx = b.op("reshape", dx, new_sizes=(t.size,))
        result.append(b.op("gather", dx, perm, axis=0))
    return result


# --------------------------------------------------------------------------------------------
# The records


def _reduction(name: str, code, linear: bool, jvp, transpose=None) -> Rule:
    return Rule(name, "reductions", _reduce_infer, code, together(0) if linear else NEVER,
                params={"axes": REQUIRED}, normalize=_axes_normalizer(name), jvp=jvp,
                transpose=transpose, min_operands=1, max_operands=1)


def _scan(name: str, accumulate: str, jvp, transpose=None) -> Rule:
    return Rule(name, "reductions", _same_infer, _scan_code(accumulate),
                together(0) if transpose else NEVER,
                params={"axis": REQUIRED, "reverse": False}, normalize=_scan_normalizer(name),
                jvp=jvp, transpose=transpose, min_operands=1, max_operands=1)


def _arg(name: str, largest: bool) -> Rule:
    return Rule(name, "reductions", _arg_infer, _arg_code(largest),
                params={"axis": REQUIRED, "index_dtype": "i64"},
                normalize=_arg_normalizer(name), jvp=no_tangent, min_operands=1,
                max_operands=1)


RULES = (
    _reduction("reduce_sum", _reduce_sum_code, True, _reduce_sum_jvp, _reduce_sum_transpose),
    _reduction("reduce_max", _extreme_code(True), False, _extreme_jvp),
    _reduction("reduce_min", _extreme_code(False), False, _extreme_jvp),
    _arg("argmax", True),
    _arg("argmin", False),
    _scan("cumsum", "cumsum", _cumsum_jvp, _cumsum_transpose),
    _scan("cumprod", "cumprod", _cumprod_jvp),
    _scan("cummax", "maximum", _cummax_jvp),
    Rule("sort", "reductions", _same_infer, _sort_code,
         params={"dimension": -1, "num_keys": 1}, normalize=_sort_normalize, shared_dtype=(),
         jvp=_sort_jvp, min_operands=1),
)
