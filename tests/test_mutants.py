"""The suite tests itself: every mutant of ``tests/mutants.py`` must be caught.

A mutant is caught when some check FAILs on the ``ci`` profile's generated cases around the
primitives its bug is reached through (``Mutant.focus_primitives``): exactly the cases
``run_check(mutant, check, "ci", primitives=focus)`` checks in its first pass (the runner's own
strategy, settings and seed, :func:`generated`; ``test_generated_cases_are_the_runners``
keeps the two identical), so a catch here is a catch of ``run(mutant, "ci")``. The cases are
generated once and shared by every mutant with their reference analyses (the truth and the
bounds, the expensive part); shrinking is left out (it only makes a failure smaller).

The catalogue runs in two subprocesses, half each (two cores), with a fixed
``PYTHONHASHSEED`` so that no set-order dependence can make it flaky (the generator had one,
fixed in ``strategies.usable_primitives``).

The ci profile draws two cases per primitive (spec 7.6): the simplest, the focus call alone on
distinct, shaped parameters with non-trivial parameters at unremarkable points (it catches
what a degenerate call hides: a slice padded on the wrong side, unsorted gather indices, a
rank-3 permutation not inverted, a select routed the wrong way, a non-symmetric map taken for
its own adjoint, atan2's operands swapped), and one drawn at random, which usually has kinks
planted in the focus call's operands (a tie, an exact zero, a tiny magnitude: whether seed 0's
random case puts the right kink in the right place is chance). Some bugs need a case these do
not draw: :data:`NEEDS_CORPUS` names them and the case they need; each has a witness
(``Mutant.witness``, a focused case of the kind the corpus ``conformance/cases/`` should hold)
that must catch it instead, and the corpus, when present, must catch it too. Every finding is
checked against the reference: on the same case and check, the reference does not fail.
``python -m tests.test_mutants`` prints the table of what catches each mutant.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.profiles import profile_named
from lintra.conformance.properties import CHECKS, Case
from lintra.conformance.results import CheckResult, Status
from lintra.conformance.runner import run_check
from lintra.reference.jvp import jvp_program
from lintra.reference.transpose import transpose_program
from lintra.reference.unzip import unzip
from tests.harness import runner_cases
from tests.mutants import CATALOGUE, MUTANTS, Mutant, SourceMutant, canonical_names

PROFILE = "ci"
SEED = 0
CONTROL_SEEDS = (0, 1, 2)
"""Seeds on which the reference must pass every check of the cases the catalogue uses."""
HASH_SEED = "0"
"""The ``PYTHONHASHSEED`` of the subprocesses that run the catalogue."""
ROOT = Path(__file__).resolve().parent.parent

NEEDS_CORPUS: dict[str, str] = {
    "AbsOneSidedAtZero": "abs at an exact 0; the properties report a one-sided slope as a "
                         "CONVENTION difference, not a failure: only the corpus's exact kink "
                         "assertion, which reports it as the convention it is",
}
"""Mutants the ci profile's generated cases (seed 0) miss, with the case they need."""

JUDGED_ONLY_BY_CORPUS = frozenset({"AbsOneSidedAtZero"})
"""Bugs no property FAILs on any case: only the corpus's exact kink assertions catch them."""

OTHER_CONVENTIONS = frozenset({"AbsOneSidedAtZero"})
"""Mutants that adopt another convention at a kink (a one-sided slope): by spec 7.4 the
corpus's kink assertions report them as ``convention`` results, which a run lists apart,
never as failures."""

REFERENCE = ReferenceBackend()


# --------------------------------------------------------------------------------------------
# The ci profile's cases, generated once per process


@functools.cache
def generated(focus: str, seed: int = SEED, profile: str = PROFILE) -> tuple[Case, ...]:
    """The cases ``run_check(backend, check, profile, seed=seed, primitives=[focus])``
    checks in its first pass (same strategy, settings and seed)."""
    prof = profile_named(profile)
    label = f"generated: --primitive {focus} --seed {seed} --profile {prof.name}"
    return runner_cases(prof, focus, seed, label)  # type: ignore[return-value]


def focus_cases(mutant: type[Mutant], seed: int = SEED) -> list[Case]:
    return [c for f in mutant.focus_primitives() for c in generated(f, seed)]


def failures(backend: object, cases_: Sequence[Case]) -> list[tuple[Case, CheckResult]]:
    """The FAIL results of every check of ``backend`` on ``cases_``."""
    return [(case, result) for name, check in CHECKS.items() for case in cases_
            if (result := check(backend, case)).status is Status.FAIL]  # type: ignore[arg-type]


def findings(backend: Mutant, cases_: Sequence[Case]) -> list[dict]:
    """The failures as records, each with the reference's status on the same check and case."""
    return [{"check": r.check, "reason": r.reason, "program": r.program,
             "reference": CHECKS[r.check](REFERENCE, case).status.value}
            for case, r in failures(backend, cases_)]


def hunt(names: Sequence[str], control_seeds: Sequence[int]) -> dict:
    """What catches each mutant (its ci cases, its witness), and the reference's failures on
    the catalogue's ci cases for ``control_seeds``: a JSON-able record."""
    out: dict = {"mutants": {}, "control": {}}
    for name in names:
        start = time.perf_counter()
        factory = MUTANTS[name]
        ci = findings(factory(), focus_cases(factory))
        witness = findings(factory(), [factory.witness.case(name)])
        reference = [r.check for _, r in failures(REFERENCE, [factory.witness.case(name)])]
        out["mutants"][name] = {"ci": ci, "witness": witness, "witness_reference": reference,
                                "seconds": time.perf_counter() - start}
    foci = sorted({f for e in CATALOGUE for f in e.factory.focus_primitives()})
    for seed in control_seeds:
        start = time.perf_counter()
        found = failures(REFERENCE, [c for f in foci for c in generated(f, seed)])
        out["control"][seed] = [(r.check, r.program, r.inputs, r.reason) for _, r in found]
        out["control_seconds"] = {**out.get("control_seconds", {}),
                                  seed: time.perf_counter() - start}
    return out


@pytest.fixture(scope="module")
def results() -> dict:
    """:func:`hunt` over the whole catalogue, in two subprocesses with a fixed hash seed."""
    names = [e.name for e in CATALOGUE]
    halves = [(names[0::2], CONTROL_SEEDS[0::2]), (names[1::2], CONTROL_SEEDS[1::2])]
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.test_mutants", "--json", ",".join(part),
         ",".join(map(str, seeds))], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for part, seeds in halves]
    merged: dict = {"mutants": {}, "control": {}}
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, stderr[-4000:]
        part = json.loads(stdout)
        merged["mutants"].update(part["mutants"])
        merged["control"].update(part["control"])
    return merged


def caught_by(record: dict, where: str) -> list[str]:
    return sorted({f["check"] for f in record[where]})


# --------------------------------------------------------------------------------------------
# The catalogue


def test_catalogue_has_at_least_25_documented_mutants() -> None:
    assert len(CATALOGUE) >= 25
    assert len(MUTANTS) == len(CATALOGUE)
    for entry in CATALOGUE:
        assert entry.bug, f"{entry.name} has no docstring saying what bug it models"
        assert entry.factory.witness.why, entry.name
        assert entry.factory.focus_primitives(), entry.name
    assert set(NEEDS_CORPUS) <= set(MUTANTS)
    assert JUDGED_ONLY_BY_CORPUS <= set(NEEDS_CORPUS)
    assert OTHER_CONVENTIONS <= JUDGED_ONLY_BY_CORPUS


def test_generated_cases_are_the_runners() -> None:
    """The shared cases are the ones run_check generates: same programs, same inputs."""
    for focus in ("sin", "dot_general", "gather"):
        results_ = run_check(REFERENCE, "evaluate_vs_truth", PROFILE, seed=SEED,
                             primitives=[focus])
        mine = [c.result("evaluate_vs_truth", Status.PASS) for c in generated(focus)]
        assert [(r.program, r.inputs) for r in results_] == [(r.program, r.inputs)
                                                              for r in mine]


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutant_is_caught(results: dict, name: str) -> None:
    """Some check FAILs on the mutant's ci cases (for the NEEDS_CORPUS ones: on its witness);
    the reference does not fail the very same check on the very same case."""
    record = results["mutants"][name]
    everything = record["ci"] + record["witness"]
    assert not [f for f in everything if "MutationError" in f["reason"]], everything
    assert not [f for f in everything if f["reference"] == "fail"], everything
    if name not in NEEDS_CORPUS:
        assert record["ci"], f"{name} is not caught by the {PROFILE} profile's generated cases"
    elif name not in JUDGED_ONLY_BY_CORPUS:
        assert record["witness"], f"{name}: neither its ci cases nor its witness catch it"


def test_needs_corpus_lists_exactly_the_ci_misses(results: dict) -> None:
    """NEEDS_CORPUS is the truth about the ci profile: a mutant the generated cases now catch
    comes off the list (and one they stop catching must go on it, with its reason)."""
    missed = {n for n, r in results["mutants"].items() if not r["ci"]}
    assert missed == set(NEEDS_CORPUS), {"now caught": sorted(set(NEEDS_CORPUS) - missed),
                                         "now missed": sorted(missed - set(NEEDS_CORPUS))}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_witness_shows_the_bug(results: dict, name: str) -> None:
    """The witness is a real demonstration: the reference fails no check on it, and the
    mutant fails one (or, where no property can judge the bug, computes other values)."""
    record = results["mutants"][name]
    assert not record["witness_reference"]
    if name not in JUDGED_ONLY_BY_CORPUS:
        assert record["witness"], f"{name}: nothing fails on its own witness"
        return
    factory = MUTANTS[name]
    case = factory.witness.case(name)
    _, mine = factory().jvp(case.program, case.primals, case.tangents)
    _, theirs = REFERENCE.jvp(case.program, case.primals, case.tangents)
    assert not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(mine, theirs))


@pytest.mark.parametrize("name", sorted(NEEDS_CORPUS))
def test_corpus_catches_what_ci_misses(name: str) -> None:
    """The corpus (``conformance/cases/``) holds a case for each bug the generated cases
    miss: with it, ``run(mutant, "ci")`` catches the whole catalogue (a mutant that adopts
    another convention, :data:`OTHER_CONVENTIONS`, as the convention difference it is)."""
    corpus = pytest.importorskip("lintra.conformance.corpus")
    mutant = MUTANTS[name]()
    verdicts = {Status.FAIL, Status.CONVENTION} if name in OTHER_CONVENTIONS else {Status.FAIL}
    found = [r for case in corpus.load_corpus() for r in corpus.run_corpus_case(mutant, case)
             if r.status in verdicts]
    assert found, f"no corpus case catches {name}: it needs {NEEDS_CORPUS[name]}"


@pytest.mark.parametrize("name", [e.name for e in CATALOGUE
                                  if e.factory.scope or hasattr(e.factory, "rule")])
def test_bug_is_local(name: str) -> None:
    """A rule or kernel bug leaves every program that does not reach it untouched: for the
    ci cases of the whole catalogue, the mutant's source, JVP and transposed programs equal
    the reference's unless the program (or its linear program) uses the affected primitive."""
    factory = MUTANTS[name]
    mutant = factory()
    affected = set(factory.scope) | {getattr(factory, "rule", "")}
    programs = {str(c.program): c.program for e in CATALOGUE for c in focus_cases(e.factory)}
    untouched = 0
    for p in programs.values():
        lp = canonical_names(unzip(jvp_program(p))[1])
        if affected & {e.primitive for e in (*p.equations, *lp.equations)}:
            continue
        untouched += 1
        assert mutant.source(p) == p
        assert mutant.jvp_program(p) == jvp_program(p)
        assert mutant.transpose_program(lp) == transpose_program(lp)
    assert untouched > 0
    if issubclass(factory, SourceMutant):
        witness = factory.witness.case(name).program
        assert mutant.source(witness) != witness


@pytest.mark.parametrize("seed", CONTROL_SEEDS)
def test_reference_passes_the_catalogues_cases(results: dict, seed: int) -> None:
    """The control: the reference FAILs nothing on the ci cases the catalogue uses, for
    several seeds (the reference's full ci run is tests/test_conformance.py's)."""
    assert results["control"][str(seed)] == []


# --------------------------------------------------------------------------------------------
# Command line: the subprocess side, and the table


def table(results: dict) -> str:
    """What catches each mutant, one line each."""
    lines = [f"{'mutant':32s} {'ci checks that FAIL (seed 0)':44s} {'witness':8s} seconds"]
    for entry in CATALOGUE:
        r = results["mutants"][entry.name]
        ci = ", ".join(caught_by(r, "ci")) or "none: needs corpus"
        lines.append(f"{entry.name:32s} {ci:44s} {len(caught_by(r, 'witness')):8d} "
                     f"{r['seconds']:7.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    if argv and argv[0] == "--json":
        names = [n for n in argv[1].split(",") if n]
        seeds = [int(s) for s in argv[2].split(",") if s] if len(argv) > 2 else []
        print(json.dumps(hunt(names, seeds)))
        return
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        os.execve(sys.executable, [sys.executable, "-m", "tests.test_mutants", *argv], env)
    print(table(hunt([e.name for e in CATALOGUE], [])))


if __name__ == "__main__":
    main(sys.argv[1:])
