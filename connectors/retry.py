"""The one retry policy for every outbound tracker call (built on tenacity).

Every connector wraps each HTTP call in ``RetryPolicy.call``. Whether a failure is worth
another try is decided in one place, ``classify`` (``connectors.retry_classify``, whose
names this module re-exports); each connector only needs an *adapter* that turns its
client's exceptions (or responses) into a ``Failure``: the HTTP status, the raw
``Retry-After`` header, and for transport errors whether the request surely never left
(connect error). ``failure_of`` is the built-in adapter for ``requests`` (and so the
``jira`` library's ``JIRAError``) and ``httpx``.

Politeness across threads: after a 429/503 carrying ``Retry-After: N``, the policy's
``HostGate`` holds every later call to that host (from any thread sharing the policy)
until N seconds have passed. A server that asks for more than ``max_wait`` is not waited
for: the call fails at once (a later cycle tries again) and calls to that host fail fast
with ``HostBusyError`` until the time has passed. Time spent waiting at the gate counts
toward a call's ``max_total_wait`` like its own backoff does.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import requests
import tenacity
from pydantic import BaseModel, ConfigDict, Field

from connectors.retry_classify import (
    Adapter,
    Failure,
    Fatal,
    Retryable,
    classify,
    failure_of,
    host_of,
    parse_retry_after,
)

__all__ = [
    "Adapter",
    "Failure",
    "Fatal",
    "HostBusyError",
    "HostGate",
    "RetryEvent",
    "RetryPolicy",
    "RetrySettings",
    "Retryable",
    "classify",
    "failure_of",
    "parse_retry_after",
]
T = TypeVar("T")


class RetrySettings(BaseModel):
    """Bounds of the shared retry policy.

    429 and 503 wait for ``Retry-After`` when given (never longer than ``max_wait``);
    other 5xx and connection errors back off exponentially from ``initial_wait`` up to
    ``max_backoff`` with jitter x0.7-1.3; at most ``max_attempts`` tries and
    ``max_total_wait`` seconds of waiting per call. Non-idempotent calls are retried only
    when the request surely did not reach the server (connect errors) or the server said
    so (429/503).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(5, ge=1, le=20)
    initial_wait: float = Field(1.0, ge=0)
    max_backoff: float = Field(30.0, ge=0)
    max_wait: float = Field(120.0, ge=0, description="cap on one Retry-After wait")
    max_total_wait: float = Field(300.0, ge=0)


# --------------------------------------------------------------------------- per-host gate


class HostBusyError(Exception):
    """A host asked for a pause longer than ``max_wait``; the call was not sent."""

    def __init__(self, host: str, wait: float):
        super().__init__(f"{host} asked to wait {wait:.0f} s more before the next request")
        self.host = host
        self.wait = wait


class HostGate:
    """Per-host "not before" times shared by every thread using one policy."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def hold(self, host: str, seconds: float) -> None:
        """No request to ``host`` before ``seconds`` from now (never shortens a hold)."""
        until = self._clock() + seconds
        with self._lock:
            self._not_before[host] = max(self._not_before.get(host, 0.0), until)

    def remaining(self, host: str) -> float:
        """Seconds until ``host`` may be called again (0 when free)."""
        with self._lock:
            until = self._not_before.get(host)
        return 0.0 if until is None else max(0.0, until - self._clock())

    def wait(self, host: str, sleep: Callable[[float], None], limit: float) -> float:
        """Sleep until ``host`` is free; raise ``HostBusyError`` beyond ``limit`` seconds.

        Returns the seconds slept. Re-checks a bounded number of times, since another
        thread may extend the hold while this one sleeps.
        """
        slept = 0.0
        reached = float("-inf")
        for _ in range(5):
            with self._lock:
                until = self._not_before.get(host, 0.0)
            left = until - max(self._clock(), reached)
            if left <= 0:
                break
            if slept + left > limit:
                raise HostBusyError(host, left)
            sleep(left)
            slept += left
            reached = until
        return slept


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """One retry about to happen (for logs and the retries metric)."""

    describe: str
    attempt: int  # the attempt that failed, 1-based
    wait: float  # seconds before the next attempt
    reason: str  # "HTTP 429", "connect error (ConnectError)", ...
    host: str | None = None


class RetryPolicy:
    """Bounded retries with ``Retry-After``, exponential backoff and a per-host gate.

    ``sleep``, ``clock`` and ``rng`` are injectable so that tests run without real waits
    (inject a ``sleep`` that advances ``clock``, since the host gate reads it); ``on_retry``
    sees every retry (e.g. to count it in a metric). Share one policy between the
    connections of a process so that the host gate sees every thread.
    """

    def __init__(
        self,
        settings: RetrySettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[RetryEvent], None] | None = None,
        adapter: Adapter = failure_of,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self._sleep = sleep
        self._on_retry = on_retry
        self._adapter = adapter
        self._rng = rng or random.Random()
        self.gate = HostGate(clock)

    def backoff(self, failures: int) -> float:
        """Wait after the ``failures``-th failure: exponential, jittered x0.7-1.3, capped."""
        s = self.settings
        base = s.initial_wait * 2 ** max(0, failures - 1)
        return min(s.max_backoff, min(base, s.max_backoff) * self._rng.uniform(0.7, 1.3))

    def call(
        self,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        describe: str,
        host: str | None = None,
        adapter: Adapter | None = None,
    ) -> T:
        """Run ``fn`` with retries; re-raise its last exception when giving up.

        ``fn`` may also return an error response (e.g. an ``httpx.Response`` with status
        503): retryable ones are retried, and the last one is returned when giving up.
        ``host`` (``"jira.example.com"`` or a URL) enables the per-host gate before the
        first attempt; the host is also taken from the failure itself when known.
        ``adapter`` maps the client's failures; what it returns None for goes through the
        built-in ``failure_of``.
        """
        adapt = adapter or self._adapter
        s = self.settings
        gate_host = host_of(host) if host and "://" in host else host
        verdict: dict[str, Any] = {}
        # Seconds this call has waited so far: at the host gate and between attempts.
        waited = [0.0]

        def attempt() -> T:
            where = gate_host or verdict.get("host")
            if where:
                budget = min(s.max_wait, s.max_total_wait - waited[0])
                waited[0] += self.gate.wait(where, self._sleep, budget)
            return fn()

        def should_retry(rs: tenacity.RetryCallState) -> bool:
            outcome = rs.outcome
            assert outcome is not None
            subject: object
            if outcome.failed:
                subject = outcome.exception()
            else:
                subject = outcome.result()
                if not isinstance(subject, httpx.Response | requests.Response):
                    return False
                failure = adapt(subject)
                if failure is None or failure.status is None or failure.status < 400:
                    return False
                subject = failure
            failure = subject if isinstance(subject, Failure) else adapt(subject)
            result = classify(failure or subject, idempotent=idempotent, max_wait=s.max_wait)
            where = gate_host or (failure.host if failure else None)
            if isinstance(result, Retryable) and result.requested is not None and where:
                # The server named a time: hold every thread, even if we stop retrying.
                self.gate.hold(where, result.requested)
            verdict.update(result=result, host=where)
            return isinstance(result, Retryable)

        def wait(rs: tenacity.RetryCallState) -> float:
            result = verdict["result"]
            if result.after is not None:
                return float(result.after)
            return self.backoff(rs.attempt_number)

        def stop(rs: tenacity.RetryCallState) -> bool:
            result = verdict["result"]
            if rs.attempt_number >= s.max_attempts:
                return True
            if result.requested is not None and result.requested > s.max_wait:
                return True
            return waited[0] + rs.upcoming_sleep > s.max_total_wait

        def before_sleep(rs: tenacity.RetryCallState) -> None:
            waited[0] += rs.upcoming_sleep
            if self._on_retry is not None:
                self._on_retry(
                    RetryEvent(
                        describe=describe,
                        attempt=rs.attempt_number,
                        wait=rs.upcoming_sleep,
                        reason=verdict["result"].reason,
                        host=verdict.get("host"),
                    )
                )

        def give_up(rs: tenacity.RetryCallState) -> Any:
            assert rs.outcome is not None
            return rs.outcome.result()  # raises the last exception, else the last response

        retrying = tenacity.Retrying(
            retry=should_retry,
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        return retrying(attempt)
