"""Teambition's webhook deliveries in the sandbox: one per task change.

Teambition subscribes an app's webhook in its developer console, not through the Open API,
so the sandbox has no REST route for it: a test registers one in-process with
``hub_for(server.data).register(url, secret=...)``.

Each delivery is a ``POST`` shaped as the Open API's webhook pages show it::

    X-Signature: <hex HMAC-SHA256 of the body, keyed with the secret (the app secret)>
    X-Request-Id: <uuid>   X-Tenant-Id: <organization id>   X-Tenant-Type: organization

    {"orgId", "timestamp" (ms), "event", "eventId", "hookId",
     "data": {"new": {<changed attributes>}, "old": {<their values before>},
              "task": {"taskId", "projectId", "ancestorIds", "parentTaskId", ...}}}

Events: ``task.create``, ``task.update`` (every attribute change, custom fields and
okrsync's own writes included) and ``task.remove``. ``new``/``old`` carry only the
attributes that changed, ``updated`` among them; ``task`` is the whole task after the
change. Simplifications: no ``operatorId``; one attempt per delivery (see
:mod:`okrsync.sandbox.delivery`). Registrations survive ``store.reset()``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.delivery import Outbox

if TYPE_CHECKING:
    from okrsync.sandbox.teambition.store import TeambitionStore

__all__ = ["CREATE", "EVENTS", "REMOVE", "UPDATE", "TeambitionWebhooks", "hub_for"]

CREATE, UPDATE, REMOVE = "task.create", "task.update", "task.remove"
EVENTS = (CREATE, UPDATE, REMOVE)

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Subscription:
    """One registered webhook."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str | None


class TeambitionWebhooks:
    """The webhooks registered on the Teambition sandbox and the deliveries they were sent."""

    def __init__(self) -> None:
        self.outbox = Outbox("teambition")
        self.subscriptions: dict[str, Subscription] = {}
        self._ids = itertools.count(1)

    def register(
        self, url: str, *, secret: str | None = None, events: tuple[str, ...] = EVENTS
    ) -> Subscription:
        """Subscribe ``url`` to ``events``; deliveries are signed when ``secret`` is given."""
        hook = Subscription(f"tb-hook-{next(self._ids):04d}", url, tuple(events), secret)
        self.subscriptions[hook.id] = hook
        return hook

    def task_event(
        self, event: str, org_id: str, before: Record | None, after: Record | None
    ) -> None:
        """Deliver ``event`` about a task seen ``before`` and ``after`` the change (as the
        API shows it; None where it did not or no longer exists)."""
        wanted = [h for h in self.subscriptions.values() if event in h.events]
        task = after or before
        if not wanted or task is None:
            return
        data: Record = {"task": {"taskId": task["id"], **task}}
        if before is not None and after is not None:
            changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
            if not changed:
                return
            data["new"] = {k: after.get(k) for k in changed}
            data["old"] = {k: before.get(k) for k in changed}
        for hook in wanted:
            payload = {
                "orgId": org_id,
                "timestamp": _millis(task.get("updated")),
                "event": event,
                "eventId": uuid.uuid4().hex[:24],
                "hookId": hook.id,
                "data": data,
            }
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                "X-Request-Id": str(uuid.uuid4()),
                "X-Tenant-Id": org_id,
                "X-Tenant-Type": "organization",
            }
            if hook.secret:
                key = hook.secret.encode("utf-8")
                headers["X-Signature"] = hmac.new(key, body, hashlib.sha256).hexdigest()
            self.outbox.post(hook.url, event, headers, body)


def _millis(stamp: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def hub_for(store: TeambitionStore) -> TeambitionWebhooks:
    """The store's webhooks (created on first use)."""
    with store.lock:
        if store.webhooks is None:
            store.webhooks = TeambitionWebhooks()
        return store.webhooks
