"""Packaging and layout rules: lintra is a PEP 420 namespace mapped from top-level folders and
the tests import the installed package (the optimized engine's import boundary is
tests/test_optimized_boundary.py)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Modules of lintra.reference that hold the language's data structures, which an independent
# backend may share; everything else there (rules, evaluator, transformations) it may not.


def test_lintra_is_a_namespace_package() -> None:
    import lintra

    assert not (ROOT / "lintra").exists()
    assert getattr(lintra, "__file__", None) is None  # PEP 420: no __init__.py
    assert Path(importlib.import_module("lintra.reference").__file__).parent.name in (
        "reference",
    )


def test_bare_top_level_imports_are_banned_by_ruff_config() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for name in ("reference", "conformance", "optimized"):
        assert f'"{name}".msg' in text


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
    return found


def test_no_bare_imports_of_the_parts() -> None:
    offenders = []
    for folder in ("reference", "conformance", "optimized", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).exists() else []:
            for module, line in _imports(path):
                if module.split(".")[0] in ("reference", "conformance", "optimized"):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert not offenders


def test_import_works_from_outside_the_checkout(tmp_path: Path) -> None:
    code = "import lintra.reference as r; print(r.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
