"""Linear-only primitives, ``iota``, identities and conversions (spec 3.8).

``dup``, ``drop`` and ``zero`` are the structural rules of Linear A made explicit: a linear
variable is used exactly once, so sharing needs ``dup`` and discarding needs ``drop``; ``zero``
creates the linear zero of a type (its binder's annotation gives the type). Their transposes
are Linear A's dualities: ``dup`` <-> ``add``, ``drop`` <-> ``zero``. ``copy`` and
``stop_gradient`` are the identity (``stop_gradient``'s derivative is zero);
``convert_element_type`` converts between dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lintra.reference.domains import Domain, MpDomain
from lintra.reference.errors import EvaluationError, LintraTypeError
from lintra.reference.primitives.base import (
    ALL,
    LINEAR_ONLY,
    NEVER_LINEAR,
    LinearOperand,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    Tangent,
    fixed,
    linear_together,
    normalize_axis,
    require,
)
from lintra.reference.primitives.derivatives import (
    add_tangents,
    linear_jvp,
    self_transpose,
    zero_jvp,
)
from lintra.reference.syntax import ArrayType, Atom, DType, Var

if TYPE_CHECKING:
    from lintra.reference.emit import Emitter

Arrays = tuple[np.ndarray, ...]
Types = tuple[ArrayType, ...]


def dup_type(ts: Types, ps: Params) -> Types:
    return (ts[0], ts[0])


def dup_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (xs[0], xs[0])


def drop_type(ts: Types, ps: Params) -> Types:
    return ()


def drop_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return ()


def zero_type(ts: Types, ps: Params) -> Types:
    # Never called: the checker takes zero's result type from the binder's annotation.
    return ()


def zero_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (d.zeros(outs[0]),)


def iota_type(ts: Types, ps: Params) -> Types:
    shape = ps["shape"]
    require(all(n >= 0 for n in shape), f"iota shape {shape} has a negative dimension")
    normalize_axis(ps["dimension"], len(shape), "iota dimension")
    dtype = DType(ps["dtype"])
    require(dtype.is_numeric, "iota dtype must be numeric, got bool", LintraTypeError)
    return (ArrayType(dtype, tuple(shape)),)


def iota_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    out = outs[0]
    axis = normalize_axis(ps["dimension"], out.rank)
    counts = np.arange(out.shape[axis], dtype=np.int64)
    view = counts.reshape([-1 if i == axis else 1 for i in range(out.rank)])
    return (d.argument(np.broadcast_to(view, out.shape).copy(), out),)


def copy_type(ts: Types, ps: Params) -> Types:
    return (ts[0],)


def copy_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    return (xs[0].copy(),)


def convert_type(ts: Types, ps: Params) -> Types:
    return (ArrayType(DType(ps["new_dtype"]), ts[0].shape),)


def convert_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    """float->float rounds to nearest (the mp domain keeps the real number), float->int
    truncates toward zero, anything->bool is x != 0; undefined conversions raise."""
    x = xs[0]
    new = outs[0].dtype
    if new is DType.bool:
        return (np.asarray(x != 0, dtype=np.bool_).reshape(outs[0].shape),)
    if new.is_float:
        if isinstance(d, MpDomain):
            if x.dtype == object:
                return (x.copy(),)
            # int/bool -> float: the integer itself at the domain's precision, not first
            # rounded to new's width as E-Args rounds arguments (float widths not modelled)
            return (d.map(lambda v: d.mpf(int(v)), x),)
        with np.errstate(all="ignore"):
            return (x.astype(new.numpy),)
    return (to_integer(x, new),)


def to_integer(x: np.ndarray, new: DType) -> np.ndarray:
    """Truncation toward zero into ``new``; nan, inf and out-of-range values raise."""
    info = np.iinfo(new.numpy)
    flat = x.reshape(-1)
    out = np.empty(flat.shape, dtype=new.numpy)
    for k, v in enumerate(flat):
        if isinstance(v, (bool, np.bool_)):
            out[k] = int(v)
            continue
        if v != v or v in (float("inf"), float("-inf")):
            raise EvaluationError(f"convert_element_type of {v} to {new}: not a finite number")
        n = int(v)  # truncates toward zero, exactly, for floats and mpmath numbers
        if not info.min <= n <= info.max:
            raise EvaluationError(
                f"convert_element_type of {v} to {new}: out of range [{info.min}, {info.max}]"
            )
        out[k] = n
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# Derivatives (spec 3.8, chapters 4 and 5)


def dup_transpose(em: Emitter, cts: tuple[Tangent, ...], xs: tuple[Atom | LinearOperand, ...],
                  ps: Params) -> tuple[Tangent, ...]:
    """ct_t = add(ct_a, ct_b): sharing transposes to summation."""
    return (add_tangents(em, cts[0], cts[1]),)


def drop_transpose(em: Emitter, cts: tuple[Tangent, ...], xs: tuple[Atom | LinearOperand, ...],
                   ps: Params) -> tuple[Tangent, ...]:
    """ct_t = 0: a discarded value receives nothing."""
    return (None,)


def zero_transpose(em: Emitter, cts: tuple[Tangent, ...], xs: tuple[Atom | LinearOperand, ...],
                   ps: Params) -> tuple[Tangent, ...]:
    """No operands: the cotangent of zero() is discarded (rule Share drops it)."""
    return ()


def convert_element_type_jvp(em: Emitter, xs: tuple[Atom, ...], ts: tuple[Tangent, ...],
                             ys: tuple[Var, ...], ps: Params) -> tuple[Tangent, ...]:
    """dy = convert_element_type(dx) into a float dtype; no tangent for int or bool."""
    if not DType(ps["new_dtype"]).is_float:
        return (None,)
    return (em.emit1("convert_element_type", ts[0], hint="dt", new_dtype=ps["new_dtype"]),)


def convert_element_type_transpose(
    em: Emitter, cts: tuple[Tangent, ...], xs: tuple[Atom | LinearOperand, ...], ps: Params
) -> tuple[Tangent, ...]:
    """ct_x = convert_element_type(ct_y) back into x's dtype."""
    x = xs[0]
    dtype = x.type.dtype if isinstance(x, LinearOperand) else DType.f64
    return (em.emit1("convert_element_type", cts[0], hint="ct", new_dtype=dtype.value),)


DUP = Primitive(
    name="dup",
    family="special",
    summary="dup(t) = (t, t): share a linear value between two uses",
    arity=fixed(1),
    params=(),
    type_rule=dup_type,
    linearity=LINEAR_ONLY,
    evaluate=dup_eval,
    transpose=dup_transpose,
)

DROP = Primitive(
    name="drop",
    family="special",
    summary="drop(t) = (): discard a linear value",
    arity=fixed(1),
    params=(),
    type_rule=drop_type,
    linearity=LINEAR_ONLY,
    evaluate=drop_eval,
    transpose=drop_transpose,
)

ZERO = Primitive(
    name="zero",
    family="special",
    summary="zero() = 0 of the annotated linear type",
    arity=fixed(0),
    params=(),
    type_rule=zero_type,
    linearity=LINEAR_ONLY,
    evaluate=zero_eval,
    result_from_annotation=True,
    transpose=zero_transpose,
)

IOTA = Primitive(
    name="iota",
    family="special",
    summary="iota(dtype, shape, dimension)[i] = i[dimension]",
    arity=fixed(0),
    params=(
        ParamSpec("dtype", ParamKind.DTYPE),
        ParamSpec("shape", ParamKind.INTS),
        ParamSpec("dimension", ParamKind.INT, 0),
    ),
    type_rule=iota_type,
    linearity=NEVER_LINEAR,
    evaluate=iota_eval,
    jvp=zero_jvp,
)

COPY = Primitive(
    name="copy",
    family="special",
    summary="copy(x) = x",
    arity=fixed(1),
    params=(),
    type_rule=copy_type,
    linearity=linear_together(ALL),
    evaluate=copy_eval,
    jvp=linear_jvp("copy"),
    transpose=self_transpose("copy"),
)

STOP_GRADIENT = Primitive(
    name="stop_gradient",
    family="special",
    summary="stop_gradient(x) = x, with derivative zero",
    arity=fixed(1),
    params=(),
    type_rule=copy_type,
    linearity=NEVER_LINEAR,
    evaluate=copy_eval,
    jvp=zero_jvp,
)

CONVERT_ELEMENT_TYPE = Primitive(
    name="convert_element_type",
    family="special",
    summary="x converted to new_dtype",
    arity=fixed(1),
    params=(ParamSpec("new_dtype", ParamKind.DTYPE),),
    type_rule=convert_type,
    linearity=linear_together(ALL),
    evaluate=convert_eval,
    jvp=convert_element_type_jvp,
    transpose=convert_element_type_transpose,
)

PRIMITIVES: tuple[Primitive, ...] = (
    DUP, DROP, ZERO, IOTA, COPY, STOP_GRADIENT, CONVERT_ELEMENT_TYPE,
)
