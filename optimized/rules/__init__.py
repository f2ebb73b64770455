"""The engine's rule records, one per primitive of spec chapter 3, by family."""

from __future__ import annotations

from lintra.optimized.rules import (
    binary,
    contraction,
    indexing,
    logic,
    reductions,
    special,
    structure,
    unary,
)
from lintra.optimized.rules.base import Rule

RULES: dict[str, Rule] = {}
for _family in (unary, binary, logic, structure, indexing, contraction, reductions, special):
    for _rule in _family.RULES:
        RULES[_rule.name] = _rule

__all__ = ["RULES", "Rule"]
