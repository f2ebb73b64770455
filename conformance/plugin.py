"""An opt-in pytest plugin that runs the conformance suite as test items.

Enable it with ``pytest -p lintra.conformance.plugin --lintra-backend NAME`` or, in a
project's root ``conftest.py``, ``pytest_plugins = ["lintra.conformance.plugin"]``. It does
nothing unless ``--lintra-backend`` is given. It then adds one item per property and
primitive, with id ``check::<property>::<primitive>`` (the property on the profile's cases
generated around that primitive, through :func:`~lintra.conformance.runner.run_check`), and
one per corpus case, ``corpus::<name>`` (through
:func:`~lintra.conformance.corpus.run_corpus_case`). An item fails with the failing result's
reason, program, inputs and the command that re-runs it; it is skipped, with the reasons,
when every result was a skip; convention differences are listed at the end, and pass unless
``--lintra-conventions strict`` makes them failures. ``--lintra-case-time-limit`` bounds
the seconds of one case (a case running past it is a skip with that reason).

Known failures are kept by the adopter in a skips file (``--lintra-skips FILE``: not run) and
an xfails file (``--lintra-xfails FILE``: run, reported as xfailed, or xpassed once fixed).
One entry a line::

    # comment lines and blank lines are ignored
    check::hvp_vs_oracle::tanh  # one property on one primitive: the reason, shown
    check::evaluate_vs_truth    # a property on every primitive
    corpus::kink_*              # a trailing * matches every id starting so
    corpus                      # everything under corpus::

An entry is an exact id, an id ending in ``*`` (a prefix), or the leading ``::``-separated
parts of ids (``check``, ``check::<property>``, matching every item under it). Entries are
not substrings: ``check::jvp`` matches neither ``check::jvp_vs_oracle::sin`` nor anything
but items under exactly ``check::jvp``, and an entry that matches no item is reported with a
:class:`StaleEntryWarning` (the case was renamed or removed, or the id is mistyped), so the
files do not silently rot. The format and its matching are
:mod:`lintra.conformance.known_failures`, which the command line's ``--xfails`` shares. All
items carry the ``lintra_conformance`` marker (``-m lintra_conformance`` runs only them).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

from lintra.conformance import known_failures
from lintra.conformance.backend import Backend, BackendUnavailable, load_backend
from lintra.conformance.known_failures import CHECK, CORPUS, KINDS, Entry, EntryError
from lintra.conformance.profiles import PROFILES
from lintra.conformance.report import format_failure
from lintra.conformance.results import CONVENTION_MODES, CheckResult, Status

__all__ = ["CHECK", "CORPUS", "KINDS", "Entry", "parse_entries", "read_entries"]

MARKER = "lintra_conformance"

COLLECTOR = "lintra-conformance"
"""The node id of the collector of the suite's items."""


class StaleEntryWarning(UserWarning):
    """An entry of a skips or xfails file matches no collected item."""


def parse_entries(text: str, file: str) -> list[Entry]:
    """The entries of a skips or xfails file's ``text``; a malformed line raises
    :class:`pytest.UsageError` naming it."""
    try:
        return known_failures.parse_entries(text, file)
    except EntryError as exc:
        raise pytest.UsageError(str(exc)) from None


def read_entries(path: str) -> list[Entry]:
    """The entries of the file at ``path`` (a missing file is a usage error)."""
    try:
        return known_failures.read_entries(path)
    except EntryError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lintra", "lintra conformance suite (lintra.conformance.plugin)")
    group.addoption(
        "--lintra-backend", metavar="NAME", default=None,
        help="run the conformance suite against this backend: reference, optimized, jax, "
             "torch or package.module:factory (without it the plugin does nothing)")
    group.addoption("--lintra-profile", choices=list(PROFILES), default="ci",
                    help="generated cases per property and primitive (default: ci)")
    group.addoption("--lintra-seed", type=int, default=0, metavar="N",
                    help="base seed of the generated cases, from which each item derives its "
                         "own (default: 0)")
    group.addoption("--lintra-conventions", choices=list(CONVENTION_MODES), default="report",
                    help="report: a derivative following another kink convention than the "
                         "spec's is listed and passes; strict: it fails (default: report)")
    group.addoption("--lintra-case-time-limit", type=float, default=None, metavar="SECONDS",
                    help="seconds one case may take before it is skipped with that reason "
                         "(default: 60; 0: no limit)")
    group.addoption("--lintra-skips", action="append", default=[], metavar="FILE",
                    help="file of item ids not to run, one a line, optional '# reason' "
                         "(repeatable)")
    group.addoption("--lintra-xfails", action="append", default=[], metavar="FILE",
                    help="file of item ids expected to fail, same format (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite when ``--lintra-backend`` is given; otherwise stay inert."""
    spec = config.getoption("lintra_backend")
    if spec is None:
        return
    config.addinivalue_line("markers", f"{MARKER}: an item of the lintra conformance suite")
    config.pluginmanager.register(ConformanceSuite(config, spec), "lintra-conformance-suite")


class ConformanceCollector(pytest.Collector):
    """The parent of the suite's items, so that pytest counts and reports their collection
    like any other (a corpus that does not load is a collection error)."""

    def __init__(self, *, suite: ConformanceSuite, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.suite = suite

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        runner = self.suite.runner()
        for name in runner.CHECKS:
            for primitive in sorted(runner.PRIMITIVES):
                nodeid = f"{CHECK}::{name}::{primitive}"
                items.append(ConformanceItem.from_parent(
                    self, name=nodeid, nodeid=nodeid, kind=CHECK, target=(name, primitive),
                    suite=self.suite))
        for case in self.suite.corpus().load_corpus():
            nodeid = f"{CORPUS}::{case.name}"
            items.append(ConformanceItem.from_parent(self, name=nodeid, nodeid=nodeid,
                                                     kind=CORPUS, target=case,
                                                     suite=self.suite))
        return items


class ConformanceFailure(Exception):
    """Failing results of one item."""

    def __init__(self, results: Sequence[CheckResult]) -> None:
        super().__init__(results[0].reason if results else "")
        self.results = list(results)


class ConformanceItem(pytest.Item):
    """A property on the profile's cases generated around one primitive (``target`` is
    ``(property, primitive)``), or a corpus case (``target`` is the case)."""

    def __init__(self, *, kind: str, target: object, suite: ConformanceSuite,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.kind = kind
        self.target = target
        self.suite = suite
        self.add_marker(MARKER)

    def runtest(self) -> None:
        results = self.suite.run(self)
        counts = Counter(r.status.value for r in results)
        self.user_properties.append(("lintra_counts", dict(counts)))
        for r in results:
            if r.convention or r.status is Status.CONVENTION:
                self.user_properties.append(("lintra_convention", f"{r.check}: {r.reason}"))
        failed = [r for r in results if r.failed]
        if failed:
            raise ConformanceFailure(failed)
        if all(r.status is Status.SKIP for r in results):
            pytest.skip(skip_message(results))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: str | None = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            return "\n\n".join(format_failure(r, self.suite.spec)
                               for r in excinfo.value.results)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where reports place the item: the session's root (it has no file of its own), line
        0 (pytest needs one to report a skip mark)."""
        return self.path, 0, self.name


def skip_message(results: Sequence[CheckResult], limit: int = 3) -> str:
    """Why every result was skipped: the reasons, most frequent first."""
    if not results:
        return "no results"
    reasons = Counter(r.reason or "no reason given" for r in results)
    shown = [f"{reason} ({n}x)" if n > 1 else reason
             for reason, n in reasons.most_common(limit)]
    more = len(reasons) - limit
    return "; ".join(shown) + (f"; and {more} other reason(s)" if more > 0 else "")


class ConformanceSuite:
    """The plugin's state for one session: the backend, the options, the entries of the
    skips and xfails files, and the convention differences seen."""

    def __init__(self, config: pytest.Config, spec: str) -> None:
        self.config = config
        self.spec = spec
        self.profile: str = config.getoption("lintra_profile")
        self.seed: int = config.getoption("lintra_seed")
        self.conventions: str = config.getoption("lintra_conventions")
        self.case_time_limit: float | None = config.getoption("lintra_case_time_limit")
        self.skips = [e for f in config.getoption("lintra_skips") for e in read_entries(f)]
        self.xfails = [e for f in config.getoption("lintra_xfails") for e in read_entries(f)]
        self.backend: Backend | None = None
        self.differences: list[tuple[str, str]] = []
        """Convention differences seen: (node id, text)."""

    # -- modules, looked up when used so that tests can replace their functions

    @staticmethod
    def runner() -> ModuleType:
        try:
            from lintra.conformance import runner
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] == "hypothesis":
                raise pytest.UsageError(
                    "lintra.conformance generates cases with Hypothesis, which is not "
                    "installed: pip install hypothesis") from None
            raise
        return runner

    @staticmethod
    def corpus() -> ModuleType:
        from lintra.conformance import corpus

        return corpus

    # -- hooks

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Load the backend once, before collection: an unknown or unavailable one is a
        usage error, not a failure of every item."""
        try:
            self.backend = load_backend(self.spec)
        except (BackendUnavailable, ModuleNotFoundError) as exc:
            raise pytest.UsageError(f"lintra backend {self.spec!r} is unavailable: {exc}"
                                    ) from None
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        name = self.backend.name if self.backend is not None else self.spec
        files = [f"{kind} {f}" for kind, opt in (("skips", "lintra_skips"),
                                                ("xfails", "lintra_xfails"))
                 for f in config.getoption(opt)]
        return [f"lintra conformance: backend {self.spec} ({name}), profile {self.profile}, "
                f"seed {self.seed}, conventions {self.conventions}"
                + (f"; {', '.join(files)}" if files else "")]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Add the suite's items (before ``-k`` and ``-m`` deselect any), then mark those
        the skips and xfails files name, and warn about entries that match none."""
        collector = ConformanceCollector.from_parent(session, name=COLLECTOR, nodeid=COLLECTOR,
                                                     suite=self)
        new = [i for i in session.genitems(collector) if isinstance(i, ConformanceItem)]
        used: set[Entry] = set()
        for item in new:
            skips = [e for e in self.skips if e.matches(item.name)]
            xfails = [e for e in self.xfails if e.matches(item.name)]
            used.update(skips, xfails)
            if skips:
                item.add_marker(pytest.mark.skip(reason=skips[0].reason))
            elif xfails:
                item.add_marker(pytest.mark.xfail(reason=xfails[0].reason, strict=False))
        for kind, entries in (("skips", self.skips), ("xfails", self.xfails)):
            stale = [e for e in entries if e not in used]
            if stale and new:  # no items: collection failed, and says so
                lines = "\n".join(f"    {e.pattern}  ({e.file}:{e.line})" for e in stale)
                warnings.warn(StaleEntryWarning(
                    f"{kind} file: {len(stale)} "
                    f"{'entry matches' if len(stale) == 1 else 'entries match'} no lintra "
                    f"conformance item (renamed or removed? remove them):\n{lines}"),
                    stacklevel=1)
        items.extend(new)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect convention differences from the reports (so that they also arrive from
        pytest-xdist workers)."""
        if report.when == "call":
            self.differences += [(report.nodeid, str(v)) for k, v in report.user_properties
                                 if k == "lintra_convention"]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.differences:
            return
        tr = terminalreporter
        mode = ("failures under --lintra-conventions strict" if self.conventions == "strict"
                else "reported, not failed")
        tr.section(f"lintra convention differences (spec chapter 6: {mode})")
        for nodeid, text in self.differences:
            tr.write_line(f"{nodeid}: {text}")

    # -- running

    def run(self, item: ConformanceItem) -> list[CheckResult]:
        """The results of ``item``'s property or corpus case on the backend."""
        assert self.backend is not None, "the backend is loaded at session start"
        runner = self.runner()
        limit = (runner.CASE_TIME_LIMIT if self.case_time_limit is None
                 else self.case_time_limit)
        if item.kind == CHECK:
            name, primitive = item.target
            return list(runner.run_check(self.backend, name, self.profile, seed=self.seed,
                                         primitives=[primitive], conventions=self.conventions,
                                         case_time_limit=limit))
        return list(runner.run_corpus(self.backend, item.target, self.conventions, limit))
