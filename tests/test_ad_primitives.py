"""Every primitive's JVP rule against the finite-difference oracle, and every transpose rule
by the adjoint identity, each on a one-equation program (spec 4.4 and 5.4).

Inputs are drawn inside each primitive's domain and away from its kinks; the kinks
themselves are chapter 6's and are checked exactly in ``test_kinks.py``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from lintra.conformance.oracle import directional_derivative
from lintra.reference import PRIMITIVES, check, evaluate, parse_program
from lintra.reference.derived import hvp, jvp, vjp
from lintra.reference.emit import Emitter, NameSupply
from lintra.reference.transpose import transpose_program

# name -> (parameters, the call, a sampling interval per parameter)
UNARY_RANGES = {
    "neg": (-2, 2), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9), "atan": (-3, 3), "sinh": (-3, 3), "cosh": (-3, 3), "tanh": (-3, 3),
    "asinh": (-3, 3), "acosh": (1.1, 4), "atanh": (-0.9, 0.9), "exp": (-3, 3),
    "expm1": (-3, 3), "log": (0.1, 5), "log1p": (-0.9, 5), "sqrt": (0.1, 5),
    "rsqrt": (0.1, 5), "cbrt": (0.1, 5), "logistic": (-5, 5), "erf": (-2, 2), "abs": (0.1, 3),
    "sign": (0.1, 3), "floor": (0.1, 0.9), "ceil": (0.1, 0.9), "round": (0.1, 0.4),
    "square": (-3, 3),
}

CASES: dict[str, tuple[str, str, list[tuple[float, float]]]] = {}
for _name, _r in UNARY_RANGES.items():
    CASES[_name] = ("x: f64[3]", f"{_name}(x)", [_r])
CASES.update({
    "integer_pow": ("x: f64[3]", "integer_pow(x, y=-3)", [(0.5, 2)]),
    "add": ("x: f64[3], y: f64[]", "add(x, y)", [(-2, 2), (-2, 2)]),
    "sub": ("x: f64[], y: f64[3]", "sub(x, y)", [(-2, 2), (-2, 2)]),
    "mul": ("x: f64[3], y: f64[3]", "mul(x, y)", [(-2, 2), (-2, 2)]),
    "div": ("x: f64[3], y: f64[3]", "div(x, y)", [(-2, 2), (0.5, 2)]),
    "pow": ("x: f64[3], y: f64[3]", "pow(x, y)", [(0.5, 2), (-2, 2)]),
    "atan2": ("x: f64[3], y: f64[3]", "atan2(x, y)", [(-2, 2), (0.5, 2)]),
    "rem": ("x: f64[3], y: f64[3]", "rem(x, y)", [(2.1, 2.9), (1.0, 1.0)]),
    "max": ("x: f64[3], y: f64[3]", "max(x, y)", [(1, 2), (-2, -1)]),
    "min": ("x: f64[3], y: f64[3]", "min(x, y)", [(1, 2), (-2, -1)]),
    "clamp": ("x: f64[3], y: f64[3]", "clamp(-1.0, x, y)", [(-0.5, 0.5), (1, 2)]),
    "select_n": ("x: f64[3], y: f64[3]", "select_n(true, x, y)", [(-2, 2), (-2, 2)]),
    "broadcast_in_dim": ("x: f64[3]", "broadcast_in_dim(x, shape=(2, 3), "
                         "broadcast_dimensions=(1,))", [(-2, 2)]),
    "reshape": ("x: f64[2, 3]", "reshape(x, new_sizes=(3, 2))", [(-2, 2)]),
    "transpose": ("x: f64[2, 3]", "transpose(x, permutation=(1, 0))", [(-2, 2)]),
    "squeeze": ("x: f64[3, 1]", "squeeze(x, dimensions=(1,))", [(-2, 2)]),
    "expand_dims": ("x: f64[3]", "expand_dims(x, dimensions=(0,))", [(-2, 2)]),
    "rev": ("x: f64[3]", "rev(x, dimensions=(0,))", [(-2, 2)]),
    "slice": ("x: f64[5]", "slice(x, start=(1,), limit=(5,), strides=(2,))", [(-2, 2)]),
    "pad": ("x: f64[3], y: f64[]", "pad(x, y, low=(1,), high=(2,), interior=(1,))",
            [(-2, 2), (-2, 2)]),
    "concatenate": ("x: f64[3], y: f64[2]", "concatenate(x, y, dimension=0)",
                    [(-2, 2), (-2, 2)]),
    "dynamic_slice": ("x: f64[5]", "dynamic_slice(x, 3, slice_sizes=(3,))", [(-2, 2)]),
    "dynamic_update_slice": ("x: f64[5], y: f64[2]", "dynamic_update_slice(x, y, 1)",
                             [(-2, 2), (-2, 2)]),
    "dot_general": ("x: f64[2, 3], y: f64[3, 2]",
                    "dot_general(x, y, contracting_dims=((1,), (0,)))", [(-2, 2), (-2, 2)]),
    "reduce_sum": ("x: f64[2, 3]", "reduce_sum(x, axes=(1,))", [(-2, 2)]),
    "reduce_max": ("x: f64[2, 3]", "reduce_max(x, axes=(0,))", [(-2, 2)]),
    "reduce_min": ("x: f64[2, 3]", "reduce_min(x, axes=(1, 0))", [(-2, 2)]),
    "cumsum": ("x: f64[2, 3]", "cumsum(x, axis=1, reverse=true)", [(-2, 2)]),
    "cumprod": ("x: f64[2, 3]", "cumprod(x, axis=1)", [(-2, 2)]),
    "cummax": ("x: f64[2, 3]", "cummax(x, axis=0)", [(-2, 2)]),
    "copy": ("x: f64[3]", "copy(x)", [(-2, 2)]),
    "gather": ("x: f64[3, 2], i: i64[4]", "gather(x, i)", [(-2, 2), (0, 2)]),
    "scatter_add": ("x: f64[3], i: i64[4], y: f64[4]", "scatter_add(x, i, y)",
                    [(-2, 2), (0, 2), (-2, 2)]),
    "sort": ("x: f64[2, 4]", "sort(x, dimension=1)", [(-2, 2)]),
    "convert_element_type": ("x: f64[3]", "convert_element_type(x, new_dtype=\"f32\")",
                             [(-2, 2)]),
})


def build(name: str):
    """The one-equation program of ``name``, its result type inferred by the emitter."""
    params, call, ranges = CASES[name]
    probe = parse_program(f"def probe({params}) -> f64[]:\n    r = {call}\n    return r\n")
    em = Emitter(NameSupply())
    for b in probe.inputs:
        em.bind_existing(b.name, b.type)
    e = probe.equations[0]
    (out,) = em.emit(e.primitive, *e.inputs, **dict(e.params))
    text = f"def f({params}) -> {em.types[out.name]}:\n    r = {call}\n    return r\n"
    return parse_program(text), ranges


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_matches_oracle(name: str) -> None:
    p, ranges = build(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    primals = [
        rng.integers(lo, hi + 1, size=b.type.array.shape) if b.type.array.dtype.is_int
        else rng.uniform(lo, hi, size=b.type.array.shape)
        for b, (lo, hi) in zip(p.inputs, ranges)
    ]
    tangents = [rng.normal(size=b.type.array.shape) for b in p.inputs
                if b.type.array.dtype.is_float]
    _, (dy,) = jvp(p, primals, tangents, dps=50)
    est = directional_derivative(p, primals, tangents)
    dy = np.asarray(dy, dtype=object)
    for v, e, bound in zip(dy.reshape(-1), est.values[0].reshape(-1),
                           est.bounds[0].reshape(-1)):
        # The oracle's bound, plus 1e-40 relative for the 50-digit evaluation of the JVP.
        assert abs(v - e) <= bound + mpmath.mpf("1e-40") * max(1, abs(e)), (name, v, e)


POW_XY = parse_program("def f(x: f64[], y: f64[]) -> f64[]:\n    z: f64[] = pow(x, y)\n"
                       "    return z\n")


@pytest.mark.parametrize("x", [0.7, 2.1, -2.0, 1e-310])
def test_pow_hessian_keeps_the_mixed_partial_at_a_zero_exponent(x: float) -> None:
    """At y = 0 the ∂x coefficient is 0·(1/x), whose derivative in y is the mixed partial
    1/x (spec 3.2: the guard replaces only the nan at x = ±0 or nan); a guard on all of
    y = 0 made it 0, so the Hessian was not symmetric. The Hessian of x^y at y = 0 is
    [[0, 1/x], [1/x, log²x]]: forward over reverse along (tx, ty) gives (ty/x, tx/x +
    log²(x)·ty). At x < 0, x^y is real at integer y only and has no derivative in y (∂y is
    nan, chapter 6), so both rows are nan there. A subnormal x makes 1/x overflow: inf, as
    the true partial 1/x overflows."""
    tx, ty = 1.1, -0.6
    hx, hy = hvp(POW_XY, [np.float64(x), np.float64(0.0)], [np.float64(tx), np.float64(ty)])
    if x < 0:
        assert np.isnan(hx) and np.isnan(hy)
        return
    want_x = ty * mpmath.mpf(1) / x
    if mpmath.isinf(np.float64(want_x)) or abs(want_x) > 1.8e308:
        assert float(hx) == -np.inf
    else:
        assert abs(float(hx) - want_x) <= 4 * 2.0 ** -53 * abs(want_x), (hx, want_x)
    if abs(x) > 1e-300:
        want_y = tx / mpmath.mpf(x) + mpmath.log(x) ** 2 * ty
        assert abs(float(hy) - want_y) <= 8 * 2.0 ** -53 * (abs(tx / x) + mpmath.log(x) ** 2)


def test_pow_gradient_at_a_zero_exponent_is_chapter_6s_at_zero_and_nan_bases() -> None:
    """The narrowed guard still gives ∂x = 0 at y = 0 where the formula is 0·inf or 0·nan
    (x = ±0, nan), and the formula's own zero elsewhere."""
    for x in (0.0, -0.0, np.nan, 0.7, -2.0, np.inf, 1e-310):
        _, pullback = vjp(POW_XY, np.float64(x), np.float64(0.0))
        assert float(pullback(np.float64(1.0))[0]) == 0.0, x


def test_stop_gradient_has_zero_derivative() -> None:
    """stop_gradient is the identity with derivative zero by definition (chapter 6), which is
    why the oracle, which sees only values, does not apply to it."""
    p = parse_program("def f(x: f64[3]) -> f64[3]:\n    r = stop_gradient(x)\n    return r\n")
    _, (dy,) = jvp(p, [np.ones(3)], [np.ones(3)])
    np.testing.assert_array_equal(dy, np.zeros(3))


def test_every_primitive_with_float_results_is_covered() -> None:
    structural = {"stop_gradient", "dup", "drop", "zero", "iota", "argmax", "argmin", "eq",
                  "ne", "lt", "le", "gt", "ge", "and", "or", "not"}
    missing = set(PRIMITIVES) - set(CASES) - structural
    assert not missing


# --------------------------------------------------------------------------------------------
# Transpose rules: <w, L t> = <L^T w, t>

LINEAR_CASES: dict[str, str] = {
    "neg": "def f(t: lin f64[3]) -> lin f64[3]:\n    r = neg(t)\n    return r\n",
    "add": "def f(t: lin f64[3], u: lin f64[]) -> lin f64[3]:\n    r = add(t, u)\n    return r\n",
    "sub": "def f(t: lin f64[], u: lin f64[3]) -> lin f64[3]:\n    r = sub(t, u)\n    return r\n",
    "mul": "def f(c: f64[3], t: lin f64[]) -> lin f64[3]:\n    r = mul(c, t)\n    return r\n",
    "div": "def f(c: f64[3], t: lin f64[3]) -> lin f64[3]:\n    r = div(t, c)\n    return r\n",
    "select_n": "def f(p: i64[3], t: lin f64[3], u: lin f64[], v: lin f64[3]) -> lin f64[3]:\n"
                "    r = select_n(p, t, u, v)\n    return r\n",
    "broadcast_in_dim": "def f(t: lin f64[1, 3]) -> lin f64[2, 4, 3]:\n"
                        "    r = broadcast_in_dim(t, shape=(2, 4, 3), broadcast_dimensions=(0, 2))"
                        "\n    return r\n",
    "reshape": "def f(t: lin f64[2, 3]) -> lin f64[6]:\n    r = reshape(t, new_sizes=(6,))\n"
               "    return r\n",
    "transpose": "def f(t: lin f64[2, 3, 4]) -> lin f64[4, 2, 3]:\n"
                 "    r = transpose(t, permutation=(2, 0, 1))\n    return r\n",
    "squeeze": "def f(t: lin f64[1, 3]) -> lin f64[3]:\n    r = squeeze(t, dimensions=(0,))\n"
               "    return r\n",
    "expand_dims": "def f(t: lin f64[3]) -> lin f64[3, 1]:\n"
                   "    r = expand_dims(t, dimensions=(1,))\n    return r\n",
    "rev": "def f(t: lin f64[2, 3]) -> lin f64[2, 3]:\n    r = rev(t, dimensions=(0, 1))\n"
           "    return r\n",
    "slice": "def f(t: lin f64[7, 2]) -> lin f64[2, 1]:\n"
             "    r = slice(t, start=(1, 1), limit=(6, 2), strides=(3, 1))\n    return r\n",
    "pad": "def f(t: lin f64[3], v: lin f64[]) -> lin f64[10]:\n"
           "    r = pad(t, v, low=(2,), high=(3,), interior=(1,))\n    return r\n",
    "concatenate": "def f(t: lin f64[2], u: lin f64[3]) -> lin f64[5]:\n"
                   "    r = concatenate(t, u, dimension=0)\n    return r\n",
    "dynamic_slice": "def f(i: i64[], t: lin f64[5]) -> lin f64[2]:\n"
                     "    r = dynamic_slice(t, i, slice_sizes=(2,))\n    return r\n",
    "dynamic_update_slice": "def f(i: i64[], t: lin f64[5], u: lin f64[2]) -> lin f64[5]:\n"
                            "    r = dynamic_update_slice(t, u, i)\n    return r\n",
    "gather": "def f(i: i64[4], t: lin f64[3, 2]) -> lin f64[4, 2]:\n"
              "    r = gather(t, i)\n    return r\n",
    "scatter_add": "def f(i: i64[4], t: lin f64[3], u: lin f64[4]) -> lin f64[3]:\n"
                   "    r = scatter_add(t, i, u)\n    return r\n",
    "dot_general": "def f(c: f64[2, 4, 3], t: lin f64[3, 2, 5]) -> lin f64[2, 4, 5]:\n"
                   "    r = dot_general(c, t, contracting_dims=((2,), (0,)), "
                   "batch_dims=((0,), (1,)))\n    return r\n",
    "dot_general_lhs": "def f(c: f64[3, 2, 5], t: lin f64[2, 4, 3]) -> lin f64[2, 4, 5]:\n"
                       "    r = dot_general(t, c, contracting_dims=((2,), (0,)), "
                       "batch_dims=((0,), (1,)))\n    return r\n",
    "reduce_sum": "def f(t: lin f64[2, 3, 4]) -> lin f64[3]:\n"
                  "    r = reduce_sum(t, axes=(2, 0))\n    return r\n",
    "cumsum": "def f(t: lin f64[2, 3]) -> lin f64[2, 3]:\n    r = cumsum(t, axis=1)\n"
              "    return r\n",
    "copy": "def f(t: lin f64[3]) -> lin f64[3]:\n    r = copy(t)\n    return r\n",
    "convert_element_type": "def f(t: lin f64[3]) -> lin f32[3]:\n"
                            "    r = convert_element_type(t, new_dtype=\"f32\")\n    return r\n",
    "dup_drop_zero": "def f(t: lin f64[3], u: lin f64[3]) -> (lin f64[3], lin f64[3]):\n"
                     "    a, b = dup(t)\n    drop(u)\n    z: lin f64[3] = zero()\n"
                     "    s = add(a, z)\n    return s, b\n",
}


def sample(b, rng: np.random.Generator) -> np.ndarray:
    t = b.type.array
    if t.dtype.is_int:
        return rng.integers(-1, 4, size=t.shape)  # includes starts that clamp
    return rng.normal(size=t.shape)


def inner(ws, vs, ctx) -> tuple[object, object]:
    """Σ w·v in mpmath, and Σ |w·v| (the scale of its rounding)."""
    def mp(v: object) -> object:
        return ctx.mpf(v.item() if isinstance(v, np.generic) else v)

    terms = [mp(w) * mp(v) for a, b in zip(ws, vs) for w, v in zip(np.ravel(a), np.ravel(b))]
    return ctx.fsum(terms), ctx.fsum(abs(x) for x in terms)


@pytest.mark.parametrize("name", sorted(LINEAR_CASES))
def test_transpose_is_adjoint(name: str) -> None:
    lp = parse_program(LINEAR_CASES[name])
    lt = transpose_program(lp)
    ltt = transpose_program(lt)
    for q in (lt, ltt):
        check(q)
    rng = np.random.default_rng(sum(map(ord, name)))
    ctx = mpmath.MPContext()
    ctx.dps = 50
    if name in ("gather", "scatter_add", "select_n"):  # indices must be in range here
        residuals = [rng.integers(0, 3, size=b.type.array.shape) for b in lp.inputs
                     if not b.type.linear]
    else:
        residuals = [sample(b, rng) for b in lp.inputs if not b.type.linear]
    ts = [sample(b, rng) for b in lp.inputs if b.type.linear]
    ws = [rng.normal(size=t.array.shape).astype(t.array.dtype.numpy) for t in lp.result_types]
    lts = evaluate(lp, *residuals, *ts, dps=50)
    ltw = evaluate(lt, *residuals, *ws, dps=50)
    left, left_scale = inner(ws, lts, ctx)
    right, right_scale = inner(ltw, ts, ctx)
    # Both sides are exact sums of the same products, each rounded at 50 digits.
    assert abs(left - right) <= ctx.mpf("1e-45") * (left_scale + right_scale + 1)
    # Double transpose computes the original map.
    again = evaluate(ltt, *residuals, *ts, dps=50)
    for a, b in zip(again, lts):
        for x, y in zip(np.ravel(a), np.ravel(b)):
            assert abs(x - y) <= ctx.mpf("1e-45") * (1 + abs(y))
