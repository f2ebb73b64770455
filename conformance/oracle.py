"""The finite-difference oracle: directional derivatives in mpmath with an error bound.

A directional derivative ``Df(x)[t]`` is estimated from values of ``f`` alone, evaluated by the
reference in the mpmath domain at ``dps`` digits, so it shares no rule with the JVP it checks.
Central differences ``D(h) = (f(x + h t) - f(x - h t)) / (2 h)`` have truncation error
``h^2 f'''/6 + O(h^4)``; one Richardson step ``R = (4 D(h/2) - D(h)) / 3`` removes the
``h^2`` term. The bound reported with the estimate is the sum of

* the truncation estimate ``|D(h) - D(h/2)|`` (for smooth ``f`` this exceeds the error of
  ``R`` by a factor of order ``h^-2``: it is deliberately conservative), and
* the rounding term ``4 * 10^-dps * max|f| / h`` (each value of ``f`` is within a few units of
  the working precision ``10^-dps`` relative to its magnitude, and differences divide by ``h``).

With ``h = 10^(-dps/4)`` both terms are far below the float64 unit roundoff, so a JVP that
disagrees with the estimate by more than the bound (plus the JVP's own working precision) is
wrong, not unlucky. Points near a kink or a singularity are the caller's to avoid (the
strategies of :mod:`lintra.conformance.strategies` do); there the bound is large and honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np

from lintra.reference.domains import MpDomain
from lintra.reference.evaluate import evaluate
from lintra.reference.syntax import Program


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate per float result: values and absolute error bounds (mpf arrays)."""

    values: tuple[np.ndarray, ...]
    bounds: tuple[np.ndarray, ...]


def _mp(ctx: mpmath.MPContext, x: object) -> np.ndarray:
    arr = np.asarray(x, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i in np.ndindex(arr.shape):
        v = arr[i]
        out[i] = ctx.mpf(v.item() if isinstance(v, np.generic) else v)
    return out


def directional_derivative(
    p: Program, primals: Sequence[object], tangents: Sequence[object], dps: int = 60
) -> Estimate:
    """Estimate ``Dp(primals)[tangents]`` (one tangent per float input) and bound its error.

    Integer and boolean inputs are held fixed; integer and boolean results are skipped.
    """
    ctx = MpDomain(dps).ctx
    h = ctx.mpf(10) ** (-(dps // 4))
    float_inputs = [i for i, b in enumerate(p.inputs) if b.type and b.type.array.dtype.is_float]
    if len(tangents) != len(float_inputs):
        raise ValueError(f"expected {len(float_inputs)} tangents, got {len(tangents)}")
    xs = [_mp(ctx, x) if i in float_inputs else np.asarray(x) for i, x in enumerate(primals)]
    ts = {i: _mp(ctx, t) for i, t in zip(float_inputs, tangents)}
    float_results = [k for k, t in enumerate(p.result_types) if t.array.dtype.is_float]

    def at(step: object) -> tuple[np.ndarray, ...]:
        args = [x + step * ts[i] if i in ts else x for i, x in enumerate(xs)]
        outs = evaluate(p, *args, dps=dps)
        return tuple(np.asarray(outs[k], dtype=object) for k in float_results)

    def central(step: object) -> tuple[tuple[np.ndarray, ...], object]:
        plus, minus = at(step), at(-step)
        size = max(
            [abs(v) for arr in plus + minus for v in arr.reshape(-1)] + [ctx.mpf(0)]
        )
        return tuple(np.asarray((a - b) / (2 * step), dtype=object)
                     for a, b in zip(plus, minus)), size

    coarse, size1 = central(h)
    fine, size2 = central(h / 2)
    rounding = 4 * ctx.mpf(10) ** (-dps) * max(size1, size2) / (h / 2)
    values = tuple(np.asarray((4 * f - c) / 3, dtype=object) for f, c in zip(fine, coarse))
    bounds = tuple(_bound(np.asarray(f - c, dtype=object), rounding)
                   for f, c in zip(fine, coarse))
    return Estimate(values, bounds)


def _bound(difference: np.ndarray, rounding: object) -> np.ndarray:
    """|D(h) - D(h/2)| + the rounding term, elementwise."""
    out = np.empty(difference.shape, dtype=object)
    for i in np.ndindex(difference.shape):
        out[i] = abs(difference[i]) + rounding
    return out
