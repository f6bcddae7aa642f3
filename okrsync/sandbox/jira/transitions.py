"""Issue transitions: the only way Jira's REST API changes an issue's status.

Every project uses Jira's simplified workflow: each status has one global transition into
it, named after the status, offered from every other status. Ids follow Jira Cloud's
defaults for a new site (To Do 11, In Progress 21, Done 31); statuses beyond those get
41, 51, ... in the order the sandbox knows them.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.model import Issue, StatusDef
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, empty, json_response
from okrsync.sandbox.jira.store import JiraStore

#: Statuses a new Jira Cloud site creates, in the order that gives their transition ids.
_FIRST = ("to do", "in progress", "done")


def workflow(store: JiraStore) -> list[tuple[str, StatusDef]]:
    """Every global transition as ``(id, target status)``, in id order."""
    with store.lock:
        named = [store.statuses[name] for name in _FIRST if name in store.statuses]
        rest = [s for s in store.statuses.values() if s not in named]
    return [(str(11 + 10 * n), status) for n, status in enumerate([*named, *rest])]


def available(store: JiraStore, issue: Issue) -> list[tuple[str, StatusDef]]:
    """Transitions the issue can take now: into any status but its current one."""
    current = str((issue.fields.get("status") or {}).get("name", "")).lower()
    return [(tid, status) for tid, status in workflow(store) if status.name.lower() != current]


def _transition_json(ctx: Ctx, tid: str, status: StatusDef, fields: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": tid,
        "name": status.name,
        "to": ctx.store.status_json(status.name),
        "hasScreen": False,
        "isGlobal": True,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if fields:
        out["fields"] = {}  # no transition has a screen, so none asks for fields
    return out


def get_transitions(ctx: Ctx, key: str) -> Response:
    """``GET /issue/{idOrKey}/transitions``: what the user can do from the current status.

    ``transitionId`` narrows the list to one (empty when it is not available); a user who
    may not change issues sees no transitions, as in Jira without *Transition issues*.
    """
    issue = ctx.issue(key)
    args = ctx.request.args
    expand = {e.strip() for e in args.get("expand", "").split(",") if e.strip()}
    wanted = args.get("transitionId")
    found = [] if ctx.user.read_only else available(ctx.store, issue)
    listed = [
        _transition_json(ctx, tid, status, "transitions.fields" in expand)
        for tid, status in found
        if wanted is None or tid == wanted
    ]
    return json_response({"expand": "transitions", "transitions": listed})


def post_transition(ctx: Ctx, key: str) -> Response:
    """``POST /issue/{idOrKey}/transitions`` with ``{"transition": {"id": "31"}}``: 204.

    The issue takes the transition's status and its category; ``resolution`` is set when
    the new status is done and cleared otherwise, and ``updated`` moves, so incremental
    JQL (``updated >= ...``) finds the change.
    """
    issue = ctx.issue(key)
    ctx.require_write()
    body = ctx.body()
    if not isinstance(body, dict):
        body = {}
    transition = body.get("transition")
    tid = transition.get("id") if isinstance(transition, dict) else None
    if tid is None or isinstance(tid, bool) or str(tid).strip() == "":
        raise JiraHTTPError(400, ["Missing 'transition' identifier"])
    tid = str(tid).strip()
    # Without a transition screen, Jira refuses any field the request tries to set.
    named = [
        str(name)
        for part in ("fields", "update")
        if isinstance(body.get(part), dict)
        for name in body[part]
    ]
    if named:
        message = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
        raise JiraHTTPError(400, errors={f: message.format(f) for f in named})
    with ctx.store.lock:
        target = dict(available(ctx.store, issue)).get(tid)
        if target is None:
            raise JiraHTTPError(400, [f"Transition id '{tid}' is not valid for this issue."])
        ctx.store.transition(issue.key, target.name)
    return empty(204)
