"""The PyTorch adapter: lintra programs lowered to ``torch`` operations on the CPU and
differentiated by ``torch.func`` (spec 7.1).

Each primitive becomes the ``torch`` operation of the same meaning (:data:`RULES`), in the
program's own dtypes (float64, float32, int64, int32, bool tensors). Derivatives are
``torch.func.jvp``, ``torch.func.linearize``, ``torch.func.vjp`` and, for the Hessian,
``torch.func.jvp`` of ``torch.func.grad``. PyTorch has no linear transposition: a linear map is
transposed by the vjp of that map at zero, which works for any differentiable map, linear or
not, so this backend declares ``refuses_nonlinear=False``. Derivative conventions at kinks are
PyTorch's and are not patched. Programs are checked by lintra's checker before they run,
except in ``linear_map``. The disagreements with the spec found so far are in
``docs/findings.md``.

Where a torch operation's *value* differs from the spec's definition, the rule composes exact
torch operations instead, and says so in :data:`NOTES` (``round``, ``sign``, integer ``div``,
the sign of zero from ``max``, ``min``, ``clamp`` and the max reductions). PyTorch has no cube
root, so ``cbrt`` is left out.

Constructing a :class:`TorchBackend` imports PyTorch (``pip install 'lintra[peers]'``).
"""

from __future__ import annotations

import warnings
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
)
from lintra.reference.syntax import ArrayType, DType, Program

torch: Any = None
"""The ``torch`` module, bound by :func:`import_torch` when a backend is constructed."""
TORCH_DTYPES: dict[DType, Any] = {}
"""lintra dtypes to torch dtypes, filled by :func:`import_torch`."""


def import_torch() -> None:
    """Import PyTorch into this module; :class:`BackendUnavailable` (naming the extra to
    install) when it is missing."""
    global torch
    try:
        import torch as torch_module
        import torch.func  # the transforms live in a submodule
    except ImportError as exc:
        raise BackendUnavailable(
            "the torch backend needs PyTorch, which is not installed: "
            "pip install 'lintra[peers]'") from exc
    torch = torch_module
    TORCH_DTYPES.update({DType.f64: torch.float64, DType.f32: torch.float32,
                         DType.i64: torch.int64, DType.i32: torch.int32, DType.bool: torch.bool})


# --------------------------------------------------------------------------------------------
# Lowering rules: one per primitive or per family


def unary(op: str) -> Any:
    """The rule applying ``torch.<op>`` to one operand."""
    def rule(e: Eqn, x: Any) -> Any:
        return getattr(torch, op)(x)
    rule.__name__ = f"lower_{op}"
    return rule


def binary(op: str) -> Any:
    """The rule applying ``torch.<op>`` to two operands (rank 0 broadcasts, as in torch)."""
    def rule(e: Eqn, x: Any, y: Any) -> Any:
        return getattr(torch, op)(x, y)
    rule.__name__ = f"lower_{op}"
    return rule


def _zero_signed(r: Any, negative: Any) -> Any:
    """``r``, with each zero element given the sign ``negative`` asks for. The derivative is
    ``r``'s own (``r - r.detach()`` is +0 and ``-(r.detach() - r)`` is -0, both with
    derivative ``dr``), so only the value changes, never the framework's convention."""
    if not r.is_floating_point():
        return r
    zero = torch.where(negative, -(r.detach() - r), r - r.detach())
    return torch.where(r == 0, zero, r)


def lower_max(e: Eqn, x: Any, y: Any) -> Any:
    """``torch.maximum`` returns its first operand when -0 and +0 tie; the spec says +0 (a
    zero maximum is -0 only if both operands have their sign bit set)."""
    if not x.is_floating_point():
        return torch.maximum(x, y)
    return _zero_signed(torch.maximum(x, y), torch.signbit(x) & torch.signbit(y))


def lower_min(e: Eqn, x: Any, y: Any) -> Any:
    """``torch.minimum`` returns its first operand when -0 and +0 tie; the spec says -0 (a
    zero minimum is -0 if either operand has its sign bit set)."""
    if not x.is_floating_point():
        return torch.minimum(x, y)
    return _zero_signed(torch.minimum(x, y), torch.signbit(x) | torch.signbit(y))


def lower_clamp(e: Eqn, lo: Any, x: Any, hi: Any) -> Any:
    """``torch.clamp`` (with its own derivative), zeros signed as ``min(max(x, lo), hi)``."""
    clamped = torch.clamp(x, lo, hi)
    if not x.is_floating_point():
        return clamped
    lower = torch.maximum(x, lo).detach()
    lower_negative = torch.where(lower == 0, torch.signbit(x) & torch.signbit(lo),
                                 torch.signbit(lower))
    return _zero_signed(clamped, lower_negative | torch.signbit(hi))


def lower_sign(e: Eqn, x: Any) -> Any:
    """``torch.sign`` gives +0 at -0 and 0 at nan; spec 3.1 keeps -0 and nan. Composed
    exactly: x itself (held constant) where it is ±0 or nan, ``torch.sign`` elsewhere, so the
    derivative stays ``torch.sign``'s zero everywhere."""
    if not x.is_floating_point():
        return torch.sign(x)
    return torch.where((x == 0) | torch.isnan(x), x.detach(), torch.sign(x))


def lower_round(e: Eqn, x: Any) -> Any:
    """``torch.round`` rounds half to even; spec 3.1 rounds half away from zero. Composed
    exactly as the spec describes: ``t = trunc(x)`` (which keeps the sign of a zero), and
    ``t + sign(x)`` where ``|x - t|`` (exact) is at least 0.5."""
    t = torch.trunc(x)
    return torch.where(torch.abs(x - t) >= 0.5, t + torch.sign(x), t)


def lower_integer_pow(e: Eqn, x: Any) -> Any:
    return torch.pow(x, e.param("y"))


def _integer_divisor(e: Eqn, y: Any) -> bool:
    """Whether ``y`` is an integer divisor, after refusing zero where it is concrete."""
    if y.is_floating_point():
        return False
    e.require(y != 0, f"integer {e.equation.primitive} by zero")
    return True


def lower_div(e: Eqn, x: Any, y: Any) -> Any:
    """IEEE division for floats; integers truncate toward zero. ``torch.div`` of the most
    negative integer by -1 kills the process (SIGFPE), so -1 divisors are negated instead,
    which wraps as spec 3.2 says."""
    if not _integer_divisor(e, y):
        return torch.div(x, y)
    minus_one = y == -1
    quotient = torch.div(x, torch.where(minus_one, torch.ones_like(y), y), rounding_mode="trunc")
    return torch.where(minus_one, torch.neg(x), quotient)


def lower_rem(e: Eqn, x: Any, y: Any) -> Any:
    """``torch.fmod``: C's ``fmod``, the sign of x (``torch.remainder`` is Python's ``%``)."""
    _integer_divisor(e, y)
    return torch.fmod(x, y)


def lower_select_n(e: Eqn, p: Any, *cases: Any) -> Any:
    """``torch.where`` picks each case where ``p`` names it (a bool ``p`` picks the second
    case where true)."""
    n = len(cases)
    if p.dtype == torch.bool:
        return torch.where(p, cases[1], cases[0])
    e.require((p >= 0) & (p < n), f"select_n predicate outside [0, {n})")
    result = cases[-1]
    for i in range(n - 2, -1, -1):
        result = torch.where(p == i, cases[i], result)
    return result if n > 1 else result.clone()


def lower_broadcast_in_dim(e: Eqn, x: Any) -> Any:
    shape = list(e.param("shape"))
    view = [1] * len(shape)
    for i, d in enumerate(e.param("broadcast_dimensions")):
        view[d] = x.shape[i]
    return x.reshape(view).expand(shape)


def lower_reshape(e: Eqn, x: Any) -> Any:
    return x.reshape(tuple(e.param("new_sizes")))


def lower_transpose(e: Eqn, x: Any) -> Any:
    return x.permute(tuple(e.param("permutation")))


def lower_squeeze(e: Eqn, x: Any) -> Any:
    dims = set(norm_axes(e.param("dimensions"), x.ndim))
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))


def lower_expand_dims(e: Eqn, x: Any) -> Any:
    rank = x.ndim + len(e.param("dimensions"))
    dims = set(norm_axes(e.param("dimensions"), rank))
    sizes = iter(x.shape)
    return x.reshape(tuple(1 if i in dims else next(sizes) for i in range(rank)))


def lower_rev(e: Eqn, x: Any) -> Any:
    dims = norm_axes(e.param("dimensions"), x.ndim)
    return torch.flip(x, dims) if dims else x.clone()


def lower_slice(e: Eqn, x: Any) -> Any:
    start, limit = e.param("start"), e.param("limit")
    strides = e.param("strides", ()) or (1,) * x.ndim
    return x[tuple(slice(s, lim, st) for s, lim, st in zip(start, limit, strides))]


def _grid(indices: Sequence[Any]) -> tuple[Any, ...]:
    """Index tensors selecting the outer product of per-dimension index vectors."""
    return tuple(torch.meshgrid(*indices, indexing="ij")) if indices else ()


def lower_pad(e: Eqn, x: Any, v: Any) -> Any:
    """A tensor of ``v`` with x's elements put at ``low + j·(interior + 1)``: torch's ``pad``
    has no interior padding."""
    if x.ndim == 0:
        return x.clone()
    low, high = e.param("low"), e.param("high")
    interior = e.param("interior", ()) or (0,) * x.ndim
    shape = [lo + hi + n + it * max(n - 1, 0)
             for lo, hi, n, it in zip(low, high, x.shape, interior)]
    where = [lo + torch.arange(n) * (it + 1) for lo, n, it in zip(low, x.shape, interior)]
    return v.expand(shape).index_put(_grid(where), x)


def lower_concatenate(e: Eqn, *xs: Any) -> Any:
    return torch.cat(xs, dim=norm_axis(e.param("dimension"), xs[0].ndim))


def _clamped_range(start: Any, n: int, k: int) -> Any:
    """The ``k`` indices from ``start`` clamped into ``[0, n - k]`` (spec 3.5)."""
    first = torch.clamp(start.to(torch.int64), 0, n - k)
    return first + torch.arange(k)


def lower_dynamic_slice(e: Eqn, x: Any, *starts: Any) -> Any:
    out = x
    for d, (s, k) in enumerate(zip(starts, e.param("slice_sizes"))):
        out = out.index_select(d, _clamped_range(s, x.shape[d], k))
    return out if x.ndim else x.clone()


def lower_dynamic_update_slice(e: Eqn, x: Any, u: Any, *starts: Any) -> Any:
    if x.ndim == 0:
        return u.clone()
    where = [_clamped_range(s, n, k) for s, n, k in zip(starts, x.shape, u.shape)]
    return x.index_put(_grid(where), u)


def _index_in_range(e: Eqn, x: Any, indices: Any, a: int) -> None:
    n = x.shape[a]
    e.require((indices >= 0) & (indices < n), f"index outside [0, {n}) along axis {a}")


def lower_gather(e: Eqn, x: Any, indices: Any) -> Any:
    a = norm_axis(e.param("axis", 0), x.ndim)
    _index_in_range(e, x, indices, a)
    flat = x.index_select(a, indices.reshape(-1).to(torch.int64))
    return flat.reshape(x.shape[:a] + indices.shape + x.shape[a + 1:])


def lower_scatter_add(e: Eqn, x: Any, indices: Any, u: Any) -> Any:
    a = norm_axis(e.param("axis", 0), x.ndim)
    _index_in_range(e, x, indices, a)
    flat = u.reshape((*x.shape[:a], indices.numel(), *x.shape[a + 1:]))
    return x.index_add(a, indices.reshape(-1).to(torch.int64), flat)


def lower_dot_general(e: Eqn, x: Any, y: Any) -> Any:
    """``torch.einsum`` with one letter per dimension: batch dimensions first (in x's batch
    order), then x's free dimensions, then y's, as XLA and the spec order them."""
    (cx, cy), (bx, by) = e.param("contracting_dims"), e.param("batch_dims", ((), ()))
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    xs = [next(letters) for _ in range(x.ndim)]
    ys = [next(letters) for _ in range(y.ndim)]
    for i, j in [*zip(cx, cy), *zip(bx, by)]:
        ys[j] = xs[i]
    free_x = [xs[i] for i in range(x.ndim) if i not in cx and i not in bx]
    free_y = [ys[j] for j in range(y.ndim) if j not in cy and j not in by]
    out = [xs[i] for i in bx] + free_x + free_y
    return torch.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)


def lower_reduce_sum(e: Eqn, x: Any) -> Any:
    dims = norm_axes(e.param("axes"), x.ndim)
    if not dims:  # torch.sum(x, dim=()) sums over everything
        return x.clone()
    return torch.sum(x, dim=dims, dtype=x.dtype)


def _extreme(x: Any, dims: tuple[int, ...], largest: bool) -> Any:
    """``reduce_max`` / ``reduce_min`` over ``dims``: the identity (-inf or +inf, an integer
    dtype's min or max) for an empty reduction, which ``torch.amax`` refuses; zeros signed as
    ``max`` and ``min`` sign them."""
    if not dims:
        return x.clone()
    shape = tuple(n for i, n in enumerate(x.shape) if i not in dims)
    if any(x.shape[d] == 0 for d in dims):
        info = torch.finfo(x.dtype) if x.is_floating_point() else torch.iinfo(x.dtype)
        identity = (-np.inf if largest else np.inf) if x.is_floating_point() else (
            info.min if largest else info.max)
        return torch.full(shape, identity, dtype=x.dtype)
    if largest:
        return _zero_signed(torch.amax(x, dim=dims), torch.all(torch.signbit(x), dim=dims))
    return _zero_signed(torch.amin(x, dim=dims), torch.any(torch.signbit(x), dim=dims))


def lower_reduce_max(e: Eqn, x: Any) -> Any:
    return _extreme(x, norm_axes(e.param("axes"), x.ndim), largest=True)


def lower_reduce_min(e: Eqn, x: Any) -> Any:
    return _extreme(x, norm_axes(e.param("axes"), x.ndim), largest=False)


def index_reduction(op: str) -> Any:
    """``torch.argmax`` / ``torch.argmin``: the first extreme, a nan counting as the extreme."""
    def rule(e: Eqn, x: Any) -> Any:
        index = getattr(torch, op)(x, dim=norm_axis(e.param("axis"), x.ndim))
        return index.to(TORCH_DTYPES[DType(e.param("index_dtype", "i64"))])
    rule.__name__ = f"lower_{op}"
    return rule


def _scan(e: Eqn, x: Any, op: Any) -> Any:
    """``op(x, axis)`` along ``axis``, from the end if ``reverse`` (by flipping)."""
    a = norm_axis(e.param("axis"), x.ndim)
    if not e.param("reverse", False):
        return op(x, a)
    return torch.flip(op(torch.flip(x, (a,)), a), (a,))


def _cumsum(x: Any, a: int) -> Any:
    return torch.cumsum(x, a, dtype=x.dtype)  # an integer sum would otherwise widen to i64


def _cumprod(x: Any, a: int) -> Any:
    return torch.cumprod(x, a, dtype=x.dtype)


def _cummax(x: Any, a: int) -> Any:
    """``torch.cummax`` keeps the earlier of tied -0 and +0; spec 3.7 orders them as ``max``:
    a zero result is -0 only while every element so far has its sign bit set."""
    running = torch.cummax(x, a).values
    if not x.is_floating_point():
        return running
    all_negative = torch.cummin(torch.signbit(x).to(torch.int8), a).values.bool()
    return _zero_signed(running, all_negative)


def lower_cumsum(e: Eqn, x: Any) -> Any:
    return _scan(e, x, _cumsum)


def lower_cumprod(e: Eqn, x: Any) -> Any:
    return _scan(e, x, _cumprod)


def lower_cummax(e: Eqn, x: Any) -> Any:
    return _scan(e, x, _cummax)


def lower_sort(e: Eqn, *xs: Any) -> tuple[Any, ...]:
    """Stable lexicographic sort by the first ``num_keys`` operands: stable argsorts from the
    last key to the first (nan sorts after +inf, -0 and +0 tie), then every operand is
    permuted alike."""
    dim = norm_axis(e.param("dimension", -1), xs[0].ndim)
    order = torch.arange(xs[0].shape[dim]).reshape(
        [-1 if i == dim else 1 for i in range(xs[0].ndim)]).expand(xs[0].shape)
    for key in reversed(xs[:e.param("num_keys", 1)]):
        step = torch.argsort(torch.take_along_dim(key.detach(), order, dim), dim=dim,
                             stable=True)
        order = torch.take_along_dim(order, step, dim)
    return tuple(torch.take_along_dim(x, order, dim) for x in xs)


def lower_dup(e: Eqn, t: Any) -> tuple[Any, Any]:
    return t, t


def lower_drop(e: Eqn, t: Any) -> tuple[()]:
    return ()


def lower_zero(e: Eqn) -> Any:
    t = e.result_type()
    return torch.zeros(t.shape, dtype=TORCH_DTYPES[t.dtype])


def lower_iota(e: Eqn) -> Any:
    shape = tuple(e.param("shape"))
    d = norm_axis(e.param("dimension", 0), len(shape))
    values = torch.arange(shape[d], dtype=TORCH_DTYPES[DType(e.param("dtype"))])
    return values.reshape([-1 if i == d else 1 for i in range(len(shape))]).expand(shape)


def lower_copy(e: Eqn, x: Any) -> Any:
    return x.clone()


def lower_stop_gradient(e: Eqn, x: Any) -> Any:
    return x.detach()


def lower_convert_element_type(e: Eqn, x: Any) -> Any:
    """``Tensor.to``; the conversions spec 3.8 leaves undefined (nan, ±inf or out-of-range
    values to an integer dtype) are refused where the values are concrete."""
    new = DType(e.param("new_dtype"))
    if new.is_int:
        bits = np.iinfo(new.numpy).bits
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1)
        if x.is_floating_point():
            t = torch.trunc(x)
            e.require(torch.isfinite(x) & (t >= float(low)) & (t < float(high)),
                      f"value not representable in {new.value}")
        elif x.dtype != torch.bool and torch.iinfo(x.dtype).bits > bits:
            e.require((x >= low) & (x < high), f"value not representable in {new.value}")
    return x.to(TORCH_DTYPES[new])


UNARY = ("neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
         "acosh", "atanh", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "erf", "abs",
         "floor", "ceil", "square")
BINARY = {"add": "add", "sub": "sub", "mul": "mul", "pow": "pow", "atan2": "atan2",
          "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge",
          "and": "logical_and", "or": "logical_or"}

RULES: dict[str, Any] = {
    **{p: unary(p) for p in UNARY},
    "logistic": unary("sigmoid"),
    "not": unary("logical_not"),
    "sign": lower_sign,
    "round": lower_round,
    "integer_pow": lower_integer_pow,
    **{p: binary(op) for p, op in BINARY.items()},
    "div": lower_div,
    "rem": lower_rem,
    "max": lower_max,
    "min": lower_min,
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
    "reduce_sum": lower_reduce_sum,
    "reduce_max": lower_reduce_max,
    "reduce_min": lower_reduce_min,
    "argmax": index_reduction("argmax"),
    "argmin": index_reduction("argmin"),
    "cumsum": lower_cumsum,
    "cumprod": lower_cumprod,
    "cummax": lower_cummax,
    "sort": lower_sort,
    "dup": lower_dup,
    "drop": lower_drop,
    "zero": lower_zero,
    "iota": lower_iota,
    "copy": lower_copy,
    "stop_gradient": lower_stop_gradient,
    "convert_element_type": lower_convert_element_type,
}
"""The lowering table: every primitive of spec chapter 3 but ``cbrt``."""


class TorchOps(Framework):
    """PyTorch (CPU) as a :class:`Framework` for :func:`run`."""

    name = "torch"
    rules = RULES

    def literal(self, value: bool | int | float, dtype: DType) -> Any:
        return torch.as_tensor(np.asarray(value, dtype=dtype.numpy))

    def dtype_of(self, x: Any) -> DType:
        return next(d for d, t in TORCH_DTYPES.items() if t == x.dtype)

    def concrete(self, x: Any) -> np.ndarray | None:
        """The values of ``x``; None inside ``torch.func`` transforms, whose wrapped tensors
        have no storage to read."""
        try:
            return x.detach().cpu().numpy()
        except RuntimeError:
            return None


# --------------------------------------------------------------------------------------------
# The backend

NOTES = (
    "cbrt is left out: PyTorch has no cube root, and pow(x, 1/3) is not cbrt (1/3 is rounded, "
    "and a negative x gives nan)",
    "round is composed (trunc, then t + sign(x) where |x - t| >= 0.5): torch.round rounds "
    "half to even, the spec half away from zero",
    "sign is composed (x itself where it is ±0 or nan, torch.sign elsewhere): torch.sign "
    "gives +0 at -0 and 0 at nan",
    "integer div by -1 is a negation: torch.div(min, -1) of an integer dtype kills the process "
    "with SIGFPE",
    "max, min, clamp, reduce_max, reduce_min and cummax fix the sign of a zero result (torch "
    "keeps the first of tied -0 and +0) without changing torch's derivative",
    "reduce_sum and cumsum of -0.0 elements only give +0.0 (spec 3.7: -0.0); not patched",
    "transpose is the vjp of the map at zero: non-linear maps are transposed too "
    "(refuses_nonlinear=False)",
    "the map of torch.func.linearize is called once on zeros when made: it folds its "
    "constants lazily, and that first call fails inside torch.func.vjp (our transpose); after "
    "it, the map of atanh cannot be differentiated (docs/findings.md)",
    "run-time errors of spec 3.0.3 are raised where values are concrete (evaluate); inside "
    "torch.func transforms torch's own behaviour stands",
)


class TorchBackend(FrameworkBackend):
    """PyTorch behind the backend protocol (spec 7.1); see the module docstring."""

    name = "torch"

    def __init__(self) -> None:
        import_torch()
        self.capabilities = Capabilities(primitives=frozenset(RULES),
                                         refuses_nonlinear=False, notes=NOTES)
        self.ops = TorchOps()

    @staticmethod
    def to_array(x: object) -> Any:
        return torch.as_tensor(np.array(x))

    @staticmethod
    def to_numpy(x: Any) -> np.ndarray:
        """A NumPy copy of tensor ``x`` (``force``: a derivative may be a symbolic
        ZeroTensor)."""
        return np.array(x.detach().cpu().numpy(force=True))

    def _zeros(self, types: Sequence[ArrayType]) -> list[Any]:
        return [torch.zeros(t.shape, dtype=TORCH_DTYPES[t.dtype]) for t in types]

    def _zero_map(self, ins: tuple[ArrayType, ...], outs: tuple[ArrayType, ...]) -> LinearMap:
        """The derivative where there is no float input or no float result: the zero map
        between the (possibly empty) float spaces, which torch.func cannot build (it refuses
        empty primals and empty outputs)."""
        def zero(*args: Any) -> tuple[Any, ...]:
            return tuple(self._zeros(outs))

        return self._map(zero, ins, outs)

    def jvp(self, program: Program, primals: Sequence[object], tangents: Sequence[object]
            ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        ts = self._tangents(program, tangents)
        ins, outs = float_types(program)
        if not ins or not outs:
            return self.evaluate(program, primals), self._zero_map(ins, outs)(*tangents)
        f, xs = self._of_floats(program, primals)
        ys, dys, others = torch.func.jvp(f, tuple(xs), tuple(ts), has_aux=True)
        return self._merge(program, ys, others), tuple(self.to_numpy(d) for d in dys)

    def linearize(self, program: Program, primals: Sequence[object]
                  ) -> tuple[tuple[np.ndarray, ...], LinearMap]:
        """``torch.func.linearize`` of the float part; integer and boolean results (which
        it cannot return alongside) come from a plain evaluation."""
        ins, outs = float_types(program)
        results = self.evaluate(program, primals)
        if not ins or not outs:
            return results, self._zero_map(ins, outs)
        f, xs = self._of_floats(program, primals, aux=False)
        with warnings.catch_warnings():
            # torch's constant folding of the traced graph warns about its own bookkeeping
            warnings.filterwarnings("ignore", message="Attempted to insert a get_attr Node")
            ys, f_jvp = torch.func.linearize(f, *xs)
            # The map folds its constants lazily, on its first call; made inside a torch.func
            # transform (our transpose) that call fails, so make it here, on zeros.
            f_jvp(*self._zeros(ins))
        others = [self.to_array(r) for r, t in zip(results, program.result_types)
                  if not t.array.dtype.is_float]
        return self._merge(program, ys, others), self._map(f_jvp, ins, outs)

    def vjp(self, program: Program, primals: Sequence[object]) -> tuple[tuple[np.ndarray, ...],
                                                                         Any]:
        ins, outs = float_types(program)
        if not ins or not outs:
            return self.evaluate(program, primals), self._zero_map(outs, ins)
        f, xs = self._of_floats(program, primals)
        ys, f_vjp, others = torch.func.vjp(f, *xs, has_aux=True)

        def pullback(*cotangents: object) -> tuple[np.ndarray, ...]:
            return tuple(self.to_numpy(c)
                         for c in f_vjp(tuple(self.to_array(c) for c in cotangents)))

        return self._merge(program, ys, others), pullback

    def transpose(self, linear_map: LinearMap) -> LinearMap:
        """The vjp of the map at zero: for a linear map, its transpose."""
        if not linear_map.inputs or not linear_map.outputs:
            return self._zero_map(linear_map.outputs, linear_map.inputs)
        forward = linear_map.fn

        def as_tuple(*xs: Any) -> tuple[Any, ...]:
            return tuple(forward(*xs))

        _, f_vjp = torch.func.vjp(as_tuple, *self._zeros(linear_map.inputs))

        def adjoint(*cotangents: Any) -> tuple[Any, ...]:
            return tuple(f_vjp(tuple(cotangents)))

        return self._map(adjoint, linear_map.outputs, linear_map.inputs)

    def hvp(self, program: Program, primals: Sequence[object], tangents: Sequence[object]
            ) -> tuple[np.ndarray, ...]:
        """Forward over reverse: ``torch.func.jvp`` of ``torch.func.grad`` of a program whose
        one float result is a scalar."""
        self._scalar_result(program)
        f, xs = self._of_floats(program, primals, aux=False)

        def scalar(*floats: Any) -> Any:
            return f(*floats)[0]

        gradient = torch.func.grad(scalar, argnums=tuple(range(len(xs))))
        _, hv = torch.func.jvp(gradient, tuple(xs), tuple(self._tangents(program, tangents)))
        return tuple(self.to_numpy(h) for h in hv)
