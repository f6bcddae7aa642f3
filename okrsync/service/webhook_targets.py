"""Which key results a tracker change may concern, and whether it is okrsync's own echo.

A webhook is a hint: the targeted cycle reads the scopes again from the tracker, so the
answer here may be wider than the truth but must never be narrower. An item may concern
a key result when one of its scopes, on the delivery's tracker and connection,

* held the item at the last cycle (okrsync's cached scope items, by id; a sub-task by its
  parent when the scope counts sub-tasks): it may have left;
* names it: a ``jira_issues`` scope listing its key, a ``jira_epics`` scope listing its
  epic or parent (now or before the change) or the issue itself, a ``teambition_parent``
  scope naming its parent or ancestor (now or before);
* may match it by a query that cannot be run here: every ``jql`` scope; every
  ``teambition_tql`` scope of the task's project; ``teambition_tags`` and
  ``teambition_sprint`` scopes of the project unless the delivery shows the task's tags or
  sprint and none matches.

Final key results are left out of that list: their scopes are not read again. But a
person's edit of a field okrsync owns on a key result's write target triggers that key
result, final or not, so that the next cycle notices the conflict and repairs the field.

An echo is a delivery of okrsync's own write: an update whose every changed field is one
okrsync owns on that target, each holding the value okrsync last wrote there (its ledger).
Jira names the changed fields, so they are matched by name. Teambition names a changed
custom field by id only, so on a task okrsync writes to, a custom field whose new value is
what okrsync last wrote to one of the task's owned fields is taken as okrsync's own; any
other value is taken as a person's edit, and as an ordinary change too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from mappings.schema import (
    FieldNames,
    JiraEpicsScope,
    JiraEpicsTarget,
    JiraIssuesScope,
    JiraIssueTarget,
    JqlScope,
    MaintainMeasure,
    MetricMeasure,
    PointsMeasure,
    Scope,
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTaskTarget,
    TeambitionTqlScope,
    scope_source,
)
from mappings.tree import OkrTree
from okrsync.service.webhook_payloads import FieldChange, ItemChange
from okrsync.state.store import StateStore
from okrsync.sync.fetch import scope_key
from okrsync.sync.plan import ROLES, same_value
from okrsync.sync.select import kr_period

__all__ = ["Targets", "Verdict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a change means: the key results to refresh, okrsync's echo, or nothing."""

    kind: Literal["accepted", "echo", "unrelated"]
    kr_ids: frozenset[str] = frozenset()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Owner:
    """A key result writing to one target: its connection name (None: the only one) and
    the field names it owns there."""

    kr_id: str
    connection: str | None
    names: tuple[str, ...]


@dataclass(slots=True)
class _Members:
    ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)


def _owned_names(fields: FieldNames) -> tuple[str, ...]:
    return tuple(n for n in (getattr(fields, role) for role in ROLES) if n)


def _measure_fields(tree: OkrTree) -> dict[Scope, tuple[str, ...]]:
    # The same extra fields a cycle reads each scope with: part of its cache key.
    wanted: dict[Scope, set[str]] = {}
    for node in tree.key_results.values():
        measure, names = node.kr.measure, set()
        name = getattr(measure, "field", None)
        if isinstance(measure, PointsMeasure | MetricMeasure | MaintainMeasure) and name:
            names.add(name)
        for scope in node.kr.scope:
            wanted.setdefault(scope, set()).update(names)
    return {scope: tuple(sorted(names)) for scope, names in wanted.items()}


def _same(written: object, value: object) -> bool:
    if isinstance(written, datetime) and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return False
        value = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return same_value(written, value)


class Targets:
    """The mappings and okrsync's state as of one cycle, indexed to answer deliveries."""

    def __init__(self, tree: OkrTree, store: StateStore, *, now: datetime | None = None):
        self.tree = tree
        self.store = store
        now = now or datetime.now(UTC)
        names: dict[str, set[str]] = {"jira": set(), "teambition": set()}
        for display in store.source_health():
            source, _, name = display.partition(":")
            names.setdefault(source, set()).add(name)
        self._fields = _measure_fields(tree)
        self._scopes: list[tuple[str, Scope]] = []
        self.owners: dict[tuple[str, str], list[_Owner]] = {}
        for kr_id, node in tree.key_results.items():
            for scope in node.kr.scope:
                self._scopes.append((kr_id, scope))
                if scope.connection:
                    names[scope_source(scope)].add(scope.connection)
            for write in tree.effective_write(kr_id):
                for source, target, conn in self._targets(kr_id, write.target, write.connection):
                    owner = _Owner(kr_id, conn, _owned_names(write.fields))
                    self.owners.setdefault((source, target), []).append(owner)
                    if conn:
                        names[source].add(conn)
        self.names = {source: sorted(found) for source, found in names.items()}
        stored = store.latest_kr_records()
        self.final = {
            k
            for k in tree.key_results
            if k in stored and stored[k].final and now >= kr_period(tree, k).ends_at
        }
        self.members: dict[str, _Members] = {}
        for key in store.scope_keys():
            members = self.members.setdefault(key, _Members())
            for item_id, item in store.get_scope_cache(key).items():
                members.ids.add(str(item_id))
                if item.get("key"):
                    members.keys.add(str(item["key"]).upper())

    def _targets(
        self, kr_id: str, target: object, connection: str | None
    ) -> Iterable[tuple[str, str, str | None]]:
        if isinstance(target, JiraIssueTarget):
            yield "jira", target.key.upper(), connection
        elif isinstance(target, TeambitionTaskTarget):
            yield "teambition", target.task, connection
        elif isinstance(target, JiraEpicsTarget):
            for scope in self.tree.key_results[kr_id].kr.scope:
                if isinstance(scope, JiraEpicsScope):
                    for epic in scope.epics:
                        yield "jira", epic.upper(), connection or scope.connection

    def displays(self, source: str, named: str | None, given: str | None) -> list[str]:
        """The connections (``jira:cloud``) a scope or target naming ``named`` (None: the
        only one) may be on, for a delivery to the connection ``given`` (None: unsaid)."""
        if given is not None:
            return [f"{source}:{given}"] if named in (None, given) else []
        if named is not None:
            return [f"{source}:{named}"]
        return [f"{source}:{name}" for name in self.names.get(source, [])]

    # -- which scopes -------------------------------------------------------------------

    def scope_krs(self, change: ItemChange, connection: str | None) -> set[str]:
        """The active key results with a scope the changed item may belong to."""
        found: set[str] = set()
        for kr_id, scope in self._scopes:
            if kr_id in found or kr_id in self.final or scope_source(scope) != change.source:
                continue
            displays = self.displays(change.source, scope.connection, connection)
            if not displays and connection is not None:
                continue
            if self._names(scope, change) or self._cached(scope, change, displays):
                found.add(kr_id)
        return found

    def _cached(self, scope: Scope, change: ItemChange, displays: list[str]) -> bool:
        for display in displays:
            members = self.members.get(scope_key(display, scope, self._fields.get(scope, ())))
            if members is None:
                continue
            if change.item_id in members.ids or (change.key and change.key in members.keys):
                return True
            near = members.ids | members.keys
            if scope.include_subtasks and change.parents & near:
                return True
        return False

    @staticmethod
    def _names(scope: Scope, change: ItemChange) -> bool:
        if isinstance(scope, JqlScope):
            return True
        if isinstance(scope, JiraIssuesScope):
            return change.key is not None and change.key in {k.upper() for k in scope.issues}
        if isinstance(scope, JiraEpicsScope):
            epics = {e.upper() for e in scope.epics}
            return bool(epics & (change.parents | change.handles))
        if isinstance(scope, TeambitionParentScope):
            return scope.task in change.parents or scope.task == change.item_id
        in_project = change.project is None or change.project == scope.project
        if isinstance(scope, TeambitionTqlScope):
            return in_project
        if isinstance(scope, TeambitionTagsScope):
            return in_project and (change.tags is None or bool(change.tags & set(scope.tags)))
        if isinstance(scope, TeambitionSprintScope):
            return in_project and (change.sprints is None or scope.sprint in change.sprints)
        return True

    # -- owned fields -------------------------------------------------------------------

    def edits(
        self, change: ItemChange, connection: str | None
    ) -> tuple[list[FieldChange], list[FieldChange], set[str]]:
        """Split the changed fields into okrsync's own writes and the rest, and name the
        key results owning a field a person edited: ``(echoes, others, owners)``."""
        target = change.key if change.source == "jira" else change.item_id
        owners = self.owners.get((change.source, target or ""), [])
        echoes: list[FieldChange] = []
        others: list[FieldChange] = []
        edited: set[str] = set()
        for item in change.fields or ():
            mine = [o for o in owners if self._owns(o, item)]
            if not mine:
                others.append(item)
                continue
            if self._written(change.source, target or "", item, mine, connection):
                echoes.append(item)
                continue
            edited.update(o.kr_id for o in mine)
            if not item.name:  # a Teambition custom field: it may be one okrsync does not own
                others.append(item)
        return echoes, others, edited

    @staticmethod
    def _owns(owner: _Owner, item: FieldChange) -> bool:
        if not item.name:  # Teambition names custom fields by id: any may be owned
            return bool(owner.names)
        return item.name.lower() in {n.lower() for n in owner.names}

    def _written(
        self,
        source: str,
        target: str,
        item: FieldChange,
        owners: Iterable[_Owner],
        connection: str | None,
    ) -> bool:
        """Whether the item's new value is what okrsync last wrote to the field."""
        for owner in owners:
            names = owner.names if not item.name else [item.name]
            fields = {n.lower(): n for n in owner.names}
            for display in self.displays(source, owner.connection, connection):
                for name in names:
                    written = self.store.last_written(
                        display, target, fields.get(name.lower(), name)
                    )
                    if written is not None and any(_same(written, v) for v in item.values):
                        return True
        return False

    def owner_krs(self, change: ItemChange, connection: str | None) -> set[str]:
        """The key results writing to the changed item itself."""
        target = change.key if change.source == "jira" else change.item_id
        return {
            o.kr_id
            for o in self.owners.get((change.source, target or ""), [])
            if connection is None or o.connection in (None, connection)
        }

    # -- the verdict ----------------------------------------------------------------------

    def verdict(self, change: ItemChange, connection: str | None) -> Verdict:
        """What ``change`` means for okrsync."""
        if change.fields == ():
            return Verdict("unrelated", reason="no field changed")
        echoes, others, edited = self.edits(change, connection)
        if change.fields is not None and echoes and not others and not edited:
            return Verdict("echo", reason="okrsync's own write")
        krs = set(edited)
        if change.fields is None or others:
            krs |= self.scope_krs(change, connection)
        if change.removed:
            krs |= self.owner_krs(change, connection)
        if not krs:
            return Verdict("unrelated", reason="no key result reads this item")
        return Verdict("accepted", frozenset(krs), f"{len(krs)} key result(s) to refresh")
