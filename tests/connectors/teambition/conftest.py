"""Fixtures: the Teambition sandbox over real HTTP, connectors to it, and an HTTP recorder."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.base import ConnectorError, FetchRequest, FetchResult
from connectors.retry import RetryPolicy, RetrySettings
from connectors.teambition import TeambitionConnection, TeambitionConnector
from mappings.schema import TeambitionTqlScope
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.sandbox.teambition.demo import demo_section

APP_ID = "okrsync-demo"
SECRET = "demo-secret"
TENANT = "tb-org-demo"
OPERATOR = "tb-user-ana"
PROJECT = "tb-proj-mobile"
HOME = "tb-task-okr-home"

# Short waits so that retry tests stay quick; Retry-After is still honoured in full.
FAST_RETRY = RetrySettings(
    max_attempts=4, initial_wait=0.05, max_backoff=0.2, max_wait=5, max_total_wait=10
)


@dataclass(frozen=True)
class Sent:
    """One request as the connector put it on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any


class Recorder(httpx.BaseTransport):
    """A real HTTP transport that also keeps every request the connector sent."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self._lock = threading.Lock()
        self.sent: list[Sent] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record, then send for real."""
        raw = request.read()
        body = json.loads(raw) if raw else None
        with self._lock:
            self.sent.append(Sent(request.method, str(request.url), dict(request.headers), body))
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the real transport."""
        self._inner.close()


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    """One demo Teambition sandbox for the session."""
    with start_sandbox(seed={"teambition": demo_section()}, jira=(), teambition=True) as sb:
        yield sb


@pytest.fixture
def tb(shared_sandbox: Sandbox) -> SandboxServer:
    """The Teambition sandbox with fresh demo data, no faults and an empty log."""
    server = shared_sandbox.teambition
    assert server is not None
    server.data.reset()
    server.data.clear_envelope_faults()
    server.faults.reset()
    server.log.clear()
    return server


def settings_for(url: str, **overrides: Any) -> TeambitionConnection:
    """Connection settings of the demo app against the Teambition API at ``url``."""
    values: dict[str, Any] = {
        "base_url": url,
        "app_id": APP_ID,
        "app_secret": SECRET,
        "tenant_id": TENANT,
        "operator_id": OPERATOR,
        "timeout": 5.0,
    }
    values.update(overrides)
    return TeambitionConnection(**values)


def fetch_scripted(
    answer: Callable[[httpx.Request], httpx.Response],
) -> FetchResult | ConnectorError:
    """Fetch the whole of project ``p`` from a scripted server: ``answer`` serves every
    request (a connector of default settings over ``httpx.MockTransport``)."""
    connector = TeambitionConnector(
        "main",
        settings_for("http://tb.invalid/api"),
        RetryPolicy(FAST_RETRY),
        transport=httpx.MockTransport(answer),
    )
    try:
        request = FetchRequest(TeambitionTqlScope(kind="teambition_tql", project="p"))
        return connector.fetch([request])[request]
    finally:
        connector.close()


MakeConnector = Callable[..., TeambitionConnector]


@pytest.fixture
def make_connector(tb: SandboxServer) -> Iterator[MakeConnector]:
    """Build connectors to the sandbox (closed after the test).

    Keyword arguments: ``retry`` (RetrySettings), ``transport``, ``clock``, ``server``, and
    any TeambitionConnection field.
    """
    built: list[TeambitionConnector] = []

    def make(
        *,
        retry: RetrySettings = FAST_RETRY,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        server: SandboxServer | None = None,
        **overrides: Any,
    ) -> TeambitionConnector:
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        connector = TeambitionConnector(
            "main",
            settings_for((server or tb).url, **overrides),
            RetryPolicy(retry),
            transport=transport,
            **extra,
        )
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()


@pytest.fixture
def connector(make_connector: MakeConnector) -> TeambitionConnector:
    """A connector with default settings."""
    return make_connector()


def api_entries(server: SandboxServer) -> list[LoggedRequest]:
    """The sandbox log entries of API calls (everything under /api)."""
    return [e for e in server.log.entries() if e.path.startswith("/api/")]
