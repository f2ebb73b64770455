"""The Python examples of docs/library.md run, in order, in one namespace (each block may use
what an earlier one defined), their assertions hold, and the errors they print say what the
page says they say."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "library.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_library_guide_examples_run(capsys) -> None:
    blocks = FENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for k, code in enumerate(blocks, 1):
        exec(compile(code, f"{DOC.name}: python block {k}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "def h(x0: f64[3], c0: f64[3]) -> f64[]:" in printed
    assert "t0: lin f64[2]" in printed  # the linear program shows its linear types
    assert "not supported yet" in printed
    assert "one scalar float value" in printed and "f64[3]" in printed
    assert "the closest is lnp.logsumexp" in printed
    assert "not linear" in printed
    assert "library.md: python block" in printed  # the errors name the user's code
