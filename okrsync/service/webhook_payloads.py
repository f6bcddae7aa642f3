"""What a webhook delivery says changed, read from Jira's and Teambition's bodies.

Both trackers' deliveries become one :class:`ItemChange`: the item (id, key), what it
hangs under now and before (epic, parent, ancestors), its project, tags and sprints where
the body says, and the fields that changed with their new values. Anything the body does
not say is left unknown (None), never guessed: the receiver then assumes the widest.

Jira (``jira:issue_created`` / ``_updated`` / ``_deleted``, ``comment_*``): ``issue.id``,
``issue.key``, ``issue.fields`` (``parent``, ``project``, the Epic Link custom field on
Data Center) and ``changelog.items[]`` (``field``, ``fieldId``, ``from``, ``fromString``,
``to``, ``toString``).

Teambition (``task.create`` / ``task.update`` / ``task.remove`` and their ``v3.`` forms):
``data.task`` (``taskId``, ``projectId``, ``ancestorIds``, ``parentTaskId``, ``tagIds``,
``sprintId``) and ``data.new`` / ``data.old`` holding only the attributes that changed;
a changed custom field is known by its ``cfId`` only, never by its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldChange", "ItemChange", "PayloadError", "jira_change", "teambition_change"]

_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")
# Changelog entries that move an issue under another epic or parent, on either flavour.
_LINK_FIELDS = frozenset({"issueparentassociation", "parent", "epic link", "parent link"})
_COMMENT_EVENTS = frozenset({"comment_created", "comment_updated", "comment_deleted"})
_REMOVED = ("remove", "delete", "deleted", "removed")


class PayloadError(ValueError):
    """A delivery whose body has not the shape its tracker sends; the message is safe to
    show (it never quotes the body)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field a delivery says changed.

    ``name`` is the field's name as people see it (empty for a Teambition custom field,
    which deliveries name by id only), ``field_id`` its id, ``values`` its new value in
    each form the tracker gives (display text first).
    """

    name: str
    field_id: str
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What one delivery says about one issue or task; None where it does not say.

    ``fields`` is None when the delivery does not list what changed (a creation, a
    deletion), empty when it says nothing changed that a field holds (a comment).
    """

    source: str
    event: str
    item_id: str | None
    key: str | None
    parents: frozenset[str]
    project: str | None = None
    tags: frozenset[str] | None = None
    sprints: frozenset[str] | None = None
    fields: tuple[FieldChange, ...] | None = None
    removed: bool = False

    @property
    def handles(self) -> frozenset[str]:
        """The item's id and key (whichever the delivery gives)."""
        return frozenset(h for h in (self.item_id, self.key) if h)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"the delivery has no {what} object")
    return value


# -- Jira -------------------------------------------------------------------------------


def _jira_parents(fields: Mapping[str, Any], items: Iterable[Mapping[str, Any]]) -> set[str]:
    found: set[str] = set()
    parent = fields.get("parent")
    if isinstance(parent, dict):
        found.update(t for t in (_text(parent.get("key")), _text(parent.get("id"))) if t)
    for fid, value in fields.items():
        # Data Center's Epic Link holds the epic's key; its custom field id varies by site.
        if fid.startswith("customfield_") and isinstance(value, str) and _JIRA_KEY.match(value):
            found.add(value)
    for item in items:
        name = str(item.get("field") or "").lower()
        if name in _LINK_FIELDS or item.get("fieldId") == "parent":
            for side in ("from", "fromString", "to", "toString"):
                text = _text(item.get(side))
                if text:
                    found.add(text)
    return {f.upper() if _JIRA_KEY.match(f.upper()) else f for f in found}


def jira_change(payload: Any) -> ItemChange:
    """The change a Jira delivery describes; :class:`PayloadError` if it names no issue."""
    body = _object(payload, "JSON")
    issue = _object(body.get("issue"), "issue")
    item_id, key = _text(issue.get("id")), _text(issue.get("key"))
    if item_id is None and key is None:
        raise PayloadError("the delivery's issue has neither id nor key")
    event = str(body.get("webhookEvent") or "")
    fields = _dict(issue.get("fields"))
    changelog = body.get("changelog")
    raw_items = changelog.get("items") if isinstance(changelog, dict) else None
    items = [i for i in raw_items if isinstance(i, dict)] if isinstance(raw_items, list) else []
    changes: tuple[FieldChange, ...] | None = None
    if event in _COMMENT_EVENTS:
        changes = ()
    elif isinstance(raw_items, list):
        changes = tuple(
            FieldChange(
                str(i.get("field") or ""),
                str(i.get("fieldId") or ""),
                tuple(dict.fromkeys(v for v in (i.get("toString"), i.get("to")) if v is not None))
                or (None,),
            )
            for i in items
        )
    project = fields.get("project")
    return ItemChange(
        source="jira",
        event=event,
        item_id=item_id,
        key=key.upper() if key else None,
        parents=frozenset(_jira_parents(fields, items)),
        project=_text(project.get("key")) if isinstance(project, dict) else None,
        fields=changes,
        removed=event == "jira:issue_deleted",
    )


# -- Teambition -------------------------------------------------------------------------


def _ids(*values: Any) -> set[str] | None:
    """Ids from strings and lists of strings; None when no value was given at all."""
    given = [v for v in values if v is not None]
    if not given:
        return None
    found: set[str] = set()
    for value in given:
        for one in value if isinstance(value, list) else [value]:
            text = _text(one)
            if text:
                found.add(text)
    return found


def _customfields(value: Any) -> dict[str, Any]:
    if not isinstance(value, list):
        return {}
    return {
        str(cf["cfId"]): cf.get("value") for cf in value if isinstance(cf, dict) and cf.get("cfId")
    }


def _titles(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v.get("title", "")) for v in value if isinstance(v, dict))
    return "" if value is None else str(value)


def _tb_fields(new: dict[str, Any], old: dict[str, Any]) -> tuple[FieldChange, ...]:
    changes: list[FieldChange] = []
    for name, value in new.items():
        if name == "updated":
            continue
        if name != "customfields":
            changes.append(FieldChange(name, name, (value,)))
            continue
        before, after = _customfields(old.get("customfields")), _customfields(value)
        for cf_id in sorted(set(before) | set(after)):
            if "customfields" not in old or before.get(cf_id) != after.get(cf_id):
                changes.append(FieldChange("", cf_id, (_titles(after.get(cf_id)),)))
    return tuple(changes)


def teambition_change(payload: Any) -> ItemChange:
    """The change a Teambition delivery describes; :class:`PayloadError` if it names no
    task."""
    body = _object(payload, "JSON")
    data = _object(body.get("data"), "data")
    task = _dict(data.get("task")) or data
    item_id = _text(task.get("taskId")) or _text(task.get("id")) or _text(data.get("taskId"))
    if item_id is None:
        raise PayloadError("the delivery names no task")
    new = data["new"] if isinstance(data.get("new"), dict) else None
    old = _dict(data.get("old"))
    after = {**task, **(new or {})}
    parents = _ids(
        after.get("ancestorIds"),
        after.get("parentTaskId"),
        old.get("ancestorIds"),
        old.get("parentTaskId"),
    )
    event = str(body.get("event") or "")
    return ItemChange(
        source="teambition",
        event=event,
        item_id=item_id,
        key=None,
        parents=frozenset(parents or ()),
        project=_text(after.get("projectId")),
        tags=_known(after, old, "tagIds"),
        sprints=_known(after, old, "sprintId"),
        fields=None if new is None else _tb_fields(new, old),
        removed=event.rsplit(".", 1)[-1] in _REMOVED,
    )


def _known(after: dict[str, Any], old: dict[str, Any], name: str) -> frozenset[str] | None:
    """The ids an attribute holds now and held before; None when the body leaves it out
    (unknown), empty when it holds none."""
    if name not in after and name not in old:
        return None
    return frozenset(_ids(after.get(name), old.get(name)) or ())
