"""The Python examples of docs/optimized.md run, in order, in one namespace (each block may
use what an earlier one defined), and their assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "optimized.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_engine_guide_examples_run(capsys) -> None:
    blocks = FENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for k, code in enumerate(blocks, 1):
        exec(compile(code, f"{DOC.name}: python block {k}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "loss takes 2 arguments, got 1" in printed
    assert "lin f64[3]" in printed
