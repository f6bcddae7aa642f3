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

__all__ = [
    "BAR_WIDTH",
    "bar",
    "dumps",
    "make_console",
    "print_changes",
    "print_cycle",
    "print_explain",
    "print_history",
    "print_report",
    "write_line",
]

BAR_WIDTH = 20
#: Line width of output that goes to a file or pipe.
PIPE_WIDTH = 120
_STATUS_STYLE = {
    "done": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "stale": "magenta",
    "not_started": "dim",
}


def make_console() -> Console:
    """A console on standard output; 120 columns wide when not a terminal."""
    stream = sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, highlight=False, width=width)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def bar(progress: float | None, expected: float | None, width: int = BAR_WIDTH) -> str:
    """A progress bar with ``│`` where the expected pace is: ``█████░░│░░░``."""
    if progress is None:
        cells = ["·"] * width
    else:
        filled = round(max(0.0, min(1.0, progress)) * width)
        cells = ["█"] * filled + ["░"] * (width - filled)
    if expected is not None:
        cells[min(width - 1, max(0, int(expected * width)))] = "│"
    return "".join(cells)


def _status(data: Mapping[str, Any]) -> Text:
    status = str(data.get("status") or "")
    return Text(status.replace("_", " "), style=_STATUS_STYLE.get(status, ""))


#: Longest stale reason shown in the tree; the sources section has the whole error.
_REASON_WIDTH = 60


def _stale_note(kr: Mapping[str, Any], down: set[str]) -> str:
    failed = [name for name in kr.get("sources", ()) if name in down]
    if failed:
        return f"STALE: {', '.join(failed)} failed"
    reason = str(kr.get("stale_reason") or "progress unknown")
    if len(reason) > _REASON_WIDTH:
        reason = reason[: _REASON_WIDTH - 1] + "…"
    return f"STALE: {reason}"


def _kr_notes(kr: Mapping[str, Any], down: set[str]) -> Text:
    parts: list[tuple[str, str]] = []
    if kr.get("stale"):
        parts.append((_stale_note(kr, down), "magenta"))
    if kr.get("held"):
        parts.append((f"HELD: {kr['held']}", "yellow"))
    if kr.get("frozen"):
        parts.append(("final (period closed)", "dim"))
    if kr.get("override") is not None:
        parts.append(("progress set by a person", "cyan"))
    notes = Text()
    for index, (text, style) in enumerate(parts):
        notes.append(("; " if index else "") + text, style=style)
    return notes


def _objective_notes(objective: Mapping[str, Any]) -> Text:
    if not objective.get("partially_stale"):
        return Text()
    count = len(objective.get("stale_krs", ()))
    return Text(f"partially stale ({count} KR{'' if count == 1 else 's'})", style="magenta")


def _tree(
    objectives: Sequence[Mapping[str, Any]],
    krs: Sequence[Mapping[str, Any]],
    sources: Mapping[str, Mapping[str, Any]],
) -> Table:
    """Objectives and their key results as an indented tree, one aligned row each."""
    down = {name for name, source in sources.items() if not source.get("up", True)}
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("Objective / key result", overflow="fold", min_width=36)
    table.add_column("Progress (│ expected)", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Expected", justify="right", no_wrap=True)
    table.add_column("Notes", overflow="fold", min_width=32)
    by_id = {o["id"]: o for o in objectives}
    krs_of: dict[str, list[Mapping[str, Any]]] = {}
    for kr in krs:
        krs_of.setdefault(str(kr.get("objective")), []).append(kr)

    def row(prefix: str, name: Text, data: Mapping[str, Any], notes: Text) -> None:
        label = Text(prefix, style="dim")
        label.append_text(name)
        table.add_row(
            label,
            bar(data.get("progress"), data.get("expected")),
            _pct(data.get("progress")),
            _status(data),
            _pct(data.get("expected")),
            notes,
        )

    def add(objective: Mapping[str, Any], lead: str, branch: str, seen: set[str]) -> None:
        seen.add(objective["id"])
        name = Text(objective["title"], style="bold")
        name.append(f" ({objective['id']})", style="dim")
        row(lead + branch, name, objective, _objective_notes(objective))
        inner = lead + ("   " if branch in ("└─ ", "") else "│  ")
        children: list[tuple[str, Any]] = [("kr", kr) for kr in krs_of.pop(objective["id"], [])]
        children += [
            ("objective", child)
            for child in objectives
            if child.get("parent") == objective["id"] and child["id"] not in seen
        ]
        for index, (kind, child) in enumerate(children):
            mark = "└─ " if index == len(children) - 1 else "├─ "
            if kind == "kr":
                name = Text(child["title"])
                name.append(f" [{child['id']}]", style="dim")
                row(inner + mark, name, child, _kr_notes(child, down))
            else:
                add(child, inner, mark, seen)

    seen: set[str] = set()
    for objective in objectives:
        if objective.get("parent") not in by_id and objective["id"] not in seen:
            add(objective, "", "", seen)
    for leftover in krs_of.values():  # KRs whose objective is not shown
        for kr in leftover:
            name = Text(kr["title"])
            name.append(f" [{kr['id']}]", style="dim")
            row("", name, kr, _kr_notes(kr, down))
    return table


def _value(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, dict):
        # The issue property: its gist, not its JSON.
        return f"{{{_pct(value.get('progress'))}, {value.get('status')}}}"
    return str(value)


def write_line(write: Mapping[str, Any]) -> str:
    """One write as a diff line: ``OKR-1 OKR Progress: 40.0 -> 63.0``."""
    line = (
        f"{write['target']} {write['field']}: {_value(write['before'])} -> {_value(write['after'])}"
    )
    if write.get("error"):
        line += f"  FAILED: {write['error']}"
    return line


def _sources(console: Console, sources: Mapping[str, Mapping[str, Any]]) -> None:
    for name, source in sources.items():
        if source.get("up", True):
            reads = ""
            if "full_reads" in source:
                reads = (
                    f": {source.get('full_reads', 0)} full, "
                    f"{source.get('incremental_reads', 0)} incremental read(s), "
                    f"{source.get('items', 0)} items, {source.get('requests', 0)} requests"
                )
            console.print(Text(f"  {name} up{reads}", style="green"))
        else:
            console.print(Text(f"  {name} DOWN: {source.get('error')}", style="bold red"))


def print_cycle(console: Console, data: Mapping[str, Any]) -> None:
    """The tree, then the writes as a diff, holds, conflicts, check-ins and sources."""
    console.print(_tree(data["objectives"], data["key_results"], data.get("sources", {})))
    print_changes(console, data)


def print_changes(console: Console, data: Mapping[str, Any]) -> None:
    """What a cycle wrote (or would write), held and found, each source, and the counts."""
    run = data["run"]
    writes: list[Mapping[str, Any]] = data["writes"]
    if writes:
        heading = "Planned writes (dry run, nothing sent):" if run["dry_run"] else "Writes:"
        console.print(Text(heading, style="bold"))
        for write in writes:
            console.print(Text(f"  {write_line(write)}", style="red" if write.get("error") else ""))
    for held in data["held"]:
        console.print(
            Text(
                f"HELD {held['kr']}: {held['reason']} ({held['previous']} -> {held['current']} "
                f"items, {held['scope']}); nothing written. Check the tracker, then rerun "
                "with --force (or set flags.allow_drop) to write it.",
                style="yellow",
            )
        )
    for conflict in data["conflicts"]:
        what = "overwritten" if conflict["resolution"] == "overwritten" else "kept"
        console.print(
            Text(
                f"CONFLICT {conflict['target']} {conflict['field']}: a person changed "
                f"{_value(conflict['ours'])} to {_value(conflict['theirs'])} ({what})",
                style="cyan",
            )
        )
    for checkin in data.get("checkins", []):
        state = "posted" if checkin["posted"] else checkin.get("error") or "planned"
        console.print(
            f"Check-in on {checkin['target']} ({checkin['from']} -> {checkin['to']}): {state}"
        )
    console.print(Text("Sources:", style="bold"))
    _sources(console, data["sources"])
    count = run["planned_writes"] if run["dry_run"] else run["writes"]
    noun = "planned write" if run["dry_run"] else "write"
    summary = (
        f"{count} {noun}{'' if count == 1 else 's'}, {run['held']} held, "
        f"{run['conflicts']} conflicts, {run['stale']} stale"
    )
    console.print(Text(summary, style="bold"))


def print_report(console: Console, data: Mapping[str, Any]) -> None:
    """The last recorded results: the tree, the last run and each source's health."""
    run = data.get("run")
    if run:
        console.print(
            f"Last run #{run['id']} at {run['started_at']}: {run['outcome'] or 'unfinished'} "
            f"({run['writes']} writes, {run['held']} held, {run['conflicts']} conflicts)"
        )
    console.print(_tree(data["objectives"], data["key_results"], data.get("sources", {})))
    if data.get("sources"):
        console.print(Text("Sources:", style="bold"))
        _sources(console, data["sources"])


def print_explain(console: Console, kr: Mapping[str, Any]) -> None:
    """Why a KR has its progress: every item, what it contributed, and what was left out."""
    console.print(Text(f"{kr.get('title', kr['kr_id'])} [{kr['kr_id']}]", style="bold"))
    console.print(
        f"Progress {_pct(kr.get('progress'))} · expected {_pct(kr.get('expected'))} · "
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
        yield f"Progress set by a person: {_pct(kr['override'])}"
    forecast = kr.get("forecast")
    if forecast:
        projected = forecast.get("projected_progress")
        yield f"Forecast: {_pct(projected)} by the end of the period ({forecast.get('basis')})"
    if kr.get("scope_change") is not None:
        yield f"Scope change since the first read: {kr['scope_change'] * 100:+.1f}%"
    yield from (f"Note: {note}" for note in kr.get("notes", []))


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
        status = str(row["status"]).replace("_", " ") + (" (stale)" if row.get("stale") else "")
        table.add_row(
            str(row["at"])[:19].replace("T", " "),
            _pct(row.get("progress")),
            _pct(row.get("expected")),
            status,
            f"{row.get('done_count') or 0}/{row.get('total_count') or 0}",
            points,
        )
    console.print(table)


def dumps(data: Any) -> str:
    """The JSON text of the ``--output json`` documents."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
