"""Handlers of the Teambition Open API endpoints; each returns the envelope to send.

Shapes follow the models of the generated ``teambition-oapi-sdk`` client, including its
quirk that ``uniqueId`` is a string in the project task query and an integer in the task
query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from okrsync.sandbox.teambition import tql
from okrsync.sandbox.teambition.protocol import ApiError, envelope, page_window, parse_page_size
from okrsync.sandbox.teambition.store import NotFound, TeambitionStore

__all__ = ["VIEWS", "Caller"]

Record = dict[str, Any]
MAX_TASK_IDS = 100


@dataclass(frozen=True)
class Caller:
    """Who is calling: the verified app, the tenant and the optional operator."""

    app_id: str
    org_id: str
    operator_id: str | None


View = Callable[..., Record]


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _bool(request: Request, name: str) -> bool:
    raw = request.args.get(name, "")
    if raw.lower() in ("", "false", "0"):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise ApiError(400, f"{name} must be true or false, got {raw!r}")


def _project(store: TeambitionStore, caller: Caller, project_id: str) -> Record:
    project = store.project(caller.org_id, project_id)
    if project is None:
        raise NotFound(f"project {project_id!r} not found in organization {caller.org_id!r}")
    return project


def _paged(
    request: Request, items: list[Any], scope: Iterable[Any], *, count_name: str = "totalSize"
) -> Record:
    size = parse_page_size(request.args.get("pageSize"))
    start, end, token = page_window(len(items), size, request.args.get("pageToken"), list(scope))
    counts: dict[str, Any] = {count_name: len(items)}
    return envelope(items[start:end], nextPageToken=token, **counts)


def _body(request: Request) -> Record:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def _parse_tql(text: str) -> tql.Query:
    try:
        return tql.parse(text)
    except tql.TqlError as exc:
        raise ApiError(400, str(exc)) from None


# ----- reads --------------------------------------------------------------------------------


def query_projects(store: TeambitionStore, caller: Caller, request: Request) -> Record:
    """``GET /v3/project/query``: projects of the organization."""
    ids, name = _csv(request.args.get("projectIds")), request.args.get("name")
    projects = store.list_projects(caller.org_id, ids, name)
    return _paged(request, projects, ("projects", ids, name))


def project_tasks(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    projectId: str,
) -> Record:
    """``GET /v3/project/{projectId}/task/query``: full tasks matching ``q`` (TQL)."""
    _project(store, caller, projectId)
    text = request.args.get("q", "")
    archived = _bool(request, "includeArchived")
    ids = _search(store, caller, text, project_id=projectId, include_archived=archived)
    size = parse_page_size(request.args.get("pageSize"))
    scope = ["project-tasks", projectId, text, archived]
    start, end, token = page_window(len(ids), size, request.args.get("pageToken"), scope)
    tasks = store.tasks_by_ids(caller.org_id, ids[start:end])
    for task in tasks:
        task["uniqueId"] = str(task["uniqueId"])
    return envelope(tasks, nextPageToken=token, totalSize=len(ids))


def _search(store: TeambitionStore, caller: Caller, text: str, **scope: Any) -> list[str]:
    query = _parse_tql(text)
    try:
        return store.search(caller.org_id, query, operator_id=caller.operator_id, **scope)
    except tql.TqlError as exc:
        raise ApiError(400, str(exc)) from None


def all_task_search(store: TeambitionStore, caller: Caller, request: Request) -> Record:
    """``GET /v2/all-task/search``: ids of the organization's tasks matching ``tql``."""
    text = request.args.get("tql", "")
    ids = _search(store, caller, text)
    return _paged(request, ids, ("all-task", text))


def query_tasks(store: TeambitionStore, caller: Caller, request: Request) -> Record:
    """``GET /v3/task/query`` by ``taskId``, ``shortIds`` (``MOB-12``) or ``parentTaskId``."""
    task_ids, short_ids = _csv(request.args.get("taskId")), _csv(request.args.get("shortIds"))
    parent = request.args.get("parentTaskId", "").strip()
    if len(task_ids) > MAX_TASK_IDS or len(short_ids) > MAX_TASK_IDS:
        raise ApiError(400, f"at most {MAX_TASK_IDS} ids per call")
    if task_ids:
        tasks = store.tasks_by_ids(caller.org_id, task_ids)
    elif short_ids:
        tasks = store.tasks_by_short_ids(caller.org_id, short_ids)
    elif parent:
        tasks = store.subtasks(caller.org_id, parent)
    else:
        raise ApiError(400, "one of taskId, shortIds, parentTaskId is required")
    for task in tasks:
        task["taskId"] = task["id"]
    return envelope(tasks)


def customfield_search(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    projectId: str,
) -> Record:
    """``GET /v3/project/{projectId}/customfield/search``: field definitions; count ``total``."""
    _project(store, caller, projectId)
    ids, text = _csv(request.args.get("cfIds")), request.args.get("q", "").lower()
    fields = [
        f
        for f in store.project_customfields(projectId)
        if (not ids or f["id"] in ids) and text in (f.get("name") or "").lower()
    ]
    return _paged(request, fields, ("customfields", projectId, ids, text), count_name="total")


def _resource_search(kind: str, ids_param: str) -> View:
    def view(
        store: TeambitionStore,
        caller: Caller,
        request: Request,
        projectId: str,
    ) -> Record:
        _project(store, caller, projectId)
        ids, text = _csv(request.args.get(ids_param)), request.args.get("q", "").lower()
        found = [
            r
            for r in store.project_resources(kind, projectId)
            if (not ids or r["id"] in ids) and text in (r.get("name") or "").lower()
        ]
        return _paged(request, found, (kind, projectId, ids, text))

    view.__doc__ = f"``GET /v3/project/{{projectId}}/.../search`` over the project's {kind}."
    return view


def task_activities(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    taskId: str,
) -> Record:
    """``GET /v3/task/{taskId}/activity/list``: what happened to a task (writes, comments)."""
    if store.visible_task(caller.org_id, taskId) is None:
        raise NotFound(f"task {taskId!r} not found")
    actions, excluded = _csv(request.args.get("actions")), _csv(request.args.get("excludeActions"))
    creators = _csv(request.args.get("creatorIds"))
    found = [
        a
        for a in store.list_activities(taskId)
        if (not actions or a["action"] in actions)
        and a["action"] not in excluded
        and (not creators or a["creatorId"] in creators)
    ]
    order = request.args.get("orderBy", "created")
    if order not in ("created", "created_desc", "updated", "updated_desc"):
        raise ApiError(400, "orderBy must be created, created_desc, updated or updated_desc")
    if order.endswith("_desc"):
        found.reverse()
    return _paged(request, found, ("activities", taskId, actions, excluded, creators, order))


# ----- writes -------------------------------------------------------------------------------


def update_customfield(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    taskId: str,
) -> Record:
    """``POST /v3/task/{taskId}/customfield/update``: result ``{updated}``."""
    body = _body(request)
    ref = {
        "cf_id": body.get("customfieldId") or "",
        "name": body.get("customfieldName") or "",
        "alias": body.get("customfieldAlias") or "",
    }
    if not any(ref.values()) and body.get("customfieldInstanceId"):
        raise ApiError(400, "customfieldInstanceId is not supported; send customfieldId")
    if "value" not in body:
        raise ApiError(400, "value is required")
    updated = store.write_customfield(
        caller.org_id,
        taskId,
        ref,
        body["value"],
        operator_id=caller.operator_id,
        activity=not body.get("disableActivity", False),
    )
    return envelope({"updated": updated})


def update_progress(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    taskId: str,
) -> Record:
    """``PUT /v3/task/{taskId}/progress``: result ``{progress, updated}``."""
    body = _body(request)
    result = store.write_progress(
        caller.org_id,
        taskId,
        body.get("progress"),
        operator_id=caller.operator_id,
        activity=not body.get("disableActivity", False),
    )
    return envelope(result)


def update_story_point(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    taskId: str,
) -> Record:
    """``PUT /v3/task/{taskId}/storyPoint``: result ``{storyPoint, updated}``."""
    body = _body(request)
    result = store.write_story_point(
        caller.org_id,
        taskId,
        body.get("storyPoint"),
        operator_id=caller.operator_id,
        activity=not body.get("disableActivity", False),
    )
    return envelope(result)


def comment_task(
    store: TeambitionStore,
    caller: Caller,
    request: Request,
    taskId: str,
) -> Record:
    """``POST /v3/task/{taskId}/comment``: result is the comment."""
    body = _body(request)
    render_mode = body.get("renderMode") or "text"
    if render_mode not in ("text", "markdown"):
        raise ApiError(400, "renderMode must be text or markdown")
    comment = store.add_comment(
        caller.org_id,
        taskId,
        body.get("content"),
        operator_id=caller.operator_id,
        render_mode=render_mode,
    )
    comment.pop("renderMode", None)
    return envelope(comment)


#: (rule, methods, view); rules are under the ``/api`` base path.
VIEWS: list[tuple[str, tuple[str, ...], View]] = [
    ("/v3/project/query", ("GET",), query_projects),
    ("/v3/project/<projectId>/task/query", ("GET",), project_tasks),
    ("/v3/project/<projectId>/customfield/search", ("GET",), customfield_search),
    ("/v3/project/<projectId>/tag/search", ("GET",), _resource_search("tags", "tagIds")),
    ("/v3/project/<projectId>/sprint/search", ("GET",), _resource_search("sprints", "sprintIds")),
    (
        "/v3/project/<projectId>/taskflowstatus/search",
        ("GET",),
        _resource_search("taskflowstatuses", "tfsIds"),
    ),
    ("/v2/all-task/search", ("GET",), all_task_search),
    ("/v3/task/query", ("GET",), query_tasks),
    ("/v3/task/<taskId>/activity/list", ("GET",), task_activities),
    ("/v3/task/<taskId>/customfield/update", ("POST",), update_customfield),
    ("/v3/task/<taskId>/progress", ("PUT",), update_progress),
    ("/v3/task/<taskId>/storyPoint", ("PUT",), update_story_point),
    ("/v3/task/<taskId>/comment", ("POST",), comment_task),
]
