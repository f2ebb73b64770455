"""The suite's names at the top of ``lintra.conformance`` (issue 14): importable without
Hypothesis, the same objects as in their modules, and the extra that installs Hypothesis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lintra.conformance as lc
from lintra.conformance import runner
from lintra.conformance.results import RunReport

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_is_the_modules_own() -> None:
    assert sorted(lc.__all__) == sorted(lc._PUBLIC)
    for name, module in lc._PUBLIC.items():
        assert getattr(lc, name) is getattr(sys.modules[module], name)
    assert lc.run is runner.run and "run" in dir(lc)
    with pytest.raises(AttributeError, match="no attribute 'frobnicate'"):
        lc.frobnicate  # noqa: B018


def test_run_from_the_top_level() -> None:
    report = lc.run("reference", "quick", checks=["evaluate_vs_truth"], corpus=False)
    assert isinstance(report, RunReport) and report.ok and report.results


def test_importing_the_package_needs_no_hypothesis() -> None:
    code = ("import sys, lintra.conformance as lc; print('hypothesis' in sys.modules); "
            "lc.Status; print('hypothesis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["False", "False"]


def test_the_conformance_extra_installs_hypothesis() -> None:
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    extra = next(line for line in lines if line.startswith("conformance = ["))
    assert '"hypothesis>=' in extra
    assert "lintra[conformance]" in (ROOT / "README.md").read_text()
