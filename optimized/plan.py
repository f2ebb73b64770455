"""Plans: a graph compiled once into straight-line Python over an array library.

The generated function calls array-library functions bound as globals of its own module
(``xp_sin``, kernels, typed constants), on local variables only: no dictionary lookups, no
dispatch on the primitive at run time. Local names are recycled from a free list as soon as a
value's last use has passed, so assigning a new value to a name releases the old buffer
without ``del`` statements, and the plan holds no more live arrays than the program needs.
``Plan.source`` is the generated text, printable for debugging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Graph, Lit, Var, lookup
from lintra.reference.errors import LintraError


class _Context:
    """The :class:`~lintra.optimized.rules.base.CodeContext` of one plan: hands out global
    names and records what they are bound to."""

    def __init__(self, tab: ArrayTable) -> None:
        self.table = tab
        self.globals: dict[str, Any] = {}
        self._names: dict[tuple, str] = {}

    def _bind(self, key: tuple, stem: str, make: Callable[[], Any]) -> str:
        name = self._names.get(key)
        if name is None:
            name = f"{stem}_{len(self._names)}"
            self._names[key] = name
            self.globals[name] = make()
        return name

    def fn(self, path: str) -> str:
        stem = "xp_" + path.replace(".", "_")
        return self._bind(("fn", path), stem, lambda: self.table.resolve(path))

    def special(self, name: str) -> str:
        return self._bind(("special", name), "sp_" + name,
                          lambda: getattr(self.table.special, name))

    def kernel(self, factory: Callable[[ArrayTable], Callable[..., Any]]) -> str:
        return self._bind(("kernel", factory), "k_" + factory.__name__.lstrip("_"),
                          lambda: _kernel(factory, self.table))

    def const(self, value: object) -> str:
        try:
            key: tuple = ("const", type(value), value)
            hash(key)
        except TypeError:
            key = ("const", id(value))
        return self._bind(key, "c", lambda: value)

    def dtype(self, dtype: str) -> str:
        return self._bind(("dtype", dtype), dtype, lambda: self.table.dtype(dtype))

    def literal(self, lit: Lit) -> str:
        tab = self.table

        def make() -> Any:
            return tab.xp.asarray(lit.value, dtype=tab.dtype(lit.dtype))[()]

        value = repr(lit.value)  # distinguishes -0.0 from 0.0 and keeps nan equal to nan
        return self._bind(("lit", value, lit.dtype), "lit", make)


_KERNELS: dict[tuple[Any, str], Callable[..., Any]] = {}


def _kernel(factory: Callable[[ArrayTable], Callable[..., Any]], tab: ArrayTable
            ) -> Callable[..., Any]:
    key = (factory, tab.name)
    if key not in _KERNELS:
        _KERNELS[key] = factory(tab)
    return _KERNELS[key]


class Plan:
    """A graph compiled for one array library: call it with one array per parameter; it
    returns a tuple with one array per result."""

    __slots__ = ("_errstate", "_fn", "globals", "source", "table")

    def __init__(self, graph: Graph, tab: ArrayTable) -> None:
        ctx = _Context(tab)
        self.source = _generate(graph, ctx)
        self.table = tab
        self.globals = ctx.globals
        namespace = dict(ctx.globals)
        exec(compile(self.source, f"<lintra plan {graph.name}>", "exec"), namespace)
        self._fn = namespace["plan"]
        self._errstate = getattr(tab.xp, "errstate", None)

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        # floating-point exceptions never raise or warn (spec 3.1): the values say it all
        if self._errstate is None:
            return self._fn(*args)
        with self._errstate(all="ignore"):
            return self._fn(*args)


def _generate(graph: Graph, ctx: _Context) -> str:
    """The source of ``def plan(...)`` for ``graph``."""
    last: dict[Var, int] = {}
    for k, e in enumerate(graph.eqns):
        for a in e.ins:
            if isinstance(a, Var):
                last[a] = k
    returned = set(graph.outputs)
    names: dict[Var, str] = {}
    free: list[str] = []
    counter = 0

    def fresh() -> str:
        nonlocal counter
        if free:
            return free.pop()
        counter += 1
        return f"r{counter}"

    params = []
    for v in graph.inputs:
        if v in names:  # the same variable twice as a parameter cannot happen in a graph
            raise LintraError(f"plan {graph.name}: a parameter is repeated")
        names[v] = fresh()
        params.append(names[v])
    lines = [f"def plan({', '.join(params)}):"]
    for k, e in enumerate(graph.eqns):
        operands = []
        for a in e.ins:
            if isinstance(a, Lit):
                operands.append(ctx.literal(a))
            else:
                operands.append(names[a])
        expr = lookup(e.prim).code(ctx, e, operands)
        # operands whose last use is this equation give their names back first, so that a
        # result can take the name (and the old buffer is released on assignment)
        for a in e.ins:
            if isinstance(a, Var) and last.get(a) == k and a not in returned and a in names:
                free.append(names.pop(a))
        outs = []
        for v in e.outs:
            if v not in last and v not in returned:
                outs.append("_")
            else:
                names[v] = fresh()
                outs.append(names[v])
        if not e.outs:
            lines.append(f"    {expr}")
        elif len(outs) == 1:
            lines.append(f"    {outs[0]} = {expr}")
        else:
            lines.append(f"    {', '.join(outs)} = {expr}")
    results = [names[v] for v in graph.outputs]
    lines.append(f"    return ({''.join(r + ', ' for r in results)})")
    return "\n".join(lines) + "\n"


def plans(graphs: Sequence[Graph], tab: ArrayTable) -> list[Plan]:
    return [Plan(g, tab) for g in graphs]
