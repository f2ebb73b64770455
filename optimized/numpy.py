"""``lintra.optimized.numpy`` (``lnp``): NumPy's functions on traced arrays, mapped onto the
primitives of spec chapter 3.

Inside a transformation (``lo.jit``, ``lo.grad``, ...) every function here emits equations
into the current trace; outside one it runs at once (the operation traced and compiled on
the spot), so ``lnp.sin(np.ones(3))`` is an array.

NumPy semantics in a language whose primitives take operands of one dtype and one shape
(a rank-0 operand broadcasts):

* **Broadcasting** follows NumPy's rule and is made explicit with ``broadcast_in_dim``.
* **Type promotion**: dtypes are ordered ``bool < i32 < i64 < f32 < f64`` by kind (bool,
  integer, float) and then width; two arrays promote to the larger, except that an integer
  with a float gives that float (``i64`` with ``f32`` is ``f32``, as in JAX). Python
  scalars are *weak*: they take the dtype of the array they meet (``x_f32 * 2.0`` is f32)
  unless they are of a higher kind (an int array times ``2.5`` is f64, a bool array plus
  ``1`` is i64). Scalars alone take f64, i64 or bool. Float-only functions (``sin``,
  ``/``, ``mean``) convert integers to f64; ``sum``, ``prod`` and ``cumsum`` of bool or
  i32 give i64, as NumPy does.
* Results NumPy would compute differently: ``round`` rounds halves away from zero (the
  primitive's rule; NumPy rounds them to even).
"""

from __future__ import annotations

import builtins
import difflib
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optree

from lintra.optimized.ir import Atom, Lit
from lintra.optimized.tracing import (
    _ACTIVE,
    LANGUAGE_DTYPES,
    NUMPY_DTYPES,
    ConcretizationError,
    Site,
    Trace,
    Tracer,
    user_site,
)
from lintra.reference.errors import (
    LintraTypeError,
    ShapeError,
    UnsupportedPrimitiveError,
)

float64, float32, int64, int32, bool_ = np.float64, np.float32, np.int64, np.int32, np.bool_
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
ndarray = np.ndarray

_KIND = {"bool": 0, "i32": 1, "i64": 1, "f32": 2, "f64": 2}
_RANK = {"bool": 0, "i32": 1, "i64": 2, "f32": 3, "f64": 4}
_DEFAULT_OF_KIND = {0: "bool", 1: "i64", 2: "f64"}
_INT_RANGE = {"i64": (-(2**63), 2**63 - 1), "i32": (-(2**31), 2**31 - 1)}


class UnknownFunctionError(UnsupportedPrimitiveError, AttributeError):
    """A NumPy function ``lnp`` does not provide (it names the closest one it does)."""


# --------------------------------------------------------------------------------------------
# Running outside a transformation


def lnp_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator of the public functions: inside a trace they emit equations; outside any
    they trace the one call and run it at once."""

    @functools.wraps(fn)
    def public(*args: Any, **kwargs: Any) -> Any:
        if _ACTIVE:
            return fn(*args, **kwargs)
        return _run_now(fn, args, kwargs)

    return public


def _run_now(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    from lintra.optimized.arrays import table
    from lintra.optimized.plan import Plan

    with Trace(fn.__name__) as trace:
        out = fn(*args, **kwargs)
    leaves, tree = optree.tree_flatten(out)
    graph = trace.graph(leaves)
    results = Plan(graph, table("numpy"))(*trace.captured_values)
    return optree.tree_unflatten(tree, list(results))


# --------------------------------------------------------------------------------------------
# Operands: dtype, weak scalars, promotion, broadcasting


class _Operand:
    """An operand on its way to a primitive: the value, its dtype and shape, whether it is
    weak (a Python scalar or a tracer made from one)."""

    __slots__ = ("dtype", "shape", "value", "weak")

    def __init__(self, value: Any, dtype: str, shape: tuple[int, ...], weak: bool) -> None:
        self.value = value
        self.dtype = dtype
        self.shape = shape
        self.weak = weak


def _trace() -> Trace:
    return _ACTIVE[-1]


def _operand(x: Any) -> _Operand:
    if type(x) is Tracer:
        t = x.atom.type
        return _Operand(x, t.dtype, t.shape, x.weak)
    if isinstance(x, bool):
        return _Operand(x, "bool", (), True)
    if isinstance(x, int):
        return _Operand(x, "i64", (), True)
    if isinstance(x, float):
        return _Operand(x, "f64", (), True)
    if isinstance(x, (list, tuple)) and any(type(v) is Tracer for v in _flat_list(x)):
        return _operand(array(x))
    arr = np.asarray(x)
    dtype = NUMPY_DTYPES.get(arr.dtype)
    if dtype is None:
        raise LintraTypeError(f"an array of dtype {arr.dtype} has no lintra dtype (f64, f32, "
                              "i64, i32, bool): convert it first", program=str(user_site()))
    return _Operand(arr, dtype, tuple(arr.shape), False)


def _flat_list(x: Any) -> list[Any]:
    out, stack = [], [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            out.append(v)
    return out


def promote(ops: Sequence[_Operand]) -> str:
    """The dtype operands promote to (the rule stated in the module's docstring)."""
    first = ops[0].dtype
    if all(o.dtype == first and not o.weak for o in ops):
        return first
    strong = [o.dtype for o in ops if not o.weak]
    weak_kind = builtins.max((_KIND[o.dtype] for o in ops if o.weak), default=-1)
    if not strong:
        return _DEFAULT_OF_KIND[weak_kind]
    best = strong[0]
    for d in strong[1:]:
        if _KIND[d] > _KIND[best] or (_KIND[d] == _KIND[best] and _RANK[d] > _RANK[best]):
            best = d
    if weak_kind > _KIND[best]:
        return _DEFAULT_OF_KIND[weak_kind]
    return best


def _scalar_value(v: bool | int | float, dtype: str, site: Site) -> bool | int | float:
    if dtype == "bool":
        return bool(v)
    if dtype in _INT_RANGE:
        if isinstance(v, float):
            raise LintraTypeError(f"the float {v} cannot become {dtype}", program=str(site))
        lo, hi = _INT_RANGE[dtype]
        if not lo <= int(v) <= hi:
            raise LintraTypeError(f"the Python integer {v} is outside the range of {dtype}",
                                  program=str(site))
        return int(v)
    if dtype == "f32":
        return float(np.float32(v))
    return float(v)


def _atom(o: _Operand, dtype: str, site: Site) -> Atom:
    """``o`` as an operand of ``dtype`` (converted if need be)."""
    v = o.value
    trace = _trace()
    if isinstance(v, (bool, int, float)):
        return Lit(_scalar_value(v, dtype, site), dtype)
    a = trace.atom(v)
    if a.type.dtype == dtype:
        return a
    if isinstance(a, Lit):
        return Lit(_scalar_value(a.value, dtype, site), dtype)
    return trace.emit("convert_element_type", (a,), site, new_dtype=dtype).atom


def broadcast_shapes(*shapes: tuple[int, ...], site: Site | None = None) -> tuple[int, ...]:
    """NumPy's broadcast of ``shapes`` (a ShapeError naming them when they do not)."""
    first = shapes[0] if shapes else ()
    if all(s == first or not s for s in shapes):
        return first if first or not shapes else builtins.max(shapes, key=len)
    rank = builtins.max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for s in shapes:
        for i, n in enumerate(s, rank - len(s)):
            if n != out[i]:
                if out[i] == 1:
                    out[i] = n
                elif n != 1:
                    raise ShapeError(
                        "operands could not be broadcast together with shapes "
                        f"{' '.join(str(tuple(t)) for t in shapes)}",
                        program=str(site or user_site()))
    return tuple(out)


def _broadcast(a: Atom, shape: tuple[int, ...], site: Site, keep_scalar: bool = True) -> Atom:
    """``a`` broadcast to ``shape`` (a rank-0 operand left as it is when ``keep_scalar``:
    elementwise primitives broadcast it themselves)."""
    t = a.type.shape
    if t == shape or (keep_scalar and not t):
        return a
    r = len(shape)
    return _trace().emit("broadcast_in_dim", (a,), site, shape=tuple(shape),
                         broadcast_dimensions=tuple(range(r - len(t), r))).atom


def _prepared(xs: Sequence[Any], site: Site, dtype: str | None = None,
              at_least: str | None = None) -> tuple[list[Atom], str, tuple[int, ...]]:
    """Operands promoted to one dtype (``dtype`` if given; at least float when ``at_least``
    is ``"float"``) and broadcast to one shape (rank-0 ones stay rank 0)."""
    ops = [_operand(x) for x in xs]
    d = dtype or promote(ops)
    if at_least == "float" and _KIND[d] < 2:
        d = "f64"
    shape = broadcast_shapes(*(o.shape for o in ops), site=site)
    atoms = [_broadcast(_atom(o, d, site), shape, site) for o in ops]
    return atoms, d, shape


def _result(t: Tracer, ops_weak: bool) -> Tracer:
    t.weak = ops_weak
    return t


def _all_weak(xs: Sequence[Any]) -> bool:
    return all((x.weak if type(x) is Tracer else isinstance(x, (bool, int, float))) for x in xs)


def _emit(prim: str, ins: Sequence[Atom], site: Site, **params: Any) -> Tracer:
    return _trace().emit(prim, ins, site, **params)


def _tracer(x: Any, site: Site | None = None) -> Tracer:
    """``x`` as a tracer of the current trace (a constant captured or made a literal)."""
    if type(x) is Tracer and x.trace is _trace():
        return x
    site = site or user_site()
    o = _operand(x)
    return Tracer(_atom(o, o.dtype, site), _trace(), site, o.weak)


# --------------------------------------------------------------------------------------------
# Elementwise functions


def _unary(prim: str, numeric: bool = False) -> Callable[[Any], Tracer]:
    """The public function of unary primitive ``prim``: float-only ones convert integers and
    bools to f64; ``numeric`` ones keep integers."""

    def unary(x: Any) -> Tracer:
        site = user_site()
        if type(x) is Tracer and x.trace is _ACTIVE[-1]:  # fast path: no conversion
            d = x.atom.type.dtype
            if d in _FLOAT or (numeric and d != "bool"):
                return _result(x.trace.emit(prim, (x.atom,), site), x.weak)
        o = _operand(x)
        d = o.dtype
        if numeric:
            if d == "bool":
                d = "i64"
        elif _KIND[d] < 2:
            d = "f64"
        return _result(_emit(prim, (_atom(o, d, site),), site), o.weak)

    unary.__name__ = prim
    unary.__doc__ = f"Elementwise ``{prim}`` (spec 3.1)."
    return unary


_FLOAT = frozenset({"f32", "f64"})
_FAST_DTYPES = {"numeric": frozenset({"i32", "i64", "f32", "f64"}), "float": _FLOAT,
                "compare": frozenset(_KIND), "logic": frozenset({"bool"})}
"""Per kind of binary function, the operand dtype that is already the promoted one when
both operands have it (no conversion, the result of that dtype or bool)."""
_KEEP_WEAK = frozenset({"numeric", "float"})



def _fast_pair(x: Any, y: Any, dtypes: frozenset[str], site: Site
               ) -> tuple[Atom, Atom, bool] | None:
    """The operands of a binary function when no promotion or broadcast is needed (tracers
    of the current trace, of one dtype in ``dtypes``, of one shape or one of rank 0; or such
    a float tracer with a Python int or float), with whether both are weak; else None."""
    trace = _ACTIVE[-1]
    tx, ty = type(x) is Tracer, type(y) is Tracer
    if tx and ty:
        if x.trace is not trace or y.trace is not trace:
            return None
        a, b = x.atom, y.atom
        ta, tb = a.type, b.type
        if ta.dtype != tb.dtype or ta.dtype not in dtypes or (
                ta.shape != tb.shape and ta.shape and tb.shape):
            return None
        return a, b, x.weak and y.weak
    if tx:
        t, scalar = x, y
    elif ty:
        t, scalar = y, x
    else:
        return None
    kind = type(scalar)
    if (kind is not float and kind is not int) or t.trace is not trace:
        return None
    a = t.atom
    d = a.type.dtype
    if d not in _FLOAT or d not in dtypes:
        return None
    lit = Lit(float(scalar) if d == "f64" else _scalar_value(scalar, d, site), d)
    return (a, lit, t.weak) if tx else (lit, a, t.weak)


def _binary(prim: str, kind: str = "numeric") -> Callable[[Any, Any], Tracer]:
    """The public function of binary primitive ``prim``. ``kind``: ``numeric`` (promoted
    dtype), ``float`` (at least f64 for integers), ``compare`` (a bool result), ``logic``
    (bool operands)."""

    fast_dtypes = _FAST_DTYPES[kind]

    def binary_at(x: Any, y: Any, site: Site) -> Tracer:
        fast = _fast_pair(x, y, fast_dtypes, site)
        if fast is not None:
            a, b, weak = fast
            return _result(_ACTIVE[-1].emit(prim, (a, b), site), weak and kind in _KEEP_WEAK)
        if kind == "logic":
            atoms, _, _ = _prepared((x, y), site, dtype="bool")
        else:
            atoms, d, _ = _prepared((x, y), site, at_least="float" if kind == "float" else None)
            if kind == "numeric" and d == "bool" and prim not in ("max", "min"):
                atoms, _, _ = _prepared((x, y), site, dtype="i64")
        out = _emit(prim, atoms, site)
        return _result(out, kind not in ("compare", "logic") and _all_weak((x, y)))

    def binary(x: Any, y: Any) -> Tracer:
        return binary_at(x, y, user_site())

    binary.at = binary_at  # type: ignore[attr-defined]
    binary.__name__ = prim
    binary.__doc__ = f"Elementwise ``{prim}`` with NumPy broadcasting and promotion."
    return binary


negative = lnp_function(_unary("neg", numeric=True))
absolute = abs = lnp_function(_unary("abs", numeric=True))
sign = lnp_function(_unary("sign", numeric=True))
square = lnp_function(_unary("square", numeric=True))
sin = lnp_function(_unary("sin"))
cos = lnp_function(_unary("cos"))
tan = lnp_function(_unary("tan"))
arcsin = lnp_function(_unary("asin"))
arccos = lnp_function(_unary("acos"))
arctan = lnp_function(_unary("atan"))
sinh = lnp_function(_unary("sinh"))
cosh = lnp_function(_unary("cosh"))
tanh = lnp_function(_unary("tanh"))
arcsinh = lnp_function(_unary("asinh"))
arccosh = lnp_function(_unary("acosh"))
arctanh = lnp_function(_unary("atanh"))
exp = lnp_function(_unary("exp"))
expm1 = lnp_function(_unary("expm1"))
log = lnp_function(_unary("log"))
log1p = lnp_function(_unary("log1p"))
sqrt = lnp_function(_unary("sqrt"))
rsqrt = lnp_function(_unary("rsqrt"))
cbrt = lnp_function(_unary("cbrt"))
logistic = sigmoid = expit = lnp_function(_unary("logistic"))
erf = lnp_function(_unary("erf"))
floor = lnp_function(_unary("floor"))
ceil = lnp_function(_unary("ceil"))
round = around = lnp_function(_unary("round"))

add = lnp_function(_binary("add"))
subtract = lnp_function(_binary("sub"))
multiply = lnp_function(_binary("mul"))
true_divide = divide = lnp_function(_binary("div", "float"))
maximum = lnp_function(_binary("max"))
minimum = lnp_function(_binary("min"))
arctan2 = lnp_function(_binary("atan2", "float"))
fmod = lnp_function(_binary("rem"))
equal = lnp_function(_binary("eq", "compare"))
not_equal = lnp_function(_binary("ne", "compare"))
less = lnp_function(_binary("lt", "compare"))
less_equal = lnp_function(_binary("le", "compare"))
greater = lnp_function(_binary("gt", "compare"))
greater_equal = lnp_function(_binary("ge", "compare"))
logical_and = lnp_function(_binary("and", "logic"))
logical_or = lnp_function(_binary("or", "logic"))
_divide_integers = _binary("div")  # the quotient of floor_divide, integers kept

OPERATOR_AT: dict[str, Callable[[Any, Any, Site], Tracer]] = {
    f.__name__: f.at for f in (add, subtract, multiply, true_divide, equal, not_equal, less,
                               less_equal, greater, greater_equal)}
"""The functions of the traced arrays' operators by primitive, taking the user's site (the
operators find it from their caller's frame, without walking the library's frames)."""


@lnp_function
def logical_not(x: Any) -> Tracer:
    site = user_site()
    return _emit("not", (_atom(_operand(x), "bool", site),), site)


@lnp_function
def logical_xor(x: Any, y: Any) -> Tracer:
    return not_equal(astype(x, bool), astype(y, bool))


@lnp_function
def positive(x: Any) -> Tracer:
    return _tracer(x)


@lnp_function
def reciprocal(x: Any) -> Tracer:
    return true_divide(1.0, x)


@lnp_function
def exp2(x: Any) -> Tracer:
    return exp(multiply(x, math.log(2.0)))


@lnp_function
def log2(x: Any) -> Tracer:
    return true_divide(log(x), math.log(2.0))


@lnp_function
def log10(x: Any) -> Tracer:
    return true_divide(log(x), math.log(10.0))


@lnp_function
def trunc(x: Any) -> Tracer:
    """Rounding toward zero: ``ceil`` below zero, ``floor`` elsewhere."""
    return where(less(x, 0), ceil(x), floor(x))


@lnp_function
def power(x: Any, y: Any) -> Tracer:
    """``x ** y``: an integral Python exponent is ``integer_pow``, any other ``pow``."""
    site = user_site()
    if isinstance(y, (int, float)) and not isinstance(y, bool) and float(y).is_integer() \
            and builtins.abs(y) <= 2**53:
        o = _operand(x)
        d = o.dtype
        if d == "bool" or (int(y) < 0 and _KIND[d] < 2):
            d = "f64" if int(y) < 0 else "i64"
        if isinstance(y, float) and _KIND[d] < 2:
            d = "f64"
        return _result(_emit("integer_pow", (_atom(o, d, site),), site, y=int(y)), o.weak)
    atoms, _, _ = _prepared((x, y), site, at_least="float")
    return _result(_emit("pow", atoms, site), _all_weak((x, y)))


@lnp_function
def remainder(x: Any, y: Any) -> Tracer:
    """NumPy's ``mod``: the sign of the divisor (``rem`` has the dividend's)."""
    r = fmod(x, y)
    fix = logical_and(not_equal(r, 0), not_equal(less(r, 0), less(y, 0)))
    return where(fix, add(r, y), r)


mod = remainder


@lnp_function
def floor_divide(x: Any, y: Any) -> Tracer:
    """Division rounded toward minus infinity (floats: ``floor(x / y)``)."""
    o = promote([_operand(x), _operand(y)])
    if _KIND[o] == 2:
        return floor(true_divide(x, y))
    q = _divide_integers(x, y)
    fix = logical_and(not_equal(fmod(x, y), 0), not_equal(less(x, 0), less(y, 0)))
    return where(fix, subtract(q, 1), q)


@lnp_function
def isnan(x: Any) -> Tracer:
    return not_equal(x, x)


@lnp_function
def isinf(x: Any) -> Tracer:
    return equal(absolute(x), np.inf)


@lnp_function
def isfinite(x: Any) -> Tracer:
    return less(absolute(x), np.inf)


@lnp_function
def where(condition: Any, x: Any, y: Any) -> Tracer:
    """``x`` where ``condition`` holds, else ``y`` (``select_n``), all broadcast."""
    site = user_site()
    c = _operand(condition)
    (xa, ya), _, shape = _prepared((x, y), site)
    shape = broadcast_shapes(c.shape, shape, site=site)
    pred = _atom(c, "bool", site) if c.dtype == "bool" else not_equal(condition, 0).atom
    pred = _broadcast(pred, shape, site)
    cases = [_broadcast(ya, shape, site), _broadcast(xa, shape, site)]
    return _emit("select_n", (pred, *cases), site)


@lnp_function
def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Tracer:
    """``a`` limited to ``[a_min, a_max]`` (``clamp``; one bound may be None)."""
    if a_min is None and a_max is None:
        raise LintraTypeError("clip needs a_min or a_max", program=str(user_site()))
    if a_min is None:
        return minimum(a, a_max)
    if a_max is None:
        return maximum(a, a_min)
    site = user_site()
    (lo, x, hi), _, shape = _prepared((a_min, a, a_max), site)
    x = _broadcast(x, shape, site)
    return _emit("clamp", (lo, x, hi), site)


# --------------------------------------------------------------------------------------------
# dtypes and constants


def dtype_name(dtype: Any) -> str:
    """The language name of a NumPy dtype, Python type or name (``float`` is f64)."""
    if isinstance(dtype, str) and dtype in _KIND:
        return dtype
    if dtype is float:
        return "f64"
    if dtype is int:
        return "i64"
    if dtype is bool:
        return "bool"
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    name = NUMPY_DTYPES.get(d) if d is not None else None
    if name is None:
        raise LintraTypeError(f"dtype {dtype!r} has no lintra counterpart (f64, f32, i64, "
                              "i32, bool)", program=str(user_site()))
    return name


@lnp_function
def astype(x: Any, dtype: Any) -> Tracer:
    site = user_site()
    o = _operand(x)
    return Tracer(_atom(o, dtype_name(dtype), site), _trace(), site)


@lnp_function
def asarray(a: Any, dtype: Any = None) -> Tracer:
    """``a`` as a traced array (a list of traced values is stacked)."""
    if isinstance(a, (list, tuple)):
        leaves = _flat_list(a)
        if any(type(v) is Tracer for v in leaves):
            out = stack([asarray(v) for v in a])
            return astype(out, dtype) if dtype is not None else out
    out = _tracer(a)
    return astype(out, dtype) if dtype is not None else out


array = asarray


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


@lnp_function
def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tracer:
    site = user_site()
    o = _operand(fill_value)
    d = dtype_name(dtype) if dtype is not None else o.dtype
    a = _atom(o, d, site)
    return _emit("broadcast_in_dim", (a,), site, shape=_shape(shape),
                 broadcast_dimensions=tuple(range(_shape(shape).__len__() - a.type.rank,
                                                  len(_shape(shape)))))


@lnp_function
def zeros(shape: Any, dtype: Any = float) -> Tracer:
    return full(shape, 0, dtype)


@lnp_function
def ones(shape: Any, dtype: Any = float) -> Tracer:
    return full(shape, 1, dtype)


empty = zeros


def _like_dtype(a: Any, dtype: Any) -> Any:
    return dtype if dtype is not None else LANGUAGE_DTYPES[_operand(a).dtype]


@lnp_function
def zeros_like(a: Any, dtype: Any = None) -> Tracer:
    return full(_operand(a).shape, 0, _like_dtype(a, dtype))


@lnp_function
def ones_like(a: Any, dtype: Any = None) -> Tracer:
    return full(_operand(a).shape, 1, _like_dtype(a, dtype))


@lnp_function
def full_like(a: Any, fill_value: Any, dtype: Any = None) -> Tracer:
    return full(_operand(a).shape, fill_value, _like_dtype(a, dtype))


@lnp_function
def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Tracer:
    """``start, start + step, ...`` below ``stop`` (static Python numbers)."""
    site = user_site()
    if stop is None:
        start, stop = 0, start
    n = builtins.max(0, math.ceil((stop - start) / step))
    ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    d = dtype_name(dtype) if dtype is not None else ("i64" if ints else "f64")
    out = _emit("iota", (), site, dtype=d if _KIND[d] else "i64", shape=(n,), dimension=0)
    if step != 1:
        out = multiply(out, step)
    if start != 0:
        out = add(out, start)
    return astype(out, d)


@lnp_function
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             dtype: Any = None) -> Tracer:
    """``num`` evenly spaced values; the last is ``stop`` exactly when ``endpoint``."""
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    out = add(multiply(arange(num, dtype="f64"), float(step)), float(start))
    if endpoint and num > 1:
        out = concatenate([out[:-1], full((1,), float(stop))])
    return astype(out, dtype) if dtype is not None else out


@lnp_function
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float) -> Tracer:
    site = user_site()
    shape = (N, N if M is None else M)
    rows = _emit("iota", (), site, dtype="i64", shape=shape, dimension=0)
    cols = _emit("iota", (), site, dtype="i64", shape=shape, dimension=1)
    return astype(equal(subtract(cols, rows), k), dtype)


@lnp_function
def identity(n: int, dtype: Any = float) -> Tracer:
    return eye(n, dtype=dtype)


@lnp_function
def stop_gradient(x: Any) -> Tracer:
    """``x``, with derivative zero (``stop_gradient``)."""
    site = user_site()
    t = _tracer(x, site)
    return _emit("stop_gradient", (t.atom,), site)


# --------------------------------------------------------------------------------------------
# Shapes


def _axis(axis: int, ndim: int, site: Site | None = None) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of bounds for an array of rank {ndim}",
                         program=str(site or user_site()))
    return axis % ndim


def _axes(axis: Any, ndim: int, site: Site | None = None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return (_axis(int(axis), ndim, site),)
    axes = tuple(_axis(int(a), ndim, site) for a in axis)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"repeated axis in {axis}", program=str(site or user_site()))
    return tuple(sorted(axes))


@lnp_function
def reshape(a: Any, newshape: Any, order: str = "C") -> Tracer:
    site = user_site()
    if order != "C":
        raise LintraTypeError("reshape is row-major only (order='C')", program=str(site))
    t = _tracer(a, site)
    shape = list(_shape(newshape))
    size = t.size
    if shape.count(-1) > 1:
        raise ShapeError("can only specify one unknown dimension", program=str(site))
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ShapeError(f"cannot reshape an array of size {size} into shape "
                             f"{tuple(newshape)}", program=str(site))
        shape[shape.index(-1)] = size // known
    if math.prod(shape) != size:
        raise ShapeError(f"cannot reshape an array of size {size} into shape {tuple(shape)}",
                         program=str(site))
    if tuple(shape) == t.shape:
        return t
    return _emit("reshape", (t.atom,), site, new_sizes=tuple(shape))


@lnp_function
def ravel(a: Any) -> Tracer:
    return reshape(a, (-1,))


@lnp_function
def transpose(a: Any, axes: Any = None) -> Tracer:
    site = user_site()
    t = _tracer(a, site)
    perm = tuple(reversed(range(t.ndim))) if axes is None else tuple(
        _axis(int(k), t.ndim, site) for k in axes)
    if sorted(perm) != list(range(t.ndim)):
        raise ShapeError(f"axes {axes} do not permute the {t.ndim} dimensions",
                         program=str(site))
    if perm == tuple(range(t.ndim)):
        return t
    return _emit("transpose", (t.atom,), site, permutation=perm)


@lnp_function
def swapaxes(a: Any, axis1: int, axis2: int) -> Tracer:
    t = _tracer(a)
    perm = list(range(t.ndim))
    i, j = _axis(axis1, t.ndim), _axis(axis2, t.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(t, perm)


@lnp_function
def moveaxis(a: Any, source: int, destination: int) -> Tracer:
    t = _tracer(a)
    s, d = _axis(source, t.ndim), _axis(destination, t.ndim)
    perm = [k for k in range(t.ndim) if k != s]
    perm.insert(d, s)
    return transpose(t, perm)


@lnp_function
def squeeze(a: Any, axis: Any = None) -> Tracer:
    site = user_site()
    t = _tracer(a, site)
    dims = tuple(k for k, n in enumerate(t.shape) if n == 1) if axis is None else _axes(
        axis, t.ndim, site)
    for k in dims:
        if t.shape[k] != 1:
            raise ShapeError(f"cannot squeeze axis {k} of size {t.shape[k]}",
                             program=str(site))
    if not dims:
        return t
    return reshape(t, tuple(n for k, n in enumerate(t.shape) if k not in dims))


@lnp_function
def expand_dims(a: Any, axis: Any) -> Tracer:
    t = _tracer(a)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    rank = t.ndim + len(axes)
    where_new = _axes(axes, rank)
    dims = iter(t.shape)
    return reshape(t, tuple(1 if k in where_new else next(dims) for k in range(rank)))


@lnp_function
def atleast_1d(a: Any) -> Tracer:
    t = _tracer(a)
    return reshape(t, (1,)) if t.ndim == 0 else t


@lnp_function
def atleast_2d(a: Any) -> Tracer:
    t = _tracer(a)
    return reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t


@lnp_function
def broadcast_to(a: Any, shape: Any) -> Tracer:
    site = user_site()
    t = _tracer(a, site)
    shape = _shape(shape)
    if broadcast_shapes(t.shape, shape, site=site) != shape:
        raise ShapeError(f"cannot broadcast {t.shape} to {shape}", program=str(site))
    return Tracer(_broadcast(t.atom, shape, site, keep_scalar=False), _trace(), site)


@lnp_function
def flip(m: Any, axis: Any = None) -> Tracer:
    site = user_site()
    t = _tracer(m, site)
    dims = _axes(axis, t.ndim, site)
    if not dims:
        return t
    return _emit("rev", (t.atom,), site, dimensions=dims)


@lnp_function
def concatenate(arrays: Sequence[Any], axis: int | None = 0) -> Tracer:
    site = user_site()
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    ops = [_operand(x) for x in arrays]
    if not ops:
        raise ShapeError("need at least one array to concatenate", program=str(site))
    d = promote(ops)
    atoms = [_atom(o, d, site) for o in ops]
    if atoms[0].type.rank == 0:
        raise ShapeError("zero-dimensional arrays cannot be concatenated", program=str(site))
    return _emit("concatenate", atoms, site, dimension=_axis(axis, atoms[0].type.rank, site))


@lnp_function
def stack(arrays: Sequence[Any], axis: int = 0) -> Tracer:
    ts = [_tracer(x) for x in arrays]
    if not ts:
        raise ShapeError("need at least one array to stack", program=str(user_site()))
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ShapeError(f"all input arrays must have the same shape, got {sorted(shapes)}",
                         program=str(user_site()))
    ax = _axis(axis, ts[0].ndim + 1)
    return concatenate([expand_dims(t, ax) for t in ts], axis=ax)


@lnp_function
def vstack(tup: Sequence[Any]) -> Tracer:
    return concatenate([atleast_2d(x) for x in tup], axis=0)


@lnp_function
def hstack(tup: Sequence[Any]) -> Tracer:
    ts = [atleast_1d(x) for x in tup]
    return concatenate(ts, axis=0 if ts[0].ndim == 1 else 1)


@lnp_function
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Tracer]:
    site = user_site()
    t = _tracer(ary, site)
    ax = _axis(axis, t.ndim, site)
    n = t.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ShapeError(f"array split does not result in an equal division ({n} into "
                             f"{k})", program=str(site))
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *(builtins.min(int(i), n) for i in indices_or_sections), n]
    return [_slice_axis(t, ax, builtins.min(a, b), b, site)
            for a, b in itertools.pairwise(bounds)]


def _slice_axis(t: Tracer, ax: int, start: int, stop: int, site: Site) -> Tracer:
    starts = [0] * t.ndim
    limits = list(t.shape)
    starts[ax], limits[ax] = start, stop
    return _emit("slice", (t.atom,), site, start=tuple(starts), limit=tuple(limits),
                 strides=(1,) * t.ndim)


# --------------------------------------------------------------------------------------------
# Indexing


@lnp_function
def getitem(x: Any, index: Any) -> Tracer:
    """``x[index]`` with static ints, slices (any step), ``None``, ``...``, integer arrays
    (static or traced, several broadcast together) and static boolean masks (their counts
    are known at trace time: a mask is the integer arrays of its ``nonzero()``). As in
    NumPy, the broadcast index dimensions replace the indexed ones where the array indices
    (integers among them) are adjacent in the index, and come first where they are not.
    Integer arrays become one ``gather`` along the indexed dimensions merged into one."""
    site = user_site()
    t = _tracer(x, site)
    items = _expanded_index(list(index) if isinstance(index, tuple) else [index], t, site)
    has_arrays = builtins.any(_is_index_array(i) for i in items)
    starts, limits, strides, reversed_dims = [], [], [], []
    layout: list[tuple[Any, ...]] = []  # per item: ("new",) ("slice", d) ("int", d) ("array", d, i)
    dim = 0
    for item in items:
        if item is None:
            layout.append(("new",))
            continue
        n = t.shape[dim]
        if isinstance(item, slice):
            lo, hi, step = item.indices(n)
            count = len(range(lo, hi, step))
            if step > 0:
                starts.append(lo)
                limits.append(lo + (count - 1) * step + 1 if count else lo)
                strides.append(step)
            else:
                reversed_dims.append(dim)
                first = n - 1 - lo
                starts.append(first)
                limits.append(first + (count - 1) * (-step) + 1 if count else first)
                strides.append(-step)
            layout.append(("slice", dim))
        elif _is_int(item) and not has_arrays:
            i = int(item)
            if not -n <= i < n:
                raise ShapeError(f"index {i} is out of bounds for axis {dim} with size {n}",
                                 program=str(site))
            i %= n
            starts.append(i)
            limits.append(i + 1)
            strides.append(1)
            layout.append(("int", dim))
        else:  # an integer array, or an int among arrays (a rank-0 array index)
            starts.append(0)
            limits.append(n)
            strides.append(1)
            layout.append(("array", dim, item))
        dim += 1
    out = t
    if reversed_dims:
        out = _emit("rev", (out.atom,), site, dimensions=tuple(reversed_dims))
    if (tuple(starts), tuple(limits)) != ((0,) * t.ndim, t.shape) or builtins.any(
            s != 1 for s in strides):
        out = _emit("slice", (out.atom,), site, start=tuple(starts), limit=tuple(limits),
                    strides=tuple(strides))
    sliced = out.shape
    if not has_arrays:
        shape = [1 if e[0] == "new" else sliced[e[1]] for e in layout if e[0] != "int"]
        return reshape(out, tuple(shape)) if tuple(shape) != out.shape else out
    arrays = [(pos, e) for pos, e in enumerate(layout) if e[0] == "array"]
    positions = [pos for pos, _ in arrays]
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    dims = [e[1] for _, e in arrays]
    flat, batch = _flat_index([e[2] for _, e in arrays], [t.shape[d] for d in dims], site)
    if not adjacent:
        out = transpose(out, dims + [d for d in range(out.ndim) if d not in dims])
    first = dims[0] if adjacent else 0
    merged = math.prod(out.shape[first:first + len(dims)])
    out = reshape(out, (*out.shape[:first], merged, *out.shape[first + len(dims):]))
    out = _emit("gather", (out.atom, _tracer(flat, site).atom), site, axis=first)
    shape: list[int] = [] if adjacent else list(batch)
    for e in layout:
        if e[0] == "new":
            shape.append(1)
        elif e[0] == "slice":
            shape.append(sliced[e[1]])
        elif adjacent and e[1] == dims[0]:
            shape.extend(batch)
    return reshape(out, tuple(shape)) if tuple(shape) != out.shape else out


_BASIC_INDEX = frozenset({slice, int, type(None), type(Ellipsis)})
"""Index items that hold no array (their ``==`` is Python's, so ``in`` on a list of them is
safe)."""


def _is_int(item: Any) -> bool:
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _is_index_array(item: Any) -> bool:
    return type(item) is Tracer or isinstance(item, (list, tuple, np.ndarray))


def _expanded_index(items: list[Any], t: Tracer, site: Site) -> list[Any]:
    """``items`` with the ellipsis spelled out as slices and each static boolean mask
    replaced by the integer arrays of its ``nonzero()`` (checked against the dimensions it
    covers); a traced mask or a Python bool is refused."""
    if builtins.all(type(i) in _BASIC_INDEX for i in items):  # the common case: no arrays
        used = builtins.sum(1 for i in items if i is not None and i is not Ellipsis)
        if used > t.ndim:
            raise ShapeError(f"too many indices for an array of rank {t.ndim}",
                             program=str(site))
        rest = [slice(None)] * (t.ndim - used)
        if Ellipsis not in items:
            return items + rest
        if items.count(Ellipsis) > 1:
            raise LintraTypeError("an index can only have a single ellipsis",
                                  program=str(site))
        k = items.index(Ellipsis)
        return items[:k] + rest + items[k + 1:]
    masks = {}
    for k, item in enumerate(items):
        if isinstance(item, (bool, np.bool_)):
            raise UnsupportedPrimitiveError("a Python bool as an index is not supported",
                                            program=str(site))
        if type(item) is Tracer and item.type.dtype == "bool":
            raise ConcretizationError(
                f"a traced boolean mask ({item.type}, made at {item.site}) selects a number "
                "of elements known only when the function runs, and array shapes must be "
                "known when it is traced: use a static (NumPy) mask, or lnp.where(mask, x, "
                "0) to keep the shape", program=str(site))
        if isinstance(item, (list, tuple, np.ndarray)) and type(item) is not Tracer:
            arr = np.asarray(item)
            if arr.dtype == np.bool_:
                masks[k] = arr
    if builtins.sum(1 for i in items if i is Ellipsis) > 1:
        raise LintraTypeError("an index can only have a single ellipsis", program=str(site))
    used = builtins.sum(masks[k].ndim if k in masks else 1 for k, i in enumerate(items)
                        if i is not None and i is not Ellipsis)
    if used > t.ndim:
        raise ShapeError(f"too many indices for an array of rank {t.ndim}", program=str(site))
    out: list[Any] = []
    dim = 0
    for k, item in enumerate(items):
        if item is Ellipsis:
            out += [slice(None)] * (t.ndim - used)
            dim += t.ndim - used
        elif k in masks:
            mask = masks[k]
            covered = t.shape[dim:dim + mask.ndim]
            if mask.shape != covered:
                raise ShapeError(f"a boolean mask of shape {mask.shape} does not match the "
                                 f"dimensions {covered} it indexes", program=str(site))
            out += list(np.nonzero(mask)) if mask.ndim else [np.nonzero(mask)[0]]
            dim += mask.ndim
        else:
            out.append(item)
            dim += item is not None
    if not builtins.any(i is Ellipsis for i in items):
        out += [slice(None)] * (t.ndim - used)
    return out


def _flat_index(indices: list[Any], sizes: list[int], site: Site
                ) -> tuple[Any, tuple[int, ...]]:
    """Integer index arrays into dimensions of ``sizes``, broadcast together, as one index
    into those dimensions merged (row-major): static ones combined in NumPy, traced ones by
    equations; with the broadcast shape."""
    parts = [_index_array(i, n, site) for i, n in zip(indices, sizes)]
    batch = broadcast_shapes(*(tuple(p.shape) for p in parts), site=site)
    flat: Any = None
    for k, p in enumerate(parts):
        stride = math.prod(sizes[k + 1:])
        term = p if stride == 1 else p * stride
        flat = term if flat is None else flat + term
    if tuple(flat.shape) != batch:
        flat = np.broadcast_to(flat, batch) if type(flat) is not Tracer else broadcast_to(
            flat, batch)
    return flat, batch


def _index_array(idx: Any, n: int, site: Site) -> Any:
    """An integer index into a dimension of size ``n``: a traced one as an i64 tracer (its
    values must lie in range), a static one as an i64 NumPy array, negative values
    wrapped (out of range refused)."""
    if type(idx) is Tracer:
        if idx.type.dtype not in ("i64", "i32"):
            raise LintraTypeError(f"an index array must be integer, got {idx.type}",
                                  program=str(site))
        return idx if idx.type.dtype == "i64" else astype(idx, "i64")
    arr = np.asarray(idx)
    if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
        raise LintraTypeError(f"an index array must be integer, got {arr.dtype}",
                              program=str(site))
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise ShapeError(f"an index is out of bounds for size {n}", program=str(site))
    return np.where(arr < 0, arr + n, arr).astype(np.int64)


@lnp_function
def take(a: Any, indices: Any, axis: int | None = None) -> Tracer:
    site = user_site()
    t = _tracer(a, site)
    if axis is None:
        t, axis = ravel(t), 0
    ax = _axis(axis, t.ndim, site)
    idx = _tracer(_index_array(indices, t.shape[ax], site), site)
    return _emit("gather", (t.atom, idx.atom), site, axis=ax)


# --------------------------------------------------------------------------------------------
# Reductions and scans


def _keep(out: Tracer, shape: tuple[int, ...], axes: tuple[int, ...],
          keepdims: bool) -> Tracer:
    if not keepdims:
        return out
    return reshape(out, tuple(1 if k in axes else n for k, n in enumerate(shape)))


def _accumulating(o: _Operand, dtype: Any) -> str:
    if dtype is not None:
        return dtype_name(dtype)
    return "i64" if o.dtype in ("bool", "i32") else o.dtype


@lnp_function
def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Tracer:
    site = user_site()
    o = _operand(a)
    d = _accumulating(o, dtype)
    x = _atom(o, d, site)
    axes = _axes(axis, len(o.shape), site)
    out = Tracer(x, _trace(), site) if not axes else _emit("reduce_sum", (x,), site, axes=axes)
    return _keep(out, o.shape, axes, keepdims)


@lnp_function
def mean(a: Any, axis: Any = None, keepdims: bool = False) -> Tracer:
    o = _operand(a)
    axes = _axes(axis, len(o.shape))
    count = math.prod(o.shape[k] for k in axes)
    x = astype(a, "f64") if _KIND[o.dtype] < 2 else a
    return true_divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def _extreme(prim: str) -> Callable[..., Tracer]:
    def extreme(a: Any, axis: Any = None, keepdims: bool = False) -> Tracer:
        site = user_site()
        t = _tracer(a, site)
        axes = _axes(axis, t.ndim, site)
        out = t if not axes else _emit(prim, (t.atom,), site, axes=axes)
        return _keep(out, t.shape, axes, keepdims)

    extreme.__name__ = prim
    extreme.__doc__ = f"``{prim}`` over ``axis`` (all axes by default)."
    return extreme


max = amax = lnp_function(_extreme("reduce_max"))
min = amin = lnp_function(_extreme("reduce_min"))


@lnp_function
def prod(a: Any, axis: Any = None, keepdims: bool = False) -> Tracer:
    """The product over ``axis``: the reduced axes moved last and flattened, the last
    element of their ``cumprod`` (the language has no product reduction)."""
    site = user_site()
    o = _operand(a)
    t = astype(a, _accumulating(o, None))
    axes = _axes(axis, t.ndim, site)
    kept = [k for k in range(t.ndim) if k not in axes]
    count = math.prod(t.shape[k] for k in axes)
    rest = tuple(t.shape[k] for k in kept)
    if count == 0:
        out = full(rest, 1, t.dtype)
    else:
        moved = reshape(transpose(t, kept + list(axes)), (*rest, count))
        scanned = _emit("cumprod", (moved.atom,), site, axis=len(rest))
        out = reshape(_slice_axis(scanned, len(rest), count - 1, count, site), rest)
    return _keep(out, t.shape, axes, keepdims)


@lnp_function
def var(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tracer:
    o = _operand(a)
    axes = _axes(axis, len(o.shape))
    count = math.prod(o.shape[k] for k in axes)
    d = subtract(a, mean(a, axis=axes, keepdims=True))
    return true_divide(sum(square(d), axis=axes, keepdims=keepdims), float(count - ddof))


@lnp_function
def std(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tracer:
    return sqrt(var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _arg(prim: str) -> Callable[..., Tracer]:
    def arg(a: Any, axis: int | None = None) -> Tracer:
        site = user_site()
        t = _tracer(a, site)
        if axis is None:
            t, axis = ravel(t), 0
        return _emit(prim, (t.atom,), site, axis=_axis(axis, t.ndim, site), index_dtype="i64")

    arg.__name__ = prim
    arg.__doc__ = f"``{prim}`` along ``axis`` (of the flattened array by default)."
    return arg


argmax = lnp_function(_arg("argmax"))
argmin = lnp_function(_arg("argmin"))


def _scan(prim: str) -> Callable[..., Tracer]:
    def scan(a: Any, axis: int | None = None) -> Tracer:
        site = user_site()
        o = _operand(a)
        t = astype(a, _accumulating(o, None))
        if axis is None:
            t, axis = ravel(t), 0
        return _emit(prim, (t.atom,), site, axis=_axis(axis, t.ndim, site))

    scan.__name__ = prim
    scan.__doc__ = f"``{prim}`` along ``axis`` (of the flattened array by default)."
    return scan


cumsum = lnp_function(_scan("cumsum"))
cumprod = lnp_function(_scan("cumprod"))


@lnp_function
def logsumexp(a: Any, axis: Any = None, keepdims: bool = False) -> Tracer:
    """``log(sum(exp(a)))`` without overflow: the largest element (held constant for
    differentiation, the result does not depend on it) is taken out first."""
    t = _tracer(a)
    if _KIND[t.type.dtype] < 2:
        t = astype(t, "f64")
    axes = _axes(axis, t.ndim)
    m = stop_gradient(max(t, axis=axes, keepdims=True))
    m = where(isfinite(m), m, 0.0)
    s = log(sum(exp(subtract(t, m)), axis=axes, keepdims=True))
    out = add(s, m)
    return out if keepdims else squeeze(out, axes) if axes else out


@lnp_function
def softmax(x: Any, axis: Any = -1) -> Tracer:
    """``exp(x) / sum(exp(x))`` along ``axis``, the largest element subtracted first."""
    t = _tracer(x)
    if _KIND[t.type.dtype] < 2:
        t = astype(t, "f64")
    m = stop_gradient(max(t, axis=axis, keepdims=True))
    ex = exp(subtract(t, where(isfinite(m), m, 0.0)))
    return true_divide(ex, sum(ex, axis=axis, keepdims=True))


@lnp_function
def log_softmax(x: Any, axis: Any = -1) -> Tracer:
    """``x - logsumexp(x)`` along ``axis``, computed from ``x - max(x)`` (as the largest
    element's shift is exact, no cancellation against a large logsumexp)."""
    t = _tracer(x)
    if _KIND[t.type.dtype] < 2:
        t = astype(t, "f64")
    m = stop_gradient(max(t, axis=axis, keepdims=True))
    shifted = subtract(t, where(isfinite(m), m, 0.0))
    return subtract(shifted, log(sum(exp(shifted), axis=axis, keepdims=True)))


# --------------------------------------------------------------------------------------------
# Contractions


def _contract(a: Any, b: Any, ca: Sequence[int], cb: Sequence[int],
              ba: Sequence[int] = (), bb: Sequence[int] = (),
              site: Site | None = None) -> Tracer:
    """``dot_general`` of ``a`` and ``b`` (promoted to one dtype): batch dimensions, then
    ``a``'s free ones, then ``b``'s."""
    site = site or user_site()
    ops = [_operand(a), _operand(b)]
    d = promote(ops)
    if d == "bool":
        d = "i64"
    x, y = (_atom(o, d, site) for o in ops)
    for i, j in zip(ca, cb):
        if x.type.shape[i] != y.type.shape[j]:
            raise ShapeError(f"shapes {x.type.shape} and {y.type.shape} not aligned: "
                             f"dimension {i} ({x.type.shape[i]}) != dimension {j} "
                             f"({y.type.shape[j]})", program=str(site))
    return _emit("dot_general", (x, y), site,
                 contracting_dims=(tuple(ca), tuple(cb)), batch_dims=(tuple(ba), tuple(bb)))


@lnp_function
def matmul(a: Any, b: Any) -> Tracer:
    """NumPy's ``@``: stacks of matrices, their leading dimensions broadcast."""
    site = user_site()
    x, y = _tracer(a, site), _tracer(b, site)
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError("matmul: an operand is rank 0 (use * for scaling)", program=str(site))
    if x.ndim == 1 or y.ndim == 1:
        return _contract(x, y, (x.ndim - 1,), (builtins.max(y.ndim - 2, 0),), site=site)
    batch = broadcast_shapes(x.shape[:-2], y.shape[:-2], site=site)
    x = Tracer(_broadcast(x.atom, batch + x.shape[-2:], site, False), _trace(), site)
    y = Tracer(_broadcast(y.atom, batch + y.shape[-2:], site, False), _trace(), site)
    nb = len(batch)
    dims = tuple(range(nb))
    return _contract(x, y, (nb + 1,), (nb,), dims, dims, site=site)


@lnp_function
def dot(a: Any, b: Any) -> Tracer:
    """NumPy's ``dot``: the last axis of ``a`` with the second-to-last of ``b``."""
    site = user_site()
    x, y = _tracer(a, site), _tracer(b, site)
    if x.ndim == 0 or y.ndim == 0:
        return multiply(x, y)
    return _contract(x, y, (x.ndim - 1,), (builtins.max(y.ndim - 2, 0),), site=site)


@lnp_function
def inner(a: Any, b: Any) -> Tracer:
    site = user_site()
    x, y = _tracer(a, site), _tracer(b, site)
    if x.ndim == 0 or y.ndim == 0:
        return multiply(x, y)
    return _contract(x, y, (x.ndim - 1,), (y.ndim - 1,), site=site)


@lnp_function
def outer(a: Any, b: Any) -> Tracer:
    return _contract(ravel(a), ravel(b), (), ())


@lnp_function
def tensordot(a: Any, b: Any, axes: Any = 2) -> Tracer:
    x, y = _tracer(a), _tracer(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ca, cb = tuple(range(x.ndim - n, x.ndim)), tuple(range(n))
    else:
        ca_, cb_ = axes
        ca = (ca_,) if isinstance(ca_, (int, np.integer)) else tuple(ca_)
        cb = (cb_,) if isinstance(cb_, (int, np.integer)) else tuple(cb_)
        ca = tuple(_axis(k, x.ndim) for k in ca)
        cb = tuple(_axis(k, y.ndim) for k in cb)
    return _contract(x, y, ca, cb)


@lnp_function
def einsum(subscripts: str, *operands: Any) -> Tracer:
    """Einstein summation over one or more operands, with ``...`` (broadcast dimensions,
    NumPy's rule) and repeated indices within one operand (a diagonal, taken by a gather
    on the repeated dimensions merged): pairwise ``dot_general`` from the left, indices no
    later operand or the result needs summed first."""
    site = user_site()
    spec = subscripts.replace(" ", "")
    lhs, out = spec.split("->") if "->" in spec else (spec, None)
    specs = lhs.split(",")
    if len(specs) != len(operands):
        raise LintraTypeError(f"einsum: {len(specs)} operand subscripts for "
                              f"{len(operands)} operands", program=str(site))
    tracers = [_tracer(x, site) for x in operands]
    if "..." in spec:
        specs, out, tracers = _einsum_ellipsis(specs, out, tracers, site)
    if out is None:
        counts = {c: lhs.count(c) for c in lhs if c.isalpha()}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    for k, (s, t) in enumerate(zip(specs, tracers)):
        if len(s) != t.ndim:
            raise ShapeError(f"einsum: subscripts {s!r} for an operand of rank {t.ndim}",
                             program=str(site))
        if len(set(s)) != len(s):
            specs[k], tracers[k] = _einsum_diagonal(s, t, site)
    operands = tuple(tracers)
    sizes: dict[str, int] = {}
    terms: list[tuple[Tracer, str]] = []
    for s, t in zip(specs, operands):
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: index {c} has sizes {sizes[c]} and {n}",
                                 program=str(site))
        terms.append((t, s))
    if set(out) - set(sizes) or len(set(out)) != len(out):
        raise LintraTypeError(f"einsum: bad output subscripts {out!r}", program=str(site))
    for k, (t, s) in enumerate(terms):  # indices only this operand has, and not kept
        elsewhere = set(out).union(*(o for j, (_, o) in enumerate(terms) if j != k))
        gone = [i for i, c in enumerate(s) if c not in elsewhere]
        if gone:
            terms[k] = (sum(t, axis=tuple(gone)), "".join(c for c in s if c in elsewhere))
    while len(terms) > 1:
        (x, sx), (y, sy) = terms[0], terms[1]
        needed = set(out).union(*(o for _, o in terms[2:]))
        shared = [c for c in sx if c in sy]
        batch = [c for c in shared if c in needed]
        contract = [c for c in shared if c not in needed]
        r = _contract(x, y, [sx.index(c) for c in contract], [sy.index(c) for c in contract],
                      [sx.index(c) for c in batch], [sy.index(c) for c in batch], site=site)
        rs = "".join(batch) + "".join(c for c in sx if c not in shared) + "".join(
            c for c in sy if c not in shared)
        terms = [(r, rs), *terms[2:]]
    t, s = terms[0]
    gone = tuple(i for i, c in enumerate(s) if c not in out)
    if gone:
        t, s = sum(t, axis=gone), "".join(c for c in s if c in out)
    return transpose(t, [s.index(c) for c in out]) if s != out else t


def _einsum_ellipsis(specs: list[str], out: str | None, tracers: list[Tracer], site: Site
                     ) -> tuple[list[str], str, list[Tracer]]:
    """``...`` spelled out with letters the subscripts do not use, the operands' ellipsis
    dimensions broadcast together (right-aligned, NumPy's rule); an implicit output puts
    them first, then the indices used once, sorted."""
    used = set("".join(specs) + (out or ""))
    ranks = []
    for s, t in zip(specs, tracers):
        if s.count("...") > 1 or (s.replace("...", "") != s.replace(".", "")):
            raise LintraTypeError(f"einsum: bad subscripts {s!r}", program=str(site))
        ranks.append(t.ndim - (len(s) - 3) if "..." in s else 0)
        if ranks[-1] < 0:
            raise ShapeError(f"einsum: subscripts {s!r} for an operand of rank {t.ndim}",
                             program=str(site))
    rank = builtins.max(ranks)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    if len(free) < rank:
        raise LintraTypeError("einsum: too many dimensions under '...'", program=str(site))
    letters = "".join(free[:rank])
    shapes = [t.shape[s.index("..."):s.index("...") + r] if "..." in s else ()
              for s, t, r in zip(specs, tracers, ranks)]
    common = broadcast_shapes(*shapes, site=site)
    new_specs, new_tracers = [], []
    for s, t, r, shape in zip(specs, tracers, ranks, shapes):
        if "..." in s:
            at = s.index("...")
            wanted = common[rank - r:]
            if shape != wanted:
                t = broadcast_to(t, t.shape[:at] + wanted + t.shape[at + r:])
            s = s.replace("...", letters[rank - r:])
        new_specs.append(s)
        new_tracers.append(t)
    if out is None:
        joined = "".join(new_specs)
        out = letters + "".join(sorted(c for c in set(joined) if c not in letters
                                       and joined.count(c) == 1))
    elif "..." in out:
        out = out.replace("...", letters)
    elif rank:
        raise LintraTypeError("einsum: the operands have dimensions under '...' but the "
                              "output names none ('...' missing)", program=str(site))
    return new_specs, out, new_tracers


def _einsum_diagonal(s: str, t: Tracer, site: Site) -> tuple[str, Tracer]:
    """An operand with an index repeated (``'ii'``) as its diagonal: the repeated
    dimensions moved last, merged, and the diagonal's positions gathered."""
    for c in dict.fromkeys(s):
        where_c = [k for k, d in enumerate(s) if d == c]
        if len(where_c) < 2:
            continue
        sizes = {t.shape[k] for k in where_c}
        if len(sizes) != 1:
            raise ShapeError(f"einsum: index {c} has sizes {sorted(sizes)} in {s!r}",
                             program=str(site))
        (n,) = sizes
        rest = [k for k in range(len(s)) if k not in where_c]
        moved = transpose(t, rest + where_c)
        merged = reshape(moved, (*tuple(t.shape[k] for k in rest), n ** len(where_c)))
        step = builtins.sum(n ** k for k in range(len(where_c)))
        t = take(merged, np.arange(n, dtype=np.int64) * step, axis=len(rest))
        s = "".join(s[k] for k in rest) + c
    return s, t


@lnp_function
def trace(a: Any) -> Tracer:
    """The sum of a matrix's diagonal."""
    t = _tracer(a)
    if t.ndim != 2:
        raise UnsupportedPrimitiveError("trace of a non-matrix is not supported",
                                        program=str(user_site()))
    return sum(multiply(t, eye(*t.shape, dtype=t.dtype)))


# --------------------------------------------------------------------------------------------
# NumPy calling in: ufuncs and array functions on tracers, unknown names

_UFUNC_NAMES = {"absolute": "absolute", "divide": "true_divide", "bitwise_not": "logical_not",
                "invert": "logical_not", "bitwise_and": "logical_and",
                "bitwise_or": "logical_or"}


def apply_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``np.sin(tracer)``, ``array * tracer``: the lnp function of the same name."""
    name = _UFUNC_NAMES.get(ufunc.__name__, ufunc.__name__)
    fn = globals().get(name)
    if method != "__call__" or kwargs or fn is None or not callable(fn):
        raise _unknown(f"{ufunc.__name__}" + ("" if method == "__call__" else f".{method}"))
    return fn(*inputs)


def apply_array_function(func: Any, args: tuple, kwargs: dict) -> Any:
    """``np.sum(tracer)`` and other NumPy functions on tracers: the lnp function."""
    fn = globals().get(func.__name__)
    if fn is None or not callable(fn) or func.__name__.startswith("_"):
        raise _unknown(func.__name__)
    return fn(*args, **kwargs)


def _public_names() -> list[str]:
    return [n for n, v in globals().items() if not n.startswith("_") and callable(v)
            and n not in _NOT_FUNCTIONS]


_NOT_FUNCTIONS = {"lnp_function", "apply_ufunc", "apply_array_function", "annotations",
                  "dtype_name", "promote", "broadcast_shapes", "abs_gap", "Any",
                  "Callable", "Sequence", "UnknownFunctionError"}


def _unknown(name: str) -> UnknownFunctionError:
    close = difflib.get_close_matches(name, _public_names(), n=1, cutoff=0.5)
    hint = f"; the closest is lnp.{close[0]}" if close else ""
    return UnknownFunctionError(f"lintra.optimized.numpy has no function {name!r}{hint}",
                                program=str(user_site()))


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise _unknown(name)
