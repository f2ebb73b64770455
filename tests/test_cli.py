"""The command line ``python -m lintra.conformance``, its progress bar and its reports.

Most tests replace the runner's ``run_check`` and ``CHECKS`` and the corpus's
``load_corpus`` and ``run_corpus_case`` with fakes (monkeypatched on the real modules, which
the command line looks up on each call), so that they test the command line itself: the
exit statuses, what is selected and passed on, what is printed and written. Two end-to-end
tests run the real suite in a subprocess: on the reference (the command line gives the
same results as ``run_check``) and on a sloppy backend (the printed re-run command reproduces
the failure).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from lintra.conformance import __main__ as cli
from lintra.conformance import corpus as corpus_module
from lintra.conformance import runner as runner_module
from lintra.conformance.progress import ProgressBar, format_seconds
from lintra.conformance.report import (
    format_summary,
    format_table,
    histogram,
    primitive_rows,
    property_rows,
    render_html,
    rerun_command,
    write_json,
)
from lintra.conformance.results import CheckResult, RunReport, Status

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = "def f(x: f64[]) -> f64[]:\n    y = sin(x)\n    return y"


def generated(check: str, status: Status, primitive: str = "sin", *, error: float | None = None,
              reason: str = "", seed: int = 0, profile: str = "quick") -> CheckResult:
    """A result as the runner makes one, its origin naming the options that regenerate it."""
    return CheckResult(check, status, reason, error=error, compared=1, program=PROGRAM,
                       inputs="float64[] [0x1.0000000000000p-1]", primitives=(primitive,),
                       case=f"generated: --check {check} --primitive {primitive} "
                            f"--seed {seed} --profile {profile}")


@dataclass(frozen=True)
class FakeCase:
    name: str


class Fakes:
    """The fake runner and corpus, recording what they were asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, tuple[str, ...]]] = []
        self.options: list[dict[str, object]] = []
        """The other keyword arguments of each run_check call."""
        self.corpus_calls: list[str] = []
        self.fail: set[tuple[str, str]] = set()
        """(check, primitive) pairs that fail."""
        self.interrupt_after: int | None = None
        self.corpus_loaded = False

    def run_check(self, backend: object, name: str, profile: str, *, seed: int = 0,
                  primitives: list[str] | None = None, **options: object) -> list[CheckResult]:
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        prims = tuple(primitives or ("sin", "cos"))
        self.calls.append((name, profile, seed, prims))
        self.options.append(options)
        out = []
        for p in prims:
            status, extra = Status.PASS, {"error": 0.25}
            if (name, p) in self.fail:
                status, extra = Status.FAIL, {"error": math.inf, "reason": f"{p} is off <by far>"}
            out.append(replace(generated(name, status, p, seed=seed, profile=profile, **extra),
                               item=f"check::{name}::{p}"))
        return out

    def load_corpus(self) -> list[FakeCase]:
        self.corpus_loaded = True
        return [FakeCase("c1"), FakeCase("c2")]

    def run_corpus_case(self, backend: object, case: FakeCase) -> list[CheckResult]:
        self.corpus_calls.append(case.name)
        return [CheckResult("corpus_value", Status.PASS, error=0.5, primitives=("exp",),
                            case=f"corpus /x/cases/unary.lcase:3 {case.name} (value, line 4)"),
                CheckResult("corpus_kink", Status.CONVENTION, "took the right-hand slope",
                            primitives=("abs",), element="tangent 1[]", expected="0",
                            got="1", point="0.0", convention=True,
                            case=f"corpus /x/cases/kinks.lcase:9 {case.name} (kink, line 9)")]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    f = Fakes()
    monkeypatch.setattr(runner_module, "CHECKS", ("alpha", "beta"))
    monkeypatch.setattr(runner_module, "run_check", f.run_check)
    # the fakes live in this process: the default of one worker per CPU would not see them
    monkeypatch.setattr(runner_module, "usable_cpus", lambda: 1)
    monkeypatch.setattr(corpus_module, "load_corpus", f.load_corpus)
    monkeypatch.setattr(corpus_module, "run_corpus_case", f.run_corpus_case)
    return f


def main(*argv: str) -> int:
    """The command line's exit status, whether it returns it or argparse exits with it."""
    try:
        return cli.main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)


# --------------------------------------------------------------------------------------------
# Options and exit statuses


def test_help_lists_every_option_of_the_parser() -> None:
    """``--help`` (run as a user runs it) names every option argparse defines, the choices
    of the profile, the exit statuses, and that an unavailable backend exits 2."""
    out = subprocess.run([sys.executable, "-m", "lintra.conformance", "--help"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    options = [s for a in cli.build_parser()._actions for s in a.option_strings]
    assert len(options) >= 11
    for option in options:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", out.stdout), option
    for profile in ("quick", "ci", "thorough"):
        assert profile in out.stdout
    assert re.search(r"\s+".join("not installed prints why and exits 2".split()), out.stdout)
    for status in ("0", "1", "2"):
        assert re.search(rf"^\s+{status}\s+\S", out.stdout, re.M), status


def test_a_passing_run_exits_0_and_prints_the_tables(
        fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    assert main("--backend", "reference", "--profile", "quick", "--primitive", "sin",
                "cos") == 0
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if len(line.split()) == 6}
    assert rows["alpha"] == ["2", "0", "0", "0", "0.25"]
    assert rows["beta"] == ["2", "0", "0", "0", "0.25"]
    assert rows["corpus_kink"] == ["0", "0", "0", "2", "-"]
    assert rows["sin"] == ["2", "0", "0", "0", "0.25"]  # the per-primitive table
    assert "lintra conformance passed" in out and "2 convention differences" in out
    assert fakes.corpus_calls == ["c1", "c2"]
    # every convention difference is listed on the console: property, item, element, the
    # spec's value and the backend's, the point and the corpus case
    assert "convention differences (2; spec chapter 6: reported, not failed" in out
    for name in ("c1", "c2"):
        assert f"corpus_kink on corpus::{name}: tangent 1[]: spec 0, backend 1" in out
        assert f"corpus /x/cases/kinks.lcase:9 {name} (kink, line 9)" in out
    assert "    at 0.0" in out
    # not a terminal: whole progress lines, the first and the last, on stderr only
    assert "0/6" in err and "6/6 100%" in err and "corpus: c2" not in out


def test_a_failure_exits_1_and_prints_its_reproducer(
        fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.fail = {("alpha", "cos")}
    status = main("--backend", "reference", "--profile", "quick", "--primitive", "sin", "cos",
                  "tan", "--seed", "3", "--no-corpus")
    out, _ = capsys.readouterr()
    assert status == 1
    assert "FAIL alpha: cos is off <by far>" in out
    assert "    def f(x: f64[]) -> f64[]:" in out and "0x1.0000000000000p-1" in out
    assert ("re-run: python -m lintra.conformance --backend reference --check alpha "
            "--primitive cos --seed 3 --profile quick --no-corpus") in out
    # a failure ends nothing else: every property runs on every primitive
    assert [(c[0], c[3]) for c in fakes.calls] == [
        ("alpha", ("sin",)), ("alpha", ("cos",)), ("alpha", ("tan",)),
        ("beta", ("sin",)), ("beta", ("cos",)), ("beta", ("tan",))]


def test_options_are_passed_to_the_runner(fakes: Fakes) -> None:
    assert main("--backend", "reference", "--check", "beta", "--primitive", "exp",
                "--primitive", "log", "--seed", "7", "--profile", "thorough", "--no-corpus",
                "-q") == 0
    assert fakes.calls == [("beta", "thorough", 7, ("exp",)), ("beta", "thorough", 7, ("log",))]
    assert not fakes.corpus_loaded and not fakes.corpus_calls


def test_conventions_xfails_and_the_time_limit_are_passed_on(fakes: Fakes) -> None:
    assert main("--backend", "reference", "--check", "beta", "--primitive", "exp",
                "--conventions", "strict", "--case-time-limit", "2.5", "--no-corpus",
                "-q") == 0
    assert fakes.options == [{"conventions": "strict", "case_time_limit": 2.5}]
    assert main("--backend", "reference", "--check", "beta", "--primitive", "exp",
                "--no-corpus", "-q") == 0
    assert fakes.options[-1] == {"conventions": "report",
                                 "case_time_limit": runner_module.CASE_TIME_LIMIT}


def test_known_failures_exit_0_listed_once_with_stale_entries(
        fakes: Fakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.fail = {("alpha", "cos"), ("beta", "cos")}
    xfails = tmp_path / "xfails.txt"
    xfails.write_text("# known\ncheck::alpha::cos  # cos is off, issue 12\n"
                      "check::beta::sin  # fixed since?\ncorpus::c9  # renamed\n")
    argv = ("--backend", "reference", "--primitive", "sin", "cos", "--xfails", str(xfails))
    assert main(*argv) == 1  # beta on cos is not listed: it still fails the run
    out, _ = capsys.readouterr()
    assert "FAIL beta: cos is off" in out and "FAIL alpha" not in out
    assert "known failures (1 items" in out
    assert "  check::alpha::cos: 1 failing result (check::alpha::cos: cos is off, issue 12 (" \
        in out
    assert "corpus::c9 (" in out and "match no item" in out  # stale
    assert "check::beta::sin (" in out and "did not fail" in out  # xpassed
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if len(line.split()) == 7}
    assert rows["alpha"] == ["1", "0", "1", "0", "0", "inf"]  # pass, fail, xfail, ...
    fakes.fail = {("alpha", "cos")}
    assert main(*argv, "-q") == 0
    assert "1 known failures" in capsys.readouterr().out


@pytest.mark.parametrize("text, message", [
    ("check::alpha cos\n", "is not an item id"),
    ("frobnicate::x\n", "is not an item id"),
    (None, "cannot read"),
])
def test_a_bad_xfails_file_is_a_usage_error(fakes: Fakes, tmp_path: Path, text: str | None,
                                            message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "xfails.txt"
    if text is not None:
        path.write_text(text)
    assert main("--backend", "reference", "--xfails", str(path)) == 2
    assert message in capsys.readouterr().err and fakes.calls == []


def test_strict_conventions_fail_a_convention_and_both_modes_list_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JAX's abs'(0) = 1 at the corpus's kink row of abs (a wrapper backend of
    tests/test_conventions.py): exit 0 and listed by default, exit 1 and listed under
    --conventions strict; the JSON says which mode judged it."""
    backend = "tests.test_conventions:AbsRightSlope"
    for mode, status in (("report", 0), ("strict", 1)):
        path = tmp_path / f"{mode}.json"
        assert main("--backend", backend, "--case", "kink_abs", "--conventions", mode,
                    "--json", str(path)) == status
        out = capsys.readouterr().out
        assert "corpus_kink on corpus::kink_abs: tangent 1[0]: spec 0, backend 1" in out
        assert "corpus_kink on corpus::kink_abs: cotangent 1[0]: spec 0, backend 1" in out
        assert "    at [0.0, 0.0]" in out
        data = json.loads(path.read_text())
        assert data["conventions"] == mode
        assert {r["status"] for r in data["results"]} == {
            "convention" if mode == "report" else "fail"}
        assert all(r["convention"] for r in data["results"])
    assert "FAIL corpus_kink: convention difference (a failure under --conventions strict)" \
        in out


@pytest.mark.parametrize("value", ["-1", "nan", "x"])
def test_a_bad_time_limit_is_a_usage_error(fakes: Fakes, value: str) -> None:
    assert main("--backend", "reference", "--case-time-limit", value) == 2
    assert fakes.calls == []


def test_every_primitive_by_default_and_the_ci_profile(fakes: Fakes) -> None:
    from lintra.reference.primitives import PRIMITIVES

    assert main("--backend", "reference", "--check", "alpha", "--no-corpus", "-q") == 0
    assert [c[3] for c in fakes.calls] == [(p,) for p in sorted(PRIMITIVES)]
    assert {c[1] for c in fakes.calls} == {"ci"} and {c[2] for c in fakes.calls} == {0}


def test_case_runs_only_the_named_corpus_cases(fakes: Fakes) -> None:
    assert main("--backend", "reference", "--case", "c2", "-q") == 0
    assert fakes.calls == [] and fakes.corpus_calls == ["c2"]
    assert main("--backend", "reference", "--case", "c1", "--check", "alpha",
                "--primitive", "sin", "-q") == 0
    assert [c[0] for c in fakes.calls] == ["alpha"] and fakes.corpus_calls == ["c2", "c1"]


@pytest.mark.parametrize(("argv", "workers"), [((), 3), (("--jobs", "0"), 3),
                                              (("--jobs", "1"), 1), (("--jobs", "5"), 5)])
def test_jobs_default_to_one_worker_per_cpu(monkeypatch: pytest.MonkeyPatch,
                                            argv: tuple[str, ...], workers: int) -> None:
    """Without ``--jobs`` (or with 0) the items run in one worker per usable CPU, each
    loading the backend by its name; ``--jobs 1`` keeps them in this process, with the
    backend object."""
    asked: list[tuple[object, int]] = []

    def run_items(backend: object, items: list, profile: str, *, jobs: int, **_: object):
        asked.append((backend, jobs))
        return iter(())

    monkeypatch.setattr(runner_module, "usable_cpus", lambda: 3)
    monkeypatch.setattr(runner_module, "run_items", run_items)
    assert main("--backend", "reference", "--check", "structure", "--primitive", "sin",
                "--no-corpus", "-q", *argv) == 0
    [(backend, jobs)] = asked
    assert jobs == workers
    assert (backend == "reference") if workers > 1 else (getattr(backend, "name", None)
                                                         == "reference")


def test_usable_cpus_follow_the_affinity_mask() -> None:
    expected = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count() or 1)
    assert runner_module.usable_cpus() == expected >= 1


@pytest.mark.parametrize("argv", [
    (),                                                          # --backend is required
    ("--backend", "reference", "--check", "gamma"),              # not a property
    ("--backend", "reference", "--profile", "huge"),
    ("--backend", "reference", "--primitive", "frobnicate"),     # not a primitive
    ("--backend", "reference", "--seed", "x"),
    ("--backend", "reference", "--case", "c1", "--no-corpus"),
    ("--backend", "reference", "--case", "c9"),                  # no such corpus case
    ("--backend", "nonsense"),
    ("--backend", "no_such_module_xyz:make"),
    ("--backend", "reference", "--frobnicate"),
    ("--backend", "reference", "--report", "no/such/dir/r.html"),
    ("--backend", "reference", "--jobs", "-1"),
])
def test_usage_errors_exit_2(fakes: Fakes, argv: tuple[str, ...],
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(*argv) == 2
    assert "error" in capsys.readouterr().err
    assert fakes.calls == [] and fakes.corpus_calls == []


def test_an_unavailable_backend_prints_why_and_exits_2(
        fakes: Fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "absent_framework_backend.py").write_text(textwrap.dedent("""
        from lintra.conformance.backend import BackendUnavailable

        def make():
            raise BackendUnavailable("needs FooGrad: pip install 'lintra[foo]'")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main("--backend", "absent_framework_backend:make") == 2
    err = capsys.readouterr().err
    assert "unavailable" in err and "pip install 'lintra[foo]'" in err
    assert fakes.calls == []


def test_an_interrupted_run_summarizes_and_writes_what_it_has(
        fakes: Fakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.interrupt_after = 1
    status = main("--backend", "reference", "--primitive", "sin", "--json",
                  str(tmp_path / "r.json"), "-q")
    assert status == 130
    assert "interrupted" in capsys.readouterr().err
    data = json.loads((tmp_path / "r.json").read_text())
    assert [r["check"] for r in data["results"]] == ["alpha"]


def test_quiet_prints_no_progress_and_no_tables(
        fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.fail = {("beta", "sin")}
    assert main("--backend", "reference", "--primitive", "sin", "--quiet") == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert "worst/bound" not in out
    assert "FAIL beta" in out and out.rstrip().splitlines()[-1].startswith(
        "lintra conformance FAILED")


def test_reports_are_written_escaped_and_self_contained(
        fakes: Fakes, tmp_path: Path) -> None:
    fakes.fail = {("beta", "cos")}
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    assert main("--backend", "reference", "--primitive", "sin", "cos", "--report",
                str(html_path), "--json", str(json_path), "-q") == 1
    page = html_path.read_text()
    assert "cos is off &lt;by far&gt;" in page and "<by far>" not in page
    assert page.count("<svg") == 3  # alpha, beta, corpus_value: the properties with errors
    assert ("python -m lintra.conformance --backend reference --check beta --primitive cos "
            "--seed 0 --profile ci --no-corpus") in page
    assert "took the right-hand slope" in page  # the convention differences
    # self-contained: no scripts, no stylesheets or images fetched from anywhere
    assert not re.search(r"<script|<link|<img|src=|url\(|@import", page)
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"] * 3
    # strict JSON: the infinite error is a string, every result is there
    data = json.loads(json_path.read_text(),
                      parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert data["backend"] == "reference" and data["profile"] == "ci"
    assert len(data["results"]) == 2 + 2 + 4
    assert [r["error"] for r in data["results"] if r["status"] == "fail"] == ["inf"]


# --------------------------------------------------------------------------------------------
# Reports and progress, directly


def results_for_tables() -> list[CheckResult]:
    return [
        generated("alpha", Status.PASS, "sin", error=0.5),
        generated("alpha", Status.FAIL, "cos", error=3.0),
        CheckResult("alpha", Status.SKIP, "backend does not support tan", primitives=("tan",)),
        CheckResult("beta", Status.CONVENTION, "kink", primitives=("abs", "sin")),
        CheckResult("beta", Status.PASS, error=math.nan, primitives=("sin",)),
    ]


def test_tables_count_each_status_and_the_worst_error() -> None:
    results = results_for_tables()
    by_property = {r.name: r for r in property_rows(results)}
    a, b = by_property["alpha"], by_property["beta"]
    assert (a.passed, a.failed, a.skipped, a.convention, a.worst) == (1, 1, 1, 0, 3.0)
    assert (b.passed, b.convention) == (1, 1) and math.isnan(b.worst)  # NaN is the worst
    by_primitive = {r.name: r for r in primitive_rows(results)}
    assert [r.name for r in primitive_rows(results)] == ["abs", "cos", "sin", "tan"]
    assert (by_primitive["sin"].passed, by_primitive["sin"].convention) == (2, 1)
    text = format_table(property_rows(results), "property")
    lines = text.splitlines()
    assert lines[0].split() == ["property", "pass", "fail", "skip", "conv", "worst/bound"]
    assert lines[-1].split() == ["total", "2", "1", "1", "1", "nan"]
    summary = format_summary(RunReport("b", "quick", results))
    assert "FAILED" in summary and "primitive" in summary


def test_a_failure_is_counted_for_the_primitive_it_tests() -> None:
    """A broken sin fails the generated cases around logistic whose program uses sin, and
    corpus cases of several primitives: only logistic's row and the corpus file's group
    count them, never add, mul or sin; no row for an unknown primitive or for none."""
    results = [
        replace(generated("jvp_vs_oracle", Status.FAIL, "logistic"),
                primitives=("logistic", "sin", "add"), item="check::jvp_vs_oracle::logistic"),
        CheckResult("corpus", Status.FAIL, primitives=("add", "mul", "sin"),
                    item="corpus::fan_out", case="corpus /x/cases/shapes.lcase:5 fan_out "
                    "(value, line 13)"),
        CheckResult("corpus", Status.FAIL, primitives=("max", "sin"),
                    item="corpus::kink_max_ties", case="corpus /x/kinks.lcase:9 kink_max_ties"),
        CheckResult("corpus", Status.PASS, primitives=("dot_general",), item="corpus::matmul",
                    case="corpus /x/contraction.lcase:2 matmul (value, line 4)"),
        CheckResult("corpus", Status.PASS, primitives=("frobnicate",),
                    item="corpus::unknown_primitive",
                    case="corpus /x/errors.lcase:70 unknown_primitive (error, line 74)"),
    ]
    rows = {r.name: r for r in primitive_rows(results)}
    assert list(rows) == ["dot_general", "logistic", "max", "(errors corpus)",
                          "(shapes corpus)"]
    assert rows["logistic"].failed == rows["max"].failed == rows["(shapes corpus)"].failed == 1


def test_rerun_commands_from_the_origins() -> None:
    r = generated("jvp_vs_oracle", Status.FAIL, "atan2", seed=5, profile="thorough")
    assert rerun_command(r, "my pkg:make") == (
        "python -m lintra.conformance --backend 'my pkg:make' --check jvp_vs_oracle "
        "--primitive atan2 --seed 5 --profile thorough --no-corpus")
    c = CheckResult("corpus_value", Status.FAIL,
                    case="corpus /a b/cases/unary.lcase:22 sin_f64 (value, line 26)")
    assert rerun_command(c, "jax") == "python -m lintra.conformance --backend jax --case sin_f64"
    assert rerun_command(CheckResult("x", Status.FAIL, case="somewhere else"), "jax") is None


def test_histogram_bins_by_decade_around_the_bound() -> None:
    h = histogram([0.0, 0.5, 0.55, 2.0, 1e-3, math.inf, math.nan])
    assert (h.zeros, h.nonfinite) == (1, 2)
    assert h.low <= -3 and h.high >= 1 and sum(h.counts) == 4

    def bin_of(x: float) -> int:
        return math.floor((math.log10(x) - h.low) * h.per_decade)

    assert h.counts[bin_of(0.5)] == 2 and h.counts[bin_of(2.0)] == 1
    assert h.counts[bin_of(1e-3)] == 1
    assert bin_of(0.5) < -h.low * h.per_decade <= bin_of(2.0)  # either side of the bound
    wide = histogram([1e-300, 1.0])
    assert wide.high - wide.low <= 40 and wide.below == 1 and wide.counts[0] == 1


def test_html_escapes_every_text_it_shows() -> None:
    nasty = "<b>&\"'"
    r = CheckResult(nasty, Status.FAIL, nasty, error=2.0, program=nasty, inputs=nasty,
                    primitives=(nasty,), case=f"generated: --check {nasty}")
    skip = CheckResult("alpha", Status.SKIP, nasty)
    page = render_html(RunReport(nasty, nasty, [r, skip]), backend=nasty, command=nasty)
    assert nasty not in page and "<b>" not in page
    assert "&lt;b&gt;&amp;&quot;&#x27;" in page


def test_write_json_is_strict(tmp_path: Path) -> None:
    report = RunReport("b", "ci", [CheckResult("a", Status.FAIL, error=-math.inf, ulps=math.nan)])
    write_json(report, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    r = json.loads(text)["results"][0]
    assert (r["error"], r["ulps"], r["status"]) == ("-inf", "nan", "fail")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_progress_redraws_in_place_on_a_terminal() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, tty=True, width=200, clock=clock)
    bar(0, 4, "alpha: a-long-primitive-name")
    clock.t = 10.0
    bar(1, 4, "beta")
    bar.close()
    text = stream.getvalue()
    assert "\n" not in text[:-1] and text.endswith("\n") and text.count("\r") == 2
    first, second = text[1:-1].split("\r")
    assert len(second) >= len(first)  # padded over the longer line before it
    assert "1/4  25%" in second and "0:10 elapsed" in second and "~0:30 left" in second
    assert second.rstrip().endswith("beta")


def test_progress_prints_occasional_lines_elsewhere() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, tty=False, interval=10, clock=clock)
    for done in range(5):
        clock.t = done * 3.0
        bar(done, 5, f"step {done}")
    clock.t = 15.0
    bar(5, 5, "done")
    bar(5, 5, "done")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["0/5", "4/5", "5/5"]
    assert "\r" not in stream.getvalue() and lines[-1].endswith("done")


def test_progress_is_silent_when_quiet() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, quiet=True, tty=True)
    bar(0, 3, "a")
    bar(3, 3, "done")
    bar.close()
    assert stream.getvalue() == ""
    assert format_seconds(59.6) == "1:00" and format_seconds(3725) == "1:02:05"


# --------------------------------------------------------------------------------------------
# End to end, in a subprocess, with the real runner


HASH_SEED = {**os.environ, "PYTHONHASHSEED": "12345"}
"""The environment of the subprocesses: a hash seed other than this process's (Python's is
random unless set), so agreement with this process shows that a seed gives the same cases
whatever the order of sets."""


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lintra.conformance", *argv],
                          capture_output=True, text=True, timeout=600, check=False,
                          env=env or HASH_SEED)


def test_end_to_end_on_the_reference_gives_the_runners_results(tmp_path: Path) -> None:
    """One cheap property on the quick profile: exit 0, and the results, run primitive by
    primitive in two worker processes, are those of one ``run_check`` call over every
    primitive (in a process with the same hash seed)."""
    out = run_cli("--backend", "reference", "--profile", "quick", "--check",
                  "evaluate_vs_truth", "--no-corpus", "--json", str(tmp_path / "r.json"),
                  "--jobs", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^evaluate_vs_truth\s+[1-9]\d*\s+0\s", out.stdout, re.M), out.stdout
    got = json.loads((tmp_path / "r.json").read_text())["results"]
    code = ("import json; from lintra.conformance.runner import run_check; print(json.dumps("
            "[r.to_json() for r in run_check('reference', 'evaluate_vs_truth', 'quick')]))")
    direct = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=600, check=True, env=HASH_SEED)
    expected = json.loads(direct.stdout)
    key = ("check", "status", "reason", "program", "inputs", "case")
    assert len(got) > 1
    assert [tuple(r[k] for k in key) for r in got] == [tuple(r[k] for k in key)
                                                       for r in expected]


def test_end_to_end_the_printed_command_reproduces_a_failure(tmp_path: Path) -> None:
    (tmp_path / "sloppy_sin_backend.py").write_text(textwrap.dedent("""
        from lintra.conformance.backends.reference import ReferenceBackend

        class SloppySin(ReferenceBackend):
            name = "sloppy-sin"

            def evaluate(self, program, args):
                outs = super().evaluate(program, args)
                if any(e.primitive == "sin" for e in program.equations):
                    return tuple(o * (1 + 1e-12) if o.dtype.kind == "f" else o for o in outs)
                return outs
    """))
    env = {**HASH_SEED, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = run_cli("--backend", "sloppy_sin_backend:SloppySin", "--profile", "quick",
                  "--check", "evaluate_vs_truth", "--primitive", "add", "sin", "--no-corpus",
                  env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    commands = re.findall(r"^  re-run: (.*)$", out.stdout, re.M)
    assert len(commands) == 1 and "--primitive sin" in commands[0]
    program = out.stdout.split("  program:\n")[1].split("  inputs")[0]
    argv = shlex.split(commands[0])
    assert argv[:3] == ["python", "-m", "lintra.conformance"]
    again = run_cli(*argv[3:], env=env)
    assert again.returncode == 1, again.stdout + again.stderr
    assert program in again.stdout
    # the printed corpus file reproduces it too, through the corpus command it names
    shown = out.stdout.split("  reproducer (a corpus file")[1].split("\n", 1)[1]
    lcase = "\n".join(line[4:] for line in shown.splitlines()
                      if line.startswith("    ") or not line) + "\n"
    (tmp_path / "failure.lcase").write_text(lcase)
    corpus_run = subprocess.run(
        [sys.executable, "-m", "lintra.conformance.corpus", "run", str(tmp_path / "failure.lcase"),
         "--backend", "sloppy_sin_backend:SloppySin"],
        capture_output=True, text=True, timeout=600, check=False, env=env)
    assert corpus_run.returncode == 1 and "FAIL" in corpus_run.stdout, corpus_run.stdout


def test_inputs_in_reports_are_labelled_in_decimal_and_exact() -> None:
    """Each array of a failure's inputs names what it is (the parameter, the tangent of a
    parameter, the cotangent of a result), its lintra type, its decimal value and, for
    floats, its exact bits."""
    from lintra.conformance.backends.reference import ReferenceBackend
    from lintra.conformance.corpus import load_corpus, run_corpus_case
    from lintra.conformance.properties import Case
    from lintra.reference import parse_program

    p = parse_program("def f(x: f32[2], n: i32[]) -> f32[2]:\n"
                      "    y: f32[2] = mul(x, 3.0)\n    return y\n")
    case = Case(p, (np.array([0.1, -2.0], np.float32), np.array(4, np.int32)),
                (np.array([1.0, 0.5], np.float32),), (np.array([-1.0, 2.0], np.float32),))
    lines = case.result("x", Status.FAIL).inputs.splitlines()
    assert lines == [
        "x: f32[2] = [0.1, -2.0]  exact: [0x1.99999a0000000p-4, -0x1.0000000000000p+1]",
        "n: i32[] = 4",
        "tangent of x: f32[2] = [1.0, 0.5]  exact: [0x1.0000000000000p+0, 0x1.0000000000000p-1]",
        "cotangent of result 1: f32[2] = [-1.0, 2.0]  exact: [-0x1.0000000000000p+0, "
        "0x1.0000000000000p+1]"]
    sin = next(c for c in load_corpus() if c.name == "sin_f64")
    shown = run_corpus_case(ReferenceBackend(), sin)[0].inputs
    assert shown.startswith("x: f64[4] = [0.5, -1.25, 2.0, 10.0]  exact: [0x1.0000000000000p-1")
