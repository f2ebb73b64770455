"""Plans reach the array library only through its table (optimized/arrays.py), so the CuPy
path is the NumPy path with another table. No GPU on the development machine: a table that
wraps NumPy in a recording namespace runs the whole corpus through the engine and passes its
assertions, and the plans asked that table for their functions. (A rule calling NumPy
behind the table's back would still run here; a CuPy run on a GPU is what would show it.)
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from lintra.conformance.backends.optimized import OptimizedBackend
from lintra.conformance.corpus import load_corpus, run_corpus_case
from lintra.conformance.results import Status
from lintra.optimized import arrays
from lintra.optimized.arrays import ArrayLibraryUnavailable, ArrayTable, table


class Recording:
    """A namespace that forwards to NumPy and remembers which names a plan asked for."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.used.add(name)
        return getattr(np, name)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Recording:
    namespace = Recording()
    monkeypatch.setitem(arrays._FACTORIES, "recording",
                        lambda: ArrayTable("recording", namespace, scipy.special, np.asarray))
    monkeypatch.delitem(arrays._TABLES, "recording", raising=False)
    return namespace


def test_the_corpus_runs_through_another_table(recording: Recording) -> None:
    backend = OptimizedBackend(array_library="recording")
    failures = []
    for case in load_corpus():
        for r in run_corpus_case(backend, case):
            if r.status is Status.FAIL:
                failures.append(f"{case.name}: {r.reason}")
    assert not failures, "\n".join(failures[:10])
    assert {"sin", "add", "multiply", "sum"} <= recording.used


def test_cupy_is_named_in_the_error_when_missing() -> None:
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ArrayLibraryUnavailable, match=r"lintra\[gpu\]"):
            table("cupy")
    else:  # pragma: no cover - a machine with CuPy
        assert table("cupy").name == "cupy"


def test_an_unknown_library_is_refused() -> None:
    with pytest.raises(ArrayLibraryUnavailable, match="numpy"):
        table("tensorflow")
