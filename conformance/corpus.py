"""The portable corpus: programs, inputs, expected values and expected errors as text (spec 7.7).

A corpus file (``.lcase``) is a list of cases; a case is one program followed by assertions
about it: its value, its JVP tangents, its VJP cotangents, the derivative a kink convention
assigns, or the error a request must raise. Inputs are exact (hex floats, integers, booleans);
expected values are decimal strings of the reference's mpmath truth, each with the absolute
bound of the suite's pass rule (:mod:`lintra.conformance.analysis`), and special values are
named classes (``nan``, ``inf``, ``-inf``) or ``*`` where no bound is meaningful. Nothing in a
file is typed by hand except programs, inputs, tangents and cotangents: ``python -m
lintra.conformance.corpus regenerate`` recomputes every expected line from the reference.

This module holds the format (:func:`parse_corpus`, :func:`print_corpus`, which round-trip),
:func:`load_corpus`, the runner :func:`run_corpus_case` (one :class:`CheckResult` per
assertion) and the generator (:func:`regenerate_file` and the command line).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np

from lintra.conformance.backend import Backend
from lintra.conformance.properties import (
    Case,
    Tally,
    finite_where_wrong,
    takes_one_sided_slopes,
)
from lintra.conformance.results import (
    CheckResult,
    Status,
    format_inputs,
    format_point,
    input_labels,
)
from lintra.reference.errors import (
    EvaluationError,
    LinearityError,
    LintraError,
    LintraTypeError,
    ParseError,
    ShapeError,
    UnsupportedPrimitiveError,
)
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.syntax import ArrayType, DType, Program

EXTENSION = ".lcase"
"""The suffix of corpus files."""

CASES_DIR = Path(__file__).resolve().parent / "cases"
"""The package's own corpus (installed as package data)."""

DPS = 40
"""Digits of the mpmath truth the expected values are computed at."""

TRUTH_DIGITS = 40
"""Significant digits of an expected value that is not written exactly."""

EXACT_DIGITS = 60
"""A truth whose exact decimal expansion has at most this many significant digits is
written exactly (the exact binary values of most floats of moderate exponent)."""

BOUND_DIGITS = 4
"""Significant digits of a written bound, rounded up."""

KINDS = ("value", "jvp", "vjp", "kink", "error")
"""Assertion kinds, in the order reports list them."""

CHECK_NAMES = {kind: f"corpus_{kind}" for kind in KINDS}
"""The ``check`` name of the :class:`CheckResult` of each kind of assertion."""

STEPS = ("parse", "check", "evaluate", "jvp", "pullback", "transpose")
"""Where an error assertion expects the refusal (spec 7.7, "Errors")."""

ERROR_CLASSES: dict[str, type[LintraError]] = {
    "parse": ParseError,
    "type": LintraTypeError,
    "shape": ShapeError,
    "linearity": LinearityError,
    "unsupported": UnsupportedPrimitiveError,
    "evaluation": EvaluationError,
}
"""The message-free error classes a file names, and the reference's class for each."""

MODES = ("jvp", "vjp")
"""The directions of a kink assertion."""

PARTS = ("in", "tangent", "cotangent", "out")
"""The lines of an assertion, in the order they must come."""

_ERROR_PARTS = {
    "parse": (), "check": ("in",), "evaluate": ("in",), "jvp": ("in", "tangent"),
    "pullback": ("in", "cotangent"), "transpose": ("in", "cotangent"),
}
_DERIVATIVE_PART = {"value": None, "jvp": "tangent", "vjp": "cotangent"}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_TYPE = re.compile(r"(f64|f32|i64|i32|bool)\[((?:\d+(?:,\d+)*)?)\]\Z")
_HEX = re.compile(r"-?0x[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?p[+-]?\d+\Z")
_INT = re.compile(r"-?\d+\Z")
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\Z")
_SPECIALS = ("nan", "inf", "-inf")

# --------------------------------------------------------------------------------------------
# The format as data


class CorpusError(Exception):
    """A corpus file that does not follow spec 7.7, or a case the reference contradicts;
    the message starts with ``file:line``."""


@dataclass(frozen=True)
class ArrayLiteral:
    """One line ``PART TYPE ELEMENT...``: an array given in row-major order.

    ``elements`` are the tokens as written: inputs (``in``, ``tangent``, ``cotangent``) are
    hex floats, ``inf``, ``-inf``, ``nan``, integers or ``true``/``false``; expected values
    (``out``) add ``D`` (exactly D), ``D~B`` (within B of D) and ``*`` (not asserted).
    """

    part: str
    dtype: DType
    shape: tuple[int, ...]
    elements: tuple[str, ...]

    @property
    def type(self) -> ArrayType:
        return ArrayType(self.dtype, self.shape)

    def text(self) -> str:
        dims = ",".join(map(str, self.shape))
        return " ".join((self.part, f"{self.dtype.value}[{dims}]", *self.elements))

    def array(self) -> np.ndarray:
        """The input as a NumPy array of its dtype (inputs only)."""
        values = [_input_value(t, self.dtype) for t in self.elements]
        return np.array(values, dtype=self.dtype.numpy).reshape(self.shape)


@dataclass(frozen=True)
class Assertion:
    """One assertion about a case's program (spec 7.7 gives each kind's meaning).

    ``kind`` is one of :data:`KINDS`. ``exact``: the expected values are exact (always for
    ``kink``). ``mode`` (kink): ``jvp`` or ``vjp``. ``row`` (kink): the chapter-6 row, as
    the name in its first column and its point, backticks removed. ``step`` and ``error``
    (error): where the refusal is expected and the class expected.
    """

    kind: str
    inputs: tuple[ArrayLiteral, ...] = ()
    tangents: tuple[ArrayLiteral, ...] = ()
    cotangents: tuple[ArrayLiteral, ...] = ()
    expected: tuple[ArrayLiteral, ...] = ()
    exact: bool = False
    mode: str = ""
    row: tuple[str, str] = ("", "")
    step: str = ""
    error: str = ""
    notes: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    @property
    def check_name(self) -> str:
        return CHECK_NAMES[self.kind]

    @property
    def direction(self) -> str:
        """``value``, ``jvp`` or ``vjp``: what is computed (a kink's mode)."""
        return self.mode if self.kind == "kink" else self.kind

    def header(self) -> str:
        if self.kind == "kink":
            return f"kink {self.mode} {self.row[0]} at {self.row[1]}"
        if self.kind == "error":
            return f"error {self.step} {self.error}"
        return self.kind + (" exact" if self.exact else "")

    def parts(self) -> tuple[ArrayLiteral, ...]:
        return (*self.inputs, *self.tangents, *self.cotangents, *self.expected)


@dataclass(frozen=True)
class CorpusCase:
    """A named program (the text after ``|``) and the assertions about it."""

    name: str
    file: str
    program: str
    assertions: tuple[Assertion, ...]
    notes: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class CorpusFile:
    """A parsed corpus file: its leading comment lines and its cases."""

    path: str
    notes: tuple[str, ...]
    cases: tuple[CorpusCase, ...]


# --------------------------------------------------------------------------------------------
# Parsing


def _input_value(token: str, dtype: DType) -> object:
    if dtype.is_float:
        return float(token) if token in _SPECIALS else float.fromhex(token)
    if dtype is DType.bool:
        return token == "true"
    return int(token)


def _check_input_token(token: str, dtype: DType) -> str | None:
    """Why ``token`` is not an input element of ``dtype``, or None."""
    if dtype.is_float:
        if token in _SPECIALS:
            return None
        if not _HEX.match(token):
            return f"expected a hex float (like {1.5.hex()}), inf, -inf or nan, found {token!r}"
        value = float.fromhex(token)
        if dtype is DType.f32 and float(np.float32(value)) != value:
            return f"{token} is not an f32 value"
        return None
    if dtype is DType.bool:
        return None if token in ("true", "false") else f"expected true or false, found {token!r}"
    if not _INT.match(token):
        return f"expected an integer, found {token!r}"
    info = np.iinfo(dtype.numpy)
    if not info.min <= int(token) <= info.max:
        return f"{token} is out of the range of {dtype.value}"
    return None


def _check_expected_token(token: str, dtype: DType) -> str | None:
    """Why ``token`` is not an expected element of ``dtype``, or None."""
    if token == "*":
        return None
    if dtype.is_float:
        if token in _SPECIALS:
            return None
        value, sep, bound = token.partition("~")
        if not _DECIMAL.match(value) or (sep and not _DECIMAL.match(bound)):
            return f"expected D, D~B, nan, inf, -inf or *, found {token!r}"
        if sep and bound.startswith("-"):
            return f"a bound is not negative: {token!r}"
        return None
    return _check_input_token(token, dtype)


def _array_literal(part: str, words: list[str], where: str) -> ArrayLiteral:
    if not words:
        raise CorpusError(f"{where}: '{part}' needs a type like f64[3]")
    m = _TYPE.match(words[0])
    if not m:
        raise CorpusError(f"{where}: expected a type like f64[2,3] (no spaces), found "
                          f"{words[0]!r}")
    dtype = DType(m.group(1))
    shape = tuple(int(d) for d in m.group(2).split(",")) if m.group(2) else ()
    elements = tuple(words[1:])
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(elements) != size:
        raise CorpusError(f"{where}: {words[0]} holds {size} element{'s' * (size != 1)}, "
                          f"found {len(elements)}")
    check = _check_expected_token if part == "out" else _check_input_token
    for token in elements:
        problem = check(token, dtype)
        if problem:
            raise CorpusError(f"{where}: {problem}")
    return ArrayLiteral(part, dtype, shape, elements)


def _header(words: list[str], rest: str, where: str) -> Assertion:
    kind = words[0]
    if kind in ("value", "jvp", "vjp"):
        if words[1:] not in ([], ["exact"]):
            raise CorpusError(f"{where}: expected '{kind}' or '{kind} exact', found {rest!r}")
        return Assertion(kind, exact=len(words) == 2)
    if kind == "kink":
        m = re.fullmatch(r"kink\s+(\S+)\s+(.+?)\s+at\s+(.+)", rest)
        if not m or m.group(1) not in MODES:
            raise CorpusError(f"{where}: expected 'kink jvp|vjp NAME at POINT', found {rest!r}")
        return Assertion("kink", exact=True, mode=m.group(1), row=(m.group(2), m.group(3)))
    if len(words) != 3 or words[1] not in STEPS or words[2] not in ERROR_CLASSES:
        raise CorpusError(f"{where}: expected 'error STEP CLASS' with STEP one of "
                          f"{', '.join(STEPS)} and CLASS one of {', '.join(ERROR_CLASSES)}, "
                          f"found {rest!r}")
    return Assertion("error", step=words[1], error=words[2])


def allowed_parts(a: Assertion) -> tuple[str, ...]:
    """The part lines assertion ``a`` takes, in order (spec 7.7)."""
    if a.kind == "error":
        return _ERROR_PARTS[a.step]
    derivative = _DERIVATIVE_PART[a.direction]
    return ("in", *((derivative,) if derivative else ()), "out")


def _attach(a: Assertion, part: ArrayLiteral, where: str) -> Assertion:
    allowed = allowed_parts(a)
    if part.part not in allowed:
        raise CorpusError(f"{where}: '{a.header()}' takes no '{part.part}' line (it takes "
                          f"{', '.join(allowed) or 'none'})")
    order = PARTS.index(part.part)
    last = max((PARTS.index(p.part) for p in a.parts()), default=-1)
    if order < last:
        raise CorpusError(f"{where}: '{part.part}' lines come before "
                          f"'{PARTS[last]}' lines")
    field_name = {"in": "inputs", "tangent": "tangents", "cotangent": "cotangents",
                  "out": "expected"}[part.part]
    return replace(a, **{field_name: (*getattr(a, field_name), part)})


def parse_corpus(text: str, path: str = "<corpus>") -> CorpusFile:
    """Parse the text of a corpus file (spec 7.7); errors name ``path:line``."""
    file_notes: list[str] = []
    notes: list[str] = []
    cases: list[CorpusCase] = []
    case: CorpusCase | None = None
    program: list[str] = []
    assertion: Assertion | None = None
    names: set[str] = set()

    def close_assertion() -> None:
        nonlocal assertion, case
        if assertion is not None and case is not None:
            case = replace(case, assertions=(*case.assertions, assertion))
        assertion = None

    def close_case() -> None:
        nonlocal case
        close_assertion()
        if case is not None:
            if not case.program:
                raise CorpusError(f"{case.where}: case {case.name} has no program lines "
                                  "('| ...')")
            if not case.assertions:
                raise CorpusError(f"{case.where}: case {case.name} has no assertion")
            cases.append(case)
        case = None

    header = True  # until the first blank line or case: leading comments are the file's
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{path}:{number}"
        line = raw.strip()
        if not line:
            if header and notes:
                file_notes, notes = notes, []
            header = False
            continue
        if line.startswith("#"):
            note = line[1:]
            notes.append(note[1:] if note[:1] == " " else note)
            continue
        header = False
        if line.startswith("|"):
            if case is None or case.assertions or assertion is not None or notes:
                raise CorpusError(f"{where}: program lines ('|') follow a 'case' line")
            body = raw.lstrip()[1:]
            program.append(body[1:] if body[:1] == " " else body)
            case = replace(case, program="\n".join(program) + "\n")
            continue
        words = line.split()
        if words[0] == "case":
            close_case()
            if len(words) != 2 or not _NAME.match(words[1]):
                raise CorpusError(f"{where}: expected 'case NAME', found {line!r}")
            if words[1] in names:
                raise CorpusError(f"{where}: a second case named {words[1]}")
            names.add(words[1])
            case = CorpusCase(words[1], path, "", (), tuple(notes), line=number)
            notes, program = [], []
            continue
        if words[0] in KINDS:
            if case is None:
                raise CorpusError(f"{where}: an assertion outside a case")
            close_assertion()
            assertion = replace(_header(words, line, where), notes=tuple(notes), line=number)
            notes = []
            continue
        if words[0] in PARTS:
            if assertion is None:
                raise CorpusError(f"{where}: '{words[0]}' line outside an assertion")
            if notes:
                raise CorpusError(f"{where}: a comment goes before a case or an assertion")
            assertion = _attach(assertion, _array_literal(words[0], words[1:], where), where)
            continue
        raise CorpusError(f"{where}: expected case, an assertion ({', '.join(KINDS)}), a part "
                          f"({', '.join(PARTS)}), '|' or '#', found {words[0]!r}")
    if notes and (cases or case):
        raise CorpusError(f"{path}: comments at the end of the file belong to no case")
    if notes:  # a file of comments only
        file_notes, notes = [*file_notes, *notes], []
    close_case()
    return CorpusFile(path, tuple(file_notes), tuple(cases))


def _comment(note: str) -> str:
    return "#" + (" " + note if note else "")


def print_corpus(cf: CorpusFile) -> str:
    """The canonical text of a corpus file; ``parse_corpus(print_corpus(f)) == f``."""
    out: list[str] = [_comment(n) for n in cf.notes]
    for k, case in enumerate(cf.cases):
        if k or cf.notes:
            out.append("")
        out.extend(_comment(n) for n in case.notes)
        out.append(f"case {case.name}")
        out.extend(("| " + t) if t else "|" for t in case.program.rstrip("\n").split("\n"))
        for a in case.assertions:
            out.extend(_comment(n) for n in a.notes)
            out.append(a.header())
            out.extend("  " + p.text() for p in a.parts())
    return "\n".join(out) + "\n"


def corpus_files(path: str | Path | None = None) -> list[Path]:
    """The corpus files at ``path``: a file, or every ``.lcase`` file under a folder (default:
    the package's own), sorted."""
    root = Path(path) if path is not None else CASES_DIR
    if root.is_file():
        return [root]
    return sorted(root.rglob("*" + EXTENSION))


def load_file(path: str | Path) -> CorpusFile:
    return parse_corpus(Path(path).read_text(encoding="utf-8"), str(path))


def load_corpus(path: str | Path | None = None) -> list[CorpusCase]:
    """Every case of the corpus at ``path`` (default: the package's ``cases/`` folder), in
    file order; case names are unique across the corpus."""
    out: list[CorpusCase] = []
    seen: dict[str, str] = {}
    for f in corpus_files(path):
        for case in load_file(f).cases:
            if case.name in seen:
                raise CorpusError(f"{case.where}: case {case.name} is also defined at "
                                  f"{seen[case.name]}")
            seen[case.name] = case.where
            out.append(case)
    return out


# --------------------------------------------------------------------------------------------
# Programs and inputs of a case


def case_program(case: CorpusCase) -> Program:
    """The program a case runs: its only def, or its last def with calls inlined (spec
    1.4). Raises the reference's :class:`ParseError` (or a check error while inlining)."""
    from lintra.reference.inline import inline_calls
    from lintra.reference.parse import parse

    module = parse(case.program)
    name = list(module)[-1]
    return module[name] if len(module) == 1 else inline_calls(module, name)


def _arrays(lits: Sequence[ArrayLiteral]) -> tuple[np.ndarray, ...]:
    return tuple(lit.array() for lit in lits)


def float_input_types(program: Program) -> list[ArrayType]:
    return [b.type.array for b in program.inputs if b.type is not None
            and b.type.array.dtype.is_float]


def float_result_types(program: Program) -> list[ArrayType]:
    return [t.array for t in program.result_types if t.array.dtype.is_float]


def expected_types(program: Program, a: Assertion) -> list[ArrayType]:
    """The types of what assertion ``a`` compares: the results (value), the float results
    (jvp) or the float inputs (vjp)."""
    return {"value": [t.array for t in program.result_types],
            "jvp": float_result_types(program),
            "vjp": float_input_types(program)}[a.direction]


def _validate(case: CorpusCase, a: Assertion, program: Program) -> None:
    """The part lines of a value, jvp, vjp or kink assertion have exactly the types the
    program asks for (an error assertion may give wrong ones on purpose)."""
    where = f"{case.file}:{a.line}"

    def same(what: str, lits: Sequence[ArrayLiteral], types: Sequence[ArrayType]) -> None:
        got = [lit.type for lit in lits]
        if got != list(types):
            raise CorpusError(f"{where}: case {case.name}: {what} lines have types "
                              f"{', '.join(map(str, got)) or 'none'}, the program asks for "
                              f"{', '.join(map(str, types)) or 'none'}")

    same("in", a.inputs, [b.type.array for b in program.inputs])  # type: ignore[union-attr]
    if a.direction == "jvp":
        same("tangent", a.tangents, float_input_types(program))
    if a.direction == "vjp":
        same("cotangent", a.cotangents, float_result_types(program))
    if a.expected:
        same("out", a.expected, expected_types(program, a))


# --------------------------------------------------------------------------------------------
# Comparing a backend's arrays with the expected lines


def _exact_value(x: object) -> Fraction | None:
    """A finite float as an exact fraction; None for nan and infinities."""
    v = float(x)  # type: ignore[arg-type]
    return Fraction(v) if np.isfinite(v) else None


def _class_of(x: float) -> str:
    return "nan" if x != x else ("inf" if x > 0 else "-inf") if np.isinf(x) else "finite"


def _ulp(value: Fraction, dtype: DType) -> Fraction:
    """The spacing of ``dtype``'s floats at ``value`` (at the largest finite float beyond it;
    the smallest subnormal at 0)."""
    t = dtype.numpy.type
    info = np.finfo(dtype.numpy)
    with np.errstate(over="ignore"):
        rounded = min(abs(t(float(value))), info.max)
    if rounded == 0:
        return Fraction(float(info.smallest_subnormal))
    return Fraction(float(info.max - np.nextafter(info.max, t(0)))) if rounded == info.max \
        else Fraction(float(np.spacing(rounded)))


def _ratio(a: Fraction, b: Fraction) -> float:
    """``a / b`` as a float (``b > 0``), inf where that overflows."""
    try:
        return float(a / b)
    except OverflowError:
        return float("inf")


def _compare_element(tally: Tally, got: object, token: str, dtype: DType, label: str) -> None:
    if token == "*":
        tally.unreliable += 1
        return
    tally.compared += 1
    if not dtype.is_float:
        want = _input_value(token, dtype)
        if got != want:
            tally.fail(f"{label}: expected {token}, got {got}", element=label, got=got,
                       expected=token)
        return
    g = float(got)  # type: ignore[arg-type]
    if token in _SPECIALS:
        if _class_of(g) != token:
            tally.fail(f"{label}: expected {token}, got {g!r}", element=label, got=g,
                       expected=token)
        return
    value, sep, bound_text = token.partition("~")
    want = Fraction(Decimal(value))
    bound = Fraction(Decimal(bound_text)) if sep else Fraction(0)
    exact = _exact_value(g)
    err = abs(exact - want) if exact is not None else None
    ulps = None if err is None else _ratio(err, _ulp(want, dtype))
    if err is None or err > bound:
        tally.fail(f"{label}: got {g!r}, expected {value}"
                   + (f" within {bound_text}" if sep else " exactly")
                   + ("" if err is None else f" (off by {_ratio(err, Fraction(1)):.3g}, "
                      f"{ulps:.3g} ulp)"), element=label, got=g, expected=value)
    if err is not None:
        ratio = _ratio(err, bound) if bound else (0.0 if err == 0 else float("inf"))
        tally.worst = max(tally.worst, ratio)
        tally.worst_ulps = max(tally.worst_ulps, ulps)  # type: ignore[type-var]


def _compare(tally: Tally, got: Sequence[object], expected: Sequence[ArrayLiteral],
             what: str) -> None:
    got = list(got)
    if len(got) != len(expected):
        tally.fail(f"{what}: expected {len(expected)} arrays, got {len(got)}")
        return
    for k, (g, lit) in enumerate(zip(got, expected)):
        arr = np.asarray(g)
        label = f"{what} {k + 1}"
        if tally.refuses_layout(arr, lit.type, label):
            continue
        flat = arr.reshape(-1)
        for i, token in enumerate(lit.elements):
            index = np.unravel_index(i, lit.shape) if lit.shape else ()
            _compare_element(tally, flat[i], token, lit.dtype,
                             f"{label}[{', '.join(map(str, index))}]")


# --------------------------------------------------------------------------------------------
# Running a case


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def run_corpus_case(backend: Backend, case: CorpusCase) -> list[CheckResult]:
    """Run every assertion of ``case`` on ``backend``: one result per assertion, in order.

    An assertion passes when the backend's arrays match the expected lines (spec 7.7); an
    error assertion passes when the backend raises any exception at the step named (a
    Python backend cannot be asked for lintra's class names: the class it raised is reported,
    for information). A program the backend's ``capabilities`` exclude is skipped with the
    reason; a parse-error assertion is skipped for backends without a ``parse`` method.
    Raises :class:`CorpusError` for a malformed case (never a backend's fault).
    """
    program: Program | None = None
    parse_failure: LintraError | None = None
    try:
        program = case_program(case)
    except LintraError as exc:
        parse_failure = exc
    text = str(program) if program is not None else case.program
    primitives = tuple(sorted({e.primitive for e in program.equations})) if program else ()
    results = []
    for a in case.assertions:
        def result(status: Status, reason: str = "", tally: Tally | None = None,
                   a: Assertion = a) -> CheckResult:
            kw: dict[str, object] = {}
            if tally is not None:
                kw = {"error": tally.worst, "ulps": tally.worst_ulps,
                      "compared": tally.compared, "unreliable": tally.unreliable,
                      "element": tally.element, "got": tally.got, "expected": tally.expected}
            if status is Status.CONVENTION:
                kw.update(convention=True, point=format_point([x.array() for x in a.inputs]))
            arrays = [lit.array() for lit in (*a.inputs, *a.tangents, *a.cotangents)]
            labels = None
            if program is not None:
                labels = input_labels(
                    [b.name for b in program.inputs],
                    [b.name for b in program.inputs if b.type.array.dtype.is_float],
                    len(a.cotangents))
            return CheckResult(check=a.check_name, status=status, reason=reason,
                               program=text, inputs=format_inputs(arrays, labels),
                               primitives=primitives, item=f"corpus::{case.name}",
                               case=f"corpus {case.where} {case.name} ({a.header()}, "
                                    f"line {a.line})", **kw)  # type: ignore[arg-type]

        if a.kind == "error" and a.step == "parse":
            results.append(_run_parse_error(backend, case, a, result))
            continue
        if program is None:
            raise CorpusError(f"{case.where}: case {case.name} does not parse: {parse_failure}")
        reason = _unsupported(backend, program, a)
        if reason:
            results.append(result(Status.SKIP, reason))
            continue
        if a.kind == "error":
            results.append(_run_error(backend, case, a, program, result))
        else:
            results.append(_run_values(backend, case, a, program, result))
    return results


Make = Callable[..., CheckResult]


def _unsupported(backend: Backend, program: Program, a: Assertion) -> str | None:
    """Why the backend's capabilities exclude this assertion's program, or None. An error
    assertion's unknown primitives are its point, not a capability."""
    if a.kind == "error":
        known = tuple(e for e in program.equations if e.primitive in PRIMITIVES)
        program = replace(program, equations=known)
        if a.step == "transpose" and not backend.capabilities.refuses_nonlinear:
            return "backend declares that its transpose cannot refuse non-linear programs"
    return backend.capabilities.unsupported(program)


def _run_values(backend: Backend, case: CorpusCase, a: Assertion, program: Program,
                result: Make) -> CheckResult:
    _validate(case, a, program)
    if not a.expected:
        return result(Status.FAIL, f"{case.file}:{a.line}: no expected values: run "
                      "python -m lintra.conformance.corpus regenerate")
    primals = _arrays(a.inputs)
    tally = Tally()
    try:
        if a.direction == "value":
            got = backend.evaluate(program, primals)
        elif a.direction == "jvp":
            _, got = backend.jvp(program, primals, _arrays(a.tangents))
        else:
            _, pullback = backend.vjp(program, primals)
            got = pullback(*_arrays(a.cotangents))
    except Exception as exc:  # the backend under test raised: that is the finding
        return result(Status.FAIL, f"backend raised {type(exc).__name__}: {_first_line(exc)}")
    what = {"value": "result", "jvp": "tangent", "vjp": "cotangent"}[a.direction]
    _compare(tally, got, a.expected, what)
    if tally.failure and a.kind == "kink" and _another_convention(program, a, got):
        return result(Status.CONVENTION, "the backend's derivative at this kink is another "
                      "convention (one-sided, spec 7.4): " + tally.failure, tally)
    if tally.failure:
        return result(Status.FAIL, tally.failure, tally)
    if tally.compared == 0 and tally.unreliable:
        return result(Status.SKIP, "no element is asserted (every one is '*')", tally)
    return result(Status.PASS, "", tally)


def _refusal(exc: BaseException, a: Assertion, step: str) -> str:
    expected = ERROR_CLASSES[a.error].__name__
    name = type(exc).__name__
    note = "the expected class" if name == expected else f"expected class {a.error} " \
        f"({expected}); informative only"
    return f"refused at {step}: {name} ({note}): {_first_line(exc)}"


def _run_parse_error(backend: Backend, case: CorpusCase, a: Assertion,
                     result: Make) -> CheckResult:
    parse = getattr(backend, "parse", None)
    if parse is None:
        return result(Status.SKIP, "backend takes Program objects and has no parse method")
    try:
        parse(case.program)
    except Exception as exc:  # any refusal counts
        return result(Status.PASS, _refusal(exc, a, "parse"))
    return result(Status.FAIL, "the program text was accepted by the backend's parse")


def _another_convention(program: Program, a: Assertion, got: Sequence[object]) -> bool:
    """Whether a kink assertion's differing answer is still a derivative some convention
    gives at the kink, by the rules of the generated cases (spec 7.4): tangents equal to a
    one-sided slope along the tangent (or their mean), input cotangents finite where the
    spec's are."""
    got = list(got)
    case = Case(program, _arrays(a.inputs), _arrays(a.tangents), _arrays(a.cotangents))
    if len(got) != (len(case.float_results) if a.mode == "jvp" else len(case.float_inputs)):
        return False
    if a.mode == "jvp":
        return takes_one_sided_slopes(case, got, judge_unreliable=True)
    return finite_where_wrong(got, case.vjp(), judge_unreliable=True)


def _run_error(backend: Backend, case: CorpusCase, a: Assertion, program: Program,
               result: Make) -> CheckResult:
    primals = _arrays(a.inputs)
    step = a.step
    try:
        if step in ("check", "evaluate"):
            backend.evaluate(program, primals)
        elif step == "jvp":
            backend.jvp(program, primals, _arrays(a.tangents))
        elif step == "pullback":
            try:
                _, pullback = backend.vjp(program, primals)
            except Exception as exc:
                return result(Status.FAIL, f"raised at vjp, before the pullback was applied: "
                              f"{type(exc).__name__}: {_first_line(exc)}")
            pullback(*_arrays(a.cotangents))
        else:  # transpose: building the map, transposing it or applying the transpose
            backend.transpose(backend.linear_map(program, primals))(*_arrays(a.cotangents))
    except Exception as exc:  # any refusal counts: Python backends raise their own classes
        return result(Status.PASS, _refusal(exc, a, step))
    return result(Status.FAIL, f"expected a refusal at {step} (class {a.error}), the backend "
                  "returned normally")


# --------------------------------------------------------------------------------------------
# Generating the expected lines from the reference


def _fraction(x: object) -> Fraction:
    """An mpf (any context) or float as an exact fraction (finite values only)."""
    if isinstance(x, (float, int, np.floating, np.integer)):
        return Fraction(float(x)) if not isinstance(x, (int, np.integer)) else Fraction(int(x))
    sign, man, exp, _ = x._mpf_  # type: ignore[attr-defined]
    value = Fraction(man) * (Fraction(2) ** exp)
    return -value if sign else value


def _exact_decimal(q: Fraction) -> Decimal:
    """The exact decimal of a dyadic fraction."""
    k = 0
    den = q.denominator
    while den > 1:
        if den % 2:
            raise ValueError(f"{q} is not dyadic")
        den //= 2
        k += 1
    num = q.numerator * 5**k
    sign = 1 if num < 0 else 0
    return Decimal((sign, tuple(int(c) for c in str(abs(num))), -k))


def format_decimal(d: Decimal) -> str:
    """``d`` with trailing zeros removed: positional for exponents in [-6, 20], else
    ``d.ddde±x`` (lower case, no plus sign)."""
    if d == 0:
        return "0"
    sign, digits, exponent = d.as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = int(exponent) + len(digits) - len(text)  # digits dropped from the right
    adjusted = exponent + len(text) - 1
    minus = "-" if sign else ""
    if -6 <= adjusted <= 20:
        if exponent >= 0:
            return minus + text + "0" * exponent
        point = len(text) + exponent
        if point > 0:
            return minus + text[:point] + "." + text[point:]
        return minus + "0." + "0" * (-point) + text
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{minus}{mantissa}e{adjusted}"


def _significant(d: Decimal) -> int:
    return len("".join(map(str, d.as_tuple().digits)).strip("0")) or 1


def _round_up(q: Fraction) -> Decimal:
    """``q >= 0`` rounded up to :data:`BOUND_DIGITS` significant digits."""
    if q == 0:
        return Decimal(0)
    ctx = Context(prec=BOUND_DIGITS, rounding=ROUND_CEILING)
    return ctx.divide(Decimal(q.numerator), Decimal(q.denominator))


def decimal_and_error(y: object) -> tuple[Decimal, Fraction]:
    """The decimal written for a finite truth ``y`` and its distance from ``y``: exact when
    its expansion is short (:data:`EXACT_DIGITS`), else rounded to :data:`TRUTH_DIGITS`."""
    q = _fraction(y)
    exact = _exact_decimal(q)
    if _significant(exact) <= EXACT_DIGITS:
        return exact, Fraction(0)
    rounded = Context(prec=TRUTH_DIGITS, rounding=ROUND_HALF_EVEN).plus(exact)
    return rounded, abs(Fraction(rounded) - q)


def _is_nan(y: object) -> bool:
    return bool(mpmath.isnan(y))


def _bounded_token(y: object, bound: object, reliable: bool, t: ArrayType) -> str:
    from lintra.conformance.analysis import overflow_threshold

    if not reliable:
        return "*"
    if t.dtype is DType.bool:
        return "true" if bool(y) else "false"
    if t.dtype.is_int:
        return str(int(y))  # type: ignore[call-overload]
    if _is_nan(y):
        return "nan"
    if mpmath.isinf(y) or abs(y) >= overflow_threshold(t.dtype):  # type: ignore[operator]
        return "inf" if y > 0 else "-inf"  # type: ignore[operator]
    d, err = decimal_and_error(y)
    return f"{format_decimal(d)}~{format_decimal(_round_up(_fraction(bound) + err))}"


def _exact_token(y: object, got: object, t: ArrayType, where: str) -> str:
    """The exact expected value ``y`` (the mpmath truth), which the float64 reference
    (``got``) must give exactly too."""
    if t.dtype is DType.bool or t.dtype.is_int:
        token = ("true" if bool(y) else "false") if t.dtype is DType.bool else str(int(y))
        if got != _input_value(token, t.dtype):
            raise CorpusError(f"{where}: the float64 reference gives {got}, mpmath {token}")
        return token
    from lintra.conformance.analysis import overflow_threshold

    g = float(got)  # type: ignore[arg-type]
    if _is_nan(y) or mpmath.isinf(y) or abs(y) >= overflow_threshold(t.dtype):  # type: ignore
        token = "nan" if _is_nan(y) else ("inf" if y > 0 else "-inf")  # type: ignore[operator]
        if _class_of(g) != token:
            raise CorpusError(f"{where}: the float64 reference gives {g!r}, mpmath {token}")
        return token
    q = _fraction(y)
    if Fraction(float(t.dtype.numpy.type(float(q)))) != q:
        raise CorpusError(f"{where}: an exact assertion needs a truth representable in "
                          f"{t.dtype.value}; {mpmath.nstr(y, 20)} is not (choose dyadic inputs)")
    if _exact_value(g) != q:
        raise CorpusError(f"{where}: the float64 reference gives {g!r}, mpmath "
                          f"{format_decimal(_exact_decimal(q))}")
    return format_decimal(_exact_decimal(q))


def _reference_arrays(program: Program, a: Assertion, dps: int | None) -> tuple:
    """What the reference computes for assertion ``a`` in one domain."""
    from lintra.reference import evaluate, jvp, vjp

    primals = _arrays(a.inputs)
    if a.direction == "value":
        return tuple(evaluate(program, *primals, dps=dps))
    if a.direction == "jvp":
        return tuple(jvp(program, primals, _arrays(a.tangents), dps=dps)[1])
    _, pullback = vjp(program, *primals, dps=dps)
    return tuple(pullback(*_arrays(a.cotangents)))


def _bounds(program: Program, a: Assertion) -> object:
    from lintra.conformance import analysis

    primals = _arrays(a.inputs)
    if a.direction == "value":
        return analysis.value_bounds(program, primals, DPS)
    if a.direction == "jvp":
        return analysis.jvp_bounds(program, primals, _arrays(a.tangents), DPS)
    return analysis.vjp_bounds(program, primals, _arrays(a.cotangents), DPS)


def expected_lines(case: CorpusCase, a: Assertion, program: Program) -> tuple[ArrayLiteral, ...]:
    """The ``out`` lines of a value, jvp, vjp or kink assertion, from the reference: the
    mpmath truth at :data:`DPS` digits with the analysis's bound (bounded assertions), or
    exactly (exact assertions, which the float64 reference must meet exactly too)."""
    where = f"{case.file}:{a.line}: case {case.name}"
    types = expected_types(program, a)
    truth = _reference_arrays(program, a, DPS)
    if len(truth) != len(types):
        raise CorpusError(f"{where}: the reference gives {len(truth)} arrays for "
                          f"{len(types)} types")
    lines = []
    if a.exact:
        floats = _reference_arrays(program, a, None)
        for k, t in enumerate(types):
            y, g = np.asarray(truth[k], dtype=object), np.asarray(floats[k])
            tokens = [_exact_token(y[i], g[i], t, f"{where}, out {k + 1}{list(i)}")
                      for i in np.ndindex(t.shape)]
            lines.append(ArrayLiteral("out", t.dtype, t.shape, tuple(tokens)))
        return tuple(lines)
    bounds = _bounds(program, a)
    for k, t in enumerate(types):
        y = np.asarray(truth[k], dtype=object)
        analysed = np.asarray(bounds.truth[k], dtype=object)  # type: ignore[attr-defined]
        bound = np.asarray(bounds.bound[k], dtype=object)  # type: ignore[attr-defined]
        reliable = np.asarray(bounds.reliable[k])  # type: ignore[attr-defined]
        tokens = []
        for i in np.ndindex(t.shape):
            # the analysis's truth is the settled one (spec 7.3: it may have needed more
            # digits than DPS); the reference at DPS must at least agree on its class
            if reliable[i] and not _same_class(y[i], analysed[i]):
                raise CorpusError(f"{where}: the analysis analysed another truth at out "
                                  f"{k + 1}{list(i)}: {analysed[i]} against {y[i]}")
            tokens.append(_bounded_token(analysed[i], bound[i], bool(reliable[i]), t))
        lines.append(ArrayLiteral("out", t.dtype, t.shape, tuple(tokens)))
    return tuple(lines)


def _same_class(a: object, b: object) -> bool:
    """Equal booleans or integers; for floats, the same class (nan, ±inf, finite)."""
    if isinstance(a, (bool, np.bool_, int, np.integer)):
        return _same_number(a, b)
    from lintra.conformance.analysis import value_class

    return value_class(a) == value_class(b)


def _same_number(a: object, b: object) -> bool:
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if _is_nan(a) or _is_nan(b):
        return _is_nan(a) and _is_nan(b)
    return bool(a == b)


def verify_error(case: CorpusCase, a: Assertion) -> None:
    """The reference refuses the request exactly at the step named, with exactly the class
    named; raises :class:`CorpusError` otherwise."""
    from lintra.conformance.backends.reference import ReferenceBackend
    from lintra.reference import check, evaluate, jvp, vjp

    where = f"{case.file}:{a.line}: case {case.name}"
    expected = ERROR_CLASSES[a.error]
    step = "parse"
    try:
        program = case_program(case)
        if a.step != "transpose":  # transposition checks first (rule T-Check)
            step = "check"
            check(program)
        primals = _arrays(a.inputs)
        step = "evaluate" if a.step == "check" else a.step  # where it fails, if not at check
        if step == "evaluate":
            evaluate(program, *primals)
        elif step == "jvp":
            jvp(program, primals, _arrays(a.tangents))
        elif step == "pullback":
            step = "vjp"
            _, pullback = vjp(program, *primals)
            step = "pullback"
            pullback(*_arrays(a.cotangents))
        elif step == "transpose":
            backend = ReferenceBackend()
            backend.transpose(backend.linear_map(program, primals))(*_arrays(a.cotangents))
    except LintraError as exc:
        if step != a.step or type(exc) is not expected:
            raise CorpusError(f"{where}: the reference raises {type(exc).__name__} at {step}, "
                              f"the assertion expects {expected.__name__} at {a.step}:\n"
                              f"{exc}") from None
        return
    raise CorpusError(f"{where}: the reference raises nothing; the assertion expects "
                      f"{expected.__name__} at {a.step}")


def regenerate_case(case: CorpusCase) -> CorpusCase:
    """``case`` with every ``out`` line recomputed from the reference, and every error
    assertion verified against it."""
    assertions = []
    program: Program | None = None
    for a in case.assertions:
        if a.kind == "error":
            verify_error(case, a)
            assertions.append(a)
            continue
        if program is None:
            program = case_program(case)
        _validate(case, replace(a, expected=()), program)
        assertions.append(replace(a, expected=expected_lines(case, a, program)))
    return replace(case, assertions=tuple(assertions))


def regenerate_file(cf: CorpusFile) -> CorpusFile:
    return replace(cf, cases=tuple(regenerate_case(c) for c in cf.cases))


def literal(part: str, value: object) -> ArrayLiteral:
    """An input, tangent or cotangent line for ``value`` (floats as exact hex)."""
    a = np.asarray(value)
    dtype = next(d for d in DType if d.numpy == a.dtype)
    tokens = []
    for x in a.reshape(-1):
        if a.dtype.kind == "f":
            v = float(x)
            tokens.append(repr(v) if v != v or v in (float("inf"), float("-inf"))
                          else v.hex())
        elif a.dtype.kind == "b":
            tokens.append("true" if x else "false")
        else:
            tokens.append(str(int(x)))
    return ArrayLiteral(part, dtype, tuple(a.shape), tuple(tokens))


def reproducer(name: str, program: Program, primals: Sequence[object],
               tangents: Sequence[object], cotangents: Sequence[object], note: str = ""
               ) -> str:
    """A standalone corpus file that reproduces a generated case: the program, its value,
    and (for programs with float inputs and results) its JVP and VJP, with expected lines
    derived from the reference like every corpus file (7.7.6)."""
    ins = tuple(literal("in", x) for x in primals)
    assertions = [Assertion("value", inputs=ins)]
    if tangents and cotangents:
        assertions.append(Assertion("jvp", inputs=ins,
                                    tangents=tuple(literal("tangent", t) for t in tangents)))
        assertions.append(Assertion("vjp", inputs=ins, cotangents=tuple(
            literal("cotangent", c) for c in cotangents)))
    case = CorpusCase(name, "<reproducer>", str(program), tuple(assertions),
                      notes=(note,) if note else ())
    cf = CorpusFile("<reproducer>", (), (regenerate_case(case),))
    return print_corpus(cf)


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: Iterable[str] | None = None) -> int:
    """``regenerate`` rewrites the expected lines of corpus files from the reference;
    ``check`` reports files whose expected lines differ from a regeneration (exit 1);
    ``run`` runs the corpus against a backend (exit 1 on a failure)."""
    parser = argparse.ArgumentParser(prog="python -m lintra.conformance.corpus",
                                     description=main.__doc__)
    parser.add_argument("command", choices=("regenerate", "check", "run"))
    parser.add_argument("paths", nargs="*", help="corpus files or folders (default: the "
                        "package's cases/)")
    parser.add_argument("--backend", default="reference", help="for run: a backend name or "
                        "package.module:factory")
    # options and paths in any order: `run --backend X FILE` as well as `run FILE --backend X`
    args = parser.parse_intermixed_args(list(argv) if argv is not None else None)
    files = [f for p in (args.paths or [None]) for f in corpus_files(p)]
    if args.command == "run":
        from lintra.conformance.backend import load_backend

        backend = load_backend(args.backend)
        failed = 0
        counts: dict[str, int] = {}
        for f in files:
            for case in load_file(f).cases:
                for r in run_corpus_case(backend, case):
                    counts[r.status.value] = counts.get(r.status.value, 0) + 1
                    if r.failed:
                        failed += 1
                        print(f"FAIL {r.check} {r.case}\n    {r.reason}")
        print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        return 1 if failed else 0
    stale = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        new = print_corpus(regenerate_file(parse_corpus(text, str(f))))
        if new != text:
            stale.append(f)
            if args.command == "regenerate":
                f.write_text(new, encoding="utf-8")
    verb = "rewrote" if args.command == "regenerate" else "stale"
    for f in stale:
        print(f"{verb}: {f}")
    print(f"{len(files)} files, {len(stale)} {verb}")
    return 1 if stale and args.command == "check" else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
