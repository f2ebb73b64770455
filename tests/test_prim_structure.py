"""The structure family (spec 3.4): exact rearrangements, in both number domains.

Every primitive is checked against an explicit loop over output positions that states the
spec's definition element by element (never the NumPy call the implementation uses), on
Hypothesis-drawn shapes (rank 0 and size-0 dimensions included) and parameters, in the
float64 domain and in the mpmath domain. Results must be bit-exact copies (nan, ±inf and the
sign of zero included), of exactly the declared dtype and shape, sharing no memory with the
operands, which stay unchanged. Type-rule violations raise ShapeError (LintraTypeError for
dtypes) with a message naming what was expected and what was found.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lintra.reference import check, evaluate, parse, parse_program
from lintra.reference.domains import Domain, Float64Domain, MpDomain
from lintra.reference.errors import LinearityError, LintraTypeError, ShapeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import ALL, LinearityKind
from lintra.reference.primitives.structure import PRIMITIVES
from tests.harness import (
    apply,
    array_type,
    assert_exactly_equal,
    build,
    distinct_arrays,
    elements,
    run,
)

NAMES = ("broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "rev", "slice",
         "pad", "concatenate")
DTYPES = (np.float64, np.float32, np.int64, np.int32, np.bool_)
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 0.0)

# --------------------------------------------------------------------------------------------
# Strategies and helpers

sizes = st.integers(0, 3)
shapes = st.lists(sizes, min_size=0, max_size=3).map(tuple)
nonempty_shapes = st.lists(sizes, min_size=1, max_size=3).map(tuple)
dtypes = st.sampled_from(DTYPES)


def arrays(shape: tuple[int, ...], dtype: type) -> st.SearchStrategy[np.ndarray]:
    return distinct_arrays(shape, dtype, scale=1.5)


@st.composite
def operands(draw: st.DrawFn, shape_strategy: st.SearchStrategy = shapes) -> np.ndarray:
    shape = draw(shape_strategy)
    return draw(arrays(shape, draw(dtypes)))


domains = st.sampled_from((None, 50))


# --------------------------------------------------------------------------------------------
# The records


def test_every_structure_primitive_has_a_record() -> None:
    assert tuple(p.name for p in PRIMITIVES) == NAMES
    for prim in PRIMITIVES:
        assert lookup(prim.name) is prim
        assert prim.family == "structure"
        assert prim.linearity.kind is LinearityKind.TOGETHER
        assert prim.linearity.positions == ALL
        assert prim.shared_dtype == ALL
        assert prim.jvp is not None and prim.transpose is not None


def test_arities_and_defaults() -> None:
    assert lookup("pad").arity.accepts(2) and not lookup("pad").arity.accepts(1)
    assert lookup("concatenate").arity.accepts(1) and lookup("concatenate").arity.accepts(5)
    assert not lookup("concatenate").arity.accepts(0)
    assert lookup("slice").param_values({"start": (0,), "limit": (1,)})["strides"] == ()
    assert lookup("pad").param_values({"low": (0,), "high": (0,)})["interior"] == ()


# --------------------------------------------------------------------------------------------
# Each primitive against its element-by-element definition


@st.composite
def broadcast_cases(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    shape = draw(shapes)
    extra = draw(st.lists(sizes, max_size=2))
    out_rank = len(shape) + len(extra)
    dims = tuple(sorted(draw(st.permutations(range(out_rank)))[:len(shape)]))
    out = [0] * out_rank
    for i, d in enumerate(dims):
        out[d] = shape[i]
    rest = iter(extra)
    out = [next(rest) if d not in dims else n for d, n in enumerate(out)]
    # operand dimensions of size 1 may grow to any output size
    op_shape = tuple(1 if draw(st.booleans()) else n for n in shape)
    for i, d in enumerate(dims):
        if op_shape[i] == 1:
            out[d] = draw(sizes)
    x = draw(arrays(op_shape, draw(dtypes)))
    return x, tuple(out), dims


@given(broadcast_cases(), domains)
def test_broadcast_in_dim(case: tuple, dps: int | None) -> None:
    x, shape, dims = case
    got = run("broadcast_in_dim", x, dps=dps, shape=shape, broadcast_dimensions=dims)

    def element(o: tuple[int, ...]) -> object:
        return x[tuple(o[d] if x.shape[i] != 1 else 0 for i, d in enumerate(dims))]

    assert_exactly_equal(got, build(shape, x.dtype, element), dps)


@st.composite
def factorizations(draw: st.DrawFn, n: int) -> tuple[int, ...]:
    """A shape with ``n`` elements (for n = 0: any shape with a zero in it)."""
    if n == 0:
        return (*draw(st.lists(sizes, max_size=3)), 0)
    factors: list[int] = []
    while n > 1:
        divisors = [k for k in range(2, n + 1) if n % k == 0]
        k = draw(st.sampled_from(divisors))
        factors.append(k)
        n //= k
    ones = draw(st.lists(st.just(1), max_size=2))
    return tuple(draw(st.permutations(factors + ones)))


@given(operands(), st.data(), domains)
def test_reshape(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    new = data.draw(factorizations(x.size))
    got = run("reshape", x, dps=dps, new_sizes=new)
    assert got.shape == new
    assert_exactly_equal(np.array(elements(got), dtype=x.dtype),
                         np.array(elements(x), dtype=x.dtype), dps)


@given(operands(), st.data(), domains)
def test_transpose(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    got = run("transpose", x, dps=dps, permutation=perm)

    def element(o: tuple[int, ...]) -> object:
        index = [0] * x.ndim
        for k, p in enumerate(perm):
            index[p] = o[k]
        return x[tuple(index)]

    assert_exactly_equal(got, build([x.shape[p] for p in perm], x.dtype, element), dps)


@given(operands(st.lists(st.integers(0, 2), max_size=4).map(tuple)), st.data(), domains)
def test_squeeze(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    dims = data.draw(st.lists(st.sampled_from(ones), unique=True) if ones else st.just([]))
    negative = data.draw(st.booleans())
    given_dims = tuple(d - x.ndim if negative else d for d in dims)
    got = run("squeeze", x, dps=dps, dimensions=given_dims)
    assert got.shape == tuple(n for i, n in enumerate(x.shape) if i not in dims)
    assert_exactly_equal(np.array(elements(got), dtype=x.dtype),
                         np.array(elements(x), dtype=x.dtype), dps)


@given(operands(), st.data(), domains)
def test_expand_dims(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    k = data.draw(st.integers(0, 2))
    dims = tuple(data.draw(st.permutations(range(x.ndim + k)))[:k])
    got = run("expand_dims", x, dps=dps, dimensions=dims)
    rest = iter(x.shape)
    assert got.shape == tuple(1 if i in dims else next(rest) for i in range(x.ndim + k))
    assert_exactly_equal(np.array(elements(got), dtype=x.dtype),
                         np.array(elements(x), dtype=x.dtype), dps)


@given(operands(), st.data(), domains)
def test_rev(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    dims = tuple(data.draw(st.lists(st.sampled_from(range(x.ndim)), unique=True))
                 if x.ndim else ())
    got = run("rev", x, dps=dps, dimensions=dims)

    def element(o: tuple[int, ...]) -> object:
        return x[tuple(n - 1 - i if d in dims else i
                       for d, (i, n) in enumerate(zip(o, x.shape)))]

    assert_exactly_equal(got, build(x.shape, x.dtype, element), dps)


@given(operands(st.lists(st.integers(0, 6), max_size=3).map(tuple)), st.data(), domains)
def test_slice(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    start, limit, strides = [], [], []
    for n in x.shape:
        s = data.draw(st.integers(0, n))
        start.append(s)
        limit.append(data.draw(st.integers(s, n)))
        strides.append(data.draw(st.integers(1, 3)))
    default = data.draw(st.booleans())
    if default:
        strides = [1] * x.ndim
    params = {"start": tuple(start), "limit": tuple(limit)}
    got = run("slice", x, dps=dps, **params, **({} if default else {"strides": tuple(strides)}))
    shape = [len(range(s, e, k)) for s, e, k in zip(start, limit, strides)]

    def element(o: tuple[int, ...]) -> object:
        return x[tuple(s + i * k for s, i, k in zip(start, o, strides))]

    assert_exactly_equal(got, build(shape, x.dtype, element), dps)


@given(operands(), st.data(), domains)
def test_pad(x: np.ndarray, data: st.DataObject, dps: int | None) -> None:
    amounts = st.integers(0, 2)
    low = [data.draw(amounts) for _ in x.shape]
    high = [data.draw(amounts) for _ in x.shape]
    interior = [data.draw(amounts) for _ in x.shape]
    default = data.draw(st.booleans())
    if default:
        interior = [0] * x.ndim
    v = data.draw(arrays((), x.dtype.type))
    params = {"low": tuple(low), "high": tuple(high)}
    got = run("pad", x, v, dps=dps, **params,
              **({} if default else {"interior": tuple(interior)}))
    # each element of x takes k + 1 positions except the last; low and high at the ends
    shape = [lo + hi + n + k * max(n - 1, 0) for lo, hi, k, n in zip(low, high, interior, x.shape)]

    def element(o: tuple[int, ...]) -> object:
        index = []
        for i, lo, k, n in zip(o, low, interior, x.shape):
            j, r = divmod(i - lo, k + 1)
            if i < lo or r or j >= n:
                return v[()]
            index.append(j)
        return x[tuple(index)]

    assert_exactly_equal(got, build(shape, x.dtype, element), dps)


@given(st.data(), domains)
def test_concatenate(data: st.DataObject, dps: int | None) -> None:
    shape = data.draw(nonempty_shapes)
    dtype = data.draw(dtypes)
    axis = data.draw(st.integers(0, len(shape) - 1))
    blocks = data.draw(st.lists(sizes, min_size=1, max_size=4))
    xs = [data.draw(arrays((*shape[:axis], b, *shape[axis + 1:]), dtype)) for b in blocks]
    negative = data.draw(st.booleans())
    got = run("concatenate", *xs, dps=dps, dimension=axis - len(shape) if negative else axis)
    out_shape = (*shape[:axis], sum(blocks), *shape[axis + 1:])

    def element(o: tuple[int, ...]) -> object:
        i = o[axis]
        for x in xs:
            if i < x.shape[axis]:
                return x[(*o[:axis], i, *o[axis + 1:])]
            i -= x.shape[axis]
        raise AssertionError("position beyond the last block")

    assert_exactly_equal(got, build(out_shape, np.dtype(dtype), element), dps)


# --------------------------------------------------------------------------------------------
# Explicit cases, both domains


@pytest.mark.parametrize("dps", [None, 50])
def test_explicit_table(dps: int | None) -> None:
    x = np.array([[1.0, -0.0, np.nan], [np.inf, -np.inf, 6.0]])
    cases = [
        ("transpose", (x,), {"permutation": (1, 0)},
         np.array([[1.0, np.inf], [-0.0, -np.inf], [np.nan, 6.0]])),
        ("rev", (x,), {"dimensions": (1,)},
         np.array([[np.nan, -0.0, 1.0], [6.0, -np.inf, np.inf]])),
        ("slice", (x,), {"start": (0, 0), "limit": (2, 3), "strides": (1, 2)},
         np.array([[1.0, np.nan], [np.inf, 6.0]])),
        ("slice", (x,), {"start": (1, 3), "limit": (1, 3)}, np.zeros((0, 0))),
        ("reshape", (x,), {"new_sizes": (3, 2)},
         np.array([[1.0, -0.0], [np.nan, np.inf], [-np.inf, 6.0]])),
        ("pad", (np.array([1.0, 2.0]), np.array(-0.0)), {"low": (1,), "high": (0,),
                                                         "interior": (2,)},
         np.array([-0.0, 1.0, -0.0, -0.0, 2.0])),
        ("pad", (np.zeros(0), np.array(7.0)), {"low": (1,), "high": (2,), "interior": (3,)},
         np.array([7.0, 7.0, 7.0])),
        ("broadcast_in_dim", (np.array([3.0, -0.0]),), {"shape": (2, 3),
                                                        "broadcast_dimensions": (0,)},
         np.array([[3.0, 3.0, 3.0], [-0.0, -0.0, -0.0]])),
        ("broadcast_in_dim", (np.array(5.0),), {"shape": (), "broadcast_dimensions": ()},
         np.array(5.0)),
        ("concatenate", (np.array([1.0]), np.zeros(0), np.array([np.nan, 2.0])),
         {"dimension": 0}, np.array([1.0, np.nan, 2.0])),
        ("squeeze", (np.array([[[4.0]]]),), {"dimensions": (0, 2)}, np.array([4.0])),
        ("slice", (np.array(2.5),), {"start": (), "limit": ()}, np.array(2.5)),
        ("pad", (np.array(2.5), np.array(0.0)), {"low": (), "high": ()}, np.array(2.5)),
        ("rev", (np.array(-np.inf),), {"dimensions": ()}, np.array(-np.inf)),
        ("expand_dims", (np.array(4.0),), {"dimensions": (0, 1)}, np.array([[4.0]])),
    ]
    for name, xs, params, want in cases:
        assert_exactly_equal(run(name, *xs, dps=dps, **params), want, dps)


def test_integers_stay_exact_in_both_domains() -> None:
    big = np.array([2**62 + 1, -(2**62) - 3, 7], dtype=np.int64)
    for dps in (None, 50):
        got = run("rev", big, dps=dps, dimensions=(0,))
        assert_exactly_equal(got, big[::-1].copy())
        got = run("pad", big, np.array(2**61 + 1), dps=dps, low=(1,), high=(0,))
        assert list(got) == [2**61 + 1, 2**62 + 1, -(2**62) - 3, 7]


def test_mp_results_are_numbers_of_the_domain_context() -> None:
    d = MpDomain(40)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    for name, params in (("transpose", {"permutation": (1, 0)}), ("rev", {"dimensions": (0,)}),
                         ("broadcast_in_dim", {"shape": (3, 2, 2),
                                               "broadcast_dimensions": (1, 2)})):
        (r,) = evaluate_in(d, name, x, **params)
        assert r.dtype == object
        assert all(isinstance(e, d.ctx.mpf) for e in r.reshape(-1))


def evaluate_in(d: Domain, name: str, *arrays: np.ndarray, **params: object) -> tuple:
    prim = lookup(name)
    ts = tuple(array_type(x) for x in arrays)
    ps = prim.param_values(params)
    return prim.evaluate(d, tuple(d.argument(x, t) for x, t in zip(arrays, ts)), ps,
                         prim.type_rule(ts, ps))


def test_results_can_be_mutated_without_touching_operands() -> None:
    """Results are fresh arrays, so a later in-place update can never reach an operand."""
    x = np.arange(6.0).reshape(2, 3)
    for d in (Float64Domain(), MpDomain(20)):
        arg = d.argument(x, array_type(x))
        prim = lookup("reshape")
        ps = prim.param_values({"new_sizes": (6,)})
        (r,) = prim.evaluate(d, (arg,), ps, prim.type_rule((array_type(x),), ps))
        r[0] = r[1]
        assert float(arg[0, 0]) == 0.0


# --------------------------------------------------------------------------------------------
# Type rules: violations name what was expected and what was found

F = np.zeros((2, 3))

TYPE_ERRORS = [
    ("transpose", (F,), {"permutation": (0, 0)}, "permutation (0, 0) is not a permutation"),
    ("transpose", (F,), {"permutation": (0,)}, "of the 2 dimensions"),
    ("transpose", (F,), {"permutation": (0, 2)}, "not a permutation"),
    ("reshape", (F,), {"new_sizes": (4,)}, "(6 elements) to (4,)"),
    ("reshape", (F,), {"new_sizes": (-1, 6)}, "negative"),
    ("squeeze", (F,), {"dimensions": (0,)}, "has size 2"),
    ("squeeze", (F,), {"dimensions": (2,)}, "out of range for rank 2"),
    ("expand_dims", (F,), {"dimensions": (3,)}, "out of range for rank 3"),
    ("expand_dims", (F,), {"dimensions": (0, 0)}, "repeat"),
    ("rev", (F,), {"dimensions": (1, 1)}, "repeat"),
    ("rev", (F,), {"dimensions": (2,)}, "out of range"),
    ("slice", (F,), {"start": (0, 0), "limit": (2, 4)}, "limit <= 3, got start=0, limit=4"),
    ("slice", (F,), {"start": (1, 2), "limit": (0, 3)}, "start=1, limit=0"),
    ("slice", (F,), {"start": (-1, 0), "limit": (2, 3)}, "0 <= start"),
    ("slice", (F,), {"start": (0,), "limit": (2,)}, "one entry per dimension"),
    ("slice", (F,), {"start": (0, 0), "limit": (2, 3), "strides": (1, 0)}, "stride"),
    ("slice", (F,), {"start": (0, 0), "limit": (2, 3), "strides": (1,)}, "strides=(1,)"),
    ("pad", (F, np.zeros(1)), {"low": (0, 0), "high": (0, 0)}, "rank 0"),
    ("pad", (F, np.array(0.0)), {"low": (0,), "high": (0, 0)}, "one entry per dimension"),
    ("pad", (F, np.array(0.0)), {"low": (0, -1), "high": (0, 0)}, "non-negative"),
    ("pad", (F, np.array(0.0)), {"low": (0, 0), "high": (0, 0), "interior": (0, -1)},
     "non-negative"),
    ("concatenate", (F, np.zeros((3, 3))), {"dimension": 1}, "except in dimension 1"),
    ("concatenate", (F, np.zeros(3)), {"dimension": 0}, "operand 2"),
    ("concatenate", (np.array(1.0),), {"dimension": 0}, "rank >= 1"),
    ("concatenate", (F,), {"dimension": 2}, "out of range for rank 2"),
    ("broadcast_in_dim", (np.zeros(3),), {"shape": (2, 4), "broadcast_dimensions": (1,)},
     "size 3, which cannot broadcast to output dimension 1 of size 4"),
    ("broadcast_in_dim", (F,), {"shape": (2, 3), "broadcast_dimensions": (1, 0)},
     "strictly increasing"),
    ("broadcast_in_dim", (F,), {"shape": (2, 3), "broadcast_dimensions": (0,)},
     "one output dimension per operand dimension"),
    ("broadcast_in_dim", (F,), {"shape": (2, 3), "broadcast_dimensions": (0, 2)},
     "out of range"),
    ("broadcast_in_dim", (F,), {"shape": (2, -3), "broadcast_dimensions": (0, 1)},
     "negative"),
]


@pytest.mark.parametrize(("name", "xs", "params", "fragment"), TYPE_ERRORS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TYPE_ERRORS)])
def test_type_rule_errors(name: str, xs: tuple, params: dict, fragment: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply(name, *xs, **params)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("name", "xs", "params"), [
    ("pad", (np.zeros(2), np.array(0, dtype=np.int64)), {"low": (1,), "high": (1,)}),
    ("concatenate", (np.zeros(2), np.zeros(2, dtype=np.float32)), {"dimension": 0}),
])
def test_dtype_mismatches_are_type_errors(name: str, xs: tuple, params: dict) -> None:
    with pytest.raises(LintraTypeError) as info:
        apply(name, *xs, **params)
    assert type(info.value) is LintraTypeError
    assert "one dtype" in str(info.value)


# --------------------------------------------------------------------------------------------
# Through the checker and evaluator: literals, linearity


def test_pad_literal_takes_the_operand_dtype() -> None:
    program = parse_program("def f(x: f32[2]) -> f32[4]:\n"
                            "    y: f32[4] = pad(x, 0.5, low=(1,), high=(1,))\n"
                            "    return y\n")
    (y,) = evaluate(program, np.array([1.0, 2.0], dtype=np.float32))
    assert_exactly_equal(y, np.array([0.5, 1.0, 2.0, 0.5], dtype=np.float32))


def test_all_operands_linear_together() -> None:
    ok = ("def f(t: lin f64[2], v: lin f64[]) -> lin f64[4]:\n"
          "    y: lin f64[4] = pad(t, v, low=(1,), high=(1,))\n"
          "    return y\n")
    check(parse(ok))
    mixed = ("def f(t: lin f64[2], x: f64[2]) -> lin f64[4]:\n"
             "    y: lin f64[4] = concatenate(t, x, dimension=0)\n"
             "    return y\n")
    with pytest.raises(LinearityError):
        check(parse(mixed))
