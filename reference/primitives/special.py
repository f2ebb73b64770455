"""Linear-only primitives ``dup``, ``drop``, ``zero``, and the nullary ``iota`` (spec 3.8).

``dup``, ``drop`` and ``zero`` are the structural rules of Linear A made explicit: a linear
variable is used exactly once, so sharing needs ``dup`` and discarding needs ``drop``; ``zero``
creates the linear zero of a type (its binder's annotation gives the type).
"""

from __future__ import annotations

import numpy as np
from lintra.reference.domains import Domain
from lintra.reference.primitives.base import (
    LINEAR_ONLY,
    NEVER_LINEAR,
    ParamKind,
    Params,
    ParamSpec,
    Primitive,
    fixed,
    normalize_axis,
    require,
)
from lintra.reference.syntax import ArrayType, DType

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
    require(dtype.is_numeric, "iota dtype must be numeric, got bool")
    return (ArrayType(dtype, tuple(shape)),)


def iota_eval(d: Domain, xs: Arrays, ps: Params, outs: Types) -> Arrays:
    out = outs[0]
    axis = normalize_axis(ps["dimension"], out.rank)
    counts = np.arange(out.shape[axis], dtype=np.int64)
    view = counts.reshape([-1 if i == axis else 1 for i in range(out.rank)])
    return (d.argument(np.broadcast_to(view, out.shape).copy(), out),)


DUP = Primitive(
    name="dup",
    family="special",
    summary="dup(t) = (t, t): share a linear value between two uses",
    arity=fixed(1),
    params=(),
    type_rule=dup_type,
    linearity=LINEAR_ONLY,
    evaluate=dup_eval,
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
)

PRIMITIVES: tuple[Primitive, ...] = (DUP, DROP, ZERO, IOTA)
