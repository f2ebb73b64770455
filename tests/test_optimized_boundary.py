"""lintra.optimized is an independent implementation: it may read the language layer of the
reference (syntax, parse, errors, check) and nothing else of it (issue: differential testing
means something only if the rules are written twice)."""

from __future__ import annotations

import ast
from pathlib import Path

import lintra.optimized

ALLOWED = {"lintra.reference.syntax", "lintra.reference.parse", "lintra.reference.errors",
           "lintra.reference.check"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "." * node.level + (node.module or "")))
            elif node.module == "lintra.reference":
                found += [(node.lineno, f"lintra.reference.{alias.name}")
                          for alias in node.names]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def _package_files() -> list[Path]:
    root = Path(next(iter(lintra.optimized.__path__)))
    return sorted(root.rglob("*.py"))


def test_the_package_has_files() -> None:
    names = {p.name for p in _package_files()}
    assert {"api.py", "ir.py", "jvp.py", "transpose.py", "unzip.py", "plan.py"} <= names


def test_only_the_language_layer_of_the_reference_is_imported() -> None:
    offending = []
    for path in _package_files():
        for line, module in _imports(path):
            if module.startswith("."):
                offending.append(f"{path.name}:{line}: relative import {module}")
            elif (module == "lintra.reference" or module.startswith("lintra.reference.")
                  ) and not any(module == a or module.startswith(a + ".") for a in ALLOWED):
                offending.append(f"{path.name}:{line}: imports {module}")
            elif module in ("reference", "conformance") or module.startswith(
                    ("reference.", "conformance.", "lintra.conformance")):
                offending.append(f"{path.name}:{line}: imports {module}")
    assert not offending, "\n".join(offending)


def test_the_walker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from lintra.reference import evaluate\nimport lintra.reference.jvp\n"
                   "from lintra.reference.primitives import PRIMITIVES\n")
    found = [m for _, m in _imports(bad)]
    assert found == ["lintra.reference.evaluate", "lintra.reference.jvp",
                     "lintra.reference.primitives"]
