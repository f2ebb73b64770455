"""What makes the reference's transformations scale changes no typing, value or error.

The checker remembers the typing of each equation signature (primitive, operand types,
parameters) and keeps each checked program's typing on the program object; ``unzip`` hands
its parts the typings their equations had in the JVP program instead of inferring them again
(spec 5.1 guarantees that each part passes the checker). These tests compare every typing so
obtained with what ``check`` infers afresh, compare remembered equation typings with the
primitives' own rules applied directly, make sure that values equal for ``==`` but of other
types (``True`` for ``1``) never share a remembered typing, and differentiate a
10,000-equation chain in both modes. Speed belongs in ``benchmarks/``.
"""

from __future__ import annotations

import copy
import gc

import numpy as np
import pytest
from hypothesis import assume, given

from lintra.conformance.strategies import programs
from lintra.reference import (
    LinearityError,
    LintraTypeError,
    ShapeError,
    check,
    evaluate,
    grad,
    jvp_program,
    parse_program,
    transpose_program,
    unzip,
)
from lintra.reference.check import CALL, kept_typing
from lintra.reference.emit import Emitter, NameSupply, typed_program
from lintra.reference.primitives import lookup
from lintra.reference.syntax import ArrayType, Binder, DType, Equation, Program, Var, VarType


def fresh_check(p: Program) -> object:
    """``check`` of a copy of ``p`` (a copy carries no kept typing)."""
    q = copy.copy(p)
    assert kept_typing(q) is None
    return check(q)


def assert_kept_typing_is_checks(p: Program) -> None:
    kept = kept_typing(p)
    assert kept is not None
    fresh = fresh_check(p)
    assert kept.variables == fresh.variables
    assert kept.equations == fresh.equations


@given(programs(max_equations=8))
def test_transformed_programs_keep_the_typing_check_infers(p: Program) -> None:
    jp = jvp_program(p)
    assert_kept_typing_is_checks(jp)
    for policy in ("save", "recompute"):
        for part in unzip(jp, policy):
            assert_kept_typing_is_checks(part)
    assert_kept_typing_is_checks(transpose_program(unzip(jp)[1]))


@given(programs(linear=True, max_equations=8))
def test_linear_programs_transpose_with_the_typing_check_infers(p: Program) -> None:
    assume(all(t.linear for t in p.result_types))
    assert_kept_typing_is_checks(transpose_program(p))


def exact(value: object) -> str:
    """A value with its type, so that ``True`` and ``1``, ``-0.0`` and ``0.0`` differ."""
    return f"{type(value).__name__}:{value!r}"


@given(programs(max_equations=8))
def test_remembered_equation_typings_are_the_rules(p: Program) -> None:
    """Each equation's typing equals the primitive's parameter and type rules applied to it
    directly, parameter values of the same types."""
    typing = check(p)
    for e, et in zip(p.equations, typing.equations):
        if e.primitive == CALL:
            continue
        prim = lookup(e.primitive)
        params = prim.param_values(e.param_dict)
        assert {k: exact(v) for k, v in et.params.items()} == {
            k: exact(v) for k, v in params.items()}
        if not prim.result_from_annotation:
            results = prim.type_rule(tuple(vt.array for vt in et.inputs), params)
            assert tuple(vt.array for vt in et.outputs) == results


def one_equation(primitive: str, params: tuple) -> Program:
    """``def f(x: f64[4]) -> f64[1, 4]: y = primitive(x, params); return y`` as records."""
    x = VarType(ArrayType(DType.f64, (4,)))
    out = VarType(ArrayType(DType.f64, (1, 4)))
    e = Equation((Binder("y"),), primitive, (Var("x"),), params)
    return Program("f", (Binder("x", x),), (out,), (e,), (Var("y"),))


def test_a_parameter_equal_to_a_remembered_one_but_of_another_type_is_judged_again() -> None:
    good = one_equation("broadcast_in_dim", (("shape", (1, 4)), ("broadcast_dimensions", (1,))))
    check(good)
    check(good)  # now remembered
    bad = one_equation("broadcast_in_dim", (("shape", (True, 4)), ("broadcast_dimensions", (1,))))
    assert bad.equations[0].params == good.equations[0].params  # equal for ==
    with pytest.raises(LintraTypeError, match="parameter shape must be a tuple of ints"):
        check(bad)


def test_a_dimension_equal_to_a_remembered_one_but_of_another_type_is_refused() -> None:
    text = "def f(x: f64[1]) -> f64[1]:\n    y = neg(x)\n    return y\n"
    check(parse_program(text))
    odd = VarType(ArrayType(DType.f64, (True,)))
    p = Program("f", (Binder("x", odd),), (odd,), (), (Var("x"),))
    with pytest.raises(ShapeError, match="is not a tuple of ints"):
        check(p)


def test_errors_are_the_same_after_the_signature_is_remembered() -> None:
    """An ill-typed equation fails with the same message whether or not a well-typed
    equation of the same primitive was checked before."""
    bad = "def f(x: f64[3], y: f64[4]) -> f64[3]:\n    z = add(x, y)\n    return z\n"
    good = "def f(x: f64[3], y: f64[3]) -> f64[3]:\n    z = add(x, y)\n    return z\n"
    with pytest.raises(ShapeError) as first:
        check(parse_program(bad))
    check(parse_program(good))
    with pytest.raises(ShapeError) as again:
        check(parse_program(bad))
    assert str(first.value) == str(again.value)


def test_an_emitted_equation_the_checker_refuses_makes_the_result_checked() -> None:
    """Where a judgment fails for an emitted equation (a rule multiplying two linear values),
    the transformation's result is checked as a whole, which names the error."""
    t = VarType(ArrayType(DType.f64, (2,)), linear=True)
    em = Emitter(NameSupply())
    a, b = em.declare("a", t), em.declare("b", t)
    y = em.emit1("mul", a, b)
    assert em.typings == [None]
    with pytest.raises(LinearityError, match="mul of two linear values"):
        typed_program("bad", [Binder(a.name, t), Binder(b.name, t)], em, [y])


def chain(n: int) -> str:
    """``n`` equations cycling through sin, neg, tanh and mul by -1: the iterates of sin and
    tanh shrink slowly, so the derivative (a product of ~n factors cos(a) or 1 - tanh(a)^2,
    each near 1, and of ±1) stays far from underflow."""
    ops = ["sin({})", "neg({})", "tanh({})", "mul({}, -1.0)"]
    lines = ["def chain(x: f64[3]) -> f64[]:"]
    prev = "x"
    for k in range(n - 1):
        lines.append(f"    a{k} = {ops[k % len(ops)].format(prev)}")
        prev = f"a{k}"
    lines += [f"    s = reduce_sum({prev}, axes=(0,))", "    return s"]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_ten_thousand_equations_reverse_equals_forward() -> None:
    """The gradient of a 10,000-equation chain (jvp_program, unzip, transpose_program, with
    typings handed on) equals forward mode's directional derivatives (jvp_program alone)
    within rounding: each is a product of the same m = 5,000 factors (the nonlinear
    equations' derivatives, computed by the same equations), multiplied in opposite orders,
    so each is within γ_m of the exact product P, and they differ by at most
    2γ_m·|P| <= 2γ_m/(1 - γ_m)·|g|."""
    n = 10_000
    p = parse_program(chain(n))
    x = np.array([0.3, -0.2, 0.1])
    g = grad(p, x)
    m = n // 2
    u = 2.0**-53
    gamma = m * u / (1 - m * u)
    jp = jvp_program(p)
    for i in range(3):
        dx = np.zeros(3)
        dx[i] = 1.0
        _, dy = evaluate(jp, x, dx)
        assert abs(g[i] - dy) <= 2 * gamma / (1 - gamma) * abs(g[i])
        assert abs(g[i]) > 1e-6  # far from underflow: the comparison means something


def small_jvp_program() -> Program:
    return jvp_program(parse_program(
        "def f(x: f64[2]) -> f64[]:\n    y = sin(x)\n    s = reduce_sum(y, axes=(0,))\n"
        "    return s\n"))


def test_the_collector_is_paused_during_a_transformation_and_restored_after() -> None:
    """The transformations hold the cyclic collector off while they run (a recompute
    policy is user code that runs inside ``unzip``) and leave it as they found it: on,
    off, or after an error."""
    seen: list[bool] = []

    def record(e: Equation) -> bool:
        seen.append(gc.isenabled())
        return False

    jp = small_jvp_program()
    was = gc.isenabled()
    try:
        gc.enable()
        unzip(jp, record)
        assert seen and not any(seen)
        assert gc.isenabled()
        with pytest.raises(LintraTypeError):
            grad(parse_program("def f(x: f64[2]) -> f64[2]:\n    y = sin(x)\n    return y\n"),
                 np.zeros(2))
        assert gc.isenabled()
        gc.disable()
        grad(parse_program(chain(4)), np.zeros(3))
        unzip(jp, record)
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
