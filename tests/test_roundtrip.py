"""Printing and parsing are inverse on generated well-typed programs (spec 1.3)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given

from lintra.conformance.strategies import programs
from lintra.reference import Literal, Module, annotate, check, parse, parse_program
from lintra.reference.jvp import jvp_program


@given(programs())
def test_print_parse_round_trip(p) -> None:
    check(p)
    text = str(p)
    assert parse_program(text) == p
    assert str(parse_program(text)) == text
    annotated = annotate(check(p))
    assert parse_program(str(annotated)) == annotated


@given(programs(max_equations=4), programs(max_equations=4))
def test_module_round_trip(p, q) -> None:
    module = Module([p, replace(q, name="g")])
    assert parse(str(module)) == module


@given(programs(max_equations=5))
def test_generated_programs_transform(p) -> None:
    """The JVP program of a generated program checks and round-trips too."""
    jp = jvp_program(p)
    assert parse_program(str(jp)) == jp


def test_special_literals_round_trip() -> None:
    text = ("def f(x: f64[]) -> f64[]:\n    a: f64[] = add(x, nan)\n    b: f64[] = mul(a, -0.0)\n"
            "    c: f64[] = sub(b, inf)\n    d: f64[] = max(c, -1)\n    return d\n")
    p = parse_program(text)
    assert str(p) == text.rstrip("\n")
    assert p.equations[1].inputs[1] == Literal(-0.0) != Literal(0.0)
    assert np.isnan(float(str(p.equations[0].inputs[1])))
