"""Cloud bulk field edit: ``POST /rest/api/3/bulk/issues/fields`` and its task queue."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.edit import EditError, apply_plan, plan_edit
from okrsync.sandbox.jira.model import iso_time
from okrsync.sandbox.jira.render import user_json
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, json_response

MAX_ISSUES = 1000
MAX_FIELDS = 200


def _fail(status: int, message: str) -> JiraHTTPError:
    return JiraHTTPError(status, body={"errors": [{"message": message}]})


def _field_inputs(edited: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Map field id -> (kind, input) from ``editedFieldsInput``."""
    simple = {
        "clearableNumberFields": lambda f: f.get("value"),
        "singleLineTextFields": lambda f: f.get("text"),
        "singleSelectFields": lambda f: (
            None
            if (f.get("option") or {}).get("optionId") is None
            else {"id": str(f["option"]["optionId"])}
        ),
        "dateTimePickerFields": lambda f: (
            (f.get("dateTime") or {}).get("formattedDateTime") or None
        ),
        "datePickerFields": lambda f: (f.get("date") or {}).get("formattedDate") or None,
        "richTextFields": lambda f: (f.get("richText") or {}).get("adfValue"),
        "urlFields": lambda f: f.get("url"),
    }
    out: dict[str, tuple[str, Any]] = {}
    for group, read in simple.items():
        for item in edited.get(group) or []:
            if not isinstance(item, dict) or "fieldId" not in item:
                raise _fail(400, f"Each entry of '{group}' needs a fieldId.")
            out[str(item["fieldId"])] = ("set", read(item))
    for item in edited.get("labelsFields") or []:
        names = [str(label.get("name")) for label in item.get("labels") or []]
        out[str(item["fieldId"])] = (str(item.get("bulkEditMultiSelectFieldOption", "ADD")), names)
    priority = edited.get("priority")
    if isinstance(priority, dict) and priority.get("priorityId") is not None:
        out["priority"] = ("set", {"id": str(priority["priorityId"])})
    return out


def _labels(current: list[str], option: str, names: list[str]) -> list[str]:
    if option == "REPLACE":
        return names
    if option == "REMOVE_ALL":
        return []
    if option == "REMOVE":
        return [c for c in current if c not in names]
    return [*current, *(n for n in names if n not in current)]


def submit(ctx: Ctx) -> Response:
    """Apply the edit to every selected issue and queue a task that reports the result."""
    if ctx.user.read_only:
        raise _fail(403, "You do not have the bulk change global permission.")
    body = ctx.body()
    if not isinstance(body, dict):
        raise _fail(400, "The request body must be a JSON object.")
    selected = body.get("selectedIssueIdsOrKeys")
    actions = body.get("selectedActions")
    edited = body.get("editedFieldsInput")
    if not isinstance(selected, list) or not selected:
        raise _fail(400, "selectedIssueIdsOrKeys must list at least one issue.")
    if len(selected) > MAX_ISSUES:
        raise _fail(400, f"A bulk edit can change at most {MAX_ISSUES} issues.")
    if not isinstance(actions, list) or not actions or len(actions) > MAX_FIELDS:
        raise _fail(400, f"selectedActions must list between 1 and {MAX_FIELDS} fields.")
    if not isinstance(edited, dict):
        raise _fail(400, "editedFieldsInput is required.")
    inputs = _field_inputs(edited)
    missing = [a for a in actions if a not in inputs]
    if missing:
        raise _fail(400, f"No input given in editedFieldsInput for {', '.join(missing)}.")

    store = ctx.store
    processed: list[int] = []
    failed: dict[str, list[str]] = {}
    invalid = 0
    with store.lock:
        now = iso_time(store.clock())
        for ident in selected:
            issue = store.get(str(ident))
            if issue is None or not ctx.user.can_browse(issue.project):
                invalid += 1
                continue
            fields: dict[str, Any] = {}
            for fid in actions:
                kind, value = inputs[fid]
                if kind != "set":
                    value = _labels(list(issue.fields.get(fid) or []), kind, value)
                fields[fid] = value
            try:
                plan = plan_edit(store, issue, {"fields": fields}, api="3", base=ctx.base)
            except EditError as exc:
                failed[str(issue.id)] = list(exc.errors.values()) + exc.messages
                continue
            apply_plan(store, issue, plan)
            processed.append(issue.id)
        task_id = str(uuid.uuid4())
        store.bulk_tasks[task_id] = {
            "taskId": task_id,
            "created": now,
            "started": now,
            "updated": now,
            "submittedBy": user_json(ctx.user, ctx.base, store.flavour, api="3"),
            "totalIssueCount": len(selected),
            "processedAccessibleIssues": processed,
            "failedAccessibleIssues": failed,
            "invalidOrInaccessibleIssueCount": invalid,
            "polls": 0,
        }
    return json_response({"taskId": task_id}, 201)


def progress(ctx: Ctx, task_id: str) -> Response:
    """``GET /rest/api/3/bulk/queue/{taskId}``: RUNNING for the first polls, then COMPLETE."""
    store = ctx.store
    with store.lock:
        task = store.bulk_tasks.get(task_id)
        if task is None:
            raise _fail(404, f"No bulk operation task with id '{task_id}'.")
        running = task["polls"] < store.bulk_running_polls
        task["polls"] += 1
        out = {k: v for k, v in task.items() if k != "polls"}
    out["status"] = "RUNNING" if running else "COMPLETE"
    out["progressPercent"] = 50 if running else 100
    if running:
        out["processedAccessibleIssues"] = []
        out["failedAccessibleIssues"] = {}
    return json_response(out)
