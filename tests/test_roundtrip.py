"""Printing and parsing are inverse on generated well-typed programs (spec 1.3), and the
generator of :mod:`lintra.conformance.strategies` produces programs the checker accepts,
covering every family of primitives."""

from __future__ import annotations

import math

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from lintra.conformance.strategies import modules, programs, usable_primitives
from lintra.reference import (
    PRIMITIVES,
    Literal,
    Module,
    Program,
    annotate,
    check,
    parse,
    parse_program,
)
from lintra.reference.jvp import jvp_program

FAMILIES = sorted({prim.family for prim in PRIMITIVES.values()})
SEARCH = settings(phases=[Phase.generate], database=None)
"""For ``find``: generate under the active profile, without shrinking (the first hit will do)."""


def assert_round_trip(p: Program) -> None:
    """``check`` accepts ``p``; its text parses back to ``p``, and so does its annotation."""
    typing = check(p)
    text = str(p)
    q = parse_program(text)
    assert q == p
    assert str(q) == text
    annotated = annotate(typing)
    assert parse_program(str(annotated)) == annotated
    assert annotate(check(q)) == annotated


@given(programs())
def test_generated_programs_round_trip(p: Program) -> None:
    assert_round_trip(p)


@given(programs(linear=True))
def test_generated_linear_programs_round_trip(p: Program) -> None:
    assert_round_trip(p)
    assert any(b.type is not None and b.type.linear for b in p.inputs)


@given(programs(random_names=True, max_equations=5))
def test_generated_programs_with_arbitrary_names_round_trip(p: Program) -> None:
    assert_round_trip(p)


@given(modules(max_equations=4))
def test_module_round_trip(m: Module) -> None:
    check(m)
    text = str(m)
    assert parse(text) == m
    assert str(parse(text)) == text


@given(programs(max_equations=5))
def test_jvp_of_generated_programs_round_trips(p: Program) -> None:
    """The JVP program of a generated program (checked by ``jvp_program``) prints and parses
    back to itself."""
    jp = jvp_program(p)
    assert parse_program(str(jp)) == jp


@pytest.mark.parametrize("call", ["pow(x, 2)", "atan2(3, x)", "atan2(x, 3.0)", "pow(x, 0.5)"])
def test_jvp_keeps_the_dtype_literals_took(call: str) -> None:
    """Found by the generator: a literal operand takes the dtype of the other operands (spec
    2.2), and the equations a JVP rule emits with it must keep that dtype (an int literal in an
    f64 call, a float literal in an f32 call)."""
    p = parse_program(f"def f(x: f32[]) -> f32[]:\n    y = {call}\n    return y")
    jp = jvp_program(p)
    assert parse_program(str(jp)) == jp


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_exercises_every_family(family: str) -> None:
    names = [n for n, prim in PRIMITIVES.items() if prim.family == family]
    assert usable_primitives(names), f"no recipe for any primitive of family {family}"
    found = find(programs(primitives=names, max_equations=3),
                 lambda p: any(e.primitive in names for e in p.equations), settings=SEARCH)
    assert_round_trip(found)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_generator_calls_every_primitive(name: str) -> None:
    """Every registered primitive has a recipe, and the generator calls it (with linear
    operands when the primitive is linear-only)."""
    assert name in usable_primitives(), f"no call recipe for {name}"
    linear = PRIMITIVES[name].linearity.kind.value == "linear_only"
    found = find(programs(primitives=(name,), max_equations=2, linear=linear),
                 lambda p: any(e.primitive == name for e in p.equations), settings=SEARCH)
    assert_round_trip(found)


# --------------------------------------------------------------------------------------------
# Literals

SPECIAL_LITERALS = [
    # (text in the program, value, kind)
    ("nan", math.nan, "float"),
    ("inf", math.inf, "float"),
    ("-inf", -math.inf, "float"),
    ("-0.0", -0.0, "float"),
    ("0.0", 0.0, "float"),
    ("1e-300", 1e-300, "float"),
    ("5e-324", 5e-324, "float"),
    ("1.7976931348623157e+308", 1.7976931348623157e308, "float"),
    ("-1", -1, "int"),
    ("0", 0, "int"),
    ("9223372036854775807", 2**63 - 1, "int"),
    ("true", True, "bool"),
    ("false", False, "bool"),
]


def program_with_literal(text: str, kind: str) -> str:
    dtype = {"float": "f64", "int": "i64", "bool": "bool"}[kind]
    prim = "or" if kind == "bool" else "add"
    return (f"def f(x: {dtype}[2]) -> {dtype}[2]:\n"
            f"    y: {dtype}[2] = {prim}(x, {text})\n"
            "    return y")


@pytest.mark.parametrize(("text", "value", "kind"), SPECIAL_LITERALS)
def test_special_literals_round_trip(text: str, value: float | int | bool, kind: str) -> None:
    source = program_with_literal(text, kind)
    p = parse_program(source)
    check(p)
    lit = p.equations[0].inputs[1]
    assert isinstance(lit, Literal)
    assert lit.kind == kind
    assert str(p) == source
    assert parse_program(str(p)) == p
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(lit.value)
    else:
        assert lit.value == value
        assert type(lit.value) is type(value)
        assert math.copysign(1, lit.value) == math.copysign(1, value)


def test_signed_zero_literals_differ() -> None:
    assert Literal(-0.0) != Literal(0.0)
    assert Literal(math.nan) == Literal(math.nan)
    assert Literal(1) != Literal(1.0) != Literal(True)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_every_float_literal_round_trips(value: float) -> None:
    p = parse_program(program_with_literal(repr(value), "float"))
    q = parse_program(str(p))
    assert q == p
    lit = q.equations[0].inputs[1]
    assert isinstance(lit, Literal)
    assert str(lit) == repr(value)
    if not math.isnan(value):
        assert lit.value == value and math.copysign(1, lit.value) == math.copysign(1, value)


@given(st.integers(-(2**63), 2**63 - 1))
def test_every_i64_literal_round_trips(value: int) -> None:
    p = parse_program(program_with_literal(str(value), "int"))
    check(p)
    lit = parse_program(str(p)).equations[0].inputs[1]
    assert isinstance(lit, Literal) and lit.value == value and lit.kind == "int"
