"""Reading and writing custom fields of Teambition tasks by field name.

A field name resolves in the target task's own project (``projectId`` -> custom-field
search). A write is sent only when the task's current value differs, as one
``customfield/update`` per field with activity and notifications switched off, so that
okrsync's bookkeeping does not flood people's feeds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from connectors.base import ConnectorError, FieldRef, FieldWrite, NotFoundError
from connectors.teambition_read import Lookups, Task
from connectors.teambition_tasks import (
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


def write_fields(
    lookups: Lookups, writes: Sequence[FieldWrite]
) -> dict[FieldWrite, ConnectorError | None]:
    """Apply the writes whose value differs from the task's; None means done (or equal)."""
    tasks = _targets(lookups, list(dict.fromkeys(w.target for w in writes)))
    out: dict[FieldWrite, ConnectorError | None] = {}
    for write in writes:
        task = tasks[write.target]
        if isinstance(task, ConnectorError):
            out[write] = task
            continue
        try:
            field = _field_of(lookups, task, write.field)
            items = encode_value(field, write.value)
            current = decode_value(field, cf_values(task, field.id))
            if same_value(field, current, write.value):
                out[write] = None
                continue
            _update(lookups, write.target, field, items)
        except ConnectorError as exc:
            out[write] = exc
            continue
        _remember(task, field, items)
        out[write] = None
    return out


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
