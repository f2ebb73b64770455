"""The engine's own program representation: compact, mutable while built, linear to walk.

The reference represents programs as frozen dataclasses of named binders, which is the right
form for a specification and the wrong one for a compiler (checking a 100,000-equation program
costs seconds). Here a program is a :class:`Graph`: a list of :class:`Eqn` whose operands are
:class:`Var` objects (identity is the variable: no names, no environment lookups) or
:class:`Lit` constants with their dtype already resolved. Types are :class:`AType` tuples
``(dtype, shape)`` with the dtype spelled as in the language (``"f64"``, ``"i32"``, ...).

A :class:`Builder` appends equations, inferring each result's type and linearity from the
primitive's rule record (:mod:`lintra.optimized.rules`), so every transformation builds its
output the same checked way. Linear variables may be used any number of times inside the
engine; the ``dup``/``drop`` discipline of spec 2.4 is restored only when a graph is exported
as a lintra program (:mod:`lintra.optimized.convert`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from lintra.reference.errors import LinearityError, LintraError, LintraTypeError

if TYPE_CHECKING:
    from lintra.optimized.rules.base import Rule

F = TypeVar("F", bound=Any)

FLOAT_DTYPES = frozenset({"f64", "f32"})
INT_DTYPES = frozenset({"i64", "i32"})
DTYPES = ("f64", "f32", "i64", "i32", "bool")


class AType(NamedTuple):
    """An array type: dtype name and static shape (``()`` for a scalar)."""

    dtype: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"


class Var:
    """A variable: its type and whether it is linear. Compared by identity."""

    __slots__ = ("linear", "type")

    def __init__(self, type: AType, linear: bool = False) -> None:
        self.type = type
        self.linear = linear

    def __repr__(self) -> str:
        return f"Var({'lin ' if self.linear else ''}{self.type}, {id(self):#x})"


class Lit:
    """A rank-0 constant whose dtype is resolved (spec 2.2); ``value`` is a Python bool, int
    or float (already rounded to f32 for an f32 literal when the value is used)."""

    __slots__ = ("dtype", "type", "value")
    linear = False

    def __init__(self, value: bool | int | float, dtype: str) -> None:
        self.value = value
        self.dtype = dtype
        self.type = AType(dtype, ())
        """Its type, made once: the type rules read it for every equation it appears in."""

    def __repr__(self) -> str:
        return f"Lit({self.value!r}, {self.dtype})"


Atom = Var | Lit


class Origin:
    """Where an equation came from, rendered only when an error names it:
    ``equation 3: y = sin(x)`` (the 1-based index and the source equation)."""

    __slots__ = ("equation", "index")

    def __init__(self, index: int, equation: object) -> None:
        self.index = index
        self.equation = equation

    def __str__(self) -> str:
        return f"equation {self.index}: {self.equation}"


class Eqn:
    """``outs = prim(ins, params)``. ``params`` is a dict of normalized static parameters
    (defaults filled in, selecting axes non-negative); ``origin`` names the source equation
    for error messages (an :class:`Origin`), or is None. The results of one equation are all
    linear or all not. Equations and graphs are never changed once built, so transformations
    share the equations they keep as they are."""

    __slots__ = ("ins", "origin", "outs", "params", "prim")

    def __init__(self, prim: str, ins: tuple[Atom, ...], outs: tuple[Var, ...],
                 params: dict, origin: Origin | None = None) -> None:
        self.prim = prim
        self.ins = ins
        self.outs = outs
        self.params = params
        self.origin = origin

    def __repr__(self) -> str:
        return f"Eqn({self.prim}, {len(self.ins)} in, {len(self.outs)} out, {self.params})"


class Graph:
    """A program: parameters, equations in order, returned variables (a variable may be
    returned more than once, or be a parameter)."""

    __slots__ = ("eqns", "inputs", "name", "outputs")

    def __init__(self, name: str, inputs: Sequence[Var], eqns: list[Eqn],
                 outputs: Sequence[Var]) -> None:
        self.name = name
        self.inputs = tuple(inputs)
        self.eqns = eqns
        self.outputs = tuple(outputs)

    @property
    def input_types(self) -> tuple[AType, ...]:
        return tuple(v.type for v in self.inputs)

    @property
    def output_types(self) -> tuple[AType, ...]:
        return tuple(v.type for v in self.outputs)

    def __repr__(self) -> str:
        return f"Graph({self.name}, {len(self.inputs)} inputs, {len(self.eqns)} equations)"


_RULES: dict[str, Rule] = {}


def lookup(prim: str) -> Rule:
    """The rule record of ``prim`` (an UnsupportedPrimitiveError if the engine has none)."""
    rule = _RULES.get(prim)
    if rule is not None:
        return rule
    from lintra.optimized.rules import RULES
    from lintra.reference.errors import UnsupportedPrimitiveError

    _RULES.update(RULES)  # the registry is complete once its package is imported
    try:
        return RULES[prim]
    except KeyError:
        raise UnsupportedPrimitiveError(
            f"the optimized engine has no rule for primitive {prim!r}") from None


_JUDGED: dict[tuple, tuple[tuple[AType, ...], bool]] = {}
"""Result types and linearity of parameterless primitives by operand types and linear
flags (:func:`judge`), keyed by :func:`_judged_key`."""

_JUDGED_LIMIT = 4096


def _judged_key(prim: str, ins: tuple[Atom, ...]) -> tuple:
    """``(prim, type, linear, type, linear, ...)``: what a parameterless rule's verdict on
    ``ins`` depends on (the number of operands included, by the key's length). Spelled out
    for one and two operands, which are most equations: one tuple made, nothing else."""
    if len(ins) == 2:
        a, b = ins
        return (prim, a.type, a.linear, b.type, b.linear)
    if len(ins) == 1:
        a = ins[0]
        return (prim, a.type, a.linear)
    return (prim, *[x for a in ins for x in (a.type, a.linear)])


def judge(rule: Rule, ins: tuple[Atom, ...], params: dict | None
          ) -> tuple[dict, tuple[AType, ...], bool]:
    """``rule`` applied to operands ``ins`` with ``params``: the normalized parameters, the
    result types and whether the results are linear (spec 2.3, 2.4), or the rule's
    LintraError. A rule without parameters judges operands by their types and linear flags
    alone, so each combination it accepts is judged once (a refused one raises every time)."""
    given = params if params is not None else {}
    plain = not params and not rule.params
    if plain:
        key = _judged_key(rule.name, ins)
        known = _JUDGED.get(key)
        if known is not None:
            return given, known[0], known[1]
    ps = rule.normalized(given, ins)
    out_types = rule.result_types(ins, ps)
    linear = rule.linearity.result_linear(ins, rule.name)
    if linear:
        require_float_results(rule.name, out_types)
    if plain:
        if len(_JUDGED) >= _JUDGED_LIMIT:
            _JUDGED.clear()
        _JUDGED[key] = (out_types, linear)
    return ps, out_types, linear


class Builder:
    """Appends equations to a list, inferring result types and linearity from the rules.

    Transformation rules (JVP, transpose) build through a builder: ``b.op("mul", c, t)``
    returns the result variable (a tuple for several results), ``b.lit(2.0, "f32")`` a
    constant. ``origin`` names the equation being transformed, for error messages.
    """

    __slots__ = ("eqns", "origin")

    def __init__(self) -> None:
        self.eqns: list[Eqn] = []
        self.origin: Origin | None = None

    def emit(self, prim: str, ins: Sequence[Atom], params: dict | None = None,
             types: Sequence[AType] | None = None) -> tuple[Var, ...]:
        """Append ``prim(ins, params)``; its results' types are inferred (or, for ``zero``,
        given by ``types``). Raises the rule's LintraError, located at ``origin``."""
        rule = _RULES.get(prim) or lookup(prim)
        if type(ins) is not tuple:
            ins = tuple(ins)
        try:
            if types is None:
                ps, out_types, linear = judge(rule, ins, params)
            else:
                ps = rule.normalized(params if params is not None else {}, ins)
                out_types = tuple(types)
                linear = rule.linearity.result_linear(ins, prim)
                if linear:
                    require_float_results(prim, out_types)
        except LintraError as err:
            raise err.at(equation=str(self.origin)) if self.origin else err from None
        if len(out_types) == 1:
            outs: tuple[Var, ...] = (Var(out_types[0], linear),)
        else:
            outs = tuple([Var(t, linear) for t in out_types])
        self.eqns.append(Eqn(prim, ins, outs, ps, self.origin))
        return outs

    def op(self, prim: str, *ins: Atom, **params: object) -> Var:
        """Append a one-result equation and return its result. A parameterless primitive
        on operand types and linear flags already judged (:func:`judge`) takes the short
        way: the verdict is read, nothing is inferred again (most equations the
        transformations emit)."""
        if not params:
            if len(ins) == 2:  # _judged_key, spelled out for the commonest case
                a, c = ins
                known = _JUDGED.get((prim, a.type, a.linear, c.type, c.linear))
            else:
                known = _JUDGED.get(_judged_key(prim, ins))
            if known is not None and len(known[0]) == 1:
                out = Var(known[0][0], known[1])
                self.eqns.append(Eqn(prim, ins, (out,), params, self.origin))
                return out
        (out,) = self.emit(prim, ins, params)
        return out

    def lit(self, value: bool | int | float, dtype: str) -> Lit:
        return Lit(value, dtype)

    def zero(self, t: AType) -> Var:
        """A linear zero of type ``t`` (the ``zero`` primitive)."""
        (out,) = self.emit("zero", (), {}, types=(t,))
        return out

    def copy_of(self, e: Eqn, ins: Sequence[Atom], linear: bool | None = None
                ) -> tuple[Var, ...]:
        """Append ``e`` again on new operands of the same types: no inference needed.
        ``linear=False`` makes the results ordinary variables (J-Forget of spec 4.3, for an
        equation whose primitive accepts non-linear operands in its linear positions)."""
        old = e.outs
        if len(old) == 1:
            v = old[0]
            outs: tuple[Var, ...] = (Var(v.type, v.linear if linear is None else linear),)
        elif linear is None:
            outs = tuple([Var(v.type, v.linear) for v in old])
        else:
            outs = tuple([Var(v.type, linear) for v in old])
        self.eqns.append(Eqn(e.prim, ins if type(ins) is tuple else tuple(ins), outs,
                             e.params, e.origin))
        return outs


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a graph is built or compiled: building
    allocates millions of small objects, each generation-2 collection walks all of them, and
    a 100,000-equation program then costs quadratic time. The graphs hold no cycles that need
    collecting meanwhile; the collector's previous state is restored."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def collector_paused_during(fn: F) -> F:
    """Decorator: ``fn`` runs with the collector paused (:func:`collector_paused`)."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        with collector_paused():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_float_results(prim: str, types: Sequence[AType]) -> None:
    """T-Type (spec 2.1): a linear value has a float dtype, so a primitive whose results are
    linear must give float results (``convert_element_type`` of a tangent to i32 is not
    linear)."""
    for t in types:
        if t.dtype not in FLOAT_DTYPES:
            raise LinearityError(f"{prim} of a linear operand gives a linear {t}, but only "
                                 "float values can be linear")


def require(condition: bool, message: str, error: type[LintraError] = LintraTypeError) -> None:
    """Raise ``error(message)`` unless ``condition``: the type rules' one way to refuse."""
    if not condition:
        raise error(message)


def used_vars(eqns: Iterable[Eqn]) -> set[Var]:
    """Every variable some equation reads."""
    return {a for e in eqns for a in e.ins if isinstance(a, Var)}
