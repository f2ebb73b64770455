"""Fuzzing the parser and the checker: random and mutated program text raises only lintra's
own errors (issue: never IndexError, KeyError, RecursionError, AssertionError...)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import LintraError, check, parse

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    (ROOT / "examples" / "rosen.lintra").read_text(encoding="utf-8"),
    "def f(x: f64[3], t: lin f64[3]) -> (f64[], lin f64[3]):\n"
    "    a: f64[3] = sin(x)\n    s: f64[] = reduce_sum(a, axes=(0,))\n"
    "    u: lin f64[3] = mul(a, t)\n    return s, u\n",
    "def g(t: lin f64[2]) -> lin f64[2]:\n    a, b = dup(t)\n    drop(a)\n"
    "    z: lin f64[2] = zero()\n    c = add(b, z)\n    return c\n",
    'def h(x: f64[]) -> f64[]:\n    y = call(x, fn="h2")\n    return y\n\n'
    "def h2(x: f64[]) -> f64[]:\n    y = neg(x)\n    return y\n",
]
ALPHABET = "abcdefxyz_0123456789 \n\t()[]{},:=->#.\"'+*lin f64 i32 bool def return true nan"


def parse_and_check(text: str) -> None:
    try:
        module = parse(text)
        check(module)
    except LintraError:
        pass


@given(st.text(alphabet=ALPHABET, max_size=200))
def test_random_text(text: str) -> None:
    parse_and_check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "swap_lines", "truncate"]))
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "delete":
            j = draw(st.integers(i, min(i + 8, len(text))))
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.text(alphabet=ALPHABET, min_size=1, max_size=6)) + text[i:]
        elif kind == "duplicate":
            j = draw(st.integers(i, min(i + 12, len(text))))
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "swap_lines":
            lines = text.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        else:
            text = text[:i]
    return text


@given(mutated())
def test_mutated_programs(text: str) -> None:
    parse_and_check(text)


@given(st.integers(1, 3000))
def test_deep_nesting_does_not_recurse(depth: int) -> None:
    parse_and_check("def f(x: f64[]) -> f64[]:\n    y = neg(x, p=" + "(" * depth + ")\n")
