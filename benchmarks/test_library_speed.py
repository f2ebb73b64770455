"""Regression runs of the library's cached value-and-gradient on the seven workloads, beside
the hand-written NumPy reverse pass of the same workload.

Run with ``python -m pytest benchmarks/test_library_speed.py --benchmark-only -n 0`` (not part
of the default test run) and compare runs with ``--benchmark-autosave`` and
``pytest-benchmark compare``. The side-by-side figures of the README come from
``benchmarks/library.py``; this file keeps a history.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import all_workloads

import lintra.optimized as lo
import lintra.optimized.numpy as lnp

WORKLOADS = {w.name: w for w in all_workloads()}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_lintra_value_and_grad(benchmark, name: str) -> None:
    w = WORKLOADS[name]
    step = lo.jit(lo.value_and_grad(w.loss(lnp), argnums=w.argnums))
    step(*w.inputs)  # trace, transform and compile outside the timing
    benchmark(step, *w.inputs)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_hand_written_value_and_grad(benchmark, name: str) -> None:
    w = WORKLOADS[name]
    benchmark(w.value_and_grad, *w.inputs)
