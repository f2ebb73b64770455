"""The optimized engine's special primitives (spec 3.8) against the reference: every
conversion between dtypes at its edges (rounding ties, overflow to inf, the sign of zero,
truncation, the range checks raising EvaluationError), iota in every numeric dtype and
dimension, copy and stop_gradient, the derivatives and the programs the engine emits, and the
errors of the type rules."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.reference import check, evaluate, jvp, vjp
from lintra.reference.errors import EvaluationError
from tests.harness import evaluated_as_the_reference_evaluates as both
from tests.harness import refused_as_the_reference_refuses
from tests.test_optimized_structure import prog, same_bits

NAN, INF = float("nan"), float("inf")
F32_MAX = float(np.finfo(np.float32).max)
F32_OVERFLOW = 2.0 ** 128 - 2.0 ** 103  # the first magnitude that rounds to inf (spec 3.8)


def convert(src: str, dst: str, n: int) -> str:
    return f"""
def f(x: {src}[{n}]) -> {dst}[{n}]:
    y: {dst}[{n}] = convert_element_type(x, new_dtype="{dst}")
    return y
"""


FLOAT_EDGES = np.array([
    0.0, -0.0, NAN, INF, -INF, 1.0 + 2.0 ** -24, 1.0 + 3 * 2.0 ** -24, -(1.0 + 2.0 ** -24),
    F32_MAX, F32_OVERFLOW, np.nextafter(F32_OVERFLOW, 0.0), -F32_OVERFLOW, 1e-46, -1e-46,
    2.0 ** -149, 2.0 ** -150, 3 * 2.0 ** -151, 5e-324, 1e308,
])


def test_float64_to_float32_rounds_to_nearest_even_and_overflows_at_the_spec_threshold() -> None:
    (y,) = both(convert("f64", "f32", FLOAT_EDGES.size), FLOAT_EDGES)
    assert y.dtype == np.float32
    assert y[5] == np.float32(1.0) and y[6] == np.float32(1.0 + 2.0 ** -22)  # ties to even
    assert y[9] == INF and y[10] == np.float32(F32_MAX) and y[11] == -INF
    assert np.signbit(y[1]) and np.signbit(y[13]) and y[13] == 0  # -0 kept, -1e-46 -> -0
    assert y[14] == np.float32(2.0 ** -149) and y[15] == 0 and y[16] == np.float32(2.0 ** -149)


def test_float32_to_float64_is_exact() -> None:
    with np.errstate(over="ignore"):
        x = FLOAT_EDGES.astype(np.float32)
    (y,) = both(convert("f32", "f64", x.size), x)
    same_bits(y, x.astype(np.float64))


@pytest.mark.parametrize("src", ["i64", "i32", "bool"])
@pytest.mark.parametrize("dst", ["f64", "f32"])
def test_integers_and_booleans_round_to_nearest_even(src: str, dst: str) -> None:
    values = {
        "i64": [0, -1, 2 ** 53 + 1, 2 ** 53 + 3, -(2 ** 63), 2 ** 63 - 1025, 2 ** 24 + 1,
                2 ** 60 + 2 ** 36 + 1],  # the last rounds up: no double rounding via f64
        "i32": [0, -1, 2 ** 24 + 1, 2 ** 24 + 3, -(2 ** 31), 2 ** 31 - 1],
        "bool": [True, False],
    }[src]
    x = np.array(values, dtype={"i64": np.int64, "i32": np.int32, "bool": np.bool_}[src])
    (y,) = both(convert(src, dst, x.size), x)
    if src == "i64" and dst == "f32":
        assert float(y[-1]) == 2.0 ** 60 + 2.0 ** 37


def test_the_largest_i64_converts_to_floats() -> None:
    x = np.array([2 ** 63 - 1, -(2 ** 63)], np.int64)
    both(convert("i64", "f64", 2), x)


@pytest.mark.parametrize("dst", ["i32", "i64"])
@pytest.mark.parametrize("src", ["f64", "f32"])
def test_floats_truncate_toward_zero_into_integers(src: str, dst: str) -> None:
    edge = 2.0 ** 31 if dst == "i32" else 2.0 ** 63
    values = [-2.75, -0.0, 0.0, 3.5, -0.5, 2.0 ** 24, -edge]
    if src == "f64" and dst == "i32":
        values += [2.0 ** 31 - 0.5, -(2.0 ** 31) - 0.75]  # truncate into the range
    x = np.array(values, dtype=src.replace("f", "float"))
    (y,) = both(convert(src, dst, x.size), x)
    assert y[0] == -2 and y[3] == 3 and y[6] == -edge


@pytest.mark.parametrize("src, dst, bad", [
    ("f64", "i32", NAN), ("f64", "i64", INF), ("f32", "i64", -INF), ("f64", "i32", 2.0 ** 31),
    ("f64", "i32", -(2.0 ** 31) - 1), ("f64", "i64", 2.0 ** 63), ("f32", "i32", 2.0 ** 31),
    ("f64", "i64", -(2.0 ** 64)), ("i64", "i32", 2 ** 31), ("i64", "i32", -(2 ** 31) - 1),
])
def test_undefined_conversions_raise_evaluation_errors(src: str, dst: str, bad: float) -> None:
    dtype = src.replace("f", "float").replace("i", "int")
    x = np.array([1, bad, 2], dtype=dtype)
    text = convert(src, dst, 3)
    with pytest.raises(EvaluationError):
        evaluate(prog(text), x)
    with pytest.raises(EvaluationError, match="convert_element_type"):
        lo.compile(prog(text)).evaluate(x)


def test_conversions_to_bool_between_integers_and_of_rank_0_and_size_0() -> None:
    text = """
def f(x: f64[5], n: i64[3], m: i32[3], b: bool[2], s: f32[], z: f64[0])
& -> (bool[5], bool[3], i32[3], i64[3], i64[2], f32[2], i32[], bool[0], bool[2]):
    a: bool[5] = convert_element_type(x, new_dtype="bool")
    c: bool[3] = convert_element_type(n, new_dtype="bool")
    d: i32[3] = convert_element_type(n, new_dtype="i32")
    e: i64[3] = convert_element_type(m, new_dtype="i64")
    g: i64[2] = convert_element_type(b, new_dtype="i64")
    h: f32[2] = convert_element_type(b, new_dtype="f32")
    k: i32[] = convert_element_type(s, new_dtype="i32")
    w: bool[0] = convert_element_type(z, new_dtype="bool")
    v: bool[2] = convert_element_type(b, new_dtype="bool")
    return a, c, d, e, g, h, k, w, v
"""
    got = both(text, np.array([NAN, -0.0, 0.0, 5e-324, -INF]), np.array([0, -7, 2 ** 31 - 1]),
               np.array([-(2 ** 31), 0, 5], np.int32), np.array([True, False]),
               np.float32(-7.9), np.zeros(0))
    assert list(got[0]) == [True, False, False, True, True] and int(got[6]) == -7


def test_conversion_derivatives_between_floats_and_none_into_integers() -> None:
    text = """
def f(x: f64[3], s: f32[2]) -> (f32[3], f64[2], i32[3], f64[]):
    a: f32[3] = convert_element_type(x, new_dtype="f32")
    b: f64[2] = convert_element_type(s, new_dtype="f64")
    n: i32[3] = convert_element_type(x, new_dtype="i32")
    k: f64[3] = convert_element_type(n, new_dtype="f64")
    t: f64[] = reduce_sum(k, axes=(0,))
    return a, b, n, t
"""
    p = prog(text)
    c = lo.compile(p)
    x = np.array([1.5, -2.25, 3.0 + 2.0 ** -40])
    s = np.array([0.5, -INF], np.float32)
    dx = np.array([1.0 + 2.0 ** -30, -0.0, 3.0])
    ds = np.array([-1.5, 2.0], np.float32)
    (_, t_got), (_, t_want) = c.jvp([x, s], [dx, ds]), jvp(p, [x, s], [dx, ds])
    for g, w in zip(t_got, t_want, strict=True):
        same_bits(g, w)  # one rounding each, or exact: the same bits
    same_bits(t_got[2], np.zeros(()))  # through an integer: no tangent
    cts = [np.array([1.0, -2.0, 0.5], np.float32), np.array([3.0, -0.0]), np.float64(7.0)]
    got = c.vjp(x, s)[1](*cts)
    want = vjp(p, x, s)[1](*cts)
    for g, w in zip(got, want, strict=True):
        same_bits(g, w)
    assert np.asarray(got[1]).dtype == np.float32  # the transpose converts back
    check(c.jvp_program())
    _, lin = c.linearize(x, s)
    check(lin.program)
    check(lin.transpose().program)


@pytest.mark.parametrize("dtype", ["f64", "f32", "i64", "i32"])
def test_iota_in_every_numeric_dtype_and_dimension(dtype: str) -> None:
    text = f"""
def f(x: f64[]) -> ({dtype}[2, 3], {dtype}[2, 3], {dtype}[2, 3], {dtype}[4], {dtype}[0, 2]):
    a: {dtype}[2, 3] = iota(dtype="{dtype}", shape=(2, 3))
    b: {dtype}[2, 3] = iota(dtype="{dtype}", shape=(2, 3), dimension=1)
    c: {dtype}[2, 3] = iota(dtype="{dtype}", shape=(2, 3), dimension=-2)
    d: {dtype}[4] = iota(dtype="{dtype}", shape=(4,))
    e: {dtype}[0, 2] = iota(dtype="{dtype}", shape=(0, 2), dimension=1)
    return a, b, c, d, e
"""
    a, b, _, d, _ = both(text, np.float64(1.0))
    assert d.tolist() == [0, 1, 2, 3]
    assert a.tolist() == [[0, 0, 0], [1, 1, 1]] and b.tolist() == [[0, 1, 2], [0, 1, 2]]
    a[0, 0] = 5  # a fresh array each time: the caller may write into it
    again = lo.compile(prog(text)).evaluate(np.float64(1.0))
    assert again[0][0, 0] == 0


def test_copy_and_stop_gradient_values_and_derivatives() -> None:
    text = """
def f(x: f64[3], n: i32[2], b: bool[]) -> (f64[3], f64[3], i32[2], bool[], f64[]):
    c: f64[3] = copy(x)
    s: f64[3] = stop_gradient(x)
    m: i32[2] = copy(n)
    k: bool[] = stop_gradient(b)
    y: f64[3] = mul(c, s)
    t: f64[] = reduce_sum(y, axes=(0,))
    return c, s, m, k, t
"""
    x = np.array([-0.0, NAN, 2.5])
    both(text, x, np.array([-3, 4], np.int32), np.bool_(True))
    p = prog(text)
    c = lo.compile(p)
    xr = np.array([1.5, -2.0, 3.0])
    dx = np.array([1.0, 1.0, 1.0])
    (_, tg), (_, tw) = c.jvp([xr, np.array([1, 2], np.int32), np.bool_(False)], [dx]), jvp(
        p, [xr, np.array([1, 2], np.int32), np.bool_(False)], [dx])
    for g, w in zip(tg, tw, strict=True):
        same_bits(g, w)
    same_bits(tg[1], np.zeros(3))  # stop_gradient: J-Zero
    assert float(tg[2]) == float(np.sum(xr))  # d(Σ x·stop(x)) = Σ stop(x)·dx


@pytest.mark.parametrize("text", [
    # a dtype that is not one, a bool iota, a bad dimension, a negative size, rank 0
    'def f(x: f64[3]) -> f64[3]:\n    y = convert_element_type(x, new_dtype="f16")\n'
    '    return y\n',
    'def f(x: f64[3]) -> f64[3]:\n    y = convert_element_type(x, new_dtype=3)\n    return y\n',
    'def f(x: f64[3]) -> f64[3]:\n    y = convert_element_type(x)\n    return y\n',
    'def f(x: f64[3]) -> bool[2]:\n    y = iota(dtype="bool", shape=(2,))\n    return y\n',
    'def f(x: f64[3]) -> f64[2]:\n    y = iota(dtype="f64", shape=(2,), dimension=1)\n'
    '    return y\n',
    'def f(x: f64[3]) -> f64[2]:\n    y = iota(dtype="f64", shape=(2,), dimension=-2)\n'
    '    return y\n',
    'def f(x: f64[3]) -> f64[]:\n    y = iota(dtype="f64", shape=())\n    return y\n',
    'def f(x: f64[3]) -> f64[2]:\n    y = iota(dtype="f64", shape=(2,), dimension=true)\n'
    '    return y\n',
    'def f(x: f64[3]) -> f64[2]:\n    y = iota(dtype="f64", shape=2)\n    return y\n',
    'def f(x: f64[3]) -> f64[3]:\n    y = copy(x, x)\n    return y\n',
    'def f(x: lin f64[3]) -> f64[3]:\n    y = stop_gradient(x)\n    return y\n',
])
def test_type_errors_are_the_reference_classes(text: str) -> None:
    p = prog(text)
    refused_as_the_reference_refuses(p, lambda: lo.compile(p).evaluate(np.zeros(3)))
