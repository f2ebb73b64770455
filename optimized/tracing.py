"""Tracing Python functions into the engine's graphs.

A traced function runs once on :class:`Tracer` objects instead of arrays. Each operation on
a tracer (an operator, an :mod:`lintra.optimized.numpy` function) appends one or a few
equations to the :class:`Trace`'s :class:`~lintra.optimized.ir.Builder`, typed by the
engine's own rules, and returns a new tracer: the function's Python code (loops, calls,
pytrees) runs at trace time and only the array operations remain, as a straight-line
:class:`~lintra.optimized.ir.Graph`.

Traces nest (``grad(grad(f))``): the innermost active trace records. A value the traced
function did not receive as an argument (a NumPy array it closes over, a tracer of an
enclosing trace) is *captured*: it becomes an extra parameter of the graph, after the
arguments, and its value is passed in when the graph runs. Python scalars are *weak*: they
take the dtype of the array they meet (spec 2.2 does the same for literals).

Every tracer and every equation remembers the user's source line that made it (the first
frame outside this package), so that errors name the user's code, not the library's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lintra.optimized.arrays import table_of
from lintra.optimized.ir import Atom, AType, Builder, Graph, Lit, Origin, Var
from lintra.reference.errors import LintraError, LintraTypeError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

NUMPY_DTYPES: dict[np.dtype, str] = {
    np.dtype(np.float64): "f64", np.dtype(np.float32): "f32", np.dtype(np.int64): "i64",
    np.dtype(np.int32): "i32", np.dtype(np.bool_): "bool",
}
"""NumPy dtypes the language has, by their language names."""

LANGUAGE_DTYPES: dict[str, np.dtype] = {v: k for k, v in NUMPY_DTYPES.items()}
"""The NumPy dtype of each language dtype name."""


class ConcretizationError(LintraTypeError):
    """A traced value was used where Python needs a concrete value (``if``, ``while``,
    ``bool()``, ``int()``, ``float()``, an index into a Python list, ``np.asarray``)."""


class EscapedTracerError(LintraTypeError):
    """A traced value was used after the transformation that traced it had finished."""


# --------------------------------------------------------------------------------------------
# Source sites


class Site(Origin):
    """A user's source line (``file:line``), as the origin of the equations it made: errors
    the engine raises while transforming them name it."""

    __slots__ = ("file", "line")

    def __init__(self, file: str, line: int) -> None:
        self.index = 0
        self.equation = None
        self.file = file
        self.line = line

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class ArgumentSite(Site):
    """Where an argument tracer comes from: a leaf of the traced function's arguments."""

    __slots__ = ("function", "leaf")

    def __init__(self, file: str, line: int, function: str, leaf: int) -> None:
        super().__init__(file, line)
        self.function = function
        self.leaf = leaf

    def __str__(self) -> str:
        return (f"argument leaf {self.leaf} of {self.function}, traced by the call at "
                f"{self.file}:{self.line}")


_UNKNOWN_SITE = Site("<unknown>", 0)


_LIBRARY_CODE: dict[int, Any] = {}
"""The code objects of this package met in the stack, by id (kept alive here, so an id is
never reused for another code object): one dictionary lookup per library frame instead of
a comparison of file names."""


def site_from(frame: Any) -> Site:
    """The first frame from ``frame`` outward outside :mod:`lintra.optimized`, as a site."""
    library = _LIBRARY_CODE
    while frame is not None:
        code = frame.f_code
        if id(code) not in library:
            name = code.co_filename
            if not name.startswith(_PACKAGE_DIR):
                return Site(name, frame.f_lineno)
            library[id(code)] = code
        frame = frame.f_back
    return _UNKNOWN_SITE


def user_site() -> Site:
    """The innermost calling frame outside :mod:`lintra.optimized`: the user's line."""
    return site_from(sys._getframe(2))


# --------------------------------------------------------------------------------------------
# Traces

_ACTIVE: list[Trace] = []
"""The traces being recorded, innermost last."""


class Trace:
    """One function being traced: a builder, its argument variables and what it captured."""

    __slots__ = ("alive", "builder", "captured", "captured_values", "inputs", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.builder = Builder()
        self.inputs: list[Var] = []
        self.captured: dict[int, Var] = {}  # id of a captured value -> its parameter
        self.captured_values: list[Any] = []  # the values, in parameter order (kept alive)
        self.alive = True

    def __enter__(self) -> Trace:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.pop()
        self.alive = False

    def argument(self, t: AType, weak: bool, site: Site) -> Tracer:
        """A new parameter of type ``t`` (weak for a Python scalar argument)."""
        v = Var(t)
        self.inputs.append(v)
        return Tracer(v, self, site, weak)

    def capture(self, value: Any, t: AType) -> Var:
        """The parameter holding ``value`` (an array or an enclosing trace's tracer), made on
        first capture."""
        key = id(value)
        v = self.captured.get(key)
        if v is None:
            v = self.captured[key] = Var(t)
            self.captured_values.append(value)
        return v

    def atom(self, x: Any) -> Atom:
        """The operand standing for ``x`` here: a tracer of this trace as it is, a tracer of
        an enclosing trace or a non-scalar array captured, a rank-0 array a literal of its
        dtype. Python scalars are not handled here (they are weak: see ``lnp``)."""
        if type(x) is Tracer:
            if x.trace is self:
                return x.atom
            if not x.trace.alive:
                raise EscapedTracerError(
                    f"a traced value ({x.type}, made at {x.site}) was used after the "
                    "transformation that traced it had finished; return it from the "
                    "function instead of keeping it", program=str(user_site()))
            if isinstance(x.atom, Lit):
                return x.atom
            return self.capture(x, x.type)
        arr = np.asarray(x)
        dtype = NUMPY_DTYPES.get(arr.dtype)
        if dtype is None:
            raise LintraTypeError(
                f"an array of dtype {arr.dtype} has no lintra dtype (f64, f32, i64, i32, "
                "bool): convert it first", program=str(user_site()))
        if arr.ndim == 0:
            return Lit(arr.item(), dtype)
        if arr is not x:  # keep the array we capture alive while the trace is
            x = arr
        return self.capture(x, AType(dtype, arr.shape))

    def emit(self, prim: str, ins: Sequence[Atom], site: Site | None = None,
             **params: Any) -> Tracer:
        """Append ``prim(ins, params)`` and return its (one) result as a tracer. The rule's
        refusal is re-raised naming the user's line."""
        if site is None:
            site = user_site()
        b = self.builder
        b.origin = site
        try:
            (out,) = b.emit(prim, ins, params)
        except LintraError as err:
            raise err.at(program=str(site)) from None
        return Tracer(out, self, site, False)

    def graph(self, outputs: Sequence[Any]) -> Graph:
        """The graph of this trace with ``outputs`` (tracers or constants) as its results;
        captured values become parameters after the arguments."""
        out_vars = [self.result_var(x) for x in outputs]
        return Graph(self.name, [*self.inputs, *self.captured.values()], self.builder.eqns,
                     out_vars)

    def result_var(self, x: Any) -> Var:
        """A variable holding ``x`` (results must be variables, not literals)."""
        if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
            x = np.asarray(x)
        a = self.atom(x)
        if isinstance(a, Lit):
            (v,) = self.builder.emit("copy", (a,))
            return v
        return a


def current_trace() -> Trace | None:
    """The innermost trace being recorded, or None outside any transformation."""
    return _ACTIVE[-1] if _ACTIVE else None


def trace_function(fn: Callable[..., Any], name: str, leaves: Sequence[Any],
                   weak: Sequence[bool], rebuild: Callable[[list[Any]], Any]
                   ) -> tuple[Trace, Any]:
    """Run ``fn`` on tracers: one argument tracer per leaf (of the leaf's type), the
    arguments rebuilt by ``rebuild(tracers)`` as ``(args, kwargs)``. Returns the finished
    trace and what ``fn`` returned."""
    site = user_site()
    with Trace(name) as trace:
        tracers = [trace.argument(type_of(x), w, ArgumentSite(site.file, site.line, name, k))
                   for k, (x, w) in enumerate(zip(leaves, weak))]
        args, kwargs = rebuild(tracers)
        out = fn(*args, **kwargs)
    return trace, out


def type_of(x: Any) -> AType:
    """The lintra type of an argument leaf: a tracer's type, an array's dtype and shape,
    f64/i64/bool for a Python float/int/bool."""
    if type(x) is Tracer:
        return x.type
    if isinstance(x, bool):
        return AType("bool", ())
    if isinstance(x, int):
        return AType("i64", ())
    if isinstance(x, float):
        return AType("f64", ())
    if isinstance(x, (np.ndarray, np.generic)):
        dtype = NUMPY_DTYPES.get(x.dtype)
        if dtype is None:
            raise LintraTypeError(f"an argument of dtype {x.dtype} has no lintra dtype (f64, "
                                  "f32, i64, i32, bool): convert it first",
                                  program=str(user_site()))
        return AType(dtype, tuple(x.shape))
    if table_of(x).name != "numpy":  # an array of another library (CuPy, the gpu extra)
        dtype = NUMPY_DTYPES.get(np.dtype(x.dtype))
        if dtype is None:
            raise LintraTypeError(f"an argument of dtype {x.dtype} has no lintra dtype (f64, "
                                  "f32, i64, i32, bool): convert it first",
                                  program=str(user_site()))
        return AType(dtype, tuple(x.shape))
    raise LintraTypeError(
        f"an argument of type {type(x).__name__} is not an array or a Python scalar: pass "
        "arrays, scalars and tuples, lists, dicts or namedtuples of them, or mark the "
        "argument static (static_argnums)", program=str(user_site()))


def is_weak(x: Any) -> bool:
    """Whether a leaf is a Python scalar (weakly typed) or a weak tracer."""
    if type(x) is Tracer:
        return x.weak
    return isinstance(x, (bool, int, float))


# --------------------------------------------------------------------------------------------
# Tracers


def _binary_operator(prim: str, public: str, reflected: bool) -> Callable[..., Tracer]:
    """An arithmetic or comparison operator of :class:`Tracer`: inside a trace, ``lnp``'s
    function of primitive ``prim`` with the caller's line as the site (found from the
    calling frame, without walking the library's own); outside any, the public function
    ``public`` (which refuses an escaped tracer)."""

    def operator(self: Tracer, other: Any) -> Tracer:
        if _ACTIVE:
            at = _lnp.OPERATOR_AT[prim]
            site = site_from(sys._getframe(1))
            return at(other, self, site) if reflected else at(self, other, site)
        fn = getattr(_lnp, public)
        return fn(other, self) if reflected else fn(self, other)

    operator.__name__ = f"__{'r' if reflected else ''}{public}__"
    return operator


class Tracer:
    """A traced array: what a traced function computes with in place of a NumPy array.
    Operators and methods emit equations; ``shape``, ``ndim``, ``dtype`` and ``size`` are
    static and ordinary Python values."""

    __slots__ = ("atom", "site", "trace", "weak")
    __array_priority__ = 1000

    def __init__(self, atom: Atom, trace: Trace, site: Site, weak: bool = False) -> None:
        self.atom = atom
        self.trace = trace
        self.site = site
        self.weak = weak

    # static facts ---------------------------------------------------------------------------
    @property
    def type(self) -> AType:
        return self.atom.type

    @property
    def shape(self) -> tuple[int, ...]:
        return self.atom.type.shape

    @property
    def ndim(self) -> int:
        return len(self.atom.type.shape)

    @property
    def size(self) -> int:
        return self.atom.type.size

    @property
    def dtype(self) -> np.dtype:
        return LANGUAGE_DTYPES[self.atom.type.dtype]

    def __len__(self) -> int:
        if not self.shape:
            raise LintraTypeError("len() of a rank-0 traced value", program=str(user_site()))
        return self.shape[0]

    def __repr__(self) -> str:
        return f"Tracer({self.type}, made at {self.site})"

    # Python needs a concrete value ------------------------------------------------------------
    def _concrete(self, what: str) -> ConcretizationError:
        return ConcretizationError(
            f"{what} of a traced value ({self.type}, traced since {self.site}): Python "
            "control flow and conversions on traced values are not supported; structured "
            "control flow (conditionals, loops) is not supported yet. Use lnp.where for an "
            "elementwise choice, or make the value static (static_argnums of lo.jit)",
            program=str(user_site()))

    def __bool__(self) -> bool:
        raise self._concrete("bool() (an if, while, and, or, not or assert)")

    def __int__(self) -> int:
        raise self._concrete("int()")

    def __float__(self) -> float:
        raise self._concrete("float()")

    def __index__(self) -> int:
        raise self._concrete("use as a Python index")

    def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
        raise self._concrete("conversion to a NumPy array")

    def __iter__(self) -> Any:
        if not self.shape:
            raise LintraTypeError("iteration over a rank-0 traced value",
                                  program=str(user_site()))
        return (self[i] for i in range(self.shape[0]))

    __hash__ = None  # type: ignore[assignment]

    # NumPy ufuncs on tracers (np.sin(t), array * t) run as lnp functions
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _lnp.apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _lnp.apply_array_function(func, args, kwargs)

    # operators ------------------------------------------------------------------------------
    __add__ = _binary_operator("add", "add", False)

    __radd__ = _binary_operator("add", "add", True)

    __sub__ = _binary_operator("sub", "subtract", False)

    __rsub__ = _binary_operator("sub", "subtract", True)

    __mul__ = _binary_operator("mul", "multiply", False)

    __rmul__ = _binary_operator("mul", "multiply", True)

    __truediv__ = _binary_operator("div", "true_divide", False)

    __rtruediv__ = _binary_operator("div", "true_divide", True)

    def __floordiv__(self, other: Any) -> Tracer:
        return _lnp.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tracer:
        return _lnp.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tracer:
        return _lnp.remainder(self, other)

    def __rmod__(self, other: Any) -> Tracer:
        return _lnp.remainder(other, self)

    def __pow__(self, other: Any) -> Tracer:
        return _lnp.power(self, other)

    def __rpow__(self, other: Any) -> Tracer:
        return _lnp.power(other, self)

    def __matmul__(self, other: Any) -> Tracer:
        return _lnp.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tracer:
        return _lnp.matmul(other, self)

    def __neg__(self) -> Tracer:
        return _lnp.negative(self)

    def __pos__(self) -> Tracer:
        return self

    def __abs__(self) -> Tracer:
        return _lnp.abs(self)

    def __invert__(self) -> Tracer:
        return _lnp.logical_not(self)

    def __and__(self, other: Any) -> Tracer:
        return _lnp.logical_and(self, other)

    def __rand__(self, other: Any) -> Tracer:
        return _lnp.logical_and(other, self)

    def __or__(self, other: Any) -> Tracer:
        return _lnp.logical_or(self, other)

    def __ror__(self, other: Any) -> Tracer:
        return _lnp.logical_or(other, self)

    __eq__ = _binary_operator("eq", "equal", False)  # type: ignore[override]

    __ne__ = _binary_operator("ne", "not_equal", False)  # type: ignore[override]

    __lt__ = _binary_operator("lt", "less", False)

    __le__ = _binary_operator("le", "less_equal", False)

    __gt__ = _binary_operator("gt", "greater", False)

    __ge__ = _binary_operator("ge", "greater_equal", False)

    def __getitem__(self, index: Any) -> Tracer:
        return _lnp.getitem(self, index)

    # methods --------------------------------------------------------------------------------
    @property
    def T(self) -> Tracer:
        return _lnp.transpose(self)

    def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Tracer:
        return _lnp.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tracer:
        return _lnp.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tracer:
        return _lnp.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tracer:
        return _lnp.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tracer:
        return _lnp.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tracer:
        return _lnp.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tracer:
        return _lnp.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def argmax(self, axis: Any = None) -> Tracer:
        return _lnp.argmax(self, axis=axis)

    def argmin(self, axis: Any = None) -> Tracer:
        return _lnp.argmin(self, axis=axis)

    def cumsum(self, axis: Any = None) -> Tracer:
        return _lnp.cumsum(self, axis=axis)

    def cumprod(self, axis: Any = None) -> Tracer:
        return _lnp.cumprod(self, axis=axis)

    def reshape(self, *shape: Any, order: str = "C") -> Tracer:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _lnp.reshape(self, shape, order=order)

    def transpose(self, *axes: Any) -> Tracer:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _lnp.transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tracer:
        return _lnp.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Any = None) -> Tracer:
        return _lnp.squeeze(self, axis)

    def ravel(self) -> Tracer:
        return _lnp.ravel(self)

    def flatten(self) -> Tracer:
        return _lnp.ravel(self)

    def astype(self, dtype: Any) -> Tracer:
        return _lnp.astype(self, dtype)

    def dot(self, other: Any) -> Tracer:
        return _lnp.dot(self, other)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Tracer:
        return _lnp.clip(self, a_min, a_max)


def is_tracer(x: Any) -> bool:
    return type(x) is Tracer


from lintra.optimized import numpy as _lnp  # noqa: E402  (it imports this module's names)

__all__ = ["ConcretizationError", "EscapedTracerError", "Site", "Trace", "Tracer",
           "current_trace", "is_tracer", "trace_function", "type_of", "user_site"]
