"""Step 1 of a cycle: which key results it shows, which it computes, which scopes to read.

A key result is *final* when its period's grace period is over and its last result was
written in full (see ``okrsync.sync.cycle``); a final KR is shown as recorded and its
fields are repaired, but its scopes are not read. Every other selected KR is *active*:
its distinct scopes become ``ScopeJob``s, each read once however many KRs share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mappings.period import Period, parse_period
from mappings.schema import MaintainMeasure, MetricMeasure, PointsMeasure, Scope, scope_source
from mappings.tree import OkrTree
from okrsync.errors import UserError
from okrsync.state.records import LatestKr, ScopeMark
from okrsync.state.store import StateStore
from okrsync.sync.connections import Connections
from okrsync.sync.fetch import ScopeJob, needs_full, scope_key

__all__ = ["Selection", "final_on", "kr_period", "select", "select_krs"]


def kr_period(tree: OkrTree, kr_id: str) -> Period:
    """The period of a KR (its objective's)."""
    node = tree.key_results[kr_id]
    return parse_period(tree.objectives[node.objective_id].objective.period)


def final_on(tree: OkrTree, kr_id: str, grace_days: float) -> datetime:
    """When a KR's result becomes final: its period's end plus the grace period."""
    return kr_period(tree, kr_id).ends_at + timedelta(days=grace_days)


@dataclass(frozen=True, slots=True)
class Selection:
    """What one cycle works on.

    ``active`` KRs are computed from their scopes (``jobs``, and each KR's job keys in
    ``jobs_of``); ``final`` KRs are shown as recorded. ``stored`` is each KR's last
    recorded result as the state store keeps it; ``cached`` each job's scope mark and
    how many items its cache holds (the items themselves are loaded only where needed);
    ``mode`` is ``full`` when some scope is due a full read.
    """

    active: list[str]
    final: list[str]
    jobs: dict[str, ScopeJob]
    jobs_of: dict[str, list[str]]
    stored: dict[str, LatestKr]
    cached: dict[str, tuple[ScopeMark | None, int]]
    mode: str

    @property
    def shown(self) -> list[str]:
        """Every KR the cycle reports on: the active ones, then the final ones."""
        return [*self.active, *self.final]


def select(
    tree: OkrTree,
    connections: Connections,
    store: StateStore,
    *,
    now: datetime,
    only: Sequence[str] | None,
    recompute_final: bool,
    grace_days: float,
    full_reconcile_hours: float,
) -> Selection:
    """The KRs of the cycle (all, or those of ``only``), split into active and final, and the
    scope reads the active ones need with what is cached of them."""
    kr_ids = select_krs(tree, only)
    stored = store.latest_kr_records()
    final = [
        k
        for k in kr_ids
        if not recompute_final
        and now >= final_on(tree, k, grace_days)
        and k in stored
        and stored[k].final
    ]
    active = [k for k in kr_ids if k not in final]
    jobs, jobs_of = plan_jobs(tree, active, connections)
    marks = store.get_scope_marks(jobs)
    counts = store.scope_item_counts(jobs)
    cached = {key: (marks.get(key), counts.get(key, 0)) for key in jobs}
    full = any(needs_full(mark, size, now, full_reconcile_hours) for mark, size in cached.values())
    mode = "full" if full or not jobs else "incremental"
    return Selection(active, final, jobs, jobs_of, stored, cached, mode)


def select_krs(tree: OkrTree, only: Sequence[str] | None) -> list[str]:
    """Every KR id, or just those of ``only`` (UserError if the mappings lack one)."""
    if only is None:
        return list(tree.key_results)
    for kr_id in only:
        if kr_id not in tree.key_results:
            known = ", ".join(sorted(tree.key_results)) or "none"
            raise UserError(f"no key result '{kr_id}' in the mappings", [f"known ids: {known}"])
    return list(dict.fromkeys(only))


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
