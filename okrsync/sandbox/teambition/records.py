"""Teambition records as the sandbox keeps them: normalizing seed JSON and checking values."""

from __future__ import annotations

import math
from typing import Any

from okrsync.sandbox.teambition.tql_eval import canonical_time

__all__ = ["RecordError", "check_customfield_value", "normalize_project", "normalize_task"]

Record = dict[str, Any]

# Id-like task attributes; Teambition sends "" rather than null when they are unset.
_STRING_FIELDS = (
    "content",
    "note",
    "parentTaskId",
    "tfsId",
    "tasklistId",
    "stageId",
    "sprintId",
    "creatorId",
    "executorId",
    "visible",
    "sfcId",
    "sourceId",
)
_TIME_FIELDS = ("startDate", "dueDate", "accomplishTime", "created", "updated")


class RecordError(ValueError):
    """A seed record or a written value the sandbox refuses; the message is user-facing."""


def story_point_text(points: Any) -> str:
    """Teambition keeps story points as a string: ``3`` -> ``"3"``, ``None`` -> ``""``."""
    if points is None or points == "":
        return ""
    if isinstance(points, bool):
        raise RecordError(f"storyPoint must be a number, got {points!r}")
    if isinstance(points, int | float):
        return f"{points:g}"
    if isinstance(points, str):
        try:
            number = float(points)
        except ValueError:
            raise RecordError(f"storyPoint must be a number, got {points!r}") from None
        if not math.isfinite(number) or number < 0:
            raise RecordError(f"storyPoint must be a non-negative number, got {points!r}")
        return points.strip()
    raise RecordError(f"storyPoint must be a string, got {points!r}")


def normalize_task(raw: Record, default_time: str) -> Record:
    """Fill a seed task to the full Teambition task object with canonical UTC times."""
    if not raw.get("id") or not raw.get("projectId"):
        raise RecordError(f"a task needs 'id' and 'projectId': {raw!r}")
    task: Record = dict(raw)
    for key in _STRING_FIELDS:
        task[key] = task.get(key) or ""
    for key in _TIME_FIELDS:
        value = task.get(key)
        try:
            task[key] = canonical_time(str(value)) if value else None
        except ValueError:
            raise RecordError(f"{key}: expected an ISO 8601 time, got {value!r}") from None
    task["created"] = task["created"] or default_time
    task["updated"] = task["updated"] or task["created"]
    task["isDone"] = bool(task.get("isDone"))
    task["isArchived"] = bool(task.get("isArchived"))
    if task["isDone"] and not task["accomplishTime"]:
        task["accomplishTime"] = task["updated"]
    points = task.get("storyPoint")
    # A string is kept as given (Teambition stores text: "", "0.5", even "?"); only the
    # Open API's storyPoint update insists on a number.
    task["storyPoint"] = points if isinstance(points, str) else story_point_text(points)
    task["priority"] = int(task.get("priority") or 0)
    task["progress"] = int(task.get("progress") or (100 if task["isDone"] else 0))
    task["pos"] = int(task.get("pos") or 0)
    task["tagIds"] = list(task.get("tagIds") or [])
    task["involveMembers"] = list(task.get("involveMembers") or [])
    task["recurrence"] = list(task.get("recurrence") or [])
    task["customfields"] = [
        {
            "cfId": cf["cfId"],
            "type": cf.get("type", ""),
            "value": [_value_item(v) for v in cf.get("value") or []],
        }
        for cf in task.get("customfields") or []
    ]
    return task


def normalize_project(raw: Record, default_time: str) -> Record:
    """Fill a seed project to the Teambition project object."""
    if not raw.get("id") or not raw.get("organizationId"):
        raise RecordError(f"a project needs 'id' and 'organizationId': {raw!r}")
    project: Record = {
        "name": "",
        "logo": "",
        "description": "",
        "visibility": "project",
        "isTemplate": False,
        "creatorId": "",
        "isArchived": False,
        "isSuspended": False,
        "uniqueIdPrefix": "",
        "startDate": None,
        "endDate": None,
        "customfields": [],
        **raw,
    }
    project["created"] = canonical_time(project.get("created") or default_time)
    project["updated"] = canonical_time(project.get("updated") or project["created"])
    return project


def _value_item(raw: Any) -> Record:
    if not isinstance(raw, dict):
        return {"id": "", "title": str(raw), "metaString": ""}
    return {
        "id": str(raw.get("id") or ""),
        "title": str(raw.get("title") or ""),
        "metaString": str(raw.get("metaString") or ""),
    }


def check_customfield_value(field: Record, value: Any) -> list[Record]:
    """Validate a custom-field update ``value`` against the field's type; return stored items.

    Every item must be an object with an ``id`` key (may be empty) and a string ``title``.
    number: at most one item whose title parses as a finite number; dropDown: at most one item
    naming a choice by id or title; multipleChoice: each item names a choice; date: ISO dates;
    text: at most one item. An empty list clears the field.
    """
    name = field.get("name") or field["id"]
    if not isinstance(value, list):
        raise RecordError(f"value of customfield {name!r} must be a list")
    kind = field.get("type", "text")
    items: list[Record] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or "id" not in item:
            raise RecordError(f"value[{index}] must be an object with an 'id' key")
        title, item_id = item.get("title"), item.get("id")
        if not isinstance(title, str | type(None)) or not isinstance(item_id, str | type(None)):
            raise RecordError(f"value[{index}].id and .title must be strings")
        items.append({"id": item_id or "", "title": title or "", "metaString": ""})
        meta = item.get("metaString")
        if isinstance(meta, str):
            items[-1]["metaString"] = meta
    if kind in ("number", "text", "dropDown", "date") and len(items) > 1:
        raise RecordError(f"customfield {name!r} ({kind}) takes at most one value")
    for index, item in enumerate(items):
        if kind == "number":
            try:
                number = float(item["title"])
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise RecordError(
                    f"value[{index}].title {item['title']!r} of number field {name!r} "
                    "is not a number"
                )
        elif kind in ("dropDown", "multipleChoice"):
            item.update(_choice(field, item, index))
        elif kind == "date":
            try:
                item["title"] = canonical_time(item["title"])
            except ValueError:
                raise RecordError(
                    f"value[{index}].title {item['title']!r} of date field {name!r} is not a date"
                ) from None
    return items


def _choice(field: Record, item: Record, index: int) -> Record:
    choices = field.get("choices") or []
    for choice in choices:
        by_id = item["id"] and item["id"] == choice.get("id")
        by_title = not item["id"] and item["title"] == choice.get("value")
        if by_id or by_title:
            if item["title"] and item["title"] != choice.get("value"):
                break
            return {"id": choice["id"], "title": choice["value"]}
    allowed = ", ".join(repr(c.get("value")) for c in choices)
    raise RecordError(
        f"value[{index}] {item['title'] or item['id']!r} is not a choice of "
        f"{field.get('name')!r} (choices: {allowed})"
    )
