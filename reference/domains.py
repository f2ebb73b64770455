"""Number domains in which the reference evaluates programs (spec 3.1).

* :class:`Float64Domain`: each value is a NumPy array of its declared dtype (f64, f32, i64,
  i32, bool); float operations round as NumPy does for that dtype.
* :class:`MpDomain`: float values are NumPy object arrays of mpmath numbers of a private
  :class:`mpmath.MPContext` at the requested number of decimal digits; integer and boolean
  values stay exact NumPy arrays. Float widths are not modelled: f32 and f64 both denote real
  numbers, so the mp evaluation is the mathematical value the float64 one approximates.

A domain is created per evaluation; nothing global is ever changed (the mpmath context is
local to the domain object, never ``mpmath.mp``).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from lintra.reference.errors import LintraTypeError
from lintra.reference.syntax import ArrayType, DType, LiteralValue


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
        return np.asarray(value, dtype=dtype.numpy)

    def argument(self, value: object, t: ArrayType) -> np.ndarray:
        if t.dtype.is_float:
            return _float_argument(value, t).astype(t.dtype.numpy)
        return _exact_argument(value, t)

    def is_float_array(self, x: np.ndarray) -> bool:
        return x.dtype.kind == "f"


@dataclass(frozen=True)
class MpDomain(Domain):
    """Evaluation with mpmath at ``dps`` decimal digits, in a context of its own."""

    dps: int = 50
    name: str = "mpmath"
    is_mp: bool = True
    ctx: mpmath.MPContext = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dps, int) or isinstance(self.dps, bool) or self.dps < 1:
            raise LintraTypeError(f"dps must be a positive integer, got {self.dps!r}")
        ctx = mpmath.MPContext()
        ctx.dps = self.dps
        object.__setattr__(self, "ctx", ctx)

    def mpf(self, value: object) -> object:
        """An mpmath number of this domain; binary floats convert exactly, strings at ``dps``."""
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        return self.ctx.mpf(value)

    def literal(self, value: LiteralValue, dtype: DType) -> np.ndarray:
        if dtype.is_float:
            out = np.empty((), dtype=object)
            out[()] = self.mpf(np.asarray(value, dtype=dtype.numpy).item())  # E-Lit: rounded
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
        """Apply a scalar function elementwise to (broadcast) object arrays."""
        xs = np.broadcast_arrays(*[np.asarray(x, dtype=object) for x in xs])
        out = np.empty(xs[0].shape, dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = fn(*(x[index] for x in xs))
        return out

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


def _nearest_f32(v: object) -> np.float32:
    """The float32 nearest the real ``v`` (an mpmath number or a Python number), ties to
    even, rounded once: through float64 the result can differ when ``v`` rounds to a float64
    exactly halfway between two float32 neighbours (then ``v`` itself decides the side)."""
    f = float(v)  # type: ignore[arg-type]
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
