"""The finite-difference oracle: directional derivatives in mpmath with an error bound.

A directional derivative ``Df(x)[t]`` is estimated from values of ``f`` alone, evaluated by the
reference in the mpmath domain at ``dps`` digits, so it shares no rule with the JVP it checks.
Central differences ``D(h) = (f(x + h t) - f(x - h t)) / (2 h)`` have truncation error
``h^2 f'''/6 + O(h^4)``; one Richardson step ``R = (4 D(h/2) - D(h)) / 3`` removes the
``h^2`` term. The bound reported with the estimate is the sum of

* the truncation estimate ``|D(h) - D(h/2)|`` (for smooth ``f`` this exceeds the error of
  ``R`` by a factor of order ``h^-2``: it is deliberately conservative), and
* the rounding term ``4 * 10^-dps * max(max|f|, max|x|) / h`` (each value of ``f`` is within a
  few units of the working precision ``10^-dps`` relative to its magnitude and to the points
  ``x + s t`` it is computed from, which are rounded relative to ``|x|``: ``x0 - x1`` at
  ``x0 = x1 = 0.7`` is tiny along the line, its rounding is not; differences divide by
  ``h``).

The step is ``h = 10^(-dps/4)`` times the smallest of 1, ``|x_i / t_i|`` over the moved
non-zero components and ``|x_j| / max|t|`` over the non-zero float inputs: relative to the
point and to the problem's scales, so a tiny ``x_i`` is never stepped across zero (at
``x = 1e-287`` an absolute step would difference ``cbrt`` across its singularity). At
unremarkable points both terms are far below the float64 unit roundoff, so a JVP that
disagrees with the estimate by more than the bound (plus the JVP's own working precision) is
wrong, not unlucky; at points with tiny components the rounding term grows with ``1/h``,
and the bound says so honestly.

Central differences are blind to kinks: at ``|x|``'s kink ``D(h) = 0`` for every ``h``, a
confident estimate of a derivative that does not exist. So the oracle also compares the
one-sided slopes: ``S(h) = (f(x + h t) - 2 f(x) + f(x - h t)) / h`` is the right slope minus
the left one. Where ``f`` is twice differentiable ``S(h) = h f'' + O(h^3)`` halves with ``h``;
at a kink it tends to the jump in slope, and at a jump of ``f`` it doubles. An element is
marked a kink when ``|S(h/2)| > (3/4) |S(h)|`` (between the smooth ratio 1/2 and the kink's
1) and ``|S(h/2)|`` exceeds the rounding term ``8 * 10^-dps * max(max|f|, max|x|) / h``. An odd jump
(``sign`` at 0) has equal one-sided slopes, but its central differences grow like ``1/h``
where smooth ones converge: an element is also marked when ``|D(h/2)| > (3/2) |D(h)|``.
And a result that depends on a step function (``floor``...) taking other values at the
line's two ends is marked whole: the line crossed a jump, however fine the staircase
(:func:`_jumps_crossed`, from the same points).
Callers compare only the smooth elements with the estimate; at kinks the spec's conventions
apply (chapter 6).

The rounding term assumes the values of ``f`` are accurate to the working precision; where
``f`` itself cancels or absorbs terms, they are not, and an estimate can be confidently
wrong (``(1 + x) - 1`` at ``x = 1e-50`` is 0 at 40 digits along the whole line: the estimate
is 0 with a tiny bound). So the whole estimate follows Ziv's strategy
(``lintra.conformance.truth``): it is made at ``dps`` digits rounding toward −inf and at
twice that rounding toward +inf, doubling on, and an element is *settled* by two successive
estimates when they are consistent (``|R_1 − R_2| <= B_1 + B_2``) and the more precise one
is useful (``B_2 <= 2^-60 |R_2| + floor``, the floor of :func:`lintra.conformance.truth.
floor_of`), or when both say kink, or both are the same nan or infinity. The more precise
estimate is returned; an element never settled up to ``max_dps`` digits gets an infinite
bound, ``settled`` False and the reason, so no caller compares against it.

The public functions' results are cached on disk by ``lintra.conformance.truth_cache``
(they depend on the case alone, never on a backend).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np

from lintra.conformance.truth import (
    MAX_DPS,
    ROUNDING_OF_STEP,
    STEP_FUNCTIONS,
    TOLERANCES,
    cells,
    floor_of,
    run_checked,
)
from lintra.conformance.truth_cache import cached
from lintra.reference.domains import MpDomain
from lintra.reference.emit import checked
from lintra.reference.errors import EvaluationError
from lintra.reference.syntax import Equation, Program, Var

USEFUL = TOLERANCES.mpf(2) ** -60
"""An estimate settles only when its bound is below ``2^-60`` of its magnitude (plus the
dtype's floor): 7 bits beyond float64's unit roundoff, so the oracle's own error never
dominates a comparison of a float derivative."""


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate per float result: values and absolute error bounds (mpf
    arrays), where the one-sided slopes disagree (bool arrays: no derivative there), and
    whether Ziv's strategy settled each element (bool arrays; where not, the bound is
    infinite and ``reasons`` says why, ``""`` elsewhere)."""

    values: tuple[np.ndarray, ...]
    bounds: tuple[np.ndarray, ...]
    kinks: tuple[np.ndarray, ...]
    settled: tuple[np.ndarray, ...]
    reasons: tuple[np.ndarray, ...]

    @property
    def smooth(self) -> bool:
        """Whether no element of any result is at a kink."""
        return not any(k.any() for k in self.kinks)


def _mp(ctx: mpmath.MPContext, x: object) -> np.ndarray:
    arr = np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i in cells(arr.shape):
        v = arr[i]
        out[i] = ctx.mpf(v.item() if isinstance(v, np.generic) else v)
    return out


Line = Callable[[object], tuple[np.ndarray, ...]]


def _line(p: Program, primals: Sequence[object], tangents: Sequence[object], dps: int,
          rounding: str = "n") -> tuple[mpmath.MPContext, object, Line, object]:
    """The context, the step ``h``, ``s -> f(x + s t)`` (float results, mpmath at ``dps``
    digits rounding toward ``rounding``; remembered per step) along the tangents (one per
    float input), and the largest magnitude among the float inputs (the points ``x + s t``
    are rounded relative to it)."""
    ctx = MpDomain(dps).ctx
    domain = MpDomain(dps, rounding=rounding)
    float_inputs = [i for i, b in enumerate(p.inputs) if b.type and b.type.array.dtype.is_float]
    if len(tangents) != len(float_inputs):
        raise ValueError(f"expected {len(float_inputs)} tangents, got {len(tangents)}")
    xs = [_mp(ctx, x) if i in float_inputs else np.asarray(x) for i, x in enumerate(primals)]
    ts = {i: _mp(ctx, t) for i, t in zip(float_inputs, tangents)}
    h = ctx.mpf(10) ** (-(dps // 4)) * _scale(ctx, xs, ts)
    float_results = [k for k, t in enumerate(p.result_types) if t.array.dtype.is_float]
    typing = checked(p)

    seen: dict[object, tuple[np.ndarray, ...]] = {}

    def at(step: object) -> tuple[np.ndarray, ...]:
        if step not in seen:  # the slope jumps revisit the points of the differences
            # ts[i] * step, not step * ts[i]: the same products, but an mpf asked to
            # multiply an array first fails to convert it, and that failure prints the array
            args = [x + ts[i] * step if i in ts else x for i, x in enumerate(xs)]
            outs = run_checked(typing, args, domain)
            seen[step] = tuple(np.asarray(outs[k], dtype=object) for k in float_results)
        return seen[step]

    reach = max([abs(v) for i in ts for v in xs[i].reshape(-1) if ctx.isfinite(v)]
                + [ctx.mpf(0)])
    return ctx, h, at, reach


@cached
def directional_derivative(
    p: Program, primals: Sequence[object], tangents: Sequence[object], dps: int = 60, *,
    max_dps: int = MAX_DPS,
) -> Estimate:
    """Estimate ``Dp(primals)[tangents]`` (one tangent per float input) and bound its error,
    from ``dps`` digits up by Ziv's strategy (module docstring) to at most ``max_dps``.

    Integer and boolean inputs are held fixed; integer and boolean results are skipped.
    Kinks are looked for along the tangent and inside every equation
    (:func:`kinks_inside`, at ``dps`` digits). Where the program raises an
    :class:`~lintra.reference.errors.EvaluationError` at a point of the line, no element is
    settled (:func:`_no_estimate`).
    """
    floors = [floor_of(t.array.dtype) for t in p.result_types if t.array.dtype.is_float]
    watched, steps = _watching_steps(p)
    first = len(floors)

    def estimate_at(digits: int, rounding: str) -> tuple[tuple[np.ndarray, ...], ...]:
        ctx, h, line_at, reach = _line(watched, primals, tangents, digits, rounding)

        def at(step: object) -> tuple[np.ndarray, ...]:  # the results, not the steps
            return line_at(step)[:first]

        values, bounds, kinks = _estimate(ctx, h, at, digits, reach)
        if steps:
            crossed = _jumps_crossed(p, steps, line_at(-h)[first:], line_at(h)[first:])
            kinks = tuple(k | c for k, c in zip(kinks, crossed))
        return values, bounds, kinks

    try:
        values, bounds, kinks, settled, reasons = _until_settled(estimate_at, dps, max_dps,
                                                                 floors)
    except EvaluationError as exc:
        return _no_estimate(p, f"the program raises at a point of the line: {exc}")
    inside = kinks_inside(p, primals, dps)
    return Estimate(values, bounds, tuple(k | i for k, i in zip(kinks, inside)), settled,
                    reasons)


def _no_estimate(p: Program, reason: str) -> Estimate:
    """An estimate that settles no element (nan values, infinite bounds, ``reason``): the
    program is not defined along the whole line (``rem(a, a)`` with ``a`` an ``argmax``
    that moves to index 0 next to the point), so no difference estimates a derivative, and
    no caller compares against it."""
    shapes = [t.array.shape for t in p.result_types if t.array.dtype.is_float]
    return Estimate(tuple(np.full(s, mpmath.nan, dtype=object) for s in shapes),
                    tuple(np.full(s, mpmath.inf, dtype=object) for s in shapes),
                    tuple(np.zeros(s, dtype=bool) for s in shapes),
                    tuple(np.zeros(s, dtype=bool) for s in shapes),
                    tuple(np.full(s, reason, dtype=object) for s in shapes))


def _until_settled(estimate_at: Callable[[int, str], tuple[tuple[np.ndarray, ...], ...]],
                   dps: int, max_dps: int, floors: Sequence[object]
                   ) -> tuple[tuple[np.ndarray, ...], ...]:
    """Ziv's loop over whole estimates (module docstring): values, bounds, kinks, settled
    masks and reasons per float result."""
    if dps < 1 or max_dps < 2 * dps:
        raise ValueError(f"need 1 <= dps and 2 * dps <= max_dps, got {dps} and {max_dps}")
    previous = estimate_at(dps, ROUNDING_OF_STEP[0])
    values = [np.array(v, dtype=object, copy=True) for v in previous[0]]
    bounds = [np.array(b, dtype=object, copy=True) for b in previous[1]]
    kinks = [np.array(k, dtype=bool, copy=True) for k in previous[2]]
    settled = [np.zeros(np.shape(v), dtype=bool) for v in values]
    reasons = [np.full(np.shape(v), "", dtype=object) for v in values]
    low, step = dps, 1
    while 2 * low <= max_dps and not all(bool(s.all()) for s in settled):
        high = 2 * low
        current = estimate_at(high, ROUNDING_OF_STEP[step % 2])
        for r in range(len(values)):
            for i in cells(settled[r].shape):
                if settled[r][i]:
                    continue
                old = (previous[0][r][i], previous[1][r][i], previous[2][r][i])
                new = (current[0][r][i], current[1][r][i], current[2][r][i])
                values[r][i], bounds[r][i], kinks[r][i] = new
                reason = _unsettled(old, new, floors[r], low, high)
                settled[r][i] = not reason
                reasons[r][i] = reason
        previous, low, step = current, high, step + 1
    for r in range(len(values)):
        for i in cells(settled[r].shape):
            if not settled[r][i]:
                bounds[r][i] = mpmath.inf
                reasons[r][i] = (reasons[r][i] or "not settled") + f" (limit {max_dps} digits)"
    return (tuple(values), tuple(bounds), tuple(kinks), tuple(settled), tuple(reasons))


def _unsettled(old: tuple, new: tuple, floor: object, low: int, high: int) -> str:
    """Why two successive estimates (value, bound, kink) of one element do not settle it
    (``""`` when they do): see the module docstring."""
    (r1, b1, k1), (r2, b2, k2) = old, new
    if k1 and k2:
        return ""
    if k1 != k2:
        return f"a kink at {low if k1 else high} digits only"
    if not (mpmath.isfinite(r1) and mpmath.isfinite(r2)):
        same = (mpmath.isnan(r1) and mpmath.isnan(r2)) or r1 == r2
        return "" if same else f"{mpmath.nstr(r1, 8)} at {low} digits, " \
                               f"{mpmath.nstr(r2, 8)} at {high}"
    if abs(r1 - r2) > b1 + b2:
        return (f"lost digits: {mpmath.nstr(r1, 8)} ± {mpmath.nstr(b1, 3)} at {low} digits "
                f"against {mpmath.nstr(r2, 8)} ± {mpmath.nstr(b2, 3)} at {high}")
    if not b2 <= USEFUL * abs(r2) + floor:
        return (f"bound {mpmath.nstr(b2, 3)} too wide for {mpmath.nstr(r2, 8)} at {high} "
                f"digits")
    return ""


@cached
def kinks_inside(p: Program, primals: Sequence[object], dps: int) -> tuple[np.ndarray, ...]:
    """Per float result, whether it depends on an equation evaluated at a kink of its own
    primitive, with its operands taken as independent (``clamp(0, x, x)`` at ``x = 0`` is a
    tie of all three operands, although the program is the identity there and no line
    through the program's inputs shows a kink): there the JVP is the spec's convention
    (chapter 6), not a derivative the oracle can estimate. Whole results are marked."""
    from lintra.reference.check import check
    from lintra.reference.evaluate import bind_arguments
    from lintra.reference.primitives import lookup
    from lintra.reference.syntax import Binder, Literal, Var, VarType

    typing = check(p)
    d = MpDomain(dps)
    env = bind_arguments(p, primals, d)
    marked: set[str] = set()
    for e, et in zip(p.equations, typing.equations):
        xs = tuple(d.literal(a.value, vt.array.dtype) if isinstance(a, Literal) else env[a.name]
                   for a, vt in zip(e.inputs, et.inputs))
        outs = tuple(vt.array for vt in et.outputs)
        for b, y in zip(e.outputs, lookup(e.primitive).evaluate(d, xs, et.params, outs)):
            env[b.name] = y
        hit = any(isinstance(a, Var) and a.name in marked for a in e.inputs)
        floats = [k for k, (a, vt) in enumerate(zip(e.inputs, et.inputs))
                  if isinstance(a, Var) and vt.array.dtype.is_float]
        if not hit and floats and all(vt.array.dtype.is_float for vt in et.outputs):
            variables = [k for k, a in enumerate(e.inputs) if isinstance(a, Var)]
            params = tuple(Binder(f"o{k}", VarType(et.inputs[k].array)) for k in variables)
            names = dict(zip(variables, params))
            inputs = tuple(Var(names[k].name) if k in names else a
                           for k, a in enumerate(e.inputs))
            results = tuple(Binder(f"r{j}", vt) for j, vt in enumerate(et.outputs))
            q = Program("eq", params, et.outputs, (Equation(results, e.primitive, inputs,
                                                            e.params),),
                        tuple(Var(b.name) for b in results))
            args = [xs[k] for k in variables]
            direction = irregular_direction([xs[k] for k in floats])
            line_dps = dps + _digits_for_step(d.ctx, [xs[k] for k in floats], direction)
            ctx, h, at, reach = _line(q, args, direction, line_dps)
            hit = any(bool(k.any()) for k in _estimate(ctx, h, at, line_dps, reach)[2])
        if hit:
            marked |= {b.name for b in e.outputs}
    return tuple(np.full(t.array.shape, v.name in marked)
                 for v, t in zip(p.outputs, p.result_types) if t.array.dtype.is_float)


def _watching_steps(p: Program) -> tuple[Program, list[str]]:
    """``p`` with the results of its step functions
    (:data:`~lintra.conformance.truth.STEP_FUNCTIONS`) of float dtype returned after its
    own, so that the points of a line give them too (:func:`_jumps_crossed`), and their
    names; ``p`` itself and none where it has no such step function."""
    if not any(e.primitive in STEP_FUNCTIONS for e in p.equations):
        return p, []
    steps = [(b.name, vt) for e, et in zip(p.equations, checked(p).equations)
             if e.primitive in STEP_FUNCTIONS for b, vt in zip(e.outputs, et.outputs)
             if vt.array.dtype.is_float]  # the line's points give float results only
    if not steps:
        return p, []
    watched = Program(p.name, p.inputs, (*p.result_types, *(vt for _, vt in steps)),
                      p.equations, (*p.outputs, *(Var(n) for n, _ in steps)))
    return watched, [n for n, _ in steps]


def _jumps_crossed(p: Program, steps: Sequence[str], before: Sequence[np.ndarray],
                   after: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per float result, whether it depends on a step function (named in ``steps``) that
    takes other values at the two ends of the line one estimate of
    :func:`directional_derivative` differences along (``before`` at ``x − h t``, ``after``
    at ``x + h t``). A step function is constant between its jumps, so the line crossed
    one, and the differences measure the jump, not a derivative. The slope tests miss this
    where the jumps are finer than the line: ``floor(x·y)`` at ``x = y = 10^200``, where at
    320 digits (Ziv's loop gets there: below 210 the line does not move its points) the line
    moves ``x·y`` by ``10^390``, across that many jumps, ``floor`` looks like the identity
    along it and its slope like a derivative of ``10^200``, where the derivative is 0.
    Whole results are marked, as by :func:`kinks_inside`."""
    crossed = {n for n, b, a in zip(steps, before, after) if _differ(b, a)}
    marked: set[str] = set()
    for e in p.equations:
        if any(b.name in crossed for b in e.outputs) or any(
                isinstance(a, Var) and a.name in marked for a in e.inputs):
            marked |= {b.name for b in e.outputs}
    return tuple(np.full(t.array.shape, v.name in marked)
                 for v, t in zip(p.outputs, p.result_types) if t.array.dtype.is_float)


def _differ(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of mpmath numbers differ somewhere (nan equal to nan)."""
    return any(x != y and not (mpmath.isnan(x) and mpmath.isnan(y))
               for x, y in zip(np.asarray(a, dtype=object).reshape(-1),
                               np.asarray(b, dtype=object).reshape(-1)))


GOLDEN = 0.6180339887498949
"""1/φ: the fractional parts of its multiples never repeat (an irrational rotation)."""


def irregular_direction(operands: Sequence[object]) -> list[np.ndarray]:
    """A direction for the operands of one equation, no generated or hand-written case lined
    up with it: element i (flat index) of operand j moves by ``(j + 1)·v_i`` with
    ``v_i = ±(1/4 + 3/4·frac((i + 1)/φ))``, signs alternating. Distinct elements move
    differently (the fractional parts never repeat), so a tie between elements (``sort``,
    ``cummax``, a reduction) is crossed with different slopes; the same element of different
    operands moves in the ratio 1 : 2 : 3, so a tie between operands is too, and at
    ``clamp``'s tie of all three the upper bound moves farthest. That matters: ``clamp``
    is smooth along every line on which the upper bound's slope lies between the other
    two's, with a derivative that is not chapter 6's convention there."""
    out = []
    for j, x in enumerate(operands):
        a = np.asarray(x)
        steps = [(-1) ** i * (0.25 + 0.75 * ((i + 1) * GOLDEN % 1.0)) for i in range(a.size)]
        out.append((np.array(steps) * (j + 1)).reshape(a.shape))
    return out


def _estimate(ctx: mpmath.MPContext, h: object, at: Line, dps: int, reach: object
              ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Values, error bounds and kinks along one line (module docstring); ``reach`` is the
    largest float input magnitude, part of the rounding term."""

    def central(step: object) -> tuple[tuple[np.ndarray, ...], object]:
        plus, minus = at(step), at(-step)
        size = max(
            [abs(v) for arr in plus + minus for v in arr.reshape(-1)] + [ctx.mpf(0)]
        )
        return tuple(np.asarray((a - b) / (2 * step), dtype=object)
                     for a, b in zip(plus, minus)), size

    center = at(ctx.mpf(0))
    coarse, size1 = central(h)
    fine, size2 = central(h / 2)
    size = max([size1, size2] + [abs(v) for arr in center for v in arr.reshape(-1)])
    rounding = 4 * ctx.mpf(10) ** (-dps) * max(size1, size2, reach) / (h / 2)
    values = tuple(np.asarray((4 * f - c) / 3, dtype=object) for f, c in zip(fine, coarse))
    bounds = tuple(_bound(np.asarray(f - c, dtype=object), rounding)
                   for f, c in zip(fine, coarse))
    slope_rounding = 8 * ctx.mpf(10) ** (-dps) * max(size, reach) / (h / 2)
    kinks = tuple(
        _kinks(_slope_jump(at, k, c, h), _slope_jump(at, k, c, h / 2), slope_rounding)
        | _kinks(np.asarray(coarse[k], dtype=object), np.asarray(fine[k], dtype=object),
                 rounding, ratio=2)
        for k, c in enumerate(center)
    )
    return values, bounds, kinks


def _scale(ctx: mpmath.MPContext, xs: list[np.ndarray], ts: dict[int, np.ndarray]) -> object:
    """The step's scale: the smallest of 1, ``|x_i / t_i|`` over the moved non-zero
    components and ``|x_j| / max|t|`` over all non-zero float inputs, so the step stays
    relative to the point and to the problem's own scales (at ``x = 1e-287`` an absolute
    step of ``1e-12`` would difference ``cbrt`` across its singularity; ``rem(x, 1e-23)``
    at ``x = 0`` has a jump ``1e-23`` away)."""
    scale = ctx.mpf(1)
    largest = max([abs(d) for t in ts.values() for d in t.reshape(-1)] + [ctx.mpf(0)])
    if largest == 0:
        return scale
    for i, t in ts.items():
        for x, d in zip(xs[i].reshape(-1), t.reshape(-1)):
            if x != 0 and d != 0 and ctx.isfinite(x):
                scale = min(scale, abs(x / d))
    for i in ts:
        for x in xs[i].reshape(-1):
            if x != 0 and ctx.isfinite(x):
                scale = min(scale, abs(x) / largest)
    return scale


def _digits_for_step(ctx: mpmath.MPContext, xs: Sequence[object],
                     ts: Sequence[object]) -> int:
    """Digits to add to ``dps`` so that a line's rounding level relative to its step is what
    it is at a step scale of 1 and operands of magnitude at most 1. The step is
    ``10^(−dps/4)`` times :func:`_scale`, which a tiny operand element makes tiny for every
    element (``1e-45`` beside operands near 1), and never more than ``10^(−dps/4)``, which
    beside a huge operand (``1.8e308``) is below the working precision: the rounding term
    ``10^(−dps)·max|x|/h`` of the slope test would hide every kink of the line. Each decade
    the step lies below 1, and each the largest finite operand lies above it, costs 4/3
    digits (the step itself shrinks by a quarter of the digits added)."""
    operands = [_mp(ctx, x) for x in xs]
    scale = _scale(ctx, operands, {i: _mp(ctx, t) for i, t in enumerate(ts)})
    if scale == 0:
        return 0
    reach = max([abs(v) for x in operands for v in x.reshape(-1) if ctx.isfinite(v)]
                + [ctx.mpf(1)])
    decades = ctx.log10(reach / scale) if scale < 1 or reach > 1 else 0
    if decades <= 0:
        return 0
    return (4 * (int(decades) + 1)) // 3


def _slope_jump(at: Callable[[object], tuple[np.ndarray, ...]], k: int, center: np.ndarray,
                step: object) -> np.ndarray:
    """``(f(x + h t) - 2 f(x) + f(x - h t)) / h`` for result ``k``: right minus left slope."""
    return np.asarray((at(step)[k] - 2 * center + at(-step)[k]) / step, dtype=object)


def _kinks(coarse: np.ndarray, fine: np.ndarray, rounding: object, ratio: int = 1
           ) -> np.ndarray:
    """Elements where a quantity that converges at smooth points does not shrink as the step
    halves (the slope jump: ``|S(h/2)| > (3/4) |S(h)|``) or grows (the central difference at
    a jump of ``f``: ``|D(h/2)| > (3/2) |D(h)|``); see the module docstring."""
    out = np.zeros(coarse.shape, dtype=bool)
    for i in cells(coarse.shape):
        a, b = abs(coarse[i]), abs(fine[i])
        out[i] = bool(b > rounding and 4 * b > 3 * ratio * a)
    return out


def _bound(difference: np.ndarray, rounding: object) -> np.ndarray:
    """|D(h) - D(h/2)| + the rounding term, elementwise."""
    out = np.empty(difference.shape, dtype=object)
    for i in cells(difference.shape):
        out[i] = abs(difference[i]) + rounding
    return out


@cached
def one_sided(p: Program, primals: Sequence[object], tangents: Sequence[object],
              dps: int = 60) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Left and right directional derivatives per float result: ``(f(x) - f(x - h t)) / h``
    and ``(f(x + h t) - f(x)) / h``, each with one Richardson step (``2 R(h/2) - R(h)``
    removes the ``O(h)`` term). At a kink they are the two slopes a backend may pick; the
    suite uses them to tell a convention difference from a wrong result."""
    ctx, h, at, _ = _line(p, primals, tangents, dps)
    center = at(ctx.mpf(0))

    def side(sign: int) -> tuple[np.ndarray, ...]:
        coarse, fine = at(sign * h), at(sign * h / 2)
        return tuple(np.asarray(sign * (2 * (f - c0) / (h / 2) - (g - c0) / h), dtype=object)
                     for f, g, c0 in zip(fine, coarse, center))

    return side(-1), side(1)
