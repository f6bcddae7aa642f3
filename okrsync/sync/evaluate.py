"""The cycle's per-key-result steps that need no tracker: scope jobs, results, holds.

Steps of ``okrsync.sync.cycle``; each takes values (and, for history, the state store) and
returns values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mappings.engine import evaluate_kr, stale_result
from mappings.forecast import Forecast, forecast, scope_change
from mappings.measures import emptiness
from mappings.period import Period, has_started, parse_period
from mappings.results import KrResult, clamp, pace_status, score_of
from mappings.rollup import rollup
from mappings.schema import (
    MaintainMeasure,
    MetricMeasure,
    PointsMeasure,
    Scope,
    Thresholds,
    scope_source,
)
from mappings.tree import OkrTree
from okrsync.errors import UserError
from okrsync.state.store import StateStore
from okrsync.sync.fetch import ScopeJob, ScopeRead, scope_key
from okrsync.sync.plan import Override
from okrsync.sync.report import HeldReport, KrReport, ObjectiveReport
from okrsync.sync.writeback import Connections

__all__ = [
    "FORECAST_WINDOW_DAYS",
    "Evaluation",
    "StoredResults",
    "evaluate",
    "frozen_reports",
    "history_forecast",
    "kr_period",
    "objective_reports",
    "plan_jobs",
    "property_payload",
    "scope_baselines",
    "select_krs",
    "with_override",
]

#: How far back progress history feeds the forecast.
FORECAST_WINDOW_DAYS = 14


def kr_period(tree: OkrTree, kr_id: str) -> Period:
    """The period of a KR (its objective's)."""
    node = tree.key_results[kr_id]
    return parse_period(tree.objectives[node.objective_id].objective.period)


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


def select_krs(tree: OkrTree, only: str | None) -> list[str]:
    """Every KR id, or just ``only`` (UserError if the mappings do not have it)."""
    if only is None:
        return list(tree.key_results)
    if only not in tree.key_results:
        known = ", ".join(sorted(tree.key_results)) or "none"
        raise UserError(f"no key result '{only}' in the mappings", [f"known ids: {known}"])
    return [only]


def _measure_fields(tree: OkrTree) -> dict[Scope, set[str]]:
    # Over every KR of the tree, so that a scope's cache key does not depend on which KRs
    # one cycle runs (``--only``).
    wanted: dict[Scope, set[str]] = {}
    for node in tree.key_results.values():
        measure = node.kr.measure
        names: set[str] = set()
        field = getattr(measure, "field", None)
        if isinstance(measure, PointsMeasure | MetricMeasure | MaintainMeasure) and field:
            names.add(field)
        for scope in node.kr.scope:
            wanted.setdefault(scope, set()).update(names)
    return wanted


def plan_jobs(
    tree: OkrTree, kr_ids: list[str], connections: Connections
) -> tuple[dict[str, ScopeJob], dict[str, list[str]]]:
    """The distinct scope reads of ``kr_ids`` (by key) and each KR's job keys."""
    fields = _measure_fields(tree)
    jobs: dict[str, ScopeJob] = {}
    by_kr: dict[str, list[str]] = {}
    for kr_id in kr_ids:
        keys: list[str] = []
        for scope in tree.key_results[kr_id].kr.scope:
            display, connector = connections.resolve(scope_source(scope), scope.connection)
            names = tuple(sorted(fields.get(scope, ())))
            key = scope_key(display, scope, names)
            jobs.setdefault(
                key, ScopeJob(key, (connector.source, connector.name), display, scope, names)
            )
            if key not in keys:
                keys.append(key)
        by_kr[kr_id] = keys
    return jobs, by_kr


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
        (r, r.previous_count or 0, len(r.items or ()))
        for r in kr_reads
        if r.items is not None and _lost(r.previous_count, len(r.items), threshold)
    ]
    if not out and _lost(previous_count, now_count, threshold):
        out.append((None, previous_count or 0, now_count))
    return out


def describe_scope(scope: Scope) -> str:
    """A scope in a few words: ``jira_epics epics=['PAY-1']``."""
    data = scope.model_dump(mode="json", exclude={"connection", "include_subtasks"})
    kind = data.pop("kind")
    return f"{kind} " + ", ".join(f"{key}={value}" for key, value in data.items())


class Evaluation:
    """Results of the KRs a cycle reads, with what was held and which scopes not to advance."""

    def __init__(self) -> None:
        self.reports: dict[str, KrReport] = {}
        self.held: list[tuple[HeldReport, KrResult]] = []
        self.held_scopes: set[str] = set()


def evaluate(
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
) -> Evaluation:
    """Each KR's result from its scopes' reads: stale if a read failed, unknown if its
    scope gave nothing to measure, held if its items dropped where the measure makes a
    drop suspicious (the previous result shown instead), else fresh from the engine.

    ``baselines`` holds each KR's scope size at its first cycle in its period (from the
    state store); a KR without one starts its baseline now. ``previous_counts`` holds
    the item count behind each KR's last result, so that a scope edited in the mappings
    is still compared with what the KR counted before.
    """
    baselines = baselines or {}
    previous_counts = previous_counts or {}
    out = Evaluation()
    for kr_id in kr_ids:
        node = tree.key_results[kr_id]
        period = kr_period(tree, kr_id)
        kr_reads = [reads[key] for key in jobs_of[kr_id]]
        failed = [r for r in kr_reads if not r.ok]
        held: str | None = None
        unknown: str | None = None
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
        baseline = baselines.get(kr_id, total)
        out.reports[kr_id] = KrReport(
            kr_id=kr_id,
            objective_id=node.objective_id,
            title=node.kr.title,
            period=str(period),
            result=result,
            scope_change=scope_change(baseline, total),
            scope_baseline=baseline,
            scope_total=total,
            held=held,
            unknown=unknown,
            sources=tuple(sorted({r.job.connection for r in kr_reads})),
        )
    return out


def _distinct(reads: list[ScopeRead]) -> set[tuple[str, str]]:
    # An item in two scopes of one KR is one item of its scope.
    return {(r.job.connection, item.id) for r in reads for item in r.items or ()}


def scope_baselines(
    tree: OkrTree, kr_ids: list[str], stored: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Each KR's recorded scope baseline, if it was taken in the KR's current period.

    A new period (or a KR never synced) starts a new baseline: scope change is measured
    within one OKR period, against the scope's size at the period's first cycle.
    """
    out: dict[str, int] = {}
    for kr_id in kr_ids:
        data = stored.get(kr_id) or {}
        baseline = data.get("scope_baseline")
        if isinstance(baseline, int) and data.get("period") == str(kr_period(tree, kr_id)):
            out[kr_id] = baseline
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


def history_forecast(
    store: StateStore, kr_id: str, result: KrResult, period: Period, now: datetime
) -> Forecast:
    """The forecast from the KR's recent snapshots plus this cycle's fresh progress."""
    since = now - timedelta(days=FORECAST_WINDOW_DAYS)
    samples = [
        (snap.at, snap.progress)
        for snap in store.kr_history(kr_id, since=since)
        if not snap.stale and snap.progress is not None
    ]
    if result.status != "stale" and result.progress is not None:
        samples.append((now, result.progress))
    return forecast(samples, period, now, FORECAST_WINDOW_DAYS)


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


def frozen_reports(
    tree: OkrTree, kr_ids: list[str], stored: dict[str, dict[str, Any]]
) -> dict[str, KrReport]:
    """The final results of KRs whose period closed, as the state store keeps them."""
    out: dict[str, KrReport] = {}
    for kr_id in kr_ids:
        node = tree.key_results[kr_id]
        out[kr_id] = replace(
            KrReport.from_stored(stored[kr_id]),
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
    tree: OkrTree, kr_results: dict[str, KrResult], now: datetime, *, only: str | None
) -> list[ObjectiveReport]:
    """Every objective rolled up from ``kr_results`` (with ``only``: that KR's ancestors)."""
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
        oid: str | None = tree.key_results[only].objective_id
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
