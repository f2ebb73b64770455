"""Truth that knows when it is wrong: Ziv's strategy for the mpmath domain (spec 7.2).

``dps`` is working precision, not accuracy: where a program cancels terms near ``1e307`` or
absorbs a term ``1e-308`` times smaller than the one it is added to, every digit of an
mpmath evaluation can be wrong, and two precisions can even agree on the wrong number (the
absorbed term stays absorbed at 30 and at 60 digits, both give an exact 0). So a value is
*settled* only when two evaluations that differ in **both** precision and rounding
direction agree:

* evaluation ``k`` runs at ``dps · 2^k`` digits, rounding toward −inf for even ``k`` and
  toward +inf for odd ``k`` (``MpDomain(..., rounding=...)``); a rounding error that an
  exact cancellation or absorption hides in one direction shows in the other;
* an element is settled by evaluations ``k`` and ``k + 1`` when both are the same special
  value (nan, +inf, −inf) or the same integer or boolean, or both are finite and
  ``|v_k − v_(k+1)| <= rel · max(|v_k|, |v_(k+1)|) + floor``; its value is ``v_(k+1)``,
  the more precise of the two;
* elements not settled are evaluated again at twice the precision, until every element is
  settled or the next precision would exceed ``max_dps``; the rest are marked *unsettled*
  with the reason (the last two values and their precisions), never silently returned as
  truth.

This is a heuristic, as Ziv's strategy is: two agreeing evaluations could in principle share
an error; rounding in opposite directions makes that require an error insensitive to the
rounding of every operation, which cancellation and absorption are not. The defaults need
``rel = 2^-70`` (17 bits beyond float64's unit roundoff, so the truth's own error is below
1/100,000 ulp of any float result) and ``floor`` = half the smallest subnormal of the
result's dtype (``2^-1075`` for f64, ``2^-150`` for f32): a difference below it does not
change any float the result is compared with, which is what lets a true value of 0 settle
(its noise shrinks with precision but never becomes relatively small).

Measured against python-flint's arb balls (a rigorous enclosure, spec 7.2): arb's
arithmetic is far cheaper (12 µs for the example's JVP at 2,200 bits, against 1.7 ms for one
evaluation of the JVP program here, at 40 digits as at 640: the cost is the evaluator's
overhead per equation, not the digits), but it would need a third evaluation rule for every
primitive of chapter 3 with the same special values; the loop needs no new dependency and
no new rule, and doubling the precision costs it almost nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np

from lintra.reference.check import ProgramTyping
from lintra.reference.domains import MpDomain, within_range
from lintra.reference.errors import LintraError
from lintra.reference.evaluate import bind_arguments, exact_argument, read_array, run
from lintra.reference.primitives import lookup
from lintra.reference.syntax import DType, Literal, Module, Program

TOLERANCES = mpmath.MPContext()
TOLERANCES.prec = 64
"""The context of the agreement tolerances (64 bits: they are tolerances, not truths); never
changed after import (``mpmath.mp`` is never used)."""

REL = TOLERANCES.mpf(2) ** -70
"""Default relative agreement: 2^-70, far below every float dtype's unit roundoff."""

MAX_DPS = 2560
"""Default precision limit: 40 digits doubled six times. The absorbed term of the module
docstring needs more than 308 digits (its JVP settles at 640 against 960 digits starting
from 30); the VJP of the same example, a true value of 1.4e-309 computed from terms near
1e307, needs 1920: what a subnormal truth beneath cancelling terms near the overflow
threshold costs, 616 digits of cancellation and 309 more for the value itself."""

ROUNDING_OF_STEP = ("f", "c")
"""Rounding direction of evaluation ``k``: ``ROUNDING_OF_STEP[k % 2]``."""


@dataclass(frozen=True)
class Settled:
    """Per result of a program (one array each): the value (the more precise of the two
    evaluations that agreed, or the most precise one tried), whether it settled, the reason
    where it did not (``""`` where it did), and the precision of each value (int arrays)."""

    values: tuple[np.ndarray, ...]
    settled: tuple[np.ndarray, ...]
    reasons: tuple[np.ndarray, ...]
    digits: tuple[np.ndarray, ...]

    @property
    def all_settled(self) -> bool:
        return all(bool(s.all()) for s in self.settled)


def floor_of(dtype: DType) -> object:
    """Half the smallest subnormal of ``dtype``: differences below it are invisible to a
    float comparison (0 for integer and boolean dtypes, which must agree exactly)."""
    if dtype is DType.f64:
        return TOLERANCES.mpf(2) ** -1075
    if dtype is DType.f32:
        return TOLERANCES.mpf(2) ** -150
    return TOLERANCES.mpf(0)


def agree(a: object, b: object, rel: object, floor: object) -> bool:
    """Whether two evaluations of one element agree (module docstring)."""
    if not (hasattr(a, "_mpf_") and hasattr(b, "_mpf_")):
        return bool(a == b)  # integers, booleans
    if mpmath.isnan(a) or mpmath.isnan(b):
        return bool(mpmath.isnan(a) and mpmath.isnan(b))
    if mpmath.isinf(a) or mpmath.isinf(b):
        return bool(a == b)
    return bool(abs(a - b) <= rel * max(abs(a), abs(b)) + floor)


Evaluation = Callable[[int, str], tuple[np.ndarray, ...]]
"""``(dps, rounding) -> one array per result``: what the loop re-evaluates."""


def until_stable(evaluate_at: Evaluation, dps: int, floors: Sequence[object], *,
                 rel: object = REL, max_dps: int = MAX_DPS) -> Settled:
    """Ziv's loop (module docstring) over any evaluation, e.g. of a JVP or VJP program or
    of a quantity computed from several evaluations; ``floors`` gives each result's
    absolute agreement floor (:func:`floor_of` of its dtype)."""
    if dps < 1 or max_dps < 2 * dps:
        raise ValueError(f"need 1 <= dps and 2 * dps <= max_dps, got {dps} and {max_dps}")
    previous = evaluate_at(dps, ROUNDING_OF_STEP[0])
    values = [np.array(v, dtype=object, copy=True) for v in previous]
    settled = [np.zeros(np.shape(v), dtype=bool) for v in previous]
    digits = [np.full(np.shape(v), dps, dtype=np.int64) for v in previous]
    reasons = [np.full(np.shape(v), "", dtype=object) for v in previous]
    step, low = 1, dps
    while 2 * low <= max_dps and not all(bool(s.all()) for s in settled):
        high = 2 * low
        current = evaluate_at(high, ROUNDING_OF_STEP[step % 2])
        for k, (old, new) in enumerate(zip(previous, current)):
            old_a, new_a = np.asarray(old, dtype=object), np.asarray(new, dtype=object)
            for i in cells(settled[k].shape):
                if settled[k][i]:
                    continue
                values[k][i], digits[k][i] = new_a[i], high
                if agree(old_a[i], new_a[i], rel, floors[k]):
                    settled[k][i] = True
                else:
                    reasons[k][i] = (f"not settled: {mpmath.nstr(old_a[i], 8)} at {low} "
                                     f"digits against {mpmath.nstr(new_a[i], 8)} at {high}")
        previous, low, step = current, high, step + 1
    for k in range(len(values)):
        for i in cells(settled[k].shape):
            if settled[k][i]:
                reasons[k][i] = ""
            elif not reasons[k][i]:
                reasons[k][i] = f"not settled: no precision above {low} digits tried"
            elif 2 * low > max_dps:
                reasons[k][i] += f" (limit {max_dps} digits)"
    return Settled(tuple(values), tuple(settled), tuple(reasons), tuple(digits))


def evaluate_until_stable(program: Program, args: Sequence[object], dps: int = 40, *,
                          rel: object = REL, max_dps: int = MAX_DPS,
                          module: Module | None = None) -> Settled:
    """The results of ``program`` at ``args`` in the mpmath domain, to ``rel`` relative
    accuracy (or the result dtype's floor, :func:`floor_of`), by Ziv's strategy from
    ``dps`` digits up to ``max_dps`` (module docstring). Elements that never settle are
    returned with ``settled`` False and a reason: a caller must not compare against them.

    Arguments are taken as the mpmath domain takes them (spec 3.0.2 E-Args): binary floats
    exactly, decimal strings at each evaluation's own precision.
    """
    floors = [floor_of(t.array.dtype) for t in program.result_types]

    def evaluate_at(digits: int, rounding: str) -> tuple[np.ndarray, ...]:
        outs = run(program, args, MpDomain(digits, rounding=rounding), module)
        return tuple(np.asarray(v) for v in outs)

    return until_stable(evaluate_at, dps, floors, rel=rel, max_dps=max_dps)


def cells(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every index of an array of ``shape`` in row-major order, as ``np.ndindex`` gives
    them (one empty index for rank 0, none for an empty array), at a fraction of its cost
    per call: the analyses walk a great many arrays of a few elements."""
    return itertools.product(*(range(n) for n in shape))


def run_checked(typing: ProgramTyping, args: Sequence[object], d: MpDomain
                ) -> tuple[np.ndarray, ...]:
    """``run(typing.program, args, d)`` for a call-free program whose typing the caller
    already holds: the same values (E-Args, each equation's rule, the exponent range after
    it), without looking the program's typing up again at each evaluation. The oracle
    evaluates one program at a dozen points and the analysis the same linearization at
    every equation: hashing the program to find its remembered typing cost more than
    most of those evaluations."""
    p = typing.program
    env = _bound_mp_arguments(p, args, d)
    if env is None:
        env = bind_arguments(p, args, d)
    for index, (e, et) in enumerate(zip(p.equations, typing.equations)):
        xs = tuple(d.literal(a.value, vt.array.dtype) if isinstance(a, Literal) else env[a.name]
                   for a, vt in zip(e.inputs, et.inputs))
        outs = tuple(vt.array for vt in et.outputs)
        try:
            ys = lookup(e.primitive).evaluate(d, xs, et.params, outs)
        except LintraError as err:
            raise err.at(program=p.name, location=e.loc,
                         equation=f"equation {index + 1}: {e}") from None
        for b, y in zip(e.outputs, ys):
            env[b.name] = d.within_range(y) if y.dtype == object else y
    return tuple(env[v.name] for v in p.outputs)


def _bound_mp_arguments(p: Program, args: Sequence[object], d: MpDomain
                        ) -> dict[str, np.ndarray] | None:
    """``bind_arguments(p, args, d)`` (E-Args) where every float parameter is given an
    mpmath number or an object array of them, of its shape (the oracle's points, the
    analysis' values and bounds); ``None`` where an argument is anything else, or wrong,
    which E-Args must read (and report). The same values: E-Args takes an mpmath number
    ``v`` as ``d.ctx.mpf(v)`` within the exponent range, and ``d.ctx.mpf(v)`` of a number of
    that context already normalized to its precision (an odd mantissa of at most that many
    bits, or an exact 0, ±inf or nan) is ``v`` itself; only the others are converted.
    Integer and boolean parameters go through E-Args' own steps. E-Args' pass over the
    elements for other kinds of numbers, and its second application of the range, are what
    this saves."""
    if len(args) != len(p.inputs):
        return None
    ctx = d.ctx
    own, prec = ctx.mpf, ctx.prec
    env: dict[str, np.ndarray] = {}
    try:
        for b, value in zip(p.inputs, args):
            if b.type is None:
                return None
            t = b.type.array
            if not t.dtype.is_float:
                arr = read_array(value, b.name, t)
                if arr.shape != t.shape:
                    return None
                env[b.name] = d.argument(exact_argument(arr, b.name, t), t)
                continue
            if isinstance(value, np.ndarray):
                if value.dtype != object or value.shape != t.shape:
                    return None
                flat = value.ravel().tolist()
            elif t.shape == () and type(value).__module__.startswith("mpmath"):
                flat = [value]
            else:
                return None
            for k, v in enumerate(flat):
                if type(v) is own:
                    _, man, exp, bc = v._mpf_
                    settled = (man & 1 and bc <= prec) if man else (exp or v._mpf_ == _ZERO)
                elif type(v).__module__.startswith("mpmath"):
                    settled = False
                else:
                    return None
                flat[k] = within_range(ctx, v if settled else ctx.mpf(v))
            out = np.empty(len(flat), dtype=object)
            out[:] = flat
            env[b.name] = out.reshape(t.shape)
    except (LintraError, TypeError, ValueError, ArithmeticError):  # E-Args says why
        return None
    return env


STEP_FUNCTIONS = frozenset({"floor", "ceil", "round", "sign"})
"""Float primitives constant between jumps (their derivative is 0 wherever it exists, spec
4): the analysis marks an element whose value may change within its operand's bound (7.3),
the oracle a result computed where its line crosses a jump (7.2)."""

_ZERO = mpmath.mpf(0)._mpf_


__all__ = ["MAX_DPS", "REL", "STEP_FUNCTIONS", "Settled", "agree", "cells",
           "evaluate_until_stable", "floor_of", "run_checked", "until_stable"]
