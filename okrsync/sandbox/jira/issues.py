"""Issue endpoints: read, edit, delete, edit metadata, properties and comments."""

from __future__ import annotations

import copy
import json
from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.edit import EditError, apply_plan, plan_edit
from okrsync.sandbox.jira.model import iso_time
from okrsync.sandbox.jira.render import (
    comment_json,
    editmeta,
    render_issue,
    select_fields,
    split_list,
    user_json,
)
from okrsync.sandbox.jira.responses import (
    Ctx,
    JiraHTTPError,
    empty,
    flag,
    int_param,
    json_response,
)

MAX_PROPERTY_CHARS = 32768


def _render(ctx: Ctx, issue: Any) -> dict[str, Any]:
    args = ctx.request.args
    return render_issue(
        ctx.store,
        issue,
        base=ctx.base,
        api=ctx.api_version,
        selection=select_fields(ctx.store, split_list(args.getlist("fields")), "*all"),
        expand=split_list(args.getlist("expand")),
        properties=split_list(args.getlist("properties")),
    )


def get_issue(ctx: Ctx, key: str) -> Response:
    """``GET /issue/{idOrKey}``: all fields unless ``fields`` says otherwise."""
    return json_response(_render(ctx, ctx.issue(key)))


def put_issue(ctx: Ctx, key: str) -> Response:
    """``PUT /issue/{idOrKey}``: 204, or 200 with the issue when ``returnIssue=true``."""
    issue = ctx.issue(key)
    ctx.require_write()
    args = ctx.request.args
    override = flag(args.get("overrideScreenSecurity")) or flag(args.get("overrideEditableFlag"))
    if override and not ctx.user.admin:
        raise JiraHTTPError(
            403,
            [
                "Only connect app users with admin permissions can use "
                "overrideScreenSecurity or overrideEditableFlag."
            ],
        )
    body = ctx.body()
    try:
        with ctx.store.lock:
            plan = plan_edit(
                ctx.store, issue, body, api=ctx.api_version, base=ctx.base, override_screen=override
            )
            apply_plan(ctx.store, issue, plan)
    except EditError as exc:
        raise JiraHTTPError(400, body=exc.body()) from None
    if flag(args.get("returnIssue")):
        return json_response(_render(ctx, issue))
    return empty(204)


def delete_issue(ctx: Ctx, key: str) -> Response:
    """``DELETE /issue/{idOrKey}`` (``deleteSubtasks=true`` needed for parents)."""
    issue = ctx.issue(key)
    ctx.require_write()
    if ctx.store.children(issue.key) and not flag(ctx.request.args.get("deleteSubtasks")):
        raise JiraHTTPError(
            400, ["The issue has subtasks and cannot be deleted unless deleteSubtasks is true."]
        )
    ctx.store.delete_issue(issue.key)
    return empty(204)


def get_editmeta(ctx: Ctx, key: str) -> Response:
    """``GET /issue/{idOrKey}/editmeta``."""
    issue = ctx.issue(key)
    if ctx.user.read_only:
        return json_response({"fields": {}})
    return json_response(editmeta(ctx.store, issue, ctx.base))


def list_properties(ctx: Ctx, key: str) -> Response:
    """``GET /issue/{idOrKey}/properties``."""
    issue = ctx.issue(key)
    base = f"{ctx.base}/rest/api/{ctx.api_version}/issue/{issue.id}/properties"
    keys = [{"self": f"{base}/{name}", "key": name} for name in sorted(issue.properties)]
    return json_response({"keys": keys})


def get_property(ctx: Ctx, key: str, prop: str) -> Response:
    """``GET /issue/{idOrKey}/properties/{propertyKey}``."""
    issue = ctx.issue(key)
    if prop not in issue.properties:
        raise JiraHTTPError(404, [f"The property with key '{prop}' does not exist."])
    return json_response({"key": prop, "value": copy.deepcopy(issue.properties[prop])})


def put_property(ctx: Ctx, key: str, prop: str) -> Response:
    """``PUT /issue/{idOrKey}/properties/{propertyKey}``: 201 created, 200 updated."""
    issue = ctx.issue(key)
    ctx.require_write()
    raw = ctx.request.get_data(as_text=True)
    if not raw.strip():
        raise JiraHTTPError(400, ["The property value cannot be empty."])
    if len(raw) > MAX_PROPERTY_CHARS:
        raise JiraHTTPError(
            400,
            [f"The property value exceeds the maximum size of {MAX_PROPERTY_CHARS} characters."],
        )
    if len(prop) > 255:
        raise JiraHTTPError(400, ["The property key cannot be longer than 255 characters."])
    try:
        value = json.loads(raw)
    except ValueError:
        raise JiraHTTPError(400, ["The property value must be valid JSON."]) from None
    with ctx.store.lock:
        created = prop not in issue.properties
        issue.properties[prop] = value
        ctx.store.version += 1  # properties are searchable
    return empty(201 if created else 200)


def delete_property(ctx: Ctx, key: str, prop: str) -> Response:
    """``DELETE /issue/{idOrKey}/properties/{propertyKey}``: 204."""
    issue = ctx.issue(key)
    ctx.require_write()
    with ctx.store.lock:
        if prop not in issue.properties:
            raise JiraHTTPError(404, [f"The property with key '{prop}' does not exist."])
        del issue.properties[prop]
        ctx.store.version += 1
    return empty(204)


def list_comments(ctx: Ctx, key: str) -> Response:
    """``GET /issue/{idOrKey}/comment``: a page of comments, oldest first."""
    issue = ctx.issue(key)
    args = ctx.request.args
    start = max(int_param(args.get("startAt"), "startAt", 0), 0)
    size = max(int_param(args.get("maxResults"), "maxResults", 100), 0)
    comments = [comment_json(issue, c, ctx.base, ctx.api_version) for c in issue.comments]
    if args.get("orderBy") == "-created":
        comments.reverse()
    return json_response(
        {
            "startAt": start,
            "maxResults": size,
            "total": len(comments),
            "comments": comments[start : start + size],
        }
    )


def add_comment(ctx: Ctx, key: str) -> Response:
    """``POST /issue/{idOrKey}/comment``: 201 with the comment."""
    issue = ctx.issue(key)
    ctx.require_write()
    body = ctx.body()
    text = body.get("body") if isinstance(body, dict) else None
    valid = (
        (isinstance(text, dict) and text.get("type") == "doc")
        if ctx.api == "3"
        else (isinstance(text, str) and text.strip())
    )
    if not valid:
        expected = "an Atlassian Document" if ctx.api == "3" else "a non-empty string"
        raise JiraHTTPError(400, errors={"comment": f"Comment body must be {expected}."})
    store = ctx.store
    with store.lock:
        # The spec declares comment times as RFC 3339 date-times.
        now = iso_time(store.clock())
        author = user_json(ctx.user, ctx.base, store.flavour, api=ctx.api_version)
        comment = {
            "id": store.next_comment_id(),
            "author": author,
            "body": text,
            "updateAuthor": author,
            "created": now,
            "updated": now,
            "jsdPublic": True,
        }
        issue.comments.append(comment)
        store.touch(issue)
    return json_response(comment_json(issue, comment, ctx.base, ctx.api_version), 201)
