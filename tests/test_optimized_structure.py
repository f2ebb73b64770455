"""The optimized engine's structure rules (spec 3.4) against the reference: values bit for bit
(every element is a copy, so the float64 results must be identical, signed zeros and nan
included), every dtype, rank 0 and size 0, the derivatives, the programs the engine emits, and
the errors of the shape rules."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
from lintra.reference import check, evaluate
from lintra.reference.derived import jvp, vjp
from lintra.reference.errors import LintraError, LintraTypeError, ShapeError
from lintra.reference.parse import parse_program
from tests.harness import same_bits

NAN, INF = float("nan"), float("inf")


def prog(text: str) -> object:
    """Parse a program whose long lines continue on lines starting with ``& ``."""
    return parse_program(text.replace("\n& ", " "))


def sum_tolerance(cotangents: list[np.ndarray], dtype: np.dtype) -> float:
    """Two results that each sum at most n of these terms, each within γ_n·Σ|terms| of the
    exact sum, differ by at most 2·γ_n·Σ|terms| (n the number of all the terms)."""
    terms = np.concatenate([np.abs(np.asarray(c, np.float64)).reshape(-1) for c in cotangents])
    n, u = max(terms.size, 1), np.finfo(dtype).eps / 2
    return 2 * n * u / (1 - n * u) * float(terms.sum())


def random_like(rng: np.random.Generator, t_shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return rng.standard_normal(t_shape).astype(dtype)


def agree_with_reference(text: str, *args: object, derivatives: bool = True) -> None:
    """Evaluate, JVP and VJP in the engine and in the reference; the engine's derivative
    programs pass the reference's check."""
    p = prog(text)
    c = lo.compile(p)
    got = c.evaluate(*args)
    want = evaluate(p, *args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        same_bits(g, w)
    floats = [k for k, b in enumerate(p.inputs) if b.type.array.dtype.is_float]
    if not derivatives or not floats:
        return
    rng = np.random.default_rng(len(text))
    tangents = [random_like(rng, p.inputs[k].type.array.shape,
                            np.asarray(args[k]).dtype.name) for k in floats]
    outs, touts = c.jvp(list(args), tangents)
    r_outs, r_touts = jvp(p, list(args), tangents)
    for g, w in zip(outs, r_outs):
        same_bits(g, w)
    for g, w in zip(touts, r_touts):
        same_bits(g, w)  # copies and zeros only: the tangents are exact too
    check(c.jvp_program())
    _, lin = c.linearize(*args)
    check(lin.program)
    check(lin.transpose().program)
    out_floats = [t for t in p.result_types if t.array.dtype.is_float]
    cts = [random_like(rng, t.array.shape, t.array.dtype.value.replace("f", "float"))
           for t in out_floats]
    _, pullback = c.vjp(*args)
    _, r_pullback = vjp(p, *args)
    got_ct, want_ct = pullback(*cts), r_pullback(*cts)
    for again, first in zip(pullback(*cts), got_ct):  # no plan wrote over a saved value
        same_bits(again, first)
    for again, first in zip(c.evaluate(*args), got):
        same_bits(again, first)
    assert len(got_ct) == len(want_ct) == len(floats)
    for g, w in zip(got_ct, want_ct):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=sum_tolerance(cts, w.dtype))


X23 = np.array([[1.0, -0.0, NAN], [INF, -INF, 2.5]])

CASES = {
    "broadcast": ("""
def f(c: f64[2, 1], s: f64[], v: f64[2])
& -> (f64[2, 4, 3], f64[3], f64[2], f64[2, 2]):
    a: f64[2, 4, 3] = broadcast_in_dim(c, shape=(2, 4, 3), broadcast_dimensions=(0, 2))
    b: f64[3] = broadcast_in_dim(s, shape=(3,), broadcast_dimensions=())
    i: f64[2] = broadcast_in_dim(v, shape=(2,), broadcast_dimensions=(0,))
    r: f64[2, 2] = broadcast_in_dim(v, shape=(2, 2), broadcast_dimensions=(0,))
    return a, b, i, r
""", (np.array([[-0.0], [NAN]]), np.float64(INF), np.array([1.5, -2.0]))),
    "broadcast_large": ("""
def f(v: f64[40], s: f32[]) -> (f64[30, 40], f32[2, 600]):
    a: f64[30, 40] = broadcast_in_dim(v, shape=(30, 40), broadcast_dimensions=(1,))
    b: f32[2, 600] = broadcast_in_dim(s, shape=(2, 600), broadcast_dimensions=())
    return a, b
""", (np.linspace(-1.0, 1.0, 40), np.float32(-0.0))),
    "reshape": ("""
def f(x: f64[2, 3], o: f64[1, 1], s: f64[], z: f64[0, 3])
& -> (f64[3, 2], f64[], f64[1, 1], f64[3, 0]):
    a: f64[3, 2] = reshape(x, new_sizes=(3, 2))
    b: f64[] = reshape(o, new_sizes=())
    c: f64[1, 1] = reshape(s, new_sizes=(1, 1))
    d: f64[3, 0] = reshape(z, new_sizes=(3, 0))
    return a, b, c, d
""", (X23, np.array([[-0.0]]), np.float64(NAN), np.zeros((0, 3)))),
    "transpose": ("""
def f(x: f64[2, 3, 4], s: f64[])
& -> (f64[4, 2, 3], f64[], f64[2, 3, 4]):
    a: f64[4, 2, 3] = transpose(x, permutation=(2, 0, 1))
    b: f64[] = transpose(s, permutation=())
    c: f64[2, 3, 4] = transpose(x, permutation=(0, 1, 2))
    return a, b, c
""", (np.arange(24.0).reshape(2, 3, 4) - 11.5, np.float64(-0.0))),
    "squeeze_expand": ("""
def f(x: f64[1, 3, 1], s: f64[])
& -> (f64[3], f64[1, 3, 1], f64[1], f64[1, 3, 1], f64[]):
    a: f64[3] = squeeze(x, dimensions=(-1, 0))
    b: f64[1, 3, 1] = expand_dims(a, dimensions=(0, -1))
    c: f64[1] = expand_dims(s, dimensions=(-1,))
    d: f64[1, 3, 1] = squeeze(x, dimensions=())
    e: f64[] = squeeze(c, dimensions=(0,))
    return a, b, c, d, e
""", (np.array([[[-0.0], [NAN], [INF]]]), np.float64(3.0))),
    "rev": ("""
def f(x: f64[2, 3], s: f64[])
& -> (f64[2, 3], f64[2, 3], f64[2, 3], f64[]):
    a: f64[2, 3] = rev(x, dimensions=(1,))
    b: f64[2, 3] = rev(x, dimensions=(-2, 1))
    c: f64[2, 3] = rev(x, dimensions=())
    d: f64[] = rev(s, dimensions=())
    return a, b, c, d
""", (X23, np.float64(-0.0))),
    "slice": ("""
def f(x: f64[5, 4], s: f64[])
& -> (f64[2, 2], f64[0, 4], f64[5, 4], f64[], f64[1, 1]):
    a: f64[2, 2] = slice(x, start=(1, 0), limit=(5, 3), strides=(2, 2))
    b: f64[0, 4] = slice(x, start=(3, 0), limit=(3, 4))
    c: f64[5, 4] = slice(x, start=(0, 0), limit=(5, 4), strides=(1, 1))
    d: f64[] = slice(s, start=(), limit=())
    e: f64[1, 1] = slice(x, start=(4, 3), limit=(5, 4), strides=(7, 7))
    return a, b, c, d, e
""", (np.arange(20.0).reshape(5, 4) * -0.5, np.float64(7.0))),
    "pad": ("""
def f(x: f64[3], v: f64[], m: f64[2, 2], z: f64[0], s: f64[])
& -> (f64[8], f64[3, 3], f64[3], f64[2, 4], f64[], f64[7]):
    a: f64[8] = pad(x, v, low=(1,), high=(2,), interior=(1,))
    b: f64[3, 3] = pad(m, -1.5, low=(0, 1), high=(1, 0))
    c: f64[3] = pad(z, v, low=(2,), high=(1,), interior=(3,))
    d: f64[2, 4] = pad(m, v, low=(0, 0), high=(0, 0), interior=(0, 2))
    e: f64[] = pad(s, v, low=(), high=())
    g: f64[7] = pad(x, 0.0, low=(0,), high=(0,), interior=(2,))
    return a, b, c, d, e, g
""", (np.array([-0.0, NAN, INF]), np.float64(-2.0),
                           np.array([[1.0, 2.0], [3.0, -0.0]]), np.zeros(0), np.float64(9.0))),
    "concatenate": ("""
def f(a: f64[2, 1], b: f64[2, 0], c: f64[2, 3])
& -> (f64[2, 4], f64[2, 1], f64[4, 3], f64[2, 0]):
    j: f64[2, 4] = concatenate(a, b, c, dimension=-1)
    k: f64[2, 1] = concatenate(a, dimension=1)
    m: f64[4, 3] = concatenate(c, c, dimension=0)
    n: f64[2, 0] = concatenate(b, b, dimension=1)
    return j, k, m, n
""", (np.array([[-0.0], [NAN]]), np.zeros((2, 0)),
                           np.array([[1.0, 2.0, 3.0], [INF, -INF, 0.5]]))),
    "f32_chain": ("""
def f(x: f32[2, 3], v: f32[])
& -> (f32[4, 2], f32[]):
    t: f32[3, 2] = transpose(x, permutation=(1, 0))
    r: f32[3, 2] = rev(t, dimensions=(0,))
    s: f32[2, 2] = slice(r, start=(0, 0), limit=(3, 2), strides=(2, 1))
    p: f32[4, 2] = pad(s, v, low=(1, 0), high=(1, 0))
    e: f32[1, 4, 2] = expand_dims(p, dimensions=(0,))
    q: f32[4, 2] = squeeze(e, dimensions=(0,))
    j: f32[8, 2] = concatenate(q, p, dimension=0)
    k: f32[4, 4] = reshape(j, new_sizes=(4, 4))
    b: f32[4, 4, 2] = broadcast_in_dim(k, shape=(4, 4, 2), broadcast_dimensions=(0, 1))
    w: f32[] = reduce_sum(b, axes=(0, 1, 2))
    return q, w
""", (np.array([[1.5, -0.0, 3.0], [4.0, 1e30, -6.25]], np.float32),
                           np.float32(0.75))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float_values_and_derivatives_agree_with_the_reference(name: str) -> None:
    text, args = CASES[name]
    agree_with_reference(text, *args)


INTEGERS = """
def f(n: i64[3], m: i32[2, 2], b: bool[2])
& -> (i64[1, 3], i64[3], i64[0], i64[5], i32[2, 2], i32[4, 2], bool[5], bool[2, 2], i64[6]):
    e: i64[1, 3] = expand_dims(n, dimensions=(0,))
    s: i64[3] = rev(n, dimensions=(0,))
    z: i64[0] = slice(s, start=(2,), limit=(2,))
    p: i64[5] = pad(n, -9223372036854775808, low=(1,), high=(1,))
    t: i32[2, 2] = transpose(m, permutation=(1, 0))
    c: i32[4, 2] = concatenate(m, t, dimension=0)
    q: bool[5] = pad(b, true, low=(0,), high=(1,), interior=(2,))
    w: bool[2, 2] = broadcast_in_dim(b, shape=(2, 2), broadcast_dimensions=(1,))
    r: i64[6] = concatenate(n, s, dimension=0)
    return e, s, z, p, t, c, q, w, r
"""


def test_integers_and_booleans_are_copied_exactly() -> None:
    n = np.array([9007199254740993, -(2**63), 2**62 + 1], np.int64)
    m = np.array([[2**31 - 1, -(2**31)], [0, -7]], np.int32)
    b = np.array([True, False])
    agree_with_reference(INTEGERS, n, m, b, derivatives=False)
    got = lo.compile(prog(INTEGERS)).evaluate(n, m, b)
    assert np.asarray(got[3])[0] == -(2**63) and np.asarray(got[3])[1] == 9007199254740993


def test_results_leave_the_arguments_unchanged_and_evaluate_again() -> None:
    text, args = CASES["pad"]
    p = prog(text)
    copies = [np.array(a, copy=True) for a in args]
    c = lo.compile(p)
    first = [np.array(r, copy=True) for r in c.evaluate(*args)]
    second = c.evaluate(*args)
    for a, k in zip(args, copies):
        same_bits(a, k)
    for f, s in zip(first, second):
        same_bits(s, f)


def test_views_and_no_op_equations_emit_no_copy() -> None:
    """Shapes are static: an equation that changes nothing is its operand's name."""
    p = prog("""
def f(x: f64[2, 3]) -> f64[2, 3]:
    a: f64[2, 3] = reshape(x, new_sizes=(2, 3))
    b: f64[2, 3] = slice(a, start=(0, 0), limit=(2, 3))
    c: f64[2, 3] = rev(b, dimensions=())
    d: f64[2, 3] = transpose(c, permutation=(0, 1))
    e: f64[2, 3] = pad(d, 0.0, low=(0, 0), high=(0, 0))
    g: f64[2, 3] = concatenate(e, dimension=0)
    h: f64[2, 3] = broadcast_in_dim(g, shape=(2, 3), broadcast_dimensions=(0, 1))
    return h
""")
    c = lo.compile(p)
    x = np.arange(6.0).reshape(2, 3)
    (y,) = c.evaluate(x)
    same_bits(y, x)
    source = c._plan.source
    for name in ("reshape", "transpose", "concatenate", "pad", "broadcast"):
        assert name not in source, source


def test_transposes_emit_the_spec_primitives() -> None:
    """slice <-> pad, concatenate -> slices, broadcast_in_dim -> reduce_sum then reshape."""
    p = prog("""
def f(x: f64[5], c: f64[2, 1])
& -> (f64[2], f64[7], f64[2, 3]):
    s: f64[2] = slice(x, start=(1,), limit=(4,), strides=(2,))
    j: f64[7] = concatenate(x, s, dimension=0)
    b: f64[2, 3] = broadcast_in_dim(c, shape=(2, 3), broadcast_dimensions=(0, 1))
    return s, j, b
""")
    _, lin = lo.compile(p).linearize(np.arange(5.0), np.ones((2, 1)))
    prims = {e.primitive for e in lin.transpose().program.equations}
    assert {"pad", "slice", "reduce_sum", "reshape"} <= prims, prims
    p2 = prog("""
def f(x: f64[3], v: f64[]) -> f64[8]:
    y: f64[8] = pad(x, v, low=(1,), high=(2,), interior=(1,))
    return y
""")
    _, lin2 = lo.compile(p2).linearize(np.ones(3), np.float64(2.0))
    ct = np.arange(8.0) + 1.0
    ct_x, ct_v = lin2.transpose()(ct)
    same_bits(ct_x, np.array([2.0, 4.0, 6.0]))
    # the padding positions only: 1 + 3 + 5 + 7 + 8, summed exactly in any order
    same_bits(ct_v, np.float64(24.0))


def test_a_structure_program_of_many_equations_differentiates() -> None:
    """No recursion in depth: a chain of 3,000 structural equations."""
    lines = ["def chain(x: f64[2, 3]) -> f64[2, 3]:", "    v0: f64[2, 3] = rev(x, dimensions=(0,))"]
    for k in range(1, 3000):
        prim = ("transpose(v{}, permutation=(0, 1))", "rev(v{}, dimensions=(1,))",
                "reshape(v{}, new_sizes=(2, 3))")[k % 3].format(k - 1)
        lines.append(f"    v{k}: f64[2, 3] = {prim}")
    lines.append("    return v2999")
    p = parse_program("\n".join(lines) + "\n")
    x = np.arange(6.0).reshape(2, 3)
    _, pullback = lo.compile(p).vjp(x)
    (g,) = pullback(np.arange(6.0).reshape(2, 3))
    same_bits(g, evaluate(p, np.arange(6.0).reshape(2, 3))[0])  # an involution's adjoint


INVALID = {
    "transpose_repeat": ("f64[2, 3]", "f64[3, 2]", "transpose(x, permutation=(1, 1))",
                         ShapeError),
    "transpose_short": ("f64[2, 3]", "f64[2]", "transpose(x, permutation=(0,))", ShapeError),
    "transpose_negative": ("f64[2, 3]", "f64[3, 2]", "transpose(x, permutation=(-1, 0))",
                           ShapeError),
    "reshape_count": ("f64[2, 3]", "f64[5]", "reshape(x, new_sizes=(5,))", ShapeError),
    "reshape_wildcard": ("f64[2, 3]", "f64[6]", "reshape(x, new_sizes=(-1,))", ShapeError),
    "squeeze_size": ("f64[2, 3]", "f64[3]", "squeeze(x, dimensions=(0,))", ShapeError),
    "squeeze_range": ("f64[1, 3]", "f64[3]", "squeeze(x, dimensions=(2,))", ShapeError),
    "squeeze_repeat": ("f64[1, 3]", "f64[3]", "squeeze(x, dimensions=(0, -2))", ShapeError),
    "expand_range": ("f64[3]", "f64[1, 3]", "expand_dims(x, dimensions=(2,))", ShapeError),
    "rev_repeat": ("f64[2, 3]", "f64[2, 3]", "rev(x, dimensions=(1, -1))", ShapeError),
    "rev_range": ("f64[2, 3]", "f64[2, 3]", "rev(x, dimensions=(-3,))", ShapeError),
    "slice_limit": ("f64[4]", "f64[5]", "slice(x, start=(0,), limit=(5,))", ShapeError),
    "slice_backwards": ("f64[4]", "f64[0]", "slice(x, start=(3,), limit=(2,))", ShapeError),
    "slice_negative": ("f64[4]", "f64[2]", "slice(x, start=(-2,), limit=(4,))", ShapeError),
    "slice_stride": ("f64[4]", "f64[4]", "slice(x, start=(0,), limit=(4,), strides=(0,))",
                     ShapeError),
    "slice_length": ("f64[4, 2]", "f64[4, 2]", "slice(x, start=(0,), limit=(4,))", ShapeError),
    "slice_kind": ("f64[4]", "f64[4]", "slice(x, start=0, limit=(4,))", LintraTypeError),
    "pad_negative": ("f64[4]", "f64[3]", "pad(x, 0.0, low=(-1,), high=(0,))", ShapeError),
    "pad_length": ("f64[4]", "f64[6]", "pad(x, 0.0, low=(1, 1), high=(0, 0))", ShapeError),
    "pad_dtype": ("f64[4]", "f64[6]", "pad(x, true, low=(1,), high=(1,))", LintraTypeError),
    "concat_rank0": ("f64[]", "f64[2]", "concatenate(x, x, dimension=0)", ShapeError),
    "concat_range": ("f64[2]", "f64[4]", "concatenate(x, x, dimension=1)", ShapeError),
    "concat_kind": ("f64[2]", "f64[4]", "concatenate(x, x, dimension=(0,))", LintraTypeError),
    "bcast_order": ("f64[2, 3]", "f64[3, 2]",
                    "broadcast_in_dim(x, shape=(3, 2), broadcast_dimensions=(1, 0))", ShapeError),
    "bcast_size": ("f64[2]", "f64[3]", "broadcast_in_dim(x, shape=(3,), broadcast_dimensions=(0,))",
                   ShapeError),
    "bcast_negative": ("f64[]", "f64[2]",
                       "broadcast_in_dim(x, shape=(-2,), broadcast_dimensions=())", ShapeError),
    "unknown_param": ("f64[2]", "f64[2]", "rev(x, dimensions=(0,), axis=0)", LintraTypeError),
    "missing_param": ("f64[2]", "f64[2]", "rev(x)", LintraTypeError),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_ill_typed_equations_raise_the_reference_class(name: str) -> None:
    x, out, eqn, error = INVALID[name]
    p = parse_program(f"def bad(x: {x}) -> {out}:\n    y: {out} = {eqn}\n    return y\n")
    with pytest.raises(LintraError) as ref:
        check(p)
    with pytest.raises(LintraError) as got:
        lo.compile(p)
    assert type(ref.value) is error, ref.value
    assert type(got.value) is error, got.value
    assert got.value.equation and "y" in got.value.equation


def test_two_operand_dtypes_are_a_type_error() -> None:
    for text in ("def bad(a: f64[2], b: f32[2]) -> f64[4]:\n"
                 "    y: f64[4] = concatenate(a, b, dimension=0)\n    return y\n",
                 "def bad(a: f64[2], b: f32[]) -> f64[4]:\n"
                 "    y: f64[4] = pad(a, b, low=(1,), high=(1,))\n    return y\n",
                 "def bad(a: f64[2], b: f64[2]) -> f64[4]:\n"
                 "    y: f64[4] = pad(a, b, low=(1,), high=(1,))\n    return y\n",
                 "def bad(a: f64[2, 1], b: f64[3, 1]) -> f64[5, 1]:\n"
                 "    y: f64[5, 1] = concatenate(a, b, dimension=1)\n    return y\n"):
        p = prog(text)
        with pytest.raises(LintraError) as ref:
            check(p)
        with pytest.raises(LintraError) as got:
            lo.compile(p)
        assert type(got.value) is type(ref.value), (got.value, ref.value)
