"""The opt-in pytest plugin ``lintra.conformance.plugin``.

Inner pytest sessions (the ``pytester`` fixture, in process) run with the runner's
``CHECKS`` and ``run_check`` and the corpus's ``load_corpus`` and ``run_corpus_case``
replaced by fakes on the real modules, which the plugin looks up when it uses them: the
tests check what the plugin makes of results (item ids, outcomes, failure text, skip
reasons, the skips and xfails files, stale entries, usage errors), not the suite's speed.
One test runs one real property on the reference.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest

from lintra.conformance import corpus as corpus_module
from lintra.conformance import runner as runner_module
from lintra.conformance.plugin import Entry, parse_entries
from lintra.conformance.results import CheckResult, Status
from lintra.reference.primitives.base import LinearityKind

pytest_plugins = ["pytester"]

PROGRAM = "def f(x: f64[]) -> f64[]:\n    y = sin(x)\n    return y"


def result(check: str, status: Status, reason: str = "", primitive: str = "sin"
           ) -> CheckResult:
    return CheckResult(check, status, reason, error=math.inf if status is Status.FAIL else 0.5,
                       program=PROGRAM, inputs="float64[] [0x1.8000000000000p+0]",
                       primitives=(primitive,),
                       case=f"generated: --check {check} --primitive {primitive} --seed 4 "
                            "--profile quick")


PRIMITIVES = ("sin", "tan")

OUTCOMES = {
    ("alpha", "sin"): [result("alpha", Status.PASS), result("alpha", Status.PASS)],
    ("alpha", "tan"): [result("alpha", Status.PASS, primitive="tan")],
    ("beta", "sin"): [result("beta", Status.PASS)],
    ("beta", "tan"): [result("beta", Status.FAIL, "result 1[]: got 1.5, expected 2.5", "tan")],
    ("gamma", "sin"): [result("gamma", Status.SKIP, "backend does not support sin"),
                       result("gamma", Status.SKIP, "no hvp method"),
                       result("gamma", Status.SKIP, "backend does not support sin")],
    ("gamma", "tan"): [result("gamma", Status.SKIP, "no hvp method", "tan")],
}


@dataclass(frozen=True)
class FakeCase:
    name: str


class Fakes:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, int]] = []
        self.options: list[dict[str, object]] = []
        """The other keyword arguments of each run_check call."""
        self.corpus_calls: list[str] = []

    def run_check(self, backend: object, name: str, profile: str, *, seed: int = 0,
                  primitives: list[str], **options: object) -> list[CheckResult]:
        (primitive,) = primitives
        self.calls.append((name, primitive, profile, seed))
        self.options.append(options)
        return OUTCOMES[name, primitive]

    @staticmethod
    def load_corpus() -> list[FakeCase]:
        return [FakeCase("kink_abs"), FakeCase("kink_max"), FakeCase("value_exp")]

    def run_corpus_case(self, backend: object, case: FakeCase) -> list[CheckResult]:
        self.corpus_calls.append(case.name)
        where = f"corpus /x/kinks.lcase:3 {case.name} (kink, line 5)"
        if case.name == "kink_abs":
            return [CheckResult("corpus_kink", Status.CONVENTION, "took the left slope at 0",
                                primitives=("abs",), case=where)]
        if case.name == "kink_max":
            return [CheckResult("corpus_kink", Status.FAIL, "got 1, expected 0.5",
                                program="def g(x: f64[]) -> f64[]: ...", primitives=("max",),
                                case=where)]
        return [CheckResult("corpus_value", Status.PASS, primitives=("exp",), case=where)]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    f = Fakes()
    monkeypatch.setattr(runner_module, "CHECKS", ("alpha", "beta", "gamma"))
    monkeypatch.setattr(runner_module, "PRIMITIVES", dict.fromkeys(reversed(PRIMITIVES)))
    monkeypatch.setattr(runner_module, "run_check", f.run_check)
    monkeypatch.setattr(corpus_module, "load_corpus", f.load_corpus)
    monkeypatch.setattr(corpus_module, "run_corpus_case", f.run_corpus_case)
    return f


PLUGIN = ("-p", "lintra.conformance.plugin")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner session in this process. The plugin is imported here already (its parsing
    functions are tested directly), so pytest cannot rewrite its asserts: it has none."""
    return pytester.runpytest("-W", "ignore::pytest.PytestAssertRewriteWarning", *args)
IDS = ["check::alpha::sin", "check::alpha::tan", "check::beta::sin", "check::beta::tan",
       "check::gamma::sin", "check::gamma::tan", "corpus::kink_abs", "corpus::kink_max",
       "corpus::value_exp"]


def test_inert_without_a_backend(pytester: pytest.Pytester, fakes: Fakes) -> None:
    pytester.makepyfile("def test_own():\n    pass\n")
    res = run(pytester, *PLUGIN, "--lintra-skips", "does-not-exist.txt")
    res.assert_outcomes(passed=1)
    assert fakes.calls == [] and fakes.corpus_calls == []
    assert "lintra" not in res.stdout.str() + res.stderr.str()


def test_one_item_per_property_and_per_corpus_case(pytester: pytest.Pytester,
                                                   fakes: Fakes) -> None:
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--collect-only", "-q")
    assert [line for line in res.stdout.lines if "::" in line] == IDS
    assert fakes.calls == []  # collecting runs nothing


def test_outcomes_failure_text_and_conventions(pytester: pytest.Pytester, fakes: Fakes) -> None:
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-profile",
                             "quick", "--lintra-seed", "4", "-rs")
    res.assert_outcomes(passed=5, failed=2, skipped=2)
    assert fakes.calls == [(c, p, "quick", 4) for c in ("alpha", "beta", "gamma")
                           for p in PRIMITIVES]
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    res.stdout.fnmatch_lines([
        "*_ check::beta::tan _*",
        "FAIL beta: result 1[]: got 1.5, expected 2.5",
        "  error: inf x bound",
        "  case: generated: --check beta --primitive tan --seed 4 --profile quick",
        "  program:",
        "    def f(x: f64[]) -> f64[]:",
        "  inputs (primals, tangents, cotangents):",
        "    float64[] [0x1.8000000000000p+0]",
        "  re-run: python -m lintra.conformance --backend reference --check beta --primitive "
        "tan --seed 4 --profile quick --no-corpus",
        "*_ corpus::kink_max _*",
        "FAIL corpus_kink: got 1, expected 0.5",
        "  re-run: python -m lintra.conformance --backend reference --case kink_max",
    ])
    # a skipped property gives its reasons, most frequent first
    res.stdout.fnmatch_lines(["SKIPPED*backend does not support sin (2x); no hvp method"])
    res.stdout.fnmatch_lines(["*lintra convention differences*",
                              "corpus::kink_abs: corpus_kink: took the left slope at 0"])


def test_strict_conventions_fail_the_item_and_are_still_listed(
        pytester: pytest.Pytester, fakes: Fakes) -> None:
    """Under --lintra-conventions strict, corpus::kink_abs (a convention difference) fails
    too, and is listed under a heading that says so; the options reach run_check."""
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-conventions",
              "strict", "--lintra-case-time-limit", "7")
    res.assert_outcomes(passed=4, failed=3, skipped=2)
    assert {str(o) for o in fakes.options} == {str({"conventions": "strict",
                                                    "case_time_limit": 7.0})}
    res.stdout.fnmatch_lines([
        "*_ corpus::kink_abs _*",
        "FAIL corpus_kink: convention difference (a failure under --conventions strict): "
        "took the left slope at 0",
        "*lintra convention differences (spec chapter 6: failures under "
        "--lintra-conventions strict)*",
        "corpus::kink_abs: corpus_kink: convention difference*took the left slope at 0"])
    res.stdout.fnmatch_lines(["lintra conformance: backend reference (*), profile ci, seed 0, "
                              "conventions strict"])  # the header line


def test_skips_and_xfails_files(pytester: pytest.Pytester, fakes: Fakes) -> None:
    skips = pytester.makefile(".txt", skips="""
        # known gaps of this backend
        check::gamma      # no hvp method yet
        corpus::kink_*    # kinks: convention work pending
        check::removed    # a property that no longer exists
    """)
    xfails = pytester.makefile(".txt", xfails="""
        check::beta::tan  # tan is off by a few ulps, issue 12
        check::alpha
        corpus            # every corpus item (kink ones are skipped first)
    """)
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-skips",
                             str(skips), "--lintra-xfails", str(xfails), "-rsxX")
    res.assert_outcomes(passed=1, skipped=4, xfailed=1, xpassed=3)
    # skipped items do not run
    assert [c[:2] for c in fakes.calls] == [("alpha", "sin"), ("alpha", "tan"),
                                            ("beta", "sin"), ("beta", "tan")]
    assert fakes.corpus_calls == ["value_exp"]
    out = res.stdout.str()
    assert "no hvp method yet (" in out and "skips.txt:2)" in out
    assert re.search(r"SKIPPED \[2\] .*: kinks: convention work pending", out)
    assert re.search(r"SKIPPED \[2\] .*: no hvp method yet", out)
    assert "tan is off by a few ulps, issue 12" in out
    # the one stale entry is named, with its line; the others matched
    res.stdout.fnmatch_lines(["*StaleEntryWarning: skips file: 1 entry matches no lintra*",
                              "*check::removed*skips.txt:4*"])
    assert "xfails file:" not in out


def test_a_corpus_that_does_not_load_is_a_collection_error(
        pytester: pytest.Pytester, fakes: Fakes, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[FakeCase]:
        raise corpus_module.CorpusError("cases/x.lcase:3: case y is also defined at ...")

    monkeypatch.setattr(corpus_module, "load_corpus", broken)
    skips = pytester.makefile(".txt", skips="check::alpha\n")
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-skips", str(skips))
    assert res.ret == pytest.ExitCode.INTERRUPTED
    res.stdout.fnmatch_lines(["*ERROR collecting lintra-conformance*",
                              "*CorpusError: cases/x.lcase:3: case y is also defined*"])
    assert "StaleEntryWarning" not in res.stdout.str()
    assert fakes.calls == []


def test_entries_are_exact_ids_prefixes_or_kinds() -> None:
    entries = parse_entries(
        "# a comment\n\ncheck::jvp   # why\ncorpus::k*\ncheck\n  check::x#tight\ncorpus::\n",
        "f.txt")
    assert [(e.pattern, e.reason, e.line) for e in entries] == [
        ("check::jvp", "why (f.txt:3)", 3), ("corpus::k*", "listed at f.txt:4", 4),
        ("check", "listed at f.txt:5", 5), ("check::x", "tight (f.txt:6)", 6),
        ("corpus", "listed at f.txt:7", 7)]
    jvp, star, kind, _, _ = entries
    assert jvp.matches("check::jvp") and not jvp.matches("check::jvp_vs_oracle")
    assert jvp.matches("check::jvp::sin") and not jvp.matches("check::jvp_vs_oracle::sin")
    assert star.matches("corpus::kink_abs") and star.matches("corpus::k")
    assert not star.matches("check::kink")
    assert kind.matches("check::alpha") and not kind.matches("corpus::alpha")
    assert not Entry("corpus", "", "f", 1).matches("corpusx::a")


def test_a_star_inside_an_entry_matches_within_one_part() -> None:
    every_property, suffix, both = parse_entries(
        "check::*::sin  # sin everywhere\ncheck::*_vs_oracle::tan\ncheck::jvp*::exp*\n", "f")
    assert every_property.matches("check::jvp_vs_oracle::sin")
    assert every_property.matches("check::evaluate_vs_truth::sin")
    assert not every_property.matches("check::jvp_vs_oracle::sinh")
    assert not every_property.matches("corpus::sin")
    assert suffix.matches("check::hvp_vs_oracle::tan")
    assert not suffix.matches("check::jvp_vs_reference::tan")
    assert both.matches("check::jvp_vs_oracle::exp") and both.matches("check::jvp::expm1")
    assert not both.matches("check::vjp_vs_oracle::exp")


@pytest.mark.parametrize("line", ["check::a b", "test_x.py::test_y", "check::**", "checks::a",
                                  "corpus:a"])
def test_malformed_entries_are_usage_errors(pytester: pytest.Pytester, fakes: Fakes,
                                            line: str) -> None:
    skips = pytester.makefile(".txt", skips=f"check::alpha\n{line}  # reason\n")
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-skips",
                             str(skips))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*skips.txt:2*not an item id*"])
    assert fakes.calls == []


def test_a_missing_file_is_a_usage_error(pytester: pytest.Pytester, fakes: Fakes) -> None:
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-xfails",
                             "nowhere.txt")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*cannot read nowhere.txt*"])


@pytest.mark.parametrize("spec, message", [
    ("absent_framework_backend:make", "*unavailable*needs FooGrad*"),
    ("nonsense", "*unknown backend*"),
])
def test_a_backend_that_does_not_load_is_a_usage_error(
        pytester: pytest.Pytester, fakes: Fakes, spec: str, message: str) -> None:
    pytester.makepyfile(absent_framework_backend="""
        from lintra.conformance.backend import BackendUnavailable

        def make():
            raise BackendUnavailable("needs FooGrad: pip install 'lintra[foo]'")
    """)
    pytester.syspathinsert()
    res = run(pytester, *PLUGIN, "--lintra-backend", spec)
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines([message])
    assert fakes.calls == []


def test_enabled_from_a_conftest_and_selected_by_marker_or_keyword(
        pytester: pytest.Pytester, fakes: Fakes) -> None:
    pytester.makeconftest('pytest_plugins = ["lintra.conformance.plugin"]\n')
    pytester.makepyfile("def test_own():\n    pass\n")
    res = run(pytester, "--lintra-backend", "reference", "-m", "lintra_conformance")
    res.assert_outcomes(passed=5, failed=2, skipped=2, deselected=1)
    res = run(pytester, "--lintra-backend", "reference", "-k", "alpha or value_exp")
    res.assert_outcomes(passed=3, deselected=7)
    assert [c[0] for c in fakes.calls] == ["alpha"] * 2 + ["beta"] * 2 + ["gamma"] * 2 + [
        "alpha"] * 2


def test_one_real_property_on_the_reference(pytester: pytest.Pytester) -> None:
    """The real runner and corpus: one cheap property passes on the quick profile, around
    each primitive (skipped for those only linear programs use)."""
    res = run(pytester, *PLUGIN, "--lintra-backend", "reference", "--lintra-profile",
                             "quick", "-k", "evaluate_vs_truth", "-rs")
    n = len(runner_module.PRIMITIVES)
    linear_only = sum(p.linearity.kind is LinearityKind.LINEAR_ONLY
                      for p in runner_module.PRIMITIVES.values())
    outcomes = res.parseoutcomes()
    assert outcomes.get("failed", 0) == 0
    assert outcomes["passed"] + outcomes.get("skipped", 0) == n
    assert outcomes["deselected"] == ((len(runner_module.CHECKS) - 1) * n
                                      + len(corpus_module.load_corpus()))
    # a case may leave nothing to judge (a skip); a primitive only linear programs use must
    assert res.stdout.str().count("appears only in linear programs") == linear_only
