"""Program-level API: ``compile(program)`` and what a compiled program offers.

A :class:`Compiled` holds the engine's graph of one program and derives, each once and on
first use, its JVP graph, its primal and linear graphs (partial evaluation of the JVP), the
transposed linear graph and their plans. Nothing is transformed again when a compiled program
runs again, and :func:`compile` returns the same :class:`Compiled` for an equal program
(programs are compared by value, not identity). Every derived graph can be had as a lintra
program (``.program``), which the reference's ``check`` accepts and ``evaluate`` runs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from lintra.optimized.arrays import ArrayTable, table
from lintra.optimized.convert import from_program, to_program
from lintra.optimized.ir import AType, Eqn, Graph, Var, collector_paused_during
from lintra.optimized.jvp import jvp_graph
from lintra.optimized.plan import Plan
from lintra.optimized.remat import rematerialize
from lintra.optimized.simplify import prune, uniform_products
from lintra.optimized.transpose import transpose_graph
from lintra.optimized.unzip import unzip_graph
from lintra.reference.errors import LinearityError, LintraTypeError, ShapeError
from lintra.reference.syntax import Program

_INT_RANGE = {"i64": (-(2**63), 2**63 - 1), "i32": (-(2**31), 2**31 - 1)}


def compile(program: Program, *, array_library: str = "numpy") -> Compiled:
    """The compiled form of ``program`` for ``array_library`` (``"numpy"`` or ``"cupy"``),
    made once per distinct program and library and remembered."""
    if not isinstance(program, Program):
        raise LintraTypeError(
            f"compile takes a Program (one def; parse it with lintra.reference.parse_program), "
            f"got {type(program).__name__}")
    return _compiled(_ProgramKey(program), array_library)


@functools.lru_cache(maxsize=256)
def _compiled(key: _ProgramKey, array_library: str) -> Compiled:
    return Compiled(from_program(key.program), table(array_library), key.program)


class _ProgramKey:
    """A program as the compile cache's key: equal keys are equal programs (compared by
    value, in full). The hash reads the signature, the length and about 32 equations spread
    over the body, not every node: hashing a whole program walks each of its frozen
    dataclasses in Python (half a second for 100,000 equations), and equal programs agree
    on any part of them anyway."""

    __slots__ = ("_hash", "program")

    def __init__(self, program: Program) -> None:
        self.program = program
        eqns = program.equations
        sample = eqns[::max(1, len(eqns) // 32)] + eqns[-1:]
        self._hash = hash((program.name, program.inputs, program.result_types,
                           program.outputs, len(eqns), sample))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ProgramKey) and (
            self.program is other.program or self.program == other.program)


class Compiled:
    """One program, compiled: evaluation and every derivative of spec chapters 4 and 5."""

    def __init__(self, graph: Graph, tab: ArrayTable, program: Program | None = None) -> None:
        self.graph = graph
        self.table = tab
        self._program = program
        self.name = graph.name

    # ----------------------------------------------------------------------------------------
    # the program and its derived graphs

    @property
    def program(self) -> Program:
        """The program as lintra text's syntax tree."""
        if self._program is None:
            self._program = to_program(self.graph)
        return self._program

    @functools.cached_property
    def _plan(self) -> Plan:
        return Plan(self.graph, self.table)

    @functools.cached_property
    def _float_inputs(self) -> tuple[int, ...]:
        return tuple(k for k, v in enumerate(self.graph.inputs) if v.type.is_float)

    @functools.cached_property
    def _float_outputs(self) -> tuple[int, ...]:
        return tuple(k for k, v in enumerate(self.graph.outputs) if v.type.is_float)

    @functools.cached_property
    def jvp_graph(self) -> Graph:
        return jvp_graph(self.graph)

    @functools.cached_property
    def _jvp_plan(self) -> Plan:
        return Plan(self.jvp_graph, self.table)

    @functools.cached_property
    def _unzipped(self) -> tuple[Graph, Graph]:
        # the JVP graph's primal parameters and results are those of the program (J-Forget
        # keeps their number): no second J-Forget walk needed to count them
        return unzip_graph(self.jvp_graph, len(self.graph.inputs), len(self.graph.outputs))

    @functools.cached_property
    def _primal_plan(self) -> Plan:
        return Plan(self._unzipped[0], self.table)

    @functools.cached_property
    def _linear(self) -> _LinearGraph:
        return _LinearGraph(self._unzipped[1], self.table)

    def jvp_program(self) -> Program:
        """The JVP program (spec 4.1) as the engine built it."""
        return to_program(self.jvp_graph)

    def unzipped_programs(self) -> tuple[Program, Program]:
        """``(primal, linear)``: partial evaluation of the JVP program (spec 5.1). The primal
        program returns the results, then the residuals; the linear program takes the
        residuals, then one tangent per float parameter."""
        primal, linear = self._unzipped
        return to_program(primal), to_program(linear)

    def transposed_program(self) -> Program:
        """The transpose of the linear program (spec 5.2): residuals and one cotangent per
        float result in, one cotangent per float parameter out."""
        return to_program(self._linear.transposed.graph)

    def value_and_grad_program(self, argnums: int | Sequence[int] = 0) -> Program:
        """The program :meth:`value_and_grad` runs: the value, then the gradients."""
        nums = self._argnums(argnums)
        self._scalar_result("value_and_grad")
        primal, _ = self._unzipped
        wanted = tuple(self._float_inputs.index(k) for k in nums)
        return to_program(_grad_graph(primal, self._linear.transposed.graph, self.graph,
                                      self.graph.outputs[0].type, wanted, with_value=True))

    def hvp_program(self) -> Program:
        """The program :meth:`hvp` runs: the JVP of the gradient program."""
        return self._hvp_compiled.jvp_program()

    # ----------------------------------------------------------------------------------------
    # running

    def evaluate(self, *args: Any) -> tuple[Any, ...]:
        """The program's results at ``args`` (one per parameter; spec E-Args)."""
        return self._plan(*self._arguments(args, self.graph.inputs, "argument"))

    def jvp(self, primals: Sequence[Any], tangents: Sequence[Any]
            ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """``(results, tangent results)``: one tangent per float parameter in, one per float
        result out (spec 4.1)."""
        xs = self._arguments(primals, self.graph.inputs, "primal")
        ts = self._tangents(tangents, [self.graph.inputs[k] for k in self._float_inputs],
                            "tangent")
        outs = self._jvp_plan(*xs, *ts)
        n = len(self.graph.outputs)
        return outs[:n], outs[n:]

    def linearize(self, *primals: Any) -> tuple[tuple[Any, ...], LinearMap]:
        """``(results, lin)``: ``lin(*tangents)`` is the JVP at ``primals``, holding only the
        residuals the linear program reads (spec 5.1)."""
        xs = self._arguments(primals, self.graph.inputs, "primal")
        outs = self._primal_plan(*xs)
        n = len(self.graph.outputs)
        return outs[:n], LinearMap(self._linear, outs[n:])

    def vjp(self, *primals: Any) -> tuple[tuple[Any, ...], LinearMap]:
        """``(results, pullback)``: ``pullback(*cotangents)`` gives one cotangent per float
        parameter (spec 5.3)."""
        outs, lin = self.linearize(*primals)
        return outs, lin.transpose()

    def value_and_grad(self, *args: Any, argnums: int | Sequence[int] = 0
                       ) -> tuple[Any, Any]:
        """The scalar result and its gradient with respect to parameter(s) ``argnums``."""
        key = argnums if type(argnums) is int or (type(argnums) is tuple and all(
            type(k) is int for k in argnums)) else None  # True == 1: never a key
        plan = self._value_and_grad_plans.get(key) if key is not None else None
        if plan is None:  # argnums checked once per distinct value
            nums = self._argnums(argnums)
            plan = self._value_and_grad_plan(nums)
            if key is not None:
                self._value_and_grad_plans[key] = plan
        outs = plan(*self._arguments(args, self.graph.inputs, "argument"))
        return outs[0], outs[1] if _single(argnums) else outs[1:]

    @functools.cached_property
    def _value_and_grad_plans(self) -> dict[object, Plan]:
        return {}

    @functools.cached_property
    def _input_dtypes(self) -> tuple[tuple[Any, tuple[int, ...]], ...]:
        return tuple((self.table.dtype(v.type.dtype), v.type.shape) for v in self.graph.inputs)

    @collector_paused_during
    def _value_and_grad_plan(self, nums: tuple[int, ...]) -> Plan:
        """One plan computing the value and the wanted gradients: the primal and transposed
        graphs joined, seeded with 1, pruned to what the wanted gradients need (residuals are
        released as the backward sweep passes their last use; cheap ones are recomputed
        there instead of kept, :mod:`lintra.optimized.remat`). The collector is paused over
        all the derivations at once (each pause's end walks what was built meanwhile)."""
        out_type = self._scalar_result("value_and_grad")
        primal, _ = self._unzipped
        wanted = tuple(self._float_inputs.index(k) for k in nums)
        graph, seed = _joined(primal, self._linear.transposed.graph, self.graph, out_type,
                              wanted, with_value=True, plain=False)
        return Plan(uniform_products(rematerialize(graph, _backward_start(graph, seed))),
                    self.table)

    def grad(self, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
        """The gradient of the scalar result with respect to parameter(s) ``argnums``."""
        return self.value_and_grad(*args, argnums=argnums)[1]

    def hvp(self, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, ...]:
        """Forward over reverse: the derivative of the gradient along ``tangents``, one array
        per float parameter (the program has one scalar float result)."""
        return self._hvp_compiled.jvp(list(primals), list(tangents))[1]

    @functools.cached_property
    def _hvp_compiled(self) -> Compiled:
        out_type = self._scalar_result("hvp")
        primal, _ = self._unzipped
        graph = _grad_graph(primal, self._linear.transposed.graph, self.graph, out_type)
        return Compiled(graph, self.table)

    def jacfwd(self, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
        """The Jacobian by forward mode: the linearization applied to each basis tangent of
        the chosen parameters. Per result and chosen parameter an array of shape
        ``result.shape + parameter.shape``, nested as JAX does (a tuple per result when there
        are several, then a tuple per parameter when ``argnums`` is a tuple)."""
        nums = self._argnums(argnums)
        self._all_float_results("jacfwd")
        _, lin = self.linearize(*args)
        ins = [self.graph.inputs[k].type for k in self._float_inputs]
        outs = [v.type for v in self.graph.outputs]
        xp = self.table.xp
        blocks: list[list[Any]] = [[] for _ in outs]
        for k in nums:
            j = self._float_inputs.index(k)
            zeros = [xp.zeros(t.shape, dtype=self.table.dtype(t.dtype)) for t in ins]
            columns = []
            for i in range(ins[j].size):
                basis = xp.zeros(ins[j].size, dtype=self.table.dtype(ins[j].dtype))
                basis[i] = 1
                tangents = list(zeros)
                tangents[j] = basis.reshape(ins[j].shape)
                columns.append(lin(*tangents))
            for r, out in enumerate(outs):
                stacked = xp.stack([xp.asarray(c[r]).reshape(-1) for c in columns], axis=-1) \
                    if columns else xp.zeros((out.size, 0), dtype=self.table.dtype(out.dtype))
                blocks[r].append(stacked.reshape(out.shape + ins[j].shape))
        return _nested(blocks, argnums)

    def jacrev(self, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
        """The Jacobian by reverse mode: the pullback of each basis cotangent of the results
        (layout as :meth:`jacfwd`)."""
        nums = self._argnums(argnums)
        self._all_float_results("jacrev")
        _, pullback = self.vjp(*args)
        ins = [self.graph.inputs[k].type for k in self._float_inputs]
        outs = [v.type for v in self.graph.outputs]
        xp = self.table.xp
        blocks: list[list[Any]] = [[] for _ in outs]
        zeros = [xp.zeros(t.shape, dtype=self.table.dtype(t.dtype)) for t in outs]
        for r, out in enumerate(outs):
            rows = []
            for i in range(out.size):
                basis = xp.zeros(out.size, dtype=self.table.dtype(out.dtype))
                basis[i] = 1
                cts = list(zeros)
                cts[r] = basis.reshape(out.shape)
                rows.append(pullback(*cts))
            for k in nums:
                j = self._float_inputs.index(k)
                stacked = xp.stack([xp.asarray(row[j]).reshape(-1) for row in rows], axis=0) \
                    if rows else xp.zeros((0, ins[j].size), dtype=self.table.dtype(ins[j].dtype))
                blocks[r].append(stacked.reshape(out.shape + ins[j].shape))
        return _nested(blocks, argnums)

    def hessian(self, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
        """The Hessian of a scalar result: forward mode over the gradient program."""
        nums = self._argnums(argnums)
        self._scalar_result("hessian")
        primal, _ = self._unzipped
        wanted = tuple(self._float_inputs.index(k) for k in nums)
        graph = _grad_graph(primal, self._linear.transposed.graph, self.graph,
                            self.graph.outputs[0].type, wanted)
        return Compiled(graph, self.table).jacfwd(*args, argnums=argnums)

    def _all_float_results(self, what: str) -> None:
        if not all(v.type.is_float for v in self.graph.outputs):
            shown = ", ".join(str(v.type) for v in self.graph.outputs)
            raise LintraTypeError(f"{what} needs float results only, but {self.name} returns "
                                  f"({shown})", program=self.name)

    def transpose(self) -> Compiled:
        """For a program with linear parameters: its transpose (spec 5.2), compiled."""
        if not any(v.linear for v in self.graph.inputs):
            raise LinearityError(f"{self.name} has no linear parameter: only a linear program "
                                 "can be transposed")
        return Compiled(transpose_graph(self.graph), self.table)

    # ----------------------------------------------------------------------------------------
    # arguments

    def _arguments(self, args: Sequence[Any], params: Sequence[Var], what: str
                   ) -> Sequence[Any]:
        """The arguments as arrays of the parameters' types (E-Args); a tuple of arrays
        that already have them is returned as it is (no copy alive while a plan runs)."""
        if len(args) != len(params):
            raise LintraTypeError(
                f"{self.name} takes {len(params)} {what}{'s' if len(params) != 1 else ''}, "
                f"got {len(args)}", program=self.name)
        if params is self.graph.inputs:  # fast path: arrays already of the parameter types
            array = self.table.xp.ndarray
            expected = self._input_dtypes
            if all(type(a) is array and a.dtype == d and a.shape == s
                   for a, (d, s) in zip(args, expected)):
                return args if type(args) is tuple else list(args)
        return [_argument(a, v.type, f"{what} {k + 1}", self.name, self.table)
                for k, (a, v) in enumerate(zip(args, params))]

    def _tangents(self, values: Sequence[Any], params: Sequence[Var], what: str) -> list[Any]:
        if len(values) != len(params):
            raise LintraTypeError(
                f"{self.name} takes {len(params)} {what}{'s' if len(params) != 1 else ''} "
                f"(one per float parameter), got {len(values)}", program=self.name)
        return [_tangent(a, v.type, f"{what} {k + 1}", self.name, self.table)
                for k, (a, v) in enumerate(zip(values, params))]

    def _argnums(self, argnums: int | Sequence[int]) -> tuple[int, ...]:
        nums = (argnums,) if _single(argnums) else (
            tuple(argnums) if isinstance(argnums, (tuple, list)) else None)
        n = len(self.graph.inputs)
        if nums is None or not nums or any(
                not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not -n <= k < n
                for k in nums):
            raise LintraTypeError(f"argnums must be a parameter index or a tuple of them "
                                  f"(0 to {n - 1}), got {argnums!r}", program=self.name)
        nums = tuple(int(k) % n for k in nums)
        if len(set(nums)) != len(nums):
            raise LintraTypeError(f"argnums {argnums!r} repeats a parameter", program=self.name)
        for k in nums:
            if not self.graph.inputs[k].type.is_float:
                raise LintraTypeError(
                    f"parameter {k + 1} has type {self.graph.inputs[k].type}: only float "
                    "parameters have derivatives", program=self.name)
        return nums

    def _scalar_result(self, what: str) -> AType:
        outs = self.graph.outputs
        if len(outs) != 1 or outs[0].type.shape != () or not outs[0].type.is_float:
            shown = ", ".join(str(v.type) for v in outs)
            raise LintraTypeError(f"{what} needs a program with one scalar float result, but "
                                  f"{self.name} returns ({shown})", program=self.name)
        return outs[0].type


class _LinearGraph:
    """A linear graph, its non-linear parameters first, with its plan and, made on first
    use, its transpose."""

    def __init__(self, graph: Graph, tab: ArrayTable) -> None:
        inputs = [v for v in graph.inputs if not v.linear] + [
            v for v in graph.inputs if v.linear]
        self.graph = graph if inputs == list(graph.inputs) else Graph(
            graph.name, inputs, graph.eqns, graph.outputs)
        self.table = tab

    @functools.cached_property
    def plan(self) -> Plan:
        return Plan(self.graph, self.table)

    @functools.cached_property
    def transposed(self) -> _LinearGraph:
        return _LinearGraph(transpose_graph(self.graph), self.table)

    @functools.cached_property
    def n_residuals(self) -> int:
        return sum(1 for v in self.graph.inputs if not v.linear)


class LinearMap:
    """A linear function at fixed residuals: call it with one array per linear parameter.

    ``program`` is its linear program (lintra syntax), ``residuals`` the saved values it reads
    (see :meth:`residual_info`), ``transpose()`` the adjoint map on the same residuals.
    """

    def __init__(self, linear: _LinearGraph, residuals: Sequence[Any]) -> None:
        self._linear = linear
        self.residuals = tuple(residuals)

    @property
    def program(self) -> Program:
        return to_program(self._linear.graph)

    def residual_info(self) -> list[tuple[str, str, int]]:
        """``(name, type, bytes)`` of each residual, in parameter order of :attr:`program`."""
        g = self._linear.graph
        return [(f"x{k}", str(v.type), int(getattr(r, "nbytes", 0)))
                for k, (v, r) in enumerate(zip(g.inputs, self.residuals))]

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        g = self._linear.graph
        params = [v for v in g.inputs if v.linear]
        if len(values) != len(params):
            raise LintraTypeError(f"this linear map takes {len(params)} linear argument"
                                  f"{'s' if len(params) != 1 else ''}, got {len(values)}",
                                  program=g.name)
        ts = [_tangent(a, v.type, f"linear argument {k + 1}", g.name, self._linear.table)
              for k, (a, v) in enumerate(zip(values, params))]
        return self._linear.plan(*self.residuals, *ts)

    def transpose(self) -> LinearMap:
        return LinearMap(self._linear.transposed, self.residuals)

    def __str__(self) -> str:
        return str(self.program)


def _single(argnums: object) -> bool:
    """Whether ``argnums`` names one parameter (an int or NumPy integer, never a bool), so
    that one gradient is returned rather than a tuple."""
    return isinstance(argnums, (int, np.integer)) and not isinstance(argnums, (bool, np.bool_))


def _nested(blocks: list[list[Any]], argnums: int | Sequence[int]) -> Any:
    """JAX's nesting of Jacobian blocks: per result (when there are several), per parameter
    (when ``argnums`` is a sequence)."""
    single = _single(argnums)
    per_result = [row[0] if single else tuple(row) for row in blocks]
    return per_result[0] if len(per_result) == 1 else tuple(per_result)


def linear_map(compiled: Compiled, residuals: Sequence[Any]) -> LinearMap:
    """The linear map of a program with linear parameters, its non-linear parameters bound
    to ``residuals`` (in parameter order)."""
    g = compiled.graph
    if not any(v.linear for v in g.inputs):
        raise LinearityError(f"{compiled.name} has no linear parameter: it is not a linear map",
                             program=compiled.name)
    lg = _LinearGraph(g, compiled.table)
    params = [v for v in g.inputs if not v.linear]
    values = compiled._arguments(residuals, params, "residual")
    return LinearMap(lg, values)


@collector_paused_during
def _grad_graph(primal: Graph, transposed: Graph, original: Graph, out_type: AType,
                wanted: tuple[int, ...] | None = None, with_value: bool = False) -> Graph:
    """``x -> gradient``: the primal graph then the transposed graph seeded with 1, as one
    ordinary (non-linear) graph, ready to be differentiated again (forward over reverse).
    ``wanted`` picks gradients (positions among the float parameters; default all);
    ``with_value`` returns the value first."""
    return _joined(primal, transposed, original, out_type, wanted, with_value)[0]


def _backward_start(graph: Graph, seed: Var) -> int:
    """The index of the equation that makes ``seed`` in a joined graph: the primal part
    runs before it, the backward sweep from it (the end when nothing reads the seed)."""
    for k, e in enumerate(graph.eqns):
        if e.outs and e.outs[0] is seed:
            return k
    return len(graph.eqns)


def _joined(primal: Graph, transposed: Graph, original: Graph, out_type: AType,
            wanted: tuple[int, ...] | None = None, with_value: bool = False,
            plain: bool = True) -> tuple[Graph, Var]:
    """:func:`_grad_graph` and the seed variable, which marks where the backward part
    starts. ``plain=False`` is for a graph only run, never differentiated or exported: the
    transposed graph's equations are taken over as they are (their linear flags kept)
    where they read none of its parameters, instead of copied."""
    from lintra.optimized.ir import Builder, Lit

    b = Builder()
    eqns = b.eqns
    eqns.extend(primal.eqns)  # the primal graph's equations and variables, as they are
    n_out = len(original.outputs)
    residuals = primal.outputs[n_out:]
    seed = b.op("copy", Lit(1.0, out_type.dtype))
    # the transposed graph's linear variables become ordinary ones (copied equations)
    env: dict[Var, Any] = dict(zip(transposed.inputs, [*residuals, seed]))
    # the transposed graph reads the residuals as the primal graph's own variables (partial
    # evaluation and transposition pass them on as they are), so usually only the seed is
    # renamed: an equation taken over as it is is checked against that short list
    renamed = {k: v for k, v in env.items() if k is not v}
    for e in transposed.eqns:
        if e.prim == "zero":
            t = e.outs[0].type
            env[e.outs[0]] = renamed[e.outs[0]] = b.op(
                "broadcast_in_dim", Lit(0.0, t.dtype), shape=t.shape, broadcast_dimensions=())
            continue
        if not plain:
            if renamed and not renamed.keys().isdisjoint(e.ins):
                e = Eqn(e.prim, tuple([renamed.get(a, a) for a in e.ins]), e.outs, e.params,
                        e.origin)
            eqns.append(e)
            continue
        ins = tuple([a if isinstance(a, Lit) else env[a] for a in e.ins])
        outs = b.copy_of(e, ins, linear=False)  # the types are known: no inference
        if len(outs) == 1:
            env[e.outs[0]] = outs[0]
        else:
            env.update(zip(e.outs, outs))
    grads = [env.get(v, v) for v in transposed.outputs]
    if wanted is not None:
        grads = [grads[k] for k in wanted]
    value = [primal.outputs[0]] if with_value else []
    return prune(Graph(original.name + "_grad", primal.inputs, eqns, value + grads)), seed


def _array(value: Any, t: AType, what: str, program: str) -> Any:
    """``value`` as an array (a CuPy array as it is): a ragged nesting is a ShapeError, as
    E-Args says, anything else NumPy cannot read a LintraTypeError."""
    if hasattr(value, "__cuda_array_interface__"):
        return value
    try:
        return np.asarray(value)
    except ValueError as exc:  # NumPy's word for a ragged nesting
        raise ShapeError(f"{what} must have type {t}, got a ragged nesting that is no "
                         f"rectangular array ({exc})", program=program) from None
    except TypeError as exc:
        raise LintraTypeError(f"{what} cannot be read as {t}: {exc}", program=program) from None


def _argument(value: Any, t: AType, what: str, program: str, tab: ArrayTable) -> Any:
    """E-Args: ``value`` as an array of type ``t`` (no silent truncation or wrap-around)."""
    xp = tab.xp
    arr = _array(value, t, what, program)
    shape = tuple(arr.shape)
    if shape != t.shape:
        raise ShapeError(f"{what} must have type {t}, got an array of shape {shape}",
                         program=program)
    kind = arr.dtype.kind
    if t.dtype in ("f64", "f32"):
        if kind not in "biuf":
            raise LintraTypeError(f"{what} must have type {t}, got an array of dtype "
                                  f"{arr.dtype}", program=program)
    elif t.dtype == "bool":
        if kind != "b":
            raise LintraTypeError(f"{what} must have type {t}: only booleans convert to bool, "
                                  f"got {arr.dtype}", program=program)
    else:
        if kind == "f":
            if not bool(np.all(np.isfinite(arr))) or not bool(np.all(arr == np.trunc(arr))):
                raise LintraTypeError(f"{what} must have type {t}: floats convert to integers "
                                      "only when they are integral", program=program)
        elif kind not in "biu":
            raise LintraTypeError(f"{what} must have type {t}, got an array of dtype "
                                  f"{arr.dtype}", program=program)
        lo, hi = _INT_RANGE[t.dtype]
        if kind == "f":  # compared as floats: hi + 1 is a power of two, exact in float64
            outside = bool(arr.size) and (float(arr.min()) < lo or float(arr.max()) >= hi + 1)
        else:  # compared as Python integers: float(2**63 - 1) would round up to 2**63
            outside = bool(arr.size) and (int(arr.min()) < lo or int(arr.max()) > hi)
        if outside:
            raise LintraTypeError(f"{what} is outside the range of {t.dtype}", program=program)
    return xp.asarray(arr, dtype=tab.dtype(t.dtype))


def _tangent(value: Any, t: AType, what: str, program: str, tab: ArrayTable) -> Any:
    """A (co)tangent must have its type's shape and a float dtype."""
    arr = _array(value, t, what, program)
    if tuple(arr.shape) != t.shape:
        raise ShapeError(f"{what} must have type {t}, got an array of shape "
                         f"{tuple(arr.shape)}", program=program)
    if arr.dtype.kind not in "f":
        raise LintraTypeError(f"{what} must have type {t} (a float array), got an array of "
                              f"dtype {arr.dtype}", program=program)
    return tab.xp.asarray(arr, dtype=tab.dtype(t.dtype))

