"""An in-memory tracker connector: the cycle's algorithm tested without HTTP.

Like vdirsyncer's memory storage: items live in dicts, scopes are answered from them, and
every call is recorded so a test can tell what the cycle asked for and wrote. ``down``
makes every call fail as an unreachable tracker would. It keeps the promises of the
connector contract suite (``tests.connectors.contract``) like the real connectors do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from connectors.base import (
    PROPERTY_PREFIX,
    ConnectorError,
    FetchRequest,
    FetchResult,
    FieldRef,
    FieldWrite,
    K,
    NotFoundError,
    PreflightReport,
    confirm_each,
)
from mappings.items import Source, StatusCategory, WorkItem
from mappings.schema import JiraEpicsScope, JiraIssuesScope, Scope, TeambitionParentScope

STATUS = {
    StatusCategory.TODO: "To Do",
    StatusCategory.IN_PROGRESS: "In Progress",
    StatusCategory.DONE: "Done",
}


@dataclass
class Calls:
    """What the cycle asked of the tracker."""

    fetches: list[FetchRequest] = field(default_factory=list)
    counts: list[Scope] = field(default_factory=list)
    reads: list[FieldRef] = field(default_factory=list)
    writes: list[FieldWrite] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    properties: list[tuple[str, str, object]] = field(default_factory=list)
    refreshes: int = 0


class MemoryTracker:
    """A connector over a dict of items; ``fields[(target, name)]`` holds field values.

    ``properties=False`` makes it a tracker without issue properties (as Teambition).
    ``targets`` (target -> its field names), when set, makes every other target or field
    unknown, as a tracker's are; left None, every target has every field.
    """

    concurrency = 4

    def __init__(self, source: str = "jira", name: str = "main", *, properties: bool = True):
        self.source = source
        self.name = name
        self.items: dict[str, WorkItem] = {}
        self.fields: dict[tuple[str, str], object] = {}
        self.issue_properties: dict[tuple[str, str], object] = {}
        self.down = False
        self.calls = Calls()
        # The tracker's clock; tests move it along with the cycles' ``now``.
        self.now = datetime(2026, 11, 16, tzinfo=UTC)
        self.supports_properties = properties
        self.targets: dict[str, set[str]] | None = None

    @property
    def requests_sent(self) -> int:
        """One request per call the cycle made (a real tracker may need more)."""
        c = self.calls
        return sum(
            len(group)
            for group in (c.fetches, c.counts, c.reads, c.writes, c.comments, c.properties)
        )

    # -- test helpers -------------------------------------------------------------------

    def add(
        self,
        key: str,
        parent: str | None = None,
        category: StatusCategory = StatusCategory.TODO,
        estimate: float | None = None,
        **extra: object,
    ) -> WorkItem:
        """Create (or replace) an item; its id is derived from its key."""
        item = WorkItem(
            source=Source(self.source),
            id=f"id-{key}",
            key=key,
            title=f"Title of {key}",
            type="Story",
            parent_key=parent,
            parent_id=None if parent is None else f"id-{parent}",
            status=STATUS[category],
            status_category=category,
            estimate=estimate,
            updated=self.tick(),
            **extra,  # type: ignore[arg-type]
        )
        self.items[item.id] = item
        return item

    def change(self, key: str, **changes: object) -> None:
        """Edit an item as a person would (its update time moves)."""
        item = self.items[f"id-{key}"]
        if "status_category" in changes:
            changes.setdefault("status", STATUS[changes["status_category"]])  # type: ignore[index]
        self.items[item.id] = replace(item, updated=self.tick(), **changes)  # type: ignore[arg-type]

    def delete(self, key: str) -> None:
        """Delete an item."""
        del self.items[f"id-{key}"]

    def tick(self) -> datetime:
        """Advance the tracker's clock by a second and return it."""
        self.now += timedelta(seconds=1)
        return self.now

    def _members(self, scope: Scope) -> list[WorkItem]:
        if isinstance(scope, JiraEpicsScope):
            return [i for i in self.items.values() if i.parent_key in scope.epics]
        if isinstance(scope, TeambitionParentScope):
            return [i for i in self.items.values() if i.parent_key == scope.task]
        if isinstance(scope, JiraIssuesScope):
            return [i for i in self.items.values() if i.key in scope.issues]
        return list(self.items.values())

    def _check(self) -> None:
        if self.down:
            raise ConnectorError(f"{self.source} is unreachable", status=503, retryable=True)

    # -- the connector protocol -----------------------------------------------------------

    def fetch(
        self, requests: Sequence[FetchRequest]
    ) -> dict[FetchRequest, FetchResult | ConnectorError]:
        self.calls.fetches.extend(requests)
        try:
            self._check()
        except ConnectorError as exc:  # each scope's entry holds the error, as promised
            return dict.fromkeys(requests, exc)
        out: dict[FetchRequest, FetchResult | ConnectorError] = {}
        for request in requests:
            members = self._members(request.scope)
            if request.since is not None:
                since = request.since
                found = [i for i in members if i.updated is not None and i.updated >= since]
                # A narrowed read leaves the count to ``confirm_counts``.
                out[request] = FetchResult(found, total=None)
            else:
                out[request] = FetchResult(members, total=len(members))
        return out

    def count(self, scopes: Sequence[Scope]) -> dict[Scope, int | ConnectorError]:
        self.calls.counts.extend(scopes)
        try:
            self._check()
        except ConnectorError as exc:
            return dict.fromkeys(scopes, exc)
        return {scope: len(self._members(scope)) for scope in scopes}

    def confirm_counts(
        self, expected: Mapping[K, tuple[Scope, int]]
    ) -> dict[K, int | ConnectorError]:
        return confirm_each(self.count, expected)

    def refresh(self) -> None:
        self.calls.refreshes += 1

    def _unknown(self, target: str, name: str) -> NotFoundError | None:
        if self.targets is None or name.startswith(PROPERTY_PREFIX):
            return None
        if target not in self.targets:
            return NotFoundError(f"{self.source} has no target '{target}'")
        if name not in self.targets[target]:
            return NotFoundError(f"field '{name}' does not exist on '{target}'")
        return None

    def read_fields(self, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
        self.calls.reads.extend(refs)
        self._check()
        # Issue properties come with the fields, as Jira's search returns them.
        return {
            ref: (
                self._unknown(ref.target, ref.field)
                or (
                    self.issue_properties.get((ref.target, ref.field.removeprefix(PROPERTY_PREFIX)))
                    if ref.field.startswith(PROPERTY_PREFIX)
                    else self.fields.get((ref.target, ref.field))
                )
            )
            for ref in refs
        }

    def write_fields(self, writes: Sequence[FieldWrite]) -> dict[FieldWrite, ConnectorError | None]:
        self._check()
        out: dict[FieldWrite, ConnectorError | None] = {}
        for write in writes:
            out[write] = self._unknown(write.target, write.field)
            slot = (write.target, write.field)
            # Compared with what the tracker holds, as the real connectors do.
            if out[write] is None and self.fields.get(slot) != write.value:
                self.calls.writes.append(write)
                self.fields[slot] = write.value
        return out

    def add_comment(self, target: str, text: str) -> None:
        self._check()
        self.calls.comments.append((target, text))

    def set_property(self, target: str, key: str, value: object) -> None:
        if not self.supports_properties:
            raise ConnectorError(f"{self.source} '{self.name}' has no issue properties")
        self._check()
        self.calls.properties.append((target, key, value))
        self.issue_properties[(target, key)] = value

    def preflight(
        self, scopes: Sequence[Scope], fields: Mapping[str, Sequence[str]]
    ) -> PreflightReport:
        return PreflightReport(self.name)

    def close(self) -> None:
        """Nothing to release."""
