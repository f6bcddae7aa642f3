"""Step 3 of a cycle: evaluate. One pure call from what was read to every result.

``evaluate`` takes the OKR tree, the selection, the reads (scope items, the fields' current
values, okrsync's last writes, progress history) and the clock, and returns every key
result and objective result of the cycle, the holds, the people's overrides and the
forecasts. No I/O: the mapping layer's engine computes each KR (``mappings.engine``); this
module adds what needs more than one KR or more than this cycle's items:

- a KR whose read failed is *stale* (its last good result shown); one with nothing to
  measure is *unknown*; one whose items dropped where the measure makes a drop suspicious
  is *held* (``mappings.measures.emptiness``) unless forced or ``flags.allow_drop``;
- a final KR is shown as recorded; a closed one inside its grace period says when it
  becomes final;
- with ``flags.manual_override`` a person's progress in a target wins;
- forecasts come from the recent history plus this cycle's progress;
- objectives roll up their key results and aligned child objectives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from mappings.engine import evaluate_kr, restamp, stale_result
from mappings.forecast import Forecast, forecast, scope_change
from mappings.measures import emptiness
from mappings.period import Period, has_started, is_closed, parse_period
from mappings.results import KrResult, clamp, pace_status, score_of
from mappings.rollup import rollup
from mappings.schema import KeyResult, Scope, Thresholds
from mappings.tree import OkrTree
from okrsync.config.settings import SyncSettings
from okrsync.state.records import LatestKr
from okrsync.sync.fetch import ScopeRead
from okrsync.sync.plan import Override, detect_overrides
from okrsync.sync.reads import FORECAST_WINDOW_DAYS, Reads
from okrsync.sync.report import HeldReport, KrReport, ObjectiveReport
from okrsync.sync.select import Selection, final_on, kr_period

__all__ = ["Evaluation", "StoredResults", "describe_scope", "evaluate", "writable"]


@dataclass(slots=True)
class Evaluation:
    """Everything ``evaluate`` found.

    ``reports``: every shown KR's report (active and final). ``held``: each hold with the
    result that was computed (for the ledger); ``held_scopes``: the scope caches not to
    advance. ``overrides``: the people's progress that won, per KR; ``new_overrides``
    those first seen in this cycle. ``objectives``: the roll-ups. ``previous``: each KR's
    last recorded result, rebuilt on first use.
    """

    reports: dict[str, KrReport]
    previous: StoredResults
    held: list[tuple[HeldReport, KrResult]] = field(default_factory=list)
    held_scopes: set[str] = field(default_factory=set)
    overrides: dict[str, Override] = field(default_factory=dict)
    new_overrides: list[Override] = field(default_factory=list)
    objectives: list[ObjectiveReport] = field(default_factory=list)


def writable(kr: KrReport) -> bool:
    """Whether a KR's result may be written: fresh (or final), known, not held."""
    return kr.held is None and kr.result.status != "stale" and kr.result.progress is not None


def evaluate(
    tree: OkrTree,
    selection: Selection,
    reads: Reads,
    *,
    now: datetime,
    settings: SyncSettings,
    force: bool,
    down: set[str],
    only: Sequence[str] | None,
) -> Evaluation:
    """Every result of the cycle from what it read; ``down`` names the connections that
    failed (their targets count as unread)."""
    stored, active = selection.stored, selection.active
    previous = StoredResults({k: record.data for k, record in stored.items()})
    computed = _compute(
        tree,
        active,
        selection.jobs_of,
        reads.scopes,
        previous,
        now=now,
        drop_threshold=settings.drop_threshold,
        force=force,
        baselines=scope_baselines(tree, active, stored),
        previous_counts={k: stored[k].scope_count for k in active if k in stored},
        stored=stored,
    )
    reports = dict(computed.reports)
    reports.update(frozen_reports(tree, selection.final, stored))
    out = Evaluation(reports, previous, computed.held, computed.held_scopes)
    manual = [
        k
        for k in selection.shown
        if writable(reports[k]) and tree.key_results[k].kr.flags.manual_override
    ]
    specs = [spec for k in manual for spec in reads.readable(k, down)]
    out.overrides = detect_overrides(specs, manual, reads.current, reads.last_written)
    for kr_id, override in out.overrides.items():
        kr = reports[kr_id]
        result = with_override(kr.result, override, tree, now)
        reports[kr_id] = replace(kr, result=result, override=override.progress, inputs=None)
        if kr_id not in stored or stored[kr_id].override != override.progress:
            out.new_overrides.append(override)
    for kr_id in active:  # a final KR keeps the forecast it closed with
        kr = reports[kr_id]
        samples = reads.history.get(kr_id, [])
        fc = _forecast(samples, kr.result, kr_period(tree, kr_id), now)
        reports[kr_id] = replace(kr, forecast=fc)
        if is_closed(kr_period(tree, kr_id), now):
            reports[kr_id] = replace(
                reports[kr_id], final_on=final_on(tree, kr_id, settings.final_after_days)
            )
    # Only the KRs this cycle did not compute rebuild their previous result.
    kr_results = {
        k: reports[k].result if k in reports else previous[k]
        for k in previous
        if k in tree.key_results
    }
    kr_results.update({k: r.result for k, r in reports.items()})
    out.objectives = objective_reports(tree, kr_results, now, only=only)
    return out


def _forecast(
    samples: list[tuple[datetime, float]], result: KrResult, period: Period, now: datetime
) -> Forecast:
    """The forecast from the KR's recent snapshots plus this cycle's fresh progress."""
    points = list(samples)
    if result.status != "stale" and result.progress is not None:
        points.append((now, result.progress))
    return forecast(points, period, now, FORECAST_WINDOW_DAYS)


@dataclass(slots=True)
class _Computed:
    reports: dict[str, KrReport] = field(default_factory=dict)
    held: list[tuple[HeldReport, KrResult]] = field(default_factory=list)
    held_scopes: set[str] = field(default_factory=set)


class StoredResults(Mapping[str, KrResult]):
    """The last recorded result of each KR (raw, as the state store keeps them), each
    rebuilt with its evidence only when first looked up: a cycle needs few of them (KRs
    gone stale or held, check-ins, KRs left out of the cycle), and rebuilding all of them
    costs time and memory in proportion to every item of every scope."""

    def __init__(self, stored: Mapping[str, Mapping[str, Any]]) -> None:
        self._stored = stored
        self._built: dict[str, KrResult] = {}

    def __getitem__(self, kr_id: str) -> KrResult:
        found = self._built.get(kr_id)
        if found is None:
            found = self._built[kr_id] = KrResult.from_dict(self._stored[kr_id])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)


def _lost(before: int | None, now: int, threshold: float) -> bool:
    """Whether going from ``before`` items to ``now`` looks like an outage, not work."""
    if not before:
        return False
    return now == 0 or (before - now) / before > threshold


def _drops(
    kr_reads: list[ScopeRead], previous_count: int | None, now_count: int, threshold: float
) -> list[tuple[ScopeRead | None, int, int]]:
    """The suspicious drops of one KR: per scope against that scope's last count, or,
    when no scope dropped on its own (a scope edited in the mappings, or new), the KR's
    items against the count behind its last result. ``None`` stands for the whole KR."""
    out: list[tuple[ScopeRead | None, int, int]] = [
        (r, r.previous_count or 0, r.size)
        for r in kr_reads
        if r.ok and _lost(r.previous_count, r.size, threshold)
    ]
    if not out and _lost(previous_count, now_count, threshold):
        out.append((None, previous_count or 0, now_count))
    return out


def describe_scope(scope: Scope) -> str:
    """A scope in a few words: ``jira_epics epics=['PAY-1']``."""
    data = scope.model_dump(mode="json", exclude={"connection", "include_subtasks"})
    kind = data.pop("kind")
    return f"{kind} " + ", ".join(f"{key}={value}" for key, value in data.items())


def _compute(
    tree: OkrTree,
    kr_ids: list[str],
    jobs_of: dict[str, list[str]],
    reads: dict[str, ScopeRead],
    previous: Mapping[str, KrResult],
    *,
    now: datetime,
    drop_threshold: float,
    force: bool,
    baselines: Mapping[str, int] | None = None,
    previous_counts: Mapping[str, int] | None = None,
    stored: Mapping[str, LatestKr] | None = None,
) -> _Computed:
    """Each KR's result from its scopes' reads: stale if a read failed, unknown if its
    scope gave nothing to measure, held if its items dropped where the measure makes a
    drop suspicious (the previous result shown instead), else fresh from the engine.

    ``baselines`` holds each KR's scope size at its first cycle in its period (from the
    state store); a KR without one starts its baseline now. ``previous_counts`` holds
    the item count behind each KR's last result, so that a scope edited in the mappings
    is still compared with what the KR counted before. ``stored`` holds each KR's last
    record: a KR whose scopes are all unchanged, with the same definition, keeps its
    last fresh result (restamped to ``now``) without loading any item (see
    :func:`reusable`).
    """
    baselines = baselines or {}
    previous_counts = previous_counts or {}
    stored = stored or {}
    out = _Computed()
    for kr_id in kr_ids:
        node = tree.key_results[kr_id]
        period = kr_period(tree, kr_id)
        kr_reads = [reads[key] for key in jobs_of[kr_id]]
        failed = [r for r in kr_reads if not r.ok]
        held: str | None = None
        unknown: str | None = None
        inputs = kr_inputs(tree, kr_id, jobs_of[kr_id])
        record = stored.get(kr_id)
        if record is not None and reusable(node.kr, kr_reads, record, inputs):
            result = restamp(
                node.kr, previous[kr_id], period=period, now=now, thresholds=tree.thresholds(kr_id)
            )
            out.reports[kr_id] = _kr_report(
                tree,
                kr_id,
                period,
                result,
                record.scope_total,
                baselines,
                kr_reads,
                inputs=inputs,
                kept=record.data,
            )
            continue
        # ``previous`` is looked up only where it is needed (see StoredResults).
        if failed:
            reason = "; ".join(f"{r.job.connection}: {r.error}" for r in failed)
            result = stale_result(previous.get(kr_id), kr_id, reason)
        else:
            items = [item for r in kr_reads for item in r.items or ()]
            result = evaluate_kr(
                node.kr, items, period=period, now=now, thresholds=tree.thresholds(kr_id)
            )
            computed, count = result, result.scope_count
            if result.progress is None:
                unknown = result.stale_reason or "progress unknown"
                prev = previous.get(kr_id)
                if prev is not None:
                    result = stale_result(prev, kr_id, unknown)
            # Where fewer items is the goal, losing them is progress, not an outage.
            drops = (
                []
                if emptiness(node.kr.measure) == "expected"
                else _drops(kr_reads, previous_counts.get(kr_id), count, drop_threshold)
            )
            if drops and not (force or node.kr.flags.allow_drop):
                unknown = None  # held says more: the previous result stands until confirmed
                for read, before, now_count in drops:
                    why = (
                        "the scope came back empty"
                        if now_count == 0
                        else f"the scope lost more than {drop_threshold:.0%} of its items"
                    )
                    where = (
                        describe_scope(read.job.scope)
                        if read is not None
                        else "its scopes, compared with its last result"
                    )
                    connection = (
                        read.job.connection
                        if read is not None
                        else ", ".join(sorted({r.job.connection for r in kr_reads}))
                    )
                    out.held.append(
                        (HeldReport(kr_id, connection, where, before, now_count, why), computed)
                    )
                    keys = [read.job.key] if read is not None else jobs_of[kr_id]
                    out.held_scopes.update(keys)
                    held = why
                prev = previous.get(kr_id)
                result = prev if prev is not None else result
        total = None if failed or not kr_reads else len(_distinct(kr_reads))
        out.reports[kr_id] = _kr_report(
            tree,
            kr_id,
            period,
            result,
            total,
            baselines,
            kr_reads,
            held=held,
            unknown=unknown,
            # Only a fresh result computed from the items may be kept by a later cycle.
            inputs=inputs if not failed and held is None and unknown is None else None,
        )
    return out


def _kr_report(
    tree: OkrTree,
    kr_id: str,
    period: Period,
    result: KrResult,
    total: int | None,
    baselines: Mapping[str, int],
    kr_reads: Sequence[ScopeRead],
    **extra: Any,
) -> KrReport:
    """A KR's report from its result and scope size (``extra``: the other fields)."""
    node = tree.key_results[kr_id]
    baseline = baselines.get(kr_id, total)
    return KrReport(
        kr_id=kr_id,
        objective_id=node.objective_id,
        title=node.kr.title,
        period=str(period),
        result=result,
        scope_change=scope_change(baseline, total),
        scope_baseline=baseline,
        scope_total=total,
        sources=tuple(sorted({r.job.connection for r in kr_reads})),
        **extra,
    )


#: Raised when the engine computes a key result differently from the same inputs, so
#: that results kept from before (see :func:`reusable`) are computed again.
ENGINE_REVISION = 1


def kr_inputs(tree: OkrTree, kr_id: str, job_keys: Sequence[str]) -> str:
    """A digest of everything a KR's result depends on besides its items and the clock:
    its definition, period, thresholds and the scope reads (their cache keys)."""
    node = tree.key_results[kr_id]
    payload = {
        "engine": ENGINE_REVISION,
        "kr": node.kr.model_dump(mode="json"),
        "period": str(kr_period(tree, kr_id)),
        "thresholds": tree.thresholds(kr_id).model_dump(mode="json"),
        "scopes": sorted(job_keys),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def reusable(kr: KeyResult, kr_reads: Sequence[ScopeRead], record: LatestKr, inputs: str) -> bool:
    """Whether a KR's last result stands for this cycle's items: every scope it reads is
    ``unchanged`` (an incremental read found nothing new and the tracker's count agreed),
    and the last result was computed fresh from the items by the same definition
    (``inputs``), not stale, held, unknown, final or a person's override."""
    return (
        bool(kr_reads)
        and all(r.unchanged for r in kr_reads)
        and record.inputs == inputs
        and record.progress is not None
        and not record.stale
        and not record.held
        and not record.final
        and record.override is None
        and record.scope_total is not None
        and not kr.flags.manual_override
    )


def _distinct(reads: list[ScopeRead]) -> set[tuple[str, str]]:
    # An item in two scopes of one KR is one item of its scope.
    return {(r.job.connection, item.id) for r in reads for item in r.items or ()}


def scope_baselines(
    tree: OkrTree, kr_ids: list[str], stored: Mapping[str, LatestKr]
) -> dict[str, int]:
    """Each KR's recorded scope baseline, if it was taken in the KR's current period.

    A new period (or a KR never synced) starts a new baseline: scope change is measured
    within one OKR period, against the scope's size at the period's first cycle.
    """
    out: dict[str, int] = {}
    for kr_id in kr_ids:
        record = stored.get(kr_id)
        if record is None or record.scope_baseline is None:
            continue
        if record.period == str(kr_period(tree, kr_id)):
            out[kr_id] = record.scope_baseline
    return out


def with_override(result: KrResult, override: Override, tree: OkrTree, now: datetime) -> KrResult:
    """``result`` with a person's progress: status and score follow from it."""
    kr_id = result.kr_id
    flags = tree.key_results[kr_id].kr.flags
    progress = clamp(override.progress, 0.0, flags.max_score)
    status = pace_status(
        progress,
        result.expected if result.expected is not None else 0.0,
        tree.thresholds(kr_id),
        started=has_started(kr_period(tree, kr_id), now),
    )
    note = f"progress set by a person in {override.slot.target} {override.slot.field}"
    return replace(
        result,
        progress=progress,
        status=status,
        score=score_of(progress, flags.max_score),
        notes=(*result.notes, note),
    )


def frozen_reports(
    tree: OkrTree, kr_ids: list[str], stored: Mapping[str, LatestKr]
) -> dict[str, KrReport]:
    """The final results of KRs whose period closed, as the state store keeps them."""
    out: dict[str, KrReport] = {}
    for kr_id in kr_ids:
        node = tree.key_results[kr_id]
        out[kr_id] = replace(
            KrReport.from_stored(stored[kr_id].data),
            kr_id=kr_id,
            objective_id=node.objective_id,
            title=node.kr.title,
            period=str(kr_period(tree, kr_id)),
            held=None,
            frozen=True,
            final=True,
        )
    return out


def objective_reports(
    tree: OkrTree, kr_results: dict[str, KrResult], now: datetime, *, only: Sequence[str] | None
) -> list[ObjectiveReport]:
    """Every objective rolled up from ``kr_results`` (with ``only``: its KRs' ancestors)."""
    objectives = {oid: node.objective for oid, node in tree.objectives.items()}

    def thresholds_of(oid: str) -> Thresholds:
        node = tree.objectives[oid]
        return node.objective.thresholds or node.defaults.thresholds

    rolled = rollup(
        objectives,
        kr_results,
        period_of=lambda oid: parse_period(objectives[oid].period),
        now=now,
        thresholds_of=thresholds_of,
    )
    wanted = set(objectives)
    if only is not None:
        wanted = set()
        for kr_id in only:
            oid: str | None = tree.key_results[kr_id].objective_id
            while oid is not None and oid in objectives and oid not in wanted:
                wanted.add(oid)
                oid = objectives[oid].parent
    return [
        ObjectiveReport(
            oid,
            objective.title,
            str(parse_period(objective.period)),
            objective.parent,
            rolled[oid],
            position=index,
        )
        for index, (oid, objective) in enumerate(objectives.items())
        if oid in wanted
    ]
