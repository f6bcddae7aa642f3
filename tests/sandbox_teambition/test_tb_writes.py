"""Writing through the Open API: custom fields, progress, story points, comments."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client

from okrsync.sandbox.faults import Faults, RequestLog
from okrsync.sandbox.teambition import create_app, demo_section
from tests.sandbox_teambition.conftest import OPERATOR, PROJECT, Api, headers

HOME = "tb-task-okr-home"
UPDATE = f"/v3/task/{HOME}/customfield/update"


def _values(api: Api, task_id: str = HOME) -> dict[str, list[str]]:
    _, body = api.get("/v3/task/query", taskId=task_id)
    fields = body["result"][0]["customfields"]
    return {cf["cfId"]: [v["title"] for v in cf["value"]] for cf in fields}


def _item(title: str, item_id: str = "") -> dict[str, str]:
    return {"id": item_id, "title": title, "metaString": ""}


def test_update_by_id_sets_the_value_and_moves_updated(api: Api) -> None:
    _, latest = api.get(f"/v3/project/{PROJECT}/task/query", q="ORDER BY updated DESC")
    last_seen = latest["result"][0]["updated"]
    status, body = api.post(UPDATE, {"customfieldId": "cf-okr-progress", "value": [_item("63")]})
    assert (status, body["code"]) == (200, 200)
    assert body["result"]["updated"] > last_seen
    assert _values(api) == {"cf-okr-progress": ["63"]}
    _, changed = api.get("/v2/all-task/search", tql=f"updated > '{last_seen}'")
    assert changed["result"] == [HOME]


def test_update_by_name_and_dropdown_by_title_or_choice_id(api: Api) -> None:
    status, _ = api.post(UPDATE, {"customfieldName": "OKR Status", "value": [_item("At risk")]})
    assert status == 200
    assert _values(api) == {"cf-okr-status": ["At risk"]}
    status, _ = api.post(
        UPDATE, {"customfieldId": "cf-okr-status", "value": [_item("", "cf-okr-status-done")]}
    )
    assert status == 200
    assert _values(api) == {"cf-okr-status": ["Done"]}


def test_an_empty_value_clears_the_field(api: Api) -> None:
    api.post(UPDATE, {"customfieldId": "cf-okr-summary", "value": [_item("62% of 8 items")]})
    status, _ = api.post(UPDATE, {"customfieldId": "cf-okr-summary", "value": []})
    assert status == 200
    assert _values(api) == {}


def test_values_are_checked_against_the_field_type(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"customfieldId": "cf-okr-progress", "value": [_item("lots")]}, "is not a number"),
        ({"customfieldId": "cf-okr-progress", "value": [_item("1"), _item("2")]}, "at most one"),
        ({"customfieldId": "cf-okr-status", "value": [_item("Great")]}, "'On track'"),
        ({"customfieldId": "cf-okr-progress", "value": [{"title": "5"}]}, "'id' key"),
        ({"customfieldId": "cf-okr-progress", "value": "5"}, "must be a list"),
        ({"customfieldId": "cf-okr-progress"}, "value is required"),
        ({"cfId": "cf-okr-progress", "value": [_item("5")]}, "customfieldId"),
        ({"customfieldId": "cf-nope", "value": [_item("5")]}, "'cf-nope' not found"),
        ({"customfieldName": "Nope", "value": [_item("5")]}, "'Nope' not found"),
    ]
    for body, reason in cases:
        status, answer = api.post(UPDATE, body)
        assert (status, answer["code"]) == (400, 400), body
        assert reason in answer["errorMessage"], (body, answer["errorMessage"])
    assert _values(api) == {}


def test_update_of_an_unknown_task_is_404(api: Api) -> None:
    body = {"customfieldId": "cf-okr-progress", "value": [_item("5")]}
    status, answer = api.post("/v3/task/tb-task-nope/customfield/update", body)
    assert (status, answer["code"]) == (404, 404)


def test_update_by_alias() -> None:
    section = demo_section()
    section["customfields"][PROJECT][0]["alias"] = "okr_progress"
    client = Client(create_app(section, Faults(), RequestLog()))
    response = client.post(
        f"/api{UPDATE}",
        headers=headers(),
        json={"customfieldAlias": "okr_progress", "value": [_item("12.5")]},
    )
    body = response.json
    assert response.status_code == 200 and body is not None and body["code"] == 200
    task = client.get("/api/v3/task/query", headers=headers(), query_string={"taskId": HOME}).json
    assert task is not None
    assert task["result"][0]["customfields"][0]["value"][0]["title"] == "12.5"


def test_writes_are_recorded_as_activities_of_the_operator(api: Api) -> None:
    api.post(UPDATE, {"customfieldId": "cf-okr-progress", "value": [_item("10")]})
    body = {"customfieldId": "cf-okr-expected", "value": [_item("50")], "disableActivity": True}
    api.post(UPDATE, body)
    status, listing = api.get(f"/v3/task/{HOME}/activity/list")
    assert status == 200
    assert [(a["action"], a["creatorId"]) for a in listing["result"]] == [
        ("task.customfield.update", OPERATOR)
    ]
    assert "OKR Progress" in listing["result"][0]["message"]


def test_progress_and_story_points(api: Api) -> None:
    status, body = api.put(f"/v3/task/{HOME}/progress", {"progress": 40})
    assert status == 200 and body["result"]["progress"] == 40
    for bad in ({"progress": 101}, {"progress": "40"}, {"progress": 4.5}, {}):
        status, body = api.put(f"/v3/task/{HOME}/progress", bad)
        assert (status, body["code"]) == (400, 400), bad
    status, body = api.put(f"/v3/task/{HOME}/storyPoint", {"storyPoint": "5"})
    assert status == 200 and body["result"]["storyPoint"] == "5"
    for bad in ({"storyPoint": 5}, {"storyPoint": "five"}, {"storyPoint": "-1"}):
        status, body = api.put(f"/v3/task/{HOME}/storyPoint", bad)
        assert (status, body["code"]) == (400, 400), bad
    _, home = api.get("/v3/task/query", taskId=HOME)
    assert (home["result"][0]["progress"], home["result"][0]["storyPoint"]) == (40, "5")


def test_comments_are_kept_and_listed(api: Api) -> None:
    status, body = api.post(f"/v3/task/{HOME}/comment", {"content": "Progress 40 % (3/8 done)"})
    assert status == 200
    assert body["result"]["creatorId"] == OPERATOR
    assert body["result"]["content"]["comment"] == "Progress 40 % (3/8 done)"
    assert api.server.data.list_comments(HOME)[0]["content"]["comment"].startswith("Progress")
    _, listing = api.get(f"/v3/task/{HOME}/activity/list", actions="comment")
    assert [a["message"] for a in listing["result"]] == ["Progress 40 % (3/8 done)"]
    status, body = api.post(f"/v3/task/{HOME}/comment", {"content": "  "})
    assert (status, body["code"]) == (400, 400)


def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    status, body = api.call("POST", UPDATE, content=b"customfieldId=cf-okr-progress")
    assert (status, body["code"]) == (400, 400)
    assert "JSON object" in body["errorMessage"]
