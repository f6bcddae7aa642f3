"""Webhook deliveries of the sandbox servers: sent in the background, recorded for tests.

A change to an issue or task must never wait for a webhook receiver, so each sandbox
server hands its deliveries to an :class:`Outbox`: one background thread posts them in
order, one attempt each with a short timeout (a receiver that is down loses the
delivery, as it would with a real tracker after its retries). Every attempt is recorded
with the receiver's answer; :meth:`Outbox.wait` (the n-th one) and :meth:`Outbox.settle`
(all queued so far) let a test wait for them without sleeping.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

__all__ = ["Delivery", "Outbox"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt: where it went, what it carried and how the receiver answered.

    ``status`` is the receiver's HTTP status, None when it did not answer (``error`` says
    why: refused, timed out).
    """

    url: str
    event: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Pending:
    url: str
    event: str
    headers: dict[str, str]
    body: bytes


class Outbox:
    """Posts deliveries from one background thread, in the order they were made."""

    def __init__(self, name: str, *, timeout: float = 2.0) -> None:
        self.name = name
        self.timeout = timeout
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._done: list[Delivery] = []
        self._posted = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def post(self, url: str, event: str, headers: Mapping[str, str], body: bytes) -> None:
        """Queue one delivery; returns at once."""
        with self._changed:
            self._posted += 1
        self._queue.put(_Pending(url, event, dict(headers), body))
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"sandbox-webhooks-{self.name}", daemon=True
                )
                self._thread.start()

    def deliveries(self) -> list[Delivery]:
        """Every delivery attempted so far, oldest first."""
        with self._changed:
            return list(self._done)

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` deliveries were attempted; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._done) >= count, timeout=timeout)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every delivery queued so far was attempted; False on timeout."""
        with self._changed:
            posted = self._posted
        return self.wait(posted, timeout)

    def close(self) -> None:
        """Stop the background thread once the queued deliveries are sent."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout * 2 + 1)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                pending = self._queue.get()
                if pending is None:
                    return
                self._record(self._send(client, pending))

    @staticmethod
    def _send(client: httpx.Client, pending: _Pending) -> Delivery:
        try:
            answer = client.post(pending.url, content=pending.body, headers=pending.headers)
        except httpx.HTTPError as exc:
            return Delivery(
                pending.url, pending.event, pending.headers, pending.body, error=type(exc).__name__
            )
        return Delivery(
            pending.url, pending.event, pending.headers, pending.body, status=answer.status_code
        )

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self._done.append(delivery)
            self._changed.notify_all()
