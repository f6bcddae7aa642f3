"""``okrsync check`` for a Jira connection: every problem at once, each with its fix."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Problem
from connectors.jira import JiraConnector
from mappings.schema import JiraEpicsScope, JiraIssuesScope, JqlScope, Scope
from tests.connectors.jira.seeds import small_seed


def test_all_problems_are_reported_together(connector: JiraConnector, flavour: str) -> None:
    scopes: list[Scope] = [
        JiraEpicsScope(kind="jira_epics", epics=("PAY-1",)),
        JiraIssuesScope(kind="jira_issues", issues=("PAY-30",)),
        JqlScope(kind="jql", jql="labels = checkout ORDER BY key"),
        JqlScope(kind="jql", jql="project = = PAY"),
    ]
    fields = {
        "OKR-1": ["OKR Progress", "OKR Status", "OKR Confidence"],
        "PAY-1": ["OKR Progress"],
        "PAY-404": ["OKR Progress"],
    }
    report = connector.preflight(scopes, fields)
    assert report.connection == flavour
    assert report.info["flavour"] == flavour and report.info["user"] == "Demo User"
    got = {(p.where, p.message, p.fix) for p in report.problems}
    assert (
        "field 'OKR Confidence'",
        f"field 'OKR Confidence' does not exist on Jira connection '{flavour}'",
        "create field 'OKR Confidence' (okrsync fields bootstrap)",
    ) in got
    assert (
        "PAY-1",
        "field 'OKR Progress' cannot be set on PAY-1",
        "add field 'OKR Progress' to the edit screen of project PAY",
    ) in got
    missing = [p for p in report.problems if p.where == "PAY-404"]
    assert len(missing) == 1 and "issue PAY-404 does not exist" in missing[0].message
    bad = [p for p in report.problems if p.where == "jql scope 'project = = PAY'"]
    assert len(bad) == 1 and bad[0].fix == "fix the query in the mapping"
    assert bad[0].scope == scopes[3]  # so `okrsync check` can name the KRs that use it
    assert len(report.problems) == 4


def test_a_healthy_connection_has_no_problems(connector: JiraConnector) -> None:
    report = connector.preflight(
        [JiraEpicsScope(kind="jira_epics", epics=("PAY-1", "PAY-20"), include_subtasks=True)],
        {"OKR-1": ["OKR Progress", "OKR Status", "OKR Last Synced"]},
    )
    assert report.problems == list[Problem]()


def _status_with(*options: str) -> dict[str, Any]:
    data = small_seed()
    status = next(f for f in data["jira"]["fields"] if f["name"] == "OKR Status")
    status["options"] = list(options)
    return data


@pytest.mark.parametrize("seed", [_status_with("On track", "Done")])
def test_missing_status_options_are_reported_with_the_fix(
    connector: JiraConnector, flavour: str
) -> None:
    report = connector.preflight([], {"OKR-1": ["OKR Progress", "OKR Status"]})
    (problem,) = report.problems
    assert (problem.where, problem.message) == (
        "OKR-1",
        "field 'OKR Status' on OKR-1 lacks the options okrsync writes: "
        "Not started, At risk, Off track, Stale",
    )
    if flavour == "cloud":
        assert problem.fix == "run 'okrsync fields bootstrap', which adds them"
    else:
        assert problem.fix.startswith("add its options by hand")
        assert "Edit Options to add Not started, At risk, Off track, Stale" in problem.fix
