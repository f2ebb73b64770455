"""The optimized engine's core: conversion both ways, the transformations, plans, caching
and the errors of its program-level API (issue 13). Per-primitive rules are tested in the
``test_optimized_<family>.py`` files; the conformance suite checks everything against the
reference."""

from __future__ import annotations

import numpy as np
import pytest

import lintra.optimized as lo
import lintra.optimized.plan as plan_module
from lintra.optimized.convert import from_program, to_program
from lintra.optimized.ir import Lit
from lintra.reference import check, evaluate
from lintra.reference.derived import hvp, jvp, vjp
from lintra.reference.errors import (
    LinearityError,
    LintraError,
    LintraTypeError,
    ShapeError,
    UnsupportedPrimitiveError,
)
from lintra.reference.parse import parse, parse_program

SMOOTH = """
def f(x: f64[3], w: f64[]) -> f64[]:
    y: f64[3] = sin(x)
    z: f64[3] = mul(y, w)
    u: f64[3] = sub(z, x)
    c: f64[3] = cos(u)
    v: f64[3] = mul(c, z)
    s: f64[] = reduce_sum(v, axes=(0,))
    return s
"""

X = np.array([0.1, -0.5, 2.0])
W = 1.5


@pytest.fixture(scope="module")
def smooth():
    return parse_program(SMOOTH)


def test_evaluate_jvp_vjp_hvp_agree_with_the_reference(smooth) -> None:
    c = lo.compile(smooth)
    (y,) = c.evaluate(X, W)
    assert np.asarray(y) == evaluate(smooth, X, W)[0]
    t = (np.array([1.0, 0.25, -2.0]), 0.5)
    outs, touts = c.jvp([X, W], list(t))
    r_outs, r_touts = jvp(smooth, [X, W], list(t))
    assert np.asarray(outs[0]) == r_outs[0]
    np.testing.assert_allclose(np.asarray(touts[0]), r_touts[0], rtol=1e-14)
    _, pullback = c.vjp(X, W)
    _, r_pullback = vjp(smooth, X, W)
    for got, want in zip(pullback(1.0), r_pullback(np.float64(1.0))):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14)
    for got, want in zip(c.hvp([X, W], list(t)), hvp(smooth, [X, W], list(t))):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)


def test_grad_and_value_and_grad(smooth) -> None:
    c = lo.compile(smooth)
    value, (gx, gw) = c.value_and_grad(X, W, argnums=(0, 1))
    _, r_pullback = vjp(smooth, X, W)
    rx, rw = r_pullback(np.float64(1.0))
    np.testing.assert_allclose(gx, rx, rtol=1e-14)
    np.testing.assert_allclose(gw, rw, rtol=1e-14)
    np.testing.assert_allclose(c.grad(X, W, argnums=1), rw, rtol=1e-14)
    assert value == evaluate(smooth, X, W)[0]


def test_every_emitted_program_passes_the_reference_check(smooth) -> None:
    c = lo.compile(smooth)
    check(c.jvp_program())
    _, lin = c.linearize(X, W)
    check(lin.program)
    check(lin.transpose().program)
    check(to_program(from_program(smooth)))
    # and the reference evaluates the linear program to the engine's tangent
    t = (np.array([1.0, 0.25, -2.0]), 0.5)
    ref = evaluate(lin.program, *lin.residuals, *t)
    np.testing.assert_allclose(np.asarray(lin(*t)[0]), ref[0], rtol=1e-15)


def test_every_derivative_is_a_program_the_reference_runs(smooth) -> None:
    c = lo.compile(smooth)
    t = [np.array([1.0, 0.25, -2.0]), 0.5]
    primal, linear = c.unzipped_programs()
    for p in (primal, linear, c.transposed_program(), c.value_and_grad_program((0, 1)),
              c.hvp_program()):
        check(p)
    outs = evaluate(primal, X, W)
    (dy,) = evaluate(linear, *outs[1:], *t)
    np.testing.assert_allclose(dy, c.jvp([X, W], t)[1][0], rtol=1e-15)
    value, gx, gw = evaluate(c.value_and_grad_program((0, 1)), X, W)
    want_value, (want_gx, want_gw) = c.value_and_grad(X, W, argnums=(0, 1))
    assert value == want_value
    np.testing.assert_array_equal(gx, want_gx)
    assert gw == want_gw
    hv = evaluate(c.hvp_program(), X, W, *t)
    for got, want in zip(hv[2:], c.hvp([X, W], t)):
        np.testing.assert_allclose(got, want, rtol=1e-14)


def test_linearize_saves_only_what_the_linear_program_reads(smooth) -> None:
    _, lin = lo.compile(smooth).linearize(X, W)
    info = lin.residual_info()
    names = {e.primitive for e in lin.program.equations}
    assert names <= {"mul", "sub", "add", "neg", "reduce_sum", "dup", "broadcast_in_dim"}
    assert len(info) == len(lin.residuals)
    assert all(nbytes == np.asarray(r).nbytes for (_, _, nbytes), r in zip(info, lin.residuals))


def test_a_compiled_program_is_remembered_by_value_and_transforms_once(smooth) -> None:
    a = lo.compile(smooth)
    b = lo.compile(parse_program(SMOOTH))
    assert a is b
    a.vjp(X, W)
    first = a._unzipped
    a.vjp(X + 1, W)
    assert a._unzipped is first


def test_the_step_plan_computes_what_the_straight_line_plan_does(smooth, monkeypatch) -> None:
    g = from_program(smooth)
    from lintra.optimized.arrays import table

    straight = plan_module.Plan(g, table())
    monkeypatch.setattr(plan_module, "STRAIGHT_LINE_LIMIT", 0)
    steps = plan_module.Plan(g, table())
    assert steps._source is None and "def plan" in steps.source
    assert straight(X, np.float64(W))[0] == steps(X, np.float64(W))[0]


LINEAR = """
def scaled(c: f64[3], t: lin f64[3], s: lin f64[]) -> (lin f64[3], f64[]):
    u, v = dup(t)
    a: lin f64[3] = mul(c, u)
    b: lin f64[3] = neg(v)
    e: lin f64[3] = add(a, b)
    z: lin f64[3] = zero()
    g: lin f64[3] = add(e, z)
    drop(s)
    k: f64[] = reduce_sum(c, axes=(0,))
    return g, k
"""


def test_a_linear_program_runs_transposes_and_keeps_the_discipline() -> None:
    p = parse_program(LINEAR)
    c = lo.compile(p)
    cval = np.array([1.0, 2.0, 3.0])
    t = np.array([0.5, -1.0, 2.0])
    g, k = c.evaluate(cval, t, 0.0)
    np.testing.assert_array_equal(g, cval * t - t)
    assert np.asarray(k) == 6.0
    transposed = c.transpose()
    check(transposed.program)
    ct = np.array([1.0, 1.0, -1.0])
    dt, ds = transposed.evaluate(cval, ct)
    np.testing.assert_array_equal(dt, cval * ct - ct)
    assert np.asarray(ds) == 0.0
    check(to_program(from_program(p)))


def test_literals_keep_their_dtype_when_written_back() -> None:
    p = parse_program("""
def f(x: f32[2]) -> f32[2]:
    y: f32[2] = mul(x, 0.1)
    return y
""")
    c = lo.compile(p)
    x = np.array([1.0, 3.0], dtype=np.float32)
    (y,) = c.evaluate(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x * np.float32(0.1))
    _, lin = c.linearize(x)
    check(lin.program)
    check(lin.transpose().program)


def test_equal_literals_are_made_once_and_zeros_keep_their_sign() -> None:
    """Conversion makes one constant per dtype and value (a long program's repeated
    literals once), never one for 0.0 and -0.0, nor for an integer and a boolean."""
    p = parse_program("""
def f(x: f64[2], n: i64[2], b: bool[2]) -> (f64[2], f64[2], f64[2], i64[2], bool[2]):
    a: f64[2] = mul(x, 2.0)
    c: f64[2] = mul(a, 2.0)
    d: f64[2] = mul(c, 0.0)
    e: f64[2] = mul(c, -0.0)
    m: i64[2] = mul(n, 1)
    k: bool[2] = and(b, true)
    return c, d, e, m, k
""")
    g = from_program(p)
    lits = [a for eq in g.eqns for a in eq.ins if isinstance(a, Lit)]
    two_a, two_b, zero, negative_zero, one, true = lits
    assert two_a is two_b and zero is not negative_zero
    assert len({id(one), id(true)}) == 2 and one.dtype == "i64" and true.dtype == "bool"
    x, n, b = np.array([1.0, -3.0]), np.array([4, -5]), np.array([True, False])
    c, d, e, m, k = lo.compile(p).evaluate(x, n, b)
    np.testing.assert_array_equal(c, 4.0 * x)
    np.testing.assert_array_equal(np.signbit(d), [False, True])    # 4x * +0.0
    np.testing.assert_array_equal(np.signbit(e), [True, False])    # 4x * -0.0
    np.testing.assert_array_equal(m, n)
    np.testing.assert_array_equal(k, b)


@pytest.mark.parametrize("args, error", [
    ((X,), LintraTypeError),                          # too few
    ((X, W, W), LintraTypeError),                     # too many
    ((np.ones(4), W), ShapeError),                    # wrong shape
    ((X, "a"), LintraTypeError),                      # not numeric
    ((np.array([[1.0], [2.0, 3.0]], dtype=object), W), LintraError),   # ragged
])
def test_bad_arguments_are_lintra_errors(smooth, args, error) -> None:
    with pytest.raises(error):
        lo.compile(smooth).evaluate(*args)


def test_misuses_the_reference_refuses_are_refused_alike(smooth) -> None:
    """The engine's API answers as the reference's (issue 14's fuzzing): a ragged argument
    or cotangent is a ShapeError, compile of anything but a Program a LintraTypeError, and
    a NumPy integer argnums names one parameter (a NumPy bool does not)."""
    ragged = [[1.0], [2.0, 3.0]]
    with pytest.raises(ShapeError, match="ragged"):
        lo.compile(smooth).evaluate(ragged, W)
    c = lo.compile(parse_program("def f(x: f64[2]) -> f64[]:\n"
                                 "    y: f64[] = reduce_sum(x, axes=(0,))\n    return y\n"))
    _, pullback = c.vjp(np.ones(2))
    with pytest.raises(ShapeError, match="ragged"):
        pullback(ragged)
    for wrong in (None, "def f(x: f64[]) -> f64[]:\n    return x\n",
                  parse("def f(x: f64[]) -> f64[]:\n    return x\n")):
        with pytest.raises(LintraTypeError, match="compile takes a Program"):
            lo.compile(wrong)
    np.testing.assert_array_equal(c.grad(np.ones(2), argnums=np.int64(0)), [1.0, 1.0])
    with pytest.raises(LintraTypeError, match="argnums"):
        c.grad(np.ones(2), argnums=np.bool_(False))


def test_integer_arguments_never_wrap() -> None:
    p = parse_program("""
def f(n: i32[], x: f64[]) -> f64[]:
    y: f64[] = mul(x, x)
    return y
""")
    c = lo.compile(p)
    with pytest.raises(LintraTypeError, match="range"):
        c.evaluate(2**31, 1.0)
    with pytest.raises(LintraTypeError, match="integral"):
        c.evaluate(1.5, 1.0)
    with pytest.raises(LintraTypeError, match="only float"):
        c.grad(1, 1.0, argnums=0)
    assert np.asarray(c.grad(1, 3.0, argnums=1)) == 6.0
    wide = lo.compile(parse_program("""
def g(n: i64[2]) -> i64[2]:
    m: i64[2] = add(n, 0)
    return m
"""))
    edges = [-(2**63), 2**63 - 1]
    np.testing.assert_array_equal(wide.evaluate(edges)[0], edges)  # a Python list: converted
    with pytest.raises(LintraTypeError, match="range"):
        wide.evaluate([0, 2**63])
    with pytest.raises(LintraTypeError, match="range"):
        wide.evaluate(np.array([0.0, 2.0**63]))


def test_derivative_requests_are_checked(smooth) -> None:
    c = lo.compile(smooth)
    with pytest.raises(LintraTypeError, match="tangents"):
        c.jvp([X, W], [np.ones(3)])
    with pytest.raises(LintraTypeError, match="float"):
        c.jvp([X, W], [np.ones(3, dtype=np.int64), 1.0])
    with pytest.raises(ShapeError):
        c.jvp([X, W], [np.ones(2), 1.0])
    for argnums in (True, (0, 0), 5, None, 1.0):
        with pytest.raises(LintraTypeError, match="argnums"):
            c.grad(X, W, argnums=argnums)
    with pytest.raises(LinearityError):
        c.transpose()
    _, pullback = c.vjp(X, W)
    with pytest.raises(LintraTypeError):
        pullback(1.0, 2.0)
    vector = lo.compile(parse_program("""
def g(x: f64[3]) -> f64[3]:
    y: f64[3] = sin(x)
    return y
"""))
    with pytest.raises(LintraTypeError, match="scalar"):
        vector.grad(X)


@pytest.mark.parametrize("text, error", [
    ("def f(x: f64[3]) -> f64[3]:\n    y: f64[3] = frobnicate(x)\n    return y\n",
     UnsupportedPrimitiveError),
    ("def f(x: f64[3], y: f64[2]) -> f64[3]:\n    z: f64[3] = add(x, y)\n    return z\n",
     ShapeError),
    ("def f(x: f64[3], n: i64[3]) -> f64[3]:\n    z: f64[3] = add(x, n)\n    return z\n",
     LintraTypeError),
    ("def f(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = add(t, t)\n    return u\n",
     LinearityError),
    ("def f(t: lin f64[3]) -> lin f64[3]:\n    u: lin f64[3] = sin(t)\n    return u\n",
     LinearityError),
    ("def f(c: f64[3], t: lin f64[3]) -> f64[3]:\n    y: f64[3] = sin(c)\n    return y\n",
     LinearityError),
    ("def f(x: f64[3]) -> f64[3]:\n    y: f64[2] = sin(x)\n    return y\n",
     LintraTypeError),
])
def test_ill_typed_programs_raise_the_class_the_reference_raises(text, error) -> None:
    p = parse_program(text)
    with pytest.raises(error):
        check(p)
    with pytest.raises(error) as caught:
        lo.compile(p)
    assert caught.value.program == "f"


def test_an_error_names_the_equation() -> None:
    p = parse_program("def f(x: f64[3], y: f64[2]) -> f64[3]:\n"
                      "    s: f64[3] = sin(x)\n    z: f64[3] = add(s, y)\n    return z\n")
    with pytest.raises(ShapeError) as caught:
        lo.compile(p)
    assert "equation 2: z: f64[3] = add(s, y)" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 3


def test_a_program_of_ten_thousand_equations_differentiates_without_recursion() -> None:
    n = 10_000
    lines = ["def chain(x: f64[3]) -> f64[]:", "    w: f64[3] = sin(x)",
             "    s: f64[3] = mul(w, 0.001)", "    v0: f64[3] = copy(x)"]
    for k in range(1, n):
        step = "mul(v{}, 1.0001)" if k % 2 else "add(v{}, s)"
        lines.append(f"    v{k}: f64[3] = {step.format(k - 1)}")
    lines += [f"    r: f64[] = reduce_sum(v{n - 1}, axes=(0,))", "    return r"]
    p = parse_program("\n".join(lines))
    x = np.array([0.1, 0.2, 0.3])
    grad = lo.compile(p).grad(x)
    # the same recurrence for the derivative, in NumPy
    d, ds = np.ones(3), 0.001 * np.cos(x)
    for k in range(1, n):
        d = d * 1.0001 if k % 2 else d + ds
    np.testing.assert_allclose(grad, d, rtol=1e-12)


def test_run_time_errors_name_the_equation_and_constants_are_folded(monkeypatch) -> None:
    p = parse_program("""
def f(x: f64[3], n: i64[]) -> (f64[3], i64[]):
    a: f64[] = exp(2.0)
    c: f64[3] = mul(x, a)
    d: i64[] = div(7, n)
    q: i64[] = div(7, 0)
    r: i64[] = add(d, q)
    return c, r
""")
    from lintra.optimized.api import Compiled
    from lintra.optimized.arrays import table
    from lintra.reference.errors import EvaluationError

    for limit in (plan_module.STRAIGHT_LINE_LIMIT, 0):
        monkeypatch.setattr(plan_module, "STRAIGHT_LINE_LIMIT", limit)
        c = Compiled(from_program(p), table())
        for n, where in ((0, "equation 3: d: i64[] = div(7, n)"),
                         (1, "equation 4: q: i64[] = div(7, 0)")):  # not folded: it raises
            with pytest.raises(EvaluationError) as caught:
                c.evaluate(np.ones(3), n)
            assert where in str(caught.value) and caught.value.program == "f"
    assert "exp" not in c._plan.source  # exp(2.0) was computed once, when it was built


def test_jacobians_and_hessian_agree_with_the_reference(smooth) -> None:
    from lintra.reference.derived import hessian, jacfwd, jacrev

    def same(got: object, want: object) -> None:
        if isinstance(want, tuple):
            assert isinstance(got, tuple) and len(got) == len(want)
            for g, w in zip(got, want):
                same(g, w)
        else:
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13, atol=1e-15)

    c = lo.compile(smooth)
    for mine, theirs in ((c.jacfwd, jacfwd), (c.jacrev, jacrev), (c.hessian, hessian)):
        for argnums in (0, 1, (0, 1)):
            same(mine(X, W, argnums=argnums), theirs(smooth, X, W, argnums=argnums))
    vector = lo.compile(parse_program("""
def g(x: f64[3], w: f64[]) -> (f64[3], f64[2]):
    y: f64[3] = mul(x, w)
    z: f64[2] = slice(y, start=(1,), limit=(3,))
    return y, z
"""))
    jf, jr = vector.jacfwd(X, W, argnums=(0, 1)), vector.jacrev(X, W, argnums=(0, 1))
    assert [b.shape for row in jf for b in row] == [(3, 3), (3,), (2, 3), (2,)]
    for row_f, row_r in zip(jf, jr):
        for f, r in zip(row_f, row_r):
            np.testing.assert_array_equal(f, r)


def test_a_buffer_another_value_may_view_is_never_written_over() -> None:
    p = parse_program("""
def f(x: f64[2, 3]) -> (f64[6], f64[2, 3]):
    y: f64[2, 3] = exp(x)
    z: f64[6] = reshape(y, new_sizes=(6,))
    w: f64[2, 3] = sin(y)
    v: f64[2, 3] = cos(w)
    return z, v
""")
    x = np.arange(6.0).reshape(2, 3) / 10
    z, v = lo.compile(p).evaluate(x)
    np.testing.assert_array_equal(z, np.exp(x).reshape(6))
    np.testing.assert_array_equal(v, np.cos(np.sin(np.exp(x))))
    assert "out=" in lo.compile(p)._plan.source  # cos may write over sin's result


def test_a_linear_value_converted_to_an_integer_is_refused_as_the_reference_refuses_it(
) -> None:
    p = parse_program("""
def f(t: lin f64[3]) -> i32[3]:
    n: i32[3] = convert_element_type(t, new_dtype="i32")
    return n
""")
    with pytest.raises(LinearityError):
        check(p)
    with pytest.raises(LinearityError, match="only float values can be linear"):
        lo.compile(p)


def test_results_never_share_memory_with_the_arguments() -> None:
    p = parse_program("""
def f(x: f64[2, 3]) -> (f64[6], f64[2, 3], f64[3, 2]):
    y: f64[6] = reshape(x, new_sizes=(6,))
    z: f64[2, 3] = copy(x)
    w: f64[3, 2] = transpose(x, permutation=(1, 0))
    return y, z, w
""")
    x = np.arange(6.0).reshape(2, 3)
    for out in lo.compile(p).evaluate(x):
        assert not np.shares_memory(out, x)
    _, pullback = lo.compile(parse_program("""
def g(x: f64[3]) -> f64[3]:
    y: f64[3] = copy(x)
    return y
""")).vjp(np.ones(3))
    ct = np.array([1.0, 2.0, 3.0])
    (got,) = pullback(ct)
    assert not np.shares_memory(got, ct)


def test_programs_alike_where_the_cache_key_looks_are_still_told_apart() -> None:
    """The compile cache hashes a sample of the equations; programs that differ only in an
    equation outside the sample hash alike and are compared in full."""
    from lintra.optimized.api import _ProgramKey

    def chain(factor: str) -> str:
        lines = ["def alike(x: f64[3]) -> f64[]:", "    v0 = sin(x)"]
        for k in range(1, 200):
            scale = factor if k == 197 else "1.5"
            lines.append(f"    v{k} = mul(v{k - 1}, {scale})" if k % 2 else
                         f"    v{k} = sin(v{k - 1})")
        lines += ["    r = reduce_sum(v199, axes=(0,))", "    return r"]
        return "\n".join(lines) + "\n"

    p, q = parse_program(chain("2.0")), parse_program(chain("3.0"))
    assert p != q
    assert hash(_ProgramKey(p)) == hash(_ProgramKey(q))  # equation 198 is not in the sample
    a, b = lo.compile(p), lo.compile(q)
    assert a is not b
    assert a is lo.compile(parse_program(chain("2.0")))
    (va,), (vb,) = a.evaluate(X), b.evaluate(X)
    (ra,), (rb,) = evaluate(p, X), evaluate(q, X)
    assert va == ra and vb == rb and va != vb
