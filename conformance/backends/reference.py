"""The reference interpreter as a backend (float64 domain): the suite's own yardstick.

It exposes its linear maps as programs, so the structural checks (``check`` and the size
bounds of spec 4.4 and 5.4) apply to it, and it reads program text, so the corpus's
parse-error assertions do too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lintra.conformance.backend import Capabilities
from lintra.reference import check, evaluate, jvp, linearize, transpose, vjp
from lintra.reference.derived import LinearFunction, hvp
from lintra.reference.parse import parse
from lintra.reference.syntax import Module, Program


class ReferenceBackend:
    """``lintra.reference`` in the float64 domain, behind the backend protocol (spec 7.1)."""

    name = "reference"
    capabilities = Capabilities(notes=("the specification's own interpreter, float64 domain",))

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        return evaluate(program, *args)

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        return jvp(program, primals, tangents)

    def linearize(self, program: Program, primals: Sequence[np.ndarray]
                  ) -> tuple[tuple, LinearFunction]:
        return linearize(program, *primals)

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, object]:
        return vjp(program, *primals)

    def transpose(self, linear_map: LinearFunction) -> LinearFunction:
        return transpose(linear_map)

    def linear_map(self, program: Program, residuals: Sequence[np.ndarray]) -> LinearFunction:
        check(program)
        return LinearFunction(program, tuple(residuals))

    def hvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        return hvp(program, primals, tangents)

    def program_of(self, linear_map: LinearFunction) -> Program:
        return linear_map.program

    def parse(self, text: str) -> Module:
        """The module of ``text``; a :class:`~lintra.reference.errors.ParseError` names the
        line and column where it is not the grammar of spec chapter 1."""
        return parse(text)
