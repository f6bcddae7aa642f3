"""Incremental fetching: read each scope once, ask only for what changed, reconcile by count.

For each distinct scope (per connection and set of extra fields) the state store keeps the
items last read and a mark (when the last successful read started, when the last full
read was, how many items). A cycle then:

1. reads in full a scope never read, or whose last full read is older than
   ``full_reconcile_hours``;
2. otherwise asks only for items updated since the last successful read minus
   ``clock_skew_seconds`` and merges them into the cached items by immutable id. The
   cache is loaded only for the items the answer holds (an item given back as it was
   cached, but for its update time, is no change); the scope's whole cache is loaded
   when first asked for, and a scope with no change is marked ``unchanged``, so that
   the key results reading only such scopes keep their last result without loading
   any item;
3. compares the merged size with the tracker's own count of the scope (the total the
   incremental read reported, else ``Connector.confirm_counts``, where Jira counts epic
   scopes with disjoint epics together): items deleted, moved out of the
   scope or no longer matching its query never show up in an incremental read, so any
   difference triggers a full read of that scope.

The merged result after any sequence of changes equals a full read, except for items
that enter a scope without their update time changing and exactly as many leaving
unseen (from the scope, or from a scope counted together with it); the periodic full
read settles those. Sources are read concurrently, one thread
per connection; a connector runs its own scopes concurrently.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from connectors.base import (
    Connector,
    ConnectorError,
    FetchRequest,
    FetchResult,
    NotFoundError,
    QueryError,
)
from mappings.items import Source, StatusCategory, WorkItem
from mappings.schema import Scope, scope_source
from okrsync.state.records import ScopeMark
from okrsync.sync.hooks import READING_SCOPES, CycleHooks

__all__ = [
    "Cached",
    "ScopeCache",
    "ScopeJob",
    "ScopeRead",
    "fetch_scopes",
    "item_from_dict",
    "item_to_dict",
    "needs_full",
    "scope_key",
]

log = logging.getLogger(__name__)

ReadMode = Literal["full", "incremental"]


def scope_key(connection: str, scope: Scope, fields: Sequence[str]) -> str:
    """The state-store key of a scope read through ``connection`` with ``fields``.

    The connection name in the scope itself is left out (the resolved ``connection`` is
    used instead), so a scope naming the only connection and one leaving it implicit
    share a cache.
    """
    payload = {
        "connection": connection,
        "scope": scope.model_dump(mode="json", exclude={"connection"}),
        "fields": sorted(set(fields)),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]
    return f"{scope_source(scope)}:{scope.kind}:{digest}"


def item_to_dict(item: WorkItem) -> dict[str, Any]:
    """A WorkItem as JSON-ready data for the scope cache (datetimes stay datetimes)."""
    return {
        "source": str(item.source),
        "id": item.id,
        "key": item.key,
        "title": item.title,
        "type": item.type,
        "is_epic": item.is_epic,
        "is_subtask": item.is_subtask,
        "parent_id": item.parent_id,
        "parent_key": item.parent_key,
        "status": item.status,
        "status_category": str(item.status_category),
        "resolution": item.resolution,
        "estimate": item.estimate,
        "updated": item.updated,
        "labels": list(item.labels),
        "project": item.project,
        "fields": dict(item.fields),
    }


def item_from_dict(data: Mapping[str, Any]) -> WorkItem:
    """Inverse of :func:`item_to_dict`."""
    estimate = data.get("estimate")
    return WorkItem(
        source=Source(data["source"]),
        id=str(data["id"]),
        key=str(data.get("key", "")),
        title=str(data.get("title", "")),
        type=str(data.get("type", "")),
        is_epic=bool(data.get("is_epic", False)),
        is_subtask=bool(data.get("is_subtask", False)),
        parent_id=data.get("parent_id"),
        parent_key=data.get("parent_key"),
        status=str(data.get("status", "")),
        status_category=StatusCategory(data.get("status_category", "todo")),
        resolution=data.get("resolution"),
        estimate=None if estimate is None else float(estimate),
        updated=data.get("updated"),
        labels=tuple(data.get("labels", ())),
        project=str(data.get("project", "")),
        fields={
            str(k): (None if v is None else float(v)) for k, v in data.get("fields", {}).items()
        },
    )


@dataclass(frozen=True, slots=True)
class ScopeJob:
    """One distinct scope to read: through which connector, with which extra fields."""

    key: str
    connector: tuple[str, str]
    connection: str
    scope: Scope
    fields: tuple[str, ...]


@dataclass(slots=True)
class ScopeRead:
    """What reading one scope gave, and what the state store must remember of it.

    ``items`` is the scope's whole item list (cache merged with changes), or None when
    the read failed (``error``). After an incremental read the cached items are loaded
    from the state store only when first asked for (``pending``): ``size`` is known
    without them. ``unchanged`` means the incremental read found nothing new and the
    tracker's count agreed, so the scope holds exactly what it held after the last cycle.
    ``previous_count`` is the cached size before this cycle (None if never read).
    ``changed`` holds the items to upsert into the cache after an incremental read; after
    a full read the cache is replaced by ``items``.
    """

    job: ScopeJob
    loaded: list[WorkItem] | None
    mode: ReadMode
    started_at: datetime
    previous: ScopeMark | None
    error: str | None = None
    # The tracker answered but refused this scope alone (bad query, missing epic or
    # project): its key results go stale, the connection itself is up.
    scope_error: bool = False
    changed: list[WorkItem] = field(default_factory=list)
    unchanged: bool = False
    # Loads the items (cache merged with the changes) on first use; ``count`` is their number.
    pending: Callable[[], list[WorkItem]] | None = None
    count: int = 0

    def fail(self, error: ConnectorError | BaseException | None, fallback: str) -> None:
        """Record a failed read of this scope."""
        self.loaded, self.pending, self.unchanged = None, None, False
        self.error = _message(error) if error is not None else fallback
        self.scope_error = isinstance(error, QueryError | NotFoundError)

    def hold(self, items: list[WorkItem]) -> None:
        """The scope's whole item list, as a full read gave it."""
        self.loaded, self.pending, self.changed, self.unchanged = items, None, [], False

    def load(self) -> None:
        """Load the items now, in this thread, if they are not yet."""
        if self.pending is not None:
            self.loaded, self.pending = self.pending(), None

    @property
    def items(self) -> list[WorkItem] | None:
        """The scope's items (loaded from the state store on first use), None if failed."""
        self.load()
        return self.loaded

    @property
    def size(self) -> int:
        """How many items the scope holds, without loading them."""
        if self.pending is not None:
            return self.count
        return len(self.loaded or ())

    @property
    def previous_count(self) -> int | None:
        """How many items the cache held before this cycle (None: never read)."""
        return None if self.previous is None else self.previous.item_count

    @property
    def ok(self) -> bool:
        """Whether the scope was read."""
        return self.loaded is not None or self.pending is not None


class ScopeCache(Protocol):
    """Where the cached items of a scope are loaded from (the state store)."""

    def get_scope_cache(self, scope_key: str) -> Mapping[str, Mapping[str, Any]]:
        """Every cached item of a scope, by item id."""
        ...

    def get_scope_items(
        self, scope_key: str, item_ids: Iterable[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        """Some cached items of a scope, by item id."""
        ...


#: What the state store holds for a job: its mark and how many items its cache holds.
Cached = tuple[ScopeMark | None, int]


def _message(error: ConnectorError | BaseException) -> str:
    if isinstance(error, ConnectorError):
        return error.message
    return f"{type(error).__name__}: {error}"


def needs_full(mark: ScopeMark | None, cached: int, now: datetime, hours: float) -> bool:
    """Whether a scope must be read in full: never read, cache doubtful, or reconcile due."""
    if mark is None or mark.last_success_at is None or mark.last_full_at is None:
        return True
    if cached != mark.item_count:
        return True  # the cache and its mark disagree: trust neither
    return now - mark.last_full_at >= timedelta(hours=hours)


def _loader(cache: ScopeCache, key: str, fresh: Sequence[WorkItem]) -> Callable[[], list[WorkItem]]:
    """Loads a scope's cached items and merges ``fresh`` (by immutable id) into them."""

    def load() -> list[WorkItem]:
        merged = {
            item_id: item_from_dict(data) for item_id, data in cache.get_scope_cache(key).items()
        }
        for item in fresh:
            merged[item.id] = item
        return list(merged.values())

    return load


def _same(cached: Mapping[str, Any], item: WorkItem) -> bool:
    """Whether ``item`` is its cached copy but for its update time (an edit of a field
    okrsync does not read, such as okrsync's own write to the item, is no change)."""
    return replace(item_from_dict(cached), updated=item.updated) == item


def _merge(read: ScopeRead, cache: ScopeCache, cached: int, answer: Sequence[WorkItem]) -> None:
    """An incremental answer merged into the cache, which is loaded only for the items
    the answer holds: an item the tracker gives back unchanged (the clock-skew margin
    asks again for the last read's latest items) is no change."""
    key = read.job.key
    known = cache.get_scope_items(key, [item.id for item in answer]) if answer else {}
    fresh = [item for item in answer if item.id not in known or not _same(known[item.id], item)]
    read.changed = fresh
    read.unchanged = not fresh
    read.count = cached + sum(1 for item in fresh if item.id not in known)
    read.pending = _loader(cache, key, fresh)


def _read_connection(
    connector: Connector,
    jobs: Sequence[ScopeJob],
    stored: Mapping[str, Cached],
    cache: ScopeCache,
    *,
    now: datetime,
    full_reconcile_hours: float,
    clock_skew_seconds: float,
    force_full: bool,
    hooks: CycleHooks,
) -> list[ScopeRead]:
    """Read every job of one connector: incremental where possible, full where needed."""
    reads: dict[str, ScopeRead] = {}
    requests: dict[FetchRequest, ScopeJob] = {}
    for job in jobs:
        mark, cached = stored.get(job.key, (None, 0))
        full = force_full or needs_full(mark, cached, now, full_reconcile_hours)
        since = None
        if not full and mark is not None and mark.last_success_at is not None:
            since = mark.last_success_at - timedelta(seconds=clock_skew_seconds)
        reads[job.key] = ScopeRead(
            job, None, "incremental" if since else "full", started_at=now, previous=mark
        )
        requests[FetchRequest(job.scope, job.fields, since)] = job
    answers = _fetch(connector, list(requests))
    # Incremental reads to check against the tracker's count, by job key.
    unknown_total: dict[str, ScopeJob] = {}
    totals: dict[str, int] = {}
    for request, job in requests.items():
        read = reads[job.key]
        answer = answers.get(request)
        if not isinstance(answer, FetchResult):
            read.fail(answer, "no answer for the scope")
            continue
        if read.mode == "full":
            read.hold(list(answer.items))
            continue
        _merge(read, cache, stored.get(job.key, (None, 0))[1], answer.items)
        if answer.total is None:
            unknown_total[job.key] = job
        else:
            totals[job.key] = answer.total
    if unknown_total:
        counted = connector.confirm_counts(
            {key: (job.scope, reads[key].size) for key, job in unknown_total.items()},
        )
        for key in unknown_total:
            value = counted.get(key)
            if isinstance(value, int):
                totals[key] = value
            else:
                reads[key].fail(value, "no count")
    mismatched = [
        reads[key].job
        for key, total in totals.items()
        if reads[key].ok and reads[key].size != total
    ]
    if mismatched:
        log.debug("%s: %d scope(s) changed size; reading them in full", connector, len(mismatched))
        full_requests = {FetchRequest(job.scope, job.fields, None): job for job in mismatched}
        full_answers = _fetch(connector, list(full_requests))
        for request, job in full_requests.items():
            read = reads[job.key]
            answer = full_answers.get(request)
            read.mode = "full"
            if isinstance(answer, FetchResult):
                read.hold(list(answer.items))
            else:
                read.fail(answer, "no answer for the scope")
    for read in reads.values():
        if read.ok and not read.unchanged:
            read.load()  # a changed scope is computed again: load it here, beside the others
    hooks.advanced(len(jobs), items=sum(read.size for read in reads.values()))
    return [reads[job.key] for job in jobs]


def _fetch(
    connector: Connector, requests: list[FetchRequest]
) -> Mapping[FetchRequest, FetchResult | ConnectorError]:
    try:
        return connector.fetch(requests)
    except ConnectorError as exc:
        return {request: exc for request in requests}


def fetch_scopes(
    jobs: Sequence[ScopeJob],
    connectors: Mapping[tuple[str, str], Connector],
    stored: Mapping[str, Cached],
    cache: ScopeCache,
    *,
    now: datetime,
    full_reconcile_hours: float,
    clock_skew_seconds: float,
    force_full: bool = False,
    hooks: CycleHooks | None = None,
) -> dict[str, ScopeRead]:
    """Read every job, sources concurrently; returns a ScopeRead per job key.

    ``stored`` gives each job's mark and cached size (read from the state store before);
    ``cache`` loads the cached items a read needs, when it needs them.
    Nothing is written here; the cycle records the reads in its transaction. ``hooks``
    hear of the step and of each connection's scopes as soon as they are read.
    """
    hooks = hooks or CycleHooks()
    hooks.phase(READING_SCOPES, len(jobs))
    by_connector: dict[tuple[str, str], list[ScopeJob]] = {}
    for job in jobs:
        by_connector.setdefault(job.connector, []).append(job)
    results: dict[str, ScopeRead] = {}
    if not by_connector:
        return results
    with ThreadPoolExecutor(max_workers=len(by_connector), thread_name_prefix="fetch") as pool:
        futures = {
            pool.submit(
                _read_connection,
                connectors[key],
                group,
                stored,
                cache,
                now=now,
                full_reconcile_hours=full_reconcile_hours,
                clock_skew_seconds=clock_skew_seconds,
                force_full=force_full,
                hooks=hooks,
            ): group
            for key, group in by_connector.items()
        }
        for future, group in futures.items():
            try:
                reads = future.result()
            except Exception as exc:  # a connector bug must not hide the other sources
                log.exception("reading %s failed", group[0].connection)
                reads = [
                    ScopeRead(job, None, "full", now, None, error=_message(exc)) for job in group
                ]
                hooks.advanced(len(group))
            for read in reads:
                results[read.job.key] = read
    return results
