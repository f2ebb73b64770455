"""Run a lintra program from the command line (the spec's companion for readers).

    python -m lintra.reference FILE [--fn NAME] [--args JSON] [--dps N] [--print]

``FILE`` holds one or more defs (``-`` reads standard input). ``--args`` is a JSON array with
one entry per parameter (nested lists for arrays; ``NaN``, ``Infinity`` allowed). With
``--dps N`` the program runs in mpmath at N decimal digits and decimal arguments are read at
that precision (``0.1`` is one tenth, not the nearest binary double). ``--print`` shows the
checked program with every binder annotated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from lintra.reference.check import annotate, check
from lintra.reference.errors import LintraError
from lintra.reference.evaluate import evaluate
from lintra.reference.parse import parse
from lintra.reference.syntax import Module, Program


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m lintra.reference",
        description="Check and evaluate a lintra program with the reference interpreter.",
    )
    ap.add_argument("file", help="program file ('-' for standard input)")
    ap.add_argument("--fn", help="which def to run (default: the only def, or 'main')")
    ap.add_argument("--args", default="[]", help="JSON array of arguments, one per parameter")
    ap.add_argument("--dps", type=int, default=None,
                    help="evaluate in mpmath with this many decimal digits (default: float64)")
    ap.add_argument("--print", action="store_true", dest="show",
                    help="print the checked program with every binder annotated")
    return ap


def choose(module: Module, fn: str | None) -> Program:
    """The def to run: ``--fn``, the only def, or one named ``main``."""
    if fn is not None:
        if fn not in module:
            raise SystemExit(f"error: no def named {fn!r} (defs: {', '.join(module)})")
        return module[fn]
    if len(module) == 1:
        return next(iter(module.values()))
    if "main" in module:
        return module["main"]
    defs = ", ".join(module)
    raise SystemExit(f"error: the file has several defs ({defs}); choose one with --fn")


def read_args(text: str, program: Program, mp: bool) -> list[object]:
    """Arguments from JSON, one per parameter. In mp mode the decimals given for a float
    parameter stay strings, so that they convert exactly at the working precision; integer
    and boolean parameters take their JSON integers and booleans as they are."""
    try:
        values = json.loads(text)
        decimals = json.loads(text, parse_float=str) if mp else values
    except json.JSONDecodeError as err:
        raise SystemExit(f"error: --args is not valid JSON: {err}") from None
    if not isinstance(values, list):
        raise SystemExit("error: --args must be a JSON array with one entry per parameter")
    if not mp or len(values) != len(program.inputs):
        return values  # a wrong count is E-Args' error to report
    out: list[object] = []
    for b, v, d in zip(program.inputs, values, decimals):
        if b.type is None or not b.type.array.dtype.is_float:
            out.append(v)
            continue
        try:
            arr = np.empty(np.shape(d), dtype=object)
            arr[...] = d if not isinstance(d, list) else np.array(d, dtype=object)
        except ValueError:  # ragged nesting: E-Args reports it with the parameter's type
            arr = d
        out.append(arr)
    return out


def shortest(v: float) -> str:
    """The shortest text that reads back as the same float (Python's repr)."""
    return repr(float(v))


def format_value(x: np.ndarray, dps: int | None) -> str:
    """Full-precision text of a result: shortest round-trip float64, or ``dps`` digits."""
    if x.dtype == object:
        import mpmath

        def fmt(v: object) -> str:
            return mpmath.nstr(v, dps, min_fixed=-5, max_fixed=dps) if dps else str(v)

        return np.array2string(x, formatter={"all": fmt}, separator=", ", max_line_width=100,
                               threshold=sys.maxsize)
    if x.dtype.kind == "f":
        return np.array2string(x, formatter={"float_kind": shortest}, separator=", ",
                               max_line_width=100, threshold=sys.maxsize)
    return np.array2string(x, separator=", ", threshold=sys.maxsize)


def main(argv: Sequence[str] | None = None) -> int:
    opts = _parser().parse_args(argv)
    try:
        if opts.file == "-":
            text = sys.stdin.read()
        else:
            with open(opts.file, encoding="utf-8") as f:
                text = f.read()
    except OSError as err:
        print(f"error: cannot read {opts.file}: {err.strerror}", file=sys.stderr)
        return 2
    if opts.dps is not None and opts.dps < 1:
        print("error: --dps must be a positive integer", file=sys.stderr)
        return 2
    try:
        module = parse(text)
        program = choose(module, opts.fn)
        typing = check(program, module)
        if opts.show:
            print(annotate(typing))
            print()
        results = evaluate(program, *read_args(opts.args, program, opts.dps is not None),
                           dps=opts.dps, module=module)
    except LintraError as err:
        print(err, file=sys.stderr)
        return 1
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    for v, t, r in zip(program.outputs, program.result_types, results):
        print(f"{v.name}: {t} = {format_value(np.asarray(r), opts.dps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
