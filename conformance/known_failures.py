"""Known failures: the xfails (and skips) files of a backend's adopters (spec 7.6).

One entry a line, the same for the command line (``--xfails FILE``), :func:`runner.run`
(``xfails=``) and the pytest plugin (``--lintra-xfails``, ``--lintra-skips``)::

    # comment lines and blank lines are ignored
    check::hvp_vs_oracle::tanh  # one property on one primitive: the reason, shown
    check::evaluate_vs_truth    # a property on every primitive
    corpus::kink_*              # a trailing * matches every id starting so
    check::*::sin               # a * inside matches any text within one ::-part
    corpus                      # everything under corpus::

An entry is an exact item id, an id ending in ``*`` (a prefix), or the leading
``::``-separated parts of ids (``check``, ``check::<property>``); a ``*`` before the end
stands for any text within one part (``check::*::sin``: every property on ``sin``). Entries
are not substrings: ``check::jvp`` matches nothing under ``check::jvp_vs_oracle``. A failure
of an item an entry matches is a known failure (status ``xfail``): listed once, not failing
the run. An entry that matches no item of the suite is *stale* and reported, so the files do
not silently rot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lintra.conformance.results import CheckResult, Status

CHECK = "check"
CORPUS = "corpus"
KINDS = (CHECK, CORPUS)
"""Item kinds: an item's id is ``<kind>::<name>``."""


class EntryError(ValueError):
    """A line of a skips or xfails file that is not an entry, or a file that cannot be read."""


@dataclass(frozen=True)
class Entry:
    """One line of a skips or xfails file."""

    pattern: str
    reason: str
    """The comment after the id, or where the entry is when there is none."""
    file: str
    line: int

    def matches(self, item_id: str) -> bool:
        """Whether this entry selects the item ``item_id`` (see the module docstring)."""
        return _compiled(self.pattern).match(item_id) is not None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The pattern as a regular expression: a trailing ``*`` any text, another ``*`` any
    text within one ``::``-part; without a trailing ``*``, the id is the pattern or goes on
    with ``::``."""
    prefix = pattern.endswith("*")
    parts = [re.escape(p) for p in (pattern[:-1] if prefix else pattern).split("*")]
    body = "[^:]*".join(parts)
    return re.compile(body + (".*" if prefix else "(?:::.*)?") + r"\Z", re.S)


def check_item(check: str, primitive: str) -> str:
    """The id of the item of property ``check`` on the cases generated around ``primitive``."""
    return f"{CHECK}::{check}::{primitive}"


def corpus_item(name: str) -> str:
    """The id of the item of corpus case ``name``."""
    return f"{CORPUS}::{name}"


def parse_entries(text: str, file: str) -> list[Entry]:
    """The entries of a skips or xfails file's ``text``; a malformed line raises
    :class:`EntryError` naming it."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        pattern, _, comment = raw.partition("#")
        pattern, comment = pattern.strip(), comment.strip()
        if not pattern:
            continue
        if pattern.endswith("::") and pattern[:-2] in KINDS:
            pattern = pattern[:-2]  # check:: is check
        where = f"{file}:{number}"
        kind = pattern.split("::", 1)[0]
        valid = (kind in KINDS and " " not in pattern and "\t" not in pattern
                 and "**" not in pattern
                 and (pattern in KINDS or pattern.startswith(kind + "::")))
        if not valid:
            raise EntryError(
                f"{where}: {pattern!r} is not an item id: expected check::<name>, "
                "corpus::<name>, a prefix ending in *, * within a part (check::*::sin), or "
                "check / corpus (then an optional # reason)")
        reason = f"{comment} ({where})" if comment else f"listed at {where}"
        entries.append(Entry(pattern, reason, file, number))
    return entries


def read_entries(path: str | Path) -> list[Entry]:
    """The entries of the file at ``path`` (a file that cannot be read raises
    :class:`EntryError`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EntryError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_entries(text, str(path))


def mark_known(results: Iterable[CheckResult], entries: Sequence[Entry]) -> list[CheckResult]:
    """``results`` with every failure of an item some entry matches turned into a known
    failure (status ``xfail``, :attr:`CheckResult.known` the first such entry's reason)."""
    out = []
    for r in results:
        if r.status is Status.FAIL:
            entry = next((e for e in entries if e.matches(r.item)), None)
            if entry is not None:
                r = replace(r, status=Status.XFAIL, known=f"{entry.pattern}: {entry.reason}")
        out.append(r)
    return out


def stale(entries: Sequence[Entry], item_ids: Iterable[str]) -> list[Entry]:
    """The entries that match none of ``item_ids`` (every item of the suite)."""
    ids = list(item_ids)
    return [e for e in entries if not any(e.matches(i) for i in ids)]


def fixed(entries: Sequence[Entry], results: Sequence[CheckResult]) -> list[Entry]:
    """The entries that match some item of ``results`` but no failure among them: the known
    failure did not happen on this run (fixed, or not reached by its cases)."""
    ran = {r.item for r in results}
    failed = {r.item for r in results if r.status in (Status.FAIL, Status.XFAIL)}
    return [e for e in entries if any(e.matches(i) for i in ran)
            and not any(e.matches(i) for i in failed)]


def describe(entry: Entry) -> str:
    """An entry as a report names it: its pattern and where it is written."""
    return f"{entry.pattern} ({entry.file}:{entry.line})"
