"""A catalogue of deliberately broken backends: the conformance suite tested on itself.

Each mutant is the reference backend (``lintra.conformance.backends.reference``) with ONE
realistic bug, described by its docstring. ``tests/test_mutants.py`` runs the suite on every
mutant and requires at least one FAIL; a mutant nothing catches is a hole in the suite.

A bug is planted in one of three places, from the most local to the least:

* **rule bugs** edit the program a transformation produced. A JVP rule bug edits the
  equations that one rule emitted for one source equation of the JVP program (found by
  :func:`jvp_segments`: the JVP program copies each source equation under its own names and
  follows it with its rule's equations, spec 4.3). A transpose rule bug edits the equations
  that one transpose rule emitted (found by :func:`cotangent_sites`: the result of the rule
  for a linear operand ``a`` is named ``ct_a``, spec 5.2; the linear program is first
  renamed ``v0, v1, ...`` so that no other name can look like one);
* **evaluation bugs** rewrite the source program before anything runs
  (:meth:`Mutant.source`), so evaluate, jvp, linearize and vjp all see the same wrong kernel;
* **plumbing bugs** wrap the values and linear maps the backend hands back.

No global state is touched: a mutant is an ordinary object, and only programs that reach the
affected rule, kernel or path see the bug. Each mutant also carries a :class:`Witness`: a
small case on which the bug shows, of the kind the corpus (``conformance/cases/``) should hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from lintra.conformance.backend import Capabilities
from lintra.conformance.backends.reference import ReferenceBackend
from lintra.conformance.properties import Case
from lintra.reference.check import annotate, check
from lintra.reference.derived import LinearFunction
from lintra.reference.emit import Emitter, NameSupply, build_program, program_names
from lintra.reference.errors import LintraError, ShapeError
from lintra.reference.evaluate import evaluate
from lintra.reference.jvp import forget_linearity, jvp_program
from lintra.reference.parse import parse_program
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    ParamValue,
    Program,
    Var,
    VarType,
)
from lintra.reference.transpose import transpose_program
from lintra.reference.unzip import unzip


class MutationError(Exception):
    """The catalogue itself is broken: a planted bug could not be placed where it belongs (a
    reference rule changed shape) or produced an ill-typed program. Never a finding."""


# --------------------------------------------------------------------------------------------
# Program surgery


def equation(out: str | Sequence[str] | None, primitive: str, *inputs: str | Atom,
             out_type: VarType | None = None, **params: ParamValue) -> Equation:
    """``out = primitive(inputs, params)``; strings are variable names. ``out=None``: no
    result (``drop``); ``out_type`` annotates a single result (needed by ``zero``)."""
    names = () if out is None else (out,) if isinstance(out, str) else tuple(out)
    binders = tuple(Binder(n, out_type if len(names) == 1 else None) for n in names)
    atoms = tuple(Var(a) if isinstance(a, str) else a for a in inputs)
    return Equation(binders, primitive, atoms, tuple(params.items()))


class Surgery:
    """Edits of one checked program, by equation index; :meth:`result` re-checks it."""

    def __init__(self, p: Program) -> None:
        self.program = p
        self.typing = check(p)
        self.names = NameSupply(program_names(p))
        self.edits: dict[int, list[Equation]] = {}

    def type_of(self, name: str) -> VarType:
        return self.typing.variables[name]

    def fresh(self, hint: str) -> str:
        return self.names.fresh(hint)

    def replace(self, i: int, *eqs: Equation) -> None:
        """Equation ``i`` becomes ``eqs`` (each original equation is edited at most once)."""
        if i in self.edits:
            raise MutationError(f"equation {i} of {self.program.name} edited twice")
        self.edits[i] = list(eqs)

    def wrap(self, i: int, primitive: str, *extra: str | Atom, **params: ParamValue) -> None:
        """The single result ``v`` of equation ``i`` becomes ``primitive(v_old, *extra)``."""
        e = self.program.equations[i]
        (b,) = e.outputs
        old = self.fresh(b.name + "_pre")
        self.replace(i, replace(e, outputs=(Binder(old, b.type),)),
                     equation(b.name, primitive, old, *extra, **params))

    def set_params(self, i: int, **params: ParamValue) -> None:
        e = self.program.equations[i]
        self.replace(i, replace(e, params=tuple({**dict(e.params), **params}.items())))

    def set_inputs(self, i: int, *inputs: str | Atom) -> None:
        e = self.program.equations[i]
        atoms = tuple(Var(a) if isinstance(a, str) else a for a in inputs)
        self.replace(i, replace(e, inputs=atoms))

    def result(self) -> Program:
        if not self.edits:
            return self.program
        eqs: list[Equation] = []
        for i, e in enumerate(self.program.equations):
            eqs.extend(self.edits.get(i, [e]))
        edited = replace(self.program, equations=tuple(eqs))
        try:
            return annotate(check(edited))
        except LintraError as err:
            raise MutationError(f"the edit made an ill-typed program ({err}):\n{edited}"
                                ) from None


def jvp_segments(p: Program, jp: Program) -> list[tuple[Equation, range]]:
    """For each equation of ``p``: the positions in ``jp = jvp_program(p)`` of the equations
    its JVP rule emitted (with any ``dup``/``drop`` of their results), i.e. those between its
    copy and the next source equation's copy."""
    first = {}
    for j, e in enumerate(jp.equations):
        if e.outputs:
            first.setdefault(e.outputs[0].name, j)
    copies = []
    for e in p.equations:
        j = first.get(e.outputs[0].name) if e.outputs else None
        if j is None or jp.equations[j].primitive != e.primitive or (copies and j < copies[-1]):
            raise MutationError(f"cannot find the copy of {e} in the JVP program")
        copies.append(j)
    ends = [*copies[1:], len(jp.equations)]
    return [(e, range(c + 1, end)) for e, c, end in zip(p.equations, copies, ends)]


def canonical_names(p: Program) -> Program:
    """``p`` with its variables renamed ``v0, v1, ...`` in order of definition."""
    names: dict[str, str] = {}

    def bind(b: Binder) -> Binder:
        names[b.name] = f"v{len(names)}"
        return Binder(names[b.name], b.type)

    def use(a: Atom) -> Atom:
        return Var(names[a.name]) if isinstance(a, Var) else a

    inputs = tuple(bind(b) for b in p.inputs)
    eqs = tuple(Equation(tuple(bind(b) for b in e.outputs), e.primitive,
                         tuple(use(a) for a in e.inputs), e.params) for e in p.equations)
    return Program(p.name, inputs, p.result_types, eqs, tuple(use(v) for v in p.outputs))


def cotangent_sites(lp: Program, tp: Program, primitive: str
                    ) -> Iterator[tuple[Equation, dict[int, int]]]:
    """For each linear equation of ``lp`` (canonically named) using ``primitive``: a map from
    the position of each linear operand ``a`` to the index in ``tp = transpose_program(lp)``
    of the equation defining ``ct_a`` (operands whose cotangent the rule passed through
    unchanged, or gave as a symbolic zero, are absent)."""
    types = check(lp).variables
    defs = {b.name: j for j, e in enumerate(tp.equations) for b in e.outputs}
    for e in lp.equations:
        if e.primitive != primitive:
            continue
        sites = {k: defs[f"ct_{a.name}"] for k, a in enumerate(e.inputs)
                 if isinstance(a, Var) and types[a.name].linear and f"ct_{a.name}" in defs}
        if any(isinstance(a, Var) and types[a.name].linear for a in e.inputs):
            yield e, sites


def defining(p: Program, name: str) -> int | None:
    """The index of the equation of ``p`` that defines ``name`` (None for a parameter)."""
    for j, e in enumerate(p.equations):
        if any(b.name == name for b in e.outputs):
            return j
    return None


def through(p: Program, j: int, primitive: str, wrappers: Sequence[str]) -> int | None:
    """Starting at equation ``j``, follow the first operand through equations of the
    ``wrappers`` primitives (a final ``reshape``, an unbroadcasting ``reduce_sum``...) to the
    equation of ``primitive``; None if there is none."""
    while True:
        e = p.equations[j]
        if e.primitive == primitive:
            return j
        if e.primitive not in wrappers or not isinstance(e.inputs[0], Var):
            return None
        k = defining(p, e.inputs[0].name)
        if k is None:
            return None
        j = k


# --------------------------------------------------------------------------------------------
# Witnesses: a small case on which each bug shows


@dataclass(frozen=True)
class Witness:
    """A program and its inputs on which the mutant's bug shows (spec text; values as nested
    lists, one per parameter, tangent and cotangent)."""

    text: str
    primals: tuple[Any, ...]
    tangents: tuple[Any, ...]
    cotangents: tuple[Any, ...]
    why: str = ""
    """What the case exercises, as the corpus would name it."""

    def case(self, label: str) -> Case:
        p = parse_program(self.text)
        typing = check(p)
        types = [typing.variables[b.name].array for b in p.inputs]
        primals = tuple(np.asarray(v, dtype=t.dtype.numpy) for v, t in zip(self.primals, types))
        floats = [t for t in types if t.dtype.is_float]
        tangents = tuple(np.asarray(v, dtype=t.dtype.numpy)
                         for v, t in zip(self.tangents, floats))
        outs = [t.array for t in typing.program.result_types if t.array.dtype.is_float]
        cotangents = tuple(np.asarray(v, dtype=t.dtype.numpy)
                           for v, t in zip(self.cotangents, outs))
        return Case(p, primals, tangents, cotangents, source=f"witness: {label}")


# --------------------------------------------------------------------------------------------
# The mutant base: the reference, built from its three transformations, with hooks


@dataclass(frozen=True)
class Wrapped:
    """A linear map handed back with a bug around it: calls go through ``apply``; the backend
    itself still holds the correct ``inner`` map (its transpose uses that)."""

    inner: LinearFunction
    apply: Callable[[LinearFunction, tuple], tuple]

    def __call__(self, *args: object) -> tuple:
        return tuple(self.apply(self.inner, args))

    @property
    def input_types(self) -> tuple[ArrayType, ...]:
        return self.inner.input_types


def unwrap(lin: object) -> LinearFunction:
    return lin.inner if isinstance(lin, Wrapped) else lin  # type: ignore[return-value]


class Mutant(ReferenceBackend):
    """The reference backend assembled from ``jvp_program``, ``unzip`` and
    ``transpose_program`` (exactly as ``lintra.reference.derived`` does), with one hook per
    place a bug can live. Subclasses override exactly one hook and document the bug."""

    name = "mutant"
    capabilities = Capabilities(notes=("a deliberately broken copy of the reference",))
    witness: ClassVar[Witness]
    scope: ClassVar[frozenset[str]] = frozenset()
    """Source primitives the bug needs (empty: it is not tied to one primitive). A failure on
    a program using none of them would mean the mutant is not the local bug it claims."""
    focus: ClassVar[tuple[str, ...]] = ()
    """The primitives whose generated cases (``run_check(..., primitives=focus)``) reach the
    bug: the scope, the rule's primitive, or a few programs of any kind for a plumbing bug."""

    def __init__(self) -> None:
        self.name = type(self).__name__

    @classmethod
    def focus_primitives(cls) -> tuple[str, ...]:
        return cls.focus or tuple(sorted(cls.scope))

    # -- hooks ------------------------------------------------------------------------------

    def source(self, p: Program) -> Program:
        """The program the backend really runs for ``p`` (evaluation bugs)."""
        return p

    def edit_jvp(self, p: Program, jp: Program) -> Program:
        """The JVP program the backend derives from ``p`` (JVP rule bugs)."""
        return jp

    def edit_transposed(self, lp: Program, tp: Program) -> Program:
        """The transposed program of canonically named ``lp`` (transpose rule bugs)."""
        return tp

    def wrap_linear(self, p: Program, lin: LinearFunction) -> LinearFunction | Wrapped:
        """The linearization handed back by ``linearize`` (plumbing bugs)."""
        return lin

    def wrap_pullback(self, p: Program, pullback: LinearFunction) -> LinearFunction | Wrapped:
        """The pullback handed back by ``vjp`` (plumbing bugs)."""
        return pullback

    def residual_values(self, residuals: tuple) -> tuple:
        """The residuals the linear program is given (plumbing bugs)."""
        return residuals

    def hvp_residuals(self, em: Emitter, residuals: list[Atom]) -> list[Atom]:
        """The residuals the backward part of the gradient program reads (hvp bugs)."""
        return residuals

    # -- the transformations ----------------------------------------------------------------

    def jvp_program(self, p: Program) -> Program:
        """The JVP program of an already-``source``d program."""
        if any(vt.linear for vt in check(p).variables.values()):
            p = forget_linearity(p)
        return self.edit_jvp(p, jvp_program(p))

    def transpose_program(self, lp: Program) -> Program:
        lp = canonical_names(lp)
        return self.edit_transposed(lp, transpose_program(lp))

    # -- the backend protocol ---------------------------------------------------------------

    def evaluate(self, program: Program, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        return evaluate(self.source(program), *args)

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        outs = evaluate(self.jvp_program(self.source(program)), *primals, *tangents)
        n = len(program.outputs)
        return outs[:n], outs[n:]

    def linearize(self, program: Program, primals: Sequence[np.ndarray]
                  ) -> tuple[tuple, Any]:
        primal, linear = unzip(self.jvp_program(self.source(program)))
        outs = evaluate(primal, *primals)
        n = len(program.outputs)
        lin = LinearFunction(linear, self.residual_values(tuple(outs[n:])))
        return outs[:n], self.wrap_linear(program, lin)

    def vjp(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, Any]:
        outs, lin = self.linearize(program, primals)
        return outs, self.wrap_pullback(program, self.transpose(lin))

    def transpose(self, linear_map: Any) -> Any:
        lin = unwrap(linear_map)
        return LinearFunction(self.transpose_program(lin.program), lin.residuals, lin.dps)

    def hvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        g = self.grad_program(self.source(program))
        outs = evaluate(self.jvp_program(g), *primals, *tangents)
        return outs[len(g.outputs):]

    def program_of(self, linear_map: Any) -> Program | None:
        return linear_map.program if isinstance(linear_map, LinearFunction) else None

    def grad_program(self, p: Program) -> Program:
        """The gradient with respect to every float input of a one-scalar-result program:
        the primal program, then the transposed linear program on the cotangent 1 (as
        ``lintra.reference.derived.grad_program``, through this backend's own rules)."""
        typing = check(p)
        out_type = typing.program.result_types[0].array
        primal, linear = unzip(self.jvp_program(p))
        backward = forget_linearity(self.transpose_program(linear))
        em = Emitter(NameSupply(program_names(p)))
        inputs = []
        for b in p.inputs:
            vt = VarType(typing.variables[b.name].array)
            em.bind_existing(b.name, vt)
            inputs.append(Binder(b.name, vt))
        outs = em.inline(primal, [Var(b.name) for b in p.inputs])
        residuals = self.hvp_residuals(em, list(outs[1:]))
        one = em.constant(1.0, out_type, "one")
        cts = em.inline(backward, [*residuals, one])
        return build_program(p.name + "_grad", inputs, em, cts)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# JVP rule bugs


class JvpRuleMutant(Mutant):
    """A bug in the JVP rule of ``scope``'s primitive: :meth:`edit_rule` edits the equations
    the rule emitted for each source equation of that primitive."""

    def edit_jvp(self, p: Program, jp: Program) -> Program:
        s = Surgery(jp)
        for e, seg in jvp_segments(p, jp):
            if e.primitive in self.scope and seg:
                self.edit_rule(s, e, seg)
        return s.result()

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        raise NotImplementedError

    @staticmethod
    def find(s: Surgery, seg: range, primitive: str,
             test: Callable[[Equation], bool] = lambda e: True) -> list[int]:
        return [j for j in seg if s.program.equations[j].primitive == primitive
                and test(s.program.equations[j])]

    def only(self, s: Surgery, seg: range, primitive: str,
             test: Callable[[Equation], bool] = lambda e: True) -> int:
        found = self.find(s, seg, primitive, test)
        if len(found) != 1:
            raise MutationError(f"{self.name}: expected one {primitive} equation in the rule's "
                                f"output, found {len(found)}")
        return found[0]


def _is_linear(s: Surgery, a: Atom) -> bool:
    return isinstance(a, Var) and s.type_of(a.name).linear


def _names(e: Equation) -> list[str]:
    return [a.name if isinstance(a, Var) else str(a) for a in e.inputs]


class SinTangentSign(JvpRuleMutant):
    """sin's JVP has the wrong sign: d sin(x) = -cos(x) dx (confused with cos' = -sin)."""

    scope = frozenset({"sin"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = sin(x)\n    return y\n",
                      ([0.5, -1.25],), ([1.0, 0.75],), ([1.0, -2.0],), "sin of a vector")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        s.wrap(self.only(s, seg, "cos"), "neg")


class ExpChainFactor(JvpRuleMutant):
    """exp's JVP forgets the chain-rule factor exp(x): dy = dx."""

    scope = frozenset({"exp"})
    witness = Witness("def f(x: f64[]) -> f64[]:\n    y = exp(x)\n    return y\n",
                      (1.5,), (0.5,), (1.25,), "exp of a scalar")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        y = e.outputs[0].name
        j = self.only(s, seg, "mul", lambda q: _names(q)[0] == y and _is_linear(s, q.inputs[1]))
        s.replace(j, replace(s.program.equations[j], primitive="copy",
                             inputs=s.program.equations[j].inputs[1:]))


class MulMissingTerm(JvpRuleMutant):
    """The product rule loses the second operand's term: d(a·b) = da·b (a·db forgotten)."""

    scope = frozenset({"mul"})
    witness = Witness("def f(x: f64[2], y: f64[2]) -> f64[2]:\n    z = mul(x, y)\n"
                      "    return z\n", ([1.5, -2.0], [0.5, 3.0]), ([1.0, 0.5], [-1.0, 2.0]),
                      ([1.0, 1.0],), "product of two varying operands")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        for j in self.find(s, seg, "mul", lambda q: _is_linear(s, q.inputs[1])
                           and not _is_linear(s, q.inputs[0])):
            q = s.program.equations[j]
            (b,) = q.outputs
            s.replace(j, equation(None, "drop", q.inputs[1]),
                      equation(b.name, "zero", out_type=s.type_of(b.name)))


class MaxTieBoth(JvpRuleMutant):
    """max's tie convention broken: at x = y each operand gets its whole tangent
    (dx + dy instead of dx/2 + dy/2: the masks use >= on both sides), spec chapter 6."""

    scope = frozenset({"max"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = max(x, x)\n    return y\n",
                      ([0.5, -1.0],), ([1.0, 2.0],), ([1.0, -1.0],), "max of a value with itself")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "mul", lambda q: q.inputs[0] == Literal(0.5))
        s.set_inputs(j, Literal(1.0), s.program.equations[j].inputs[1])


class AbsNanAtZero(JvpRuleMutant):
    """abs's JVP coefficient computed as x / |x|: nan at x = ±0, where chapter 6 assigns 0."""

    scope = frozenset({"abs"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = abs(x)\n    return y\n",
                      ([0.0, -1.5],), ([1.0, 1.0],), ([1.0, 1.0],), "abs at zero")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "sign")
        q = s.program.equations[j]
        m = s.fresh("m")
        s.replace(j, equation(m, "abs", q.inputs[0]),
                  equation(q.outputs[0].name, "div", q.inputs[0], m))


class AbsOneSidedAtZero(JvpRuleMutant):
    """abs's kink convention flipped to a one-sided slope: abs'(±0) = 1 (JAX's choice),
    where chapter 6 assigns the symmetric 0."""

    scope = frozenset({"abs"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = abs(x)\n    return y\n",
                      ([0.0, -1.5],), ([-1.0, 1.0],), ([1.0, 1.0],), "abs at zero")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "sign")
        q = s.program.equations[j]
        sign, at_zero = s.fresh("sign"), s.fresh("at_zero")
        s.replace(j, replace(q, outputs=(Binder(sign),)),
                  equation(at_zero, "eq", q.inputs[0], Literal(0.0)),
                  equation(q.outputs[0].name, "select_n", at_zero, sign, Literal(1.0)))


class DivQuotientSign(JvpRuleMutant):
    """The quotient rule with the wrong sign: d(x/y) = dx/y + (x/y²) dy."""

    scope = frozenset({"div"})
    witness = Witness("def f(x: f64[], y: f64[]) -> f64[]:\n    z = div(x, y)\n    return z\n",
                      (1.5, 2.0), (0.5, 1.0), (1.0,), "quotient with a varying denominator")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        for j in self.find(s, seg, "neg", lambda q: not _is_linear(s, q.inputs[0])):
            s.replace(j, replace(s.program.equations[j], primitive="copy"))


class PowWithoutGuards(JvpRuleMutant):
    """pow's JVP without the guards of chapter 6: ∂x = y·x^(y-1) is nan at x = y = 0 and
    ∂y = log(x)·x^y is nan at x = 0, where the spec assigns 0."""

    scope = frozenset({"pow"})
    witness = Witness("def f(x: f64[2], y: f64[2]) -> f64[2]:\n    z = pow(x, y)\n"
                      "    return z\n", ([0.0, 0.0], [2.0, 0.5]), ([1.0, 1.0], [1.0, 1.0]),
                      ([1.0, 1.0],), "pow at x = 0")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        for j in self.find(s, seg, "select_n"):
            q = s.program.equations[j]
            s.replace(j, replace(q, primitive="copy", inputs=(q.inputs[1],)))


class SqrtMissingHalf(JvpRuleMutant):
    """sqrt's JVP forgets the factor 1/2: d√x = dx / √x."""

    scope = frozenset({"sqrt"})
    witness = Witness("def f(x: f64[]) -> f64[]:\n    y = sqrt(x)\n    return y\n",
                      (2.25,), (1.0,), (1.0,), "sqrt of a scalar")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "mul", lambda q: q.inputs[0] == Literal(2.0))
        s.set_inputs(j, Literal(1.0), s.program.equations[j].inputs[1])


class Atan2Swapped(JvpRuleMutant):
    """atan2(y, x)'s JVP with the operands' roles confused: ∂y = y/(x²+y²) and
    ∂x = -x/(x²+y²)."""

    scope = frozenset({"atan2"})
    witness = Witness("def f(y: f64[], x: f64[]) -> f64[]:\n    z = atan2(y, x)\n"
                      "    return z\n", (0.5, 2.0), (1.0, 0.25), (1.0,), "atan2 off the axes")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        y, x = e.inputs
        for j in self.find(s, seg, "div", lambda q: not _is_linear(s, q.inputs[0])):
            q = s.program.equations[j]
            other = {x: y, y: x}.get(q.inputs[0], q.inputs[0])
            s.set_inputs(j, other, q.inputs[1])


class IntegerPowReusesResult(JvpRuleMutant):
    """integer_pow's JVP reuses the result: d xⁿ = n·xⁿ dx instead of n·xⁿ⁻¹ dx."""

    scope = frozenset({"integer_pow"})
    witness = Witness("def f(x: f64[]) -> f64[]:\n    y = integer_pow(x, y=3)\n    return y\n",
                      (1.5,), (1.0,), (1.0,), "integer_pow with n = 3")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        for j in self.find(s, seg, "mul", lambda q: isinstance(q.inputs[0], Literal)):
            s.set_inputs(j, s.program.equations[j].inputs[0], e.outputs[0].name)


class Log1pDerivativeOfLog(JvpRuleMutant):
    """log1p's JVP uses log's derivative: d log1p(x) = dx / x."""

    scope = frozenset({"log1p"})
    witness = Witness("def f(x: f64[]) -> f64[]:\n    y = log1p(x)\n    return y\n",
                      (0.5,), (1.0,), (1.0,), "log1p of a scalar")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "div", lambda q: _is_linear(s, q.inputs[0]))
        s.set_inputs(j, s.program.equations[j].inputs[0], e.inputs[0])


# --------------------------------------------------------------------------------------------
# Accuracy bugs: derivative formulas that are right on paper and lose digits somewhere


def tangent_root(s: Surgery, t: str) -> str:
    """The tangent ``t`` came from: through the ``dup`` equations of rule *Share*."""
    while (j := defining(s.program, t)) is not None and s.program.equations[j].primitive == "dup":
        t = s.program.equations[j].inputs[0].name  # type: ignore[union-attr]
    return t


class CoefficientMutant(JvpRuleMutant):
    """A rule whose coefficients are replaced by another formula (:meth:`coefficient`): for
    each linear ``mul(c, t)`` of the rule with an incoming tangent ``t`` of operand ``k``,
    ``c`` becomes the mutant's coefficient for operand ``k``."""

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        raise NotImplementedError

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        defined = {b.name for j in seg for b in s.program.equations[j].outputs}
        operands = {f"d{a.name}": k for k, a in enumerate(e.inputs) if isinstance(a, Var)}
        edited = 0
        for j in self.find(s, seg, "mul", lambda q: _is_linear(s, q.inputs[1])
                           and not _is_linear(s, q.inputs[0])):
            q = s.program.equations[j]
            t = q.inputs[1].name  # type: ignore[union-attr]
            root = tangent_root(s, t)
            if t in defined or root not in operands:
                continue
            eqs, c = self.coefficient(s, e, operands[root])
            s.replace(j, *eqs, replace(q, inputs=(Var(c), q.inputs[1])))
            edited += 1
        if not edited:
            raise MutationError(f"{self.name}: no coefficient of an incoming tangent found")


def _one_minus_y_times_one_plus_y(s: Surgery, y: str) -> tuple[list[Equation], str]:
    a, b, c = s.fresh("m"), s.fresh("p"), s.fresh("c")
    return [equation(a, "sub", Literal(1.0), y), equation(b, "add", Literal(1.0), y),
            equation(c, "mul", a, b)], c


class TanhFactoredInY(CoefficientMutant):
    """tanh′ as (1 − y)(1 + y) from the rounded y = tanh(x): right on paper, but every digit
    is gone once y rounds to ±1 (tanh′(25) = 0, true 7.7e-22)."""

    scope = frozenset({"tanh"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = tanh(x)\n    return y\n",
                      ([25.0, 0.5],), ([1.0, 1.0],), ([1.0, 1.0],), "tanh in its tail")

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        return _one_minus_y_times_one_plus_y(s, e.outputs[0].name)


class LogisticFactoredInY(CoefficientMutant):
    """logistic′ as y(1 − y) from the rounded y: 0 once y rounds to 1 (logistic′(40) = 0,
    true 4.2e-18)."""

    scope = frozenset({"logistic"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = logistic(x)\n    return y\n",
                      ([40.0, -1.5],), ([1.0, 1.0],), ([1.0, 1.0],), "logistic in its tail")

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        y = e.outputs[0].name
        a, c = s.fresh("m"), s.fresh("c")
        return [equation(a, "sub", Literal(1.0), y), equation(c, "mul", y, a)], c


class Atan2Unscaled(CoefficientMutant):
    """atan2(y, x)′ as x/(x² + y²) and −y/(x² + y²) without scaling: x² + y² underflows at
    (1e-200, 1e-200) (partials ±inf, true ±5e199) and overflows at (1e200, 1e200) (0, true
    ∓2.5e-201)."""

    scope = frozenset({"atan2"})
    witness = Witness("def f(y: f64[2], x: f64[2]) -> f64[2]:\n    z = atan2(y, x)\n"
                      "    return z\n", ([1e-200, 1e200], [1e-200, 1e200]),
                      ([1.0, 1.0], [1.0, 0.5]), ([1.0, 1.0],), "atan2 at huge and tiny scales")

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        y, x = (a.name for a in e.inputs)  # type: ignore[union-attr]
        y2, x2, r, q = s.fresh("y2"), s.fresh("x2"), s.fresh("r"), s.fresh("q")
        eqs = [equation(y2, "square", y), equation(x2, "square", x), equation(r, "add", x2, y2)]
        if k == 0:  # ∂/∂y = x / r
            return [*eqs, equation(q, "div", x, r)], q
        n = s.fresh("n")
        return [*eqs, equation(q, "div", y, r), equation(n, "neg", q)], n


class LogViaExp(JvpRuleMutant):
    """d log x = dx·exp(−log x): right on paper, but the rounding of log x is multiplied by
    |log x| (at x = 1e300, hundreds of ulps), where dx / x is one rounding."""

    scope = frozenset({"log"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = log(x)\n    return y\n",
                      ([1e300, 3e-250],), ([1.0, 1.0],), ([1.0, 1.0],), "log of huge and tiny x")

    def edit_rule(self, s: Surgery, e: Equation, seg: range) -> None:
        j = self.only(s, seg, "div", lambda q: _is_linear(s, q.inputs[0]))
        q = s.program.equations[j]
        y = e.outputs[0].name
        n, c = s.fresh("n"), s.fresh("c")
        s.replace(j, equation(n, "neg", y), equation(c, "exp", n),
                  equation(q.outputs[0].name, "mul", c, q.inputs[0]))


class AcoshUnfactored(CoefficientMutant):
    """acosh′ as rsqrt(x² − 1): right on paper, but near the domain edge x = 1 the rounding of
    x² is magnified by x²/(x² − 1) (at x = 1 + 2⁻⁴⁰, about 2³⁹ ulps)."""

    scope = frozenset({"acosh"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = acosh(x)\n    return y\n",
                      ([1.0000000000009095, 3.5],), ([1.0, 1.0],), ([1.0, 1.0],),
                      "acosh near 1")

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        x = e.inputs[0].name  # type: ignore[union-attr]
        q, d, c = s.fresh("q"), s.fresh("d"), s.fresh("c")
        return [equation(q, "square", x), equation(d, "sub", q, Literal(1.0)),
                equation(c, "rsqrt", d)], c


class SinCoefficientOffByUlps(CoefficientMutant):
    """sin′ = cos(x)·(1 + 2⁻⁴⁹): a rule a few ulps less accurate than its claim (a relative
    error of 16u, about 8 ulps, everywhere: in float64; the factor rounds to 1 in float32)."""

    scope = frozenset({"sin"})
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    y = sin(x)\n    return y\n",
                      ([0.5, -1.25],), ([1.0, 0.75],), ([1.0, -2.0],), "sin of a vector")

    def coefficient(self, s: Surgery, e: Equation, k: int) -> tuple[list[Equation], str]:
        x = e.inputs[0].name  # type: ignore[union-attr]
        c, w = s.fresh("cos"), s.fresh("c")
        return [equation(c, "cos", x), equation(w, "mul", c, Literal(1 + 2.0 ** -49))], w


# --------------------------------------------------------------------------------------------
# Transpose rule bugs


class TransposeRuleMutant(Mutant):
    """A bug in the transpose rule of one primitive (``rule``): :meth:`edit_rule` edits what
    the rule emitted for each linear equation of that primitive."""

    rule: ClassVar[str]

    @classmethod
    def focus_primitives(cls) -> tuple[str, ...]:
        return cls.focus or (cls.rule,)

    def edit_transposed(self, lp: Program, tp: Program) -> Program:
        s = Surgery(tp)
        lp_types = check(lp).variables
        for e, sites in cotangent_sites(lp, tp, self.rule):
            self.edit_rule(s, e, sites, lp_types)
        return s.result()

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        raise NotImplementedError


class DupOverwrites(TransposeRuleMutant):
    """Fan-out not accumulated: dup's transpose keeps only the first copy's cotangent (the
    second one overwrites the gradient buffer instead of adding to it)."""

    focus = ("mul",)

    rule = "dup"
    witness = Witness("def f(x: f64[2]) -> f64[2]:\n    a = sin(x)\n    b = mul(a, x)\n"
                      "    return b\n", ([0.5, 1.0],), ([1.0, 1.0],), ([1.0, 2.0],),
                      "a variable used twice")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "add":
            return
        q = s.program.equations[j]
        s.replace(j, equation(None, "drop", q.inputs[1]),
                  equation(q.outputs[0].name, "copy", q.inputs[0]))


class ReduceSumTrailingAxes(TransposeRuleMutant):
    """reduce_sum transposed over the wrong axes: the cotangent is broadcast back NumPy-style,
    aligned with the trailing axes (keepdims forgotten); right for sums over leading axes,
    wrong (or a shape error) for sums over others."""

    focus = ("reduce_sum", "reduce_max")  # reduce_max's JVP sums over its reduced axes

    rule = "reduce_sum"
    witness = Witness("def f(x: f64[2, 2]) -> f64[2]:\n    y = reduce_sum(x, axes=(1,))\n"
                      "    return y\n", ([[1.0, 2.0], [3.0, 4.0]],), ([[1.0, 0.0], [0.5, 2.0]],),
                      ([1.0, -3.0],), "sum over the last axis of a square matrix")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "broadcast_in_dim":
            return
        q = s.program.equations[j]
        ps = dict(q.params)
        shape, kept = ps["shape"], ps["broadcast_dimensions"]
        ct_shape = s.type_of(q.inputs[0].name).array.shape  # type: ignore[union-attr]
        numpy_dims = tuple(range(len(shape) - len(kept), len(shape)))
        if numpy_dims == kept:
            return
        if any(n not in (1, shape[d]) for n, d in zip(ct_shape, numpy_dims)):
            raise ShapeError(f"operands could not be broadcast together: cotangent of shape "
                             f"{ct_shape} to {shape}")
        s.set_params(j, broadcast_dimensions=numpy_dims)


class BroadcastNoSum(TransposeRuleMutant):
    """broadcast_in_dim's transpose does not sum: it reads the cotangent of the first copy
    along the broadcast dimensions (the broadcast taken for a view)."""

    rule = "broadcast_in_dim"
    witness = Witness("def f(x: f64[2]) -> f64[3, 2]:\n"
                      "    y = broadcast_in_dim(x, shape=(3, 2), broadcast_dimensions=(1,))\n"
                      "    return y\n", ([1.0, 2.0],), ([1.0, -1.0],),
                      ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],), "broadcast along a new axis")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        k = None if j is None else through(s.program, j, "reduce_sum", ("reshape",))
        if k is None:
            return
        q = s.program.equations[k]
        source = q.inputs[0].name  # type: ignore[union-attr]
        shape = s.type_of(source).array.shape
        axes = dict(q.params)["axes"]
        first = s.fresh("first")
        limit = tuple(1 if d in axes else n for d, n in enumerate(shape))
        out = q.outputs[0].name
        s.replace(k, equation(first, "slice", source, start=(0,) * len(shape), limit=limit),
                  equation(out, "reshape", first,
                           new_sizes=s.type_of(out).array.shape))


class SlicePaddedWrongSide(TransposeRuleMutant):
    """slice's transpose pads on the wrong side: low and high padding swapped."""

    rule = "slice"
    witness = Witness("def f(x: f64[4]) -> f64[2]:\n    y = slice(x, start=(0,), limit=(2,))\n"
                      "    return y\n", ([1.0, 2.0, 3.0, 4.0],), ([1.0, -2.0, 0.5, 3.0],),
                      ([1.0, -1.0],), "a leading slice")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "pad":
            return
        ps = dict(s.program.equations[j].params)
        s.set_params(j, low=ps["high"], high=ps["low"])


class ScatterIndicesSorted(TransposeRuleMutant):
    """gather/scatter index mix-up: gather's transpose scatters with the indices sorted (for
    a segment sum) but the cotangent rows left in the original order, so rows go to the wrong
    positions whenever the indices are not sorted."""

    rule = "gather"
    witness = Witness("def f(x: f64[3], i: i64[2]) -> f64[2]:\n    y = gather(x, i)\n"
                      "    return y\n", ([1.0, 2.0, 3.0], [2, 0]), ([1.0, 2.0, 3.0],),
                      ([1.0, 10.0],), "gather with unsorted indices")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "scatter_add":
            return
        q = s.program.equations[j]
        index = q.inputs[1]
        if not isinstance(index, Var) or s.type_of(index.name).array.rank != 1:
            return
        ordered = s.fresh("sorted")
        s.replace(j, equation(ordered, "sort", index),
                  replace(q, inputs=(q.inputs[0], Var(ordered), *q.inputs[2:])))


class DotGeneralWrongContraction(TransposeRuleMutant):
    """dot_general's transpose contracts the cotangent with the other operand over that
    operand's contracting dimensions instead of its free ones (ct·y instead of ct·yᵀ): right
    for symmetric matrices only, a shape error where the sizes differ."""

    rule = "dot_general"
    witness = Witness("def f(x: f64[2, 2], y: f64[2, 2]) -> f64[2, 2]:\n"
                      "    z = dot_general(x, y, contracting_dims=((1,), (0,)))\n"
                      "    return z\n", ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [-1.0, 0.5]]),
                      ([[1.0, -2.0], [0.5, 3.0]], [[-1.0, 2.5], [4.0, -0.25]]),
                      ([[1.0, 2.0], [3.0, 4.0]],), "a matrix product")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        (cx, cy) = dict(e.params)["contracting_dims"]
        for position, j in sites.items():
            k = through(s.program, j, "dot_general", ("transpose",))
            if k is None:
                continue
            q = s.program.equations[k]
            ps = dict(q.params)
            (ct_dims, their_free) = ps["contracting_dims"]
            theirs = cy if position == 0 else cx
            other = s.type_of(q.inputs[1].name).array.shape  # type: ignore[union-attr]
            ct = s.type_of(q.inputs[0].name).array.shape  # type: ignore[union-attr]
            if tuple(theirs) == tuple(their_free):
                continue
            if len(theirs) != len(ct_dims) or any(
                    ct[a] != other[b] for a, b in zip(ct_dims, theirs)):
                raise ShapeError(f"dot_general: cannot contract {ct} with {other} over "
                                 f"{ct_dims} and {theirs}")
            s.set_params(k, contracting_dims=(ct_dims, tuple(theirs)))


class CumsumTransposeForward(TransposeRuleMutant):
    """cumsum's transpose is the forward map: the cotangent is accumulated in the same
    direction (``reverse`` not flipped)."""

    rule = "cumsum"
    witness = Witness("def f(x: f64[3]) -> f64[3]:\n    y = cumsum(x, axis=0)\n    return y\n",
                      ([1.0, 2.0, 3.0],), ([1.0, 1.0, 1.0],), ([1.0, 2.0, 4.0],),
                      "a cumulative sum")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "cumsum":
            return
        s.set_params(j, reverse=bool(dict(e.params).get("reverse", False)))


class TransposePermutationNotInverted(TransposeRuleMutant):
    """transpose's transpose applies the same permutation instead of its inverse (the two
    agree for every permutation of rank <= 2, so only rank >= 3 cycles show it)."""

    rule = "transpose"
    witness = Witness("def f(x: f64[2, 2, 2]) -> f64[2, 2, 2]:\n"
                      "    y = transpose(x, permutation=(1, 2, 0))\n    return y\n",
                      ([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]],),
                      ([[[1.0, -2.0], [0.5, 3.0]], [[-1.0, 2.5], [4.0, -0.25]]],),
                      ([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]],),
                      "a rank-3 cyclic permutation")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(0)
        if j is None or s.program.equations[j].primitive != "transpose":
            return
        perm = tuple(dict(e.params)["permutation"])
        out = s.type_of(s.program.equations[j].outputs[0].name).array.shape
        ct = s.type_of(s.program.equations[j].inputs[0].name).array.shape  # type: ignore
        if tuple(ct[p] for p in perm) != out:
            raise ShapeError(f"transpose: permutation {perm} of {ct} does not give {out}")
        s.set_params(j, permutation=perm)


class SubTransposeSign(TransposeRuleMutant):
    """sub's transpose forgets the minus: the subtrahend receives +ct."""

    rule = "sub"
    witness = Witness("def f(x: f64[], y: f64[]) -> f64[]:\n    z = sub(x, y)\n    return z\n",
                      (1.0, 2.0), (1.0, 0.5), (1.0,), "a difference of two varying values")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        j = sites.get(1)
        k = None if j is None else through(s.program, j, "neg", ("reduce_sum",))
        if k is not None:
            s.replace(k, replace(s.program.equations[k], primitive="copy"))


class SelectTransposeInverted(TransposeRuleMutant):
    """select_n's transpose routes the cotangent to the case that was NOT chosen (the
    predicate inverted in the backward pass)."""

    rule = "select_n"
    witness = Witness("def f(p: bool[2], x: f64[2], y: f64[2]) -> f64[2]:\n"
                      "    z = select_n(p, x, y)\n    return z\n",
                      ([True, False], [1.0, 2.0], [3.0, 4.0]), ([1.0, 2.0], [3.0, 4.0]),
                      ([1.0, -1.0],), "select between two varying cases")

    def edit_rule(self, s: Surgery, e: Equation, sites: dict[int, int], lp_types: dict
                  ) -> None:
        for j in sites.values():
            k = through(s.program, j, "select_n", ("reduce_sum",))
            if k is not None:
                q = s.program.equations[k]
                s.set_inputs(k, q.inputs[0], *reversed(q.inputs[1:]))


# --------------------------------------------------------------------------------------------
# Evaluation bugs (the source program rewritten)


class SourceMutant(Mutant):
    """An evaluation kernel bug: :meth:`rewrite` replaces each equation of ``scope``'s
    primitives by the wrong kernel, written in lintra."""

    def source(self, p: Program) -> Program:
        if not any(e.primitive in self.scope for e in p.equations):
            return p
        s = Surgery(p)
        for j, e in enumerate(p.equations):
            if e.primitive in self.scope:
                self.rewrite(s, j, e)
        return s.result()

    def rewrite(self, s: Surgery, j: int, e: Equation) -> None:
        raise NotImplementedError


class Log1pNaive(SourceMutant):
    """log1p(x) evaluated as log(1 + x): all accuracy lost for small |x| (1 + x rounds)."""

    scope = frozenset({"log1p"})
    witness = Witness("def f(x: f64[]) -> f64[]:\n    y = log1p(x)\n    return y\n",
                      (1e-10,), (1.0,), (1.0,), "log1p near 0")

    def rewrite(self, s: Surgery, j: int, e: Equation) -> None:
        t = s.fresh("one_plus")
        s.replace(j, equation(t, "add", Literal(1.0), e.inputs[0]),
                  equation(e.outputs[0].name, "log", t))


class ReduceSumFloat32(SourceMutant):
    """A float32 intermediate in a float64 path: reduce_sum of f64 values accumulates in
    float32 (the operand converted down, the sum converted back)."""

    scope = frozenset({"reduce_sum"})
    witness = Witness("def f(x: f64[3]) -> f64[]:\n    y = reduce_sum(x, axes=(0,))\n"
                      "    return y\n", ([0.1, 0.2, 0.3],), ([1.0, 1.0, 1.0],), (1.0,),
                      "an f64 sum of inexact values")

    def rewrite(self, s: Surgery, j: int, e: Equation) -> None:
        x = e.inputs[0]
        if not isinstance(x, Var) or s.type_of(x.name).array.dtype is not DType.f64:
            return
        low, total = s.fresh("x32"), s.fresh("sum32")
        s.replace(j, equation(low, "convert_element_type", x, new_dtype="f32"),
                  replace(e, outputs=(Binder(total),), inputs=(Var(low),)),
                  equation(e.outputs[0].name, "convert_element_type", total, new_dtype="f64"))


class ArgExtremeLastTie(SourceMutant):
    """Integer results wrong: argmax and argmin return the LAST extreme element on ties
    (a >= comparison in the scan), where the spec says the first."""

    scope = frozenset({"argmax", "argmin"})
    witness = Witness("def f(x: f64[3]) -> (i64[], f64[]):\n    i = argmax(x, axis=0)\n"
                      "    y = sin(x)\n    s = reduce_sum(y, axes=(0,))\n    return i, s\n",
                      ([2.0, 1.0, 2.0],), ([1.0, 1.0, 1.0],), (1.0,), "argmax with a tie")

    def rewrite(self, s: Surgery, j: int, e: Equation) -> None:
        x = e.inputs[0]
        if not isinstance(x, Var):
            return
        t = s.type_of(x.name).array
        axis = int(dict(e.params)["axis"]) % t.rank
        flipped, index = s.fresh("flipped"), s.fresh("index")
        s.replace(j, equation(flipped, "rev", x, dimensions=(axis,)),
                  replace(e, outputs=(Binder(index),), inputs=(Var(flipped),)),
                  equation(e.outputs[0].name, "sub", Literal(t.shape[axis] - 1), index))


# --------------------------------------------------------------------------------------------
# Plumbing bugs (values and maps handed back)


def _through_float32(a: np.ndarray) -> np.ndarray:
    """An f64 array stored in float32 and read back (beyond float32's range: inf)."""
    if a.dtype != np.float64:
        return a
    with np.errstate(over="ignore"):
        return a.astype(np.float32).astype(np.float64)


_VECTOR = Witness("def f(x: f64[2], y: f64[2]) -> f64[2]:\n    a = mul(x, y)\n"
                  "    b = sin(a)\n    return b\n", ([0.5, 1.5], [2.0, -1.0]),
                  ([1.0, -0.5], [0.25, 2.0]), ([1.5, -2.0],), "a smooth vector program")


class ResidualsFloat32(Mutant):
    """A float32 intermediate in a float64 path: linearize stores its f64 residuals in float32
    (to halve the memory) and the linear map reads them back rounded."""

    focus = ("sin",)
    witness = _VECTOR

    def residual_values(self, residuals: tuple) -> tuple:
        return tuple(_through_float32(r) for r in map(np.asarray, residuals))


class ResidualOffByOne(Mutant):
    """A residual taken from the wrong equation: the residual table is indexed off by one, so
    residual k is read from slot k+1 whenever the two slots hold arrays of one type."""

    focus = ("mul",)
    witness = _VECTOR

    def residual_values(self, residuals: tuple) -> tuple:
        rs = [np.asarray(r) for r in residuals]
        out = list(rs)
        for k in range(len(rs) - 1):
            if rs[k].dtype == rs[k + 1].dtype and rs[k].shape == rs[k + 1].shape:
                out[k] = rs[k + 1]
        return tuple(out)


class AffineLinearization(Mutant):
    """The linearization is affine: the tangent results are accumulated into the buffers that
    still hold the primal results, so lin(t) = f(x) + L t."""

    focus = ("sin",)
    witness = _VECTOR

    def linearize(self, program: Program, primals: Sequence[np.ndarray]) -> tuple[tuple, Any]:
        outs, lin = super().linearize(program, primals)
        floats = tuple(np.asarray(o) for o, t in zip(outs, program.result_types)
                       if t.array.dtype.is_float)

        def apply(inner: LinearFunction, ts: tuple) -> tuple:
            return tuple(np.asarray(f + u, dtype=u.dtype) for f, u in zip(floats, inner(*ts)))
        return outs, Wrapped(lin, apply)


class ZeroTangentSeeded(Mutant):
    """lin(0) is not zero: an all-zero tangent is taken for "no tangent given" and replaced by
    the default seed, ones."""

    focus = ("sin",)
    witness = _VECTOR

    def wrap_linear(self, p: Program, lin: LinearFunction) -> Wrapped:
        def apply(inner: LinearFunction, ts: tuple) -> tuple:
            seeded = tuple(np.ones_like(t) if not np.any(np.asarray(t)) else t for t in ts)
            return inner(*seeded)
        return Wrapped(lin, apply)


class ScalarCotangentIgnored(Mutant):
    """vjp ignores the cotangent's scale for a scalar result: it seeds 1.0 whatever the
    cotangent (as ``loss.backward()`` without a gradient argument does)."""

    focus = ("reduce_sum",)
    witness = Witness("def f(x: f64[2]) -> f64[]:\n    y = sin(x)\n"
                      "    s = reduce_sum(y, axes=(0,))\n    return s\n",
                      ([0.5, 1.0],), ([1.0, 1.0],), (2.5,), "a scalar loss")

    def wrap_pullback(self, p: Program, pullback: LinearFunction) -> Wrapped:
        def apply(inner: LinearFunction, cts: tuple) -> tuple:
            seeded = tuple(np.ones_like(c) if np.ndim(c) == 0 else c for c in cts)
            return inner(*seeded)
        return Wrapped(pullback, apply)


class UnusedInputStaleCotangent(Mutant):
    """An unused input gets a non-zero cotangent: input cotangent buffers are allocated
    uninitialised and only written for inputs the backward pass reaches (a stale buffer, here
    full of ones, is returned for the others)."""

    focus = ("stop_gradient",)
    witness = Witness("def f(x: f64[2], y: f64[2]) -> f64[2]:\n    a = sin(x)\n    return a\n",
                      ([0.5, 1.0], [1.0, 2.0]), ([1.0, 1.0], [1.0, 1.0]), ([1.0, 1.0],),
                      "an unused input")

    def wrap_pullback(self, p: Program, pullback: LinearFunction) -> Wrapped:
        tp = pullback.program
        untouched = [k for k, v in enumerate(tp.outputs)
                     if (j := defining(tp, v.name)) is not None
                     and tp.equations[j].primitive == "zero"]

        def apply(inner: LinearFunction, cts: tuple) -> tuple:
            bars = list(inner(*cts))
            for k in untouched:
                bars[k] = np.ones_like(bars[k])
            return tuple(bars)
        return Wrapped(pullback, apply)


class TransposesNonlinear(Mutant):
    """Does not refuse non-linear programs: the backend has no linearity checker and
    transposes by running reverse mode on the map (its VJP at a zero tangent), which is the
    transpose of a linear map, while it still declares ``refuses_nonlinear``."""

    focus = ("sin",)
    witness = _VECTOR

    def linear_map(self, program: Program, residuals: Sequence[np.ndarray]) -> LinearFunction:
        return LinearFunction(program, tuple(residuals))

    def transpose(self, linear_map: Any) -> LinearFunction:
        lin = unwrap(linear_map)
        p = _read_as_ordinary(lin.program)
        k = len(lin.residuals)
        zeros = tuple(np.zeros(b.type.array.shape, b.type.array.dtype.numpy)
                      for b in p.inputs[k:])
        primal, linear = unzip(jvp_program(p))
        outs = evaluate(primal, *lin.residuals, *zeros)
        tp = self.transpose_program(linear)
        skip = sum(1 for b in p.inputs[:k] if b.type.array.dtype.is_float)
        drops = tuple(equation(None, "drop", v) for v in tp.outputs[:skip])
        kept = replace(tp, result_types=tp.result_types[skip:], outputs=tp.outputs[skip:],
                       equations=tp.equations + drops)
        return LinearFunction(annotate(check(kept)), tuple(outs[len(p.outputs):]))


def _read_as_ordinary(p: Program) -> Program:
    """What a backend without a linearity checker computes from ``p``: the ordinary program
    (``forget_linearity`` for a linear program; the ``lin`` qualifiers dropped otherwise)."""
    try:
        return forget_linearity(p)
    except LintraError:
        def plain(b: Binder) -> Binder:
            return Binder(b.name, None if b.type is None else VarType(b.type.array))
        eqs = tuple(replace(e, outputs=tuple(map(plain, e.outputs))) for e in p.equations)
        return replace(p, inputs=tuple(map(plain, p.inputs)), equations=eqs,
                       result_types=tuple(VarType(t.array) for t in p.result_types))


class CotangentResizedSilently(Mutant):
    """A wrong-shaped cotangent is accepted silently: it is copied into the result-shaped
    buffer element by element (``np.resize``), truncated or repeated as needed."""

    focus = ("sin",)
    witness = _VECTOR

    def wrap_pullback(self, p: Program, pullback: LinearFunction) -> Wrapped:
        def apply(inner: LinearFunction, cts: tuple) -> tuple:
            fitted = tuple(np.resize(np.asarray(c), t.shape).astype(t.dtype.numpy)
                           for c, t in zip(cts, inner.input_types))
            return inner(*fitted)
        return Wrapped(pullback, apply)


class JvpPrimalFloat32(Mutant):
    """jvp's primal results differ from evaluate's: the forward-mode path keeps its primal
    values in a float32 buffer (the tangents are right)."""

    focus = ("sin",)
    witness = _VECTOR

    def jvp(self, program: Program, primals: Sequence[np.ndarray],
            tangents: Sequence[np.ndarray]) -> tuple[tuple, tuple]:
        outs, dys = super().jvp(program, primals, tangents)
        return tuple(_through_float32(o) for o in map(np.asarray, outs)), dys


class AssumesSelfAdjoint(Mutant):
    """A transpose that returns the forward map: a map from a space to itself is assumed
    self-adjoint (true of the diagonal maps of elementwise programs), so it is returned as
    its own transpose."""

    focus = ("cumsum",)
    witness = Witness("def f(x: f64[3]) -> f64[3]:\n    y = cumsum(x, axis=0)\n    return y\n",
                      ([1.0, 2.0, 3.0],), ([1.0, 0.0, 0.0],), ([1.0, 2.0, 4.0],),
                      "a non-symmetric map from a space to itself")

    def transpose(self, linear_map: Any) -> Any:
        lin = unwrap(linear_map)
        if lin.input_types == lin.output_types:
            return lin
        return super().transpose(lin)


class HvpResidualsConstant(Mutant):
    """hvp (forward over reverse) treats the saved residuals as constants: the backward pass's
    coefficients are not differentiated, so only the curvature the linear part itself carries
    is left (a Gauss-Newton product, not the Hessian's)."""

    focus = ("sin",)
    witness = Witness("def f(x: f64[2]) -> f64[]:\n    y = sin(x)\n"
                      "    s = reduce_sum(y, axes=(0,))\n    return s\n",
                      ([0.5, 1.0],), ([1.0, 2.0],), (1.0,), "the Hessian of a scalar loss")

    def hvp_residuals(self, em: Emitter, residuals: list[Atom]) -> list[Atom]:
        return [em.emit1("stop_gradient", r, hint="frozen")
                if isinstance(r, Var) and em.types[r.name].array.dtype.is_float else r
                for r in residuals]


# --------------------------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Entry:
    """A mutant class with its one-line description."""

    factory: type[Mutant]
    kind: str
    bug: str = field(default="")

    @property
    def name(self) -> str:
        return self.factory.__name__


def _entries(kind: str, *classes: type[Mutant]) -> list[Entry]:
    return [Entry(c, kind, " ".join((c.__doc__ or "").split())) for c in classes]


CATALOGUE: tuple[Entry, ...] = (
    *_entries("jvp rule", SinTangentSign, ExpChainFactor, MulMissingTerm, MaxTieBoth,
              AbsNanAtZero, AbsOneSidedAtZero, DivQuotientSign, PowWithoutGuards,
              SqrtMissingHalf, Atan2Swapped, IntegerPowReusesResult, Log1pDerivativeOfLog),
    *_entries("accuracy", TanhFactoredInY, LogisticFactoredInY, Atan2Unscaled, LogViaExp,
              AcoshUnfactored, SinCoefficientOffByUlps),
    *_entries("transpose rule", DupOverwrites, ReduceSumTrailingAxes, BroadcastNoSum,
              SlicePaddedWrongSide, ScatterIndicesSorted, DotGeneralWrongContraction,
              CumsumTransposeForward, TransposePermutationNotInverted, SubTransposeSign,
              SelectTransposeInverted),
    *_entries("evaluation", Log1pNaive, ReduceSumFloat32, ArgExtremeLastTie),
    *_entries("plumbing", ResidualsFloat32, ResidualOffByOne, AffineLinearization,
              ZeroTangentSeeded, ScalarCotangentIgnored, UnusedInputStaleCotangent,
              TransposesNonlinear, CotangentResizedSilently, JvpPrimalFloat32,
              AssumesSelfAdjoint, HvpResidualsConstant),
)
"""Every mutant, grouped by where its bug lives."""

MUTANTS: dict[str, type[Mutant]] = {e.name: e.factory for e in CATALOGUE}
