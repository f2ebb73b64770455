"""The array libraries a plan can run on, one small table each.

A plan's generated code calls functions by names the table resolves once, when the plan is
bound to a library: NumPy always; CuPy (the ``gpu`` extra) when it is installed. Everything
library-specific the rules need goes through a table, so one plan runs on both.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from lintra.reference.errors import LintraError

_DTYPE_NAMES = {"f64": "float64", "f32": "float32", "i64": "int64", "i32": "int32",
                "bool": "bool_"}


class ArrayLibraryUnavailable(LintraError):
    """An array library the engine knows of is not installed (the message names the extra)."""

    kind = "array library unavailable"


@dataclass(frozen=True, eq=False)
class ArrayTable:
    """One array library: its namespace ``xp`` (NumPy's API), its special functions
    (``erf``), how to move arrays in and out, and its dtype objects."""

    name: str
    xp: ModuleType
    special: Any
    """The special-function module (or a :class:`LazyModule` standing for it)."""
    to_host: Any = field(repr=False)
    """``array -> numpy.ndarray``."""

    def dtype(self, name: str) -> Any:
        """The library's dtype for a language dtype name (``"f32"``)."""
        return getattr(self.xp, _DTYPE_NAMES[name])

    def resolve(self, path: str) -> Any:
        """``xp.<path>``, e.g. ``"add.reduce"``."""
        obj: Any = self.xp
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj


class LazyModule:
    """A module imported when first used: importing ``scipy.special`` takes over a second,
    and only the few primitives that call a special function need it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"


def _numpy_table() -> ArrayTable:
    return ArrayTable("numpy", np, LazyModule("scipy.special"), np.asarray)


def _cupy_table() -> ArrayTable:
    try:
        cupy = importlib.import_module("cupy")
        special = importlib.import_module("cupyx.scipy.special")
    except ImportError as exc:
        raise ArrayLibraryUnavailable(
            f"CuPy is not installed ({exc}); install the gpu extra: pip install 'lintra[gpu]'"
        ) from None
    return ArrayTable("cupy", cupy, special, cupy.asnumpy)


_FACTORIES = {"numpy": _numpy_table, "cupy": _cupy_table}
_TABLES: dict[str, ArrayTable] = {}


def table(name: str = "numpy") -> ArrayTable:
    """The table of array library ``name`` (``"numpy"`` or ``"cupy"``), made once."""
    if name not in _TABLES:
        if name not in _FACTORIES:
            raise ArrayLibraryUnavailable(
                f"unknown array library {name!r}: expected one of {', '.join(_FACTORIES)}")
        _TABLES[name] = _FACTORIES[name]()
    return _TABLES[name]


def table_of(array: object) -> ArrayTable:
    """The table of the library an array belongs to (NumPy for scalars and lists)."""
    module = type(array).__module__.split(".")[0]
    return table("cupy") if module == "cupy" else table("numpy")
