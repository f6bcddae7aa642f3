"""What the status page, the HTML and Markdown reports and ``okrsync report`` show, read
from the state store only (no tracker is contacted).

``report_data`` is the ``okrsync report --output json`` document. ``overview`` adds what
people reading a page need beside it: the objectives as a tree, each key result's history
(for its chart) and, for a stale one, since when its numbers are old. ``kr_detail`` is one
key result's page: its evidence (as ``okrsync explain`` shows it) and the ledger entries of
its write targets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mappings.period import Period, parse_period
from mappings.schema import JiraIssueTarget, TeambitionTaskTarget
from mappings.serial import as_dict
from mappings.tree import OkrTree
from okrsync.state import StateStore
from okrsync.state.records import LedgerEntry, Run, SourceHealth
from okrsync.sync.report import KrReport, ObjectiveReport, RunSummary, SourceReport, jsonable

__all__ = [
    "KrView",
    "ObjectiveView",
    "Overview",
    "kr_detail",
    "kr_ledger",
    "overview",
    "period_of",
    "report_data",
]

#: Ledger entries read when looking for one key result's writes (newest first).
LEDGER_SCAN = 5000
#: Ledger entries shown on a key result's page.
LEDGER_SHOWN = 50
#: The ledger field of the ``okrsync`` issue property, whose value names its key result.
_PROPERTY_FIELD = "property:okrsync"


def _position(data: Mapping[str, Any]) -> tuple[int, str]:
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


def period_of(data: Mapping[str, Any]) -> Period | None:
    """The period of a key result or objective (``2026-10-01..2026-12-31``), if readable."""
    text = data.get("period")
    if not isinstance(text, str) or not text:
        return None
    try:
        if ".." in text:  # how results record it: both days, included
            first, _, last = text.partition("..")
            return Period(date.fromisoformat(first.strip()), date.fromisoformat(last.strip()))
        return parse_period(text)
    except ValueError:
        return None


@dataclass
class KrView:
    """A key result as a page shows it: its report entry, history and freshness."""

    data: dict[str, Any]
    history: list[dict[str, Any]]
    period: Period | None
    # When its numbers were last computed from fresh reads; how old they are when stale.
    fresh_at: datetime | None
    stale_age: timedelta | None

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class ObjectiveView:
    """An objective with its key results and the objectives aligned under it."""

    data: dict[str, Any]
    key_results: list[KrView] = field(default_factory=list)
    children: list[ObjectiveView] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def walk(self) -> Iterable[ObjectiveView]:
        """This objective and every one under it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Overview:
    """Everything the status page shows, as of ``now``."""

    report: dict[str, Any]
    roots: list[ObjectiveView]
    key_results: dict[str, KrView]
    now: datetime

    def objective(self, objective_id: str) -> ObjectiveView | None:
        """The objective ``objective_id`` with its subtree, None when not recorded."""
        for root in self.roots:
            for node in root.walk():
                if node.id == objective_id:
                    return node
        return None


def _history(store: StateStore, kr_id: str, period: Period | None) -> list[dict[str, Any]]:
    since = None if period is None else period.starts_at - timedelta(days=1)
    # Plain dicts keeping datetimes (pages format them; JSON output is not made here).
    return [asdict(s) for s in store.kr_history(kr_id, since)]


def _fresh_at(history: Sequence[Mapping[str, Any]]) -> datetime | None:
    fresh = [s["at"] for s in history if s.get("status") != "stale" and not s.get("stale")]
    return max(fresh) if fresh else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def kr_view(store: StateStore, data: dict[str, Any], now: datetime) -> KrView:
    """One key result's entry of ``report_data`` with its history and freshness."""
    period = period_of(data)
    history = _history(store, str(data["id"]), period)
    fresh = _fresh_at(history)
    age = None
    if data.get("stale") and fresh is not None:
        age = max(timedelta(0), now - _aware(fresh))
    return KrView(data=data, history=history, period=period, fresh_at=fresh, stale_age=age)


def overview(store: StateStore, now: datetime | None = None) -> Overview:
    """The report with the objectives as a tree and each key result's history."""
    now = now or datetime.now(UTC)
    report = report_data(store)
    krs = {str(kr["id"]): kr_view(store, kr, now) for kr in report["key_results"]}
    nodes = {str(o["id"]): ObjectiveView(o) for o in report["objectives"]}
    for kr in krs.values():
        owner = nodes.get(str(kr.data.get("objective")))
        if owner is not None:
            owner.key_results.append(kr)
    roots: list[ObjectiveView] = []
    for node in nodes.values():
        parent = node.data.get("parent")
        if parent in nodes and parent != node.id:
            nodes[str(parent)].children.append(node)
        else:
            roots.append(node)
    return Overview(report=report, roots=roots, key_results=krs, now=now)


def _targets(tree: OkrTree | None, kr_id: str) -> set[str]:
    if tree is None or kr_id not in tree.key_results:
        return set()
    found: set[str] = set()
    for target in tree.key_results[kr_id].kr.write:
        if isinstance(target, JiraIssueTarget):
            found.add(target.key)
        elif isinstance(target, TeambitionTaskTarget):
            found.add(target.task)
    return found


def kr_ledger(
    store: StateStore, kr_id: str, tree: OkrTree | None = None, limit: int = LEDGER_SHOWN
) -> list[LedgerEntry]:
    """The latest ledger entries (newest first) of the targets ``kr_id`` writes to: those
    the mappings name, and those whose ``okrsync`` property was written for it."""
    entries = store.ledger(limit=LEDGER_SCAN)
    names = _targets(tree, kr_id)
    pairs = {
        (e.connection, e.target)
        for e in entries
        if e.field == _PROPERTY_FIELD
        and isinstance(e.value_written, Mapping)
        and e.value_written.get("kr") == kr_id
    }
    return [e for e in entries if e.target in names or (e.connection, e.target) in pairs][:limit]


@dataclass
class KrDetail:
    """One key result's page: the view, the recorded result with its evidence, writes."""

    view: KrView
    result: dict[str, Any]
    ledger: list[LedgerEntry]


def kr_detail(
    store: StateStore,
    kr_id: str,
    tree: OkrTree | None = None,
    now: datetime | None = None,
    report: Mapping[str, Any] | None = None,
) -> KrDetail | None:
    """What the key result's page shows, None when no result is recorded for it."""
    result = store.latest_kr_result(kr_id)
    if result is None:
        return None
    report = report or report_data(store)
    data = next((kr for kr in report["key_results"] if kr["id"] == kr_id), None)
    if data is None:
        return None
    view = kr_view(store, data, now or datetime.now(UTC))
    return KrDetail(view=view, result=dict(result), ledger=kr_ledger(store, kr_id, tree))
