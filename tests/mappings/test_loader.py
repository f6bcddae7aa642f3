"""Loading mapping files into the OKR tree, and the tree's lookups."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from mappings.loader import MappingError, load_mappings, mapping_files
from mappings.schema import FieldNames, JiraIssueTarget, JqlScope, TeambitionTaskTarget
from mappings.tree import OkrTree

COMPANY = """\
defaults:
  thresholds: {at_risk_behind: 0.05, off_track_behind: 0.2}
  checkins: true
objectives:
  - id: company
    title: Grow
    period: 2026
    key_results:
      - id: co-bugs
        title: Fewer bugs
        scope: {kind: jql, jql: project = PAY AND issuetype = Bug}
        measure: {kind: metric, only: open, start: 20, target: 5}
        flags: {checkins: false}
"""

TEAM = """\
defaults:
  write:
    fields: {progress: OKR Progress, status: OKR Status, summary: OKR Summary}
    progress_format: ratio
    connection: cloud
objectives:
  - id: pay
    title: Payments
    period: 2026-Q4
    parent: company
    thresholds: {at_risk_behind: 0.2, off_track_behind: 0.4}
    key_results:
      - id: pay-bugs
        title: Same bugs, seen by the team
        scope:
          - {kind: jql, jql: project = PAY AND issuetype = Bug}
          - {kind: jql, jql: project = PAY AND issuetype = Bug, connection: dc}
        measure: {kind: count}
        write:
          - {kind: jira_issue, key: OKR-1}
          - kind: jira_issue
            key: OKR-2
            connection: dc
            progress_format: percent
            fields: {summary: null, forecast: OKR Forecast}
      - id: pay-checkout
        title: Ship checkout v2
        scope: {kind: jira_epics, epics: [PAY-1]}
        measure: {kind: points}
        thresholds: {at_risk_behind: 0.3, off_track_behind: 0.5}
        flags: {checkins: true}
  - id: plat
    title: Platform
    period: 2026-Q4
    parent: company
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> OkrTree:
    write(tmp_path, "company.yaml", COMPANY)
    write(tmp_path, "teams/payments.yml", TEAM)
    return load_mappings(tmp_path)


def test_tree_holds_objectives_and_key_results_in_file_order(tree: OkrTree, tmp_path: Path) -> None:
    assert list(tree.objectives) == ["company", "pay", "plat"]
    assert list(tree.key_results) == ["co-bugs", "pay-bugs", "pay-checkout"]
    company = tree.objectives["company"]
    assert company.children == ("pay", "plat")
    assert company.objective.period == "2026"
    assert (company.file, company.line) == (str(tmp_path / "company.yaml"), 5)
    checkout = tree.key_results["pay-checkout"]
    assert (checkout.objective_id, checkout.line) == ("pay", 26)
    assert checkout.file == str(tmp_path / "teams/payments.yml")
    assert [node.objective.id for node in tree.roots()] == ["company"]


def test_scopes_are_deduplicated_across_key_results_and_files(tree: OkrTree) -> None:
    bugs = "project = PAY AND issuetype = Bug"
    scopes = tree.scopes()
    # The same query on another connection is another scope; the rest appear once.
    assert [(type(s).__name__, s.connection) for s in scopes] == [
        ("JqlScope", None),
        ("JqlScope", "dc"),
        ("JiraEpicsScope", None),
    ]
    assert scopes[0] == JqlScope(kind="jql", jql=bugs)


def test_effective_write_merges_target_over_file_defaults(tree: OkrTree) -> None:
    plain, custom = tree.effective_write("pay-bugs")
    assert plain.target == JiraIssueTarget(kind="jira_issue", key="OKR-1")
    assert plain.fields == FieldNames(
        progress="OKR Progress", status="OKR Status", summary="OKR Summary"
    )
    assert (plain.progress_format, plain.connection) == ("ratio", "cloud")
    # A null name stops that value being written on this target only.
    target, fields, progress_format, connection = custom
    assert isinstance(target, JiraIssueTarget)
    assert target.key == "OKR-2"
    assert fields == FieldNames(
        progress="OKR Progress", status="OKR Status", forecast="OKR Forecast"
    )
    assert (progress_format, connection) == ("percent", "dc")
    assert tree.effective_write("pay-checkout") == []
    assert tree.effective_write("co-bugs") == []


def test_effective_write_without_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mobile.yaml",
        """\
        objectives:
          - id: mobile
            title: Mobile
            period: 2026-Q4
            key_results:
              - id: mob
                title: Onboarding
                scope: {kind: teambition_parent, task: tb-task-onboarding}
                measure: {kind: count}
                write: [{kind: teambition_task, task: tb-task-okr-home}]
        """,
    )
    [(target, fields, progress_format, connection)] = load_mappings(path).effective_write("mob")
    assert target == TeambitionTaskTarget(kind="teambition_task", task="tb-task-okr-home")
    assert (fields, progress_format, connection) == (FieldNames(), "percent", None)


def test_thresholds_kr_over_objective_over_file(tree: OkrTree) -> None:
    assert tree.thresholds("pay-checkout").at_risk_behind == 0.3
    assert tree.thresholds("pay-bugs").at_risk_behind == 0.2
    assert tree.thresholds("co-bugs").at_risk_behind == 0.05


def test_checkins_kr_flag_over_file_default(tree: OkrTree) -> None:
    assert tree.checkins("co-bugs") is False  # file says yes, the KR says no
    assert tree.checkins("pay-bugs") is False  # file default
    assert tree.checkins("pay-checkout") is True


def test_directory_is_read_recursively_sorted_without_hidden_files(tmp_path: Path) -> None:
    for name in ("b.yaml", "a/z.yml", "a/c.yaml", ".hidden.yaml", ".git/x.yaml", "notes.txt"):
        write(tmp_path, name, "objectives: []\n")
    found = [p.relative_to(tmp_path).as_posix() for p in mapping_files(tmp_path)]
    assert found == ["a/c.yaml", "a/z.yml", "b.yaml"]
    assert load_mappings(tmp_path).objectives == {}


def test_a_directory_without_mapping_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as raised:
        load_mappings(tmp_path)
    [problem] = raised.value.problems
    assert problem.message == "no mapping files (*.yaml, *.yml) here"


def test_alias_and_anchor_values_are_plain_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "anchors.yaml",
        """\
        objectives:
          - id: pay
            title: Payments
            period: 2026-Q4
            key_results:
              - id: one
                title: One
                scope: &bugs {kind: jql, jql: project = PAY}
                measure: {kind: count, in_progress_credit: 0.5}
              - id: two
                title: Two
                scope: *bugs
                measure: {kind: manual, value: 0.25}
        """,
    )
    tree = load_mappings(path)
    assert len(tree.scopes()) == 1
    credit = tree.key_results["one"].kr.measure
    assert type(getattr(credit, "in_progress_credit")) is float  # noqa: B009
