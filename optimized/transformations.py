"""JAX-style transformations of Python functions: ``jit``, ``grad``, ``value_and_grad``,
``jvp``, ``vjp``, ``linearize``, ``linear_transpose``, ``jacfwd``, ``jacrev``, ``hessian``,
``make_program``.

Each transformation traces the function once per *signature* (the pytree structure of the
arguments, each leaf's dtype and shape, whether it is a Python scalar, the values of static
arguments) into a :class:`~lintra.optimized.ir.Graph`, builds the transformed graph with the
engine's graph functions (``jvp_graph``, ``unzip_graph``, ``transpose_graph``), and keeps
both. A call then either

* runs the transformed graph's compiled :class:`~lintra.optimized.plan.Plan` on concrete
  arguments, or
* when some argument is a traced value (the call happens inside another transformation),
  copies the transformed graph's equations into the enclosing trace.

So ``grad(grad(f))``, ``jit(grad(f))`` and ``jvp(grad(f), ...)`` compose, and a second call
with the same signature traces and transforms nothing. Every graph here is ordinary (no
linear variables): linear programs are made ordinary (J-Forget, spec 4.3) before they run or
are inlined, so they can be differentiated again.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optree

from lintra.optimized.arrays import table, table_of
from lintra.optimized.convert import to_program
from lintra.optimized.ir import AType, Builder, Eqn, Graph, Lit, Var
from lintra.optimized.jvp import jvp_graph
from lintra.optimized.plan import Plan
from lintra.optimized.remat import rematerialize
from lintra.optimized.simplify import prune, uniform_products
from lintra.optimized.tracing import (
    _ACTIVE,
    LANGUAGE_DTYPES,
    EscapedTracerError,
    Site,
    Tracer,
    is_weak,
    trace_function,
    type_of,
    user_site,
)
from lintra.optimized.transpose import transpose_graph
from lintra.optimized.unzip import unzip_graph
from lintra.reference.errors import LinearityError, LintraError, LintraTypeError, ShapeError
from lintra.reference.syntax import Program

_NUMPY = table("numpy")


# --------------------------------------------------------------------------------------------
# Traced functions, one per signature


class Staged:
    """A function traced for one signature: its graph (parameters: the argument leaves,
    then the captured values), the output structure, what was captured, and the graphs
    derived from it, made once each (``derived``)."""

    __slots__ = ("consts", "derived", "graph", "n_args", "name", "out_sites", "out_tree")

    def __init__(self, name: str, graph: Graph, n_args: int, consts: list[Any],
                 out_tree: Any, out_sites: list[Site]) -> None:
        self.name = name
        self.graph = graph
        self.n_args = n_args
        self.consts = consts
        self.out_tree = out_tree
        self.out_sites = out_sites
        self.derived: dict[Any, Any] = {}

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        got = self.derived.get(key)
        if got is None:
            got = self.derived[key] = make()
        return got


_CACHES: weakref.WeakKeyDictionary[Any, dict[tuple, dict[Any, Staged]]] = (
    weakref.WeakKeyDictionary())


def _cache_of(fn: Callable[..., Any]) -> dict[Any, Staged] | None:
    """The cache of ``fn``'s traces, kept with the user's function (weakly) under the
    chain of transformations applied to it, so that ``grad(grad(f))`` made anew finds the
    traces of the last one."""
    if isinstance(fn, Transformed):
        root, chain = fn.root_and_chain
    else:
        root, chain = fn, ()
    try:
        per_function = _CACHES.get(root)
        if per_function is None:
            per_function = _CACHES[root] = {}
    except TypeError:  # not weakly referenceable or not hashable: traced every call
        return None
    cache = per_function.get(chain)
    if cache is None:
        cache = per_function[chain] = {}
    return cache


def _name_of(fn: Callable[..., Any]) -> str:
    name = re.sub(r"\W", "_", getattr(fn, "__name__", "f")).strip("_")
    return name if name and not name[0].isdigit() else "f"


def stage(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any] | None = None,
          static_argnums: tuple[int, ...] = ()) -> tuple[Staged, list[Any]]:
    """The traced form of ``fn`` for these arguments' signature (from the cache when it was
    traced before) and the argument leaves to call it with."""
    kwargs = kwargs or {}
    if static_argnums:
        n = len(args)
        if any(not -n <= k < n for k in static_argnums):
            raise LintraTypeError(f"static_argnums {static_argnums} name arguments the call "
                                  f"does not have ({n} positional)", program=str(user_site()))
        static_argnums = tuple(sorted({k % n for k in static_argnums}))
    static = tuple((k, args[k]) for k in static_argnums)
    dynamic = tuple(a for k, a in enumerate(args) if k not in static_argnums)
    leaves, tree = optree.tree_flatten((dynamic, kwargs))
    signature = tuple((type_of(x), is_weak(x)) for x in leaves)
    key = (tree, static, signature)
    cache = _cache_of(fn)
    if cache is not None:
        try:
            got = cache.get(key)
        except TypeError:
            raise LintraTypeError("static arguments must be hashable",
                                  program=str(user_site())) from None
        if got is not None:
            return got, leaves
    staged = _trace(fn, leaves, tree, static, signature)
    if cache is not None and not any(type(c) is Tracer for c in staged.consts):
        cache[key] = staged  # a capture of an enclosing trace's value is good once only
    return staged, leaves


def _trace(fn: Callable[..., Any], leaves: list[Any], tree: Any,
           static: tuple[tuple[int, Any], ...], signature: tuple) -> Staged:
    def rebuild(tracers: list[Any]) -> tuple[tuple, dict]:
        dynamic, kwargs = optree.tree_unflatten(tree, tracers)
        args = list(dynamic)
        for k, value in static:
            args.insert(k, value)
        return tuple(args), kwargs

    name = _name_of(fn)
    trace, out = trace_function(fn, name, leaves, [w for _, w in signature], rebuild)
    out_leaves, out_tree = optree.tree_flatten(out)
    site = user_site()
    graph = prune(trace.graph(out_leaves))
    sites = [x.site if type(x) is Tracer else site for x in out_leaves]
    return Staged(name, graph, len(leaves), trace.captured_values, out_tree, sites)


# --------------------------------------------------------------------------------------------
# Running a graph: compiled on concrete values, inlined on traced ones


class Runnable:
    """A graph and, made on first concrete call, its plan. ``graph`` is ordinary; ``shown``
    is the same computation as the transformation built it (with its linear types), for
    display; ``plan_graph`` the same values computed as the plan should run them, which is
    also what a call on traced values inlines (so that ``jit(value_and_grad(f))`` keeps the
    rematerialization of ``value_and_grad(f)``). An
    argument of another array library (a CuPy array, with the ``gpu`` extra) runs a plan
    bound to that library's table, the other arguments moved to it; results stay there."""

    __slots__ = ("_plan", "_plans", "graph", "plan_graph", "shown")

    def __init__(self, graph: Graph, plan_graph: Graph | None = None) -> None:
        self.shown = graph
        self.graph = ordinary(graph)
        self.plan_graph = plan_graph or self.graph
        self._plan: Plan | None = None
        self._plans: dict[Any, Plan] = {}  # plans bound to other array libraries' tables

    def __call__(self, inputs: Sequence[Any]) -> list[Any]:
        device = None
        for x in inputs:
            kind = type(x)
            if kind is Tracer:
                return _inline(self.plan_graph, inputs)
            if kind is not np.ndarray and device is None and kind not in _SCALARS:
                tab = table_of(x)
                if tab is not _NUMPY:
                    device = tab
        if device is not None:
            return self._run_on(device, inputs)
        plan = self._plan
        if plan is None:
            plan = self._plan = Plan(self.plan_graph, _NUMPY)
        args = []
        for v, x in zip(self.graph.inputs, inputs):
            dtype = LANGUAGE_DTYPES[v.type.dtype]
            args.append(x if type(x) is np.ndarray and x.dtype == dtype else
                        np.asarray(x, dtype=dtype))
        return list(plan(*args))

    def _run_on(self, tab: Any, inputs: Sequence[Any]) -> list[Any]:
        """The plan bound to array library ``tab``, every input moved there."""
        plan = self._plans.get(tab)
        if plan is None:
            plan = self._plans[tab] = Plan(self.plan_graph, tab)
        args = [tab.xp.asarray(x, dtype=tab.dtype(v.type.dtype))
                for v, x in zip(self.graph.inputs, inputs)]
        return list(plan(*args))


_SCALARS = frozenset({bool, int, float, np.float64, np.float32, np.int64, np.int32, np.bool_})


def _inline(graph: Graph, inputs: Sequence[Any]) -> list[Tracer]:
    """``graph``'s equations copied into the innermost trace, its parameters bound to
    ``inputs``; its results as tracers."""
    if not _ACTIVE:
        raise EscapedTracerError("a traced value was passed to a transformed function after "
                                 "its transformation had finished", program=str(user_site()))
    trace = _ACTIVE[-1]
    site = user_site()
    env: dict[Any, Any] = {}
    for v, x in zip(graph.inputs, inputs):
        if isinstance(x, (bool, int, float)) and type(x) is not Tracer:
            env[v] = Lit(x if v.type.dtype != "f64" else float(x), v.type.dtype)
        else:
            a = trace.atom(x)
            if a.type != v.type:  # only when a concrete value has another dtype
                a = trace.emit("convert_element_type", (a,), site, new_dtype=v.type.dtype).atom
            env[v] = a
    copy_equations(trace.builder, graph.eqns, env)
    return [Tracer(env.get(v, v), trace, site) for v in graph.outputs]


def copy_equations(b: Builder, eqns: Sequence[Eqn], env: dict[Any, Any]) -> None:
    """Append ``eqns`` to ``b`` with operands renamed by ``env`` (updated with the copies'
    results). Linear results become ordinary variables and ``zero`` a broadcast 0: the
    copies form an ordinary graph (J-Forget)."""
    get = env.get
    for e in eqns:
        if e.prim == "zero":
            t = e.outs[0].type
            env[e.outs[0]] = b.op("broadcast_in_dim", Lit(0.0, t.dtype), shape=t.shape,
                                  broadcast_dimensions=())
            continue
        ins = tuple([get(a, a) for a in e.ins])
        outs = b.copy_of(e, ins, linear=False)
        if len(outs) == 1:
            env[e.outs[0]] = outs[0]
        else:
            env.update(zip(e.outs, outs))


def ordinary(g: Graph) -> Graph:
    """``g`` without linear variables (J-Forget): parameters and results keep their order."""
    if not any(v.linear for v in g.inputs) and not any(
            e.outs and e.outs[0].linear for e in g.eqns) and not any(
            e.prim == "zero" for e in g.eqns):
        return g
    env: dict[Any, Any] = {}
    inputs = []
    for v in g.inputs:
        if v.linear:
            env[v] = Var(v.type)
        inputs.append(env.get(v, v))
    b = Builder()
    copy_equations(b, g.eqns, env)
    return Graph(g.name, inputs, b.eqns, [env.get(v, v) for v in g.outputs])


# --------------------------------------------------------------------------------------------
# Graph transformations


def _restricted(g: Graph, wrt: Sequence[int]) -> tuple[Graph, dict[Var, Var]]:
    """``g`` with every float parameter outside ``wrt`` passed through ``stop_gradient``:
    its tangent is then never read, and differentiation costs nothing along it. Also the
    map from each new parameter to the variable it stands for (:func:`_unrestricted`)."""
    chosen = set(wrt)
    inputs, first, swap = [], [], {}
    for k, v in enumerate(g.inputs):
        if k in chosen or not v.type.is_float:
            inputs.append(v)
            continue
        fresh = Var(v.type)
        inputs.append(fresh)
        swap[fresh] = v
        first.append(Eqn("stop_gradient", (fresh,), (v,), {}))
    if not first:
        return g, swap
    return Graph(g.name, inputs, first + list(g.eqns), g.outputs), swap


def _unrestricted(g: Graph, swap: dict[Var, Var]) -> Graph:
    """``g`` without the ``stop_gradient`` equations :func:`_restricted` added: each
    original variable becomes the parameter again. They only kept this transformation
    from differentiating along those parameters; left in, they would stop an enclosing
    transformation's derivative too (``grad`` of a function that calls ``grad`` of a
    closure over its argument)."""
    if not swap:
        return g
    eqns = [e for e in g.eqns if not (e.prim == "stop_gradient" and e.ins[0] in swap)]
    return Graph(g.name, [swap.get(v, v) for v in g.inputs], eqns, g.outputs)


def _jvp_parts(g: Graph, wrt: Sequence[int], of: Sequence[int] | None = None
               ) -> tuple[Graph, dict[Var, Var]]:
    """The JVP graph of ``g``: parameters, then one tangent per ``wrt`` parameter; results,
    then one tangent per ``of`` result (default: every float result). Also the map of
    :func:`_restricted`, to be undone on the graphs that take the primal parameters."""
    g2, swap = _restricted(g, wrt)
    jg = jvp_graph(g2)
    n_in, n_out = len(g2.inputs), len(g2.outputs)
    float_in = [k for k, v in enumerate(g2.inputs) if v.type.is_float]
    tangent_in = dict(zip(float_in, jg.inputs[n_in:]))
    float_out = [k for k, v in enumerate(g2.outputs) if v.type.is_float]
    tangent_out = dict(zip(float_out, jg.outputs[n_out:]))
    chosen = float_out if of is None else of
    return Graph(jg.name, [*jg.inputs[:n_in], *(tangent_in[k] for k in wrt)], jg.eqns,
                 [*jg.outputs[:n_out], *(tangent_out[k] for k in chosen)]), swap


def jvp_of(g: Graph, wrt: Sequence[int]) -> Graph:
    """``(xs, dxs[wrt]) -> (ys, dys of the float results)``, an ordinary graph."""
    jg, swap = _jvp_parts(g, wrt)
    return ordinary(_unrestricted(jg, swap))


def linearize_of(g: Graph, wrt: Sequence[int]) -> tuple[Graph, Graph]:
    """``(primal, linear)``: ``xs -> (ys, residuals)`` and ``(residuals, dxs[wrt]) -> dys``
    (the second with linear types)."""
    jg, swap = _jvp_parts(g, wrt)
    primal, linear = unzip_graph(jg, len(g.inputs), len(g.outputs))
    return _unrestricted(primal, swap), linear


def vjp_of(g: Graph, wrt: Sequence[int], of: Sequence[int]) -> tuple[Graph, Graph]:
    """``(primal, transposed)``: ``xs -> (ys, residuals)`` and ``(residuals, cts of the
    of-results) -> cts of the wrt parameters`` (the second with linear types)."""
    jg, swap = _jvp_parts(g, wrt, of)
    primal, linear = unzip_graph(jg, len(g.inputs), len(g.outputs))
    return _unrestricted(primal, swap), transpose_graph(linear)


def grad_of(g: Graph, wrt: Sequence[int], of: int) -> tuple[Graph, Graph]:
    """``xs -> (ys, gradient of result `of` for each wrt parameter)``: the primal and
    transposed graphs joined, seeded with 1 (ordinary). Also the same graph with cheap
    residuals recomputed in the backward sweep (for running; same values)."""
    primal, transposed = vjp_of(g, wrt, (of,))
    n_out = len(g.outputs)
    b = Builder()
    b.eqns.extend(primal.eqns)
    seed = b.op("copy", Lit(1.0, g.outputs[of].type.dtype))
    env: dict[Any, Any] = dict(zip(transposed.inputs, [*primal.outputs[n_out:], seed]))
    copy_equations(b, transposed.eqns, env)
    grads = [env.get(v, v) for v in transposed.outputs]
    joined = prune(Graph(g.name + "_grad", primal.inputs, b.eqns,
                         [*primal.outputs[:n_out], *grads]))
    start = next((k for k, e in enumerate(joined.eqns) if e.outs and e.outs[0] is seed),
                 len(joined.eqns))
    return joined, uniform_products(rematerialize(joined, start))


def linear_of(g: Graph, n_args: int) -> Graph:
    """``g`` with its first ``n_args`` parameters linear, re-typed by the rules: a
    LinearityError naming the user's line where ``g`` is not linear in them."""
    b = Builder()
    env: dict[Any, Any] = {}
    inputs = []
    for k, v in enumerate(g.inputs):
        if k < n_args:
            if not v.type.is_float:
                raise LintraTypeError(f"linear_transpose needs float arguments, argument "
                                      f"leaf {k} has type {v.type}", program=str(user_site()))
            env[v] = Var(v.type, True)
        inputs.append(env.get(v, v))
    for e in g.eqns:
        b.origin = e.origin
        try:
            outs = b.emit(e.prim, [env.get(a, a) for a in e.ins], e.params)
        except LintraError as err:
            raise LinearityError(f"the function is not linear in its arguments: {err.message}",
                                 program=str(e.origin)) from None
        env.update(zip(e.outs, outs))
    outputs = [env.get(v, v) for v in g.outputs]
    for k, v in enumerate(outputs):
        if not v.linear:
            raise LinearityError(f"the function is not linear in its arguments: result {k} "
                                 "does not depend linearly on them")
    return Graph(g.name + "_lin", inputs, b.eqns, outputs)


# --------------------------------------------------------------------------------------------
# Helpers for the public functions


def _argnums_tuple(argnums: int | Sequence[int], n: int, site: Site) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) and not isinstance(
        argnums, bool) else tuple(argnums) if isinstance(argnums, (tuple, list)) else None
    if not nums or any(not isinstance(k, (int, np.integer)) or isinstance(k, bool)
                       or not -n <= k < n for k in nums):
        plural = "s" if n != 1 else ""
        raise LintraTypeError(f"argnums must be an argument index or a tuple of them (the "
                              f"function was called with {n} positional argument{plural}), "
                              f"got {argnums!r}", program=str(site))
    nums = tuple(int(k) % n for k in nums)
    if len(set(nums)) != len(nums):
        raise LintraTypeError(f"argnums {argnums!r} repeats an argument", program=str(site))
    return nums


def _leaf_ranges(args: Sequence[Any]) -> list[tuple[int, int, Any]]:
    """For each positional argument: its first leaf index, end, and tree structure."""
    out, start = [], 0
    for a in args:
        leaves, tree = optree.tree_flatten(a)
        out.append((start, start + len(leaves), tree))
        start += len(leaves)
    return out


def _float_leaves(staged: Staged, ranges: list[tuple[int, int, Any]], nums: Sequence[int],
                  what: str, site: Site) -> list[int]:
    wrt = []
    for k in nums:
        start, end, _ = ranges[k]
        for i in range(start, end):
            t = staged.graph.inputs[i].type
            if not t.is_float:
                raise LintraTypeError(
                    f"{what} differentiates with respect to float arguments, but argument "
                    f"{k} has a leaf of type {t}: convert it to float or leave it out of "
                    "argnums", program=str(site))
            wrt.append(i)
    return wrt


def _value_index(staged: Staged, has_aux: bool, what: str, site: Site) -> int:
    """The leaf index of the differentiated result (checked: one scalar float)."""
    tree = staged.out_tree
    if has_aux:
        if tree.type not in (tuple, list) or tree.num_children != 2:
            raise LintraTypeError(f"{what} with has_aux=True needs the function to return a "
                                  "pair (value, aux)", program=str(site))
        first = tree.children()[0]
        if first.num_leaves != 1 or not first.is_leaf():
            raise LintraTypeError(f"{what} needs the value to be one scalar array, got a "
                                  f"{first}", program=str(site))
    elif tree.num_leaves != 1 or not tree.is_leaf():
        raise LintraTypeError(f"{what} needs the function to return one scalar float array, "
                              f"got a pytree {tree} (use has_aux=True for (value, aux))",
                              program=str(site))
    t = staged.graph.outputs[0].type
    if t.shape != () or not t.is_float:
        raise LintraTypeError(
            f"{what} needs the function to return one scalar float value, but it returned "
            f"{t}, made at {staged.out_sites[0]} (reduce it, e.g. with lnp.sum, or use "
            "jacrev or vjp)", program=str(site))
    return 0


def _inputs(staged: Staged, leaves: list[Any]) -> list[Any]:
    """The graph's arguments: the argument leaves, then the captured values (the leaves
    themselves when nothing was captured: a cached call allocates as little as it can)."""
    return [*leaves, *staged.consts] if staged.consts else leaves


def _unflatten_grads(grads: list[Any], ranges: list[tuple[int, int, Any]],
                     nums: tuple[int, ...], single: bool) -> Any:
    out, k = [], 0
    for n in nums:
        start, end, tree = ranges[n]
        out.append(optree.tree_unflatten(tree, grads[k:k + end - start]))
        k += end - start
    return out[0] if single else tuple(out)


def _is_single(argnums: Any) -> bool:
    return isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)


# --------------------------------------------------------------------------------------------
# Public transformations


class Transformed:
    """A transformed function (``jit(f)``, ``grad(f)``, ``value_and_grad(f)``). Equal
    transformations of one function share their caches."""

    def __init__(self, fn: Callable[..., Any], kind: str, argnums: Any = 0,
                 has_aux: bool = False, static_argnums: tuple[int, ...] = ()) -> None:
        if not callable(fn):
            raise LintraTypeError(f"{kind} needs a callable, got {type(fn).__name__}",
                                  program=str(user_site()))
        self.fn = fn
        self.kind = kind
        self.argnums = argnums
        self.has_aux = has_aux
        self.static_argnums = static_argnums
        self.__name__ = f"{kind}_{_name_of(fn)}"
        self.__doc__ = getattr(fn, "__doc__", None)
        self._root_and_chain: tuple[Callable[..., Any], tuple] | None = None
        self._argnums_for: dict[int, tuple[int, ...]] = {}  # by number of arguments

    @property
    def root_and_chain(self) -> tuple[Callable[..., Any], tuple]:
        """The user's function under the transformations and the chain of their options,
        outermost first (the key of the trace cache; worked out on first use)."""
        if self._root_and_chain is None:
            chain, fn = [], self
            while isinstance(fn, Transformed):
                chain.append(fn.options())
                fn = fn.fn
            self._root_and_chain = (fn, tuple(chain))
        return self._root_and_chain

    def _key(self) -> tuple:
        return (self.fn, *self.options())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transformed) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"<lintra {self.kind} of {getattr(self.fn, '__name__', self.fn)!r}>"

    def options(self) -> tuple:
        """What this transformation is, without the function (part of cache keys)."""
        argnums = self.argnums if not isinstance(self.argnums, list) else tuple(self.argnums)
        return (self.kind, argnums, self.has_aux, self.static_argnums)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.kind == "jit":
            return self._jit(args, kwargs)
        if self.kind in ("jacfwd", "jacrev"):
            return self._jacobian(args, kwargs)
        return self._grad(args, kwargs)

    def _jacobian(self, args: tuple, kwargs: dict) -> Any:
        """The Jacobian of every float result leaf with respect to every leaf of the
        ``argnums`` arguments, nested as JAX nests it: the result's structure, each leaf
        holding the argument's structure (a tuple of them for a tuple ``argnums``) of
        blocks shaped ``result_leaf.shape + argument_leaf.shape``."""
        site = user_site()
        what = self.kind
        nums = _argnums_tuple(self.argnums, len(args), site)
        staged, leaves = stage(self.fn, args, kwargs)
        ranges = _leaf_ranges(args)
        wrt = tuple(_float_leaves(staged, ranges, nums, what, site))
        outputs = staged.graph.outputs
        for k, v in enumerate(outputs):
            if not v.type.is_float:
                raise LintraTypeError(f"{what} needs float results, but result leaf {k} has "
                                      f"type {v.type}", program=str(site))
        t_in = [staged.graph.inputs[i].type for i in wrt]
        t_out = [v.type for v in outputs]
        inputs = _inputs(staged, leaves)
        # blocks[o][i]: result leaf o with respect to argument leaf wrt[i], flattened columns
        blocks: list[list[list[Any]]] = [[[] for _ in wrt] for _ in outputs]
        if what == "jacfwd":
            primal, linear = staged.get(("linearize", wrt), lambda: tuple(
                Runnable(g) for g in linearize_of(staged.graph, wrt)))
            residuals = primal(inputs)[len(outputs):]
            zeros = [np.zeros(t.shape, LANGUAGE_DTYPES[t.dtype]) for t in t_in]
            for i, t in enumerate(t_in):
                for e in _basis(t):
                    columns = linear([*residuals, *zeros[:i], e, *zeros[i + 1:]])
                    for o, c in enumerate(columns):
                        blocks[o][i].append(_reshape(c, (-1,)))
            axis = -1
        else:
            of = tuple(range(len(outputs)))
            primal, transposed = staged.get(("vjp", wrt, of), lambda: tuple(
                Runnable(g) for g in vjp_of(staged.graph, wrt, of)))
            residuals = primal(inputs)[len(outputs):]
            zeros = [np.zeros(t.shape, LANGUAGE_DTYPES[t.dtype]) for t in t_out]
            for o, t in enumerate(t_out):
                for e in _basis(t):
                    rows = transposed([*residuals, *zeros[:o], e, *zeros[o + 1:]])
                    for i, r in enumerate(rows):
                        blocks[o][i].append(_reshape(r, (-1,)))
            axis = 0
        jac = []
        for o, to in enumerate(t_out):
            per_leaf = []
            for i, ti in enumerate(t_in):
                shape = to.shape + ti.shape
                if not blocks[o][i]:
                    per_leaf.append(np.zeros(shape, LANGUAGE_DTYPES[ti.dtype]))
                else:
                    per_leaf.append(_reshape(_stack(blocks[o][i], axis), shape))
            jac.append(_unflatten_grads(per_leaf, ranges, nums, _is_single(self.argnums)))
        return optree.tree_unflatten(staged.out_tree, jac)

    def _jit(self, args: tuple, kwargs: dict) -> Any:
        staged, leaves = stage(self.fn, args, kwargs, self.static_argnums)
        run = staged.derived.get("jit")
        if run is None:
            run = staged.derived["jit"] = Runnable(staged.graph)
        return optree.tree_unflatten(staged.out_tree, run(_inputs(staged, leaves)))

    def _grad(self, args: tuple, kwargs: dict) -> Any:
        what = "grad" if self.kind == "grad" else "value_and_grad"
        nums = self._argnums_for.get(len(args))
        if nums is None:
            nums = _argnums_tuple(self.argnums, len(args), user_site())
            self._argnums_for[len(args)] = nums
        staged, leaves = stage(self.fn, args, kwargs)
        # What a call needs beyond the trace depends on the signature only: worked out
        # (and every misuse reported) on the signature's first call, then looked up.
        key = ("grad", nums, self.has_aux)
        prepared = staged.derived.get(key)
        if prepared is None:
            site = user_site()
            ranges = _leaf_ranges(args)
            wrt = tuple(_float_leaves(staged, ranges, nums, what, site))
            of = _value_index(staged, self.has_aux, what, site)
            prepared = staged.derived[key] = (ranges, Runnable(*grad_of(staged.graph, wrt, of)))
        ranges, run = prepared
        outs = run(_inputs(staged, leaves))
        n_out = len(staged.graph.outputs)
        grads = _unflatten_grads(outs[n_out:], ranges, nums, _is_single(self.argnums))
        if self.kind == "grad":
            if self.has_aux:
                return grads, optree.tree_unflatten(staged.out_tree, outs[:n_out])[1]
            return grads
        value = optree.tree_unflatten(staged.out_tree, outs[:n_out])
        return value, grads


def jit(fn: Callable[..., Any], static_argnums: int | Sequence[int] = ()) -> Transformed:
    """``fn`` traced once per signature and compiled; ``static_argnums`` name arguments
    passed as Python values (hashable; part of the signature)."""
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    return Transformed(fn, "jit", static_argnums=nums)


def grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Transformed:
    """The gradient of ``fn``'s scalar float result with respect to argument(s)
    ``argnums`` (pytrees of float arrays), by linearize-then-transpose. With ``has_aux``,
    ``fn`` returns ``(value, aux)`` and the gradient comes with ``aux``."""
    return Transformed(fn, "grad", argnums, has_aux)


def value_and_grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Transformed:
    """``(value, gradient)`` of ``fn`` in one pass (``((value, aux), gradient)`` with
    ``has_aux``)."""
    return Transformed(fn, "value_and_grad", argnums, has_aux)


def _check_like(given: Any, expected_tree: Any, expected_types: Sequence[AType], what: str,
                site: Site) -> list[Any]:
    """The leaves of ``given``, checked against a structure and (co)tangent types."""
    leaves, tree = optree.tree_flatten(given)
    if tree != expected_tree:
        raise LintraTypeError(f"{what} must have the structure {expected_tree}, got {tree}",
                              program=str(site))
    out = []
    for k, (x, t) in enumerate(zip(leaves, expected_types)):
        shape = x.shape if type(x) is Tracer else np.shape(x)
        if tuple(shape) != t.shape:
            raise ShapeError(f"{what}: leaf {k} must have shape {t.shape} (type {t}), got "
                             f"{tuple(shape)}", program=str(site))
        if t.is_float:
            dt = x.type.dtype if type(x) is Tracer else (
                "f64" if isinstance(x, float) else np.asarray(x).dtype.kind)
            if dt not in ("f64", "f32", "f"):
                raise LintraTypeError(f"{what}: leaf {k} must be a float array (the value "
                                      f"has type {t}), got {dt}", program=str(site))
        out.append(x)
    return out


def jvp(fn: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[Any, Any]:
    """``(fn(*primals), tangent of the result)``: forward mode. ``tangents`` has the
    structure of ``primals``; the tangents of integer leaves are ignored, integer results
    get zero tangents."""
    site = user_site()
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise LintraTypeError("jvp takes primals and tangents as tuples or lists",
                              program=str(site))
    staged, leaves = stage(fn, tuple(primals))
    types = [v.type for v in staged.graph.inputs[:staged.n_args]]
    tleaves = _check_like(((tuple(tangents)), {}), optree.tree_structure(
        ((tuple(primals)), {})), types, "the tangents", site)
    wrt = tuple(k for k, t in enumerate(types) if t.is_float)
    run = staged.get(("jvp", wrt), lambda: Runnable(jvp_of(staged.graph, wrt)))
    outs = run([*_inputs(staged, leaves), *(tleaves[k] for k in wrt)])
    n_out = len(staged.graph.outputs)
    tangent_outs = iter(outs[n_out:])
    touts = [next(tangent_outs) if v.type.is_float else _zeros(v.type, outs[i])
             for i, v in enumerate(staged.graph.outputs)]
    return (optree.tree_unflatten(staged.out_tree, outs[:n_out]),
            optree.tree_unflatten(staged.out_tree, touts))


def _zeros(t: AType, like: Any) -> Any:
    if type(like) is Tracer:
        from lintra.optimized import numpy as lnp

        return lnp.zeros(t.shape, LANGUAGE_DTYPES[t.dtype])
    return np.zeros(t.shape, LANGUAGE_DTYPES[t.dtype])


class LinearFunction:
    """A linear function at saved residuals (``f_jvp`` of :func:`linearize`, ``f_vjp`` of
    :func:`vjp`, the result of :func:`linear_transpose`): call it; ``program`` is the
    lintra program it runs (parameters ``r0, ...`` for the residuals, then ``t0, ...``),
    ``residuals`` the saved values in that order, :meth:`residual_info` their types and
    sizes."""

    def __init__(self, apply: Callable[..., Any], graph: Graph, residuals: Sequence[Any],
                 name: str) -> None:
        self._apply = apply
        self._graph = graph  # with its linear types
        self.residuals = tuple(residuals)
        self.__name__ = name

    def __call__(self, *args: Any) -> Any:
        return self._apply(*args)

    @property
    def program(self) -> Program:
        n = len(self.residuals)
        names = tuple(f"r{k}" for k in range(n)) + tuple(
            f"t{k}" for k in range(len(self._graph.inputs) - n))
        return to_program(self._graph, name=self.__name__, input_names=names)

    def residual_info(self) -> list[tuple[str, str, int]]:
        """``(name, type, bytes)`` of each residual."""
        return [(f"r{k}", str(v.type), v.type.size * LANGUAGE_DTYPES[v.type.dtype].itemsize)
                for k, v in enumerate(self._graph.inputs[:len(self.residuals)])]

    def __repr__(self) -> str:
        return f"<lintra linear function {self.__name__}, {len(self.residuals)} residuals>"


def linearize(fn: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(fn(*primals), f_jvp)``: ``f_jvp(*tangents)`` is the JVP at ``primals``, running
    only the linear program on the saved residuals."""
    staged, leaves = stage(fn, primals)
    types = [v.type for v in staged.graph.inputs[:staged.n_args]]
    wrt = tuple(k for k, t in enumerate(types) if t.is_float)
    primal, linear = staged.get(("linearize", wrt), lambda: tuple(
        Runnable(g) for g in linearize_of(staged.graph, wrt)))
    outs = primal(_inputs(staged, leaves))
    n_out = len(staged.graph.outputs)
    residuals = outs[n_out:]
    in_tree = optree.tree_structure((tuple(primals), {}))
    float_out = [i for i, v in enumerate(staged.graph.outputs) if v.type.is_float]

    def f_jvp(*tangents: Any) -> Any:
        site = user_site()
        tleaves = _check_like((tuple(tangents), {}), in_tree, types, "the tangents", site)
        touts = iter(linear([*residuals, *(tleaves[k] for k in wrt)]))
        return optree.tree_unflatten(staged.out_tree, [
            next(touts) if i in float_out else _zeros(v.type, outs[i])
            for i, v in enumerate(staged.graph.outputs)])

    return optree.tree_unflatten(staged.out_tree, outs[:n_out]), LinearFunction(
        f_jvp, linear.shown, residuals, staged.name + "_jvp")


def vjp(fn: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(fn(*primals), f_vjp)`` (and ``aux`` with ``has_aux``): ``f_vjp(cotangent)``, the
    cotangent shaped as the result, gives one cotangent per primal argument (a tuple)."""
    site = user_site()
    staged, leaves = stage(fn, primals)
    n_out = len(staged.graph.outputs)
    if has_aux:
        tree = staged.out_tree
        if tree.type not in (tuple, list) or tree.num_children != 2:
            raise LintraTypeError("vjp with has_aux=True needs the function to return a pair "
                                  "(value, aux)", program=str(site))
        value_tree = tree.children()[0]
        n_value = value_tree.num_leaves
    else:
        value_tree, n_value = staged.out_tree, n_out
    out_types = [v.type for v in staged.graph.outputs[:n_value]]
    of = tuple(i for i, t in enumerate(out_types) if t.is_float)
    ranges = _leaf_ranges(primals)
    wrt = tuple(_float_leaves(staged, ranges, range(len(primals)), "vjp", site))
    primal, transposed = staged.get(("vjp", wrt, of), lambda: tuple(
        Runnable(g) for g in vjp_of(staged.graph, wrt, of)))
    outs = primal(_inputs(staged, leaves))
    residuals = outs[n_out:]

    def f_vjp(cotangent: Any) -> tuple[Any, ...]:
        cts = _check_like(cotangent, value_tree, out_types, "the cotangent", user_site())
        grads = transposed([*residuals, *(cts[i] for i in of)])
        return _unflatten_grads(grads, ranges, tuple(range(len(primals))), False)

    pullback = LinearFunction(f_vjp, transposed.shown, residuals, staged.name + "_vjp")
    full = optree.tree_unflatten(staged.out_tree, outs[:n_out])
    if has_aux:
        return full[0], pullback, full[1]
    return full, pullback


def linear_transpose(fn: Callable[..., Any], *primals: Any) -> Callable[..., Any]:
    """The transpose of the linear function ``fn``; ``primals`` give the argument types
    (their values are not used). ``f_t(cotangent)`` gives one cotangent per argument."""
    staged, _ = stage(fn, primals)
    ranges = _leaf_ranges(primals)

    def make() -> Runnable:
        lin = linear_of(staged.graph, staged.n_args)
        return Runnable(transpose_graph(lin))

    transposed = staged.get("linear_transpose", make)
    out_types = [v.type for v in staged.graph.outputs]

    def f_t(cotangent: Any) -> tuple[Any, ...]:
        cts = _check_like(cotangent, staged.out_tree, out_types, "the cotangent", user_site())
        grads = transposed([*staged.consts, *cts])
        return _unflatten_grads(grads, ranges, tuple(range(len(primals))), False)

    return LinearFunction(f_t, transposed.shown, staged.consts, staged.name + "_transpose")


def _stack(columns: list[Any], axis: int) -> Any:
    if any(type(c) is Tracer for c in columns):
        from lintra.optimized import numpy as lnp

        return lnp.stack(columns, axis=axis)
    xp = table_of(columns[0]).xp  # NumPy, or the library the plan ran on
    return xp.stack([xp.asarray(c) for c in columns], axis=axis)


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    if type(x) is Tracer:
        from lintra.optimized import numpy as lnp

        return lnp.reshape(x, shape)
    return x.reshape(shape) if hasattr(x, "reshape") else np.reshape(x, shape)


def jacfwd(fn: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Transformed:
    """The Jacobian of ``fn`` (float results, a pytree of them) with respect to argument(s)
    ``argnums`` (pytrees of float arrays), column by column: the linearization applied to
    each basis tangent. Nested as JAX nests it: the result's structure, each leaf holding
    the argument's structure of blocks ``result_leaf.shape + argument_leaf.shape``."""
    return Transformed(fn, "jacfwd", argnums)


def jacrev(fn: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Transformed:
    """The Jacobian by reverse mode: the pullback of each basis cotangent of the results,
    row by row; nested as :func:`jacfwd`'s."""
    return Transformed(fn, "jacrev", argnums)


def hessian(fn: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Transformed:
    """The Hessian of a scalar ``fn``: forward mode over reverse mode."""
    return jacfwd(jacrev(fn, argnums), argnums)


def _basis(t: AType) -> list[np.ndarray]:
    dtype = LANGUAGE_DTYPES[t.dtype]
    return [np.eye(1, t.size, i, dtype=dtype).reshape(t.shape) for i in range(t.size)]


def make_program(fn: Callable[..., Any], static_argnums: int | Sequence[int] = (),
                 with_constants: bool = False) -> Callable[..., Any]:
    """``make_program(f)(*args)``: the lintra program ``f`` traces to at these arguments'
    types (parameters ``x0, x1, ...``, one per array leaf of the arguments, then ``c0,
    ...`` for arrays ``f`` closes over). With ``with_constants``, ``(program, constants)``:
    the values of the ``c`` parameters."""
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def program(*args: Any, **kwargs: Any) -> Program | tuple[Program, list[Any]]:
        staged, _ = stage(fn, args, kwargs, nums)
        names = tuple(f"x{k}" for k in range(staged.n_args)) + tuple(
            f"c{k}" for k in range(len(staged.consts)))
        p = to_program(staged.graph, name=staged.name, input_names=names)
        if with_constants:
            return p, list(staged.consts)
        return p

    return program
