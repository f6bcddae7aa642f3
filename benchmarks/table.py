"""The benchmark's results as a table for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_summary"]

PHASES = ("first", "unchanged", "changed")
TITLES = {"first": "first cycle", "unchanged": "nothing changed", "changed": "1% changed"}


def _requests(phase: dict[str, Any], tracker: str, key: str = "requests") -> int:
    return int(phase["requests"].get(tracker, {}).get(key, 0))


def _reads(phase: dict[str, Any]) -> str:
    full = sum(s["full_reads"] for s in phase["sources"].values())
    incremental = sum(s["incremental_reads"] for s in phase["sources"].values())
    return f"{full} / {incremental}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _rows(phases: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    cols = [phases[name] for name in PHASES if name in phases]
    return [
        ("wall time (s)", [f"{p['seconds']:.2f}" for p in cols]),
        ("Jira requests", [f"{_requests(p, 'jira'):,}" for p in cols]),
        ("Teambition requests", [f"{_requests(p, 'teambition'):,}" for p in cols]),
        (
            "write requests (Jira + TB)",
            [
                f"{_requests(p, 'jira', 'write_requests')} + "
                f"{_requests(p, 'teambition', 'write_requests')}"
                for p in cols
            ],
        ),
        ("field values written", [str(p["field_writes"]) for p in cols]),
        ("scopes read full / incremental", [_reads(p) for p in cols]),
        (
            "items in scopes",
            [f"{sum(s['items'] for s in p['sources'].values()):,}" for p in cols],
        ),
        ("peak RSS in phase (MiB)", [_mb(p["peak_rss_mb"]) for p in cols]),
        ("peak Python heap (MiB)", [_mb(p["heap_peak_mb"]) for p in cols]),
        ("outcome", [str(p["outcome"]) for p in cols]),
    ]


def print_summary(result: dict[str, Any], console: Console | None = None) -> None:
    """Print the data set, one column per cycle, and the sandbox's own search speed."""
    out = console or Console()
    data, options = result["data"], result["options"]
    out.print(
        f"[bold]okrsync benchmark[/bold] ({options['mode']}): Jira "
        f"{data['jira_issues_total']:,} issues ({data['jira_work_items']:,} under "
        f"{data['jira_epics']} epics), Teambition {data['teambition_tasks']:,} tasks, "
        f"{data['key_results']} key results; state {options['state']}, latency "
        f"{options['latency_seconds']} s, concurrency {options['concurrency'] or 'default'}"
    )
    phases = result.get("phases", {})
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    for name in PHASES:
        if name in phases:
            table.add_column(TITLES[name], justify="right")
    for label, values in _rows(phases):
        table.add_row(label, *values)
    out.print(table)
    setup = result.get("setup", {})
    out.print(
        f"setup: data generated in {setup.get('generate_seconds', 0):.1f} s, sandbox loaded in "
        f"{setup.get('sandbox_start_seconds', 0):.1f} s, RSS after setup "
        f"{_mb(setup.get('rss_after_setup_mb'))} MiB; process peak RSS "
        f"{_mb(result.get('process_peak_rss_mb'))} MiB"
    )
    check = result.get("verify")
    if check:
        verdict = "equal" if not check["mismatched"] else f"{len(check['mismatched'])} differ"
        out.print(
            f"check: {check['key_results']} key results after the incremental cycles vs a "
            f"full read ({check['full_read_seconds']:.1f} s): {verdict}"
        )
    search = result.get("sandbox_search")
    if search:
        out.print(
            f"sandbox alone: {search['issues']:,} issues in {search['pages']} pages in "
            f"{search['seconds']:.1f} s = {search['issues_per_second']:,} issues/s "
            f"({search['ms_per_page']} ms a page, one client)"
        )
