"""Drawing generated cases (spec 7.6): a program around a focus primitive from the
strategies, inputs that reach the focus's kinks and hard places, tangents and cotangents;
and the per-case time limit that bounds their mpmath evaluation and every check.

Every case depends on its Hypothesis seed alone. The source of this module is part of the
case cache's key (spec 7.8): what runs the cases (:mod:`lintra.conformance.runner`) can
change without discarding them.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
from collections.abc import Iterator, Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.strategies._internal.lazy import unwrap_strategies
from hypothesis.strategies._internal.strategies import SampledFromStrategy, SearchStrategy

from lintra.conformance.profiles import Profile
from lintra.conformance.properties import Case
from lintra.conformance.strategies import programs, sampled
from lintra.reference.errors import EvaluationError
from lintra.reference.evaluate import evaluate
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.syntax import ArrayType, DType, Equation, Literal, Program, Var

DTYPES = (DType.f64, DType.f32, DType.i64, DType.bool)
"""The dtypes of generated programs."""

CASE_TIME_LIMIT = 60.0
"""Seconds one case may take (its generation's mpmath evaluation, then one property: the
backend's calls, the truth, the bounds and the oracle) before it is skipped with that
reason (spec 7.6). A case of the profiles takes well under a second on the reference; only
an evaluation that does not terminate in practice (mpmath on huge arguments) comes near."""



# --------------------------------------------------------------------------------------------
# Time limits


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
        return _ready(st.sampled_from((False, True) if shift % 2 == 0 else (True, False)))
    if dtype.is_int:
        return _ready(st.integers(-3, 5))
    width = 32 if dtype is DType.f32 else 64
    k = shift % len(points)
    rotated = [v for v in points[k:] + points[:k] if low <= v <= high]
    return _PointOrFloat(st.sampled_from(rotated), st.floats(low, high, width=width))


def _ready(strategy: st.SearchStrategy) -> SearchStrategy:
    """``strategy`` unwrapped (a lazy one's inner strategy) and validated once, so that
    :func:`_draw_in_span` may draw from it without either."""
    strategy.validate()
    inner = unwrap_strategies(strategy)
    assert not inner.is_empty
    return inner


def _draw_in_span(data: ConjectureData, strategy: SearchStrategy) -> object:
    """What ``data.draw(strategy)`` draws below the top level, with the same span and
    choices, from a strategy :func:`_ready` made (or a :class:`_PointOrFloat`): without
    checking anew, at every element, that it is valid and not empty and unwrapping it,
    which cost Hypothesis as much as drawing the element."""
    data.start_span(strategy.label)
    try:
        return strategy.do_draw(data)
    finally:
        data.stop_span()


class _PointOrFloat(SearchStrategy):
    """``st.one_of(points, floats)`` (``points`` a ``sampled_from`` of a non-empty list),
    drawn with the same choices and spans, so the same values in every draw and the same
    shrinking, at a fraction of the cost: ``one_of`` builds a new filtered ``sampled_from``
    of its branches for every draw, and Hypothesis works out anew whether that new object
    can be empty, which cost more than the two choices drawn (the inputs' elements are most
    of a case's draws)."""

    def __init__(self, points: st.SearchStrategy, floats: st.SearchStrategy) -> None:
        super().__init__()
        self.one_of = st.one_of(points, floats)
        branches = self.one_of.element_strategies  # type: ignore[attr-defined]
        assert len(branches) == 2 and not any(b.is_empty for b in branches)
        self.points = unwrap_strategies(points)
        assert isinstance(self.points, SampledFromStrategy) and self.points.elements
        self.floats = _ready(floats)
        # the span one_of's chooser opens: a sampled_from of the branches (its label does
        # not depend on the filter one_of gives it)
        self.chooser_label = SampledFromStrategy(branches).label
        self.points_label = self.points.label
        self.last = len(self.points.elements) - 1

    def calc_label(self) -> int:
        return self.one_of.label

    def do_draw(self, data: ConjectureData) -> object:
        data.start_span(self.chooser_label)
        branch = data.draw_integer(0, 1)
        data.stop_span()
        if branch:
            return _draw_in_span(data, self.floats)
        data.start_span(self.points_label)
        k = data.draw_integer(0, self.last)
        data.stop_span()
        return self.points.elements[k]


def _values(draw: st.DrawFn, types: Sequence[ArrayType], points: tuple[float, ...],
            low: float, high: float) -> tuple[np.ndarray, ...]:
    """One array per type; element ``k`` of all of them together (in row-major order) starts
    from ``points[k]``, cyclically."""
    data = getattr(draw, "__self__", None)  # the composite's draw is ConjectureData.draw
    if isinstance(data, ConjectureData) and data.depth > 0:
        def element(strategy: SearchStrategy) -> object:
            return _draw_in_span(data, strategy)
    else:
        element = draw
    out, start = [], 0
    for t in types:
        flat = [element(_elements(t.dtype, points, start + k, low, high))
                for k in range(t.size)]
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
    way = draw(sampled(ways))
    if way == "literal":
        i = draw(sampled(chosen))
        k = draw(st.integers(0, arrays[i].size - 1))
        arrays[i].reshape(-1)[k] = draw(st.sampled_from(literals))
        return [(i, k)], [(None, (i, k))]
    if way == "pair":
        a, b = draw(sampled(pairs))
        k = draw(st.integers(0, arrays[b].size - 1))
        copies = [((a, k if arrays[a].ndim else 0), (b, k))]
    else:
        i = draw(sampled(lines))
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
        values = [draw(sampled(values))]
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
        others = draw(st.sets(sampled(sorted(PRIMITIVES)), max_size=2))
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
