"""Validate and apply issue edits (``PUT /issue`` and Cloud bulk edit) as Jira does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from okrsync.sandbox.jira.model import (
    CF,
    EPIC_LINK_TYPE,
    PRIORITIES,
    FieldDef,
    Issue,
    jira_time,
    parse_time,
)
from okrsync.sandbox.jira.render import user_json
from okrsync.sandbox.jira.store import JiraStore

OFF_SCREEN = "Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_A_NUMBER = "Operation value must be a number"
NOT_A_STRING = "Operation value must be a string"
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 255 characters."
_UNSET = object()


class EditError(Exception):
    """An edit Jira refuses: ``errors`` per field and/or general ``messages``."""

    def __init__(
        self, errors: dict[str, str] | None = None, messages: list[str] | None = None
    ) -> None:
        super().__init__(messages or errors)
        self.errors = errors or {}
        self.messages = messages or []

    def body(self) -> dict[str, Any]:
        """Jira's ``ErrorCollection`` JSON."""
        return {"errorMessages": self.messages, "errors": self.errors}


@dataclass
class Plan:
    """Validated changes for one issue: stored values and a new epic/parent link."""

    values: dict[str, Any] = field(default_factory=dict)
    link: Any = _UNSET  # key of the new epic/parent, None to unlink, _UNSET to keep


class _Invalid(ValueError):
    pass


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(NOT_A_NUMBER)
    return float(value)


def _string(fdef: FieldDef, value: Any, api: str) -> Any:
    rich = fdef.id == "description" or fdef.custom_type == CF + "textarea"
    if value is None:
        if fdef.id == "summary":
            raise _Invalid("You must specify a summary of the issue.")
        return None
    if rich and api == "3":
        if not (isinstance(value, dict) and value.get("type") == "doc"):
            raise _Invalid(NOT_ADF)
        return value
    if not isinstance(value, str):
        raise _Invalid(NOT_A_STRING)
    if fdef.id == "summary" and not value.strip():
        raise _Invalid("You must specify a summary of the issue.")
    if not rich and len(value) > 255:
        raise _Invalid(TOO_LONG)
    # Jira keeps no empty text: an empty string clears the field (it reads back as null).
    return value or None


def _option(options: list[dict[str, str]], value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or not ({"value", "id"} & value.keys()):
        raise _Invalid("Could not find valid 'id' or 'value' in the Parent Option object.")
    for opt in options:
        if "id" in value and str(value["id"]) == opt["id"]:
            return dict(opt)
        if "id" not in value and value.get("value") == opt["value"]:
            return dict(opt)
    if "id" in value:
        raise _Invalid(f"Option id '{value['id']}' is not valid")
    raise _Invalid(f"Option value '{value.get('value')}' is not valid")


def _datetime(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return jira_time(parse_time(str(value)))
    except ValueError:
        raise _Invalid(
            f"Invalid date format: '{value}'. Please enter the date in the format "
            "\"yyyy-MM-dd'T'HH:mm:ss.SSSZ\"."
        ) from None


def _date(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _Invalid(f"Error parsing date string: {value}") from None


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid("Operation value must be an array of strings")
    for label in value:
        if " " in label:
            raise _Invalid(f"The label '{label}' contains spaces which is invalid.")
    return list(value)


def _user(store: JiraStore, value: Any, base: str) -> Any:
    if value is None:
        return None
    ident = (
        value.get("accountId") or value.get("name") or value.get("key")
        if isinstance(value, dict)
        else None
    )
    user = store.user_for(str(ident)) if ident else None
    if user is None:
        raise _Invalid("Specified user does not exist or you do not have required permissions")
    return user_json(user, base, store.flavour)


def _named(options: list[dict[str, Any]], value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        for opt in options:
            if str(value.get("id")) == str(opt["id"]) or value.get("name") == opt["name"]:
                return dict(opt)
    raise _Invalid(f"Specify a valid 'id' or 'name' for {what}")


def _link_target(store: JiraStore, issue: Issue, value: Any) -> str | None:
    if value is None or value == "":
        return None
    ident = value.get("key") or value.get("id") if isinstance(value, dict) else value
    target = store.get(str(ident)) if ident else None
    if target is None or target.key == issue.key:
        raise _Invalid("Could not find issue by id or key.")
    if not target.is_epic:
        raise _Invalid(f"Issue '{target.key}' is not an epic and cannot be a parent.")
    return target.key


def convert(
    store: JiraStore, issue: Issue, fdef: FieldDef, value: Any, *, api: str, base: str
) -> Any:
    """The value to store for ``fdef``; raises ValueError with Jira's message if invalid."""
    ftype = fdef.type
    if fdef.id == "parent" or fdef.custom_type == EPIC_LINK_TYPE:
        return _link_target(store, issue, value)
    if fdef.id == "priority":
        return _named([{"id": i, "name": n} for i, n in PRIORITIES], value, "Priority")
    if fdef.id == "issuetype":
        types = [
            store.issue_type_json(t["name"])
            for t in store.issue_types.values()
            if t["subtask"] == issue.is_subtask
        ]
        return _named(types, value, "Issue Type")
    if ftype == "number":
        return _number(value)
    if ftype == "string":
        return _string(fdef, value, api)
    if ftype == "option":
        # Only the enabled options of the context covering this issue are valid.
        return _option(store.options_for(fdef, issue), value)
    if ftype == "datetime":
        return _datetime(value)
    if ftype == "date":
        return _date(value)
    if ftype == "user":
        return _user(store, value, base)
    if ftype == "array" and fdef.schema and fdef.schema.get("items") == "string":
        return _labels(value)
    return value


def _apply_ops(current: Any, ops: Any, fdef: FieldDef) -> Any:
    if not isinstance(ops, list):
        raise _Invalid(f"Could not find a valid operation for field '{fdef.id}'.")
    value = list(current or []) if fdef.type == "array" else current
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            raise _Invalid(f"Could not find a valid operation for field '{fdef.id}'.")
        ((name, arg),) = op.items()
        if name == "set":
            value = arg
        elif name == "add" and fdef.type == "array":
            value = [*value, arg] if arg not in value else value
        elif name == "remove" and fdef.type == "array":
            value = [v for v in value if v != arg]
        else:
            raise _Invalid(f"Operation '{name}' is not supported for field '{fdef.id}'.")
    return value


def plan_edit(
    store: JiraStore, issue: Issue, body: Any, *, api: str, base: str, override_screen: bool = False
) -> Plan:
    """Validate an edit body (``fields`` and ``update``); raise :class:`EditError`."""
    if not isinstance(body, dict):
        raise EditError(messages=["Can not deserialize the edit request: expected an object."])
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise EditError(messages=["Can not deserialize 'fields' or 'update': expected objects."])
    with store.lock:
        editable = store.editable_fields(issue)
        if override_screen:
            editable |= {f.id for f in store.fields.values() if f.editable}
        errors: dict[str, str] = {}
        plan = Plan()
        for fid in [*fields, *(f for f in update if f not in fields)]:
            fdef = store.fields.get(fid)
            if fdef is None or fid not in editable:
                errors[fid] = OFF_SCREEN.format(fid=fid)
                continue
            try:
                raw = (
                    fields[fid]
                    if fid in fields
                    else _apply_ops(_current(store, issue, fid), update[fid], fdef)
                )
                value = convert(store, issue, fdef, raw, api=api, base=base)
            except ValueError as exc:
                errors[fid] = str(exc)
                continue
            if fid == "parent" or fdef.custom_type == EPIC_LINK_TYPE:
                plan.link = value
            else:
                plan.values[fid] = value
        if errors:
            raise EditError(errors=errors)
        return plan


def _current(store: JiraStore, issue: Issue, fid: str) -> Any:
    if fid == "parent":
        return issue.epic
    if fid == store.epic_link_field:
        return issue.epic
    return issue.fields.get(fid)


def apply_plan(store: JiraStore, issue: Issue, plan: Plan) -> None:
    """Store a validated plan and bump ``updated``."""
    with store.lock:
        issue.fields.update(plan.values)
        if plan.link is not _UNSET:
            store.move(issue.key, plan.link)
        else:
            store.touch(issue)
