"""Sorting a failed tracker call into retryable or fatal, for the shared retry policy.

``classify`` decides, in one place, whether a failure is worth another try; it sees the
failure through an *adapter* that turns a client's exception or response into a
``Failure`` (HTTP status, raw ``Retry-After``, and for transport errors whether the
request surely never left). ``failure_of`` is the built-in adapter for ``requests`` (and
so the ``jira`` library's ``JIRAError``) and ``httpx``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import requests
import urllib3.exceptions as u3


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed call looked like on the wire, independent of the HTTP client.

    ``status`` is the HTTP status (None for a transport error). ``connect`` marks a
    transport error raised before the request was sent (refused, DNS, connect timeout);
    other transport errors (read timeout, dropped connection) may have reached the server.
    """

    status: int | None = None
    retry_after: str | None = None
    connect: bool = False
    host: str | None = None
    detail: str = ""


Adapter = Callable[[object], "Failure | None"]


@dataclass(frozen=True, slots=True)
class Retryable:
    """Try again; ``after`` is the server's requested wait (seconds, capped at ``max_wait``),
    or None to back off exponentially. ``requested`` is the uncapped wait the server asked.
    """

    after: float | None
    reason: str = ""
    requested: float | None = None


@dataclass(frozen=True, slots=True)
class Fatal:
    """Do not try again (4xx other than 429, unknown errors, unsafe non-idempotent retry)."""

    reason: str = ""


def host_of(url: object) -> str | None:
    """The lower-case ``host:port`` of a URL, or None."""
    try:
        netloc = urlsplit(str(url)).netloc
    except ValueError:
        return None
    return netloc.lower() or None


def _requests_connect_error(exc: requests.exceptions.ConnectionError) -> bool:
    # requests wraps urllib3's MaxRetryError(reason=NewConnectionError | ConnectTimeoutError)
    # for failures before the request was written; "Connection aborted" means it was sent.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, u3.MaxRetryError):
        reason = reason.reason
    return isinstance(
        reason, u3.NewConnectionError | u3.ConnectTimeoutError | u3.NameResolutionError
    )


def _httpx_host(obj: httpx.Response | httpx.TransportError) -> str | None:
    try:
        return host_of(obj.request.url)
    except RuntimeError:  # no request attached
        return None


def failure_of(outcome: object) -> Failure | None:
    """Built-in adapter: ``requests``/``jira`` and ``httpx`` exceptions and responses.

    Returns None for anything it does not know (classified fatal).
    """
    if isinstance(outcome, httpx.HTTPStatusError):
        outcome = outcome.response
    if isinstance(outcome, httpx.Response):
        return Failure(
            status=outcome.status_code,
            retry_after=outcome.headers.get("Retry-After"),
            host=_httpx_host(outcome),
        )
    if isinstance(outcome, httpx.TransportError):
        connect = isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return Failure(connect=connect, host=_httpx_host(outcome), detail=type(outcome).__name__)
    if isinstance(outcome, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        host = host_of(outcome.request.url) if outcome.request is not None else None
        connect = isinstance(
            outcome, requests.exceptions.ConnectionError
        ) and _requests_connect_error(outcome)
        return Failure(connect=connect, host=host, detail=type(outcome).__name__)
    # requests.Response, requests.HTTPError and jira.exceptions.JIRAError all carry a
    # response with headers; JIRAError also carries status_code directly.
    response = getattr(outcome, "response", None)
    if response is None and isinstance(outcome, requests.Response):
        response = outcome
    status = getattr(outcome, "status_code", None) or getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    headers = getattr(response, "headers", None) or {}
    url = getattr(response, "url", None) or getattr(outcome, "url", None)
    return Failure(
        status=status,
        retry_after=headers.get("Retry-After"),
        host=host_of(url) if url else None,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: integer/decimal seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def classify(
    outcome: object,
    *,
    idempotent: bool = True,
    max_wait: float = float("inf"),
    adapter: Adapter = failure_of,
) -> Retryable | Fatal:
    """Sort a failed call (exception or error response) into retryable or fatal.

    429 and 503 are retryable (also for non-idempotent calls: the server refused the
    request) and honour ``Retry-After``; other 5xx and transport errors are retryable for
    idempotent calls; connect errors always (the request never left); the rest is fatal.
    """
    failure = outcome if isinstance(outcome, Failure) else adapter(outcome)
    if failure is None:
        return Fatal(f"unexpected error {type(outcome).__name__}")
    if failure.status is None:
        what = f" ({failure.detail})" if failure.detail else ""
        if failure.connect:
            return Retryable(None, f"connect error{what}")
        if idempotent:
            return Retryable(None, f"connection error{what}")
        return Fatal("connection lost after a non-idempotent request was sent")
    status = failure.status
    if status in (429, 503):
        requested = parse_retry_after(failure.retry_after)
        after = None if requested is None else min(requested, max_wait)
        return Retryable(after, f"HTTP {status}", requested)
    if 500 <= status < 600:
        if idempotent:
            return Retryable(None, f"HTTP {status}")
        return Fatal(f"HTTP {status} on a non-idempotent request")
    return Fatal(f"HTTP {status}")
