"""Every section number of the spec names one section (issue: "3.4" once meant both the float64
accuracy rules and the structure family), and a family file's number is its file name's."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

SPEC = Path(__file__).resolve().parent.parent / "spec"
NUMBERED = re.compile(r"^#+ (?:Chapter )?(\d+(?:\.\d+)*)[. ]")


def numbered_headings() -> dict[str, list[str]]:
    """Section number -> the places ("file:line") whose heading carries it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SPEC.glob("*.md")):
        fenced = False
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                fenced = not fenced
            m = None if fenced else NUMBERED.match(line)
            if m:
                found[m.group(1)].append(f"{path.name}:{k}")
    return found


def test_each_section_number_names_one_section() -> None:
    found = numbered_headings()
    assert {"3.0.1", "3.1", "3.4", "7.7.1"} <= found.keys()
    clashes = {n: places for n, places in found.items() if len(places) > 1}
    assert not clashes, f"section numbers used more than once: {clashes}"


def test_family_files_carry_their_file_numbers() -> None:
    for path in sorted(SPEC.glob("[0-9].[0-9]-*.md")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        number = path.name.split("-", 1)[0]
        assert first.startswith(f"# {number} "), f"{path.name} opens with {first!r}"


def test_notes_are_marked_and_hold_the_implementation_pointers() -> None:
    """spec/README.md: a note is a block quote opening with **Note.**; pointers into the
    reference's modules ("Reference: ...") are informative, so they live in notes."""
    for path in sorted(SPEC.glob("*.md")):
        fenced, quote_start = False, True
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                fenced = not fenced
            if fenced:
                continue
            if line.startswith(">"):
                if quote_start:
                    assert line.startswith("> **Note.** "), f"{path.name}:{k}: {line!r}"
                quote_start = False
                continue
            quote_start = True
            assert "Reference: `lintra." not in line, f"{path.name}:{k} outside a note"
