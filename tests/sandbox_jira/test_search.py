"""Search contracts: Cloud token paging and field selection, DC offset paging and its cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH, DC_HEADERS


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    """1,500 generated stories (plus 30 epics) on both flavours."""
    with start_sandbox("generated:1500", jira=("cloud", "datacenter"), teambition=False) as sb:
        yield sb


def cloud_pages(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    for _ in range(100):
        page = client.get("/rest/api/3/search/jql", params=params).json()
        pages.append(page)
        if page["isLast"]:
            return pages
        params = {**params, "nextPageToken": page["nextPageToken"]}
    raise AssertionError("paging did not end")


def test_cloud_page_sizes_and_tokens(big: Sandbox) -> None:
    with httpx.Client(base_url=big.jira["cloud"].url, auth=CLOUD_AUTH, timeout=30) as client:
        default = cloud_pages(client, {"jql": "project = GEN", "fields": "summary"})
        assert [len(p["issues"]) for p in default[:2]] == [50, 50]
        capped = cloud_pages(
            client, {"jql": "project = GEN", "fields": "summary", "maxResults": 500}
        )
        assert len(capped[0]["issues"]) == 100 and len(capped) == 16
        keys = [i["key"] for p in capped for i in p["issues"]]
        assert len(keys) == len(set(keys)) == 1530
        ids_only = cloud_pages(client, {"jql": "project = GEN", "maxResults": 5000})
        assert len(ids_only) == 1 and len(ids_only[0]["issues"]) == 1530
        assert all("nextPageToken" in p for p in capped[:-1])
        assert "nextPageToken" not in capped[-1] and capped[-1]["isLast"] is True


def test_cloud_rejects_a_forged_token(cloud_http: httpx.Client) -> None:
    answer = cloud_http.get(
        "/rest/api/3/search/jql", params={"jql": "project = PAY", "nextPageToken": "garbage"}
    )
    assert answer.status_code == 400
    first = cloud_http.get(
        "/rest/api/3/search/jql", params={"jql": "project = PAY", "maxResults": 5}
    ).json()
    other_query = cloud_http.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = PLAT", "nextPageToken": first["nextPageToken"]},
    )
    assert other_query.status_code == 400


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([], None),  # only ids
        (["summary,status"], {"summary", "status"}),
        (["summary", "status"], {"summary", "status"}),  # repeated parameter
        (["*all,-comment,-description"], "all-but"),
        (["-labels"], "navigable-but"),
    ],
)
def test_cloud_field_selection(cloud_http: httpx.Client, fields: list[str], expected: Any) -> None:
    body = cloud_http.get(
        "/rest/api/3/search/jql", params={"jql": "key = PAY-2", "fields": fields}
    ).json()
    issue = body["issues"][0]
    all_fields = {f["id"] for f in cloud_http.get("/rest/api/3/field").json()} - {
        "issuekey",
        "statusCategory",
    }
    if expected is None:
        assert issue == {"id": "10002"}
        return
    got = set(issue["fields"])
    if expected == "all-but":
        assert "comment" not in got and "description" not in got
        assert {"customfield_10100", "customfield_10016", "parent", "subtasks"} <= got
    elif expected == "navigable-but":
        assert "labels" not in got and "comment" not in got and "summary" in got
    else:
        assert got == expected
    assert got <= all_fields


def test_cloud_post_search_and_names(cloud_http: httpx.Client) -> None:
    body = cloud_http.post(
        "/rest/api/3/search/jql",
        json={
            "jql": "project = OKR ORDER BY key",
            "fields": ["summary", "customfield_10101"],
            "expand": "names",
            "maxResults": 4,
        },
    ).json()
    assert [i["key"] for i in body["issues"]] == ["OKR-1", "OKR-2", "OKR-3", "OKR-4"]
    assert body["names"] == {"summary": "Summary", "customfield_10101": "OKR Status"}
    assert body["isLast"] is False


def test_dc_paging_contract(big: Sandbox) -> None:
    with httpx.Client(
        base_url=big.jira["datacenter"].url, headers=DC_HEADERS, timeout=30
    ) as client:
        first = client.get(
            "/rest/api/2/search",
            params={"jql": "project = GEN ORDER BY key", "maxResults": 5000, "fields": "summary"},
        ).json()
        assert first["maxResults"] == 1000  # the cap actually applied
        assert first["total"] == 1530 and len(first["issues"]) == 1000
        second = client.get(
            "/rest/api/2/search",
            params={
                "jql": "project = GEN ORDER BY key",
                "startAt": 1000,
                "maxResults": 5000,
                "fields": "summary",
            },
        ).json()
        assert len(second["issues"]) == 530 and second["startAt"] == 1000
        keys = [i["key"] for i in first["issues"] + second["issues"]]
        assert len(set(keys)) == 1530
        beyond = client.get(
            "/rest/api/2/search", params={"jql": "project = GEN", "startAt": 2000}
        ).json()
        assert beyond["issues"] == [] and beyond["total"] == 1530
        default = client.post("/rest/api/2/search", json={"jql": "project = GEN"}).json()
        assert default["maxResults"] == 50 and len(default["issues"]) == 50
        navigable = default["issues"][0]["fields"]
        assert "summary" in navigable and "comment" not in navigable


def test_endpoints_each_flavour_lacks(cloud_http: httpx.Client, dc_http: httpx.Client) -> None:
    assert cloud_http.get("/rest/api/2/search", params={"jql": "project = PAY"}).status_code == 410
    assert dc_http.get("/rest/api/2/search/jql", params={"jql": "project = PAY"}).status_code == 404
    assert (
        dc_http.post(
            "/rest/api/2/search/approximate-count", json={"jql": "project = PAY"}
        ).status_code
        == 404
    )
    assert dc_http.get("/rest/api/3/serverInfo").status_code == 404
    assert dc_http.post("/rest/api/3/bulk/issues/fields", json={}).status_code == 404


def test_server_info_by_flavour(cloud_http: httpx.Client, dc_http: httpx.Client) -> None:
    cloud = cloud_http.get("/rest/api/2/serverInfo").json()
    dc = dc_http.get("/rest/api/2/serverInfo").json()
    assert cloud["deploymentType"] == "Cloud" and "databaseBuildNumber" not in cloud
    assert dc["deploymentType"] == "Server" and dc["databaseBuildNumber"]
    assert dc["versionNumbers"][0] >= 8
    me = dc_http.get("/rest/api/2/myself").json()
    assert (me["key"], me["name"]) == ("demo", "demo") and "accountId" not in me
