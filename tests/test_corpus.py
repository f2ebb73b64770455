"""The portable corpus (spec 7.7): its format, its coverage, its derivation and its power.

* the format round-trips (parse, print, parse) and every package file is canonical; parse
  errors name the file and the line;
* coverage is computed from the spec's own data (``PRIMITIVES``, the linearity declarations,
  the chapter-6 table), never from lists written here;
* regenerating every expected line from the reference reproduces every file exactly;
* the reference backend passes every assertion; a backend with one sign flipped in its JVP
  fails exactly the assertions whose expected lines exclude the flipped value;
* the runner's comparisons: a nan passes only where ``nan`` is written, ``*`` is never
  compared, shapes and dtypes are checked, errors must come at the step named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lintra.conformance.backend import Capabilities
from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.corpus import (
    CASES_DIR,
    ERROR_CLASSES,
    EXTENSION,
    STEPS,
    ArrayLiteral,
    Assertion,
    CorpusCase,
    CorpusError,
    case_program,
    corpus_files,
    load_corpus,
    load_file,
    parse_corpus,
    print_corpus,
    regenerate_file,
    run_corpus_case,
)
from lintra.conformance.results import Status
from lintra.reference import PRIMITIVES, check, parse_program
from lintra.reference.errors import LintraError
from lintra.reference.primitives.base import LinearityKind
from lintra.reference.primitives.derivatives import zero_jvp
from lintra.reference.syntax import DType, Program, Var

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
FILES = corpus_files()
CASES = load_corpus()
REFERENCE = ReferenceBackend()


def assertions(kind: str | None = None) -> list[tuple[CorpusCase, Assertion]]:
    return [(c, a) for c in CASES for a in c.assertions if kind is None or a.kind == kind]


def test_the_corpus_is_there() -> None:
    assert CASES_DIR.is_dir()
    assert len(FILES) >= 10 and all(f.suffix == EXTENSION for f in FILES)
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


# --------------------------------------------------------------------------------------------
# Format


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_files_round_trip_and_are_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = parse_corpus(text, str(path))
    printed = print_corpus(parsed)
    assert parse_corpus(printed, str(path)) == parsed
    assert printed == text, f"{path.name} is not in canonical form"


LOOSE = """# header comment

# about the case
  case loose_layout
|def f(x: f64[2]) -> f64[2]:
|     y: f64[2] = neg(x)

|     return y
value
    in   f64[2]   0x1p+0 -0x1.8p+1
out f64[2] -1~0   3~0

# about the second assertion
jvp exact
  in f64[2] 0x1p+0 0x1p+0
  tangent f64[2] 0x1p+0 0x1p+0
"""


def test_layout_variants_parse_to_the_canonical_form() -> None:
    f = parse_corpus(LOOSE, "loose.lcase")
    assert f.notes == ("header comment",)
    (case,) = f.cases
    assert case.notes == ("about the case",)
    assert case.program == ("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = neg(x)\n"
                            "    return y\n")
    value, jvp = case.assertions
    assert value.inputs[0].elements == ("0x1p+0", "-0x1.8p+1")
    assert value.expected[0].elements == ("-1~0", "3~0")
    assert jvp.exact and jvp.notes == ("about the second assertion",) and not jvp.expected
    assert (value.line, jvp.line) == (9, 14)
    again = parse_corpus(print_corpus(f), "loose.lcase")
    assert again == f and print_corpus(again) == print_corpus(f)


def test_a_file_without_header_keeps_its_first_case_comment() -> None:
    text = "# first case\ncase a\n| def f(x: f64[]) -> f64[]:\n|     return x\nvalue\n" \
           "  in f64[] 0x1p+0\n"
    f = parse_corpus(text, "x.lcase")
    assert f.notes == () and f.cases[0].notes == ("first case",)
    assert print_corpus(f) == text


HEAD = "case c\n| def f(x: f64[2]) -> f64[2]:\n|     return x\n"
BAD = [
    ("value\n  in f64[2] 0x1p+0\n", 1, "outside a case"),
    (HEAD + "value\n  in f64[2] 0x1p+0\n", 5, "holds 2 elements, found 1"),
    (HEAD + "value\n  in f64[2] 1.5 2.5\n", 5, "hex float"),
    (HEAD + "value\n  in f64[2 ,3] 0x1p+0\n", 5, "type like"),
    (HEAD + "value\n  in f32[1] 0x1.0000000000001p+0\n", 5, "not an f32 value"),
    (HEAD + "value\n  in i32[1] 2147483648\n", 5, "out of the range"),
    (HEAD + "value\n  in bool[1] 1\n", 5, "true or false"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n  out f64[2] 1~-1 2\n", 6, "not negative"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n  out f64[2] 1e 2\n", 6, "expected D"),
    (HEAD + "value\n  out f64[2] 1 2\n  in f64[2] 0x1p+0 0x1p+0\n", 6, "come before"),
    (HEAD + "value\n  tangent f64[2] 0x1p+0 0x1p+0\n", 5, "takes no 'tangent'"),
    (HEAD + "vjp exactly\n", 4, "expected 'vjp'"),
    (HEAD + "kink jvp abs\n", 4, "kink jvp|vjp NAME at POINT"),
    (HEAD + "kink sideways abs at x = 0\n", 4, "kink jvp|vjp"),
    (HEAD + "error check nonsense\n", 4, "error STEP CLASS"),
    (HEAD + "error later type\n", 4, "error STEP CLASS"),
    (HEAD + "error parse parse\n  in f64[2] 0x1p+0 0x1p+0\n", 5, "takes no 'in'"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n# stray\n  out f64[2] 1 1\n", 7, "comment"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n| return x\n", 6, "program lines"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\nexpect 3\n", 6, "expected case"),
    (HEAD + "value\n" + HEAD, 5, "a second case named c"),
    ("case c d\n", 1, "case NAME"),
    ("case c\nvalue\n", 1, "no program lines"),
    (HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n# dangling\n", None, "end of the file"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[b[2] for b in BAD])
def test_parse_errors_name_file_and_line(text: str, line: int | None, message: str) -> None:
    with pytest.raises(CorpusError) as info:
        parse_corpus(text, "bad.lcase")
    where = "bad.lcase:" + (f"{line}:" if line is not None else "")
    assert str(info.value).startswith(where), str(info.value)
    assert message in str(info.value), str(info.value)


def test_a_case_needs_a_program_and_an_assertion() -> None:
    with pytest.raises(CorpusError, match=r"x\.lcase:1: case c has no assertion"):
        parse_corpus(HEAD, "x.lcase")


def test_load_corpus_refuses_a_name_defined_twice(tmp_path: Path) -> None:
    body = HEAD + "value\n  in f64[2] 0x1p+0 0x1p+0\n"
    (tmp_path / "a.lcase").write_text(body)
    (tmp_path / "b.lcase").write_text(body)
    with pytest.raises(CorpusError, match=r"b\.lcase:1: case c is also defined at .*a\.lcase:1"):
        load_corpus(tmp_path)
    assert [c.name for c in load_corpus(tmp_path / "a.lcase")] == ["c"]


# --------------------------------------------------------------------------------------------
# Coverage, from the spec's data


def _nonzero(lit: ArrayLiteral) -> bool:
    return bool(np.any(lit.array() != 0))


def _asserted(lit: ArrayLiteral) -> bool:
    return any(t != "*" for t in lit.elements)


def exercised(program: Program, a: Assertion) -> set[tuple[str, int]]:
    """(primitive, operand position) pairs where a derivative flows in this jvp or vjp
    assertion: the operand depends on a float input that is moved (a non-zero tangent) or
    whose cotangent is asserted, and the equation's result reaches a float result that is
    asserted (jvp) or receives a non-zero cotangent (vjp). Zero-derivative primitives
    (``zero_jvp``, spec 4.2 J-Zero) stop the flow."""
    typing = check(program)

    def is_float(name: str) -> bool:
        return typing.variables[name].array.dtype.is_float

    float_ins = [b.name for b in program.inputs if is_float(b.name)]
    float_outs = [v.name for v in program.outputs if is_float(v.name)]
    if a.direction == "jvp":
        seeds = {n for n, t in zip(float_ins, a.tangents) if _nonzero(t)}
        sinks = {n for n, o in zip(float_outs, a.expected) if _asserted(o)}
    else:
        seeds = {n for n, o in zip(float_ins, a.expected) if _asserted(o)}
        sinks = {n for n, c in zip(float_outs, a.cotangents) if _nonzero(c)}
    flows = [PRIMITIVES[e.primitive].jvp is not zero_jvp for e in program.equations]
    active = set(seeds)
    for e, flow in zip(program.equations, flows):
        if flow and any(isinstance(x, Var) and x.name in active for x in e.inputs):
            active |= {b.name for b in e.outputs if is_float(b.name)}
    needed = set(sinks)
    for e, flow in zip(reversed(program.equations), reversed(flows)):
        if flow and (not e.outputs or any(b.name in needed for b in e.outputs)):
            needed |= {x.name for x in e.inputs if isinstance(x, Var)}
    found = set()
    for e in program.equations:
        if e.outputs and not any(b.name in needed for b in e.outputs):
            continue
        for i, x in enumerate(e.inputs):
            if isinstance(x, Var) and x.name in active:
                found.add((e.primitive, i))
    return found


def linear_positions() -> set[tuple[str, int]]:
    """Every (primitive, position) a linear-capable primitive declares linear, among its
    minimal number of operands (plus one for a variadic primitive, so that an open range of
    positions is covered at its first two)."""
    out = set()
    for name, p in PRIMITIVES.items():
        if p.linearity.kind is LinearityKind.NEVER:
            continue
        n = p.arity.min + (1 if p.arity.max is None else 0)
        out |= {(name, i) for i in p.linearity.positions.indices(n)}
    return out


def test_every_primitive_appears() -> None:
    used = set()
    for c in CASES:
        try:
            used |= {e.primitive for e in case_program(c).equations}
        except LintraError:  # the parse-error case
            continue
    missing = sorted(set(PRIMITIVES) - used)
    assert not missing, f"primitives no corpus program uses: {missing}"


@pytest.mark.parametrize("direction", ["jvp", "vjp"])
def test_every_linear_position_has_jvp_and_vjp_assertions(direction: str) -> None:
    wanted = linear_positions()
    assert len(wanted) >= 30 and ("select_n", 2) in wanted and ("div", 1) not in wanted
    found: set[tuple[str, int]] = set()
    for c, a in assertions(direction):
        found |= exercised(case_program(c), a)
    missing = sorted(wanted - found)
    assert not missing, f"linear positions without a {direction} assertion: {missing}"


def test_the_coverage_measure_can_miss() -> None:
    """The measure is not vacuous: an unasserted result or a zero tangent exercises nothing."""
    p = parse_program("def f(x: f64[2], y: f64[2]) -> f64[2]:\n    z: f64[2] = mul(x, y)\n"
                      "    return z\n")
    one = ("0x1p+0", "0x1p+0")
    zero = ("0x0p+0", "0x0p+0")

    def jvp(tx: tuple, ty: tuple, out: tuple) -> Assertion:
        def lit(part: str, elements: tuple) -> ArrayLiteral:
            return ArrayLiteral(part, DType.f64, (2,), elements)

        return Assertion("jvp", (), (lit("tangent", tx), lit("tangent", ty)), (),
                         (lit("out", out),))

    assert exercised(p, jvp(one, one, ("1~0", "1~0"))) == {("mul", 0), ("mul", 1)}
    assert exercised(p, jvp(one, zero, ("1~0", "1~0"))) == {("mul", 0)}
    assert exercised(p, jvp(one, one, ("*", "*"))) == set()


PLAIN_GROUPS = ("comparisons", "integer arithmetic")


def kink_rows() -> list[tuple[list[str], str]]:
    """The chapter-6 table: per row, the names of its first column and its point, backticks
    removed."""
    lines = [ln for ln in (SPEC / "6-kinks.md").read_text(encoding="utf-8").splitlines()
             if ln.startswith("|")]
    assert set(lines[1]) <= set("|-: ")
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        names = [re.match(r"\s*([A-Za-z_]\w*)", code).group(1)  # type: ignore[union-attr]
                 for code in re.findall(r"`([^`]*)`", cells[0])]
        rest = re.sub(r"`[^`]*`", "", cells[0])
        names += [w.strip() for w in rest.split(",") if w.strip()]
        rows.append((names, cells[1].replace("`", "")))
    return rows


def test_the_kink_table_parses() -> None:
    rows = kink_rows()
    assert len(rows) >= 24
    assert (["max", "min"], "x = y") in rows
    assert any(set(PLAIN_GROUPS) <= set(names) for names, _ in rows)


def test_every_kink_row_is_asserted_both_ways() -> None:
    found: dict[tuple[str, str, str], list[CorpusCase]] = {}
    for c, a in assertions("kink"):
        found.setdefault((a.mode, *a.row), []).append(c)
    missing, unused = [], []
    for names, point in kink_rows():
        for name in names:
            for mode in ("jvp", "vjp"):
                cases = found.get((mode, name, point), [])
                if not cases:
                    missing.append(f"kink {mode} {name} at {point}")
                elif name in PRIMITIVES and not all(
                        name in {e.primitive for e in case_program(c).equations}
                        for c in cases):
                    unused.append(f"kink {mode} {name} at {point}")
    assert not missing, f"chapter-6 rows without assertions: {missing}"
    assert not unused, f"kink assertions whose program does not use the primitive: {unused}"
    rows = {(name, point) for names, point in kink_rows() for name in names}
    stray = sorted({f"{n} at {p}" for _, n, p in found} - {f"{n} at {p}" for n, p in rows})
    assert not stray, f"kink headers naming no row of the table: {stray}"


def test_every_error_class_and_step_appears() -> None:
    errors = [a for _, a in assertions("error")]
    assert {a.error for a in errors} == set(ERROR_CLASSES)
    assert {a.step for a in errors} == set(STEPS)


def test_traps_and_shapes_are_present() -> None:
    """The themes the corpus promises (spec 7.7.1), found in the programs and inputs."""
    programs = {c.name: case_program(c) for c in CASES if not any(
        a.kind == "error" for a in c.assertions)}
    shapes = {b.type.array.shape for p in programs.values() for b in p.inputs}
    dtypes = {b.type.array.dtype.value for p in programs.values() for b in p.inputs}
    assert () in shapes and any(0 in s for s in shapes)
    assert {"f64", "f32", "i64", "i32", "bool"} <= dtypes
    fan_out = [p.name for p in programs.values()
               if any(sum(isinstance(x, Var) and x.name == b.name for e in p.equations
                          for x in e.inputs) >= 3 for b in p.inputs)]
    assert fan_out
    written = [a for _, a in assertions() if a.kind != "error"]
    tokens = {t for a in written for lit in a.expected for t in lit.elements}
    assert {"nan", "inf", "-inf", "*"} <= tokens
    assert any(len(p.outputs) > 1 for p in programs.values())
    assert any("call(" in c.program for c in CASES)


# --------------------------------------------------------------------------------------------
# Derivation


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_regenerating_reproduces_the_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert print_corpus(regenerate_file(parse_corpus(text, str(path)))) == text


def test_every_value_assertion_has_expected_lines() -> None:
    pending = [f"{c.file}:{a.line}" for c, a in assertions() if a.kind != "error"
               and not a.expected]
    assert not pending


def spec_examples() -> list[str]:
    text = (SPEC / "7.7-corpus.md").read_text(encoding="utf-8")
    return re.findall(r"^```lcase\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def test_the_spec_examples_are_derived_too() -> None:
    examples = spec_examples()
    assert len(examples) >= 2
    for text in examples:
        f = parse_corpus(text, "7.7-corpus.md")
        assert print_corpus(regenerate_file(f)) == text
        for c in f.cases:
            assert all(r.status is Status.PASS for r in run_corpus_case(REFERENCE, c))


def _case(text: str) -> CorpusCase:
    (c,) = parse_corpus(text, "t.lcase").cases
    return c


def test_generator_refuses_what_the_reference_contradicts() -> None:
    from lintra.conformance.corpus import regenerate_case

    inexact = _case("case c\n| def f(x: f64[]) -> f64[]:\n|     y: f64[] = sin(x)\n"
                    "|     return y\nvalue exact\n  in f64[] 0x1p+0\n")
    with pytest.raises(CorpusError, match=r"t\.lcase:5: .*representable in f64"):
        regenerate_case(inexact)
    wrong_class = _case("case c\n| def f(x: i64[]) -> i64[]:\n|     y: i64[] = div(x, 0)\n"
                        "|     return y\nerror evaluate shape\n  in i64[] 1\n")
    with pytest.raises(CorpusError, match="raises EvaluationError at evaluate"):
        regenerate_case(wrong_class)
    wrong_step = _case("case c\n| def f(x: i64[]) -> i64[]:\n|     y: i64[] = div(x, 0)\n"
                       "|     return y\nerror check evaluation\n  in i64[] 1\n")
    with pytest.raises(CorpusError, match="at evaluate, the assertion expects"):
        regenerate_case(wrong_step)
    nothing = _case("case c\n| def f(x: i64[]) -> i64[]:\n|     y: i64[] = div(x, 1)\n"
                    "|     return y\nerror evaluate evaluation\n  in i64[] 1\n")
    with pytest.raises(CorpusError, match="raises nothing"):
        regenerate_case(nothing)


def test_bounds_are_the_analysis_bounds_rounded_up() -> None:
    """Each written ``D~B`` satisfies B >= bound + |D - truth| and B < that plus 0.1%: the
    file's rule is implied by the pass rule and barely looser."""
    from lintra.conformance import analysis

    c = next(c for c in CASES if c.name == "sin_f64")
    a = c.assertions[0]
    p = case_program(c)
    b = analysis.value_bounds(p, [lit.array() for lit in a.inputs])
    for token, truth, bound in zip(a.expected[0].elements, b.truth[0], b.bound[0]):
        d, _, written = token.partition("~")
        q, bnd = (Fraction(-m if x < 0 else m) * Fraction(2) ** e
                  for x, (m, e) in ((truth, truth.man_exp), (bound, bound.man_exp)))
        need = bnd + abs(Fraction(Decimal(d)) - q)
        assert need <= Fraction(Decimal(written)) < need * Fraction(1001, 1000)


# --------------------------------------------------------------------------------------------
# Running


def test_the_reference_passes_every_assertion() -> None:
    statuses: dict[str, int] = {}
    for c in CASES:
        results = run_corpus_case(REFERENCE, c)
        assert len(results) == len(c.assertions)
        for r, a in zip(results, c.assertions):
            assert r.check == a.check_name
            assert r.status is Status.PASS, f"{r.case}: {r.reason}"
            statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
    assert statuses["pass"] >= 400


def test_parse_error_assertions_use_a_parse_method() -> None:
    (c,) = [c for c, a in assertions("error") if a.step == "parse"][:1]
    (r,) = run_corpus_case(REFERENCE, c)
    assert r.status is Status.PASS and "ParseError (the expected class)" in r.reason

    class Lenient(ReferenceBackend):
        def parse(self, text: str) -> None:
            return None

    (r,) = run_corpus_case(Lenient(), c)
    assert r.status is Status.FAIL

    class ProgramsOnly(ReferenceBackend):
        parse = None  # type: ignore[assignment]

    (r,) = run_corpus_case(ProgramsOnly(), c)
    assert r.status is Status.SKIP and "no parse method" in r.reason


class FlippedJvp(ReferenceBackend):
    """A wrong backend: the first tangent result of every JVP has its sign flipped."""

    name = "flipped-jvp"

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        results, touts = super().jvp(program, primals, tangents)
        if not touts:
            return results, touts
        return results, (-np.asarray(touts[0]), *touts[1:])


def _flip_caught(lit: ArrayLiteral) -> tuple[bool, bool]:
    """Whether negating every element of a correct answer must fail this line (an element
    ``D~B`` with |D| > B, an exact non-zero ``D``, an infinity), and whether it may (an
    element with 0 < |D| <= B, where the correct answer's own sign decides)."""
    must = may = False
    for token in lit.elements:
        if token in ("inf", "-inf"):
            must = True
        elif token not in ("*", "nan") and lit.dtype.is_float:
            d, sep, b = token.partition("~")
            value, bound = abs(Fraction(Decimal(d))), Fraction(Decimal(b)) if sep else 0
            must |= value > bound
            may |= 0 < value <= bound
    return must, may


FLIP_IS_ONE_SIDED = {"kink_select_n_predicate_jump"}
"""Kink cases where the flipped tangent is the other one-sided slope: ``select_n(x > 0, -x,
x)`` is ``|x|``, whose slopes at 0 along 1 are -1 (the spec's, the selected case) and 1."""


def test_a_wrong_jvp_fails_the_assertions_that_should_catch_it() -> None:
    wrong = FlippedJvp()
    caught = 0
    for c in CASES:
        for r, a in zip(run_corpus_case(wrong, c), c.assertions):
            if a.direction == "jvp" and a.kind in ("jvp", "kink") and a.expected:
                must, may = _flip_caught(a.expected[0])
                if c.name in FLIP_IS_ONE_SIDED:
                    assert a.kind == "kink" and r.status is Status.CONVENTION, r.reason
                elif must:
                    assert r.status is Status.FAIL, f"{r.case} missed the flipped sign"
                    assert "tangent 1[" in r.reason
                    caught += 1
                elif not may:
                    assert r.status is not Status.FAIL, f"{r.case}: {r.reason}"
            else:
                assert r.status is not Status.FAIL, f"{r.case}: {r.reason}"
    assert caught >= 80


# Small corpora for the runner's rules

SQRT = """case s
| def f(x: f64[3]) -> f64[3]:
|     y: f64[3] = sqrt(x)
|     return y
value
  in f64[3] 0x1p+2 -0x1p+0 0x1p+0
  out f64[3] {tokens}
"""


class Returns(ReferenceBackend):
    """Evaluation returns the given arrays."""

    def __init__(self, *arrays: object) -> None:
        self.arrays = arrays

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
        return self.arrays


def _status(text: str, backend: object) -> tuple[Status, str]:
    (r,) = run_corpus_case(backend, _case(text))  # type: ignore[arg-type]
    return r.status, r.reason


@pytest.mark.parametrize(("tokens", "got", "status"), [
    ("2~0 nan 1~0", [2.0, np.nan, 1.0], Status.PASS),
    ("2~0 nan 1~0", [2.0, 0.0, 1.0], Status.FAIL),          # nan expected, a number given
    ("2~0 1~0 1~0", [2.0, np.nan, 1.0], Status.FAIL),       # a number expected, nan given
    ("2~0 * 1~0", [2.0, np.nan, 1.0], Status.PASS),         # * is never compared
    ("2~0 inf 1~0", [2.0, -np.inf, 1.0], Status.FAIL),      # the class includes the sign
    ("2~0.5 * 1", [2.5, 7.0, 1.0], Status.PASS),            # within the bound, at its edge
    ("2~0.5 * 1", [2.5000000000000004, 7.0, 1.0], Status.FAIL),
    ("2~0.5 * 1", [2.0, 7.0, 1.0000000000000002], Status.FAIL),  # exact means exact
    ("0 * 1", [-0.0, 7.0, 1.0], Status.PASS),               # zeros of either sign
    ("* * *", [1.0, 1.0, 1.0], Status.SKIP),
])
def test_element_rules(tokens: str, got: list[float], status: Status) -> None:
    text = SQRT.format(tokens=tokens)
    assert _status(text, Returns(np.array(got)))[0] is status


def test_shapes_dtypes_and_counts_are_checked() -> None:
    text = SQRT.format(tokens="2~0 * 1~0")
    assert _status(text, Returns(np.array([2.0, 0.0, 1.0], np.float32)))[0] is Status.FAIL
    assert _status(text, Returns(np.array([2.0, 0.0])))[0] is Status.FAIL
    assert _status(text, Returns(np.array([2.0, 0.0, 1.0]), np.ones(1)))[0] is Status.FAIL
    assert _status(text, REFERENCE)[0] is Status.PASS


def test_a_backend_that_raises_fails_with_the_exception_named() -> None:
    class Raising(ReferenceBackend):
        def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
            raise RuntimeError("kernel missing")

    status, reason = _status(SQRT.format(tokens="2~0 * 1~0"), Raising())
    assert status is Status.FAIL and "RuntimeError: kernel missing" in reason


def test_error_assertions_need_a_refusal_at_their_step() -> None:
    cases = {c.name: c for c in CASES}

    class Accepting(ReferenceBackend):
        """Evaluates without checking anything first, and never refuses a pullback."""

        def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
            return ()

        def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple:
            return (), lambda *cts: ()

    (r,) = run_corpus_case(Accepting(), cases["linearity_error_affine"])
    assert r.status is Status.FAIL and "returned normally" in r.reason
    for r in run_corpus_case(Accepting(), cases["wrong_cotangent_shape"]):
        assert r.status is Status.FAIL

    class EarlyVjp(ReferenceBackend):
        def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple:
            raise ValueError("no")

    for r in run_corpus_case(EarlyVjp(), cases["wrong_cotangent_shape"]):
        assert r.status is Status.FAIL and "before the pullback" in r.reason

    class OtherClass(ReferenceBackend):
        def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
            raise ZeroDivisionError("integer division by zero")

    (r,) = run_corpus_case(OtherClass(), cases["integer_division_by_zero"])
    assert r.status is Status.PASS and "informative only" in r.reason


def test_capabilities_skip_with_the_reason() -> None:
    class NoSin(ReferenceBackend):
        capabilities = Capabilities(primitives=frozenset(PRIMITIVES) - {"sin"})

    class NoTransposeRefusal(ReferenceBackend):
        capabilities = Capabilities(refuses_nonlinear=False)

    cases = {c.name: c for c in CASES}
    for r in run_corpus_case(NoSin(), cases["sin_f64"]):
        assert r.status is Status.SKIP and "sin" in r.reason
    (r,) = run_corpus_case(NoSin(), cases["unknown_primitive"])  # its point, not a capability
    assert r.status is Status.PASS
    (r,) = run_corpus_case(NoTransposeRefusal(), cases["nonlinear_program_transposed"])
    assert r.status is Status.SKIP and "non-linear" in r.reason


def test_malformed_cases_raise_corpus_errors() -> None:
    wrong_type = _case(SQRT.replace("in f64[3]", "in f32[3]").format(tokens="2 * 1"))
    with pytest.raises(CorpusError, match=r"t\.lcase:5: case s: in lines have types f32\[3\]"):
        run_corpus_case(REFERENCE, wrong_type)
    unparsable = _case("case u\n| def f(x f64[]) -> f64[]:\n|     return x\nvalue\n"
                       "  in f64[] 0x1p+0\n")
    with pytest.raises(CorpusError, match="does not parse"):
        run_corpus_case(REFERENCE, unparsable)
    pending = _case(SQRT.split("  out")[0])
    (r,) = run_corpus_case(REFERENCE, pending)
    assert r.status is Status.FAIL and "regenerate" in r.reason


def test_results_carry_a_reproducer() -> None:
    c = next(c for c in CASES if c.name == "fan_out")
    for r, a in zip(run_corpus_case(REFERENCE, c), c.assertions):
        assert r.program.startswith("def fan_out(") and "mul" in r.primitives
        assert f"line {a.line}" in r.case and c.name in r.case and r.inputs
        assert r.compared > 0 and r.error is not None and r.error <= 1


def test_load_file_and_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lintra.conformance.corpus import main

    src = FILES[0]
    stale = tmp_path / src.name
    f = load_file(src)
    first = f.cases[0]
    a = first.assertions[0]
    broken = first.__class__(first.name, first.file, first.program,
                             (a.__class__(a.kind, a.inputs, a.tangents, a.cotangents, (),
                                          a.exact, a.mode, a.row, a.step, a.error, a.notes),
                              *first.assertions[1:]), first.notes)
    stale.write_text(print_corpus(f.__class__(f.path, f.notes, (broken, *f.cases[1:]))))
    assert main(["check", str(stale)]) == 1
    assert main(["regenerate", str(stale)]) == 0
    assert stale.read_text() == src.read_text()
    assert main(["check", str(stale)]) == 0
    assert main(["run", str(stale)]) == 0
    assert "pass" in capsys.readouterr().out
    # options before or after the paths
    assert main(["run", "--backend", "reference", str(stale)]) == 0
    assert main(["run", str(stale), "--backend", "reference"]) == 0
    assert capsys.readouterr().out.count("pass") == 2
