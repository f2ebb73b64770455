"""The truth cache's entries (spec 7.8): a number read back behaves as the computed one did."""

from __future__ import annotations

import io
import pickle

import mpmath

from lintra.conformance import truth_cache
from lintra.reference.domains import context


def round_trip(value: object, dps: int = 40) -> object:
    buffer = io.BytesIO()
    truth_cache._Pickler(buffer, dps).dump(value)
    return pickle.loads(buffer.getvalue())


def test_an_mpf_comes_back_in_the_context_it_was_computed_in() -> None:
    """The oracle computes in contexts rounding down and up; ``float()`` of an mpf rounds in
    its context's direction, so a number rebuilt in the nearest-rounding context would
    convert differently (a truth of -0.99999...9 to -1.0 instead of the float below)."""
    for rounding in ("d", "u", "n"):
        ctx = context(80, rounding)
        below_one = ctx.mpf(1) - ctx.mpf(2) ** -200  # 1 - 2^-200: no double between it and 1
        back = round_trip(below_one, dps=40)
        assert back.context is ctx
        assert back == below_one and float(back) == float(below_one)
    assert float(round_trip(context(80, "d").mpf(1) - mpmath.mpf(2) ** -200)) < 1.0


def test_an_mpf_of_another_context_comes_back_at_the_calls_precision() -> None:
    ctx = mpmath.MPContext()
    ctx.dps = 60
    third = ctx.mpf(1) / 3
    back = round_trip(third, dps=45)
    assert back.context is context(45) and back._mpf_ == third._mpf_
