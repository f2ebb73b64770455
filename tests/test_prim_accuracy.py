"""Float64 evaluation against mpmath at 50 digits, primitive by primitive (spec 3.1, 3.2).

The ulp claims are read from the ``ulp`` column of the spec tables, so the spec and the test
cannot drift apart. The error of a float64 result ``r`` is measured against the exact value
``e`` (the mpmath result) as ``|r - e| / ulp(e)``, with ``ulp`` the spacing of the dtype at
``e`` rounded to the dtype.
"""

from __future__ import annotations

import re
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference.errors import EvaluationError
from tests.harness import apply, rounded

SPEC = Path(__file__).resolve().parent.parent / "spec"
NAME = re.compile(r"^`(\w+)[`(]")
CELL = re.compile(r"(?<!\\)\|")
"""A cell boundary: a bar not escaped (``\\|x\\|`` is inside a cell)."""


def cells(line: str) -> list[str]:
    return [c.strip() for c in CELL.split(line.strip())[1:-1]]


def claims(chapter: str, column: str = "ulp") -> dict[str, float]:
    """The ``column`` of the primitive table of ``chapter``, found by its header, per
    primitive (the first number of each cell: *d-ulp* cells add measured values after it)."""
    lines = (SPEC / chapter).read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| primitive |"))
    k = cells(header).index(column)
    out = {}
    for line in lines:
        row = cells(line)
        if line.startswith("| `") and len(row) > k and (m := NAME.match(row[0])):
            out[m.group(1)] = float(row[k].split()[0])
    return out


UNARY_CLAIMS = claims("3.1-unary.md")
BINARY_CLAIMS = claims("3.2-binary.md")

# Sampling intervals inside each primitive's domain (the spec's edge cases are tested below).
UNARY_DOMAINS: dict[str, tuple[float, float]] = {
    "neg": (-1e3, 1e3), "sin": (-20.0, 20.0), "cos": (-20.0, 20.0), "tan": (-1.5, 1.5),
    "asin": (-1.0, 1.0), "acos": (-1.0, 1.0), "atan": (-50.0, 50.0), "sinh": (-20.0, 20.0),
    "cosh": (-20.0, 20.0), "tanh": (-10.0, 10.0), "asinh": (-1e3, 1e3), "acosh": (1.0, 1e3),
    "atanh": (-0.999, 0.999), "exp": (-50.0, 50.0), "expm1": (-5.0, 5.0), "log": (1e-3, 1e3),
    "log1p": (-0.9, 10.0), "sqrt": (0.0, 1e4), "rsqrt": (1e-4, 1e4), "cbrt": (-1e3, 1e3),
    "logistic": (-40.0, 40.0), "erf": (-4.0, 4.0), "abs": (-1e3, 1e3), "sign": (-5.0, 5.0),
    "floor": (-1e3, 1e3), "ceil": (-1e3, 1e3), "round": (-1e3, 1e3), "square": (-1e3, 1e3),
    "integer_pow": (-3.0, 3.0),
}


def ulp_errors(got: np.ndarray, exact: np.ndarray, dtype: np.dtype) -> list[float]:
    """|got - exact| in ulps of the dtype at exact, for finite exact values."""
    ctx = mpmath.MPContext()
    ctx.dps = 50
    out = []
    for g, e in zip(got.reshape(-1), exact.reshape(-1)):
        e_rounded = dtype.type(float(e))
        if not np.isfinite(e_rounded):
            continue
        tiny = np.finfo(dtype).smallest_subnormal
        spacing = np.spacing(np.abs(e_rounded)) if e_rounded != 0 else tiny
        out.append(float(abs(ctx.mpf(float(g)) - e) / ctx.mpf(float(spacing))))
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_within_claim(name: str, dtype: type) -> None:
    lo, hi = UNARY_DOMAINS[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = rng.uniform(lo, hi, size=64).astype(dtype)
    params = {"y": 3} if name == "integer_pow" else {}
    got, _ = apply(name, x, **params)
    exact, _ = apply(name, x, dps=50, **params)
    errors = ulp_errors(got[0], np.asarray(exact[0], dtype=object), np.dtype(dtype))
    assert max(errors) <= UNARY_CLAIMS[name], f"{name}: {max(errors)} ulp"


EDGES = np.array([0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan, 1e-310, 1e300])


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_special_values_agree_between_domains(name: str) -> None:
    """nan where one domain gives nan, inf where one gives inf, zero where one gives zero."""
    params = {"y": -3} if name == "integer_pow" else {}
    got, types = apply(name, EDGES, **params)
    exact, _ = apply(name, EDGES, dps=50, **params)
    (mp,) = rounded(exact, types)
    g = got[0]
    np.testing.assert_array_equal(np.isnan(g), np.isnan(mp))
    np.testing.assert_array_equal(np.isinf(g), np.isinf(mp))
    np.testing.assert_array_equal(g[np.isinf(g)], mp[np.isinf(g)])
    np.testing.assert_array_equal(g == 0, mp == 0)


BINARY_PAIRS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "add": ((-1e3, 1e3), (-1e3, 1e3)), "sub": ((-1e3, 1e3), (-1e3, 1e3)),
    "mul": ((-1e3, 1e3), (-1e3, 1e3)), "div": ((-1e3, 1e3), (0.5, 1e3)),
    "rem": ((-1e3, 1e3), (0.5, 50.0)), "pow": ((0.01, 10.0), (-5.0, 5.0)),
    "atan2": ((-10.0, 10.0), (-10.0, 10.0)), "max": ((-5.0, 5.0), (-5.0, 5.0)),
    "min": ((-5.0, 5.0), (-5.0, 5.0)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(BINARY_PAIRS))
def test_binary_within_claim(name: str, dtype: type) -> None:
    (a, b), (c, d) = BINARY_PAIRS[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = rng.uniform(a, b, size=64).astype(dtype)
    y = rng.uniform(c, d, size=64).astype(dtype)
    got, _ = apply(name, x, y)
    exact, _ = apply(name, x, y, dps=50)
    errors = ulp_errors(got[0], np.asarray(exact[0], dtype=object), np.dtype(dtype))
    assert max(errors) <= BINARY_CLAIMS[name], f"{name}: {max(errors)} ulp"


INT64 = st.integers(-(2**63), 2**63 - 1)


def c_quotient(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def wrap64(v: int) -> int:
    return (v + 2**63) % 2**64 - 2**63


@given(INT64, INT64.filter(lambda v: v != 0))
def test_integer_div_rem_truncate_and_wrap(a: int, b: int) -> None:
    (q,), _ = apply("div", np.int64(a), np.int64(b))
    (r,), _ = apply("rem", np.int64(a), np.int64(b))
    assert int(q) == wrap64(c_quotient(a, b))
    assert int(r) == a - c_quotient(a, b) * b


@given(INT64, INT64)
def test_integer_add_mul_wrap(a: int, b: int) -> None:
    assert int(apply("add", np.int64(a), np.int64(b))[0][0]) == wrap64(a + b)
    assert int(apply("mul", np.int64(a), np.int64(b))[0][0]) == wrap64(a * b)


@pytest.mark.parametrize("name", ["div", "rem"])
def test_integer_division_by_zero_raises(name: str) -> None:
    with pytest.raises(EvaluationError, match="by zero"):
        apply(name, np.array([1, 2]), np.array([1, 0]))


def test_signed_zero_conventions() -> None:
    z = np.array([-0.0, 0.0])
    w = np.array([0.0, -0.0])
    assert list(np.signbit(apply("max", z, w)[0][0])) == [False, False]
    assert list(np.signbit(apply("min", z, w)[0][0])) == [True, True]
    assert np.signbit(apply("round", np.array(-0.3))[0][0])
    assert np.signbit(apply("sign", np.array(-0.0))[0][0])
    assert apply("round", np.array(0.49999999999999994))[0][0] == 0.0
    assert apply("round", np.array(-2.5))[0][0] == -3.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=12))
def test_reduce_sum_within_gamma_bound(values: list[float]) -> None:
    """|computed - exact| <= gamma_(n-1) * sum|x| (spec 3.7)."""
    x = np.array(values, dtype=np.float64)
    (got,), _ = apply("reduce_sum", x, axes=(0,))
    ctx = mpmath.MPContext()
    ctx.dps = 60
    exact = ctx.fsum(ctx.mpf(v) for v in values)
    n = len(values)
    u = 2.0**-53
    gamma = (n - 1) * u / (1 - (n - 1) * u) if n > 1 else 0.0
    assert abs(ctx.mpf(float(got)) - exact) <= gamma * ctx.fsum(abs(ctx.mpf(v)) for v in values)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 5), st.randoms(use_true_random=False))
def test_dot_general_within_gamma_bound(m: int, k: int, n: int, rnd) -> None:
    """componentwise |computed - exact| <= gamma_k * sum |x||y| (spec 3.6)."""
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    a = rng.normal(size=(m, k)) * 10.0 ** rng.integers(-3, 3, size=(m, k))
    b = rng.normal(size=(k, n))
    (got,), _ = apply("dot_general", a, b, contracting_dims=((1,), (0,)))
    (exact,), _ = apply("dot_general", a, b, contracting_dims=((1,), (0,)), dps=50)
    u = 2.0**-53
    gamma = k * u / (1 - k * u)
    scale = np.abs(a) @ np.abs(b)
    for i in np.ndindex(got.shape):
        # scale is itself a float64 sum of k products: at most a factor 1 - gamma too small.
        assert abs(mpmath.mpf(float(got[i])) - exact[i]) <= gamma * scale[i] / (1 - gamma)
