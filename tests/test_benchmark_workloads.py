"""The peer comparison (benchmarks/library.py) times the same functions the hand-written passes
of benchmarks/workloads.py differentiate: each NumPy-style workload, run on NumPy itself, gives
the workload's primal value, and under autograd (the `peers` extra) its gradient matches the
hand-written one. No timing here: speed is measured by the benchmark scripts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
library = pytest.importorskip("library")
workloads = pytest.importorskip("workloads")

WORKLOADS = {w.name: w for w in workloads.all_workloads()
             if w.name != "rosen_large"}  # rosen_small is the same function, smaller


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_numpy_style_workload_is_the_workload(name: str) -> None:
    w = WORKLOADS[name]
    got = library.loss_for(name, np)(*w.inputs)
    want = w.primal(*w.inputs)
    # the same NumPy operations in the same order (np.roll and two joined slices copy the
    # same elements): the same number, bit for bit
    assert got == want


@pytest.mark.parametrize("name", ["mlp", "rosen_small", "rnn_loop"])
def test_autograd_gradient_matches_hand_written(name: str) -> None:
    w = WORKLOADS[name]
    system = library._autograd(w)
    if system is None:
        pytest.skip("autograd is not installed (the peers extra)")
    value, grads = system.value_and_grad(*w.inputs)
    want_value, want_grads = w.value_and_grad(*w.inputs)
    assert library.gradient_error(grads, want_grads) <= library.GRADIENT_TOLERANCE
    assert abs(value - want_value) <= library.GRADIENT_TOLERANCE * abs(want_value)
