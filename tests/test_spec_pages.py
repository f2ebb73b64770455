"""The per-primitive pages (spec/primitives/) are what their generator writes now, and each
page carries what a reader porting a program needs (spec/tools/primitive_pages.py).

The examples on the pages are checked by tests/test_spec.py like every other spec example.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
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


def test_committed_pages_and_site_nav_are_what_the_generator_writes(
        generated: dict[Path, str]) -> None:
    stale = [p.name for p, text in generated.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    extra = sorted(p.name for p in set(PAGES.glob("*.md")) - set(generated))
    assert not stale and not extra, (
        f"stale pages {stale}, pages nobody generates {extra}: "
        "run python -m spec.tools.primitive_pages")


def test_one_page_per_primitive_and_an_index_naming_each(generated: dict[Path, str]) -> None:
    pages = {p.name for p in generated if p.parent == PAGES}
    assert pages == {f"{n}.md" for n in PRIMITIVES} | {"README.md"}
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
    # the scope page maps some jax.lax operation (or says there is none) to every primitive
    assert "### From jax.lax" in spec_part
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


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """mkdocs.yml builds spec/ with every link and anchor resolved (strict: a warning fails)."""
    for module in ("mkdocs", "material"):
        pytest.importorskip(module, reason="the docs extra is not installed (.[docs])")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "primitives" / "sin" / "index.html").exists()
    assert (tmp_path / "scope" / "index.html").exists()


def test_ci_installs_what_the_readme_says() -> None:
    """The README's install command and .ci/run install the same extras, docs among them."""
    readme = re.search(r'pip install -e "\.\[([\w,]+)\]"', (ROOT / "README.md").read_text())
    ci = re.search(r'pip install --quiet -e "\.\[([\w,]+)\]"', (ROOT / ".ci" / "run").read_text())
    assert readme and ci
    assert readme.group(1) == ci.group(1)
    assert "docs" in readme.group(1).split(",")
