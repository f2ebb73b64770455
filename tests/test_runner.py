"""The command-line runner ``python -m lintra.reference`` (spec readers' companion)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mpmath

ROOT = Path(__file__).resolve().parent.parent
ROSEN = ROOT / "examples" / "rosen.lintra"
X = "[[0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]]"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lintra.reference", *args],
        capture_output=True, text=True, input=stdin, timeout=120, check=False,
    )


def rosen_exact(xs: list[float]) -> mpmath.mpf:
    ctx = mpmath.MPContext()
    ctx.dps = 60
    v = [ctx.mpf(x) for x in xs]
    return ctx.fsum(100 * (v[i + 1] - v[i] ** 2) ** 2 + (1 - v[i]) ** 2 for i in range(9))


def test_rosen_in_float64() -> None:
    out = run(str(ROSEN), "--args", X)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "s: f64[] = 47716.5"


def test_rosen_at_50_digits() -> None:
    out = run(str(ROSEN), "--args", "[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]",
              "--dps", "50")
    assert out.returncode == 0, out.stderr
    value = out.stdout.strip().split("= ")[1]
    ctx = mpmath.MPContext()
    ctx.dps = 60
    # Decimal arguments are read at 50 digits, so the result is the value at the decimals
    # (here a short decimal, 78.18, which the runner prints without trailing zeros).
    exact = rosen_exact(["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
    assert abs(ctx.mpf(value) - exact) <= abs(exact) * ctx.mpf(10) ** -48


def test_print_shows_the_annotated_program() -> None:
    text = (
        "def f(x: f64[2]) -> f64[]:\n    y = sin(x)\n    s = reduce_sum(y, axes=(0,))\n"
        "    return s\n"
    )
    out = run("-", "--print", "--args", "[[0, 0]]", stdin=text)
    assert out.returncode == 0, out.stderr
    assert "    y: f64[2] = sin(x)" in out.stdout
    assert out.stdout.strip().endswith("s: f64[] = 0.0")


def test_errors_are_reported_not_raised() -> None:
    bad = "def f(t: lin f64[3]) -> lin f64[3]:\n    u = add(t, 1.0)\n    return u\n"
    out = run("-", stdin=bad)
    assert out.returncode == 1
    assert "f:2:16: linearity error" in out.stderr and "Traceback" not in out.stderr
    out = run(str(ROSEN), "--args", "[[1, 2]]")
    assert out.returncode == 1 and "shape" in out.stderr and "Traceback" not in out.stderr
    out = run(str(ROSEN), "--args", "[1, 2")
    assert out.returncode == 2 and "JSON" in out.stderr
    out = run(str(ROOT / "no-such-file.lintra"))
    assert out.returncode == 2 and "cannot read" in out.stderr
    out = run("-", stdin="def f(x: f64[]) -> f64[]:\n    y = sin(x y)\n    return y\n")
    assert out.returncode == 1 and "^" in out.stderr
