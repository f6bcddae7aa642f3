"""What the Jira client runs on: the counting transport, the thread pool for
independent calls, and how a site's URL is shown in messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from connectors.base import ConnectorError, RequestCounter

__all__ = ["CountingAdapter", "display_url", "run_all"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
log = logging.getLogger("connectors.jira.client")


def display_url(url: str) -> str:
    """The site URL without credentials or trailing slash, fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def run_all(workers: int, jobs: Mapping[K, Callable[[], V]]) -> dict[K, V | ConnectorError]:
    """Run independent jobs on at most ``workers`` threads; errors become values."""

    def guarded(job: Callable[[], V]) -> V | ConnectorError:
        try:
            return job()
        except ConnectorError as exc:
            return exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A malformed answer fails its own scopes, not the whole cycle.
            log.warning("unexpected Jira answer", exc_info=True)
            return ConnectorError(f"unexpected answer from Jira ({type(exc).__name__}: {exc})")

    if len(jobs) <= 1:
        return {key: guarded(job) for key, job in jobs.items()}
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = {key: pool.submit(guarded, job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


class CountingAdapter(HTTPAdapter):
    """The session's transport, counting each request as it goes out: a request whose
    connection drops before an answer still reached the tracker, and still counts. The
    counter's observer hears how each request went and how long it took."""

    def __init__(self, counter: RequestCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        """Count, send, then report the status (None when no answer came) and duration."""
        self.counter.add()
        method = request.method or "GET"
        started = time.monotonic()
        try:
            response = super().send(request, *args, **kwargs)
        except BaseException:
            self.counter.observe(method, None, time.monotonic() - started)
            raise
        self.counter.observe(method, response.status_code, time.monotonic() - started)
        return response
