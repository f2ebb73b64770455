"""The case cache (spec 7.8): a warm run replays the generated cases a cold run drew, with the
same results; a failure on replayed cases is shrunk by Hypothesis as before; any change of
the code that draws cases, or of Hypothesis, misses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from lintra.conformance import runner, truth_cache
from lintra.conformance.properties import Case
from lintra.conformance.results import Status
from lintra.reference import parse_program
from tests.mutants import SinTangentSign

FOCI = ["sin", "max", "reduce_sum"]
"""Items of three families (elementwise unary, binary with ties, a reduction)."""


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(truth_cache.ENVIRONMENT, str(tmp_path))
    return tmp_path


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The foci of every Hypothesis run the runner starts (one per generate or shrink pass)."""
    started: list[str] = []
    original = runner.cases

    def counted(profile: object, focus: str | None = None, *args: object
                ) -> st.SearchStrategy:
        started.append(str(focus))
        return original(profile, focus, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "cases", counted)
    return started


def case_entries(root: Path) -> list[Path]:
    return sorted(p for p in (root / truth_cache.CASES).rglob("*") if p.is_file())


def test_a_warm_run_replays_the_cold_runs_cases_with_the_same_results(
        cache_dir: Path, draws: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(truth_cache.ENVIRONMENT, "off")
    uncached = runner.run_check("reference", "jvp_vs_reference", "ci", primitives=FOCI)
    monkeypatch.setenv(truth_cache.ENVIRONMENT, str(cache_dir))
    cold = runner.run_check("reference", "jvp_vs_reference", "ci", primitives=FOCI)
    assert len(case_entries(cache_dir)) == len(FOCI)
    started = len(draws)
    warm = runner.run_check("reference", "jvp_vs_reference", "ci", primitives=FOCI)
    assert len(draws) == started, "a warm run must not draw cases again"
    assert uncached == cold == warm  # statuses, programs, inputs, reproducers, errors
    assert all(r.status is Status.PASS for r in warm) and len(warm) == 2 * len(FOCI)


def test_the_entries_hold_the_cases_bit_for_bit(cache_dir: Path) -> None:
    results = runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    (entry,) = case_entries(cache_dir)
    stored = truth_cache.load(entry)
    assert isinstance(stored, list) and all(isinstance(c, Case) for c in stored)
    assert [str(c.program) for c in stored] == [r.program for r in results]
    for case, result in zip(stored, results):
        assert case.result("evaluate_vs_truth", Status.PASS).inputs == result.inputs
        assert not case.cache  # no analysis travels with a case


def test_literals_and_arrays_come_back_bit_for_bit(cache_dir: Path) -> None:
    """A program's literals (-0.0, nan, an integer, a boolean) and arrays of every dtype
    (a negative zero, a subnormal, f32) survive the cache exactly."""
    p = parse_program("def f(x: f64[2], s: f32[], b: bool[2], k: i64[2]) -> f64[2]:\n"
                      "    y = mul(x, -0.0)\n    z = add(y, nan)\n    w = pow(z, 2)\n"
                      "    v = select_n(b, w, x)\n    u = and(b, true)\n    return v\n")
    primals = (np.array([-0.0, 5e-324]), np.float32(0.1) * np.ones((), np.float32),
               np.array([True, False]), np.array([-3, 5], np.int64))
    case = Case(p, primals, (np.array([1.1, -0.6]), np.array(0.35, np.float32)),
                (np.array([-0.9, 1.45]),), source="generated: example", dps=50)
    entry = truth_cache.case_entry({"check": "example"})
    runner._store_cases(entry, [case])
    back = runner._cached_cases(entry)
    assert isinstance(back, list) and len(back) == 1
    (got,) = back
    assert got.program == p and str(got.program) == str(p)
    literals = [a.value for e in got.program.equations for a in e.inputs
                if not hasattr(a, "name")]
    assert [type(v) for v in literals] == [float, float, int, bool]
    assert math.copysign(1.0, literals[0]) == -1.0 and math.isnan(literals[1])
    for mine, theirs in ((case.primals, got.primals), (case.tangents, got.tangents),
                         (case.cotangents, got.cotangents)):
        assert [(a.dtype, a.shape, a.tobytes()) for a in mine] == [
            (a.dtype, a.shape, a.tobytes()) for a in theirs]
    assert (got.source, got.dps, got.skip) == (case.source, case.dps, case.skip)


def test_a_failing_backend_on_a_warm_cache_still_gets_its_shrunk_failure(
        cache_dir: Path, draws: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference fills the cache; a mutant whose sin JVP has the wrong sign fails on
    the replayed cases, and Hypothesis shrinks the failure exactly as without a cache."""
    foci = ["sin", "exp"]
    monkeypatch.setenv(truth_cache.ENVIRONMENT, "off")
    uncached = runner.run_check(SinTangentSign(), "jvp_vs_reference", "ci", primitives=foci)
    monkeypatch.setenv(truth_cache.ENVIRONMENT, str(cache_dir))
    runner.run_check("reference", "jvp_vs_reference", "ci", primitives=foci)
    started = len(draws)
    warm = runner.run_check(SinTangentSign(), "jvp_vs_reference", "ci", primitives=foci)
    assert draws[started:] == ["sin"]  # only the failing item runs Hypothesis: to shrink
    assert warm == uncached
    failure = [r for r in warm if r.status is Status.FAIL]
    assert len(failure) == 1 and failure[0].item.endswith("::sin")
    assert "sin" in failure[0].reproducer and "jvp" in failure[0].reproducer


def test_a_failing_item_stores_nothing(cache_dir: Path) -> None:
    runner.run_check(SinTangentSign(), "jvp_vs_reference", "ci", primitives=["sin"])
    assert case_entries(cache_dir) == []


def test_a_change_of_the_generation_code_or_of_hypothesis_misses(
        cache_dir: Path, draws: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fingerprint = truth_cache.case_fingerprint.__wrapped__
    base = fingerprint()
    assert base == truth_cache.case_fingerprint()
    sources = truth_cache.GENERATION_SOURCES
    monkeypatch.setattr(truth_cache, "GENERATION_SOURCES", sources[1:])
    assert fingerprint() != base
    monkeypatch.setattr(truth_cache, "GENERATION_SOURCES", sources)
    monkeypatch.setattr(truth_cache.hypothesis, "__version__", "0.0.0")
    assert fingerprint() != base
    # a new fingerprint names other entries: the cases are drawn again and stored beside
    runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    monkeypatch.setattr(truth_cache, "case_fingerprint", lambda: "another fingerprint")
    runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    assert draws == ["sin", "sin"] and len(case_entries(cache_dir)) == 2


def test_other_items_profiles_seeds_and_limits_have_their_own_entries(cache_dir: Path) -> None:
    def entry(**changes: object) -> Path | None:
        arguments: dict[str, object] = {"check": "evaluate_vs_truth", "primitive": "sin",
                                        "profile": "ci", "seed": 0, "limit": 60.0}
        arguments.update(changes)
        return truth_cache.case_entry(arguments)

    names = {entry(), entry(check="jvp_vs_oracle"), entry(primitive="cos"),
             entry(profile="quick"), entry(seed=1), entry(limit=None), entry(limit=30.0)}
    assert len(names) == 7


def test_a_damaged_entry_is_drawn_again(cache_dir: Path, draws: list[str]) -> None:
    first = runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    (entry,) = case_entries(cache_dir)
    entry.write_bytes(b"not a pickle")
    again = runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    assert again == first and draws == ["sin", "sin"]
    assert isinstance(truth_cache.load(entry), list)  # rewritten


def test_off_means_no_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(truth_cache.ENVIRONMENT, "off")
    assert truth_cache.case_entry({"check": "evaluate_vs_truth"}) is None
    runner.run_check("reference", "evaluate_vs_truth", "quick", primitives=["sin"])
    assert not any(tmp_path.iterdir())


def test_cases_skipped_for_the_time_limit_are_not_stored(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """How far a slow evaluation gets depends on the machine: such an item is drawn anew."""
    slow = "the case took longer than the per-case time limit"
    original = runner.cases

    def skipped(*args: object) -> st.SearchStrategy:
        return original(*args).map(lambda c: Case(  # type: ignore[arg-type]
            c.program, c.primals, c.tangents, c.cotangents, c.source, c.dps, skip=slow))

    monkeypatch.setattr(runner, "cases", skipped)
    results = runner.run_check("reference", "evaluate_vs_truth", "ci", primitives=["sin"])
    assert results and all(r.status is Status.SKIP for r in results)
    assert case_entries(cache_dir) == []
