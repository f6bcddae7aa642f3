"""One sync cycle: mappings -> connectors -> engine -> write-back -> record.

``run_cycle`` is okrsync's main job; the CLI and the daemon only call it with their
clients (connectors, state store) injected. Steps:

1. collect the distinct scopes of the selected key results (each fetched once, sources
   concurrently, incrementally where the state store allows; ``okrsync.sync.fetch``);
2. compute each KR's result (``mappings.engine``) and the objectives' roll-ups;
3. read the owned fields' current values, detect people's edits, plan the changes
   (``okrsync.sync.plan``) and apply them, plus the ``okrsync`` issue property on Jira
   targets and status-change check-ins (``okrsync.sync.checkins``);
4. record the run, snapshots, latest evidence, source health and scope caches in one
   transaction (``okrsync.sync.record``); the writes themselves are entered in the ledger as
   soon as they land, so that a cycle dying halfway never leaves okrsync's own values
   looking like a person's edits to the next one.

Failure semantics (DESIGN principle 1): a scope whose read fails makes its KRs stale (last
good result kept, nothing written); a scope that comes back empty or loses more than
``drop_threshold`` of its items is held (no write, a ``held`` ledger row, its cache not
advanced so that the next cycle holds it again) unless ``force`` or ``flags.allow_drop``.

Closed periods: for ``final_after_days`` after a period's end (the grace period) its KRs
are still read and computed, so that late closes count; the first cycle after it writes
them once more and marks the results final (since that cycle). Later cycles do not read
their scopes, but compare their fields (and the Jira property) with the final values and
repair any drift; ``recompute_final`` reads and computes them again on purpose.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector
from mappings.period import as_utc, is_closed
from mappings.tree import OkrTree
from okrsync.config.settings import SyncSettings
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore
from okrsync.sync import checkins as ci
from okrsync.sync.evaluate import (
    StoredResults,
    evaluate,
    frozen_reports,
    history_forecast,
    kr_period,
    objective_reports,
    plan_jobs,
    property_payload,
    scope_baselines,
    select_krs,
    with_override,
)
from okrsync.sync.fetch import ScopeRead, fetch_scopes, needs_full
from okrsync.sync.hooks import COMPUTING, READING_FIELDS, RECORDING, WRITING, CycleHooks
from okrsync.sync.plan import (
    Desired,
    Override,
    Plan,
    Slot,
    TargetSpec,
    desired_values,
    detect_overrides,
    plan_writes,
)
from okrsync.sync.record import Forget, record_cycle, record_writes
from okrsync.sync.report import (
    ConflictReport,
    CycleReport,
    KrReport,
    WriteReport,
)
from okrsync.sync.writeback import (
    PROPERTY_FIELD,
    Connections,
    PropertyWrite,
    apply_all,
    owned_slots,
    property_changed,
    read_current,
    resolve_targets,
    supports_properties,
)

__all__ = ["CycleHooks", "run_cycle"]

log = logging.getLogger(__name__)


def run_cycle(
    tree: OkrTree,
    connectors: Mapping[tuple[str, str], Connector],
    store: StateStore,
    *,
    now: datetime,
    settings: SyncSettings,
    dry_run: bool = False,
    force: bool = False,
    only: str | None = None,
    hooks: CycleHooks | None = None,
    recompute_final: bool = False,
) -> CycleReport:
    """Run one sync cycle; return what it computed, wrote, held and found.

    ``now`` is the cycle's time: the wall clock in production (the next incremental read
    asks for changes since it). ``dry_run`` reads and plans but writes nothing to the
    trackers, posts no check-in and records only the run. ``force`` writes held KRs.
    ``only`` limits the cycle to one KR (``UserError`` if the mappings lack it).
    ``recompute_final`` reads and computes final KRs again (a closed period reopened on
    purpose); they are final again once written.
    """
    cycle = _Cycle(tree, Connections(connectors), store, settings, hooks or CycleHooks())
    return cycle.run(
        as_utc(now), dry_run=dry_run, force=force, only=only, recompute=recompute_final
    )


class _Cycle:
    """The state of one cycle while it runs; each method is one step."""

    def __init__(
        self,
        tree: OkrTree,
        connections: Connections,
        store: StateStore,
        settings: SyncSettings,
        hooks: CycleHooks,
    ) -> None:
        self.tree = tree
        self.connections = connections
        self.store = store
        self.settings = settings
        self.hooks = hooks
        self.report = CycleReport(run_id=None, started_at=datetime.now(UTC))
        self.results: dict[str, KrReport] = {}
        self.specs: dict[str, list[TargetSpec]] = {}
        self.readable: dict[str, list[TargetSpec]] = {}
        self.writable: list[str] = []
        self.current: dict[Slot, object] = {}

    @property
    def now(self) -> datetime:
        return self.report.started_at

    def run(
        self, now: datetime, *, dry_run: bool, force: bool, only: str | None, recompute: bool
    ) -> CycleReport:
        clock = time.monotonic()
        tree, store, report = self.tree, self.store, self.report
        report.started_at, report.dry_run, report.force, report.only = now, dry_run, force, only
        kr_ids = select_krs(tree, only)
        sent_before = {
            key: connector.requests_sent for key, connector in self.connections.connectors.items()
        }
        for connector in self.connections.connectors.values():
            refresh = getattr(connector, "refresh", None)
            if callable(refresh):
                refresh()  # field catalogs are read again on first use in this cycle
        stored = store.latest_kr_results()
        frozen = (
            [] if recompute else [k for k in kr_ids if self._past_grace(k) and _final(stored, k)]
        )
        active = [k for k in kr_ids if k not in frozen]
        jobs, jobs_of = plan_jobs(tree, active, self.connections)
        cached = {key: (store.get_scope_mark(key), store.get_scope_cache(key)) for key in jobs}
        hours = self.settings.full_reconcile_hours
        full = any(needs_full(mark, len(items), now, hours) for mark, items in cached.values())
        report.mode = "full" if full or not jobs else "incremental"
        report.run_id = store.start_run(report.mode, at=now)
        try:
            reads = fetch_scopes(
                list(jobs.values()),
                self.connections.connectors,
                cached,
                now=now,
                full_reconcile_hours=hours,
                clock_skew_seconds=self.settings.clock_skew_seconds,
                hooks=self.hooks,
            )
            del cached  # the raw cached items, now WorkItems in ``reads``: free them early
            self._count_reads(reads)
            previous = StoredResults(stored)
            self.hooks.phase(COMPUTING, len(active))
            evaluation = evaluate(
                tree,
                active,
                jobs_of,
                reads,
                previous,
                now=now,
                drop_threshold=self.settings.drop_threshold,
                force=force,
                baselines=scope_baselines(tree, active, stored),
                previous_counts={
                    k: int(stored[k].get("scope_count") or 0) for k in active if k in stored
                },
            )
            self.results = dict(evaluation.reports)
            for entry, _ in evaluation.held:
                report.held.append(entry)
                self.hooks.held(entry)
            self.results.update(frozen_reports(tree, frozen, stored))
            overrides = self._write_back(active, frozen, stored)
            ci.post_checkins(
                tree,
                store,
                self.connections,
                report,
                self.results,
                previous,
                {k: self.readable[k] for k in self.writable},
                default=self.settings.checkins,
            )
            self._finalize()
            self._count_requests(sent_before)
            # Only the KRs this cycle did not compute rebuild their previous result.
            kr_results = {
                k: self.results[k].result if k in self.results else previous[k]
                for k in previous
                if k in tree.key_results
            }
            kr_results.update({k: r.result for k, r in self.results.items()})
            report.objectives = objective_reports(tree, kr_results, now, only=only)
            report.finished_at = now + timedelta(seconds=time.monotonic() - clock)
            self.hooks.phase(RECORDING)
            forget = None if only is not None else _forgotten(tree, store, stored, set(jobs))
            record_cycle(store, report, reads.values(), evaluation, overrides, self.specs, forget)
        except BaseException as exc:
            try:
                store.finish_run(report.run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            except StateError:
                log.exception("could not record the failed run %s", report.run_id)
            raise
        for name, source in sorted(report.sources.items()):
            if source.up:
                self.hooks.source_up(name)
            else:
                self.hooks.source_down(name, source.error or "failed")
        self.hooks.cycle_finished(report)
        return report

    def _count_requests(self, sent_before: Mapping[tuple[str, str], int]) -> None:
        for key, connector in self.connections.connectors.items():
            sent = connector.requests_sent - sent_before[key]
            if sent:
                self.report.source(f"{key[0]}:{key[1]}").requests = sent

    def _count_reads(self, reads: dict[str, ScopeRead]) -> None:
        for read in reads.values():
            source = self.report.source(read.job.connection)
            source.scopes += 1
            if read.items is None and read.scope_error:
                # Only this scope's key results go stale; the rest of the connection is
                # healthy and keeps being written.
                source.refused.append(read.error or "scope refused")
                continue
            if read.items is None:
                source.fail(read.error or "read failed")
                continue
            source.items += len(read.items)
            if read.mode == "full":
                source.full_reads += 1
                self.report.mode = "full"
            else:
                source.incremental_reads += 1

    def _write_back(
        self, active: list[str], frozen: list[str], stored: dict[str, dict[str, Any]]
    ) -> list[Override]:
        """Read owned fields, take people's overrides, plan and apply the changes.

        Final KRs (``frozen``) are not recomputed, but their fields are compared with
        their final values and repaired like any other. Returns the manual overrides
        first seen in this cycle (for the ledger).
        """
        tree, now = self.tree, self.now
        shown = [*active, *frozen]
        self.specs = {k: resolve_targets(tree, k, self.connections) for k in shown}
        self.writable = [k for k in shown if _writable(self.results[k])]
        down = set(self.report.failed_sources)
        slots = [
            slot
            for k in self.writable
            for spec in self.specs[k]
            for slot in owned_slots(spec)
            if spec.connection not in down  # a failing tracker is not asked again
        ]
        for slot in slots:
            self.report.source(slot.connection)
        # Jira's ``okrsync`` property is compared with what Jira holds, like the fields.
        properties = [
            Slot(spec.connection, spec.target, PROPERTY_FIELD)
            for k in self.writable
            for spec in self.specs[k]
            if spec.connection not in down and self._keeps_properties(spec)
        ]
        self.hooks.phase(READING_FIELDS, len(slots) + len(properties))
        current = read_current([*slots, *properties], self.connections) if slots else None
        unreadable: set[tuple[str, str]] = set()
        values: dict[Slot, object] = {}
        if current is not None:
            for name, error in current.failed_connections.items():
                self.report.source(name).fail(error)
            for (name, target), error in current.target_errors.items():
                self.report.source(name).targets.setdefault(target, error)
            unreadable, values = current.failed_targets, current.values
        self.current = values
        down = set(self.report.failed_sources)
        self.readable = {
            k: [
                spec
                for spec in self.specs[k]
                if (spec.connection, spec.target) not in unreadable and spec.connection not in down
            ]
            for k in self.writable
        }
        last: dict[Slot, object] = {}
        for slot in slots:
            value = self.store.last_written(slot.connection, slot.target, slot.field)
            if value is not None:
                last[slot] = value
        manual = [k for k in self.writable if tree.key_results[k].kr.flags.manual_override]
        overrides = detect_overrides(
            [spec for k in manual for spec in self.readable[k]], manual, values, last
        )
        for kr_id, override in overrides.items():
            kr = self.results[kr_id]
            result = with_override(kr.result, override, tree, now)
            self.results[kr_id] = replace(kr, result=result, override=override.progress)
        for kr_id in active:  # a final KR keeps the forecast it closed with
            kr = self.results[kr_id]
            fc = history_forecast(self.store, kr_id, kr.result, kr_period(tree, kr_id), now)
            self.results[kr_id] = replace(kr, forecast=fc)
        desired: list[Desired] = []
        for kr_id in self.writable:
            kr, end = self.results[kr_id], kr_period(tree, kr_id).end
            for spec in self.readable[kr_id]:
                desired += desired_values(
                    kr.result, spec, forecast=kr.forecast, period_end=end, synced_at=now
                )
        plan = plan_writes(desired, values, last, overrides=overrides)
        fresh = [
            o
            for o in overrides.values()
            if (stored.get(o.kr_id) or {}).get("override") != o.progress
        ]
        new = {(o.kr_id, o.slot) for o in fresh}
        for c in plan.conflicts:
            if c.resolution == "overwritten" or (c.kr_id, c.slot) in new:
                entry = ConflictReport(
                    c.kr_id,
                    c.slot.connection,
                    c.slot.target,
                    c.slot.field,
                    c.ours,
                    c.theirs,
                    c.resolution,
                )
                self.report.conflicts.append(entry)
                self.hooks.conflict(entry)
        self._apply(plan, self._property_writes())
        return fresh

    def _keeps_properties(self, spec: TargetSpec) -> bool:
        connector = self.connections.get(spec.connection)
        return spec.source == "jira" and supports_properties(connector)

    def _property_writes(self) -> list[PropertyWrite]:
        """The ``okrsync`` properties that differ from what the tracker holds (deleted,
        edited, or restored from a backup), one per target."""
        out: list[PropertyWrite] = []
        seen: set[tuple[str, str]] = set()
        for kr_id in self.writable:
            payload = property_payload(self.results[kr_id])
            for spec in self.readable[kr_id]:
                where = (spec.connection, spec.target)
                if where in seen or not self._keeps_properties(spec):
                    continue
                seen.add(where)
                before = self.current.get(Slot(spec.connection, spec.target, PROPERTY_FIELD))
                if property_changed(before, payload):
                    out.append(PropertyWrite(kr_id, spec.connection, spec.target, before, payload))
        return out

    def _apply(self, plan: Plan, properties: list[PropertyWrite]) -> None:
        dry = self.report.dry_run
        self.hooks.phase(WRITING, len(plan.writes) + len(properties))
        errors: dict[Any, str | None] = {}
        done: list[tuple[PropertyWrite, str | None]] = [(p, None) for p in properties]
        if not dry:
            errors, done = apply_all(plan.writes, properties, self.connections, self.hooks.advanced)
        units = {
            (spec.kr_id, spec.connection, spec.target): spec.progress_format
            for specs in self.specs.values()
            for spec in specs
        }
        entries = [
            WriteReport(
                w.kr_id,
                w.slot.connection,
                w.slot.target,
                w.slot.field,
                w.before,
                w.after,
                applied=not dry and errors.get(w) is None,
                error=errors.get(w),
                role=w.role,
                unit=units.get((w.kr_id, w.slot.connection, w.slot.target)),
            )
            for w in plan.writes
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
        self.report.writes.extend(entries)
        if not dry and (entries or self.report.conflicts):
            record_writes(self.store, self.report, entries)
        for entry in entries:
            if entry.error:
                # The KR's numbers are right; this target refused them. The connection
                # stays up and the target is named once, with the tracker's words.
                self.report.source(entry.connection).targets.setdefault(entry.target, entry.error)
            if not dry:
                self.hooks.wrote(entry)

    def _final_on(self, kr_id: str) -> datetime:
        """When a KR's result becomes final: its period's end plus the grace period."""
        grace = timedelta(days=self.settings.final_after_days)
        return kr_period(self.tree, kr_id).ends_at + grace

    def _past_grace(self, kr_id: str) -> bool:
        return self.now >= self._final_on(kr_id)

    def _finalize(self) -> None:
        """Mark final the results past their grace period written in full (a final one
        stays final, since when it became so); order the KRs."""
        failed = {w.kr_id for w in self.report.writes if w.error}
        for kr_id, kr in list(self.results.items()):
            if is_closed(kr_period(self.tree, kr_id), self.now) and not kr.final:
                self.results[kr_id] = replace(kr, final_on=self._final_on(kr_id))
        for kr_id in [] if self.report.dry_run else self.writable:
            kr = self.results[kr_id]
            complete = len(self.readable[kr_id]) == len(self.specs[kr_id])
            if self._past_grace(kr_id) and complete and kr_id not in failed and not kr.final:
                self.results[kr_id] = replace(kr, final=True, final_since=self.now, final_on=None)
        self.report.key_results = [
            replace(self.results[k], position=index)
            for index, k in enumerate(self.tree.key_results)
            if k in self.results
        ]


def _forgotten(
    tree: OkrTree, store: StateStore, stored: dict[str, dict[str, Any]], scopes: set[str]
) -> Forget:
    """What the state store still holds for KRs, objectives and scopes no longer mapped."""
    return Forget(
        kr_ids=sorted(set(stored) - set(tree.key_results)),
        objective_ids=sorted(set(store.latest_objective_results()) - set(tree.objectives)),
        scope_keys=sorted(store.scope_keys() - scopes),
    )


def _final(stored: dict[str, dict[str, Any]], kr_id: str) -> bool:
    return bool((stored.get(kr_id) or {}).get("final"))


def _writable(kr: KrReport) -> bool:
    return kr.held is None and kr.result.status != "stale" and kr.result.progress is not None
