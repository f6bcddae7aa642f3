"""``okrsync report``: the last recorded results, in the shape of ``sync --output json``."""

from __future__ import annotations

from typing import Any

import click

from mappings.serial import as_dict
from okrsync.commands.common import AppContext, echo_json, output_option, pass_app
from okrsync.commands.sync import open_store
from okrsync.errors import UserError
from okrsync.state import StateStore
from okrsync.state.records import Run, SourceHealth
from okrsync.sync.report import KrReport, ObjectiveReport, RunSummary, SourceReport, jsonable
from okrsync.views import text as render

__all__ = ["report_command", "report_data"]


def _position(data: dict[str, Any]) -> tuple[int, str]:
    return (int(data.get("position", 0)), str(data.get("kr_id") or data.get("objective_id")))


def _run(run: Run, key_results: list[KrReport], health: dict[str, SourceHealth]) -> RunSummary:
    # None where the store does not keep what the cycle knew (its flags, its plan).
    return RunSummary(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        mode=run.mode,
        outcome=run.outcome,
        dry_run=None if run.outcome is None else run.outcome == "dry_run",
        force=None,
        only=None,
        writes=run.write_count,
        planned_writes=None,
        requests=run.request_count,
        held=run.held_count,
        conflicts=run.conflict_count,
        stale=sum(1 for kr in key_results if kr.stale),
        unknown=None,
        final=sum(1 for kr in key_results if kr.final),
        failed_sources=tuple(sorted(name for name, h in health.items() if not h.up)),
        error=run.error,
    )


def _source(health: SourceHealth) -> dict[str, Any]:
    known = {
        "up": health.up,
        "error": None if health.up else health.last_error,
        "last_success_at": health.last_success_at,
        "last_failure_at": health.last_failure_at,
        "consecutive_failures": health.consecutive_failures,
    }
    # A cycle's source keys; what only that cycle knew (its reads) is None here.
    return {key: jsonable(known.get(key)) for key in SourceReport(health.connection).to_dict()}


def report_data(store: StateStore) -> dict[str, Any]:
    """The last recorded results in the shape of ``sync --output json`` (no writes).

    ``run``, ``objectives``, ``key_results`` and ``sources`` have the same keys as a
    cycle's; a value the state store does not keep is None.
    """
    run = store.last_run()
    health = store.source_health()
    objectives = [
        ObjectiveReport.from_stored(data)
        for data in sorted(store.latest_objective_results().values(), key=_position)
    ]
    key_results = [
        KrReport.from_stored(data)
        for data in sorted(store.latest_kr_results().values(), key=_position)
    ]
    return {
        "run": None if run is None else as_dict(_run(run, key_results, health)),
        "objectives": [objective.to_dict() for objective in objectives],
        "key_results": [kr.to_dict() for kr in key_results],
        "sources": {name: _source(h) for name, h in health.items()},
    }


@click.command("report")
@output_option
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
