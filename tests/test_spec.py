"""Every example in spec/ and the README is checked (spec/README.md, "Checked examples").

* ``lintra`` blocks parse and type-check;
* ``lintra-invalid`` blocks raise exactly the error class named on their first line;
* ``lintra-eval`` blocks: the mpmath evaluation at 50 digits, rounded to float64, equals the
  stated value exactly, and the float64 evaluation agrees with it as 3.0.4 bounds it.
* ``lintra-transform`` blocks (worked examples of chapters 4-5): the first line names a
  stage (``# jvp_program``, ``# primal``, ``# linear``, ``# transposed``, ``# grad_program``)
  applied to the first def of the preceding ``lintra`` block; the rest is exactly the printed
  result, so the spec's examples cannot drift from what the reference does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import lintra.reference as lr
from lintra.reference import PRIMITIVES, check, evaluate, parse, to_float64

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
DOCUMENTS = [*sorted(SPEC.rglob("*.md")), ROOT / "README.md"]

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: str
    text: str
    program: str | None  # for lintra-eval: the text of the preceding lintra block

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks() -> list[Block]:
    found: list[Block] = []
    for path in DOCUMENTS:
        source = path.read_text(encoding="utf-8")
        last_program = None
        for m in FENCE.finditer(source):
            info, text = m.group(1), m.group(2)
            line = source.count("\n", 0, m.start()) + 1
            if info == "lintra":
                last_program = text
            if info in ("lintra", "lintra-invalid", "lintra-eval", "lintra-transform"):
                found.append(Block(path, line, info, text, last_program))
    return found


ALL_BLOCKS = blocks()


def by_kind(kind: str) -> list[Block]:
    return [b for b in ALL_BLOCKS if b.info == kind]


def test_the_spec_has_examples_of_each_kind() -> None:
    assert len(by_kind("lintra")) >= 5
    assert len(by_kind("lintra-invalid")) >= 3
    assert len(by_kind("lintra-eval")) >= 3
    assert {b.text.partition("\n")[0] for b in by_kind("lintra-transform")} >= {
        "# jvp_program", "# primal", "# linear", "# transposed"}


@pytest.mark.parametrize("block", by_kind("lintra"), ids=lambda b: b.id)
def test_program_blocks_parse_and_check(block: Block) -> None:
    module = parse(block.text)
    check(module)
    assert parse(str(module)) == module


@pytest.mark.parametrize("block", by_kind("lintra-invalid"), ids=lambda b: b.id)
def test_invalid_blocks_raise_the_stated_error(block: Block) -> None:
    first = block.text.splitlines()[0]
    m = re.fullmatch(r"#\s*expect:\s*(\w+)\s*", first)
    assert m, f"{block.id}: first line must be '# expect: ErrorClass'"
    expected = getattr(lr, m.group(1))
    with pytest.raises(lr.LintraError) as info:
        check(parse(block.text))
    assert type(info.value) is expected, str(info.value)


def _fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            out[key.strip()] = value.strip()
    return out


def _same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@pytest.mark.parametrize("block", by_kind("lintra-eval"), ids=lambda b: b.id)
def test_eval_blocks_give_the_stated_results(block: Block) -> None:
    assert block.program is not None, f"{block.id}: lintra-eval must follow a lintra block"
    fields = _fields(block.text)
    module = parse(block.program)
    name = fields.get("fn") or next(iter(module))
    p = module[name]
    args = json.loads(fields["args"])
    expected = json.loads(fields["expect"])
    assert len(expected) == len(p.result_types)
    exact = evaluate(p, *args, dps=50, module=module)
    approx = evaluate(p, *args, module=module)
    for want, got_mp, got_f64, t in zip(expected, exact, approx, p.result_types):
        want = np.asarray(want, dtype=t.array.dtype.numpy)
        rounded = to_float64(np.asarray(got_mp), t.array.dtype)
        if t.array.dtype.is_float:
            assert all(map(_same_float, want.ravel().tolist(), rounded.ravel().tolist())), (
                f"{block.id}: mp result {rounded} != stated {want}"
            )
        else:
            np.testing.assert_array_equal(rounded, want)
        # Float64 accuracy is held to its bounds primitive by primitive (tests/test_prim_*);
        # here the float64 run must give the same shape, dtype and special-value classes.
        got = np.asarray(got_f64)
        assert got.dtype == want.dtype and got.shape == want.shape
        if t.array.dtype.is_float:
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            special = np.isinf(want) | (want == 0)
            np.testing.assert_array_equal(got[special], want[special])
            np.testing.assert_array_equal(np.signbit(got[special]), np.signbit(want[special]))
        else:
            np.testing.assert_array_equal(got, want)


STAGES: dict[str, Callable[[lr.Program], lr.Program]] = {
    "jvp_program": lr.jvp_program,
    "primal": lambda p: lr.unzip(lr.jvp_program(p))[0],
    "linear": lambda p: lr.unzip(lr.jvp_program(p))[1],
    "transposed": lambda p: lr.transpose_program(lr.unzip(lr.jvp_program(p))[1]),
    "grad_program": lr.grad_program,
}


@pytest.mark.parametrize("block", by_kind("lintra-transform"), ids=lambda b: b.id)
def test_transform_blocks_show_what_the_reference_prints(block: Block) -> None:
    assert block.program is not None, f"{block.id}: lintra-transform must follow a lintra block"
    first, _, shown = block.text.partition("\n")
    m = re.fullmatch(r"#\s*(\w+)\s*", first)
    assert m and m.group(1) in STAGES, f"{block.id}: first line must be '# <stage>'"
    p = next(iter(parse(block.program).values()))
    result = STAGES[m.group(1)](p)
    assert shown.rstrip("\n") == str(result), f"{block.id}: the reference prints\n{result}"
    check(parse(shown))


def test_every_primitive_has_a_spec_section() -> None:
    """Each primitive of the registry is named in exactly one family section 3.x."""
    sections = {p: p.read_text(encoding="utf-8") for p in SPEC.glob("3.*.md")}
    missing, repeated = [], []
    for name in PRIMITIVES:
        pattern = re.compile(rf"`{re.escape(name)}\b")
        hits = [p.name for p, text in sections.items() if pattern.search(text)]
        home = [h for h in hits if h.split("-", 1)[1].removesuffix(".md") ==
                PRIMITIVES[name].family]
        if not home:
            missing.append(name)
        if len(home) > 1:
            repeated.append(name)
    assert not missing, f"primitives without a section in their family's spec file: {missing}"
    assert not repeated
