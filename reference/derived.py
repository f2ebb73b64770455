"""Derivatives as values: jvp, linearize, transpose, vjp, grad, Jacobians and Hessians (spec 5.4).

Every function here is a composition of the three program transformations
(:func:`~lintra.reference.jvp.jvp_program`, :func:`~lintra.reference.unzip.unzip`,
:func:`~lintra.reference.transpose.transpose_program`) with the evaluator, in either number
domain: ``dps=None`` for float64, ``dps=N`` for mpmath at ``N`` digits. Tangents exist for
float inputs and results only; "one per float input" below means in parameter order,
skipping integer and boolean parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lintra.reference.check import ProgramTyping
from lintra.reference.emit import (
    Emitter,
    NameSupply,
    check_argument,
    checked,
    program_names,
    typed_program,
    without_collector,
)
from lintra.reference.errors import LintraTypeError, ShapeError
from lintra.reference.evaluate import evaluate
from lintra.reference.jvp import forget_linearity, jvp_program
from lintra.reference.syntax import ArrayType, Binder, Module, Program, Var, VarType
from lintra.reference.transpose import transpose_program
from lintra.reference.unzip import unzip

Value = np.ndarray


@dataclass(frozen=True)
class LinearFunction:
    """A linear map held as a linear program plus the residual values it reads.

    Calling it evaluates the program on the residuals and the given (co)tangents, one per
    linear parameter, and returns a tuple with one value per result. ``str()`` prints the
    program.
    """

    program: Program
    residuals: tuple[Value, ...]
    dps: int | None = None

    @property
    def input_types(self) -> tuple[ArrayType, ...]:
        """The types of the (co)tangents it takes."""
        ts = (b.type for b in self.program.inputs[len(self.residuals):])
        return tuple(t.array for t in ts if t is not None)

    @property
    def output_types(self) -> tuple[ArrayType, ...]:
        return tuple(t.array for t in self.program.result_types)

    def __call__(self, *tangents: object) -> tuple[Value, ...]:
        expected = self.input_types
        if len(tangents) != len(expected):
            raise LintraTypeError(
                f"{self.program.name} takes {len(expected)} linear argument"
                f"{'s' if len(expected) != 1 else ''} "
                f"({', '.join(str(t) for t in expected)}), got {len(tangents)}",
                program=self.program.name,
            )
        for i, (value, t) in enumerate(zip(tangents, expected)):
            require_float_value(value, t, f"linear argument {i + 1}", self.program.name)
        return evaluate(self.program, *self.residuals, *tangents, dps=self.dps)

    def __str__(self) -> str:
        return str(self.program)


def require_float_value(value: object, t: ArrayType, what: str, program: str) -> None:
    """A (co)tangent must have its type's shape and float data: a float array, a Python
    float, or (in the mpmath domain) an object array; integer and boolean data is refused
    (spec 5.3), as is a ragged nested list."""
    if isinstance(value, (Program, Module, LinearFunction)):
        raise LintraTypeError(
            f"{what} must be an array of type {t}, got a {type(value).__name__}",
            program=program,
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ShapeError(
            f"{what} must have type {t}, but NumPy cannot read it as one rectangular array "
            f"({err})", program=program,
        ) from None
    if arr.shape != t.shape:
        raise ShapeError(
            f"{what} must have type {t}, got an array of shape {arr.shape}", program=program
        )
    if arr.dtype.kind not in "fO":
        raise LintraTypeError(
            f"{what} must have type {t}, got an array of dtype {arr.dtype} (tangents and "
            "cotangents are float data)", program=program,
        )


def require_program(p: object, what: str) -> Program:
    """``p`` itself if it is a :class:`Program`; a module or anything else is refused."""
    if isinstance(p, Program):
        return p
    hint = " (pick one def with module['name'])" if isinstance(p, Module) else ""
    hint = " (transpose takes the linear map that linearize returns)" if isinstance(
        p, LinearFunction) else hint
    raise LintraTypeError(f"{what} takes a Program, got a {type(p).__name__}{hint}")


def float_parameters(p: Program) -> list[Binder]:
    """The parameters that have tangents: the float ones, in order."""
    return [b for b in p.inputs if b.type is not None and b.type.array.dtype.is_float]


def require_arguments(p: Program, values: object, what: str, kind: str,
                      binders: Sequence[Binder]) -> tuple[object, ...]:
    """``values`` as a tuple with one entry per binder: primals or tangents given as a list
    or a tuple of the right length."""
    if not isinstance(values, (list, tuple)):
        raise LintraTypeError(
            f"{what}: {kind} must be a list or tuple with one entry per "
            f"{'parameter' if kind == 'primals' else 'float parameter'}, "
            f"got a {type(values).__name__}", program=p.name,
        )
    if len(values) != len(binders):
        sig = ", ".join(str(b) for b in binders)
        raise LintraTypeError(
            f"{what}: {p.name} takes {len(binders)} {kind} ({sig}), got {len(values)}",
            program=p.name,
        )
    return tuple(values)


def require_tangents(p: Program, tangents: object, what: str) -> tuple[object, ...]:
    """One float tangent per float parameter, each of its parameter's type (spec 5.3)."""
    floats = float_parameters(p)
    values = require_arguments(p, tangents, what, "tangents", floats)
    for b, v in zip(floats, values):
        assert b.type is not None
        require_float_value(v, b.type.array, f"{what}: the tangent for {b.name}", p.name)
    return values


@without_collector
def jvp(p: Program, primals: Sequence[object], tangents: Sequence[object],
        dps: int | None = None) -> tuple[tuple[Value, ...], tuple[Value, ...]]:
    """``(p(primals), dp(primals)[tangents])``: one tangent per float input and result."""
    p = require_program(p, "jvp")
    xs = require_arguments(p, primals, "jvp", "primals", p.inputs)
    ts = require_tangents(p, tangents, "jvp")
    jp = jvp_program(p)
    n = len(p.outputs)
    outs = evaluate(jp, *xs, *ts, dps=dps)
    return outs[:n], outs[n:]


@without_collector
def linearize(p: Program, *primals: object, dps: int | None = None
              ) -> tuple[tuple[Value, ...], LinearFunction]:
    """``(p(primals), lin)`` where ``lin`` maps input tangents to result tangents (spec 5.4).

    The primal program of ``unzip(jvp_program(p))`` runs once now; ``lin`` holds the linear
    program and the residual values, so applying it does no primal work.
    """
    p = require_program(p, "linearize")
    require_arguments(p, primals, "linearize", "primals", p.inputs)
    primal, linear = unzip(jvp_program(p))
    outs = evaluate(primal, *primals, dps=dps)
    n = len(p.outputs)
    return outs[:n], LinearFunction(linear, tuple(outs[n:]), dps)


def transpose(lin: LinearFunction) -> LinearFunction:
    """The transposed linear map: result cotangents -> one cotangent per linear input."""
    if not isinstance(lin, LinearFunction):
        hint = (" (for a linear Program use transpose_program)"
                if isinstance(lin, (Program, Module)) else "")
        raise LintraTypeError(
            f"transpose takes the linear map that linearize returns, got a "
            f"{type(lin).__name__}{hint}"
        )
    return LinearFunction(transpose_program(lin.program), lin.residuals, lin.dps)


@without_collector
def vjp(p: Program, *primals: object, dps: int | None = None
        ) -> tuple[tuple[Value, ...], LinearFunction]:
    """``(p(primals), pullback)``: pullback maps result cotangents to input cotangents."""
    outs, lin = linearize(require_program(p, "vjp"), *primals, dps=dps)
    return outs, transpose(lin)


def _scalar_output(p: Program, what: str) -> VarType:
    typing = checked(require_program(p, what))
    types = typing.program.result_types
    if len(types) != 1 or types[0].array.shape != () or not types[0].array.dtype.is_float:
        shown = ", ".join(str(t) for t in types)
        raise LintraTypeError(
            f"{what} needs a program with one scalar float result, but {p.name} returns "
            f"({shown})", program=p.name,
        )
    return types[0]


def _is_index(k: object) -> bool:
    """A Python or NumPy integer, not a boolean (``argnums=True`` is refused, not read as 1)."""
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _argnums(p: Program, argnums: object, what: str) -> tuple[int, ...]:
    """``argnums`` checked and normalized: an int, or a tuple or list of distinct ints,
    each naming a float parameter (negative counting from the end)."""
    if _is_index(argnums):
        nums: tuple = (argnums,)
    elif isinstance(argnums, (tuple, list)) and all(_is_index(k) for k in argnums):
        nums = tuple(argnums)
    else:
        raise LintraTypeError(
            f"{what}: argnums must be an int or a tuple of ints, got {argnums!r}",
            program=p.name,
        )
    n = len(p.inputs)
    for k in nums:
        if not -n <= k < n:
            raise LintraTypeError(
                f"{what}: argnums {argnums!r} out of range for {n} parameters",
                program=p.name,
            )
    nums = tuple(int(k) % n for k in nums)
    if len(set(nums)) != len(nums):
        twice = next(k for k in nums if nums.count(k) > 1)
        raise LintraTypeError(
            f"{what}: argnums {argnums!r} names parameter {p.inputs[twice].name} twice",
            program=p.name, variable=p.inputs[twice].name,
        )
    for k in nums:
        b = p.inputs[k]
        if b.type is None or not b.type.array.dtype.is_float:
            raise LintraTypeError(
                f"{what} with respect to argument {k} ({b}): only float inputs have "
                "derivatives", program=p.name, variable=b.name,
            )
    return nums


def _float_index(p: Program, k: int) -> int:
    """The position of input ``k`` among the float inputs."""
    return sum(1 for b in p.inputs[:k] if b.type is not None and b.type.array.dtype.is_float)


def _pick(values: Sequence[object], argnums: int | Sequence[int]) -> object:
    return values[0] if _is_index(argnums) else tuple(values)


@without_collector
def grad(p: Program, *primals: object, argnums: int | Sequence[int] = 0,
         dps: int | None = None) -> object:
    """The gradient of a scalar-output program: one array for an int ``argnums``, else a
    tuple of arrays, each of its argument's shape."""
    out_type = _scalar_output(p, "grad")
    nums = _argnums(p, argnums, "grad")
    _, pullback = vjp(p, *primals, dps=dps)
    one = np.ones((), dtype=out_type.array.dtype.numpy)
    cts = pullback(one)
    return _pick([cts[_float_index(p, k)] for k in nums], argnums)


@without_collector
def value_and_grad(p: Program, *primals: object, argnums: int | Sequence[int] = 0,
                   dps: int | None = None) -> tuple[Value, object]:
    """``(p(primals), grad(p, primals))`` from one linearization."""
    out_type = _scalar_output(p, "value_and_grad")
    nums = _argnums(p, argnums, "value_and_grad")
    outs, pullback = vjp(p, *primals, dps=dps)
    cts = pullback(np.ones((), dtype=out_type.array.dtype.numpy))
    return outs[0], _pick([cts[_float_index(p, k)] for k in nums], argnums)


def _all_float_outputs(p: Program, what: str) -> None:
    for i, t in enumerate(p.result_types):
        if not t.array.dtype.is_float:
            raise LintraTypeError(
                f"{what} needs float results, but result {i + 1} of {p.name} is {t}",
                program=p.name,
            )


def _basis(t: ArrayType, i: int) -> np.ndarray:
    e = np.zeros(t.size, dtype=t.dtype.numpy)
    e[i] = 1
    return e.reshape(t.shape)


def _zeros(t: ArrayType) -> np.ndarray:
    return np.zeros(t.shape, dtype=t.dtype.numpy)


def _assemble(columns: list[Value], out: ArrayType, inp: ArrayType, rows_first: bool) -> Value:
    """Stack Jacobian columns (or rows) into an array of shape ``out.shape + inp.shape``."""
    flat = [np.asarray(c).reshape(-1) for c in columns]
    width = out.size if rows_first else inp.size
    if flat:
        matrix = np.stack(flat, axis=0 if rows_first else 1)
    else:
        matrix = np.zeros((0, width) if rows_first else (width, 0))
    return matrix.reshape(out.shape + inp.shape)


def _shape_result(blocks: list[list[Value]], p: Program, argnums: int | Sequence[int]) -> object:
    per_output = [_pick(row, argnums) for row in blocks]
    return per_output[0] if len(p.outputs) == 1 else tuple(per_output)


def jacfwd(p: Program, *primals: object, argnums: int | Sequence[int] = 0,
           dps: int | None = None) -> object:
    """The Jacobian by forward mode: one ``lin`` application per input element.

    For each result and each selected argument, an array of shape
    ``result.shape + argument.shape``; nested as JAX does (one result and an int ``argnums``
    give one array).
    """
    _all_float_outputs(checked(require_program(p, "jacfwd")).program, "jacfwd")
    nums = _argnums(p, argnums, "jacfwd")
    _, lin = linearize(p, *primals, dps=dps)
    ins = lin.input_types
    outs = lin.output_types
    blocks: list[list[Value]] = [[] for _ in outs]
    for k in nums:
        j = _float_index(p, k)
        columns: list[tuple[Value, ...]] = []
        for i in range(ins[j].size):
            tangents = [_basis(t, i) if m == j else _zeros(t) for m, t in enumerate(ins)]
            columns.append(lin(*tangents))
        for r, out in enumerate(outs):
            blocks[r].append(_assemble([c[r] for c in columns], out, ins[j], rows_first=False))
    return _shape_result(blocks, p, argnums)


def jacrev(p: Program, *primals: object, argnums: int | Sequence[int] = 0,
           dps: int | None = None) -> object:
    """The Jacobian by reverse mode: one pullback per result element (same layout as
    :func:`jacfwd`)."""
    _all_float_outputs(checked(require_program(p, "jacrev")).program, "jacrev")
    nums = _argnums(p, argnums, "jacrev")
    _, pullback = vjp(p, *primals, dps=dps)
    outs = pullback.input_types
    ins = pullback.output_types
    blocks: list[list[Value]] = [[] for _ in outs]
    for r, out in enumerate(outs):
        rows = []
        for i in range(out.size):
            cts = [_basis(t, i) if m == r else _zeros(t) for m, t in enumerate(outs)]
            rows.append(pullback(*cts))
        for k in nums:
            j = _float_index(p, k)
            blocks[r].append(_assemble([row[j] for row in rows], out, ins[j], rows_first=True))
    return _shape_result(blocks, p, argnums)


def _ordinary_parameters(em: Emitter, p: Program, typing: ProgramTyping) -> list[Binder]:
    """``p``'s parameters as ordinary (non-linear) binders, bound in ``em``."""
    inputs = []
    for b in p.inputs:
        vt = VarType(typing.variables[b.name].array)
        em.bind_existing(b.name, vt)
        inputs.append(Binder(b.name, vt))
    return inputs


@without_collector
def vjp_program(p: Program) -> Program:
    """An ordinary program ``(xs..., cts...) -> x̄s`` (spec 5.4): the primal program, then the
    transposed linear program (with linearity forgotten) applied to the residuals and one
    cotangent per float result; one result per float input. It computes what :func:`vjp`
    computes, as one program that can be evaluated, analysed and differentiated again."""
    typing = check_argument(p, "vjp_program")
    primal, linear = unzip(jvp_program(p))
    backward = forget_linearity(transpose_program(linear))
    em = Emitter(NameSupply(program_names(p)))
    inputs = _ordinary_parameters(em, p, typing)
    cts = []
    for k, t in enumerate(p.result_types):
        if t.array.dtype.is_float:
            v = em.declare(f"ct{k}", VarType(t.array))
            inputs.append(Binder(v.name, VarType(t.array)))
            cts.append(v)
    outs = em.inline(primal, [Var(b.name) for b in p.inputs])
    bars = em.inline(backward, [*outs[len(p.outputs):], *cts])
    return typed_program(p.name + "_vjp", inputs, em, bars)  # type: ignore[arg-type]


@without_collector
def grad_program(p: Program, argnums: int | Sequence[int] = 0) -> Program:
    """An ordinary program with ``p``'s parameters that returns the gradient (spec 5.4):
    :func:`vjp_program` applied to the cotangent 1, the selected cotangents returned. Since
    it is an ordinary program, it can be differentiated again (Hessians, Hessian-vector
    products)."""
    out_type = _scalar_output(p, "grad_program")
    nums = _argnums(p, argnums, "grad_program")
    typing = checked(p)
    em = Emitter(NameSupply(program_names(p)))
    inputs = _ordinary_parameters(em, p, typing)
    one = em.constant(1.0, out_type.array, "one")
    bars = em.inline(vjp_program(p), [*(Var(b.name) for b in p.inputs), one])
    selected = [bars[_float_index(p, k)] for k in nums]
    return typed_program(p.name + "_grad", inputs, em, selected)  # type: ignore[arg-type]


def hessian(p: Program, *primals: object, argnums: int | Sequence[int] = 0,
            dps: int | None = None) -> object:
    """The Hessian of a scalar-output program: forward mode over the gradient program."""
    return jacfwd(grad_program(p, argnums), *primals, argnums=argnums, dps=dps)


def hvp(p: Program, primals: Sequence[object], tangents: Sequence[object],
        dps: int | None = None) -> tuple[Value, ...]:
    """Hessian-vector product by forward over reverse: the JVP of the gradient program.

    ``tangents`` has one entry per float input; returns one entry per float input.
    """
    p = require_program(p, "hvp")
    require_arguments(p, primals, "hvp", "primals", p.inputs)
    require_tangents(p, tangents, "hvp")
    floats = tuple(
        k for k, b in enumerate(p.inputs) if b.type is not None and b.type.array.dtype.is_float
    )
    g = grad_program(p, floats)
    _, dg = jvp(g, primals, tangents, dps=dps)
    return dg
