"""Misuse at the API boundary (spec 2.1, 2.6, 3.0.2 E-Args, 5.3): every bad argument, argnums,
program or shape raises a specific lintra error naming what was expected, in both number
domains, and nothing wraps, truncates or rounds silently."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import replace

import mpmath
import numpy as np
import pytest

from lintra.reference import (
    LintraError,
    LintraTypeError,
    ParseError,
    ShapeError,
    check,
    derived,
    evaluate,
    parse,
    parse_program,
)
from lintra.reference.__main__ import main as reference_main
from lintra.reference.syntax import (
    ArrayType,
    Binder,
    DType,
    Literal,
    Program,
    Var,
    VarType,
)
from tests.test_spec import by_kind as spec_blocks

DOMAINS = [None, 20]

I64 = parse_program("def h(n: i64[]) -> i64[]:\n    m: i64[] = add(n, 0)\n    return m\n")
I32 = parse_program("def h(n: i32[]) -> i32[]:\n    m: i32[] = add(n, 0)\n    return m\n")
FLAGS = parse_program("def b(m: bool[2]) -> bool[2]:\n    n: bool[2] = not(m)\n    return n\n")
SQUARE = parse_program("def g(x: f64[]) -> f64[]:\n    z: f64[] = mul(x, x)\n    return z\n")
SINE2 = parse_program("def v(x: f64[2]) -> f64[2]:\n    y: f64[2] = sin(x)\n    return y\n")
COPY32 = parse_program("def k(x: f32[2]) -> f32[2]:\n    y: f32[2] = mul(x, 1.0)\n    return y\n")


def refused(error: type[LintraError], words: list[str], f, *args, **kwargs) -> LintraError:
    """``f(*args)`` raises exactly ``error`` (not a subclass of another kind) whose message
    holds every word."""
    with pytest.raises(LintraError) as info:
        f(*args, **kwargs)
    assert type(info.value) is error, repr(info.value)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    return info.value


# -- E-Args: integers never wrap ------------------------------------------------------------


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize(("program", "value"), [
    (I64, 2.0**63),  # the float nearest 2^63 - 1 is 2^63 itself
    (I64, -(2.0**63) * (1 + 2**-52)),
    (I64, 2**63),
    (I64, np.uint64(2**63)),
    (I32, np.float32(2**31)),
    (I32, 2**31),
    (I32, np.int64(-(2**31) - 1)),
    (I32, np.array([1, 2**40], dtype=object)[1]),
])
def test_integer_arguments_out_of_range_are_refused(program, value, dps) -> None:
    err = refused(LintraTypeError, ["argument n", "range of", "never wrap"],
                  evaluate, program, value, dps=dps)
    assert err.variable == "n"


@pytest.mark.parametrize("dps", DOMAINS)
def test_integer_range_ends_are_accepted_exactly(dps) -> None:
    for value in (2**63 - 1, -(2**63), np.int64(2**63 - 1), -(2.0**63)):
        (out,) = evaluate(I64, value, dps=dps)
        assert int(out) == int(value)
    for value in (2**31 - 1, np.float32(-(2**31)), np.array(-(2**31), dtype=object)):
        (out,) = evaluate(I32, value, dps=dps)
        assert int(out) == int(value) and out.dtype == np.int32


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize("value", [2.5, np.nan, np.inf, True, "3", None, 1j])
def test_integer_parameters_take_integers_only(value, dps) -> None:
    refused(LintraTypeError, ["argument n", "i64"], evaluate, I64, value, dps=dps)


@pytest.mark.parametrize("dps", DOMAINS)
def test_bool_parameters_take_booleans_only(dps) -> None:
    refused(LintraTypeError, ["argument m", "booleans"], evaluate, FLAGS, [1, 0], dps=dps)
    (out,) = evaluate(FLAGS, np.array([True, False], dtype=object), dps=dps)
    assert out.tolist() == [False, True]


# -- E-Args: float parameters -----------------------------------------------------------------


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize("value", [2**1100, -(2**1024), 2**1024 - 2**970])
def test_integers_beyond_the_float_range_are_refused(value, dps) -> None:
    refused(LintraTypeError, ["argument x", "no finite value in f64"],
            evaluate, SQUARE, value, dps=dps)


@pytest.mark.parametrize("dps", DOMAINS)
def test_the_largest_integer_below_the_overflow_threshold_rounds_to_the_largest_float(dps):
    largest = np.finfo(np.float64).max
    (out,) = evaluate(parse_program(
        "def g(x: f64[]) -> f64[]:\n    y: f64[] = mul(x, 0.5)\n    return y\n"),
        2**1024 - 2**970 - 1, dps=dps)
    assert float(out) == largest / 2


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize("value", [[[1.0], 2.0], [1.0, [2.0, 3.0]], [[1.0, 2.0], [3.0]]])
def test_ragged_nested_lists_are_shape_errors(value, dps) -> None:
    refused(ShapeError, ["argument x", "f64[2]", "rectangular"], evaluate, SINE2, value, dps=dps)


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize("value", [None, "abc", 1j, [1.0, None], {"a": 1}])
def test_non_numbers_are_type_errors(value, dps) -> None:
    program = SQUARE if np.shape(value) == () else SINE2
    with pytest.raises(LintraTypeError) as info:
        evaluate(program, value, dps=dps)
    assert "argument x" in str(info.value)


def test_an_empty_argument_with_a_long_dimension_is_read_without_materializing_it() -> None:
    """f64[0, 2^31] is empty: E-Args reads an object array of that type without building a
    range per dimension (the fuzz run found np.ndindex exhausting memory there)."""
    p = parse_program("def f(x: f64[0, 2147483648]) -> f64[0, 2147483648]:\n"
                      "    y = abs(x)\n    return y\n")
    for arg in (np.zeros((0, 2**31)), np.zeros((0, 2**31), dtype=object)):
        (y,) = evaluate(p, arg)
        assert y.shape == (0, 2**31) and y.dtype == np.float64


def test_python_floats_in_object_arrays_are_rounded_to_f32_in_both_domains() -> None:
    """E-Args rounds a binary float to the parameter's dtype before the mpmath domain takes
    it exactly: an object array of Python floats means the same point as a float64 array."""
    values = [0.1, 1 / 3]
    expected = [float(np.float32(v)) for v in values]
    for arg in (np.array(values, dtype=object), np.array(values)):
        (out,) = evaluate(COPY32, arg, dps=30)
        assert [float(v) for v in out] == expected
        assert out[0] != 0.1  # not the float64 0.1 taken exactly
    # 2^24 + 1 is a tie (to even: 2^24); 2^100 + 2^76 + 1 lies just above a tie, which a
    # rounding through float64 (to 2^100 + 2^76, then to even) would lose
    ints = np.array([2**24 + 1, 2**100 + 2**76 + 1], dtype=object)
    (out,) = evaluate(COPY32, ints, dps=30)
    assert [int(v) for v in out] == [2**24, 2**100 + 2**77]
    (out,) = evaluate(COPY32, ints)
    assert [int(v) for v in out] == [2**24, 2**100 + 2**77]


def test_a_decimal_string_is_still_the_real_it_denotes() -> None:
    (out,) = evaluate(COPY32, np.array(["0.1", "0.25"], dtype=object), dps=30)
    with mpmath.workdps(40):
        assert abs(out[0] - mpmath.mpf("0.1")) < mpmath.mpf("1e-29")


def test_evaluate_given_a_module_or_no_program() -> None:
    module = parse(str(SQUARE))
    refused(LintraTypeError, ["Program", "Module"], evaluate, module, 1.0)
    refused(LintraTypeError, ["Program", "str"], evaluate, "def g", 1.0)
    refused(LintraTypeError, ["argument x", "Program"], evaluate, SQUARE, SQUARE)


# -- derived functions: primals, tangents, argnums, programs (spec 5.3) ---------------------

MUL = parse_program("def f(x: f64[], y: f64[]) -> f64[]:\n    z: f64[] = mul(x, y)\n    return z\n")
MIXED = parse_program(
    "def m(x: f64[2], n: i64[], y: f64[]) -> f64[]:\n"
    "    s: f64[] = reduce_sum(x, axes=(0,))\n    z: f64[] = mul(s, y)\n    return z\n"
)


@pytest.mark.parametrize("dps", DOMAINS)
def test_jvp_checks_primals_and_tangents_separately(dps) -> None:
    """``jvp(p, [2.0], [3.0, 5.0, 7.0])`` used to run as ``jvp(p, [2.0, 3.0], [5.0, 7.0])``."""
    refused(LintraTypeError, ["jvp", "2 primals", "x: f64[]", "got 1"],
            derived.jvp, MUL, [2.0], [3.0, 5.0, 7.0], dps=dps)
    refused(LintraTypeError, ["jvp", "2 tangents", "got 3"],
            derived.jvp, MUL, [2.0, 3.0], [3.0, 5.0, 7.0], dps=dps)
    refused(LintraTypeError, ["hvp", "2 tangents", "got 1"],
            derived.hvp, MUL, [2.0, 3.0], [1.0], dps=dps)
    refused(LintraTypeError, ["list or tuple"], derived.jvp, MUL, 2.0, [1.0], dps=dps)
    # one tangent per float parameter: the integer parameter n has none
    refused(LintraTypeError, ["jvp", "m takes 2 tangents", "x: f64[2], y: f64[]", "got 3"],
            derived.jvp, MIXED, [[1.0, 2.0], 3, 4.0], [[1.0, 0.0], 0.0, 1.0], dps=dps)
    (z,), (dz,) = derived.jvp(MIXED, [[1.0, 2.0], 3, 4.0], [[1.0, 0.0], 1.0], dps=dps)
    assert float(z) == 12.0 and float(dz) == 4.0 + 3.0


@pytest.mark.parametrize("dps", DOMAINS)
@pytest.mark.parametrize("tangent", [np.array([1, 2]), [1, 2], np.array([True, False])])
def test_integer_and_boolean_tangents_are_refused(tangent, dps) -> None:
    refused(LintraTypeError, ["tangent for x", "f64[2]", "float data"],
            derived.jvp, SINE2, [[0.5, 1.0]], [tangent], dps=dps)
    _, lin = derived.linearize(SINE2, [0.5, 1.0], dps=dps)
    refused(LintraTypeError, ["linear argument 1", "f64[2]"], lin, tangent)


@pytest.mark.parametrize("dps", DOMAINS)
def test_tangent_shapes_and_nesting(dps) -> None:
    refused(ShapeError, ["tangent for x", "f64[2]", "shape (3,)"],
            derived.jvp, SINE2, [[0.5, 1.0]], [[1.0, 2.0, 3.0]], dps=dps)
    refused(ShapeError, ["tangent for x", "rectangular"],
            derived.jvp, SINE2, [[0.5, 1.0]], [[[1.0], 2.0]], dps=dps)
    _, pullback = derived.vjp(SINE2, [0.5, 1.0], dps=dps)
    refused(ShapeError, ["f64[2]", "rectangular"], pullback, [[1.0], 2.0])


@pytest.mark.parametrize("argnums", [None, 1.0, True, False, (0, 0), (1, -1), "0", [0.0],
                                     ((0,),), 2, -3])
def test_bad_argnums_are_type_errors(argnums) -> None:
    for f in (derived.grad, derived.value_and_grad, derived.jacfwd, derived.jacrev,
              derived.hessian):
        refused(LintraTypeError, ["argnums"], f, MUL, 2.0, 3.0, argnums=argnums)


def test_numpy_integers_are_argnums() -> None:
    """An ``np.int64`` selects one argument as a Python int does (one array back)."""
    g = derived.grad(MUL, 2.0, 3.0, argnums=np.int64(1))
    assert isinstance(g, np.ndarray) and float(g) == 2.0
    gs = derived.grad(MUL, 2.0, 3.0, argnums=(np.int32(1), 0))
    assert [float(v) for v in gs] == [2.0, 3.0]


def test_programs_and_linear_maps_are_not_confused() -> None:
    module = parse(str(MUL))
    _, lin = derived.linearize(MUL, 2.0, 3.0)
    refused(LintraTypeError, ["transpose", "Program", "transpose_program"],
            derived.transpose, MUL)
    refused(LintraTypeError, ["transpose", "Module"], derived.transpose, module)
    for f, args in ((derived.grad, (2.0, 3.0)), (derived.linearize, (2.0, 3.0)),
                    (derived.vjp, (2.0, 3.0)), (derived.jacfwd, (2.0, 3.0)),
                    (derived.jacrev, (2.0, 3.0)), (derived.hessian, (2.0, 3.0)),
                    (derived.jvp, ([2.0, 3.0], [1.0, 1.0])),
                    (derived.hvp, ([2.0, 3.0], [1.0, 1.0]))):
        refused(LintraTypeError, ["takes a Program", "Module"], f, module, *args)
        refused(LintraTypeError, ["takes a Program", "LinearFunction"], f, lin, *args)
    refused(LintraTypeError, ["linear argument 1", "LinearFunction"], lin, lin, 1.0)


# -- shape arithmetic limits (spec 2.1) -------------------------------------------------------


def _one_equation(param: str, arg: str = "x: f64[0]", result: str = "f64[0]") -> str:
    return f"def r({arg}) -> {result}:\n    y = reshape(x, new_sizes={param})\n    return y\n"


@pytest.mark.parametrize(("text", "error", "words"), [
    # the int64 product of the sizes wraps to 0, which used to pass
    (_one_equation("(4294967296, 4294967296)"), ShapeError, ["y", "2^60", "elements"]),
    (_one_equation("(1152921504606846976, 0)"), ShapeError, ["y", "1152921504606846976"]),
    (_one_equation("(0, 2147483648, 2147483648)"), ShapeError, ["y", "non-zero dimensions"]),
    (_one_equation("(18446744073709551616,)", "x: f64[1]", "f64[1]"), LintraTypeError,
     ["new_sizes", "range of i64"]),
    (_one_equation("(-18446744073709551616,)", "x: f64[1]", "f64[1]"), LintraTypeError,
     ["new_sizes", "range of i64"]),
    (_one_equation("(" + "1, " * 33 + ")", "x: f64[1]", "f64[1]"), ShapeError,
     ["rank 33", "32"]),
    ("def r(x: f64[" + ", ".join(["1"] * 65) + "]) -> f64[]:\n    return x\n", ShapeError,
     ["type of x", "rank 65"]),
    ("def r(x: f64[]) -> f64[1152921504606846976]:\n    return x\n", ShapeError,
     ["result type", "2^60"]),
    ("def r(x: f64[]) -> f64[]:\n    y = add(x, 1" + "0" * 400 + ")\n    return y\n",
     LintraTypeError, ["integer literal", "no finite value in f64", "401 digits"]),
    ("def r(x: f32[]) -> f32[]:\n    y = add(x, 340282356779733661637539395458142568448)\n"
     "    return y\n", LintraTypeError, ["no finite value in f32"]),
])
def test_shape_limits_and_huge_integers_are_refused_by_check(text, error, words) -> None:
    err = refused(error, words, check, parse_program(text))
    assert err.location is not None  # the place is named


def test_the_limits_themselves_are_accepted() -> None:
    """Rank 32, 2^60 - 1 elements in a declared type, the largest i64 in a parameter and the
    largest integer that rounds to a finite f32 all check."""
    check(parse_program("def r(x: f64[" + ", ".join(["1"] * 32) + "]) -> f64[]:\n"
                        "    y = reshape(x, new_sizes=())\n    return y\n"))
    check(parse_program(_one_equation("(1152921504606846975, 0)")
                        .replace("-> f64[0]", "-> f64[1152921504606846975, 0]")
                        ))
    check(parse_program("def r(x: f32[]) -> f32[]:\n"
                        "    y = add(x, 340282356779733661637539395458142568447)\n    return y\n"))
    for shape in ((0, 2**30, 2**30 - 1), (2**59, 0, 1), (0,) * 32):
        text = ", ".join(map(str, shape))
        p = parse_program(f"def r(x: f64[{text}]) -> f64[{text}]:\n    y = abs(x)\n"
                          "    return y\n")
        check(p)
        for dtype in (np.float64, object):  # NumPy holds every type the limits accept
            (y,) = evaluate(p, np.zeros(shape, dtype))
            assert y.shape == shape
    (y,) = evaluate(parse_program("def r(x: f64[]) -> f64[]:\n"
                                  f"    y = add(x, {2**1024 - 2**970 - 1})\n    return y\n"), 0.0)
    assert float(y) == np.finfo(np.float64).max


# -- names in programs built from records (spec 1.3, 1.5) -------------------------------------

SINE = parse_program("def f(x: f64[]) -> f64[]:\n    y: f64[] = sin(x)\n    return y\n")


def _renamed_result(name: object):
    e = SINE.equations[0]
    binder = replace(e.outputs[0], name=name)
    return replace(SINE, equations=(replace(e, outputs=(binder,)),), outputs=(Var(name),))


@pytest.mark.parametrize("name", ["lin", "x y", "", "f64", "return", "1a", "a-b", "é", "a\n"])
def test_names_that_would_not_parse_are_refused(name) -> None:
    for program in (_renamed_result(name), replace(SINE, name=name),
                    replace(SINE, inputs=(Binder(name, SINE.inputs[0].type),))):
        with pytest.raises(LintraTypeError) as info:
            check(program)
        assert "name" in str(info.value) or "reserved" in str(info.value)
        with pytest.raises(LintraError):  # the printed text indeed does not parse back
            assert parse_program(str(program)) == program


@pytest.mark.parametrize("name", ["_", "x_1", "Lin", "f64x", "inf_"])
def test_names_that_parse_are_accepted(name) -> None:
    program = _renamed_result(name)
    check(program)
    assert parse_program(str(program)) == program


def test_malformed_records_are_type_errors() -> None:
    e = SINE.equations[0]
    bad = [
        replace(SINE, name=3),
        replace(SINE, outputs=(Literal(1.0),)),
        replace(SINE, equations=(replace(e, params=(("axes", (0,)), ("axes", (0,)))),)),
        replace(SINE, equations=(replace(e, params=(("not a name", 1),)),)),
        replace(SINE, equations=(replace(e, inputs=("x",)),)),
        replace(SINE, inputs=(Binder("x", VarType(ArrayType(DType.f64, (1.5,)))),)),
        replace(SINE, inputs=(Binder("x", VarType(ArrayType(DType.f64, (True,)))),)),
        replace(SINE, inputs=(Binder("x", VarType(ArrayType("f64", ())),),)),
    ]
    for program in bad:
        with pytest.raises(LintraTypeError):
            check(program)


# -- the command line runs integer and boolean parameters in mpmath ---------------------------

NUMBER = re.compile(r"[-+]?(?:inf|nan|\d+(?:\.\d*)?(?:e[-+]?\d+)?)|True|False", re.IGNORECASE)


def _with_exact_parameters() -> list:
    chosen = []
    for block in spec_blocks("lintra-eval"):
        module = parse(block.program)
        fields = {k.strip(): v.strip() for k, _, v in
                  (line.partition(":") for line in block.text.splitlines() if line.strip())}
        p = module[fields.get("fn") or next(iter(module))]
        if any(not b.type.array.dtype.is_float for b in p.inputs):
            chosen.append(pytest.param(block, p.name, fields, id=block.id))
    return chosen


@pytest.mark.parametrize("dps", [None, 20])
@pytest.mark.parametrize(("block", "name", "fields"), _with_exact_parameters())
def test_command_line_runs_spec_examples_with_integer_parameters(
        block, name, fields, dps, tmp_path, capsys) -> None:
    """The spec's examples with i32, i64 or bool parameters (its indexing examples among
    them) run from the command line in both domains and print the stated values: exactly
    for integers and booleans; in mpmath, floats within half an ulp of float64 (the stated
    value is the exact result rounded, spec/README.md) plus the printed digits' rounding."""
    path = tmp_path / "example.lintra"
    path.write_text(block.program, encoding="utf-8")
    argv = [str(path), "--fn", name, "--args", fields["args"]]
    assert reference_main(argv + (["--dps", str(dps)] if dps else [])) == 0
    printed = capsys.readouterr().out
    shown = re.split(r"^\w+: (?:lin )?\w+\[[^\]]*\] = ", printed, flags=re.MULTILINE)[1:]
    expected = json.loads(fields["expect"])
    assert len(shown) == len(expected)
    for text, want in zip(shown, expected):
        got = NUMBER.findall(text)
        flat = np.ravel(np.asarray(want, dtype=object)).tolist()
        assert len(got) == len(flat), (text, want)
        for g, w in zip(got, flat):
            if isinstance(w, bool) or (isinstance(w, int) and "." not in g and "e" not in g):
                assert g in (str(w),), (g, w)
                continue
            g, w = float(g), float(w)
            if dps is None:
                continue  # float64 results are held to their bounds elsewhere (test_spec)
            if math.isnan(w) or math.isinf(w):
                assert g == w or (math.isnan(g) and math.isnan(w))
            else:
                tol = (2.0**-53 + 0.5e-19) * abs(w) + 2.0**-1074
                assert abs(g - w) <= tol, (g, w)
    assert len(_with_exact_parameters()) >= 2


def test_command_line_reports_bad_integer_arguments(tmp_path, capsys) -> None:
    path = tmp_path / "h.lintra"
    path.write_text(str(I64), encoding="utf-8")
    for args, words in ((["[9223372036854775808]"], "range of i64"),
                        (["[2.5]"], "non-integral"), (["[true]"], "integers")):
        assert reference_main([str(path), "--args", *args, "--dps", "20"]) == 1
        assert words in capsys.readouterr().err
    assert reference_main([str(path), "--args", "[9223372036854775807]", "--dps", "20"]) == 0
    assert "9223372036854775807" in capsys.readouterr().out


def test_python_dash_m_runs_an_indexing_example_in_mpmath(tmp_path) -> None:
    block = next(b for b in spec_blocks("lintra") if "def indexing(" in b.text)
    path = tmp_path / "indexing.lintra"
    path.write_text(block.text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "lintra.reference", str(path), "--dps", "20",
         "--args", "[[1.0, 2.0, 3.0, 4.0], [3, 3]]"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "g: f64[2] = [4.0, 4.0]" in done.stdout


# --------------------------------------------------------------------------------------------
# Float literals beyond the range (spec 1.2, 2.2)


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1.8e308"])
def test_a_number_beyond_the_float64_range_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="beyond the float64 range") as raised:
        parse_program(f"def f(x: f64[]) -> f64[]:\n    y = mul(x, {text})\n    return y\n")
    assert raised.value.location is not None and raised.value.location.column == 16


def test_a_float_literal_that_rounds_to_infinity_in_f32_is_refused_alike() -> None:
    """3.5e38 is finite in f64, infinite in f32: refused by check and by the engine, as an
    integer literal that rounds to infinity is; the largest f32 and inf are taken."""
    import lintra.optimized as lo

    def program(literal: str, dtype: str = "f32") -> Program:
        return parse_program(f"def f(x: {dtype}[]) -> {dtype}[]:\n"
                             f"    y = mul(x, {literal})\n    return y\n")

    for literal in ("3.5e38", "-3.4028235677973366e38"):
        with pytest.raises(LintraTypeError, match=r"float literal .* no finite value in f32"):
            check(program(literal))
        with pytest.raises(LintraTypeError):
            lo.compile(program(literal))
    for literal, dtype in (("3.4028234663852886e38", "f32"), ("inf", "f32"), ("3.5e38", "f64")):
        check(program(literal, dtype))
        lo.compile(program(literal, dtype))


@pytest.mark.parametrize("literal, nearest", [
    (2**100 + 2**76 + 1, 2**100 + 2**77),      # through float64: a tie, then 2^100
    (-(2**100 + 2**76 + 1), -(2**100 + 2**77)),
    (2**128 - 2**103 - 1, 2**128 - 2**104),    # through float64: a tie, then infinity
    (2**24 + 1, 2**24),                        # true ties go to even
    (2**24 + 3, 2**24 + 4),
])
def test_an_integer_literal_rounds_to_f32_once(literal: int, nearest: int) -> None:
    """E-Lit: an integer literal in an f32 position is the float32 nearest the integer, in
    both domains and in the engine, never the float32 nearest its float64 rounding."""
    import lintra.optimized as lo

    p = parse_program(f"def f(x: f32[]) -> f32[]:\n    y: f32[] = add(x, {literal})\n"
                      "    return y\n")
    zero = np.float32(0.0)
    assert evaluate(p, zero)[0] == np.float32(nearest) and float(np.float32(nearest)) == nearest
    assert float(evaluate(p, zero, dps=40)[0]) == nearest
    assert lo.compile(p).evaluate(zero)[0] == np.float32(nearest)


@pytest.mark.parametrize("text", [
    "y: f64[0, 2147483648] = sin(x)",
    "y: f64[0, 2147483648] = mul(x, x)",
    "y: f64[2147483648, 0] = transpose(x, permutation=(1, 0))",
    "y: f64[0] = reduce_sum(x, axes=(1,))",
    "y: f64[0, 2147483648] = cumsum(x, axis=1)",
    "y: f64[0, 2147483648] = cumprod(x, axis=0, reverse=true)",
    "y: f64[0, 2147483648] = sort(x, dimension=0)",
])
def test_empty_arrays_with_a_long_dimension_evaluate_in_mpmath_at_once(text: str) -> None:
    """Walking the elements of an empty f64[0, 2^31] costs nothing (np.ndindex alone would
    build a range of 2^31 entries per walk: gigabytes, in each elementwise step)."""
    result = text.split(":")[1].split("=")[0].strip()
    p = parse_program(f"def f(x: f64[0, 2147483648]) -> {result}:\n    {text}\n    return y\n")
    (y,) = evaluate(p, np.zeros((0, 2**31)), dps=20)
    assert y.size == 0
