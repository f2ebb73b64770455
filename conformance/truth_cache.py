"""A disk cache of the truth of a case (spec 7.8): mpmath values, bounds, oracle estimates.

The truth of a case depends on the case alone (its program, inputs, tangents, cotangents,
precision), never on the backend checked against it, so a second backend, or a second run,
can read it instead of recomputing it. :func:`cached` wraps a public function of the
analysis or the oracle: its result is stored under a key made of

* the quantity (the function's module and name),
* every argument, exactly: program text, arrays by dtype, shape and raw bytes (binary
  floats by their bits, never by a decimal rounding), mpmath numbers by their binary value,
  Python floats by ``float.hex``, the precision and any other parameter,
* the lintra version, and a fingerprint of the source of the code that computes truths
  (``lintra.reference`` and the conformance modules that compute or cache them) and of the
  mpmath version: a cache is never trusted across versions, nor after any change of that
  code, released or not. The fingerprint sees files, not objects: a process that replaces
  the reference's rules at run time (a test's monkeypatch) must turn the cache off, as the
  test suite does for all its tests.

Where: ``$LINTRA_TRUTH_CACHE`` if set (``off``, ``0``, ``false`` or ``no`` disables the cache,
anything else is the directory to use), else ``$XDG_CACHE_HOME/lintra/truth``, else
``~/.cache/lintra/truth``. Each entry is one file, written to a temporary name in the same
directory and renamed into place (atomic on POSIX and Windows), so concurrent writers never
expose a partial entry; an unreadable entry is treated as missing and recomputed. Entries
are pickles: the directory must be the user's own, as any cache of Python objects must.

mpmath numbers are stored as their exact binary value and rebuilt in the reference's shared
context they were computed in (``lintra.reference.domains.context``: its precision and
rounding direction, which ``float()`` of the number follows too), or, for a number of another
context, in the shared one at the call's precision: an mpf unpickled the ordinary way would
belong to ``mpmath.mp`` and compute at its 53 bits.

The same directory holds the *case cache* (its ``cases`` folder, :func:`case_entry`): the
generated cases of one (property, primitive) item of a run depend only on the item, the
profile, the seed and the time limit, never on the backend, so the runner stores the cases
a passing generation handed to the property and replays them on a later run. Its key adds
to the fingerprint above the source that draws cases (:data:`GENERATION_SOURCES`) and the
Hypothesis and NumPy versions.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import io
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import hypothesis
import mpmath
import numpy as np
from mpmath.ctx_mp_python import _mpf

from lintra.reference.domains import BoundedContext, context
from lintra.reference.syntax import Literal, Program

ENVIRONMENT = "LINTRA_TRUTH_CACHE"
"""The environment variable that relocates (a directory) or disables (``off``) the cache."""

DISABLED = frozenset({"off", "0", "false", "no"})

F = TypeVar("F", bound=Callable[..., object])


class Unkeyable(TypeError):
    """An argument the cache cannot key exactly: the call is computed, never cached."""


def directory() -> Path | None:
    """The cache directory now (read from the environment at each call), or ``None`` when
    the cache is disabled."""
    setting = os.environ.get(ENVIRONMENT, "").strip()
    if setting.lower() in DISABLED:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "lintra" / "truth"


TRUTH_SOURCES = ("analysis.py", "oracle.py", "truth.py", "stress.py", "truth_cache.py")
"""The conformance modules that compute truths (with every module of ``lintra.reference``):
part of the truth cache's key."""


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """The lintra version, the mpmath version and a hash of the source that computes
    truths (every module of ``lintra.reference`` and :data:`TRUTH_SOURCES`), computed once
    per process."""
    digest = hashlib.sha256()
    digest.update(f"lintra {_version()} mpmath {mpmath.__version__}\n".encode())
    reference = Path(inspect.getfile(context)).parent
    here = Path(__file__).parent
    sources = sorted(reference.rglob("*.py")) + [
        here / name for name in TRUTH_SOURCES]
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


GENERATION_SOURCES = (
    "strategies.py", "generation.py", "stress.py", "properties.py", "profiles.py")
"""The conformance modules that draw generated cases (the strategies, the case strategy, the
hard places, the case record, the profiles): part of the case cache's key."""

CASES = "cases"
"""The folder of the case cache inside the cache directory."""


@functools.lru_cache(maxsize=1)
def case_fingerprint() -> str:
    """:func:`fingerprint`, the Hypothesis and NumPy versions and a hash of
    :data:`GENERATION_SOURCES`: what the generated cases of a seed depend on besides the
    item's own arguments."""
    digest = hashlib.sha256()
    digest.update(f"{fingerprint()}\nhypothesis {hypothesis.__version__} "
                  f"numpy {np.__version__}\n".encode())
    here = Path(__file__).parent
    for name in GENERATION_SOURCES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return digest.hexdigest()


def case_entry(arguments: dict[str, object]) -> Path | None:
    """Where the generated cases of the item described by ``arguments`` live in the case
    cache (keyed by :func:`case_fingerprint` and every argument exactly), or ``None`` when
    the cache is disabled."""
    where = directory()
    if where is None:
        return None
    name = key("cases", arguments, case_fingerprint())
    return where / CASES / name[:2] / name


def _version() -> str:
    try:
        return importlib.metadata.version("lintra")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def token(value: object) -> str:
    """An exact text for one argument (module docstring); :class:`Unkeyable` otherwise."""
    if value is None or isinstance(value, (bool, int, str)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, float):
        return f"float:{value.hex()}"
    if isinstance(value, _mpf):
        return f"mpf:{value._mpf_!r}"
    if isinstance(value, Program):
        return f"program:{value}"
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype == object:
            inner = ",".join(token(v) for v in arr.reshape(-1))
            return f"objects{arr.shape}:[{inner}]"
        return f"array:{arr.dtype.str}{arr.shape}:{np.ascontiguousarray(arr).tobytes().hex()}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}:[{','.join(token(v) for v in value)}]"
    raise Unkeyable(f"no exact key for a {type(value).__name__}")


def key(quantity: str, arguments: dict[str, object], code: str | None = None) -> str:
    """The entry's name: a SHA-256 of the fingerprint (``code``, else :func:`fingerprint`),
    the quantity and the arguments."""
    digest = hashlib.sha256()
    digest.update(f"{code or fingerprint()}\n{quantity}\n".encode())
    for name, value in arguments.items():
        digest.update(f"{name}={token(value)}\n".encode())
    return digest.hexdigest()


def _rebuild_mpf(dps: int, value: tuple, rounding: str = "n") -> object:
    """An mpf of the reference's shared context at ``dps`` digits rounding in direction
    ``rounding`` holding ``value`` exactly."""
    return context(dps, rounding).make_mpf(value)


def _home(number: _mpf, dps: int) -> tuple[int, str]:
    """The digits and rounding direction of the shared context ``number`` belongs to (a
    directed rounding of the oracle's intervals, say), so that it is rebuilt there: an mpf
    rounds in its own context's direction, ``float()`` included, so a value read from the
    cache must live where the computed one did. A number of any other context is rebuilt at
    ``dps`` digits, rounding to nearest."""
    ctx = number.context
    home = _HOMES.get(ctx)
    if home is None and isinstance(ctx, BoundedContext):
        home = (ctx.dps, ctx._prec_rounding[1])
        if context(*home)._prec_rounding != ctx._prec_rounding:
            return dps, "n"
        if context(*home) is ctx:  # a shared context, never changed: its home is for good
            _HOMES[ctx] = home
    return home if home is not None else (dps, "n")


_HOMES: dict[object, tuple[int, str]] = {}
"""The home of each shared context met (:func:`_home`): worked out once, not per number."""


class _Pickler(pickle.Pickler):
    """Pickles mpf as their exact binary value and home context (:func:`_home`), and a
    program's literals by their constructor (a ``Literal`` refuses the attribute writes of
    ordinary unpickling)."""

    def __init__(self, file: io.BytesIO, dps: int) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dps = dps

    def reducer_override(self, obj: object) -> object:
        if isinstance(obj, _mpf):
            dps, rounding = _home(obj, self.dps)
            return _rebuild_mpf, (dps, obj._mpf_, rounding)
        if isinstance(obj, Literal):
            return Literal, (obj.value, obj.loc)
        return NotImplemented


def store(path: Path, value: object, dps: int) -> None:
    """Write one entry atomically (a temporary file in the same directory, then a rename);
    a failure to write leaves the cache as it was."""
    buffer = io.BytesIO()
    _Pickler(buffer, dps).dump(value)
    try:
        try:  # the directory is usually there: making sure first cost a system call a store
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(buffer.getvalue())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a read-only or full disk: the run goes on without caching


MISSING = object()
"""What :func:`load` returns for an absent or unreadable entry."""


def load(path: Path) -> object:
    """The entry at ``path``, or :data:`MISSING` when it is absent or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return MISSING
    try:
        return pickle.loads(data)
    except Exception:  # a damaged entry is recomputed (and rewritten), never trusted
        return MISSING


def cached(fn: F) -> F:
    """Cache ``fn``'s results on disk (module docstring). ``fn`` must be a pure function of
    its arguments, with a ``dps`` parameter (the precision its mpf results are rebuilt at)."""
    signature = inspect.signature(fn)
    quantity = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        where = directory()
        if where is None:
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        try:
            name = key(quantity, bound.arguments)
        except Unkeyable:
            return fn(*args, **kwargs)
        path = where / name[:2] / name
        hit = load(path)
        if hit is not MISSING:
            return hit
        value = fn(*args, **kwargs)
        store(path, value, int(bound.arguments.get("dps", 40)))  # type: ignore[arg-type]
        return value

    return wrapper  # type: ignore[return-value]


__all__ = ["CASES", "ENVIRONMENT", "GENERATION_SOURCES", "MISSING", "Unkeyable", "cached",
           "case_entry", "case_fingerprint", "directory", "fingerprint", "key", "load", "store",
           "token"]
