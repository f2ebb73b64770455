"""The command line: ``python -m lintra.conformance --backend NAME [options]`` (spec 7.6).

Runs every property on generated cases (built around each primitive in turn), then the
corpus, against one backend; shows a progress bar on stderr, prints a summary table per
property and per primitive and every failure with its reproducer, and optionally writes an
HTML and a JSON report. The options and their help are defined once, in :func:`build_parser`;
``--help`` is generated from it (tests check that it lists every option).

Generated cases run as one :func:`~lintra.conformance.runner.run_check` call per property
and primitive: the same results as :func:`~lintra.conformance.runner.run` (a failure, shrunk,
ends its own item; every other item still runs), with progress per primitive and the
``--primitive`` and ``--case`` selections that re-run commands use. ``--conventions``,
``--xfails`` and ``--case-time-limit`` mean what they mean for ``run``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from lintra.conformance.backend import BUILTIN, Backend, BackendUnavailable, load_backend
from lintra.conformance.known_failures import EntryError, read_entries
from lintra.conformance.profiles import PROFILES
from lintra.conformance.progress import ProgressBar
from lintra.conformance.report import (
    format_conventions,
    format_failures,
    format_known,
    format_summary,
    verdict,
    write_html,
    write_json,
)
from lintra.conformance.results import CONVENTION_MODES, CheckResult, RunReport
from lintra.reference.primitives import PRIMITIVES

PROG = "python -m lintra.conformance"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = f"""\
exit status:
  {EXIT_OK}    no case failed (skips, known failures of --xfails and, unless
       --conventions strict, convention differences do not fail a run)
  {EXIT_FAILED}    at least one case failed; each failure is printed with its program, its
       inputs and the command that re-runs it
  {EXIT_USAGE}    usage error (an unreadable or malformed --xfails file included), or the
       backend is unavailable (its framework is not installed: the message names the
       extra to install)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C): the results so far are still summarized and written

examples:
  {PROG} --backend reference --profile quick
  {PROG} --backend jax --report report.html --json results.json
  {PROG} --backend mypkg.lintra_backend:make_backend --check jvp_vs_oracle --no-corpus
"""


class MissingDependency(Exception):
    """A package the generated cases need (Hypothesis) is not installed."""


def runner_module() -> ModuleType:
    """:mod:`lintra.conformance.runner`, imported when needed: it needs Hypothesis, which
    ``--help`` does not. Looked up on each call so that tests can replace its functions."""
    try:
        from lintra.conformance import runner
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "hypothesis":
            raise MissingDependency(
                "the conformance suite generates cases with Hypothesis, which is not "
                "installed: pip install 'lintra[conformance]' (or pip install hypothesis)") from exc
        raise
    return runner


def corpus_module() -> ModuleType:
    """:mod:`lintra.conformance.corpus` (looked up on each call, like the runner)."""
    from lintra.conformance import corpus

    return corpus


def check_names() -> tuple[str, ...]:
    """The properties, in report order: the runner's ``CHECKS`` (its keys, if a mapping)."""
    try:
        return tuple(runner_module().CHECKS)
    except MissingDependency:  # --help still lists them
        from lintra.conformance.properties import CHECKS

        return tuple(CHECKS)


def build_parser() -> argparse.ArgumentParser:
    """The options of the command line, with their help: the one definition of its
    interface."""
    checks = check_names()
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Check an automatic-differentiation backend against the lintra spec:\n"
                    "every property on generated programs built around each primitive in\n"
                    "turn, then the corpus of hand-written cases (spec chapter 7).")
    parser.add_argument(
        "--backend", required=True, metavar="NAME",
        help=f"the backend to check: {', '.join(BUILTIN)}, or package.module:factory (a "
             "callable returning a backend, or a backend object). A backend whose framework "
             f"is not installed prints why and exits {EXIT_USAGE}.")
    parser.add_argument(
        "--profile", choices=list(PROFILES), default="ci",
        help="how hard to look: " + "; ".join(
            f"{p.name}: {p.examples} case{'s' if p.examples != 1 else ''} per property and "
            f"primitive, programs of at most {p.max_equations} equations"
            for p in PROFILES.values()) + " (default: %(default)s)")
    parser.add_argument(
        "--check", action="extend", nargs="+", choices=checks, metavar="NAME",
        help="check only these properties on generated cases (repeatable): "
             + ", ".join(checks))
    parser.add_argument(
        "--primitive", action="extend", nargs="+", choices=sorted(PRIMITIVES), metavar="NAME",
        help="build generated cases around these primitives only (repeatable; any primitive "
             "of spec chapter 3)")
    parser.add_argument(
        "--case", action="extend", nargs="+", metavar="NAME",
        help="run only these corpus cases (repeatable); without --check, no generated "
             "cases run")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="base seed of the generated cases (default: %(default)s): each property and "
             "primitive draws from its own seed, derived from it; a failure's re-run command "
             "names it")
    parser.add_argument(
        "--conventions", choices=list(CONVENTION_MODES), default="report",
        help="report: a derivative at a kink that follows another convention than the "
             "spec's (chapter 6) is listed and does not fail the run; strict: it fails "
             "(default: %(default)s). Either way every one is listed.")
    parser.add_argument(
        "--xfails", action="append", default=[], metavar="FILE",
        help="file of known failures, one item id a line (check::PROPERTY::PRIMITIVE, "
             "corpus::NAME, a prefix ending in *, * within a part as in check::*::sin, "
             "check::PROPERTY...), optional '# reason', "
             "as the pytest plugin's --lintra-xfails: their failures are listed once and do "
             "not fail the run; entries matching no item are reported (repeatable)")
    parser.add_argument(
        "--case-time-limit", type=float, default=None, metavar="SECONDS",
        help="seconds one case may take before it is skipped with that reason (default: "
             "60; 0: no limit)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=0, metavar="N",
        help="run items (a property around a primitive, a corpus case) in N worker "
             "processes, each loading the backend by the name given to --backend; 0: one "
             "per CPU this process may run on (default: 0); 1: all in this process. The "
             "results are the same whatever N.")
    parser.add_argument("--no-corpus", action="store_true",
                        help="skip the corpus (spec 7.7): generated cases only")
    parser.add_argument("--report", metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument("--json", metavar="FILE", help="write every result as JSON")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no tables: only failures, convention "
                             "differences, known failures and the verdict")
    return parser


def _load(parser: argparse.ArgumentParser, spec: str) -> Backend | int:
    """The backend named ``spec``, or the exit status after printing why there is none."""
    try:
        return load_backend(spec)
    except BackendUnavailable as exc:
        print(f"{PROG}: backend {spec!r} is unavailable: {exc}", file=sys.stderr)
    except ModuleNotFoundError as exc:  # a built-in whose module does not exist (yet)
        print(f"{PROG}: backend {spec!r} is unavailable: {exc}", file=sys.stderr)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return its exit
    status (argparse itself exits with 2 on a malformed command line)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.case and args.no_corpus:
        parser.error("--case selects corpus cases: it cannot be combined with --no-corpus")
    for option, path in (("--report", args.report), ("--json", args.json)):
        if path and not Path(path).resolve().parent.is_dir():
            parser.error(f"{option} {path}: no such directory {str(Path(path).parent)!r}")
    if args.jobs < 0:
        parser.error(f"--jobs {args.jobs}: expected 0 (one per CPU) or a number of workers")
    if args.case_time_limit is not None and not args.case_time_limit >= 0:
        parser.error(f"--case-time-limit {args.case_time_limit:g}: expected 0 (no limit) or "
                     "a positive number of seconds")
    try:
        entries = [e for f in args.xfails for e in read_entries(f)]
    except EntryError as exc:
        parser.error(f"--xfails: {exc}")
    try:
        runner = runner_module()
    except MissingDependency as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.case_time_limit is None:
        args.case_time_limit = runner.CASE_TIME_LIMIT
    backend = _load(parser, args.backend)
    if isinstance(backend, int):
        return backend

    cases: list = []
    if not args.no_corpus:
        cases = list(corpus_module().load_corpus())
    # every corpus case, for the item ids the xfails entries may name
    every_case = cases if cases or not entries else list(corpus_module().load_corpus())
    if not args.no_corpus:
        if args.case:
            by_name = {c.name: c for c in cases}
            unknown = [n for n in args.case if n not in by_name]
            if unknown:
                parser.error(f"no corpus case named {', '.join(unknown)}")
            cases = [by_name[n] for n in dict.fromkeys(args.case)]
    checks = list(dict.fromkeys(args.check)) if args.check else (
        [] if args.case else list(check_names()))
    primitives = list(dict.fromkeys(args.primitive)) if args.primitive else sorted(PRIMITIVES)

    report = RunReport(backend=backend.name, profile=args.profile,
                       conventions=args.conventions)
    bar = ProgressBar(quiet=args.quiet)
    start = time.perf_counter()
    interrupted = False
    try:
        _execute(runner, backend, args, checks, primitives, cases, report, bar)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        runner.finish(report, entries, every_case, args.case_time_limit)
        report.seconds = time.perf_counter() - start

    if interrupted:
        print(f"{PROG}: interrupted: the results so far follow", file=sys.stderr)
    if args.quiet:
        if report.failures:
            print(format_failures(report, args.backend) + "\n")
        for part in (format_conventions(report), format_known(report)):
            if part:
                print(part + "\n")
        print(verdict(report))
    else:
        print(format_summary(report))
        if report.failures:
            print("\n" + format_failures(report, args.backend))
    command = shlex.join([*PROG.split(), *argv])
    if args.report:
        write_html(report, args.report, backend=args.backend, command=command)
    if args.json:
        write_json(report, args.json)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_FAILED


def _execute(runner: ModuleType, backend: Backend, args: argparse.Namespace,
             checks: Sequence[str], primitives: Sequence[str], cases: Sequence[object],
             report: RunReport, progress: ProgressBar) -> None:
    """Run the selected properties, primitive by primitive, then the corpus cases (in
    ``args.jobs`` worker processes, 0: one per CPU,
    :func:`~lintra.conformance.runner.run_items`), and put their results into ``report`` in
    that order, also when interrupted (what has finished is kept)."""
    items = [runner.Item(name, primitive) for name in checks for primitive in primitives]
    items += [runner.Item(corpus_case=c.name) for c in cases]  # type: ignore[attr-defined]
    jobs = args.jobs or runner.usable_cpus()
    found: dict[int, list[CheckResult]] = {}
    try:
        for index, results in runner.run_items(
                args.backend if jobs > 1 else backend, items, args.profile,
                seed=args.seed, conventions=args.conventions,
                case_time_limit=args.case_time_limit, jobs=jobs, progress=progress,
                corpus_cases=cases):
            found[index] = results
    finally:
        report.results.extend(r for k in sorted(found) for r in found[k])


if __name__ == "__main__":
    sys.exit(main())
