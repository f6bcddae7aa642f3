"""Reading and writing custom fields of Teambition tasks by field name.

A field name resolves in the target task's own project (``projectId`` -> custom-field
search). A write is sent only when the task's current value differs, as one
``customfield/update`` per field with activity and notifications switched off, so that
okrsync's bookkeeping does not flood people's feeds. The updates of a batch are sent
concurrently, paced per endpoint by the HTTP layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from connectors.base import ConnectorError, FieldRef, FieldWrite, NotFoundError
from connectors.teambition.read import Lookups, Task
from connectors.teambition.tasks import (
    CUSTOMFIELD_UPDATE,
    FieldDef,
    cf_values,
    decode_value,
    encode_value,
    same_value,
)


def _missing_task(target: str) -> NotFoundError:
    return NotFoundError(
        f"Teambition has no task '{target}' (a write-back target): check the task id in the "
        "mapping",
        status=404,
    )


def _targets(lookups: Lookups, targets: Sequence[str]) -> dict[str, Task | ConnectorError]:
    """Each target's task, or the error that explains why it cannot be read."""
    try:
        tasks = lookups.tasks(list(targets))
    except ConnectorError as exc:
        return dict.fromkeys(targets, exc)
    out: dict[str, Task | ConnectorError] = {}
    for target in targets:
        out[target] = tasks.get(target) or _missing_task(target)
    with contextlib.suppress(ConnectorError):  # only used to name projects in messages
        lookups.load_projects({str(t.get("projectId") or "") for t in tasks.values()})
    return out


def _field_of(lookups: Lookups, task: Task, name: str) -> FieldDef:
    return lookups.field(str(task.get("projectId") or ""), name)


def read_fields(lookups: Lookups, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
    """Current values in ``FieldWrite`` forms; a ``ConnectorError`` for an unreadable ref."""
    tasks = _targets(lookups, list(dict.fromkeys(r.target for r in refs)))
    out: dict[FieldRef, object] = {}
    for ref in refs:
        task = tasks[ref.target]
        if isinstance(task, ConnectorError):
            out[ref] = task
            continue
        try:
            field = _field_of(lookups, task, ref.field)
        except ConnectorError as exc:
            out[ref] = exc
            continue
        out[ref] = decode_value(field, cf_values(task, field.id))
    return out


@dataclass(slots=True)
class _Slot:
    """One custom field of one task in a batch: the value last asked for, and every
    write of the batch that asked for a value there."""

    task: Task
    field: FieldDef
    current: object
    last: FieldWrite
    items: list[dict[str, str]]
    writes: list[FieldWrite]


def write_fields(
    lookups: Lookups, writes: Sequence[FieldWrite]
) -> dict[FieldWrite, ConnectorError | None]:
    """Apply the writes whose value differs from the task's; None means done (or equal).

    The updates go out concurrently (``concurrency`` threads), each still waiting for its
    turn under the endpoint's pace (``requests_per_second``), so that the quota, not the
    round trip, bounds a batch. A field written more than once in a batch gets the last
    value, sent once; those writes share its outcome.
    """
    tasks = _targets(lookups, list(dict.fromkeys(w.target for w in writes)))
    out: dict[FieldWrite, ConnectorError | None] = {}
    slots: dict[tuple[str, str], _Slot] = {}
    for write in writes:
        task = tasks[write.target]
        if isinstance(task, ConnectorError):
            out[write] = task
            continue
        try:
            field = _field_of(lookups, task, write.field)
            items = encode_value(field, write.value)
            current = decode_value(field, cf_values(task, field.id))
        except ConnectorError as exc:
            out[write] = exc
            continue
        slot = slots.get((write.target, field.id))
        if slot is None:
            slots[(write.target, field.id)] = _Slot(task, field, current, write, items, [write])
        else:
            slot.last, slot.items = write, items
            slot.writes.append(write)
    sends: list[_Slot] = []
    for slot in slots.values():
        if same_value(slot.field, slot.current, slot.last.value):
            out.update(dict.fromkeys(slot.writes))
        else:
            sends.append(slot)

    def send(slot: _Slot) -> ConnectorError | None:
        try:
            _update(lookups, slot.last.target, slot.field, slot.items)
        except ConnectorError as exc:
            return exc
        return None

    if sends:
        workers = min(lookups.http.settings.concurrency, len(sends))
        with ThreadPoolExecutor(workers, thread_name_prefix="teambition-write") as pool:
            outcomes = list(pool.map(send, sends))
        for slot, error in zip(sends, outcomes, strict=True):
            if error is None:
                _remember(slot.task, slot.field, slot.items)
            out.update(dict.fromkeys(slot.writes, error))
    return {write: out[write] for write in writes}


def _update(lookups: Lookups, task_id: str, field: FieldDef, items: list[dict[str, str]]) -> None:
    body: dict[str, Any] = {
        "customfieldId": field.id,
        "value": items,
        "disableActivity": True,
        "disableNotification": True,
    }
    # Setting a field to a value is idempotent, so a retry after a lost answer is safe.
    lookups.http.call(
        "POST",
        CUSTOMFIELD_UPDATE,
        path={"taskId": task_id},
        json=body,
        what=f"task '{task_id}' (custom field '{field.name}')",
    )


def _remember(task: Task, field: FieldDef, items: list[dict[str, str]]) -> None:
    """Keep the task as now written, so that a repeated write in one batch is not sent."""
    entries = [e for e in task.get("customfields") or [] if e.get("cfId") != field.id]
    entries.append({"cfId": field.id, "type": field.type, "value": items})
    task["customfields"] = entries
