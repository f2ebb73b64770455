"""Primitive family `binary` (spec chapter 3)."""

from __future__ import annotations

from lintra.reference.primitives.base import Primitive

PRIMITIVES: tuple[Primitive, ...] = ()
