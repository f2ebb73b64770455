"""Plans: a graph compiled once into straight-line Python over an array library.

The generated function calls array-library functions bound as globals of its own module
(``xp_sin``, kernels, typed constants), on local variables only: no dictionary lookups, no
dispatch on the primitive at run time. Registers (local names) are recycled from a free list
as soon as a value's last use has passed: a result takes the register of an operand that
died in the same equation (the assignment releases the old buffer), and a register that
died and is not overwritten is deleted on the spot, so the plan holds no more live arrays
than the program needs.
``Plan.source`` is the generated text, printable for debugging.

Python's compiler costs about 10 microseconds per generated line, which dominates for very
large programs; a graph of more than :data:`STRAIGHT_LINE_LIMIT` equations therefore runs as
a list of steps instead: each distinct equation text (``xp_sin_0(_0)``) is compiled once into
a small function, and a loop applies the steps to the registers. Both forms come from the
same register allocation and the same rule code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from lintra.optimized.arrays import ArrayTable
from lintra.optimized.ir import Graph, Lit, Var, collector_paused_during, lookup
from lintra.reference.errors import LintraError


class _Context:
    """The :class:`~lintra.optimized.rules.base.CodeContext` of one plan: hands out global
    names and records what they are bound to."""

    def __init__(self, tab: ArrayTable) -> None:
        self.table = tab
        self.globals: dict[str, Any] = {}
        self._names: dict[tuple, str] = {}
        self._functions: dict[str, str] = {}  # fn's answers by path (asked once per equation)
        self.literal_names: dict[Lit, str] = {}
        """:meth:`literal`'s answers by Lit object (often shared: read directly by the
        allocator)"""

    def _bind(self, key: tuple, stem: str, make: Callable[[], Any]) -> str:
        name = self._names.get(key)
        if name is None:
            name = f"{stem}_{len(self._names)}"
            self._names[key] = name
            self.globals[name] = make()
        return name

    def fn(self, path: str) -> str:
        name = self._functions.get(path)
        if name is None:
            name = self._functions[path] = self._bind(
                ("fn", path), "xp_" + path.replace(".", "_"), lambda: self.table.resolve(path))
        return name

    def special(self, name: str) -> str:
        return self._bind(("special", name), "sp_" + name,
                          lambda: getattr(self.table.special, name))

    def kernel(self, factory: Callable[[ArrayTable], Callable[..., Any]]) -> str:
        return self._bind(("kernel", factory), "k_" + factory.__name__.lstrip("_"),
                          lambda: _kernel(factory, self.table))

    def const(self, value: object) -> str:
        try:
            key: tuple = ("const", _frozen(value))
            hash(key)
        except TypeError:
            key = ("const", id(value))
        return self._bind(key, "c", lambda: value)

    def dtype(self, dtype: str) -> str:
        return self._bind(("dtype", dtype), dtype, lambda: self.table.dtype(dtype))

    def literal(self, lit: Lit) -> str:
        name = self.literal_names.get(lit)
        if name is not None:
            return name
        # repr distinguishes -0.0 from 0.0 and keeps nan equal to nan
        key = ("lit", repr(lit.value), lit.dtype)
        name = self._names.get(key)
        if name is None:
            tab = self.table

            def make() -> Any:
                return tab.xp.asarray(lit.value, dtype=tab.dtype(lit.dtype))[()]

            name = self._bind(key, "lit", make)
        self.literal_names[lit] = name
        return name


def _frozen(value: object) -> object:
    """A hashable stand-in for a constant, equal for equal constants: tuples and lists
    element by element, slices by their fields, arrays by dtype, shape and bytes (so that
    equal constants share one global and equal equations one compiled step)."""
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(_frozen(v) for v in value))
    if isinstance(value, slice):
        return ("slice", _frozen(value.start), _frozen(value.stop), _frozen(value.step))
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        return ("array", str(value.dtype), tuple(getattr(value, "shape", ())),
                value.tobytes())  # type: ignore[attr-defined]
    return (type(value), value)


_KERNELS: dict[tuple[Any, str], Callable[..., Any]] = {}


def _kernel(factory: Callable[[ArrayTable], Callable[..., Any]], tab: ArrayTable
            ) -> Callable[..., Any]:
    key = (factory, tab.name)
    if key not in _KERNELS:
        _KERNELS[key] = factory(tab)
    return _KERNELS[key]


STRAIGHT_LINE_LIMIT = 20_000
"""Graphs with more equations run as compiled steps rather than one generated function."""


class Plan:
    """A graph compiled for one array library: call it with one array per parameter; it
    returns a tuple with one array per result."""

    __slots__ = ("_fn", "_graph", "_run", "_shared", "_source", "globals", "table")

    @collector_paused_during
    def __init__(self, graph: Graph, tab: ArrayTable) -> None:
        ctx = _Context(tab)
        allocated, n_registers = _allocate(graph, ctx)
        self._shared = allocated[0].shared
        self.table = tab
        self.globals = ctx.globals
        self._graph = graph
        if len(graph.eqns) <= STRAIGHT_LINE_LIMIT:
            self._source: str | None = _straight_line(allocated)
            namespace = dict(ctx.globals)
            exec(compile(self._source, f"<lintra plan {graph.name}>", "exec"), namespace)
            self._fn = namespace["plan"]
        else:
            self._source = None
            self._fn = _stepper(allocated, n_registers, ctx.globals)
        # floating-point exceptions never raise or warn (spec 3.1): the values say it all.
        # The library's errstate as a decorator, made once: entered per call as a context
        # manager it would make an object and an argument dict each time (memory that a
        # plan of small arrays notices)
        errstate = getattr(tab.xp, "errstate", None)
        self._run = self._fn if errstate is None else errstate(all="ignore")(self._fn)

    @property
    def source(self) -> str:
        """The generated Python text (for a plan run as steps: what the steps compute)."""
        if self._source is None:
            self._source = _straight_line(_allocate(self._graph, _Context(self.table))[0])
        return self._source

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        try:
            outs = self._run(*args)
        except LintraError as err:  # an EvaluationError of a kernel: name the equation
            raise err.at(program=self._graph.name, equation=self._where(err)) from None
        return self._fresh(outs, args) if self._shared else outs

    def _fresh(self, outs: tuple[Any, ...], args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Results are fresh arrays (spec 3.4): one that is an argument or a view (of an
        argument, say) is copied, so that writing into it changes nothing else."""
        fixed = list(outs)
        for k in self._shared:
            o = fixed[k]
            if getattr(o, "base", None) is not None or any(o is a for a in args):
                fixed[k] = o.copy()
        return tuple(fixed)

    def _where(self, err: BaseException) -> str | None:
        """The source equation of the line that raised ``err``, if it is known."""
        index = getattr(err, "_lintra_step", None)
        if index is None:
            tb = err.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename.startswith("<lintra plan"):
                    index = tb.tb_lineno - 2  # line 1 is the def
                tb = tb.tb_next
        if index is None:
            return None
        lines = _allocate(self._graph, _Context(self.table))[0][1]
        origin = lines[index][4] if 0 <= index < len(lines) else None
        return None if origin is None else str(origin)


class _Line(NamedTuple):
    """One equation after register allocation: its code with holes ``_0, _1, ...`` for the
    operand registers, which registers it reads and which it writes (None: unused).
    :func:`_allocate` makes them as plain tuples of these fields (a tuple is the cheapest
    record to make 250,000 times); this class names the fields for readers."""

    expr: str
    reads: list[int]
    writes: list[int | None]
    releases: list[int]
    """Registers whose value died here and that this line does not overwrite: cleared at
    once, or a dead buffer would stay alive until its register is used again."""
    origin: object
    """The source equation, named by an error raised while this line runs."""


class _Header:
    __slots__ = ("params", "results", "shared")

    def __init__(self, params: list[int], results: list[int], shared: tuple[int, ...]
                 ) -> None:
        self.params = params
        self.results = results
        self.shared = shared
        """Results that may share memory with an argument (an argument itself, a view)."""


def _allocate(graph: Graph, ctx: _Context) -> tuple[tuple[_Header, list[_Line]], int]:
    """Registers for every value, recycled after each value's last use, and each equation's
    code with its operands as holes ``_0, _1, ...`` (literals are named constants).

    This runs once per equation of every plan, so the loop is kept lean: each primitive's
    code rule is looked up once, the operands that die at each equation are found by one
    backward walk beforehand, the text of a code rule that depends on its operands' texts
    alone (a ufunc's) is made once per distinct operand texts, and the common case (no
    literal, no folding) takes the shortest path."""
    eqns = graph.eqns
    returned = set(graph.outputs)
    # each equation's code rule, whether it is a ufunc writing fresh arrays (``out=``) and
    # whether its text depends on the operands' texts alone
    codes: dict[str, tuple[Any, bool, bool]] = {}
    per_eqn: list[tuple[Any, bool, bool]] = [None] * len(eqns)  # type: ignore[list-item]
    # walking backwards, a value's first read met is its last use: the operands that die
    # at each equation, in operand order, each once (results are never released)
    dying: list[tuple[Var, ...]] = [()] * len(eqns)
    used: set[Any] = set(returned)  # values read later (or returned)
    # operands of anything but a ufunc may live on in a view (reshape, slice, copy, ...):
    # their buffers are never written over
    viewed: set[Var] = set()
    for k in range(len(eqns) - 1, -1, -1):
        e = eqns[k]
        info = codes.get(e.prim)
        if info is None:
            code = lookup(e.prim).code
            info = codes[e.prim] = (code, getattr(code, "writes_fresh_arrays", False),
                                    getattr(code, "text_of_operands", False))
        per_eqn[k] = info
        ins = e.ins
        if not info[1]:
            viewed.update(ins)  # literals too: they are never asked about
        dead: tuple[Var, ...] = ()
        for a in ins:
            if a not in used and type(a) is Var:
                used.add(a)  # a second read by this equation is not its last use again
                dead += (a,)
        if dead:
            dying[k] = dead
    register: dict[Var, int] = {}
    free: list[int] = []
    count = 0

    params = []
    for v in graph.inputs:
        if v in register:
            raise LintraError(f"plan {graph.name}: a parameter is repeated")
        if free:
            r = free.pop()
        else:
            r = count
            count += 1
        register[v] = r
        params.append(r)
    lines: list[_Line] = []
    holes = [f"_{k}" for k in range(8)]
    folded: dict[Var, str] = {}
    literal_names = ctx.literal_names
    texts: dict[tuple, str] = {}  # texts of code rules reading operand texts alone
    owned: set[Var] = set()  # values in arrays this plan allocated (no view, no argument)
    for k, e in enumerate(eqns):
        ins, outs = e.ins, e.outs
        if len(ins) > len(holes):
            holes.extend(f"_{j}" for j in range(len(holes), len(ins)))
        operands: list[str] = []
        reads: list[int] = []
        for a in ins:
            if type(a) is Lit:
                operands.append(literal_names.get(a) or ctx.literal(a))
            elif folded and a in folded:
                operands.append(folded[a])
            else:
                operands.append(holes[len(reads)])
                reads.append(register[a])
        code, writes_fresh, text_of_operands = per_eqn[k]
        if not reads and returned.isdisjoint(outs):
            names = _fold(ctx, code(ctx, e, operands), len(outs))
            if names is not None:  # computed now, once: later equations read a constant
                folded.update(zip(outs, names))
                if writes_fresh:
                    owned.update(outs)
                continue
        # operands whose last use is this equation give their registers back first, so that
        # a result can take one (and the old buffer is released on assignment)
        died: list[int] = []
        reuse: int | None = None
        reuse_at = -1  # the operand position whose buffer the ufunc writes over (``out=``)
        for a in dying[k]:
            if a not in register:  # a folded constant
                continue
            # overwritable: the result has the operand's dtype and shape, not rank 0 (NumPy
            # returns scalars, not arrays, from rank-0 operations) and not empty
            t = a.type
            if (reuse is None and writes_fresh and len(outs) == 1 and a in owned
                    and a not in viewed and outs[0] in used and t == outs[0].type
                    and t.shape and 0 not in t.shape):
                reuse = register.pop(a)
                reuse_at = ins.index(a)
                continue
            died.append(register.pop(a))
        if text_of_operands:
            key = (code, reuse_at, *operands)
            expr = texts.get(key)
            if expr is None:
                expr = texts[key] = _with_out(code(ctx, e, operands), operands, reuse_at)
        else:
            expr = _with_out(code(ctx, e, operands), operands, reuse_at)
        if writes_fresh:
            if len(outs) == 1:
                owned.add(outs[0])
            else:
                owned.update(outs)
        writes: list[int | None]
        if len(outs) == 1:  # the common case, without the general loop below
            v = outs[0]
            if v not in used:
                writes = [None]
            else:
                if reuse is not None:
                    r = reuse
                elif died:
                    r = died.pop()  # the register the free list would hand out first
                elif free:
                    r = free.pop()
                else:
                    r = count
                    count += 1
                register[v] = r
                writes = [r]
            free.extend(died)
            releases = died
        else:
            free.extend(died)
            writes = []
            for v in outs:
                if v not in used:
                    writes.append(None)
                    continue
                if reuse is not None:
                    r = reuse
                elif free:
                    r = free.pop()
                else:
                    r = count
                    count += 1
                register[v] = r
                writes.append(r)
            releases = [r for r in died if r not in writes] if died else died
        lines.append((expr, reads, writes, releases, e.origin))  # type: ignore[arg-type]
    shared = tuple(k for k, v in enumerate(graph.outputs) if v not in owned)
    header = _Header(params, [register[v] for v in graph.outputs], shared)
    return (header, lines), count


def _with_out(expr: str, operands: list[str], position: int) -> str:
    """A ufunc call ``expr`` writing its result over operand ``position`` (``out=``), or
    ``expr`` as it is for a negative position."""
    if position < 0:
        return expr
    return expr[:-1] + f", out={operands[position]})"


def _fold(ctx: _Context, expr: str, n_results: int) -> list[str] | None:
    """Evaluate an equation that reads no register (literals and constants only) while the
    plan is built, binding its results as constants; None (the equation runs with the plan)
    if evaluating it raises, so that a run-time error stays a run-time error. Results that
    the plan returns are never folded: a caller may write into what it is given."""
    try:
        with _quiet(ctx.table):
            value = eval(expr, ctx.globals)  # the rule's own code, on constants
    except Exception:  # e.g. an integer division by a zero literal: left to run time
        return None
    values = [value] if n_results == 1 else list(value)
    return [ctx.const(v) for v in values]


def _quiet(tab: ArrayTable) -> Any:
    errstate = getattr(tab.xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


_HOLE = re.compile(r"\b_(\d+)\b")


def _straight_line(allocated: tuple[_Header, list[_Line]]) -> str:
    """The source of ``def plan(...)``: one assignment per equation."""
    header, lines = allocated
    out = [f"def plan({', '.join(f'r{r}' for r in header.params)}):"]
    for expr, reads, writes, releases, _ in lines:
        if reads:
            expr = _fill(expr, reads)
        targets = ", ".join("_" if w is None else f"r{w}" for w in writes)
        text = f"    {targets} = {expr}" if writes else f"    {expr}"
        if releases:
            text += f"; del {', '.join(f'r{r}' for r in releases)}"
        out.append(text)
    results = "".join(f"r{r}, " for r in header.results)
    out.append(f"    return ({results})")
    return "\n".join(out) + "\n"


def _fill(expr: str, reads: list[int]) -> str:
    """``expr`` with each hole ``_k`` replaced by the register it reads."""
    return _HOLE.sub(lambda m: f"r{reads[int(m.group(1))]}", expr)


def _stepper(allocated: tuple[_Header, list[_Line]], n_registers: int,
             namespace: dict[str, Any]) -> Callable[..., tuple[Any, ...]]:
    """A function running the equations as steps: each distinct code text compiled once."""
    header, lines = allocated
    compiled: dict[tuple[str, int], Callable[..., Any]] = {}
    scope = dict(namespace)
    # the steps as five parallel lists, not a tuple per step: a plan of 250,000 steps then
    # holds a quarter of a million fewer objects for the cyclic collector to walk; a step
    # that releases nothing or writes one register holds the shared empty tuple (tuples of
    # integers drop out of the collector's walks after the first)
    functions: list[Callable[..., Any]] = []
    reads_of: list[tuple[int, ...]] = []
    single_of: list[int | None] = []  # the one register written (None: unused), or -1
    writes_of: list[tuple[int | None, ...]] = []  # the registers written, when several
    releases_of: list[tuple[int, ...]] = []
    for expr, reads, writes, releases, _ in lines:
        key = (expr, len(reads))
        fn = compiled.get(key)
        if fn is None:
            args = ", ".join(f"_{k}" for k in range(len(reads)))
            name = f"step_{len(compiled)}"
            exec(compile(f"def {name}({args}):\n    return {expr}\n", "<lintra step>",
                         "exec"), scope)
            fn = compiled[key] = scope[name]
        functions.append(fn)
        reads_of.append(tuple(reads))
        if len(writes) == 1:
            single_of.append(writes[0])
            writes_of.append(())
        else:
            single_of.append(-1)
            writes_of.append(tuple(writes))
        releases_of.append(tuple(releases) if releases else ())
    params, results = tuple(header.params), tuple(header.results)

    def plan(*args: Any) -> tuple[Any, ...]:
        regs: list[Any] = [None] * n_registers
        for r, a in zip(params, args):
            regs[r] = a
        steps = zip(functions, reads_of, single_of, writes_of, releases_of)
        for index, (fn, reads, single, writes, releases) in enumerate(steps):
            try:
                value = fn(*[regs[r] for r in reads])
            except LintraError as err:
                err._lintra_step = index  # type: ignore[attr-defined]
                raise
            for r in releases:
                regs[r] = None
            if single is None:
                continue
            if single >= 0:
                regs[single] = value
            else:
                for w, v in zip(writes, value):
                    if w is not None:
                        regs[w] = v
        return tuple(regs[r] for r in results)

    return plan
