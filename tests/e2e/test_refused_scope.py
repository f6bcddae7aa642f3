"""A scope the tracker refuses on its own (bad JQL, a missing epic) stales only the key
results that use it: the connection stays up and every other key result is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Env, kr
from tests.state.conftest import db_url  # noqa: F401

MAPPING = """
version: 1
defaults:
  write:
    fields: {progress: OKR Progress, status: OKR Status}
objectives:
  - id: pay
    title: Payments
    period: 2026-Q4
    key_results:
      - id: good
        title: Ship checkout v2
        scope: {kind: jira_epics, epics: [PAY-1]}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-1}]
      - id: typo
        title: Fewer bugs
        scope: {kind: jql, jql: "project = PAY AND issuetype = = Bug"}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-2}]
      - id: gone
        title: An epic that does not exist
        scope: {kind: jira_epics, epics: [PAY-999]}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-3}]
"""


@pytest.fixture(params=["cloud", "datacenter"])
def env(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Env]:  # noqa: F811
    mappings = tmp_path / "okrs.yaml"
    mappings.write_text(MAPPING, encoding="utf-8")
    world = Env(str(request.param), db_url, mappings=mappings)
    try:
        yield world
    finally:
        world.close()


def test_a_refused_scope_stales_only_its_key_results(env: Env) -> None:
    report = env.cycle()
    source = report.sources[f"jira:{env.flavour}"]
    assert source.up and report.failed_sources == []
    assert len(source.refused) == 2
    assert any("issuetype = = Bug" in error for error in source.refused)
    assert report.partial and report.outcome == "partial"  # `okrsync sync` exits 1
    assert kr(report, "good").result.status != "stale"
    for bad in ("typo", "gone"):
        result = kr(report, bad).result
        assert result.status == "stale" and result.progress is None
        assert result.stale_reason
    # The healthy key result reached Jira; the refused ones wrote nothing at all.
    assert env.jira_fields("OKR-1")["OKR Progress"] == 50.0
    assert env.jira_fields("OKR-2")["OKR Progress"] is None
    assert env.jira_fields("OKR-3")["OKR Progress"] is None
    targets = {e.path.rsplit("/", 1)[-1] for e in env.mutations() if e.method == "PUT"}
    assert "OKR-2" not in targets and "OKR-3" not in targets
    assert report.to_dict()["sources"][f"jira:{env.flavour}"]["refused_scopes"] == source.refused
