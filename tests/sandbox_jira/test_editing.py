"""Editing issues: Jira's answers for screens, value types, links, properties and deletes."""

from __future__ import annotations

from typing import Any

import httpx

from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.jira.model import parse_time
from okrsync.sandbox.server import SandboxServer, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH


def put(client: httpx.Client, key: str, fields: dict[str, object], **params: str) -> httpx.Response:
    return client.put(f"/rest/api/2/issue/{key}", json={"fields": fields}, params=params)


def test_off_screen_field_gets_jiras_exact_400(cloud_http: httpx.Client) -> None:
    answer = put(cloud_http, "PAY-2", {"customfield_10100": 0.5})
    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [],
        "errors": {
            "customfield_10100": "Field 'customfield_10100' cannot be set. It is not on the "
            "appropriate screen, or unknown."
        },
    }


def test_unknown_and_read_only_fields_are_off_screen(dc_http: httpx.Client) -> None:
    answer = put(dc_http, "OKR-1", {"customfield_99999": 1, "status": {"name": "Done"}})
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"customfield_99999", "status"}


def test_edit_is_all_or_nothing(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    before = cloud.data.issue("OKR-1").updated
    answer = put(cloud_http, "OKR-1", {"customfield_10100": 0.5, "customfield_10103": "high"})
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"customfield_10103": "Operation value must be a number"}
    issue = cloud_http.get("/rest/api/2/issue/OKR-1").json()
    assert issue["fields"]["customfield_10100"] is None
    assert issue["fields"]["updated"] == before


def test_values_of_each_type(cloud_http: httpx.Client) -> None:
    fields = {
        "customfield_10100": 0.25,
        "customfield_10101": {"value": "At risk"},
        "customfield_10102": "Behind on fraud scoring",
        "customfield_10105": "2026-11-27T10:00:00Z",
        "labels": ["okr"],
    }
    assert put(cloud_http, "OKR-2", fields, notifyUsers="false").status_code == 204
    got = cloud_http.get("/rest/api/2/issue/OKR-2").json()["fields"]
    assert got["customfield_10100"] == 0.25
    assert got["customfield_10101"]["value"] == "At risk"
    assert got["customfield_10102"] == "Behind on fraud scoring"
    assert got["customfield_10105"] == "2026-11-27T10:00:00.000+0000"
    assert got["labels"] == ["okr"]
    assert got["customfield_10104"] is None  # unset fields are null, not missing
    by_id = put(cloud_http, "OKR-2", {"customfield_10101": {"id": got["customfield_10101"]["id"]}})
    assert by_id.status_code == 204
    cleared = put(cloud_http, "OKR-2", {"customfield_10101": None, "customfield_10100": None})
    assert cleared.status_code == 204
    got = cloud_http.get("/rest/api/2/issue/OKR-2", params={"fields": "customfield_10101"}).json()
    assert got["fields"] == {"customfield_10101": None}


def test_invalid_values(cloud_http: httpx.Client) -> None:
    cases = {
        "customfield_10101": ({"value": "Maybe"}, "Option value 'Maybe' is not valid"),
        "customfield_10105": ("yesterday", "Invalid date format"),
        "customfield_10102": ("x" * 256, "The entered text is too long"),
        "summary": ("", "You must specify a summary of the issue."),
        "labels": (["two words"], "The label 'two words' contains spaces which is invalid."),
    }
    for fid, (value, message) in cases.items():
        answer = put(cloud_http, "OKR-3", {fid: value})
        assert answer.status_code == 400, fid
        assert answer.json()["errors"][fid].startswith(message)


def test_update_operations_on_labels(cloud_http: httpx.Client) -> None:
    body = {"update": {"labels": [{"add": "okr"}, {"add": "q4"}, {"remove": "checkout"}]}}
    assert cloud_http.put("/rest/api/2/issue/PAY-30", json=body).status_code == 204
    labels = cloud_http.get("/rest/api/2/issue/PAY-30").json()["fields"]["labels"]
    assert labels == ["okr", "q4"]


def test_return_issue_and_updated_bump(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    before = parse_time(cloud.data.issue("OKR-4").updated)
    answer = put(cloud_http, "OKR-4", {"customfield_10104": 0.9}, returnIssue="true")
    assert answer.status_code == 200
    assert answer.json()["key"] == "OKR-4"
    assert answer.json()["fields"]["customfield_10104"] == 0.9
    assert parse_time(answer.json()["fields"]["updated"]) > before


def test_rich_text_by_api_version(cloud_http: httpx.Client) -> None:
    assert put(cloud_http, "OKR-5", {"description": "plain"}).status_code == 204
    v3 = cloud_http.get("/rest/api/3/issue/OKR-5", params={"fields": "description"}).json()
    assert v3["fields"]["description"]["type"] == "doc"
    refused = cloud_http.put("/rest/api/3/issue/OKR-5", json={"fields": {"description": "x"}})
    assert refused.status_code == 400


def test_moving_to_another_epic(cloud_http: httpx.Client, dc_http: httpx.Client) -> None:
    assert put(cloud_http, "PAY-9", {"parent": {"key": "PAY-20"}}).status_code == 204
    search = cloud_http.get(
        "/rest/api/3/search/jql", params={"jql": "parent = PAY-20", "fields": "parent"}
    ).json()
    assert "PAY-9" in {i["key"] for i in search["issues"]}
    assert put(dc_http, "PAY-9", {"customfield_10014": "PAY-20"}).status_code == 204
    dc_issue = dc_http.get("/rest/api/2/issue/PAY-9").json()
    assert dc_issue["fields"]["customfield_10014"] == "PAY-20"
    assert "parent" not in dc_issue["fields"]
    not_epic = put(dc_http, "PAY-9", {"customfield_10014": "PAY-2"})
    assert not_epic.status_code == 400
    assert put(dc_http, "PAY-9", {"parent": {"key": "PAY-20"}}).status_code == 400


def test_editmeta_follows_the_screen(cloud_http: httpx.Client) -> None:
    okr = cloud_http.get("/rest/api/2/issue/OKR-1/editmeta").json()["fields"]
    status = okr["customfield_10101"]
    assert [v["value"] for v in status["allowedValues"]] == [
        "Not started",
        "On track",
        "At risk",
        "Off track",
        "Done",
        "Stale",
    ]
    assert status["operations"] == ["set"]
    pay = cloud_http.get("/rest/api/2/issue/PAY-2/editmeta").json()["fields"]
    assert "customfield_10100" not in pay and "customfield_10016" in pay


def test_per_issue_editable_list() -> None:
    seed = demo_jira_seed()
    for raw in seed["issues"]:
        if raw["key"] == "OKR-6":
            raw["editable"] = ["summary"]
    with start_sandbox({"jira": seed}, jira=("cloud",), teambition=False) as sb:
        url = f"{sb.jira['cloud'].url}/rest/api/2/issue/OKR-6"
        refused = httpx.put(url, json={"fields": {"customfield_10100": 1}}, auth=CLOUD_AUTH)
        assert refused.status_code == 400
        allowed = httpx.put(url, json={"fields": {"summary": "Renamed"}}, auth=CLOUD_AUTH)
        assert allowed.status_code == 204


def test_delete_issue(cloud_http: httpx.Client) -> None:
    refused = cloud_http.delete("/rest/api/2/issue/PAY-4")
    assert refused.status_code == 400  # it has sub-tasks
    assert (
        cloud_http.delete("/rest/api/2/issue/PAY-4", params={"deleteSubtasks": "true"}).status_code
        == 204
    )
    for key in ("PAY-4", "PAY-10"):
        assert cloud_http.get(f"/rest/api/2/issue/{key}").status_code == 404


def test_comments_v2(dc_http: httpx.Client) -> None:
    created = dc_http.post("/rest/api/2/issue/PAY-1/comment", json={"body": "KR on track"})
    assert created.status_code == 201
    listed = dc_http.get("/rest/api/2/issue/PAY-1/comment").json()
    assert [c["body"] for c in listed["comments"]] == ["KR on track"]
    assert listed["comments"][0]["author"]["name"] == "demo"
    assert dc_http.post("/rest/api/2/issue/PAY-1/comment", json={"body": ""}).status_code == 400


def test_property_limits(cloud_http: httpx.Client) -> None:
    url = "/rest/api/2/issue/OKR-1/properties/big"
    too_big = cloud_http.put(url, content=b'"' + b"x" * 32768 + b'"')
    assert too_big.status_code == 400
    assert cloud_http.get(url).status_code == 404


def test_bulk_edit_reports_failures(cloud_http: httpx.Client) -> None:
    task = cloud_http.post(
        "/rest/api/3/bulk/issues/fields",
        json={
            "selectedIssueIdsOrKeys": ["OKR-1", "PAY-2", "NOPE-1"],
            "selectedActions": ["customfield_10101"],
            "editedFieldsInput": {
                "singleSelectFields": [
                    {"fieldId": "customfield_10101", "option": {"optionId": 10301}}
                ]
            },
        },
    ).json()["taskId"]
    progress: dict[str, Any] = {}
    for _ in range(5):
        progress = cloud_http.get(f"/rest/api/3/bulk/queue/{task}").json()
        if progress["status"] == "COMPLETE":
            break
    assert progress["status"] == "COMPLETE"
    assert progress["processedAccessibleIssues"] == [12001]
    assert list(progress["failedAccessibleIssues"]) == ["10002"]
    assert progress["invalidOrInaccessibleIssueCount"] == 1
    okr1 = cloud_http.get("/rest/api/3/issue/OKR-1", params={"fields": "customfield_10101"})
    assert okr1.json()["fields"]["customfield_10101"]["value"] == "On track"
    missing = cloud_http.post(
        "/rest/api/3/bulk/issues/fields",
        json={
            "selectedIssueIdsOrKeys": ["OKR-1"],
            "selectedActions": ["customfield_10100"],
            "editedFieldsInput": {},
        },
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["message"]
