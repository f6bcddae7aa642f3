"""Fixtures of the Jira connector contract suite: every test runs against both flavours
of the sandbox over real HTTP, through the real ``jira`` library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.jira import JiraConnection, JiraConnector
from connectors.retry import RetryPolicy, RetrySettings
from okrsync.sandbox.server import SandboxServer, start_sandbox
from tests.connectors.jira.seeds import small_seed

# Real waits, kept short: backoff of a few tens of milliseconds.
FAST = RetrySettings(
    max_attempts=4, initial_wait=0.02, max_backoff=0.1, max_wait=5.0, max_total_wait=10.0
)
CREDENTIALS = {
    "cloud": {"email": "demo@okrsync.example", "api_token": "demo-token"},
    "datacenter": {"pat": "demo-pat"},
}
VIEWER = {
    "cloud": {"email": "viewer@okrsync.example", "api_token": "viewer-token"},
    "datacenter": {"pat": "viewer-pat"},
}


@pytest.fixture(params=["cloud", "datacenter"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def seed() -> dict[str, Any]:
    """The seed a test's sandbox starts from (override in a module for another)."""
    return small_seed()


@pytest.fixture
def server(flavour: str, seed: dict[str, Any]) -> Iterator[SandboxServer]:
    with start_sandbox(seed=seed, jira=(flavour,), teambition=False) as sb:
        yield sb.jira[flavour]


ConnectorFactory = Callable[..., JiraConnector]


@pytest.fixture
def make_connector(server: SandboxServer, flavour: str) -> Iterator[ConnectorFactory]:
    """Build a connector to the test's sandbox; keyword arguments override settings."""
    made: list[JiraConnector] = []

    def make(retry: RetryPolicy | None = None, **overrides: Any) -> JiraConnector:
        settings = {"url": server.url, **CREDENTIALS[flavour], **overrides}
        connector = JiraConnector(
            flavour, JiraConnection.model_validate(settings), retry or RetryPolicy(FAST)
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> JiraConnector:
    return make_connector()


def requests_to(server: SandboxServer, fragment: str, method: str | None = None) -> list[Any]:
    """Logged requests whose path contains ``fragment`` (and of ``method``, if given)."""
    return [
        e
        for e in server.log.entries()
        if fragment in e.path and (method is None or e.method == method)
    ]


def searches(server: SandboxServer) -> list[Any]:
    """Logged search requests (either flavour's search endpoint)."""
    return [
        e for e in server.log.entries() if e.path.rstrip("/").endswith(("/search/jql", "/search"))
    ]
