"""Writing okrsync's fields, comments and properties, and creating the fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.base import (
    AuthError,
    FetchRequest,
    FetchResult,
    FieldNotEditableError,
    FieldRef,
    FieldWrite,
)
from connectors.jira import JiraConnector
from connectors.jira.fields import field_specs
from mappings.schema import JqlScope
from okrsync.commands.fields import fields_group
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import (
    CREDENTIALS,
    VIEWER,
    ConnectorFactory,
    requests_to,
)
from tests.connectors.jira.seeds import many_seed

SYNCED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def puts(server: SandboxServer) -> list[object]:
    return [e for e in requests_to(server, "/issue/", "PUT") if "/properties/" not in e.path]


def test_writes_only_changes_in_one_put_per_issue(
    connector: JiraConnector, server: SandboxServer
) -> None:
    writes = [
        FieldWrite("OKR-1", "OKR Progress", 62.5),
        FieldWrite("OKR-1", "OKR Status", "At risk"),
        FieldWrite("OKR-1", "OKR Summary", "5 of 8 stories done"),
        FieldWrite("OKR-1", "OKR Last Synced", SYNCED),
        FieldWrite("OKR-2", "OKR Progress", 10.0),
    ]
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    sent = puts(server)
    assert len(sent) == 2
    assert all("notifyUsers=false" in e.query for e in sent)  # type: ignore[attr-defined]
    okr1 = next(e for e in sent if "customfield_10101" in json.dumps(e.body))  # type: ignore[attr-defined]
    assert okr1.body["fields"] == {  # type: ignore[attr-defined]
        "customfield_10100": 62.5,
        "customfield_10101": {"value": "At risk"},
        "customfield_10102": "5 of 8 stories done",
        "customfield_10105": "2026-11-28T10:00:00.000+0000",
    }

    # The same values again: nothing is sent.
    server.log.clear()
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    assert puts(server) == []

    # One changed value (numbers within 1e-9 are equal): only it is sent.
    server.log.clear()
    again = [
        FieldWrite("OKR-1", "OKR Progress", 62.5 + 1e-12),
        FieldWrite("OKR-1", "OKR Status", "On track"),
    ]
    assert connector.write_fields(again) == dict.fromkeys(again)
    (only,) = puts(server)
    assert only.body == {"fields": {"customfield_10101": {"value": "On track"}}}  # type: ignore[attr-defined]


def test_clearing_a_value(connector: JiraConnector, server: SandboxServer) -> None:
    connector.write_fields([FieldWrite("OKR-2", "OKR Forecast", 0.8)])
    server.log.clear()
    connector.write_fields([FieldWrite("OKR-2", "OKR Forecast", None)])
    (sent,) = puts(server)
    assert sent.body == {"fields": {"customfield_10104": None}}  # type: ignore[attr-defined]
    assert connector.read_fields([FieldRef("OKR-2", "OKR Forecast")]) == {
        FieldRef("OKR-2", "OKR Forecast"): None
    }


def test_off_screen_field_names_the_fix_and_others_still_land(
    connector: JiraConnector,
) -> None:
    blocked = FieldWrite("PAY-1", "OKR Progress", 40.0)
    fine = FieldWrite("PAY-1", "Story Points", 13.0)
    results = connector.write_fields([blocked, fine])
    error = results[blocked]
    assert isinstance(error, FieldNotEditableError)
    assert error.message == (
        "field 'OKR Progress' cannot be set on PAY-1: add it to the edit screen of project PAY"
    )
    assert results[fine] is None
    assert connector.read_fields([FieldRef("PAY-1", "Story Points")]) == {
        FieldRef("PAY-1", "Story Points"): 13.0
    }


def test_unknown_select_option_keeps_jiras_words(
    connector: JiraConnector, server: SandboxServer
) -> None:
    write = FieldWrite("OKR-1", "OKR Status", "Maybe")
    # The edit screen read that words the message rides out a 503 like every other call.
    server.faults.fail(status=503, count=1, path="/editmeta")
    error = connector.write_fields([write])[write]
    assert isinstance(error, FieldNotEditableError)
    assert error.message == (
        "Jira refused the value for field 'OKR Status' on OKR-1: Option value 'Maybe' is not valid"
    )
    assert [e.status for e in requests_to(server, "/editmeta")] == [503, 200]


def test_unknown_field_and_wrong_value_kind(connector: JiraConnector) -> None:
    missing = FieldWrite("OKR-1", "OKR Confidence", 0.5)
    wrong = FieldWrite("OKR-1", "OKR Progress", "high")
    results = connector.write_fields([missing, wrong])
    assert "field 'OKR Confidence' does not exist" in results[missing].message  # type: ignore[union-attr]
    assert isinstance(results[wrong], FieldNotEditableError)


def test_issue_property_and_comment(connector: JiraConnector, server: SandboxServer) -> None:
    record = {"kr": "pay-checkout-v2", "progress": 0.625, "written": "2026-11-28T10:00:00Z"}
    assert connector.get_property("OKR-1", "okrsync") is None
    connector.set_property("OKR-1", "okrsync", record)
    assert connector.get_property("OKR-1", "okrsync") == record
    # Searchable in JQL, as people use it in filters and dashboards.
    found = FetchRequest(JqlScope(kind="jql", jql='issue.property[okrsync].kr = "pay-checkout-v2"'))
    result = connector.fetch([found])[found]
    assert isinstance(result, FetchResult) and [i.key for i in result.items] == ["OKR-1"]
    connector.add_comment("OKR-1", "Status changed: on track -> at risk")
    comments = server.data.issue("OKR-1").comments
    assert "at risk" in json.dumps(comments[-1])


def test_ensure_fields_creates_only_missing_ones(
    connector: JiraConnector, server: SandboxServer
) -> None:
    specs = field_specs(
        [
            ("progress", "OKR Progress"),
            ("status", "OKR Confidence Level"),
            ("forecast", "OKR Forecast 2"),
        ]
    )
    dry = connector.ensure_fields(specs, dry_run=True)
    assert [c.spec.name for c in dry] == ["OKR Confidence Level", "OKR Forecast 2"]
    assert requests_to(server, "/field", "POST") == []
    created = connector.ensure_fields(specs)
    assert [(c.spec.name, c.id is not None) for c in created] == [
        ("OKR Confidence Level", True),
        ("OKR Forecast 2", True),
    ]
    # The new field is known at once (the catalog was read again).
    ref = FieldRef("OKR-1", "OKR Forecast 2")
    assert connector.read_fields([ref]) == {ref: None}
    assert connector.ensure_fields(specs) == []


def test_ensure_fields_without_admin_rights(make_connector: ConnectorFactory, flavour: str) -> None:
    viewer = make_connector(**{**VIEWER[flavour]})
    with pytest.raises(AuthError) as raised:
        viewer.ensure_fields(field_specs([("progress", "OKR Brand New")]))
    assert "needs Jira administrator rights" in raised.value.message
    assert "'OKR Brand New'" in raised.value.message


MAPPING = """\
version: 1
defaults:
  write:
    fields: {progress: "KR Percent", status: "KR Health"}
objectives:
  - id: o1
    title: Ship big things
    period: 2026-Q4
    key_results:
      - id: kr1
        title: Big epic done
        scope: {kind: jira_epics, epics: [BIG-1]}
        measure: {kind: count}
        write: [{kind: jira_issue, key: BIG-2}]
"""


@pytest.mark.parametrize("seed", [many_seed(3)])
def test_fields_bootstrap_command(server: SandboxServer, flavour: str, tmp_path: Path) -> None:
    env = {f"OKRSYNC_JIRA__MAIN__{k.upper()}": v for k, v in CREDENTIALS[flavour].items()}
    env["OKRSYNC_JIRA__MAIN__URL"] = server.url
    env["OKRSYNC_MAPPINGS"] = str(tmp_path / "none")
    runner = CliRunner()
    dry = runner.invoke(fields_group, ["bootstrap", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would create  OKR Progress (number)" in dry.output
    assert "would create  OKR Status (select)" in dry.output
    assert requests_to(server, "/field", "POST") == []

    made = runner.invoke(fields_group, ["bootstrap", "--connection", "main"], env=env)
    assert made.exit_code == 0, made.output
    names = {f.name: f for f in server.data.fields.values()}
    for name in (
        "OKR Progress",
        "OKR Status",
        "OKR Summary",
        "OKR Expected",
        "OKR Forecast",
        "OKR Last Synced",
    ):
        assert f"created       {name}" in made.output
        assert name in names
    assert "next: add the new fields to the edit screens" in made.output
    again = runner.invoke(fields_group, ["bootstrap"], env=env)
    assert "exists        OKR Last Synced" in again.output
    assert "created" not in again.output

    # Names come from the mappings' write fields when there are mappings.
    (tmp_path / "okrs.yaml").write_text(MAPPING, encoding="utf-8")
    env["OKRSYNC_MAPPINGS"] = str(tmp_path)
    mapped = runner.invoke(fields_group, ["bootstrap"], env=env)
    assert mapped.exit_code == 0, mapped.output
    assert "created       KR Percent (number)" in mapped.output
    assert "created       KR Health (select)" in mapped.output
    assert "OKR Progress" not in mapped.output


def test_fields_bootstrap_unknown_connection(tmp_path: Path) -> None:
    env = {"OKRSYNC_JIRA__MAIN__URL": "http://127.0.0.1:9", "OKRSYNC_JIRA__MAIN__PAT": "x"}
    result = CliRunner().invoke(fields_group, ["bootstrap", "--connection", "other"], env=env)
    assert result.exit_code != 0
    assert "no Jira connection named 'other' (configured: main)" in str(result.exception)


def test_text_is_compared_as_jira_keeps_it(connector: JiraConnector, server: SandboxServer) -> None:
    long = "Checkout v2: " + "all stories done, " * 20
    writes = [FieldWrite("OKR-1", "OKR Summary", long), FieldWrite("OKR-2", "OKR Summary", "")]
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    stored = connector.read_fields([FieldRef("OKR-1", "OKR Summary")])
    assert stored == {FieldRef("OKR-1", "OKR Summary"): long[:254] + "\u2026"}
    # Jira keeps an empty text as no value, and the cut text as cut: nothing to send again.
    server.log.clear()
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    assert puts(server) == []


def test_a_number_that_is_not_finite_is_refused_before_sending(
    connector: JiraConnector, server: SandboxServer
) -> None:
    write = FieldWrite("OKR-1", "OKR Progress", float("nan"))
    error = connector.write_fields([write])[write]
    assert isinstance(error, FieldNotEditableError)
    assert "okrsync cannot write float nan" in error.message
    assert puts(server) == []
