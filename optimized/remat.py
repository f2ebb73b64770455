"""Rematerialization: cheap values recomputed in the backward sweep instead of kept alive.

A gradient graph runs the primal equations, then the transposed ones. Every primal value the
backward sweep reads (a residual) stays in memory from the moment it is computed until that
read, so the forward sweep's peak holds all of them at once. Some residuals are one cheap
elementwise step away from values that stay alive that long anyway: in ``grow = mul(u,
sub(1.0, u))`` with ``u`` itself a residual, both ``sub(1.0, u)`` and ``grow`` can be
computed again just before the backward sweep reads them, from ``u``, and need not be kept.
A hand-written reverse pass does exactly that; this pass does it for the engine.

The rule: an equation of the forward part with one result ``r``, read by the backward part,
whose primitive is in :data:`CHEAP`, is copied to just before the first backward read of
``r`` (every backward read then takes the copy) when each of its variable operands is a
parameter of the graph (the caller holds it) or is read at or after that point anyway. So
no value lives longer than before, and ``r``'s buffer is released after its last forward
read. Equations are visited from last to first, so a chain of cheap steps
(``sub``, then ``mul``) is recomputed as a chain. The copies compute the same operations on
the same operands: the results are bit for bit those of the graph without the pass. One pass
over the equations, and work only where a cheap residual exists; never recursive.

A first step (:func:`recompute_from_sources`) handles residuals that are a short elementwise
recipe away from their *sources*, the values the recipe reads that it does not recompute:

* a residual made by views and at most one cheap step from the graph's parameters alone,
  products by literals counted as views (``reshape(slice(xs))``, one step's input of an
  unrolled loop; ``sub(1.0, slice(x))``; ``mul(2.0, sub(1.0, slice(x)))``) is
  recomputed where the backward sweep reads it: a view costs nothing to make again, one
  cheap step about what reading a kept value back costs (as above), and each value kept is
  an array object alive across the whole sweep;
* residuals made from one source that is not kept otherwise, by recipes of elementwise
  primitives of any cost, are recomputed from that source when they weigh more than it: in
  a tanh RNN, ``h = tanh(z)`` and the coefficient ``tanh′(z)`` (computed from ``z`` for
  accuracy, spec 3.1) are two arrays per step, ``z`` one. The sweep then keeps ``z`` and
  computes both again from it, as a hand-written pass that keeps one array per step does.

The step keeps its result only when the largest number of bytes alive at once (views
counted as arrays) falls, and looks only at graphs of at most
:data:`SOURCES_GRAPH_LIMIT` equations.
"""

from __future__ import annotations

from typing import NamedTuple

from lintra.optimized.ir import Eqn, Graph, Lit, Var, lookup
from lintra.optimized.simplify import prune

CHEAP = frozenset({"neg", "add", "sub", "mul", "abs", "max", "min"})
"""Elementwise primitives worth recomputing: one pass over memory and no transcendental
function, so recomputing costs about what reading a saved copy back would."""

VIEWS = frozenset({"slice", "reshape"})
"""Primitives whose code makes a view (``reshape`` copies only an operand that is not
contiguous): making one again costs nothing."""

ELEMENTWISE_FAMILIES = frozenset({"unary", "binary"})
"""The families whose primitives a recipe may recompute from a source (spec 3.1, 3.2)."""

RECIPE_LIMIT = 16
"""The most equations one recipe recomputes: enough for any coefficient of spec 3.1 and the
step before it, and a bound on the work added per residual."""

SOURCES_GRAPH_LIMIT = 20_000
"""The largest graph (in equations) :func:`recompute_from_sources` looks at: its analysis
costs a few microseconds per equation, which for larger graphs (long unrolled chains,
compiled as step lists, see ``plan.py``) buys little and weighs on compile time."""

RECOMPUTE_LIMIT = 3
"""The most equations recomputing a group of residuals from their source may add to a run,
per array it saves (the tanh RNN's step adds 3: the pre-activation's add twice and tanh)."""

Position = tuple[int, int]
"""Where an equation runs: (index of the original equation it runs before or is, level);
original equations have level 0, copies placed before them negative levels (lower first)."""


def rematerialize(graph: Graph, backward_start: int) -> Graph:
    """``graph`` with the cheap residuals of its forward part (equations before
    ``backward_start``) recomputed where its backward part first reads them (module
    docstring). The same results, bit for bit; the same graph when nothing qualifies."""
    graph, backward_start = recompute_from_sources(graph, backward_start)
    eqns = graph.eqns
    forward_end = min(backward_start, len(eqns))
    # the cheap one-result equations of the forward part, by the variable they define
    cheap: dict[Var, int] = {}
    for k in range(forward_end):
        e = eqns[k]
        if e.prim in CHEAP and len(e.outs) == 1 and not e.outs[0].linear:
            cheap[e.outs[0]] = k
    if not cheap or not any(a in cheap for k in range(forward_end, len(eqns))
                            for a in eqns[k].ins):
        return graph  # no cheap residual: nothing to do
    # every variable's last read; the reads of the cheap results, as (position, equation)
    last_read: dict[Var, Position] = {}
    reads: dict[Var, list[tuple[Position, Eqn]]] = {}
    for k, e in enumerate(eqns):
        at = (k, 0)
        for a in e.ins:
            if type(a) is Var:
                last_read[a] = at
                if a in cheap:
                    reads.setdefault(a, []).append((at, e))
    end = (len(eqns), 0)
    for v in graph.outputs:
        last_read[v] = end
    parameters = set(graph.inputs)
    moved: dict[int, Position] = {}  # id(eqn) of a moved equation -> where it now runs
    copies: list[tuple[Position, Eqn]] = []
    rename: dict[int, dict[Var, Var]] = {}  # id(eqn) -> operand replacements
    for r in sorted(cheap, key=cheap.__getitem__, reverse=True):  # last defined first
        e = eqns[cheap[r]]
        if last_read.get(r) == end:  # returned: never recomputed
            continue
        backward = [(q, u) for q, u in reads.get(r, ()) if q[0] >= forward_end]
        if not backward:
            continue
        first = min(q for q, _ in backward)
        if not all(type(a) is not Var or a in parameters
                   or last_read.get(a, (-1, 0)) >= first for a in e.ins):
            continue
        at = (first[0], first[1] - 1)
        forward = [(q, u) for q, u in reads[r] if q[0] < forward_end]
        if forward:  # a copy for the backward reads
            copy = Var(r.type, r.linear)
            runs = Eqn(e.prim, e.ins, (copy,), e.params, e.origin)
            copies.append((at, runs))
            for _, u in backward:
                rename.setdefault(id(u), {})[r] = copy
            reads[r] = forward
        else:  # only the backward part reads it: the equation itself moves
            runs = e
            moved[id(e)] = at
            copies.append((at, e))
            for a in e.ins:
                if a in reads:
                    reads[a] = [(q, u) for q, u in reads[a] if u is not e]
        for a in e.ins:
            if type(a) is Var:
                if a in cheap:
                    reads.setdefault(a, []).append((at, runs))
                if last_read.get(a, (-1, 0)) < at:
                    last_read[a] = at
    if not copies:
        return graph
    # the equations in their new order: each copy or moved equation before the original
    # equation it precedes, lower levels first (a chain's first step first)
    copies.sort(key=_where)
    out: list[Eqn] = []
    j = 0
    for k, e in enumerate(eqns):
        while j < len(copies) and copies[j][0][0] == k:
            out.append(_renamed(copies[j][1], rename))
            j += 1
        if id(e) not in moved:
            out.append(_renamed(e, rename))
    out.extend(_renamed(c, rename) for _, c in copies[j:])
    return Graph(graph.name, graph.inputs, out, graph.outputs)


def _where(item: tuple[Position, Eqn]) -> Position:
    return item[0]


def _renamed(e: Eqn, rename: dict[int, dict[Var, Var]]) -> Eqn:
    """``e`` reading the copies its operands were replaced by, if any."""
    changes = rename.get(id(e))
    if not changes:
        return e
    return Eqn(e.prim, tuple(changes.get(a, a) if type(a) is Var else a for a in e.ins),
               e.outs, e.params, e.origin)


class _Recipe:
    """How to compute a forward value again: its equation, the recipes of the operands it
    recomputes too (``parts``), the values read but not recomputed (its ``sources``,
    parameters excepted), a bound on its number of equations (``size``: shared steps
    counted once per use), whether every step is cheap (:data:`CHEAP` or :data:`VIEWS`)
    and a bound on its steps that are not views (``work``)."""

    __slots__ = ("cheap", "eqn", "parts", "size", "sources", "work")

    def __init__(self, eqn: Eqn, parts: tuple[_Recipe, ...], sources: frozenset[Var],
                 size: int, cheap: bool, work: int) -> None:
        self.eqn = eqn
        self.parts = parts
        self.sources = sources
        self.size = size
        self.cheap = cheap
        self.work = work

    def steps(self) -> list[Eqn]:
        """The equations, each once, every one after those it reads (a walk of the parts,
        by a stack: never recursive)."""
        out: dict[Eqn, None] = {}
        stack: list[tuple[_Recipe, bool]] = [(self, False)]
        while stack:
            recipe, expanded = stack.pop()
            if recipe.eqn in out:
                continue
            if expanded or not recipe.parts:
                out[recipe.eqn] = None
                continue
            stack.append((recipe, True))
            stack.extend((part, False) for part in reversed(recipe.parts))
        return list(out)


class _Analysis(NamedTuple):
    """What :func:`_recipes` finds in one pass over the forward part."""

    recipes: dict[Var, _Recipe]
    forward_reads: dict[Var, int]
    """How many operands of forward equations each value is."""
    single_sources: set[Var]
    """The sources of recipes with one source."""


def _scaling(e: Eqn) -> bool:
    """Whether ``e`` multiplies by a literal: counted with the views in a recipe's work, so
    that a coefficient ``2·(1 − x)`` (a square's, spec 3.1) is made again where the backward
    sweep reads it, as ``1 − x`` is, instead of being kept across the sweep."""
    return e.prim == "mul" and any(type(a) is Lit for a in e.ins)


def _recipes(eqns: list[Eqn], forward_end: int, parameters: set[Var]) -> _Analysis:
    """The recipe of each one-result forward value made by an elementwise or view
    primitive, within :data:`RECIPE_LIMIT` equations. One pass in program order: a value's
    recipe extends those of its operands, or starts from the operands themselves where that
    leaves fewer sources (``z = add(add(p, q), b)`` from ``add(p, q)``, not from p and q)."""
    recipes: dict[Var, _Recipe] = {}
    forward_reads: dict[Var, int] = {}
    single_sources: set[Var] = set()
    families: dict[str, bool] = {}
    no_sources: frozenset[Var] = frozenset()
    for k in range(forward_end):
        e = eqns[k]
        operands = [a for a in e.ins if type(a) is Var and a not in parameters]
        for a in operands:
            forward_reads[a] = forward_reads.get(a, 0) + 1
        outs = e.outs
        if len(outs) != 1 or outs[0].linear:
            continue
        allowed = families.get(e.prim)
        if allowed is None:
            allowed = families[e.prim] = (e.prim in VIEWS or
                                          lookup(e.prim).family in ELEMENTWISE_FAMILIES)
        if not allowed:
            continue
        cheap = e.prim in CHEAP or e.prim in VIEWS
        work = 0 if e.prim in VIEWS or _scaling(e) else 1
        parts = [recipes.get(a) for a in operands]
        if None in parts or not parts:  # some operands are sources: they all are
            sources = frozenset(operands) if operands else no_sources
            if len(sources) == 1:
                single_sources.update(sources)
            recipes[outs[0]] = _Recipe(e, (), sources, 1, cheap, work)
            continue
        first = parts[0].sources  # type: ignore[union-attr]
        sources = first
        for part in parts:
            if part.sources is not first:  # type: ignore[union-attr]
                sources = first.union(*(p.sources for p in parts))  # type: ignore[union-attr]
                break
        if len(sources) > len(set(operands)):  # fewer if the operands are the sources
            sources = frozenset(operands)
            if len(sources) == 1:
                single_sources.update(sources)
            recipes[outs[0]] = _Recipe(e, (), sources, 1, cheap, work)
            continue
        size = 1 + sum(p.size for p in parts)  # type: ignore[union-attr]
        if size > RECIPE_LIMIT:
            continue
        if len(sources) == 1:
            single_sources.update(sources)
        recipes[outs[0]] = _Recipe(e, tuple(parts), sources,  # type: ignore[arg-type]
                                   size, cheap and all(p.cheap for p in parts),  # type: ignore
                                   work + sum(p.work for p in parts))  # type: ignore
    return _Analysis(recipes, forward_reads, single_sources)


def recompute_from_sources(graph: Graph, backward_start: int) -> tuple[Graph, int]:
    """``graph`` with the residuals of the module docstring's first step recomputed in the
    backward part, and the index where its backward part now starts; ``graph`` itself and
    ``backward_start`` when nothing qualifies or the peak would not fall."""
    eqns = graph.eqns
    if len(eqns) > SOURCES_GRAPH_LIMIT:
        return graph, backward_start
    forward_end = min(backward_start, len(eqns))
    parameters = set(graph.inputs)
    recipes, forward_reads, single_sources = _recipes(eqns, forward_end, parameters)
    if not recipes:
        return graph, backward_start
    returned = set(graph.outputs)
    # the backward reads of values with a recipe: the first reader of each, and who reads
    # them; which single sources the backward part reads
    first_read: dict[Var, int] = {}
    backward_readers: dict[Var, list[Eqn]] = {}
    read_sources: set[Var] = set()
    for k in range(forward_end, len(eqns)):
        e = eqns[k]
        for a in e.ins:
            if a in recipes:
                readers = backward_readers.get(a)  # type: ignore[call-overload]
                if readers is None:
                    first_read[a] = k  # type: ignore[index]
                    backward_readers[a] = [e]  # type: ignore[index]
                elif readers[-1] is not e:
                    readers.append(e)
            if a in single_sources:
                read_sources.add(a)  # type: ignore[arg-type]
    chosen: list[Var] = []
    groups: dict[Var, list[Var]] = {}
    for r in backward_readers:
        recipe = recipes[r]
        if r in returned:
            continue
        if not recipe.sources:
            if recipe.cheap and recipe.work <= 1:
                chosen.append(r)  # views and a cheap step of parameters alone
        elif len(recipe.sources) == 1:
            (source,) = recipe.sources
            if source not in read_sources and source not in returned:
                groups.setdefault(source, []).append(r)
    for source, members in groups.items():
        if len(members) < 2 or sum(_nbytes(r) for r in members) <= _nbytes(source):
            continue
        added = _added_steps(members, recipes, first_read, forward_reads, backward_readers,
                             returned)
        if added <= RECOMPUTE_LIMIT * (len(members) - 1):
            chosen.extend(members)
    if not chosen:
        return graph, backward_start
    # the recipes, copied just before each residual's first backward read; residuals read
    # first by one equation share the copies of common steps
    before: dict[int, list[Eqn]] = {}
    made: dict[int, dict[Var, Var]] = {}
    rename: dict[int, dict[Var, Var]] = {}
    for r in chosen:
        at = first_read[r]
        copies = made.setdefault(at, {})
        block = before.setdefault(at, [])
        for step in recipes[r].steps():
            out = step.outs[0]
            if out in copies:
                continue
            new = Var(out.type, False)
            copies[out] = new
            block.append(Eqn(step.prim, tuple(copies.get(a, a) if type(a) is Var else a
                                              for a in step.ins), (new,), step.params,
                             step.origin))
        for u in backward_readers[r]:
            rename.setdefault(id(u), {})[r] = copies[r]
    out_eqns: list[Eqn] = list(eqns[:forward_end])
    backward: set[int] = set()
    for k in range(forward_end, len(eqns)):
        for c in before.get(k, ()):
            backward.add(id(c))
            out_eqns.append(c)
        e = _renamed(eqns[k], rename)
        backward.add(id(e))
        out_eqns.append(e)
    result = prune(Graph(graph.name, graph.inputs, out_eqns, graph.outputs))
    if peak_bytes(result) >= peak_bytes(graph):
        return graph, backward_start
    start = next((k for k, e in enumerate(result.eqns) if id(e) in backward),
                 len(result.eqns))
    return result, start


def _added_steps(members: list[Var], recipes: dict[Var, _Recipe], first_read: dict[Var, int],
                 forward_reads: dict[Var, int], backward_readers: dict[Var, list[Eqn]],
                 returned: set[Var]) -> int:
    """How many equations recomputing ``members`` from their source adds to a run: the
    steps copied into the backward part (once per place) less the forward steps that
    then no longer run (their values are read by nothing else)."""
    copied: set[tuple[int, Eqn]] = set()
    union: dict[Eqn, None] = {}
    for r in members:
        at = first_read[r]
        steps = recipes[r].steps()
        copied.update([(at, step) for step in steps])
        union.update(dict.fromkeys(steps))
    if len(copied) - len(union) > RECOMPUTE_LIMIT * (len(members) - 1):
        return len(copied) - len(union)  # even if every forward step stopped running
    keep = set(members)
    dead_reads: dict[Var, int] = {}
    dead = 0
    for step in reversed(union):  # readers before the steps they read
        v = step.outs[0]
        if v in returned or (v in backward_readers and v not in keep):
            continue
        if dead_reads.get(v, 0) == forward_reads.get(v, 0):  # no live forward reader
            dead += 1
            for a in step.ins:
                if type(a) is Var:
                    dead_reads[a] = dead_reads.get(a, 0) + 1
    return len(copied) - dead


def _nbytes(v: Var) -> int:
    return v.type.size * (4 if v.type.dtype in ("f32", "i32") else 1 if v.type.dtype == "bool"
                          else 8)


def peak_bytes(graph: Graph) -> int:
    """The largest number of bytes of values alive at once: a value lives from its
    equation to its last read (results to the end); parameters are the caller's. A view
    counts as an array."""
    last: dict[Var, int] = {}
    for k, e in enumerate(graph.eqns):
        for a in e.ins:
            if type(a) is Var:
                last[a] = k
    end = len(graph.eqns)
    for v in graph.outputs:
        last[v] = end
    ends = [0] * (end + 1)
    alive = peak = 0
    for k, e in enumerate(graph.eqns):
        for v in e.outs:
            j = last.get(v)
            if j is not None:
                size = _nbytes(v)
                alive += size
                ends[j] += size
        if alive > peak:
            peak = alive
        alive -= ends[k]
    return peak
