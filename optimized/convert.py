"""The boundary with the language: lintra programs in, lintra programs out.

:func:`from_program` reads a :class:`~lintra.reference.syntax.Program` into a
:class:`~lintra.optimized.ir.Graph` with the engine's own type inference (spec 2.2 for
literals, the rules' shape rules, the linearity rules of 2.4), one pass, linear in the size of
the program; ``dup`` and ``drop`` disappear (inside the engine a linear variable may be used
any number of times). :func:`to_program` writes a graph back as a program the reference's
``check`` accepts: every variable annotated, literals that would take another dtype in
context made explicit, and the ``dup``/``drop`` discipline restored.
"""

from __future__ import annotations

from lintra.optimized.ir import (
    FLOAT_DTYPES,
    INT_DTYPES,
    Atom,
    AType,
    Eqn,
    Graph,
    Lit,
    Origin,
    Var,
    collector_paused_during,
    judge,
    lookup,
    require_float_results,
)
from lintra.reference.check import FLOAT_OVERFLOW
from lintra.reference.errors import LinearityError, LintraError, LintraTypeError
from lintra.reference.syntax import (
    ArrayType,
    Binder,
    DType,
    Equation,
    Literal,
    Program,
    VarType,
)
from lintra.reference.syntax import Var as SVar

_INT_RANGE = {"i64": (-(2**63), 2**63 - 1), "i32": (-(2**31), 2**31 - 1)}


def atype(t: ArrayType) -> AType:
    return AType(t.dtype.value, tuple(t.shape))


def array_type(t: AType) -> ArrayType:
    return ArrayType(DType(t.dtype), t.shape)


# --------------------------------------------------------------------------------------------
# Program -> Graph


@collector_paused_during
def from_program(p: Program) -> Graph:
    """The graph of ``p``, typed by the engine's rules. Raises the lintra error classes,
    naming the program, the line and column and the equation."""
    env: dict[str, Atom] = {}
    uses: dict[str, int] = {}  # uses of each linear name (dup's results are names of their own)
    inputs = []
    for b in p.inputs:
        if b.type is None:
            raise LintraTypeError(f"parameter {b.name} has no type", program=p.name,
                                  location=b.loc, variable=b.name)
        if b.name in env:
            raise LintraTypeError(f"{b.name} is bound twice", program=p.name,
                                  location=b.loc, variable=b.name)
        _check_binder_type(b, p.name)
        v = Var(atype(b.type.array), b.type.linear)
        env[b.name] = v
        inputs.append(v)
    eqns: list[Eqn] = []
    literals: dict[tuple, Lit] = {}  # the program's literals by dtype and value (shared)
    for k, e in enumerate(p.equations, 1):
        try:
            _read_equation(k, e, env, eqns, uses, literals)
        except LintraError as err:
            raise err.at(program=p.name, location=e.loc, equation=f"equation {k}: {e}"
                         ) from None
    outputs = []
    for v, declared in zip(p.outputs, p.result_types):
        got = env.get(v.name)
        if not isinstance(got, Var):
            raise LintraTypeError(f"returned variable {v.name} is not bound",
                                  program=p.name, location=v.loc, variable=v.name)
        if atype(declared.array) != got.type or declared.linear != got.linear:
            raise LintraTypeError(
                f"returned variable {v.name} has type {_vt(got)}, but the program declares "
                f"{declared}", program=p.name, location=v.loc, variable=v.name)
        if got.linear:
            uses[v.name] = uses.get(v.name, 0) + 1
        outputs.append(got)
    if len(p.outputs) != len(p.result_types):
        raise LintraTypeError(f"{p.name} declares {len(p.result_types)} results but returns "
                              f"{len(p.outputs)}", program=p.name, location=p.loc)
    _check_linear_uses(p, env, uses)
    return Graph(p.name, inputs, eqns, outputs)


def _vt(v: Var) -> str:
    return f"lin {v.type}" if v.linear else str(v.type)


def _check_binder_type(b: Binder, program: str) -> None:
    if b.type is not None and b.type.linear and not b.type.array.dtype.is_float:
        raise LinearityError(f"{b.name}: only float types can be linear, not "
                             f"{b.type.array.dtype}", program=program, variable=b.name)


_STRUCTURAL = frozenset({"call", "dup", "drop", "zero"})
"""Primitives :func:`_read_equation` treats apart from the type rules."""


def _read_equation(k: int, e: Equation, env: dict[str, Atom], eqns: list[Eqn],
                   uses: dict[str, int], literals: dict[tuple, Lit]) -> None:
    """Append the engine's equation for ``e``, checked as spec 2.2 to 2.4 say (``dup`` and
    ``drop`` only update ``env``). Runs once per equation: fields are read once, and an
    equation with one unannotated result (most of a long program) takes the shortest
    path."""
    prim = e.primitive
    rule = lookup(prim)
    if prim == "call":
        raise LintraTypeError("the optimized engine runs single programs: inline calls first")
    operands: list[Atom | None] = []
    has_literal = False
    for a in e.inputs:
        if isinstance(a, SVar):
            got = env.get(a.name)
            if got is None:
                raise LintraTypeError(f"variable {a.name} is not bound before its use",
                                      location=a.loc, variable=a.name)
            if got.linear:
                uses[a.name] = uses.get(a.name, 0) + 1
            operands.append(got)
        else:
            operands.append(None)
            has_literal = True
    ins = (_with_literals(e, operands, rule.shared_positions(len(operands)), literals)
           if has_literal else tuple(operands))  # type: ignore[arg-type]
    outputs = e.outputs
    annotated = False
    for b in outputs:
        if b.name in env:
            raise LintraTypeError(f"{b.name} is bound twice", location=b.loc, variable=b.name)
        if b.type is not None:
            annotated = True
            _check_binder_type(b, "")
    if prim in _STRUCTURAL:
        if prim == "dup":  # inside the engine a linear value is shared freely
            rule.normalized(e.param_dict, ins)
            rule.linearity.result_linear(ins, prim)
            if len(outputs) != 2:
                raise LintraTypeError(f"dup gives 2 results, {len(outputs)} binders")
            for b in outputs:
                _check_annotation(b, ins[0].type, True)
                env[b.name] = ins[0]
            return
        if prim == "drop":
            rule.normalized(e.param_dict, ins)
            rule.linearity.result_linear(ins, prim)
            if outputs:
                raise LintraTypeError("drop gives no result")
            return
    types: tuple[AType, ...]
    if prim == "zero":
        params = rule.normalized(dict(e.params) if e.params else {}, ins)
        if len(outputs) != 1 or outputs[0].type is None or not outputs[0].type.linear:
            raise LinearityError("zero() needs one binder annotated with a linear type")
        types = (atype(outputs[0].type.array),)
        linear = rule.linearity.result_linear(ins, prim)
        if linear:
            require_float_results(prim, types)
    else:
        params, types, linear = judge(rule, ins, dict(e.params) if e.params else None)
    if len(types) != len(outputs):
        raise LintraTypeError(f"{prim} gives {len(types)} result"
                              f"{'s' if len(types) != 1 else ''}, {len(outputs)} bound")
    if len(types) == 1 and not annotated:  # the common case
        v = env[outputs[0].name] = Var(types[0], linear)
        outs: tuple[Var, ...] = (v,)
    else:
        made = []
        for b, t in zip(outputs, types):
            if b.type is not None:
                _check_annotation(b, t, linear)
            v = env[b.name] = Var(t, linear)
            made.append(v)
        outs = tuple(made)
    eqns.append(Eqn(prim, ins, outs, params, Origin(k, e)))


def _check_annotation(b: Binder, t: AType, linear: bool) -> None:
    if b.type is None:
        return
    if atype(b.type.array) != t:
        raise LintraTypeError(f"{b.name} is annotated {b.type.array}, but its type is {t}",
                    location=b.loc, variable=b.name)
    if b.type.linear != linear:
        raise LinearityError(
            f"{b.name} is annotated {'lin ' if b.type.linear else ''}{b.type.array}, but it "
            f"is {'linear' if linear else 'not linear'}", location=b.loc, variable=b.name)


def _with_literals(e: Equation, operands: list[Atom | None], positions: tuple[int, ...],
                   shared: dict[tuple, Lit]) -> tuple[Atom, ...]:
    """Operands with each literal typed as spec 2.2 says: in a shared position, the dtype of
    the first variable among the shared positions; elsewhere its default. Equal literals of
    one dtype are one :class:`Lit` (``shared``, by dtype, Python type and value), so that a
    long program's repeated constants are made, and named by its plans, once."""
    context = None
    for k in positions:
        given = operands[k]
        if given is not None:
            context = given.type.dtype
            break
    out: list[Atom] = []
    for k, (a, given) in enumerate(zip(e.inputs, operands)):
        if given is not None:
            out.append(given)
            continue
        assert isinstance(a, Literal)
        dtype = context if context is not None and k in positions else default_dtype(a)
        value = a.value
        if value and value == value:  # not a zero (0.0 == -0.0) nor nan: shared
            key = (dtype, value.__class__, value)
            lit = shared.get(key)
            if lit is None:
                lit = shared[key] = Lit(literal_value(a, dtype), dtype)
            out.append(lit)
        else:
            out.append(Lit(literal_value(a, dtype), dtype))
    return tuple(out)


_DEFAULT_DTYPES = {"bool": "bool", "int": "i64", "float": "f64"}


def default_dtype(a: Literal) -> str:
    return _DEFAULT_DTYPES[a.kind]


def literal_value(a: Literal, dtype: str) -> bool | int | float:
    """The literal's value in ``dtype``, or a LintraTypeError if it is not representable."""
    kind = a.kind
    if dtype == "bool":
        if kind != "bool":
            raise LintraTypeError(f"literal {a} cannot have dtype bool (only true or false)")
        return bool(a.value)
    if kind == "bool":
        raise LintraTypeError(f"literal {a} cannot have dtype {dtype}")
    if dtype in INT_DTYPES:
        if kind != "int":
            raise LintraTypeError(f"float literal {a} cannot have dtype {dtype}")
        lo, hi = _INT_RANGE[dtype]
        if not lo <= a.value <= hi:
            raise LintraTypeError(f"literal {a} is outside the range of {dtype}")
        return int(a.value)
    if dtype == "f32" and kind == "int":
        return _int_to_f32(a.value)
    try:
        value = float(a.value)
    except OverflowError:
        raise LintraTypeError(f"literal {a} is beyond the range of {dtype}") from None
    if dtype == "f32" and value == value and F32_OVERFLOW <= abs(value) < float("inf"):
        raise LintraTypeError(f"literal {a} has no finite value in f32 (it rounds to "
                              "infinity; write inf for infinity)")
    return value


def _int_to_f32(n: int) -> float:
    """The float32 nearest the integer ``n`` (ties to even), as a Python float, rounded once:
    ``float(n)`` would round to float64 first and could land on a float32 midpoint
    (2^100 + 2^76 + 1 would become 2^100, not 2^100 + 2^77). A LintraTypeError where it
    rounds to infinity."""
    magnitude = abs(n)
    shift = max(magnitude.bit_length() - 24, 0)  # float32 keeps 24 significant bits
    kept, dropped = divmod(magnitude, 1 << shift)
    half = (1 << shift) >> 1
    if shift and (dropped > half or (dropped == half and kept & 1)):
        kept += 1
    rounded = kept << shift
    if rounded >= 2**128:
        raise LintraTypeError(f"literal {n} has no finite value in f32 (it rounds to "
                              "infinity; write inf for infinity)")
    return float(-rounded if n < 0 else rounded)


F32_OVERFLOW = FLOAT_OVERFLOW[DType.f32]
"""The least magnitude that rounds to infinity in f32 (spec 2.2's threshold)."""


def _check_linear_uses(p: Program, env: dict[str, Atom], uses: dict[str, int]) -> None:
    """L-Use and L-Exhaust (spec 2.4): every linear name is used exactly once."""
    for name, v in env.items():
        if isinstance(v, Var) and v.linear:
            n = uses.get(name, 0)
            if n == 0:
                raise LinearityError(f"linear variable {name} is never used; discard it "
                                     f"with drop({name})", program=p.name, variable=name)
            if n > 1:
                raise LinearityError(f"linear variable {name} is used {n} times; share a "
                                     f"linear value with dup({name})", program=p.name,
                                     variable=name)


# --------------------------------------------------------------------------------------------
# Graph -> Program


def to_program(g: Graph, name: str | None = None,
               input_names: tuple[str, ...] | None = None) -> Program:
    """``g`` as a lintra program the reference checks: annotated binders, explicit dtypes for
    literals whose context would give them another, ``dup``/``drop`` for linear variables
    used several times or never."""
    names: dict[Var, str] = {}
    counter = 0

    def fresh(stem: str = "v") -> str:
        nonlocal counter
        counter += 1
        return f"{stem}{counter}"

    def binder(v: Var, label: str) -> Binder:
        return Binder(label, VarType(array_type(v.type), v.linear))

    linear_uses: dict[Var, int] = {}
    for e in g.eqns:
        for a in e.ins:
            if isinstance(a, Var) and a.linear:
                linear_uses[a] = linear_uses.get(a, 0) + 1
    for v in g.outputs:
        if v.linear:
            linear_uses[v] = linear_uses.get(v, 0) + 1

    copies: dict[Var, list[str]] = {}
    equations: list[Equation] = []

    def share(v: Var) -> None:
        """Right after ``v`` is bound: dup it into as many names as it has uses, or drop
        it if it has none."""
        n = linear_uses.get(v, 0)
        if not v.linear or n == 1:
            return
        if n == 0:
            equations.append(Equation((), "drop", (SVar(names[v]),)))
            return
        current = names[v]
        got = []
        for _ in range(n - 1):
            a, rest = fresh("s"), fresh("s")
            equations.append(Equation((binder(v, a), binder(v, rest)), "dup", (SVar(current),)))
            got.append(a)
            current = rest
        got.append(current)
        copies[v] = got

    def use(v: Var) -> SVar:
        if v in copies:
            return SVar(copies[v].pop(0))
        return SVar(names[v])

    inputs = []
    for k, v in enumerate(g.inputs):
        label = input_names[k] if input_names else f"x{k}"
        names[v] = label
        inputs.append(binder(v, label))
    for v in g.inputs:
        share(v)
    for e in g.eqns:
        rule = lookup(e.prim)
        args = []
        positions = rule.shared_positions(len(e.ins))
        context = _context_dtype(e, positions)
        for k, a in enumerate(e.ins):
            if isinstance(a, Var):
                args.append(use(a))
                continue
            shared = k in positions
            natural = context if shared and context is not None else _natural(a)
            if natural == a.dtype:
                args.append(Literal(a.value))
            else:  # make the dtype explicit
                label = fresh()
                equations.append(Equation(
                    (Binder(label, VarType(ArrayType(DType(a.dtype), ()))),),
                    "convert_element_type", (Literal(a.value),),
                    (("new_dtype", a.dtype),)))
                args.append(SVar(label))
        outs = []
        for v in e.outs:
            names[v] = fresh()
            outs.append(binder(v, names[v]))
        params = tuple((k, _param(v)) for k, v in e.params.items())
        equations.append(Equation(tuple(outs), e.prim, tuple(args), params))
        for v in e.outs:
            share(v)
    outputs = tuple(use(v) for v in g.outputs)
    return Program(name or g.name, tuple(inputs),
                   tuple(VarType(array_type(v.type), v.linear) for v in g.outputs),
                   tuple(equations), outputs)


def _natural(a: Lit) -> str:
    if isinstance(a.value, bool):
        return "bool"
    return "i64" if isinstance(a.value, int) else "f64"


def _context_dtype(e: Eqn, positions: tuple[int, ...]) -> str | None:
    for k in positions:
        if isinstance(e.ins[k], Var):
            return e.ins[k].type.dtype
    return None


def _param(value: object) -> object:
    if isinstance(value, list):
        return tuple(_param(v) for v in value)
    return value


__all__ = ["FLOAT_DTYPES", "array_type", "atype", "from_program", "to_program"]
