"""The exceptions lintra raises (spec chapter 2, "Errors").

Every error lintra reports derives from :class:`LintraError` and says *where* (program name,
line and column when the program came from text, the equation) and *what was expected*.
Parsing, type, linearity, shape and unsupported-primitive errors each have their own class so
that callers and tests can tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in program text: 1-based line and column."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class LintraError(Exception):
    """Base class of every error lintra raises on bad input.

    Attributes: ``message`` (what is wrong and what was expected), ``program`` (name of the
    program, if known), ``location`` (line and column, if the program came from text),
    ``equation`` (the canonical text of the offending equation, if any) and ``variable``.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        program: str | None = None,
        location: Location | None = None,
        equation: str | None = None,
        variable: str | None = None,
    ) -> None:
        self.message = message
        self.program = program
        self.location = location
        self.equation = equation
        self.variable = variable
        super().__init__(self._render())

    def _render(self) -> str:
        where = ":".join(
            part
            for part in (self.program, str(self.location) if self.location else None)
            if part
        )
        head = f"{where}: {self.kind}" if where else self.kind
        text = f"{head}: {self.message}"
        if self.equation:
            text += f"\n    in: {self.equation}"
        return text

    def at(
        self,
        *,
        program: str | None = None,
        location: Location | None = None,
        equation: str | None = None,
    ) -> LintraError:
        """Return a copy of this error with missing place information filled in."""
        return type(self)(
            self.message,
            program=self.program or program,
            location=self.location or location,
            equation=self.equation or equation,
            variable=self.variable,
        )


class ParseError(LintraError):
    """Program text that does not follow the grammar of spec chapter 1.

    The message shows the offending source line with a caret under the column.
    """

    kind = "parse error"

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        source_line: str | None = None,
        program: str | None = None,
        equation: str | None = None,
        variable: str | None = None,
    ) -> None:
        self.source_line = source_line
        super().__init__(
            message, program=program, location=location, equation=equation, variable=variable
        )

    def _render(self) -> str:
        text = super()._render()
        if self.source_line is not None and self.location is not None:
            caret = " " * (self.location.column - 1) + "^"
            text += f"\n    {self.source_line}\n    {caret}"
        return text

    def at(self, **_: object) -> ParseError:
        return self


class LintraTypeError(LintraError):
    """An ill-typed program or call: wrong dtype, unknown variable, wrong parameters."""

    kind = "type error"


class ShapeError(LintraTypeError):
    """Operand shapes that a primitive's shape rule (spec chapter 3) does not accept."""

    kind = "shape error"


class LinearityError(LintraTypeError):
    """A violation of the linearity discipline of spec chapter 2."""

    kind = "linearity error"


class UnsupportedPrimitiveError(LintraTypeError):
    """A primitive the language (or a backend) does not define."""

    kind = "unsupported primitive"


class EvaluationError(LintraError):
    """A well-typed program given values outside what the spec defines.

    Examples: integer division by zero, an index out of range in ``gather``, converting nan
    to an integer. lintra raises rather than return an implementation-defined number.
    """

    kind = "evaluation error"
