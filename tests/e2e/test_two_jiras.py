"""Two connections to one tracker: an organisation halfway through moving from Jira Data
Center to Jira Cloud, with mappings naming the ``connection:`` of each scope and target.

Each site keeps its own issues (the sandbox serves the demo data on both): a change on one
site moves only the KRs reading it, writes go to the site the mapping names, the ledger
keeps the two ``OKR-1`` apart, and an outage of one site leaves the other's KRs fresh.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mappings.loader import load_mappings
from okrsync.config.settings import Settings
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.state import StateStore
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.report import CycleReport
from tests.e2e.conftest import JIRA_FIELD, kr, mutating, transition
from tests.state.conftest import db_url  # noqa: F401  (SQLite and PostgreSQL)

MAPPING = """
version: 1
defaults:
  write:
    fields: {progress: OKR Progress, status: OKR Status}
objectives:
  - id: migration
    title: Payments while moving to Jira Cloud
    period: 2026-Q4
    key_results:
      - id: checkout-cloud
        title: Checkout v2 as Jira Cloud has it
        scope: {kind: jira_epics, epics: [PAY-1], connection: cloud}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-1, connection: cloud}]
      - id: checkout-dc
        title: Checkout v2 as Data Center has it
        scope: {kind: jira_epics, epics: [PAY-1], connection: datacenter}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-1, connection: datacenter}]
      - id: fraud-dc
        title: Fraud scoring, still on Data Center
        scope: {kind: jira_epics, epics: [PAY-20], connection: datacenter}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-2, connection: datacenter}]
"""


class TwoSites:
    """Jira Cloud and Jira Data Center side by side, one okrsync reading and writing both."""

    def __init__(self, sandbox: Sandbox, state_url: str, mapping: Path):
        self.sandbox = sandbox
        self.cloud = sandbox.jira["cloud"]
        self.dc = sandbox.jira["datacenter"]
        settings = Settings.model_validate(
            {
                "jira": {
                    "cloud": {
                        "url": self.cloud.url,
                        "flavour": "cloud",
                        "email": "demo@okrsync.example",
                        "api_token": "demo-token",
                    },
                    "datacenter": {"url": self.dc.url, "flavour": "datacenter", "pat": "demo-pat"},
                },
                "state_url": state_url,
                "retry": {"max_attempts": 2, "initial_wait": 0.05, "max_total_wait": 1.0},
            }
        )
        self.settings = settings
        self.tree = load_mappings(mapping, connections=settings.connection_names())
        self.store = StateStore.open(state_url)
        self.connectors = build_connectors(settings)
        self.now = datetime.now(UTC)

    def cycle(self) -> CycleReport:
        self.now = max(datetime.now(UTC), self.now + timedelta(milliseconds=1))
        return run_cycle(
            self.tree, self.connectors, self.store, now=self.now, settings=self.settings.sync
        )

    def progress_field(self, server: SandboxServer, key: str) -> Any:
        return server.data.get(key).fields.get(JIRA_FIELD["OKR Progress"])

    def clear_logs(self) -> None:
        for server in (self.cloud, self.dc):
            server.log.clear()

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
        self.store.close()
        stopping = [threading.Thread(target=s.stop) for s in self.sandbox.servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join(timeout=10)


@pytest.fixture
def sites(db_url: str, tmp_path: Path) -> Iterator[TwoSites]:  # noqa: F811
    mapping = tmp_path / "okrs.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    sandbox = start_sandbox(seed="demo", jira=("cloud", "datacenter"), teambition=False)
    world = TwoSites(sandbox, db_url, mapping)
    try:
        yield world
    finally:
        world.close()


def _asked_about(server: SandboxServer, text: str) -> bool:
    return any(text in f"{e.path} {e.query} {e.body}" for e in server.log.entries())


def test_each_connection_reads_and_writes_its_own_site(sites: TwoSites) -> None:
    first = sites.cycle()
    assert first.outcome == "ok", first.failed_sources
    assert {name: s.scopes for name, s in first.sources.items()} == {
        "jira:cloud": 1,
        "jira:datacenter": 2,
    }
    assert kr(first, "checkout-cloud").result.progress == 0.5
    assert kr(first, "checkout-dc").result.progress == 0.5
    assert not _asked_about(sites.cloud, "PAY-20")  # fraud-dc reads Data Center only
    assert sites.progress_field(sites.cloud, "OKR-1") == 50.0
    assert sites.progress_field(sites.dc, "OKR-1") == 50.0
    assert sites.progress_field(sites.dc, "OKR-2") == 40.0
    assert sites.progress_field(sites.cloud, "OKR-2") is None

    transition(sites.dc, "PAY-6", "Done")  # only Data Center's copy moves
    sites.clear_logs()
    second = sites.cycle()
    assert kr(second, "checkout-dc").result.progress == 5 / 8
    assert kr(second, "checkout-cloud").result.progress == 0.5
    assert mutating(sites.cloud.log.entries()) == []
    assert {(w.connection, w.target) for w in second.writes} == {("jira:datacenter", "OKR-1")}
    assert sites.progress_field(sites.dc, "OKR-1") == 62.5
    assert sites.progress_field(sites.cloud, "OKR-1") == 50.0
    # One ledger, two OKR-1: each connection's own.
    assert sites.store.last_written("jira:cloud", "OKR-1", "OKR Progress") == 50.0
    assert sites.store.last_written("jira:datacenter", "OKR-1", "OKR Progress") == 62.5

    sites.clear_logs()
    assert sites.cycle().writes == []
    assert mutating(sites.cloud.log.entries()) == mutating(sites.dc.log.entries()) == []


def test_an_outage_of_one_site_leaves_the_other_fresh(sites: TwoSites) -> None:
    sites.cycle()
    transition(sites.cloud, "PAY-6", "Done")
    transition(sites.dc, "PAY-6", "Done")
    sites.dc.faults.fail(status=503, count=10_000, retry_after=0)
    sites.clear_logs()
    report = sites.cycle()
    assert report.outcome == "partial"
    assert report.failed_sources == ["jira:datacenter"]
    assert kr(report, "checkout-cloud").result.progress == 5 / 8
    assert kr(report, "checkout-cloud").stale is False
    assert kr(report, "checkout-dc").stale and kr(report, "fraud-dc").stale
    assert kr(report, "checkout-dc").result.progress == 0.5  # the last good value
    assert mutating(sites.dc.log.entries()) == []
    assert sites.progress_field(sites.cloud, "OKR-1") == 62.5
    assert sites.progress_field(sites.dc, "OKR-1") == 50.0
    health = sites.store.source_health()
    assert (health["jira:cloud"].up, health["jira:datacenter"].up) == (True, False)
    sites.dc.faults.reset()
    recovered = sites.cycle()
    assert recovered.outcome == "ok"
    assert sites.progress_field(sites.dc, "OKR-1") == 62.5
