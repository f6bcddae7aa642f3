"""Reference-data endpoints: projects, issue types, and custom field contexts with options.

* ``GET /project`` and ``GET /project/{idOrKey}`` on both flavours: the projects the user
  may browse (what the ``jira`` library's ``projects()`` and ``project()`` read).
* ``GET /issuetype`` and ``GET /issuetype/{id}`` on both flavours (Cloud's
  ``IssueTypeDetails`` with ``hierarchyLevel``; Data Center's bean has no hierarchy level).
* Cloud only, under ``/rest/api/2`` and ``/rest/api/3``: ``GET/POST /field/{id}/context``
  and ``GET/POST/PUT /field/{id}/context/{contextId}/option``, administrators only.
  Jira Data Center 8.x/9.x has no REST endpoint to create select options in core (they are
  added in the administration UI), so its flavour answers these paths with 404; tests
  stand in for the administrator through ``store.add_options``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.model import FieldContext, FieldDef
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, flag, int_param, json_response

FIELD_NOT_FOUND = "The custom field was not found."
CONTEXT_NOT_FOUND = "The custom field context was not found."
NO_OPTIONS = "The custom field doesn't support options."
#: Most options one create request may carry (Atlassian's documented limit).
MAX_OPTIONS_PER_REQUEST = 1000


# --------------------------------------------------------------------------- projects


def _project(ctx: Ctx, record: dict[str, Any], full: bool) -> dict[str, Any]:
    pid = str(record["id"])
    avatar = f"{ctx.base}/secure/projectavatar?pid={pid}&avatarId=10400"
    out: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{ctx.base}/rest/api/{ctx.api_version}/project/{pid}",
        "id": pid,
        "key": str(record["key"]),
        "name": str(record.get("name") or record["key"]),
        "avatarUrls": {
            size: f"{avatar}&size={size}" for size in ("48x48", "24x24", "16x16", "32x32")
        },
        "projectTypeKey": "software",
    }
    if ctx.flavour == "cloud":
        out.update({"simplified": False, "style": "classic", "isPrivate": False, "properties": {}})
    if full:
        with ctx.store.lock:
            types = list(ctx.store.issue_types.values())
        out["description"] = ""
        out["issueTypes"] = [_issue_type(ctx, t) for t in types]
    return out


def _browsable(ctx: Ctx) -> list[dict[str, Any]]:
    with ctx.store.lock:
        records = list(ctx.store.projects.values())
    return [r for r in records if ctx.user.can_browse(str(r["key"]))]


def list_projects(ctx: Ctx) -> Response:
    """``GET /project``: a bare array of the projects the user may browse."""
    return json_response([_project(ctx, r, full=False) for r in _browsable(ctx)])


def get_project(ctx: Ctx, project: str) -> Response:
    """``GET /project/{projectIdOrKey}``: 404 when unknown or not browsable."""
    for record in _browsable(ctx):
        if project in (str(record["id"]), str(record["key"])) or (
            str(record["key"]) == project.upper()
        ):
            return json_response(_project(ctx, record, full=True))
    raise JiraHTTPError(404, [f"No project could be found with key '{project}'."])


# --------------------------------------------------------------------------- issue types


def _issue_type(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    avatar = int(record["avatarId"])
    if ctx.flavour == "cloud":
        icon = (
            f"{ctx.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{avatar}"
            "?size=medium"
        )
    else:
        icon = f"{ctx.base}/secure/viewavatar?size=xsmall&avatarId={avatar}&avatarType=issuetype"
    out: dict[str, Any] = {
        "self": f"{ctx.base}/rest/api/{ctx.api_version}/issuetype/{record['id']}",
        "id": str(record["id"]),
        "description": str(record["description"]),
        "iconUrl": icon,
        "name": str(record["name"]),
        "subtask": bool(record["subtask"]),
        "avatarId": avatar,
    }
    if ctx.flavour == "cloud":
        out["hierarchyLevel"] = int(record["hierarchyLevel"])
    return out


def list_issue_types(ctx: Ctx) -> Response:
    """``GET /issuetype``: a bare array of every issue type."""
    with ctx.store.lock:
        records = list(ctx.store.issue_types.values())
    return json_response([_issue_type(ctx, r) for r in records])


def get_issue_type(ctx: Ctx, type_id: str) -> Response:
    """``GET /issuetype/{id}``: 400 for an id that is not a number, 404 when unknown."""
    if not type_id.isdigit():
        raise JiraHTTPError(400, [f"The issue type ID '{type_id}' is invalid."])
    with ctx.store.lock:
        found = next((r for r in ctx.store.issue_types.values() if r["id"] == type_id), None)
    if found is None:
        raise JiraHTTPError(404, [f"The issue type with id '{type_id}' does not exist."])
    return json_response(_issue_type(ctx, found))


# --------------------------------------------------------------------------- contexts


def _admin(ctx: Ctx, message: str) -> None:
    if not ctx.user.admin:
        raise JiraHTTPError(403, [message])


def _custom_field(ctx: Ctx, field_id: str) -> FieldDef:
    fdef = ctx.store.fields.get(field_id)
    if fdef is None or not fdef.custom:
        raise JiraHTTPError(404, [FIELD_NOT_FOUND])
    return fdef


def _context(ctx: Ctx, fdef: FieldDef, context_id: str) -> FieldContext:
    for context in fdef.contexts:
        if context.id == context_id:
            return context
    raise JiraHTTPError(404, [CONTEXT_NOT_FOUND])


def _page(ctx: Ctx, items: list[dict[str, Any]], default_size: int) -> dict[str, Any]:
    """A ``PageBean``: ``startAt``/``maxResults`` from the query, ``nextPage`` if more."""
    args = ctx.request.args
    start = max(int_param(args.get("startAt"), "startAt", 0), 0)
    size = min(max(int_param(args.get("maxResults"), "maxResults", default_size), 1), 1000)
    values = items[start : start + size]
    last = start + len(values) >= len(items)
    page: dict[str, Any] = {
        "maxResults": size,
        "startAt": start,
        "total": len(items),
        "isLast": last,
        "values": values,
    }
    if not last:
        page["nextPage"] = f"{ctx.request.base_url}?startAt={start + size}&maxResults={size}"
    return page


def list_contexts(ctx: Ctx, field_id: str) -> Response:
    """``GET /field/{fieldId}/context``: a page of contexts, filtered by
    ``isAnyIssueType``, ``isGlobalContext`` and ``contextId``."""
    _admin(ctx, "Only Jira administrators can access custom field contexts.")
    args = ctx.request.args
    with ctx.store.lock:
        contexts = list(_custom_field(ctx, field_id).contexts)
    if args.get("isAnyIssueType") is not None:
        wanted = flag(args.get("isAnyIssueType"))
        contexts = [c for c in contexts if c.any_issue_type == wanted]
    if args.get("isGlobalContext") is not None:
        wanted = flag(args.get("isGlobalContext"))
        contexts = [c for c in contexts if c.is_global == wanted]
    ids = set(args.getlist("contextId"))
    if ids:
        contexts = [c for c in contexts if c.id in ids]
    return json_response(_page(ctx, [c.details() for c in contexts], 50))


def _id_list(body: dict[str, Any], key: str) -> list[str]:
    raw = body.get(key) or []
    if not isinstance(raw, list) or not all(isinstance(i, str | int) for i in raw):
        raise JiraHTTPError(400, errors={key: f"'{key}' must be a list of IDs."})
    return [str(i) for i in raw]


def create_context(ctx: Ctx, field_id: str) -> Response:
    """``POST /field/{fieldId}/context``: 201 with ``CreateCustomFieldContext``."""
    _admin(ctx, "Only Jira administrators can manage custom field contexts.")
    body = ctx.body()
    if not isinstance(body, dict):
        raise JiraHTTPError(400, ["The request body must be a JSON object."])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise JiraHTTPError(400, errors={"name": "The context name must be specified."})
    description = body.get("description") or ""
    projects, types = _id_list(body, "projectIds"), _id_list(body, "issueTypeIds")
    store = ctx.store
    with store.lock:
        fdef = _custom_field(ctx, field_id)
        known_projects = {p["id"] for p in store.projects.values()}
        if any(p not in known_projects for p in projects):
            raise JiraHTTPError(404, ["The project was not found."])
        known_types = {str(t["id"]) for t in store.issue_types.values()}
        if any(t not in known_types for t in types):
            raise JiraHTTPError(404, ["The issue type was not found."])
        try:
            made = store.add_context(fdef.id, name.strip(), str(description), projects, types)
        except ValueError as exc:
            raise JiraHTTPError(400, [str(exc)]) from None
    out: dict[str, Any] = {"id": made.id, "name": made.name}
    if made.description:
        out["description"] = made.description
    out.update({"projectIds": list(made.project_ids), "issueTypeIds": list(made.issue_type_ids)})
    return json_response(out, 201)


# --------------------------------------------------------------------------- options


def _option_json(option: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(option["id"]),
        "value": str(option["value"]),
        "disabled": bool(option.get("disabled", False)),
    }


def _select_context(ctx: Ctx, field_id: str, context_id: str) -> tuple[FieldDef, FieldContext]:
    _admin(ctx, "Only Jira administrators can manage custom field options.")
    fdef = _custom_field(ctx, field_id)
    context = _context(ctx, fdef, context_id)
    if not fdef.has_options:
        raise JiraHTTPError(400, [NO_OPTIONS])
    return fdef, context


def _options_body(ctx: Ctx) -> list[dict[str, Any]]:
    body = ctx.body()
    options = body.get("options") if isinstance(body, dict) else None
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise JiraHTTPError(400, ["The request must contain a list of options."])
    return options


def list_options(ctx: Ctx, field_id: str, context_id: str) -> Response:
    """``GET /field/{fieldId}/context/{contextId}/option``: a page of the context's
    options, in display order (``optionId`` picks one)."""
    with ctx.store.lock:
        _, context = _select_context(ctx, field_id, context_id)
        options = [_option_json(o) for o in context.options]
    wanted = ctx.request.args.get("optionId")
    if wanted:
        options = [o for o in options if o["id"] == wanted]
    return json_response(_page(ctx, options, 100))


def create_options(ctx: Ctx, field_id: str, context_id: str) -> Response:
    """``POST /field/{fieldId}/context/{contextId}/option``: 200 with the new options."""
    options = _options_body(ctx)
    if len(options) > MAX_OPTIONS_PER_REQUEST:
        raise JiraHTTPError(
            400, [f"A request can create at most {MAX_OPTIONS_PER_REQUEST} options."]
        )
    with ctx.store.lock:
        fdef, context = _select_context(ctx, field_id, context_id)
        if any(o.get("optionId") is not None for o in options):
            raise JiraHTTPError(400, ["Only cascading select fields can have cascading options."])
        values = [{"value": o.get("value"), "disabled": flag(o.get("disabled"))} for o in options]
        if any(not isinstance(v["value"], str) for v in values):
            raise JiraHTTPError(400, ["Each option needs a 'value' string."])
        try:
            added = ctx.store.add_options(fdef.id, values, context.id)
        except ValueError as exc:
            raise JiraHTTPError(400, [str(exc)]) from None
    return json_response({"options": [_option_json(o) for o in added]})


def update_options(ctx: Ctx, field_id: str, context_id: str) -> Response:
    """``PUT /field/{fieldId}/context/{contextId}/option``: 200 with the options that
    changed; nothing changes when one option is unknown (404) or a value is invalid."""
    options = _options_body(ctx)
    changes: list[dict[str, Any]] = []
    for option in options:
        change: dict[str, Any] = {"id": str(option.get("id") or "")}
        if "value" in option:
            if not isinstance(option["value"], str):
                raise JiraHTTPError(400, ["An option 'value' must be a string."])
            change["value"] = option["value"]
        if "disabled" in option:
            change["disabled"] = flag(option["disabled"])
        changes.append(change)
    with ctx.store.lock:
        fdef, context = _select_context(ctx, field_id, context_id)
        try:
            changed = ctx.store.update_options(fdef.id, context.id, changes)
        except KeyError:
            raise JiraHTTPError(404, ["The option was not found."]) from None
        except ValueError as exc:
            raise JiraHTTPError(400, [str(exc)]) from None
    return json_response({"options": [_option_json(o) for o in changed]})
