"""Hypothesis strategies for lintra: array types, input arrays, random well-typed programs and
mutated program texts.

``programs()`` builds a program in A-normal form equation by equation from the environment of
variables bound so far. Each step picks a primitive from the registry
(:data:`lintra.reference.PRIMITIVES`) that has a *call recipe* in :data:`RECIPES` (rules as
data: one small function per kind of call that says how to draw valid operands and parameters)
and validates the drawn call with the primitive's own record (arity, parameter kinds, type rule)
before it is added, so every generated program is accepted by ``check``. Primitives that are
not registered are skipped; a registered primitive without a recipe is still used when it looks
elementwise (fixed arity 1 or 2, no required parameter). With ``linear=True`` the program also
has linear parameters and obeys the linearity discipline: a linear variable is used exactly
once, shared through ``dup``, discarded through ``drop``, created by ``zero``, passed only
through the positions each record's ``linearity`` allows (scaled by non-linear values in
``mul``, ``div``, ``dot_general``, ``select_n``...), and every linear variable left over is
returned or dropped at the end.

With ``focus=name`` the program is built around one primitive (the conformance runner's
generated cases): its call comes first and is drawn to be *informative* (:class:`Picker` with
``focused``): its operands are distinct float variables, minted as fresh parameters when none
fits (so ``atan2(x0, x1)``, not ``atan2(x0, x0)``); the operands of the structure, indexing,
contraction and reduction primitives (and ``select_n``) have rank 2 or 3 and sides of at least
2; and its parameters are non-trivial (unequal slice bounds and padding, a non-involutive
permutation, a proper sub-block, indices that are unsorted and repeat). The first example
Hypothesis draws, the simplest, is such a call; later ones vary it.

Programs shrink toward few equations, early variables, no literals and no annotations.
All state lives in one draw: there is no module-level mutable state.

Draws are determined by the seed alone: :func:`seed_determined` holds Hypothesis' pool of
constants collected from the process's own imported modules empty while cases are drawn.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lintra.reference.errors import LintraError
from lintra.reference.parse import RESERVED
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.primitives.base import LinearityKind, Positions, Primitive
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    LiteralValue,
    Module,
    ParamValue,
    Program,
    Var,
    VarType,
)

DTYPES: tuple[DType, ...] = tuple(DType)
FLOAT_DTYPES: tuple[DType, ...] = (DType.f64, DType.f32)
DEFAULT_LITERAL_DTYPE = {"float": DType.f64, "int": DType.i64, "bool": DType.bool}
MAX_SIZE = 256
"""Generated calls whose results hold more elements than this are rejected (keeps programs
cheap to evaluate)."""
SHAPED_FAMILIES = frozenset({"structure", "indexing", "contraction", "reductions"})
"""Families whose focus calls get operands of rank 2 or 3 with sides of at least 2: they
move, pick or combine elements by position, and a bug in an axis, a bound or an index shows
only where positions differ in every direction."""
SHAPED_PRIMITIVES = frozenset({"select_n"})
"""Other primitives treated so: ``select_n`` picks elements like an indexing primitive."""

TypePred = Callable[[ArrayType], bool]
Params = tuple[tuple[str, ParamValue], ...]


def any_type(t: ArrayType) -> bool:
    return True


# --------------------------------------------------------------------------------------------
# Types, arrays, names


def array_types(
    dtypes: Sequence[DType] = DTYPES, max_rank: int = 2, max_side: int = 3, min_side: int = 1
) -> st.SearchStrategy[ArrayType]:
    """Array types of the given dtypes, rank ``0..max_rank``, sides ``min_side..max_side``.

    Shrinks toward rank 0 and the first dtype. One strategy object per distinct argument
    list (:func:`_array_types`).
    """
    return _array_types(tuple(dtypes), max_rank, max_side, min_side)


@contextlib.contextmanager
def seed_determined() -> Iterator[None]:
    """Cases drawn inside depend on the seed alone, not on what the process imported.

    Hypothesis (since 6.13x) mixes into its draws, now and then, constants it collects from
    the source of every *local* module the process has imported (not site-packages, not
    test files). The same seed then draws other cases in a process that imported other
    modules: the optimized engine, a backend's own package, or whatever earlier tests of
    the same worker loaded. For the duration of the block that pool is held empty (and
    Hypothesis' cache of permitted constants cleared on the way in and out); with a
    Hypothesis without the pool this does nothing.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout
        yield
        return
    collect = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    constants = getattr(providers, "Constants", None)
    if collect is None or cache is None or constants is None:  # pragma: no cover
        yield
        return
    empty = constants()
    providers._get_local_constants = lambda: empty
    cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = collect
        cache.clear()


def _exact(value: object) -> object:
    """A key that tells apart what ``==`` does not: ``0.0`` and ``-0.0``, ``1``, ``1.0`` and
    ``True`` (nested in tuples too)."""
    if isinstance(value, tuple):
        return (tuple, tuple(_exact(v) for v in value))
    if isinstance(value, float):
        return (float, value.hex())
    return (type(value), value)


@dataclass(frozen=True)
class _Exactly:
    """Values compared and hashed by :func:`_exact`, the key of :func:`_reused`."""

    kind: str
    key: object
    items: tuple[object, ...] = field(compare=False)


@functools.lru_cache(maxsize=4096)
def _reused(arg: _Exactly) -> st.SearchStrategy:
    """The strategy of :func:`sampled` or :func:`permuted` for one distinct argument, made
    once (a memo of a pure function: the strategy draws what a new one would)."""
    make = st.sampled_from if arg.kind == "sampled" else st.permutations
    return make(list(arg.items))


def _strategy_of(kind: str, values: Iterable[object]) -> st.SearchStrategy:
    items = tuple(values)
    try:
        return _reused(_Exactly(kind, _exact(items), items))
    except TypeError:  # an unhashable element: a new strategy
        return (st.sampled_from if kind == "sampled" else st.permutations)(list(items))


def sampled(values: Iterable[object]) -> st.SearchStrategy:
    """``st.sampled_from(values)``, one strategy object per distinct list of values (by
    :func:`_exact`): Hypothesis validates every new strategy object on its first draw, which
    cost more than the draw itself; the draws are those of a new object. (Hypothesis' own
    cache of strategies compares tuples with ``==``, where ``(1, 0)`` equals ``(True,
    False)``; a list argument keeps it out.)"""
    return _strategy_of("sampled", values)


def permuted(values: Iterable[object]) -> st.SearchStrategy:
    """``st.permutations(values)``, reused as :func:`sampled` is."""
    return _strategy_of("permuted", values)


@functools.lru_cache(maxsize=256)
def _array_types(dtypes: tuple[DType, ...], max_rank: int, max_side: int, min_side: int
                 ) -> st.SearchStrategy[ArrayType]:
    """:func:`array_types`, made once per argument list: Hypothesis validates every new
    strategy object on its first draw, and the generator asks for the same few types in
    every step (the draws are those of a new object)."""
    return st.builds(
        ArrayType,
        st.sampled_from(tuple(dtypes)),
        st.lists(st.integers(min_side, max_side), max_size=max_rank).map(tuple),
    )


def default_elements(dtype: DType) -> st.SearchStrategy:
    """Every value of the dtype: floats include nan, ±inf, ±0 and subnormals; integers span
    the whole range."""
    return hnp.from_dtype(dtype.numpy)


def arrays(
    t: ArrayType, elements: st.SearchStrategy | None = None
) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of type ``t`` (dtype and shape); ``elements`` defaults to
    :func:`default_elements`."""
    return hnp.arrays(t.dtype.numpy, t.shape, elements=elements or default_elements(t.dtype))


def arguments(
    p: Program, elements: Callable[[DType], st.SearchStrategy] | None = None
) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """One argument array per parameter of ``p``; ``elements(dtype)`` picks the values."""
    pick = elements or default_elements
    return st.tuples(*(arrays(b.type.array, pick(b.type.array.dtype)) for b in p.inputs if b.type))


def identifiers() -> st.SearchStrategy[str]:
    """Variable names of the concrete syntax (never a keyword or a dtype name)."""
    return st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
        lambda s: s not in RESERVED
    )


def shaped_types(dtypes: Sequence[DType], max_side: int = 3) -> st.SearchStrategy[ArrayType]:
    """Float array types of rank 3 or 2 (rank 3 first: the simplest draw is ``f64[2, 2, 2]``)
    with sides ``2..max(2, max_side)``: the operands of a focus call that rearranges
    elements. One strategy object per distinct argument list, as :func:`array_types`."""
    return _shaped_types(tuple(d for d in dtypes if d.is_float) or (DType.f64,), max_side)


@functools.lru_cache(maxsize=64)
def _shaped_types(floats: tuple[DType, ...], max_side: int) -> st.SearchStrategy[ArrayType]:
    """:func:`shaped_types`, made once per argument list."""
    side = st.integers(2, max(2, max_side))
    shapes = st.sampled_from((3, 2)).flatmap(
        lambda r: st.lists(side, min_size=r, max_size=r).map(tuple))
    return st.builds(ArrayType, st.sampled_from(floats), shapes)


def is_shaped(prim: Primitive) -> bool:
    """Whether a focus call of ``prim`` gets :func:`shaped_types` operands."""
    return prim.family in SHAPED_FAMILIES or prim.name in SHAPED_PRIMITIVES


@functools.cache
def literal_values(dtype: DType) -> st.SearchStrategy[LiteralValue]:
    """Values a literal operand taking ``dtype`` may hold (spec 2.2): floats (including nan,
    ±inf and -0.0) for float dtypes, small integers for every numeric dtype, bools (one
    strategy object per dtype, as :func:`array_types`)."""
    if dtype is DType.bool:
        return st.booleans()
    ints = st.integers(-3, 5)
    if dtype.is_int:
        return ints
    specials = st.sampled_from([0.5, 2.0, -1.0, -0.0, 1e-300, float("inf"), float("nan")])
    return st.one_of(ints, specials, st.floats(-1e3, 1e3, width=32 if dtype is DType.f32 else 64))


# --------------------------------------------------------------------------------------------
# The state of one program under construction


class Reject(Exception):
    """A drawn call does not fit the environment; the step tries another primitive."""


@dataclass(frozen=True)
class Config:
    """The knobs of :func:`programs`."""

    dtypes: tuple[DType, ...]
    max_rank: int
    max_side: int
    linear: bool
    primitives: tuple[str, ...]
    random_names: bool


@dataclass
class Builder:
    """The program so far: bound variables in order, linear ones already consumed, equations."""

    draw: st.DrawFn
    config: Config
    inputs: list[Binder] = field(default_factory=list)
    variables: list[tuple[str, VarType]] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    equations: list[Equation] = field(default_factory=list)
    counter: int = 0
    issued: set[str] = field(default_factory=set)

    def fresh(self, linear: bool) -> str:
        """A new variable name: ``a3`` (non-linear) or ``u3`` (linear), or a random one."""
        if self.config.random_names:
            taken = self.issued | {n for n, _ in self.variables}
            name = self.draw(identifiers().filter(lambda s: s not in taken))
        else:
            name = f"{'u' if linear else 'a'}{self.counter}"
            self.counter += 1
        self.issued.add(name)
        return name

    def input_name(self, linear: bool, pending: int = 0) -> str:
        """The name of the next parameter (``pending`` more are minted but not yet added):
        ``x3`` (non-linear) or ``t3`` (linear), or a random one."""
        if self.config.random_names:
            return self.fresh(linear)
        return f"{'t' if linear else 'x'}{len(self.inputs) + pending}"

    def add_input(self, binder: Binder) -> None:
        assert binder.type is not None
        self.inputs.append(binder)
        self.variables.append((binder.name, binder.type))

    def available_linear(self) -> list[str]:
        return [n for n, vt in self.variables if vt.linear and n not in self.consumed]

    def bind(self, e: Equation, types: Sequence[VarType]) -> None:
        self.equations.append(e)
        self.variables.extend((b.name, vt) for b, vt in zip(e.outputs, types))


def member(positions: Positions, i: int) -> bool:
    """Whether operand position ``i`` belongs to ``positions`` (whatever the operand count)."""
    return i in positions.explicit or (positions.start is not None and i >= positions.start)


class Picker:
    """Draws the operands of one call for a recipe, position by position.

    ``linear_at(i)`` says whether position ``i`` takes a linear variable. Each method returns
    the operand's array type. Linear variables picked here are only *tentatively* consumed and
    helper equations that mint a missing operand only tentatively emitted: the step commits
    both once the call validates.
    """

    def __init__(self, b: Builder, prim: Primitive, linear_at: Callable[[int], bool],
                 focused: bool = False) -> None:
        self.b = b
        self.draw = b.draw
        self.config = b.config
        self.prim = prim
        self.linear_at = linear_at
        self.focused = focused
        """The call a focused program is built around: informative operands (see
        :meth:`var`) and parameters (the recipes ask)."""
        self.shaped = focused and is_shaped(prim)
        self.chosen: dict[int, Atom] = {}
        self.types: dict[int, ArrayType] = {}
        self.pre: list[tuple[Equation, VarType]] = []
        self.params: list[Binder] = []
        self.taken: set[str] = set()
        self.annotation: ArrayType | None = None  # the result type of ``zero``

    # -- operands -------------------------------------------------------------------------

    def group_dtype(self) -> DType | None:
        """The dtype shared-dtype literals take: that of the first variable among them."""
        for i in sorted(self.chosen):
            if member(self.prim.shared_dtype, i) and isinstance(self.chosen[i], Var):
                return self.types[i].dtype
        return None

    def var(self, i: int, pred: TypePred = any_type, want: ArrayType | None = None
            ) -> ArrayType:
        """A variable at position ``i`` whose type satisfies ``pred``; if there is none and
        ``want`` is given, helper equations mint a value of type ``want``.

        In a focused call a non-linear position takes, when it can, a float (or, where
        ``want`` is bool, a bool) variable not yet used by this call, of rank 2 or 3 with
        sides of at least 2 when the call is shaped; failing that, a fresh parameter (of type
        ``want`` when it is float or bool, else a drawn one). One time in four a position
        after the first is drawn as in any call, so the same variable sometimes comes twice
        (a tie at every element)."""
        linear = self.linear_at(i)
        pool = (list(self.b.variables) + [(e.outputs[0].name, vt) for e, vt in self.pre]
                + [(b.name, b.type) for b in self.params if b.type is not None])
        candidates = [
            (n, vt.array) for n, vt in pool
            if vt.linear == linear and pred(vt.array)
            and not (linear and (n in self.b.consumed or n in self.taken))
        ]
        if self.focused and not linear and (not self.chosen
                                            or self.draw(st.integers(0, 3)) != 3):
            found = self.informative(i, candidates, pred, want)
            if found is not None:
                return found
        if candidates:
            name, t = self.draw(sampled(candidates))
        elif want is not None and pred(want):
            name, t = self.mint(want, linear), want
        else:
            raise Reject(f"no operand for position {i} of {self.prim.name}")
        if linear:
            self.taken.add(name)
        self.chosen[i], self.types[i] = Var(name), t
        return t

    def informative(self, i: int, candidates: list[tuple[str, ArrayType]], pred: TypePred,
                    want: ArrayType | None) -> ArrayType | None:
        """For a focused call: a suitable variable not yet used by the call, else a fresh
        parameter; None where neither fits (the position is then drawn as usual)."""
        used = {a.name for a in self.chosen.values() if isinstance(a, Var)}
        bool_ok = want is not None and want.dtype is DType.bool

        def suits(t: ArrayType) -> bool:
            kind = t.dtype.is_float or (bool_ok and t.dtype is DType.bool)
            shape = (not self.shaped or t == want
                     or (t.rank >= 2 and min(t.shape) >= 2))
            return kind and shape

        fitting = [(n, t) for n, t in candidates if n not in used and suits(t)]
        if fitting:
            name, t = self.draw(sampled(fitting))
        else:
            fresh = self.parameter_type(pred, want)
            if fresh is None:
                return None
            name, t = self.add_parameter(fresh), fresh
        self.chosen[i], self.types[i] = Var(name), t
        return t

    def parameter_type(self, pred: TypePred, want: ArrayType | None) -> ArrayType | None:
        """The type of a fresh parameter for a focused call: ``want`` when it is float or
        bool, else a drawn float type (:func:`shaped_types` for a shaped call)."""
        if want is not None and not want.dtype.is_int and pred(want):
            return want
        drawn = self.draw(self.focus_types())
        return drawn if pred(drawn) else None

    def focus_types(self) -> st.SearchStrategy[ArrayType]:
        """Operand types for a focused call: float, shaped when the call is."""
        floats = [d for d in self.config.dtypes if d.is_float] or [DType.f64]
        if self.shaped:
            return shaped_types(floats, self.config.max_side)
        return array_types(floats, self.config.max_rank, self.config.max_side)

    def add_parameter(self, t: ArrayType) -> str:
        """A fresh non-linear parameter of type ``t`` (added if the call validates)."""
        name = self.b.input_name(False, len(self.params))
        self.params.append(Binder(name, VarType(t)))
        return name

    def operand(self, i: int, pred: TypePred = any_type, want: ArrayType | None = None,
                literals: st.SearchStrategy[LiteralValue] | None = None) -> ArrayType:
        """A variable or, sometimes, a rank-0 literal at position ``i``.

        A literal is drawn at a shared-dtype position once the shared dtype is known, and at
        another position when ``literals`` says which values fit (it takes its default dtype).
        """
        if not self.linear_at(i) and self.draw(st.integers(0, 3)) == 3:
            literal = self.literal_type(i, literals)
            if literal is not None and pred(literal[1]):
                self.chosen[i], self.types[i] = Literal(literal[0]), literal[1]
                return literal[1]
        return self.var(i, pred, want)

    def literal_type(self, i: int, literals: st.SearchStrategy[LiteralValue] | None
                     ) -> tuple[LiteralValue, ArrayType] | None:
        if member(self.prim.shared_dtype, i):
            dtype = self.group_dtype()
            if dtype is None:
                return None
            return self.draw(literal_values(dtype)), ArrayType(dtype, ())
        if literals is None:
            return None
        value = self.draw(literals)
        return value, ArrayType(DEFAULT_LITERAL_DTYPE[Literal(value).kind], ())

    def indices(self, i: int, n: int) -> ArrayType:
        """Run-time indices into an axis of size ``n`` at position ``i``. In a focused call:
        sometimes a literal, else an arithmetic progression modulo ``n`` emitted as helper
        equations, ``rem(add(mul(iota, step), offset), n)``, unsorted unless its step is 1
        and repeating when longer than ``n`` (the simplest draw, ``[0, n-1, ..., 1, 0]``,
        is both). Elsewhere a variable or ``iota``, or a literal."""
        literals = st.integers(0, max(n - 1, 0))
        if not self.focused or n < 1 or self.draw(st.integers(0, 3)) == 3:
            return self.operand(i, index_array, want=ArrayType(DType.i64, (2,)),
                                literals=literals)
        length = self.draw(sampled([*range(n + 1, 0, -1), n + 2]))
        step = self.draw(st.sampled_from(range(n - 1, 0, -1))) if n > 1 else 0
        offset = self.draw(st.integers(0, n - 1))
        t = ArrayType(DType.i64, (length,))
        params = (("dtype", "i64"), ("shape", (length,)), ("dimension", 0))
        name = self.emit("iota", (), params, VarType(t))
        for prim, value in (("mul", step), ("add", offset), ("rem", n)):
            if (prim, value) not in (("mul", 1), ("add", 0)):
                name = self.emit(prim, (Var(name), Literal(value)), (), VarType(t))
        self.chosen[i], self.types[i] = Var(name), t
        return t

    def index(self, i: int, limit: int) -> ArrayType:
        """A rank-0 integer operand (a start index): a variable, or a literal in
        ``0..limit``."""
        return self.operand(i, lambda t: t.rank == 0 and t.dtype.is_int,
                            want=ArrayType(DType.i64, ()),
                            literals=st.integers(0, max(limit, 0)))

    # -- minting --------------------------------------------------------------------------

    def mint(self, t: ArrayType, linear: bool) -> str:
        """Emit helper equations giving a value of type ``t``: ``zero()`` when linear; else
        ``iota`` (numeric) or a converted literal broadcast to the shape."""
        if linear:
            if not t.dtype.is_float or "zero" not in PRIMITIVES:
                raise Reject("cannot mint a linear value")
            return self.emit("zero", (), (), VarType(t, True), annotated=True)
        if t.dtype.is_numeric and t.rank > 0 and "iota" in PRIMITIVES:
            params = (("dtype", t.dtype.value), ("shape", t.shape), ("dimension", 0))
            return self.emit("iota", (), params, VarType(t))
        if "convert_element_type" not in PRIMITIVES:
            raise Reject("cannot mint a value")
        seed = Literal(True) if t.dtype is DType.bool else Literal(1)
        name = self.emit("convert_element_type", (seed,), (("new_dtype", t.dtype.value),),
                         VarType(ArrayType(t.dtype, ())))
        if t.rank == 0:
            return name
        if "broadcast_in_dim" not in PRIMITIVES:
            raise Reject("cannot mint a value")
        params = (("shape", t.shape), ("broadcast_dimensions", ()))
        return self.emit("broadcast_in_dim", (Var(name),), params, VarType(t))

    def emit(self, prim: str, inputs: tuple[Atom, ...], params: Params, vt: VarType,
             annotated: bool = False) -> str:
        name = self.b.fresh(vt.linear)
        binder = Binder(name, vt if annotated or self.draw(st.booleans()) else None)
        self.pre.append((Equation((binder,), prim, inputs, params), vt))
        return name

    # -- the call -------------------------------------------------------------------------

    def atoms(self) -> tuple[tuple[Atom, ...], tuple[ArrayType, ...]]:
        n = len(self.chosen)
        if sorted(self.chosen) != list(range(n)):
            raise AssertionError(f"the recipe for {self.prim.name} left a position unfilled")
        return tuple(self.chosen[i] for i in range(n)), tuple(self.types[i] for i in range(n))

    @property
    def linear_call(self) -> bool:
        return any(self.linear_at(i) for i in self.chosen) or self.prim.name == "zero"


# --------------------------------------------------------------------------------------------
# Call recipes: how to draw a valid call of each primitive

DrawParams = Callable[[st.DrawFn, Picker], Params]


def accepts(prim: Primitive, ts: tuple[ArrayType, ...], params: dict | None = None) -> bool:
    """Whether the record's type rule accepts these operand types."""
    try:
        prim.type_rule(ts, prim.param_values(params or {}))
    except LintraError:
        return False
    return True


def sizes(config: Config) -> st.SearchStrategy[int]:
    """Sides of generated shapes."""
    return st.integers(1, config.max_side)


def axis_value(draw: st.DrawFn, axis: int, rank: int) -> int:
    """``axis`` or its negative spelling (shrinks to the non-negative one)."""
    return axis - rank if draw(st.booleans()) else axis


def axes_subset(draw: st.DrawFn, rank: int, nonempty: bool = False) -> tuple[int, ...]:
    """Distinct axes in increasing order (at least one with ``nonempty``), each maybe
    spelled negative."""
    if rank == 0:
        return ()
    chosen = draw(st.lists(st.integers(0, rank - 1), min_size=int(nonempty), max_size=rank,
                           unique=True))
    return tuple(axis_value(draw, a, rank) for a in sorted(chosen))


def optional(draw: st.DrawFn, name: str, value: ParamValue, default: ParamValue) -> Params:
    """The parameter, left out sometimes when it equals its default."""
    if value == default and not draw(st.booleans()):
        return ()
    return ((name, value),)


def same_or_scalar(t: ArrayType) -> TypePred:
    """Types that combine with ``t`` elementwise: its dtype, its shape or rank 0."""
    def pred(u: ArrayType) -> bool:
        return u.dtype == t.dtype and (u.shape == t.shape or u.rank == 0 or t.rank == 0)
    return pred


def fresh_type(draw: st.DrawFn, pick: Picker, pred: TypePred) -> ArrayType | None:
    """A type of the configured dtypes that satisfies ``pred``, for minting an operand when
    no variable fits (so primitives with narrow dtypes, ``not`` or ``and``, are drawn too)."""
    if pick.focused:
        preferred = draw(pick.focus_types())
        if pred(preferred):
            return preferred
    fitting = [d for d in pick.config.dtypes if pred(ArrayType(d, ()))]
    if not fitting:
        return None
    return draw(array_types(fitting, pick.config.max_rank, pick.config.max_side))


def elementwise_unary(draw: st.DrawFn, pick: Picker) -> Params:
    def fits(t: ArrayType) -> bool:
        return accepts(pick.prim, (t,))

    pick.var(0, fits, want=fresh_type(draw, pick, fits))
    return ()


def integer_pow(draw: st.DrawFn, pick: Picker) -> Params:
    t = pick.var(0, lambda t: t.dtype.is_numeric)
    return (("y", draw(st.integers(-2 if t.dtype.is_float else 0, 4))),)


def elementwise_binary(draw: st.DrawFn, pick: Picker) -> Params:
    """Two operands of one dtype, equal shapes or one of rank 0; either may be a literal."""
    def fits(t: ArrayType) -> bool:
        return accepts(pick.prim, (t, t))

    first, second = (1, 0) if draw(st.booleans()) else (0, 1)
    ta = pick.operand(first, fits, want=fresh_type(draw, pick, fits))
    pick.operand(second, lambda t: same_or_scalar(ta)(t) and accepts(pick.prim, (t, t)),
                 want=ta)
    return ()


def select_n(draw: st.DrawFn, pick: Picker) -> Params:
    """A bool predicate and two cases, or an integer predicate and one to three cases (a
    focused call draws the bool form first)."""
    by_bool = draw(st.sampled_from((True, False))) if pick.focused else draw(st.booleans())
    n_cases = 2 if by_bool else draw(st.integers(1, 3))
    cases = [pick.var(1)]
    int_pred = ArrayType(DType.i64, ())
    for i in range(2, n_cases + 1):
        cases.append(pick.operand(i, lambda t: accepts(pick.prim, (int_pred, *cases, t)),
                                  want=cases[0]))
    shape = max(cases, key=lambda t: t.rank).shape
    kinds = (DType.bool,) if by_bool else (DType.i32, DType.i64)
    literals = st.booleans() if by_bool else st.integers(0, n_cases - 1)
    pick.operand(0, lambda t: t.dtype in kinds and (t.rank == 0 or t.shape == shape),
                 want=ArrayType(kinds[-1], shape), literals=literals)
    return ()


def clamp(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(1, lambda t: t.dtype.is_numeric)
    for i in draw(permuted([0, 2])):
        pick.operand(i, lambda t: t.dtype == x.dtype and (t.rank == 0 or t.shape == x.shape),
                     want=x)
    return ()


def broadcast_in_dim(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    if pick.focused:  # a new dimension first: the transpose must sum over it
        out_rank = draw(st.sampled_from((x.rank + 1, x.rank)))
    else:
        out_rank = draw(st.integers(x.rank, x.rank + 1))
    dims = sorted(draw(st.lists(st.integers(0, out_rank - 1), min_size=x.rank,
                                max_size=x.rank, unique=True))) if x.rank else []
    source = dict(zip(dims, x.shape))
    new_sides = st.integers(2, max(2, pick.config.max_side)) if pick.focused else sizes(
        pick.config)
    shape = tuple(
        source[d] if source.get(d, 1) != 1 else draw(new_sides)
        for d in range(out_rank)
    )
    return (("shape", shape), ("broadcast_dimensions", tuple(dims)))


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def reshape(draw: st.DrawFn, pick: Picker) -> Params:
    """New sizes with the same product: a random factorization of the size."""
    x = pick.var(0)
    rank = draw(st.integers(0 if x.size == 1 else 1, 3))
    if x.size == 0:
        new = [0, *(draw(st.integers(0, 2)) for _ in range(rank - 1))]
        return (("new_sizes", tuple(draw(permuted(new)))),)
    left, new = x.size, []
    for _ in range(rank - 1):
        d = draw(sampled(divisors(left)))
        new.append(d)
        left //= d
    if rank:
        new.append(left)
    return (("new_sizes", tuple(new)),)


def permutations_by_order(rank: int) -> list[tuple[int, ...]]:
    """The permutations of ``range(rank)``: those that are not their own inverse first (a
    transpose rule that forgets to invert shows only on them), then the other
    non-identities, then the identity."""
    def kind(perm: tuple[int, ...]) -> int:
        if perm == tuple(range(rank)):
            return 2
        return 1 if all(perm[perm[k]] == k for k in range(rank)) else 0
    return sorted(itertools.permutations(range(rank)), key=lambda q: (kind(q), q))


def transpose(draw: st.DrawFn, pick: Picker) -> Params:
    """A permutation; in a focused call one of :func:`permutations_by_order`, so the
    simplest draw is not its own inverse where the rank allows (3 and more), else not the
    identity."""
    x = pick.var(0)
    if pick.focused and x.rank >= 2:
        return (("permutation", draw(sampled(permutations_by_order(x.rank)))),)
    return (("permutation", tuple(draw(st.permutations(range(x.rank))))),)


def squeeze(draw: st.DrawFn, pick: Picker) -> Params:
    want = None
    if pick.focused:
        t = draw(pick.focus_types())
        k = draw(st.integers(0, max(t.rank - 1, 0)))
        want = ArrayType(t.dtype, (*t.shape[:k], 1, *t.shape[k + 1:]))
    x = pick.var(0, lambda t: 1 in t.shape, want=want)
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    chosen = sorted(draw(st.lists(sampled(ones), min_size=1, unique=True)))
    return (("dimensions", tuple(axis_value(draw, d, x.rank) for d in chosen)),)


def expand_dims(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    k = draw(st.integers(1, 2))
    chosen = sorted(draw(st.lists(st.integers(0, x.rank + k - 1), min_size=k, max_size=k,
                                  unique=True)))
    return (("dimensions", tuple(axis_value(draw, d, x.rank + k) for d in chosen)),)


def rev(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    return (("dimensions", axes_subset(draw, x.rank, nonempty=pick.focused)),)


def slice_(draw: st.DrawFn, pick: Picker) -> Params:
    """Bounds and strides; in a focused call every dimension keeps at least one element
    (the simplest draw keeps the first only, so the low and high margins differ)."""
    x = pick.var(0)
    start, limit, strides = [], [], []
    for n in x.shape:
        keep = int(pick.focused and n > 0)
        s = draw(st.integers(0, n - keep))
        start.append(s)
        limit.append(draw(st.integers(s + keep, n)))
        strides.append(draw(st.integers(1, 2)))
    given = (("start", tuple(start)), ("limit", tuple(limit)))
    if all(k == 1 for k in strides):
        return given + optional(draw, "strides", (), ())
    return (*given, ("strides", tuple(strides)))


def pad(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    pick.operand(1, lambda t: t.rank == 0 and t.dtype == x.dtype, want=ArrayType(x.dtype, ()))
    if pick.focused:  # the simplest draw pads unequally: 1 low, 2 high
        low = tuple(draw(st.sampled_from((1, 2, 0))) for _ in x.shape)
        high = tuple(draw(st.sampled_from((2, 0, 1))) for _ in x.shape)
    else:
        low = tuple(draw(st.integers(0, 2)) for _ in x.shape)
        high = tuple(draw(st.integers(0, 2)) for _ in x.shape)
    interior = tuple(draw(st.integers(0, 1)) for _ in x.shape)
    params = (("low", low), ("high", high))
    if not any(interior):
        return params + optional(draw, "interior", (), ())
    return (*params, ("interior", interior))


def concatenate(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0, lambda t: t.rank >= 1)
    axis = draw(st.integers(0, x.rank - 1))

    def fits(t: ArrayType) -> bool:
        return t.dtype == x.dtype and t.rank == x.rank and all(
            a == b for j, (a, b) in enumerate(zip(t.shape, x.shape)) if j != axis)

    for i in range(1, draw(st.integers(1 + pick.focused, 3))):
        pick.var(i, fits, want=x)
    return (("dimension", axis_value(draw, axis, x.rank)),)


def block_side(draw: st.DrawFn, pick: Picker, n: int) -> int:
    """A block side within a dimension of size ``n``: any, or in a focused call a proper
    one (``n - 1`` down to 1) where ``n > 1``."""
    if pick.focused and n > 1:
        return draw(st.sampled_from(range(n - 1, 0, -1)))
    return draw(st.integers(0, n))


def dynamic_slice(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    slice_sizes = tuple(block_side(draw, pick, n) for n in x.shape)
    for i, (n, k) in enumerate(zip(x.shape, slice_sizes)):
        pick.index(i + 1, n - k)
    return (("slice_sizes", slice_sizes),)


def dynamic_update_slice(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0)
    want = x
    if pick.focused:
        want = ArrayType(x.dtype, tuple(block_side(draw, pick, n) for n in x.shape))
    update = pick.var(1, lambda t: t.dtype == x.dtype and t.rank == x.rank and all(
        k <= n for k, n in zip(t.shape, x.shape)), want=want)
    for i, (n, k) in enumerate(zip(x.shape, update.shape)):
        pick.index(i + 2, n - k)
    return ()


def index_array(t: ArrayType) -> bool:
    return t.dtype.is_int and t.rank <= 1


def gather(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0, lambda t: t.rank >= 1 and t.size > 0)
    axis = draw(st.integers(0, x.rank - 1))
    pick.indices(1, x.shape[axis])
    return optional(draw, "axis", axis_value(draw, axis, x.rank), 0)


def scatter_add(draw: st.DrawFn, pick: Picker) -> Params:
    def fits(t: ArrayType) -> bool:
        return t.dtype.is_numeric and t.rank >= 1 and t.size > 0

    want = None if pick.focused else ArrayType(draw(sampled(
        [d for d in pick.config.dtypes if d.is_numeric] or [DType.f64])), (2,))
    x = pick.var(0, fits, want=want)
    axis = draw(st.integers(0, x.rank - 1))
    idx = pick.indices(1, x.shape[axis])
    expected = ArrayType(x.dtype, x.shape[:axis] + idx.shape + x.shape[axis + 1:])
    pick.operand(2, lambda t: t == expected, want=expected)
    return optional(draw, "axis", axis_value(draw, axis, x.rank), 0)


def dot_general(draw: st.DrawFn, pick: Picker) -> Params:
    """Contract and batch some pairs of equal-sized dimensions (none: an outer product)."""
    x = pick.var(0, lambda t: t.dtype.is_numeric)
    y = pick.var(1, lambda t: t.dtype == x.dtype, want=x)
    pairs = [(a, b) for a in range(x.rank) for b in range(y.rank) if x.shape[a] == y.shape[b]]
    chosen = draw(st.lists(sampled(pairs), min_size=int(pick.focused), max_size=2,
                           unique_by=(lambda p: p[0], lambda p: p[1]))) if pairs else []
    n_batch = draw(st.integers(0, len(chosen)))
    batch, contract = chosen[:n_batch], chosen[n_batch:]
    dims = (tuple(a for a, _ in contract), tuple(b for _, b in contract))
    batch_dims = (tuple(a for a, _ in batch), tuple(b for _, b in batch))
    return (("contracting_dims", dims), *optional(draw, "batch_dims", batch_dims, ((), ())))


def reduce(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0, lambda t: t.dtype.is_numeric)
    return (("axes", axes_subset(draw, x.rank, nonempty=pick.focused)),)


def arg_reduce(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0, lambda t: t.dtype.is_numeric and t.rank >= 1 and t.size > 0)
    axis = draw(st.integers(0, x.rank - 1))
    index_dtype = draw(sampled(["i64", "i32"]))
    return (("axis", axis_value(draw, axis, x.rank)),
            *optional(draw, "index_dtype", index_dtype, "i64"))


def scan(draw: st.DrawFn, pick: Picker) -> Params:
    x = pick.var(0, lambda t: t.dtype.is_numeric and t.rank >= 1)
    axis = draw(st.integers(0, x.rank - 1))
    return (("axis", axis_value(draw, axis, x.rank)),
            *optional(draw, "reverse", draw(st.booleans()), False))


def sort(draw: st.DrawFn, pick: Picker) -> Params:
    """One to three operands of one shape, sorted together by the first ``num_keys``."""
    x = pick.var(0, lambda t: t.rank >= 1)
    n = draw(st.integers(1, 3))
    for i in range(1, n):
        pick.var(i, lambda t: t.shape == x.shape, want=x)
    dimension = axis_value(draw, draw(st.integers(0, x.rank - 1)), x.rank)
    return (*optional(draw, "dimension", dimension, -1),
            *optional(draw, "num_keys", draw(st.integers(1, n)), 1))


def one_operand(draw: st.DrawFn, pick: Picker) -> Params:
    pick.var(0)
    return ()


def zero(draw: st.DrawFn, pick: Picker) -> Params:
    floats = [d for d in pick.config.dtypes if d.is_float] or [DType.f64]
    pick.annotation = draw(array_types(floats, pick.config.max_rank, pick.config.max_side))
    return ()


def iota(draw: st.DrawFn, pick: Picker) -> Params:
    numeric = [d for d in pick.config.dtypes if d.is_numeric] or [DType.i64]
    shape = tuple(draw(st.lists(sizes(pick.config), min_size=1,
                                max_size=max(pick.config.max_rank, 1))))
    dimension = axis_value(draw, draw(st.integers(0, len(shape) - 1)), len(shape))
    return (("dtype", draw(sampled(numeric)).value), ("shape", shape),
            *optional(draw, "dimension", dimension, 0))


def convert_element_type(draw: st.DrawFn, pick: Picker) -> Params:
    pick.var(0)
    targets = FLOAT_DTYPES if pick.linear_call else pick.config.dtypes
    return (("new_dtype", draw(sampled(targets)).value),)


UNARY = ("neg", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
         "acosh", "atanh", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "cbrt", "logistic",
         "erf", "abs", "sign", "floor", "ceil", "round", "square", "not")
BINARY = ("add", "sub", "mul", "div", "pow", "atan2", "rem", "max", "min",
          "eq", "ne", "lt", "le", "gt", "ge", "and", "or")

RECIPES: dict[str, DrawParams] = {
    **dict.fromkeys(UNARY, elementwise_unary),
    **dict.fromkeys(BINARY, elementwise_binary),
    "integer_pow": integer_pow,
    "select_n": select_n,
    "clamp": clamp,
    "broadcast_in_dim": broadcast_in_dim,
    "reshape": reshape,
    "transpose": transpose,
    "squeeze": squeeze,
    "expand_dims": expand_dims,
    "rev": rev,
    "slice": slice_,
    "pad": pad,
    "concatenate": concatenate,
    "dynamic_slice": dynamic_slice,
    "dynamic_update_slice": dynamic_update_slice,
    "gather": gather,
    "scatter_add": scatter_add,
    "dot_general": dot_general,
    "reduce_sum": reduce,
    "reduce_max": reduce,
    "reduce_min": reduce,
    "argmax": arg_reduce,
    "argmin": arg_reduce,
    "cumsum": scan,
    "cumprod": scan,
    "cummax": scan,
    "sort": sort,
    "dup": one_operand,
    "drop": one_operand,
    "zero": zero,
    "iota": iota,
    "copy": one_operand,
    "stop_gradient": one_operand,
    "convert_element_type": convert_element_type,
}
"""How to draw a valid call of each primitive: operands through the :class:`Picker`, the
static parameters as the return value. The record's type rule validates every call."""


def recipe_for(prim: Primitive) -> DrawParams | None:
    """The recipe of ``prim``; an unknown elementwise-looking primitive (fixed arity 1 or 2,
    no required parameter) gets the generic one, so new primitives are exercised at once."""
    if prim.name in RECIPES:
        return RECIPES[prim.name]
    if any(spec.required for spec in prim.params) or prim.arity.min != prim.arity.max:
        return None
    return {1: elementwise_unary, 2: elementwise_binary}.get(prim.arity.min)


def usable_primitives(names: Collection[str] | None = None) -> tuple[str, ...]:
    """The registered primitives (among ``names``) that the generator can call."""
    # sorted: a set's order varies with PYTHONHASHSEED, and a seed must give the same cases
    chosen = list(PRIMITIVES) if names is None else sorted(n for n in names if n in PRIMITIVES)
    return tuple(n for n in chosen if recipe_for(PRIMITIVES[n]) is not None)


# --------------------------------------------------------------------------------------------
# Steps


def linear_mask(draw: st.DrawFn, prim: Primitive, linear: bool) -> Callable[[int], bool] | None:
    """Which positions take linear operands in a call of ``prim`` (``None``: impossible)."""
    kind = prim.linearity.kind
    if not linear:
        return None if kind is LinearityKind.LINEAR_ONLY else (lambda i: False)
    if kind is LinearityKind.NEVER:
        return None
    if kind is LinearityKind.LINEAR_ONLY:
        return lambda i: True
    positions = prim.linearity.positions
    if kind is LinearityKind.TOGETHER:
        return lambda i: member(positions, i)
    choices = positions.indices(prim.arity.min)
    if not choices:
        return None
    k = draw(sampled(choices))
    return lambda i: i == k


def literal_fits(a: Literal, dtype: DType) -> bool:
    """Whether literal ``a`` may take ``dtype`` (spec 2.2; our integers are small)."""
    if a.kind == "bool":
        return dtype is DType.bool
    if a.kind == "float":
        return dtype.is_float
    return dtype.is_numeric


def operand_types(pick: Picker, atoms: tuple[Atom, ...], types: tuple[ArrayType, ...]
                  ) -> tuple[ArrayType, ...]:
    """The operand types as the checker resolves them (literals: shared dtype or default)."""
    shared = pick.group_dtype()
    resolved = []
    for i, (a, t) in enumerate(zip(atoms, types)):
        if isinstance(a, Literal):
            in_group = member(pick.prim.shared_dtype, i) and shared is not None
            dtype = shared if in_group and shared else DEFAULT_LITERAL_DTYPE[a.kind]
            if not literal_fits(a, dtype):
                raise Reject(f"literal {a} cannot take {dtype}")
            t = ArrayType(dtype, ())
        resolved.append(t)
    return tuple(resolved)


def try_call(b: Builder, name: str, linear: bool, focused: bool = False) -> None:
    """Draw one call of ``name`` and bind it, or raise :class:`Reject` (the caller restores
    the builder). ``focused``: the call a focused program is built around."""
    prim = PRIMITIVES[name]
    mask = linear_mask(b.draw, prim, linear)
    recipe = recipe_for(prim)
    if mask is None or recipe is None:
        raise Reject(f"{name} cannot take this call")
    pick = Picker(b, prim, mask, focused)
    params = recipe(b.draw, pick)
    atoms, types = pick.atoms()
    is_linear = pick.linear_call
    if linear and not is_linear:
        raise Reject("a linear step must consume a linear variable")
    if not prim.arity.accepts(len(atoms)):
        raise Reject(f"{name} takes {prim.arity}")
    if prim.result_from_annotation:
        results: tuple[ArrayType, ...] = (pick.annotation,) if pick.annotation else ()
    else:
        try:
            results = prim.type_rule(operand_types(pick, atoms, types),
                                     prim.param_values(dict(params)))
        except LintraError as err:
            raise Reject(str(err)) from None
    if any(t.size > MAX_SIZE or t.rank > b.config.max_rank + 2 for t in results):
        raise Reject("result too large")
    if is_linear and not all(t.dtype.is_float for t in results):
        raise Reject("linear results must be float")
    for binder in pick.params:
        b.add_input(binder)
    for e, vt in pick.pre:
        b.bind(e, (vt,))
    b.consumed |= pick.taken
    annotated = prim.result_from_annotation or b.draw(st.booleans())
    vts = tuple(VarType(t, is_linear) for t in results)
    binders = tuple(Binder(b.fresh(is_linear), vt if annotated else None) for vt in vts)
    b.bind(Equation(binders, name, atoms, params), vts)


def step(b: Builder, attempts: int = 12) -> None:
    """Add one equation (plus any helper equations): try random primitives until one fits;
    fall back to a fresh ``iota`` or ``zero``."""
    names = b.config.primitives
    linear_names = [n for n in names if PRIMITIVES[n].linearity.kind is not LinearityKind.NEVER]
    for _ in range(attempts):
        linear = bool(b.config.linear and linear_names and b.draw(st.booleans()))
        name = b.draw(sampled(linear_names if linear else names))
        saved = (len(b.equations), len(b.variables), set(b.consumed), b.counter)
        try:
            try_call(b, name, linear)
            return
        except Reject:
            del b.equations[saved[0]:], b.variables[saved[1]:]
            b.consumed, b.counter = saved[2], saved[3]
    for fallback, linear in (("iota", False), ("zero", True)):
        if fallback in PRIMITIVES and (b.config.linear or not linear):
            try:
                try_call(b, fallback, linear)
                return
            except Reject:
                continue


def focused_step(b: Builder, name: str, attempts: int = 12) -> int:
    """Try to add one (non-linear) focused call of ``name``; return 1 if it was added, else
    0."""
    for _ in range(attempts):
        saved = (len(b.equations), len(b.variables), set(b.consumed), b.counter)
        try:
            try_call(b, name, False, focused=True)
            return 1
        except Reject:
            del b.equations[saved[0]:], b.variables[saved[1]:]
            b.consumed, b.counter = saved[2], saved[3]
    return 0


# --------------------------------------------------------------------------------------------
# Programs and modules


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    linear: bool = False,
    max_equations: int = 8,
    dtypes: Sequence[DType] = DTYPES,
    primitives: Collection[str] | None = None,
    max_inputs: int = 3,
    max_rank: int = 2,
    max_side: int = 3,
    random_names: bool = False,
    name: str = "f",
    focus: str | None = None,
    float_input: bool = False,
) -> Program:
    """Random well-typed programs (``check`` accepts each one).

    ``linear``: add one or two linear float parameters and linear equations obeying the
    discipline; ``max_equations``: body length, not counting helper equations and final
    ``drop``s; ``dtypes``: the dtypes of parameters and of generated constants; ``primitives``:
    restrict the calls to these names (helpers ``iota``, ``zero``, ``convert_element_type``,
    ``broadcast_in_dim``, ``drop`` may still appear); ``random_names``: arbitrary identifiers
    instead of ``x0, t1`` (parameters), ``a2`` (non-linear) and ``u3`` (linear variables);
    ``focus``: the first equation calls this primitive when any call of it fits, drawn to be
    informative (module docstring), and some result depends on it (the conformance runner
    builds programs around each primitive in turn; the simplest draw is that call alone on
    fresh parameters); ``float_input``: at least one parameter has a float dtype (when
    ``dtypes`` has one).
    """
    dtypes = tuple(dtypes)
    usable = usable_primitives(primitives)
    focusing = focus is not None and focus in usable
    b = Builder(draw, Config(dtypes, max_rank, max_side, linear, usable, random_names))
    types = array_types(dtypes, max_rank, max_side)
    # a focused call mints its own parameters: the simplest draw has no other
    first = 0 if focusing else 1
    inputs = [VarType(draw(types)) for _ in range(draw(st.integers(first, max_inputs)))]
    floats = [d for d in dtypes if d.is_float]
    if float_input and floats and inputs and not any(vt.array.dtype.is_float for vt in inputs):
        inputs[0] = VarType(draw(array_types(floats, max_rank, max_side)))
    if linear and floats:
        linear_types = array_types(floats, max_rank, max_side)
        inputs += [VarType(draw(linear_types), True) for _ in range(draw(st.integers(1, 2)))]
        inputs = list(draw(permuted(inputs)))
    for vt in inputs:
        b.add_input(Binder(b.input_name(vt.linear), vt))
    focus_at = None
    if usable:
        count = draw(st.integers(0, max_equations))
        if focusing and focus is not None:
            added = focused_step(b, focus)
            focus_at = len(b.equations) - 1 if added else None
            count -= added
        if not b.inputs or (float_input and floats and not any(
                i.type is not None and i.type.array.dtype.is_float for i in b.inputs)):
            pool = floats if float_input and floats else dtypes
            b.add_input(Binder(b.input_name(False), VarType(draw(array_types(
                pool, max_rank, max_side)))))
        for _ in range(count):
            step(b)
    elif not b.inputs:
        b.add_input(Binder(b.input_name(False), VarType(draw(types))))
    return finish(draw, b, name, focus_at)


def reaches(equations: Sequence[Equation], results: Sequence[str], k: int) -> bool:
    """Whether equation ``k`` (by index) is one the ``results`` depend on."""
    needed = set(results)
    for j in range(len(equations) - 1, k - 1, -1):
        e = equations[j]
        if any(o.name in needed for o in e.outputs):
            if j == k:
                return True
            needed |= {a.name for a in e.inputs if isinstance(a, Var)}
    return False


def finish(draw: st.DrawFn, b: Builder, name: str, focus_at: int | None = None) -> Program:
    """Return some non-linear variables (one of them depending on equation ``focus_at``,
    the focused call, when there is one); return or drop every unconsumed linear
    variable."""
    plain = [n for n, vt in b.variables if not vt.linear]
    results = draw(st.lists(sampled(plain), max_size=3, unique=True)) if plain else []
    for n in b.available_linear():
        if "drop" in PRIMITIVES and draw(st.booleans()):
            b.bind(Equation((), "drop", (Var(n),)), ())
        else:
            results.append(n)
    if not results and plain:
        results.append(plain[-1])
    if focus_at is not None and not reaches(b.equations, results, focus_at):
        results.append(b.equations[focus_at].outputs[0].name)
    results = list(draw(permuted(results)))
    types = dict(b.variables)
    return Program(name, tuple(b.inputs), tuple(types[n] for n in results),
                   tuple(b.equations), tuple(Var(n) for n in results))


@st.composite
def modules(draw: st.DrawFn, max_defs: int = 3, **kwargs: object) -> Module:
    """Modules of several generated defs ``f0, f1, ...`` (``kwargs`` go to
    :func:`programs`); sometimes a last def ``main`` calls ``f0`` with
    ``call(..., fn="f0")`` (spec 1.4)."""
    n = draw(st.integers(1, max_defs))
    defs = [draw(programs(name=f"f{k}", **kwargs)) for k in range(n)]
    if draw(st.booleans()):
        callee = defs[0]
        outs = tuple(Binder(f"r{k}", vt if draw(st.booleans()) else None)
                     for k, vt in enumerate(callee.result_types))
        args = tuple(Var(binder.name) for binder in callee.inputs)
        body = (Equation(outs, "call", args, (("fn", callee.name),)),)
        defs.append(Program("main", callee.inputs, callee.result_types, body,
                            tuple(Var(o.name) for o in outs)))
    return Module(defs)


# --------------------------------------------------------------------------------------------
# Mutated program texts (fuzzing)

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\s+|.", re.S)
FUZZ_ALPHABET = "abcdefilnrstuxyz_0123456789 \n\t()[]{},:=-+.#\"'\\e"
FUZZ_WORDS = (
    "def", "return", "lin", "true", "false", "inf", "-inf", "nan", "f64", "f32", "i64", "i32",
    "bool", "call", "fn", "dup", "drop", "zero", "add", "mul", "select_n", "reduce_sum",
    "axes", "shape", "->", "(", ")", "[", "]", ",", ":", "=", '"', "#", "\n", "    ",
)
FUZZ_NUMBERS = ("0", "-0", "-1", "1e999", "-1e999", "1e-400", "99999999999999999999999",
                "-9223372036854775809", "2147483648", "0.5", "1.", ".5", "00", "1e5", "-3")


def tokens(text: str) -> list[str]:
    """Split program text into identifiers, numbers, whitespace runs and single characters."""
    return _TOKEN.findall(text)


def replacement_tokens() -> st.SearchStrategy[str]:
    """Tokens to insert: keywords, punctuation, odd numbers, identifiers, primitive names."""
    return st.one_of(
        st.sampled_from(FUZZ_WORDS), st.sampled_from(FUZZ_NUMBERS), identifiers(),
        st.sampled_from(sorted(PRIMITIVES)), st.text(FUZZ_ALPHABET, min_size=1, max_size=4),
    )


def mutate_chars(draw: st.DrawFn, text: str) -> str:
    """Delete, insert or duplicate a run of characters."""
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(i + 8, len(text))))
    how = draw(st.sampled_from(["delete", "insert", "duplicate"]))
    if how == "delete":
        return text[:i] + text[j:]
    if how == "insert":
        return text[:i] + draw(st.text(FUZZ_ALPHABET, min_size=1, max_size=6)) + text[i:]
    return text[:j] + text[i:j] + text[j:]


def mutate_tokens(draw: st.DrawFn, text: str) -> str:
    """Delete, duplicate, replace, insert or swap tokens (identifiers, numbers, brackets)."""
    toks = tokens(text)
    if not toks:
        return draw(replacement_tokens())
    i = draw(st.integers(0, len(toks) - 1))
    how = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "swap"]))
    if how == "delete":
        del toks[i]
    elif how == "duplicate":
        toks.insert(i, toks[i])
    elif how == "replace":
        toks[i] = draw(replacement_tokens())
    elif how == "insert":
        toks.insert(i, draw(replacement_tokens()))
    else:
        j = draw(st.integers(0, len(toks) - 1))
        toks[i], toks[j] = toks[j], toks[i]
    return "".join(toks)


def mutate_lines(draw: st.DrawFn, text: str) -> str:
    """Swap, delete, duplicate or re-indent lines."""
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["swap", "delete", "duplicate", "indent", "dedent"]))
    if how == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(j, lines[i])
    elif how == "indent":
        lines[i] = draw(st.sampled_from(["  ", "    ", "\t", "        "])) + lines[i]
    else:
        lines[i] = lines[i].lstrip()
    return "\n".join(lines)


def truncate(draw: st.DrawFn, text: str) -> str:
    """A prefix of the text."""
    return text[: draw(st.integers(0, len(text)))]


MUTATIONS: tuple[Callable[[st.DrawFn, str], str], ...] = (
    mutate_chars, mutate_tokens, mutate_lines, truncate,
)
"""The kinds of mutation; each maps a text to a nearby (usually broken) text."""


@st.composite
def program_text_mutations(draw: st.DrawFn, text: str, max_mutations: int = 4) -> str:
    """Texts obtained from ``text`` by 1 to ``max_mutations`` random :data:`MUTATIONS`."""
    for _ in range(draw(st.integers(1, max_mutations))):
        text = draw(st.sampled_from(MUTATIONS))(draw, text)
    return text
