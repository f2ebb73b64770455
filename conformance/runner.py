"""Running the suite: generated cases per property and primitive, then the corpus (spec 7.6).

``run(backend, profile)`` is the plain-Python entry point; the CLI and the pytest plugin call
:func:`run_check` and the corpus functions underneath. Generated cases come from Hypothesis,
seeded per property and primitive (:func:`item_seed`): a first pass generates the profile's
number of cases and records every result; if one fails, a second pass with the same seed
lets Hypothesis shrink it, and the smallest failing case is the one reported (its program
and inputs reproduce it). The cases of a passing first pass are stored in the case cache
(spec 7.8, :mod:`lintra.conformance.truth_cache`) and replayed by later runs, of any backend,
instead of drawn again; a replayed case that fails goes to the shrinking pass the same way.
A failure ends its own item only: every other (property, primitive) item still runs. Every
case runs under a time limit (:func:`time_limit`): one that takes longer is a skip with that
reason, never a hung run.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable

from lintra.conformance import truth_cache
from lintra.conformance.backend import Backend, load_backend
from lintra.conformance.generation import (
    CASE_TIME_LIMIT,
    CaseTimeout,
    cases,
    time_limit,
    time_limit_enforced,
    timeout_reason,
)
from lintra.conformance.known_failures import (
    Entry,
    check_item,
    corpus_item,
    describe,
    fixed,
    mark_known,
    read_entries,
    stale,
)
from lintra.conformance.profiles import Profile, profile_named
from lintra.conformance.properties import CHECKS, Case, run_property
from lintra.conformance.results import CheckResult, RunReport, Status, judged
from lintra.conformance.strategies import seed_determined
from lintra.conformance.truth_cache import case_entry
from lintra.reference.errors import LintraError
from lintra.reference.primitives import PRIMITIVES
from lintra.reference.primitives.base import LinearityKind

CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
"""The properties checked on generated cases, in report order."""

Progress = Callable[[int, int, str], None]


# --------------------------------------------------------------------------------------------
# Seeds


def item_seed(seed: int, check: str, primitive: str) -> int:
    """The Hypothesis seed of property ``check`` on the cases around ``primitive`` in a run
    of base seed ``seed``: a hash of the three (SHA-256, so the same in every process and
    under every ``PYTHONHASHSEED``), so that no two items draw the same inputs."""
    digest = hashlib.sha256(f"{seed}:{check}:{primitive}".encode()).digest()
    return int.from_bytes(digest[:8], "big")



class _Failed(Exception):
    def __init__(self, result: CheckResult, case: Case | None = None) -> None:
        super().__init__(result.reason)
        self.result = result
        self.case = case


def _settings(profile: Profile, phases: Sequence[Phase]) -> settings:
    return settings(max_examples=profile.examples, deadline=None, database=None,
                    phases=phases, verbosity=Verbosity.quiet, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def run_check(backend: Backend | str, name: str, profile: Profile | str = "ci", *,
              seed: int = 0, primitives: Sequence[str] | None = None,
              conventions: str = "report", case_time_limit: float | None = CASE_TIME_LIMIT
              ) -> list[CheckResult]:
    """Check one property on generated programs built around each primitive in turn (or
    those in ``primitives``), the profile's number of cases each, seeded per primitive from
    the base ``seed`` (:func:`item_seed`). A failure is shrunk and ends its primitive's cases
    (it is that primitive's last result); the other primitives still run. Under
    ``conventions="strict"`` a convention difference is a failure (spec 7.4). A case running
    past ``case_time_limit`` seconds is a skip (None or 0: no limit)."""
    backend = load_backend(backend)
    prof = profile_named(profile) if isinstance(profile, str) else profile
    if name not in CHECKS:
        raise ValueError(f"unknown check {name!r}: expected one of {', '.join(CHECKS)}")
    judged(CheckResult(name, Status.PASS), conventions)  # an unknown mode raises here
    results: list[CheckResult] = []
    for focus in primitives if primitives is not None else sorted(PRIMITIVES):
        item = check_item(name, focus)
        found: list[CheckResult] = []
        if focus not in backend.capabilities.primitives:
            found.append(CheckResult(name, Status.SKIP, f"backend does not support {focus}",
                                     primitives=(focus,), case="generated"))
        elif PRIMITIVES[focus].linearity.kind is LinearityKind.LINEAR_ONLY:
            found.append(CheckResult(
                name, Status.SKIP, f"{focus} appears only in linear programs (spec 2.3): the "
                "linear and transposed programs of the other cases exercise it",
                primitives=(focus,), case="generated"))
        else:
            try:
                failure = _check_around(backend, name, prof, focus, seed, found, conventions,
                                        case_time_limit)
            except Unsatisfiable:
                failure = CheckResult(name, Status.SKIP,
                                      f"no case around {focus} could be generated",
                                      primitives=(focus,), case="generated")
            if failure is not None:
                found.append(failure)
        results.extend(replace(r, item=item) for r in found)
    return results


def _check_around(backend: Backend, name: str, prof: Profile, focus: str, seed: int,
                  results: list[CheckResult], conventions: str = "report",
                  limit: float | None = CASE_TIME_LIMIT) -> CheckResult | None:
    """Run property ``name`` on cases around ``focus``, appending results; return the
    shrunk failure, if any. The cases come from the case cache when it has this item's
    (:func:`_cached_cases`), else from Hypothesis, and a passing generation stores them
    there; a failure, replayed or generated, is shrunk by Hypothesis all the same."""
    label = (f"generated: --check {name} --primitive {focus} --seed {seed} "
             f"--profile {prof.name}")

    def attempt(case: Case, record: bool) -> None:
        reason = backend.capabilities.unsupported(case.program) or case.skip
        if reason:
            result = case.result(name, Status.SKIP, reason)
        else:
            try:
                with time_limit(limit):
                    result = run_property(name, backend, case)
            except CaseTimeout as exc:
                result = case.result(name, Status.SKIP, timeout_reason(exc, name))
        result = judged(result, conventions)
        if result.status is Status.FAIL:
            raise _Failed(result, case)
        if record:
            results.append(result)

    def probe(phases: Sequence[Phase], record: bool, handed: list[Case] | None = None) -> None:
        @hypothesis_seed(item_seed(seed, name, focus))
        @_settings(prof, phases)
        @given(cases(prof, focus, label, limit))
        def test(case: Case) -> None:
            if handed is not None:
                handed.append(_bare(case))
            attempt(case, record)

        # No example database (settings), so no database key: without one set here,
        # Hypothesis derives it from the test function's source (tokenized anew for every
        # item, a twentieth of a quick run); the seed is explicit, so nothing else uses it.
        test._hypothesis_internal_database_key = None  # type: ignore[attr-defined]
        with seed_determined():
            test()

    entry = case_entry({"check": name, "primitive": focus, "profile": repr(prof),
                        "seed": seed, "item_seed": item_seed(seed, name, focus),
                        "limit": None if limit is None else float(limit)})
    try:
        replay = _cached_cases(entry)
        if replay is None:
            handed: list[Case] | None = [] if entry is not None else None
            try:
                probe([Phase.generate], record=True, handed=handed)
            except Unsatisfiable:
                _store_cases(entry, UNSATISFIABLE)
                raise
            _store_cases(entry, handed or [])
        elif replay is UNSATISFIABLE:
            raise Unsatisfiable(f"no case around {focus} could be generated (case cache)")
        else:
            for case in replay:
                attempt(case, record=True)
    except _Failed:
        try:
            probe([Phase.generate, Phase.shrink], record=False)
        except _Failed as shrunk:
            return replace(shrunk.result, reproducer=_reproducer(shrunk.case, name))
    return None


UNSATISFIABLE = "unsatisfiable"
"""What the case cache holds for an item whose generation found no valid case."""


def _bare(case: Case) -> Case:
    """A copy of a generated case as the strategy drew it, for the case cache: its own
    arrays, no analyses remembered."""
    return Case(case.program, tuple(a.copy() for a in case.primals),
                tuple(a.copy() for a in case.tangents),
                tuple(a.copy() for a in case.cotangents), source=case.source, dps=case.dps,
                skip=case.skip)


def _cached_cases(entry: Path | None) -> list[Case] | str | None:
    """The cases (or :data:`UNSATISFIABLE`) the case cache holds at ``entry``; ``None`` when
    it is off, has no such entry, or the entry is not a list of cases."""
    if entry is None:
        return None
    found = truth_cache.load(entry)
    if isinstance(found, str) and found == UNSATISFIABLE:
        return UNSATISFIABLE
    if isinstance(found, list) and all(isinstance(c, Case) for c in found):
        return [_bare(c) for c in found]
    return None


def _store_cases(entry: Path | None, handed: list[Case] | str) -> None:
    """Store what a passing generation handed to the property (or that it found none),
    unless a case was skipped for running past the time limit while it was drawn: how far
    a slow evaluation gets depends on the machine, so such an item is drawn anew."""
    if entry is None:
        return
    if isinstance(handed, list) and any(c.skip for c in handed):
        return
    truth_cache.store(entry, handed, 0)


def _reproducer(case: Case | None, name: str) -> str:
    """The shrunk case as a corpus file, or a sentence saying why there is none."""
    if case is None:
        return ""
    from lintra.conformance.corpus import CorpusError, reproducer

    try:
        return reproducer(f"{name}_failure", case.program, case.primals, case.tangents,
                          case.cotangents, note=f"found by {name}: {case.source}")
    except (CorpusError, LintraError) as exc:  # the reference itself refuses the case
        return f"# no reproducer: the reference refuses this case ({exc})"


# --------------------------------------------------------------------------------------------
# Whole runs


def run(backend: Backend | str, profile: Profile | str = "ci", *,
        checks: Sequence[str] | None = None, seed: int = 0, corpus: bool = True,
        progress: Progress | None = None, conventions: str = "report",
        xfails: str | Path | Sequence[Entry] | None = None,
        case_time_limit: float | None = CASE_TIME_LIMIT, jobs: int = 1) -> RunReport:
    """Run the suite against ``backend``: every property (or ``checks``) on generated cases,
    then every corpus case. Returns all results; ``report.ok`` is False on any failure.

    ``conventions``: ``report`` (default: a convention difference is listed, not failed) or
    ``strict`` (it fails). ``xfails``: a known-failures file (or its parsed entries): a
    failure of an item it lists is a known failure (``xfail``), which does not fail the run;
    its entries that match no item, or whose items did not fail, are listed in the report.
    ``case_time_limit``: seconds per case before it is skipped (None or 0: no limit).
    ``jobs``: worker processes (:func:`run_items`; more than one needs ``backend`` named by
    a string; 0: one per CPU, :func:`usable_cpus`); the results are the same as with one,
    in the same order."""
    if jobs < 0:
        raise ValueError(f"jobs {jobs}: expected 0 (one per CPU) or a number of workers")
    if jobs == 0:
        jobs = usable_cpus()
    loaded = load_backend(backend)
    prof = profile_named(profile) if isinstance(profile, str) else profile
    names = list(checks) if checks is not None else list(CHECK_NAMES)
    for n in names:
        if n not in CHECKS:
            raise ValueError(f"unknown check {n!r}: expected one of {', '.join(CHECKS)}")
    entries = (read_entries(xfails) if isinstance(xfails, (str, Path))
               else list(xfails or ()))
    corpus_cases = _load_corpus() if corpus else []
    items = [Item(n, p) for n in names for p in sorted(PRIMITIVES)]
    items += [Item(corpus_case=c.name) for c in corpus_cases]
    report = RunReport(backend=loaded.name, profile=prof.name, conventions=conventions)
    start = time.perf_counter()
    found: dict[int, list[CheckResult]] = {}
    for index, results in run_items(backend if jobs > 1 else loaded, items, prof, seed=seed,
                                    conventions=conventions, case_time_limit=case_time_limit,
                                    jobs=jobs, progress=progress, corpus_cases=corpus_cases):
        found[index] = results
    report.results.extend(r for k in sorted(found) for r in found[k])
    finish(report, entries, corpus_cases or (_load_corpus() if entries else ()),
           case_time_limit)
    report.seconds = time.perf_counter() - start
    return report


@dataclass(frozen=True)
class Item:
    """One unit of a run: property ``check`` on the cases around ``primitive``, or the
    corpus case named ``corpus_case``."""

    check: str | None = None
    primitive: str | None = None
    corpus_case: str | None = None

    @property
    def label(self) -> str:
        """How the progress bar names it."""
        return (f"corpus: {self.corpus_case}" if self.corpus_case is not None
                else f"{self.check}: {self.primitive}")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one, so a
    run pinned with ``taskset`` starts no more workers than it has CPUs), at least 1: the
    number of workers ``jobs=0`` means."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity masks (macOS, Windows)
        return os.cpu_count() or 1


def run_items(backend: Backend | str, items: Sequence[Item], profile: Profile | str, *,
              seed: int = 0, conventions: str = "report",
              case_time_limit: float | None = CASE_TIME_LIMIT, jobs: int = 1,
              progress: Progress | None = None, corpus_cases: Sequence[object] = ()
              ) -> Iterator[tuple[int, list[CheckResult]]]:
    """The results of each item, with its index in ``items``, as each finishes.

    With ``jobs`` above one the items run in that many worker processes, started fresh
    (``spawn``), each loading the backend by its name (a built-in or
    ``package.module:factory``: a backend object cannot be sent to another process), so the
    results are those of a run in one process (cases depend on the seed alone, spec 7.6; the
    caches of 7.8 are safe to share), yielded in the order they finish. ``corpus_cases``: the
    loaded corpus, where an item's case is looked up by name (one process)."""
    if jobs < 1:
        raise ValueError(f"jobs {jobs}: expected a number of worker processes, at least 1")
    total = len(items)
    if jobs == 1 or total <= 1:
        loaded = load_backend(backend)
        by_name = {c.name: c for c in corpus_cases}  # type: ignore[attr-defined]
        for done, item in enumerate(items):
            if progress:
                progress(done, total, item.label)
            yield done, _run_item(loaded, item, profile, seed, conventions, case_time_limit,
                                  by_name)
        if progress:
            progress(total, total, "done")
        return
    if not isinstance(backend, str):
        raise ValueError("jobs > 1 needs the backend named by a string (a built-in name or "
                         "package.module:factory): each worker process loads its own")
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=min(jobs, total),
                             mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker, initargs=(backend,)) as pool:
        pending = {pool.submit(_work, item, profile, seed, conventions, case_time_limit): k
                   for k, item in enumerate(items)}
        done = 0
        if progress:
            progress(0, total, items[0].label)
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    done += 1
                    if progress:
                        progress(done, total, f"{items[index].label} (finished)"
                                 if pending else "done")
                    yield index, future.result()
        finally:
            for future in pending:
                future.cancel()


def _run_item(backend: Backend, item: Item, profile: Profile | str, seed: int,
              conventions: str, case_time_limit: float | None,
              corpus: dict[str, object]) -> list[CheckResult]:
    if item.corpus_case is not None:
        return run_corpus(backend, corpus[item.corpus_case], conventions, case_time_limit)
    return run_check(backend, item.check or "", profile, seed=seed,
                     primitives=[item.primitive or ""], conventions=conventions,
                     case_time_limit=case_time_limit)


_WORKER: dict[str, object] = {}
"""A worker process's backend and corpus (:func:`_start_worker`); empty elsewhere."""


def _start_worker(backend: str) -> None:
    _WORKER["backend"] = load_backend(backend)
    _exit_with_parent()


PARENT_POLL_SECONDS = 1.0
"""How often a worker process looks whether the process that started it is still there."""


def _exit_with_parent() -> None:
    """End this worker process, from a daemon thread, once the process that started it is
    gone (killed without the chance to stop its pool, as ``kill`` does): a worker would
    otherwise finish a long item, a ``thorough`` one of minutes, for nobody. Ctrl-C reaches
    the workers by itself (the terminal signals the whole process group)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="lintra-parent-watch", daemon=True).start()


def _work(item: Item, profile: Profile | str, seed: int, conventions: str,
          case_time_limit: float | None) -> list[CheckResult]:
    """One item in a worker process (the corpus is loaded on its first corpus item)."""
    if item.corpus_case is not None and "corpus" not in _WORKER:
        _WORKER["corpus"] = {c.name: c for c in _load_corpus()}
    return _run_item(_WORKER["backend"], item, profile, seed,  # type: ignore[arg-type]
                     conventions, case_time_limit,
                     _WORKER.get("corpus", {}))  # type: ignore[arg-type]


def run_corpus(backend: Backend, case: object, conventions: str = "report",
               case_time_limit: float | None = CASE_TIME_LIMIT) -> list[CheckResult]:
    """The results of one corpus case, under the convention mode and the time limit (a case
    running past it gives one skip naming the limit)."""
    from lintra.conformance.corpus import run_corpus_case

    name = case.name  # type: ignore[attr-defined]
    try:
        with time_limit(case_time_limit):
            results = run_corpus_case(backend, case)
    except CaseTimeout as exc:
        results = [CheckResult("corpus", Status.SKIP, timeout_reason(exc, f"corpus {name}"),
                               case=f"corpus {name}")]
    return [judged(replace(r, item=corpus_item(name)), conventions) for r in results]


def all_items(corpus_names: Sequence[str]) -> list[str]:
    """The id of every item of the suite: each property on each primitive, each corpus
    case (what an xfails entry may name)."""
    return [*(check_item(c, p) for c in CHECKS for p in sorted(PRIMITIVES)),
            *(corpus_item(n) for n in corpus_names)]


def finish(report: RunReport, entries: Sequence[Entry], corpus_cases: Sequence[object],
           case_time_limit: float | None) -> None:
    """Mark the known failures ``entries`` list in ``report``, record its stale and fixed
    entries, and note a time limit that could not be enforced here."""
    if entries:
        report.results[:] = mark_known(report.results, entries)
        names = [c.name for c in corpus_cases]  # type: ignore[attr-defined]
        report.stale = [describe(e) for e in stale(entries, all_items(names))]
        report.xpassed = [describe(e) for e in fixed(entries, report.results)]
    if case_time_limit and not time_limit_enforced():
        report.notes.append("the per-case time limit is not enforced here (it needs SIGALRM "
                            "and the main thread): a case that does not finish hangs the run")


def _load_corpus() -> list:
    from lintra.conformance.corpus import load_corpus

    return list(load_corpus())
