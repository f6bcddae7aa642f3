"""Pure helpers of the Teambition connector: scope queries, task records, field values.

Nothing here does I/O. Tasks become :class:`WorkItem` as follows (Teambition has no
status categories of its own):

- ``key``: ``<uniqueIdPrefix>-<uniqueId>`` (Teambition's short id, e.g. ``MOB-12``) when the
  project has a prefix, ``#<uniqueId>`` when it has none, else the task id;
- ``status_category``: ``done`` when ``isDone``; ``in_progress`` when ``progress`` (0-100)
  is above 0; else ``todo``. ``status`` is the matching word ("Done", "In Progress",
  "To Do"), since the workflow status names are not part of the task object;
- ``status_category`` comes from ``isDone`` (a bool; the strings ``"true"``/``"false"``
  are read as such, never as "any non-empty string is done");
- ``estimate``: ``storyPoint`` (a string, surrounding blanks ignored) as a number; ``""``,
  unparsable, negative or non-finite -> None (unestimated);
- ``is_subtask``: the task has a ``parentTaskId`` -- except the tasks a
  ``teambition_parent`` scope reads: the direct children of the scope's task are its
  units of work, as stories are an epic's (Jira's epic children are not sub-tasks
  either), so the engine counts them without ``include_subtasks``; ``parent_id`` is the
  ``parentTaskId`` in every case;
- ``labels``: the tag ids; ``project``: ``projectId``; ``updated``: UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base import FieldNotEditableError
from mappings.items import Source, StatusCategory, WorkItem
from mappings.schema import (
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTqlScope,
)

TeambitionScope = (
    TeambitionTqlScope | TeambitionParentScope | TeambitionTagsScope | TeambitionSprintScope
)

PROJECT_TASKS = "/v3/project/{projectId}/task/query"
TASK_QUERY = "/v3/task/query"
PROJECT_QUERY = "/v3/project/query"
CUSTOMFIELD_SEARCH = "/v3/project/{projectId}/customfield/search"
CUSTOMFIELD_UPDATE = "/v3/task/{taskId}/customfield/update"
TAG_SEARCH = "/v3/project/{projectId}/tag/search"
SPRINT_SEARCH = "/v3/project/{projectId}/sprint/search"
TASK_COMMENT = "/v3/task/{taskId}/comment"

# Names under which a mapping may mean Teambition's built-in story points (``storyPoint``)
# rather than a custom field; WorkItem.estimate already carries them.
STORY_POINT_NAMES = frozenset({"storypoint", "storypoints"})

_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


def is_story_points(name: str) -> bool:
    """Whether a field name means the built-in ``storyPoint`` ("Story Points", ...)."""
    return re.sub(r"[\s_-]", "", name).lower() in STORY_POINT_NAMES


def tql_string(value: str) -> str:
    """A TQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def split_order_by(tql: str) -> tuple[str, str]:
    """``(condition, "ORDER BY ...")`` of a TQL query; ORDER BY inside strings is ignored."""
    in_string = False
    escaped = False
    for index, char in enumerate(tql):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                in_string = False
        elif char == "'":
            in_string = True
        elif char in "oO" and _ORDER_BY.match(tql, index) and _word_start(tql, index):
            return tql[:index].strip(), tql[index:].strip()
    return tql.strip(), ""


def _word_start(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")


def format_time(moment: datetime) -> str:
    """Teambition's time format: UTC ISO 8601 with milliseconds and ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def and_tql(tql: str, condition: str) -> str:
    """``tql`` narrowed by ``condition`` (AND-ed before any ORDER BY)."""
    where, order = split_order_by(tql)
    combined = f"({where}) AND {condition}" if where else condition
    return f"{combined} {order}".strip()


def since_tql(tql: str, since: datetime | None) -> str:
    """``tql`` limited to tasks updated at or after ``since``."""
    if since is None:
        return tql
    return and_tql(tql, f"updated >= {tql_string(format_time(since))}")


def scope_tql(scope: TeambitionTqlScope | TeambitionTagsScope | TeambitionSprintScope) -> str:
    """The TQL that selects a project scope's tasks (within its project)."""
    if isinstance(scope, TeambitionTqlScope):
        return scope.tql.strip()
    if isinstance(scope, TeambitionTagsScope):
        return f"tagId IN ({', '.join(tql_string(t) for t in scope.tags)})"
    return f"sprintId = {tql_string(scope.sprint)}"


def describe_scope(scope: TeambitionScope) -> str:
    """A short human name of a scope, for messages."""
    if isinstance(scope, TeambitionParentScope):
        return f"sub-tasks of task '{scope.task}'"
    if isinstance(scope, TeambitionTagsScope):
        return f"tags {', '.join(scope.tags)} in project '{scope.project}'"
    if isinstance(scope, TeambitionSprintScope):
        return f"sprint '{scope.sprint}' in project '{scope.project}'"
    return f"project '{scope.project}'" + (f" TQL {scope.tql!r}" if scope.tql else "")


def parse_time(raw: Any) -> datetime | None:
    """A Teambition time (ISO 8601, ``Z`` or offset) as an aware UTC datetime."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def number(raw: Any) -> float | None:
    """A finite number from Teambition's textual numbers ("3", "63.5"); else None."""
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def story_points(raw: Any) -> float | None:
    """A task's ``storyPoint`` as an estimate: None when empty, unparsable or negative."""
    value = number(raw.strip() if isinstance(raw, str) else raw)
    return value if value is not None and value >= 0 else None


def flag(raw: Any) -> bool:
    """A task's boolean attribute (``isDone``, ``isArchived``); ``"false"`` stays false."""
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "1")
    return raw is True or (isinstance(raw, int) and raw == 1)


def task_key(task: Mapping[str, Any], prefix: str | None) -> str:
    """The short id people see: ``MOB-12`` with a project prefix, ``#12`` without."""
    unique = task.get("uniqueId")
    if unique in (None, ""):
        return str(task.get("id", ""))
    return f"{prefix}-{unique}" if prefix else f"#{unique}"


def cf_values(task: Mapping[str, Any], cf_id: str) -> list[dict[str, Any]] | None:
    """The value items of a custom field on a task; None when the task has no entry."""
    for entry in task.get("customfields") or []:
        if isinstance(entry, Mapping) and entry.get("cfId") == cf_id:
            return [dict(v) for v in entry.get("value") or [] if isinstance(v, Mapping)]
    return None


def to_item(
    task: Mapping[str, Any],
    *,
    prefix: str | None,
    fields: Mapping[str, float | None] | None = None,
    children_of: str | None = None,
) -> WorkItem:
    """One Teambition task as a WorkItem (see the module docstring for the rules).

    ``children_of``: the task read by a ``teambition_parent`` scope, whose direct
    children are not marked as sub-tasks.
    """
    done = flag(task.get("isDone"))
    progress = number(task.get("progress")) or 0.0
    if done:
        category, status = StatusCategory.DONE, "Done"
    elif progress > 0:
        category, status = StatusCategory.IN_PROGRESS, "In Progress"
    else:
        category, status = StatusCategory.TODO, "To Do"
    parent = str(task.get("parentTaskId") or "") or None
    return WorkItem(
        source=Source.TEAMBITION,
        id=str(task["id"]),
        key=task_key(task, prefix),
        title=str(task.get("content") or ""),
        type="task",
        is_subtask=parent is not None and parent != children_of,
        parent_id=parent,
        status=status,
        status_category=category,
        estimate=story_points(task.get("storyPoint")),
        updated=parse_time(task.get("updated")),
        labels=tuple(str(t) for t in task.get("tagIds") or ()),
        project=str(task.get("projectId") or ""),
        fields=dict(fields or {}),
    )


# --------------------------------------------------------------------------- field values


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A project's custom-field definition (as ``customfield/search`` returns it)."""

    id: str
    name: str
    type: str
    choices: tuple[tuple[str, str], ...] = ()  # (choice id, visible value)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> FieldDef:
        """From the API's JSON."""
        choices = tuple(
            (str(c.get("id") or ""), str(c.get("value") or ""))
            for c in raw.get("choices") or ()
            if isinstance(c, Mapping)
        )
        return cls(str(raw["id"]), str(raw.get("name") or ""), str(raw.get("type") or ""), choices)


def find_field(fields: Sequence[FieldDef], name: str) -> FieldDef | None:
    """The field called ``name`` (exactly, else the only case-insensitive match)."""
    exact = [f for f in fields if f.name == name]
    if exact:
        return exact[0]
    folded = [f for f in fields if f.name.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def format_number(value: float) -> str:
    """A number as Teambition stores it: text, at most four decimals, no trailing zeros."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def decode_value(field: FieldDef, items: list[dict[str, Any]] | None) -> object:
    """A task's custom-field value in ``FieldWrite`` form (float, str, datetime or None)."""
    if not items:
        return None
    title = str(items[0].get("title") or "")
    if field.type == "number":
        return number(title)
    if field.type == "date":
        return parse_time(title)
    if field.type == "multipleChoice":
        return ", ".join(str(i.get("title") or "") for i in items)
    return title if title or field.type != "text" else None


def encode_value(field: FieldDef, value: float | str | datetime | None) -> list[dict[str, str]]:
    """The ``value`` list of a custom-field update; raises when the value cannot go there."""
    if value is None:
        return []
    if field.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            parsed = number(value) if isinstance(value, str) else None
            if parsed is None:
                raise FieldNotEditableError(
                    f"custom field '{field.name}' is a number field; cannot write {value!r}"
                )
            value = parsed
        return [{"id": "", "title": format_number(float(value)), "metaString": ""}]
    if field.type == "dropDown":
        text = str(value)
        for choice_id, choice in field.choices:
            if choice == text:
                return [{"id": choice_id, "title": choice, "metaString": ""}]
        allowed = ", ".join(c for _, c in field.choices) or "none"
        raise FieldNotEditableError(
            f"'{text}' is not a choice of Teambition custom field '{field.name}' "
            f"(choices: {allowed}): add the choice to the field"
        )
    if field.type == "date":
        if not isinstance(value, datetime):
            raise FieldNotEditableError(
                f"custom field '{field.name}' is a date field; cannot write {value!r}"
            )
        return [{"id": "", "title": format_time(value), "metaString": ""}]
    if field.type == "text":
        text = format_time(value) if isinstance(value, datetime) else _text(value)
        # Teambition shows an empty text field and one holding "" alike: write a clear.
        return [{"id": "", "title": text, "metaString": ""}] if text else []
    raise FieldNotEditableError(
        f"Teambition custom field '{field.name}' has type '{field.type}', which okrsync "
        "does not write (use a text, number, date or dropDown field)"
    )


def _text(value: float | str) -> str:
    return format_number(value) if isinstance(value, float | int) else str(value)


def same_value(field: FieldDef, current: object, desired: float | str | datetime | None) -> bool:
    """Whether writing ``desired`` would leave the field as it is.

    Numbers compare as the text written (four decimals), so a value that rounds to what
    is stored is never written again; "" in a text field is the same as no value.
    """
    if field.type == "text" and desired == "":
        desired = None
    if desired is None or current is None:
        return desired is None and current is None
    if field.type == "number":
        wanted = number(desired) if not isinstance(desired, datetime) else None
        return (
            isinstance(current, float)
            and wanted is not None
            and format_number(current) == format_number(wanted)
        )
    if isinstance(desired, datetime) or isinstance(current, datetime):
        if isinstance(desired, datetime) and isinstance(current, datetime):
            return format_time(current) == format_time(desired)
        return str(current) == format_time(desired) if isinstance(desired, datetime) else False
    if field.type == "text" and isinstance(desired, float | int):
        return current == format_number(desired)
    return current == desired
