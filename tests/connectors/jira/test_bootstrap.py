"""``okrsync fields bootstrap``: creating okrsync's custom fields on a site that lacks them.

Cloud gets every field and the "OKR Status" options over REST; Data Center has no REST
endpoint for select options, so okrsync says how to add them by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import FieldRef, FieldWrite
from connectors.jira import JiraConnector
from connectors.jira_fields import STATUS_OPTIONS, field_specs
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import requests_to
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
