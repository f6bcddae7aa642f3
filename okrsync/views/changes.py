"""The changes part of the text output: writes grouped per target, holds, conflicts,
check-ins, each source's health and the counts.

Every written value is shown with what it means: ratios written to a ``progress_format:
ratio`` target also as a percentage, the expected pace and forecast named as such, the
``okrsync`` issue property by its gist, timestamps in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from okrsync.views.tree import pct

__all__ = ["print_changes", "print_sources", "value_text", "when"]

_ARROW = "→"
# What a written value is, where its field name may not say; printed once under the writes.
_ROLE_NOTE = {
    "expected": "the expected pace (the share of the period elapsed)",
    "forecast": "the progress projected for the end of the period",
    "last_synced": "when okrsync last changed the target",
    "property": "the whole result as JSON, for scripts and apps reading the REST API",
}
_RATIO_ROLES = ("progress", "expected", "forecast")


def when(value: str) -> str:
    """An ISO time as people read it: ``2026-11-28 01:19:22 UTC``."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        return moment.strftime("%Y-%m-%d %H:%M:%S %Z").replace("+00:00", "").strip()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def value_text(value: Any, role: str | None = None, unit: str | None = None) -> str:
    """A field value as people read it: ``(empty)``, ``0.631 (63.1%)``, a UTC time, ..."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, dict):
        # The issue property: its gist, not its JSON.
        status = str(value.get("status") or "").replace("_", " ")
        return f"progress {pct(value.get('progress'))}, {status}"
    if role == "last_synced" and isinstance(value, str):
        return when(value)
    if (
        unit == "ratio"
        and role in _RATIO_ROLES
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return f"{float(value)} ({pct(float(value))})"
    return str(value)


def _unit_note(unit: str | None) -> str:
    if unit == "ratio":
        return "ratios, 1.0 = 100%"
    if unit == "percent":
        return "percent, 0-100"
    return ""


def _print_writes(console: Console, writes: Sequence[Mapping[str, Any]], dry: bool) -> None:
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for write in writes:
        groups.setdefault((write["connection"], write["target"]), []).append(write)
    heading = Text("Planned writes (dry run, nothing sent)" if dry else "Writes", style="bold")
    fields = f"{len(writes)} field{'' if len(writes) == 1 else 's'}"
    heading.append(f": {fields} on {len(groups)} target{'' if len(groups) == 1 else 's'}")
    heading.append(f" (before {_ARROW} after)", style="dim")
    console.print(heading)
    for (connection, target), group in groups.items():
        head = Text("  ")
        head.append(target, style="bold")
        head.append(f" on {connection} for ", style="dim")
        head.append(", ".join(dict.fromkeys(str(w["kr"]) for w in group)))
        unit = next((w.get("format") for w in group if w.get("format")), None)
        if _unit_note(unit):
            head.append(f" · {_unit_note(unit)}", style="dim")
        console.print(head)
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for write in group:
            role, unit = write.get("role"), write.get("format")
            name = _field_name(write)
            change = Text(f"{value_text(write['before'], role, unit)} {_ARROW} ")
            change.append(value_text(write["after"], role, unit), style="bold")
            if write.get("error"):
                change.append(f"  FAILED: {write['error']}", style="bold red")
            table.add_row("  ", name, change)
        console.print(table)
    for role, note in _ROLE_NOTE.items():
        names = dict.fromkeys(_field_name(w) for w in writes if w.get("role") == role)
        if names:
            console.print(Text(f"  {' / '.join(names)}: {note}", style="dim"))


def _field_name(write: Mapping[str, Any]) -> str:
    return "issue property okrsync" if write.get("role") == "property" else str(write["field"])


def print_sources(console: Console, sources: Mapping[str, Mapping[str, Any]]) -> None:
    """One line per connection: up with what was read, or down with its error."""
    console.print(Text("Sources:", style="bold"))
    for name, source in sources.items():
        if source.get("up", True):
            reads = ""
            # None in the state store's view: only a cycle knows what it read.
            if source.get("full_reads") is not None:
                reads = (
                    f": {source.get('full_reads', 0)} full, "
                    f"{source.get('incremental_reads', 0)} incremental read(s), "
                    f"{source.get('items', 0)} items, {source.get('requests', 0)} requests"
                )
            console.print(Text(f"  {name} up{reads}", style="green"))
            for error in source.get("refused_scopes") or ():
                console.print(Text(f"    refused a scope: {error}", style="bold red"))
            for target, error in (source.get("target_errors") or {}).items():
                console.print(Text(f"    {target} not written: {error}", style="bold red"))
        else:
            console.print(Text(f"  {name} DOWN: {source.get('error')}", style="bold red"))


def _target_errors(data: Mapping[str, Any]) -> int:
    return sum(len(s.get("target_errors", {})) for s in data.get("sources", {}).values())


def print_changes(console: Console, data: Mapping[str, Any]) -> None:
    """What a cycle wrote (or would write), held and found, each source, and the counts."""
    run = data["run"]
    writes: list[Mapping[str, Any]] = data["writes"]
    if writes:
        _print_writes(console, writes, run["dry_run"])
    elif run["held"] or run["stale"] or _target_errors(data):
        console.print(Text("Nothing written.", style="bold"))
    else:
        console.print(Text("Nothing to write: every field already holds its value.", style="bold"))
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
        what = (
            "okrsync overwrote it (default policy)"
            if conflict["resolution"] == "overwritten"
            else "kept: manual_override makes it the KR's progress"
        )
        console.print(
            Text(
                f"CONFLICT {conflict['target']} {conflict['field']}: a person changed "
                f"{value_text(conflict['ours'])} to {value_text(conflict['theirs'])}; {what}. "
                "The ledger keeps both values.",
                style="cyan",
            )
        )
    for checkin in data.get("checkins", []):
        state = "posted" if checkin["posted"] else checkin.get("error") or "planned (dry run)"
        change = f"{checkin['from'].replace('_', ' ')} {_ARROW} {checkin['to'].replace('_', ' ')}"
        console.print(Text(f"Check-in on {checkin['target']} ({change}): {state}", style="bold"))
        for line in str(checkin.get("text", "")).splitlines():
            console.print(Text(f"  │ {line}", style="dim"))
    print_sources(console, data["sources"])
    count = run["planned_writes"] if run["dry_run"] else run["writes"]
    noun = "planned write" if run["dry_run"] else "write"
    summary = (
        f"{count} {noun}{'' if count == 1 else 's'}, {run['held']} held, "
        f"{run['conflicts']} conflicts, {run['stale']} stale"
    )
    if run.get("unknown"):
        summary += f" ({run['unknown']} unknown: nothing to measure)"
    if run.get("final"):
        summary += f", {run['final']} final"
    failed_targets = _target_errors(data)
    if failed_targets:
        summary += f", {failed_targets} target{'' if failed_targets == 1 else 's'} not written"
    console.print(Text(summary, style="bold"))
