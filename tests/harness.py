"""Test helpers shared by the primitive tests: apply one primitive in either number domain.

``apply`` is deliberately independent of the parser: it goes through the same record the
checker and evaluator use (parameter validation, type rule, evaluation) so that a primitive's
tests run on exactly what a program would run.
"""

from __future__ import annotations

import numpy as np

from lintra.reference.domains import domain_for, to_float64
from lintra.reference.primitives import lookup
from lintra.reference.syntax import ArrayType, DType

_FROM_NUMPY = {
    np.dtype(np.float64): DType.f64,
    np.dtype(np.float32): DType.f32,
    np.dtype(np.int64): DType.i64,
    np.dtype(np.int32): DType.i32,
    np.dtype(np.bool_): DType.bool,
}


def array_type(x: np.ndarray) -> ArrayType:
    """The lintra type of a NumPy array."""
    return ArrayType(_FROM_NUMPY[x.dtype], tuple(x.shape))


def apply(name: str, *operands: np.ndarray, dps: int | None = None, **params: object):
    """Apply primitive ``name`` to NumPy operands, in float64 (``dps=None``) or mpmath.

    Returns ``(results, result_types)``. Results in the mpmath domain are object arrays of
    mpmath numbers for float types; use :func:`rounded` to bring them to their dtype.
    """
    prim = lookup(name)
    arrays = tuple(np.asarray(x) for x in operands)
    ts = tuple(array_type(x) for x in arrays)
    ps = prim.param_values(params)
    outs = prim.type_rule(ts, ps)
    d = domain_for(dps)
    xs = tuple(d.argument(x, t) for x, t in zip(arrays, ts))
    return prim.evaluate(d, xs, ps, outs), outs


def rounded(results, types) -> tuple[np.ndarray, ...]:
    """Round results of either domain to their declared dtypes."""
    return tuple(to_float64(np.asarray(r), t.dtype) for r, t in zip(results, types))
