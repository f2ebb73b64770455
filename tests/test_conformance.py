"""The suite against correct backends (spec 7.4-7.6): the reference passes every property on
the ci profile for several seeds; results carry reproducers; failures are shrunk; backends
are loaded by name or ``module:factory`` and bad names are refused."""

from __future__ import annotations

import numpy as np
import pytest

from lintra.conformance.backend import load_backend
from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.corpus import parse_corpus, run_corpus_case
from lintra.conformance.properties import CHECKS, Case, exact
from lintra.conformance.results import Status
from lintra.conformance.runner import CHECK_NAMES, run, run_check
from lintra.reference import parse_program


@pytest.mark.slow
@pytest.mark.parametrize("profile, seed", [("ci", 0), ("quick", 1), ("quick", 2), ("quick", 3)])
def test_the_reference_passes_every_property(profile: str, seed: int) -> None:
    """The ci profile (the one .ci/run promises), and more seeds on the quick one; deeper:
    ``python -m lintra.conformance --backend reference --profile thorough --seed N``."""
    report = run("reference", profile, seed=seed, corpus=False)
    assert report.ok, "\n\n".join(f"{r.check}: {r.reason}\n{r.program}\n{r.inputs}"
                                  for r in report.failures)
    counts = report.counts()
    assert set(counts) == set(CHECK_NAMES)
    for name, c in counts.items():
        assert c["pass"] > 0, f"{name} never passed: {dict(c)}"  # no vacuous check


@pytest.mark.slow
def test_the_optimized_engine_passes_every_property_and_the_corpus() -> None:
    """lintra.optimized, an independent implementation of the spec, on the quick profile and
    the whole corpus (the README's main job runs it on the ci profile)."""
    report = run("optimized", "quick", seed=0, corpus=True)
    assert report.ok, "\n\n".join(f"{r.check}: {r.reason}\n{r.program}\n{r.inputs}"
                                  for r in report.failures)
    counts = report.counts()
    for name in CHECK_NAMES:
        assert counts[name]["pass"] > 0, f"{name} never passed: {dict(counts[name])}"


def test_a_failure_is_shrunk_and_reproducible() -> None:
    """A backend whose sin is off by a relative 1e-12 fails evaluate_vs_truth; the reported
    case is small and its program uses sin."""

    class SloppySin(ReferenceBackend):
        name = "sloppy-sin"

        def evaluate(self, program, args):  # type: ignore[no-untyped-def]
            outs = super().evaluate(program, args)
            if any(e.primitive == "sin" for e in program.equations):
                return tuple(o * (1 + 1e-12) if o.dtype.kind == "f" else o for o in outs)
            return outs

    results = run_check(SloppySin(), "evaluate_vs_truth", "ci", primitives=["add", "sin"])
    failures = [r for r in results if r.status is Status.FAIL]
    assert len(failures) == 1
    failure = failures[0]
    assert "sin" in failure.primitives and "sin(" in failure.program
    assert failure.program.count("\n") <= 6  # shrunk: a handful of equations
    assert failure.inputs and "--primitive sin --seed 0" in failure.case
    # the reproducer is a corpus file on which the sloppy backend fails and the reference not
    (case,) = parse_corpus(failure.reproducer).cases
    assert any(r.status is Status.FAIL for r in run_corpus_case(SloppySin(), case))
    assert all(r.status is Status.PASS for r in run_corpus_case(ReferenceBackend(), case))


def test_checks_judge_one_case_directly() -> None:
    """The plain-Python form: a Case and a check function."""
    p = parse_program("def f(x: f64[2]) -> f64[]:\n    y: f64[2] = exp(x)\n"
                      "    s: f64[] = reduce_sum(y, axes=(0,))\n    return s\n")
    case = Case(p, (np.array([0.5, -1.0]),), (np.array([1.0, 2.0]),), (np.array(0.5),))
    for name, check in CHECKS.items():
        result = check(ReferenceBackend(), case)
        assert result.status in (Status.PASS, Status.SKIP), (name, result.reason)
        assert result.program == str(p)


def test_load_backend_by_name_and_by_factory() -> None:
    assert load_backend("reference").name == "reference"
    backend = load_backend("lintra.conformance.backends.reference:ReferenceBackend")
    assert isinstance(backend, ReferenceBackend)
    same = ReferenceBackend()
    assert load_backend(same) is same


def test_a_missing_builtin_backend_is_unavailable_not_an_import_error(monkeypatch) -> None:
    from lintra.conformance import backend

    monkeypatch.setitem(backend.BUILTIN, "optimized",
                        "lintra.conformance.backends.no_such_module:Backend")
    with pytest.raises(backend.BackendUnavailable, match="optimized"):
        load_backend("optimized")


@pytest.mark.parametrize("spec, message", [
    ("nonsense", "unknown backend"),
    ("no_such_module_xyz:factory", "cannot import"),
    ("lintra.conformance.backends.reference:Missing", "no attribute"),
    ("lintra.conformance.profiles:PROFILES", "lacks"),
])
def test_bad_backend_names_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_backend(spec)


def test_unsupported_primitives_are_skipped_not_failed() -> None:
    from lintra.conformance.backend import Capabilities
    from lintra.reference import PRIMITIVES

    class NoSin(ReferenceBackend):
        name = "no-sin"
        capabilities = Capabilities(primitives=frozenset(PRIMITIVES) - {"sin"})

        def evaluate(self, program, args):  # type: ignore[no-untyped-def]
            assert all(e.primitive != "sin" for e in program.equations)
            return super().evaluate(program, args)

    results = run_check(NoSin(), "evaluate_vs_truth", "quick", primitives=["sin", "cos"])
    assert not any(r.status is Status.FAIL for r in results)
    assert any(r.status is Status.SKIP and "does not support sin" in r.reason for r in results)
    assert any(r.status is Status.PASS and "cos" in r.primitives for r in results)


def test_the_oracle_pays_for_rounding_the_points_of_its_line() -> None:
    """``x0 - x1`` at a tie the tangent leaves: the function is tiny along the line, but the
    points ``0.7 + s·t`` are rounded relative to 0.7 at the oracle's working precision, which
    its bound must cover (a reference run once failed grad_vs_oracle here, by 4.6e7 bounds).
    The derivative is t0 - t1 = 1.7 exactly."""
    p = parse_program("def f(x0: f64[], x1: f64[]) -> f64[]:\n    a0 = sub(x0, x1)\n"
                      "    return a0\n")
    x = float.fromhex("0x1.6666666666666p-1")
    c = Case(p, (np.array(x), np.array(x)), (np.array(1.1), np.array(-0.6)),
             (np.array(-0.9),))
    estimate = c.oracle()
    (value,), (bound,) = estimate.values, estimate.bounds
    assert abs(exact(value[()]) - (exact(1.1) + exact(0.6))) <= exact(bound[()])
    for name in ("jvp_vs_oracle", "grad_vs_oracle"):
        assert CHECKS[name](ReferenceBackend(), c).status is Status.PASS
