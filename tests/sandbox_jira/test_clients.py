"""Clients nobody here wrote (pycontribs ``jira``, plain httpx) browse both flavours."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from jira import JIRA

from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH, DC_HEADERS

STORIES = 450  # under 9 epics: 459 issues, five pages of 100


@pytest.fixture(scope="module")
def generated() -> Iterator[Sandbox]:
    with start_sandbox(
        f"generated:{STORIES}", jira=("cloud", "datacenter"), teambition=False
    ) as sb:
        yield sb


def pycontribs(server: SandboxServer) -> JIRA:
    if server.data.flavour == "cloud":
        return JIRA(server=server.url, basic_auth=CLOUD_AUTH, max_retries=0)
    return JIRA(server=server.url, token_auth="demo-pat", max_retries=0)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_pycontribs_pages_to_the_end(generated: Sandbox, flavour: str) -> None:
    server = generated.jira[flavour]
    client = pycontribs(server)
    assert client.server_info()["deploymentType"] == ("Cloud" if flavour == "cloud" else "Server")
    assert {f["name"] for f in client.fields()} >= {"Story Points", "Epic Link", "OKR Status"}
    server.log.clear()
    issues = client.search_issues("project = GEN ORDER BY key", maxResults=False)
    keys = [i.key for i in issues]
    assert len(keys) == len(set(keys)) == STORIES + 9
    assert keys[:2] == ["GEN-1", "GEN-2"] and keys[-1] == f"GEN-{STORIES + 9}"
    pages = [e for e in server.log.entries() if e.path.endswith(("/search", "/search/jql"))]
    assert len(pages) == 5
    if flavour == "cloud":
        assert all("nextPageToken" in parse_qs(p.query) for p in pages[1:])
    else:
        assert [parse_qs(p.query)["startAt"] for p in pages] == [
            ["0"],
            ["100"],
            ["200"],
            ["300"],
            ["400"],
        ]


@pytest.mark.parametrize(
    ("flavour", "jql"),
    [
        ("cloud", "parent = GEN-2"),
        ("cloud", '"Epic Link" = GEN-2'),
        ("datacenter", '"Epic Link" = GEN-2'),
    ],
)
def test_pycontribs_epic_children(generated: Sandbox, flavour: str, jql: str) -> None:
    server = generated.jira[flavour]
    children = pycontribs(server).search_issues(jql, maxResults=False)
    expected = {i.key for i in server.data.all_issues() if i.epic == "GEN-2"}
    assert {c.key for c in children} == expected and len(expected) == STORIES // 9
    child = children[0]
    if flavour == "cloud":
        assert child.fields.parent.key == "GEN-2"
    else:
        assert child.fields.customfield_10014 == "GEN-2"


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_pycontribs_edits_and_comments(sandbox: Sandbox, flavour: str) -> None:
    server = sandbox.jira[flavour]
    client = pycontribs(server)
    issue = client.issue("OKR-1")
    issue.update(
        fields={"customfield_10100": 0.6, "customfield_10101": {"value": "On track"}}, notify=False
    )
    assert issue.fields.customfield_10100 == 0.6
    assert issue.fields.customfield_10101.value == "On track"
    put = [e for e in server.log.entries() if e.method == "PUT"][-1]
    assert put.query == "notifyUsers=false"
    comment = client.add_comment("OKR-1", "Progress 60%")
    assert comment.body == "Progress 60%"
    assert [c.body for c in client.comments("OKR-1")] == ["Progress 60%"]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_pycontribs_browses_projects_and_their_issues(sandbox: Sandbox, flavour: str) -> None:
    client = pycontribs(sandbox.jira[flavour])
    assert [(p.key, p.name) for p in client.projects()] == [
        ("PAY", "Payments"),
        ("PLAT", "Platform"),
        ("OKR", "OKR home issues"),
    ]
    payments = client.project("PAY")
    assert payments.name == "Payments"
    assert "Sub-task" in {t.name for t in payments.issueTypes}
    assert client.project(payments.id).key == "PAY"
    epic = client.issue("PAY-1")
    assert (epic.fields.issuetype.name, epic.fields.project.key) == ("Epic", "PAY")
    story = client.issue("PAY-4")
    assert [s.key for s in story.fields.subtasks] == ["PAY-10", "PAY-11"]


def test_pycontribs_approximate_count(sandbox: Sandbox) -> None:
    client = pycontribs(sandbox.jira["cloud"])
    assert client.approximate_issue_count("labels = checkout") == 20


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_httpx_browses(generated: Sandbox, flavour: str) -> None:
    server = generated.jira[flavour]
    options: dict[str, Any] = (
        {"auth": CLOUD_AUTH} if flavour == "cloud" else {"headers": DC_HEADERS}
    )
    with httpx.Client(base_url=server.url, timeout=30, **options) as client:
        fields = {f["name"]: f["id"] for f in client.get("/rest/api/2/field").json()}
        points = fields["Story Points"]
        total = 0.0
        seen = 0
        if flavour == "cloud":
            params = {"jql": "parent = GEN-1", "fields": points, "maxResults": 20}
            for _ in range(10):
                page = client.get("/rest/api/3/search/jql", params=params).json()
                total += sum(i["fields"][points] or 0 for i in page["issues"])
                seen += len(page["issues"])
                if page["isLast"]:
                    break
                params["nextPageToken"] = page["nextPageToken"]
        else:
            start = 0
            for _ in range(10):
                page = client.get(
                    "/rest/api/2/search",
                    params={
                        "jql": '"Epic Link" = GEN-1',
                        "fields": points,
                        "startAt": start,
                        "maxResults": 20,
                    },
                ).json()
                total += sum(i["fields"][points] or 0 for i in page["issues"])
                seen += len(page["issues"])
                start += len(page["issues"])
                if start >= page["total"]:
                    break
        children = [i for i in server.data.all_issues() if i.epic == "GEN-1"]
        assert seen == len(children)
        assert total == sum(i.fields.get(points) or 0 for i in children)
        issue = client.get("/rest/api/2/issue/GEN-1").json()
        assert client.get(issue["self"]).json()["key"] == "GEN-1"  # self is a working URL
