"""``count`` agrees with ``fetch`` on the demo data, so an incremental read can be
reconciled against its cache without falling back to a full read every cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from connectors.base import FetchRequest, FetchResult
from connectors.jira import JiraConnector
from mappings.schema import JiraEpicsScope, JiraIssuesScope, JqlScope, Scope
from okrsync.sandbox.demo import demo_seed
from okrsync.sandbox.server import SandboxServer

SUBTASK_TYPE = "10003"  # the demo's "Sub-task" issue type


@pytest.fixture
def seed() -> dict[str, Any]:
    return demo_seed()


def scopes(subtasks: bool) -> list[Scope]:
    return [
        JqlScope(kind="jql", jql="project = PAY", include_subtasks=subtasks),
        JqlScope(kind="jql", jql="project = PAY ORDER BY key DESC", include_subtasks=subtasks),
        JqlScope(kind="jql", jql="labels = checkout", include_subtasks=subtasks),
        JiraEpicsScope(kind="jira_epics", epics=("PAY-1",), include_subtasks=subtasks),
        JiraEpicsScope(kind="jira_epics", epics=("PAY-1", "PLAT-1"), include_subtasks=subtasks),
        JiraIssuesScope(kind="jira_issues", issues=("PAY-4", "PAY-30"), include_subtasks=subtasks),
        JiraIssuesScope(kind="jira_issues", issues=("PAY-10",), include_subtasks=subtasks),
    ]


def sent_jql(server: SandboxServer) -> list[str]:
    """The JQL of every search and count the server received."""
    found = []
    for entry in server.log.entries():
        if isinstance(entry.body, dict) and isinstance(entry.body.get("jql"), str):
            found.append(entry.body["jql"])
        found += parse_qs(entry.query).get("jql", [])
    return found


@pytest.mark.parametrize("subtasks", [False, True], ids=["no-subtasks", "subtasks"])
def test_count_equals_the_items_fetch_returns(connector: JiraConnector, subtasks: bool) -> None:
    wanted = scopes(subtasks)
    counts = connector.count(wanted)
    requests = [FetchRequest(scope) for scope in wanted]
    results = connector.fetch(requests)
    for request in requests:
        result = results[request]
        assert isinstance(result, FetchResult), result
        count = counts[request.scope]
        assert count == len(result.items), request.scope
        assert result.total in (None, count), request.scope
        if not subtasks and not isinstance(request.scope, JiraIssuesScope):
            assert [i.key for i in result.items if i.is_subtask] == [], request.scope


def test_project_scope_counts_the_non_subtask_issues(connector: JiraConnector) -> None:
    scope = JqlScope(kind="jql", jql="project = PAY")
    request = FetchRequest(scope)
    result = connector.fetch([request])[request]
    assert isinstance(result, FetchResult)
    # PAY-1..11, PAY-20..25 and PAY-30..49, less the sub-tasks PAY-10 and PAY-11.
    assert len(result.items) == 35 and connector.count([scope])[scope] == 35
    assert not {"PAY-10", "PAY-11"} & {item.key for item in result.items}


def test_subtasks_are_left_out_by_the_server(
    connector: JiraConnector, server: SandboxServer
) -> None:
    scope = JqlScope(kind="jql", jql="labels = checkout ORDER BY key")
    connector.count([scope])
    connector.fetch([FetchRequest(scope)])
    sent = sent_jql(server)
    assert len(sent) == 2
    assert all(f"issuetype not in ({SUBTASK_TYPE})" in jql for jql in sent), sent


def test_incremental_total_matches_a_full_read(connector: JiraConnector) -> None:
    scope = JqlScope(kind="jql", jql="project = PAY")
    since = datetime(2026, 11, 20, tzinfo=UTC)
    full, recent = FetchRequest(scope), FetchRequest(scope, since=since)
    results = connector.fetch([full, recent])
    everything, changed = results[full], results[recent]
    assert isinstance(everything, FetchResult) and isinstance(changed, FetchResult)
    assert changed.total == len(everything.items) == 35
    assert 0 < len(changed.items) < len(everything.items)
