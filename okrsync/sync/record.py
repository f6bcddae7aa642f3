"""Recording a cycle in the state store, all in one transaction.

What is recorded: the scope caches and marks of every scope read (except held ones, so
that the next cycle compares against the same items and holds again until forced), a
snapshot and the latest result of every KR and objective, the ledger (held KRs, manual
overrides), each connection's health, and how the run ended. A dry run records only the
run itself. The writes and the conflicts they settle are recorded earlier, as soon as the
writes land (:func:`record_writes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from okrsync.state.store import StateStore
from okrsync.sync.evaluate import Evaluation
from okrsync.sync.fetch import ScopeRead, item_to_dict
from okrsync.sync.plan import Override, TargetSpec, format_ratio
from okrsync.sync.report import CycleReport, WriteReport

__all__ = ["Forget", "record_cycle", "record_writes"]


@dataclass(frozen=True, slots=True)
class Forget:
    """Latest results and scope caches of things no longer in the mappings.

    Their history stays; reports and metrics stop showing them.
    """

    kr_ids: Sequence[str] = ()
    objective_ids: Sequence[str] = ()
    scope_keys: Sequence[str] = ()


def _record_reads(
    store: StateStore, reads: Iterable[ScopeRead], held_scopes: set[str], report: CycleReport
) -> None:
    at = report.started_at
    for read in reads:
        if not read.ok or read.job.key in held_scopes:
            continue
        key, source = read.job.key, read.job.connector[0]
        previous = read.previous
        last_full: datetime | None = read.started_at
        if read.mode == "full":
            items = read.items or ()
            store.replace_scope_cache(key, source, {i.id: item_to_dict(i) for i in items}, at)
        else:
            if read.changed:
                store.upsert_scope_items(
                    key, source, {i.id: item_to_dict(i) for i in read.changed}, at
                )
            if previous is not None:
                last_full = previous.last_full_at
        baseline = previous.baseline_total if previous else None
        store.set_scope_mark(
            key,
            last_success_at=read.started_at,
            last_full_at=last_full,
            item_count=read.size,
            baseline_total=read.size if baseline is None else baseline,
        )


def record_writes(store: StateStore, report: CycleReport, writes: Sequence[WriteReport]) -> None:
    """Record the writes that reached a tracker, and the people's edits they answer.

    Called as soon as the writes land, in its own transaction, not with the rest of the
    run: if the cycle dies before recording the run, the ledger still knows what okrsync
    wrote, so the next cycle does not take okrsync's own values for a person's edits.
    """
    assert report.run_id is not None
    run_id, at = report.run_id, report.started_at
    with store.transaction():
        for conflict in report.conflicts:
            note = (
                "changed by a person; okrsync overwrote it"
                if conflict.resolution == "overwritten"
                else "changed by a person; kept (manual_override)"
            )
            store.record_write(
                run_id,
                conflict.connection,
                conflict.target,
                conflict.field,
                conflict.ours,
                conflict.theirs,
                "conflict",
                note,
                at=at,
            )
        for write in writes:
            if write.applied:
                store.record_write(
                    run_id,
                    write.connection,
                    write.target,
                    write.field,
                    write.before,
                    write.after,
                    "write",
                    at=at,
                )


def _record_ledger(
    store: StateStore,
    report: CycleReport,
    evaluation: Evaluation,
    overrides: Sequence[Override],
    specs: Mapping[str, Sequence[TargetSpec]],
) -> None:
    run_id, at = report.run_id, report.started_at
    shown = {kr.kr_id: kr.result for kr in report.key_results}
    noted: set[str] = set()
    for held, computed in evaluation.held:
        if held.kr_id in noted:
            continue  # one row per target even when several scopes dropped
        noted.add(held.kr_id)
        before = shown[held.kr_id].progress if held.kr_id in shown else None
        for spec in specs.get(held.kr_id, ()):
            fmt = spec.progress_format
            store.record_write(
                run_id,
                spec.connection,
                spec.target,
                spec.fields.progress or "(progress)",
                None if before is None else format_ratio(before, fmt),
                None if computed.progress is None else format_ratio(computed.progress, fmt),
                "held",
                f"{held.reason} ({held.previous} -> {held.current} items in {held.scope}); "
                "rerun with --force to write it",
                at=at,
            )
    for override in overrides:
        store.record_write(
            run_id,
            override.slot.connection,
            override.slot.target,
            override.slot.field,
            override.ours,
            override.theirs,
            "skipped_manual_override",
            "a person's progress stands (manual_override)",
            at=at,
        )


def record_cycle(
    store: StateStore,
    report: CycleReport,
    reads: Iterable[ScopeRead],
    evaluation: Evaluation,
    overrides: Sequence[Override],
    specs: Mapping[str, Sequence[TargetSpec]],
    forget: Forget | None = None,
) -> None:
    """Record everything the cycle learned and did, in one transaction."""
    assert report.run_id is not None
    applied = len(report.applied_writes)
    failures = "; ".join(f"{name}: {report.sources[name].error}" for name in report.failed_sources)
    with store.transaction():
        if not report.dry_run:
            _record_reads(store, reads, evaluation.held_scopes, report)
            for kr in report.key_results:
                if not kr.frozen:
                    store.record_kr_snapshot(
                        report.run_id, report.started_at, kr.kr_id, kr.stored(), kr.stale
                    )
            for objective in report.objectives:
                store.record_objective_snapshot(
                    report.run_id,
                    report.started_at,
                    objective.objective_id,
                    objective.stored(),
                    objective.result.partially_stale,
                )
            _record_ledger(store, report, evaluation, overrides, specs)
            for name, source in sorted(report.sources.items()):
                store.set_source_health(name, source.up, source.error, at=report.started_at)
            if forget is not None:
                store.forget_results(forget.kr_ids, forget.objective_ids)
                for key in forget.scope_keys:
                    store.drop_scope(key)
        store.finish_run(
            report.run_id,
            report.outcome,
            request_count=report.request_count,
            write_count=applied,
            held_count=len(report.held),
            conflict_count=len(report.conflicts),
            error=failures or None,
            at=report.finished_at,
            mode=report.mode,
        )
