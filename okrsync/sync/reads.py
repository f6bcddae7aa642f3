"""Step 2 of a cycle: fetch what the trackers and the state store hold now.

From the trackers: each scope's items (incrementally where the cache allows; see
``okrsync.sync.fetch``), then the current value of every field okrsync owns on the targets
of the KRs whose scopes were read, with Jira's ``okrsync`` issue property, in one batch
per connection. A connection that failed is not asked again in the cycle.

From the state store: what okrsync last wrote to each of those fields (a different value
now is a person's edit), the KRs' recent progress (for forecasts), nothing else. Each
connection's health, reads and refusals go into the cycle's report as they are learnt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mappings.tree import OkrTree
from okrsync.config.settings import SyncSettings
from okrsync.state.store import StateStore
from okrsync.sync.connections import Connections
from okrsync.sync.fetch import ScopeRead, fetch_scopes
from okrsync.sync.hooks import READING_FIELDS, CycleHooks
from okrsync.sync.objective_writes import resolve_objective_targets
from okrsync.sync.plan import Slot, TargetSpec
from okrsync.sync.report import CycleReport
from okrsync.sync.select import Selection
from okrsync.sync.writeback import (
    PROPERTY_FIELD,
    owned_slots,
    read_current,
    resolve_targets,
)

__all__ = ["FORECAST_WINDOW_DAYS", "Reads", "fetch"]

#: How far back progress history feeds the forecast.
FORECAST_WINDOW_DAYS = 14


@dataclass(slots=True)
class Reads:
    """Everything a cycle read.

    ``scopes``: each scope job's read. ``targets``: each shown KR's write targets.
    ``current``: the value each owned field (and Jira property, under ``PROPERTY_FIELD``)
    holds now, for the targets that could be read; ``unreadable`` the others.
    ``last_written``: okrsync's last value per field slot. ``history``: each active KR's
    recent fresh progress, oldest first.
    """

    scopes: dict[str, ScopeRead]
    targets: dict[str, list[TargetSpec]] = field(default_factory=dict)
    # Each objective's write targets, by objective id (see okrsync.sync.objective_writes).
    objective_targets: dict[str, list[TargetSpec]] = field(default_factory=dict)
    current: dict[Slot, object] = field(default_factory=dict)
    unreadable: set[tuple[str, str]] = field(default_factory=set)
    last_written: dict[Slot, object] = field(default_factory=dict)
    history: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)

    def readable(self, kr_id: str, down: set[str]) -> list[TargetSpec]:
        """The KR's targets that were read, on connections that are up."""
        return self.usable(self.targets.get(kr_id, ()), down)

    def usable(self, specs: Sequence[TargetSpec], down: set[str]) -> list[TargetSpec]:
        """Those of ``specs`` that were read, on connections that are up."""
        return [
            spec
            for spec in specs
            if (spec.connection, spec.target) not in self.unreadable and spec.connection not in down
        ]


def fetch(
    tree: OkrTree,
    selection: Selection,
    connections: Connections,
    store: StateStore,
    report: CycleReport,
    *,
    now: datetime,
    settings: SyncSettings,
    hooks: CycleHooks,
) -> Reads:
    """Read the scopes, then the owned fields of the targets, then okrsync's memory."""
    for connector in connections.connectors.values():
        connector.refresh()  # field catalogs are read again on first use in this cycle
    scopes = fetch_scopes(
        list(selection.jobs.values()),
        connections.connectors,
        selection.cached,
        store,
        now=now,
        full_reconcile_hours=settings.full_reconcile_hours,
        clock_skew_seconds=settings.clock_skew_seconds,
        hooks=hooks,
    )
    _count_reads(report, scopes)
    reads = Reads(scopes)
    # The targets of KRs whose scopes all answered (and of final KRs, to repair them).
    failed = {key for key, read in scopes.items() if not read.ok}
    kr_ids = [k for k in selection.shown if not failed.intersection(selection.jobs_of.get(k, ()))]
    reads.targets = {k: resolve_targets(tree, k, connections) for k in selection.shown}
    reads.objective_targets = {
        oid: resolve_objective_targets(tree, oid, connections)
        for oid, node in tree.objectives.items()
        if node.objective.write
    }
    extra = [spec for specs in reads.objective_targets.values() for spec in specs]
    _read_targets(reads, kr_ids, connections, store, report, hooks, extra=extra)
    since = now - timedelta(days=FORECAST_WINDOW_DAYS)
    for kr_id in selection.active:
        reads.history[kr_id] = [
            (snap.at, snap.progress)
            for snap in store.kr_history(kr_id, since=since)
            if not snap.stale and snap.progress is not None
        ]
    return reads


def _read_targets(
    reads: Reads,
    kr_ids: list[str],
    connections: Connections,
    store: StateStore,
    report: CycleReport,
    hooks: CycleHooks,
    *,
    extra: Sequence[TargetSpec] = (),
) -> None:
    down = set(report.failed_sources)
    specs = [
        spec
        for spec in [*(s for k in kr_ids for s in reads.targets[k]), *extra]
        if spec.connection not in down  # a failing tracker is not asked again
    ]
    slots = list(dict.fromkeys(slot for spec in specs for slot in owned_slots(spec)))
    for slot in slots:
        report.source(slot.connection)
    # Jira's ``okrsync`` property is compared with what Jira holds, like the fields.
    properties = list(
        dict.fromkeys(
            Slot(spec.connection, spec.target, PROPERTY_FIELD)
            for spec in specs
            if connections.get(spec.connection).supports_properties
        )
    )
    hooks.phase(READING_FIELDS, len(slots) + len(properties))
    if not slots:
        return
    current = read_current([*slots, *properties], connections)
    for name, error in current.failed_connections.items():
        report.source(name).fail(error)
    for (name, target), error in current.target_errors.items():
        report.source(name).targets.setdefault(target, error)
    reads.unreadable, reads.current = current.failed_targets, current.values
    written = store.last_written_many((s.connection, s.target, s.field) for s in slots)
    for slot in slots:
        value = written.get((slot.connection, slot.target, slot.field))
        if value is not None:
            reads.last_written[slot] = value


def _count_reads(report: CycleReport, scopes: Mapping[str, ScopeRead]) -> None:
    for read in scopes.values():
        source = report.source(read.job.connection)
        source.scopes += 1
        if not read.ok and read.scope_error:
            # Only this scope's key results go stale; the rest of the connection is
            # healthy and keeps being written.
            source.refused.append(read.error or "scope refused")
            continue
        if not read.ok:
            source.fail(read.error or "read failed")
            continue
        source.items += read.size
        if read.mode == "full":
            source.full_reads += 1
            report.mode = "full"
        else:
            source.incremental_reads += 1
