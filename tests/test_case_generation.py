"""The conformance runner's generated cases are informative (spec 7.6): programs built around
a primitive call it on distinct float operands (shaped ones for the primitives that move
elements by position) with non-trivial parameters; the simplest case sits at unremarkable
points with tangents and cotangents of their own; the other cases usually plant kinks (a
tie, an exact zero, a tiny magnitude) in the focus call's operands; and a seed gives the
same cases in any process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from lintra.conformance.generation import (
    COTANGENT_POINTS,
    TANGENT_POINTS,
    TINY,
    UNREMARKABLE,
    _axis_of,
)
from lintra.conformance.profiles import profile_named
from lintra.conformance.properties import Case
from lintra.conformance.strategies import is_shaped, permutations_by_order
from lintra.conformance.stress import AXIS_PRIMITIVES, HARD
from lintra.reference import PRIMITIVES, check, evaluate
from lintra.reference.primitives.base import LinearityKind
from lintra.reference.syntax import DType, Equation, Program, Var
from tests.harness import runner_cases

ROOT = Path(__file__).resolve().parent.parent
PROFILE = profile_named("ci")
FOCI = sorted(n for n, p in PRIMITIVES.items()
              if p.linearity.kind is not LinearityKind.LINEAR_ONLY)
"""Every primitive the runner builds programs around."""
FLOAT_BINARY = ("add", "sub", "mul", "div", "pow", "atan2", "rem", "max", "min")


@cache
def drawn(focus: str, seed: int = 0, examples: int = PROFILE.examples) -> tuple[Case, ...]:
    """The cases the runner's first pass checks around ``focus`` (its strategy, settings and
    seed), the simplest first."""
    return runner_cases(replace(PROFILE, examples=examples), focus, seed)  # type: ignore[return-value]


def focus_call(p: Program, focus: str) -> Equation:
    return next(e for e in p.equations if e.primitive == focus)


def operand_arrays(case: Case, e: Equation) -> list[np.ndarray]:
    """The primal arrays of ``e``'s operands that are parameters."""
    index = {b.name: i for i, b in enumerate(case.program.inputs)}
    return [case.primals[index[a.name]] for a in e.inputs
            if isinstance(a, Var) and a.name in index]


# --------------------------------------------------------------------------------------------
# The simplest case


NO_FLOAT_OPERAND = frozenset({"and", "or", "not", "iota"})
"""Primitives without a float operand."""


@pytest.mark.parametrize("focus", FOCI)
def test_simplest_case_calls_the_focus_on_fresh_distinct_parameters(focus: str) -> None:
    """The first case is the focus call alone on distinct parameters, one of them float
    where the primitive takes floats, and the call's result is the program's."""
    p = drawn(focus)[0].program
    e = focus_call(p, focus)
    params = {b.name: b.type.array for b in p.inputs}
    operands = [a.name for a in e.inputs if isinstance(a, Var) and a.name in params]
    assert len(set(operands)) == len(operands), str(p)
    if focus not in NO_FLOAT_OPERAND:
        assert any(params[n].dtype.is_float for n in operands), str(p)
    assert {o.name for o in e.outputs} & {v.name for v in p.outputs}, str(p)
    assert [q.primitive for q in p.equations][-1] == focus, str(p)


@pytest.mark.parametrize("focus", [f for f in FOCI if is_shaped(PRIMITIVES[f])])
def test_shaped_focus_operands_have_rank_2_or_3(focus: str) -> None:
    """A primitive that moves, picks or combines elements by position gets a float operand
    of rank 2 or 3 with sides of at least 2 (``squeeze`` one side of 1) in the first case."""
    case = drawn(focus)[0]
    e = focus_call(case.program, focus)
    floats = [a for a in operand_arrays(case, e) if a.dtype.kind == "f"]
    main = max(floats, key=lambda a: a.ndim)
    assert main.ndim in (2, 3), str(case.program)
    sides = sorted(main.shape)
    assert sides[1 if focus == "squeeze" else 0] >= 2, str(case.program)


def params_of(focus: str) -> dict:
    return focus_call(drawn(focus)[0].program, focus).param_dict


def test_simplest_parameters_are_not_trivial() -> None:
    """Unequal slice margins and padding, a permutation that is not its own inverse, a
    proper sub-block, several concatenated operands, a bool select between two floats,
    indices that are unsorted and repeat."""
    case = drawn("slice")[0]
    e = focus_call(case.program, "slice")
    n = operand_arrays(case, e)[0].shape
    ps = e.param_dict
    low = ps["start"]
    high = tuple(k - lim for k, lim in zip(n, ps["limit"]))
    assert low != high and all(lim > s for s, lim in zip(low, ps["limit"]))
    ps = params_of("pad")
    assert ps["low"] != ps["high"]
    perm = params_of("transpose")["permutation"]
    assert len(perm) == 3 and any(perm[perm[k]] != k for k in range(3))
    case = drawn("dynamic_slice")[0]
    e = focus_call(case.program, "dynamic_slice")
    shape = operand_arrays(case, e)[0].shape
    assert all(0 < k < m for k, m in zip(e.param_dict["slice_sizes"], shape))
    e = focus_call(drawn("concatenate")[0].program, "concatenate")
    assert len(e.inputs) >= 2
    case = drawn("select_n")[0]
    e = focus_call(case.program, "select_n")
    predicate, *chosen = operand_arrays(case, e)
    assert predicate.dtype == bool and len(chosen) == 2 and predicate.any() and not predicate.all()
    assert all(c.dtype.kind == "f" for c in chosen)
    for focus in ("gather", "scatter_add"):
        case = drawn(focus)[0]
        index = focus_call(case.program, focus).inputs[1]
        assert isinstance(index, Var)
        flat = list(value_of(case, index.name).reshape(-1))
        assert flat != sorted(flat) and len(set(flat)) < len(flat), flat


def value_of(case: Case, name: str) -> np.ndarray:
    """The value variable ``name`` takes in ``case``'s program at its primals."""
    p = case.program
    probe = Program(p.name, p.inputs, (check(p).variables[name],), p.equations, (Var(name),))
    return np.asarray(evaluate(probe, *case.primals)[0])


@pytest.mark.parametrize("focus", FOCI)
def test_simplest_values_are_unremarkable_and_distinct(focus: str) -> None:
    """Primals, tangents and cotangents of the first case come from their own lists of
    points, element after element: no zero, and no tangent equal to its primal."""
    case = drawn(focus)[0]
    for points, arrays in ((UNREMARKABLE, case.primals), (TANGENT_POINTS, case.tangents),
                           (COTANGENT_POINTS, case.cotangents)):
        for a in arrays:
            if a.dtype.kind == "f":
                assert set(np.asarray(a, dtype=np.float64).reshape(-1).round(6)) <= {
                    round(float(np.asarray(v, dtype=a.dtype)), 6) for v in points}
    floats = [a for a in case.primals if a.dtype.kind == "f"]
    for x, t in zip(floats, case.tangents, strict=True):
        assert not np.any(x == t), (x, t)


# --------------------------------------------------------------------------------------------
# The other cases


def many(focus: str, seeds: Sequence[int] = range(6)) -> list[Case]:
    """The non-simplest ci cases around ``focus`` for several seeds."""
    return [c for s in seeds for c in drawn(focus, s)[1:]]


def share(found: Sequence[Case], pred: Callable[[Case], bool]) -> float:
    return sum(map(pred, found)) / max(len(found), 1)


def test_binary_focus_operands_are_usually_distinct() -> None:
    """Across seeds, most binary focus calls take two different variables."""
    found = [(c, f) for f in FLOAT_BINARY for c in many(f)]

    def distinct(item: tuple[Case, str]) -> bool:
        e = focus_call(item[0].program, item[1])
        names = [a.name for a in e.inputs if isinstance(a, Var)]
        return len(names) == 2 and names[0] != names[1]

    assert sum(map(distinct, found)) >= len(found) / 2


def test_kinks_are_planted_in_the_focus_operands() -> None:
    """Among the other cases some focus operands hold an exact zero, some a tiny magnitude
    (below 1e-8), and some two operands tie."""
    found = [c for f in ("abs", "log1p", "sqrt", "max", "atan2") for c in many(f)]
    tiny = {float(np.float32(v)) for v in TINY} | set(TINY)

    def has(case: Case, test: Callable[[np.ndarray], bool]) -> bool:
        e = next(e for e in case.program.equations if e.primitive in (
            "abs", "log1p", "sqrt", "max", "atan2"))
        return any(test(a) for a in operand_arrays(case, e) if a.dtype.kind == "f")

    assert share(found, lambda c: has(c, lambda a: bool(np.any(a == 0)))) > 0.25
    assert share(found, lambda c: has(c, lambda a: bool(np.isin(a.astype(float), list(tiny))
                                                        .any()))) > 0.25

    def tie(case: Case) -> bool:
        e = focus_call(case.program, "max")
        ops = operand_arrays(case, e)
        return len(ops) == 2 and bool(np.any(np.broadcast_arrays(*ops)[0]
                                             == np.broadcast_arrays(*ops)[1]))

    assert share(many("max", range(12)), tie) > 0.2


HARD_SAMPLE = replace(PROFILE, examples=8)
"""The cases per seed of the hard-place counts (seeds 0 and 1: 14 after the simplest)."""


def hard_groups_reached(case: Case, focus: str) -> set[int] | None:
    """Which groups of ``focus``'s hard places (``stress.HARD[focus]``, one per kind: tails,
    domain edges, tiny magnitudes...) one of the case's points reaches at the focus call:
    elementwise, an element holding the place's value in every operand that is a float
    parameter; along an axis, a line of the operand starting with the place's values along
    the combined axis. None when the call has no float parameter to plant in."""
    e = focus_call(case.program, focus)
    index = {b.name: i for i, b in enumerate(case.program.inputs)}
    operands = [case.primals[index[a.name]] if isinstance(a, Var) and a.name in index
                and case.primals[index[a.name]].dtype.kind == "f" else None for a in e.inputs]
    arrays = [a for a in operands if a is not None]
    if not arrays:
        return None
    dtype = DType.f32 if arrays[0].dtype == np.float32 else DType.f64
    found = set()
    for group, places in enumerate(HARD[focus]):
        for entry in places.f32 if dtype is DType.f32 else places.f64:
            values = [float(arrays[0].dtype.type(v)) for v in entry]
            if focus in AXIS_PRIMITIVES:
                a = arrays[0]
                if a.ndim == 0:
                    continue
                d = _axis_of(e, a.ndim)
                m = min(len(values), a.shape[d])
                lines = np.moveaxis(a, d, -1).reshape(-1, a.shape[d])[:, :m]
                hit = bool(np.any(np.all(lines == np.asarray(values[:m], a.dtype), axis=1)))
            else:
                size = max(a.size for a in arrays)
                hit = len(values) == len(operands) and any(
                    all(a is None or a.reshape(-1)[k % a.size] == v
                        for a, v in zip(operands, values)) for k in range(size))
            if hit:
                found.add(group)
    return found


@pytest.mark.slow
def test_each_primitive_reaches_its_hard_places() -> None:
    """Every kind of hard place of every primitive (its domain edges, tails, poles, overflow
    thresholds, huge and subnormal magnitudes: ``stress.HARD``) is reached by some
    generated case, counted per primitive and kind. They are planted in three cases in four
    after the simplest, like ties and zeros; an operand that is a literal or a repeated
    variable, or a later tie, takes some away: at least a third of each primitive's cases,
    and three fifths of all, reach one."""
    counts = {}
    for focus in sorted(set(HARD) & set(FOCI)):
        found = [hard_groups_reached(c, focus) for s in (0, 1)
                 for c in drawn(focus, s, HARD_SAMPLE.examples)[1:]]
        judged = [f for f in found if f is not None]
        per_group = [sum(1 for f in judged if g in f) for g in range(len(HARD[focus]))]
        counts[focus] = (len(judged), sum(1 for f in judged if f), per_group)
    unreached = {f: c for f, c in counts.items() if 0 in c[2]}
    assert not unreached, unreached
    rare = {f: c for f, c in counts.items() if c[1] < c[0] / 3}
    assert not rare, rare
    assert sum(c[1] for c in counts.values()) >= 0.6 * sum(c[0] for c in counts.values())


def test_the_simplest_case_has_no_hard_place() -> None:
    """The simplest case stays at the unremarkable points (a hard place is planted only in
    the others)."""
    for focus in ("tanh", "atan2", "log", "reduce_max"):
        (simplest, *_) = drawn(focus)
        assert not hard_groups_reached(simplest, focus)


def test_the_focus_result_is_always_returned() -> None:
    """Every case's results depend on its focus call (a focus call that was drawn)."""
    for focus in ("sin", "gather", "argmax", "sort", "lt"):
        for case in drawn(focus, 3, examples=6):
            p = case.program
            needed = {v.name for v in p.outputs}
            for e in reversed(p.equations):
                if any(o.name in needed for o in e.outputs):
                    needed |= {a.name for a in e.inputs if isinstance(a, Var)}
            e = focus_call(p, focus)
            assert any(o.name in needed for o in e.outputs), str(p)


def test_permutations_by_order() -> None:
    perms = permutations_by_order(3)
    assert perms[:2] == [(1, 2, 0), (2, 0, 1)] and perms[-1] == (0, 1, 2)
    assert permutations_by_order(2) == [(1, 0), (0, 1)]


# --------------------------------------------------------------------------------------------
# Determinism


def fingerprint(foci: Sequence[str], seed: int) -> list[str]:
    """The ci cases around ``foci`` as text: programs and inputs (exact hex)."""
    out = []
    for focus in foci:
        for case in drawn(focus, seed):
            values = [float(v).hex() if isinstance(v, (float, np.floating)) else str(v)
                      for a in (*case.primals, *case.tangents, *case.cotangents)
                      for v in np.asarray(a).reshape(-1).tolist()]
            out.append(str(case.program) + "|" + ",".join(values))
    return out


FINGERPRINTED = ("atan2", "gather", "select_n", "max", "cumsum")


def test_a_seed_gives_the_same_cases_in_any_process() -> None:
    """Two processes with different hash seeds, one of which has imported the optimized
    engine (whose source Hypothesis would mine for constants), generate the same cases for a
    seed, and so does this one, whatever it imported before."""
    code = ("import json; from tests.test_case_generation import fingerprint, FINGERPRINTED;"
            " print(json.dumps(fingerprint(FINGERPRINTED, 1)))")
    outs = []
    for hash_seed, first in (("1", ""), ("2", "import lintra.optimized.rules; ")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        run = subprocess.run([sys.executable, "-c", first + code], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        outs.append(json.loads(run.stdout))
    assert outs[0] == outs[1] == fingerprint(FINGERPRINTED, 1)


def test_elements_drawn_in_their_span_are_those_of_plain_draws() -> None:
    """The inputs' elements are drawn without ``ConjectureData.draw``'s checks
    (:func:`lintra.conformance.generation._draw_in_span`): the same choices and spans, so the
    same arrays as drawing each element with the composite's ``draw``, for each dtype."""
    from hypothesis import given, seed, settings
    from hypothesis import strategies as st

    from lintra.conformance import generation
    from lintra.reference.syntax import ArrayType

    types = [ArrayType(DType.f64, (3, 2)), ArrayType(DType.f32, (4,)),
             ArrayType(DType.i32, (3,)), ArrayType(DType.bool, (2,)), ArrayType(DType.f64, ())]

    def drawn(plain: bool) -> list[bytes]:
        out: list[bytes] = []

        @st.composite
        def arrays(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
            fn = (lambda s: draw(s)) if plain else draw  # a lambda has no ConjectureData
            return generation._values(fn, types, generation.UNREMARKABLE, -3.0, 3.0)

        @seed(7)
        @settings(max_examples=30, database=None, derandomize=False)
        @given(arrays())
        def collect(xs: tuple[np.ndarray, ...]) -> None:
            out.append(b"|".join(x.dtype.str.encode() + x.tobytes() for x in xs))

        collect()
        return out

    fast, plain = drawn(False), drawn(True)
    assert len(fast) == 30 and len(set(fast)) > 20
    assert fast == plain
