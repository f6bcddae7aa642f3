"""The edges of write-back: where a KR writes, what is there now, and making the changes.

The decisions (what to write, what a person changed) are the planner's
(``okrsync.sync.plan``); this module only resolves targets and talks to connectors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.base import (
    PROPERTY_PREFIX,
    AuthError,
    ConnectorError,
    FieldRef,
    FieldWrite,
)
from mappings.schema import JiraEpicsScope, JiraEpicsTarget, JiraIssueTarget, TeambitionTaskTarget
from mappings.tree import EffectiveWrite, OkrTree
from okrsync.sync.connections import Connections
from okrsync.sync.plan import ROLES, PlannedWrite, Slot, TargetSpec

__all__ = [
    "PROPERTY_FIELD",
    "PROPERTY_KEY",
    "PropertyWrite",
    "apply_all",
    "apply_property_writes",
    "apply_writes",
    "read_current",
    "resolve_targets",
]

log = logging.getLogger(__name__)

#: The Jira issue property holding the KR result summary, and its name in the ledger.
PROPERTY_KEY = "okrsync"
PROPERTY_FIELD = PROPERTY_PREFIX + PROPERTY_KEY

T = TypeVar("T")


def _ignore(_count: int) -> None:
    pass


def resolve_targets(tree: OkrTree, kr_id: str, connections: Connections) -> list[TargetSpec]:
    """The KR's write-back targets, one per issue or task, the first one its home."""
    epics = [s for s in tree.key_results[kr_id].kr.scope if isinstance(s, JiraEpicsScope)]
    return target_specs(kr_id, tree.effective_write(kr_id), connections, epic_scopes=epics)


def target_specs(
    owner: str,
    writes: Sequence[EffectiveWrite],
    connections: Connections,
    *,
    epic_scopes: Sequence[JiraEpicsScope] = (),
) -> list[TargetSpec]:
    """``writes`` resolved for ``owner`` (a KR id, or an objective's key): one spec per
    issue or task, the first one its home; ``jira_epics`` targets name ``epic_scopes``'
    epics."""
    specs: list[TargetSpec] = []
    for write in writes:
        target = write.target
        keys: list[tuple[str, str, str | None]] = []
        if isinstance(target, JiraIssueTarget):
            keys.append(("jira", target.key, write.connection))
        elif isinstance(target, JiraEpicsTarget):
            for scope in epic_scopes:
                name = write.connection or scope.connection
                keys.extend(("jira", epic, name) for epic in scope.epics)
        elif isinstance(target, TeambitionTaskTarget):
            keys.append(("teambition", target.task, write.connection))
        for source, key, name in keys:
            display, _ = connections.resolve(source, name)
            spec = TargetSpec(
                kr_id=owner,
                source=source,
                connection=display,
                target=key,
                fields=write.fields,
                progress_format=write.progress_format,
                home=not specs,
            )
            if all((s.connection, s.target) != (spec.connection, spec.target) for s in specs):
                specs.append(spec)
    return specs


def owned_slots(spec: TargetSpec) -> list[Slot]:
    """Every field okrsync owns on a target."""
    names = (getattr(spec.fields, role) for role in ROLES)
    return [Slot(spec.connection, spec.target, name) for name in names if name is not None]


def _per_connection(
    items: Iterable[T], connection_of: Callable[[T], str], work: Callable[[str, list[T]], Any]
) -> dict[str, Any]:
    """Group ``items`` by connection, then run ``work(connection, group)`` for every
    connection concurrently."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(connection_of(item), []).append(item)
    if not groups:
        return {}
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="writeback") as pool:
        futures = {name: pool.submit(work, name, group) for name, group in groups.items()}
        return {name: future.result() for name, future in futures.items()}


@dataclass(frozen=True, slots=True)
class CurrentValues:
    """Field values read from the trackers; the connections that failed as a whole (an
    outage: their KRs' targets are not asked again this cycle) and the targets that could
    not be read on a connection that is up (a missing field, a missing issue), each with
    the tracker's first message."""

    values: dict[Slot, object]
    failed_connections: dict[str, str]
    target_errors: dict[tuple[str, str], str]

    @property
    def failed_targets(self) -> set[tuple[str, str]]:
        """``(connection, target)`` of every target that could not be read."""
        return set(self.target_errors)


def read_current(slots: Sequence[Slot], connections: Connections) -> CurrentValues:
    """Read every slot's current value, one batch per connection, connections concurrently.

    A field of the ``okrsync`` issue property (``PROPERTY_FIELD``) reads the property's
    JSON (None where it is not set), in the same request as the fields.
    """

    def read(name: str, group: list[Slot]) -> dict[Slot, object] | ConnectorError:
        refs = {FieldRef(slot.target, slot.field): slot for slot in group}
        try:
            answer = connections.get(name).read_fields(list(refs))
        except ConnectorError as exc:
            return exc
        return {slot: answer.get(ref) for ref, slot in refs.items()}

    values: dict[Slot, object] = {}
    failed: dict[str, str] = {}
    targets: dict[tuple[str, str], str] = {}
    for name, answer in _per_connection(dict.fromkeys(slots), lambda s: s.connection, read).items():
        if isinstance(answer, ConnectorError):
            failed[name] = answer.message
            continue
        for slot, value in answer.items():
            if isinstance(value, ConnectorError):
                if value.retryable or isinstance(value, AuthError):
                    # The tracker is out (or refuses us): not this target's fault.
                    failed.setdefault(name, value.message)
                else:
                    targets.setdefault((slot.connection, slot.target), value.message)
            else:
                values[slot] = value
    for name in failed:
        for key in [k for k in targets if k[0] == name]:
            del targets[key]
    return CurrentValues(values, failed, targets)


def apply_writes(
    writes: Sequence[PlannedWrite],
    connections: Connections,
    finished: Callable[[int], None] = _ignore,
) -> dict[PlannedWrite, str | None]:
    """Send the writes, one batch per connection; the error text of each failed write.

    ``finished(n)`` is called (from a worker thread) as each batch of ``n`` is done.
    """

    def send(name: str, group: list[PlannedWrite]) -> dict[PlannedWrite, str | None]:
        batch = {FieldWrite(w.slot.target, w.slot.field, w.after): w for w in group}
        try:
            answer = connections.get(name).write_fields(list(batch))
        except ConnectorError as exc:
            finished(len(group))
            return {w: exc.message for w in group}
        out: dict[PlannedWrite, str | None] = {}
        for request, planned in batch.items():
            error = answer.get(request)
            out[planned] = None if error is None else error.message
        finished(len(group))
        return out

    outcome: dict[PlannedWrite, str | None] = {}
    for answer in _per_connection(writes, lambda w: w.slot.connection, send).values():
        outcome.update(answer)
    return outcome


@dataclass(frozen=True, slots=True, eq=False)
class PropertyWrite:
    """The ``okrsync`` issue property of one Jira target: last written and now wanted."""

    kr_id: str
    connection: str
    target: str
    before: Any
    after: dict[str, Any]


def property_changed(before: Any, after: Mapping[str, Any]) -> bool:
    """Whether the property's JSON differs from what was last written."""
    return json.dumps(before, sort_keys=True) != json.dumps(dict(after), sort_keys=True)


def apply_property_writes(
    writes: Sequence[PropertyWrite],
    connections: Connections,
    finished: Callable[[int], None] = _ignore,
) -> list[tuple[PropertyWrite, str | None]]:
    """Set each issue property, concurrently within each connection's limit; each write
    with its error text (None: written), in the order given. ``finished(1)`` is called
    (from a worker thread) as each one is done."""

    def send(name: str, group: list[PropertyWrite]) -> list[tuple[PropertyWrite, str | None]]:
        connector = connections.get(name)

        def one(write: PropertyWrite) -> tuple[PropertyWrite, str | None]:
            try:
                connector.set_property(write.target, PROPERTY_KEY, write.after)
            except ConnectorError as exc:
                return write, exc.message
            finally:
                finished(1)
            return write, None

        # The connector bounds its requests in flight; more threads would only wait.
        workers = max(1, min(connector.concurrency, len(group)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="property") as pool:
            return list(pool.map(one, group))

    answers = _per_connection(writes, lambda w: w.connection, send)
    done = {w: error for answer in answers.values() for w, error in answer}
    return [(w, done[w]) for w in writes]


def apply_all(
    writes: Sequence[PlannedWrite],
    properties: Sequence[PropertyWrite],
    connections: Connections,
    finished: Callable[[int], None] = _ignore,
) -> tuple[dict[PlannedWrite, str | None], list[tuple[PropertyWrite, str | None]]]:
    """Field writes and issue properties side by side (they never set the same value, and
    each connector bounds its own requests in flight); the outcomes of both.

    ``finished(n)`` hears of ``n`` more writes done, from any thread, as they land.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="apply") as pool:
        fields = pool.submit(apply_writes, writes, connections, finished) if writes else None
        props = (
            pool.submit(apply_property_writes, properties, connections, finished)
            if properties
            else None
        )
        return (
            fields.result() if fields is not None else {},
            props.result() if props is not None else [],
        )
