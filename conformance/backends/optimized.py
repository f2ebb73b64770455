"""``lintra.optimized`` behind the backend protocol (spec 7.1).

Every program is compiled once (the engine remembers compiled programs by value), so the
suite's many calls on one case pay for transformation and plan generation once. The engine
shows its linear maps as lintra programs (``program_of``), so the structural checks apply,
and reads program text with the language's own parser.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lintra.conformance.backend import Capabilities
from lintra.optimized import LinearMap, compile
from lintra.optimized.api import linear_map
from lintra.optimized.rules import RULES
from lintra.reference.parse import parse
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.syntax import Module, Program


class OptimizedBackend:
    """The optimized engine on NumPy."""

    name = "optimized"

    def __init__(self, array_library: str = "numpy") -> None:
        self.array_library = array_library
        supported = frozenset(RULES) & frozenset(PRIMITIVES)
        self.capabilities = Capabilities(
            primitives=supported,
            notes=(f"lintra.optimized on {array_library}",))

    def _compiled(self, program: Program):
        return compile(program, array_library=self.array_library)

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple:
        return self._compiled(program).evaluate(*args)

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        return self._compiled(program).jvp(primals, tangents)

    def linearize(self, program: Program, primals: Sequence[np.ndarray]
                  ) -> tuple[tuple, LinearMap]:
        return self._compiled(program).linearize(*primals)

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, LinearMap]:
        return self._compiled(program).vjp(*primals)

    def transpose(self, linear_map: LinearMap) -> LinearMap:
        return linear_map.transpose()

    def linear_map(self, program: Program, residuals: Sequence[np.ndarray]) -> LinearMap:
        return linear_map(self._compiled(program), residuals)

    def hvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple:
        return self._compiled(program).hvp(primals, tangents)

    def program_of(self, linear_map: LinearMap) -> Program:
        return linear_map.program

    def parse(self, text: str) -> Module:
        return parse(text)
