"""The truth cache (spec 7.8): exact keys, atomic entries, never trusted across versions,
off unless asked for."""

from __future__ import annotations

import threading
from pathlib import Path

import mpmath
import numpy as np
import pytest

from lintra.conformance import truth_cache
from lintra.conformance.oracle import directional_derivative
from lintra.conformance.truth_cache import cached, directory, key, load, store, token
from lintra.reference import parse_program

SIN = parse_program("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = sin(x)\n    return y\n")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(truth_cache.ENVIRONMENT, str(tmp_path))
    return tmp_path


def entries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_off_in_the_test_suite_by_default() -> None:
    assert directory() is None


def test_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(truth_cache.ENVIRONMENT, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert directory() == tmp_path / "lintra" / "truth"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert directory() == tmp_path / "home" / ".cache" / "lintra" / "truth"
    monkeypatch.setenv(truth_cache.ENVIRONMENT, str(tmp_path / "elsewhere"))
    assert directory() == tmp_path / "elsewhere"
    for off in ("off", "0", "false", "No"):
        monkeypatch.setenv(truth_cache.ENVIRONMENT, off)
        assert directory() is None


def test_a_second_call_reads_what_the_first_wrote(cache_dir: Path) -> None:
    calls = []

    @cached
    def square_all(program: object, values: object, dps: int = 40) -> tuple:
        calls.append(1)
        ctx = mpmath.MPContext()
        ctx.dps = dps
        return (np.array([ctx.mpf(v) ** 2 for v in values], dtype=object),
                np.array([True, False]))

    first = square_all(SIN, np.array([0.1, 3.0]), dps=45)
    second = square_all(SIN, np.array([0.1, 3.0]), dps=45)
    assert len(calls) == 1 and len(entries(cache_dir)) == 1
    assert list(first[0]) == list(second[0]) and list(first[1]) == list(second[1])
    # rebuilt at the call's precision, not mpmath.mp's 53 bits
    v = second[0][0]
    assert v.context.dps == 45
    assert (v - first[0][0]) == 0 and (v / 3) == (first[0][0] / 3)
    square_all(SIN, np.array([0.1, 3.0]), dps=46)  # another precision: another entry
    assert len(calls) == 2


def test_oracle_estimates_round_trip(cache_dir: Path) -> None:
    args = (SIN, [np.array([0.5, -2.0])], [np.array([1.0, 0.25])])
    first = directional_derivative(*args, dps=40)
    assert entries(cache_dir)  # the estimate and the kinks inside
    second = directional_derivative(*args, dps=40)
    for a, b in zip(first.values + first.bounds, second.values + second.bounds):
        assert list(a) == list(b)
    assert [list(s) for s in second.settled] == [[True, True]]
    assert abs(second.values[0][0] - mpmath.cos(0.5)) < 1e-15


def test_keys_are_exact() -> None:
    x = np.array([0.1])
    assert key("q", {"x": x}) == key("q", {"x": np.array([0.1])})
    assert key("q", {"x": x}) != key("q", {"x": np.nextafter(x, 1)})
    assert key("q", {"x": x}) != key("q", {"x": x.astype(np.float32)})
    assert key("q", {"x": x}) != key("p", {"x": x})
    assert key("q", {"x": x, "dps": 40}) != key("q", {"x": x, "dps": 41})
    assert token(0.1) != token(0.1 + 2**-56) and token(-0.0) != token(0.0)
    assert token(np.float64(-0.0)) != token(np.float64(0.0))
    other = parse_program("def f(x: f64[2]) -> f64[2]:\n    y: f64[2] = cos(x)\n"
                          "    return y\n")
    assert key("q", {"p": SIN}) != key("q", {"p": other})
    with pytest.raises(truth_cache.Unkeyable):
        token(object())


def test_never_trusted_across_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    before = key("q", {"x": 1.0})
    truth_cache.fingerprint.cache_clear()
    monkeypatch.setattr(truth_cache, "_version", lambda: "9.9.9")
    try:
        assert key("q", {"x": 1.0}) != before
    finally:
        truth_cache.fingerprint.cache_clear()


def test_damaged_entries_are_recomputed(cache_dir: Path) -> None:
    calls = []

    @cached
    def answer(x: float, dps: int = 40) -> float:
        calls.append(x)
        return 2 * x

    assert answer(1.5) == 3.0
    (path,) = entries(cache_dir)
    path.write_bytes(b"not a pickle")
    assert answer(1.5) == 3.0 and len(calls) == 2
    assert answer(1.5) == 3.0 and len(calls) == 2  # rewritten whole


def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path) -> None:
    path = tmp_path / "ab" / "entry"
    payload = np.arange(200000, dtype=np.float64)

    def write() -> None:
        for _ in range(5):
            store(path, payload, 40)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.array_equal(load(path), payload)
    assert entries(tmp_path) == [path]  # no temporary file left behind


def test_unkeyable_arguments_are_computed_not_cached(cache_dir: Path) -> None:
    @cached
    def ident(x: object, dps: int = 40) -> object:
        return x

    marker = object()
    assert ident(marker) is marker
    assert not entries(cache_dir)


def test_true_partials_round_trip_and_judge_alike(cache_dir: Path) -> None:
    """The exact partials of the derivative-accuracy property (spec 7.4) come back from the
    cache as computed: the same numbers at the precision they were computed at (so the same
    ulps), and an unconfirmed truth keeps its reason."""
    from lintra.conformance.stress import true_partials

    point, params = (0.75, -2.5), ()
    first = true_partials.__wrapped__("atan2", point, params)
    assert entries(cache_dir)
    second = true_partials.__wrapped__("atan2", point, params)
    assert second == first and second.unreliable == first.unreliable
    flat = [(a, b) for ta, tb in zip(first.partials, second.partials)
            for ra, rb in zip(ta, tb) for a, b in zip(ra, rb)]
    assert all(a.context is b.context and a == b for a, b in flat)
    x, y = point  # d atan2(x, y)/dx = y/(x² + y²)
    assert abs(float(flat[0][1]) - y / (x * x + y * y)) < 1e-15
