"""End-to-end fixtures: the sandbox over real HTTP, the real connectors, both state backends.

``env`` is one world per test: a fresh sandbox (Jira of the test's flavour and Teambition,
demo data), settings pointing at it with the demo credentials, the example mappings, and
a fresh state database on SQLite or PostgreSQL (``db_url`` from the state tests).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mappings.loader import load_mappings
from okrsync.commands.demo import EXAMPLES
from okrsync.config.settings import Settings, SyncSettings
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.state import StateStore
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.report import CycleReport, KrReport
from tests.state.conftest import db_url  # noqa: F401  (SQLite and PostgreSQL)

# The demo's custom fields (COMMON demo data set).
JIRA_FIELD = {
    "OKR Progress": "customfield_10100",
    "OKR Status": "customfield_10101",
    "OKR Summary": "customfield_10102",
    "OKR Expected": "customfield_10103",
    "OKR Forecast": "customfield_10104",
    "OKR Last Synced": "customfield_10105",
}
TB_FIELD = {
    "OKR Progress": "cf-okr-progress",
    "OKR Status": "cf-okr-status",
    "OKR Summary": "cf-okr-summary",
    "OKR Expected": "cf-okr-expected",
}
# Reads that travel as POST: Jira's searches and counts.
_READ_POST = re.compile(r"/search(/jql|/approximate-count)?$")


def mutating(entries: list[LoggedRequest]) -> list[LoggedRequest]:
    """Requests that change something in a tracker (writes, comments, properties)."""
    return [
        e
        for e in entries
        if e.method in {"PUT", "PATCH", "DELETE"}
        or (e.method == "POST" and not _READ_POST.search(e.path))
    ]


def transition(server: SandboxServer, key: str, status: str) -> None:
    """Move a Jira issue to ``status`` as a person would: through Jira's transitions API."""
    if server.data.flavour == "cloud":
        auth: dict[str, Any] = {"auth": ("demo@okrsync.example", "demo-token")}
    else:
        auth = {"headers": {"Authorization": "Bearer demo-pat"}}
    url = f"{server.url}/rest/api/2/issue/{key}/transitions"
    with httpx.Client(timeout=10, **auth) as client:
        offered = client.get(url).raise_for_status().json()["transitions"]
        chosen = [t["id"] for t in offered if t["to"]["name"] == status]
        assert chosen, f"{key} cannot move to {status!r}: {[t['name'] for t in offered]}"
        client.post(url, json={"transition": {"id": chosen[0]}}).raise_for_status()


def settings_for(sandbox: Sandbox, flavour: str, state_url: str, **sync: Any) -> Settings:
    """Settings of the demo sandbox: one Jira connection (cloud or datacenter), Teambition."""
    jira: dict[str, Any] = {"url": sandbox.jira[flavour].url, "flavour": flavour}
    if flavour == "cloud":
        jira |= {"email": "demo@okrsync.example", "api_token": "demo-token"}
    else:
        jira |= {"pat": "demo-pat"}
    assert sandbox.teambition is not None
    return Settings.model_validate(
        {
            "jira": {flavour: jira},
            "teambition": {
                "main": {
                    "base_url": sandbox.teambition.url,
                    "app_id": "okrsync-demo",
                    "app_secret": "demo-secret",
                    "tenant_id": "tb-org-demo",
                    "operator_id": "tb-user-ana",
                }
            },
            "state_url": state_url,
            # Faulted calls fail fast: a cycle must not wait out long backoffs in tests.
            "retry": {"max_attempts": 2, "initial_wait": 0.05, "max_total_wait": 1.0},
            "sync": sync,
        }
    )


class Env:
    """A running sandbox, okrsync's clients for it, and helpers to look at both sides."""

    def __init__(self, flavour: str, state_url: str, mappings: Any = EXAMPLES):
        self.flavour = flavour
        self.sandbox = start_sandbox(seed="demo", jira=(flavour,), teambition=True)
        self.settings = settings_for(self.sandbox, flavour, state_url)
        self.tree = load_mappings(mappings, connections=self.settings.connection_names())
        self.store = StateStore.open(state_url)
        self.connectors = build_connectors(self.settings)
        self.now = datetime.now(UTC)

    @property
    def jira(self) -> SandboxServer:
        return self.sandbox.jira[self.flavour]

    @property
    def tb(self) -> SandboxServer:
        assert self.sandbox.teambition is not None
        return self.sandbox.teambition

    @property
    def servers(self) -> list[SandboxServer]:
        return [self.jira, self.tb]

    def cycle(self, sync: SyncSettings | None = None, **options: Any) -> CycleReport:
        """One cycle at the wall clock (the sandbox stamps changes with it too)."""
        self.now = max(datetime.now(UTC), self.now + timedelta(milliseconds=1))
        return run_cycle(
            self.tree,
            self.connectors,
            self.store,
            now=self.now,
            settings=sync or self.settings.sync,
            **options,
        )

    def transition(self, key: str, status: str) -> None:
        """Move a Jira issue to ``status`` over the Jira sandbox's transitions API."""
        transition(self.jira, key, status)

    def clear_logs(self) -> None:
        for server in self.servers:
            server.log.clear()

    def mutations(self) -> list[LoggedRequest]:
        """Every mutating request either tracker received since the logs were cleared."""
        return [e for server in self.servers for e in mutating(server.log.entries())]

    def jira_fields(self, key: str) -> dict[str, Any]:
        """An issue's OKR fields as Jira's REST API answers them (by field name)."""
        if self.flavour == "cloud":
            auth: dict[str, Any] = {"auth": ("demo@okrsync.example", "demo-token")}
        else:
            auth = {"headers": {"Authorization": "Bearer demo-pat"}}
        answer = httpx.get(f"{self.jira.url}/rest/api/2/issue/{key}", timeout=10, **auth)
        answer.raise_for_status()
        fields = answer.json()["fields"]
        out: dict[str, Any] = {}
        for name, fid in JIRA_FIELD.items():
            value = fields.get(fid)
            out[name] = value.get("value") if isinstance(value, dict) else value
        return out

    def tb_fields(self, task_id: str) -> dict[str, str | None]:
        """A Teambition task's OKR custom fields (the title of each value), by name."""
        task = self.tb.data.task(task_id)
        by_id = {cf["cfId"]: cf["value"] for cf in task["customfields"]}
        out: dict[str, str | None] = {}
        for name, cf_id in TB_FIELD.items():
            values = by_id.get(cf_id) or []
            out[name] = values[0]["title"] if values else None
        return out

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
        self.store.close()
        # Each server takes up to its poll interval to stop: stop them side by side.
        stopping = [threading.Thread(target=server.stop) for server in self.sandbox.servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join(timeout=10)


def kr(report: CycleReport, kr_id: str) -> KrReport:
    """One KR's report."""
    return next(k for k in report.key_results if k.kr_id == kr_id)


@pytest.fixture(params=["cloud", "datacenter"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(flavour: str, db_url: str) -> Iterator[Env]:  # noqa: F811
    world = Env(flavour, db_url)
    try:
        yield world
    finally:
        world.close()
