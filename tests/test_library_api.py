"""lintra.optimized's transformations of Python functions, used as a user would use them.

Every gradient is checked three ways: against the reference interpreter on the traced
program (``lo.make_program(f)``, which the reference's ``check`` must accept), against the
conformance oracle (mpmath finite differences of the traced program, judged by the suite's
``grad_vs_oracle`` property with the bound it derives), and against central float64
finite differences along a random direction, whose tolerance is the difference quotient's
own error estimate: the change between step h and h/2 (the truncation error shrinks
fourfold, so the h/2 quotient is within a third of that change of the truth) plus the
rounding error of the quotient, a few units of |f|·u/h. The library and the reference
compute the same float64 program with the same operations, except for the order of
additions inside sums and products; the difference is then bounded to first order by
N·u·(largest magnitude), N the number of equations times the longest sum, which the
tests' well-conditioned data respect."""

from __future__ import annotations

import itertools
from collections import namedtuple
from typing import Any

import numpy as np
import optree
import pytest
import scipy.optimize

import lintra.optimized as lo
import lintra.optimized.numpy as lnp
from lintra.conformance.properties import Case, Status, run_property
from lintra.reference import check, evaluate
from lintra.reference import grad as reference_grad
from lintra.reference.errors import LinearityError, LintraTypeError, ShapeError

U = np.finfo(np.float64).eps / 2
HERE = "test_library_api.py"


def within(got: Any, want: Any, bound: Any) -> None:
    """Elementwise |got - want| <= bound (bound broadcast)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.all(np.abs(got - want) <= bound), np.max(np.abs(got - want) - bound)


def leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in optree.tree_leaves(tree)]


def directional_fd(f: Any, args: tuple, direction: list[np.ndarray]) -> tuple[float, float]:
    """The derivative of ``f(*args)`` along ``direction`` (leaves of the first argument) by
    central differences at step h and h/2: the finer quotient and its error bound."""
    tree = optree.tree_structure(args[0])
    base = leaves(args[0])
    run = lo.jit(f)

    def at(t: float) -> float:
        moved = optree.tree_unflatten(tree, [b + t * d for b, d in zip(base, direction)])
        return float(run(moved, *args[1:]))

    scale = max(float(np.max(np.abs(b))) for b in base) or 1.0
    h = scale * U ** (1 / 3)
    coarse = (at(h) - at(-h)) / (2 * h)
    fine = (at(h / 2) - at(-h / 2)) / h
    fx = abs(at(0.0))
    return fine, abs(fine - coarse) / 3 + 16 * fx * U / h


def check_gradient(f: Any, args: tuple, seed: int = 0) -> None:
    """``lo.grad(f)`` with respect to the first argument against the reference on the
    traced program and against finite differences."""
    g = lo.grad(f)(*args)
    assert optree.tree_structure(g) == optree.tree_structure(args[0])
    program = lo.make_program(f)(*args)
    check(program)
    n = len(leaves(args[0]))
    ref = reference_grad(program, *leaves(args), argnums=tuple(range(n)))
    ref = ref if isinstance(ref, tuple) else (ref,)
    got = leaves(g)
    n_eqns = len(program.equations)
    longest = max(x.size for x in leaves(args))
    scale = max(float(np.max(np.abs(r))) for r in ref)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=n_eqns * longest * U * scale)
    rng = np.random.default_rng(seed)
    direction = [rng.standard_normal(x.shape) for x in leaves(args[0])]
    fd, err = directional_fd(f, args, direction)
    along = sum(float(np.sum(a * d)) for a, d in zip(got, direction))
    assert abs(along - fd) <= err, (along, fd, err)
    check_gradient_against_the_oracle(f, args, got, direction)


class LibraryGradient:
    """The suite's backend protocol as far as ``grad_vs_oracle`` uses it: the pullback of
    the traced program's one scalar result at cotangent 1 is ``lo.grad``'s gradient with
    respect to the first argument's leaves, zero for the other parameters (along which the
    case's tangent is zero)."""

    name = "lintra.optimized grad"

    def __init__(self, value: Any, grads: list[np.ndarray]) -> None:
        self.value, self.grads = value, grads

    def vjp(self, program: Any, primals: Any) -> tuple[tuple[Any, ...], Any]:
        rest = [np.zeros(np.shape(p)) for p in primals[len(self.grads):]
                if np.asarray(p).dtype.kind == "f"]

        def pullback(cotangent: Any) -> tuple[Any, ...]:
            assert float(cotangent) == 1.0
            return (*self.grads, *rest)

        return (self.value,), pullback


def check_gradient_against_the_oracle(f: Any, args: tuple, got: list[np.ndarray],
                                      direction: list[np.ndarray]) -> None:
    """``<lo.grad(f), t>`` against the conformance oracle's mpmath directional derivative of
    the traced program along ``t``, within the bound the suite derives (its
    ``grad_vs_oracle`` property). The suite leaves out programs with ``stop_gradient``
    (derivative zero by definition, not by the values it differences)."""
    program, constants = lo.make_program(f, with_constants=True)(*args)
    primals = (*leaves(args), *(np.asarray(c) for c in constants))
    floats = [p for p in primals if p.dtype.kind == "f"]
    tangents = (*direction, *(np.zeros(p.shape) for p in floats[len(direction):]))
    case = Case(program, primals, tangents, (np.array(1.0),))
    result = run_property("grad_vs_oracle", LibraryGradient(lo.jit(f)(*args), got), case)
    if any(e.primitive == "stop_gradient" for e in program.equations):
        assert result.status is Status.SKIP and "stop_gradient" in result.reason
    else:
        assert result.status is Status.PASS, result.reason


# --------------------------------------------------------------------------------------------
# Models


def mlp_loss(params: list, x: np.ndarray, y: np.ndarray) -> Any:
    h = x
    for k, (w, b) in enumerate(params):
        h = h @ w + b
        if k < len(params) - 1:
            h = lnp.tanh(h)
    return lnp.mean((h - y) ** 2)


def mlp_problem(seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [5, 8, 6, 3]
    params = [(rng.standard_normal((a, b)) / np.sqrt(a), np.zeros(b))
              for a, b in itertools.pairwise(sizes)]
    x = rng.standard_normal((16, 5))
    y = np.sin(x[:, :3]) + 0.5 * x[:, 3:4]
    return params, x, y


def test_mlp_gradient_matches_reference_and_finite_differences() -> None:
    check_gradient(mlp_loss, mlp_problem())


def test_mlp_training_loop_reduces_the_loss() -> None:
    params, x, y = mlp_problem(1)
    step = lo.jit(lo.value_and_grad(mlp_loss))
    losses = []
    for _ in range(60):
        loss, g = step(params, x, y)
        losses.append(float(loss))
        params = optree.tree_map(lambda p, d: p - 0.1 * d, params, g)
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a for a, b in itertools.pairwise(losses))  # a small step never goes up


def rosenbrock(x: np.ndarray) -> Any:
    return lnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_rosenbrock_gradient_hessian_against_scipy() -> None:
    x = np.random.default_rng(2).uniform(-1.5, 1.5, 6)
    check_gradient(rosenbrock, (x,))
    # scipy's closed forms: a few operations each, relative error a few u times the scale
    g = lo.grad(rosenbrock)(x)
    want = scipy.optimize.rosen_der(x)
    np.testing.assert_allclose(g, want, rtol=0, atol=64 * U * np.max(np.abs(want)))
    h = lo.hessian(rosenbrock)(x)
    want_h = scipy.optimize.rosen_hess(x)
    np.testing.assert_allclose(h, want_h, rtol=0, atol=64 * U * np.max(np.abs(want_h)))
    v = np.arange(6.0)
    _, hv = lo.jvp(lo.grad(rosenbrock), (x,), (v,))  # forward over reverse
    np.testing.assert_allclose(hv, want_h @ v, rtol=0,
                               atol=64 * U * np.max(np.abs(want_h)) * np.sum(v))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> Any:
    return -lnp.mean(lnp.sum(labels * lnp.log_softmax(logits, axis=-1), axis=-1))


def test_softmax_cross_entropy_gradient() -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 5)) * 3
    labels = np.eye(5)[[0, 3, 1, 4]]
    check_gradient(softmax_cross_entropy, (logits, labels))
    # closed form: (softmax - labels) / batch
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    want = (e / e.sum(axis=1, keepdims=True) - labels) / 4
    np.testing.assert_allclose(lo.grad(softmax_cross_entropy)(logits, labels), want,
                               rtol=0, atol=64 * U)


def rnn_loss(params: dict, xs: np.ndarray) -> Any:
    h = lnp.zeros(params["w"].shape[0])
    total = 0.0
    for t in range(xs.shape[0]):  # a Python loop, unrolled by tracing
        h = lnp.tanh(params["w"] @ h + params["u"] @ xs[t] + params["b"])
        total = total + lnp.sum(h ** 2)
    return total


def test_rnn_written_with_a_python_loop() -> None:
    rng = np.random.default_rng(4)
    params = {"w": rng.standard_normal((4, 4)) * 0.5, "u": rng.standard_normal((4, 3)),
              "b": rng.standard_normal(4) * 0.1}
    xs = rng.standard_normal((6, 3))
    check_gradient(rnn_loss, (params, xs))


def reaction_diffusion(state: tuple, steps: int = 8) -> Any:
    u, r = state
    for _ in range(steps):  # explicit steps with periodic neighbours
        left = lnp.concatenate([u[-1:], u[:-1]])
        right = lnp.concatenate([u[1:], u[:1]])
        u = u + 0.1 * (left - 2.0 * u + right) + 0.05 * r * u * (1.0 - u)
    return lnp.sum(u * u)


def test_reaction_diffusion_step_loop() -> None:
    u0 = np.random.default_rng(8).uniform(0.0, 1.0, 12)
    check_gradient(reaction_diffusion, ((u0, np.array(1.5)),))


# --------------------------------------------------------------------------------------------
# Composition


def test_grad_of_grad_is_the_second_derivative() -> None:
    def f(x: Any) -> Any:
        return lnp.sin(x) * x

    for x in (0.3, 2.0, -1.7):
        want = 2 * np.cos(x) - x * np.sin(x)
        assert abs(float(lo.grad(lo.grad(f))(x)) - want) <= 8 * U * (2 + abs(x))
        third = -3 * np.sin(x) - x * np.cos(x)
        assert abs(float(lo.grad(lo.grad(lo.grad(f)))(x)) - third) <= 16 * U * (3 + abs(x))


def test_jit_of_grad_and_grad_inside_jit() -> None:
    x = np.random.default_rng(5).uniform(-1, 1, 5)
    g = lo.grad(rosenbrock)(x)
    assert np.array_equal(lo.jit(lo.grad(rosenbrock))(x), g)

    def outer(a: Any) -> Any:  # closes over a traced value of the enclosing trace
        return lo.grad(lambda v: lnp.sum(a * v ** 2))(a) + 1.0

    assert np.allclose(lo.jit(outer)(x), 2 * x * x + 1.0, rtol=4 * U, atol=0)
    assert np.allclose(lo.grad(lambda a: lnp.sum(outer(a)))(x), 4 * x, rtol=4 * U, atol=0)


def test_jvp_vjp_linearize_agree() -> None:
    rng = np.random.default_rng(6)
    a = rng.standard_normal((3, 4))
    x, v, c = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)

    def f(x: Any) -> Any:
        return lnp.tanh(a @ x)

    jac = (1 - np.tanh(a @ x) ** 2)[:, None] * a
    out, t = lo.jvp(f, (x,), (v,))
    assert np.allclose(out, np.tanh(a @ x), rtol=4 * U, atol=0)
    within(t, jac @ v, 32 * U * np.abs(jac) @ np.abs(v))
    out2, f_jvp = lo.linearize(f, x)
    assert np.array_equal(out2, out)
    np.testing.assert_allclose(f_jvp(v), t, rtol=0, atol=4 * U * np.max(np.abs(t)))
    _, f_vjp = lo.vjp(f, x)
    (ct,) = f_vjp(c)
    within(ct, jac.T @ c, 32 * U * np.abs(jac.T) @ np.abs(c))
    np.testing.assert_allclose(lo.jacfwd(f)(x), jac, rtol=0, atol=32 * U)
    np.testing.assert_allclose(lo.jacrev(f)(x), jac, rtol=0, atol=32 * U)
    # the programs they run, evaluated by the reference on their residuals
    for linear_function, arg, got, bound in (
            (f_jvp, v, f_jvp(v), 32 * U * np.abs(jac) @ np.abs(v)),
            (f_vjp, c, ct, 32 * U * np.abs(jac.T) @ np.abs(c))):
        program = linear_function.program
        check(program)
        assert all(b.type.linear for b in program.inputs[len(linear_function.residuals):])
        (ref,) = evaluate(program, *linear_function.residuals, arg)
        within(ref, got, bound)
    (back,) = lo.linear_transpose(lambda t: a @ t, x)(c)
    within(back, a.T @ c, 8 * U * np.abs(a.T) @ np.abs(c))


def test_pytrees_in_and_out_and_has_aux() -> None:
    point = namedtuple("point", "x y")

    def f(p: Any, extra: Any) -> Any:
        value = lnp.sum(p["a"].x ** 2) + p["a"].y * p["b"][0]
        return value, {"double": 2 * p["b"][1], "none": None}

    p = {"a": point(np.array([1.0, 2.0]), 3.0), "b": [np.array(4.0), np.ones(2)]}
    g, aux = lo.grad(f, has_aux=True)(p, None)
    assert optree.tree_structure(g) == optree.tree_structure(p)
    assert np.array_equal(g["a"].x, [2.0, 4.0]) and float(g["a"].y) == 4.0
    assert float(g["b"][0]) == 3.0 and np.array_equal(g["b"][1], [0.0, 0.0])
    assert aux["none"] is None and np.array_equal(aux["double"], [2.0, 2.0])
    (value, aux2), (gp,) = lo.value_and_grad(f, argnums=(0,), has_aux=True)(p, None)
    assert float(value) == 17.0 and np.array_equal(aux2["double"], [2.0, 2.0])
    assert optree.tree_all(optree.tree_map(np.array_equal, gp, g))


def test_stop_gradient() -> None:
    g = lo.grad(lambda x: x * lo.stop_gradient(x * x))(3.0)
    assert float(g) == 9.0


# --------------------------------------------------------------------------------------------
# Caching


def test_a_second_call_with_the_same_signature_traces_nothing() -> None:
    traces = []

    def f(x: Any, n: int) -> Any:
        traces.append(1)
        return lnp.sum(x ** n)

    x = np.ones(3)
    lo.grad(f)(x, 2)
    lo.grad(f)(x + 1.0, 2)  # a new grad object, same function and signature
    lo.value_and_grad(f)(x, 2)  # the trace is shared; only the transformation is new
    assert len(traces) == 1
    lo.grad(f)(np.ones(4), 2)  # another shape
    lo.grad(f)(x.astype(np.float32), 2)  # another dtype
    assert len(traces) == 3
    lo.jit(f, static_argnums=1)(x, 3)  # a static argument is part of the signature
    lo.jit(f, static_argnums=1)(x, 3)
    assert len(traces) == 4

    def g(x: Any) -> Any:
        traces.append(2)
        return lnp.sum(lnp.sin(x) ** 3)

    for _ in range(3):  # nested transformations made anew each time find their traces
        lo.grad(lambda v: lnp.sum(lo.grad(g)(v)))(x)
        lo.hessian(g)(x)
    # g is traced once: the outer lambdas (new each time) are traced again, and each of
    # their traces and the hessian's reuse g's trace and its derivatives
    assert traces.count(2) == 1


# --------------------------------------------------------------------------------------------
# Programs


def test_make_program_is_checked_and_evaluated_by_the_reference() -> None:
    weights = np.array([0.5, -1.0, 2.0])  # closed over: a constant parameter c0

    def f(x: Any) -> Any:
        return lnp.sum(lnp.tanh(x * weights) + x[0])

    x = np.array([1.0, 2.0, 3.0])
    program, constants = lo.make_program(f, with_constants=True)(x)
    check(program)
    assert [b.name for b in program.inputs] == ["x0", "c0"]
    (value,) = evaluate(program, x, *constants)
    assert float(value) == float(lo.jit(f)(x))
    assert "tanh" in str(program)


# --------------------------------------------------------------------------------------------
# Errors a user meets, each naming the user's line


def test_grad_of_a_non_scalar_result() -> None:
    with pytest.raises(LintraTypeError, match="one scalar float") as err:
        lo.grad(lambda x: x * 2.0)(np.ones(3))
    assert HERE in str(err.value) and "f64[3]" in str(err.value)


def test_grad_with_respect_to_an_integer() -> None:
    with pytest.raises(LintraTypeError, match="float arguments") as err:
        lo.grad(lambda x: lnp.sum(x * 1.5))(np.arange(3))
    assert HERE in str(err.value)


def test_pytree_and_shape_mismatches() -> None:
    def f(x: Any) -> Any:
        return lnp.sin(x)

    x = np.ones(3)
    with pytest.raises(LintraTypeError, match="structure") as err:
        lo.jvp(f, (x,), ((x, x),))
    assert HERE in str(err.value)
    with pytest.raises(ShapeError, match="shape"):
        lo.jvp(f, (x,), (np.ones(4),))
    _, f_vjp = lo.vjp(f, x)
    with pytest.raises(ShapeError, match=r"\(3,\)") as err:
        f_vjp(np.ones(2))
    assert HERE in str(err.value)
    with pytest.raises(ShapeError, match="could not be broadcast") as err:
        lo.jit(lambda a: a + np.ones(4))(x)
    assert HERE in str(err.value)


def test_python_control_flow_on_a_traced_value() -> None:
    def f(x: Any) -> Any:
        y = x * 2.0
        if y > 1.0:  # needs a concrete bool
            return y
        return -y

    with pytest.raises(lo.ConcretizationError, match="not supported yet") as err:
        lo.grad(f)(3.0)
    text = str(err.value)
    assert isinstance(err.value, LintraTypeError)
    line = f.__code__.co_firstlineno
    assert f"{HERE}:{line + 2}" in text  # where bool() was asked: the if
    assert "traced since" in text and f"{HERE}:{line + 2}" in text


def test_an_unknown_lnp_function() -> None:
    with pytest.raises(AttributeError, match=r"closest is lnp\.logsumexp") as err:
        lo.grad(lambda x: lnp.logsumexpp(x))(np.ones(2))
    assert HERE in str(err.value)


def test_linear_transpose_of_a_non_linear_function() -> None:
    x = np.ones(3)
    with pytest.raises(LinearityError, match="not linear") as err:
        lo.linear_transpose(lambda t: t * t, x)
    assert HERE in str(err.value)
    with pytest.raises(LinearityError, match="not linear"):
        lo.linear_transpose(lambda t: t + 1.0, x)


def test_a_traced_value_that_escapes() -> None:
    kept = []

    def f(x: Any) -> Any:
        kept.append(x)
        return x * 2.0

    lo.jit(f)(1.0)
    with pytest.raises(lo.EscapedTracerError):
        lo.jit(lambda y: y + kept[0])(1.0)
    with pytest.raises(lo.EscapedTracerError):
        kept[0] * 2.0  # outside any transformation


def test_errors_name_the_exact_line_of_an_operator() -> None:
    def f(x: Any) -> Any:
        y = x * 2.0 + 1.0
        z = lnp.sin(y)
        return z - np.ones(4)  # line + 3: shapes that do not broadcast

    def g(x: Any) -> Any:
        return helper(x)

    def helper(x: Any) -> Any:
        return x / np.ones((2, 2))  # helper's line + 1

    line = f.__code__.co_firstlineno
    with pytest.raises(ShapeError, match="could not be broadcast") as err:
        lo.jit(f)(np.ones(3))
    assert f"{HERE}:{line + 3}" in str(err.value)
    with pytest.raises(ShapeError, match="could not be broadcast") as err:
        lo.grad(g)(np.ones(3))
    assert f"{HERE}:{helper.__code__.co_firstlineno + 1}" in str(err.value)


# --------------------------------------------------------------------------------------------
# Jacobians of pytrees


def test_jacobians_of_pytrees_nest_as_jax_does() -> None:
    """The result's structure outside, the argument's inside, blocks shaped result leaf +
    argument leaf; each entry a few roundings of its closed form (cos, sin, products)."""
    w, v = np.array([0.3, -1.2]), np.array(0.7)

    def f(p: Any, scale: Any) -> Any:
        return {"y": lnp.sin(p["w"]) * p["v"] * scale, "z": lnp.sum(p["w"] ** 2) + p["v"] ** 3}

    p = {"w": w, "v": v}
    want = {"y": {"w": np.diag(np.cos(w) * v * 2.0), "v": np.sin(w) * 2.0},
            "z": {"w": 2 * w, "v": 3 * v ** 2}}
    for jac in (lo.jacfwd(f)(p, 2.0), lo.jacrev(f)(p, 2.0)):
        assert optree.tree_structure(jac) == optree.tree_structure(want)
        for got, expected in zip(optree.tree_leaves(jac), optree.tree_leaves(want)):
            assert got.shape == expected.shape
            within(got, expected, 4 * U * np.abs(expected))
    both = lo.jacrev(f, argnums=(0, 1))(p, 2.0)
    assert optree.tree_structure(both["y"]) == optree.tree_structure(({"v": 0, "w": 0}, 0))
    within(both["y"][1], np.sin(w) * v, 4 * U * np.abs(np.sin(w) * v))
    within(both["z"][1], np.zeros(()), 0.0)

    def g(p: Any) -> Any:
        return lnp.sum(p["w"] ** 2) * p["v"]

    h = lo.hessian(g)(p)
    want_h = {"w": {"w": 2 * v * np.eye(2), "v": 2 * w}, "v": {"w": 2 * w, "v": np.zeros(())}}
    assert optree.tree_structure(h) == optree.tree_structure(want_h)
    for got, expected in zip(optree.tree_leaves(h), optree.tree_leaves(want_h)):
        assert got.shape == expected.shape
        within(got, expected, 4 * U * np.abs(expected))
    with pytest.raises(LintraTypeError, match="float results"):
        lo.jacfwd(lambda x: (x, lnp.argmax(x)))(w)


# --------------------------------------------------------------------------------------------
# Arrays of another library (CuPy with the gpu extra), through a stand-in


class DeviceArray(np.ndarray):
    """Stands for a CuPy array: NumPy's data, a type the engine's ``table_of`` takes for
    CuPy's (its module is named ``cupy``)."""


DeviceArray.__module__ = "cupy"


class DeviceNamespace:
    """Stands for the ``cupy`` module: NumPy's functions, ``asarray`` giving device arrays;
    remembers which names plans asked for."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def asarray(self, x: Any, dtype: Any = None) -> DeviceArray:
        self.used.add("asarray")
        return np.asarray(x, dtype=dtype).view(DeviceArray)

    def __getattr__(self, name: str) -> Any:
        self.used.add(name)
        return getattr(np, name)


def test_device_arrays_run_on_their_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CuPy-like argument makes the transformation run the plan bound to that library's
    table (the engine's CuPy path), the NumPy arguments and captured arrays moved there;
    the same trace serves NumPy arguments."""
    from lintra.optimized import arrays

    xp = DeviceNamespace()
    monkeypatch.setitem(arrays._FACTORIES, "cupy", lambda: arrays.ArrayTable(
        "cupy", xp, arrays.LazyModule("scipy.special"), np.asarray))
    monkeypatch.setattr(arrays, "_TABLES", {})  # the stand-in's table forgotten after
    scale = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(x: Any, y: Any) -> Any:
        calls.append(1)
        return lnp.sum(lnp.sin(x * scale) * y)

    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 0.5])
    value, grads = lo.value_and_grad(f, argnums=(0, 1))(x, y)
    dvalue, dgrads = lo.value_and_grad(f, argnums=(0, 1))(xp.asarray(x), y)
    assert "sin" in xp.used  # the plan was bound to the device table
    xp.used.clear()
    dvalue, dgrads = lo.value_and_grad(f, argnums=(0, 1))(xp.asarray(x), y)
    assert len(calls) == 1  # one trace for both libraries
    assert "asarray" in xp.used  # the arguments moved to the device on every call
    assert float(dvalue) == float(value)
    for d, g in zip(dgrads, grads):
        assert np.array_equal(np.asarray(d), g)
    assert np.array_equal(np.asarray(lo.jit(lambda v: lnp.tanh(v))(xp.asarray(x))),
                          np.tanh(x))
    xp.used.clear()
    jac = lo.jacrev(lambda v: lnp.sin(v) * 2.0)(xp.asarray(x))
    assert "stack" in xp.used and np.array_equal(np.asarray(jac), np.diag(np.cos(x) * 2.0))


def test_jit_of_a_gradient_keeps_its_rematerialized_plan() -> None:
    """jit(value_and_grad(f)) inlines the gradient's plan graph, whose cheap residuals are
    recomputed in the backward sweep, not the graph that keeps them: its peak memory is that
    of value_and_grad(f) run alone, within one array (keeping the residuals would add about
    one array per step: thirty here)."""
    import gc
    import tracemalloc

    def f(u0, r):
        u = u0
        for _ in range(30):
            left = lnp.concatenate([u[-1:], u[:-1]])
            right = lnp.concatenate([u[1:], u[:1]])
            u = u + 0.1 * (left + right - 2.0 * u) + u * (1.0 - u) * r
        return lnp.sum(u * u)

    def peak(fn: Any, args: tuple) -> int:
        fn(*args)
        gc.collect()
        tracemalloc.start()
        try:
            fn(*args)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    args = (np.linspace(0.0, 1.0, 4096), np.float64(0.005))
    alone = lo.value_and_grad(f, argnums=(0, 1))
    assert peak(lo.jit(alone), args) <= peak(alone, args) + args[0].nbytes
