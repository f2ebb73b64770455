"""The conformance suite: checks any automatic-differentiation backend against the lintra
spec (chapter 7), on generated programs around each primitive and on the portable corpus.

From the command line: ``python -m lintra.conformance --backend NAME``. From Python::

    import lintra.conformance as lc

    report = lc.run("optimized", profile="quick")   # a RunReport
    print(report.ok, len(report.failures))

The names below are imported on first use, so that ``import lintra.conformance`` needs
neither Hypothesis (which generating cases does: ``pip install "lintra[conformance]"``) nor
the backends' frameworks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_PUBLIC = {
    "run": "lintra.conformance.runner",
    "run_check": "lintra.conformance.runner",
    "run_corpus": "lintra.conformance.runner",
    "CHECK_NAMES": "lintra.conformance.runner",
    "Backend": "lintra.conformance.backend",
    "Capabilities": "lintra.conformance.backend",
    "BackendUnavailable": "lintra.conformance.backend",
    "load_backend": "lintra.conformance.backend",
    "RunReport": "lintra.conformance.results",
    "CheckResult": "lintra.conformance.results",
    "Status": "lintra.conformance.results",
    "Profile": "lintra.conformance.profiles",
    "PROFILES": "lintra.conformance.profiles",
    "profile_named": "lintra.conformance.profiles",
    "load_corpus": "lintra.conformance.corpus",
    "read_entries": "lintra.conformance.known_failures",
    "write_html": "lintra.conformance.report",
    "write_json": "lintra.conformance.report",
}

__all__ = [
    "CHECK_NAMES", "PROFILES", "Backend", "BackendUnavailable", "Capabilities", "CheckResult",
    "Profile", "RunReport", "Status", "load_backend", "load_corpus", "profile_named",
    "read_entries", "run", "run_check", "run_corpus", "write_html", "write_json",
]

if TYPE_CHECKING:
    from lintra.conformance.backend import (
        Backend,
        BackendUnavailable,
        Capabilities,
        load_backend,
    )
    from lintra.conformance.corpus import load_corpus
    from lintra.conformance.known_failures import read_entries
    from lintra.conformance.profiles import PROFILES, Profile, profile_named
    from lintra.conformance.report import write_html, write_json
    from lintra.conformance.results import CheckResult, RunReport, Status
    from lintra.conformance.runner import CHECK_NAMES, run, run_check, run_corpus


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'lintra.conformance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
