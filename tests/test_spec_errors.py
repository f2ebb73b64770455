"""The error messages the spec prints as examples (1.6, 2.6) are the ones the reference
raises, to the column: the spec's text blocks are compared with what parse and check say
for the programs the surrounding prose describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lintra.reference import check, parse_program
from lintra.reference.errors import LintraError

SPEC = Path(__file__).resolve().parent.parent / "spec"


def text_block_after(path: Path, heading: str) -> str:
    """The first ```text block after ``heading`` in ``path``."""
    source = path.read_text(encoding="utf-8")
    start = source.index(heading)
    m = re.compile(r"^```text\n(.*?)^```", re.M | re.S).search(source, start)
    assert m, f"no text block after {heading!r} in {path.name}"
    return m.group(1).rstrip("\n")


@pytest.mark.parametrize("path, heading, program", [
    ("1-syntax.md", "## 1.6 Parse errors",
     "def f(x: f64[]) -> f64[]:\n    y: f64[] = sin(x y)\n    return y\n"),
    ("2-types.md", "## 2.6 Errors",
     "def twice(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = add(t, t)\n    return u\n"),
])
def test_printed_errors_are_the_references(path: str, heading: str, program: str) -> None:
    with pytest.raises(LintraError) as raised:
        check(parse_program(program))
    assert str(raised.value) == text_block_after(SPEC / path, heading)
