"""JQL building and the mapping of Jira issue JSON to WorkItems."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from connectors.jira.fields import FieldInfo, number_of, parse_datetime
from mappings.items import Source, StatusCategory, WorkItem

T = TypeVar("T")

# Fields every WorkItem needs; measure fields (by id) are added to these.
BASE_FIELDS = ("summary", "status", "issuetype", "parent", "resolution", "updated", "labels")
PROJECT_FIELD = "project"
# Keys and epics per "in (...)" clause: keeps GET URLs short and JQL under Jira's limits.
CHUNK = 100

_CATEGORY = {
    "new": StatusCategory.TODO,
    "undefined": StatusCategory.TODO,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
}
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def split_order_by(jql: str) -> tuple[str, str]:
    """``(condition, "ORDER BY ...")`` of a JQL string; ORDER BY inside quotes is text."""
    quote: str | None = None
    i = 0
    while i < len(jql):
        ch = jql[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        else:
            match = _ORDER_BY.match(jql, i)
            if match and (i == 0 or not (jql[i - 1].isalnum() or jql[i - 1] == "_")):
                return jql[:i].strip(), jql[i:].strip()
        i += 1
    return jql.strip(), ""


def and_all(*conditions: str) -> str:
    """Join JQL conditions with AND, each in parentheses; empty ones are left out."""
    parts = [c for c in conditions if c.strip()]
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({c})" for c in parts)


def with_order(condition: str, order: str) -> str:
    """Append an ORDER BY clause (if any) to a condition."""
    return f"{condition} {order}".strip() if order else condition


def keys_in(clause: str, keys: Sequence[str]) -> str:
    """``clause in (A-1, B-2)``; keys are validated Jira keys, so need no quoting."""
    return f"{clause} in ({', '.join(keys)})"


def clause_name(info: FieldInfo) -> str:
    """How JQL names a custom field: ``cf[10014]`` (always unique), else its quoted name."""
    if info.id.startswith("customfield_"):
        return f"cf[{info.id.removeprefix('customfield_')}]"
    return '"' + info.name.replace('"', '\\"') + '"'


def since_clause(since: datetime, zone: tzinfo) -> str:
    """``updated >= "yyyy/MM/dd HH:mm"`` in the Jira user's time zone, floored to the minute."""
    local = since.astimezone(zone) if since.tzinfo else since.replace(tzinfo=zone)
    return f'updated >= "{local:%Y/%m/%d %H:%M}"'


# --------------------------------------------------------------------------- issues


@dataclass(frozen=True, slots=True)
class ItemFields:
    """Which field ids feed a WorkItem's estimate, epic link and named numbers."""

    estimate: FieldInfo | None
    epic_link: FieldInfo | None
    named: Mapping[str, FieldInfo]

    def ids(self) -> list[str]:
        """Every field id a search must ask for."""
        ids = [*BASE_FIELDS, PROJECT_FIELD]
        extra = [self.estimate, self.epic_link, *self.named.values()]
        for info in extra:
            if info is not None and info.id not in ids:
                ids.append(info.id)
        return ids


def _name(obj: object) -> str:
    return str(obj.get("name", "")) if isinstance(obj, Mapping) else ""


def epic_key_of(raw: Mapping[str, Any], spec: ItemFields) -> str | None:
    """The epic an issue belongs to: ``parent`` if it is an epic's child, else Epic Link."""
    fields = raw.get("fields") or {}
    parent = fields.get("parent")
    if isinstance(parent, Mapping) and not _is_subtask(fields):
        return str(parent.get("key")) if parent.get("key") else None
    if spec.epic_link is not None:
        link = fields.get(spec.epic_link.id)
        if isinstance(link, str) and link:
            return link
        if isinstance(link, Mapping) and link.get("key"):
            return str(link["key"])
    return None


# What to do about an epics scope that names an issue of another type.
NOT_AN_EPIC_FIX = "name the epic, or use a jira_issues scope for single issues"


def is_epic_type(issuetype: object) -> bool:
    """Whether an issue type sits at the epic level.

    Cloud gives every type its hierarchy level (epics are level 1, whatever their name);
    Data Center's type bean has no level, so the Epic type is known by its name.
    """
    if not isinstance(issuetype, Mapping):
        return False
    level = issuetype.get("hierarchyLevel")
    if isinstance(level, int) and not isinstance(level, bool):
        return level == 1
    return _name(issuetype).casefold() == "epic"


def not_an_epic(key: str, issuetype: object) -> str:
    """Why an epics scope naming ``key`` (of type ``issuetype``) is refused."""
    name = _name(issuetype) or "issue of unknown type"
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{key} is {article} {name}, not an epic: an epics scope counts an epic's children"


def _is_subtask(fields: Mapping[str, Any]) -> bool:
    issuetype = fields.get("issuetype") or {}
    return bool(issuetype.get("subtask", False))


def to_work_item(
    raw: Mapping[str, Any], spec: ItemFields, epic_ids: Mapping[str, str] | None = None
) -> WorkItem:
    """A Jira issue (REST JSON) as a WorkItem.

    The parent is ``fields.parent`` (sub-tasks everywhere, epic children on Cloud) or the
    Epic Link (Data Center); ``epic_ids`` (epic key -> id) fills in the id of an epic that
    Epic Link names only by key.
    """
    fields: Mapping[str, Any] = raw.get("fields") or {}
    issuetype = fields.get("issuetype") or {}
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key", "")
    parent = fields.get("parent")
    parent_id: str | None = None
    parent_key: str | None = None
    if isinstance(parent, Mapping) and (parent.get("id") or parent.get("key")):
        parent_id = str(parent["id"]) if parent.get("id") else None
        parent_key = str(parent["key"]) if parent.get("key") else None
    else:
        parent_key = epic_key_of(raw, spec)
        if parent_key and epic_ids:
            parent_id = epic_ids.get(parent_key)
    estimate = fields.get(spec.estimate.id) if spec.estimate else None
    project = fields.get(PROJECT_FIELD)
    key = str(raw.get("key", ""))
    return WorkItem(
        source=Source.JIRA,
        id=str(raw["id"]),
        key=key,
        title=str(fields.get("summary") or ""),
        type=_name(issuetype),
        is_epic=is_epic_type(issuetype),
        is_subtask=bool(issuetype.get("subtask", False)),
        parent_id=parent_id,
        parent_key=parent_key,
        status=_name(status),
        status_category=_CATEGORY.get(str(category), StatusCategory.TODO),
        resolution=_name(fields.get("resolution")) or None,
        estimate=number_of(estimate),
        updated=parse_datetime(fields.get("updated")),
        labels=tuple(str(label) for label in fields.get("labels") or ()),
        project=str(project.get("key", "")) if isinstance(project, Mapping) else key.split("-")[0],
        fields={name: number_of(fields.get(info.id)) for name, info in spec.named.items()},
    )
