"""``okrsync sync``, ``explain``, ``history``, ``report`` and ``demo``."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from connectors.base import Connector
from mappings.loader import load_mappings
from mappings.rollup import ObjectiveResult
from okrsync.commands.common import (
    AppContext,
    echo_json,
    mappings_option,
    output_option,
    pass_app,
)
from okrsync.commands.demo import demo_command
from okrsync.errors import UserError
from okrsync.state import StateStore
from okrsync.state.errors import StateError
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.hooks import CombinedHooks
from okrsync.sync.report import CycleReport, KrReport, ObjectiveReport, jsonable
from okrsync.views import text as render
from okrsync.views.health_log import LogHooks, previous_health
from okrsync.views.progress import cycle_progress

__all__ = ["SYNC_COMMANDS", "open_store", "report_data"]

log = logging.getLogger("okrsync.sync")

OUTPUT = output_option


@contextmanager
def open_store(url: str, *, read_only: bool = False) -> Iterator[StateStore]:
    """The state store at ``url``; a database failure becomes a message saying what to do.

    ``read_only`` commands (report, explain, history) do not create a SQLite file that is
    not there yet: they say that nothing was recorded.
    """
    database = make_url(url).database if url.startswith("sqlite") else None
    if read_only and database and database != ":memory:" and not Path(database).exists():
        raise UserError(
            f"no state database at {database}: nothing recorded yet",
            ["run 'okrsync sync' first (or check the 'state_url' setting)"],
        )
    try:
        store = StateStore.open(url)
    except StateError as exc:
        raise UserError(str(exc)) from None
    try:
        yield store
    except StateError as exc:
        raise UserError(str(exc)) from None
    finally:
        store.close()


def close_all(connectors: Mapping[tuple[str, str], Connector]) -> None:
    """Release every connector's HTTP connections."""
    for connector in connectors.values():
        connector.close()


def emit(report: CycleReport, output: str) -> None:
    """Print a cycle report as text, JSON, or JSON on one line (``jsonl``)."""
    if output != "text":
        echo_json(report.to_dict(), output)
    else:
        render.print_cycle(render.make_console(), report.to_dict(detail=True))


@click.command("sync")
@click.option("--dry-run", is_flag=True, help="Compute and show the writes; send none.")
@click.option(
    "--force", is_flag=True, help="Write key results held because their scope lost items."
)
@click.option("--only", metavar="KR_ID", help="Sync one key result.")
@click.option(
    "--recompute-final",
    is_flag=True,
    help="Read and compute key results whose period is final again (their fields are "
    "otherwise only checked and repaired).",
)
@OUTPUT
@mappings_option
@pass_app
def sync_command(
    app: AppContext,
    dry_run: bool,
    force: bool,
    only: str | None,
    recompute_final: bool,
    output: str,
    mappings_path: Path | None,
) -> None:
    """Run one sync cycle: read the trackers, compute every KR, write back the changes.

    Exits 1 when a tracker failed, refused a scope or a write target, or a key result
    has nothing to measure (those key results are not written), 0 otherwise.
    """
    settings = app.settings()
    tree = load_mappings(
        mappings_path or settings.mappings, connections=settings.connection_names()
    )
    with open_store(settings.state_url) as store:
        connectors = build_connectors(settings)
        try:
            with cycle_progress(connectors, dry_run=dry_run) as progress:
                report = run_cycle(
                    tree,
                    connectors,
                    store,
                    now=datetime.now(UTC),
                    settings=settings.sync,
                    dry_run=dry_run,
                    force=force,
                    only=only,
                    recompute_final=recompute_final,
                    hooks=CombinedHooks(LogHooks(previous_health(store)), progress),
                )
        finally:
            close_all(connectors)
    emit(report, output)
    if report.partial:
        raise SystemExit(1)


def _latest(store: StateStore, kr_id: str) -> dict[str, Any]:
    data = store.latest_kr_result(kr_id)
    if data is None:
        known = ", ".join(sorted(store.latest_kr_results())) or "none yet"
        raise UserError(
            f"no result recorded for key result '{kr_id}'",
            [f"recorded: {known}", "run 'okrsync sync' first (or check the id)"],
        )
    return data


@click.command("explain")
@click.argument("kr_id")
@OUTPUT
@pass_app
def explain_command(app: AppContext, kr_id: str, output: str) -> None:
    """Show why a key result has its progress: each item, its contribution, what was left out.

    Reads the last recorded result; contacts no tracker.
    """
    with open_store(app.settings().state_url, read_only=True) as store:
        data = _latest(store, kr_id)
    if output != "text":
        echo_json(jsonable(data), output)
    else:
        render.print_explain(render.make_console(), data)


@click.command("history")
@click.argument("kr_id")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@OUTPUT
@pass_app
def history_command(app: AppContext, kr_id: str, limit: int, output: str) -> None:
    """Show a key result's progress over time (its latest snapshots, oldest first)."""
    with open_store(app.settings().state_url, read_only=True) as store:
        snapshots = store.kr_history(kr_id)
    if not snapshots:
        raise UserError(
            f"no history for key result '{kr_id}'", ["run 'okrsync sync' first (or check the id)"]
        )
    rows = [
        {
            "run_id": s.run_id,
            "at": s.at.isoformat(),
            "progress": s.progress,
            "expected": s.expected,
            "status": s.status,
            "score": s.score,
            "done_count": s.done_count,
            "total_count": s.total_count,
            "done_points": s.done_points,
            "total_points": s.total_points,
            "value": s.value,
            "stale": s.stale,
        }
        for s in snapshots[-limit:]
    ]
    if output != "text":
        echo_json({"kr": kr_id, "snapshots": rows}, output)
    else:
        render.print_history(render.make_console(), kr_id, rows)


def _position(data: dict[str, Any]) -> tuple[int, str]:
    return (int(data.get("position", 0)), str(data.get("kr_id") or data.get("objective_id")))


def stored_kr_output(data: dict[str, Any]) -> dict[str, Any]:
    """A KR's recorded latest result (``KrReport.stored()``) in the JSON output's shape."""
    return KrReport.from_stored(data).to_dict()


def stored_objective_output(data: dict[str, Any]) -> dict[str, Any]:
    """An objective's recorded latest result in the JSON output's shape."""
    report = ObjectiveReport(
        objective_id=str(data["objective_id"]),
        title=str(data.get("title", data["objective_id"])),
        period=str(data.get("period", "")),
        parent=data.get("parent"),
        result=ObjectiveResult.from_dict(data),
    )
    return report.to_dict()


def report_data(store: StateStore) -> dict[str, Any]:
    """The last recorded results in the shape of ``sync --output json`` (no writes)."""
    run = store.last_run()
    objectives = [
        stored_objective_output(data)
        for data in sorted(store.latest_objective_results().values(), key=_position)
    ]
    key_results = [
        stored_kr_output(data) for data in sorted(store.latest_kr_results().values(), key=_position)
    ]
    sources = {
        name: {
            "up": health.up,
            "error": None if health.up else health.last_error,
            "last_success_at": jsonable(health.last_success_at),
            "last_failure_at": jsonable(health.last_failure_at),
            "consecutive_failures": health.consecutive_failures,
        }
        for name, health in store.source_health().items()
    }
    return {
        "run": None
        if run is None
        else {
            "id": run.id,
            "started_at": jsonable(run.started_at),
            "finished_at": jsonable(run.finished_at),
            "mode": run.mode,
            "outcome": run.outcome,
            "writes": run.write_count,
            "held": run.held_count,
            "conflicts": run.conflict_count,
            "error": run.error,
        },
        "objectives": objectives,
        "key_results": key_results,
        "sources": sources,
    }


@click.command("report")
@OUTPUT
@pass_app
def report_command(app: AppContext, output: str) -> None:
    """Show the last recorded results without contacting any tracker."""
    with open_store(app.settings().state_url, read_only=True) as store:
        data = report_data(store)
    if not data["key_results"] and not data["objectives"]:
        raise UserError("no results recorded yet", ["run 'okrsync sync' first"])
    if output != "text":
        echo_json(data, output)
    else:
        render.print_report(render.make_console(), data)


SYNC_COMMANDS: list[click.Command] = [
    sync_command,
    explain_command,
    history_command,
    report_command,
    demo_command,
]
