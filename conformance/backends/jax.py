"""The JAX adapter: lintra programs lowered to ``jax.lax`` and differentiated by JAX itself
(spec 7.1).

Each primitive becomes the ``jax.lax`` operation of the same meaning (:data:`RULES`); the
programs run op by op, as JAX runs un-jitted code, and every derivative is JAX's own:
``jax.jvp``, ``jax.linearize``, ``jax.vjp``, ``jax.linear_transpose`` and, for the Hessian,
``jax.jvp`` of ``jax.grad``. Derivative conventions at kinks are JAX's and are not patched:
the suite reports where they differ from spec chapter 6. Programs are checked by lintra's
checker before they run, except in ``linear_map``: whether JAX itself refuses to transpose a
program that is not linear is what the suite wants to see there. The disagreements with the
spec found so far are in ``docs/findings.md``.

Constructing a :class:`JaxBackend` imports JAX (``pip install 'lintra[peers]'``) and turns
on ``jax_enable_x64``, a process-wide JAX setting: without it JAX has no float64 or int64
arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lintra.conformance.backend import BackendUnavailable, Capabilities
from lintra.conformance.backends.lowering import (
    Eqn,
    Framework,
    FrameworkBackend,
    LinearMap,
    float_types,
    norm_axes,
    norm_axis,
    result_shape,
)
from lintra.reference.syntax import DType, Program

jax: Any = None
jnp: Any = None
lax: Any = None
"""The JAX modules, bound by :func:`import_jax` when a backend is constructed."""


def import_jax() -> None:
    """Import JAX into this module and enable float64; :class:`BackendUnavailable` (naming
    the extra to install) when JAX is missing."""
    global jax, jnp, lax
    try:
        import jax as jax_module
    except ImportError as exc:
        raise BackendUnavailable(
            "the jax backend needs JAX, which is not installed: pip install 'lintra[peers]'"
        ) from exc
    jax_module.config.update("jax_enable_x64", True)
    jax, jnp, lax = jax_module, jax_module.numpy, jax_module.lax


# --------------------------------------------------------------------------------------------
# Lowering rules: one per primitive or per family


def _broadcast(xs: Sequence[Any]) -> list[Any]:
    """Rank-0 operands broadcast to the others' shape (spec 2.5); ``lax`` wants equal shapes."""
    shape = result_shape([x.shape for x in xs])
    return [x if x.shape == shape else lax.broadcast_in_dim(x, shape, ()) for x in xs]


def unary(op: str) -> Any:
    """The rule applying ``jax.lax.<op>`` to one operand."""
    def rule(e: Eqn, x: Any) -> Any:
        return getattr(lax, op)(x)
    rule.__name__ = f"lower_{op}"
    return rule


def binary(op: str) -> Any:
    """The rule applying ``jax.lax.<op>`` to two operands after broadcasting."""
    def rule(e: Eqn, x: Any, y: Any) -> Any:
        return getattr(lax, op)(*_broadcast([x, y]))
    rule.__name__ = f"lower_{op}"
    return rule


def lower_round(e: Eqn, x: Any) -> Any:
    """Half away from zero, which is ``lax.round``'s ``AWAY_FROM_ZERO`` method (spec 3.1)."""
    return lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO)


def lower_integer_pow(e: Eqn, x: Any) -> Any:
    return lax.integer_pow(x, e.param("y"))


def _nonzero_divisor(e: Eqn, y: Any) -> None:
    if jnp.issubdtype(y.dtype, jnp.integer):
        e.require(y != 0, f"integer {e.equation.primitive} by zero")


def lower_div(e: Eqn, x: Any, y: Any) -> Any:
    """``lax.div``: IEEE for floats, truncation toward zero for integers, and XLA defines
    ``min / -1`` as ``min`` (the spec's wrap-around)."""
    _nonzero_divisor(e, y)
    return lax.div(*_broadcast([x, y]))


def lower_rem(e: Eqn, x: Any, y: Any) -> Any:
    """``lax.rem`` is C's ``fmod`` for floats and ``%`` (sign of x) for integers."""
    _nonzero_divisor(e, y)
    return lax.rem(*_broadcast([x, y]))


def lower_select_n(e: Eqn, p: Any, *cases: Any) -> Any:
    if p.dtype != jnp.bool_:
        e.require((p >= 0) & (p < len(cases)), f"select_n predicate outside [0, {len(cases)})")
    return lax.select_n(p, *_broadcast(cases))


def lower_clamp(e: Eqn, lo: Any, x: Any, hi: Any) -> Any:
    """``lax.clamp``, its rank-0 bounds broadcast first: ``lax.clamp`` accepts them, but its
    derivative with respect to a rank-0 bound of a larger ``x`` raises a TypeError."""
    return lax.clamp(*_broadcast([lo, x, hi]))


def lower_broadcast_in_dim(e: Eqn, x: Any) -> Any:
    return lax.broadcast_in_dim(x, tuple(e.param("shape")), tuple(e.param("broadcast_dimensions")))


def lower_reshape(e: Eqn, x: Any) -> Any:
    return lax.reshape(x, tuple(e.param("new_sizes")))


def lower_transpose(e: Eqn, x: Any) -> Any:
    return lax.transpose(x, tuple(e.param("permutation")))


def lower_squeeze(e: Eqn, x: Any) -> Any:
    return lax.squeeze(x, norm_axes(e.param("dimensions"), x.ndim))


def lower_expand_dims(e: Eqn, x: Any) -> Any:
    dims = e.param("dimensions")
    return lax.expand_dims(x, norm_axes(dims, x.ndim + len(dims)))


def lower_rev(e: Eqn, x: Any) -> Any:
    return lax.rev(x, norm_axes(e.param("dimensions"), x.ndim))


def lower_slice(e: Eqn, x: Any) -> Any:
    strides = e.param("strides", ()) or None
    return lax.slice(x, tuple(e.param("start")), tuple(e.param("limit")), strides)


def lower_pad(e: Eqn, x: Any, v: Any) -> Any:
    interior = e.param("interior", ()) or (0,) * x.ndim
    return lax.pad(x, v, list(zip(e.param("low"), e.param("high"), interior)))


def lower_concatenate(e: Eqn, *xs: Any) -> Any:
    return lax.concatenate(xs, norm_axis(e.param("dimension"), xs[0].ndim))


def _clamped_starts(starts: Sequence[Any], shape: Sequence[int], sizes: Sequence[int]
                    ) -> list[Any]:
    """The starts of spec 3.5, clamped into ``[0, n - k]`` here, in one integer dtype (i32 to
    i64 is exact): ``lax.dynamic_slice`` first wraps a negative start NumPy-style (adds the
    dimension's size), and only then clamps, so -3 on a dimension of 4 would start at 1."""
    return [lax.clamp(np.int64(0), lax.convert_element_type(s, jnp.int64), np.int64(n - k))
            for s, n, k in zip(starts, shape, sizes)]


def lower_dynamic_slice(e: Eqn, x: Any, *starts: Any) -> Any:
    sizes = tuple(e.param("slice_sizes"))
    return lax.dynamic_slice(x, _clamped_starts(starts, x.shape, sizes), sizes)


def lower_dynamic_update_slice(e: Eqn, x: Any, u: Any, *starts: Any) -> Any:
    return lax.dynamic_update_slice(x, u, _clamped_starts(starts, x.shape, u.shape))


def _index_in_range(e: Eqn, x: Any, indices: Any, a: int) -> None:
    n = x.shape[a]
    e.require((indices >= 0) & (indices < n), f"index outside [0, {n}) along axis {a}")


def lower_gather(e: Eqn, x: Any, indices: Any) -> Any:
    """NumPy ``take`` along ``axis`` (spec 3.5); indices are checked, never wrapped."""
    a = norm_axis(e.param("axis", 0), x.ndim)
    _index_in_range(e, x, indices, a)
    return x.at[(slice(None),) * a + (indices,)].get(mode="promise_in_bounds")


def lower_scatter_add(e: Eqn, x: Any, indices: Any, u: Any) -> Any:
    a = norm_axis(e.param("axis", 0), x.ndim)
    _index_in_range(e, x, indices, a)
    return x.at[(slice(None),) * a + (indices,)].add(u, mode="promise_in_bounds")


def lower_dot_general(e: Eqn, x: Any, y: Any) -> Any:
    """``lax.dot_general`` with XLA's dimension numbers and result order (the spec's);
    HIGHEST precision so that no accelerator drops to a narrower type."""
    contracting = tuple(tuple(d) for d in e.param("contracting_dims"))
    batch = tuple(tuple(d) for d in e.param("batch_dims", ((), ())))
    return lax.dot_general(x, y, (contracting, batch), precision=lax.Precision.HIGHEST)


def reduction(op: str) -> Any:
    """The rule applying ``jax.lax.<op>`` over the normalized ``axes``."""
    def rule(e: Eqn, x: Any) -> Any:
        return getattr(lax, op)(x, norm_axes(e.param("axes"), x.ndim))
    rule.__name__ = f"lower_{op}"
    return rule


def index_reduction(op: str) -> Any:
    """``lax.argmax`` / ``lax.argmin``: the first extreme, a nan counting as the extreme."""
    def rule(e: Eqn, x: Any) -> Any:
        index_dtype = DType(e.param("index_dtype", "i64")).numpy
        return getattr(lax, op)(x, norm_axis(e.param("axis"), x.ndim), index_dtype)
    rule.__name__ = f"lower_{op}"
    return rule


def scan(op: str) -> Any:
    """``lax.cumsum`` / ``cumprod`` / ``cummax`` along ``axis``, from the end if ``reverse``."""
    def rule(e: Eqn, x: Any) -> Any:
        return getattr(lax, op)(x, axis=norm_axis(e.param("axis"), x.ndim),
                                reverse=bool(e.param("reverse", False)))
    rule.__name__ = f"lower_{op}"
    return rule


def lower_sort(e: Eqn, *xs: Any) -> tuple[Any, ...]:
    """``lax.sort``, stable, lexicographic by the first ``num_keys`` operands."""
    dimension = norm_axis(e.param("dimension", -1), xs[0].ndim)
    return tuple(lax.sort(xs, dimension=dimension, is_stable=True,
                          num_keys=e.param("num_keys", 1)))


def lower_dup(e: Eqn, t: Any) -> tuple[Any, Any]:
    return t, t


def lower_drop(e: Eqn, t: Any) -> tuple[()]:
    return ()


def lower_zero(e: Eqn) -> Any:
    t = e.result_type()
    return jnp.zeros(t.shape, t.dtype.numpy)


def lower_iota(e: Eqn) -> Any:
    shape = tuple(e.param("shape"))
    return lax.broadcasted_iota(DType(e.param("dtype")).numpy, shape,
                                norm_axis(e.param("dimension", 0), len(shape)))


def lower_copy(e: Eqn, x: Any) -> Any:
    return jnp.copy(x)


def lower_convert_element_type(e: Eqn, x: Any) -> Any:
    """``lax.convert_element_type``; the conversions spec 3.8 leaves undefined (nan, ±inf or
    out-of-range values to an integer dtype) are refused where the values are concrete."""
    new = DType(e.param("new_dtype"))
    if new.is_int:
        bits = np.iinfo(new.numpy).bits
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1)
        if jnp.issubdtype(x.dtype, jnp.floating):
            t = jnp.trunc(x)
            e.require(jnp.isfinite(x) & (t >= float(low)) & (t < float(high)),
                      f"value not representable in {new.value}")
        elif jnp.issubdtype(x.dtype, jnp.integer) and np.iinfo(x.dtype).bits > bits:
            e.require((x >= low) & (x < high), f"value not representable in {new.value}")
    return lax.convert_element_type(x, new.numpy)


UNARY = ("neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
         "acosh", "atanh", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "cbrt", "logistic",
         "erf", "abs", "sign", "floor", "ceil", "square", "stop_gradient")
BINARY = {"add": "add", "sub": "sub", "mul": "mul", "pow": "pow", "atan2": "atan2",
          "max": "max", "min": "min", "eq": "eq", "ne": "ne", "lt": "lt", "le": "le",
          "gt": "gt", "ge": "ge", "and": "bitwise_and", "or": "bitwise_or"}

RULES: dict[str, Any] = {
    **{p: unary(p) for p in UNARY},
    "not": unary("bitwise_not"),
    "round": lower_round,
    "integer_pow": lower_integer_pow,
    **{p: binary(op) for p, op in BINARY.items()},
    "div": lower_div,
    "rem": lower_rem,
    "select_n": lower_select_n,
    "clamp": lower_clamp,
    "broadcast_in_dim": lower_broadcast_in_dim,
    "reshape": lower_reshape,
    "transpose": lower_transpose,
    "squeeze": lower_squeeze,
    "expand_dims": lower_expand_dims,
    "rev": lower_rev,
    "slice": lower_slice,
    "pad": lower_pad,
    "concatenate": lower_concatenate,
    "dynamic_slice": lower_dynamic_slice,
    "dynamic_update_slice": lower_dynamic_update_slice,
    "gather": lower_gather,
    "scatter_add": lower_scatter_add,
    "dot_general": lower_dot_general,
    "reduce_sum": reduction("reduce_sum"),
    "reduce_max": reduction("reduce_max"),
    "reduce_min": reduction("reduce_min"),
    "argmax": index_reduction("argmax"),
    "argmin": index_reduction("argmin"),
    "cumsum": scan("cumsum"),
    "cumprod": scan("cumprod"),
    "cummax": scan("cummax"),
    "sort": lower_sort,
    "dup": lower_dup,
    "drop": lower_drop,
    "zero": lower_zero,
    "iota": lower_iota,
    "copy": lower_copy,
    "convert_element_type": lower_convert_element_type,
}
"""The lowering table: every primitive of spec chapter 3."""


class JaxOps(Framework):
    """JAX as a :class:`Framework` for :func:`run`."""

    name = "jax"
    rules = RULES

    def literal(self, value: bool | int | float, dtype: DType) -> Any:
        return jnp.asarray(np.asarray(value, dtype=dtype.numpy))

    def dtype_of(self, x: Any) -> DType:
        return _DTYPES[np.dtype(x.dtype)]

    def concrete(self, x: Any) -> np.ndarray | None:
        return None if isinstance(x, jax.core.Tracer) else np.asarray(x)


_DTYPES = {d.numpy: d for d in DType}


# --------------------------------------------------------------------------------------------
# The backend

NOTES = (
    "constructing the backend turns on jax_enable_x64 (process-wide) for float64 and int64",
    "XLA on CPU flushes subnormal operands and results to zero (denormals-are-zero, "
    "flush-to-zero; intended by JAX: jax-ml/jax#16200), where IEEE arithmetic and the spec "
    "keep them",
    "reduce_sum and cumsum of -0.0 elements only give +0.0 (XLA accumulates from +0.0; spec "
    "3.7: -0.0); not patched, since a patch would apply non-linear operations to linear "
    "operands, which jax.linear_transpose refuses",
    "jax.linear_transpose finds non-linearity only through missing transpose rules: it refuses "
    "mul(t, t) (an internal AssertionError) and sin(t), but transposes the affine add(t, 1.0) "
    "by dropping the constant, and a map without linear arguments without complaint",
    "clamp broadcasts rank-0 bounds to the operand's shape first: differentiating lax.clamp "
    "with respect to a rank-0 bound of a larger operand raises a TypeError",
    "dynamic_slice and dynamic_update_slice clamp their starts before calling lax: "
    "lax.dynamic_slice wraps a negative start (adds the dimension's size) before XLA clamps, "
    "where the spec clamps it to 0",
    "run-time errors of spec 3.0.3 are raised where values are concrete (evaluate); under "
    "jvp, vjp and linearize JAX's own value for such inputs stands",
)


class JaxBackend(FrameworkBackend):
    """JAX behind the backend protocol (spec 7.1); see the module docstring."""

    name = "jax"

    def __init__(self) -> None:
        import_jax()
        self.capabilities = Capabilities(primitives=frozenset(RULES), notes=NOTES)
        self.ops = JaxOps()

    @staticmethod
    def to_array(x: object) -> Any:
        return jnp.asarray(np.asarray(x))

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        return np.asarray(x)

    def jvp(self, program: Program, primals: Sequence[object], tangents: Sequence[object]
            ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        f, xs = self._of_floats(program, primals)
        ys, dys, others = jax.jvp(f, tuple(xs), tuple(self._tangents(program, tangents)),
                                  has_aux=True)
        return self._merge(program, ys, others), tuple(self.to_numpy(d) for d in dys)

    def linearize(self, program: Program, primals: Sequence[object]
                  ) -> tuple[tuple[np.ndarray, ...], LinearMap]:
        f, xs = self._of_floats(program, primals)
        ys, f_jvp, others = jax.linearize(f, *xs, has_aux=True)
        return self._merge(program, ys, others), self._map(f_jvp, *float_types(program))

    def vjp(self, program: Program, primals: Sequence[object]) -> tuple[tuple[np.ndarray, ...],
                                                                         Any]:
        f, xs = self._of_floats(program, primals)
        ys, f_vjp, others = jax.vjp(f, *xs, has_aux=True)

        def pullback(*cotangents: object) -> tuple[np.ndarray, ...]:
            return tuple(self.to_numpy(c)
                         for c in f_vjp(tuple(self.to_array(c) for c in cotangents)))

        return self._merge(program, ys, others), pullback

    def transpose(self, linear_map: LinearMap) -> LinearMap:
        """``jax.linear_transpose`` of the map, traced at its argument types."""
        forward = linear_map.fn
        structs = [jax.ShapeDtypeStruct(t.shape, t.dtype.numpy) for t in linear_map.inputs]

        def as_tuple(*xs: Any) -> tuple[Any, ...]:
            return tuple(forward(*xs))

        backward = jax.linear_transpose(as_tuple, *structs)

        def adjoint(*cotangents: Any) -> tuple[Any, ...]:
            return tuple(backward(tuple(cotangents)))

        return self._map(adjoint, linear_map.outputs, linear_map.inputs)

    def hvp(self, program: Program, primals: Sequence[object], tangents: Sequence[object]
            ) -> tuple[np.ndarray, ...]:
        """Forward over reverse: ``jax.jvp`` of ``jax.grad`` of a program whose one float
        result is a scalar."""
        self._scalar_result(program)
        f, xs = self._of_floats(program, primals)

        def scalar(*floats: Any) -> Any:
            return f(*floats)[0][0]

        gradient = jax.grad(scalar, argnums=tuple(range(len(xs))))
        _, hv = jax.jvp(gradient, tuple(xs), tuple(self._tangents(program, tangents)))
        return tuple(self.to_numpy(h) for h in hv)
