"""Structured results of conformance checks (spec 7.5).

Every check returns one :class:`CheckResult`: its status, the measured error in units of the
derived bound (pass iff at most 1), the program text and inputs that reproduce it. A run
collects them into a :class:`RunReport`.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from lintra.reference.syntax import DType


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    """Not applicable: an unsupported primitive or dtype, a missing optional method, no
    element the check can judge (all near a discontinuity, all out of domain...)."""
    CONVENTION = "convention"
    """At a kink the backend's derivative is a valid one-sided choice that differs from the
    spec's declared convention (chapter 6): reported apart from wrong results (under
    ``--conventions strict`` such a result is a ``FAIL`` instead, marked ``convention``)."""
    XFAIL = "xfail"
    """A failure of an item the run's xfails file lists: a known failure, listed once, which
    does not fail the run."""


CONVENTION_MODES = ("report", "strict")
"""How a run treats a convention difference: ``report`` (the default) lists it and passes;
``strict`` lists it and fails (spec 7.4)."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one property on one case."""

    check: str
    """The property's name (``jvp_vs_oracle``...)."""
    status: Status
    reason: str = ""
    """Why it failed or was skipped, in words."""
    error: float | None = None
    """Largest error in units of the derived bound (a pass has at most 1)."""
    ulps: float | None = None
    """Largest error in ulps of the result dtype at the expected value."""
    compared: int = 0
    """Elements (or scalar identities) compared."""
    unreliable: int = 0
    """Elements left out: within their rounding bound of a discontinuity or domain edge, or
    where the oracle's estimate is not trustworthy."""
    program: str = ""
    inputs: str = ""
    """The case's inputs, one line per argument, as exact hex floats (Python ``float.hex``)."""
    primitives: tuple[str, ...] = ()
    case: str = ""
    """Where the case came from: ``generated`` with its seed, or a corpus file and name."""
    reproducer: str = ""
    """For a failing generated case: a standalone corpus file (spec 7.7) that reproduces it
    with ``python -m lintra.conformance.corpus run --backend NAME FILE``."""
    item: str = ""
    """The item the result belongs to, as the plugin and the xfails file name it:
    ``check::PROPERTY::PRIMITIVE`` or ``corpus::NAME``."""
    element: str = ""
    """The first element outside its bound (``tangent 1[0]``), when there is one."""
    expected: str = ""
    """The spec's value at :attr:`element` (from the reference, or the corpus)."""
    got: str = ""
    """The backend's value at :attr:`element`."""
    point: str = ""
    """The primal inputs in short decimal form (for the console's convention list)."""
    convention: bool = False
    """A difference of convention at a kink (chapter 6): status ``CONVENTION``, or ``FAIL``
    under ``--conventions strict``."""
    known: str = ""
    """For an ``XFAIL``: the xfails entry that lists the item, with its reason."""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["primitives"] = list(self.primitives)
        return d


@dataclass
class RunReport:
    """All results of a run, with the backend's name and the profile used."""

    backend: str
    profile: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0

    conventions: str = "report"
    """How convention differences were judged (:data:`CONVENTION_MODES`)."""
    stale: list[str] = field(default_factory=list)
    """Entries of the xfails file that match no item of the suite (renamed or mistyped)."""
    xpassed: list[str] = field(default_factory=list)
    """Entries of the xfails file whose items ran without failing (fixed since?)."""
    notes: list[str] = field(default_factory=list)
    """Anything else about how the run went that its reader must know (a time limit that
    could not be enforced...)."""

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is Status.FAIL]

    @property
    def known_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is Status.XFAIL]

    @property
    def convention_differences(self) -> list[CheckResult]:
        """Every convention difference, whichever its status in the run's mode."""
        return [r for r in self.results if r.convention or r.status is Status.CONVENTION]

    @property
    def ok(self) -> bool:
        """No failure: skips, known failures and (unless strict) convention differences do
        not fail a run."""
        return not self.failures

    def counts(self) -> dict[str, Counter]:
        """Per check: how many results of each status."""
        out: dict[str, Counter] = {}
        for r in self.results:
            out.setdefault(r.check, Counter())[r.status.value] += 1
        return out

    def to_json(self) -> str:
        return json.dumps({"backend": self.backend, "profile": self.profile,
                           "seconds": self.seconds, "conventions": self.conventions,
                           "stale_xfails": self.stale, "xpassed": self.xpassed,
                           "notes": self.notes,
                           "results": [r.to_json() for r in self.results]}, indent=1)


def strict_conventions(result: CheckResult) -> CheckResult:
    """``result`` as ``--conventions strict`` judges it: a convention difference fails."""
    if result.status is not Status.CONVENTION:
        return result
    return replace(result, status=Status.FAIL, convention=True,
                   reason="convention difference (a failure under --conventions strict): "
                          + result.reason)


def judged(result: CheckResult, conventions: str) -> CheckResult:
    """``result`` under the convention mode ``conventions`` (:data:`CONVENTION_MODES`)."""
    if conventions not in CONVENTION_MODES:
        raise ValueError(f"unknown conventions mode {conventions!r}: expected one of "
                         f"{', '.join(CONVENTION_MODES)}")
    if result.status is Status.CONVENTION:
        result = replace(result, convention=True)
    return strict_conventions(result) if conventions == "strict" else result


def format_point(values: Sequence[object], limit: int = 6) -> str:
    """Arrays in short decimal form, ``;``-separated (at most ``limit`` elements each):
    where a convention difference sits, readable on a console line."""
    parts = []
    for v in values:
        a = np.asarray(v)
        flat = [repr(float(x)) if a.dtype.kind == "f" else str(x.item())
                for x in a.reshape(-1)[:limit]]
        more = ", ..." if a.size > limit else ""
        parts.append(flat[0] if a.ndim == 0 else f"[{', '.join(flat)}{more}]")
    return "; ".join(parts)


_DTYPE_NAMES = {np.dtype(d.numpy).name: d.value for d in DType}
"""NumPy's dtype names to the language's (``float64`` to ``f64``)."""


def format_inputs(values: Sequence[object], labels: Sequence[str] | None = None) -> str:
    """Arrays as one line each: a label (``x0``, ``tangent of x0``, ``cotangent of result
    1``; default ``input k``), the lintra type, the elements in short decimal and, for
    floats, exactly as hex (what a reproducer needs)."""
    lines = []
    for k, v in enumerate(values):
        a = np.asarray(v)
        label = labels[k] if labels is not None and k < len(labels) else f"input {k + 1}"
        kind = f"{_DTYPE_NAMES.get(a.dtype.name, a.dtype.name)}[{', '.join(map(str, a.shape))}]"
        flat = a.reshape(-1)
        if a.dtype.kind == "f":  # shortest decimals of the dtype, then the exact bits
            decimal = _listed([str(x) for x in flat], a.ndim)
            exact = _listed([float(x).hex() for x in flat], a.ndim)
            lines.append(f"{label}: {kind} = {decimal}  exact: {exact}")
        else:
            lines.append(f"{label}: {kind} = " + _listed(
                ["true" if x else "false" for x in flat] if a.dtype.kind == "b"
                else [str(int(x)) for x in flat], a.ndim))
    return "\n".join(lines)


def _listed(elems: list[str], rank: int) -> str:
    return elems[0] if rank == 0 else f"[{', '.join(elems)}]"


def input_labels(names: Sequence[str], float_inputs: Sequence[str], n_cotangents: int
                 ) -> list[str]:
    """Labels of a case's arrays in the order primals, tangents (one per float parameter),
    cotangents (one per float result)."""
    return [*names, *(f"tangent of {n}" for n in float_inputs),
            *(f"cotangent of result {k + 1}" for k in range(n_cotangents))]
