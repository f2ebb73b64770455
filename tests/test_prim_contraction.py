"""The contraction family (spec 3.6): ``dot_general`` in both number domains.

Cases are drawn as roles (batch, contracting and free dimensions of each operand) laid out in
a random dimension order, so the parameters, the result's dimension order (batch, then x's
free, then y's free) and the values are checked against an explicit loop over the result's
indices that sums exact products (fractions for floats, Python integers wrapped to the dtype
for integers), never against the ``einsum`` the implementation uses. Float results in the
float64 domain must satisfy the accuracy claim ``|computed − exact| ≤ γ_n Σ|x||y|``, with the
mpmath result (itself checked equal to the exact sum) as the exact value; integer results are
exact in both domains. Shapes include rank 0, size-0 dimensions and empty contractions.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import check, parse
from lintra.reference.errors import LinearityError, LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import ALL, LinearityKind
from lintra.reference.primitives.contraction import PRIMITIVES
from tests.harness import apply, assert_exactly_equal, run

Role = tuple[str, int]  # ("b", i): batch pair i; ("c", i): contracting pair i; ("f", i): free

sizes = st.integers(0, 3)
domains = st.sampled_from((None, 50))
UNIT = {np.float64: Fraction(1, 2**53), np.float32: Fraction(1, 2**24)}


# --------------------------------------------------------------------------------------------
# Cases and the reference loop


@st.composite
def layout(draw: st.DrawFn, m: int, k: int, free: int) -> list[Role]:
    """One operand's roles, in a random dimension order."""
    roles = [("b", i) for i in range(m)] + [("c", i) for i in range(k)]
    roles += [("f", i) for i in range(free)]
    return draw(st.permutations(roles))


def values(draw: st.DrawFn, n: int, dtype: type) -> list:
    """Floats with 21-bit significands and exponents in [-20, 20] (so that every sum of
    products below is exact at 50 digits), zeros included; integers over the dtype's range."""
    if np.dtype(dtype).kind == "f":
        significands = st.integers(-2**20, 2**20).map(float)
        return [float(np.ldexp(s, e)) for s, e in draw(st.lists(
            st.tuples(significands, st.integers(-20, 20)), min_size=n, max_size=n))]
    info = np.iinfo(dtype)
    ints = st.one_of(st.integers(-3, 3), st.integers(int(info.min), int(info.max)))
    return draw(st.lists(ints, min_size=n, max_size=n))


@st.composite
def contraction_case(draw: st.DrawFn, dtypes: tuple[type, ...]) -> dict:
    m, k = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    fx, fy = draw(st.integers(0, 4 - m - k)), draw(st.integers(0, 4 - m - k))
    size = {("b", i): draw(sizes) for i in range(m)} | {("c", i): draw(sizes) for i in range(k)}
    size |= {("x", i): draw(sizes) for i in range(fx)} | {("y", i): draw(sizes) for i in range(fy)}
    xl, yl = draw(layout(m, k, fx)), draw(layout(m, k, fy))

    def dim_size(role: Role, owner: str) -> int:
        return size[(owner, role[1])] if role[0] == "f" else size[role]

    dtype = draw(st.sampled_from(dtypes))
    xshape = tuple(dim_size(r, "x") for r in xl)
    yshape = tuple(dim_size(r, "y") for r in yl)
    x = np.asarray(values(draw, int(np.prod(xshape, dtype=np.int64)), dtype),
                   dtype=dtype).reshape(xshape)
    y = np.asarray(values(draw, int(np.prod(yshape, dtype=np.int64)), dtype),
                   dtype=dtype).reshape(yshape)
    params = {
        "contracting_dims": (tuple(xl.index(("c", i)) for i in range(k)),
                             tuple(yl.index(("c", i)) for i in range(k))),
        "batch_dims": (tuple(xl.index(("b", i)) for i in range(m)),
                       tuple(yl.index(("b", i)) for i in range(m))),
    }
    return {"x": x, "y": y, "xl": xl, "yl": yl, "m": m, "k": k, "size": size, "params": params}


def reference(case: dict) -> tuple[tuple[int, ...], list[tuple[object, Fraction, int]]]:
    """The result shape (batch sizes, x's free sizes, y's free sizes, each in operand order)
    and, per result element in row-major order, (exact sum, Σ|x||y|, n) by explicit loops."""
    x, y, xl, yl, m, k, size = (case[key] for key in ("x", "y", "xl", "yl", "m", "k", "size"))
    x_free = [r for r in xl if r[0] == "f"]  # in x's dimension order
    y_free = [r for r in yl if r[0] == "f"]
    shape = (tuple(size[("b", i)] for i in range(m)) + tuple(size[("x", r[1])] for r in x_free)
             + tuple(size[("y", r[1])] for r in y_free))
    floats = x.dtype.kind == "f"
    contractions = list(itertools.product(*(range(size[("c", i)]) for i in range(k))))
    out = []
    for o in itertools.product(*(range(n) for n in shape)):
        batch, fxs, fys = o[:m], o[m:m + len(x_free)], o[m + len(x_free):]
        xv = {("b", i): v for i, v in enumerate(batch)} | dict(zip(x_free, fxs))
        yv = {("b", i): v for i, v in enumerate(batch)} | dict(zip(y_free, fys))
        total, magnitude = (Fraction(0), Fraction(0)) if floats else (0, 0)
        for c in contractions:
            cv = {("c", i): v for i, v in enumerate(c)}
            a = x[tuple((xv | cv)[r] for r in xl)].item()
            b = y[tuple((yv | cv)[r] for r in yl)].item()
            product = Fraction(a) * Fraction(b) if floats else a * b
            total += product
            magnitude += abs(product)
        out.append((total, magnitude, len(contractions)))
    return shape, out


def wrap(v: int, dtype: np.dtype) -> int:
    bits = 8 * dtype.itemsize
    v %= 2**bits
    return v - 2**bits if v >= 2 ** (bits - 1) else v


def as_fraction(v: object) -> Fraction:
    """An mpmath number (finite) as an exact fraction."""
    man, exp = v.man_exp  # type: ignore[attr-defined]  # |mantissa| and exponent
    magnitude = Fraction(abs(int(man))) * Fraction(2) ** int(exp)
    return -magnitude if v < 0 else magnitude


# --------------------------------------------------------------------------------------------
# The record


def test_the_record() -> None:
    assert tuple(p.name for p in PRIMITIVES) == ("dot_general",)
    prim = lookup("dot_general")
    assert prim is PRIMITIVES[0] and prim.family == "contraction"
    assert prim.linearity.kind is LinearityKind.AT_MOST_ONE and prim.linearity.positions == ALL
    assert prim.shared_dtype == ALL
    assert prim.arity.accepts(2) and not prim.arity.accepts(3)
    assert prim.param_values({"contracting_dims": ((), ())})["batch_dims"] == ((), ())
    assert prim.jvp is not None and prim.transpose is not None


# --------------------------------------------------------------------------------------------
# Values


@given(contraction_case((np.float64, np.float32)))
def test_float_within_the_gamma_bound(case: dict) -> None:
    """Spec 3.6: componentwise |computed − exact| ≤ γ_n Σ|x||y|, exact = the mp result."""
    x, y, params = case["x"], case["y"], case["params"]
    shape, expected = reference(case)
    got = run("dot_general", x, y, dps=None, **params)
    (exact,), (t,) = apply("dot_general", x, y, dps=50, **params)
    assert got.shape == exact.shape == t.shape == shape and got.dtype == x.dtype
    unit = UNIT[x.dtype.type]
    for g, e, (total, magnitude, n) in zip(got.reshape(-1).tolist(), exact.reshape(-1),
                                            expected):
        assert as_fraction(e) == total  # the mp domain sums exactly here (see ``values``)
        gamma = n * unit / (1 - n * unit)
        assert abs(Fraction(g) - as_fraction(e)) <= gamma * magnitude, (g, e, n)


@given(contraction_case((np.float64, np.float32)))
def test_mp_domain_numbers_and_purity(case: dict) -> None:
    x, y, params = case["x"], case["y"], case["params"]
    shape, expected = reference(case)
    got = run("dot_general", x, y, dps=50, **params)  # checks mpf of the domain, purity
    want = np.asarray([float(total) for total, _, _ in expected], dtype=np.float64)
    assert_exactly_equal(got, want.astype(x.dtype).reshape(shape), 50)


@given(contraction_case((np.int64, np.int32)), domains)
def test_integers_exact_with_wraparound(case: dict, dps: int | None) -> None:
    x, y, params = case["x"], case["y"], case["params"]
    shape, expected = reference(case)
    got = run("dot_general", x, y, dps=dps, **params)
    want = np.asarray([wrap(total, x.dtype) for total, _, _ in expected], dtype=x.dtype)
    assert_exactly_equal(got, want.reshape(shape), dps)


@pytest.mark.parametrize("dps", [None, 50])
def test_edge_table(dps: int | None) -> None:
    inf, nan = np.inf, np.nan
    c = {"contracting_dims": ((0,), (0,))}
    cases = [  # x, y, expected
        ([inf, 1.0], [0.0, 1.0], nan),  # 0 · ∞
        ([inf, 1.0], [1.0, 1.0], inf),
        ([inf, 1.0], [-2.0, 1.0], -inf),
        ([inf, -inf], [1.0, 1.0], nan),  # ∞ − ∞
        ([nan, 0.0], [0.0, 0.0], nan),
        ([1e308, 1e308], [1.0, -1.0], 0.0),
        ([3.0, 4.0], [3.0, 4.0], 25.0),
    ]
    for x, y, want in cases:
        got = run("dot_general", np.array(x), np.array(y), dps=dps, **c)
        assert got.shape == () and (np.isnan(want) if np.isnan(got) else got == want), (x, y)
    # n = 0: the empty sum
    got = run("dot_general", np.ones((2, 0)), np.ones((0, 3)), dps=dps,
              contracting_dims=((1,), (0,)))
    assert got.shape == (2, 3) and np.all(got == 0)
    # size-0 result, rank-0 operands (n = 1: one rounding, correctly rounded)
    got = run("dot_general", np.ones((0, 2)), np.ones(2), dps=dps, **{
        "contracting_dims": ((1,), (0,))})
    assert got.shape == (0,)
    got = run("dot_general", np.float64(0.1), np.float64(0.3), dps=dps,
              contracting_dims=((), ()))
    assert got == float(Fraction(0.1) * Fraction(0.3))
    # f32 is computed to f32 precision: 2^-24 is lost next to 1 in f32, not in f64
    got = run("dot_general", np.array([1.0, 2**-24], np.float32), np.ones(2, np.float32),
              dps=dps, **c)
    assert got.dtype == np.float32 and got == (1.0 if dps is None else np.float32(1 + 2**-24))


def test_batch_and_free_dimension_order() -> None:
    """XLA's order: batch dims (in bx order), x's free dims, y's free dims."""
    x = np.arange(2 * 3 * 4, dtype=np.int64).reshape(2, 3, 4)  # (free a, batch, contract)
    y = np.arange(4 * 5 * 3, dtype=np.int64).reshape(4, 5, 3)  # (contract, free b, batch)
    got = run("dot_general", x, y, dps=None, contracting_dims=((2,), (0,)),
              batch_dims=((1,), (2,)))
    assert got.shape == (3, 2, 5)
    for bb, a, b in itertools.product(range(3), range(2), range(5)):
        assert got[bb, a, b] == sum(int(x[a, bb, c]) * int(y[c, b, bb]) for c in range(4))


# --------------------------------------------------------------------------------------------
# Type rules

TYPE_ERRORS = [
    ((np.zeros((2, 3)), np.zeros((4, 2))), {"contracting_dims": ((1,), (0,))}, "(3)"),
    ((np.zeros((2, 3)), np.zeros((3, 2))), {"contracting_dims": ((1,), ())}, "pair up"),
    ((np.zeros((2, 3)), np.zeros((3, 2))), {"contracting_dims": ((2,), (0,))}, "(2,)"),
    ((np.zeros((2, 3)), np.zeros((3, 2))), {"contracting_dims": ((-1,), (0,))}, "(-1,)"),
    ((np.zeros((3, 3)), np.zeros((3, 3))), {"contracting_dims": ((1, 1), (0, 1))}, "repeat"),
    ((np.zeros((3, 3)), np.zeros((3, 3))),
     {"contracting_dims": ((1,), (0,)), "batch_dims": ((1,), (1,))}, "repeat"),
    ((np.zeros((2, 3)), np.zeros((3, 2))),
     {"contracting_dims": ((1,), (0,)), "batch_dims": ((0,), ())}, "pair up"),
    ((np.zeros((2, 3)), np.zeros((3, 4))),
     {"contracting_dims": ((1,), (0,)), "batch_dims": ((0,), (1,))}, "(2)"),
]


@pytest.mark.parametrize(("xs", "params", "fragment"), TYPE_ERRORS)
def test_type_rule_errors(xs: tuple, params: dict, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply("dot_general", *xs, **params)
    assert fragment in str(info.value), str(info.value)


@pytest.mark.parametrize(("x", "y"), [
    (np.zeros(2, np.bool_), np.zeros(2, np.bool_)),
    (np.zeros(2), np.zeros(2, np.float32)),
    (np.zeros(2, np.int32), np.zeros(2, np.int64)),
])
def test_dtype_errors(x: np.ndarray, y: np.ndarray) -> None:
    with pytest.raises(LintraTypeError) as info:
        apply("dot_general", x, y, contracting_dims=((0,), (0,)))
    assert not isinstance(info.value, ShapeError)


def test_at_most_one_operand_linear() -> None:
    one = ("def f(a: f64[2, 3], t: lin f64[3]) -> lin f64[2]:\n"
           "    r: lin f64[2] = dot_general(a, t, contracting_dims=((1,), (0,)))\n"
           "    return r\n")
    check(parse(one))
    both = ("def f(s: lin f64[2, 3], t: lin f64[3]) -> lin f64[2]:\n"
            "    r: lin f64[2] = dot_general(s, t, contracting_dims=((1,), (0,)))\n"
            "    return r\n")
    with pytest.raises(LinearityError):
        check(parse(both))
