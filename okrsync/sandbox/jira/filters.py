"""Saved filters of the Jira sandbox, and the share permissions filters and dashboards
use (``dashboards.py`` serves the dashboards; its ``ROUTES`` register both).

Both flavours serve filters (``/filter``, ``/filter/{id}``, ``/filter/{id}/columns``);
Data Center adds ``/filter/{id}/permission`` (its way to share a filter). As real Jira
does, a filter that does not exist (or that the user may not see) answers 400, not 404.
Filter names are unique per owner. A filter or dashboard is visible to its owner and to
whoever one of its share permissions admits (a group share: everyone, the sandbox has no
group membership; a project share: who may browse that project).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.model import User
from okrsync.sandbox.jira.render import user_json
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, empty, json_response
from okrsync.sandbox.jira.store import JiraStore

FILTER_GONE = (
    "The selected filter is not available to you, perhaps it has been deleted or had its "
    "permissions changed."
)
DEFAULT_COLUMNS = ("issuetype", "issuekey", "summary", "status")


@dataclass
class Filter:
    id: int
    name: str
    jql: str
    owner: User
    description: str = ""
    shares: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    favourite: bool = False


@dataclass
class Gadget:
    id: int
    module_key: str
    title: str
    color: str
    row: int
    column: int
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dashboard:
    id: int
    name: str
    owner: User
    description: str = ""
    shares: list[dict[str, Any]] = field(default_factory=list)
    gadgets: dict[int, Gadget] = field(default_factory=dict)


@dataclass
class Boards:
    """The filters and dashboards of one sandbox store."""

    filters: dict[int, Filter] = field(default_factory=dict)
    dashboards: dict[int, Dashboard] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)

    def new_id(self, kind: str) -> int:
        start = {"filter": 10000, "dashboard": 10100, "gadget": 10200, "share": 10300}[kind]
        value = self.next_id.get(kind, start)
        self.next_id[kind] = value + 1
        return value


_BOARDS: weakref.WeakKeyDictionary[JiraStore, Boards] = weakref.WeakKeyDictionary()


def boards(store: JiraStore) -> Boards:
    """The filters and dashboards of ``store`` (tests look at them here)."""
    with store.lock:
        return _BOARDS.setdefault(store, Boards())


# --------------------------------------------------------------------------- sharing


def _project_record(ctx: Ctx, id_or_key: Any) -> dict[str, Any] | None:
    text = str(id_or_key or "")
    for record in ctx.store.projects.values():
        if text in (str(record["id"]), str(record["key"])):
            return record
    return None


def _share_in(ctx: Ctx, raw: Any) -> dict[str, Any]:
    """A share permission as stored: ``{"type": "group", "group": NAME}`` or
    ``{"type": "project", "project": KEY}``; 400 for what the sandbox does not share with."""
    if not isinstance(raw, dict):
        raise JiraHTTPError(400, ["A share permission must be a JSON object."])
    kind = raw.get("type")
    if kind == "group":
        group = raw.get("group")
        name = group.get("name") if isinstance(group, dict) else raw.get("groupname")
        if not isinstance(name, str) or not name:
            raise JiraHTTPError(400, ["A group share permission needs the group's name."])
        return {"type": "group", "group": name}
    if kind == "project":
        project = raw.get("project")
        ref = project.get("id") if isinstance(project, dict) else raw.get("projectId")
        record = _project_record(ctx, ref)
        if record is None:
            raise JiraHTTPError(400, [f"The project '{ref}' does not exist."])
        return {"type": "project", "project": str(record["key"])}
    if kind in ("global", "loggedin", "authenticated"):
        raise JiraHTTPError(
            400, [f"Sharing with '{kind}' is turned off on this site; share with a group."]
        )
    raise JiraHTTPError(400, [f"The share permission type '{kind}' is not valid."])


def shares_in(ctx: Ctx, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise JiraHTTPError(400, ["sharePermissions must be a list."])
    return [_share_in(ctx, item) for item in raw]


def share_out(ctx: Ctx, share: dict[str, Any], share_id: int) -> dict[str, Any]:
    if share["type"] == "group":
        name = share["group"]
        return {
            "id": share_id,
            "type": "group",
            "group": {
                "name": name,
                "self": f"{ctx.base}/rest/api/{ctx.api_version}/group?groupname={quote(name)}",
            },
        }
    record = _project_record(ctx, share["project"]) or {"id": "0", "key": share["project"]}
    return {
        "id": share_id,
        "type": "project",
        "project": {
            "self": f"{ctx.base}/rest/api/{ctx.api_version}/project/{record['id']}",
            "id": str(record["id"]),
            "key": str(record["key"]),
            "name": str(record.get("name", record["key"])),
        },
    }


def visible(ctx: Ctx, owner: User, shares: list[dict[str, Any]]) -> bool:
    if owner.account_id == ctx.user.account_id:
        return True
    return any(
        share["type"] == "group" or ctx.user.can_browse(share["project"]) for share in shares
    )


# --------------------------------------------------------------------------- filters


def _filter_json(ctx: Ctx, found: Filter) -> dict[str, Any]:
    api = ctx.api_version
    out: dict[str, Any] = {
        "self": f"{ctx.base}/rest/api/{api}/filter/{found.id}",
        "id": str(found.id),
        "name": found.name,
        "owner": user_json(found.owner, ctx.base, ctx.flavour, api=api),
        "jql": found.jql,
        "viewUrl": f"{ctx.base}/issues/?filter={found.id}",
        "searchUrl": f"{ctx.base}/rest/api/{api}/search?jql={quote(found.jql)}",
        "favourite": found.favourite,
        "favouritedCount": 1 if found.favourite else 0,
        "sharePermissions": [
            share_out(ctx, share, found.id * 10 + i) for i, share in enumerate(found.shares)
        ],
        "editPermissions": [],
    }
    if found.description:
        out["description"] = found.description
    return out


def _filter(ctx: Ctx, filter_id: str) -> Filter:
    """The filter, or real Jira's 400 when it is missing or invisible to the user."""
    found = boards(ctx.store).filters.get(int(filter_id)) if filter_id.isdigit() else None
    if found is None or not visible(ctx, found.owner, found.shares):
        raise JiraHTTPError(400, [FILTER_GONE])
    return found


def _owned_filter(ctx: Ctx, filter_id: str) -> Filter:
    found = _filter(ctx, filter_id)
    if found.owner.account_id != ctx.user.account_id:
        raise JiraHTTPError(400, ["Only the owner of a filter may change it."])
    return found


def json_body(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    if not isinstance(body, dict):
        raise JiraHTTPError(400, ["The request body must be a JSON object."])
    return body


def _check_name(ctx: Ctx, name: Any, *, other_than: int | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise JiraHTTPError(400, errors={"filterName": "You must specify a name for the filter."})
    for existing in boards(ctx.store).filters.values():
        if (
            existing.id != other_than
            and existing.owner.account_id == ctx.user.account_id
            and existing.name.lower() == name.strip().lower()
        ):
            raise JiraHTTPError(400, errors={"filterName": "Filter with same name already exists."})
    return name.strip()


def create_filter(ctx: Ctx) -> Response:
    """``POST /filter`` -> 200 with the filter (shared as its ``sharePermissions`` say)."""
    ctx.require_write()
    body = json_body(ctx)
    with ctx.store.lock:
        name = _check_name(ctx, body.get("name"))
        jql = body.get("jql")
        if not isinstance(jql, str):
            jql = ""
        found = Filter(
            boards(ctx.store).new_id("filter"),
            name,
            jql,
            ctx.user,
            description=str(body.get("description") or ""),
            shares=shares_in(ctx, body.get("sharePermissions")),
            favourite=bool(body.get("favourite", False)),
        )
        boards(ctx.store).filters[found.id] = found
        return json_response(_filter_json(ctx, found))


def get_filter(ctx: Ctx, filter_id: str) -> Response:
    """``GET /filter/{id}``."""
    with ctx.store.lock:
        return json_response(_filter_json(ctx, _filter(ctx, filter_id)))


def update_filter(ctx: Ctx, filter_id: str) -> Response:
    """``PUT /filter/{id}``: name, description, JQL, sharing (the owner only)."""
    ctx.require_write()
    body = json_body(ctx)
    with ctx.store.lock:
        found = _owned_filter(ctx, filter_id)
        if "name" in body:
            found.name = _check_name(ctx, body["name"], other_than=found.id)
        if isinstance(body.get("jql"), str):
            found.jql = body["jql"]
        if "description" in body:
            found.description = str(body["description"] or "")
        if "sharePermissions" in body:
            found.shares = shares_in(ctx, body["sharePermissions"])
        return json_response(_filter_json(ctx, found))


def delete_filter(ctx: Ctx, filter_id: str) -> Response:
    """``DELETE /filter/{id}`` -> 204 (the owner only)."""
    ctx.require_write()
    with ctx.store.lock:
        found = _owned_filter(ctx, filter_id)
        del boards(ctx.store).filters[found.id]
    return empty(204)


def _field_names(ctx: Ctx) -> dict[str, str]:
    names = {"issuekey": "Key"}
    for fdef in ctx.store.fields.values():
        details = fdef.details()
        names[str(details["id"])] = str(details["name"])
    return names


def get_columns(ctx: Ctx, filter_id: str) -> Response:
    """``GET /filter/{id}/columns``: the filter's columns, else the default ones."""
    with ctx.store.lock:
        found = _filter(ctx, filter_id)
        names = _field_names(ctx)
        columns = found.columns or list(DEFAULT_COLUMNS)
        return json_response([{"label": names.get(c, c), "value": c} for c in columns])


def set_columns(ctx: Ctx, filter_id: str) -> Response:
    """``PUT /filter/{id}/columns`` with form data ``columns=ID`` (repeated), or a JSON
    body ``{"columns": [...]}``: only navigable fields; 200 without a body."""
    ctx.require_write()
    if ctx.request.mimetype == "application/json":
        body = ctx.body()
        columns = body.get("columns") if isinstance(body, dict) else None
    else:
        columns = ctx.request.form.getlist("columns")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise JiraHTTPError(400, ["Give the columns as form data: columns=<field id>."])
    with ctx.store.lock:
        found = _filter(ctx, filter_id)
        known = _field_names(ctx)
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise JiraHTTPError(400, [f"Not a navigable field: {', '.join(unknown)}."])
        found.columns = list(columns)
    return Response(b"", status=200)


def add_permission(ctx: Ctx, filter_id: str) -> Response:
    """``POST /filter/{id}/permission`` (Data Center) -> 201 with every share permission."""
    ctx.require_write()
    body = json_body(ctx)
    with ctx.store.lock:
        found = _owned_filter(ctx, filter_id)
        share = _share_in(ctx, body)
        if share not in found.shares:
            found.shares.append(share)
        shares = [share_out(ctx, s, found.id * 10 + i) for i, s in enumerate(found.shares)]
    return json_response(shares, 201)


def list_permissions(ctx: Ctx, filter_id: str) -> Response:
    """``GET /filter/{id}/permission`` (Data Center)."""
    with ctx.store.lock:
        found = _filter(ctx, filter_id)
        shares = [share_out(ctx, s, found.id * 10 + i) for i, s in enumerate(found.shares)]
    return json_response(shares)
