"""Dashboards and gadgets of the Jira sandbox (Cloud only: Data Center's REST API cannot
create a dashboard), and the routes of its filters and dashboards.

Gadgets keep their settings as dashboard item properties. The stored objects and the
share permissions live in ``filters.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.filters import (
    Boards,
    Dashboard,
    Gadget,
    add_permission,
    boards,
    create_filter,
    delete_filter,
    get_columns,
    get_filter,
    json_body,
    list_permissions,
    set_columns,
    share_out,
    shares_in,
    update_filter,
    visible,
)
from okrsync.sandbox.jira.model import User
from okrsync.sandbox.jira.render import user_json
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, empty, json_response

__all__ = ["ROUTES", "Boards", "boards"]

DASHBOARD_GONE = (
    "The dashboard you requested either does not exist or you don't have the required "
    "permissions to perform this action."
)
MAX_GADGETS = 20


# --------------------------------------------------------------------------- dashboards


def _owner_bean(ctx: Ctx, user: User) -> dict[str, Any]:
    full = user_json(user, ctx.base, ctx.flavour, api=ctx.api_version)
    return {k: full[k] for k in ("self", "accountId", "displayName", "active", "avatarUrls")}


def _dashboard_json(ctx: Ctx, found: Dashboard) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(found.id),
        "isFavourite": False,
        "name": found.name,
        "owner": _owner_bean(ctx, found.owner),
        "popularity": 0,
        "self": f"{ctx.base}/rest/api/{ctx.api_version}/dashboard/{found.id}",
        "sharePermissions": [
            share_out(ctx, share, found.id * 10 + i) for i, share in enumerate(found.shares)
        ],
        "editPermissions": [],
        "isWritable": found.owner.account_id == ctx.user.account_id,
        "systemDashboard": False,
        "view": f"{ctx.base}/jira/dashboards/{found.id}",
    }
    if found.description:
        out["description"] = found.description
    return out


def _dashboard(ctx: Ctx, dashboard_id: str) -> Dashboard:
    found = boards(ctx.store).dashboards.get(int(dashboard_id)) if dashboard_id.isdigit() else None
    if found is None or not visible(ctx, found.owner, found.shares):
        raise JiraHTTPError(404, [DASHBOARD_GONE])
    return found


def _owned_dashboard(ctx: Ctx, dashboard_id: str) -> Dashboard:
    found = _dashboard(ctx, dashboard_id)
    if found.owner.account_id != ctx.user.account_id:
        raise JiraHTTPError(404, [DASHBOARD_GONE])
    return found


def create_dashboard(ctx: Ctx) -> Response:
    """``POST /dashboard`` (Cloud): ``name``, ``sharePermissions`` and ``editPermissions``
    are required -> 200 with the dashboard."""
    ctx.require_write()
    body = json_body(ctx)
    missing = [k for k in ("name", "sharePermissions", "editPermissions") if k not in body]
    if missing:
        raise JiraHTTPError(400, errors={k: f"The '{k}' is required." for k in missing})
    name = body["name"]
    if not isinstance(name, str) or not name.strip():
        raise JiraHTTPError(400, errors={"name": "The dashboard name must not be empty."})
    with ctx.store.lock:
        found = Dashboard(
            boards(ctx.store).new_id("dashboard"),
            name.strip(),
            ctx.user,
            description=str(body.get("description") or ""),
            shares=shares_in(ctx, body["sharePermissions"]),
        )
        boards(ctx.store).dashboards[found.id] = found
        return json_response(_dashboard_json(ctx, found))


def get_dashboard(ctx: Ctx, dashboard_id: str) -> Response:
    """``GET /dashboard/{id}`` (Cloud)."""
    with ctx.store.lock:
        return json_response(_dashboard_json(ctx, _dashboard(ctx, dashboard_id)))


def delete_dashboard(ctx: Ctx, dashboard_id: str) -> Response:
    """``DELETE /dashboard/{id}`` (Cloud, the owner) -> 204."""
    ctx.require_write()
    with ctx.store.lock:
        found = _owned_dashboard(ctx, dashboard_id)
        del boards(ctx.store).dashboards[found.id]
    return empty(204)


def _gadget_json(gadget: Gadget) -> dict[str, Any]:
    return {
        "id": gadget.id,
        "moduleKey": gadget.module_key,
        "color": gadget.color,
        "position": {"row": gadget.row, "column": gadget.column},
        "title": gadget.title,
    }


def list_gadgets(ctx: Ctx, dashboard_id: str) -> Response:
    """``GET /dashboard/{id}/gadget`` (Cloud), optionally only some ``gadgetId``s or
    ``moduleKey``s."""
    ids = {int(i) for i in ctx.request.args.getlist("gadgetId") if i.isdigit()}
    keys = set(ctx.request.args.getlist("moduleKey"))
    with ctx.store.lock:
        found = _dashboard(ctx, dashboard_id)
        gadgets = [
            _gadget_json(g)
            for g in found.gadgets.values()
            if (not ids or g.id in ids) and (not keys or g.module_key in keys)
        ]
    return json_response({"gadgets": gadgets})


COLORS = ("blue", "red", "yellow", "green", "cyan", "purple", "gray", "white")


def add_gadget(ctx: Ctx, dashboard_id: str) -> Response:
    """``POST /dashboard/{id}/gadget`` (Cloud): ``moduleKey`` (or ``uri``), ``title``,
    ``color``, ``position`` -> 200 with the gadget."""
    ctx.require_write()
    body = json_body(ctx)
    key = body.get("moduleKey") or body.get("uri")
    if not isinstance(key, str) or not key:
        raise JiraHTTPError(400, ["Either moduleKey or uri must be provided."])
    color = body.get("color") or "blue"
    if color not in COLORS:
        raise JiraHTTPError(400, [f"The color '{color}' is not valid."])
    position = body.get("position") or {}
    with ctx.store.lock:
        found = _owned_dashboard(ctx, dashboard_id)
        if len(found.gadgets) >= MAX_GADGETS:
            raise JiraHTTPError(
                400,
                [
                    "Cannot add another gadget. The maximum number of gadgets the dashboard "
                    "can hold has been reached."
                ],
            )
        gadget = Gadget(
            boards(ctx.store).new_id("gadget"),
            key,
            str(body.get("title") or ""),
            str(color),
            int(position.get("row", len(found.gadgets))),
            int(position.get("column", 0)),
        )
        found.gadgets[gadget.id] = gadget
        return json_response(_gadget_json(gadget))


def _gadget(ctx: Ctx, dashboard_id: str, item_id: str) -> Gadget:
    found = _dashboard(ctx, dashboard_id)
    gadget = found.gadgets.get(int(item_id)) if item_id.isdigit() else None
    if gadget is None:
        raise JiraHTTPError(404, [f"The dashboard item with id '{item_id}' does not exist."])
    return gadget


def get_item_property(ctx: Ctx, dashboard_id: str, item_id: str, key: str) -> Response:
    """``GET /dashboard/{id}/items/{itemId}/properties/{key}`` (Cloud)."""
    with ctx.store.lock:
        gadget = _gadget(ctx, dashboard_id, item_id)
        if key not in gadget.properties:
            raise JiraHTTPError(404, [f"The property with key '{key}' does not exist."])
        return json_response({"key": key, "value": gadget.properties[key]})


def put_item_property(ctx: Ctx, dashboard_id: str, item_id: str, key: str) -> Response:
    """``PUT /dashboard/{id}/items/{itemId}/properties/{key}`` (Cloud): 201 created, 200
    replaced (the dashboard's owner)."""
    ctx.require_write()
    value = ctx.body()
    if value is None:
        raise JiraHTTPError(400, ["The property value must be a non-empty JSON value."])
    with ctx.store.lock:
        _owned_dashboard(ctx, dashboard_id)
        gadget = _gadget(ctx, dashboard_id, item_id)
        status = 200 if key in gadget.properties else 201
        gadget.properties[key] = value
    return Response(b"", status=status)


_FILTER = "/rest/api/<api>/filter/<filter_id>"
_DASHBOARD = "/rest/api/<api>/dashboard/<dashboard_id>"
_CLOUD = frozenset({"cloud"})
_DATACENTER = frozenset({"datacenter"})
ROUTES: list[tuple[str, str, Callable[..., Response], frozenset[str] | None]] = [
    ("/rest/api/<api>/filter", "POST", create_filter, None),
    (_FILTER, "GET", get_filter, None),
    (_FILTER, "PUT", update_filter, None),
    (_FILTER, "DELETE", delete_filter, None),
    (_FILTER + "/columns", "GET", get_columns, None),
    (_FILTER + "/columns", "PUT", set_columns, None),
    (_FILTER + "/permission", "GET", list_permissions, _DATACENTER),
    (_FILTER + "/permission", "POST", add_permission, _DATACENTER),
    ("/rest/api/<api>/dashboard", "POST", create_dashboard, _CLOUD),
    (_DASHBOARD, "GET", get_dashboard, _CLOUD),
    (_DASHBOARD, "DELETE", delete_dashboard, _CLOUD),
    (_DASHBOARD + "/gadget", "GET", list_gadgets, _CLOUD),
    (_DASHBOARD + "/gadget", "POST", add_gadget, _CLOUD),
    (_DASHBOARD + "/items/<item_id>/properties/<key>", "GET", get_item_property, _CLOUD),
    (_DASHBOARD + "/items/<item_id>/properties/<key>", "PUT", put_item_property, _CLOUD),
]
