"""Select options: managed through field contexts on Cloud, by hand on Data Center; issue
types; resetting a server's data."""

from __future__ import annotations

from typing import Any

import httpx

from okrsync.sandbox.server import SandboxServer
from tests.sandbox_jira.conftest import VIEWER_AUTH

SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"


def new_select(client: httpx.Client, name: str) -> tuple[str, str]:
    """Create a select field; return its id and its default context's option URL."""
    created = client.post("/rest/api/3/field", json={"name": name, "type": SELECT})
    assert created.status_code == 201
    field_id = created.json()["id"]
    contexts = client.get(f"/rest/api/3/field/{field_id}/context").json()["values"]
    return field_id, f"/rest/api/3/field/{field_id}/context/{contexts[0]['id']}/option"


def put_value(client: httpx.Client, key: str, field_id: str, value: Any) -> httpx.Response:
    return client.put(f"/rest/api/2/issue/{key}", json={"fields": {field_id: value}})


def allowed(client: httpx.Client, key: str, field_id: str) -> list[str]:
    meta = client.get(f"/rest/api/2/issue/{key}/editmeta").json()["fields"][field_id]
    return [o["value"] for o in meta["allowedValues"]]


def test_added_options_become_values_an_issue_can_take(cloud_http: httpx.Client) -> None:
    field_id, options = new_select(cloud_http, "Team mood")
    refused = put_value(cloud_http, "OKR-1", field_id, {"value": "Happy"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {field_id: "Option value 'Happy' is not valid"}
    assert allowed(cloud_http, "OKR-1", field_id) == []

    added = cloud_http.post(options, json={"options": [{"value": "Happy"}, {"value": "Tired"}]})
    assert added.status_code == 200
    assert allowed(cloud_http, "OKR-1", field_id) == ["Happy", "Tired"]
    assert put_value(cloud_http, "OKR-1", field_id, {"value": "Happy"}).status_code == 204
    got = cloud_http.get("/rest/api/2/issue/OKR-1", params={"fields": field_id}).json()
    assert got["fields"][field_id]["value"] == "Happy"
    found = cloud_http.get("/rest/api/3/search/jql", params={"jql": '"Team mood" = Happy'})
    assert [i["id"] for i in found.json()["issues"]] == [got["id"]]


def test_renamed_option_shows_on_issues_and_disabled_one_is_refused(
    cloud_http: httpx.Client,
) -> None:
    field_id, options = new_select(cloud_http, "Team mood")
    happy, tired = cloud_http.post(
        options, json={"options": [{"value": "Happy"}, {"value": "Tired"}]}
    ).json()["options"]
    assert put_value(cloud_http, "OKR-2", field_id, {"id": happy["id"]}).status_code == 204
    changes = [{"id": happy["id"], "value": "Glad"}, {"id": tired["id"], "disabled": True}]
    assert cloud_http.put(options, json={"options": changes}).status_code == 200

    got = cloud_http.get("/rest/api/2/issue/OKR-2", params={"fields": field_id}).json()
    assert got["fields"][field_id]["value"] == "Glad"
    assert allowed(cloud_http, "OKR-2", field_id) == ["Glad"]
    refused = put_value(cloud_http, "OKR-2", field_id, {"value": "Tired"})
    assert refused.status_code == 400


def test_project_context_overrides_the_global_one(cloud_http: httpx.Client) -> None:
    field_id, global_options = new_select(cloud_http, "Team mood")
    cloud_http.post(global_options, json={"options": [{"value": "Happy"}]})
    okr_project = cloud_http.get("/rest/api/2/issue/OKR-1").json()["fields"]["project"]["id"]
    scoped = cloud_http.post(
        f"/rest/api/3/field/{field_id}/context",
        json={"name": "OKR only", "projectIds": [okr_project]},
    )
    assert scoped.status_code == 201
    scoped_options = f"/rest/api/3/field/{field_id}/context/{scoped.json()['id']}/option"
    cloud_http.post(scoped_options, json={"options": [{"value": "Focused"}]})
    assert allowed(cloud_http, "OKR-1", field_id) == ["Focused"]
    second_global = cloud_http.post(
        f"/rest/api/3/field/{field_id}/context", json={"name": "Another global"}
    )
    assert second_global.status_code == 400


def test_contexts_need_an_administrator(cloud: SandboxServer) -> None:
    with httpx.Client(base_url=cloud.url, auth=VIEWER_AUTH, timeout=10) as viewer:
        answer = viewer.get("/rest/api/3/field/customfield_10101/context")
    assert answer.status_code == 403
    assert answer.json()["errorMessages"] == [
        "Only Jira administrators can access custom field contexts."
    ]


def test_data_center_has_no_option_api_but_options_can_be_added_by_hand(
    dc: SandboxServer, dc_http: httpx.Client
) -> None:
    created = dc_http.post("/rest/api/2/field", json={"name": "Team mood", "type": SELECT})
    field_id = created.json()["id"]
    assert dc_http.get(f"/rest/api/2/field/{field_id}/context").status_code == 404
    # What a Jira administrator does in the UI.
    dc.data.add_options(field_id, ["Happy", "Tired"])
    assert allowed(dc_http, "OKR-1", field_id) == ["Happy", "Tired"]
    assert put_value(dc_http, "OKR-1", field_id, {"value": "Tired"}).status_code == 204


def test_issue_types_on_data_center_have_no_hierarchy_level(dc_http: httpx.Client) -> None:
    types = dc_http.get("/rest/api/2/issuetype").json()
    assert {t["name"]: t["subtask"] for t in types} == {
        "Epic": False,
        "Story": False,
        "Task": False,
        "Bug": False,
        "Sub-task": True,
    }
    assert all("hierarchyLevel" not in t for t in types)


def test_reset_clears_faults_and_with_data_restores_the_seed(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    admin = httpx.Client(base_url=cloud.url, timeout=10)
    assert put_value(cloud_http, "OKR-1", "customfield_10100", 0.5).status_code == 204
    cloud.faults.set(latency=0.01)

    assert admin.post("/_sandbox/reset").json()["latency"] == 0.0
    kept = cloud_http.get("/rest/api/2/issue/OKR-1").json()["fields"]["customfield_10100"]
    assert kept == 0.5

    assert admin.post("/_sandbox/reset", json={"data": True}).status_code == 200
    fields = cloud_http.get("/rest/api/2/issue/OKR-1").json()["fields"]
    assert fields["customfield_10100"] is None
    found = cloud_http.post(
        "/rest/api/3/search/approximate-count", json={"jql": "cf[10100] is not EMPTY"}
    )
    assert found.json() == {"count": 0}
