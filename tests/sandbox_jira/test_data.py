"""Seeds and the data-change methods tests use (``srv.data``), seen over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from okrsync.sandbox.jira.generated import generated_seed
from okrsync.sandbox.jira.model import parse_time
from okrsync.sandbox.server import SandboxError, SandboxServer, load_seed, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH, DC_HEADERS


def search(client: httpx.Client, jql: str) -> list[str]:
    body = client.get(
        "/rest/api/3/search/jql", params={"jql": jql, "fields": "key", "maxResults": 100}
    ).json()
    return [i["key"] for i in body["issues"]]


def updated(client: httpx.Client, key: str) -> float:
    fields = client.get(f"/rest/api/2/issue/{key}", params={"fields": "updated"}).json()
    return parse_time(fields["fields"]["updated"]).timestamp()


def take(client: httpx.Client, key: str, transition: str) -> None:
    """Take a workflow transition over the REST API, as people change a status."""
    answer = client.post(
        f"/rest/api/2/issue/{key}/transitions", json={"transition": {"id": transition}}
    )
    assert answer.status_code == 204, answer.text


def test_create_transition_move_estimate_delete(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    store = cloud.data
    created = store.create_issue(
        "PAY", "Wallet support", parent="PAY-1", fields={"customfield_10016": 5.0}
    )
    assert created.key == "PAY-50"
    assert "PAY-50" in search(cloud_http, "parent = PAY-1")
    before = updated(cloud_http, "PAY-50")

    take(cloud_http, "PAY-50", "31")  # Done
    fields = cloud_http.get("/rest/api/2/issue/PAY-50").json()["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Done"
    assert updated(cloud_http, "PAY-50") >= before

    store.move("PAY-50", "PAY-20")
    assert "PAY-50" in search(cloud_http, "parent = PAY-20")
    assert "PAY-50" not in search(cloud_http, "parent = PAY-1")

    store.set_estimate("PAY-50", 13.0)
    assert search(cloud_http, 'parent = PAY-20 AND "Story Points" = 13') == ["PAY-50"]

    take(cloud_http, "PAY-50", "11")  # To Do
    assert cloud_http.get("/rest/api/2/issue/PAY-50").json()["fields"]["resolution"] is None

    store.delete_issue("PAY-50")
    assert cloud_http.get("/rest/api/2/issue/PAY-50").status_code == 404
    assert "PAY-50" not in search(cloud_http, "project = PAY")


def test_every_change_bumps_updated(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    store = cloud.data
    changes = [
        lambda: store.update_fields("PAY-8", {"summary": "Renamed"}),
        lambda: take(cloud_http, "PAY-8", "41"),  # In Review
        lambda: store.move("PAY-8", "PAY-20"),
        lambda: store.set_estimate("PAY-8", 2.0),
    ]
    last = updated(cloud_http, "PAY-8")
    for change in changes:
        change()
        now = updated(cloud_http, "PAY-8")
        assert now >= last and now > parse_time("2026-11-27T17:00:00.000+0000").timestamp()
        last = now


def test_sub_task_moves_between_parents(dc: SandboxServer) -> None:
    dc.data.move("PAY-10", "PAY-5")
    with httpx.Client(base_url=dc.url, headers={"Authorization": "Bearer demo-pat"}) as client:
        issue = client.get("/rest/api/2/issue/PAY-10").json()
        assert issue["fields"]["parent"]["key"] == "PAY-5"
        assert issue["fields"]["customfield_10014"] is None
        subtasks = client.get("/rest/api/2/issue/PAY-4").json()["fields"]["subtasks"]
        assert [s["key"] for s in subtasks] == ["PAY-11"]


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_issue_moved_to_another_project_is_found_by_its_old_key(
    cloud: SandboxServer, dc: SandboxServer, flavour: str
) -> None:
    server = cloud if flavour == "cloud" else dc
    auth: dict[str, Any] = {"auth": CLOUD_AUTH} if flavour == "cloud" else {"headers": DC_HEADERS}
    before = server.data.issue("PAY-4")
    ids = {before.id, *(s.id for s in server.data.children("PAY-4"))}
    server.data.move_to_project("PAY-4", "PLAT")
    epic_clause = "parent" if flavour == "cloud" else '"Epic Link"'
    search_path = "/rest/api/2/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    with httpx.Client(base_url=server.url, **auth) as client:

        def keys(jql: str) -> list[str]:
            params: dict[str, str | int] = {
                "jql": jql + " ORDER BY key",
                "fields": "key",
                "maxResults": 100,
            }
            return [i["key"] for i in client.get(search_path, params=params).json()["issues"]]

        moved = client.get("/rest/api/2/issue/PAY-4", params={"fields": "project,subtasks"})
        assert moved.status_code == 200
        body = moved.json()
        assert (body["id"], body["key"]) == (str(before.id), "PLAT-12")
        assert body["fields"]["project"]["key"] == "PLAT"
        # Its sub-tasks moved with it and still name it as their parent.
        assert [s["key"] for s in body["fields"]["subtasks"]] == ["PLAT-13", "PLAT-14"]
        assert keys("parent = PAY-4") == ["PLAT-13", "PLAT-14"]
        assert {
            int(client.get(f"/rest/api/2/issue/{k}").json()["id"])
            for k in ("PLAT-12", "PAY-10", "PAY-11")
        } == ids
        assert keys("key = PAY-4") == ["PLAT-12"]
        assert "PLAT-12" in keys(f"{epic_clause} = PAY-1")
        assert "PAY-4" not in keys("project = PAY") and "PLAT-12" in keys("project = PLAT")


def test_seed_files_json_and_yaml(tmp_path: Path) -> None:
    section = {
        "fields": [
            {
                "id": "customfield_10500",
                "name": "Confidence",
                "custom": True,
                "schema": {
                    "type": "number",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                },
            }
        ],
        "issues": [
            {"key": "ACME-1", "fields": {"summary": "Epic", "issuetype": {"name": "Epic"}}},
            {
                "key": "ACME-2",
                "fields": {
                    "summary": "Child",
                    "status": {"name": "Done"},
                    "parent": {"key": "ACME-1"},
                    "customfield_10500": 0.7,
                },
            },
        ],
    }
    json_file = tmp_path / "seed.json"
    json_file.write_text(json.dumps({"jira": section}))
    yaml_file = tmp_path / "seed.yaml"
    yaml_file.write_text(
        "jira:\n  issues:\n    - key: ACME-1\n"
        "      fields: {summary: Only, issuetype: {name: Task}}\n"
    )
    with start_sandbox(json_file, jira=("cloud",), teambition=False) as sb:
        client = httpx.Client(base_url=sb.jira["cloud"].url, auth=CLOUD_AUTH)
        assert search(client, "Confidence > 0.5") == ["ACME-2"]
        assert search(client, "parent = ACME-1") == ["ACME-2"]
        child = client.get("/rest/api/2/issue/ACME-2").json()["fields"]
        assert child["resolution"]["name"] == "Done"
    assert load_seed(yaml_file)["jira"]["issues"][0]["key"] == "ACME-1"


def test_seed_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    for seed in (tmp_path / "missing.json", broken, "generated:many"):
        with pytest.raises(SandboxError):
            load_seed(seed)
    with pytest.raises(SandboxError, match="flavour"):
        start_sandbox("demo", jira=("server",), teambition=False)


def test_generated_data_is_deterministic() -> None:
    now = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    assert generated_seed(120, now=now) == generated_seed(120, now=now)
    issues = generated_seed(120, now=now)["issues"]
    assert len(issues) == 120 + 3
    assert sum(1 for i in issues if i["fields"]["issuetype"]["name"] == "Epic") == 3


def test_generated_data_was_last_updated_before_the_sandbox_started() -> None:
    before = datetime.now(UTC)
    with start_sandbox("generated:600", jira=("cloud",), teambition=False) as sb:
        client = httpx.Client(base_url=sb.jira["cloud"].url, auth=CLOUD_AUTH)
        # JQL dates stop at the minute (the demo user's zone is UTC): the next one.
        assert search(client, f'updated >= "{before + timedelta(minutes=1):%Y/%m/%d %H:%M}"') == []
        every = {"jql": "project = GEN"}
        assert client.post("/rest/api/3/search/approximate-count", json=every).json() == {
            "count": 612
        }
    stamps = [
        datetime.strptime(i["fields"][name], "%Y-%m-%dT%H:%M:%S.%f%z")
        for i in generated_seed(600, now=before)["issues"]
        for name in ("created", "updated")
    ]
    assert max(stamps) < before
    assert min(stamps) > before - timedelta(days=365)
