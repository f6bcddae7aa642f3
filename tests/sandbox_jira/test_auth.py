"""Authentication (401), permissions (403) and visibility (404) on both flavours."""

from __future__ import annotations

import base64

import httpx
import pytest
from jira import JIRA, JIRAError

from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.server import SandboxServer, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH, VIEWER_AUTH

NOT_AUTHENTICATED = {
    "errorMessages": [
        "You are not authenticated. Authentication required to perform this operation."
    ],
    "errors": {},
}
NOT_FOUND = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}


def basic(login: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_cloud_wants_email_and_api_token(cloud: SandboxServer) -> None:
    url = f"{cloud.url}/rest/api/3/myself"
    for headers in (
        {},
        basic("demo@okrsync.example", "wrong"),
        basic("demo", "demo-password"),
        {"Authorization": "Bearer demo-pat"},
    ):
        answer = httpx.get(url, headers=headers)
        assert (answer.status_code, answer.json()) == (401, NOT_AUTHENTICATED)
    assert httpx.get(url, headers=basic("DEMO@okrsync.example", "demo-token")).status_code == 200


def test_dc_wants_a_personal_access_token(dc: SandboxServer) -> None:
    url = f"{dc.url}/rest/api/2/myself"
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        basic("demo@okrsync.example", "demo-token"),
    ):
        answer = httpx.get(url, headers=headers)
        assert (answer.status_code, answer.json()) == (401, NOT_AUTHENTICATED)
    assert httpx.get(url, headers={"Authorization": "Bearer demo-pat"}).status_code == 200
    assert httpx.get(url, headers=basic("demo", "demo-password")).status_code == 200


def test_pycontribs_sees_401(cloud: SandboxServer, dc: SandboxServer) -> None:
    with pytest.raises(JIRAError) as raised:
        JIRA(
            server=cloud.url,
            basic_auth=("demo@okrsync.example", "bad"),
            max_retries=0,
            get_server_info=False,
        ).myself()
    assert raised.value.status_code == 401
    with pytest.raises(JIRAError) as raised:
        JIRA(server=dc.url, token_auth="bad", max_retries=0, get_server_info=False).myself()
    assert raised.value.status_code == 401


def test_server_info_needs_no_credentials(cloud: SandboxServer, dc: SandboxServer) -> None:
    assert httpx.get(f"{cloud.url}/rest/api/2/serverInfo").status_code == 200
    assert httpx.get(f"{dc.url}/rest/api/2/serverInfo").status_code == 200


def test_read_only_user_reads_but_cannot_write(cloud: SandboxServer) -> None:
    with httpx.Client(base_url=cloud.url, auth=VIEWER_AUTH, timeout=10) as viewer:
        assert viewer.get("/rest/api/3/issue/OKR-1").status_code == 200
        writes = [
            viewer.put("/rest/api/3/issue/OKR-1", json={"fields": {"customfield_10100": 1}}),
            viewer.put("/rest/api/3/issue/OKR-1/properties/x", json=1),
            viewer.post("/rest/api/2/issue/OKR-1/comment", json={"body": "hi"}),
            viewer.post("/rest/api/3/field", json={"name": "X", "type": "x"}),
            viewer.post("/rest/api/3/bulk/issues/fields", json={}),
        ]
        assert [w.status_code for w in writes] == [403] * 5
        assert writes[0].json() == {
            "errorMessages": ["You do not have permission to edit issues in this project."],
            "errors": {},
        }
        assert viewer.get("/rest/api/3/issue/OKR-1/editmeta").json() == {"fields": {}}
    assert cloud.data.issue("OKR-1").fields.get("customfield_10100") is None


def test_missing_and_hidden_issues_are_404() -> None:
    seed = demo_jira_seed()
    seed["users"].append(
        {
            "accountId": "pay-only",
            "name": "payonly",
            "displayName": "Pay Only",
            "emailAddress": "pay@okrsync.example",
            "token": "pay-token",
            "pat": "pay-pat",
            "projects": ["PAY"],
        }
    )
    with start_sandbox({"jira": seed}, jira=("cloud", "datacenter"), teambition=False) as sb:
        cloud = httpx.Client(
            base_url=sb.jira["cloud"].url, auth=("pay@okrsync.example", "pay-token")
        )
        dc = httpx.Client(
            base_url=sb.jira["datacenter"].url, headers={"Authorization": "Bearer pay-pat"}
        )
        for client in (cloud, dc):
            for key in ("PLAT-1", "PAY-999", "11001"):
                answer = client.get(f"/rest/api/2/issue/{key}")
                assert (answer.status_code, answer.json()) == (404, NOT_FOUND)
            assert client.get("/rest/api/2/issue/PAY-1").status_code == 200
            put = client.put("/rest/api/2/issue/PLAT-2", json={"fields": {"summary": "x"}})
            assert put.status_code == 404
        hidden = cloud.get(
            "/rest/api/3/search/jql", params={"jql": "project in (PAY, PLAT)", "maxResults": 100}
        ).json()
        assert len(hidden["issues"]) == 37
        count = cloud.post(
            "/rest/api/3/search/approximate-count", json={"jql": "project = PLAT"}
        ).json()
        assert count == {"count": 0}
        full = httpx.post(
            f"{sb.jira['cloud'].url}/rest/api/3/search/approximate-count",
            json={"jql": "project = PLAT"},
            auth=CLOUD_AUTH,
        ).json()
        assert full == {"count": 11}
