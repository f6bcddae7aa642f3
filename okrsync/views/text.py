"""Text output of the sync commands (rich), from the same JSON-ready data as ``--output json``.

Every function takes the plain data (``CycleReport.to_dict()`` or what ``report_data``
builds from the state store), so that text and JSON never disagree.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from okrsync.views.changes import print_changes, print_sources, when
from okrsync.views.tree import pct, print_tree

__all__ = [
    "dumps",
    "make_console",
    "print_changes",
    "print_cycle",
    "print_explain",
    "print_history",
    "print_report",
]


def make_console() -> Console:
    """A console on standard output.

    Its width is the terminal's; on a pipe or file, ``COLUMNS`` or else 80 (rich's
    default). The tree lays itself out for either.
    """
    return Console(file=sys.stdout, highlight=False)


def print_cycle(console: Console, data: Mapping[str, Any]) -> None:
    """The tree, then the writes grouped per target, holds, conflicts, check-ins, sources."""
    print_tree(console, data["objectives"], data["key_results"], data.get("sources", {}))
    print_changes(console, data)


def print_report(console: Console, data: Mapping[str, Any]) -> None:
    """The last recorded results: the tree, the last run and each source's health."""
    run = data.get("run")
    if run:
        console.print(
            f"Last run #{run['id']} at {when(run['started_at'])}: {run['outcome'] or 'unfinished'} "
            f"({run['writes']} writes, {run['held']} held, {run['conflicts']} conflicts)"
        )
    print_tree(console, data["objectives"], data["key_results"], data.get("sources", {}))
    if data.get("sources"):
        print_sources(console, data["sources"])


def print_explain(console: Console, kr: Mapping[str, Any]) -> None:
    """Why a KR has its progress: every item, what it contributed, and what was left out."""
    console.print(Text(f"{kr.get('title', kr['kr_id'])} [{kr['kr_id']}]", style="bold"))
    console.print(
        f"Progress {pct(kr.get('progress'))} · expected {pct(kr.get('expected'))} · "
        f"{str(kr.get('status', '')).replace('_', ' ')} · score {kr.get('score')}"
    )
    if kr.get("done_points") is not None:
        console.print(f"Points: {_number(kr['done_points'])} of {_number(kr['total_points'])}")
    elif kr.get("value") is not None:
        console.print(
            f"Value: {_number(kr['value'])} (start {kr.get('start')}, target {kr.get('target')})"
        )
    console.print(f"Items: {kr.get('done_count', 0)} done of {kr.get('total_count', 0)} counted")
    for line in _explain_notes(kr):
        console.print(line)
    table = Table("Item", "Title", "Status", "Estimate", "Counted", "Contribution", "Why")
    for item in kr.get("evidence", []):
        table.add_row(
            item["key"],
            item["title"],
            item["status"],
            _number(item.get("estimate")),
            _number(item.get("counted_estimate")),
            _number(item.get("contribution")),
            item.get("note", ""),
        )
    console.print(table)
    excluded = kr.get("excluded", [])
    if excluded:
        left_out = Table("Item", "Left out because")
        for item in excluded:
            left_out.add_row(item["key"], item["reason"])
        console.print(left_out)


def _explain_notes(kr: Mapping[str, Any]) -> Iterable[str]:
    if kr.get("status") == "stale":
        yield f"STALE: {kr.get('stale_reason')} (these are the last good numbers)"
    if kr.get("held"):
        yield f"HELD: {kr['held']} (these are the numbers before the hold)"
    if kr.get("override") is not None:
        yield f"Progress set by a person: {pct(kr['override'])}"
    forecast = kr.get("forecast")
    if forecast:
        yield _forecast_line(forecast)
    baseline, total = kr.get("scope_baseline"), kr.get("scope_total")
    if baseline is not None and total is not None:
        change = kr.get("scope_change")
        ratio = "" if change is None else f" ({change * 100:+.1f}%)"
        yield (
            f"Scope: {total} items now, {baseline} at the first cycle of "
            f"{kr.get('period') or 'the period'}{ratio}"
        )
    elif kr.get("scope_change") is not None:
        yield f"Scope change since the first read: {kr['scope_change'] * 100:+.1f}%"
    yield from (f"Note: {note}" for note in kr.get("notes", []))


def _forecast_line(forecast: Mapping[str, Any]) -> str:
    projected = forecast.get("projected_progress")
    basis = forecast.get("basis")
    if projected is None:
        return f"Forecast: none yet ({basis})"
    line = f"Forecast: {pct(projected)} by the end of the period"
    completion = forecast.get("projected_completion")
    if completion:
        line += f", done by {completion}"
    return f"{line} ({basis})"


def _number(value: Any) -> str:
    # Two decimals at most: a mean estimate of 27/7 points reads 3.86, not 3.85714.
    return "" if value is None else f"{round(float(value), 2):g}"


def print_history(console: Console, kr_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """A KR's snapshots, oldest first."""
    table = Table("When", "Progress", "Expected", "Status", "Done/Total", "Points", title=kr_id)
    for row in rows:
        points = ""
        if row.get("done_points") is not None:
            points = f"{_number(row['done_points'])}/{_number(row['total_points'])}"
        status = str(row["status"]).replace("_", " ")
        if row.get("stale") and row["status"] != "stale":
            status += " (stale)"
        table.add_row(
            str(row["at"])[:19].replace("T", " "),
            pct(row.get("progress")),
            pct(row.get("expected")),
            status,
            f"{row.get('done_count') or 0}/{row.get('total_count') or 0}",
            points,
        )
    console.print(table)


def dumps(data: Any, *, compact: bool = False) -> str:
    """The JSON text of the ``--output json`` documents, or with ``compact`` (``--output
    jsonl``) the same document on one line, to append to a JSON Lines log.

    JSON escapes newlines inside strings, so a compact document is always a single line.
    """
    if compact:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
