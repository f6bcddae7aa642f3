"""Steps 4 and 5 of a cycle: plan the changes, then apply them.

``plan`` is pure: the values each writable key result wants on its readable targets,
compared with what the trackers hold (``okrsync.sync.plan``), plus the Jira ``okrsync``
properties that differ from what Jira holds, and the conflicts (people's edits) to report.
``apply`` sends them (nothing in a dry run), enters each landed write in the ledger at
once, posts the status-change check-ins, and marks final the closed key results written
in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from mappings.tree import OkrTree
from okrsync.state.store import StateStore
from okrsync.sync import checkins as ci
from okrsync.sync.connections import Connections
from okrsync.sync.evaluate import Evaluation, writable
from okrsync.sync.hooks import WRITING, CycleHooks
from okrsync.sync.objective_writes import objective_desired
from okrsync.sync.plan import (
    Desired,
    Plan,
    PlannedWrite,
    Slot,
    TargetSpec,
    desired_values,
    plan_writes,
)
from okrsync.sync.reads import Reads
from okrsync.sync.record import record_writes
from okrsync.sync.report import ConflictReport, CycleReport, KrReport, WriteReport
from okrsync.sync.select import final_on, kr_period
from okrsync.sync.writeback import (
    PROPERTY_FIELD,
    PropertyWrite,
    apply_all,
    property_changed,
)

__all__ = ["CyclePlan", "apply", "plan", "property_payload"]


@dataclass(slots=True)
class CyclePlan:
    """What a cycle will write: field changes (with the conflicts found), the ``okrsync``
    properties, and for each writable KR the targets it writes to."""

    writes: Plan
    properties: list[PropertyWrite]
    readable: dict[str, list[TargetSpec]] = field(default_factory=dict)
    conflicts: list[ConflictReport] = field(default_factory=list)


def plan(
    tree: OkrTree,
    evaluation: Evaluation,
    reads: Reads,
    connections: Connections,
    *,
    now: datetime,
    down: set[str],
) -> CyclePlan:
    """The changes that bring every readable target of every writable KR to its result."""
    reports = evaluation.reports
    readable = {k: reads.readable(k, down) for k in reports if writable(reports[k])}
    desired: list[Desired] = []
    for kr_id, specs in readable.items():
        kr, end = reports[kr_id], kr_period(tree, kr_id).end
        for spec in specs:
            desired += desired_values(
                kr.result, spec, forecast=kr.forecast, period_end=end, synced_at=now
            )
    for objective in evaluation.objectives:
        specs = reads.usable(reads.objective_targets.get(objective.objective_id, ()), down)
        desired += objective_desired(objective, specs, synced_at=now)
    writes = plan_writes(desired, reads.current, reads.last_written, overrides=evaluation.overrides)
    new = {(o.kr_id, o.slot) for o in evaluation.new_overrides}
    conflicts = [
        ConflictReport.of(c)
        for c in writes.conflicts
        if c.resolution == "overwritten" or (c.kr_id, c.slot) in new
    ]
    properties = _property_writes(reports, readable, reads, connections)
    return CyclePlan(writes, properties, readable, conflicts)


def property_payload(report: KrReport) -> dict[str, object]:
    """The ``okrsync`` Jira issue property: the KR's numbers, stable while they are."""
    r = report.result
    fc = report.forecast
    projected = None if fc is None else fc.projected_progress
    return {
        "kr": report.kr_id,
        "title": report.title,
        "period": report.period,
        "status": r.status,
        "progress": None if r.progress is None else round(r.progress, 4),
        "expected": None if r.expected is None else round(r.expected, 3),
        "score": r.score,
        "done": r.done_count,
        "total": r.total_count,
        "done_points": r.done_points,
        "total_points": r.total_points,
        "value": r.value,
        "forecast": None if projected is None else round(projected, 2),
    }


def _property_writes(
    reports: dict[str, KrReport],
    readable: dict[str, list[TargetSpec]],
    reads: Reads,
    connections: Connections,
) -> list[PropertyWrite]:
    """The ``okrsync`` properties that differ from what the tracker holds (deleted,
    edited, or restored from a backup), one per target."""
    out: list[PropertyWrite] = []
    seen: set[tuple[str, str]] = set()
    for kr_id, specs in readable.items():
        payload = property_payload(reports[kr_id])
        for spec in specs:
            where = (spec.connection, spec.target)
            if where in seen or not connections.get(spec.connection).supports_properties:
                continue
            seen.add(where)
            before = reads.current.get(Slot(spec.connection, spec.target, PROPERTY_FIELD))
            if property_changed(before, payload):
                out.append(PropertyWrite(kr_id, spec.connection, spec.target, before, payload))
    return out


def apply(
    tree: OkrTree,
    changes: CyclePlan,
    evaluation: Evaluation,
    reads: Reads,
    connections: Connections,
    store: StateStore,
    report: CycleReport,
    *,
    hooks: CycleHooks,
    checkins: bool,
    grace_days: float,
) -> None:
    """Send the planned changes and the check-ins; put every KR in ``report``."""
    for conflict in changes.conflicts:
        report.conflicts.append(conflict)
        hooks.conflict(conflict)
    _send(changes, reads, connections, store, report, hooks)
    reports = evaluation.reports
    ci.post_checkins(
        tree,
        store,
        connections,
        report,
        reports,
        evaluation.previous,
        changes.readable,
        default=checkins,
    )
    failed = {w.kr_id for w in report.writes if w.error}
    for kr_id, specs in ({} if report.dry_run else changes.readable).items():
        kr = reports[kr_id]
        complete = len(specs) == len(reads.targets[kr_id])
        past_grace = report.started_at >= final_on(tree, kr_id, grace_days)
        if past_grace and complete and kr_id not in failed and not kr.final:
            reports[kr_id] = replace(kr, final=True, final_since=report.started_at, final_on=None)
    report.key_results = [
        replace(reports[k], position=index)
        for index, k in enumerate(tree.key_results)
        if k in reports
    ]
    report.objectives = evaluation.objectives


def _send(
    changes: CyclePlan,
    reads: Reads,
    connections: Connections,
    store: StateStore,
    report: CycleReport,
    hooks: CycleHooks,
) -> None:
    dry = report.dry_run
    writes, properties = changes.writes.writes, changes.properties
    hooks.phase(WRITING, len(writes) + len(properties))
    errors: dict[PlannedWrite, str | None] = {}
    done: list[tuple[PropertyWrite, str | None]] = [(p, None) for p in properties]
    if not dry:
        errors, done = apply_all(writes, properties, connections, hooks.advanced)
    units = {
        (spec.kr_id, spec.connection, spec.target): spec.progress_format
        for specs in [*reads.targets.values(), *reads.objective_targets.values()]
        for spec in specs
    }
    entries = [
        WriteReport.of(
            w,
            applied=not dry and errors.get(w) is None,
            error=errors.get(w),
            unit=units.get((w.kr_id, w.slot.connection, w.slot.target)),
        )
        for w in writes
    ]
    entries += [
        WriteReport(
            p.kr_id,
            p.connection,
            p.target,
            PROPERTY_FIELD,
            p.before,
            p.after,
            applied=not dry and error is None,
            error=error,
            role="property",
        )
        for p, error in done
    ]
    report.writes.extend(entries)
    if not dry and (entries or report.conflicts):
        record_writes(store, report, entries)
    for entry in entries:
        if entry.error:
            # The KR's numbers are right; this target refused them. The connection stays
            # up and the target is named once, with the tracker's words.
            report.source(entry.connection).targets.setdefault(entry.target, entry.error)
        if not dry:
            hooks.wrote(entry)
