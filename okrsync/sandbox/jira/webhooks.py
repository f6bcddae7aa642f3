"""Jira's admin webhooks in the sandbox: registration over REST, and a delivery per change.

Registration follows Jira's admin webhook REST API (``/rest/webhooks/1.0/webhook``,
administrators only; it is not part of the platform OpenAPI spec):

* ``POST /rest/webhooks/1.0/webhook`` with ``{"name", "url", "events": [...], "secret"?,
  "filters"?, "excludeBody"?}`` -> 201 and the webhook (the secret is never shown back);
* ``GET /rest/webhooks/1.0/webhook`` (all) and ``GET .../webhook/{id}``;
* ``DELETE .../webhook/{id}`` -> 204.

Events: ``jira:issue_created``, ``jira:issue_updated`` (field edits, transitions, moves,
comments) and ``jira:issue_deleted``, for every change however it is made (REST edits,
bulk edits, transitions, the store's test methods), okrsync's own writes included. Each
delivery is a ``POST`` of Jira's body (``timestamp``, ``webhookEvent``,
``issue_event_type_name``, ``issue`` with every field, ``changelog: {id, items: [{field,
fieldtype, fieldId, from, fromString, to, toString}]}`` for updates, ``comment`` for a
comment) with ``X-Atlassian-Webhook-Identifier`` (unique per delivery) and, when the
webhook has a secret, ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>``.

Simplifications: ``filters`` are kept but not applied (every issue event is delivered),
the acting ``user`` is left out of the body, and each delivery is tried once (see
:mod:`okrsync.sandbox.delivery`). Webhooks live in the store: ``store.reset()`` forgets
them with every other change. Tests reach them in-process through :func:`hub_for`
(``hub_for(server.data).outbox.wait(n)``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from okrsync.sandbox.delivery import Outbox
from okrsync.sandbox.jira.model import Issue, User
from okrsync.sandbox.jira.render import comment_json, render_issue, select_fields
from okrsync.sandbox.jira.responses import NOT_AUTHENTICATED, json_response
from okrsync.sandbox.jira.store import JiraStore

__all__ = ["EVENTS", "PATH", "JiraWebhooks", "Webhook", "admin", "hub_for", "serves"]

PATH = "/rest/webhooks/1.0/webhook"
CREATED, UPDATED, DELETED = "jira:issue_created", "jira:issue_updated", "jira:issue_deleted"
EVENTS = (CREATED, UPDATED, DELETED)
# Stored values Jira keeps out of the changelog (times it sets itself).
_UNLOGGED = frozenset({"updated", "created", "resolutiondate", "lastViewed", "statusCategory"})


@dataclass
class Webhook:
    """One registered webhook."""

    id: int
    name: str
    url: str
    events: tuple[str, ...]
    secret: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    exclude_body: bool = False

    def details(self, base: str) -> dict[str, Any]:
        """The webhook as Jira's REST API shows it (never with its secret)."""
        return {
            "name": self.name,
            "url": self.url,
            "excludeBody": self.exclude_body,
            "filters": self.filters,
            "events": list(self.events),
            "enabled": True,
            "self": f"{base}{PATH}/{self.id}",
        }


@dataclass(frozen=True, slots=True)
class _Seen:
    """What an issue looked like at its last delivery, to build the next changelog."""

    key: str
    fields: dict[str, Any]
    parent: str | None
    epic: str | None
    comments: int


def _seen(issue: Issue) -> _Seen:
    return _Seen(
        issue.key, copy.deepcopy(issue.fields), issue.parent, issue.epic, len(issue.comments)
    )


def _raw(value: Any) -> str | None:
    """A changelog ``from``/``to``: the id of an object value, nothing for plain values."""
    if isinstance(value, dict):
        ident = value.get("id") or value.get("accountId") or value.get("key")
        return None if ident is None else str(ident)
    if isinstance(value, str) and value[:4].isdigit():  # dates and times
        return value
    return None


def _text(value: Any) -> str | None:
    """A changelog ``fromString``/``toString``: the value as Jira displays it."""
    if value is None:
        return None
    if isinstance(value, dict):
        for name in ("value", "name", "displayName", "key"):
            if value.get(name) is not None:
                return str(value[name])
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return " ".join(t for t in (_text(v) for v in value) if t)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class JiraWebhooks:
    """The webhooks registered on one Jira sandbox and the deliveries they were sent."""

    def __init__(self, store: JiraStore) -> None:
        self.store = store
        self.outbox = Outbox(f"jira-{store.flavour}")
        self.webhooks: dict[int, Webhook] = {}
        self.base = "http://localhost"
        self._ids = itertools.count(1)
        self._changes = itertools.count(10000)
        self._seen: dict[int, _Seen] = {}

    def register(
        self,
        url: str,
        *,
        name: str = "okrsync",
        events: tuple[str, ...] = EVENTS,
        secret: str | None = None,
        filters: dict[str, Any] | None = None,
        exclude_body: bool = False,
    ) -> Webhook:
        """Register a webhook (what ``POST /rest/webhooks/1.0/webhook`` does)."""
        with self.store.lock:
            if not self._seen:  # the state each first changelog starts from
                self._seen = {i.id: _seen(i) for i in self.store.all_issues()}
            hook = Webhook(
                next(self._ids), name, url, tuple(events), secret, filters or {}, exclude_body
            )
            self.webhooks[hook.id] = hook
            return hook

    def issue_event(self, event: str, issue: Issue) -> None:
        """Deliver ``event`` about ``issue`` (called by the store as the change happens)."""
        with self.store.lock:
            before = self._seen.pop(issue.id, None)
            if event != DELETED:
                self._seen[issue.id] = _seen(issue)
            wanted = [h for h in self.webhooks.values() if event in h.events]
            if not wanted:
                return
            payload = self._payload(event, issue, before)
            if payload is None:
                return
        body = json.dumps(payload).encode("utf-8")
        for hook in wanted:
            self._send(hook, event, b"" if hook.exclude_body else body)

    def _send(self, hook: Webhook, event: str, body: bytes) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        }
        if hook.secret:
            digest = hmac.new(hook.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        self.outbox.post(hook.url, event, headers, body)

    def _payload(self, event: str, issue: Issue, before: _Seen | None) -> dict[str, Any] | None:
        store = self.store
        payload: dict[str, Any] = {
            "timestamp": int(store.clock().timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": event.split(":", 1)[1],
            "issue": render_issue(
                store, issue, base=self.base, api="2", selection=select_fields(store, [], "*all")
            ),
        }
        if event != UPDATED:
            return payload
        items = self._changelog(issue, before) if before is not None else []
        commented = before is not None and len(issue.comments) > before.comments
        if not items and not commented:
            return None  # nothing Jira would record (an edit to the same values)
        payload["issue_event_type_name"] = "issue_generic" if items else "issue_commented"
        payload["changelog"] = {"id": str(next(self._changes)), "items": items}
        if commented:
            payload["comment"] = comment_json(issue, issue.comments[-1], self.base, "2")
        return payload

    def _changelog(self, issue: Issue, before: _Seen) -> list[dict[str, Any]]:
        store = self.store
        items: list[dict[str, Any]] = []
        for fid in sorted(set(before.fields) | set(issue.fields)):
            old, new = before.fields.get(fid), issue.fields.get(fid)
            if fid in _UNLOGGED or old == new:
                continue
            fdef = store.fields.get(fid)
            items.append(
                {
                    "field": fdef.name if fdef is not None else fid,
                    "fieldtype": "custom" if fid.startswith("customfield_") else "jira",
                    "fieldId": fid,
                    "from": _raw(old),
                    "fromString": _text(old),
                    "to": _raw(new),
                    "toString": _text(new),
                }
            )
        for old, new, subtask in (
            (before.epic, issue.epic, False),
            (before.parent, issue.parent, True),
        ):
            if old != new:
                items.append(self._link_item(old, new, subtask=subtask))
        return items

    def _link_item(self, old: str | None, new: str | None, *, subtask: bool) -> dict[str, Any]:
        """A change of epic or parent, as each flavour logs it."""

        def ident(key: str | None) -> str | None:
            found = self.store.get(key) if key else None
            return None if found is None else str(found.id)

        if self.store.flavour == "cloud":
            item: dict[str, Any] = {"field": "IssueParentAssociation", "fieldtype": "jira"}
        elif subtask:
            item = {"field": "Parent", "fieldtype": "jira", "fieldId": "parent"}
        else:
            fid = self.store.epic_link_field or "customfield_10014"
            item = {"field": "Epic Link", "fieldtype": "custom", "fieldId": fid}
        return item | {"from": ident(old), "fromString": old, "to": ident(new), "toString": new}


def hub_for(store: JiraStore) -> JiraWebhooks:
    """The store's webhooks (created on first use)."""
    with store.lock:
        if store.webhooks is None:
            store.webhooks = JiraWebhooks(store)
        hub: JiraWebhooks = store.webhooks
        return hub


def serves(path: str) -> bool:
    """Whether ``path`` is under the admin webhook REST API."""
    return path.rstrip("/") == PATH or path.startswith(PATH + "/")


def _error(status: int, messages: list[str], errors: dict[str, str] | None = None) -> Response:
    return json_response({"errorMessages": messages, "errors": errors or {}}, status)


def _webhook_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return _error(400, ["The request body is not valid JSON."])
    if not isinstance(body, dict):
        return _error(400, ["The request body must be a JSON object."])
    errors: dict[str, str] = {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        errors["name"] = "A webhook needs a name."
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["url"] = "A webhook needs an http(s) URL."
    events = body.get("events")
    if not isinstance(events, list) or not events or not all(e in EVENTS for e in events):
        errors["events"] = f"Events must be a non-empty list of {', '.join(EVENTS)}."
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        errors["secret"] = "A secret must be a non-empty string."
    if not isinstance(body.get("filters", {}), dict):
        errors["filters"] = "Filters must be an object."
    return _error(400, [], errors) if errors else body


def admin(request: Request, store: JiraStore, user: User | None) -> Response:
    """Answer one request to the admin webhook REST API."""
    if user is None:
        return _error(401, [NOT_AUTHENTICATED])
    if not user.admin:
        return _error(403, ["Only Jira administrators can manage webhooks."])
    hub = hub_for(store)
    base = request.host_url.rstrip("/")
    rest = request.path.rstrip("/")[len(PATH) :].strip("/")
    if not rest and request.method == "POST":
        body = _webhook_body(request)
        if isinstance(body, Response):
            return body
        hub.base = base
        created = hub.register(
            body["url"],
            name=body["name"],
            events=tuple(body["events"]),
            secret=body.get("secret"),
            filters=body.get("filters") or {},
            exclude_body=bool(body.get("excludeBody", False)),
        )
        return json_response(created.details(base), 201)
    if not rest and request.method == "GET":
        return json_response([h.details(base) for h in hub.webhooks.values()])
    hook = hub.webhooks.get(int(rest)) if rest.isdigit() else None
    if hook is None:
        return _error(404, ["The webhook does not exist."])
    if request.method == "GET":
        return json_response(hook.details(base))
    if request.method == "DELETE":
        del hub.webhooks[hook.id]
        return Response(status=204)
    return _error(405, ["Method Not Allowed"])
