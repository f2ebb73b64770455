"""The properties the suite checks, as named functions returning structured results (spec 7.4).

Each check takes a backend and a :class:`Case` (a program, its inputs, one tangent per float
input, one cotangent per float result) and returns a :class:`CheckResult`. Every numeric
comparison is against a bound derived by :mod:`lintra.conformance.analysis` (the rounding a
correct backend may commit, following the spec's own formulas) plus, where a finite
difference is involved, the oracle's own error bound: no tolerance is tuned anywhere.

Elements are compared as follows: where the analysis marks an element unreliable (within
its bound of a discontinuity, domain edge or overflow) it is counted and left out; where the
truth is nan or ±inf the backend must give the same class (counted as compared, never a
vacuous pass); elsewhere ``|got - truth| <= bound``. Errors are reported in units of the
bound (a pass is at most 1) and in ulps of the result dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import mpmath
import numpy as np

from lintra.conformance import analysis
from lintra.conformance.analysis import Bounds
from lintra.conformance.backend import Backend
from lintra.conformance.oracle import Estimate, directional_derivative, one_sided
from lintra.conformance.results import (
    CheckResult,
    Status,
    format_inputs,
    format_point,
    input_labels,
)
from lintra.conformance.stress import derivative_accuracy
from lintra.conformance.truth import cells
from lintra.reference.check import check
from lintra.reference.syntax import ArrayType, Atom, DType, Program

JVP_EQUATIONS_PER_OPERAND = 13
"""The largest number of equations a JVP rule emits per operand (spec 4.4), cumprod's aside."""
TRANSPOSE_EQUATIONS_PER_OPERAND = 3
"""The largest number of equations a transpose rule emits per operand (spec 5.4)."""

# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True, eq=False)
class Case:
    """A program, its inputs, a tangent per float input and a cotangent per float result.

    The analyses (truth and bounds, oracle estimates) are computed once per case, on demand.
    """

    program: Program
    primals: tuple[np.ndarray, ...]
    tangents: tuple[np.ndarray, ...]
    cotangents: tuple[np.ndarray, ...]
    source: str = "generated"
    dps: int = 40
    cache: dict = field(default_factory=dict, repr=False)
    skip: str = ""
    """Why no property can run on this case (its generation ran past the time limit), or
    empty."""

    def memo(self, key: object, compute: Callable[[], object]) -> object:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def float_inputs(self) -> list[ArrayType]:
        return [b.type.array for b in self.program.inputs if b.type.array.dtype.is_float]

    @property
    def float_results(self) -> list[ArrayType]:
        return [t.array for t in self.program.result_types if t.array.dtype.is_float]

    def values(self) -> Bounds:
        return self.memo("values", lambda: analysis.value_bounds(
            self.program, self.primals, self.dps))

    def jvp(self, tangents: Sequence[np.ndarray] | None = None) -> Bounds:
        ts = tuple(self.tangents if tangents is None else tangents)
        return self.memo(("jvp", _key(ts)), lambda: analysis.jvp_bounds(
            self.program, self.primals, ts, self.dps))

    def vjp(self, cotangents: Sequence[np.ndarray] | None = None) -> Bounds:
        cs = tuple(self.cotangents if cotangents is None else cotangents)
        return self.memo(("vjp", _key(cs)), lambda: analysis.vjp_bounds(
            self.program, self.primals, cs, self.dps))

    def oracle(self) -> Estimate:
        return self.memo("oracle", lambda: directional_derivative(
            self.program, self.primals, self.tangents, self.dps))

    def slopes(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        return self.memo("slopes", lambda: one_sided(
            self.program, self.primals, self.tangents, self.dps))

    def result(self, check_name: str, status: Status, reason: str = "", **kw: object
               ) -> CheckResult:
        """A result carrying this case's reproducer."""
        return CheckResult(
            check=check_name, status=status, reason=reason, program=str(self.program),
            inputs=format_inputs([*self.primals, *self.tangents, *self.cotangents],
                                 self.labels()),
            primitives=tuple(sorted({e.primitive for e in self.program.equations})),
            case=self.source, **kw)  # type: ignore[arg-type]

    def labels(self) -> list[str]:
        """What each of the case's arrays is, for reports (:func:`format_inputs`)."""
        names = [b.name for b in self.program.inputs]
        floats = [b.name for b in self.program.inputs if b.type.array.dtype.is_float]
        return input_labels(names, floats, len(self.cotangents))

    def convention(self, failed: CheckResult, why: str) -> CheckResult:
        """``failed`` (a comparison with the spec's derivative) reclassified as a convention
        difference at a kink, ``why`` prefixed to its reason; it keeps the element, the
        spec's and the backend's values, and gains the point."""
        return replace(failed, status=Status.CONVENTION, reason=why + failed.reason,
                       convention=True, point=format_point(self.primals))


def _key(arrays: Sequence[np.ndarray]) -> tuple:
    return tuple((a.dtype.str, a.shape, a.tobytes()) for a in map(np.asarray, arrays))


# --------------------------------------------------------------------------------------------
# Element comparisons


@dataclass
class Tally:
    """What one comparison found: the worst error (bound units, ulps), counts, the first
    failure in words."""

    compared: int = 0
    unreliable: int = 0
    worst: float = 0.0
    worst_ulps: float = 0.0
    failure: str = ""
    element: str = ""
    """Where the first failure is (``tangent 1[0]``), when it is one element."""
    got: str = ""
    expected: str = ""
    """The backend's and the spec's values at :attr:`element`."""

    def fail(self, message: str, *, element: str = "", got: object = "",
             expected: object = "") -> None:
        """Record ``message`` if it is the first failure (with its element and values)."""
        if not self.failure:
            self.failure = message
            self.element, self.got, self.expected = element, _short(got), _short(expected)

    def refuses_layout(self, arr: np.ndarray, t: ArrayType, label: str) -> bool:
        """Record a failure and return True if ``arr`` has not ``t``'s shape, or not its
        dtype when ``t`` is a float type."""
        if arr.shape != t.shape:
            self.fail(f"{label}: expected shape {t.shape}, got {arr.shape}")
            return True
        if t.dtype.is_float and arr.dtype != t.dtype.numpy:
            self.fail(f"{label}: expected dtype {t.dtype.value}, got {arr.dtype}")
            return True
        return False

    def outcome(self, case: Case, name: str, what: str = "") -> CheckResult:
        kw = {"error": self.worst, "ulps": self.worst_ulps, "compared": self.compared,
              "unreliable": self.unreliable}
        if self.failure:
            return case.result(name, Status.FAIL, self.failure, element=self.element,
                               got=self.got, expected=self.expected, **kw)
        if self.compared == 0:
            reason = "no element could be judged" + (f" ({what})" if what else "")
            if self.unreliable:
                reason += f": {self.unreliable} within their bound of a discontinuity, " \
                          "domain edge or overflow"
            return case.result(name, Status.SKIP, reason, **kw)
        return case.result(name, Status.PASS, **kw)


CTX = mpmath.MPContext()
CTX.prec = 2400
"""The context of the comparisons: wide enough that differences and products of float64
values and of the analysis's mp values (40 digits) are exact; never changed after import."""


def exact(x: object) -> object:
    """``x`` (a NumPy or Python number, or an mpf of any context) as an exact CTX number."""
    if isinstance(x, (bool, int, float, np.generic)):
        return CTX.mpf(float(x)) if not isinstance(x, (np.integer, int)) else CTX.mpf(int(x))
    return CTX.mpf(x)


def _short(x: object) -> str:
    """A number in 17 significant digits (mp values included); other values as text."""
    if isinstance(x, str):
        return x
    try:
        return mpmath.nstr(exact(x), 17)
    except (TypeError, ValueError):
        return str(x)


def _ulp(value: object, dtype: DType) -> object:
    finfo = np.finfo(dtype.numpy)
    with np.errstate(over="ignore"):  # beyond the dtype's range: the spacing at its maximum
        rounded = abs(dtype.numpy.type(float(value))) if mpmath.isfinite(value) else finfo.max
        rounded = rounded if np.isfinite(rounded) else finfo.max
        spacing = np.spacing(rounded) if rounded != 0 else finfo.smallest_subnormal
    if not np.isfinite(spacing):  # at the largest float: the gap below it
        spacing = rounded - np.nextafter(rounded, dtype.numpy.type(0))
    return CTX.mpf(float(spacing))


def judge(tally: Tally, got: object, truth: np.ndarray, bound: np.ndarray,
          reliable: np.ndarray, t: ArrayType, label: str, extra: np.ndarray | None = None
          ) -> None:
    """Compare one result array with its truth, elementwise (module docstring). ``extra``:
    an additional bound per element (the oracle's)."""
    arr = np.asarray(got)
    if tally.refuses_layout(arr, t, label):
        return
    for i in cells(t.shape):
        if not reliable[i]:
            tally.unreliable += 1
            continue
        tally.compared += 1
        want = truth[i]
        if not t.dtype.is_float:
            if arr[i] != want:
                tally.fail(f"{label}[{', '.join(map(str, i))}]: expected {want}, got {arr[i]}")
            continue
        g = exact(arr[i])
        where = f"{label}[{', '.join(map(str, i))}]"
        if not mpmath.isfinite(want) or abs(want) >= analysis.overflow_threshold(t.dtype):
            expected = analysis.value_class(want) if not mpmath.isfinite(want) else (
                "+inf" if want > 0 else "-inf")  # a finite truth beyond the dtype rounds to inf
            if analysis.value_class(g) != expected:
                tally.fail(f"{where}: expected {expected}, got {g}", element=where, got=g,
                           expected=expected)
            continue
        allowed = bound[i] + (extra[i] if extra is not None else 0)
        err = abs(g - want) if mpmath.isfinite(g) else mpmath.inf
        ratio = float(err / allowed) if allowed > 0 else (0.0 if err == 0 else float("inf"))
        tally.worst = max(tally.worst, ratio)
        tally.worst_ulps = max(tally.worst_ulps, float(err / _ulp(want, t.dtype)))
        if err > allowed:
            tally.fail(
                f"{where}: got {mpmath.nstr(g, 17)}, expected "
                f"{mpmath.nstr(want, 17)} within {mpmath.nstr(allowed, 3)} "
                f"(error {ratio:.3g} bounds, {float(err / _ulp(want, t.dtype)):.3g} ulp)",
                element=where, got=g, expected=want)


def judge_all(tally: Tally, got: Sequence[object], bounds: Bounds, label: str,
              extra: Sequence[np.ndarray] | None = None) -> None:
    if len(got) != len(bounds.types):
        tally.fail(f"{label}: expected {len(bounds.types)} arrays, got {len(got)}")
        return
    for k, (g, t) in enumerate(zip(got, bounds.types)):
        judge(tally, g, bounds.truth[k], bounds.bound[k], bounds.reliable[k], t,
              f"{label} {k + 1}", None if extra is None else extra[k])


def agree(tally: Tally, a: Sequence[object], b: Sequence[object], bounds: Bounds,
          label: str, factor: int = 2) -> None:
    """Two computations of the same quantity, each within its bound of the truth, differ by
    at most ``factor`` bounds; classes (nan, ±inf) must match exactly."""
    if len(a) != len(b):
        tally.fail(f"{label}: {len(a)} arrays against {len(b)}")
        return
    for k, (x, y) in enumerate(zip(a, b)):
        t = bounds.types[k]
        xa, ya = np.asarray(x), np.asarray(y)
        if xa.shape != t.shape or ya.shape != t.shape:
            tally.fail(f"{label} {k + 1}: shapes {xa.shape} and {ya.shape}, expected {t.shape}")
            continue
        for i in cells(t.shape):
            if not bounds.reliable[k][i]:
                tally.unreliable += 1
                continue
            tally.compared += 1
            u, v = exact(xa[i]), exact(ya[i])
            where = f"{label} {k + 1}[{', '.join(map(str, i))}]"
            if not (mpmath.isfinite(u) and mpmath.isfinite(v)):
                if analysis.value_class(u) != analysis.value_class(v):
                    tally.fail(f"{where}: {u} against {v}")
                continue
            allowed = factor * bounds.bound[k][i]
            err = abs(u - v)
            ratio = float(err / allowed) if allowed > 0 else (0.0 if err == 0 else float("inf"))
            tally.worst = max(tally.worst, ratio)
            if err > allowed:
                tally.fail(f"{where}: {mpmath.nstr(u, 17)} against {mpmath.nstr(v, 17)}, "
                           f"allowed {mpmath.nstr(allowed, 3)} ({ratio:.3g} bounds)")


def _floats(values: Sequence[object], types: Sequence[ArrayType]) -> list[object]:
    return [v for v, t in zip(values, types) if t.dtype.is_float]


def _inner(ws: Sequence[object], vs: Sequence[object]) -> object:
    """Σ w·v, products exact (:data:`CTX` holds any product of a float and an mp value of
    the analysis), the sum rounded once at CTX's precision."""
    terms = [exact(w) * exact(v)
             for wa, va in zip(ws, vs)
             for w, v in zip(np.asarray(wa, dtype=object).reshape(-1),
                             np.asarray(va, dtype=object).reshape(-1))]
    return CTX.fsum(terms)


def _magnitudes(values: Sequence[object]) -> list[np.ndarray]:
    return [np.abs(np.asarray(v, dtype=np.float64)) for v in values]


def _all_reliable(b: Bounds) -> bool:
    return all(bool(np.all(r)) for r in b.reliable)


def _finite(*xs: object) -> bool:
    return all(mpmath.isfinite(x) for x in xs)


def _identical(got: object, want: object) -> bool:
    """The same number, or both nan (the exact comparison of an unreliable element)."""
    g, w = exact(got), exact(want)
    return (mpmath.isnan(g) and mpmath.isnan(w)) or g == w


def _calls(case: Case, name: str, fn: Callable[[], CheckResult]) -> CheckResult:
    """Run a check body; an exception from the backend is a failure naming it."""
    try:
        return fn()
    except Exception as exc:  # the backend under test raised: that is the finding
        return case.result(name, Status.FAIL, f"backend raised {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# Each call its own arrays


BACKEND_METHODS = ("evaluate", "jvp", "linearize", "vjp", "transpose", "linear_map", "hvp",
                   "program_of")
"""The backend methods that take arrays or linear maps (spec 7.1)."""


def _own(value: object) -> object:
    """A fresh copy of an array (or of each array of a sequence); other values as they are."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return type(value)(_own(v) for v in value)
    return value


@dataclass(frozen=True)
class OwnArrays:
    """A linear map (a pullback, a linearization, a transpose) whose every call gets its own
    copies of the arrays given; ``inner`` is the backend's map, which its ``transpose`` and
    ``program_of`` receive."""

    inner: Callable[..., object]

    def __call__(self, *args: object) -> object:
        return _wrap_maps(self.inner(*(_own(a) for a in args)))

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _wrap_maps(value: object) -> object:
    """Results of a backend call with their linear maps wrapped in :class:`OwnArrays`."""
    if isinstance(value, tuple) and len(value) == 2 and callable(value[1]) and not isinstance(
            value[1], np.ndarray):
        return (value[0], OwnArrays(value[1]))
    if callable(value) and not isinstance(value, (np.ndarray, OwnArrays)):
        return OwnArrays(value)
    return value


def _unwrap(value: object) -> object:
    return value.inner if isinstance(value, OwnArrays) else value


@dataclass(frozen=True)
class OwnArraysBackend:
    """``backend`` handing each call its own copies of the case's arrays: the suite passes the
    same tangents and primals to several calls, and a backend that writes into its inputs
    must not corrupt the checks after it (``inputs_unchanged`` reports the writing itself).
    Attributes other than the methods (``name``, ``capabilities``, absent optional methods)
    are the backend's own."""

    backend: object

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.backend, name)
        if name not in BACKEND_METHODS:
            return attribute

        def call(*args: object) -> object:
            result = attribute(*(_own(_unwrap(a)) for a in args))
            return result if name == "program_of" else _wrap_maps(result)
        return call


def run_property(name: str, backend: Backend, case: Case) -> CheckResult:
    """Property ``name`` on ``case``, each backend call with its own copies of the arrays
    (:class:`OwnArraysBackend`), except for ``inputs_unchanged``, which watches the arrays
    the backend is given."""
    check_fn = CHECKS[name]
    if name in WATCHES_INPUTS:
        return check_fn(backend, case)
    return check_fn(OwnArraysBackend(backend), case)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The checks


def evaluate_vs_truth(backend: Backend, case: Case) -> CheckResult:
    """Evaluation agrees with the reference in mpmath, within the derived bound."""
    def body() -> CheckResult:
        got = backend.evaluate(case.program, case.primals)
        tally = Tally()
        judge_all(tally, list(got), case.values(), "result")
        return tally.outcome(case, "evaluate_vs_truth")
    return _calls(case, "evaluate_vs_truth", body)


def jvp_vs_oracle(backend: Backend, case: Case) -> CheckResult:
    """Tangent results agree with the finite-difference oracle where the function is smooth,
    within the JVP's derived bound plus the oracle's own error bound."""
    name = "jvp_vs_oracle"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")
    if any(e.primitive == "stop_gradient" for e in case.program.equations):
        return case.result(name, Status.SKIP, "stop_gradient: zero derivative by definition, "
                           "not by its values")

    def body() -> CheckResult:
        _, dys = backend.jvp(case.program, case.primals, case.tangents)
        bounds, estimate = case.jvp(), case.oracle()
        oracle_bounds = Bounds(estimate.values, bounds.bound, _judgeable(bounds, estimate),
                               bounds.types)
        tally = Tally()
        judge_all(tally, list(dys), oracle_bounds, "tangent", extra=estimate.bounds)
        return tally.outcome(case, name, "kinks or unreliable elements")
    return _calls(case, name, body)


def _judgeable(bounds: Bounds, estimate: Estimate) -> tuple[np.ndarray, ...]:
    """Elements an oracle comparison can judge: reliable, smooth (no kink), and with a
    finite estimate (a nan estimate means the function is undefined around the point: its
    derivative is not a number to compare with)."""
    out = []
    for reliable, kinks, values, errors in zip(bounds.reliable, estimate.kinks,
                                               estimate.values, estimate.bounds):
        ok = np.array(reliable & ~kinks)
        for i in cells(ok.shape):
            ok[i] = ok[i] and _finite(values[i], errors[i])
        out.append(ok)
    return tuple(out)


def jvp_vs_reference(backend: Backend, case: Case) -> CheckResult:
    """Tangent results agree with the reference's JVP in mpmath (the exact derivative where
    smooth, the spec's convention at kinks) within the derived bound alone: tighter than the
    oracle. A disagreement at a kink where the backend picked a one-sided slope is reported
    as a convention difference."""
    name = "jvp_vs_reference"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, dys = backend.jvp(case.program, case.primals, case.tangents)
        tally = Tally()
        judge_all(tally, list(dys), case.jvp(), "tangent")
        result = tally.outcome(case, name)
        if result.status is Status.FAIL and takes_one_sided_slopes(case, dys):
            return case.convention(result, "at a kink the backend takes a one-sided slope "
                                   "other than the spec's convention: ")
        return result
    return _calls(case, name, body)


def takes_one_sided_slopes(case: Case, dys: Sequence[object], *,
                           judge_unreliable: bool = False) -> bool:
    """Whether every tangent element where the backend disagrees with the reference sits at
    a kink along the case's tangent and lies (within the derived bound plus the oracle's
    error) between the two one-sided slopes: another convention at the kink (a one-sided
    slope, their mean, a weighted split of a tie), not a wrong derivative. For a kink of a
    convex or concave function (``abs``, ``max``, ``cummax``, ``sort``) that interval is
    exactly what every element of the generalized gradient gives along the tangent; for
    ``clamp`` at a triple tie it is narrower (the middle operand's piece lies outside).
    Unreliable elements are ignored, as the comparison ignored them; with
    ``judge_unreliable`` (exact assertions, which judge them) any difference there is not a
    convention."""
    bounds = case.jvp()
    kinks = case.oracle().kinks
    left, right = case.slopes()
    for k, (g, t) in enumerate(zip(dys, bounds.types)):
        arr = np.asarray(g)
        for i in cells(t.shape):
            if not bounds.reliable[k][i]:
                if judge_unreliable and not _identical(arr[i], bounds.truth[k][i]):
                    return False
                continue
            got = exact(arr[i])
            want, allowed = bounds.truth[k][i], bounds.bound[k][i]
            if _finite(got, want) and abs(got - want) <= allowed:
                continue
            if not kinks[k][i]:
                return False
            tolerance = allowed + case.oracle().bounds[k][i]
            low, high = sorted((left[k][i], right[k][i]))
            if not (_finite(got, low, high) and low - tolerance <= got <= high + tolerance):
                return False
    return True


def primal_parts_equal(backend: Backend, case: Case) -> CheckResult:
    """The primal results of jvp, linearize and vjp agree with evaluate's."""
    name = "primal_parts_equal"

    def body() -> CheckResult:
        values = list(backend.evaluate(case.program, case.primals))
        bounds = case.values()
        tally = Tally()
        outs_jvp, _ = backend.jvp(case.program, case.primals, case.tangents)
        agree(tally, list(outs_jvp), values, bounds, "jvp primal")
        outs_lin, _ = backend.linearize(case.program, case.primals)
        agree(tally, list(outs_lin), values, bounds, "linearize primal")
        outs_vjp, _ = backend.vjp(case.program, case.primals)
        agree(tally, list(outs_vjp), values, bounds, "vjp primal")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def linearize_equals_jvp(backend: Backend, case: Case) -> CheckResult:
    """Applying the linearization to the tangents gives the JVP's tangent results."""
    name = "linearize_equals_jvp"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, dys = backend.jvp(case.program, case.primals, case.tangents)
        _, lin = backend.linearize(case.program, case.primals)
        tally = Tally()
        agree(tally, list(lin(*case.tangents)), list(dys), case.jvp(), "lin(t) vs jvp")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def _scaled(ts: Sequence[np.ndarray], factor: float) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(np.asarray(t) * factor, dtype=np.asarray(t).dtype) for t in ts)


def _split(ts: Sequence[np.ndarray]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Two tangents with disjoint supports summing exactly to ``ts`` (alternate elements)."""
    first, second = [], []
    for t in ts:
        a = np.asarray(t)
        mask = (np.arange(a.size) % 2 == 0).reshape(a.shape)
        first.append(np.where(mask, a, 0).astype(a.dtype))
        second.append(np.where(mask, 0, a).astype(a.dtype))
    return tuple(first), tuple(second)


def linearity(backend: Backend, case: Case) -> CheckResult:
    """The linearization is linear: additive on a split of the tangent into parts with
    disjoint supports (their sum is exact), and homogeneous under scaling by -2 (exact)."""
    name = "linearity"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, lin = backend.linearize(case.program, case.primals)
        t = case.tangents
        t1, t2 = _split(t)
        whole, a, b = lin(*t), lin(*t1), lin(*t2)
        bt, b1, b2 = case.jvp(t), case.jvp(t1), case.jvp(t2)
        tally = Tally()
        _linear_identity(tally, whole, [a, b], [bt, b1, b2], "lin(t1 + t2) vs lin(t1) + lin(t2)",
                         [1, 1])
        scaled = lin(*_scaled(t, -2.0))
        bs = case.jvp(_scaled(t, -2.0))
        _linear_identity(tally, scaled, [whole], [bs, bt], "lin(-2 t) vs -2 lin(t)", [-2])
        return tally.outcome(case, name)
    return _calls(case, name, body)


def _linear_identity(tally: Tally, lhs: Sequence[object], parts: Sequence[Sequence[object]],
                     bounds: Sequence[Bounds], label: str, coefficients: Sequence[int]) -> None:
    """``lhs == Σ c_k parts_k`` elementwise, allowed the sum of each side's bound (times
    |c_k|); elements unreliable on any side are left out."""
    types = bounds[0].types
    for r, t in enumerate(types):
        left = np.asarray(lhs[r])
        for i in cells(t.shape):
            if not all(b.reliable[r][i] for b in bounds):
                tally.unreliable += 1
                continue
            values = [exact(left[i])] + [exact(np.asarray(p[r])[i])
                                                    for p in parts]
            allowed = bounds[0].bound[r][i] + sum(
                abs(c) * b.bound[r][i] for c, b in zip(coefficients, bounds[1:]))
            if not _finite(*values, allowed):
                continue
            tally.compared += 1
            err = abs(values[0] - sum(c * v for c, v in zip(coefficients, values[1:])))
            ratio = float(err / allowed) if allowed > 0 else (0.0 if err == 0 else float("inf"))
            tally.worst = max(tally.worst, ratio)
            if err > allowed:
                tally.fail(f"{label}, result {r + 1}[{', '.join(map(str, i))}]: differ by "
                           f"{mpmath.nstr(err, 3)}, allowed {mpmath.nstr(allowed, 3)}")


def transpose_adjoint(backend: Backend, case: Case) -> CheckResult:
    """The dot-product test: ``<w, L t> = <L^T w, t>`` for the backend's transpose of its
    linearization, allowed ``Σ|w| E(L t) + Σ|t| E(L^T w)``."""
    name = "transpose_adjoint"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, lin = backend.linearize(case.program, case.primals)
        lin_t = backend.transpose(lin)
        w, t = case.cotangents, case.tangents
        forward, backward = lin(*t), lin_t(*w)
        bj, bv = case.jvp(), case.vjp()
        tally = Tally()
        if not (_all_reliable(bj) and _all_reliable(bv)):
            tally.unreliable += 1
            return tally.outcome(case, name, "inner products need every element")
        left, right = _inner(w, forward), _inner(backward, t)
        allowed = _inner(_magnitudes(w), bj.bound) + _inner(_magnitudes(t), bv.bound)
        if not _finite(left, right, allowed):
            return case.result(name, Status.SKIP, "non-finite inner products")
        tally.compared = 1
        err = abs(left - right)
        tally.worst = float(err / allowed) if allowed > 0 else (0.0 if err == 0 else
                                                                 float("inf"))
        if err > allowed:
            tally.fail(f"<w, L t> = {mpmath.nstr(left, 17)} but <L^T w, t> = "
                       f"{mpmath.nstr(right, 17)}, allowed {mpmath.nstr(allowed, 3)}")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def double_transpose(backend: Backend, case: Case) -> CheckResult:
    """Transposing twice gives back the map: ``(L^T)^T t`` agrees with ``L t``. Both are
    within their bounds of the truth; the double transpose is bounded by the reverse
    analysis applied through the adjoint (``Σ`` over each output of the transposed bounds)."""
    name = "double_transpose"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, lin = backend.linearize(case.program, case.primals)
        lin_tt = backend.transpose(backend.transpose(lin))
        tally = Tally()
        agree(tally, list(lin_tt(*case.tangents)), list(lin(*case.tangents)), case.jvp(),
              "(L^T)^T t vs L t")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def vjp_equals_transpose_of_linearize(backend: Backend, case: Case) -> CheckResult:
    """The pullback of vjp agrees with the transpose of the linearization."""
    name = "vjp_equals_transpose_of_linearize"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, pullback = backend.vjp(case.program, case.primals)
        _, lin = backend.linearize(case.program, case.primals)
        tally = Tally()
        agree(tally, list(pullback(*case.cotangents)),
              list(backend.transpose(lin)(*case.cotangents)), case.vjp(), "vjp vs L^T")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def vjp_vs_reference(backend: Backend, case: Case) -> CheckResult:
    """Input cotangents agree with the reference's VJP in mpmath within the derived bound."""
    name = "vjp_vs_reference"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, pullback = backend.vjp(case.program, case.primals)
        bars = list(pullback(*case.cotangents))
        tally = Tally()
        judge_all(tally, bars, case.vjp(), "cotangent")
        result = tally.outcome(case, name)
        if result.status is Status.FAIL and not case.oracle().smooth and finite_where_wrong(
                bars, case.vjp()):
            return case.convention(result, "the program has a kink at this point and the "
                                   "backend's reverse mode differs from the spec's "
                                   "convention: ")
        return result
    return _calls(case, name, body)


def finite_where_wrong(got: Sequence[object], bounds: Bounds, *,
                       judge_unreliable: bool = False) -> bool:
    """Whether every element outside its bound is at least a finite number where the spec's
    is (a nan or an infinity where the spec's derivative is finite is wrong under any
    convention). Reverse mode has no tangent to follow, and its conventions at a kink pick
    elements of a generalized gradient that no cheap test bounds: one-sided partials do
    not (at ``clamp``'s triple tie every partial along ``x`` is 0, yet ``x``'s piece of the
    gradient is a limiting gradient there, and the spec's own convention gives ``x`` a
    share), so a finite answer at a kink is reported as a convention difference. Unreliable
    elements as in :func:`takes_one_sided_slopes`."""
    for k, g in enumerate(got):
        arr = np.asarray(g)
        for i in cells(arr.shape):
            want, allowed = bounds.truth[k][i], bounds.bound[k][i]
            value = exact(arr[i])
            if not bounds.reliable[k][i]:
                if judge_unreliable and not _identical(arr[i], want):
                    return False
                continue
            if not (_finite(value, want) and abs(value - want) <= allowed):
                if not _finite(value) and _finite(want):
                    return False
    return True


def grad_vs_oracle(backend: Backend, case: Case) -> CheckResult:
    """``<vjp(w), t>`` agrees with ``<w, oracle(t)>`` (one directional derivative), where the
    function is smooth along ``t``."""
    name = "grad_vs_oracle"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")
    if any(e.primitive == "stop_gradient" for e in case.program.equations):
        return case.result(name, Status.SKIP, "stop_gradient: zero derivative by definition")

    def body() -> CheckResult:
        _, pullback = backend.vjp(case.program, case.primals)
        bars = pullback(*case.cotangents)
        estimate, bv = case.oracle(), case.vjp()
        if not estimate.smooth or not _all_reliable(bv):
            return case.result(name, Status.SKIP, "a kink or unreliable element on the way",
                               unreliable=1)
        left = _inner(bars, case.tangents)
        right = _inner(case.cotangents, estimate.values)
        allowed = _inner(_magnitudes(case.tangents), bv.bound) + _inner(
            _magnitudes(case.cotangents), estimate.bounds)
        if not _finite(left, right, allowed):
            return case.result(name, Status.SKIP, "non-finite inner products")
        err = abs(left - right)
        ratio = float(err / allowed) if allowed > 0 else (0.0 if err == 0 else float("inf"))
        if err > allowed:
            return case.result(name, Status.FAIL, f"<vjp(w), t> = {mpmath.nstr(left, 17)} but "
                               f"<w, D f t> = {mpmath.nstr(right, 17)}, allowed "
                               f"{mpmath.nstr(allowed, 3)}", error=ratio, compared=1)
        return case.result(name, Status.PASS, error=ratio, compared=1)
    return _calls(case, name, body)


MAX_JACOBIAN_SIZE = 24
"""Largest number of Jacobian entries the forward-vs-reverse check builds."""


def _basis(types: Sequence[ArrayType], k: int, i: tuple) -> tuple[np.ndarray, ...]:
    out = []
    for m, t in enumerate(types):
        a = np.zeros(t.shape, dtype=t.dtype.numpy)
        if m == k:
            a[i] = 1
        out.append(a)
    return tuple(out)


def jacobian_fwd_vs_rev(backend: Backend, case: Case) -> CheckResult:
    """Every Jacobian entry computed by jvp on a basis tangent agrees with the one computed by
    vjp on a basis cotangent, each within its derived bound."""
    name = "jacobian_fwd_vs_rev"
    ins, outs = case.float_inputs, case.float_results
    n, m = sum(t.size for t in ins), sum(t.size for t in outs)
    if n == 0 or m == 0:
        return case.result(name, Status.SKIP, "no float input or result")
    if n * m > MAX_JACOBIAN_SIZE:
        return case.result(name, Status.SKIP, f"Jacobian of {m}x{n} entries is larger than "
                           f"{MAX_JACOBIAN_SIZE}")

    def body() -> CheckResult:
        _, pullback = backend.vjp(case.program, case.primals)
        tally = Tally()
        rows = {}
        for r, t in enumerate(outs):
            for i in cells(t.shape):
                ct = _basis(outs, r, i)
                rows[(r, i)] = (pullback(*ct), case.vjp(ct))
        for j, s in enumerate(ins):
            for q in cells(s.shape):
                tangent = _basis(ins, j, q)
                _, column = backend.jvp(case.program, case.primals, tangent)
                bj = case.jvp(tangent)
                for r, t in enumerate(outs):
                    for i in cells(t.shape):
                        row, bv = rows[(r, i)]
                        if not (bj.reliable[r][i] and bv.reliable[j][q]):
                            tally.unreliable += 1
                            continue
                        a = exact(np.asarray(column[r])[i])
                        b = exact(np.asarray(row[j])[q])
                        allowed = bj.bound[r][i] + bv.bound[j][q]
                        if not _finite(a, b, allowed):
                            if analysis.value_class(a) != analysis.value_class(b):
                                tally.fail(f"J[{r + 1}{list(i)}, {j + 1}{list(q)}]: forward "
                                           f"{a}, reverse {b}")
                            continue
                        tally.compared += 1
                        err = abs(a - b)
                        ratio = (float(err / allowed) if allowed > 0
                                 else (0.0 if err == 0 else float("inf")))
                        tally.worst = max(tally.worst, ratio)
                        if err > allowed:
                            tally.fail(f"J[{r + 1}{list(i)}, {j + 1}{list(q)}]: forward "
                                       f"{mpmath.nstr(a, 17)}, reverse {mpmath.nstr(b, 17)}, "
                                       f"allowed {mpmath.nstr(allowed, 3)}")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def scalarized(p: Program) -> Program | None:
    """``p`` with its float results summed into one scalar (``reduce_sum`` over all axes,
    then ``add``): a program the Hessian applies to. None if ``p`` has no float result."""
    from lintra.reference.emit import Emitter, NameSupply, build_program, program_names

    typing = check(p)
    floats = [(v, typing.variables[v.name].array) for v in p.outputs
              if typing.variables[v.name].array.dtype.is_float]
    if not floats:
        return None
    if len(p.outputs) == 1 and floats[0][1].rank == 0:
        return p
    em = Emitter(NameSupply(program_names(p)))
    for b in p.inputs:
        em.bind_existing(b.name, typing.variables[b.name])
    for e, et in zip(p.equations, typing.equations):
        em.copy_equation(e, et.outputs)
    dtype = floats[0][1].dtype
    total: Atom | None = None
    for v, t in floats:
        part: Atom = v
        if t.dtype is not dtype:
            part = em.emit1("convert_element_type", part, new_dtype=dtype.value, hint="c")
        if t.rank:
            part = em.emit1("reduce_sum", part, axes=tuple(range(t.rank)), hint="s")
        total = part if total is None else em.emit1("add", total, part, hint="s")
    result = build_program(p.name + "_sum", list(p.inputs), em, [total])
    check(result)
    return result


def hvp_vs_oracle(backend: Backend, case: Case) -> CheckResult:
    """The backend's Hessian-vector product (forward over reverse) of the program with its
    float results summed into one scalar (:func:`scalarized`) agrees with the oracle's
    directional derivative of the reference's gradient, within the derived bound of the HVP
    plus the oracle's bound."""
    name = "hvp_vs_oracle"
    if not hasattr(backend, "hvp"):
        return case.result(name, Status.SKIP, "backend has no hvp method")
    if not case.float_inputs or not case.float_results:
        return case.result(name, Status.SKIP, "no float input or result")
    if any(e.primitive == "stop_gradient" for e in case.program.equations):
        return case.result(name, Status.SKIP, "stop_gradient: zero derivative by definition")
    program = scalarized(case.program)
    assert program is not None
    out = program.result_types[0].array

    def body() -> CheckResult:
        got = backend.hvp(program, case.primals, case.tangents)  # type: ignore[attr-defined]
        gp = analysis.vjp_program(program)
        ones = [np.ones(out.shape, dtype=out.dtype.numpy)]
        zero = [np.zeros_like(ones[0])]
        estimate = directional_derivative(gp, [*case.primals, *ones],
                                          [*case.tangents, *zero], case.dps)
        bounds = analysis.hvp_bounds(program, case.primals, case.tangents, case.dps)
        tally = Tally()
        judge_all(tally, list(got), Bounds(estimate.values, bounds.bound,
                                           _judgeable(bounds, estimate), bounds.types),
                  "hvp", extra=estimate.bounds)
        return tally.outcome(case, name, "kinks or unreliable elements")
    return _calls(case, name, body)


def zeros_and_unused_inputs(backend: Backend, case: Case) -> CheckResult:
    """A zero tangent gives zero tangent results (where the linearization is finite), and an
    input no result depends on gets an exactly zero cotangent and moves nothing."""
    name = "zeros_and_unused_inputs"
    if not case.float_results or not case.float_inputs:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        tally = Tally()
        _, lin = backend.linearize(case.program, case.primals)
        zeros = tuple(np.zeros(t.shape, dtype=t.dtype.numpy) for t in case.float_inputs)
        reference = case.jvp()
        for k, z in enumerate(lin(*zeros)):
            for i, v in np.ndenumerate(np.asarray(z)):
                if not (reference.reliable[k][i] and _finite(reference.truth[k][i])):
                    tally.unreliable += 1  # a non-finite coefficient times 0 is nan
                    continue
                tally.compared += 1
                if v != 0:
                    tally.fail(f"lin(0) result {k + 1}{list(i)} = {v}, expected 0")
        unused = _unused_float_inputs(case.program)
        if unused:
            _, pullback = backend.vjp(case.program, case.primals)
            bars = pullback(*case.cotangents)
            for j in unused:
                bar = np.asarray(bars[j])
                tally.compared += bar.size
                if np.any(bar != 0):
                    tally.fail(f"input {j + 1} is unused but its cotangent is {bar.tolist()}")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def _unused_float_inputs(p: Program) -> list[int]:
    """Positions (among float inputs) of float inputs no result depends on."""
    needed = {v.name for v in p.outputs}
    for e in reversed(p.equations):
        if any(b.name in needed for b in e.outputs):
            needed |= {a.name for a in e.inputs if hasattr(a, "name")}
    floats = [b for b in p.inputs if b.type.array.dtype.is_float]
    return [j for j, b in enumerate(floats) if b.name not in needed]


def errors_refused(backend: Backend, case: Case) -> CheckResult:
    """Bad requests raise: a non-linear program offered for transposition (``mul(t, t)`` on
    the case's first float input type), and a cotangent of the wrong shape."""
    name = "errors_refused"
    if not case.float_inputs or not case.float_results:
        return case.result(name, Status.SKIP, "no float input or result")
    tally = Tally()
    t = case.float_inputs[0]
    if backend.capabilities.refuses_nonlinear:
        bad = _nonlinear_program(t)
        tally.compared += 1
        try:
            backend.transpose(backend.linear_map(bad, ()))(np.ones(t.shape, t.dtype.numpy))
            tally.fail(f"transposing the non-linear program\n{bad}\nwas not refused")
        except Exception:  # any refusal counts: Python backends raise their own classes
            pass
    try:
        _, pullback = backend.vjp(case.program, case.primals)
    except Exception as exc:
        return case.result(name, Status.FAIL, f"backend raised {type(exc).__name__}: {exc}")
    out = case.float_results[0]
    wrong = list(case.cotangents)
    wrong[0] = np.ones((*out.shape, 2), dtype=out.dtype.numpy)
    tally.compared += 1
    try:
        pullback(*wrong)
        tally.fail(f"a cotangent of shape {(*out.shape, 2)} for a result of type {out} was "
                   "not refused")
    except Exception:
        pass
    return tally.outcome(case, name)


def inputs_unchanged(backend: Backend, case: Case) -> CheckResult:
    """The backend leaves the arrays it is given as they were: primals (evaluate, jvp,
    linearize, vjp), tangents (jvp, the linearization), cotangents (the pullback, the
    transpose). Each is compared bit for bit with a copy taken before the call. A call that
    raises is the other properties' finding, not this one's: the arrays it was given are
    still compared, the calls that need its result are left out."""
    name = "inputs_unchanged"

    def body() -> CheckResult:
        tally = Tally()
        raised: list[str] = []

        def watched(label: str, arrays: Sequence[np.ndarray], call: Callable[[], object]
                    ) -> object:
            before = [np.array(a, copy=True) for a in arrays]
            try:
                out = call()
            except Exception as exc:  # judged by the properties that use this call
                raised.append(f"{label} raised {type(exc).__name__}")
                out = None
            for k, (a, b) in enumerate(zip(arrays, before)):
                tally.compared += 1
                if a.shape != b.shape:
                    tally.fail(f"{label}: argument {k + 1} was reshaped by the backend, from "
                               f"{b.shape} to {a.shape}")
                elif a.tobytes() != b.tobytes():
                    i = next(i for i in cells(b.shape) if a[i].tobytes() != b[i].tobytes())
                    tally.fail(f"{label}: argument {k + 1}[{', '.join(map(str, i))}] was "
                               f"changed by the backend from {b[i]!r} to {a[i]!r}",
                               element=f"{label} argument {k + 1}", got=str(a[i]),
                               expected=str(b[i]))
            return out

        def second(pair: object) -> object:
            return pair[1] if isinstance(pair, (tuple, list)) and len(pair) == 2 else None

        primals = tuple(np.array(a, copy=True) for a in case.primals)
        tangents = tuple(np.array(a, copy=True) for a in case.tangents)
        cotangents = tuple(np.array(a, copy=True) for a in case.cotangents)
        watched("evaluate", primals, lambda: backend.evaluate(case.program, primals))
        if case.float_inputs and case.float_results:
            watched("jvp", primals + tangents,
                    lambda: backend.jvp(case.program, primals, tangents))
            lin = second(watched("linearize", primals,
                                 lambda: backend.linearize(case.program, primals)))
            if lin is not None:
                watched("the linearization", tangents, lambda: lin(*tangents))
                watched("the transpose of the linearization", cotangents,
                        lambda: backend.transpose(lin)(*cotangents))
            pullback = second(watched("vjp", primals,
                                      lambda: backend.vjp(case.program, primals)))
            if pullback is not None:
                watched("the pullback", cotangents, lambda: pullback(*cotangents))
        result = tally.outcome(case, name)
        if raised and result.status is Status.PASS:
            return replace(result, reason="unchanged where the calls returned ("
                           + "; ".join(raised) + ": the other properties judge that)")
        return result
    return _calls(case, name, body)


def _nonlinear_program(t: ArrayType) -> Program:
    """``def square_map(t: lin T) -> lin T: u = mul(t, t)`` (ill-typed on purpose)."""
    from lintra.reference.syntax import Binder, Equation, Var, VarType

    vt = VarType(t, linear=True)
    eq = Equation((Binder("u", vt),), "mul", (Var("t"), Var("t")))
    return Program("square_map", (Binder("t", vt),), (vt,), (eq,), (Var("u"),))


def structure(backend: Backend, case: Case) -> CheckResult:
    """For backends that show their linear maps as programs: the linearization and its
    transpose pass ``check``, are linear, and stay within the size bounds of spec 4.4/5.4."""
    name = "structure"
    if not hasattr(backend, "program_of"):
        return case.result(name, Status.SKIP, "backend does not expose its programs")
    if not case.float_inputs or not case.float_results:
        return case.result(name, Status.SKIP, "no float input or result")

    def body() -> CheckResult:
        _, lin = backend.linearize(case.program, case.primals)
        lp = backend.program_of(lin)  # type: ignore[attr-defined]
        lt = backend.program_of(backend.transpose(lin))  # type: ignore[attr-defined]
        if lp is None or lt is None:
            return case.result(name, Status.SKIP, "backend gave no program")
        tally = Tally()
        for label, prog in (("linear program", lp), ("transposed program", lt)):
            typing = check(prog)
            tally.compared += 1
            if not all(vt.linear for b in prog.inputs[-1:] for vt in [typing.variables[b.name]]):
                tally.fail(f"{label}: its last parameter is not linear")
        n = len(case.program.equations)
        k, u = _operands_and_uses(case.program)
        jvp_limit = n + jvp_equations_allowed(case.program) + k + u
        if len(lp.equations) > jvp_limit:
            tally.fail(f"linear program has {len(lp.equations)} equations, spec 4.4 allows "
                       f"{jvp_limit}")
        k_lin, u_lin = _operands_and_uses(lp)
        t_limit = len(lp.equations) + TRANSPOSE_EQUATIONS_PER_OPERAND * k_lin + u_lin
        if len(lt.equations) > t_limit:
            tally.fail(f"transposed program has {len(lt.equations)} equations, spec 5.4 allows "
                       f"{t_limit}")
        return tally.outcome(case, name)
    return _calls(case, name, body)


def cumprod_jvp_equations(length: int) -> int:
    """The most equations cumprod's JVP rule emits for a scanned axis of ``length`` (spec
    3.7, *Sizes*): 18 per level of its scan, ⌈log₂ length⌉ levels, less 1; 3 for a length of
    1 (y_(i−1)·dx alone) and none for an empty operand."""
    if length <= 1:
        return 3 * length
    return 18 * (length - 1).bit_length() - 1


def cummax_jvp_equations(length: int) -> int:
    """The most equations cummax's JVP rule emits for a scanned axis of ``length`` (spec
    3.7, *Sizes*): its restarting scan's 18 per level, ⌈log₂ length⌉ levels, and 12 more
    for the runs' starts, members, counts and the quotient; 16 for a length of 1 and none
    for an empty operand."""
    if length <= 1:
        return 16 * length
    return 18 * (length - 1).bit_length() + 12


SCAN_JVP_EQUATIONS = {"cumprod": cumprod_jvp_equations, "cummax": cummax_jvp_equations}
"""The primitives whose JVP rule grows with the length of the scanned axis (spec 3.7)."""


def jvp_equations_allowed(p: Program) -> int:
    """``r·k`` of spec 4.4's size bound: 13 equations per operand, except that a ``cumprod``
    or ``cummax`` equation counts what its rule may emit for the length of its axis."""
    typing = check(p)
    total = 0
    for e, et in zip(p.equations, typing.equations):
        scan = SCAN_JVP_EQUATIONS.get(e.primitive)
        if scan is not None:
            t = et.inputs[0].array
            axis = int(et.params["axis"]) % t.rank
            total += scan(0 if 0 in t.shape else t.shape[axis])
        else:
            total += JVP_EQUATIONS_PER_OPERAND * len(e.inputs)
    return total


def _operands_and_uses(p: Program) -> tuple[int, int]:
    """``k`` (operands of all equations) and ``u`` (uses plus variables) of spec 4.4."""
    k = sum(len(e.inputs) for e in p.equations)
    variables = len(p.inputs) + sum(len(e.outputs) for e in p.equations)
    return k, k + len(p.outputs) + variables


CheckFn = Callable[[Backend, Case], CheckResult]

CHECKS: dict[str, CheckFn] = {
    f.__name__: f for f in (
        evaluate_vs_truth, jvp_vs_oracle, jvp_vs_reference, primal_parts_equal,
        linearize_equals_jvp, linearity, transpose_adjoint, double_transpose,
        vjp_equals_transpose_of_linearize, vjp_vs_reference, grad_vs_oracle,
        jacobian_fwd_vs_rev, hvp_vs_oracle, zeros_and_unused_inputs, errors_refused,
        structure, inputs_unchanged, derivative_accuracy,
    )
}
"""Every property, by name, in the order runs report them."""

WATCHES_INPUTS = frozenset({"inputs_unchanged"})
"""The properties that get the backend itself, not :class:`OwnArraysBackend`."""
