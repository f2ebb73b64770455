"""The primitive records of the language, one small module per family (spec chapter 3).

``PRIMITIVES`` maps each primitive's name to its :class:`~.base.Primitive` record; the
checker, the evaluator and (later) every transformation look primitives up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from lintra.reference.errors import UnsupportedPrimitiveError
from lintra.reference.primitives import (
    binary,
    contraction,
    indexing,
    logic,
    reductions,
    special,
    structure,
    unary,
)
from lintra.reference.primitives.base import DerivativeClaim, Primitive

FAMILIES = (unary, binary, logic, structure, indexing, contraction, reductions, special)


def _collect() -> Mapping[str, Primitive]:
    table: dict[str, Primitive] = {}
    for family in FAMILIES:
        for prim in family.PRIMITIVES:
            if prim.name in table:
                raise RuntimeError(f"primitive {prim.name} is defined twice")
            table[prim.name] = prim
    return MappingProxyType(table)


PRIMITIVES: Mapping[str, Primitive] = _collect()


def lookup(name: str) -> Primitive:
    """The record of primitive ``name``; raise :class:`UnsupportedPrimitiveError` if unknown."""
    try:
        return PRIMITIVES[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, PRIMITIVES, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnsupportedPrimitiveError(f"unknown primitive {name!r}{hint}") from None


__all__ = ["FAMILIES", "PRIMITIVES", "DerivativeClaim", "Primitive", "lookup"]
