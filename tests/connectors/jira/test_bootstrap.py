"""``okrsync fields bootstrap``: creating okrsync's custom fields on a site that lacks them.

Cloud gets every field and the "OKR Status" options over REST; Data Center has no REST
endpoint for select options, so okrsync says how to add them by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connectors.base import FieldRef, FieldWrite
from connectors.jira import JiraConnector
from connectors.jira.fields import STATUS_OPTIONS, field_specs
from okrsync.commands.fields import fields_group
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import CREDENTIALS, requests_to
from tests.connectors.jira.seeds import OKR_FIELDS, small_seed

OKR_NAMES = [name for name, _ in OKR_FIELDS.values()]


@pytest.fixture
def seed() -> dict[str, Any]:
    """The small seed without okrsync's fields; project OKR's screen offers every field."""
    data = small_seed()
    jira = data["jira"]
    jira["fields"] = [f for f in jira["fields"] if f["id"] not in OKR_FIELDS]
    del jira["screens"]["OKR"]
    return data


def field_names(connector: JiraConnector) -> set[str]:
    connector.refresh()
    return {f.name for f in connector.client.catalog().fields}


def status_choices(connector: JiraConnector, key: str, field_id: str) -> list[str]:
    meta = connector.client.jira.editmeta(key)["fields"][field_id]
    return [option["value"] for option in meta["allowedValues"]]


def posts(server: SandboxServer) -> list[Any]:
    return [e for e in server.log.entries() if e.method == "POST"]


@pytest.mark.parametrize("flavour", ["cloud"])
def test_cloud_bootstrap_creates_every_field_with_the_status_options(
    connector: JiraConnector, server: SandboxServer
) -> None:
    assert not set(OKR_NAMES) & field_names(connector)
    created = connector.ensure_fields(field_specs())
    assert sorted(c.spec.name for c in created) == sorted(OKR_NAMES)
    assert set(OKR_NAMES) <= field_names(connector)
    status = next(c for c in created if c.spec.name == "OKR Status")
    assert status.id is not None
    assert status.note == f"options: {', '.join(STATUS_OPTIONS)}"
    assert status_choices(connector, "OKR-1", status.id) == list(STATUS_OPTIONS)

    write = FieldWrite("OKR-1", "OKR Status", "On track")
    assert connector.write_fields([write]) == {write: None}
    ref = FieldRef("OKR-1", "OKR Status")
    assert connector.read_fields([ref]) == {ref: "On track"}

    server.log.clear()
    assert connector.ensure_fields(field_specs()) == []
    assert posts(server) == []


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_dry_run_lists_the_missing_fields_and_creates_nothing(
    connector: JiraConnector, server: SandboxServer
) -> None:
    planned = connector.ensure_fields(field_specs(), dry_run=True)
    assert sorted(c.spec.name for c in planned) == sorted(OKR_NAMES)
    assert {c.id for c in planned} == {None}
    assert posts(server) == []
    assert not set(OKR_NAMES) & field_names(connector)


@pytest.mark.parametrize("flavour", ["datacenter"])
def test_data_center_bootstrap_says_how_to_add_the_options_by_hand(
    connector: JiraConnector, server: SandboxServer
) -> None:
    created = connector.ensure_fields(field_specs())
    assert sorted(c.spec.name for c in created) == sorted(OKR_NAMES)
    status = next(c for c in created if c.spec.name == "OKR Status")
    assert status.note.startswith("add its options by hand")
    assert "Edit Options" in status.note and ", ".join(STATUS_OPTIONS) in status.note
    assert requests_to(server, "/context") == []
    write = FieldWrite("OKR-1", "OKR Status", "On track")
    refused = connector.write_fields([write])[write]
    assert refused is not None and "Option value 'On track' is not valid" in refused.message

    assert status.id is not None
    server.data.add_options(status.id, STATUS_OPTIONS)  # the administrator's part
    assert connector.write_fields([write]) == {write: None}
    server.log.clear()
    assert connector.ensure_fields(field_specs()) == []
    assert posts(server) == []


def _with_status_options(*options: str) -> dict[str, Any]:
    data = small_seed()
    status = next(f for f in data["jira"]["fields"] if f["name"] == "OKR Status")
    status["options"] = list(options)
    return data


@pytest.mark.parametrize("flavour", ["cloud"])
@pytest.mark.parametrize("seed", [_with_status_options("On track", "Done")])
def test_cloud_bootstrap_completes_an_existing_status_field(
    connector: JiraConnector, server: SandboxServer
) -> None:
    # An earlier run created "OKR Status" but only two of its options made it, and an
    # administrator has since disabled one of them.
    field_id = "customfield_10101"
    (context,) = server.data.fields[field_id].contexts
    done_option = next(o for o in context.options if o["value"] == "Done")
    server.data.update_options(field_id, context.id, [{"id": done_option["id"], "disabled": True}])
    assert status_choices(connector, "OKR-1", field_id) == ["On track"]
    to_add = ["Not started", "At risk", "Off track", "Stale", "Done"]

    planned = connector.ensure_fields(field_specs(), dry_run=True)
    assert [(c.spec.name, c.action, c.note) for c in planned] == [
        ("OKR Status", "add options", ", ".join(to_add))
    ]
    assert [e for e in server.log.entries() if e.method != "GET"] == []

    done = connector.ensure_fields(field_specs())
    assert [(c.spec.name, c.id, c.action, c.note) for c in done] == [
        ("OKR Status", field_id, "add options", ", ".join(to_add))
    ]
    assert sorted(status_choices(connector, "OKR-1", field_id)) == sorted(STATUS_OPTIONS)
    writes = [FieldWrite("OKR-1", "OKR Status", "Stale"), FieldWrite("OKR-2", "OKR Status", "Done")]
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    server.log.clear()
    assert connector.ensure_fields(field_specs()) == []
    assert posts(server) == []


def _with_text_progress() -> dict[str, Any]:
    data = small_seed()
    progress = next(f for f in data["jira"]["fields"] if f["name"] == "OKR Progress")
    progress["type"] = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
    return data


@pytest.mark.parametrize("seed", [_with_text_progress()])
def test_a_field_of_the_wrong_kind_is_reported_not_changed(
    connector: JiraConnector, server: SandboxServer
) -> None:
    (wrong,) = connector.ensure_fields(field_specs())
    assert (wrong.spec.name, wrong.action) == ("OKR Progress", "wrong type")
    assert wrong.note == (
        "'OKR Progress' (customfield_10100) holds text values, okrsync writes number values "
        "to it: rename that field, or name another one in the mapping's write fields"
    )
    assert posts(server) == []


def bootstrap(server: SandboxServer, flavour: str, tmp_path: Path, *args: str) -> Result:
    env = {f"OKRSYNC_JIRA__MAIN__{k.upper()}": v for k, v in CREDENTIALS[flavour].items()}
    env.update(OKRSYNC_JIRA__MAIN__URL=server.url, OKRSYNC_MAPPINGS=str(tmp_path / "none"))
    return CliRunner().invoke(fields_group, ["bootstrap", *args], env=env)


@pytest.mark.parametrize("flavour", ["cloud"])
@pytest.mark.parametrize("seed", [_with_status_options("On track", "Done")])
def test_bootstrap_command_reports_added_options(
    server: SandboxServer, flavour: str, tmp_path: Path
) -> None:
    dry = bootstrap(server, flavour, tmp_path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "  would add     OKR Status options: Not started, At risk, Off track, Stale\n" in (
        dry.output
    )
    made = bootstrap(server, flavour, tmp_path)
    assert made.exit_code == 0, made.output
    assert "  added         OKR Status options: Not started, At risk, Off track, Stale\n" in (
        made.output
    )
    assert "  exists        OKR Progress\n" in made.output
    assert "next:" not in made.output  # nothing new to put on a screen


@pytest.mark.parametrize("seed", [_with_text_progress()])
def test_bootstrap_command_fails_on_a_field_of_the_wrong_kind(
    server: SandboxServer, flavour: str, tmp_path: Path
) -> None:
    result = bootstrap(server, flavour, tmp_path)
    assert result.exit_code == 1
    assert "  wrong type    OKR Progress: 'OKR Progress' (customfield_10100) holds text" in (
        result.output
    )
