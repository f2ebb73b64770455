"""Running the suite: generated cases per property and primitive, then the corpus (spec 7.6).

``run(backend, profile)`` is the plain-Python entry point; the CLI and the pytest plugin call
:func:`run_check` and the corpus functions underneath. Generated cases come from Hypothesis,
seeded per property and primitive (:func:`item_seed`): a first pass generates the profile's
number of cases and records every result; if one fails, a second pass with the same seed
lets Hypothesis shrink it, and the smallest failing case is the one reported (its program
and inputs reproduce it). The cases of a passing first pass are stored in the case cache
(spec 7.8, :mod:`lintra.conformance.truth_cache`) and replayed by later runs, of any backend,
instead of drawn again; a replayed case that fails goes to the shrinking pass the same way.
A failure ends its own item only: every other (property, primitive) item still runs. Every
case runs under a time limit (:func:`time_limit`): one that takes longer is a skip with that
reason, never a hung run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from lintra.conformance import truth_cache
from lintra.conformance.backend import Backend, load_backend
from lintra.conformance.known_failures import (
    Entry,
    check_item,
    corpus_item,
    describe,
    fixed,
    mark_known,
    read_entries,
    stale,
)
from lintra.conformance.profiles import Profile, profile_named
from lintra.conformance.properties import CHECKS, Case, run_property
from lintra.conformance.results import CheckResult, RunReport, Status, judged
from lintra.conformance.strategies import programs, seed_determined
from lintra.conformance.truth_cache import case_entry
from lintra.reference.errors import EvaluationError, LintraError
from lintra.reference.evaluate import evaluate
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.primitives.base import LinearityKind
from lintra.reference.syntax import ArrayType, DType, Equation, Literal, Program, Var

CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
"""The properties checked on generated cases, in report order."""

DTYPES = (DType.f64, DType.f32, DType.i64, DType.bool)
"""The dtypes of generated programs."""

Progress = Callable[[int, int, str], None]

CASE_TIME_LIMIT = 60.0
"""Seconds one case may take (its generation's mpmath evaluation, then one property: the
backend's calls, the truth, the bounds and the oracle) before it is skipped with that
reason (spec 7.6). A case of the profiles takes well under a second on the reference; only
an evaluation that does not terminate in practice (mpmath on huge arguments) comes near."""


# --------------------------------------------------------------------------------------------
# Seeds and time limits


def item_seed(seed: int, check: str, primitive: str) -> int:
    """The Hypothesis seed of property ``check`` on the cases around ``primitive`` in a run
    of base seed ``seed``: a hash of the three (SHA-256, so the same in every process and
    under every ``PYTHONHASHSEED``), so that no two items draw the same inputs."""
    digest = hashlib.sha256(f"{seed}:{check}:{primitive}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class CaseTimeout(BaseException):
    """A case ran past the per-case time limit. A ``BaseException``, like
    ``KeyboardInterrupt``, so that no ``except Exception`` on the way (a check reporting what
    the backend raised) mistakes it for the backend's error."""


def time_limit_enforced() -> bool:
    """Whether :func:`time_limit` can interrupt a case here: on POSIX (``SIGALRM``), in the
    main thread (where Python runs signal handlers). Elsewhere cases run without a limit."""
    return (hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
            and threading.current_thread() is threading.main_thread())


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the body once ``seconds`` have passed (a real-time
    interval timer and a ``SIGALRM`` handler, both restored on exit). ``None`` or 0: no
    limit; where :func:`time_limit_enforced` is False the body runs unlimited. Python runs
    the handler between bytecodes, so one long C call (a huge integer product) finishes
    first."""
    if not seconds or not time_limit_enforced():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"the case took longer than the per-case time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_reason(exc: CaseTimeout, where: str) -> str:
    """The reason of a skip for a case that ran past the limit."""
    return (f"{exc} ({where}; the truth's mpmath evaluation or the backend did not finish; "
            "--case-time-limit changes the limit)")


# --------------------------------------------------------------------------------------------
# Generated cases


UNREMARKABLE = (0.7, -1.3, 2.1, -0.45, 1.55, -0.85, 1.15)
"""Points inside most primitives' domains and away from their kinks: Hypothesis starts from
the simplest value of a strategy, and 0 (the simplest float) is a kink or singularity of
many primitives; these come first instead."""
TANGENT_POINTS = (1.1, -0.6, 0.35, -1.7, 0.8)
"""The first choices of tangent elements: other values than the primals', so that a rule
that confuses a primal with its tangent does not go unseen."""
COTANGENT_POINTS = (-0.9, 1.45, 0.55, -1.15, 1.9, -0.25, 0.65)
"""The first choices of cotangent elements: other values again (a cotangent equal to the
tangent hides a map that is not its own adjoint, ``<t, L t> = <L t, t>``)."""
TINY = (1e-10, -3e-11)
"""Magnitudes below 1e-8, where ``1 + x`` rounds to 1 in float64 and cancellation shows."""


@functools.cache
def _elements(dtype: DType, points: tuple[float, ...], shift: int, low: float, high: float
              ) -> st.SearchStrategy:
    """Values of one element: booleans, small integers, or floats in ``[low, high]`` of the
    dtype's width, first ``points`` rotated by ``shift`` (so that neighbouring elements and
    successive arrays start from different values), else any (zeros, integers and halves,
    the kinks of most primitives, come often: Hypothesis favours simple values)."""
    if dtype is DType.bool:
        return st.sampled_from((False, True) if shift % 2 == 0 else (True, False))
    if dtype.is_int:
        return st.integers(-3, 5)
    width = 32 if dtype is DType.f32 else 64
    k = shift % len(points)
    rotated = [v for v in points[k:] + points[:k] if low <= v <= high]
    return st.one_of(st.sampled_from(rotated), st.floats(low, high, width=width))


def _values(draw: st.DrawFn, types: Sequence[ArrayType], points: tuple[float, ...],
            low: float, high: float) -> tuple[np.ndarray, ...]:
    """One array per type; element ``k`` of all of them together (in row-major order) starts
    from ``points[k]``, cyclically."""
    out, start = [], 0
    for t in types:
        flat = [draw(_elements(t.dtype, points, start + k, low, high)) for k in range(t.size)]
        out.append(np.asarray(flat, dtype=t.dtype.numpy).reshape(t.shape))
        start += t.size
    return tuple(out)


Slot = tuple[int, int]
"""An element of the inputs: (input index, flat index)."""
Link = tuple[Slot | None, Slot]
"""A planted tie: (source, copy), or (None, element) for an element set to a literal's
value."""


def _focus_operands(p: Program, focus: str | None) -> tuple[list[int], list[float]]:
    """The float parameters (by index, in operand order, each once) and the finite numeric
    literals (at most 3 in magnitude, inside the inputs' range) the first call of ``focus``
    takes: where a kink tests that call."""
    index = {b.name: i for i, b in enumerate(p.inputs)}
    for e in p.equations:
        if e.primitive == focus:
            found: list[int] = []
            literals: list[float] = []
            for a in e.inputs:
                if isinstance(a, Literal):
                    if a.kind != "bool" and math.isfinite(a.value) and abs(a.value) <= 3:
                        literals.append(float(a.value))
                    continue
                i = index.get(a.name)
                if i is not None and p.inputs[i].type.array.dtype.is_float and i not in found:
                    found.append(i)
            return found, literals
    return [], []


def _with_kinks(draw: st.DrawFn, arrays: tuple[np.ndarray, ...], focus: str | None,
                targets: Sequence[int], literals: Sequence[float],
                call: Equation | None = None, index: dict[str, int] | None = None
                ) -> tuple[tuple[np.ndarray, ...], list[Link]]:
    """The primals with kinks planted in the arrays ``targets`` (the focus call's float
    operands; every float array when there are none), and the ties planted (for
    :func:`_follow_ties`). Never in the simplest draw, whose points are all unremarkable;
    usually (each kind three times in four) in the others.

    Operands meet (:func:`_plant_tie`): ``max``, ``clamp``, comparisons, ``argmax``,
    ``sort`` and ``cummax`` have their kinks at ties. And, elsewhere, one element becomes
    an exact zero and the next a tiny magnitude (:data:`TINY`; with room for one only,
    either): the kinks of ``abs``, ``sign``, ``pow``... sit at 0, and near it cancellation
    shows (``log1p``, ``expm1``). And one of the focus primitive's own hard places
    (:func:`_plant_hard_place`, ``call``: its first call, ``index``: parameter positions by
    name) at an element of its own, planted before the zero and the tiny magnitude, which
    keep away from it."""
    chosen = [i for i in targets if arrays[i].size] or [
        i for i, a in enumerate(arrays) if a.dtype.kind == "f" and a.size]
    if not chosen:
        return arrays, []
    out = [a.copy() for a in arrays]
    within = focus is not None and PRIMITIVES[focus].family == "reductions"
    tied: list[Slot] = []
    links: list[Link] = []
    if _usually(draw):
        tied, links = _plant_tie(draw, out, chosen, literals if targets else (), within)
    hard: list[Slot] = []
    if call is not None and index is not None and _usually(draw):
        hard = _plant_hard_place(draw, out, call, index, tied)
    if _usually(draw):
        _plant_specials(draw, out, chosen, tied, hard)
    return tuple(out), links


def _operand_slots(call: Equation, arrays: Sequence[np.ndarray], index: dict[str, int]
                   ) -> list[int | None]:
    """The input each operand of ``call`` is (its position among the parameters), or None
    for a literal, a variable that is not a parameter, or a non-float one."""
    out: list[int | None] = []
    for a in call.inputs:
        i = index.get(a.name) if isinstance(a, Var) else None
        out.append(i if i is not None and arrays[i].dtype.kind == "f" else None)
    return out


def _axis_of(call: Equation, rank: int) -> int:
    """The axis along which an axis primitive (:data:`stress.AXIS_PRIMITIVES`) combines the
    elements of its operand: its first reduced axis, its scan axis, its sort dimension."""
    params = call.param_dict
    axis = params.get("axes", params.get("axis", params.get("dimension", 0)))
    first = axis[0] if isinstance(axis, tuple) and axis else axis
    return int(first) % rank if isinstance(first, int) and rank else 0  # type: ignore[arg-type]


def _plant_hard_place(draw: st.DrawFn, arrays: list[np.ndarray], call: Equation,
                      index: dict[str, int], tied: Sequence[Slot]) -> list[Slot]:
    """Put one of the focus primitive's hard places (:func:`stress.hard_places`: domain
    edges, tails, poles, overflow thresholds, huge and subnormal magnitudes, from its spec
    row) into the operands of its first call, and return the elements set. Elementwise: the
    place's value for each operand at one element (the same flat index, a rank-0 operand's
    only one), away from the ``tied`` elements where there is room. Along an axis (a
    reduction, a scan, ``sort``): the place's values one after another along the combined
    axis of one line of the operand. Nothing when the call takes no float parameter or the
    places do not fit its operands."""
    from lintra.conformance.stress import AXIS_PRIMITIVES, hard_places

    slots = _operand_slots(call, arrays, index)
    params = [i for i in slots if i is not None]
    if not params:
        return []
    dtype = DType.f32 if arrays[params[0]].dtype == np.float32 else DType.f64
    places = hard_places(call.primitive, dtype)
    if call.primitive in AXIS_PRIMITIVES:
        places = tuple(p for p in places if len(p) >= 2)
        i = params[0]
        a = arrays[i]
        if not places or a.ndim == 0 or a.size == 0:
            return []
        place = draw(st.sampled_from(places))
        d = _axis_of(call, a.ndim)
        line = list(np.unravel_index(draw(st.integers(0, a.size - 1)), a.shape))
        planted = []
        for m, value in enumerate(place[:a.shape[d]]):
            line[d] = m
            planted.append((i, _flat(line, a.shape)))
            _set(arrays, planted[-1], value)
        return planted
    places = tuple(p for p in places if len(p) == len(slots))
    if not places:
        return []
    place = draw(st.sampled_from(places))
    size = max(arrays[i].size for i in params)
    free = [k for k in range(size)
            if not any((i, k % arrays[i].size) in tied for i in params)] or list(range(size))
    k = free[draw(st.integers(0, len(free) - 1))]
    planted = []
    for i, value in zip(slots, place):
        if i is not None:
            planted.append((i, k % arrays[i].size))
            _set(arrays, planted[-1], value)
    return planted


def _usually(draw: st.DrawFn) -> bool:
    """True three times in four, but False in the simplest draw."""
    return draw(st.integers(0, 3)) != 0


def _plant_tie(draw: st.DrawFn, arrays: list[np.ndarray], chosen: Sequence[int],
               literals: Sequence[float], within: bool) -> tuple[list[Slot], list[Link]]:
    """Make operands meet, in one of the ways they allow: an element of one array set to the
    same element of another of its shape (or to a rank-0 one's value), an element set to a
    literal operand's value, or (``within``: the focus primitive compares the elements of
    one operand, a reduction) the largest or smallest element of one array repeated next to
    itself along every axis, so that every slice through it has a tied extreme. Returns the
    elements involved and the ties as :data:`Link` s."""
    pairs = [(a, b) for a in chosen for b in chosen if a != b and arrays[b].size > 0
             and ((arrays[a].shape == arrays[b].shape and a < b) or arrays[a].ndim == 0)]
    lines = [i for i in chosen if within and any(n > 1 for n in arrays[i].shape)]
    ways = [w for w, possible in (("pair", pairs), ("literal", literals), ("extreme", lines))
            if possible]
    if not ways:
        return [], []
    way = draw(st.sampled_from(ways))
    if way == "literal":
        i = draw(st.sampled_from(chosen))
        k = draw(st.integers(0, arrays[i].size - 1))
        arrays[i].reshape(-1)[k] = draw(st.sampled_from(literals))
        return [(i, k)], [(None, (i, k))]
    if way == "pair":
        a, b = draw(st.sampled_from(pairs))
        k = draw(st.integers(0, arrays[b].size - 1))
        copies = [((a, k if arrays[a].ndim else 0), (b, k))]
    else:
        i = draw(st.sampled_from(lines))
        shape = arrays[i].shape
        extreme = np.argmax if draw(st.booleans()) else np.argmin  # the inputs are finite
        source = np.unravel_index(int(extreme(arrays[i])), shape)
        copies = []
        for d, n in enumerate(shape):
            at = list(source)
            at[d] = (at[d] + 1) % n
            if n > 1:
                copies.append(((i, _flat(source, shape)), (i, _flat(at, shape))))
    for origin, copy in copies:
        _set(arrays, copy, _get(arrays, origin))
    return [slot for pair in copies for slot in pair], list(copies)


def _plant_specials(draw: st.DrawFn, arrays: list[np.ndarray], chosen: Sequence[int],
                    tied: Sequence[Slot], hard: Sequence[Slot] = ()) -> None:
    """An exact zero at one element of ``arrays[chosen[...]]`` and a tiny magnitude at the
    next, away from the ``tied`` elements and the ``hard`` place; with room for one, either;
    with none left, the tied elements all take one of them (the tie moves to a special
    point)."""
    values = [0.0, draw(st.sampled_from(TINY))]
    slots = [(i, k) for i in chosen for k in range(arrays[i].size)
             if (i, k) not in tied and (i, k) not in hard]
    if len(slots) <= 1:
        values = [draw(st.sampled_from(values))]
    if not slots:
        for slot in tied if len(tied) > 1 and not hard else ():
            _set(arrays, slot, values[0])
        return
    first = draw(st.integers(0, len(slots) - 1))
    for j, value in enumerate(values):
        _set(arrays, slots[(first + j) % len(slots)], value)


def _follow_ties(tangents: tuple[np.ndarray, ...], links: Sequence[Link],
                 positions: dict[int, int]) -> tuple[np.ndarray, ...]:
    """The tangents, with each tie planted in the primals kept (``positions``: the tangent
    index of each float input): a copied element gets its source's tangent, an element tied
    to a literal the tangent 0. Along such a tangent the tied operands stay equal and the
    program is smooth, so a derivative that splits the tie wrongly (``max(x, x)``'s twice or
    half) cannot pass for another convention at a kink. (A tie the tangent leaves is a kink
    along the line, where such a split is a convention; those cases are the corpus's.)"""
    out = [t.copy() for t in tangents]
    for source, (b, j) in links:
        value = 0.0 if source is None else _get(out, (positions[source[0]], source[1]))
        _set(out, (positions[b], j), value)
    return tuple(out)


def _flat(index: Sequence[int], shape: tuple[int, ...]) -> int:
    return int(np.ravel_multi_index(tuple(index), shape))


def _get(arrays: Sequence[np.ndarray], slot: Slot) -> object:
    return arrays[slot[0]].reshape(-1)[slot[1]]


def _set(arrays: Sequence[np.ndarray], slot: Slot, value: object) -> None:
    arrays[slot[0]].reshape(-1)[slot[1]] = value


@st.composite
def cases(draw: st.DrawFn, profile: Profile, focus: str | None = None,
          label: str = "generated", limit: float | None = CASE_TIME_LIMIT) -> Case:
    """A generated program with at least one float input (built around primitive ``focus``,
    whose first call has distinct, informative operands, together with up to two other
    primitives), inputs at which the reference evaluates it without an EvaluationError
    (usually, except in the simplest draw, with kinks planted in the focus call's operands:
    a tie, an exact zero, a tiny magnitude), a tangent per float input and a cotangent per
    float result, each starting from its own points."""
    allowed = None
    if focus is not None:
        others = draw(st.sets(st.sampled_from(sorted(PRIMITIVES)), max_size=2))
        allowed = {focus, *others}
    p: Program = draw(programs(dtypes=DTYPES, max_equations=profile.max_equations,
                               primitives=allowed, focus=focus, float_input=True))
    assume(any(b.type.array.dtype.is_float for b in p.inputs))
    assume(focus is None or focus in _live_primitives(p))
    primals = _values(draw, [b.type.array for b in p.inputs], UNREMARKABLE, -3.0, 3.0)
    call = next((e for e in p.equations if e.primitive == focus), None)
    primals, links = _with_kinks(draw, primals, focus, *_focus_operands(p, focus), call,
                                 {b.name: i for i, b in enumerate(p.inputs)})
    slow = ""
    try:
        evaluate(p, *primals)
        with time_limit(limit):
            evaluate(p, *primals, dps=profile.dps)
    except EvaluationError:
        assume(False)
    except CaseTimeout as exc:
        slow = timeout_reason(exc, "evaluating the generated case in mpmath")
    floats = [i for i, b in enumerate(p.inputs) if b.type.array.dtype.is_float]
    tangents = _values(draw, [p.inputs[i].type.array for i in floats], TANGENT_POINTS,
                       -2.0, 2.0)
    tangents = _follow_ties(tangents, links, {i: k for k, i in enumerate(floats)})
    results = [t.array for t in p.result_types if t.array.dtype.is_float]
    cotangents = _values(draw, results, COTANGENT_POINTS, -2.0, 2.0)
    return Case(p, primals, tangents, cotangents, source=label, dps=profile.dps, skip=slow)


def _live_primitives(p: Program) -> set[str]:
    """The primitives of equations some result depends on."""
    needed = {v.name for v in p.outputs}
    live = set()
    for e in reversed(p.equations):
        if any(b.name in needed for b in e.outputs):
            live.add(e.primitive)
            needed |= {a.name for a in e.inputs if hasattr(a, "name")}
    return live


class _Failed(Exception):
    def __init__(self, result: CheckResult, case: Case | None = None) -> None:
        super().__init__(result.reason)
        self.result = result
        self.case = case


def _settings(profile: Profile, phases: Sequence[Phase]) -> settings:
    return settings(max_examples=profile.examples, deadline=None, database=None,
                    phases=phases, verbosity=Verbosity.quiet, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def run_check(backend: Backend | str, name: str, profile: Profile | str = "ci", *,
              seed: int = 0, primitives: Sequence[str] | None = None,
              conventions: str = "report", case_time_limit: float | None = CASE_TIME_LIMIT
              ) -> list[CheckResult]:
    """Check one property on generated programs built around each primitive in turn (or
    those in ``primitives``), the profile's number of cases each, seeded per primitive from
    the base ``seed`` (:func:`item_seed`). A failure is shrunk and ends its primitive's cases
    (it is that primitive's last result); the other primitives still run. Under
    ``conventions="strict"`` a convention difference is a failure (spec 7.4). A case running
    past ``case_time_limit`` seconds is a skip (None or 0: no limit)."""
    backend = load_backend(backend)
    prof = profile_named(profile) if isinstance(profile, str) else profile
    if name not in CHECKS:
        raise ValueError(f"unknown check {name!r}: expected one of {', '.join(CHECKS)}")
    judged(CheckResult(name, Status.PASS), conventions)  # an unknown mode raises here
    results: list[CheckResult] = []
    for focus in primitives if primitives is not None else sorted(PRIMITIVES):
        item = check_item(name, focus)
        found: list[CheckResult] = []
        if focus not in backend.capabilities.primitives:
            found.append(CheckResult(name, Status.SKIP, f"backend does not support {focus}",
                                     primitives=(focus,), case="generated"))
        elif PRIMITIVES[focus].linearity.kind is LinearityKind.LINEAR_ONLY:
            found.append(CheckResult(
                name, Status.SKIP, f"{focus} appears only in linear programs (spec 2.3): the "
                "linear and transposed programs of the other cases exercise it",
                primitives=(focus,), case="generated"))
        else:
            try:
                failure = _check_around(backend, name, prof, focus, seed, found, conventions,
                                        case_time_limit)
            except Unsatisfiable:
                failure = CheckResult(name, Status.SKIP,
                                      f"no case around {focus} could be generated",
                                      primitives=(focus,), case="generated")
            if failure is not None:
                found.append(failure)
        results.extend(replace(r, item=item) for r in found)
    return results


def _check_around(backend: Backend, name: str, prof: Profile, focus: str, seed: int,
                  results: list[CheckResult], conventions: str = "report",
                  limit: float | None = CASE_TIME_LIMIT) -> CheckResult | None:
    """Run property ``name`` on cases around ``focus``, appending results; return the
    shrunk failure, if any. The cases come from the case cache when it has this item's
    (:func:`_cached_cases`), else from Hypothesis, and a passing generation stores them
    there; a failure, replayed or generated, is shrunk by Hypothesis all the same."""
    label = (f"generated: --check {name} --primitive {focus} --seed {seed} "
             f"--profile {prof.name}")

    def attempt(case: Case, record: bool) -> None:
        reason = backend.capabilities.unsupported(case.program) or case.skip
        if reason:
            result = case.result(name, Status.SKIP, reason)
        else:
            try:
                with time_limit(limit):
                    result = run_property(name, backend, case)
            except CaseTimeout as exc:
                result = case.result(name, Status.SKIP, timeout_reason(exc, name))
        result = judged(result, conventions)
        if result.status is Status.FAIL:
            raise _Failed(result, case)
        if record:
            results.append(result)

    def probe(phases: Sequence[Phase], record: bool, handed: list[Case] | None = None) -> None:
        @hypothesis_seed(item_seed(seed, name, focus))
        @_settings(prof, phases)
        @given(cases(prof, focus, label, limit))
        def test(case: Case) -> None:
            if handed is not None:
                handed.append(_bare(case))
            attempt(case, record)

        with seed_determined():
            test()

    entry = case_entry({"check": name, "primitive": focus, "profile": repr(prof),
                        "seed": seed, "item_seed": item_seed(seed, name, focus),
                        "limit": None if limit is None else float(limit)})
    try:
        replay = _cached_cases(entry)
        if replay is None:
            handed: list[Case] | None = [] if entry is not None else None
            try:
                probe([Phase.generate], record=True, handed=handed)
            except Unsatisfiable:
                _store_cases(entry, UNSATISFIABLE)
                raise
            _store_cases(entry, handed or [])
        elif replay is UNSATISFIABLE:
            raise Unsatisfiable(f"no case around {focus} could be generated (case cache)")
        else:
            for case in replay:
                attempt(case, record=True)
    except _Failed:
        try:
            probe([Phase.generate, Phase.shrink], record=False)
        except _Failed as shrunk:
            return replace(shrunk.result, reproducer=_reproducer(shrunk.case, name))
    return None


UNSATISFIABLE = "unsatisfiable"
"""What the case cache holds for an item whose generation found no valid case."""


def _bare(case: Case) -> Case:
    """A copy of a generated case as the strategy drew it, for the case cache: its own
    arrays, no analyses remembered."""
    return Case(case.program, tuple(a.copy() for a in case.primals),
                tuple(a.copy() for a in case.tangents),
                tuple(a.copy() for a in case.cotangents), source=case.source, dps=case.dps,
                skip=case.skip)


def _cached_cases(entry: Path | None) -> list[Case] | str | None:
    """The cases (or :data:`UNSATISFIABLE`) the case cache holds at ``entry``; ``None`` when
    it is off, has no such entry, or the entry is not a list of cases."""
    if entry is None:
        return None
    found = truth_cache.load(entry)
    if isinstance(found, str) and found == UNSATISFIABLE:
        return UNSATISFIABLE
    if isinstance(found, list) and all(isinstance(c, Case) for c in found):
        return [_bare(c) for c in found]
    return None


def _store_cases(entry: Path | None, handed: list[Case] | str) -> None:
    """Store what a passing generation handed to the property (or that it found none),
    unless a case was skipped for running past the time limit while it was drawn: how far
    a slow evaluation gets depends on the machine, so such an item is drawn anew."""
    if entry is None:
        return
    if isinstance(handed, list) and any(c.skip for c in handed):
        return
    truth_cache.store(entry, handed, 0)


def _reproducer(case: Case | None, name: str) -> str:
    """The shrunk case as a corpus file, or a sentence saying why there is none."""
    if case is None:
        return ""
    from lintra.conformance.corpus import CorpusError, reproducer

    try:
        return reproducer(f"{name}_failure", case.program, case.primals, case.tangents,
                          case.cotangents, note=f"found by {name}: {case.source}")
    except (CorpusError, LintraError) as exc:  # the reference itself refuses the case
        return f"# no reproducer: the reference refuses this case ({exc})"


# --------------------------------------------------------------------------------------------
# Whole runs


def run(backend: Backend | str, profile: Profile | str = "ci", *,
        checks: Sequence[str] | None = None, seed: int = 0, corpus: bool = True,
        progress: Progress | None = None, conventions: str = "report",
        xfails: str | Path | Sequence[Entry] | None = None,
        case_time_limit: float | None = CASE_TIME_LIMIT) -> RunReport:
    """Run the suite against ``backend``: every property (or ``checks``) on generated cases,
    then every corpus case. Returns all results; ``report.ok`` is False on any failure.

    ``conventions``: ``report`` (default: a convention difference is listed, not failed) or
    ``strict`` (it fails). ``xfails``: a known-failures file (or its parsed entries): a
    failure of an item it lists is a known failure (``xfail``), which does not fail the run;
    its entries that match no item, or whose items did not fail, are listed in the report.
    ``case_time_limit``: seconds per case before it is skipped (None or 0: no limit)."""
    backend = load_backend(backend)
    prof = profile_named(profile) if isinstance(profile, str) else profile
    names = list(checks) if checks is not None else list(CHECK_NAMES)
    for n in names:
        if n not in CHECKS:
            raise ValueError(f"unknown check {n!r}: expected one of {', '.join(CHECKS)}")
    entries = (read_entries(xfails) if isinstance(xfails, (str, Path))
               else list(xfails or ()))
    corpus_cases = _load_corpus() if corpus else []
    total = len(names) + len(corpus_cases)
    report = RunReport(backend=backend.name, profile=prof.name, conventions=conventions)
    start = time.perf_counter()
    done = 0
    for n in names:
        if progress:
            progress(done, total, n)
        report.results.extend(run_check(backend, n, prof, seed=seed, conventions=conventions,
                                        case_time_limit=case_time_limit))
        done += 1
    for case in corpus_cases:
        if progress:
            progress(done, total, f"corpus {case.name}")
        report.results.extend(run_corpus(backend, case, conventions, case_time_limit))
        done += 1
    if progress:
        progress(done, total, "done")
    finish(report, entries, corpus_cases or (_load_corpus() if entries else ()),
           case_time_limit)
    report.seconds = time.perf_counter() - start
    return report


def run_corpus(backend: Backend, case: object, conventions: str = "report",
               case_time_limit: float | None = CASE_TIME_LIMIT) -> list[CheckResult]:
    """The results of one corpus case, under the convention mode and the time limit (a case
    running past it gives one skip naming the limit)."""
    from lintra.conformance.corpus import run_corpus_case

    name = case.name  # type: ignore[attr-defined]
    try:
        with time_limit(case_time_limit):
            results = run_corpus_case(backend, case)
    except CaseTimeout as exc:
        results = [CheckResult("corpus", Status.SKIP, timeout_reason(exc, f"corpus {name}"),
                               case=f"corpus {name}")]
    return [judged(replace(r, item=corpus_item(name)), conventions) for r in results]


def all_items(corpus_names: Sequence[str]) -> list[str]:
    """The id of every item of the suite: each property on each primitive, each corpus
    case (what an xfails entry may name)."""
    return [*(check_item(c, p) for c in CHECKS for p in sorted(PRIMITIVES)),
            *(corpus_item(n) for n in corpus_names)]


def finish(report: RunReport, entries: Sequence[Entry], corpus_cases: Sequence[object],
           case_time_limit: float | None) -> None:
    """Mark the known failures ``entries`` list in ``report``, record its stale and fixed
    entries, and note a time limit that could not be enforced here."""
    if entries:
        report.results[:] = mark_known(report.results, entries)
        names = [c.name for c in corpus_cases]  # type: ignore[attr-defined]
        report.stale = [describe(e) for e in stale(entries, all_items(names))]
        report.xpassed = [describe(e) for e in fixed(entries, report.results)]
    if case_time_limit and not time_limit_enforced():
        report.notes.append("the per-case time limit is not enforced here (it needs SIGALRM "
                            "and the main thread): a case that does not finish hangs the run")


def _load_corpus() -> list:
    from lintra.conformance.corpus import load_corpus

    return list(load_corpus())
