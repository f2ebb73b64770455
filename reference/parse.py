"""The concrete syntax of spec chapter 1: text to :class:`Module` / :class:`Program`.

The parser works line by line (one statement per line, as printed by ``str(program)``) and
is iterative throughout, so programs of any length parse without recursion. Every failure is
a :class:`ParseError` with the line, the column and a caret under the offending text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lintra.reference.errors import Location, ParseError
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    Module,
    ParamValue,
    Program,
    Var,
    VarType,
)

KEYWORDS = frozenset({"def", "return", "lin", "true", "false", "inf", "nan"})
DTYPE_NAMES = frozenset(d.value for d in DType)
RESERVED = KEYWORDS | DTYPE_NAMES

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t]+)
  | (?P<comment>\#.*)
  | (?P<arrow>->)
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()\[\],:=\-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "arrow", "punct", "end"
    text: str
    column: int  # 1-based


MAX_PARAM_DEPTH = 32
"""Deepest nesting of a parameter tuple (spec 1.2): no primitive needs more than 2, and
Python compares and hashes nested tuples recursively."""


def tokenize(line: str, line_no: int) -> list[Token]:
    """The tokens of one line, ending with an ``end`` token; comments are dropped."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None:
            char = line[pos]
            what = "an unterminated string" if char == '"' else f"unexpected character {char!r}"
            raise ParseError(what, location=Location(line_no, pos + 1), source_line=line)
        kind = m.lastgroup or ""
        if kind == "comment":
            break
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(line) + 1))
    return tokens


class LineParser:
    """A cursor over the tokens of one line; every ``expect_*`` fails with a located error."""

    def __init__(self, line: str, line_no: int, program: str | None) -> None:
        self.line = line
        self.line_no = line_no
        self.program = program
        self.tokens = tokenize(line, line_no)
        self.i = 0

    # -- cursor ------------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def loc(self, tok: Token | None = None) -> Location:
        return Location(self.line_no, (tok or self.tok).column)

    def fail(self, message: str, tok: Token | None = None) -> ParseError:
        t = tok or self.tok
        found = "end of line" if t.kind == "end" else repr(t.text)
        return ParseError(
            f"{message}, found {found}",
            location=self.loc(t),
            source_line=self.line,
            program=self.program,
        )

    def at(self, text: str) -> bool:
        return self.tok.kind in ("punct", "arrow", "name") and self.tok.text == text

    def advance(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, text: str, what: str | None = None) -> Token:
        if not self.at(text):
            raise self.fail(f"expected {what or repr(text)}")
        return self.advance()

    def expect_end(self) -> None:
        if self.tok.kind != "end":
            raise self.fail("expected end of line")

    def expect_name(self, what: str) -> Token:
        t = self.tok
        if t.kind != "name" or t.text in RESERVED:
            raise self.fail(f"expected {what}")
        return self.advance()

    def expect_int(self, what: str) -> int:
        t = self.tok
        if t.kind != "number" or not re.fullmatch(r"\d+", t.text):
            raise self.fail(f"expected {what} (a non-negative integer)")
        self.advance()
        return int(t.text)

    # -- types -------------------------------------------------------------------------------

    def var_type(self) -> VarType:
        """``[lin] dtype[d0, ...]``"""
        linear = False
        if self.at("lin"):
            self.advance()
            linear = True
        t = self.tok
        if t.kind != "name" or t.text not in DTYPE_NAMES:
            raise self.fail(f"expected a type such as f64[3] (dtypes: {', '.join(DTYPE_NAMES)})")
        self.advance()
        self.expect("[", "'[' after the dtype")
        dims: list[int] = []
        if not self.at("]"):
            dims.append(self.expect_int("a dimension"))
            while self.at(","):
                self.advance()
                dims.append(self.expect_int("a dimension"))
        self.expect("]", "',' or ']' in the shape")
        return VarType(ArrayType(DType(t.text), tuple(dims)), linear)

    # -- atoms and parameter values ----------------------------------------------------------

    def literal_value(self) -> bool | int | float | None:
        """A literal at the cursor, or ``None`` (cursor unchanged) if there is none."""
        t = self.tok
        if t.kind == "number":
            if re.fullmatch(r"-?\d+", t.text):
                self.advance()
                return int(t.text)
            value = float(t.text)
            if math.isinf(value):  # spec 1.2: a number literal is finite in float64
                raise self.fail("a number beyond the float64 range (it would round to "
                                "infinity; write inf for infinity)")
            self.advance()
            return value
        if t.kind == "name" and t.text in ("true", "false"):
            self.advance()
            return t.text == "true"
        if t.kind == "name" and t.text in ("inf", "nan"):
            self.advance()
            return float(t.text)
        if t.kind == "punct" and t.text == "-" and self.peek().text == "inf":
            self.advance()
            self.advance()
            return float("-inf")
        return None

    def atom(self) -> Atom:
        t = self.tok
        value = self.literal_value()
        if value is not None:
            return Literal(value, self.loc(t))
        name = self.expect_name("a variable or a literal")
        return Var(name.text, self.loc(name))

    def param_value(self) -> ParamValue:
        """A literal, a string, or a (possibly nested) tuple of them; iterative."""
        stack: list[list[ParamValue]] = []
        while True:
            # One value, or the opening of a tuple.
            if self.at("("):
                if len(stack) == MAX_PARAM_DEPTH:
                    raise self.fail(f"parameter tuples nest at most {MAX_PARAM_DEPTH} deep")
                self.advance()
                stack.append([])
                if self.at(")"):
                    self.advance()
                    value: ParamValue = tuple(stack.pop())
                else:
                    continue
            elif self.tok.kind == "string":
                value = self._string(self.advance())
            else:
                lit = self.literal_value()
                if lit is None:
                    raise self.fail("expected a parameter value (number, bool, string or tuple)")
                value = lit
            # Close as many tuples as the following tokens end.
            while True:
                if not stack:
                    return value
                stack[-1].append(value)
                if self.at(","):
                    self.advance()
                    if self.at(")"):
                        self.advance()
                        value = tuple(stack.pop())
                        continue
                    break
                if self.at(")"):
                    self.advance()
                    value = tuple(stack.pop())
                    continue
                raise self.fail("expected ',' or ')' in a tuple")

    def _string(self, t: Token) -> str:
        import json

        try:
            return json.loads(t.text)
        except ValueError:
            raise self.fail("invalid escape in string", t) from None

    # -- lines -------------------------------------------------------------------------------

    def def_header(self) -> tuple[str, tuple[Binder, ...], tuple[VarType, ...], Location]:
        start = self.expect("def")
        name = self.expect_name("the program's name")
        self.program = name.text
        self.expect("(", "'(' after the program's name")
        params: list[Binder] = []
        if not self.at(")"):
            while True:
                p = self.expect_name("a parameter name")
                self.expect(":", "':' and a type after the parameter name")
                params.append(Binder(p.text, self.var_type(), self.loc(p)))
                if not self.at(","):
                    break
                self.advance()
                if self.at(")"):
                    break
        self.expect(")", "',' or ')' in the parameter list")
        self.expect("->", "'->' and the result type")
        results: list[VarType] = []
        if self.at("("):
            self.advance()
            if not self.at(")"):
                while True:
                    results.append(self.var_type())
                    if not self.at(","):
                        break
                    self.advance()
                    if self.at(")"):
                        break
            self.expect(")", "',' or ')' in the result types")
        else:
            results.append(self.var_type())
        self.expect(":", "':' at the end of the def line")
        self.expect_end()
        return name.text, tuple(params), tuple(results), self.loc(start)

    def return_stmt(self) -> tuple[Var, ...]:
        self.expect("return")
        outs: list[Var] = []
        if self.tok.kind != "end":
            while True:
                t = self.tok
                if t.kind != "name" or t.text in RESERVED:
                    raise self.fail("return takes variables (bind a literal to a variable first)")
                self.advance()
                outs.append(Var(t.text, self.loc(t)))
                if not self.at(","):
                    break
                self.advance()
        self.expect_end()
        return tuple(outs)

    def equation(self) -> Equation:
        start = self.tok
        binders: list[Binder] = []
        is_bare_call = self.tok.kind == "name" and self.peek().text == "("
        if not is_bare_call:
            while True:
                b = self.expect_name("a variable name")
                vtype = None
                if self.at(":"):
                    self.advance()
                    vtype = self.var_type()
                binders.append(Binder(b.text, vtype, self.loc(b)))
                if not self.at(","):
                    break
                self.advance()
            self.expect("=", "'=' after the result variables")
        prim = self.tok
        if prim.kind != "name" or prim.text in RESERVED:
            raise self.fail("expected a primitive name")
        self.advance()
        self.expect("(", f"'(' after {prim.text}")
        inputs: list[Atom] = []
        params: list[tuple[str, ParamValue]] = []
        if not self.at(")"):
            while True:
                if self.tok.kind == "name" and self.peek().text == "=":
                    key = self.advance()
                    self.advance()
                    if any(k == key.text for k, _ in params):
                        raise self.fail(f"parameter {key.text} is given twice", key)
                    params.append((key.text, self.param_value()))
                else:
                    if params:
                        raise self.fail("operands must come before keyword parameters")
                    inputs.append(self.atom())
                if not self.at(","):
                    break
                self.advance()
        self.expect(")", "',' or ')' in the argument list")
        self.expect_end()
        return Equation(
            tuple(binders), prim.text, tuple(inputs), tuple(params), self.loc(start)
        )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def parse(text: str) -> Module:
    """Parse a module: one or more ``def``s (spec 1.1). Raises :class:`ParseError`."""
    if not isinstance(text, str):
        raise ParseError(f"expected program text (str), got {type(text).__name__}")
    programs: list[Program] = []
    first_line: dict[str, int] = {}
    header: tuple[str, tuple[Binder, ...], tuple[VarType, ...], Location] | None = None
    body: list[Equation] = []
    outputs: tuple[Var, ...] | None = None
    last_line = 0

    def finish(line_no: int) -> None:
        nonlocal header, body, outputs
        if header is None:
            return
        name, params, results, loc = header
        if outputs is None:
            raise ParseError(
                f"def {name} has no return statement (its body ends before line {line_no})",
                location=loc,
                program=name,
            )
        if name in first_line:
            raise ParseError(
                f"def {name} is defined twice (first at line {first_line[name]})",
                location=loc,
                program=name,
            )
        first_line[name] = loc.line
        programs.append(Program(name, params, results, tuple(body), outputs, loc))
        header, body, outputs = None, [], None

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        last_line = line_no
        program = header[0] if header else None
        cursor = LineParser(line, line_no, program)
        if _indent(line) == 0:
            finish(line_no)
            if not cursor.at("def"):
                raise cursor.fail("expected 'def' at the start of an unindented line")
            header = cursor.def_header()
            continue
        if header is None:
            raise ParseError(
                "indented line outside a def",
                location=Location(line_no, 1),
                source_line=line,
            )
        if outputs is not None:
            raise cursor.fail("nothing may follow the return statement in a def")
        if cursor.at("return"):
            outputs = cursor.return_stmt()
        else:
            body.append(cursor.equation())
    finish(last_line + 1)
    if not programs:
        raise ParseError("expected at least one def", location=Location(max(last_line, 1), 1))
    return Module(programs)


def parse_program(text: str) -> Program:
    """Parse text holding exactly one ``def``."""
    module = parse(text)
    if len(module) != 1:
        second = list(module.values())[1]
        raise ParseError(
            f"expected exactly one def, found {len(module)} ({', '.join(module)})",
            location=second.loc,
            program=second.name,
        )
    return next(iter(module.values()))
