"""The pass rule: the truth of every result and a derived bound on a correct backend's error
(spec 7.3).

The truth is the reference evaluated in mpmath at ``dps`` digits. The bound is a running
error analysis of the program as the spec defines it, equation by equation, to first order:

* each float equation ``e`` may err locally by ``δ_e``, its primitive's accuracy claim
  (:data:`ERROR_MODELS`, the ``ulp`` columns and γ bounds of spec chapter 3) in units of its
  result dtype: ``c ulp`` for a rounded elementwise operation, ``γ_(n−1) Σ|x|`` for a sum of
  ``n`` terms, ``γ_n Σ|x||y|`` for a contraction, ``0`` for exact primitives;
* errors already in its operands propagate through the equation's derivative: the bound of a
  result is ``|J_e| E + δ_e``, where ``|J_e| E`` is the equation's linearization evaluated on
  absolute values (coefficients by magnitude, ``neg`` as ``copy``, ``sub`` as ``add``:
  :func:`magnitude_program`), so cancellation in the problem is paid for (``Σ|J||v|``
  scaling), and a correct formula is never blamed for its own conditioning.

Derivatives are held to the primitives' derivative claims, not to the reference's formulas
(spec 7, first paragraph): in a JVP program each coefficient a rule computes gets the bound
its primitive's claim allows (:func:`_claim`), whatever the formula's own rounding; where
the formula cancels in mpmath too, the truth is recomputed at the precision it needs
(:func:`_settled`).

Terms of second order in the unit roundoff are neglected. The analysis also finds the
results that no bound can make meaningful, and marks them *unreliable*: a discontinuous
primitive (``floor``, comparisons, ``rem``, conversions to integers, ``argmax``, ``sort`` of
several operands...) or a domain edge (``sqrt`` of a value within its bound of 0) whose
outcome changes when its operands move within their bounds, and intermediate values within
their bound of the dtype's overflow threshold. Everything computed from such a value is
unreliable too. Taint is kept per element (a bool mask per variable) and follows the data
(:func:`taint_kind`): elementwise primitives taint the same index (``select_n`` only through
the case its reliable predicate selects), structural ones move the masks by their own index
map, and every other primitive taints all its results if any operand element is tainted. A
zero derivative never drops a dependence (a tainted element may be inf or nan in the
backend, and ``inf · 0`` is nan).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import mpmath
import numpy as np

from lintra.conformance.truth import STEP_FUNCTIONS, cells, run_checked
from lintra.conformance.truth_cache import cached
from lintra.reference.check import ProgramTyping
from lintra.reference.derived import vjp_program
from lintra.reference.domains import MpDomain
from lintra.reference.emit import NameSupply, checked, program_names
from lintra.reference.errors import UnsupportedPrimitiveError
from lintra.reference.evaluate import bind_arguments
from lintra.reference.jvp import forget_linearity, jvp_program
from lintra.reference.primitives import Primitive, lookup
from lintra.reference.syntax import (
    ArrayType,
    Atom,
    Binder,
    DType,
    Equation,
    Literal,
    Program,
    Var,
    VarType,
)
from lintra.reference.transpose import transpose_program
from lintra.reference.unzip import is_linear_equation, unzip

# --------------------------------------------------------------------------------------------
# Error models: the spec's accuracy claims as data


@dataclass(frozen=True)
class ErrorModel:
    """How much one equation may err, in units of its result dtype.

    ``kind``: ``exact``; ``ulps`` (``ulps`` ulp of the result); ``sum`` (γ of the number of
    terms, times the same primitive evaluated on the operands' magnitudes); ``product``
    (γ of the number of factors, times ``|result|``).
    """

    kind: str
    ulps: float = 0.0


EXACT = ErrorModel("exact")
SUM = ErrorModel("sum")

_ULPS = {
    # spec 3.1 and 3.2, the ``ulp`` columns (tests/test_analysis.py compares them)
    "sin": 4, "cos": 4, "tan": 4, "asin": 4, "acos": 4, "atan": 4, "sinh": 4, "cosh": 4,
    "tanh": 4, "asinh": 4, "acosh": 4, "atanh": 4, "exp": 4, "expm1": 4, "log": 4,
    "log1p": 4, "sqrt": 0.5, "rsqrt": 2, "cbrt": 4, "logistic": 14, "erf": 1, "square": 0.5,
    "integer_pow": 4, "add": 0.5, "sub": 0.5, "mul": 0.5, "div": 0.5, "pow": 4, "atan2": 4,
    # spec 3.8: float -> float rounds once to nearest
    "convert_element_type": 0.5,
}

ERROR_MODELS: Mapping[str, ErrorModel] = {
    **{name: ErrorModel("ulps", float(c)) for name, c in _ULPS.items()},
    "reduce_sum": SUM, "cumsum": SUM, "dot_general": SUM, "scatter_add": SUM,
    "cumprod": ErrorModel("product"),
}
"""Primitives not listed are exact (spec 3: structure, indexing, selection, max/min, ...)."""


_CONSTANTS = mpmath.MPContext()
_CONSTANTS.prec = 128
"""The context of the bounds and their constants (the overflow threshold 2^1024 - 2^970
needs 54 bits): bounds are computed to 2^-128 relative; never changed after import."""


# The dtypes' constants, each made once (the analysis asks for them element by element).


@functools.cache
def unit_roundoff(dtype: DType) -> object:
    return _CONSTANTS.mpf(2) ** -(53 if dtype is DType.f64 else 24)


@functools.cache
def smallest_subnormal(dtype: DType) -> object:
    return _CONSTANTS.mpf(2) ** -(1074 if dtype is DType.f64 else 149)


@functools.cache
def smallest_normal(dtype: DType) -> object:
    return _CONSTANTS.mpf(2) ** -(1022 if dtype is DType.f64 else 126)


@functools.cache
def overflow_threshold(dtype: DType) -> mpmath.mpf:
    """The magnitude from which round-to-nearest gives infinity: max + ulp(max) / 2."""
    p, emax = (53, 1023) if dtype is DType.f64 else (24, 127)
    return _CONSTANTS.mpf(2) ** (emax + 1) - _CONSTANTS.mpf(2) ** (emax - p)



# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Bounds:
    """Per result: the mpmath truth, the bound on a correct backend's absolute error, and
    whether the element can be judged at all (object arrays of mpf; bool arrays)."""

    truth: tuple[np.ndarray, ...]
    bound: tuple[np.ndarray, ...]
    reliable: tuple[np.ndarray, ...]
    types: tuple[ArrayType, ...]


@cached
def value_bounds(program: Program, args: Sequence[object], dps: int = 40) -> Bounds:
    """The truth and bounds of ``program``'s results at ``args`` (inputs exact)."""
    return _analyse(program, args, dps, range(len(program.outputs)))


@cached
def jvp_bounds(program: Program, primals: Sequence[object], tangents: Sequence[object],
               dps: int = 40) -> Bounds:
    """Truth and bounds of the tangent results: the analysis of the JVP program (chapter 4),
    each coefficient a rule computes held to its primitive's derivative claim rather than to
    the error of the reference's formula (:func:`coefficient_origins`)."""
    jp = jvp_program(program)
    n = len(program.outputs)
    return _analyse(jp, [*primals, *tangents], dps, range(n, len(jp.outputs)),
                    coefficients=coefficient_origins(program, jp))


@cached
def vjp_bounds(program: Program, primals: Sequence[object], cotangents: Sequence[object],
               dps: int = 40) -> Bounds:
    """Truth and bounds of the input cotangents (one per float input): the analysis of the
    primal program of :func:`unzip` (coefficients held to the derivative claims, as for
    :func:`jvp_bounds`), then of the transposed linear program applied to its residuals
    (spec 5.4's composition, which :func:`vjp_program` builds as one program)."""
    jp = jvp_program(program)
    primal, linear = unzip(jp)
    backward = forget_linearity(transpose_program(linear))
    n = len(program.outputs)  # the primal program returns the results, then the residuals
    coefficients = coefficient_origins(program, jp)

    def analyse(digits: int, settle: bool) -> tuple[Bounds, int]:
        first = _run(primal, list(primals), digits, coefficients, settle)
        residuals = range(n, len(primal.outputs))
        carried = _Carried(
            values=[first.state.values[primal.outputs[k].name] for k in residuals],
            errors=[first.state.errors[primal.outputs[k].name] for k in residuals],
            tainted=[first.state.tainted[primal.outputs[k].name]
                     | first.state.overflowed[primal.outputs[k].name] for k in residuals],
            unspecified=[first.state.unspecified.get(primal.outputs[k].name)
                         for k in residuals],
        )
        second = _run(backward, [*carried.values, *cotangents], digits, None, settle,
                      carried=carried)
        return (_bounds(second, range(len(backward.outputs))),
                max(first.needed_dps, second.needed_dps))

    return _settled(analyse, dps)


@cached
def hvp_bounds(program: Program, primals: Sequence[object], tangents: Sequence[object],
               dps: int = 40) -> Bounds:
    """Truth and bounds of the Hessian-vector product (forward over reverse) of a program
    with one float result, one entry per float input: the JVP analysis of
    :func:`vjp_program`, whose coefficients are held to the derivative claims of the
    primitives of the VJP program (its first derivatives are values there, bounded by the
    value claims through the reference's formulas)."""
    floats = [b for b in program.inputs if b.type.array.dtype.is_float]
    gp = vjp_program(program)
    jp = jvp_program(gp)
    ones = [np.ones(t.array.shape, dtype=t.array.dtype.numpy) for t in program.result_types]
    zero_ct = [np.zeros(t.array.shape, dtype=t.array.dtype.numpy)
               for t in program.result_types]
    n = len(floats)
    return _analyse(jp, [*primals, *ones, *tangents, *zero_ct], dps,
                    range(n, len(jp.outputs)), coefficients=coefficient_origins(gp, jp))


# --------------------------------------------------------------------------------------------
# Derivative claims: where the coefficients of a JVP program come from


@dataclass(frozen=True)
class Origin:
    """The primal equation whose JVP rule emitted a coefficient: its record's claim, the
    equation, its typing, and the rule's non-linear equations (with their typings) that
    compute the coefficient from the equation's operands (the equation itself first)."""

    primitive: Primitive
    equation: Equation
    typing: object
    span: tuple[tuple[Equation, object], ...]


@dataclass(frozen=True)
class Coefficients:
    """What the analysis of a JVP program needs to know about its rules: per coefficient
    variable (a non-linear value a rule emitted and a linear equation reads) the
    :class:`Origin` it comes from; per result of an elementwise equation with a derivative
    claim, its origin and the names of its coefficients (:func:`_outside_domain`); and the
    names of the program's linear variables."""

    origins: Mapping[str, Origin]
    equations: Mapping[str, tuple[Origin, tuple[str, ...]]]
    linear: frozenset[str]


def coefficient_origins(program: Program, jp: Program) -> Coefficients:
    """Find, in ``jp = jvp_program(program)``, the coefficients each rule emitted.

    ``jvp_program`` copies every equation of ``program`` unchanged (same result names) and
    appends the equations its rule emits (rule J-Eqn); the non-linear ones among them
    compute coefficients from the equation's operands. Variables that a linear equation
    reads are the coefficients the claims bound (spec 7.3). One loop over ``jp``."""
    typing = checked(program)
    jtyping = checked(jp)
    linear = frozenset(n for n, vt in jtyping.variables.items() if vt.linear)
    readers: set[str] = set()
    for e in jp.equations:
        if is_linear_equation(e, jtyping):
            readers.update(a.name for a in e.inputs if isinstance(a, Var) and a.name not in linear)
    k = 0
    current: int | None = None
    spans: dict[int, list[tuple[Equation, object]]] = {}
    emitted: dict[int, list[str]] = {}
    for e, et in zip(jp.equations, jtyping.equations):
        if k < len(program.equations) and _is_copy(e, program.equations[k]):
            current = k
            spans[k], emitted[k] = [(e, et)], []
            k += 1
            continue
        if current is None or is_linear_equation(e, jtyping):
            continue
        spans[current].append((e, et))
        emitted[current].extend(b.name for b in e.outputs if b.name in readers)
    origins: dict[str, Origin] = {}
    equations: dict[str, tuple[Origin, tuple[str, ...]]] = {}
    for index, span in spans.items():
        prim_eq = program.equations[index]
        origin = Origin(lookup(prim_eq.primitive), prim_eq, typing.equations[index],
                        tuple(span))
        for name in emitted[index]:
            origins[name] = origin
        if origin.primitive.derivative is not None and prim_eq.outputs:
            equations[prim_eq.outputs[0].name] = (origin, tuple(emitted[index]))
    return Coefficients(origins, equations, linear)


def _is_copy(e: Equation, source: Equation) -> bool:
    return (e.primitive == source.primitive and e.inputs == source.inputs
            and tuple(b.name for b in e.outputs) == tuple(b.name for b in source.outputs))


# --------------------------------------------------------------------------------------------
# The running analysis


@dataclass
class _State:
    """Values, error bounds and taint of every variable during the analysis. ``tainted``: a
    bool mask per variable, its unreliable elements; ``overflowed``: its elements whose finite
    truth lies beyond the overflow threshold (judged as infinities, but unreliable wherever
    they are used). ``needed_dps``: the precision the truth needs (:func:`_claim`);
    ``final``: no higher precision will be tried, so elements whose truth is not settled
    are marked instead."""

    domain: MpDomain
    values: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    tainted: dict[str, np.ndarray]
    overflowed: dict[str, np.ndarray]
    needed_dps: int = 0
    final: bool = True
    deviations: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = field(
        default_factory=dict)
    unspecified: dict[str, np.ndarray] = field(default_factory=dict)
    """Per non-linear variable, the elements an equation outside its domain read or wrote:
    the derivatives that reach them are unspecified (spec 6.3)."""


@dataclass(frozen=True)
class _Carried:
    """Values handed from one analysed program to the next (the residuals of the primal
    program to the transposed linear program), with their bounds and marks."""

    values: list[np.ndarray]
    errors: list[np.ndarray]
    tainted: list[np.ndarray]
    unspecified: list[np.ndarray | None]


@dataclass(frozen=True)
class _Run:
    program: Program
    typing: ProgramTyping
    state: _State

    @property
    def needed_dps(self) -> int:
        return self.state.needed_dps


MAX_DPS = 320
"""The highest precision the truth is evaluated at (spec 7.3, *A truth that settles*)."""


def _settled(analyse: Callable[[int, bool], tuple[Bounds, int]], dps: int) -> Bounds:
    """Ziv's strategy: analyse at ``dps`` digits; where the truth of a coefficient may be
    wrong by more than a sixteenth of its bound, analyse again at the digits it needs, up to
    :data:`MAX_DPS`, where the elements still unsettled are marked unreliable."""
    digits = dps
    while True:
        final = digits >= MAX_DPS
        bounds, needed = analyse(digits, final)
        if needed <= digits or final:
            return bounds
        digits = min(max(needed, digits + 10), MAX_DPS)


def _analyse(program: Program, args: Sequence[object], dps: int, results: range,
             coefficients: Coefficients | None = None) -> Bounds:
    def analyse(digits: int, final: bool) -> tuple[Bounds, int]:
        run = _run(program, args, digits, coefficients, final)
        return _bounds(run, results), run.needed_dps

    return _settled(analyse, dps)


def _run(program: Program, args: Sequence[object], dps: int,
         coefficients: Coefficients | None, final: bool,
         carried: _Carried | None = None) -> _Run:
    """Walk ``program`` equation by equation at ``dps`` digits; ``carried`` gives the first
    parameters' bounds and marks (they are exact otherwise).

    A JVP program (``coefficients`` given) is walked in two passes, its non-linear
    equations first, then its linear ones, each pass in program order: what an equation's
    analysis reads is its operands', defined before it, and the spec 6.3 marks
    (``unspecified``), which only non-linear equations write and which each linear one sees
    as they were at its place in the program (:func:`_primal_pass`). The first pass depends
    on the primal arguments alone, and is remembered (:data:`_PRIMAL_PASSES`): a check
    that analyses one case along several tangents or cotangents (``linearity``,
    ``jacobian_fwd_vs_rev``) walks the primal computation once."""
    program = forget_linearity(program)
    typing = checked(program)
    d = MpDomain(dps)
    values = bind_arguments(program, args, d)
    errors = {name: _zeros(v) for name, v in values.items()}
    clean = {name: np.zeros(np.shape(v), dtype=bool) for name, v in values.items()}
    state = _State(d, values, errors, clean, dict(clean), final=final)
    if carried is not None:
        for b, err, taint, unknown in zip(program.inputs, carried.errors, carried.tainted,
                                          carried.unspecified):
            state.errors[b.name] = err
            state.tainted[b.name] = np.asarray(taint, dtype=bool)
            if unknown is not None:
                state.unspecified[b.name] = unknown
    pairs = list(zip(program.equations, typing.equations))
    if any(e.primitive == "call" for e, _ in pairs):
        raise UnsupportedPrimitiveError("the analysis needs a call-free program")
    marks: list[tuple[int, dict[str, np.ndarray]]] = []
    if coefficients is not None and carried is None and _separable(program, coefficients):
        marks = _primal_pass(state, program, pairs, args, coefficients)
        walk = [(k, e, et) for k, (e, et) in enumerate(pairs)
                if any(b.name in coefficients.linear for b in e.outputs)]
    else:
        walk = [(k, e, et) for k, (e, et) in enumerate(pairs)]
    final_marks = state.unspecified
    for k, e, et in walk:
        if marks:  # the marks as the non-linear equations before this one left them
            state.unspecified = next((m for at, m in reversed(marks) if at < k), {})
        _step(state, e, et)
        if coefficients is not None:
            _claim(state, e, et, coefficients)
            _outside_domain(state, e, et, coefficients)
        derivative = carried is not None or (
            coefficients is not None and any(b.name in coefficients.linear for b in e.outputs))
        if derivative and state.unspecified:
            _reads_unspecified(state, e, et)
    if marks:
        state.unspecified = final_marks
    return _Run(program, typing, state)


def _separable(program: Program, coefficients: Coefficients) -> bool:
    """Whether no non-linear equation of ``program`` reads a linear variable (so that the
    non-linear ones can be walked first)."""
    linear = coefficients.linear
    for e in program.equations:
        if not any(b.name in linear for b in e.outputs) and any(
                isinstance(a, Var) and a.name in linear for a in e.inputs):
            return False
    return True


@dataclass(frozen=True)
class _PrimalPass:
    """What walking the non-linear equations of a JVP program left: per variable they
    define (and per non-linear parameter) its value, bound and marks; the spec 6.3 marks
    after each equation that changed them (its index, the whole mapping then); the digits
    the truth needs."""

    values: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    tainted: dict[str, np.ndarray]
    overflowed: dict[str, np.ndarray]
    marks: list[tuple[int, dict[str, np.ndarray]]]
    needed_dps: int


_PRIMAL_PASSES: dict[tuple, _PrimalPass] = {}
"""The last few first passes (:func:`_primal_pass`), by program text, primal arguments
(exactly, :func:`lintra.conformance.truth_cache.token`), digits and finality. Their arrays
are never written after they are made (every step makes new ones), so they are shared."""
PRIMAL_PASSES_KEPT = 8


def _primal_pass(state: _State, program: Program, pairs: list, args: Sequence[object],
                 coefficients: Coefficients) -> list[tuple[int, dict[str, np.ndarray]]]:
    """Walk the non-linear equations of a JVP program into ``state`` (or take a remembered
    walk of the same program at the same primal arguments, digits and finality); return
    the marks of spec 6.3 after each equation that changed them."""
    from lintra.conformance.truth_cache import Unkeyable, token

    linear = coefficients.linear
    try:
        key: tuple | None = (str(program), state.domain.dps, state.final, *(
            token(a) for b, a in zip(program.inputs, args) if b.name not in linear))
    except Unkeyable:
        key = None
    done = _PRIMAL_PASSES.get(key) if key is not None else None
    if done is None:
        marks: list[tuple[int, dict[str, np.ndarray]]] = []
        for k, (e, et) in enumerate(pairs):
            if any(b.name in linear for b in e.outputs):
                continue
            before = dict(state.unspecified)
            _step(state, e, et)
            _claim(state, e, et, coefficients)
            _outside_domain(state, e, et, coefficients)
            if len(before) != len(state.unspecified) or any(
                    before.get(n) is not m for n, m in state.unspecified.items()):
                marks.append((k, dict(state.unspecified)))
        primal = [b.name for b in program.inputs if b.name not in linear] + [
            b.name for e, _ in pairs if not any(o.name in linear for o in e.outputs)
            for b in e.outputs]
        done = _PrimalPass(*({n: table[n] for n in primal} for table in (
            state.values, state.errors, state.tainted, state.overflowed)), marks,
            state.needed_dps)
        if key is not None:
            if len(_PRIMAL_PASSES) >= PRIMAL_PASSES_KEPT:
                del _PRIMAL_PASSES[next(iter(_PRIMAL_PASSES))]
            _PRIMAL_PASSES[key] = done
        return marks
    for table, part in ((state.values, done.values), (state.errors, done.errors),
                        (state.tainted, done.tainted), (state.overflowed, done.overflowed)):
        table.update(part)
    state.unspecified = dict(done.marks[-1][1]) if done.marks else {}
    state.needed_dps = max(state.needed_dps, done.needed_dps)
    return done.marks


def _bounds(run: _Run, results: range) -> Bounds:
    """The truth, bound and reliability of the selected results of an analysed program."""
    state, program, typing = run.state, run.program, run.typing
    truth, bound, reliable, types = [], [], [], []
    for k in results:
        v = program.outputs[k]
        vt = typing.variables[v.name]
        value, err = state.values[v.name], state.errors[v.name]
        ok = ~state.tainted[v.name]
        if vt.array.dtype.is_float:
            ok = ok & _finite(err)
        truth.append(value)
        bound.append(err)
        reliable.append(ok)
        types.append(vt.array)
    return Bounds(tuple(truth), tuple(bound), tuple(reliable), tuple(types))


# --------------------------------------------------------------------------------------------
# Coefficients held to the derivative claims


SETTLED_FRACTION = 16
"""The truth of a coefficient is settled when its own error is at most 1/16 of its bound."""


def _claim(state: _State, e: Equation, et: object, coefficients: Coefficients) -> None:
    """Replace the bound of each coefficient ``e`` computes by what its primitive's
    derivative claim allows: the coefficient's own movement when the primal operands move
    within their bounds, plus the claim in ulps of the coefficient (spec 7.3); below the
    normal range, where the claim says nothing, the smallest normal number (a formula whose
    intermediates underflow may lose the coefficient entirely). The bound the
    reference's formula would have had (already computed by :func:`_step`) estimates the
    error of the truth itself at this precision: where it exceeds a sixteenth of the new
    bound, the truth needs more digits (:func:`_settled`).

    The marks of a coefficient are those of the primal operands it is computed from, and
    its own class changes at their corners: the branches and discontinuities inside the
    formula (a range test choosing between two exact forms) are the formula's business, as
    its rounding is."""
    for b, vt in zip(e.outputs, et.outputs):
        origin = coefficients.origins.get(b.name)
        if origin is None or origin.primitive.derivative is None:
            continue
        t = vt.array
        inherited = _origin_taint(state, origin, t.shape)
        if not t.dtype.is_float:  # a branch of the formula: every branch is exact in mpmath
            state.tainted[b.name] = inherited
            continue
        deviation, moved = _coefficient_deviation(state, origin, b.name)
        u, eta = unit_roundoff(t.dtype), smallest_subnormal(t.dtype)
        terms = _terms(origin.equation, origin.typing) + 1
        ulps = origin.primitive.derivative.ulps_for(terms)
        c, formula = state.values[b.name], state.errors[b.name]
        shape = np.shape(c)
        claimed = np.empty(shape, dtype=object)
        unsettled = np.zeros(shape, dtype=bool)
        rounding = _CONSTANTS.mpf(10) ** (1 - state.domain.dps) / u
        normal = smallest_normal(t.dtype)
        for i in cells(shape):
            bound = deviation[i] + ulps * (2 * u * abs(c[i]) + eta)
            if 0 < abs(c[i]) < normal:  # no claim below the normal range: it may underflow
                bound = max(bound, deviation[i] + normal)
            claimed[i] = bound
            # the truth must be settled to a sixteenth of what a comparison allows here: the
            # bound and the rounding of the linear equation that applies the coefficient
            allowed = bound + 2 * u * abs(c[i]) + eta
            own = formula[i] * rounding
            if mpmath.isfinite(own) and own * SETTLED_FRACTION > allowed:
                unsettled[i] = True
                digits = state.domain.dps + int(mpmath.ceil(
                    mpmath.log10(own * SETTLED_FRACTION / allowed))) + 2
                state.needed_dps = max(state.needed_dps, digits)
        state.errors[b.name] = claimed
        taint = inherited | moved | _near_overflow(c, claimed, t.dtype)
        if state.final:
            taint = taint | unsettled
        state.tainted[b.name] = taint
        state.overflowed[b.name] = _beyond_overflow(c, t.dtype) & ~taint


_ORDER_DERIVATIVES = frozenset({"reduce_max", "reduce_min", "cummax", "sort"})
"""Primitives whose derivative takes the tangent of elements chosen by their order within
a slice of one operand (the largest, the running maximum, the permutation): where two
elements of a slice may tie within their bounds, a correct backend's float values may order
them otherwise, and its derivative takes other tangents. The corners of
:func:`_coefficient_deviation` move every element of an operand the same way, so they
never see this."""


def _origin_taint(state: _State, origin: Origin, shape: tuple[int, ...]) -> np.ndarray:
    """The marks a coefficient inherits: those of its primal equation's operands (element by
    element for an elementwise primitive, every element otherwise), and the equation's own
    poles within its operands' non-zero bounds (:func:`_pole_within_bounds`): the
    coefficient of an element whose operand may lie across a pole is unbounded there,
    wherever the corners fall (``tan``'s ``1 + y²``, ``rem``'s quotient, nan at a zero
    divisor). At an exact zero the coefficient is chapter 6's, computed exactly. Every
    element, where two elements of a slice of an order derivative's operand may tie
    (:data:`_ORDER_DERIVATIVES`), and where a partial result of a sum or product equation
    may leave the range (:func:`_partials_out_of_range`): its derivative claim does not hold
    there either."""
    out = np.zeros(shape, dtype=bool)
    elementwise = taint_kind(origin.primitive) == "elementwise"
    for a in origin.equation.inputs:
        if not isinstance(a, Var):
            continue
        bad = state.tainted[a.name] | state.overflowed[a.name]
        if elementwise and bad.shape in ((), shape):
            out |= np.broadcast_to(bad, shape)
        elif bad.any():
            out |= True
    operands = [_operand(state, a, vt) for a, vt in zip(origin.equation.inputs,
                                                         origin.typing.inputs)]
    pole = _pole_within_bounds(origin.equation, origin.typing, operands, exact_zeros=False)
    if pole is not None and pole.any():
        out |= pole if pole.shape == shape else True
    if origin.equation.primitive in _ORDER_DERIVATIVES and _slices_may_tie(
            *operands[0], _combined_axes(origin.typing)):
        out |= True  # which element's tangent a result takes may differ
    if ERROR_MODELS.get(origin.equation.primitive, EXACT).kind in ("sum", "product"):
        xs = tuple(x for x, _ in operands)
        for b, vt in zip(origin.equation.outputs, origin.typing.outputs):
            if vt.array.dtype.is_float and b.name in state.values and _partials_out_of_range(
                    state, origin.equation, origin.typing, xs, state.values[b.name],
                    state.errors[b.name], vt.array).any():
                out |= True  # a partial out of range (cumprod: a product of factors)
    return out


def _outside_domain(state: _State, e: Equation, et: object,
                    coefficients: Coefficients) -> None:
    """Spec 6.3: where an elementwise equation with a derivative claim gives nan although
    none of its float operands is nan or infinite, its coefficients are unspecified: mark
    those elements of its operands, its result and its coefficients, so that what a
    derivative computes from them is not judged (:func:`_reads_unspecified`)."""
    if not e.outputs or e.outputs[0].name not in coefficients.equations:
        return
    origin, names = coefficients.equations[e.outputs[0].name]
    if origin.primitive.family not in ("unary", "binary") or origin.equation != e:
        return
    shape = et.outputs[0].array.shape
    y = np.asarray(state.values[e.outputs[0].name], dtype=object)
    operands = [np.broadcast_to(np.asarray(_operand(state, a, vt)[0], dtype=object), shape)
                for a, vt in zip(e.inputs, et.inputs) if vt.array.dtype.is_float]
    mask = np.zeros(shape, dtype=bool)
    for i in cells(shape):
        mask[i] = bool(mpmath.isnan(y[i])) and all(bool(mpmath.isfinite(x[i]))
                                                  for x in operands)
    if not mask.any():
        return
    marked = [a.name for a in e.inputs if isinstance(a, Var)]
    for name in [*marked, e.outputs[0].name, *names]:
        previous = state.unspecified.get(name)
        # the coefficients come later, elementwise: the result's shape
        here = _fit(mask, np.shape(state.values[name])) if name in state.values else mask
        state.unspecified[name] = here if previous is None else previous | _fit(
            here, previous.shape)


def _fit(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``mask`` on an array of ``shape``: the same elements, or every element if the shapes
    differ (a rank-0 operand, a reduction)."""
    if mask.shape == shape:
        return mask
    return np.full(shape, bool(mask.any()))


def _reads_unspecified(state: _State, e: Equation, et: object) -> None:
    """A derivative equation reading unspecified elements: its results there are too."""
    for a in e.inputs:
        if not isinstance(a, Var) or a.name not in state.unspecified:
            continue
        mask = state.unspecified[a.name]
        if not mask.any():
            continue
        for b, vt in zip(e.outputs, et.outputs):
            shape = vt.array.shape
            try:
                here = np.broadcast_to(mask, shape) if mask.shape in ((), shape) else None
            except ValueError:
                here = None
            if here is None:
                here = np.full(shape, bool(mask.any()))
            state.tainted[b.name] = state.tainted[b.name] | here


def _coefficient_deviation(state: _State, origin: Origin, name: str
                           ) -> tuple[np.ndarray, np.ndarray]:
    """How far the exact coefficient ``name`` moves, and where its class changes, when the
    primal equation's float operands move to the corners of their bounds, and (an
    elementwise equation) each to 0 where its bound holds 0 (:func:`_zero_inside`) and to
    the extrema of ``pow``'s and ``atan2``'s coefficients and the poles of those of
    ``atanh``, ``asin``, ``acos`` and ``acosh`` (:func:`_interior_extrema`): the
    rule's equations re-run there in mpmath (exact whatever the formula, so the result
    does not depend on the reference's choice of formula); ``sin`` and ``cos`` reach
    ``1 + |c|`` where the bound is π/4 or more (:func:`_periodic_reach`)."""
    cache = state.deviations.setdefault(id(origin), {})
    if name in cache:
        return cache[name]
    e, et = origin.equation, origin.typing
    outputs = {b.name for eq, _ in origin.span for b in eq.outputs}
    moving = []
    for a, vt in zip(e.inputs, et.inputs):
        if (isinstance(a, Var) and vt.array.dtype.is_float and a.name not in moving
                and _any_nonzero(state.errors[a.name])):
            moving.append(a.name)
    centre = {n: state.values[n] for n in outputs if n in state.values}
    deviation = {n: _zeros(v) for n, v in centre.items()}
    moved = {n: np.zeros(np.shape(v), dtype=bool) for n, v in centre.items()}
    if moving:
        signs = (itertools.product((-1, 1), repeat=len(moving)) if len(moving) <= 3
                 else [(-1,) * len(moving), (1,) * len(moving)])
        points = [{n: _shifted(state.values[n], state.errors[n], sign)
                   for n, sign in zip(moving, combo)} for combo in signs]
        if taint_kind(origin.primitive) == "elementwise":
            for n in moving:
                zeroed = _zero_inside(state.values[n], state.errors[n])
                if zeroed is not None:
                    points.append({n: zeroed})
            points.extend(_interior_extrema(state, e, et, moving))
        for env in points:
            for eq, eqt in origin.span:
                xs = tuple(env[a.name] if isinstance(a, Var) and a.name in env
                           else _operand(state, a, vt)[0]
                           for a, vt in zip(eq.inputs, eqt.inputs))
                outs = tuple(vt.array for vt in eqt.outputs)
                for b, y in zip(eq.outputs, lookup(eq.primitive).evaluate(
                        state.domain, xs, eqt.params, outs)):
                    env[b.name] = y
            for n in centre:
                deviation[n] = _larger(deviation[n], _distance(centre[n], env[n]))
                moved[n] = moved[n] | _class_changes(centre[n], env[n])
        if origin.primitive.name in _PERIODIC and moving:  # cos x, -sin x
            for n in centre:
                deviation[n] = _larger(deviation[n], _periodic_reach(
                    state.values[moving[0]], state.errors[moving[0]], centre[n]))
    for n in centre:
        cache[n] = (deviation[n], moved[n])
    return cache.get(name, (_zeros(state.values[name]),
                            np.zeros(np.shape(state.values[name]), dtype=bool)))


def _interior_extrema(state: _State, e: Equation, et: object, moving: list[str]
                      ) -> list[dict[str, np.ndarray]]:
    """The points, one operand moved, where a coefficient of ``pow`` or ``atan2`` has an
    extremum inside its operand's bound away from 0, which neither the corners nor 0 see:
    ``pow``'s ``y·x^(y−1)`` in y at ``y = −1/ln x`` and ``ln x·x^y`` in x at
    ``x = e^(−1/y)``; ``atan2(y, x)``'s ``x/(x² + y²)`` in x at ``x = ±|y|`` and
    ``−y/(x² + y²)`` in y at ``y = ±|x|`` (on the edges of the box of the two bounds, where
    the extrema of these functions lie). Each point moves the elements whose bound holds
    the extremum and leaves the others at their centre; none where no bound holds one."""
    prim = e.primitive
    if prim in _EDGE_POLES:
        return _edge_poles(state, e, et, moving)
    if prim not in ("pow", "atan2"):
        return []
    names = [a.name if isinstance(a, Var) else None for a in e.inputs]
    values = [_operand(state, a, vt)[0] for a, vt in zip(e.inputs, et.inputs)]
    ctx = state.domain.ctx
    # (operand moved, the other operand) -> where the moved one has the extremum
    if prim == "pow":
        def at_y(x: object) -> list[object]:  # y·x^(y−1) in y
            return [-1 / ctx.ln(x)] if x > 0 and x != 1 and ctx.isfinite(x) else []

        def at_x(y: object) -> list[object]:  # ln x·x^y in x
            return [ctx.exp(-1 / y)] if y != 0 and ctx.isfinite(y) else []
        rules = ((1, 0, at_y), (0, 1, at_x))
    else:
        def both_signs(v: object) -> list[object]:
            return [abs(v), -abs(v)] if ctx.isfinite(v) and v != 0 else []
        rules = ((1, 0, both_signs), (0, 1, both_signs))  # x at ±|y|, y at ±|x|
    points = []
    for moved, other, where in rules:
        name = names[moved]
        if name is None or name not in moving:
            continue
        x = np.asarray(values[moved], dtype=object)
        if np.shape(values[other]) not in ((), x.shape):  # a rank-0 operand moved as one
            continue
        err = np.broadcast_to(np.asarray(state.errors[name], dtype=object), x.shape)
        o = np.broadcast_to(np.asarray(values[other], dtype=object), x.shape)
        for branch in range(2):
            out, changed = x.copy(), False
            for i in cells(x.shape):
                found = where(o[i])
                if branch < len(found) and ctx.isfinite(x[i]) and (
                        abs(found[branch] - x[i]) <= err[i]):
                    out[i], changed = found[branch], True
            if changed:
                points.append({name: out})
    return points


_EDGE_POLES = {"atanh": (-1, 1), "asin": (-1, 1), "acos": (-1, 1), "acosh": (1,)}
"""The domain edges away from 0 where a coefficient of 3.1 is infinite (``1/(1 − x²)``,
``±1/√(1 − x²)``, ``1/√(x² − 1)``); those at 0 are :func:`_zero_inside`'s."""


def _edge_poles(state: _State, e: Equation, et: object, moving: list[str]
                ) -> list[dict[str, np.ndarray]]:
    """The points with the operand of ``atanh``, ``asin``, ``acos`` or ``acosh`` at a pole
    of its coefficient (:data:`_EDGE_POLES`) where its bound holds one: the coefficient
    is infinite there, a class change the corners on both sides miss (``atanh(cos(x))`` at
    ``x = 1e-10``: ``cos`` may round to 1, where the float coefficient is infinite; the
    thorough profile found it at seed 9)."""
    (a,) = e.inputs
    if not isinstance(a, Var) or a.name not in moving:
        return []
    x = np.asarray(state.values[a.name], dtype=object)
    err = np.broadcast_to(np.asarray(state.errors[a.name], dtype=object), x.shape)
    points = []
    for pole in _EDGE_POLES[e.primitive]:
        out, changed = x.copy(), False
        for i in cells(x.shape):
            if mpmath.isfinite(x[i]) and abs(x[i] - pole) <= err[i]:
                out[i], changed = state.domain.ctx.mpf(pole), True
        if changed:
            points.append({a.name: out})
    return points


def _zero_inside(x: np.ndarray, err: np.ndarray) -> np.ndarray | None:
    """``x`` with 0 in place of each element whose bound holds 0: the point where the
    coefficients of the elementwise rules have their interior extremum (the bumps
    ``1 - tanh²``, ``logistic·(1 - logistic)``, ``2/√π·e^(-x²)``, ``1/(1 + x²)``,
    ``1/√(1 + x²)``, the troughs ``1 + tan²``, ``cosh``, ``1/√(1 - x²)``, the pole of
    ``cbrt``'s), which the corners miss when they fall on its two sides. None where no
    element's bound holds 0 but the element's own exact 0 (nothing to evaluate)."""
    xa = np.asarray(x, dtype=object)
    ea = np.broadcast_to(np.asarray(err, dtype=object), xa.shape)
    out = xa.copy()
    changed = False
    for i in cells(xa.shape):
        if mpmath.isfinite(xa[i]) and xa[i] != 0 and abs(xa[i]) <= ea[i]:
            out[i] = _CONSTANTS.mpf(0)
            changed = True
    return out if changed else None


def _class_changes(y: np.ndarray, c: np.ndarray) -> np.ndarray:
    ya, ca = np.asarray(y, dtype=object), np.asarray(c, dtype=object)
    out = np.zeros(ya.shape, dtype=bool)
    for i in cells(ya.shape):
        out[i] = value_class(ya[i]) != value_class(ca[i])
    return out


def _finite(a: np.ndarray) -> np.ndarray:
    """Elementwise ``isfinite`` of an object array of mpf, as a bool array."""
    arr = np.asarray(a, dtype=object)
    out = np.zeros(arr.shape, dtype=bool)
    for i in cells(arr.shape):
        out[i] = bool(mpmath.isfinite(arr[i]))
    return out


def _zeros(v: np.ndarray) -> np.ndarray:
    out = np.empty(np.shape(v), dtype=object)
    out[...] = _CONSTANTS.mpf(0)
    return out


def _operand(state: _State, a: Atom, vt: VarType) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, Literal):
        value = state.domain.literal(a.value, vt.array.dtype)
        return value, _zeros(value)
    return state.values[a.name], state.errors[a.name]


# --------------------------------------------------------------------------------------------
# Taint: which elements no bound can make meaningful


_ELEMENTWISE_FAMILIES = frozenset({"unary", "binary", "logic", "special"})
"""Families whose result elements are functions of the operand elements at the same index
(rank-0 operands broadcast): spec 3.1-3.3 and 3.8 (identities, conversions, ``dup``;
``iota`` and ``zero`` have no operands)."""

_STRUCTURAL_FAMILIES = frozenset({"structure"})
"""Families whose result elements are copies of operand elements by an index map fixed by
the parameters (spec 3.4): the primitive evaluated on taint masks moves them exactly."""


def taint_kind(prim: Primitive) -> str:
    """How taint crosses an equation of ``prim``: ``elementwise`` (per index; ``select_n``
    per selected case), ``structural`` (the primitive's own index map) or ``whole`` (any
    tainted operand element taints every result element: reductions, contractions,
    indexing, scans, sort)."""
    if prim.family in _ELEMENTWISE_FAMILIES:
        return "elementwise"
    if prim.family in _STRUCTURAL_FAMILIES:
        return "structural"
    return "whole"


def _step(state: _State, e: Equation, et: object) -> None:
    prim = lookup(e.primitive)
    kind = taint_kind(prim)
    operands = [_operand(state, a, vt) for a, vt in zip(e.inputs, et.inputs)]
    xs = tuple(x for x, _ in operands)
    outs = tuple(vt.array for vt in et.outputs)
    ys = prim.evaluate(state.domain, xs, et.params, outs)
    bad = [_bad(state, a, x) for a, x in zip(e.inputs, xs)]
    inherited = _inherited(state, prim, kind, et, xs, bad)
    propagated = _propagate(state, e, et, operands)
    local = _local_errors(state, e, et, xs, ys)
    moved, deviations = _corners(state, e, et, operands, ys)
    pole = _pole_within_bounds(e, et, operands)
    if kind == "whole" and any(m.any() for m in moved):
        moved = [np.ones(t.shape, dtype=bool) for t in outs]
    propagated = [p if d is None else _larger(p, d) for p, d in zip(propagated, deviations)]
    for b, t, y, p, loc, inh, mv in zip(e.outputs, outs, ys, propagated, local, inherited,
                                        moved):
        state.values[b.name] = y
        err = _add(p, loc) if t.dtype.is_float else _zeros(y)
        state.errors[b.name] = err
        taint = inh | mv
        if pole is not None:
            taint = taint | pole
        over = np.zeros(t.shape, dtype=bool)
        if t.dtype.is_float:
            near, beyond = _near_overflow(y, err, t.dtype), _beyond_overflow(y, t.dtype)
            if kind == "whole":  # an intermediate of the computation may overflow too
                near, beyond = _whole(near), _whole(beyond)
            taint = taint | near | _partials_out_of_range(state, e, et, xs, y, err, t)
            over = beyond & ~taint
        state.tainted[b.name] = taint
        state.overflowed[b.name] = over


def _partials_out_of_range(state: _State, e: Equation, et: object, xs: tuple, y: np.ndarray,
                           err: np.ndarray, t: ArrayType) -> np.ndarray:
    """Per element of a float result of a sum or product (spec 3.5-3.7), whether one of its
    partial results may leave the range, where the primitive's accuracy bound does not hold.

    A sum (``reduce_sum``, ``cumsum``, ``dot_general``, ``scatter_add``): the sum of the
    finite terms' magnitudes plus the element's bound reaches the overflow threshold, so a
    partial sum, in whatever order, may overflow (``(a + b) + (c + d)`` is inf - inf = nan
    where the exact sum is 0). ``cumprod``, sequential by definition: an earlier element of
    its line in the scan's direction is within its bound of the overflow threshold or
    beyond it, or is not 0 and within its bound of the subnormal range (its loss of
    relative accuracy is then multiplied by the later factors)."""
    model = ERROR_MODELS.get(e.primitive, EXACT)
    mask = np.zeros(t.shape, dtype=bool)
    floats = tuple(x for x in xs if state.domain.is_float_array(x))
    if model.kind == "sum" and not _sum_may_reach(e, et, floats, err, t):
        return mask
    if model.kind == "sum":
        magnitudes = tuple(_map(_finite_magnitude, x) if state.domain.is_float_array(x) else x
                           for x in xs)
        sizes = np.asarray(lookup(e.primitive).evaluate(state.domain, magnitudes, et.params,
                                                        (t,))[0], dtype=object)
        limit = overflow_threshold(t.dtype)
        for i in cells(t.shape):
            mask[i] = bool(mpmath.isfinite(err[i]) and sizes[i] + err[i] >= limit)
    elif model.kind == "product" and t.rank:
        axis = int(et.params["axis"]) % t.rank
        values = np.moveaxis(np.asarray(y, dtype=object), axis, -1)
        bounds = np.moveaxis(np.asarray(err, dtype=object), axis, -1)
        marks = np.moveaxis(mask, axis, -1)  # a view: marks written through
        order = range(t.shape[axis])
        if et.params.get("reverse", False):
            order = order[::-1]
        limit, normal = overflow_threshold(t.dtype), smallest_normal(t.dtype)
        for line in cells(values.shape[:-1]):
            passed = False
            for k in order:
                at = (*line, k)
                marks[at] = passed
                v, b = values[at], bounds[at]
                if mpmath.isfinite(v) and mpmath.isfinite(b):
                    passed = passed or bool(abs(v) + b >= limit
                                            or (v != 0 and abs(v) - b < normal))
    return mask


def _sum_may_reach(e: Equation, et: object, floats: tuple, err: np.ndarray, t: ArrayType
                   ) -> bool:
    """Whether a sum of at most ``terms + 2`` terms, each at most the largest finite float
    operand magnitude (squared for ``dot_general``'s products), plus the largest bound, may
    reach half the overflow threshold: a cheap upper bound that settles the common case
    without evaluating the sum of magnitudes."""
    largest = _CONSTANTS.mpf(0)
    for x in floats:
        for v in np.asarray(x, dtype=object).reshape(-1):
            if mpmath.isfinite(v):
                largest = max(largest, abs(v))
    power = 2 if e.primitive == "dot_general" else 1
    worst = max((b for b in np.asarray(err, dtype=object).reshape(-1) if mpmath.isfinite(b)),
                default=_CONSTANTS.mpf(0))
    total = (max(_terms(e, et), 0) + 2) * largest ** power + worst
    return bool(total >= overflow_threshold(t.dtype) / 2)


def _finite_magnitude(v: object) -> object:
    """``|v|`` for a finite ``v``, else 0: the terms whose partial sums may overflow (an
    infinite term decides the class of the sum by itself)."""
    return abs(v) if mpmath.isfinite(v) else _CONSTANTS.mpf(0)


def _whole(mask: np.ndarray) -> np.ndarray:
    """Every element if any element: the whole-variable over-approximation."""
    return np.full(mask.shape, bool(mask.any()))


def _bad(state: _State, a: Atom, x: np.ndarray) -> np.ndarray:
    """The elements of an operand that make what they feed unreliable: tainted or beyond
    the overflow threshold (none for a literal)."""
    if isinstance(a, Literal):
        return np.zeros(np.shape(x), dtype=bool)
    return state.tainted[a.name] | state.overflowed[a.name]


def _inherited(state: _State, prim: Primitive, kind: str, et: object,
               xs: tuple[np.ndarray, ...], bad: list[np.ndarray]) -> list[np.ndarray]:
    """Per result, the elements tainted by tainted operand elements.

    Elementwise: the union of the operands' masks at the same index (rank 0 broadcasts);
    ``select_n``: where the predicate is untainted, the mask of the case it selects only (a
    discarded case cannot reach the value), else everything. Structural: the primitive
    evaluated on the masks. Otherwise every element if any operand element is tainted.
    Dependence is never dropped on the strength of a zero derivative: a tainted element may
    be inf or nan in the backend, and ``0 · inf`` is nan.
    """
    shapes = [vt.array.shape for vt in et.outputs]
    if kind == "structural":
        masks = tuple(replace(vt.array, dtype=DType.bool) for vt in et.outputs)
        ys = prim.evaluate(state.domain, tuple(bad), et.params, masks)
        return [np.asarray(y, dtype=bool).reshape(s) for y, s in zip(ys, shapes)]
    if kind == "whole":
        hit = any(m.any() for m in bad)
        return [np.full(s, hit) for s in shapes]
    if prim.name == "select_n":
        shape = shapes[0]
        index = np.broadcast_to(np.asarray(xs[0]).astype(np.int64), shape)
        chosen = np.zeros(shape, dtype=bool)
        for k, m in enumerate(bad[1:]):
            where = index == k
            chosen[where] = np.broadcast_to(m, shape)[where]
        return [np.broadcast_to(bad[0], shape) | chosen]
    out = []
    for s in shapes:
        mask = np.zeros(s, dtype=bool)
        for m in bad:
            mask |= np.broadcast_to(m, s)
        out.append(mask)
    return out


def _beyond_overflow(y: np.ndarray, dtype: DType) -> np.ndarray:
    """Per element, a finite truth beyond the overflow threshold: the float value is an
    infinity there. As a result it is judged (an infinity is expected); as an operand it
    makes the rest of the computation differ from the exact one (``inf · 0`` is nan where
    the exact product is 0), so what it feeds is unreliable."""
    limit = overflow_threshold(dtype)
    arr = np.asarray(y, dtype=object)
    out = np.zeros(arr.shape, dtype=bool)
    for i in cells(arr.shape):
        v = arr[i]
        out[i] = bool(mpmath.isfinite(v) and abs(v) > limit)
    return out


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(np.shape(a), dtype=object)
    for i in cells(out.shape):
        out[i] = a[i] + b[i]
    return out


def _near_overflow(y: np.ndarray, err: np.ndarray, dtype: DType) -> np.ndarray:
    """Per element, a finite truth within its bound of the overflow threshold: whether the
    float computation overflows is not decided (beyond it by more than the bound, the
    correctly rounded result is an infinity, and a comparison expects one)."""
    limit = overflow_threshold(dtype)
    arr = np.asarray(y, dtype=object)
    out = np.zeros(arr.shape, dtype=bool)
    for i in cells(arr.shape):
        v = arr[i]
        out[i] = bool(mpmath.isfinite(v) and abs(abs(v) - limit) <= err[i])
    return out


# --------------------------------------------------------------------------------------------
# Local errors (the error models)


def _local_errors(state: _State, e: Equation, et: object, xs: tuple, ys: tuple
                  ) -> list[np.ndarray]:
    """``δ_e`` per result: the primitive's error model in its result dtype."""
    model = ERROR_MODELS.get(e.primitive, EXACT)
    out = []
    for vt, y in zip(et.outputs, ys):
        t = vt.array
        if not t.dtype.is_float or model.kind == "exact" or (
                e.primitive == "convert_element_type" and not _narrows(et)):
            out.append(_zeros(y))
            continue
        u, eta = unit_roundoff(t.dtype), smallest_subnormal(t.dtype)
        if model.kind == "ulps":
            # c ulp(y) <= c (2 u |y| + eta): the ulp of a normal y is at most 2u|y|, of a
            # subnormal one eta
            scale, offset, sizes = 2 * u * model.ulps, model.ulps * eta, _abs(y)
        else:
            n = max(_terms(e, et), 0)
            scale, offset = _gamma(n, u), n * eta
            if model.kind == "product":
                sizes = _abs(y)
            else:  # a sum: the same primitive on the operands' magnitudes
                magnitudes = tuple(_abs(x) if state.domain.is_float_array(x) else x
                                   for x in xs)
                sizes = lookup(e.primitive).evaluate(state.domain, magnitudes, et.params,
                                                     (t,))[0]
        out.append(_affine(sizes, scale, offset))
    return out


def _affine(sizes: np.ndarray, scale: object, offset: object) -> np.ndarray:
    """``scale * size + offset`` elementwise."""
    arr = np.asarray(sizes, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i in cells(arr.shape):
        out[i] = scale * arr[i] + offset
    return out


def _narrows(et: object) -> bool:
    """Whether a conversion rounds: to a float dtype narrower than its float operand, or
    from an integer (i64 to f64 rounds beyond 2^53)."""
    src, dst = et.inputs[0].array.dtype, et.outputs[0].array.dtype
    return dst.is_float and not (src is dst or (src is DType.f32 and dst is DType.f64)
                                 or src is DType.bool)


def _terms(e: Equation, et: object) -> int:
    """The ``n`` of the γ bound of a sum- or product-like primitive (spec 3.5-3.7): roundings
    in one result element."""
    t = et.inputs[0].array
    ps = et.params
    if e.primitive == "reduce_sum":  # n terms: n - 1 additions
        axes = ps.get("axes", ())
        return int(np.prod([t.shape[a % t.rank] for a in axes], dtype=np.int64)) - 1
    if e.primitive in ("cumsum", "cumprod"):  # element k: k - 1 operations, k <= length
        return (t.shape[ps["axis"] % t.rank] if t.shape else 1) - 1
    if e.primitive == "dot_general":  # n products and n - 1 additions on any path: γ_n
        return int(np.prod([t.shape[a % t.rank] for a in ps["contracting_dims"][0]],
                           dtype=np.int64))
    if e.primitive == "scatter_add":  # at most one addition per update position
        return et.inputs[1].array.size
    return 1


def _gamma(n: int, u: object) -> object:
    return n * u / (1 - n * u)


def _map(fn: object, y: np.ndarray) -> np.ndarray:
    arr = np.asarray(y, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i in cells(arr.shape):
        out[i] = fn(arr[i])  # type: ignore[operator]
    return out


def _abs(x: np.ndarray) -> np.ndarray:
    return _map(abs, x)


# --------------------------------------------------------------------------------------------
# Propagation through one equation: |J_e| E


def _equation_program(e: Equation, et: object) -> tuple[Program, list[Var]]:
    """``e`` alone as a program of its distinct variable operands (literals stay), with
    canonical names (operands ``x0, x1, ...`` in order of first use, results ``y0, ...``), so
    that equal equations of different programs give the same program; and the operands in
    the order of its parameters."""
    params: dict[str, Binder] = {}
    order: list[Var] = []
    inputs: list[Atom] = []
    for a, vt in zip(e.inputs, et.inputs):
        if isinstance(a, Var):
            if a.name not in params:
                params[a.name] = Binder(f"x{len(params)}", VarType(vt.array))
                order.append(a)
            a = Var(params[a.name].name)
        inputs.append(a)
    outputs = tuple(Binder(f"y{j}", VarType(vt.array)) for j, vt in enumerate(et.outputs))
    # The error of a value propagates through the value's derivative: stop_gradient passes
    # its operand's error on unchanged, whatever its JVP says.
    primitive = "copy" if e.primitive == "stop_gradient" else e.primitive
    eq = Equation(outputs, primitive, tuple(inputs), e.params, e.loc)
    p = Program("eq", tuple(params.values()), outputs and tuple(b.type for b in outputs), (eq,),
                tuple(Var(b.name) for b in outputs))
    return p, order


@dataclass(frozen=True)
class _ByText:
    """A program compared and hashed by its text (exact: literals and parameters print
    exactly), the key of :func:`_linearization`."""

    text: str
    program: Program = field(compare=False)


@functools.lru_cache(maxsize=4096)
def _linearization(key: _ByText) -> tuple[ProgramTyping, ProgramTyping]:
    """The typings of the primal program of ``unzip(jvp_program(p))`` (the results of
    ``p``, then the residuals) and of the magnitude program of its linear program
    (:func:`magnitude_program`), for a one-equation program ``p``: symbolic, so the same at
    every value, and remembered for the last 4096 distinct equations (a memo of a pure
    function of immutable values)."""
    primal, linear = unzip(jvp_program(key.program))
    return checked(primal), checked(magnitude_program(linear))


def _propagate(state: _State, e: Equation, et: object,
               operands: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """``|J_e| E`` per result; zero where no float operand carries an error: the primal
    program of the equation's linearization evaluated at its operands' values gives the
    residuals, on which the magnitude program maps the operands' errors."""
    zeros = [_zeros(np.empty(vt.array.shape)) for vt in et.outputs]
    p, order = _equation_program(e, et)
    carried = [v for v in order if _any_nonzero(state.errors[v.name])]
    if not carried or not any(vt.array.dtype.is_float for vt in et.outputs):
        return zeros
    primal, magnitudes = _linearization(_ByText(str(p), p))
    d = state.domain
    residuals = run_checked(primal, [state.values[v.name] for v in order], d)[len(p.outputs):]
    floats = [v for v, b in zip(order, p.inputs) if b.type.array.dtype.is_float]
    sizes = run_checked(magnitudes, [*residuals, *[state.errors[v.name] for v in floats]], d)
    out = list(zeros)
    k = 0
    for j, vt in enumerate(et.outputs):
        if vt.array.dtype.is_float:
            out[j] = _map(lambda v: v if not mpmath.isnan(v) else mpmath.inf, sizes[k])
            k += 1
    return out


def _any_nonzero(err: np.ndarray) -> bool:
    return any(v != 0 for v in np.asarray(err, dtype=object).reshape(-1))


def magnitude_program(lp: Program) -> Program:
    """``|L|``: each linear equation reads the magnitudes of its non-linear float operands
    (``abs`` equations inserted before it; float literals by magnitude), ``neg`` becomes
    ``copy`` and ``sub`` ``add``; non-linear equations (masks, recomputed coefficients) run
    as they are. Evaluated on the residuals and on magnitudes of the linear arguments, it
    gives ``|L| |t|``, an upper bound of ``|L t|`` with every cancellation removed."""
    typing = checked(lp)
    names = NameSupply(program_names(lp))
    renamed = {"neg": "copy", "sub": "add"}
    equations: list[Equation] = []
    for e, et in zip(lp.equations, typing.equations):
        if not is_linear_equation(e, typing):
            equations.append(e)
            continue
        inputs: list[Atom] = []
        for a, vt in zip(e.inputs, et.inputs):
            if isinstance(a, Literal) and a.kind == "float":
                a = Literal(abs(a.value))
            elif isinstance(a, Var) and not vt.linear and vt.array.dtype.is_float:
                m = Var(names.fresh(a.name + "_abs"))
                equations.append(Equation((Binder(m.name, vt),), "abs", (a,)))
                a = m
            inputs.append(a)
        equations.append(replace(e, primitive=renamed.get(e.primitive, e.primitive),
                                 inputs=tuple(inputs)))
    return replace(lp, equations=tuple(equations))


# --------------------------------------------------------------------------------------------
# Outcomes that move within the bounds: discontinuities, domain edges


def _corners(state: _State, e: Equation, et: object,
             operands: list[tuple[np.ndarray, np.ndarray]], ys: tuple
             ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Evaluate the equation with its float operands moved to the corners of their bounds
    (all sign combinations for up to 3 moving operands, else all-minus and all-plus).

    Returns per result the elements whose outcome moves (a discrete result, the class of a
    float result (nan, ±inf, finite), the value of a step function or the branch of ``rem``
    changes; every element where a tie test of ``argmax``, ``argmin`` or ``sort`` fires),
    and per float result the largest finite deviation from the centre: where it exceeds the
    first-order bound (``x²`` at a value smaller than its bound) it replaces it.
    """
    outs = tuple(vt.array for vt in et.outputs)
    moved = [np.zeros(t.shape, dtype=bool) for t in outs]
    moving = [k for k, ((x, err), vt) in enumerate(zip(operands, et.inputs))
              if vt.array.dtype.is_float and _any_nonzero(err)]
    deviations: list[np.ndarray | None] = [None] * len(ys)
    if not moving:
        return moved, deviations
    if _TIE_TESTS.get(e.primitive, _no_ties)(operands, et):
        moved = [np.ones(t.shape, dtype=bool) for t in outs]
    signs = (itertools.product((-1, 1), repeat=len(moving)) if len(moving) <= 3
             else [(-1,) * len(moving), (1,) * len(moving)])
    for combo in signs:
        xs = [x for x, _ in operands]
        for k, sign in zip(moving, combo):
            xs[k] = _shifted(*operands[k], sign)
        corner = lookup(e.primitive).evaluate(state.domain, tuple(xs), et.params, outs)
        for j, (t, y, c) in enumerate(zip(outs, ys, corner)):
            moved[j] = moved[j] | _differs(e.primitive, t, y, c)
            if t.dtype.is_float:
                deviations[j] = _larger(deviations[j], _distance(y, c))
        if e.primitive == "rem":
            moved[0] = moved[0] | _quotients_differ(operands, xs, outs[0].shape)
    if e.primitive in _POINT_TESTS:
        moved[0] = moved[0] | _intervals_meet(operands, outs[0].shape)
    if e.primitive in _PERIODIC:
        deviations[0] = _larger(deviations[0], _periodic_reach(*operands[0], ys[0]))
    return moved, deviations


_PERIODIC = frozenset({"sin", "cos"})
"""Functions that are neither monotone nor convex nor concave over an interval of width
π/2 (the distance from an inflection point to an extremum): their corners no longer see
how far their values reach, nor their coefficients' (``cos``, ``-sin``)."""


def _periodic_reach(x: np.ndarray, err: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per element of ``sin`` or ``cos`` (or their coefficients ``y``), ``1 + |y|`` where
    the operand's bound is at least π/4, the farthest a value in [-1, 1] lies from ``y``
    (the interval may hold an inflection point and an extremum: first-order term and
    corners are then no bound); 0 elsewhere, where the function is monotone, convex or
    concave across the interval and the corners and the first-order term bound it."""
    ya = np.asarray(y, dtype=object)
    xs = np.broadcast_to(np.asarray(x, dtype=object), ya.shape)
    es = np.broadcast_to(np.asarray(err, dtype=object), ya.shape)
    out = np.empty(ya.shape, dtype=object)
    quarter = _CONSTANTS.pi / 4
    for i in cells(ya.shape):
        wide = mpmath.isfinite(xs[i]) and mpmath.isfinite(ya[i]) and es[i] >= quarter
        out[i] = 1 + abs(ya[i]) if wide else _CONSTANTS.mpf(0)
    return out


def _no_ties(operands: list, et: object) -> bool:
    return False


def _shifted(x: np.ndarray, err: np.ndarray, sign: int) -> np.ndarray:
    """``x + sign * err`` elementwise (``err`` broadcast to ``x``)."""
    xa = np.asarray(x, dtype=object)
    ea = np.broadcast_to(np.asarray(err, dtype=object), xa.shape)
    out = np.empty(xa.shape, dtype=object)
    for i in cells(xa.shape):
        out[i] = xa[i] + sign * ea[i]
    return out


def _distance(y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``|c - y|`` where both are finite, else 0 (class changes are judged apart)."""
    ya, ca = np.asarray(y, dtype=object), np.asarray(c, dtype=object)
    out = np.empty(ya.shape, dtype=object)
    for i in cells(ya.shape):
        finite = mpmath.isfinite(ya[i]) and mpmath.isfinite(ca[i])
        out[i] = abs(ca[i] - ya[i]) if finite else _CONSTANTS.mpf(0)
    return out


def _larger(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    if a is None:
        return b
    out = np.empty(a.shape, dtype=object)
    for i in cells(a.shape):
        out[i] = max(a[i], b[i])
    return out


def _holds_zero(x: object, err: object) -> bool:
    """Whether ``[x - err, x + err]`` holds 0 (an exact 0 too: its float sign is unknown)."""
    return bool(mpmath.isfinite(x) and abs(x) <= err)


def _pole_within_bounds(e: Equation, et: object,
                        operands: list[tuple[np.ndarray, np.ndarray]],
                        exact_zeros: bool = True) -> np.ndarray | None:
    """Per element, a pole or branch cut within an operand's bound, where the float
    result's sign, class or branch depends on the sign of a zero or of a tiny value the
    mpmath truth cannot know: a divisor at 0 (``div``; ``rem``, nan at 0), the base of a
    negative power (``integer_pow``, ``pow``, ``rsqrt``), the ``y`` of ``atan2`` at
    ``x <= 0`` (its cut along the negative x axis; ``atan2(±0, ±0)`` too), or a pole
    π/2 + kπ of ``tan``. The corners of the bounds cannot see these: both may lie on the
    same side of nothing, the pole inside (``rem(x, y)`` with ``y``'s bound reaching
    across 0; ``tan`` of an operand whose bound spans several periods). With
    ``exact_zeros`` false, an exact operand at 0 is no pole (a coefficient there is
    chapter 6's, computed exactly). ``None`` for other primitives."""
    prim = e.primitive
    if prim not in ("div", "rem", "integer_pow", "pow", "rsqrt", "atan2", "tan"):
        return None
    if prim == "integer_pow" and int(et.params["y"]) >= 0:
        return None
    if not all(vt.array.dtype.is_float for vt in et.inputs[:1]):
        return None
    shape = et.outputs[0].array.shape
    arrays = [np.broadcast_to(np.asarray(x, dtype=object), shape) for x, _ in operands]
    bounds = [np.broadcast_to(np.asarray(err, dtype=object), shape) for _, err in operands]
    out = np.zeros(shape, dtype=bool)

    def zero_within(x: object, err: object) -> bool:
        return _holds_zero(x, err) and (exact_zeros or err > 0)

    for i in cells(shape):
        if prim == "div":
            out[i] = zero_within(arrays[1][i], bounds[1][i])
        elif prim == "rem":  # nan at ±0 alike: an exact zero is judged as nan
            out[i] = _holds_zero(arrays[1][i], bounds[1][i]) and bounds[1][i] > 0
        elif prim == "tan":
            out[i] = _contains_tan_pole(arrays[0][i], bounds[0][i])
        elif prim in ("integer_pow", "rsqrt"):
            out[i] = zero_within(arrays[0][i], bounds[0][i])
        elif prim == "pow":
            out[i] = zero_within(arrays[0][i], bounds[0][i]) and not (
                arrays[1][i] - bounds[1][i] > 0)
        else:  # atan2
            out[i] = zero_within(arrays[0][i], bounds[0][i]) and bool(
                arrays[1][i] <= bounds[1][i])
    return out


_POLES = mpmath.MPContext()
"""The context of :func:`_contains_tan_pole`, its precision set per call."""


def _contains_tan_pole(x: object, err: object) -> bool:
    """Whether ``[x - err, x + err]`` holds a pole π/2 + kπ of ``tan`` (never for an exact
    operand: no float is a pole). The nearest pole is found at enough bits to resolve
    ``x`` modulo π."""
    if err == 0 or not mpmath.isfinite(x):
        return False
    if err >= _CONSTANTS.pi / 2:  # an interval of width π holds a pole
        return True
    ctx = _POLES
    ctx.prec = (max(int(ctx.mag(x)), 0) if x != 0 else 0) + 192
    x = ctx.mpf(x)
    k = ctx.nint((x - ctx.pi / 2) / ctx.pi)
    return bool(abs(x - (ctx.pi / 2 + k * ctx.pi)) <= ctx.mpf(err))


def value_class(v: object) -> str:
    """``nan``, ``+inf``, ``-inf`` or ``finite``: the exact classes of spec 7.3."""
    if mpmath.isnan(v):
        return "nan"
    if mpmath.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return "finite"


def _differs(prim: str, t: ArrayType, y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Per element, whether the corner ``c`` leaves the centre ``y``: another integer or
    boolean, another class, another value of a step function."""
    if not t.dtype.is_float:
        return np.asarray(np.asarray(y) != np.asarray(c), dtype=bool).reshape(t.shape)
    ya, ca = np.asarray(y, dtype=object), np.asarray(c, dtype=object)
    out = np.zeros(t.shape, dtype=bool)
    step = prim in STEP_FUNCTIONS
    for i in cells(t.shape):
        a, b = ya[i], ca[i]
        out[i] = value_class(a) != value_class(b) or (step and a != b)
    return out


_POINT_TESTS = frozenset({"eq", "ne"})
"""Comparisons whose outcome flips at one point, inside the interval of the operands'
bounds: their corners cannot see it (``ne(x, tan(x))`` at ``x = 1e-10`` is true exactly and
at both corners of ``tan``'s bound, false at ``tan(x)``'s float value)."""


def _intervals_meet(operands: list, shape: tuple[int, ...]) -> np.ndarray:
    """Per element of ``eq`` or ``ne``, whether its two float operands, each within its
    bound, may be equal: ``|x − y| <= E_x + E_y`` with some bound non-zero (both finite;
    an infinity or nan decides the outcome by itself)."""
    (x, ex), (y, ey) = operands
    xs, ys, exs, eys = (np.broadcast_to(np.asarray(v, dtype=object), shape)
                        for v in (x, y, ex, ey))
    out = np.zeros(shape, dtype=bool)
    for i in cells(shape):
        width = exs[i] + eys[i]
        out[i] = bool(mpmath.isfinite(width)) and _may_meet(xs[i], ys[i], width)
    return out


def _may_meet(a: object, b: object, width: object) -> bool:
    """Whether finite ``a`` and ``b`` are within ``width`` (the sum of their bounds, not 0)
    of each other: a correct backend's float values may be equal, or ordered otherwise."""
    return bool(width > 0 and mpmath.isfinite(a) and mpmath.isfinite(b)
                and abs(a - b) <= width)


def _quotients_differ(operands: list, corner: list, shape: tuple[int, ...]) -> np.ndarray:
    """Per element, whether rem(x, y) jumps: trunc(x / y) changes."""
    def quotient(a: object, b: object) -> object:
        return (mpmath.floor(abs(a / b)) * mpmath.sign(a / b)
                if b != 0 and mpmath.isfinite(a) else None)

    def arrays(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        return [np.broadcast_to(np.asarray(v, dtype=object), shape) for v in (x, y)]

    (x0, y0), (x1, y1) = arrays(operands[0][0], operands[1][0]), arrays(corner[0], corner[1])
    out = np.zeros(shape, dtype=bool)
    for i in cells(shape):
        q0, q1 = quotient(x0[i], y0[i]), quotient(x1[i], y1[i])
        out[i] = not (q0 is q1 or (q0 is not None and q1 is not None and q0 == q1))
    return out


def _ties_within_bounds(operands: list, et: object) -> bool:
    """argmax, argmin and a multi-operand sort: some element of the first operand is within
    the sum of both bounds of another one in the same slice, so the winner or the order
    (which permutes the other operands) may change."""
    return _slices_may_tie(*operands[0], _combined_axes(et))


def _combined_axes(et: object) -> tuple[int, ...]:
    """The axes along which an axis primitive (a reduction, a scan, ``sort``, ``argmax``)
    combines the elements of its first operand; ``()`` for a rank-0 operand."""
    rank = et.inputs[0].array.rank
    if not rank:
        return ()
    params = et.params
    if "axes" in params:
        return tuple(sorted({int(a) % rank for a in params["axes"]}))
    return (int(params.get("axis", params.get("dimension", -1))) % rank,)


def _slices_may_tie(x: np.ndarray, err: np.ndarray, axes: tuple[int, ...]) -> bool:
    """Whether two finite elements of one slice along ``axes`` (the elements combined
    together) are within the sum of their bounds of each other, a bound non-zero: their
    order may differ in a correct backend's float values."""
    xa = np.asarray(x, dtype=object)
    if not axes or xa.size == 0:
        return False
    ea = np.broadcast_to(np.asarray(err, dtype=object), xa.shape)
    last = tuple(range(xa.ndim - len(axes), xa.ndim))
    lead = tuple(n for k, n in enumerate(xa.shape) if k not in axes)
    xs = np.moveaxis(xa, axes, last).reshape((*lead, -1))
    es = np.moveaxis(ea, axes, last).reshape((*lead, -1))
    for i in cells(lead):
        row, bounds = xs[i], es[i]
        for a, b in itertools.combinations(range(len(row)), 2):
            if _may_meet(row[a], row[b], bounds[a] + bounds[b]):
                return True
    return False


def _sort_ties(operands: list, et: object) -> bool:
    return len(operands) > 1 and _ties_within_bounds(operands, et)


_TIE_TESTS = {"argmax": _ties_within_bounds, "argmin": _ties_within_bounds,
              "sort": _sort_ties}


__all__ = ["ERROR_MODELS", "Bounds", "ErrorModel", "ProgramTyping", "hvp_bounds",
           "jvp_bounds", "magnitude_program", "value_bounds", "vjp_bounds", "vjp_program"]
