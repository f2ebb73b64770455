"""The per-primitive pages (spec/primitives/) are what their generator writes now, and each
page carries what a reader porting a program needs (spec/tools/primitive_pages.py).

The examples on the pages are checked by tests/test_spec.py like every other spec example.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lintra.reference import PRIMITIVES
from lintra.reference.primitives.base import LinearityKind

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "spec" / "primitives"


def _generator() -> ModuleType:
    path = ROOT / "spec" / "tools" / "primitive_pages.py"
    spec = importlib.util.spec_from_file_location("primitive_pages", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return dict(_generator().pages())


def test_committed_pages_are_what_the_generator_writes(generated: dict[Path, str]) -> None:
    stale = [p.name for p, text in generated.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    extra = sorted({p.name for p in PAGES.glob("*.md")} - {p.name for p in generated})
    assert not stale and not extra, (
        f"stale pages {stale}, pages nobody generates {extra}: "
        "run python -m spec.tools.primitive_pages")


def test_one_page_per_primitive_and_an_index_naming_each(generated: dict[Path, str]) -> None:
    assert {p.name for p in generated} == {f"{n}.md" for n in PRIMITIVES} | {"README.md"}
    index = generated[PAGES / "README.md"]
    linked = re.findall(r"\]\((\w+)\.md\)", index)
    assert sorted(linked) == sorted(PRIMITIVES)


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m, f"no section {title}"
    return m.group(1)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_each_page_has_its_family_row_an_example_and_its_claims(
        name: str, generated: dict[Path, str]) -> None:
    text = generated[PAGES / f"{name}.md"]
    prim = PRIMITIVES[name]
    # the row of the family's table, found by its first cell: a renamed or moved row shows
    family_file = next((ROOT / "spec").glob(f"3.*-{prim.family}.md")).name
    spec_part = _section(text, "In the spec")
    assert f"Source: [{family_file}]" in spec_part
    assert re.search(rf"^\| (primitive|equation) \| .*`{name}\b", spec_part, re.MULTILINE)
    for param in prim.params:
        assert f"| `{param.name}` |" in _section(text, "Signature")
    example = _section(text, "Example")
    assert f"= {name}(" in example or f"    {name}(" in example
    linear_only = prim.linearity.kind is LinearityKind.LINEAR_ONLY
    assert ("```lintra-eval" in example) is not linear_only
    claims = _section(text, "Accuracy claims")
    if prim.derivative is not None:
        assert f"{prim.derivative.ulps:g} ulp" in claims


def test_corpus_cases_are_listed_where_a_program_uses_the_primitive(
        generated: dict[Path, str]) -> None:
    """A case that applies sin is on sin's page, and not on cos's unless it applies cos."""
    sin = _section(generated[PAGES / "sin.md"], "Corpus cases")
    assert "`sin_f64`" in sin
    assert "`sin_f64`" not in _section(generated[PAGES / "exp.md"], "Corpus cases")
