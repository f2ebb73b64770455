"""Building programs: fresh names, an equation emitter and explicit sharing (spec 4.1).

Every transformation (JVP, unzip, transpose, composition) writes its result through an
:class:`Emitter`, which names each new variable freshly, infers its type with the primitive's
own type rule and annotates its binder. Rules may use a linear value any number of times;
:func:`share_linear_values` then makes the program obey the linearity discipline of chapter 2
by inserting a chain of ``dup`` for every linear value used more than once and a ``drop`` for
every linear value never used (rule *Share* of spec 4.1). Both are single passes, so
transformed programs of any length are built without recursion. The transformations run
with the cyclic garbage collector held off (:func:`collector_paused`), which otherwise
walks the whole heap again and again while a long result is built.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import ParamSpec, TypeVar, cast

import numpy as np

from lintra.reference.check import (
    CALL,
    DEFAULT_LITERAL_DTYPE,
    LITERAL_TYPES,
    EquationTyping,
    ProgramTyping,
    check,
    keep_typing,
    kept_typing,
    known_typing,
    literal_problem,
)
from lintra.reference.errors import LintraError, LintraTypeError
from lintra.reference.primitives import lookup
from lintra.reference.primitives.base import Primitive
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    Module,
    ParamValue,
    Program,
    Var,
    VarType,
)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector off for the duration of one transformation or
    evaluation, then put it back as it was (``gc.isenabled()`` at entry, restored in
    ``finally``; nested uses leave it to the outermost).

    Why: a transformation of a long program allocates its result, millions of objects that
    all survive it, and each time the survivors grow the heap by a quarter the collector
    walks every object the process holds, none of them garbage. At 100,000 equations that
    was a quarter of ``grad``'s time. The transformations build no reference cycles (an
    error's traceback is one, collected once the collector is back), so little memory waits
    for it: reference counting frees their temporaries as before. A program in another thread
    that switches the collector on or off meanwhile may find it restored at exit."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def without_collector(f: Callable[_P, _R]) -> Callable[_P, _R]:
    """``f`` run under :func:`collector_paused`."""

    @functools.wraps(f)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with collector_paused():
            return f(*args, **kwargs)

    return paused


class NameSupply:
    """Fresh variable names: never one already used in the program being transformed.

    ``fresh("dx")`` gives ``dx`` if it is free, else ``dx_1``, ``dx_2``, ... Deterministic, so
    a transformation prints the same program every time.
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(taken)
        self._next: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def fresh(self, hint: str) -> str:
        if hint not in self._taken:
            self._taken.add(hint)
            return hint
        n = self._next.get(hint, 1)
        name = f"{hint}_{n}"
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._next[hint] = n + 1
        self._taken.add(name)
        return name


def check_argument(p: object, what: str) -> ProgramTyping:
    """Check that a transformation's argument is a well-typed :class:`Program`.

    A :class:`Module` (what :func:`~lintra.reference.parse` returns) is refused with a
    message naming its defs, so that the mistake does not surface as an attribute error.
    """
    if isinstance(p, Module):
        names = ", ".join(p) or "none"
        raise LintraTypeError(
            f"{what} takes one Program, got a Module (defs: {names}); pick one with "
            "module['name'] or parse a single def with parse_program"
        )
    if not isinstance(p, Program):
        raise LintraTypeError(f"{what} takes a Program, got {type(p).__name__}")
    return checked(p)


@functools.lru_cache(maxsize=1024)
def _typing_of(p: Program) -> ProgramTyping:
    return cast(ProgramTyping, check(p))


def checked(p: Program) -> ProgramTyping:
    """``check(p)`` for a call-free program, done once per program object and remembered for
    the last 1024 distinct programs.

    The transformations and the evaluator check the same programs over and over (the
    oracle evaluates one program at a dozen points, the analysis linearizes the same
    equation at every corner). The typing is kept on the program object itself
    (:func:`~lintra.reference.check.keep_typing`), so meeting that object again costs
    nothing; an equal program built anew is found by value (hashing a program costs a
    fifth of checking it). Memos of a pure function of immutable values, not state: the
    result is the same whether or not it was remembered (the typing returned always names
    ``p`` itself, whose source locations may differ from an equal program's). Ill-typed
    programs raise every time.
    """
    kept = kept_typing(p)
    if kept is not None:
        return kept
    try:
        typing = _typing_of(p)
    except TypeError:  # a parameter value that cannot be hashed: check without the memo
        typing = cast(ProgramTyping, check(p))
    return keep_typing(typing if typing.program is p else replace(typing, program=p))


def checked_result(p: Program) -> Program:
    """A transformation's result, checked before it is returned (J-Program, spec 4.2), with
    its typing kept on it, so that the transformation or evaluation that takes it next does
    not check it again."""
    keep_typing(cast(ProgramTyping, check(p)))
    return p


def program_names(p: Program) -> set[str]:
    """Every variable name a program binds."""
    names = {b.name for b in p.inputs}
    for e in p.equations:
        names.update(b.name for b in e.outputs)
    return names


@dataclass
class Emitter:
    """Appends typed equations to a program under construction.

    ``types`` holds the type of every variable in scope; ``equations`` the body so far.
    Linear results are those of equations with a linear operand (and ``zero``); whether the
    operands respect the primitive's linearity declaration is judged by the checker, never
    assumed: ``typings`` holds, for each equation, the typing the checker's own judgments of
    its primitive, operand types and parameters give it (``check.known_typing``), or
    ``None`` where they fail or the emitter cannot know them. :func:`typed_program` keeps a
    complete record on the finished program and checks the program where it is incomplete.
    """

    names: NameSupply
    types: dict[str, VarType] = field(default_factory=dict)
    equations: list[Equation] = field(default_factory=list)
    typings: list[EquationTyping | None] = field(default_factory=list)

    # -- variables ------------------------------------------------------------------------

    def declare(self, hint: str, vt: VarType) -> Var:
        """A fresh variable of type ``vt`` (for parameters of the program being built)."""
        name = self.names.fresh(hint)
        self.types[name] = vt
        return Var(name)

    def bind_existing(self, name: str, vt: VarType) -> Var:
        """Bring a variable of the source program into scope under its own name."""
        self.names.reserve(name)
        self.types[name] = vt
        return Var(name)

    def type_of(self, a: Atom, dtype: DType | None = None) -> VarType:
        """The type of an operand; a literal takes ``dtype`` (else its default dtype)."""
        if isinstance(a, Var):
            return self.types[a.name]
        return LITERAL_TYPES[dtype or DEFAULT_LITERAL_DTYPE[a.kind]]

    def array_type(self, a: Atom, dtype: DType | None = None) -> ArrayType:
        return self.type_of(a, dtype).array

    def operand_types(self, prim: Primitive, inputs: tuple[Atom, ...]) -> tuple[VarType, ...]:
        """The operands' types; a literal takes the dtype of the first variable among the
        primitive's shared-dtype positions, as the checker gives it (spec 2.2)."""
        types = self.types
        if all([isinstance(a, Var) for a in inputs]):
            return tuple([types[a.name] for a in inputs])  # type: ignore[union-attr]
        shared = prim.shared_dtype.indices(len(inputs))
        common = next((types[inputs[i].name].array.dtype  # type: ignore[union-attr]
                       for i in shared if isinstance(inputs[i], Var)), None)
        return tuple(self.type_of(a, common if i in shared else None)
                     for i, a in enumerate(inputs))

    # -- equations ------------------------------------------------------------------------

    def emit(self, primitive: str, *inputs: Atom, hint: str = "v", **params: ParamValue
             ) -> tuple[Var, ...]:
        """Append ``outs = primitive(inputs, params)``; return the fresh result variables.

        Parameters equal to their default are left out of the printed equation.
        """
        prim = lookup(primitive)
        values = prim.param_values(params)
        operands = self.operand_types(prim, inputs)
        given = tuple(
            (spec.name, values[spec.name])
            for spec in prim.params
            if spec.required or values[spec.name] != spec.default
        ) if prim.params else ()
        typing = known_typing(prim, operands, given)
        for a, vt in zip(inputs, operands):
            if isinstance(a, Literal) and literal_problem(a, vt.array.dtype) is not None:
                typing = None
        if typing is not None:
            result_types = typing.outputs
        else:  # the checker will name what is wrong when the finished program is checked
            linear = any(vt.linear for vt in operands)
            results = prim.type_rule(tuple(vt.array for vt in operands), values)
            result_types = tuple(VarType(t, linear) for t in results)
        fresh = self.names.fresh
        binders = tuple([Binder(fresh(hint), vt) for vt in result_types])
        for b in binders:
            self.types[b.name] = b.type  # type: ignore[assignment]
        self.equations.append(Equation(binders, primitive, inputs, given))
        self.typings.append(typing)
        return tuple([Var(b.name) for b in binders])

    def emit1(self, primitive: str, *inputs: Atom, hint: str = "v", **params: ParamValue) -> Var:
        """:meth:`emit` for a primitive with exactly one result."""
        (out,) = self.emit(primitive, *inputs, hint=hint, **params)
        return out

    def copy_equation(self, e: Equation, result_types: Sequence[VarType],
                      typing: EquationTyping | None = None) -> None:
        """Append an equation of the source program unchanged, its binders annotated;
        ``typing`` is its typing there, where its operands have the same types here."""
        annotated = True
        for b, vt in zip(e.outputs, result_types):
            self.names.reserve(b.name)
            self.types[b.name] = vt
            annotated = annotated and (b.type is vt or b.type == vt)
        if not annotated:
            e = Equation(
                tuple([Binder(b.name, vt, b.loc) for b, vt in zip(e.outputs, result_types)]),
                e.primitive, e.inputs, e.params, e.loc,
            )
        self.equations.append(e)
        self.typings.append(typing)

    def rename(self, v: Var, hint: str, since: int) -> Var:
        """Give ``v`` a fresh name from ``hint`` if an equation at index ``since`` or later
        defines it (so it is private to what was emitted since); else return ``v``.

        Transformations use it to name a rule's result after the primal it belongs to
        (``dy`` for ``y``) without the rules knowing those names.
        """
        name = v.name
        equations = self.equations
        for j in range(len(equations) - 1, since - 1, -1):
            if any([b.name == name for b in equations[j].outputs]):
                break
        else:
            return v
        new = self.declare(hint, self.types[name])
        for k in range(j, len(equations)):  # the definition, then the uses emitted after it
            e = equations[k]
            if k == j or any([isinstance(a, Var) and a.name == name for a in e.inputs]):
                equations[k] = Equation(
                    tuple([Binder(new.name, b.type, b.loc) if b.name == name else b
                           for b in e.outputs]),
                    e.primitive,
                    tuple([new if isinstance(a, Var) and a.name == name else a
                           for a in e.inputs]),
                    e.params, e.loc,
                )
        return new

    def zero(self, t: ArrayType, hint: str = "z") -> Var:
        """The linear zero of type ``t``: ``z: lin t = zero()``."""
        z = self.declare(hint, VarType(t, linear=True))
        self.equations.append(Equation((Binder(z.name, self.types[z.name]),), "zero", ()))
        self.typings.append(EquationTyping((), (self.types[z.name],), {}))  # T-Zero
        return z

    def constant(self, value: float, t: ArrayType, hint: str = "k") -> Var:
        """A non-linear array of type ``t`` filled with ``value`` rounded to ``t``'s dtype, as
        a literal of that dtype is (E-Lit), in both domains: the literal emitted is the rounded
        value itself, so its conversion is exact (the mpmath domain's conversion is the
        identity: ``0.1`` for an f32 ``t`` must be f32(0.1) there too, not the f64 0.1)."""
        if t.dtype is DType.f64:
            scalar = self.emit1("copy", Literal(float(value)), hint=hint)
        else:
            if t.dtype.is_float:
                with np.errstate(over="ignore"):  # beyond f32's range: inf, as E-Lit says
                    value = float(np.asarray(value, dtype=t.dtype.numpy))
            scalar = self.emit1(
                "convert_element_type", Literal(float(value)), new_dtype=t.dtype.value, hint=hint
            )
        if not t.shape:
            return scalar
        return self.emit1(
            "broadcast_in_dim", scalar, shape=t.shape, broadcast_dimensions=(), hint=hint
        )

    def inline(self, p: Program, args: Sequence[Atom], hint_prefix: str = "") -> list[Atom]:
        """Append the body of checked, call-free program ``p`` applied to ``args``.

        Every variable of ``p`` is renamed freshly; returns the atoms ``p`` returns. The
        equations keep the typings they have in ``p`` where ``p`` carries its typing and
        each argument is a variable of its parameter's type.
        """
        env: dict[str, Atom] = {b.name: a for b, a in zip(p.inputs, args)}
        kept = kept_typing(p)
        typings = kept.equations if kept is not None and all(
            isinstance(a, Var) and self.types.get(a.name) == b.type
            for b, a in zip(p.inputs, args)
        ) else (None,) * len(p.equations)

        def rename(a: Atom) -> Atom:
            return env[a.name] if isinstance(a, Var) else a

        for e, typing in zip(p.equations, typings):
            if e.primitive == CALL:
                raise LintraTypeError("inline needs a program without calls", program=p.name)
            outs = []
            for b in e.outputs:
                if b.type is None:
                    raise LintraTypeError(
                        f"inline needs an annotated program ({b.name} has no type)",
                        program=p.name,
                    )
                v = self.declare(hint_prefix + b.name, b.type)
                env[b.name] = v
                outs.append(Binder(v.name, b.type))
            self.equations.append(
                Equation(tuple(outs), e.primitive, tuple(rename(a) for a in e.inputs), e.params)
            )
            self.typings.append(typing)
        return [rename(v) for v in p.outputs]


# --------------------------------------------------------------------------------------------
# Share: explicit dup and drop (spec 4.1)


def share_linear_values(
    inputs: Sequence[Binder], equations: Sequence[Equation], outputs: Sequence[Var],
    names: NameSupply,
) -> tuple[list[Equation], list[Var]]:
    """Rule *Share*: make every linear variable used exactly once.

    A linear variable used k > 1 times gets k fresh copies from a chain of k - 1 ``dup``
    equations placed right after its definition, and its uses, in order, read the copies;
    a linear variable never used gets ``drop`` right after its definition.
    """
    shared, _, outs = share_with_typings(inputs, equations, [None] * len(equations), outputs,
                                         names)
    return shared, outs


def share_with_typings(
    inputs: Sequence[Binder], equations: Sequence[Equation],
    typings: Sequence[EquationTyping | None], outputs: Sequence[Var], names: NameSupply,
) -> tuple[list[Equation], list[EquationTyping | None], list[Var]]:
    """:func:`share_linear_values`, with the typing of each equation of the result: an
    equation's given typing (reading a copy of a variable instead changes no type), and the
    checker's typing of each ``dup`` and ``drop`` it adds."""
    uses: Counter[str] = Counter()
    linear: dict[str, VarType] = {}
    for b in inputs:
        if b.type is not None and b.type.linear:
            linear[b.name] = b.type
    for e in equations:
        for a in e.inputs:
            if isinstance(a, Var) and a.name in linear:
                uses[a.name] += 1
        for b in e.outputs:
            if b.type is not None and b.type.linear:
                linear[b.name] = b.type
    for v in outputs:
        if v.name in linear:
            uses[v.name] += 1
    copies: dict[str, deque[str]] = {}
    out: list[Equation] = []
    out_typings: list[EquationTyping | None] = []

    def share(b: Binder) -> None:
        """Append the ``dup`` chain or the ``drop`` that linear ``b`` needs (if any), with
        the checker's typing of each."""
        vt = b.type
        if vt is None or not vt.linear:
            return
        k = uses[b.name]
        if k == 1:
            return
        if k == 0:
            out.append(Equation((), "drop", (Var(b.name),)))
            out_typings.append(known_typing(lookup("drop"), (vt,), ()))
            return
        dup_typing = known_typing(lookup("dup"), (vt,), ())
        queue: deque[str] = deque()
        source = b.name
        for i in range(k - 1):
            first = names.fresh(f"{b.name}_{i + 1}")
            rest = names.fresh(f"{b.name}_{i + 2}") if i == k - 2 else names.fresh(b.name + "_r")
            out.append(Equation((Binder(first, vt), Binder(rest, vt)), "dup", (Var(source),)))
            out_typings.append(dup_typing)
            queue.append(first)
            source = rest
        queue.append(source)
        copies[b.name] = queue

    def use(a: Atom) -> Atom:
        if isinstance(a, Var) and a.name in copies:
            return Var(copies[a.name].popleft())
        return a

    for b in inputs:
        share(b)
    for e, typing in zip(equations, typings):
        if copies and any([isinstance(a, Var) and a.name in copies for a in e.inputs]):
            e = Equation(e.outputs, e.primitive, tuple([use(a) for a in e.inputs]), e.params,
                         e.loc)
        out.append(e)
        out_typings.append(typing)
        for b in e.outputs:
            share(b)
    return out, out_typings, [use(v) for v in outputs]  # type: ignore[misc]


def build_program(
    name: str, inputs: Sequence[Binder], em: Emitter, outputs: Sequence[Var]
) -> Program:
    """The finished program: sharing made explicit, result types from the emitter's types."""
    equations, outs = share_linear_values(inputs, em.equations, outputs, em.names)
    return Program(
        name=name,
        inputs=tuple(inputs),
        result_types=tuple(em.types[v.name] for v in outputs),
        equations=tuple(equations),
        outputs=tuple(outs),
    )


def typed_program(
    name: str, inputs: Sequence[Binder], em: Emitter, outputs: Sequence[Var]
) -> Program:
    """A transformation's result (:func:`build_program`) with its typing kept on it.

    A transformation's result is well-typed by construction (spec 4.4, 5.1, 5.2): names are
    fresh and bound once, each equation is emitted after its operands, rule *Share* uses
    every linear variable once. What depends on the rules (result types, linearity, literal
    dtypes) is judged by the checker's own judgments as each equation is emitted
    (:attr:`Emitter.typings`). So the typing is assembled from those judgments instead of
    walking the program again; where one is missing (a judgment failed, or an equation came
    from elsewhere) the program is checked, which names the error. ``tests/
    test_reference_scale.py`` compares these typings with ``check``'s on random programs.
    """
    equations, typings, outs = share_with_typings(inputs, em.equations, em.typings, outputs,
                                                  em.names)
    p = Program(
        name=name,
        inputs=tuple(inputs),
        result_types=tuple(em.types[v.name] for v in outputs),
        equations=tuple(equations),
        outputs=tuple(outs),
    )
    if len(em.typings) != len(em.equations) or any([t is None for t in typings]):
        return checked_result(p)
    variables = {b.name: b.type for b in inputs}
    for e, et in zip(equations, typings):
        for b, vt in zip(e.outputs, et.outputs):  # type: ignore[union-attr]
            variables[b.name] = vt
    keep_typing(ProgramTyping(p, variables, tuple(typings)))  # type: ignore[arg-type]
    return p


def rule_error(err: LintraError, prim: str, e: Equation, index: int, program: str,
               stage: str) -> LintraError:
    """Locate an error raised while applying ``prim``'s ``stage`` rule to equation ``index``."""
    return err.at(
        program=program, location=e.loc, equation=f"equation {index + 1}: {e} ({stage} of {prim})"
    )
