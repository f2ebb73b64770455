"""How the suite classifies a derivative that differs from the spec's at a kink (spec 7.4).

At ``abs``'s kink the spec takes 0 (chapter 6). A backend taking another one-sided slope
(JAX takes ``abs'(0) = 1``) follows another convention: reported as such, not as a failure.
A value outside the one-sided slopes along the tangent (forward mode), or a nan where the
spec's derivative is finite (either mode), is wrong under every convention and fails. The
backends here are the reference with ``abs``'s derivative replaced by hand-written NumPy;
the expectations come from the slopes of ``|x|`` at 0, worked out in the comments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.corpus import load_corpus, run_corpus_case
from lintra.conformance.properties import CHECKS, Case
from lintra.conformance.results import Status
from lintra.reference import parse_program
from lintra.reference.syntax import Program

ABS = parse_program("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = abs(x)\n    return y\n")

Slope = Callable[[np.ndarray], np.ndarray]
"""The derivative a backend gives ``abs`` at each element of ``x``."""


def jax_like(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1.0, -1.0)  # abs'(0) = 1: the right slope along +1


def halved(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, 0.5))  # between the slopes -1 and 1


def doubled(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, np.where(x < 0, -1.0, 2.0))  # no slope of |x| is 2


def nan_at_zero(x: np.ndarray) -> np.ndarray:
    return np.where(x == 0, np.nan, np.sign(x))


class AbsWith(ReferenceBackend):
    """The reference, but ``abs``'s derivative is ``slope`` (programs of one ``abs``)."""

    def __init__(self, slope: Slope) -> None:
        self.slope = slope
        self.name = f"abs-{slope.__name__}"

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        (x,), (t,) = primals, tangents
        return (np.abs(x),), (self.slope(x) * t,)

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, object]:
        (x,) = primals
        return (np.abs(x),), lambda w: (self.slope(x) * w,)


def case(x1: float, t1: float) -> Case:
    return Case(ABS, (np.array([0.7, x1]),), (np.array([0.7, t1]),), (np.array([1.0, -2.0]),))


TINY = float.fromhex("0x1.cb7c08b177a97p-193")  # 1.4e-58: far below the other element's 0.7


@pytest.mark.parametrize("slope", [jax_like, halved])
@pytest.mark.parametrize("t1", [1.0, -1.0, TINY])
def test_a_value_between_the_slopes_is_a_convention_forward(slope: Slope, t1: float) -> None:
    # at x = 0 the slopes of |x| along t are -|t| and |t|; JAX's t is one of them, t/2 lies
    # between, also when t is tiny next to the other element (the slope jump is then below
    # the oracle's rounding level, but the equation sits at its own kink)
    r = CHECKS["jvp_vs_reference"](AbsWith(slope), case(0.0, t1))
    assert r.status is Status.CONVENTION, r.reason


@pytest.mark.parametrize("slope", [doubled, nan_at_zero])
def test_no_convention_gives_a_value_outside_the_slopes_forward(slope: Slope) -> None:
    r = CHECKS["jvp_vs_reference"](AbsWith(slope), case(0.0, 1.0))
    assert r.status is Status.FAIL, r.reason


@pytest.mark.parametrize("slope", [jax_like, doubled])
def test_a_finite_answer_at_a_kink_is_a_convention_reverse(slope: Slope) -> None:
    # reverse mode is judged only as far as every convention agrees (spec 7.2): a finite
    # value where the oracle finds a kink along the tangent (JAX's -2 for w_1 = -2; even the
    # doubled slope's -4, which no convention gives: the test is necessary, not sufficient)
    r = CHECKS["vjp_vs_reference"](AbsWith(slope), case(0.0, 1.0))
    assert r.status is Status.CONVENTION, r.reason


def test_a_nan_at_a_kink_fails_reverse() -> None:
    r = CHECKS["vjp_vs_reference"](AbsWith(nan_at_zero), case(0.0, 1.0))
    assert r.status is Status.FAIL, r.reason


def test_away_from_kinks_a_wrong_derivative_fails() -> None:
    # the doubled slope only differs at 0: at x_1 = 0.5 every answer agrees, so pass; the
    # JAX-like backend at an element of -0.5 with a flipped sign would be a plain error
    assert CHECKS["jvp_vs_reference"](AbsWith(doubled), case(0.5, 1.0)).status is Status.PASS

    def flipped(x: np.ndarray) -> np.ndarray:
        return -np.sign(x)

    for name in ("jvp_vs_reference", "vjp_vs_reference"):
        r = CHECKS[name](AbsWith(flipped), case(-0.5, 1.0))
        assert r.status is Status.FAIL, r.reason


def _corpus_case(name: str) -> object:
    (c,) = [c for c in load_corpus() if c.name == name]
    return c


@pytest.mark.parametrize("slope, statuses", [
    (jax_like, [Status.CONVENTION, Status.CONVENTION]),
    (doubled, [Status.FAIL, Status.CONVENTION]),
    (nan_at_zero, [Status.FAIL, Status.FAIL])])
def test_corpus_kink_assertions_tell_conventions_from_errors(slope: Slope,
                                                             statuses: list[Status]) -> None:
    """``kink_abs``: abs at (+0, -0), tangent (1, -2) and cotangent (1, -1/2); the spec's
    answer is (0, 0) both ways; the rules are those of the generated cases."""
    results = run_corpus_case(AbsWith(slope), _corpus_case("kink_abs"))
    assert [r.check for r in results] == ["corpus_kink", "corpus_kink"]
    assert [r.status for r in results] == statuses, [r.reason for r in results]


# --------------------------------------------------------------------------------------------
# The convention mode of a run (spec 7.4): report lists, strict fails


class OneCallConvention(ReferenceBackend):
    """The reference, but the derivative of a program of one call (``abs``, ``max``,
    ``clamp``) follows another convention than chapter 6's, written here in NumPy: the
    tiny wrapper backends of the convention mode's tests."""

    name = "one-call-convention"

    def partials(self, *xs: np.ndarray) -> tuple[np.ndarray, ...]:
        """The derivative of the call with respect to each operand, elementwise."""
        raise NotImplementedError

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        parts = self.partials(*primals)
        return self.evaluate(program, primals), (sum(d * t for d, t in zip(parts, tangents)),)

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, object]:
        parts = self.partials(*primals)
        return self.evaluate(program, primals), lambda w: tuple(d * w for d in parts)


class AbsRightSlope(OneCallConvention):
    """JAX's ``abs'(0) = 1``."""

    def partials(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.where(x >= 0, 1.0, -1.0),)


class MaxTieToFirst(OneCallConvention):
    """A tie of ``max`` gives its whole derivative to the first operand."""

    def partials(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        first = x >= y
        return first.astype(np.float64), (~first).astype(np.float64)


class ClampToXAtBounds(OneCallConvention):
    """``clamp`` gives ``x`` its whole derivative at a bound, and ``hi`` everything where
    ``lo = hi``."""

    def partials(self, lo: np.ndarray, x: np.ndarray, hi: np.ndarray
                 ) -> tuple[np.ndarray, ...]:
        degenerate = lo == hi
        inside = (lo <= x) & (x <= hi) & ~degenerate
        to_hi = (x > hi) | degenerate
        to_lo = (x < lo) & ~degenerate
        return tuple(m.astype(np.float64) for m in (to_lo, inside, to_hi))


CONVENTION_BACKENDS = {"kink_abs": AbsRightSlope, "kink_max_ties": MaxTieToFirst,
                       "kink_clamp": ClampToXAtBounds}
"""Each wrapper backend with the corpus case (spec 7.7) of its primitive's kink row."""


@pytest.mark.parametrize("case_name", sorted(CONVENTION_BACKENDS))
def test_strict_mode_fails_what_the_report_mode_lists(case_name: str) -> None:
    """A convention differs from chapter 6 at the corpus's kink row of its primitive,
    forward and reverse: a convention difference that passes in the report mode, fails in
    the strict mode, and is listed on the console in both."""
    from lintra.conformance.report import format_summary
    from lintra.conformance.results import RunReport
    from lintra.conformance.runner import run_corpus

    backend = CONVENTION_BACKENDS[case_name]()
    for mode, status in (("report", Status.CONVENTION), ("strict", Status.FAIL)):
        results = run_corpus(backend, _corpus_case(case_name), mode)
        assert [r.status for r in results] == [status, status], [r.reason for r in results]
        assert all(r.convention and r.item == f"corpus::{case_name}" for r in results)
        assert all(r.element and r.expected and r.got and r.point for r in results)
        report = RunReport(backend.name, "ci", results, conventions=mode)
        assert report.ok is (mode == "report")
        text = format_summary(report)
        for r in results:
            assert (f"{r.check} on corpus::{case_name}: {r.element}: spec {r.expected}, "
                    f"backend {r.got}") in text
        assert "convention differences (2; spec chapter 6: " in text
        assert ("failures under --conventions strict" in text) is (mode == "strict")


def test_the_jax_like_abs_at_the_kink_names_both_values() -> None:
    """The listed values are the spec's and the backend's: abs'(0) along tangent 1 is 0 by
    chapter 6 and 1 for the right slope, at the corpus's first element (x = 0, t = 1)."""
    from lintra.conformance.runner import run_corpus

    forward, _ = run_corpus(AbsRightSlope(), _corpus_case("kink_abs"), "strict")
    assert forward.element == "tangent 1[0]"
    assert (float(forward.expected), float(forward.got)) == (0.0, 1.0)
    assert forward.point == "[0.0, 0.0]"
    assert forward.reason.startswith("convention difference (a failure under --conventions "
                                     "strict)")


def test_a_generated_convention_difference_fails_only_in_strict_mode() -> None:
    """The same judgement on a generated check: a forward convention difference at abs's
    kink (case(0, 1) above) turns into a failure under strict."""
    from lintra.conformance.results import judged

    r = CHECKS["jvp_vs_reference"](AbsWith(jax_like), case(0.0, 1.0))
    assert r.status is Status.CONVENTION and r.convention
    assert judged(r, "report").status is Status.CONVENTION
    strict = judged(r, "strict")
    assert strict.status is Status.FAIL and strict.convention
    assert (float(strict.expected), float(strict.got)) == (0.0, 1.0)
    with pytest.raises(ValueError, match="unknown conventions mode"):
        judged(r, "lenient")
