"""The command-line runner ``python -m lintra.reference`` (spec readers' companion), and
the conformance suite's runner ``lintra.conformance.runner`` (spec 7.4-7.6): per-item seeds,
items that run whatever fails elsewhere, known failures, the per-case time limit, and each
backend call with its own arrays."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import mpmath
import numpy as np
import pytest

from lintra.conformance import generation
from lintra.conformance import runner as conformance_runner
from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.known_failures import parse_entries
from lintra.conformance.profiles import profile_named
from lintra.conformance.properties import CHECKS
from lintra.conformance.results import Status
from lintra.reference.syntax import Program
from tests.harness import runner_cases

ROOT = Path(__file__).resolve().parent.parent
ROSEN = ROOT / "examples" / "rosen.lintra"
X = "[[0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]]"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lintra.reference", *args],
        capture_output=True, text=True, input=stdin, timeout=120, check=False,
    )


def rosen_exact(xs: list[float]) -> mpmath.mpf:
    ctx = mpmath.MPContext()
    ctx.dps = 60
    v = [ctx.mpf(x) for x in xs]
    return ctx.fsum(100 * (v[i + 1] - v[i] ** 2) ** 2 + (1 - v[i]) ** 2 for i in range(9))


def test_rosen_in_float64() -> None:
    out = run(str(ROSEN), "--args", X)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "s: f64[] = 47716.5"


def test_rosen_at_50_digits() -> None:
    out = run(str(ROSEN), "--args", "[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]",
              "--dps", "50")
    assert out.returncode == 0, out.stderr
    value = out.stdout.strip().split("= ")[1]
    ctx = mpmath.MPContext()
    ctx.dps = 60
    # Decimal arguments are read at 50 digits, so the result is the value at the decimals
    # (here a short decimal, 78.18, which the runner prints without trailing zeros).
    exact = rosen_exact(["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
    assert abs(ctx.mpf(value) - exact) <= abs(exact) * ctx.mpf(10) ** -48


def test_print_shows_the_annotated_program() -> None:
    text = (
        "def f(x: f64[2]) -> f64[]:\n    y = sin(x)\n    s = reduce_sum(y, axes=(0,))\n"
        "    return s\n"
    )
    out = run("-", "--print", "--args", "[[0, 0]]", stdin=text)
    assert out.returncode == 0, out.stderr
    assert "    y: f64[2] = sin(x)" in out.stdout
    assert out.stdout.strip().endswith("s: f64[] = 0.0")


def test_errors_are_reported_not_raised() -> None:
    bad = "def f(t: lin f64[3]) -> lin f64[3]:\n    u = add(t, 1.0)\n    return u\n"
    out = run("-", stdin=bad)
    assert out.returncode == 1
    assert "f:2:16: linearity error" in out.stderr and "Traceback" not in out.stderr
    out = run(str(ROSEN), "--args", "[[1, 2]]")
    assert out.returncode == 1 and "shape" in out.stderr and "Traceback" not in out.stderr
    out = run(str(ROSEN), "--args", "[1, 2")
    assert out.returncode == 2 and "JSON" in out.stderr
    out = run(str(ROOT / "no-such-file.lintra"))
    assert out.returncode == 2 and "cannot read" in out.stderr
    out = run("-", stdin="def f(x: f64[]) -> f64[]:\n    y = sin(x y)\n    return y\n")
    assert out.returncode == 1 and "^" in out.stderr


# --------------------------------------------------------------------------------------------
# The conformance runner (spec 7.6)


UNARY = ("sin", "exp", "tanh", "log1p", "sqrt", "atan")


def test_item_seeds_hash_the_base_seed_property_and_primitive() -> None:
    """Spec 7.6: the first 8 bytes, big-endian, of SHA-256("SEED:PROPERTY:PRIMITIVE")."""
    digest = hashlib.sha256(b"3:jvp_vs_oracle:tanh").digest()
    assert conformance_runner.item_seed(3, "jvp_vs_oracle", "tanh") == int.from_bytes(
        digest[:8], "big")
    seeds = {conformance_runner.item_seed(s, c, p) for s in (0, 1) for c in CHECKS
             for p in UNARY}
    assert len(seeds) == 2 * len(CHECKS) * len(UNARY)


def test_unary_primitives_no_longer_share_their_inputs() -> None:
    """At seed 0 in the ci profile every unary primitive used to see the same inputs; now the
    cases after the simplest one (which starts from the unremarkable points by design)
    differ from primitive to primitive, and from property to property."""
    ci = profile_named("ci")

    def later_inputs(focus: str, check: str) -> tuple:
        return tuple(tuple(float(v) for a in c.primals for v in np.asarray(a).reshape(-1))
                     for c in runner_cases(ci, focus, 0, check=check)[1:])

    by_primitive = {later_inputs(f, "jvp_vs_oracle") for f in UNARY}
    assert len(by_primitive) == len(UNARY)
    assert later_inputs("sin", "jvp_vs_oracle") != later_inputs("sin", "vjp_vs_reference")


class SloppySin(ReferenceBackend):
    """The reference, but a program with a ``sin`` evaluates 1e-6 too large."""

    name = "sloppy-sin"

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        out = super().evaluate(program, args)
        if any(e.primitive == "sin" for e in program.equations):
            return tuple(np.asarray(o * (1 + 1e-6), dtype=o.dtype) if o.dtype.kind == "f"
                         else o for o in out)
        return out


FOCI = ("cos", "sin", "exp", "log", "mul")


def test_a_failure_ends_only_its_own_item() -> None:
    """With one failing item (sin) early in the list, every later item still runs: each has
    results of its own, and the failure is the last result of sin's item."""
    results = conformance_runner.run_check(SloppySin(), "evaluate_vs_truth", "ci",
                                           primitives=list(FOCI))
    items = [r.item for r in results]
    assert list(dict.fromkeys(items)) == [f"check::evaluate_vs_truth::{f}" for f in FOCI]
    sin = [r for r in results if r.item == "check::evaluate_vs_truth::sin"]
    assert sin[-1].status is Status.FAIL and "sin" in sin[-1].program
    after = [r for r in results if r.item.endswith(("::exp", "::log", "::mul"))]
    assert after and any(r.status is Status.PASS for r in after)


def test_known_failures_are_listed_and_do_not_fail_the_run() -> None:
    entries = parse_entries(
        "check::evaluate_vs_truth::sin  # sin is sloppy\n"
        "check::evaluate_vs_truth::cos  # fails only where a case also uses sin\n"
        "check::evaluate_vs_truth::mul*\n"
        "check::no_such_property        # stale\n", "xfails.txt")
    report = conformance_runner.run(SloppySin(), "quick", checks=["evaluate_vs_truth"],
                                    corpus=False, xfails=entries)
    known = report.known_failures
    assert known and all(r.item == "check::evaluate_vs_truth::sin" or "sin" in r.program
                         for r in known)
    assert any(r.known.startswith("check::evaluate_vs_truth::sin: sin is sloppy") for r in known)
    assert report.stale == ["check::no_such_property (xfails.txt:4)"]
    # the entries whose items did not fail are named too (sin's cases around mul and cos may
    # or may not draw a sin: whichever did not fail is listed)
    failed = {r.item for r in known}
    assert {e.split(" ")[0] for e in report.xpassed} == {
        e.pattern for e in entries[1:3] if not any(e.matches(i) for i in failed)}
    assert [r for r in report.results if r.status is Status.FAIL] == report.failures
    assert report.ok is (not report.failures)
    assert all("sin" in r.program for r in report.failures)  # unlisted items still fail


def test_worker_processes_give_the_results_of_one_process() -> None:
    """``jobs=2`` runs the items in two spawned processes, each loading the backend by name:
    the same results, failure and shrunk reproducer included, in the same order."""
    corpus = conformance_runner._load_corpus()[:2]
    items = [conformance_runner.Item("evaluate_vs_truth", p) for p in ("sin", "exp", "add")]
    items += [conformance_runner.Item(corpus_case=c.name) for c in corpus]
    runs = {}
    for jobs in (1, 2):
        found = dict(conformance_runner.run_items(
            "tests.test_runner:SloppySin", items, "quick", jobs=jobs, corpus_cases=corpus))
        runs[jobs] = [r.to_json() for k in sorted(found) for r in found[k]]
    assert runs[2] == runs[1]
    assert any(r["status"] == "fail" and r["reproducer"] for r in runs[2])
    assert {r["item"] for r in runs[2]} >= {f"corpus::{c.name}" for c in corpus}


def test_worker_processes_need_a_backend_named_by_a_string() -> None:
    with pytest.raises(ValueError, match="jobs > 1 needs the backend named by a string"):
        list(conformance_runner.run_items(SloppySin(), [conformance_runner.Item(
            "evaluate_vs_truth", "sin")] * 2, "quick", jobs=2))
    with pytest.raises(ValueError, match="at least 1"):
        list(conformance_runner.run_items("reference", [], "quick", jobs=0))
    with pytest.raises(ValueError, match="0 \\(one per CPU\\)"):
        conformance_runner.run("reference", "quick", checks=[], corpus=False, jobs=-1)


def test_a_slow_case_is_skipped_with_the_reason() -> None:
    """A backend that takes 5 s per evaluation runs past a 0.3 s limit: each case is a skip
    naming the limit, quickly, and the previous SIGALRM handler is back afterwards."""

    class Slow(ReferenceBackend):
        name = "slow"

        def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
            time.sleep(5)
            return super().evaluate(program, args)

    before = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    results = conformance_runner.run_check(Slow(), "evaluate_vs_truth", "ci",
                                           primitives=["sin", "add"], case_time_limit=0.3)
    assert time.monotonic() - start < 10
    assert results and all(r.status is Status.SKIP for r in results)
    assert all("per-case time limit of 0.3 s" in r.reason for r in results)
    assert signal.getsignal(signal.SIGALRM) is before


def test_the_time_limit_interrupts_python_code_and_allows_none() -> None:
    with pytest.raises(conformance_runner.CaseTimeout, match=r"time limit of 0\.2 s"):
        with conformance_runner.time_limit(0.2):
            while True:
                pass
    with conformance_runner.time_limit(0):  # no limit: nothing fires
        time.sleep(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


class Scribbler(ReferenceBackend):
    """The reference, but after computing each answer it writes nan into every float array
    it was given (primals, tangents, cotangents): right answers, corrupted arguments."""

    name = "scribbler"

    @staticmethod
    def scribble(arrays: Sequence[object]) -> None:
        for a in arrays:
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size:
                a[...] = np.nan

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
        out = super().evaluate(program, args)
        self.scribble(args)
        return out

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple:
        out = super().jvp(program, primals, tangents)
        self.scribble([*primals, *tangents])
        return out

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple:
        outs, pullback = super().vjp(program, primals)
        self.scribble(primals)

        def scribbling(*cts: np.ndarray) -> tuple:
            bars = pullback(*cts)
            self.scribble(cts)
            return bars
        return outs, scribbling


def test_a_backend_writing_into_its_inputs_is_caught_and_corrupts_nothing() -> None:
    """``inputs_unchanged`` fails on the scribbler; every other property, each call with its
    own copies, passes on the same cases as on the reference, and the cases' arrays are as
    generated."""
    ci = profile_named("ci")
    cases = [c for f in ("sin", "mul", "max") for c in runner_cases(ci, f, 0)]
    snapshot = [[a.copy() for a in (*c.primals, *c.tangents, *c.cotangents)] for c in cases]
    for case in cases:
        caught = conformance_runner.run_property("inputs_unchanged", Scribbler(), case)
        assert caught.status is Status.FAIL and "was changed by the backend" in caught.reason
        assert conformance_runner.run_property("inputs_unchanged", ReferenceBackend(),
                                               case).status is Status.PASS
        for name in ("evaluate_vs_truth", "jvp_vs_reference", "primal_parts_equal",
                     "vjp_vs_reference", "grad_vs_oracle", "jacobian_fwd_vs_rev"):
            got = conformance_runner.run_property(name, Scribbler(), case)
            want = conformance_runner.run_property(name, ReferenceBackend(), case)
            assert got.status is want.status, (name, got.reason)
    for case, before in zip(cases, snapshot):
        after = (*case.primals, *case.tangents, *case.cotangents)
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(after, before))


def test_without_copies_the_scribbler_would_corrupt_the_checks() -> None:
    """The copies are what protects the checks: the same property called on the bare
    backend corrupts the case itself (its primals become nan), and what the check then
    judges is no longer the case generated: the finding shows only indirectly, as a skip
    here (so the test above can fail)."""
    ci = profile_named("ci")
    (case, *_) = runner_cases(ci, "mul", 0)
    assert CHECKS["primal_parts_equal"](ReferenceBackend(), case).status is Status.PASS
    assert CHECKS["primal_parts_equal"](Scribbler(), case).status is not Status.PASS
    assert all(np.isnan(a).all() for a in case.primals if a.dtype.kind == "f")


def test_a_case_whose_truth_does_not_finish_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mpmath evaluation that admits a generated case runs under the limit too: made to
    take 5 s, every case around sin is a skip saying so, and the check itself never runs."""
    real = generation.evaluate

    def slow_truth(program: Program, *args: object, **kw: object) -> object:
        if kw.get("dps") is not None:
            time.sleep(5)
        return real(program, *args, **kw)

    monkeypatch.setattr(generation, "evaluate", slow_truth)
    start = time.monotonic()
    results = conformance_runner.run_check(ReferenceBackend(), "evaluate_vs_truth", "ci",
                                           primitives=["sin"], case_time_limit=0.2)
    assert time.monotonic() - start < 10
    assert results and all(r.status is Status.SKIP for r in results)
    assert all("evaluating the generated case in mpmath" in r.reason for r in results)


def test_an_unknown_convention_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown conventions mode 'lenient'"):
        conformance_runner.run("reference", "quick", checks=["evaluate_vs_truth"],
                               corpus=False, conventions="lenient")


def test_a_call_that_raises_is_left_to_the_other_properties() -> None:
    """A backend whose transpose raises (as PyTorch's does for some maps) keeps its other
    arrays judged: inputs_unchanged passes, naming the call; a scribbling one with the same
    transpose still fails."""

    class NoTranspose(ReferenceBackend):
        name = "no-transpose"

        def transpose(self, linear_map: object) -> object:
            raise RuntimeError("cannot transpose")

    class ScribblingNoTranspose(Scribbler, NoTranspose):
        name = "scribbling-no-transpose"

    (case, *_) = runner_cases(profile_named("ci"), "sin", 0)
    r = conformance_runner.run_property("inputs_unchanged", NoTranspose(), case)
    assert r.status is Status.PASS
    assert "the transpose of the linearization raised RuntimeError" in r.reason
    r = conformance_runner.run_property("inputs_unchanged", ScribblingNoTranspose(), case)
    assert r.status is Status.FAIL and "was changed by the backend" in r.reason


@pytest.mark.filterwarnings("error")
def test_ulps_beyond_the_dtype_range_are_those_at_its_largest_float() -> None:
    """A truth beyond float32's range is measured in ulps of its largest float, 2^104 (its
    exponent 127 less 23 fraction bits), without an overflow warning; float64's is 2^971."""
    import mpmath as mp

    from lintra.conformance.properties import _ulp
    from lintra.reference.syntax import DType

    assert _ulp(mp.mpf("1e39"), DType.f32) == 2.0**104
    assert _ulp(mp.mpf("3.4e38"), DType.f32) == 2.0**104
    assert _ulp(mp.mpf("1e309"), DType.f64) == 2.0**971
    assert _ulp(mp.mpf(1), DType.f64) == 2.0**-52


class Sleepy(ReferenceBackend):
    """The reference, but each evaluation first sleeps a minute (a long item)."""

    name = "sleepy"

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
        time.sleep(60)
        return super().evaluate(program, args)


def _children(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is ``pid``, from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A run in two worker processes whose parent is killed (SIGKILL: no chance to stop
    its pool): the workers, busy with a minute-long item each, end within seconds instead
    of finishing it for nobody."""
    pids = tmp_path / "workers"
    code = (
        "import os, sys, time\n"
        "from lintra.conformance import runner\n"
        "items = [runner.Item('evaluate_vs_truth', p) for p in ('sin', 'cos', 'exp')]\n"
        "for _ in runner.run_items('tests.test_runner:Sleepy', items, 'quick', jobs=2,\n"
        "                          case_time_limit=None):\n"
        "    pass\n")
    env = {**os.environ, "LINTRA_TRUTH_CACHE": "off"}
    parent = subprocess.Popen([sys.executable, "-c", code], env=env,
                              cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while time.monotonic() < deadline and len(children) < 2:
            time.sleep(0.5)
            children = _children(parent.pid)
        assert len(children) >= 2, "the workers did not start"
        time.sleep(3)  # each has loaded the backend and is asleep inside an item
        pids.write_text(" ".join(map(str, children)))
        parent.kill()
        parent.wait(timeout=10)
        gone = time.monotonic() + 10
        alive = children
        while alive and time.monotonic() < gone:
            time.sleep(0.25)
            alive = [c for c in children if _alive(c)]
        assert not alive, f"workers {alive} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for c in (int(x) for x in (pids.read_text().split() if pids.exists() else ())):
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass
