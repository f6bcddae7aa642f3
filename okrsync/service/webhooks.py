"""The webhook receiver: is a delivery genuine, new and relevant, and which key results
should the daemon refresh for it.

The daemon's ``POST /webhooks/jira`` and ``POST /webhooks/teambition`` hand each delivery
to :meth:`WebhookReceiver.receive` and answer with the :class:`WebhookOutcome`'s status;
the daemon debounces accepted deliveries into one cycle limited to their key results. A
webhook is only a hint: that cycle reads the scopes again from the tracker.

Checks, in this order, each refusing with no side effect:

1. size: a body over ``webhooks.max_body_bytes`` -> 413, before anything else is read;
2. authenticity, on the raw body before it is parsed, with a constant-time comparison:

   * Jira: ``X-Hub-Signature: sha256=<hex>``, the HMAC-SHA256 of the body keyed with
     ``webhooks.jira_secret`` (the secret of a Jira admin webhook);
   * Teambition: ``X-Signature: <hex>``, the HMAC-SHA256 of the body keyed with
     ``webhooks.teambition_secret``. Teambition's open platform signs its deliveries this
     way with the app's secret ("消息体的签名;用于消息有效性验证,秘钥为应用秘钥", the Open
     API's webhook pages), so set it to the app secret; a ``sha256=`` prefix is accepted.

   A missing or wrong signature -> 401. So does every delivery to an endpoint whose secret
   is not set: an unauthenticated endpoint would let anyone who can reach it make okrsync
   read the trackers at will, so refusing is the safe default;
3. shape: a body that is not JSON -> 400 saying where (``body is not JSON: line 1 column
   5``); JSON that names no issue (Jira) or task (Teambition) -> 400;
4. repeats: a delivery id seen before -> 200 ``duplicate``. The id is Jira's
   ``X-Atlassian-Webhook-Identifier``, Teambition's ``eventId``, else a hash of the body;
   the last 10,000 ids of the last day are remembered.

Then the change is weighed (``okrsync.service.webhook_targets``): okrsync's own write
coming back -> 200 ``echo``; nothing a key result reads -> 200 ``unrelated``; otherwise
202 ``accepted`` with the key results to refresh. An echo can outrun okrsync's ledger (the
tracker posts it while the cycle is still writing): it is then taken for a person's edit
and accepted, so an accepted delivery is judged again when its hint falls due, between
cycles, with the ledger complete; an echo then asks for no cycle.
Messages never quote the body or a secret; each refused delivery is logged once, with
its reason only. Mappings not loaded (``tree()`` is None) -> 200 ``unrelated``; a state
store that cannot be read -> every key result reading the tracker is refreshed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers

from mappings.schema import scope_source
from mappings.tree import OkrTree
from okrsync.config.settings import WebhookSettings
from okrsync.service.webhook_payloads import (
    ItemChange,
    PayloadError,
    jira_change,
    teambition_change,
)
from okrsync.service.webhook_targets import Targets, Verdict
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore

__all__ = ["REMEMBERED", "SOURCES", "WebhookOutcome", "WebhookReceiver"]

log = logging.getLogger(__name__)

SOURCES = ("jira", "teambition")
#: How many delivery ids are remembered to drop repeats, and for how long (seconds).
REMEMBERED = 10_000
REMEMBER_SECONDS = 24 * 3600.0
_SIGNATURE = {"jira": "X-Hub-Signature", "teambition": "X-Signature"}
_STATUS = {"accepted": 202, "echo": 200, "unrelated": 200}
#: Request headers: a plain mapping, or werkzeug's (the daemon's ``EnvironHeaders``).
HeaderLookup = Mapping[str, str] | Headers


@dataclass(frozen=True)
class WebhookOutcome:
    """How to answer one delivery.

    ``status``: 202 accepted; 200 ignored (duplicate, echo, unrelated); 400 not JSON or
    not the tracker's shape; 401 bad or missing signature, or no secret configured; 413
    too large. ``outcome`` is the metric label (``accepted``, ``duplicate``, ``echo``,
    ``unrelated``, ``unauthorized``, ``bad_request``, ``too_large``), ``message`` a short
    text for the response body, ``kr_ids`` the key results to refresh (accepted only),
    ``recheck`` the same change judged again later (accepted only; see
    :class:`okrsync.service.scheduler.Hints`).
    """

    status: int
    outcome: str
    message: str
    kr_ids: frozenset[str] = frozenset()
    recheck: Callable[[], frozenset[str]] | None = field(default=None, compare=False)


def _header(headers: HeaderLookup, name: str) -> str | None:
    """A header by name, in any case (werkzeug's headers already look up that way)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return None if value is None else str(value)


def _signed(secret: str, body: bytes, given: str | None, *, prefixed: bool) -> bool:
    if not given:
        return False
    scheme, sep, digest = given.strip().partition("=")
    if not sep:
        scheme, digest = "", scheme
    if (prefixed or sep) and scheme.lower() != "sha256":
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode("utf-8", "replace"))


class WebhookReceiver:
    """Judges webhook deliveries against the mappings (``tree()``, None while none are
    loaded) and okrsync's state (scope caches, ledger). Thread-safe."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        tree: Callable[[], OkrTree | None],
        store: StateStore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._tree = tree
        self._store = store
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._targets: tuple[object, Targets] | None = None
        self._targets_lock = threading.Lock()

    def receive(
        self,
        source: str,
        headers: HeaderLookup,
        body: bytes,
        *,
        connection: str | None = None,
    ) -> WebhookOutcome:
        """Judge one delivery to ``/webhooks/<source>`` (``jira`` or ``teambition``);
        ``connection`` names the tracker connection when several are configured."""
        if source not in SOURCES:
            return self._refuse(source, 400, "bad_request", "no webhook endpoint for this source")
        if len(body) > self.settings.max_body_bytes:
            limit = self.settings.max_body_bytes
            return self._refuse(source, 413, "too_large", f"body over {limit} bytes")
        secret = self.settings.jira_secret if source == "jira" else self.settings.teambition_secret
        if secret is None:
            return self._refuse(source, 401, "unauthorized", f"no {source} webhook secret is set")
        name = _SIGNATURE[source]
        given = _header(headers, name)
        if given is None:
            return self._refuse(source, 401, "unauthorized", f"missing {name}")
        if not _signed(secret.get_secret_value(), body, given, prefixed=source == "jira"):
            return self._refuse(source, 401, "unauthorized", f"{name} does not match the body")
        try:
            payload = json.loads(body)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            return self._refuse(source, 400, "bad_request", f"body is not JSON: {where}")
        except UnicodeDecodeError:
            return self._refuse(source, 400, "bad_request", "body is not UTF-8 JSON")
        try:
            change = jira_change(payload) if source == "jira" else teambition_change(payload)
        except PayloadError as exc:
            return self._refuse(source, 400, "bad_request", str(exc))
        delivery = self._delivery_id(source, headers, payload, body)
        if not self._remember(delivery):
            log.debug("webhook from %s: a repeated delivery, ignored", source)
            return WebhookOutcome(200, "duplicate", "delivery already received")
        try:
            verdict = self._judge(change, connection)
        except BaseException:
            self._forget(delivery)  # not judged: a retry of it must not count as a repeat
            raise
        log.debug("webhook from %s: %s (%s)", source, verdict.kind, verdict.reason)

        def recheck() -> frozenset[str]:
            return self._judge(change, connection).kr_ids

        return WebhookOutcome(
            _STATUS[verdict.kind],
            verdict.kind,
            verdict.reason,
            verdict.kr_ids,
            recheck if verdict.kind == "accepted" else None,
        )

    # -- steps ------------------------------------------------------------------------

    @staticmethod
    def _refuse(source: str, status: int, outcome: str, message: str) -> WebhookOutcome:
        log.warning("webhook delivery to /webhooks/%s refused: %s", source, message)
        return WebhookOutcome(status, outcome, message)

    @staticmethod
    def _delivery_id(source: str, headers: HeaderLookup, payload: Any, body: bytes) -> str:
        given: object = None
        if source == "jira":
            given = _header(headers, "X-Atlassian-Webhook-Identifier")
        elif isinstance(payload, dict):
            given = payload.get("eventId")
        if isinstance(given, str | int) and str(given).strip():
            return f"{source}:id:{str(given).strip()}"
        return f"{source}:body:{hashlib.sha256(body).hexdigest()}"

    def _remember(self, delivery: str) -> bool:
        """Record a delivery id; False if it was already there (a repeat)."""
        now = self._clock()
        with self._seen_lock:
            while self._seen and (
                len(self._seen) >= REMEMBERED
                or next(iter(self._seen.values())) < now - REMEMBER_SECONDS
            ):
                self._seen.popitem(last=False)
            if delivery in self._seen:
                return False
            self._seen[delivery] = now
            return True

    def _forget(self, delivery: str) -> None:
        with self._seen_lock:
            self._seen.pop(delivery, None)

    def _judge(self, change: ItemChange, connection: str | None) -> Verdict:
        tree = self._tree()
        if tree is None:
            return Verdict("unrelated", reason="no OKR mappings are loaded")
        try:
            return self._targets_for(tree).verdict(change, connection)
        except StateError as exc:
            # Without okrsync's state the change cannot be narrowed down: refresh every
            # key result reading this tracker (the cycle will report the state problem).
            log.warning("webhook targets from the mappings alone: state unreadable: %s", exc)
            krs = frozenset(
                kr_id
                for kr_id, node in tree.key_results.items()
                if any(scope_source(s) == change.source for s in node.kr.scope)
            )
            if not krs:
                return Verdict("unrelated", reason="no key result reads this tracker")
            return Verdict("accepted", krs, f"{len(krs)} key result(s) to refresh")

    def _targets_for(self, tree: OkrTree) -> Targets:
        """The index of the mappings and state, rebuilt when either changed (new mappings,
        a cycle that ran since)."""
        run = self._store.last_run()
        stamp = (id(tree), None if run is None else (run.id, run.outcome, run.finished_at))
        with self._targets_lock:
            if (
                self._targets is None
                or self._targets[0] != stamp
                or self._targets[1].tree is not tree
            ):
                self._targets = (stamp, Targets(tree, self._store))
            return self._targets[1]
