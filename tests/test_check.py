"""The checker (spec chapter 2): a catalogue of ill-typed and ill-linear programs, each with
its expected error class, place and reason, plus well-typed programs it must accept."""

from __future__ import annotations

import pytest

from lintra.reference import (
    ArrayType,
    Binder,
    DType,
    Equation,
    LinearityError,
    LintraError,
    LintraTypeError,
    Literal,
    ParseError,
    Program,
    ShapeError,
    UnsupportedPrimitiveError,
    Var,
    VarType,
    annotate,
    check,
    parse,
    parse_program,
)

# (name, program text, error class, (line, column) or None, words the message must contain)
CATALOGUE = [
    (
        "unbound variable",
        "def f(x: f64[]) -> f64[]:\n    y: f64[] = sin(z)\n    return y\n",
        LintraTypeError, (2, 20), ["z", "not defined"],
    ),
    (
        "variable bound twice",
        "def f(x: f64[]) -> f64[]:\n    x: f64[] = sin(x)\n    return x\n",
        LintraTypeError, (2, 5), ["x", "bound twice"],
    ),
    (
        "unknown primitive",
        "def f(x: f64[]) -> f64[]:\n    y: f64[] = sine(x)\n    return y\n",
        UnsupportedPrimitiveError, (2, 5), ["sine", "sin"],
    ),
    (
        "wrong operand count",
        "def f(x: f64[]) -> f64[]:\n    y: f64[] = sin(x, x)\n    return y\n",
        LintraTypeError, (2, 5), ["sin", "1 operand"],
    ),
    (
        "annotation disagrees with shape",
        "def f(x: f64[3]) -> f64[3]:\n    y: f64[4] = sin(x)\n    return y\n",
        LintraTypeError, (2, 5), ["f64[4]", "f64[3]"],
    ),
    (
        "elementwise shape mismatch",
        "def f(x: f64[3], y: f64[4]) -> f64[3]:\n    z = add(x, y)\n    return z\n",
        ShapeError, (2, 5), ["f64[3]", "f64[4]", "broadcast_in_dim"],
    ),
    (
        "dtype mismatch",
        "def f(x: f64[3], y: f32[3]) -> f64[3]:\n    z = add(x, y)\n    return z\n",
        LintraTypeError, (2, 5), ["f64", "f32"],
    ),
    (
        "float literal into an integer operation",
        "def f(n: i64[]) -> i64[]:\n    m = add(n, 1.5)\n    return m\n",
        LintraTypeError, (2, 16), ["1.5", "i64"],
    ),
    (
        "integer literal out of i32 range",
        "def f(n: i32[]) -> i32[]:\n    m = add(n, 3000000000)\n    return m\n",
        LintraTypeError, (2, 16), ["3000000000", "i32"],
    ),
    (
        "unknown parameter",
        "def f(x: f64[3]) -> f64[]:\n    s = reduce_sum(x, axis=(0,))\n    return s\n",
        LintraTypeError, (2, 5), ["axis", "axes"],
    ),
    (
        "missing parameter",
        "def f(x: f64[3]) -> f64[3]:\n    y = integer_pow(x)\n    return y\n",
        LintraTypeError, (2, 5), ["integer_pow", "y"],
    ),
    (
        "parameter of the wrong kind",
        "def f(x: f64[3]) -> f64[3]:\n    y = integer_pow(x, y=2.5)\n    return y\n",
        LintraTypeError, (2, 5), ["y", "int"],
    ),
    (
        "transcendental of an integer",
        "def f(n: i64[3]) -> i64[3]:\n    y = sin(n)\n    return y\n",
        LintraTypeError, (2, 5), ["sin", "i64"],
    ),
    (
        "wrong result count",
        "def f(x: f64[]) -> (f64[], f64[]):\n    y = sin(x)\n    return y\n",
        LintraTypeError, None, ["2 results", "returns 1"],
    ),
    (
        "returned type differs from the declared one",
        "def f(x: f64[3]) -> f64[]:\n    y = sin(x)\n    return y\n",
        LintraTypeError, (3, 12), ["y", "f64[3]", "f64[]"],
    ),
    (
        "too many binders",
        "def f(x: f64[]) -> f64[]:\n    y, z = sin(x)\n    return y\n",
        LintraTypeError, (2, 5), ["1 result", "2 variables"],
    ),
    (
        "lin on an integer parameter",
        "def f(t: lin i64[3]) -> i64[3]:\n    drop(t)\n    y = iota(dtype=\"i64\", shape=(3,))\n"
        "    return y\n",
        LinearityError, (1, 7), ["lin i64[3]", "float"],
    ),
    (
        "affine: add of a linear value and a literal",
        "def f(t: lin f64[3]) -> lin f64[3]:\n    u = add(t, 1.0)\n    return u\n",
        LinearityError, (2, 16), ["add", "literal 1.0", "affine"],
    ),
    (
        "product of two linear values",
        "def f(t: lin f64[3], s: lin f64[3]) -> lin f64[3]:\n    u = mul(t, s)\n    return u\n",
        LinearityError, (2, 16), ["mul", "t", "s"],
    ),
    (
        "linear denominator",
        "def f(c: f64[3], t: lin f64[3]) -> lin f64[3]:\n    u = div(c, t)\n    return u\n",
        LinearityError, (2, 16), ["div", "t"],
    ),
    (
        "linear value into a non-linear primitive",
        "def f(t: lin f64[3]) -> f64[3]:\n    u = sin(t)\n    return u\n",
        LinearityError, (2, 13), ["sin", "t", "non-linear"],
    ),
    (
        "linear variable used twice",
        "def f(t: lin f64[3]) -> lin f64[3]:\n    u = add(t, t)\n    return u\n",
        LinearityError, (2, 16), ["t", "second time", "dup"],
    ),
    (
        "linear variable returned and used",
        "def f(t: lin f64[3]) -> (lin f64[3], lin f64[3]):\n    u = neg(t)\n    return u, t\n",
        LinearityError, (3, 15), ["t", "second time"],
    ),
    (
        "linear variable never used",
        "def f(c: f64[3], t: lin f64[3]) -> f64[3]:\n    y = sin(c)\n    return y\n",
        LinearityError, (1, 18), ["t", "never used", "drop(t)"],
    ),
    (
        "linear result annotated non-linear",
        "def f(t: lin f64[3]) -> lin f64[3]:\n    u: f64[3] = neg(t)\n    return u\n",
        LinearityError, (2, 5), ["u", "lin f64[3]"],
    ),
    (
        "linear value returned as non-linear",
        "def f(t: lin f64[3]) -> f64[3]:\n    u = neg(t)\n    return u\n",
        LinearityError, (3, 12), ["u", "lin f64[3]", "f64[3]"],
    ),
    (
        "non-linear value returned as linear",
        "def f(c: f64[3]) -> lin f64[3]:\n    u = neg(c)\n    return u\n",
        LinearityError, (3, 12), ["u"],
    ),
    (
        "dup of a non-linear value",
        "def f(c: f64[3]) -> f64[3]:\n    a, b = dup(c)\n    return a\n",
        LinearityError, (2, 16), ["dup", "non-linear"],
    ),
    (
        "zero without annotation",
        "def f(c: f64[3]) -> lin f64[3]:\n    z = zero()\n    return z\n",
        LintraTypeError, (2, 5), ["zero", "annotat"],
    ),
    (
        "call to an unknown def",
        "def f(c: f64[3]) -> f64[3]:\n    z = call(c, fn=\"g\")\n    return z\n",
        LintraTypeError, (2, 5), ["g", "unknown"],
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "place", "words"),
    [pytest.param(t, e, p, w, id=name) for name, t, e, p, w in CATALOGUE],
)
def test_catalogue(text: str, error: type, place: tuple[int, int] | None, words: list[str]
                   ) -> None:
    program = parse_program(text)
    with pytest.raises(LintraError) as info:
        check(program)
    err = info.value
    assert type(err) is error, f"expected {error.__name__}, got {type(err).__name__}: {err}"
    assert err.program == "f"
    if place is not None:
        assert err.location is not None, str(err)
        assert (err.location.line, err.location.column) == place, str(err)
    message = str(err)
    for word in words:
        assert word in message, f"{word!r} not in: {message}"


def test_equation_errors_name_the_equation() -> None:
    text = "def f(x: f64[3]) -> f64[3]:\n    y = cos(x)\n    z = sin(q)\n    return z\n"
    with pytest.raises(LintraTypeError) as info:
        check(parse_program(text))
    assert info.value.equation == "equation 2: z = sin(q)"
    assert "in: equation 2: z = sin(q)" in str(info.value)


def test_recursive_calls_are_refused() -> None:
    module = parse(
        "def f(x: f64[]) -> f64[]:\n    y = call(x, fn=\"g\")\n    return y\n\n"
        "def g(x: f64[]) -> f64[]:\n    y = call(x, fn=\"f\")\n    return y\n"
    )
    with pytest.raises(LintraTypeError, match="recursive calls"):
        check(module)


def test_call_argument_linearity_must_match() -> None:
    module = parse(
        "def g(c: f64[3], t: lin f64[3]) -> lin f64[3]:\n    u = mul(c, t)\n    return u\n\n"
        "def f(c: f64[3], d: f64[3]) -> lin f64[3]:\n    u = call(c, d, fn=\"g\")\n    return u\n"
    )
    with pytest.raises(LinearityError, match="lin f64"):
        check(module)


def test_programs_built_without_text_report_the_equation() -> None:
    f64 = ArrayType(DType.f64, (3,))
    p = Program(
        name="built",
        inputs=(Binder("t", VarType(f64, linear=True)),),
        result_types=(VarType(f64, linear=True),),
        equations=(Equation((Binder("u"),), "add", (Var("t"), Literal(1.0))),),
        outputs=(Var("u"),),
    )
    with pytest.raises(LinearityError) as info:
        check(p)
    assert info.value.location is None
    assert "equation 1: u = add(t, 1.0)" in str(info.value)


def test_accepts_the_linear_discipline() -> None:
    text = (
        "def f(c: f64[3], t: lin f64[3]) -> (lin f64[3], f64[3]):\n"
        "    u, v = dup(t)\n"
        "    a = mul(c, u)\n"
        "    b = neg(v)\n"
        "    s = add(a, b)\n"
        "    z: lin f64[3] = zero()\n"
        "    drop(z)\n"
        "    k = sin(c)\n"
        "    unused = cos(c)\n"
        "    return s, k\n"
    )
    typing = check(parse_program(text))
    annotated = annotate(typing)
    assert "    s: lin f64[3] = add(a, b)" in str(annotated)
    assert "    unused: f64[3] = cos(c)" in str(annotated)
    assert parse_program(str(annotated)) == annotated


def test_parse_error_shows_a_caret() -> None:
    with pytest.raises(ParseError) as info:
        parse("def f(x: f64[]) -> f64[]:\n    y: f64[] = sin(x y)\n    return y\n")
    err = info.value
    assert (err.location.line, err.location.column) == (2, 22)
    lines = str(err).splitlines()
    assert lines[-2].strip() == "y: f64[] = sin(x y)"
    assert lines[-1].index("^") - lines[-2].index("y") == 17


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("def f(x: f64[]) -> f64[]\n    return x\n", (1, 25)),
        ("def f(x: f65[]) -> f64[]:\n    return x\n", (1, 10)),
        ("def f(x: f64[]) -> f64[]:\n    y = sin(x, k=1, x)\n    return y\n", (2, 21)),
        ("def f(x: f64[]) -> f64[]:\n    y = sin(x)\n", (1, 1)),
        ("def f(x: f64[]) -> f64[]:\n    return x\n    y = sin(x)\n", (3, 5)),
        ("    y = sin(x)\n", (1, 1)),
        ("def f(x: f64[]) -> f64[]:\n    y = sin(x, p=(1, 2)\n    return y\n", (2, 24)),
        ("def f(x: f64[]) -> f64[]:\n    y = sin(x, s=\"abc)\n    return y\n", (2, 18)),
        ("def f(x: f64[]) -> f64[]:\n    return 1.0\n", (2, 12)),
        ("def f(x: f64[]) -> f64[]:\n    return x\ndef f(x: f64[]) -> f64[]:\n    return x\n",
         (3, 1)),
        ("", (1, 1)),
    ],
)
def test_parse_errors_are_located(text: str, place: tuple[int, int]) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    loc = info.value.location
    assert loc is not None and (loc.line, loc.column) == place, str(info.value)
