"""Render stored issues, users and edit metadata as Jira's REST JSON."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from okrsync.sandbox.jira.model import CF, PRIORITIES, FieldDef, Issue, User
from okrsync.sandbox.jira.store import JiraStore
from okrsync.sandbox.jira.values import adf_text

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
NOT_RENDERED = frozenset({"issuekey", "statusCategory"})
AVATAR_SIZES = ("48x48", "24x24", "16x16", "32x32")


@dataclass
class Selection:
    """Which fields to render: ``ids`` in field order, or only the issue id."""

    ids: list[str] = field(default_factory=list)
    id_only: bool = False


def split_list(values: Iterable[str | list[str]] | str | None) -> list[str]:
    """Flatten repeated and comma-separated parameters into one list of items."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        parts = value if isinstance(value, list) else str(value).split(",")
        out.extend(p.strip() for p in parts if str(p).strip())
    return out


def select_fields(store: JiraStore, tokens: list[str], default: str) -> Selection:
    """Interpret a ``fields`` parameter (``*all``, ``*navigable``, ``-field``, ids)."""
    tokens = tokens or [default]
    if tokens == ["id"]:
        return Selection(id_only=True)
    known = [f for f in store.fields.values() if f.id not in NOT_RENDERED]
    excluded = {t[1:] for t in tokens if t.startswith("-")}
    explicit = {t for t in tokens if not t.startswith(("-", "*"))}
    wanted: set[str] = set()
    if "*all" in tokens:
        wanted = {f.id for f in known}
    elif "*navigable" in tokens or (excluded and not explicit):
        wanted = {f.id for f in known if f.navigable}
    by_name = {f.name.lower(): f.id for f in known}
    for token in explicit:
        wanted.add(token if token in store.fields else by_name.get(token.lower(), token))
    wanted -= excluded
    return Selection(ids=[f.id for f in known if f.id in wanted])


def avatar_urls(base: str, ident: str) -> dict[str, str]:
    """Avatar URL set for a user or project."""
    return {size: f"{base}/secure/useravatar?size={size}&ownerId={ident}" for size in AVATAR_SIZES}


def user_json(
    user: User, base: str, flavour: str, *, api: str = "2", full: bool = False
) -> dict[str, Any]:
    """A user as Cloud (``accountId``) or Data Center (``key``/``name``) shows it."""
    if flavour == "cloud":
        out: dict[str, Any] = {
            "self": f"{base}/rest/api/{api}/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "accountType": "atlassian",
            "emailAddress": user.email,
            "avatarUrls": avatar_urls(base, user.account_id),
            "displayName": user.display_name,
            "active": True,
            "timeZone": "UTC",
        }
    else:
        out = {
            "self": f"{base}/rest/api/2/user?username={user.name}",
            "key": user.name,
            "name": user.name,
            "emailAddress": user.email,
            "avatarUrls": avatar_urls(base, user.name),
            "displayName": user.display_name,
            "active": True,
            "timeZone": "UTC",
        }
    if full:
        out.update(
            {
                "locale": "en_US",
                "groups": {"size": 1, "items": []},
                "applicationRoles": {"size": 1, "items": []},
                "expand": "groups,applicationRoles",
            }
        )
    return out


def to_adf(text: str) -> dict[str, Any]:
    """Wrap plain text in an Atlassian Document Format document."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.split("\n")
        if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def rich_text(value: Any, api: str) -> Any:
    """v3 speaks ADF, v2 plain text: convert the stored value for the asking API."""
    if value is None:
        return None
    if api == "3":
        return to_adf(value) if isinstance(value, str) else value
    return adf_text(value) if isinstance(value, dict) else value


def _is_rich(fdef: FieldDef | None) -> bool:
    if fdef is None:
        return False
    return fdef.id == "description" or fdef.custom_type == CF + "textarea"


def issue_link(store: JiraStore, key: str | None, base: str, api: str) -> dict[str, Any] | None:
    """The compact issue object used for ``parent`` and ``subtasks``."""
    other = store.get(key) if key else None
    if other is None:
        return None
    return {
        "id": str(other.id),
        "key": other.key,
        "self": f"{base}/rest/api/{api}/issue/{other.id}",
        "fields": {
            name: copy.deepcopy(other.fields.get(name))
            for name in ("summary", "status", "priority", "issuetype")
        },
    }


def comment_json(issue: Issue, comment: dict[str, Any], base: str, api: str) -> dict[str, Any]:
    """One comment with its ``self`` and body in the API's text format."""
    out = copy.deepcopy(comment)
    out["self"] = f"{base}/rest/api/{api}/issue/{issue.id}/comment/{comment['id']}"
    out["body"] = rich_text(comment.get("body"), api)
    return out


def _field_value(store: JiraStore, issue: Issue, fid: str, base: str, api: str) -> Any:
    if fid == "parent":
        key = issue.parent or (issue.epic if store.flavour == "cloud" else None)
        return issue_link(store, key, base, api)
    if fid == store.epic_link_field:
        return issue.epic if store.flavour == "datacenter" else None
    if fid == "subtasks":
        return [issue_link(store, c.key, base, api) for c in store.children(issue.key)]
    if fid == "comment":
        comments = [comment_json(issue, c, base, api) for c in issue.comments]
        return {
            "comments": comments,
            "self": f"{base}/rest/api/{api}/issue/{issue.id}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }
    value = copy.deepcopy(issue.fields.get(fid))
    if _is_rich(store.fields.get(fid)):
        return rich_text(value, api)
    return value


def render_issue(
    store: JiraStore,
    issue: Issue,
    *,
    base: str,
    api: str,
    selection: Selection,
    expand: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``IssueBean`` JSON of ``issue`` for the asking API version and field selection."""
    with store.lock:
        if selection.id_only:
            return {"id": str(issue.id)}
        out: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{base}/rest/api/{api}/issue/{issue.id}",
            "key": issue.key,
        }
        fields: dict[str, Any] = {}
        for fid in selection.ids:
            fields[fid] = _field_value(store, issue, fid, base, api)
        if "parent" in fields and fields["parent"] is None:
            # Jira leaves ``parent`` out (rather than null) on issues without one.
            del fields["parent"]
        out["fields"] = fields
        wanted = set(expand)
        if "names" in wanted:
            out["names"] = {fid: store.fields[fid].name for fid in fields}
        if "schema" in wanted:
            out["schema"] = {
                fid: store.fields[fid].schema
                for fid in fields
                if store.fields[fid].schema is not None
            }
        if "editmeta" in wanted:
            out["editmeta"] = editmeta(store, issue, base)
        props = [p for p in properties if p in issue.properties]
        if props:
            out["properties"] = {p: copy.deepcopy(issue.properties[p]) for p in props}
        return out


def _operations(fdef: FieldDef) -> list[str]:
    if fdef.type == "array":
        return ["add", "set", "remove"]
    return ["set"]


def editmeta(store: JiraStore, issue: Issue, base: str) -> dict[str, Any]:
    """``IssueUpdateMetadata``: the fields this issue's edit screen offers."""
    with store.lock:
        editable = store.editable_fields(issue)
        out: dict[str, Any] = {}
        for fdef in store.fields.values():
            if fdef.id not in editable:
                continue
            meta: dict[str, Any] = {
                "required": fdef.id in {"summary", "issuetype"},
                "schema": fdef.schema or {"type": "issuelink", "system": fdef.id},
                "name": fdef.name,
                "key": fdef.id,
                "operations": _operations(fdef),
            }
            if fdef.has_options:
                meta["allowedValues"] = [
                    {"self": f"{base}/rest/api/2/customFieldOption/{o['id']}", **o}
                    for o in store.options_for(fdef, issue)
                ]
            elif fdef.id == "priority":
                meta["allowedValues"] = [{"id": pid, "name": name} for pid, name in PRIORITIES]
            elif fdef.id == "issuetype":
                meta["allowedValues"] = [
                    store.issue_type_json(t["name"])
                    for t in store.issue_types.values()
                    if t["subtask"] == issue.is_subtask
                ]
            out[fdef.id] = meta
        return {"fields": out}
