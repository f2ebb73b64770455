"""The backend protocol: what the conformance suite asks of an AD system (spec chapter 7.1).

A backend works at program level. It receives lintra :class:`~lintra.reference.syntax.Program`
objects and NumPy arrays, and returns array-likes. The programs pass the reference's
``check`` (well typed, linear where marked), except in two corpus assertions that test
refusals (spec 7.1): ``evaluate`` of an ill-typed program, and ``linear_map`` of a program
not linear in its ``lin`` parameters (then ``transpose``), which must raise. Tangents and
cotangents exist for float parameters and float results only: "one per float input" means in
parameter order, skipping integer and boolean parameters, exactly as in the reference (spec
5.4).

Required methods::

    evaluate(program, args)            -> results                 (one per result)
    jvp(program, primals, tangents)    -> (results, tangent_outs)  (one per float result)
    linearize(program, primals)        -> (results, linear_map)
    vjp(program, primals)              -> (results, pullback)      pullback(*cts): one per
                                                                   float input
    transpose(linear_map)              -> linear_map               the adjoint map
    linear_map(program, residuals)     -> linear_map               program linear in its ``lin``
                                                                   parameters, the others bound
                                                                   to ``residuals``

A *linear map* is any callable taking one array per linear argument and returning a sequence
with one array per result. Optional methods (absent: the checks that need them are skipped
with a reason, never failed)::

    hvp(program, primals, tangents)    -> one array per float input (forward over reverse)
    program_of(linear_map)             -> Program | None   the map as a lintra program
    parse(text)                        -> anything         read lintra program text, raising
                                                           on text outside the grammar

``capabilities`` declares the primitives and dtypes the backend supports; a generated case
using anything else is skipped with the reason named, never failed.

Backends are named on the command line as ``reference``, ``optimized``, ``jax``, ``torch`` or
``package.module:factory`` (a callable returning a backend, or a backend object).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lintra.reference.primitives import PRIMITIVES
from lintra.reference.syntax import DType, Program

Array = Any
"""An array-like result: converted with ``numpy.asarray`` by the suite."""

LinearMap = Callable[..., Sequence[Array]]


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares it supports. Cases outside are skipped, with the reason."""

    primitives: frozenset[str] = frozenset(PRIMITIVES)
    dtypes: frozenset[DType] = frozenset(DType)
    refuses_nonlinear: bool = True
    """Whether :meth:`Backend.transpose` of a ``linear_map`` refuses a program that is not
    linear in its ``lin`` parameters. A backend that transposes through reverse mode cannot
    tell, and declares False: the refusal check is then skipped, with that reason."""
    notes: tuple[str, ...] = field(default=())
    """Free-text remarks shown in reports (known conventions, limitations)."""

    def unsupported(self, program: Program) -> str | None:
        """Why ``program`` is outside these capabilities, or None if it is inside."""
        missing = sorted({e.primitive for e in program.equations} - self.primitives)
        if missing:
            return f"backend does not support primitive{'s' if len(missing) > 1 else ''} " + (
                ", ".join(missing))
        used = {b.type.array.dtype for b in program.inputs if b.type is not None}
        used |= {b.type.array.dtype for e in program.equations for b in e.outputs
                 if b.type is not None}
        dtypes = sorted(d.value for d in used - self.dtypes)
        if dtypes:
            return "backend does not support dtype " + ", ".join(dtypes)
        return None


@runtime_checkable
class Backend(Protocol):
    """The protocol of the module docstring (required methods only)."""

    name: str
    capabilities: Capabilities

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> Sequence[Array]: ...

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[Sequence[Array], Sequence[Array]]: ...

    def linearize(self, program: Program, primals: Sequence[np.ndarray]
                  ) -> tuple[Sequence[Array], LinearMap]: ...

    def vjp(self, program: Program, primals: Sequence[np.ndarray]
            ) -> tuple[Sequence[Array], LinearMap]: ...

    def transpose(self, linear_map: LinearMap) -> LinearMap: ...

    def linear_map(self, program: Program, residuals: Sequence[np.ndarray]) -> LinearMap: ...


class BackendUnavailable(Exception):
    """A built-in backend whose framework is not installed; the message names the extra."""


BUILTIN = {
    "reference": "lintra.conformance.backends.reference:ReferenceBackend",
    "optimized": "lintra.conformance.backends.optimized:OptimizedBackend",
    "jax": "lintra.conformance.backends.jax:JaxBackend",
    "torch": "lintra.conformance.backends.torch:TorchBackend",
}


def load_backend(spec: str | Backend) -> Backend:
    """The backend named by ``spec``: a built-in name, ``package.module:factory``, or a backend
    object (returned as is). Raises :class:`BackendUnavailable` when a built-in's framework is
    missing and ``ValueError`` for a name that resolves to nothing."""
    if not isinstance(spec, str):
        return _validated(spec, repr(spec))
    target = BUILTIN.get(spec, spec)
    if ":" not in target:
        raise ValueError(
            f"unknown backend {spec!r}: expected one of {', '.join(BUILTIN)} or "
            "'package.module:factory'")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if spec in BUILTIN:
            raise BackendUnavailable(
                f"the built-in backend {spec!r} is not available: {exc}") from exc
        raise ValueError(f"backend {spec!r}: cannot import module {module_name!r} ({exc})"
                         ) from exc
    try:
        factory = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"backend {spec!r}: module {module_name!r} has no attribute {attr!r}"
                         ) from None
    is_factory = isinstance(factory, type) or (callable(factory) and not hasattr(factory,
                                                                             "evaluate"))
    backend = factory() if is_factory else factory
    return _validated(backend, spec)


def _validated(backend: object, spec: str) -> Backend:
    """``backend`` if it has the required methods and attributes, else a ValueError naming
    the missing ones."""
    required = ("name", "capabilities", "evaluate", "jvp", "linearize", "vjp", "transpose",
                "linear_map")
    missing = [m for m in required if not hasattr(backend, m)]
    if missing:
        raise ValueError(f"backend {spec!r} lacks {', '.join(missing)} (see spec 7.1)")
    return backend  # type: ignore[return-value]
