"""The peer comparison (benchmarks/library.py) differentiates each workload's function, written
once over an array namespace (benchmarks/workloads.py), and checks it against the hand-written
NumPy reverse pass before timing: here autograd's gradient of it (the `peers` extra) matches
the hand-written one. No timing here: speed is measured by the benchmark scripts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
library = pytest.importorskip("library")
workloads = pytest.importorskip("workloads")

WORKLOADS = {w.name: w for w in workloads.all_workloads()
             if w.name != "rosen_large"}  # rosen_small is the same function, smaller


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
