"""Fuzzing the parser and the checker: random text and mutated programs raise only lintra's own
errors (never IndexError, KeyError, ValueError, RecursionError, AssertionError...), and any
text that parses prints to a canonical text that parses back to the same module."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.conformance.strategies import (
    FUZZ_ALPHABET,
    program_text_mutations,
    programs,
    replacement_tokens,
)
from lintra.reference import LintraError, Module, ParseError, check, parse
from lintra.reference.parse import MAX_PARAM_DEPTH
from tests.test_fuzz_api import PROGRAMS as SPEC_AND_CORPUS
from tests.test_fuzz_api import deep

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    *(path.read_text(encoding="utf-8") for path in sorted((ROOT / "examples").glob("*.lintra"))),
    "def f(x: f64[3], t: lin f64[3]) -> (f64[], lin f64[3]):\n"
    "    a: f64[3] = sin(x)\n    s: f64[] = reduce_sum(a, axes=(0,))\n"
    "    u: lin f64[3] = mul(a, t)\n    return s, u\n",
    "def g(t: lin f64[2]) -> lin f64[2]:\n    a, b = dup(t)\n    drop(a)\n"
    "    z: lin f64[2] = zero()\n    c = add(b, z)\n    return c\n",
    'def h(x: f64[]) -> f64[]:\n    y = call(x, fn="h2")\n    return y\n\n'
    "def h2(x: f64[]) -> f64[]:\n    y = neg(x)\n    return y\n",
    "def k(x: f32[2, 3], i: i32[]) -> (bool[2, 3], f32[3, 2]):\n"
    "    m = gt(x, -inf)\n    s = dynamic_slice(x, i, 0, slice_sizes=(1, 3))\n"
    "    p = pad(x, nan, low=(0, 1), high=(1, 0), interior=())\n"
    "    q = slice(p, start=(0, 0), limit=(3, 2))\n    return m, q\n",
]


def parse_and_check(text: str) -> None:
    """Parse and check ``text``; only :class:`LintraError` may escape. A text that parses has
    a canonical print that is a fixed point of parse-then-print (compared as text: comparing
    modules with deeply nested parameter tuples would recurse in Python's tuple equality)."""
    try:
        module = parse(text)
    except LintraError:
        return
    assert isinstance(module, Module)
    canonical = str(module)
    assert str(parse(canonical)) == canonical
    try:
        check(module)
    except LintraError:
        pass


@deep
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    parse_and_check(text)


@deep
@given(st.lists(st.one_of(replacement_tokens(), st.text(FUZZ_ALPHABET, max_size=3)),
                max_size=40).map("".join))
def test_token_soup(text: str) -> None:
    parse_and_check(text)


@deep
@given(st.data())
def test_mutated_seed_programs(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS))
    parse_and_check(data.draw(program_text_mutations(seed)))


@deep
@given(st.data())
def test_mutated_spec_and_corpus_programs(data: st.DataObject) -> None:
    """Every ``lintra`` block of the spec and every corpus program, mutated (their
    evaluation is fuzzed in tests/test_fuzz_api.py)."""
    seed = data.draw(st.sampled_from(SPEC_AND_CORPUS))
    parse_and_check(data.draw(program_text_mutations(seed)))


@deep
@given(st.data())
def test_mutated_generated_programs(data: st.DataObject) -> None:
    p = data.draw(programs(linear=data.draw(st.booleans()), max_equations=5))
    parse_and_check(data.draw(program_text_mutations(str(p))))


def test_seeds_are_valid() -> None:
    """The seeds themselves parse and check, so their mutations start from valid text."""
    for seed in SEEDS:
        check(parse(seed))


@given(st.integers(1, 3000))
def test_deeply_nested_parameters_do_not_recurse(depth: int) -> None:
    parse_and_check("def f(x: f64[]) -> f64[]:\n    y = neg(x, p=" + "(" * depth + ")\n")
    parse_and_check("def f(x: f64[]) -> f64[]:\n    y = neg(x, p=" + "(" * depth
                    + ")" * depth + ")\n    return y\n")


@pytest.mark.parametrize("depth", [MAX_PARAM_DEPTH, MAX_PARAM_DEPTH + 1])
def test_parameter_nesting_is_bounded(depth: int) -> None:
    """Up to the bound a nested parameter parses, compares and hashes; beyond it the parser
    names the place."""
    text = ("def f(x: f64[]) -> f64[]:\n    y = neg(x, p=" + "(" * depth + ")" * depth
            + ")\n    return y\n")
    if depth > MAX_PARAM_DEPTH:
        with pytest.raises(ParseError, match=f"f:2:{18 + MAX_PARAM_DEPTH}: .*at most 32 deep"):
            parse(text)
        return
    module = parse(text)
    assert module == parse(str(module))
    assert hash(module) == hash(parse(str(module)))


def test_long_program_does_not_recurse() -> None:
    body = "".join(f"    a{i + 1} = neg(a{i})\n" for i in range(5000))
    parse_and_check("def f(a0: f64[]) -> f64[]:\n" + body + "    return a5000\n")
