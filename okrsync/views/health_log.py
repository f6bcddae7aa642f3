"""The log lines an operator reads about a cycle: sources failing and recovering, holds.

A tracker that fails is logged once when it starts failing (warning) and once when it
answers again (info); while it stays down, each cycle logs it at debug only, so that a
cron job running every 15 minutes does not repeat the same warning all night. Whether a
source was up before comes from the state store, read before the cycle runs (the cycle
records the new health as it ends).

This lives with the views, not the commands: it is what people read, and the daemon will
log the same way without depending on the command line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from okrsync.state import Run, SourceHealth, StateStore
from okrsync.sync.hooks import CycleHooks
from okrsync.sync.report import CycleReport, HeldReport

__all__ = ["LogHooks", "PreviousHealth", "previous_health"]

log = logging.getLogger("okrsync.sync")

# Enough recent runs to find when a long outage began without reading the whole history.
_RUNS_LOOKED_AT = 500


@dataclass(frozen=True, slots=True)
class PreviousHealth:
    """How a source ended the previous cycle that read it, and since when it is down."""

    up: bool
    down_since: datetime | None = None


def _failed_in(run: Run, connection: str) -> bool:
    # record_cycle stores a run's failures as "<connection>: <error>" joined by "; ".
    error = run.error or ""
    return error.startswith(f"{connection}: ") or f"; {connection}: " in error


def _down_since(health: SourceHealth, runs: Sequence[Run]) -> datetime | None:
    """The start of the earliest failed run since the source last answered."""
    since = health.last_failure_at
    for run in runs:  # newest first
        if health.last_success_at is not None and run.started_at <= health.last_success_at:
            break
        if _failed_in(run, health.connection):
            since = run.started_at
    return since


def previous_health(store: StateStore) -> dict[str, PreviousHealth]:
    """Each source's health as the last recorded cycle left it, by connection name."""
    health = store.source_health()
    runs = store.runs(limit=_RUNS_LOOKED_AT) if any(not h.up for h in health.values()) else []
    return {
        name: PreviousHealth(True) if h.up else PreviousHealth(False, _down_since(h, runs))
        for name, h in health.items()
    }


def _when(moment: datetime | None) -> str:
    return "an earlier run" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z")


class LogHooks(CycleHooks):
    """Logs what an operator wants to know once per cycle, and each outage only twice.

    ``previous`` is each source's health before this cycle (:func:`previous_health`); a
    source not in it has never been read, so its first failure is news.
    """

    def __init__(self, previous: Mapping[str, PreviousHealth] | None = None) -> None:
        self.previous = dict(previous or {})

    def source_up(self, connection: str) -> None:
        before = self.previous.get(connection)
        if before is not None and not before.up:
            log.info("%s recovered (down since %s)", connection, _when(before.down_since))

    def source_down(self, connection: str, error: str) -> None:
        before = self.previous.get(connection)
        if before is None or before.up:
            log.warning("%s is failing: %s; its key results are stale", connection, error)
        else:
            log.debug(
                "%s is still failing (down since %s): %s",
                connection,
                _when(before.down_since),
                error,
            )

    def held(self, held: HeldReport) -> None:
        log.warning("%s held: %s", held.kr_id, held.reason)

    def cycle_finished(self, report: CycleReport) -> None:
        for name, source in sorted(report.sources.items()):
            for error in source.refused:
                log.warning("%s refused a scope: %s; its key results are stale", name, error)
