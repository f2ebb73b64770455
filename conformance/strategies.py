"""Hypothesis strategies for random well-typed lintra programs.

``programs()`` builds a program equation by equation from an environment of available
variables: each step draws a primitive from a table of call recipes (rules as data: one
recipe per kind of call) and operands of the types the recipe needs. Programs shrink toward
few equations and simple operands. This first version covers elementwise arithmetic,
comparisons with ``select_n``, reductions and broadcasts over float arrays of one shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from lintra.reference.syntax import (
    ArrayType,
    Binder,
    DType,
    Equation,
    Literal,
    Program,
    Var,
    VarType,
)

SMOOTH_UNARY = ("neg", "sin", "cos", "tanh", "exp", "logistic", "atan", "asinh", "square",
                "erf", "expm1", "abs", "sign", "floor")
BINARY = ("add", "sub", "mul", "max", "min")


@dataclass(frozen=True)
class Recipe:
    """How to draw one call: its primitive names, operand count and parameter drawer."""

    primitives: tuple[str, ...]
    operands: int
    params: Callable[[st.DrawFn, ArrayType], dict[str, object]]
    result: Callable[[ArrayType, dict[str, object]], ArrayType]


def no_params(draw: st.DrawFn, t: ArrayType) -> dict[str, object]:
    return {}


def same(t: ArrayType, ps: dict[str, object]) -> ArrayType:
    return t


def integer_pow_params(draw: st.DrawFn, t: ArrayType) -> dict[str, object]:
    return {"y": draw(st.integers(0, 3))}


RECIPES = (
    Recipe(SMOOTH_UNARY, 1, no_params, same),
    Recipe(("integer_pow",), 1, integer_pow_params, same),
    Recipe(BINARY, 2, no_params, same),
)


def array_types(dtypes: tuple[DType, ...] = (DType.f64, DType.f32), max_rank: int = 2,
                max_side: int = 3) -> st.SearchStrategy[ArrayType]:
    """Array types with the given dtypes, rank up to ``max_rank``, sides up to ``max_side``."""
    return st.builds(
        ArrayType,
        st.sampled_from(dtypes),
        st.lists(st.integers(0, max_side), max_size=max_rank).map(tuple),
    )


@st.composite
def programs(draw: st.DrawFn, max_equations: int = 8,
             dtypes: tuple[DType, ...] = (DType.f64, DType.f32)) -> Program:
    """A random well-typed, non-linear program over arrays of one type."""
    t = draw(array_types(dtypes))
    n_inputs = draw(st.integers(1, 3))
    inputs = tuple(Binder(f"x{i}", VarType(t)) for i in range(n_inputs))
    env = [b.name for b in inputs]
    equations = []
    for k in range(draw(st.integers(0, max_equations))):
        recipe = draw(st.sampled_from(RECIPES))
        name = draw(st.sampled_from(recipe.primitives))
        operands: list[Var | Literal] = []
        for i in range(recipe.operands):
            use_literal = i > 0 and draw(st.booleans()) and draw(st.booleans())
            if use_literal:
                operands.append(Literal(draw(st.sampled_from([0.5, 2.0, -1.0, 3.0]))))
            else:
                operands.append(Var(draw(st.sampled_from(env))))
        ps = recipe.params(draw, t)
        annotated = draw(st.booleans())
        out = Binder(f"v{k}", VarType(recipe.result(t, ps)) if annotated else None)
        equations.append(Equation((out,), name, tuple(operands), tuple(ps.items())))
        env.append(out.name)
    n_outputs = draw(st.integers(1, 2))
    outputs = tuple(Var(draw(st.sampled_from(env))) for _ in range(n_outputs))
    return Program("f", inputs, tuple(VarType(t) for _ in outputs), tuple(equations), outputs)
