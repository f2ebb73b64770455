"""The ``jax`` and ``torch`` adapters of the conformance suite (spec 7.1) against the reference.

* Every primitive an adapter declares is evaluated in the adapter and in
  ``lintra.reference.evaluate``. Where spec chapter 3 calls a primitive exact (structure,
  indexing, selection, rounding, comparisons, integer arithmetic; and sums and products of
  small integers, which are exact in any order) the results must be identical, bit for bit,
  sign of zero included. Elsewhere each element must be within the primitive's ulp claim
  (the ``ulp`` columns of spec 3.1 and 3.2) of the mpmath truth, in ulps of the dtype at the
  truth; nan, ±inf and zeros are compared as exact classes, sign included, with the float64
  reference (spec 3.0.4).
* Derivatives (jvp, linearize, vjp, transpose, linear_map, hvp) are compared with the
  reference's by the suite's own rule for two computations of one quantity (spec 7.3: each
  within the derived bound of the truth, so within twice the bound of each other), or
  exactly on small integers.
* A framework's known disagreements with the spec are strict xfails whose reason names the
  entry of ``docs/findings.md``: if the framework changes, the test says so.

Without JAX or PyTorch the tests of that adapter skip; the tests of the missing-framework path
run everywhere.
"""

from __future__ import annotations

import builtins
import functools
import sys

import numpy as np
import pytest

from lintra.conformance import analysis
from lintra.conformance.backend import Backend, BackendUnavailable, load_backend
from lintra.conformance.properties import Tally, agree
from lintra.conformance.results import Status
from lintra.reference import (
    EvaluationError,
    LinearFunction,
    LintraTypeError,
    check,
    evaluate,
    hvp,
    jvp,
    linearize,
    parse_program,
    to_float64,
    transpose,
    vjp,
)
from lintra.reference.syntax import DType, Program

ADAPTERS = ("jax", "torch")

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # from torch.func internals


@pytest.fixture(scope="module", params=ADAPTERS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each adapter whose framework is installed."""
    pytest.importorskip(request.param)
    return load_backend(request.param)


def needs(backend: Backend, *primitives: str) -> None:
    missing = sorted(set(primitives) - backend.capabilities.primitives)
    if missing:
        pytest.skip(f"{backend.name} does not declare {', '.join(missing)}")


def known(request: pytest.FixtureRequest, backend: Backend,
          disagreements: dict[tuple[str, ...], str], *key: str) -> None:
    """Mark the test a strict xfail where ``(backend, *key)`` is a documented disagreement."""
    reason = disagreements.get((backend.name, *key))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# --------------------------------------------------------------------------------------------
# Comparisons


def assert_identical(got: object, want: np.ndarray, label: str) -> None:
    """Same dtype, shape and elements; floats bit for bit up to nan payloads (spec 3.4)."""
    g = np.asarray(got)
    assert g.dtype == want.dtype, f"{label}: dtype {g.dtype}, expected {want.dtype}"
    assert g.shape == want.shape, f"{label}: shape {g.shape}, expected {want.shape}"
    if want.dtype.kind != "f":
        assert np.array_equal(g, want), f"{label}: {g!r}, expected {want!r}"
        return
    same = (g == want) & (np.signbit(g) == np.signbit(want)) | np.isnan(g) & np.isnan(want)
    assert same.all(), f"{label}: {g!r}, expected {want!r}"


def assert_within_ulps(got: object, truth: np.ndarray, reference: np.ndarray, dtype: DType,
                       claim: float, label: str, operands: tuple[np.ndarray, ...] = ()) -> None:
    """Each element within ``claim`` ulps of the mpmath ``truth``, in ulps of ``dtype`` at
    the truth (a zero or subnormal truth: in smallest subnormals); where the float64
    ``reference`` is nan, ±inf or ±0, the same class, sign included (spec 3.0.4). Where an
    operand is -0 the truth does not apply (mpmath computes at +0; spec 3.0.1: such results are
    float64 facts): the reference, itself within the claim, is compared instead, allowed
    twice the claim (spec 7.3, two computations of one quantity)."""
    g = np.asarray(got)
    assert g.dtype == dtype.numpy and g.shape == reference.shape, f"{label}: {g.dtype}{g.shape}"
    at_negative_zero = np.zeros(g.shape, dtype=bool)
    for x in operands:
        at_negative_zero |= (np.asarray(x) == 0) & np.signbit(x)
    tiny = np.finfo(dtype.numpy).smallest_subnormal
    worst, where = 0.0, ""
    for i in np.ndindex(g.shape):
        r = reference[i]
        if np.isnan(r) or np.isinf(r) or r == 0:
            same = (np.isnan(g[i]) and np.isnan(r)) or (
                g[i] == r and np.signbit(g[i]) == np.signbit(r))
            assert same, f"{label}[{i}]: {g[i]!r}, expected {r!r}"
            continue
        if not np.isfinite(g[i]):
            raise AssertionError(f"{label}[{i}]: {g[i]!r}, expected about {r!r}")
        if at_negative_zero[i]:
            err = abs(float(g[i]) - float(r)) / float(np.spacing(np.abs(r))) / 2
        else:
            exact = to_float64(np.asarray(truth[i], dtype=object), dtype)
            unit = np.spacing(np.abs(exact)) if exact != 0 else tiny
            err = abs(float(truth[i] - type(truth[i])(float(g[i])))) / float(unit)
        if err > worst:
            worst, where = err, f"[{i}]: {g[i]!r}, reference {r!r}"
    assert worst <= claim, f"{label}: {worst:.3g} ulp > {claim} at {where}"


def assert_agree(got: object, want: object, bounds: analysis.Bounds, label: str) -> None:
    """Spec 7.3 for two computations of one quantity: classes equal, values within twice the
    derived bound (the suite's ``agree``); at least one element compared."""
    tally = Tally()
    agree(tally, list(got), list(want), bounds, label)  # type: ignore[arg-type]
    assert not tally.failure, tally.failure
    assert tally.compared > 0, f"{label}: nothing could be compared"


def assert_dtypes(got: object, program: Program, results: list[int] | None = None) -> None:
    """Each result has its declared dtype (a float32 result stays float32)."""
    types = [program.result_types[k].array for k in (results or range(len(program.outputs)))]
    for g, t in zip(got, types):  # type: ignore[call-overload]
        assert np.asarray(g).dtype == t.dtype.numpy, f"{np.asarray(g).dtype} for {t}"


# --------------------------------------------------------------------------------------------
# Loading, and the missing framework


@pytest.mark.parametrize("name", ADAPTERS)
def test_load_backend_by_name(name: str) -> None:
    pytest.importorskip(name)
    b = load_backend(name)
    assert b.name == name and isinstance(b, Backend)
    assert hasattr(b, "hvp")


def test_jax_backend_enables_float64() -> None:
    jax = pytest.importorskip("jax")
    load_backend("jax")
    assert jax.config.jax_enable_x64
    p = parse_program("def f(x: f64[], n: i64[]) -> (f64[], i64[]):\n"
                      "    y: f64[] = mul(x, 3.0)\n    m: i64[] = add(n, 1)\n    return y, m")
    y, m = load_backend("jax").evaluate(p, [np.float64(0.1), np.int64(2**40)])
    assert y.dtype == np.float64 and y == 0.1 * 3.0
    assert m.dtype == np.int64 and m == 2**40 + 1


@pytest.mark.parametrize("name", ADAPTERS)
def test_missing_framework_is_backend_unavailable(name: str, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    """A None entry in sys.modules makes ``import name`` fail as if it were not installed."""
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'lintra\[peers\]'"):
        load_backend(name)


@pytest.mark.parametrize("name", ADAPTERS)
def test_failing_import_is_backend_unavailable(name: str, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """The same through ``builtins.__import__``, as for a framework that is not installed."""
    real_import = builtins.__import__

    def refuse(module: str, *args: object, **kwargs: object) -> object:
        if module == name or module.startswith(name + "."):
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        return real_import(module, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(BackendUnavailable, match=name):
        load_backend(name)


def test_capabilities(backend: Backend) -> None:
    """Every primitive is declared but the ones the adapter documents leaving out."""
    from lintra.reference import PRIMITIVES

    left_out = {"jax": set(), "torch": {"cbrt"}}[backend.name]
    assert backend.capabilities.primitives == frozenset(PRIMITIVES) - left_out
    for p in left_out:
        assert any(note.startswith(p) for note in backend.capabilities.notes)
    assert backend.capabilities.dtypes == frozenset(DType)
    assert backend.capabilities.refuses_nonlinear is (backend.name == "jax")


# --------------------------------------------------------------------------------------------
# Exact primitives: bit for bit against the reference

NAN, INF = np.nan, np.inf
I64_MIN, I32_MIN = np.iinfo(np.int64).min, np.iinfo(np.int32).min
SPECIALS = [-INF, -2.5, -1.0, -0.5, -0.0, 0.0, 0.49999999999999994, 0.5, 1.5, 2.5, INF, NAN]

EXACT: list[tuple[str, str, list[object]]] = [
    # unary (spec 3.1): exact in every dtype
    ("neg", "def f(x: f64[12], n: i64[3]) -> (f64[12], i64[3]):\n    y = neg(x)\n"
     "    m = neg(n)\n    return y, m", [SPECIALS, [I64_MIN, -3, 7]]),
    ("abs", "def f(x: f64[12], n: i32[3]) -> (f64[12], i32[3]):\n    y = abs(x)\n"
     "    m = abs(n)\n    return y, m", [SPECIALS, np.array([I32_MIN, -3, 7], np.int32)]),
    ("sign", "def f(x: f64[12], n: i64[3], z: f32[3]) -> (f64[12], i64[3], f32[3]):\n"
     "    y = sign(x)\n    m = sign(n)\n    w = sign(z)\n    return y, m, w",
     [SPECIALS, [I64_MIN, 0, 7], np.array([-0.0, NAN, 3.0], np.float32)]),
    ("floor", "def f(x: f64[12]) -> f64[12]:\n    y = floor(x)\n    return y", [SPECIALS]),
    ("ceil", "def f(x: f64[12]) -> f64[12]:\n    y = ceil(x)\n    return y", [SPECIALS]),
    ("round", "def f(x: f64[15], z: f32[4]) -> (f64[15], f32[4]):\n    y = round(x)\n"
     "    w = round(z)\n    return y, w",
     [[*SPECIALS, -0.3, 4503599627370495.5, -3.5],
      np.array([2.5, -0.5, 0.49999997, -1.5], np.float32)]),
    ("square", "def f(n: i64[3], m: i32[2]) -> (i64[3], i32[2]):\n    a = square(n)\n"
     "    b = square(m)\n    return a, b", [[2**32, -3, I64_MIN], np.array([65536, -7], np.int32)]),
    ("integer_pow", "def f(n: i64[3], m: i32[2]) -> (i64[3], i64[3], i32[2]):\n"
     "    a = integer_pow(n, y=3)\n    b = integer_pow(n, y=0)\n    c = integer_pow(m, y=5)\n"
     "    return a, b, c", [[I64_MIN, -3, 2097152], np.array([1000, -9], np.int32)]),
    # binary (spec 3.2): integer arithmetic wraps; rem, max, min exact
    ("add", "def f(n: i64[3], m: i32[2]) -> (i64[3], i32[2]):\n"
     "    a = add(n, 9223372036854775807)\n    b = add(m, m)\n    return a, b",
     [[1, -1, I64_MIN], np.array([2**30, -2**31], np.int32)]),
    ("sub", "def f(n: i64[3]) -> i64[3]:\n    a = sub(n, 1)\n    return a", [[I64_MIN, 0, 5]]),
    ("mul", "def f(n: i64[3], m: i32[2]) -> (i64[3], i32[2]):\n    a = mul(n, n)\n"
     "    b = mul(m, 65536)\n    return a, b", [[2**32, -3, 3037000500],
                                                np.array([65536, -3], np.int32)]),
    ("div", "def f(n: i64[5], d: i64[5], m: i32[2], e: i32[2]) -> (i64[5], i32[2]):\n"
     "    a = div(n, d)\n    b = div(m, e)\n    return a, b",
     [[7, -7, 7, I64_MIN, I64_MIN], [2, 2, -2, -1, 1], np.array([I32_MIN, 9], np.int32),
      np.array([-1, -4], np.int32)]),
    ("rem", "def f(x: f64[8], y: f64[8], n: i64[4], d: i64[4]) -> (f64[8], i64[4]):\n"
     "    a = rem(x, y)\n    b = rem(n, d)\n    return a, b",
     [[5.0, -5.0, 1e300, 5.0, INF, 5.0, -0.0, 7.5], [3.0, 3.0, 3.0, INF, 2.0, 0.0, 1.0, -2.0],
      [7, -7, 7, I64_MIN], [2, 2, -2, -1]]),
    ("max", "def f(x: f64[6], y: f64[6], n: i32[2]) -> (f64[6], i32[2]):\n    a = max(x, y)\n"
     "    b = max(n, 0)\n    return a, b",
     [[-0.0, 0.0, -0.0, NAN, 1.0, -1.0], [0.0, -0.0, -0.0, 1.0, NAN, -0.0],
      np.array([-4, 4], np.int32)]),
    ("min", "def f(x: f64[6], y: f64[6], n: i64[2]) -> (f64[6], i64[2]):\n    a = min(x, y)\n"
     "    b = min(n, 0)\n    return a, b",
     [[-0.0, 0.0, 0.0, NAN, 1.0, 1.0], [0.0, -0.0, 0.0, 1.0, NAN, 0.0], [-4, 4]]),
    # logic (spec 3.3)
    *[(p, f"def f(x: f64[5], y: f64[5], n: i32[2]) -> (bool[5], bool[2]):\n    a = {p}(x, y)\n"
          f"    b = {p}(n, 1)\n    return a, b",
       [[NAN, -0.0, 1.0, -INF, 2.0], [NAN, 0.0, 2.0, -INF, 1.0], np.array([1, 2], np.int32)])
      for p in ("eq", "ne", "lt", "le", "gt", "ge")],
    ("eq", "def f(p: bool[4], q: bool[4]) -> (bool[4], bool[4]):\n    a = eq(p, q)\n"
     "    b = ne(p, q)\n    return a, b", [[True, True, False, False], [True, False, True, False]]),
    *[(p, f"def f(p: bool[4], q: bool[4]) -> bool[4]:\n    a = {p}(p, q)\n    return a",
       [[True, True, False, False], [True, False, True, False]]) for p in ("and", "or")],
    ("not", "def f(p: bool[2]) -> bool[2]:\n    a = not(p)\n    return a", [[True, False]]),
    ("select_n", "def f(p: bool[3], k: i32[3], a: f64[3], b: f64[3], s: bool[], j: i64[], "
     "n: i64[3]) -> (f64[3], f64[3], f64[3], i64[3], i64[3]):\n    x = select_n(p, a, b)\n"
     "    y = select_n(k, a, b, -0.0)\n    z = select_n(s, a, 2.0)\n"
     "    w = select_n(j, n, 20, n)\n    v = select_n(0, n)\n    return x, y, z, w, v",
     [[True, False, True], np.array([2, 0, 1], np.int32), [1.0, NAN, -0.0], [INF, 2.0, 3.0],
      True, 1, [2**62 + 1, -5, 0]]),
    ("clamp", "def f(x: f64[7], lo: f64[7], h: f64[]) -> (f64[7], f64[7]):\n"
     "    a = clamp(lo, x, h)\n    b = clamp(-1.0, x, 1.0)\n    return a, b",
     [[-0.0, 0.0, 5.0, NAN, 0.5, 0.5, -3.0], [0.0, -1.0, 2.0, 0.0, NAN, 2.0, -4.0], -0.0]),
    # structure (spec 3.4): copies only, every dtype
    ("broadcast_in_dim", "def f(c: f64[2, 1], n: i64[], p: bool[3]) -> "
     "(f64[2, 3], i64[2], bool[2, 3]):\n"
     "    a = broadcast_in_dim(c, shape=(2, 3), broadcast_dimensions=(0, 1))\n"
     "    b = broadcast_in_dim(n, shape=(2,), broadcast_dimensions=())\n"
     "    d = broadcast_in_dim(p, shape=(2, 3), broadcast_dimensions=(1,))\n    return a, b, d",
     [[[-0.0], [INF]], 2**62 + 1, [True, False, True]]),
    ("reshape", "def f(x: f64[2, 3], u: f64[1, 1]) -> (f64[3, 2], f64[], f64[0, 2]):\n"
     "    a = reshape(x, new_sizes=(3, 2))\n    b = reshape(u, new_sizes=())\n"
     "    c = slice(a, start=(0, 0), limit=(0, 2))\n    d = reshape(c, new_sizes=(0, 2))\n"
     "    return a, b, d", [[[1.0, -0.0, NAN], [4.0, 5.0, 6.0]], [[-0.0]]]),
    ("transpose", "def f(x: i64[2, 3, 1]) -> i64[1, 2, 3]:\n"
     "    a = transpose(x, permutation=(2, 0, 1))\n    return a",
     [[[[2**62 + 1], [2], [3]], [[4], [5], [-6]]]]),
    ("squeeze", "def f(x: f32[1, 3, 1]) -> (f32[3], f32[1, 3]):\n"
     "    a = squeeze(x, dimensions=(0, -1))\n    b = squeeze(x, dimensions=(2,))\n"
     "    return a, b", [np.array([[[1.0], [-0.0], [NAN]]], np.float32)]),
    ("expand_dims", "def f(x: f64[3]) -> (f64[1, 3, 1], f64[3, 1]):\n"
     "    a = expand_dims(x, dimensions=(0, -1))\n    b = expand_dims(x, dimensions=(1,))\n"
     "    return a, b", [[1.0, -0.0, NAN]]),
    ("rev", "def f(x: f64[2, 3], p: bool[3]) -> (f64[2, 3], f64[2, 3], bool[3]):\n"
     "    a = rev(x, dimensions=(0, -1))\n    b = rev(x, dimensions=())\n"
     "    c = rev(p, dimensions=(0,))\n    return a, b, c",
     [[[1.0, -0.0, NAN], [4.0, INF, 6.0]], [True, False, False]]),
    ("slice", "def f(x: f64[3, 4], n: i32[5]) -> (f64[2, 2], i32[0], i32[2]):\n"
     "    a = slice(x, start=(1, 0), limit=(3, 4), strides=(1, 3))\n"
     "    b = slice(n, start=(2,), limit=(2,))\n"
     "    c = slice(n, start=(1,), limit=(5,), strides=(2,))\n    return a, b, c",
     [np.arange(12.0).reshape(3, 4) - 5.0, np.array([1, 2, 3, 4, 5], np.int32)]),
    ("pad", "def f(v: f64[3], z: f64[0, 2], n: i64[2]) -> (f64[7], f64[3, 2], i64[5]):\n"
     "    a = pad(v, -1.5, low=(1,), high=(1,), interior=(1,))\n"
     "    b = pad(z, -0.0, low=(1, 0), high=(2, 0))\n"
     "    c = pad(n, 9, low=(0,), high=(2,), interior=(1,))\n    return a, b, c",
     [[NAN, 2.0, -INF], np.zeros((0, 2)), [2**62 + 3, -1]]),
    ("concatenate", "def f(a: f64[2, 1], b: f64[2, 0], c: f64[2, 2]) -> (f64[2, 3], f64[6, 0]):\n"
     "    x = concatenate(a, b, c, dimension=-1)\n"
     "    y = concatenate(b, b, b, dimension=0)\n    return x, y",
     [[[-0.0], [NAN]], np.zeros((2, 0)), [[1.0, 2.0], [3.0, 4.0]]]),
    # indexing (spec 3.5): clamped starts; gather copies; scatter_add of small integers
    ("dynamic_slice", "def f(x: f64[4], y: f64[2, 3], s: i32[]) -> (f64[2], f64[1, 2], f64[2]):\n"
     "    a = dynamic_slice(x, 7, slice_sizes=(2,))\n"
     "    b = dynamic_slice(y, s, -5, slice_sizes=(1, 2))\n"
     "    c = dynamic_slice(x, -3, slice_sizes=(2,))\n    return a, b, c",
     [[1.0, -0.0, 3.0, NAN], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.int32(1)]),
    ("dynamic_update_slice", "def f(x: f64[2, 3], u: f64[1, 2], s: i64[]) -> "
     "(f64[2, 3], f64[2, 3]):\n"
     "    a = dynamic_update_slice(x, u, -5, 1)\n"
     "    b = dynamic_update_slice(x, u, s, 9)\n    return a, b",
     [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[-0.0, NAN]], 1]),
    ("gather", "def f(x: f64[2, 3], i: i32[2, 2], j: i64[], p: bool[3], k: i64[4]) -> "
     "(f64[2, 2, 2], f64[2], bool[4]):\n    a = gather(x, i, axis=1)\n"
     "    b = gather(x, j, axis=-1)\n    c = gather(p, k)\n    return a, b, c",
     [[[1.0, -0.0, 3.0], [NAN, 5.0, 6.0]], np.array([[2, 0], [1, 1]], np.int32), 1,
      [True, False, True], [2, 2, 1, 0]]),
    ("scatter_add", "def f(x: f64[2, 3], i: i64[2, 2], u: f64[2, 2, 2], n: i32[3], k: i64[4], "
     "v: i32[4]) -> (f64[2, 3], i32[3]):\n    a = scatter_add(x, i, u, axis=1)\n"
     "    b = scatter_add(n, k, v)\n    return a, b",
     [[[1.0, -0.0, 3.0], [4.0, 5.0, -0.0]], [[0, 0], [2, 0]],
      [[[1.0, 2.0], [-3.0, 4.0]], [[5.0, 6.0], [-0.0, 8.0]]], np.array([2**31 - 1, 0, 5], np.int32),
      [0, 0, 2, 2], np.array([1, 0, -7, 2], np.int32)]),
    # contraction (spec 3.6): small integers make every order exact; integers wrap
    ("dot_general", "def f(a: f64[2, 3], b: f64[3, 2], x: f64[2, 1, 2], y: f64[2, 2, 2], "
     "v: f64[2], w: f64[3], n: i32[2], e: f64[2, 0], g: f64[0, 3]) -> "
     "(f64[2, 2], f64[2, 1, 2], f64[2, 3], i32[], f64[2, 3]):\n"
     "    c = dot_general(a, b, contracting_dims=((1,), (0,)))\n"
     "    z = dot_general(x, y, contracting_dims=((2,), (0,)), batch_dims=((0,), (1,)))\n"
     "    o = dot_general(v, w, contracting_dims=((), ()))\n"
     "    m = dot_general(n, 32768, contracting_dims=((), ()))\n"
     "    s = reduce_sum(m, axes=(0,))\n"
     "    q = dot_general(e, g, contracting_dims=((1,), (0,)))\n    return c, z, o, s, q",
     [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
      [[[1.0, 2.0]], [[3.0, -4.0]]], [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [1.0, 1.0]]],
      [1.0, -2.0], [3.0, 0.5, -1.0], np.array([65536, 65536], np.int32), np.zeros((2, 0)),
      np.zeros((0, 3))]),
    # reductions (spec 3.7)
    ("reduce_sum", "def f(x: f64[2, 3], n: i32[3]) -> (f64[2], f64[], f64[2, 3], i32[]):\n"
     "    a = reduce_sum(x, axes=(-1,))\n    b = reduce_sum(x, axes=(0, 1))\n"
     "    c = reduce_sum(x, axes=())\n    d = reduce_sum(n, axes=(0,))\n    return a, b, c, d",
     [[[1.0, -0.0, 3.0], [4.0, 5.0, -6.0]], np.array([2**31 - 1, 1, 0], np.int32)]),
    ("reduce_max", "def f(x: f64[3, 3], e: f64[0, 2], n: i64[0]) -> (f64[3], f64[2], i64[]):\n"
     "    a = reduce_max(x, axes=(1,))\n    b = reduce_max(e, axes=(0,))\n"
     "    c = reduce_max(n, axes=(0,))\n    return a, b, c",
     [[[-0.0, 0.0, -1.0], [NAN, 1.0, 2.0], [-0.0, -0.0, -INF]], np.zeros((0, 2)),
      np.zeros(0, np.int64)]),
    ("reduce_min", "def f(x: f64[3, 3], e: f64[0, 2], n: i32[0]) -> (f64[3], f64[2], i32[]):\n"
     "    a = reduce_min(x, axes=(-1,))\n    b = reduce_min(e, axes=(0,))\n"
     "    c = reduce_min(n, axes=(0,))\n    return a, b, c",
     [[[0.0, -0.0, 1.0], [2.0, NAN, 1.0], [0.0, 0.0, INF]], np.zeros((0, 2)),
      np.zeros(0, np.int32)]),
    *[(p, f"def f(x: f64[3, 4]) -> (i64[3], i32[4]):\n    a = {p}(x, axis=1)\n"
          f"    b = {p}(x, axis=0, index_dtype=\"i32\")\n    return a, b",
       [[[1.0, NAN, 3.0, NAN], [3.0, 3.0, -1.0, -1.0], [0.0, -0.0, -0.0, 0.0]]])
      for p in ("argmax", "argmin")],
    ("cumsum", "def f(x: f64[2, 3], n: i32[3]) -> (f64[2, 3], f64[2, 3], i32[3]):\n"
     "    a = cumsum(x, axis=1)\n    b = cumsum(x, axis=0, reverse=true)\n"
     "    c = cumsum(n, axis=0)\n    return a, b, c",
     [[[1.0, -2.0, INF], [4.0, 5.0, -6.0]], np.array([2**31 - 1, 1, 5], np.int32)]),
    ("cumprod", "def f(x: f64[4], n: i64[3]) -> (f64[4], f64[4], i64[3]):\n"
     "    a = cumprod(x, axis=0)\n    b = cumprod(x, axis=0, reverse=true)\n"
     "    c = cumprod(n, axis=-1)\n    return a, b, c",
     [[2.0, -0.5, 0.0, INF], [2**32, 2**32, 3]]),
    ("cummax", "def f(x: f64[6], n: i32[3]) -> (f64[6], f64[6], i32[3]):\n"
     "    a = cummax(x, axis=0)\n    b = cummax(x, axis=0, reverse=true)\n"
     "    c = cummax(n, axis=0)\n    return a, b, c",
     [[-0.0, 0.0, -0.0, -1.0, NAN, 2.0], np.array([3, -1, 5], np.int32)]),
    ("sort", "def f(k: f64[8], v: i64[8], a: bool[2, 3], b: f64[2, 3]) -> "
     "(f64[8], i64[8], bool[2, 3], f64[2, 3], f64[2, 3]):\n"
     "    sk, sv = sort(k, v)\n    sa, sb = sort(a, b, dimension=1, num_keys=2)\n"
     "    t = sort(b, dimension=0)\n    return sk, sv, sa, sb, t",
     [[3.0, NAN, -1.0, 3.0, INF, -0.0, 0.0, -INF], list(range(8)),
      [[True, False, True], [False, False, True]], [[2.0, -0.0, 1.0], [NAN, 0.0, -1.0]]]),
    # special (spec 3.8)
    ("iota", "def f() -> (f64[2, 3], i32[2, 3], i64[4]):\n"
     "    a = iota(dtype=\"f64\", shape=(2, 3), dimension=1)\n"
     "    b = iota(dtype=\"i32\", shape=(2, 3), dimension=-2)\n"
     "    c = iota(dtype=\"i64\", shape=(4,))\n    return a, b, c", []),
    ("copy", "def f(x: f64[3], p: bool[2]) -> (f64[3], bool[2]):\n    a = copy(x)\n"
     "    b = copy(p)\n    return a, b", [[-0.0, NAN, INF], [True, False]]),
    ("stop_gradient", "def f(x: f64[3]) -> f64[3]:\n    a = stop_gradient(x)\n    return a",
     [[-0.0, NAN, INF]]),
    ("convert_element_type", "def f(x: f64[5], r: f64[4], n: i64[3], p: bool[2], m: i32[2]) "
     "-> (i32[5], bool[5], f32[4], f32[3], f64[2], i32[3], i64[2], bool[3]):\n"
     "    a = convert_element_type(x, new_dtype=\"i32\")\n"
     "    b = convert_element_type(x, new_dtype=\"bool\")\n"
     "    c = convert_element_type(r, new_dtype=\"f32\")\n"
     "    d = convert_element_type(n, new_dtype=\"f32\")\n"
     "    e = convert_element_type(p, new_dtype=\"f64\")\n"
     "    g = convert_element_type(n, new_dtype=\"i32\")\n"
     "    h = convert_element_type(m, new_dtype=\"i64\")\n"
     "    k = convert_element_type(n, new_dtype=\"bool\")\n    return a, b, c, d, e, g, h, k",
     [[-2.75, 0.0, 3.5, -0.0, 0.1], [0.1, -0.0, 3.4028235677973366e38, NAN],
      [2**24 + 1, -(2**31), 0], [True, False], np.array([I32_MIN, 7], np.int32)]),
]


@pytest.mark.parametrize("primitive, text, args", EXACT,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(EXACT)])
def test_exact_primitives(backend: Backend, primitive: str, text: str, args: list[object]
                          ) -> None:
    p = parse_program(text)
    needs(backend, *{e.primitive for e in p.equations})
    check(p)
    want = evaluate(p, *args)
    got = backend.evaluate(p, args)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_identical(g, w, f"{primitive}: result {k + 1}")


def test_exact_cases_cover_every_exact_primitive() -> None:
    """Every primitive without an ulp claim is in EXACT (the linear-only ones are in the
    linear_map test below)."""
    from lintra.reference import PRIMITIVES

    covered = {e.primitive for _, text, _ in EXACT for e in parse_program(text).equations}
    assert set(PRIMITIVES) - covered - set(ULPS) == {"dup", "drop", "zero"}


# --------------------------------------------------------------------------------------------
# Rounded primitives: within the spec's ulp claim of the mpmath truth

ULPS = {
    # spec 3.1 and 3.2, the ``ulp`` columns
    **dict.fromkeys(("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                     "asinh", "acosh", "atanh", "exp", "expm1", "log", "log1p", "cbrt"), 4),
    "sqrt": 0.5, "rsqrt": 2, "logistic": 14, "erf": 1, "square": 0.5, "integer_pow": 4,
    "add": 0.5, "sub": 0.5, "mul": 0.5, "div": 0.5, "pow": 4, "atan2": 4,
}

DOMAINS = {
    # sample intervals with normal results in both float dtypes
    "sin": (-10, 10), "cos": (-10, 10), "tan": (-10, 10), "asin": (-1, 1), "acos": (-1, 1),
    "atan": (-20, 20), "sinh": (-20, 20), "cosh": (-20, 20), "tanh": (-10, 10),
    "asinh": (-20, 20), "acosh": (1, 50), "atanh": (-1, 1), "exp": (-50, 50),
    "expm1": (-3, 3), "log": (1e-3, 1e3), "log1p": (-0.999, 50), "sqrt": (0, 100),
    "rsqrt": (1e-3, 100), "cbrt": (-100, 100), "logistic": (-40, 40), "erf": (-5, 5),
    "square": (-1e3, 1e3),
}

EDGES = {
    # spec 3.1's edge cases: classes compared exactly with the float64 reference
    "sin": [INF, -INF, NAN, -0.0], "cos": [INF, NAN], "tan": [-INF, -0.0],
    "asin": [1.5, -1.0, -0.0], "acos": [-1.5, 1.0], "atan": [INF, -INF, -0.0],
    "sinh": [800.0, -800.0, -0.0], "cosh": [800.0, -INF], "tanh": [INF, -INF, -0.0],
    "asinh": [INF, -INF, -0.0], "acosh": [0.5, 1.0, INF], "atanh": [1.0, -1.0, 2.0, -0.0],
    "exp": [-INF, 800.0, -800.0], "expm1": [-INF, INF, -0.0], "log": [-1.0, 0.0, -0.0, INF],
    "log1p": [-2.0, -1.0, -0.0], "sqrt": [-1.0, -0.0, INF], "rsqrt": [-1.0, 0.0, -0.0, INF],
    "cbrt": [-0.0, INF, -INF], "logistic": [0.0, 800.0, -800.0, INF, -INF],
    "erf": [INF, -INF, -0.0], "square": [-0.0, INF, NAN],
}

REPRODUCERS = {
    # inputs of docs/findings.md, sampled for every backend
    ("log1p", "f64"): [-0.38740961257256856], ("atanh", "f64"): [-0.41264354598382025],
    ("sinh", "f64"): [-17.31935460888505], ("cosh", "f64"): [-17.320890790266397],
    ("sinh", "f32"): [-8.999778], ("cosh", "f32"): [-9.007965],
    ("expm1", "f32"): [-0.06326423], ("erf", "f32"): [-3.4053357],
    ("sqrt", "f64"): [64.71895115742501, 65.04592762678163], ("sqrt", "f32"): [39.55573],
}

ACCURACY_FINDINGS = {
    # (backend, primitive, dtype) -> the entry of docs/findings.md
    ("jax", "log1p", "f64"): "docs/findings.md J5: XLA's CPU log1p, 41 ulp",
    ("jax", "atanh", "f64"): "docs/findings.md J5: XLA's CPU atanh, 116 ulp",
    ("jax", "sinh", "f64"): "docs/findings.md J5: XLA's CPU sinh and cosh, 15 ulp",
    ("jax", "cosh", "f64"): "docs/findings.md J5: XLA's CPU sinh and cosh, 15 ulp",
    ("jax", "sinh", "f32"): "docs/findings.md J5: XLA's CPU sinh and cosh, 8.5 ulp in f32",
    ("jax", "cosh", "f32"): "docs/findings.md J5: XLA's CPU sinh and cosh, 8.5 ulp in f32",
    ("jax", "expm1", "f32"): "docs/findings.md J5: XLA's CPU expm1 in f32, 4.3 ulp",
    ("jax", "erf", "f32"): "docs/findings.md J5: XLA's CPU erf in f32, 3.6 ulp",
    ("torch", "sqrt", "f64"): "docs/findings.md T1: torch.sqrt is not correctly rounded",
    ("torch", "sqrt", "f32"): "docs/findings.md T1: torch.sqrt is not correctly rounded",
}


def _samples(primitive: str, dtype: DType) -> np.ndarray:
    lo, hi = DOMAINS[primitive]
    rng = np.random.default_rng(sorted(DOMAINS).index(primitive))
    xs = [*rng.uniform(lo, hi, 48), *EDGES[primitive],
          *REPRODUCERS.get((primitive, dtype.value), [])]
    return np.asarray(xs, dtype=dtype.numpy)


@functools.cache
def _unary_truth(primitive: str, dtype: DType) -> tuple[Program, np.ndarray, np.ndarray,
                                                        np.ndarray]:
    """The program, its samples, the float64 reference and the mpmath truth (50 digits)."""
    xs = _samples(primitive, dtype)
    n, d = len(xs), dtype.value
    p = parse_program(f"def f(x: {d}[{n}]) -> {d}[{n}]:\n    y = {primitive}(x)\n    return y")
    (reference,) = evaluate(p, xs)
    (truth,) = evaluate(p, xs, dps=50)
    return p, xs, reference, truth


@pytest.mark.parametrize("dtype", [DType.f64, DType.f32], ids=str)
@pytest.mark.parametrize("primitive", sorted(DOMAINS))
def test_unary_accuracy(backend: Backend, primitive: str, dtype: DType,
                        request: pytest.FixtureRequest) -> None:
    needs(backend, primitive)
    known(request, backend, ACCURACY_FINDINGS, primitive, dtype.value)
    p, xs, reference, truth = _unary_truth(primitive, dtype)
    (got,) = backend.evaluate(p, [xs])
    assert_within_ulps(got, truth, reference, dtype, ULPS[primitive], f"{primitive} {dtype}",
                       (xs,))


POW_EXPONENTS = (-2, -1, 0, 1, 2, 3, 4, 7, 10, 33)
POW_REPRODUCERS = {
    # inputs of docs/findings.md, sampled for every backend
    (7, "f32"): [1.4722776], (10, "f32"): [0.52890337], (33, "f32"): [0.7141604],
    (10, "f64"): [0.7557282340747437], (33, "f64"): [1.016103825868445],
}
INTEGER_POW_FINDINGS = {
    ("jax", str(n), d): "docs/findings.md J6: lax.integer_pow's error grows with n"
    for n, d in POW_REPRODUCERS
}


@pytest.mark.parametrize("dtype", [DType.f64, DType.f32], ids=str)
@pytest.mark.parametrize("n", POW_EXPONENTS)
def test_integer_pow_accuracy(backend: Backend, n: int, dtype: DType,
                              request: pytest.FixtureRequest) -> None:
    known(request, backend, INTEGER_POW_FINDINGS, str(n), dtype.value)
    rng = np.random.default_rng(n + 100)
    xs = np.asarray([*rng.uniform(0.5, 2.0, 40), *-rng.uniform(0.5, 2.0, 8), NAN, -0.0, 0.0,
                     INF, -INF, *POW_REPRODUCERS.get((n, dtype.value), [])], dtype=dtype.numpy)
    d, m = dtype.value, len(xs)
    p = parse_program(f"def f(x: {d}[{m}]) -> {d}[{m}]:\n    y = integer_pow(x, y={n})\n"
                      "    return y")
    (reference,), (truth,) = evaluate(p, xs), evaluate(p, xs, dps=50)
    (got,) = backend.evaluate(p, [xs])
    assert_within_ulps(got, truth, reference, dtype, ULPS["integer_pow"], f"x^{n} {dtype}",
                       (xs,))


BINARY_SAMPLES = {
    "add": ((-1e3, 1e3), (-1e3, 1e3)), "sub": ((-1e3, 1e3), (-1e3, 1e3)),
    "mul": ((-1e3, 1e3), (-1e3, 1e3)), "div": ((-1e3, 1e3), (0.5, 1e3)),
    "pow": ((0.01, 5.0), (-10.0, 10.0)), "atan2": ((-5.0, 5.0), (-5.0, 5.0)),
}
BINARY_EDGES = {
    # spec 3.2's edge cases (C99 pow and atan2, IEEE division)
    "add": [(INF, -INF), (-0.0, -0.0), (-0.0, 0.0), (NAN, 1.0)],
    "sub": [(INF, INF), (-0.0, 0.0), (0.0, 0.0)],
    "mul": [(0.0, INF), (-0.0, 3.0), (-2.0, 0.0)],
    "div": [(1.0, 0.0), (1.0, -0.0), (0.0, 0.0), (-0.0, 5.0), (INF, INF)],
    "pow": [(1.0, NAN), (NAN, 0.0), (NAN, -0.0), (-8.0, 3.0), (-8.0, 1 / 3), (0.0, -1.0),
            (-0.0, -1.0), (-0.0, -2.0), (0.0, 0.5), (-INF, 0.5), (-INF, 3.0), (0.0, -INF),
            (2.0, 0.5), (-2.0, -2.0)],
    "atan2": [(0.0, -0.0), (-0.0, -0.0), (0.0, 0.0), (-0.0, 0.0), (INF, INF), (INF, -INF),
              (-INF, INF), (-INF, -INF), (1.0, 0.0), (-1.0, -INF)],
}


@pytest.mark.parametrize("dtype", [DType.f64, DType.f32], ids=str)
@pytest.mark.parametrize("primitive", sorted(BINARY_SAMPLES))
def test_binary_accuracy(backend: Backend, primitive: str, dtype: DType) -> None:
    rng = np.random.default_rng(sorted(BINARY_SAMPLES).index(primitive) + 200)
    (xlo, xhi), (ylo, yhi) = BINARY_SAMPLES[primitive]
    edges = BINARY_EDGES[primitive]
    xs = np.asarray([*rng.uniform(xlo, xhi, 40), *(e[0] for e in edges)], dtype=dtype.numpy)
    ys = np.asarray([*rng.uniform(ylo, yhi, 40), *(e[1] for e in edges)], dtype=dtype.numpy)
    d, n = dtype.value, len(xs)
    p = parse_program(f"def f(x: {d}[{n}], y: {d}[{n}]) -> ({d}[{n}], {d}[{n}]):\n"
                      f"    z = {primitive}(x, y)\n    w = {primitive}(x, 0.75)\n"
                      "    return z, w")
    reference, truth = evaluate(p, xs, ys), evaluate(p, xs, ys, dps=50)
    got = backend.evaluate(p, [xs, ys])
    for k, (g, r, t) in enumerate(zip(got, reference, truth)):
        operands = (xs, ys) if k == 0 else (xs,)
        assert_within_ulps(g, t, r, dtype, ULPS[primitive], f"{primitive} {dtype} result {k}",
                           operands)


# --------------------------------------------------------------------------------------------
# Documented disagreements beyond accuracy (docs/findings.md)

VALUE_FINDINGS = {
    ("jax", "subnormal"): "docs/findings.md J4: XLA on CPU flushes subnormals to zero",
    ("jax", "negative zero sum"): "docs/findings.md B1: sums of -0.0 give +0.0",
    ("torch", "negative zero sum"): "docs/findings.md B1: sums of -0.0 give +0.0",
}


def test_subnormals_are_kept(backend: Backend, request: pytest.FixtureRequest) -> None:
    """IEEE arithmetic keeps subnormal operands and results (spec 3.0.1: the reference's
    float64 domain is NumPy's)."""
    known(request, backend, VALUE_FINDINGS, "subnormal")
    p = parse_program("def f(x: f64[2], y: f32[2]) -> (f64[2], f32[2]):\n"
                      "    a = mul(x, 0.5)\n    b = add(y, 0.0)\n    return a, b")
    args = [np.array([1e-310, 2.0 ** -1022]), np.array([1e-40, 2.0 ** -126], np.float32)]
    for k, (g, w) in enumerate(zip(backend.evaluate(p, args), evaluate(p, *args))):
        assert_identical(g, w, f"result {k + 1}")


def test_sum_of_negative_zeros(backend: Backend, request: pytest.FixtureRequest) -> None:
    """Spec 3.7: a sum of -0s only is -0, as each addition -0 + -0 is (cumsum likewise)."""
    known(request, backend, VALUE_FINDINGS, "negative zero sum")
    p = parse_program("def f(x: f64[2]) -> (f64[], f64[2]):\n    s = reduce_sum(x, axes=(0,))\n"
                      "    c = cumsum(x, axis=0)\n    return s, c")
    x = np.array([-0.0, -0.0])
    for k, (g, w) in enumerate(zip(backend.evaluate(p, [x]), evaluate(p, x))):
        assert_identical(g, w, f"result {k + 1}")


RUNTIME_ERRORS = [
    ("def f(n: i64[2], d: i64[2]) -> i64[2]:\n    q = div(n, d)\n    return q", [[1, 2], [1, 0]]),
    ("def f(n: i32[2], d: i32[2]) -> i32[2]:\n    q = rem(n, d)\n    return q",
     [np.array([1, 2], np.int32), np.array([0, 1], np.int32)]),
    ("def f(x: f64[3], i: i64[2]) -> f64[2]:\n    g = gather(x, i)\n    return g",
     [[1.0, 2.0, 3.0], [0, 3]]),
    ("def f(x: f64[3], i: i64[2]) -> f64[2]:\n    g = gather(x, i)\n    return g",
     [[1.0, 2.0, 3.0], [-1, 0]]),
    ("def f(x: f64[3], i: i64[1], u: f64[1]) -> f64[3]:\n    s = scatter_add(x, i, u)\n"
     "    return s", [[1.0, 2.0, 3.0], [5], [1.0]]),
    ("def f(k: i64[2], a: f64[2], b: f64[2]) -> f64[2]:\n    c = select_n(k, a, b)\n"
     "    return c", [[0, 2], [1.0, 2.0], [3.0, 4.0]]),
    ("def f(x: f64[2]) -> i32[2]:\n    n = convert_element_type(x, new_dtype=\"i32\")\n"
     "    return n", [[1.0, NAN]]),
    ("def f(x: f32[1]) -> i32[1]:\n    n = convert_element_type(x, new_dtype=\"i32\")\n"
     "    return n", [np.array([2.0 ** 31], np.float32)]),
    ("def f(n: i64[1]) -> i32[1]:\n    m = convert_element_type(n, new_dtype=\"i32\")\n"
     "    return m", [[2**40]]),
]


ILL_TYPED = [
    ("def bad(n: i64[]) -> i64[]:\n    m: i64[] = add(n, 1.5)\n    return m", [3]),
    ("def twice(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = add(t, t)\n    return u",
     [[1.0, 2.0, 3.0]]),
]


@pytest.mark.parametrize("text, args", ILL_TYPED)
def test_ill_typed_programs_are_refused(backend: Backend, text: str, args: list[object]) -> None:
    """Spec 7.7 (step ``check``): a program that is not well typed is refused, whatever the
    inputs, by evaluate and by the derivatives."""
    p = parse_program(text)
    with pytest.raises(LintraTypeError):
        backend.evaluate(p, args)
    with pytest.raises(LintraTypeError):
        backend.vjp(p, args)


@pytest.mark.parametrize("text, args", RUNTIME_ERRORS)
def test_runtime_errors(backend: Backend, text: str, args: list[object]) -> None:
    """Values for which spec 3.0.3 defines no result raise EvaluationError, as in the
    reference (the adapters see concrete values in evaluate)."""
    p = parse_program(text)
    with pytest.raises(EvaluationError):
        evaluate(p, *args)
    with pytest.raises(EvaluationError):
        backend.evaluate(p, args)


# --------------------------------------------------------------------------------------------
# Derivatives against the reference's

AD_PROGRAMS = {
    "rosen": ("def rosen(x: f64[10]) -> f64[]:\n"
              "    a = slice(x, start=(0,), limit=(9,))\n"
              "    b = slice(x, start=(1,), limit=(10,))\n"
              "    c = integer_pow(a, y=2)\n    d = sub(b, c)\n    e = integer_pow(d, y=2)\n"
              "    f = mul(e, 100.0)\n    g = sub(1.0, a)\n    h = integer_pow(g, y=2)\n"
              "    i = add(f, h)\n    s = reduce_sum(i, axes=(0,))\n    return s",
              [np.linspace(-1.2, 1.3, 10)]),
    "mixed": ("def mixed(x: f64[3], n: i64[2], p: bool[3], w: f32[2]) -> "
              "(f64[2], i64[], f32[], bool[3]):\n"
              "    s = sin(x)\n    g = gather(s, n)\n    c = select_n(p, x, s)\n"
              "    m = mul(c, x)\n    r = slice(m, start=(1,), limit=(3,))\n    y = add(g, r)\n"
              "    k = argmax(x, axis=0)\n    e = exp(w)\n    t = reduce_sum(e, axes=(0,))\n"
              "    q = lt(x, 0.5)\n    return y, k, t, q",
              [np.array([0.3, -1.1, 2.0]), np.array([2, 0]), np.array([True, False, True]),
               np.array([0.25, -1.5], np.float32)]),
    "arrange": ("def arrange(a: f64[2, 3], b: f64[3], i: i32[4]) -> (f64[2, 2], f64[4]):\n"
                "    t = transpose(a, permutation=(1, 0))\n"
                "    c = broadcast_in_dim(b, shape=(3, 2), broadcast_dimensions=(0,))\n"
                "    m = mul(t, c)\n    d = dot_general(a, m, contracting_dims=((1,), (0,)))\n"
                "    r = reshape(d, new_sizes=(4,))\n    p = pad(b, 0.0, low=(1,), high=(1,))\n"
                "    q = cumsum(p, axis=0, reverse=true)\n"
                "    s = dynamic_slice(q, 1, slice_sizes=(4,))\n    g = gather(b, i)\n"
                "    u = scatter_add(s, i, g)\n    v = add(r, u)\n    return d, v",
                [np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]), np.array([2.0, -3.0, 1.0]),
                 np.array([1, 1, 0, 2], np.int32)]),
    "clamped": ("def clamped(lo: f64[], x: f64[4], hi: f64[]) -> f64[4]:\n"
                "    y = clamp(lo, x, hi)\n    return y",
                [np.array(-1.0), np.array([-3.0, 0.5, 2.0, -0.25]), np.array(1.0)]),
}


KINKS = {
    # programs at the points of docs/findings.md where a framework's derivative differs from
    # the spec's (chapter 6): (program, primals, tangents, cotangents), all dyadic, so that
    # the spec's derivative is computed exactly and compared bit for bit (as the corpus does)
    "clamp_all_equal": ("def f(x: f64[]) -> f64[]:\n    y = clamp(x, x, x)\n    return y",
                        [0.75], [0.75], [0.5]),
    "clamp_nan_bound": ("def f(x: f64[]) -> f64[]:\n    y = clamp(0.0, x, nan)\n    return y",
                        [0.75], [1.0], [1.0]),
    "floor_of_asin": ("def f(x: f64[]) -> f64[]:\n    a = asin(x)\n    y = floor(a)\n"
                      "    return y", [-1.25], [1.0], [1.0]),
    "atan2_origin": ("def f(y: f64[], x: f64[]) -> f64[]:\n    z = atan2(y, x)\n    return z",
                     [0.0, 0.0], [1.0, 0.0], [1.0]),
    "pow_exponent_zero": ("def f(x: f64[]) -> f64[]:\n    y = pow(x, 0.0)\n    return y",
                          [0.0], [1.0], [1.0]),
    "pow_base_zero": ("def f(y: f64[]) -> f64[]:\n    z = pow(0.0, y)\n    return z",
                      [-1.0], [1.0], [1.0]),
    "cummax_ties": ("def f(x: f64[3]) -> f64[3]:\n    y = cummax(x, axis=0)\n    return y",
                    [[0.75, 0.75, 0.75]], [[0.75, -1.5, 3.0]], [[0.5, -1.0, 3.0]]),
}
KINK_FINDINGS = {
    ("jax", "clamp_all_equal", "jvp"): "docs/findings.md J1: lax.clamp's derivative at a bound",
    ("jax", "clamp_all_equal", "vjp"): "docs/findings.md J1: lax.clamp's derivative at a bound",
    ("torch", "clamp_nan_bound", "jvp"): "docs/findings.md T5: torch.clamp with a nan bound",
    ("torch", "floor_of_asin", "vjp"): "docs/findings.md T4: reverse mode gives nan",
    ("torch", "atan2_origin", "vjp"): "docs/findings.md T6: torch.atan2 at the origin",
    ("jax", "pow_exponent_zero", "jvp"): "docs/findings.md J7: lax.pow at its kinks",
    ("jax", "pow_exponent_zero", "vjp"): "docs/findings.md J7: lax.pow at its kinks",
    ("jax", "pow_base_zero", "jvp"): "docs/findings.md J7: lax.pow at its kinks",
    ("jax", "pow_base_zero", "vjp"): "docs/findings.md J7: lax.pow at its kinks",
    ("torch", "pow_base_zero", "jvp"): "docs/findings.md T9: torch.pow at x = 0",
    ("torch", "pow_base_zero", "vjp"): "docs/findings.md T9: torch.pow at x = 0",
    ("jax", "cummax_ties", "jvp"): "docs/findings.md J8: lax.cummax splits ties by halves",
    ("jax", "cummax_ties", "vjp"): "docs/findings.md J8: lax.cummax splits ties by halves",
    ("torch", "cummax_ties", "jvp"): "docs/findings.md T9: torch.cummax picks the last tie",
    ("torch", "cummax_ties", "vjp"): "docs/findings.md T9: torch.cummax picks the last tie",
}


@pytest.mark.parametrize("direction", ["jvp", "vjp"])
@pytest.mark.parametrize("name", sorted(KINKS))
def test_derivatives_at_kinks(backend: Backend, name: str, direction: str,
                              request: pytest.FixtureRequest) -> None:
    """The spec's derivative (chapter 6) where it is a convention, a guard or a nan; the
    frameworks' differences are the findings named."""
    known(request, backend, KINK_FINDINGS, name, direction)
    text, *values = KINKS[name]
    p = parse_program(text)
    primals, tangents, cotangents = ([np.asarray(v, dtype=np.float64) for v in vs]
                                     for vs in values)
    if direction == "jvp":
        got, want = backend.jvp(p, primals, tangents)[1], jvp(p, primals, tangents)[1]
    else:
        got = backend.vjp(p, primals)[1](*cotangents)
        want = vjp(p, *primals)[1](*cotangents)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert_identical(g, w, f"{name} {direction} {k + 1}")


def _ad_case(name: str) -> tuple[Program, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """A program, its primals, a tangent per float input and a cotangent per float result."""
    text, primals = AD_PROGRAMS[name]
    p = parse_program(text)
    check(p)
    rng = np.random.default_rng(len(name))
    tangents = [rng.uniform(-2, 2, b.type.array.shape).astype(b.type.array.dtype.numpy)
                for b in p.inputs if b.type.array.dtype.is_float]
    cotangents = [rng.uniform(-2, 2, t.array.shape).astype(t.array.dtype.numpy)
                  for t in p.result_types if t.array.dtype.is_float]
    return p, primals, tangents, cotangents


def _float_results(p: Program) -> list[int]:
    return [k for k, t in enumerate(p.result_types) if t.array.dtype.is_float]


@pytest.mark.parametrize("name", sorted(AD_PROGRAMS))
def test_jvp_and_linearize(backend: Backend, name: str) -> None:
    p, primals, tangents, _ = _ad_case(name)
    values = analysis.value_bounds(p, primals)
    bounds = analysis.jvp_bounds(p, primals, tangents)
    want_ys, want_dys = jvp(p, primals, tangents)

    ys, dys = backend.jvp(p, primals, tangents)
    assert_dtypes(ys, p)
    assert_dtypes(dys, p, _float_results(p))
    assert_agree(ys, want_ys, values, "jvp primal")
    assert_agree(dys, want_dys, bounds, "jvp tangent")

    ys, lin = backend.linearize(p, primals)
    assert_dtypes(ys, p)
    assert_agree(ys, want_ys, values, "linearize primal")
    _, want_lin = linearize(p, *primals)
    got = lin(*tangents)
    assert_dtypes(got, p, _float_results(p))
    assert_agree(got, want_lin(*tangents), bounds, "lin(t)")


@pytest.mark.parametrize("name", sorted(AD_PROGRAMS))
def test_vjp_and_transpose(backend: Backend, name: str) -> None:
    p, primals, tangents, cotangents = _ad_case(name)
    bounds = analysis.vjp_bounds(p, primals, cotangents)
    want_ys, want_pullback = vjp(p, *primals)
    want = want_pullback(*cotangents)
    floats = [b.type.array for b in p.inputs if b.type.array.dtype.is_float]

    ys, pullback = backend.vjp(p, primals)
    assert_agree(ys, want_ys, analysis.value_bounds(p, primals), "vjp primal")
    got = pullback(*cotangents)
    for g, t in zip(got, floats):
        assert np.asarray(g).dtype == t.dtype.numpy and np.shape(g) == t.shape
    assert_agree(got, want, bounds, "vjp cotangent")

    _, lin = backend.linearize(p, primals)
    _, want_lin = linearize(p, *primals)
    lin_t = backend.transpose(lin)
    assert_agree(lin_t(*cotangents), transpose(want_lin)(*cotangents), bounds, "L^T w")
    lin_tt = backend.transpose(lin_t)
    assert_agree(lin_tt(*tangents), want_lin(*tangents),
                 analysis.jvp_bounds(p, primals, tangents), "(L^T)^T t")


def test_hvp(backend: Backend) -> None:
    p, primals, tangents, _ = _ad_case("rosen")
    got = backend.hvp(p, primals, tangents)
    assert_agree(got, hvp(p, primals, tangents), analysis.hvp_bounds(p, primals, tangents),
                 "hvp")


def test_no_float_results_or_inputs(backend: Backend) -> None:
    """Tangents exist for float inputs and results only: none here, on either side."""
    p = parse_program("def f(x: f64[3], n: i64[3]) -> (i64[], bool[3]):\n"
                      "    k = argmin(x, axis=0)\n    b = gt(n, 1)\n    return k, b")
    args = [np.array([2.0, -1.0, 0.5]), np.array([0, 1, 2])]
    want = evaluate(p, *args)
    ys, dys = backend.jvp(p, args, [np.ones(3)])
    assert dys == () and all(np.array_equal(g, w) for g, w in zip(ys, want))
    ys, pullback = backend.vjp(p, args)
    (bar,) = pullback()
    assert_identical(bar, np.zeros(3), "cotangent of x")
    q = parse_program("def g(n: i64[2]) -> f64[2]:\n    x = convert_element_type(n, "
                      "new_dtype=\"f64\")\n    y = mul(x, 2.0)\n    return y")
    ys, dys = backend.jvp(q, [np.array([1, 2])], [])
    assert_identical(ys[0], np.array([2.0, 4.0]), "result")
    assert_identical(dys[0], np.zeros(2), "tangent")


LINEAR = "def lin_prog(c: f64[3], i: i64[2], t: lin f64[3], s: lin f64[]) -> " + """\
(lin f64[2], lin f64[3]):
    u, v = dup(t)
    a: lin f64[3] = mul(c, u)
    b: lin f64[2] = gather(a, i)
    z: lin f64[3] = zero()
    w: lin f64[3] = broadcast_in_dim(s, shape=(3,), broadcast_dimensions=())
    n: lin f64[3] = neg(v)
    q: lin f64[3] = add(n, w)
    r: lin f64[3] = add(q, z)
    k, m = dup(r)
    drop(m)
    return b, k"""


def test_linear_map_and_its_transpose(backend: Backend) -> None:
    """``linear_map`` binds the non-linear parameters first; on small integers every
    operation of the map and its transpose is exact, so the results are compared bit for
    bit with the reference's."""
    p = parse_program(LINEAR)
    check(p)
    residuals = [np.array([2.0, -3.0, 0.5]), np.array([2, 2])]
    t, s = np.array([1.0, -2.0, 4.0]), np.array(3.0)
    want = LinearFunction(p, tuple(residuals))
    lm = backend.linear_map(p, residuals)
    for k, (g, w) in enumerate(zip(lm(t, s), want(t, s))):
        assert_identical(g, w, f"L(t, s) {k + 1}")
    cts = [np.array([1.0, -1.0]), np.array([0.5, 2.0, -4.0])]
    lm_t = backend.transpose(lm)
    for k, (g, w) in enumerate(zip(lm_t(*cts), transpose(want)(*cts))):
        assert_identical(g, w, f"L^T(w) {k + 1}")
    for k, (g, w) in enumerate(zip(backend.transpose(lm_t)(t, s), want(t, s))):
        assert_identical(g, w, f"(L^T)^T(t, s) {k + 1}")


SQUARE_MAP = "def square_map(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = mul(t, t)\n" \
             "    return u"
AFFINE_MAP = "def affine(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = add(t, 1.0)\n" \
             "    return u"
TRANSPOSE_FINDINGS = {
    ("jax", "affine"): "docs/findings.md J9: jax.linear_transpose transposes affine maps",
}


def test_nonlinear_map_transposition(backend: Backend) -> None:
    """``mul(t, t)`` (spec 2.4: ill-typed) given to ``linear_map`` unchecked: JAX refuses to
    transpose it; PyTorch transposes by the vjp at zero, hence ``refuses_nonlinear=False``."""
    lm = backend.linear_map(parse_program(SQUARE_MAP), [])
    if backend.capabilities.refuses_nonlinear:
        with pytest.raises(Exception):  # noqa: B017  (JAX raises an internal AssertionError)
            backend.transpose(lm)(np.ones(3))
    else:
        (bar,) = backend.transpose(lm)(np.ones(3))
        assert_identical(bar, np.zeros(3), "vjp of t*t at 0")


def test_affine_map_transposition(backend: Backend, request: pytest.FixtureRequest) -> None:
    """``add(t, 1.0)`` is affine, not linear (spec 2.4): a backend that refuses non-linear
    maps must refuse it too."""
    if not backend.capabilities.refuses_nonlinear:
        pytest.skip(f"{backend.name} declares refuses_nonlinear=False")
    known(request, backend, TRANSPOSE_FINDINGS, "affine")
    lm = backend.linear_map(parse_program(AFFINE_MAP), [])
    with pytest.raises(Exception):  # noqa: B017  (any refusal counts, as in the suite)
        backend.transpose(lm)(np.ones(3))


COTANGENT_FINDINGS = {
    ("torch", "constant"): "docs/findings.md T7: torch.func.vjp ignores constant results' "
                           "cotangents",
}


@pytest.mark.parametrize("result", ["dependent", "constant"])
def test_wrong_cotangent_shape_is_refused(backend: Backend, result: str,
                                          request: pytest.FixtureRequest) -> None:
    known(request, backend, COTANGENT_FINDINGS, result)
    body = "    y = sin(x)\n" if result == "dependent" else "    y = stop_gradient(x)\n"
    p = parse_program(f"def f(x: f64[2]) -> f64[2]:\n{body}    return y")
    _, pullback = backend.vjp(p, [np.array([0.5, 1.0])])
    with pytest.raises(Exception):  # noqa: B017  (any refusal counts, as in the suite)
        pullback(np.ones((2, 2)))


PAD_FINDINGS = {
    ("jax",): "docs/findings.md J11: JAX transposes pad's padding value as a difference of "
              "sums",
}

PAD = """def f(x: f64[3], v: f64[]) -> f64[6]:
    y: f64[6] = pad(x, v, low=(1,), high=(2,))
    return y"""


def test_pad_value_cotangent_sums_only_the_padding(backend: Backend,
                                                   request: pytest.FixtureRequest) -> None:
    """Spec 5.3: the padding value's cotangent is the sum of the cotangent over the padding
    positions, 0.5 + 0.25 + 0.125 here, exact in any order. Computed as the whole sum minus
    the interior's, the interior's 1e16 cancel it away."""
    known(request, backend, PAD_FINDINGS)
    _, pullback = backend.vjp(parse_program(PAD), [np.array([1.0, 2.0, 3.0]), np.array(0.0)])
    x_bar, v_bar = pullback(np.array([0.5, 1e16, -1e16, 1.0, 0.25, 0.125]))
    assert_identical(x_bar, np.array([1e16, -1e16, 1.0]), "cotangent of x")
    assert_identical(v_bar, np.array(0.875), "cotangent of the padding value")


def test_the_suite_tells_tie_conventions_from_wrong_derivatives(backend: Backend) -> None:
    """docs/findings.md S2: JAX's split of a cummax tie (J8) lies between the one-sided slopes
    along the tangent, a convention difference; its zero derivative of clamp at x = lo (J1)
    does not (the slopes are 0.5 and 1), a failure. PyTorch's answers are conventions."""
    from lintra.conformance.properties import CHECKS, Case

    cummax = parse_program("def f(x: f64[3]) -> f64[3]:\n    y = cummax(x, axis=0)\n"
                           "    return y")
    c = Case(cummax, (np.full(3, 0.7),), (np.array([0.7, -1.3, 0.7]),), (np.full(3, 0.7),))
    assert CHECKS["jvp_vs_reference"](backend, c).status is Status.CONVENTION
    clamp = parse_program("def f(lo: f64[], x: f64[], hi: f64[]) -> f64[]:\n"
                          "    y = clamp(lo, x, hi)\n    return y")
    c = Case(clamp, (np.array(0.0), np.array(0.0), np.array(1.0)),
             (np.array(0.5), np.array(1.0), np.array(0.0)), (np.array(1.0),))
    want = Status.FAIL if backend.name == "jax" else Status.CONVENTION
    assert CHECKS["jvp_vs_reference"](backend, c).status is want


# --------------------------------------------------------------------------------------------
# Derivative accuracy at the hard places (docs/findings.md, accuracy findings A1-A13)

DERIVATIVE_PLACES = [
    # (primitive, dtype, operands): one place per accuracy finding, measured for every backend
    ("tanh", "f64", (25.0,)), ("tanh", "f32", (10.0,)), ("logistic", "f64", (40.0,)),
    ("logistic", "f64", (5.0,)), ("expm1", "f64", (-40.0,)), ("asin", "f64", (1 - 2.0**-30,)),
    ("acosh", "f64", (1 + 2.0**-30,)), ("atanh", "f64", (1 - 2.0**-30,)),
    ("asinh", "f64", (1e200,)), ("acosh", "f64", (1e200,)), ("rsqrt", "f64", (2.1e-206,)),
    ("atan2", "f64", (1e200, 1e200)), ("cumprod", "f64", (1e200, 1e200, 1e-200)),
    ("div", "f64", (1e-300, 1e-160)),
    ("cosh", "f64", (710.475,)), ("exp", "f32", (88.72000122070312,)),
    ("abs", "f64", (-5e-324,)),
]

DERIVATIVE_FINDINGS = {
    **{(b, "tanh", d): "A1: tanh' from y = tanh x" for b in ADAPTERS for d in ("f64", "f32")},
    **{(b, "logistic", "f64"): "A2: logistic' = y(1 - y)" for b in ADAPTERS},
    **{(b, "expm1", "f64"): "A3: expm1' = y + 1" for b in ADAPTERS},
    **{(b, "asin", "f64"): "A4: 1 - x² cancels next to ±1" for b in ADAPTERS},
    ("jax", "acosh", "f64", "1.0000000009313226"): "A4: x² - 1 cancels next to 1",
    ("torch", "acosh", "f64", "1.0000000009313226"): "A4: x² - 1 cancels next to 1",
    ("torch", "atanh", "f64"): "A4: 1 - x² cancels next to ±1",
    **{(b, "asinh", "f64"): "A5: x² + 1 overflows" for b in ADAPTERS},
    ("jax", "acosh", "f64", "1e+200"): "A5: x² - 1 overflows",
    ("torch", "acosh", "f64", "1e+200"): "A5: x² - 1 overflows",
    **{(b, "rsqrt", "f64"): "A6: an intermediate overflows" for b in ADAPTERS},
    **{(b, "atan2", "f64"): "A8: x² + y² overflows" for b in ADAPTERS},
    ("torch", "cumprod", "f64"): "A9: partial products overflow",
    ("jax", "div", "f64"): "A10: div's partials where y² underflows",
    ("jax", "cosh", "f64"): "A11: XLA's sinh near the overflow threshold",
    ("jax", "exp", "f32"): "A12: XLA's f32 exp near the overflow threshold",
    ("jax", "abs", "f64"): "A13: subnormals read as zero (J4)",
}


@pytest.mark.parametrize("primitive, dtype, point", DERIVATIVE_PLACES,
                         ids=[f"{p}-{d}-{x[0]!r}" for p, d, x in DERIVATIVE_PLACES])
def test_derivatives_within_their_claims(backend: Backend, primitive: str, dtype: str,
                                         point: tuple[float, ...],
                                         request: pytest.FixtureRequest) -> None:
    """Every partial at the place is within the primitive's derivative claim of the exact
    partial (``lintra.conformance.stress``: mpmath truth at two precisions)."""
    from lintra.conformance.stress import Verdict, measure

    needs(backend, primitive)
    key = (backend.name, primitive, dtype)
    reason = DERIVATIVE_FINDINGS.get(key) or DERIVATIVE_FINDINGS.get((*key, repr(point[0])))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    partials = measure(backend, primitive, dtype, [point])
    wrong = [p.describe() for p in partials if p.verdict is Verdict.BEYOND]
    assert not wrong, "\n".join(wrong)
