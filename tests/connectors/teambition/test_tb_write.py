"""Custom-field reads and writes, comments, preflight and the app token, over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt
import pytest

from connectors.base import (
    FieldNotEditableError,
    FieldRef,
    FieldWrite,
    NotFoundError,
)
from connectors.teambition import TeambitionConnector
from connectors.teambition.http import TOKEN_LIFETIME, TOKEN_RENEW_BEFORE
from mappings.schema import (
    Scope,
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTqlScope,
)
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import SandboxServer
from tests.connectors.teambition.conftest import (
    APP_ID,
    HOME,
    PROJECT,
    MakeConnector,
    Recorder,
    api_entries,
)

TAG = TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("tb-tag-okr",))


def _posts(server: SandboxServer) -> list[LoggedRequest]:
    return [e for e in api_entries(server) if e.method == "POST"]


def _stored(server: SandboxServer, task: str, cf_id: str) -> list[dict[str, str]]:
    record = server.data.task(task)
    assert record is not None
    for entry in record["customfields"]:
        if entry["cfId"] == cf_id:
            return list(entry["value"])
    return []


def test_writes_land_with_activity_and_notification_off(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    writes = [
        FieldWrite(HOME, "OKR Progress", 63.5),
        FieldWrite(HOME, "OKR Status", "On track"),
        FieldWrite(HOME, "OKR Summary", "6 of 8 crash fixes done"),
    ]
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    assert _stored(tb, HOME, "cf-okr-progress") == [{"id": "", "title": "63.5", "metaString": ""}]
    assert _stored(tb, HOME, "cf-okr-status")[0]["title"] == "On track"
    assert _stored(tb, HOME, "cf-okr-status")[0]["id"] == "cf-okr-status-on-track"
    assert _stored(tb, HOME, "cf-okr-summary")[0]["title"] == "6 of 8 crash fixes done"
    posts = _posts(tb)
    assert len(posts) == 3
    for entry in posts:
        assert entry.path == f"/api/v3/task/{HOME}/customfield/update"
        assert entry.body["disableActivity"] is True
        assert entry.body["disableNotification"] is True
    assert tb.data.list_activities(HOME) == []  # nothing in people's feeds


def test_read_fields_in_write_forms(connector: TeambitionConnector, tb: SandboxServer) -> None:
    refs = [FieldRef(HOME, name) for name in ("OKR Progress", "OKR Status", "OKR Summary")]
    assert connector.read_fields(refs) == dict.fromkeys(refs)
    connector.write_fields(
        [
            FieldWrite(HOME, "OKR Progress", 12.25),
            FieldWrite(HOME, "OKR Status", "Off track"),
            FieldWrite(HOME, "OKR Summary", "behind"),
        ]
    )
    assert connector.read_fields(refs) == dict(
        zip(refs, [12.25, "Off track", "behind"], strict=True)
    )


def test_clearing_a_field(connector: TeambitionConnector, tb: SandboxServer) -> None:
    tb.data.set_customfield(HOME, "cf-okr-expected", "50")
    write = FieldWrite(HOME, "OKR Expected", None)
    assert connector.write_fields([write]) == {write: None}
    assert _stored(tb, HOME, "cf-okr-expected") == []


def test_write_errors_name_the_fix(connector: TeambitionConnector, tb: SandboxServer) -> None:
    missing_field = FieldWrite(HOME, "OKR Forecast", 1.0)
    bad_choice = FieldWrite(HOME, "OKR Status", "Sideways")
    missing_task = FieldWrite("tb-task-gone", "OKR Progress", 1.0)
    fine = FieldWrite(HOME, "OKR Progress", 5.0)
    answers = connector.write_fields([missing_field, bad_choice, missing_task, fine])
    assert isinstance(answers[missing_field], NotFoundError)
    assert answers[missing_field].message == (  # type: ignore[union-attr]
        "Teambition project Mobile App has no custom field 'OKR Forecast': "
        "add custom field 'OKR Forecast' to project Mobile App"
    )
    assert isinstance(answers[bad_choice], FieldNotEditableError)
    assert "'Sideways' is not a choice" in answers[bad_choice].message  # type: ignore[union-attr]
    assert "On track" in answers[bad_choice].message  # type: ignore[union-attr]
    assert isinstance(answers[missing_task], NotFoundError)
    assert "'tb-task-gone'" in answers[missing_task].message  # type: ignore[union-attr]
    assert answers[fine] is None
    assert len(_posts(tb)) == 1


def test_comment_reaches_the_task(connector: TeambitionConnector, tb: SandboxServer) -> None:
    connector.add_comment(HOME, "Status changed: at risk -> on track")
    comments = tb.data.list_comments(HOME)
    assert [c["content"]["comment"] for c in comments] == ["Status changed: at risk -> on track"]
    assert comments[0]["creatorId"] == "tb-user-ana"


def test_preflight_reports_every_problem_with_its_fix(connector: TeambitionConnector) -> None:
    scopes: list[Scope] = [
        TAG,
        TeambitionParentScope(kind="teambition_parent", task="tb-task-onboarding"),
        TeambitionSprintScope(kind="teambition_sprint", project=PROJECT, sprint="tb-sprint-42"),
        TeambitionTqlScope(kind="teambition_tql", project=PROJECT, tql="isDone = = true"),
        TeambitionTqlScope(kind="teambition_tql", project="tb-proj-gone"),
        TeambitionParentScope(kind="teambition_parent", task="tb-task-gone"),
    ]
    fields = {HOME: ["OKR Progress", "OKR Forecast"], "tb-task-gone": ["OKR Progress"]}
    report = connector.preflight(scopes, fields)
    found = {(p.where, p.fix) for p in report.problems}
    assert found == {
        ("project 'tb-proj-mobile' TQL 'isDone = = true'", "fix the TQL in the mapping"),
        (
            "project 'tb-proj-gone'",
            "check the project id in the mapping (it is in the project's URL)",
        ),
        ("sub-tasks of task 'tb-task-gone'", "check the task id in the mapping"),
        (f"task '{HOME}'", "add custom field 'OKR Forecast' to project Mobile App"),
        ("task 'tb-task-gone'", "check the task id in the mapping"),
    }
    assert report.info["tags tb-tag-okr in project 'tb-proj-mobile'"] == "8 tasks"


@pytest.mark.parametrize(
    ("override", "fix"),
    [
        ({"app_secret": "wrong"}, "set app_id and app_secret"),
        ({"tenant_id": "tb-org-nope"}, "set tenant_id"),
    ],
)
def test_preflight_stops_at_bad_credentials(
    make_connector: MakeConnector, override: dict[str, str], fix: str
) -> None:
    report = make_connector(**override).preflight([TAG], {HOME: ["OKR Progress"]})
    assert len(report.problems) == 1
    assert report.problems[0].where == "connection 'main'"
    assert report.problems[0].fix.startswith(fix)


def test_clean_preflight(connector: TeambitionConnector) -> None:
    report = connector.preflight([TAG], {HOME: ["OKR Progress", "OKR Status"]})
    assert report.problems == []


# ------------------------------------------------------------------ app token


def test_token_is_renewed_before_it_expires(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    """The clock starts close to an hour behind, then jumps to now: the first token has
    less than the renewal margin left, so a new one is signed and Teambition accepts it."""
    behind = TOKEN_LIFETIME - TOKEN_RENEW_BEFORE + 100
    now = [time.time() - behind]
    recorder = Recorder()
    connector = make_connector(transport=recorder, clock=lambda: now[0])
    assert connector.count([TAG]) == {TAG: 8}
    assert connector.count([TAG]) == {TAG: 8}
    now[0] += behind
    assert connector.count([TAG]) == {TAG: 8}
    tokens = [s.headers["authorization"].removeprefix("Bearer ") for s in recorder.sent]
    assert tokens[0] == tokens[1] != tokens[2]
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in (tokens[0], tokens[2])]
    assert [c["_appId"] for c in claims] == [APP_ID, APP_ID]
    assert claims[1]["iat"] - claims[0]["iat"] == pytest.approx(behind, abs=2)
    assert claims[1]["exp"] - claims[1]["iat"] == TOKEN_LIFETIME
    assert [e.status for e in api_entries(tb)] == [200, 200, 200]


def test_headers_carry_tenant_and_operator(make_connector: MakeConnector) -> None:
    recorder = Recorder()
    make_connector(transport=recorder).count([TAG])
    sent = recorder.sent[0].headers
    assert sent["x-tenant-id"] == "tb-org-demo"
    assert sent["x-tenant-type"] == "organization"
    assert sent["x-operator-id"] == "tb-user-ana"
    assert sent["authorization"].startswith("Bearer ")


def test_a_time_written_to_a_text_field_is_written_once(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    moment = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    write = FieldWrite(HOME, "OKR Summary", moment)
    assert connector.write_fields([write]) == {write: None}
    assert connector.write_fields([write]) == {write: None}
    assert _stored(tb, HOME, "cf-okr-summary")[0]["title"] == "2026-11-27T10:30:00.000Z"
    assert len(_posts(tb)) == 1


def test_preflight_names_tags_and_sprints_the_project_lacks(
    connector: TeambitionConnector,
) -> None:
    scopes: list[Scope] = [
        TeambitionTagsScope(
            kind="teambition_tags", project=PROJECT, tags=("tb-tag-okr", "tb-tag-gone")
        ),
        TeambitionSprintScope(kind="teambition_sprint", project=PROJECT, sprint="tb-sprint-99"),
        TeambitionSprintScope(kind="teambition_sprint", project=PROJECT, sprint="tb-sprint-42"),
    ]
    report = connector.preflight(scopes, {})
    assert [(p.where, p.message, p.fix) for p in report.problems] == [
        (
            "tags tb-tag-okr, tb-tag-gone in project 'tb-proj-mobile'",
            "Teambition project Mobile App has no tag 'tb-tag-gone': the scope would stay empty",
            "check the tag id in the mapping",
        ),
        (
            "sprint 'tb-sprint-99' in project 'tb-proj-mobile'",
            "Teambition project Mobile App has no sprint 'tb-sprint-99': the scope would stay "
            "empty",
            "check the sprint id in the mapping",
        ),
    ]


def test_preflight_without_access_to_tag_listings_still_passes(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.fail_in_envelope(code=403, message="no permission", count=1, path="/tag/search")
    report = connector.preflight([TAG], {})
    assert report.problems == []
    checked = report.info["tags tb-tag-okr in project 'tb-proj-mobile' (tag ids)"]
    assert checked.startswith("not checked: Teambition refused reading tags of project")
