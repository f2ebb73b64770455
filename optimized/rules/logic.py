"""Logic primitives (spec chapter 3)."""

from __future__ import annotations

from lintra.optimized.rules.base import Rule

RULES: tuple[Rule, ...] = ()
