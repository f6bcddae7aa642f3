"""``okrsync sync``: one cycle, and the state store every command that reads it opens."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from connectors.base import Connector
from mappings.loader import load_mappings
from okrsync.commands.common import (
    AppContext,
    echo_json,
    mappings_option,
    output_option,
    pass_app,
)
from okrsync.errors import UserError
from okrsync.service.export import export_metrics, metrics_export_options
from okrsync.service.lock import WriterLock, exclusive_writer
from okrsync.service.metrics import Metrics, hosts_of
from okrsync.state import StateStore
from okrsync.state.errors import StateError
from okrsync.state.records import SourceHealth
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.hooks import WRITING, CombinedHooks, CycleHooks
from okrsync.sync.report import CycleReport
from okrsync.views import text as render
from okrsync.views.health_log import LogHooks, previous_health
from okrsync.views.progress import cycle_progress

__all__ = ["open_store", "sync_command"]

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


def note_health(report: CycleReport, health: Mapping[str, SourceHealth]) -> None:
    """Give each connection of ``report`` its health as the store keeps it after the cycle,
    so that ``sync`` shows what ``report`` shows about a source."""
    for name, source in report.sources.items():
        known = health.get(name)
        if known is not None:
            source.last_success_at = known.last_success_at
            source.last_failure_at = known.last_failure_at
            source.consecutive_failures = known.consecutive_failures


class _WriterGuard(CycleHooks):
    """Stops a cycle before its first write when the writer lock is no longer ours (a
    PostgreSQL connection lost mid-cycle), since another okrsync may be writing by then."""

    def __init__(self, lock: WriterLock) -> None:
        self.lock = lock

    def phase(self, name: str, total: int | None = None) -> None:
        if name == WRITING and not self.lock.held():
            raise UserError(
                "lost the writer lock before writing (the state database connection "
                "ended); nothing was written",
                ["run 'okrsync sync' again"],
                exit_code=1,
            )


def emit(report: CycleReport, output: str) -> None:
    """Print a cycle report as text, JSON, or JSON on one line (``jsonl``)."""
    if output != "text":
        echo_json(report.to_dict(), output)
    else:
        render.print_cycle(render.make_console(), report.to_dict(detail=True))


@click.command("sync")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compute and show the writes; send none. Takes no writer lock, so it also runs "
    "while another okrsync is writing.",
)
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
@metrics_export_options
@mappings_option
@pass_app
def sync_command(
    app: AppContext,
    dry_run: bool,
    force: bool,
    only: str | None,
    recompute_final: bool,
    output: str,
    metrics_textfile: Path | None,
    pushgateway: str | None,
    mappings_path: Path | None,
) -> None:
    """Run one sync cycle: read the trackers, compute every KR, write back the changes.

    Only one okrsync writes for a state at a time: while another holds the writer lock,
    this one exits at once with a message naming it, having written nothing.

    Exits 1 when a tracker failed, refused a scope or a write target, a key result has
    nothing to measure (those key results are not written), or another okrsync is
    writing; 0 otherwise.
    """
    settings = app.settings()
    tree = load_mappings(
        mappings_path or settings.mappings, connections=settings.connection_names()
    )
    with ExitStack() as scope:
        store = scope.enter_context(open_store(settings.state_url))
        # Before any tracker is asked anything: a run that may not write reads nothing.
        guards: list[CycleHooks] = []
        if not dry_run:
            guards.append(_WriterGuard(scope.enter_context(exclusive_writer(settings.state_url))))
        metrics = Metrics(store=store, tree=lambda: tree, hosts=hosts_of(settings))
        connectors = build_connectors(
            settings, on_retry=metrics.on_retry, on_request=metrics.on_request
        )
        hooks = [*guards, metrics.hooks(), LogHooks(previous_health(store))]
        started = time.monotonic()
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
                    hooks=CombinedHooks(*hooks, progress),
                )
        except Exception:
            metrics.cycle_done("failed", time.monotonic() - started)
            try:
                export_metrics(metrics, textfile=metrics_textfile, pushgateway=pushgateway)
            except UserError as exc:
                log.warning("%s", exc.message)  # the cycle's own error is the one to show
            raise
        finally:
            close_all(connectors)
        metrics.cycle_done(report.outcome, time.monotonic() - started)
        note_health(report, store.source_health())
        emit(report, output)
        try:
            export_metrics(metrics, textfile=metrics_textfile, pushgateway=pushgateway)
        except UserError as exc:
            # The results are out; the run still fails, so that a broken export is seen.
            log.error("%s", exc.message)
            raise SystemExit(1) from None
    if report.partial:
        raise SystemExit(1)
