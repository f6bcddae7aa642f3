"""The metrics read from the state store at scrape time: each key result's and objective's
latest result, each connection's health, and when a cycle last succeeded.

They come from the store, not from memory, so that they survive a restart and a replica
that runs no cycles shows what the writer recorded. Only key results and objectives in
the current mappings are shown: one removed from the files is gone at the next scrape.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mappings.results import STATUSES
from mappings.schema import KeyResult, scope_source
from mappings.tree import OkrTree
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore

__all__ = ["StoreCollector", "kr_source"]

log = logging.getLogger(__name__)

#: Runs looked through for the last successful one.
RUNS_LOOKED_AT = 50
#: How far back a key result's last fresh result is first looked for; older ones are
#: found with one read of its whole history.
FRESH_LOOKBACK = timedelta(days=2)
_SUCCESS = ("ok", "partial")


class _Snapshot(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> str: ...


def _ratio(value: object) -> float | None:
    """A 0..1 ratio of a recorded number; None when unknown.

    A stretch key result (``max_score`` above 1) may pass 100%: it shows as 1, since a
    ``_ratio`` metric stays within 0..1 (its status is ``done``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return min(1.0, max(0.0, float(value)))


def kr_source(kr: KeyResult, connections: set[str], recorded: Sequence[str] = ()) -> str:
    """The connection display names (``jira:cloud``) a key result's scopes read, sorted and
    joined with ``,``; empty for a key result without scopes (manual).

    A scope naming no connection reads the only one of its tracker; when that is not
    known, the connections the last cycle recorded for the key result are used.
    """
    names: set[str] = set()
    for scope in kr.scope:
        tracker = scope_source(scope)
        if scope.connection is not None:
            names.add(f"{tracker}:{scope.connection}")
            continue
        candidates = sorted(c for c in connections if c.startswith(f"{tracker}:"))
        if len(candidates) == 1:
            names.add(candidates[0])
        else:
            found = [r for r in recorded if r.startswith(f"{tracker}:")]
            names.update(found or [tracker])
    return ",".join(sorted(names))


class _FreshTimes:
    """When each key result (or objective) last had fresh numbers, read from its history
    once per finished run, then only the snapshots since the last one known."""

    def __init__(self, history: Callable[[str, datetime | None], Sequence[_Snapshot]]) -> None:
        self._history = history
        self._lock = threading.Lock()
        self._times: dict[str, datetime] = {}
        self._checked: dict[str, object] = {}

    def times(self, ids: Iterable[str], marker: object, now: datetime) -> dict[str, datetime]:
        """The last fresh time of each of ``ids`` that has one; ``marker`` names the newest
        run, so that histories are read again only after another run was recorded."""
        wanted = set(ids)
        with self._lock:
            for gone in set(self._checked) - wanted:
                self._checked.pop(gone, None)
                self._times.pop(gone, None)
            for id_ in wanted:
                if self._checked.get(id_) != marker:
                    self._refresh(id_, now)
                    self._checked[id_] = marker
            return {id_: self._times[id_] for id_ in wanted if id_ in self._times}

    def _refresh(self, id_: str, now: datetime) -> None:
        known = self._times.get(id_)
        for since in (known or now - FRESH_LOOKBACK, None):
            fresh = [s.at for s in self._history(id_, since) if s.status != "stale"]
            if fresh:
                self._times[id_] = max(fresh)
                return
            if known is not None:
                return  # nothing fresh since the time already known


class StoreCollector(Collector):
    """Gauges computed from the state store each time the metrics are read.

    ``tree`` gives the current mappings (None before they are loaded); ``connections`` the
    configured connections' display names; ``seen_up`` the health the cycles of this
    process reported (it wins over the store's); ``last_success`` when a cycle of this
    process last succeeded (Unix time).
    """

    def __init__(
        self,
        store: StateStore,
        tree: Callable[[], OkrTree | None],
        connections: set[str],
        seen_up: Callable[[], Mapping[str, bool]],
        last_success: Callable[[], float | None],
    ) -> None:
        self.store = store
        self.tree = tree
        self.connections = connections
        self.seen_up = seen_up
        self.last_success = last_success
        self._kr_times = _FreshTimes(lambda i, since: store.kr_history(i, since=since))
        self._objective_times = _FreshTimes(
            lambda i, since: store.objective_history(i, since=since)
        )

    def describe(self) -> Iterable[Metric]:
        """Nothing to describe ahead: the families are built at each collection."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every store-backed family; a store that cannot be read leaves them out."""
        try:
            families = [*self._health(), *self._results()]
        except StateError as exc:
            log.warning("metrics: cannot read the state store: %s", exc)
            families = list(self._health(from_store=False))
        yield from families

    # ------------------------------------------------------------------ health

    def _health(self, *, from_store: bool = True) -> Iterator[Metric]:
        up: dict[str, bool] = {}
        success = self.last_success()
        if from_store:
            up = {name: health.up for name, health in self.store.source_health().items()}
            for run in self.store.runs(limit=RUNS_LOOKED_AT):
                if run.outcome in _SUCCESS and run.finished_at is not None:
                    success = max(success or 0.0, run.finished_at.timestamp())
                    break
        up |= self.seen_up()
        family = GaugeMetricFamily(
            "okrsync_source_up",
            "1 when the connection answered every call of the last cycle, 0 when it failed.",
            labels=["source"],
        )
        for name in sorted(up):
            family.add_metric([name], 1.0 if up[name] else 0.0)
        yield family
        if success is not None:
            yield GaugeMetricFamily(
                "okrsync_last_success_timestamp_seconds",
                "When the last cycle that succeeded (ok or partial) finished, in Unix time.",
                value=success,
            )

    # ------------------------------------------------------------------ results

    def _results(self) -> Iterator[Metric]:
        tree = self.tree()
        if tree is None:
            return
        run = self.store.last_run()
        marker = None if run is None else (run.id, run.finished_at)
        now = datetime.now(UTC)
        known = self.connections | set(self.store.source_health())
        krs = {k: v for k, v in self.store.latest_kr_records().items() if k in tree.key_results}
        kr_rows = []
        for kr_id, record in krs.items():
            node = tree.key_results[kr_id]
            recorded = record.data.get("sources") or ()
            source = kr_source(node.kr, known, [str(s) for s in recorded])
            kr_rows.append(([kr_id, node.objective_id, source], record.data))
        times = self._kr_times.times(krs, marker, now)
        yield from _families(
            "key_result",
            "key result",
            ["id", "objective", "source"],
            kr_rows,
            {kr_id: times.get(kr_id) for kr_id in krs},
        )
        objectives = {
            k: v for k, v in self.store.latest_objective_results().items() if k in tree.objectives
        }
        times = self._objective_times.times(objectives, marker, now)
        yield from _families(
            "objective",
            "objective",
            ["id"],
            [([k], v) for k, v in objectives.items()],
            {k: times.get(k) for k in objectives},
        )


def _families(
    kind: str,
    what: str,
    labels: list[str],
    rows: Sequence[tuple[list[str], Mapping[str, Any]]],
    updated: Mapping[str, datetime | None],
) -> Iterator[Metric]:
    """The gauges of one kind (``key_result`` or ``objective``), one series per row; a
    number the result does not know gets no series (never a 0)."""
    prefix = f"okrsync_{kind}"
    progress = GaugeMetricFamily(
        f"{prefix}_progress_ratio",
        f"Progress of the {what}, 0..1 (above 100% shows 1); absent while unknown.",
        labels=labels,
    )
    expected = GaugeMetricFamily(
        f"{prefix}_expected_ratio",
        f"Share of the {what}'s period elapsed: the progress expected by now, 0..1.",
        labels=labels,
    )
    score = GaugeMetricFamily(
        f"{prefix}_score_ratio",
        f"Score of the {what} (progress graded for OKR reviews), 0..1.",
        labels=labels,
    )
    status = GaugeMetricFamily(
        f"{prefix}_status",
        f"1 for the {what}'s current status, 0 for every other status.",
        labels=[*labels, "status"],
    )
    stale = GaugeMetricFamily(
        f"{prefix}_stale",
        f"1 when the {what} shows its last good numbers because a tracker failed.",
        labels=labels,
    )
    last = GaugeMetricFamily(
        f"{prefix}_last_updated_timestamp_seconds",
        f"When the {what}'s numbers were last computed from fresh reads, in Unix time.",
        labels=labels,
    )
    for values, data in rows:
        current = data.get("status")
        for family, key in ((progress, "progress"), (expected, "expected"), (score, "score")):
            number = _ratio(data.get(key))
            if number is not None:
                family.add_metric(values, number)
        for name in STATUSES:
            status.add_metric([*values, name], 1.0 if name == current else 0.0)
        stale.add_metric(values, 1.0 if current == "stale" else 0.0)
        when = updated.get(values[0])
        if when is not None:
            last.add_metric(values, when.timestamp())
    yield from (progress, expected, score, status, stale, last)
