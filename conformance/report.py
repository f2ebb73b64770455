"""Reports of a conformance run: a plain-text summary, a self-contained HTML page, JSON.

The summary (:func:`format_summary`) is what the command line prints at the end of a run: one
table per property and one per primitive, with pass, fail, skip and convention counts and the
worst error in units of the bound (a pass is at most 1, spec 7.3). :func:`write_html` writes a
single HTML file with no external assets (styles inline, plots as inline SVG drawn here), so it
can be attached to a CI run or mailed as is: the same tables, the distribution of errors per
property on a log scale, every failure with its program, inputs and the command that re-runs
it, and the convention differences and skip reasons, grouped. :func:`write_json` writes
:meth:`RunReport.to_json` as strict JSON.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lintra.conformance.results import CheckResult, RunReport, Status
from lintra.reference.primitives import PRIMITIVES

COMMAND = ("python", "-m", "lintra.conformance")
"""How re-run commands invoke the command line."""

NO_PRIMITIVE = "(none)"
"""The row of results whose program uses no primitive (or did not parse)."""


# --------------------------------------------------------------------------------------------
# Summary tables


@dataclass(frozen=True)
class Row:
    """Counts of one row of a summary table: a property, or a primitive."""

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    convention: int = 0
    worst: float | None = None
    """Largest error in units of the bound among the row's results (None: none measured)."""
    xfailed: int = 0
    """Known failures (the run's xfails file lists their items)."""

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.convention + self.xfailed


def _worse(a: float | None, b: float | None) -> float | None:
    """The larger error, NaN counting as the worst of all (it is not a measurement)."""
    if a is None:
        return b
    if b is None:
        return a
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def tally(results: Iterable[CheckResult], keys: Callable[[CheckResult], Iterable[str]]
          ) -> list[Row]:
    """One row per key, in order of first appearance; a result counts in every row its
    ``keys`` names."""
    counts: dict[str, Counter] = {}
    worst: dict[str, float | None] = {}
    for r in results:
        for k in keys(r):
            counts.setdefault(k, Counter())[r.status] += 1
            worst[k] = _worse(worst.get(k), r.error)
    return [Row(k, c[Status.PASS], c[Status.FAIL], c[Status.SKIP], c[Status.CONVENTION],
                worst[k], c[Status.XFAIL]) for k, c in counts.items()]


def property_rows(results: Iterable[CheckResult]) -> list[Row]:
    """Rows per property, in the order the run checked them."""
    return tally(results, lambda r: (r.check,))


def primitive_rows(results: Iterable[CheckResult]) -> list[Row]:
    """Rows per primitive (:func:`attributed`), sorted by name; groups of corpus cases that
    test no single primitive come after the primitives."""
    rows = tally(results, attributed)
    return sorted(rows, key=lambda row: (row.name.startswith("("), row.name))


def attributed(result: CheckResult) -> tuple[str, ...]:
    """Where a result counts in the per-primitive table, so that a failure is blamed on the
    primitive it tests and no other: a generated case under the primitive its item is built
    around; a corpus case under the primitive its name says it tests (``sin_f64``,
    ``kink_max_ties``), else the only primitive its program uses, else under its corpus file
    (``(shapes corpus)``: cases about the language, or about several primitives at once). A
    result without an item (made by hand) counts for each primitive it names."""
    kind, _, rest = result.item.partition("::")
    if kind == "check" and "::" in rest:
        return (rest.rsplit("::", 1)[1],)
    if kind == "corpus":
        tested = _named_primitive(rest)
        if tested is None:
            known = [p for p in result.primitives if p in PRIMITIVES]
            tested = known[0] if len(known) == 1 else None
        if tested is not None:
            return (tested,)
        where = re.match(r"corpus (.+?):\d+ ", result.case)
        return (f"({Path(where.group(1)).stem if where else 'other'} corpus)",)
    return result.primitives or (NO_PRIMITIVE,)


def _named_primitive(case_name: str) -> str | None:
    """The primitive a corpus case's name starts with (after ``kink_``), the longest one."""
    name = case_name.removeprefix("kink_")
    for p in sorted(PRIMITIVES, key=len, reverse=True):
        if name == p or name.startswith(p + "_"):
            return p
    return None


def total_row(rows: Sequence[Row], name: str = "total") -> Row:
    worst = None
    for row in rows:
        worst = _worse(worst, row.worst)
    return Row(name, sum(r.passed for r in rows), sum(r.failed for r in rows),
               sum(r.skipped for r in rows), sum(r.convention for r in rows), worst,
               sum(r.xfailed for r in rows))


def format_error(x: float | None) -> str:
    """An error in bound units, to three digits; ``-`` when none was measured."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


HEADERS = ("pass", "fail", "skip", "conv", "worst/bound")
XFAIL_HEADER = "xfail"
"""The column of known failures, shown when a run has any."""


def format_table(rows: Sequence[Row], title: str, *, total: bool = True) -> str:
    """A fixed-width text table: ``title`` heads the name column; a total row ends it (an
    ``xfail`` column appears when some row has known failures)."""
    known = any(r.xfailed for r in rows)

    def line(r: Row) -> tuple[str, ...]:
        cells = (r.name, str(r.passed), str(r.failed), str(r.skipped), str(r.convention),
                 format_error(r.worst))
        return (*cells[:3], str(r.xfailed), *cells[3:]) if known else cells

    body = [line(r) for r in rows]
    foot = [line(total_row(rows))] if total and rows else []
    head = (title, *((*HEADERS[:2], XFAIL_HEADER, *HEADERS[2:]) if known else HEADERS))
    widths = [max(len(line[i]) for line in (head, *body, *foot)) for i in range(len(head))]

    def fmt(line: Sequence[str]) -> str:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [fmt(head), rule, *(fmt(line) for line in body)]
    if foot:
        out += [rule, fmt(foot[0])]
    return "\n".join(out)


def verdict(report: RunReport) -> str:
    """One line: the outcome and the counts of each status."""
    c = Counter(r.status for r in report.results)
    word = "FAILED" if report.failures else "passed"
    conventions = len(report.convention_differences)
    strict = " (failures: --conventions strict)" if report.conventions == "strict" else ""
    known = f", {c[Status.XFAIL]} known failures" if c[Status.XFAIL] else ""
    return (f"lintra conformance {word}: backend {report.backend}, profile {report.profile}: "
            f"{c[Status.PASS]} passed, {c[Status.FAIL]} failed{known}, {c[Status.SKIP]} "
            f"skipped, {conventions} convention differences{strict} in "
            f"{report.seconds:.1f} s")


def subject(result: CheckResult) -> str:
    """What a result is about, for one console line: its item (``check::P::PRIMITIVE``,
    ``corpus::NAME``), else its property and primitives."""
    return result.item or f"{result.check} ({', '.join(result.primitives) or NO_PRIMITIVE})"


def format_conventions(report: RunReport) -> str:
    """Every convention difference, one entry each: the property and primitive (its item),
    the point (the primal inputs), the element, the spec's value and the backend's; empty
    when there is none. Printed in both modes (spec 7.4)."""
    found = report.convention_differences
    if not found:
        return ""
    mode = ("failures under --conventions strict" if report.conventions == "strict" else
            "reported, not failed; --conventions strict fails them")
    lines = [f"convention differences ({len(found)}; spec chapter 6: {mode}):"]
    for r in found:
        what = (f"{r.element}: spec {r.expected}, backend {r.got}" if r.element else
                r.reason)
        lines.append(f"  {r.check} on {subject(r)}: {what}")
        if r.point:
            lines.append(f"    at {r.point}")
        if r.case and not r.case.startswith("generated"):
            lines.append(f"    {r.case}")
    return "\n".join(lines)


def format_known(report: RunReport) -> str:
    """The known failures (one line per item, however many results), the xfails entries
    that matched no item, those whose items did not fail, and the run's notes; empty when
    there is nothing to say."""
    lines = []
    known: dict[str, list[CheckResult]] = {}
    for r in report.known_failures:
        known.setdefault(r.item, []).append(r)
    if known:
        lines.append(f"known failures ({len(known)} items, listed in the xfails file; not "
                     "failing the run):")
        lines += [f"  {item}: {len(rs)} failing result{'s' if len(rs) > 1 else ''} "
                  f"({rs[0].known}); first: {rs[0].reason[:120]}"
                  for item, rs in known.items()]
    if report.stale:
        lines.append("xfails entries that match no item of the suite (renamed or removed? "
                     "remove them):")
        lines += [f"  {e}" for e in report.stale]
    if report.xpassed:
        lines.append("xfails entries whose items did not fail on this run (fixed?):")
        lines += [f"  {e}" for e in report.xpassed]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def format_summary(report: RunReport, *, primitives: bool = True) -> str:
    """The tables the command line prints after a run (``primitives``: include the
    per-primitive table), the convention differences, the known failures, and the verdict
    line."""
    parts = [format_table(property_rows(report.results), "property")]
    if primitives:
        parts.append(format_table(primitive_rows(report.results), "primitive", total=False))
    parts += [p for p in (format_conventions(report), format_known(report)) if p]
    parts.append(verdict(report))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------------
# Reproducers


_GENERATED = re.compile(r"generated:\s*(?P<args>--.*)\Z", re.S)
_CORPUS = re.compile(r"corpus (?P<file>.+):(?P<line>\d+) (?P<name>\S+) \(")


def rerun_command(result: CheckResult, backend: str) -> str | None:
    """The command line that re-runs the case of ``result`` on ``backend`` (as named on the
    command line), or None if its origin is not one the command line can select.

    A generated case's origin names its options (``generated: --check C --primitive P --seed
    S --profile Q``); a corpus case's names its file, line and case (``corpus FILE:LINE NAME
    (...)``)."""
    base = [*COMMAND, "--backend", backend]
    m = _GENERATED.match(result.case.strip())
    if m:
        try:
            args = shlex.split(m["args"])
        except ValueError:
            return None
        return shlex.join([*base, *args, "--no-corpus"])
    m = _CORPUS.match(result.case.strip())
    if m:
        return shlex.join([*base, "--case", m["name"]])
    return None


def format_failure(result: CheckResult, backend: str) -> str:
    """A failing result as text: what failed and why, its program, its inputs, the command
    that re-runs it and, for a generated case, the corpus file that reproduces it."""
    lines = [f"FAIL {result.check}: {result.reason}"]
    if result.error:  # a failure of class, dtype or shape has no size: no "0 x bound"
        lines.append(f"  error: {format_error(result.error)} x bound"
                     + (f" ({format_error(result.ulps)} ulps)" if result.ulps is not None else ""))
    if result.case:
        lines.append(f"  case: {result.case}")
    if result.program:
        lines += ["  program:", _indent(result.program, "    ")]
    if result.inputs:
        lines += ["  inputs (primals, tangents, cotangents):", _indent(result.inputs, "    ")]
    command = rerun_command(result, backend)
    if command:
        lines.append(f"  re-run: {command}")
    if result.reproducer:
        lines += [f"  reproducer (a corpus file, spec 7.7: save it as FILE.lcase and run "
                  f"python -m lintra.conformance.corpus run FILE.lcase --backend {backend}):",
                  _indent(result.reproducer, "    ")]
    return "\n".join(lines)


def format_failures(report: RunReport, backend: str | None = None) -> str:
    """Every failure of ``report``, as :func:`format_failure` writes it."""
    name = backend or report.backend
    return "\n\n".join(format_failure(r, name) for r in report.failures)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# --------------------------------------------------------------------------------------------
# JSON


def _strict(value: object) -> object:
    """``value`` with non-finite floats as the strings ``inf``, ``-inf``, ``nan`` (strict
    JSON has no literal for them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def write_json(report: RunReport, path: str | Path) -> None:
    """Write :meth:`RunReport.to_json` to ``path`` as strict JSON: an infinite or NaN error
    is written as the string ``"inf"``, ``"-inf"`` or ``"nan"``, which every JSON reader
    accepts (``Infinity`` is a Python extension)."""
    data = _strict(json.loads(report.to_json()))
    Path(path).write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# HTML


def _e(text: object) -> str:
    """Text escaped for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Histogram:
    """Errors of one property binned on a log scale (bins of ``1/per_decade`` decades from
    ``10**low``); zeros and non-finite errors are counted apart."""

    low: int
    high: int
    per_decade: int
    counts: tuple[int, ...]
    zeros: int
    nonfinite: int
    below: int
    """Errors smaller than ``10**low``, counted in the first bin."""

    @property
    def total(self) -> int:
        return sum(self.counts) + self.zeros + self.nonfinite


MAX_DECADES = 40
"""Widest range a histogram spans; smaller errors go into its first bin."""


def histogram(errors: Iterable[float]) -> Histogram:
    """Bin ``errors`` (in units of the bound) by decade, the range always reaching past 1 (the
    bound) so that passes and failures lie on either side of the same line."""
    values = list(errors)
    positive = [x for x in values if math.isfinite(x) and x > 0]
    zeros = sum(1 for x in values if x == 0)
    nonfinite = sum(1 for x in values if not math.isfinite(x))
    if positive:
        high = max(1, math.floor(math.log10(max(positive))) + 1)
        low = min(-1, math.floor(math.log10(min(positive))))
    else:
        low, high = -1, 1
    low = max(low, high - MAX_DECADES)
    decades = high - low
    per_decade = 4 if decades <= 6 else 2 if decades <= 16 else 1
    n = decades * per_decade
    counts = [0] * n
    below = 0
    for x in positive:
        pos = (math.log10(x) - low) * per_decade
        if pos < 0:
            below += 1
        counts[min(max(math.floor(pos), 0), n - 1)] += 1
    return Histogram(low, high, per_decade, tuple(counts), zeros, nonfinite, below)


def _decade(k: float) -> str:
    return "1" if k == 0 else f"1e{int(k)}"


UNDER, OVER = "#4a8bd6", "#d64a4a"
"""Colours of errors within the bound and beyond it."""


def histogram_svg(h: Histogram, label: str, *, width: int = 560, height: int = 170) -> str:
    """An inline SVG bar chart of ``h``: bins of errors within the bound in one colour, beyond
    it in another, the bound as a dashed line, decades on the horizontal axis."""
    left, right, top, bottom = 40, 12, 12, 34
    pw, ph = width - left - right, height - top - bottom
    n = len(h.counts)
    peak = max(h.counts) if any(h.counts) else 1
    bw = pw / n
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" '
           'font-size="11" '
           f'aria-label="{_e(f"errors of {label} in units of the bound, log scale")}">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" '
           'stroke="#ccc"/>']
    for i, c in enumerate(h.counts):
        lo = h.low + i / h.per_decade
        hi = h.low + (i + 1) / h.per_decade
        if not c:
            continue
        bh = ph * c / peak
        colour = OVER if hi > 0 else UNDER
        note = f"{c} case{'s' if c != 1 else ''} with error in [{10 ** lo:.3g}, {10 ** hi:.3g})"
        if i == 0 and h.below:
            note += f" (including {h.below} below {10 ** lo:.3g})"
        out.append(f'<rect x="{left + i * bw + 0.5:.2f}" y="{top + ph - bh:.2f}" '
                   f'width="{max(bw - 1, 0.5):.2f}" height="{bh:.2f}" fill="{colour}">'
                   f"<title>{_e(note)}</title></rect>")
    decades = h.high - h.low
    step = max(1, math.ceil(decades / 10))
    for k in range(h.low, h.high + 1):
        x = left + (k - h.low) * h.per_decade * bw
        out.append(f'<line x1="{x:.2f}" y1="{top + ph}" x2="{x:.2f}" y2="{top + ph + 4}" '
                   'stroke="#888"/>')
        if (k - h.low) % step == 0 or k == 0:
            out.append(f'<text x="{x:.2f}" y="{top + ph + 16}" text-anchor="middle">'
                       f"{_e(_decade(k))}</text>")
    xb = left - h.low * h.per_decade * bw
    out.append(f'<line x1="{xb:.2f}" y1="{top}" x2="{xb:.2f}" y2="{top + ph}" stroke="{OVER}" '
               'stroke-dasharray="4 3" stroke-width="1.5">'
               "<title>the bound: errors beyond it fail</title></line>")
    out.append(f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{peak}</text>')
    out.append(f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">0</text>')
    out.append(f'<text x="{left + pw / 2:.2f}" y="{height - 4}" text-anchor="middle">'
               "error / bound</text>")
    out.append("</svg>")
    return "".join(out)


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .15em .7em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { border-top: 2px solid #999; font-weight: bold; }
td.bad { color: #b00; font-weight: bold; }
.verdict { font-size: 1.2em; font-weight: bold; padding: .4em .8em; display: inline-block; }
.ok { background: #e6f4e6; color: #185c18; } .fail { background: #fbe4e4; color: #8b0000; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; border-left: 3px solid #ccc; }
pre.command { border-left-color: #36c; }
section.failure { border: 1px solid #e3b5b5; padding: 0 1em .5em; margin: 1em 0; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
figcaption { font-weight: bold; }
.note { color: #666; }
"""


def _table_html(rows: Sequence[Row], title: str, *, total: bool = True) -> str:
    def cells(r: Row) -> str:
        worst_bad = r.worst is not None and not (r.worst <= 1)
        return (f"<td>{_e(r.name)}</td><td>{r.passed}</td>"
                f'<td class="{"bad" if r.failed else ""}">{r.failed}</td>'
                f"<td>{r.xfailed}</td><td>{r.skipped}</td><td>{r.convention}</td>"
                f'<td class="{"bad" if worst_bad else ""}">{_e(format_error(r.worst))}</td>')

    head = "".join(f"<th>{_e(h)}</th>"
                   for h in (title, *HEADERS[:2], XFAIL_HEADER, *HEADERS[2:]))
    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    if total and rows:
        body += f'<tr class="total">{cells(total_row(rows))}</tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pre(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<pre{attr}>{_e(text)}</pre>"


def render_html(report: RunReport, *, backend: str | None = None,
                command: str | None = None) -> str:
    """The HTML page of :func:`write_html`, as a string."""
    name = backend or report.backend
    results = report.results
    failures = report.failures
    conventions = report.convention_differences
    known = report.known_failures
    skips = [r for r in results if r.status is Status.SKIP]
    ok = not failures
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(f'lintra conformance: {report.backend} ({report.profile})')}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>lintra conformance report</h1>",
        f'<p class="verdict {"ok" if ok else "fail"}">'
        f"{'PASSED' if ok else f'FAILED: {len(failures)} failing case(s)'}</p>",
        "<table>",
        f"<tr><td>backend</td><td>{_e(report.backend)}</td></tr>",
        f"<tr><td>profile</td><td>{_e(report.profile)}</td></tr>",
        f"<tr><td>results</td><td>{len(results)}</td></tr>",
        f"<tr><td>time</td><td>{report.seconds:.1f} s</td></tr>",
        f"<tr><td>written</td><td>{_e(datetime.datetime.now().isoformat(timespec='seconds'))}"
        "</td></tr>",
    ]
    if command:
        parts.append(f"<tr><td>command</td><td><code>{_e(command)}</code></td></tr>")
    parts += [
        "</table>",
        '<p><a href="#properties">per property</a> · <a href="#errors">errors</a> · '
        f'<a href="#failures">failures ({len(failures)})</a> · '
        f'<a href="#conventions">convention differences ({len(conventions)})</a> · '
        f'<a href="#skips">skips ({len(skips)})</a> · <a href="#primitives">per primitive</a>'
        "</p>",
        '<h2 id="properties">Per property</h2>',
        '<p class="note">Errors are in units of the derived bound: a pass is at most 1 '
        "(spec 7.3).</p>",
        _table_html(property_rows(results), "property"),
        '<h2 id="errors">Error distribution</h2>',
        '<p class="note">Per property, every measured error in units of the bound on a log '
        "scale; the dashed line is the bound. Zero and non-finite errors are counted below "
        "each plot.</p>",
    ]
    by_check: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_check.setdefault(r.check, [])
        if r.error is not None:
            by_check[r.check].append(r.error)
    for check, errors in by_check.items():
        if not errors:
            continue
        h = histogram(errors)
        extra = []
        if h.zeros:
            extra.append(f"{h.zeros} exact (error 0)")
        if h.nonfinite:
            extra.append(f"{h.nonfinite} non-finite")
        parts.append(f"<figure><figcaption>{_e(check)} ({h.total} measured)</figcaption>"
                     f"{histogram_svg(h, check)}"
                     + (f'<div class="note">{_e(", ".join(extra))}</div>' if extra else "")
                     + "</figure>")
    unmeasured = [c for c, errors in by_check.items() if not errors]
    if unmeasured:
        parts.append(f'<p class="note">No measured errors (exact or structural checks): '
                     f"{_e(', '.join(unmeasured))}.</p>")

    parts.append(f'<h2 id="failures">Failures ({len(failures)})</h2>')
    if not failures:
        parts.append("<p>None.</p>")
    for i, r in enumerate(failures, 1):
        cmd = rerun_command(r, name)
        parts += [
            f'<section class="failure" id="failure-{i}"><h3>{i}. {_e(r.check)}</h3>',
            f"<p>{_e(r.reason)}</p>",
        ]
        if r.error is not None:
            parts.append(f"<p>error: {_e(format_error(r.error))} × bound"
                         + (f", {_e(format_error(r.ulps))} ulps" if r.ulps is not None else "")
                         + "</p>")
        parts.append(f"<p>case: <code>{_e(r.case)}</code>; primitives: "
                     f"{_e(', '.join(r.primitives) or NO_PRIMITIVE)}</p>")
        parts += ["<p>program</p>", _pre(r.program or "(none)"),
                  "<p>inputs (primals, tangents, cotangents; floats in decimal, then "
                  "exactly in hex)</p>",
                  _pre(r.inputs or "(none)"), "<p>re-run</p>"]
        parts.append(_pre(cmd, "command") if cmd else
                     f'<p class="note">no command re-runs this case: origin {_e(r.case)} '
                     "not recognised</p>")
        parts.append("</section>")

    parts.append(f'<h2 id="conventions">Convention differences ({len(conventions)})</h2>')
    mode = ("failures: the run was --conventions strict" if report.conventions == "strict"
            else "reported, not failed (--conventions strict fails them)")
    parts.append('<p class="note">At a kink the backend chose a valid one-sided derivative '
                 f"other than the spec's convention (chapter 6): {_e(mode)}.</p>")
    parts.append(_grouped(conventions, key=lambda r: r.check, detail=True))
    if known or report.stale or report.xpassed or report.notes:
        parts.append(f'<h2 id="known">Known failures ({len(known)})</h2>')
        parts.append(_pre(format_known(report)))

    parts.append(f'<h2 id="skips">Skips ({len(skips)})</h2>')
    parts.append(_skip_table(skips))

    parts.append('<h2 id="primitives">Per primitive</h2>')
    parts.append('<p class="note">A result counts for the primitive it tests: a generated case for '
                 'the primitive it is built around, a corpus case for the one its name or '
                 'program names, else for its corpus file.</p>')
    parts.append(_table_html(primitive_rows(results), "primitive", total=False))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _grouped(results: Sequence[CheckResult], key: Callable[[CheckResult], str],
             detail: bool) -> str:
    """Collapsible groups of results by ``key``, each listing reasons, primitives, origin."""
    if not results:
        return "<p>None.</p>"
    groups: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    out = []
    for k, rs in groups.items():
        items = []
        for r in rs:
            item = f"{_e(r.reason)} <span class=\"note\">({_e(', '.join(r.primitives))}; " \
                   f"{_e(r.case)})</span>"
            if detail and r.program:
                item += f"<details><summary>program and inputs</summary>{_pre(r.program)}" \
                        f"{_pre(r.inputs)}</details>"
            items.append(f"<li>{item}</li>")
        out.append(f"<details><summary>{_e(k)} ({len(rs)})</summary><ul>{''.join(items)}</ul>"
                   "</details>")
    return "".join(out)


def _skip_table(skips: Sequence[CheckResult]) -> str:
    """Skip reasons, most frequent first, with how many and which properties gave each."""
    if not skips:
        return "<p>None.</p>"
    counts: Counter = Counter(r.reason or "(no reason given)" for r in skips)
    checks: dict[str, set[str]] = defaultdict(set)
    for r in skips:
        checks[r.reason or "(no reason given)"].add(r.check)
    rows = "".join(f"<tr><td>{_e(reason)}</td><td>{n}</td>"
                   f"<td>{_e(', '.join(sorted(checks[reason])))}</td></tr>"
                   for reason, n in counts.most_common())
    return ("<table><thead><tr><th>reason</th><th>skips</th><th>properties</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def write_html(report: RunReport, path: str | Path, *, backend: str | None = None,
               command: str | None = None) -> None:
    """Write a self-contained HTML report of ``report`` to ``path``. ``backend`` is the
    backend as named on the command line (default: its ``name``), used in re-run commands;
    ``command`` is the command line of the run, shown in the header."""
    Path(path).write_text(render_html(report, backend=backend, command=command),
                          encoding="utf-8")
