"""Linear-only primitives, identities and conversions (spec 3.8).

Also the checks of static parameter kinds (spec 2.3, T-Params) that the rules of this family,
the reductions and the contraction share: each returns the canonical value or raises a
LintraTypeError naming the parameter, the kind expected and the value found.
"""

from __future__ import annotations

from collections.abc import Sequence

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import DTYPES, AType, Builder, Eqn, Var
from lintra.optimized.rules.base import (
    ANY,
    LINEAR_ONLY,
    NUMERIC,
    REQUIRED,
    CodeContext,
    Rule,
    together,
    unary_infer,
)
from lintra.reference.errors import EvaluationError, LintraTypeError, ShapeError

# --------------------------------------------------------------------------------------------
# Parameter kinds (T-Params)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def int_param(prim: str, name: str, value: object) -> int:
    """``value`` as an int parameter (a bool is not an int)."""
    if not _is_int(value):
        raise LintraTypeError(f"{prim}: parameter {name} must be an int, got {value!r}")
    return int(value)  # type: ignore[arg-type]


def bool_param(prim: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise LintraTypeError(f"{prim}: parameter {name} must be a bool, got {value!r}")
    return value


def ints_param(prim: str, name: str, value: object) -> tuple[int, ...]:
    """``value`` as a tuple of ints (a list is accepted and made a tuple)."""
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or not all(_is_int(v) for v in value):
        raise LintraTypeError(
            f"{prim}: parameter {name} must be a tuple of ints, got {value!r}")
    return tuple(int(v) for v in value)


def ints_pair_param(prim: str, name: str, value: object) -> tuple[tuple[int, ...], ...]:
    """``value`` as a pair of tuples of ints."""
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple) or len(value) != 2:
        raise LintraTypeError(
            f"{prim}: parameter {name} must be a pair of tuples of ints, got {value!r}")
    return (ints_param(prim, name, value[0]), ints_param(prim, name, value[1]))


def dtype_param(prim: str, name: str, value: object) -> str:
    """``value`` as a dtype name of the language."""
    if not isinstance(value, str) or value not in DTYPES:
        raise LintraTypeError(f"{prim}: parameter {name} must be a dtype name (one of "
                              f"{', '.join(DTYPES)}), got {value!r}")
    return value


def axis_in(prim: str, what: str, axis: int, rank: int) -> int:
    """A selecting axis in ``[-rank, rank)`` made non-negative (spec 2.5), or a ShapeError."""
    if not -rank <= axis < rank:
        raise ShapeError(f"{prim}: {what} {axis} is out of range for rank {rank} "
                         f"(expected one in [{-rank}, {rank}))")
    return axis % rank


# --------------------------------------------------------------------------------------------
# dup, drop, zero: the linear-only primitives


def _zero_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    raise LintraTypeError("zero() takes its type from its binder's annotation")


def _zero_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    t = e.outs[0].type
    return f"{ctx.fn('zeros')}({ctx.const(t.shape)}, {ctx.dtype(t.dtype)})"


def _zero_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return []


def _dup_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return (types[0], types[0])


def _dup_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return f"({xs[0]}, {xs[0]})"


def _dup_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    present = [c for c in cts if c is not None]
    return [present[0] if len(present) == 1 else b.op("add", *present)]


def _drop_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return ()


def _drop_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return "None"


def _drop_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [None]  # dropped: no cotangent flows back (a zero, made concrete where needed)


# --------------------------------------------------------------------------------------------
# copy, stop_gradient


def _identity_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    return xs[0]


def _pass_tangent(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    return [dxs[0]]


def _pass_cotangent(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    return [cts[0]]


def no_tangent(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    """J-Zero: every result's tangent is the symbolic zero."""
    return [None] * len(e.outs)


# --------------------------------------------------------------------------------------------
# iota


def _iota_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    dtype = dtype_param("iota", "dtype", params["dtype"])
    shape = ints_param("iota", "shape", params["shape"])
    dimension = int_param("iota", "dimension", params["dimension"])
    if any(n < 0 for n in shape):
        raise ShapeError(f"iota: shape {shape} has a negative size")
    if dtype not in NUMERIC:
        raise LintraTypeError(f"iota needs a numeric dtype (f64, f32, i64, i32), got {dtype}")
    return {"dtype": dtype, "shape": shape,
            "dimension": axis_in("iota", "dimension", dimension, len(shape))}


def _iota_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    return (AType(params["dtype"], params["shape"]),)


def _iota_kernel(tab: ArrayTable):
    xp = tab.xp

    def iota(dtype, shape, dimension):
        """A fresh array whose element at index i is i[dimension]."""
        counts = xp.arange(shape[dimension], dtype=dtype)
        inner = [1] * len(shape)
        inner[dimension] = shape[dimension]
        out = xp.empty(shape, dtype=dtype)
        out[...] = xp.reshape(counts, inner)
        return out

    return iota


def _iota_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    ps = e.params
    return (f"{ctx.kernel(_iota_kernel)}({ctx.dtype(ps['dtype'])}, {ctx.const(ps['shape'])}, "
            f"{ps['dimension']})")


# --------------------------------------------------------------------------------------------
# convert_element_type

_INT_BOUNDS = {"i32": (-(2 ** 31), 2 ** 31), "i64": (-(2 ** 63), 2 ** 63)}
"""Each integer dtype's range as ``[lo, hi)``; both ends are powers of two, exact in f64."""


def _convert_normalize(params: dict, types: tuple[AType, ...]) -> dict:
    return {"new_dtype": dtype_param("convert_element_type", "new_dtype",
                                     params["new_dtype"])}


def _convert_infer(types: tuple[AType, ...], params: dict) -> tuple[AType, ...]:
    (t,) = types
    return (AType(params["new_dtype"], t.shape),)


def _float_to_int_kernel(tab: ArrayTable):
    xp = tab.xp

    def float_to_int(x, dtype, lo, hi, name):
        """Truncation toward zero; nan, ±inf and values whose truncation lies outside
        ``[lo, hi)`` are undefined (spec 3.8): an EvaluationError."""
        x = xp.asarray(x)
        wide = x.astype(xp.float64)  # exact for f32; the bounds are exact in f64
        # trunc(v) >= lo  <=>  v > lo - 1, which is v >= lo where no float lies between
        ok = (wide < hi) & ((wide > lo - 1) if lo - 1 > -(2 ** 53) else (wide >= lo))
        if not bool(xp.all(ok)):
            bad = tab.to_host(x[~ok].reshape(-1)[:1])[0]
            raise EvaluationError(
                f"convert_element_type of {bad!r} to {name}: "
                + ("not a finite number" if not abs(bad) < float("inf") else
                   f"its truncation is out of range [{lo}, {hi - 1}]"))
        return x.astype(dtype)

    return float_to_int


def _int_to_int_kernel(tab: ArrayTable):
    xp = tab.xp

    def int_to_int(x, dtype, lo, hi, name):
        """Integers that fit the new dtype are kept; others are undefined (spec 3.8: no
        wrap-around): an EvaluationError."""
        x = xp.asarray(x)
        if x.size:
            low, high = int(xp.min(x)), int(xp.max(x))
            if low < lo or high >= hi:
                bad = low if low < lo else high
                raise EvaluationError(f"convert_element_type of {bad} to {name}: out of "
                                      f"range [{lo}, {hi - 1}]")
        return x.astype(dtype)

    return int_to_int


def _convert_code(ctx: CodeContext, e: Eqn, xs: Sequence[str]) -> str:
    x = xs[0]
    old = e.ins[0].type.dtype
    new = e.params["new_dtype"]
    if old == new:
        return x
    if new == "bool":
        return f"{ctx.fn('not_equal')}({x}, 0)"
    if new in ("f64", "f32") or old == "bool" or (old, new) == ("i32", "i64"):
        # rounding to nearest (ties to even) and overflow to ±inf are IEEE's conversions;
        # bool -> 0/1 and i32 -> i64 are exact
        return f"{x}.astype({ctx.dtype(new)})"
    lo, hi = _INT_BOUNDS[new]
    kernel = _float_to_int_kernel if old in ("f64", "f32") else _int_to_int_kernel
    return f"{ctx.kernel(kernel)}({x}, {ctx.dtype(new)}, {lo}, {hi}, {new!r})"


def _convert_jvp(b: Builder, e: Eqn, dxs: Sequence[Var | None]) -> list[Var | None]:
    new = e.params["new_dtype"]
    if new not in ("f64", "f32"):
        return [None]
    return [b.op("convert_element_type", dxs[0], new_dtype=new)]


def _convert_transpose(b: Builder, e: Eqn, cts: Sequence[Var | None]) -> list[Var | None]:
    x = e.ins[0]
    (ct,) = cts
    if ct.type.dtype == x.type.dtype:
        return [ct]
    return [b.op("convert_element_type", ct, new_dtype=x.type.dtype)]


RULES = (
    Rule("zero", "special", _zero_infer, _zero_code, LINEAR_ONLY, transpose=_zero_transpose,
         max_operands=0),
    Rule("dup", "special", _dup_infer, _dup_code, LINEAR_ONLY, transpose=_dup_transpose,
         min_operands=1, max_operands=1),
    Rule("drop", "special", _drop_infer, _drop_code, LINEAR_ONLY,
         transpose=_drop_transpose, min_operands=1, max_operands=1),
    Rule("iota", "special", _iota_infer, _iota_code,
         params={"dtype": REQUIRED, "shape": REQUIRED, "dimension": 0},
         normalize=_iota_normalize, jvp=no_tangent, max_operands=0),
    Rule("copy", "special", unary_infer(ANY), _identity_code, together(0), jvp=_pass_tangent,
         transpose=_pass_cotangent, min_operands=1, max_operands=1),
    Rule("stop_gradient", "special", unary_infer(ANY), _identity_code, jvp=no_tangent,
         min_operands=1, max_operands=1),
    Rule("convert_element_type", "special", _convert_infer, _convert_code, together(0),
         params={"new_dtype": REQUIRED}, normalize=_convert_normalize, jvp=_convert_jvp,
         transpose=_convert_transpose, min_operands=1, max_operands=1),
)
