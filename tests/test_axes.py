"""Negative axes (spec 2.5): which parameters accept them, and that they mean what they say.

A parameter that *selects* axes of one array (``axis``, ``axes``, ``dimension``,
``dimensions``) accepts ``[-rank, rank)``; a parameter that *relates* the axes of two arrays
(``permutation``, ``broadcast_dimensions``, dot_general's dimension numbers) and every bound
or size are non-negative. Each selecting parameter is checked by writing one program twice,
with the negative axis and with its non-negative equivalent: evaluation, JVP and VJP must give
identical arrays (so every rule that reads the parameter normalizes it). Each relating
parameter must refuse a negative entry with a ShapeError naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from lintra.reference import PRIMITIVES, ShapeError, check, evaluate, jvp, parse_program, vjp


@dataclass(frozen=True)
class Case:
    """One selecting parameter: a signature (parameters, ``)``, result type), a body with
    ``{axis}``, the negative axis and its non-negative equivalent, and the inputs."""

    primitive: str
    parameter: str
    signature: str
    body: str
    negative: str
    positive: str
    inputs: tuple[np.ndarray, ...]


RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 3, 4))
SQUEEZABLE = RNG.standard_normal((2, 1, 4))
INDICES = np.array([2, 0, 2], dtype=np.int64)
UPDATES = RNG.standard_normal((2, 3, 3))

CASES = (
    Case(
        "reduce_sum", "axes", "x: f64[2,3,4]) -> f64[3]",
        "reduce_sum(x, axes={axis})", "(-1, -3)", "(2, 0)", (X,),
    ),
    Case(
        "reduce_max", "axes", "x: f64[2,3,4]) -> f64[2,4]",
        "reduce_max(x, axes={axis})", "(-2,)", "(1,)", (X,),
    ),
    Case(
        "reduce_min", "axes", "x: f64[2,3,4]) -> f64[2,3]",
        "reduce_min(x, axes={axis})", "(-1,)", "(2,)", (X,),
    ),
    Case(
        "argmax", "axis", "x: f64[2,3,4]) -> i64[2,3]",
        "argmax(x, axis={axis})", "-1", "2", (X,),
    ),
    Case(
        "argmin", "axis", "x: f64[2,3,4]) -> i64[2,4]",
        "argmin(x, axis={axis})", "-2", "1", (X,),
    ),
    Case(
        "cumsum", "axis", "x: f64[2,3,4]) -> f64[2,3,4]",
        "cumsum(x, axis={axis})", "-1", "2", (X,),
    ),
    Case(
        "cumprod", "axis", "x: f64[2,3,4]) -> f64[2,3,4]",
        "cumprod(x, axis={axis}, reverse=true)", "-2", "1", (X,),
    ),
    Case(
        "cummax", "axis", "x: f64[2,3,4]) -> f64[2,3,4]",
        "cummax(x, axis={axis})", "-3", "0", (X,),
    ),
    Case(
        "sort", "dimension", "x: f64[2,3,4]) -> f64[2,3,4]",
        "sort(x, dimension={axis})", "-1", "2", (X,),
    ),
    Case(
        "squeeze", "dimensions", "x: f64[2,1,4]) -> f64[2,4]",
        "squeeze(x, dimensions={axis})", "(-2,)", "(1,)", (SQUEEZABLE,),
    ),
    Case(
        "expand_dims", "dimensions", "x: f64[2,3,4]) -> f64[1,2,3,4,1]",
        "expand_dims(x, dimensions={axis})", "(-1, 0)", "(4, 0)", (X,),
    ),
    Case(
        "rev", "dimensions", "x: f64[2,3,4]) -> f64[2,3,4]",
        "rev(x, dimensions={axis})", "(-1, -2)", "(2, 1)", (X,),
    ),
    Case(
        "concatenate", "dimension", "x: f64[2,3,4], y: f64[2,3,4]) -> f64[2,6,4]",
        "concatenate(x, y, dimension={axis})", "-2", "1", (X, 2.0 * X),
    ),
    Case(
        "gather", "axis", "x: f64[2,3,4], i: i64[3]) -> f64[2,3,3]",
        "gather(x, i, axis={axis})", "-1", "2", (X, INDICES),
    ),
    Case(
        "scatter_add", "axis", "x: f64[2,3,4], i: i64[3], u: f64[2,3,3]) -> f64[2,3,4]",
        "scatter_add(x, i, u, axis={axis})", "-1", "2", (X, INDICES, UPDATES),
    ),
    Case(
        "iota", "dimension", "x: f64[]) -> f64[2,3]",
        "iota(dtype=\"f64\", shape=(2,3), dimension={axis})", "-1", "1", (np.float64(0.5),),
    ),
)


def program(case: Case, axis: str):
    return parse_program(f"def f({case.signature}:\n    r = {case.body.format(axis=axis)}\n"
                         "    return r\n")


def float_inputs(case: Case) -> list[int]:
    return [k for k, x in enumerate(case.inputs) if np.asarray(x).dtype.kind == "f"]


def test_every_axis_selecting_parameter_has_a_case() -> None:
    selecting = {"axis", "axes", "dimension", "dimensions"}
    declared = {(name, spec.name) for name, prim in PRIMITIVES.items() for spec in prim.params
                if spec.name in selecting}
    assert declared == {(c.primitive, c.parameter) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.primitive}-{c.parameter}")
def test_negative_axes_mean_their_non_negative_equivalent(case: Case) -> None:
    neg, pos = program(case, case.negative), program(case, case.positive)
    assert neg.result_types == pos.result_types
    values_neg, values_pos = evaluate(neg, *case.inputs), evaluate(pos, *case.inputs)
    for a, b in zip(values_neg, values_pos):
        assert np.array_equal(a, b)
    if not any(t.array.dtype.is_float for t in pos.result_types):
        return  # argmax, argmin: no tangent to compare
    floats = float_inputs(case)
    tangents = tuple(RNG.standard_normal(np.shape(case.inputs[k])) for k in floats)
    (_, dn), (_, dp) = jvp(neg, case.inputs, tangents), jvp(pos, case.inputs, tangents)
    for a, b in zip(dn, dp):
        assert np.array_equal(a, b)
    (out,), pullback_neg = vjp(neg, *case.inputs)
    _, pullback_pos = vjp(pos, *case.inputs)
    cotangent = RNG.standard_normal(np.shape(out))
    for a, b in zip(pullback_neg(cotangent), pullback_pos(cotangent)):
        assert np.array_equal(a, b)


RELATING = (
    ("transpose", "x: f64[2,3]) -> f64[3,2]", "transpose(x, permutation=(-1, 0))", "permutation"),
    ("broadcast_in_dim", "x: f64[3]) -> f64[2,3]",
     "broadcast_in_dim(x, shape=(2,3), broadcast_dimensions=(-1,))",
     "broadcast_dimensions"),
    ("dot_general", "x: f64[2,3], w: f64[3]) -> f64[2]",
     "dot_general(x, w, contracting_dims=((-1,), (0,)), batch_dims=((), ()))", "dimension"),
    ("slice", "x: f64[4]) -> f64[2]", "slice(x, start=(-2,), limit=(4,))", "start"),
    ("pad", "x: f64[4]) -> f64[5]", "pad(x, 0.0, low=(-1,), high=(0,))", "low"),
    ("reshape", "x: f64[4]) -> f64[4]", "reshape(x, new_sizes=(-1,))", "new_sizes"),
)


@pytest.mark.parametrize("case", RELATING, ids=lambda c: c[0])
def test_relating_parameters_and_bounds_refuse_negative_entries(case: tuple) -> None:
    _, signature, body, fragment = case
    p = parse_program(f"def f({signature}:\n    r = {body}\n    return r\n")
    with pytest.raises(ShapeError, match=fragment):
        check(p)
