"""Over HTTP, against a sandbox seeded beyond the demo: a second project whose custom fields
have other ids under the same names, a date field, odd story points and quoted ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.base import FetchRequest, FetchResult, FieldWrite
from connectors.teambition import TeambitionConnector
from mappings.schema import TeambitionParentScope, TeambitionSprintScope, TeambitionTagsScope
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import SandboxServer, start_sandbox
from okrsync.sandbox.teambition.demo import demo_section
from tests.connectors.teambition.conftest import HOME, PROJECT, MakeConnector, api_entries

WEB = "tb-proj-web"
WEB_HOME = "tb-task-web-home"
ODD_PARENT = "tb-task-odd-points"
ODD_POINTS = ["0.5", " 3 ", "", "?", "three", "-2"]


def _seed() -> dict[str, Any]:
    section = demo_section()
    section["projects"].append(
        {"id": WEB, "name": "Web App", "organizationId": "tb-org-demo", "uniqueIdPrefix": "WEB"}
    )
    section["customfields"][WEB] = [
        {"id": "cf-web-summary", "name": "OKR Summary", "type": "text"},
        {"id": "cf-web-progress", "name": "OKR Progress", "type": "number"},
        {
            "id": "cf-web-status",
            "name": "OKR Status",
            "type": "dropDown",
            "choices": [{"id": "web-on-track", "value": "On track"}],
        },
    ]
    section["customfields"][PROJECT].append(
        {"id": "cf-okr-last-synced", "name": "OKR Last Synced", "type": "date"}
    )
    tasks = section["tasks"]
    tasks.append({"id": WEB_HOME, "projectId": WEB, "content": "OKR: Web checkout"})
    tasks.append({"id": ODD_PARENT, "projectId": PROJECT, "content": "Odd estimates"})
    for n, points in enumerate(ODD_POINTS):
        tasks.append(
            {
                "id": f"{ODD_PARENT}-{n}",
                "projectId": PROJECT,
                "content": f"odd {n}",
                "parentTaskId": ODD_PARENT,
                "storyPoint": points,
            }
        )
    tasks.append(
        {
            "id": "tb-task-quoted",
            "projectId": PROJECT,
            "content": "carries a quoted tag",
            "tagIds": ["it's"],
            "sprintId": "sprint 'q'",
        }
    )
    return {"teambition": section}


@pytest.fixture(scope="module")
def seeded_sandbox() -> Iterator[SandboxServer]:
    with start_sandbox(seed=_seed(), jira=(), teambition=True) as sb:
        assert sb.teambition is not None
        yield sb.teambition


@pytest.fixture
def seeded(seeded_sandbox: SandboxServer) -> SandboxServer:
    seeded_sandbox.data.reset()
    seeded_sandbox.faults.reset()
    seeded_sandbox.log.clear()
    return seeded_sandbox


@pytest.fixture
def conn(seeded: SandboxServer, make_connector: MakeConnector) -> TeambitionConnector:
    return make_connector(server=seeded)


def _stored(server: SandboxServer, task: str) -> dict[str, list[str]]:
    record = server.data.task(task)
    assert record is not None
    return {cf["cfId"]: [v["title"] for v in cf["value"]] for cf in record["customfields"]}


def _posts(server: SandboxServer) -> list[LoggedRequest]:
    return [e for e in api_entries(server) if e.method == "POST"]


def test_a_field_name_resolves_in_each_target_project(
    conn: TeambitionConnector, seeded: SandboxServer
) -> None:
    writes = [
        FieldWrite(HOME, "OKR Progress", 40.0),
        FieldWrite(WEB_HOME, "OKR Progress", 70.0),
        FieldWrite(HOME, "OKR Status", "On track"),
        FieldWrite(WEB_HOME, "OKR Status", "On track"),
    ]
    assert conn.write_fields(writes) == dict.fromkeys(writes)
    assert _stored(seeded, HOME) == {"cf-okr-progress": ["40"], "cf-okr-status": ["On track"]}
    assert _stored(seeded, WEB_HOME) == {"cf-web-progress": ["70"], "cf-web-status": ["On track"]}
    sent = {(e.path.split("/")[4], e.body["customfieldId"]) for e in _posts(seeded)}
    assert sent == {
        (HOME, "cf-okr-progress"),
        (HOME, "cf-okr-status"),
        (WEB_HOME, "cf-web-progress"),
        (WEB_HOME, "cf-web-status"),
    }
    record = seeded.data.task(WEB_HOME)
    assert record is not None
    choice = {cf["cfId"]: cf["value"][0]["id"] for cf in record["customfields"]}
    assert choice["cf-web-status"] == "web-on-track"
    # each project's definitions were looked up once for the whole batch
    searches = [e.path for e in api_entries(seeded) if e.path.endswith("/customfield/search")]
    assert sorted(searches) == [
        f"/api/v3/project/{PROJECT}/customfield/search",
        f"/api/v3/project/{WEB}/customfield/search",
    ]


def test_a_date_field_is_written_in_utc_and_only_when_it_changes(
    conn: TeambitionConnector, seeded: SandboxServer
) -> None:
    local = datetime(2026, 11, 27, 18, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    write = FieldWrite(HOME, "OKR Last Synced", local)
    assert conn.write_fields([write]) == {write: None}
    assert _stored(seeded, HOME) == {"cf-okr-last-synced": ["2026-11-27T10:30:00.123Z"]}
    same_moment = FieldWrite(HOME, "OKR Last Synced", local.astimezone(UTC))
    assert conn.write_fields([same_moment]) == {same_moment: None}
    assert len(_posts(seeded)) == 1
    later = FieldWrite(HOME, "OKR Last Synced", local + timedelta(minutes=5))
    conn.write_fields([later])
    assert len(_posts(seeded)) == 2


def test_a_number_halfway_between_roundings_is_written_once(
    conn: TeambitionConnector, seeded: SandboxServer
) -> None:
    write = FieldWrite(HOME, "OKR Progress", 1 / 32)
    for _ in range(3):
        assert conn.write_fields([write]) == {write: None}
    assert len(_posts(seeded)) == 1


def test_an_empty_summary_clears_the_field_once(
    conn: TeambitionConnector, seeded: SandboxServer
) -> None:
    assert conn.write_fields([FieldWrite(WEB_HOME, "OKR Summary", "")]) == {
        FieldWrite(WEB_HOME, "OKR Summary", ""): None
    }
    assert _posts(seeded) == []  # already empty
    conn.write_fields([FieldWrite(WEB_HOME, "OKR Summary", "3 of 4 done")])
    for _ in range(2):
        conn.write_fields([FieldWrite(WEB_HOME, "OKR Summary", "")])
    assert [e.body["value"] for e in _posts(seeded)] == [
        [{"id": "", "title": "3 of 4 done", "metaString": ""}],
        [],
    ]
    assert _stored(seeded, WEB_HOME) == {}


def test_story_point_strings_as_teambition_sends_them(conn: TeambitionConnector) -> None:
    request = FetchRequest(TeambitionParentScope(kind="teambition_parent", task=ODD_PARENT))
    result = conn.fetch([request])[request]
    assert isinstance(result, FetchResult)
    by_id = {i.id: i.estimate for i in result.items}
    assert [by_id[f"{ODD_PARENT}-{n}"] for n in range(len(ODD_POINTS))] == [
        0.5,
        3.0,
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("scope", "found"),
    [
        (TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("it's",)), 1),
        (TeambitionSprintScope(kind="teambition_sprint", project=PROJECT, sprint="sprint 'q'"), 1),
        (TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("x' OR '1'='1",)), 0),
        (
            TeambitionSprintScope(
                kind="teambition_sprint", project=PROJECT, sprint="x') OR (isDone = false"
            ),
            0,
        ),
    ],
    ids=["quoted-tag", "quoted-sprint", "tag-injection", "sprint-injection"],
)
def test_ids_with_quotes_are_values_never_tql(
    conn: TeambitionConnector, scope: object, found: int
) -> None:
    request = FetchRequest(scope)  # type: ignore[arg-type]
    result = conn.fetch([request])[request]
    assert isinstance(result, FetchResult), result
    assert [i.id for i in result.items] == ["tb-task-quoted"][:found]
    assert conn.count([request.scope]) == {request.scope: found}
