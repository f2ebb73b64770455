"""inline_calls (spec 1.4): call-free programs that compute what the module computes.

On generated modules (with and without linear parameters) every def's inlined program
checks, has no call, and evaluates bit for bit like the def evaluated with its module (the
same equations run on the same values, only renamed). A chain of 2,000 defs, each calling
the previous one, inlines without recursion. Bad arguments name what was expected.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lintra.conformance.strategies import modules
from lintra.reference import (
    EvaluationError,
    LintraTypeError,
    Module,
    check,
    evaluate,
    grad,
    inline_calls,
    parse,
)
from tests.harness import values_of


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


@given(modules(max_equations=4), st.data())
def test_inlined_defs_evaluate_like_the_module(module: Module, data: st.DataObject) -> None:
    for name, p in module.items():
        flat = inline_calls(module, name)
        check(flat)
        assert all(e.primitive != "call" for e in flat.equations)
        assert [b.name for b in flat.inputs] == [b.name for b in p.inputs]
        args = [values_of(data.draw, b.type.array) for b in p.inputs]
        try:
            want = evaluate(p, *args, module=module)
        except EvaluationError:
            assume(False)
        got = evaluate(flat, *args)
        assert all(same(np.asarray(g), np.asarray(w)) for g, w in zip(got, want))


@given(modules(max_equations=4, linear=True))
def test_inlined_linear_defs_check(module: Module) -> None:
    for name in module:
        check(inline_calls(module, name))


def test_inlining_then_differentiating() -> None:
    module = parse(
        "def square_norm(x: f64[3]) -> f64[]:\n"
        "    y: f64[3] = mul(x, x)\n"
        "    s: f64[] = reduce_sum(y, axes=(0,))\n"
        "    return s\n\n"
        "def ident(x: f64[3]) -> f64[3]:\n"
        "    return x\n\n"
        "def main(a: f64[3], b: f64[3]) -> f64[]:\n"
        "    d = sub(a, b)\n"
        '    e = call(d, fn="ident")\n'
        '    n = call(e, fn="square_norm")\n'
        '    m = call(a, fn="square_norm")\n'
        "    r = add(n, m)\n"
        "    return r\n"
    )
    p = inline_calls(module, "main")
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0])
    # r = |a - b|^2 + |a|^2: gradient in a is 2(a - b) + 2a, small integers: exact.
    np.testing.assert_array_equal(grad(p, a, b), 2 * (a - b) + 2 * a)
    assert [e.outputs[0].name for e in p.equations][:3] == ["d", "square_norm_y",
                                                            "square_norm_s"]


def test_long_call_chain_does_not_recurse() -> None:
    n = 2000
    defs = ["def g0(x: f64[]) -> f64[]:\n    y = add(x, 1.0)\n    return y\n"]
    defs += [f'def g{k}(x: f64[]) -> f64[]:\n    y = call(x, fn="g{k - 1}")\n    return y\n'
             for k in range(1, n)]
    module = parse("\n".join(defs))
    p = inline_calls(module, f"g{n - 1}")
    assert len(p.equations) == 1
    assert evaluate(p, 0.5)[0] == 1.5


def test_errors_name_what_was_expected() -> None:
    module = parse("def f(x: f64[]) -> f64[]:\n    return x\n\n"
                   "def g(x: f64[]) -> f64[]:\n    return x\n")
    with pytest.raises(LintraTypeError, match=r"2 defs \(f, g\); name the one"):
        inline_calls(module)
    with pytest.raises(LintraTypeError, match=r"no def 'h' \(defs: f, g\)"):
        inline_calls(module, "h")
    with pytest.raises(LintraTypeError, match="takes a Module, got Program"):
        inline_calls(module["f"])  # type: ignore[arg-type]
