"""Cloud request bodies are held to the request schemas of Atlassian's OpenAPI spec: a body
the schema forbids gets Jira Cloud's 400; Data Center is not held to the Cloud spec."""

from __future__ import annotations

import json

import httpx
import pytest

from okrsync.sandbox.jira.bodies import INVALID_PAYLOAD, SCHEMAS
from okrsync.sandbox.server import SandboxServer
from tests.sandbox_jira.spec.trim import VENDORED, render, request_schemas


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/rest/api/3/search/jql", {"jql": "project = PAY", "expand": ["names"]}),
        ("/rest/api/3/search/jql", {"jql": "project = PAY", "fields": "summary"}),
        ("/rest/api/3/search/jql", {"jql": "project = PAY", "colour": "red"}),
        ("/rest/api/2/search/jql", {"jql": "project = PAY", "maxResults": "many"}),
        ("/rest/api/3/search/approximate-count", {"jql": "project = PAY", "fields": ["id"]}),
        ("/rest/api/3/field", {"name": "X", "type": "float", "unknown": 1}),
    ],
)
def test_cloud_refuses_bodies_the_spec_forbids(
    cloud_http: httpx.Client, path: str, body: dict[str, object]
) -> None:
    answer = cloud_http.post(path, json=body)
    assert (answer.status_code, answer.json()) == (400, {"errorMessages": [INVALID_PAYLOAD]})


def test_cloud_refuses_a_non_object_edit(cloud_http: httpx.Client) -> None:
    answer = cloud_http.put("/rest/api/3/issue/OKR-2", json={"fields": ["customfield_10100"]})
    assert (answer.status_code, answer.json()) == (400, {"errorMessages": [INVALID_PAYLOAD]})


def test_cloud_accepts_what_jira_binds(cloud_http: httpx.Client) -> None:
    # Nulls, and scalars Jira's binding coerces (a numeric string for an integer).
    body = {
        "jql": "project = PAY ORDER BY key",
        "fields": ["summary"],
        "expand": None,
        "properties": None,
        "maxResults": "5",
        "reconcileIssues": [],
    }
    answer = cloud_http.post("/rest/api/3/search/jql", json=body)
    assert answer.status_code == 200 and len(answer.json()["issues"]) == 5


def test_data_center_bodies_are_not_held_to_the_cloud_spec(dc: SandboxServer) -> None:
    answer = httpx.post(
        f"{dc.url}/rest/api/2/search",
        json={"jql": "project = PAY", "expand": ["names"], "maxResults": 1},
        headers={"Authorization": "Bearer demo-pat"},
    )
    assert answer.status_code == 200 and answer.json()["total"] == 37


def test_request_schemas_are_a_fresh_extraction_of_the_vendored_subset() -> None:
    subset = json.loads(VENDORED.read_text(encoding="utf-8"))
    assert SCHEMAS.read_text(encoding="utf-8") == render(request_schemas(subset)), (
        "okrsync/sandbox/jira/request_schemas.json is stale: run make spec"
    )
