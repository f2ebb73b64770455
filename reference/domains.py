"""Number domains in which the reference evaluates programs (spec 3.0.1).

* :class:`Float64Domain`: each value is a NumPy array of its declared dtype (f64, f32, i64,
  i32, bool); float operations round as NumPy does for that dtype.
* :class:`MpDomain`: float values are NumPy object arrays of mpmath numbers of a
  :class:`BoundedContext` at the requested number of decimal digits; integer and boolean
  values stay exact NumPy arrays. Float widths are not modelled: f32 and f64 both denote real
  numbers, so the mp evaluation is the mathematical value the float64 one approximates,
  within the exponent range ``2^-4096 <= |v| < 2^4096`` (:data:`EXPONENT_LIMIT`): beyond it a
  value is ±inf or 0, as float64's overflow and underflow say, so every evaluation ends
  quickly (``sin(exp(exp(exp(3))))`` would otherwise reduce an argument of 10^8 digits).

A domain is created per evaluation; ``mpmath.mp`` is never read or changed. The contexts are
shared, one per precision (:func:`context`): creating one costs about a millisecond, more
than most evaluations, and a context is never changed after it is made.
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np
from mpmath.libmp import dps_to_prec

from lintra.reference.errors import LintraTypeError
from lintra.reference.syntax import ArrayType, DType, LiteralValue

EXPONENT_LIMIT = 4096
"""The mpmath domain's exponent range (spec 3.0.1): a finite non-zero value has
``2^-4096 <= |v| < 2^4096``; a result beyond it is ±inf (too large) or 0 (too small)."""

_EXP_ARGUMENT_LIMIT = 4096
"""Beyond this |x|, ``exp(x)`` (and ``expm1``, ``sinh``, ``cosh``) lies outside the range
(4096 > 4096 ln 2): the guards answer without computing the huge value."""


def indices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every index of an array of ``shape`` in row-major order: ``np.ndindex``, except that
    an empty shape yields nothing at once (``np.ndindex`` builds a range the size of the
    product of the other dimensions, gigabytes for ``f64[0, 2147483648]``)."""
    return iter(()) if 0 in shape else np.ndindex(shape)


def within_range(ctx: mpmath.MPContext, v: object) -> object:
    """``v`` with the exponent range applied: ±inf at or beyond ``2^4096`` in magnitude, 0
    below ``2^-4096``; anything else (other values, integers, booleans) is returned as is."""
    mpf_value = getattr(v, "_mpf_", None)
    if mpf_value is None:
        return v
    sign, man, exp, bc = mpf_value
    if not man:  # zero, inf, nan
        return v
    if exp + bc > EXPONENT_LIMIT:  # |v| >= 2^(exp + bc - 1) >= 2^4096
        return ctx.ninf if sign else ctx.inf
    if exp + bc <= -EXPONENT_LIMIT:  # |v| < 2^(exp + bc) <= 2^-4096
        return ctx.zero
    return v


_SATURATED = {"exp": ("inf", "zero"), "expm1": ("inf", "minus_one"), "sinh": ("inf", "ninf"),
              "cosh": ("inf", "inf")}
"""The exponentially growing functions of one argument and their values, by the range,
for ``x > 4096`` and ``x < -4096``: names of :class:`BoundedContext` constants."""


class BoundedContext(mpmath.MPContext):
    """An mpmath context at a fixed precision whose exponential functions (``exp``,
    ``expm1``, ``sinh``, ``cosh``, ``power``) give results within the exponent range, and
    answer ±inf, 0 or -1 without computing where their value lies beyond it by a margin:
    mpmath would spend seconds to hours, or raise ``OverflowError`` or ``MemoryError``,
    building a number that the range turns into an infinity anyway. Every other function
    meets only arguments within the range (the domain keeps values there), where mpmath is
    quick."""

    def __init__(self, dps: int, rounding: str = "n") -> None:
        super().__init__()
        self.dps = dps
        self._prec_rounding[1] = rounding
        self.minus_one = self.mpf(-1)
        for name, (above, below) in _SATURATED.items():
            setattr(self, name, self._saturating(getattr(self, name), getattr(self, above),
                                                 getattr(self, below)))
        self.power = self._bounded_power(self.power)

    def _saturating(self, fn: Callable[..., object], above: object, below: object
                    ) -> Callable[..., object]:
        """``fn`` answering ``above`` for arguments beyond 4096, ``below`` beyond -4096."""

        def bounded(x: object, **kw: object) -> object:
            if isinstance(x, self.mpf) and not self.isnan(x):
                if x > _EXP_ARGUMENT_LIMIT:
                    return above
                if x < -_EXP_ARGUMENT_LIMIT:
                    return below
            return within_range(self, fn(x, **kw))

        bounded.__name__ = f"bounded_{getattr(fn, '__name__', 'function')}"
        return bounded

    def _bounded_power(self, power: Callable[..., object]) -> Callable[..., object]:
        """``power`` answering ±inf or 0 where ``|x|^y`` lies far beyond the range."""

        def bounded_power(x: object, y: object) -> object:
            side = _power_side(self, x, y)
            if not side:
                return within_range(self, power(x, y))
            if side < 0:
                return self.zero
            odd = x < 0 and int(y) % 2 == 1  # x < 0 only with an integer y (_power_side)
            return self.ninf if odd else self.inf

        return bounded_power


def _power_side(ctx: mpmath.MPContext, x: object, y: object) -> int:
    """Whether ``|x|^y`` lies far beyond the range: +1 above ``2^(4096 + 4)``, -1 below
    ``2^-(4096 + 4)``, 0 when it may be within (computed then, and rounded by the range).
    Estimated in binary floats from ``y · log2|x|``, whose relative error (about 2^-50) is
    far inside the margin of 4 in the exponent. ``y`` may be a Python integer (an integral
    exponent, as the ``pow`` rule passes one)."""
    if isinstance(y, int) and not isinstance(y, bool):
        y = ctx.mpf(y)
    if not (isinstance(x, ctx.mpf) and isinstance(y, ctx.mpf)):
        return 0
    if not (ctx.isfinite(x) and ctx.isfinite(y)) or x == 0 or abs(x) == 1 or y == 0:
        return 0
    if x < 0 and y != ctx.floor(y):
        return 0  # no real power: the caller's rule decides
    _, man, exp, _ = x._mpf_  # type: ignore[attr-defined]
    log2 = math.log2(man) + exp
    if log2 == 0:  # |x| within 2^-50 of 1: log2 lost in the sum, compute at leisure
        return 0
    scaled = float(y) * log2
    limit = EXPONENT_LIMIT + 4
    return (scaled > limit) - (scaled < -limit)


_CONTEXTS = threading.local()
"""Per thread, the contexts made so far by precision (see :func:`context`)."""


ROUNDINGS = ("n", "f", "c")
"""mpmath's rounding directions the domain offers: to nearest (the default), toward -inf
(floor), toward +inf (ceiling). Evaluations in opposite directions expose lost digits where
two precisions in the same direction agree by accident (an absorbed term, an exact zero):
see ``lintra.conformance.truth``."""


def context(dps: int, rounding: str = "n") -> BoundedContext:
    """The :class:`BoundedContext` at ``dps`` digits rounding in direction ``rounding``
    (:data:`ROUNDINGS`), made once per thread and reused.

    Sharing is safe because nothing changes a context after it is made: the domain never
    sets its precision, and mpmath's own functions that raise it for guard digits restore it
    on return. A context found at another precision (an interrupted mpmath call that could
    not restore it) is replaced, never used. Per thread, so that no two threads share one.
    """
    made: dict[tuple[int, str], BoundedContext] | None = getattr(_CONTEXTS, "made", None)
    if made is None:
        made = {}
        _CONTEXTS.made = made
    ctx = made.get((dps, rounding))
    if ctx is None or ctx._prec_rounding != [dps_to_prec(dps), rounding]:
        ctx = BoundedContext(dps, rounding)
        made[dps, rounding] = ctx
    return ctx


class Domain(abc.ABC):
    """Interface shared by the two number domains."""

    name: str
    is_mp: bool

    @abc.abstractmethod
    def literal(self, value: LiteralValue, dtype: DType) -> np.ndarray:
        """A rank-0 array holding a literal converted to ``dtype``."""

    def full(self, t: ArrayType, value: LiteralValue) -> np.ndarray:
        """An array of type ``t`` filled with ``value``."""
        return np.broadcast_to(self.literal(value, t.dtype), t.shape).copy()

    def zeros(self, t: ArrayType) -> np.ndarray:
        return self.full(t, False if t.dtype is DType.bool else 0)

    @abc.abstractmethod
    def argument(self, value: object, t: ArrayType) -> np.ndarray:
        """Convert a user-supplied argument to a value of type ``t`` (shape checked by caller)."""

    @abc.abstractmethod
    def is_float_array(self, x: np.ndarray) -> bool:
        """Whether ``x`` holds float values of this domain."""


def _float_argument(value: object, t: ArrayType) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object:
        arr = np.vectorize(float, otypes=[np.float64])(arr) if arr.size else arr.astype(np.float64)
    if arr.dtype.kind not in "fiub":
        raise LintraTypeError(f"expected numbers for {t}, got an array of {arr.dtype}")
    return arr


def _exact_argument(value: object, t: ArrayType) -> np.ndarray:
    """Integer or boolean argument: no rounding, no wrapping, no truncation of fractions."""
    arr = np.asarray(value)
    if t.dtype is DType.bool:
        if arr.dtype.kind != "b":
            raise LintraTypeError(f"expected booleans for {t}, got an array of {arr.dtype}")
        return arr.astype(np.bool_)
    integral_floats = arr.dtype.kind == "f" and bool(
        np.all(np.isfinite(arr)) and np.all(arr == np.trunc(arr))
    )
    if arr.dtype.kind not in "iu" and not integral_floats:
        raise LintraTypeError(f"expected integers for {t}, got an array of {arr.dtype}")
    info = np.iinfo(t.dtype.numpy)
    if arr.size and (np.min(arr) < info.min or np.max(arr) > info.max):
        raise LintraTypeError(f"integer argument out of range for {t.dtype}")
    return arr.astype(t.dtype.numpy)


@dataclass(frozen=True)
class Float64Domain(Domain):
    """IEEE binary64/binary32 evaluation with NumPy."""

    name: str = "float64"
    is_mp: bool = False

    def literal(self, value: LiteralValue, dtype: DType) -> np.ndarray:
        return np.asarray(_literal_in(value, dtype))

    def argument(self, value: object, t: ArrayType) -> np.ndarray:
        if t.dtype.is_float:
            return _float_argument(value, t).astype(t.dtype.numpy)
        return _exact_argument(value, t)

    def is_float_array(self, x: np.ndarray) -> bool:
        return x.dtype.kind == "f"


@dataclass(frozen=True)
class MpDomain(Domain):
    """Evaluation with mpmath at ``dps`` decimal digits within the exponent range, rounding
    to nearest (or toward ``rounding``, :data:`ROUNDINGS`)."""

    dps: int = 50
    name: str = "mpmath"
    is_mp: bool = True
    rounding: str = "n"
    ctx: BoundedContext = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dps, int) or isinstance(self.dps, bool) or self.dps < 1:
            raise LintraTypeError(f"dps must be a positive integer, got {self.dps!r}")
        if self.rounding not in ROUNDINGS:
            raise LintraTypeError(f"rounding must be one of {ROUNDINGS}, got {self.rounding!r}")
        object.__setattr__(self, "ctx", context(self.dps, self.rounding))

    def mpf(self, value: object) -> object:
        """An mpmath number of this domain within the exponent range; binary floats convert
        exactly, strings at ``dps``."""
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        return within_range(self.ctx, self.ctx.mpf(value))

    def within_range(self, x: np.ndarray) -> np.ndarray:
        """A float value (object array) with the exponent range applied to each element; the
        array itself when no element is beyond the range."""
        ctx = self.ctx
        arr = np.asarray(x, dtype=object)
        flat = arr.ravel().tolist()  # flat: indexing by index tuples costs more than the test
        out = None
        for k, v in enumerate(flat):
            r = within_range(ctx, v)
            if r is not v:
                if out is None:
                    out = np.array(arr, dtype=object, copy=True).reshape(-1)
                out[k] = r
        return x if out is None else out.reshape(arr.shape)

    def literal(self, value: LiteralValue, dtype: DType) -> np.ndarray:
        if dtype.is_float:
            out = np.empty((), dtype=object)
            out[()] = self.mpf(_literal_in(value, dtype).item())  # E-Lit: rounded
            return out
        return np.asarray(value, dtype=dtype.numpy)

    def argument(self, value: object, t: ArrayType) -> np.ndarray:
        if not t.dtype.is_float:
            return _exact_argument(value, t)
        arr = np.asarray(value)
        if arr.dtype.kind in "SU":  # decimal strings: the reals they denote
            arr = arr.astype(object)
        if arr.dtype != object:
            if arr.dtype.kind not in "fiub":
                raise LintraTypeError(f"expected numbers for {t}, got an array of {arr.dtype}")
            arr = arr.astype(t.dtype.numpy).astype(object)  # E-Args: rounded to the dtype
        return self.map(self.mpf, arr)

    def map(self, fn: Callable[..., object], *xs: np.ndarray) -> np.ndarray:
        """Apply a scalar function elementwise to (broadcast) object arrays; its results are
        put within the exponent range."""
        arrays = [np.asarray(x, dtype=object) for x in xs]
        shape = arrays[0].shape
        if len(arrays) > 1 and any(a.shape != shape for a in arrays):
            arrays = np.broadcast_arrays(*arrays)  # only where the shapes differ: it costs
            shape = arrays[0].shape  # more than the elements of most calls
        # Walked as flat lists: indexing an object array by index tuples (np.ndindex) costs
        # more than most scalar functions; an empty array gives empty lists at once.
        columns = [a.ravel().tolist() for a in arrays]
        out = np.empty(len(columns[0]), dtype=object)
        ctx = self.ctx
        for k, args in enumerate(zip(*columns)):
            out[k] = within_range(ctx, fn(*args))
        return out.reshape(shape)

    def is_float_array(self, x: np.ndarray) -> bool:
        return x.dtype == object


def domain_for(dps: int | None) -> Domain:
    """The float64 domain for ``dps=None``, else an mpmath domain at ``dps`` digits."""
    return Float64Domain() if dps is None else MpDomain(dps)


def to_float64(x: np.ndarray, dtype: DType) -> np.ndarray:
    """Round a value of either domain to its declared NumPy dtype (nearest, ties to even)."""
    if x.dtype == object:
        if not x.size:
            return np.zeros(x.shape, dtype.numpy)
        with np.errstate(invalid="ignore", over="ignore"):
            if dtype is DType.f32:
                return np.vectorize(_nearest_f32, otypes=[np.float32])(x)
            return np.vectorize(float, otypes=[np.float64])(x).astype(dtype.numpy)
    return x.astype(dtype.numpy)


def _literal_in(value: LiteralValue, dtype: DType) -> np.generic:
    """E-Lit: a literal as a scalar of ``dtype``, rounded once: an integer literal of an f32
    position rounds straight to float32 (through float64 it can round twice and land on
    the other neighbour, 2^100 + 2^76 + 1 on 2^100 instead of 2^100 + 2^77)."""
    if dtype is DType.f32 and type(value) is int:
        return _nearest_f32(value)
    return np.asarray(value, dtype=dtype.numpy)[()]


def _nearest_f32(v: object) -> np.float32:
    """The float32 nearest the real ``v`` (an mpmath number or a Python number), ties to
    even, rounded once: through float64 the result can differ when ``v`` rounds to a float64
    exactly halfway between two float32 neighbours (then ``v`` itself decides the side)."""
    f = float(v)  # type: ignore[arg-type]
    with np.errstate(over="ignore"):  # beyond the range: inf, and decided below
        c = np.float32(f)
    if not math.isfinite(f) or float(c) == f:
        return c
    n = np.nextafter(c, np.float32(math.copysign(math.inf, f - float(c))))

    def value(a: np.float32) -> Fraction:  # float32 infinities stand for ±2^128 here
        return Fraction(math.copysign(2.0**128, a)) if math.isinf(a) else Fraction(float(a))

    midpoint = (value(c) + value(n)) / 2
    if Fraction(f) != midpoint:
        return c  # float64 rounding kept v on the side of the float32 it is nearest to
    exact = _exact_fraction(v)
    if exact == midpoint:
        return c  # a true tie: NumPy's cast already chose the even one
    upper = max(c, n, key=value)
    lower = min(c, n, key=value)
    return upper if exact > midpoint else lower


def _exact_fraction(v: object) -> Fraction:
    """The exact rational value of a finite mpmath or Python number."""
    if isinstance(v, (int, float, Fraction)):
        return Fraction(v)
    man, exp = v.man_exp  # type: ignore[attr-defined]  # an mpf: man * 2^exp exactly
    return Fraction(man) * (Fraction(2) ** exp)
