"""Statuses change through Jira's transitions API, on both flavours and every API version.

Cloud answers are held to Atlassian's OpenAPI spec (see ``test_openapi``); the pycontribs
``jira`` client finds and takes transitions by name, as people's scripts do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jira import JIRA, JIRAError

from okrsync.sandbox.server import Sandbox, SandboxServer
from tests.sandbox_jira.conftest import CLOUD_AUTH, DC_HEADERS, VIEWER_AUTH
from tests.sandbox_jira.test_openapi import conforms, validate_schema

# (flavour, REST API version): Cloud serves 2 and 3, Data Center 2 (and "latest").
APIS = [("cloud", "2"), ("cloud", "3"), ("datacenter", "2"), ("datacenter", "latest")]


def client_for(server: SandboxServer, *, viewer: bool = False) -> httpx.Client:
    if server.data.flavour == "cloud":
        options: dict[str, Any] = {"auth": VIEWER_AUTH if viewer else CLOUD_AUTH}
    else:
        pat = "viewer-pat" if viewer else "demo-pat"
        options = {"headers": {"Authorization": f"Bearer {pat}"}}
    return httpx.Client(base_url=server.url, timeout=10, **options)


@dataclass
class Api:
    """A client of one flavour at one API version's base path."""

    client: httpx.Client
    base: str
    cloud: bool

    def check(self, response: httpx.Response) -> Any:
        """The JSON body (None when empty); on Cloud, a response the spec documents."""
        if self.cloud:
            return conforms(response)
        return response.json() if response.content else None

    def status(self, key: str) -> str:
        answer = self.client.get(f"{self.base}/issue/{key}", params={"fields": "status"})
        return str(answer.json()["fields"]["status"]["name"])


@pytest.fixture(params=APIS, ids=["-v".join(a) for a in APIS])
def api(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Api]:
    flavour, version = request.param
    with client_for(sandbox.jira[flavour]) as client:
        yield Api(client, f"/rest/api/{version}", flavour == "cloud")


def test_lists_the_transitions_out_of_the_current_status(api: Api) -> None:
    assert api.status("PAY-6") == "In Progress"
    url = f"{api.base}/issue/PAY-6/transitions"
    listed = api.check(api.client.get(url))["transitions"]
    assert [(t["id"], t["name"], t["to"]["name"]) for t in listed] == [
        ("11", "To Do", "To Do"),
        ("31", "Done", "Done"),
        ("41", "In Review", "In Review"),
    ]
    done = listed[1]
    assert done["to"]["statusCategory"]["key"] == "done"
    assert (done["hasScreen"], done["isGlobal"], done["isAvailable"]) == (False, True, True)
    one = api.check(api.client.get(url, params={"transitionId": "31"}))
    assert [t["name"] for t in one["transitions"]] == ["Done"]
    # The transition into the current status is not offered.
    assert api.check(api.client.get(url, params={"transitionId": "21"}))["transitions"] == []
    expanded = api.check(api.client.get(url, params={"expand": "transitions.fields"}))
    assert all(t["fields"] == {} for t in expanded["transitions"])


def test_done_and_back_sets_then_clears_the_resolution(api: Api) -> None:
    url = f"{api.base}/issue/PAY-6/transitions"
    before = api.client.get(f"{api.base}/issue/PAY-6").json()["fields"]
    assert before["resolution"] is None and before["resolutiondate"] is None
    moved = api.client.post(url, json={"transition": {"id": "31"}})
    assert moved.status_code == 204
    assert api.check(moved) is None
    done = api.client.get(f"{api.base}/issue/PAY-6").json()["fields"]
    assert done["status"]["name"] == "Done"
    assert done["status"]["statusCategory"]["key"] == "done"
    assert done["resolution"]["name"] == "Done"
    assert done["resolutiondate"] is not None
    assert done["updated"] > before["updated"]
    offered = api.check(api.client.get(url))["transitions"]
    assert [t["name"] for t in offered] == ["To Do", "In Progress", "In Review"]

    back = api.client.post(url, json={"transition": {"id": 11}})  # a number works too
    assert back.status_code == 204
    reopened = api.client.get(f"{api.base}/issue/PAY-6").json()["fields"]
    assert reopened["status"]["name"] == "To Do"
    assert reopened["status"]["statusCategory"]["key"] == "new"
    assert reopened["resolution"] is None and reopened["resolutiondate"] is None
    assert reopened["updated"] >= done["updated"]


def test_incremental_jql_sees_a_transition(sandbox: Sandbox) -> None:
    with client_for(sandbox.jira["datacenter"]) as client:
        # JQL dates stop at the minute: from the start of the current one.
        since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y/%m/%d %H:%M")
        jql = f'project = PAY AND updated >= "{since}"'

        def changed() -> list[str]:
            page = client.get("/rest/api/2/search", params={"jql": jql, "fields": "status"})
            return [i["key"] for i in page.json()["issues"]]

        assert changed() == []
        posted = client.post(
            "/rest/api/2/issue/PAY-7/transitions", json={"transition": {"id": "31"}}
        )
        assert posted.status_code == 204
        assert changed() == ["PAY-7"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"transition": {"id": "99"}}, "Transition id '99' is not valid for this issue."),
        # In Progress already: the transition into it is not available.
        ({"transition": {"id": "21"}}, "Transition id '21' is not valid for this issue."),
        ({"transition": {}}, "Missing 'transition' identifier"),
        ({}, "Missing 'transition' identifier"),
    ],
)
def test_an_unavailable_or_missing_transition_is_a_400(
    api: Api, body: dict[str, Any], message: str
) -> None:
    refused = api.client.post(f"{api.base}/issue/PAY-6/transitions", json=body)
    assert refused.status_code == 400
    assert api.check(refused) == {"errorMessages": [message], "errors": {}}
    assert api.status("PAY-6") == "In Progress"


def test_fields_cannot_be_set_without_a_transition_screen(api: Api) -> None:
    refused = api.client.post(
        f"{api.base}/issue/PAY-6/transitions",
        json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Fixed"}}},
    )
    assert refused.status_code == 400
    assert set(api.check(refused)["errors"]) == {"resolution"}
    assert api.status("PAY-6") == "In Progress"


def test_unknown_issue_is_a_404(api: Api) -> None:
    url = f"{api.base}/issue/PAY-999/transitions"
    for response in (
        api.client.get(url),
        api.client.post(url, json={"transition": {"id": "31"}}),
    ):
        assert response.status_code == 404
        assert api.check(response)["errorMessages"]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_the_read_only_user_sees_no_transitions_and_cannot_take_one(
    sandbox: Sandbox, flavour: str
) -> None:
    server = sandbox.jira[flavour]
    with client_for(server, viewer=True) as viewer:
        listed = viewer.get("/rest/api/2/issue/PAY-6/transitions")
        assert listed.status_code == 200 and listed.json()["transitions"] == []
        refused = viewer.post(
            "/rest/api/2/issue/PAY-6/transitions", json={"transition": {"id": "31"}}
        )
    # 403 as for every other write by this user (the spec documents 400 for it).
    assert refused.status_code == 403
    validate_schema(refused.json(), "components/schemas/ErrorCollection")
    assert server.data.issue("PAY-6").fields["status"]["name"] == "In Progress"


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_pycontribs_takes_transitions_by_name(sandbox: Sandbox, flavour: str) -> None:
    server = sandbox.jira[flavour]
    if flavour == "cloud":
        client = JIRA(server=server.url, basic_auth=CLOUD_AUTH, max_retries=0)
    else:
        client = JIRA(server=server.url, token_auth=DC_HEADERS["Authorization"][7:], max_retries=0)
    assert [t["name"] for t in client.transitions("PAY-6")] == ["To Do", "Done", "In Review"]
    client.transition_issue("PAY-6", "Done")
    issue = client.issue("PAY-6")
    assert issue.fields.status.name == "Done"
    assert issue.fields.status.statusCategory.key == "done"
    assert issue.fields.resolution.name == "Done"
    with pytest.raises(JIRAError, match="Invalid transition name"):
        client.transition_issue("PAY-6", "Done")  # already there: not offered any more
    client.transition_issue("PAY-6", "21")  # by id
    assert client.issue("PAY-6").fields.status.name == "In Progress"
    posts = [e for e in server.log.entries() if e.method == "POST"]
    assert [e.path for e in posts] == ["/rest/api/2/issue/PAY-6/transitions"] * 2
