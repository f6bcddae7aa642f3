"""A Teambition seed may hold records exactly as Teambition's Open API returns them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from okrsync.sandbox.server import start_sandbox
from tests.sandbox_teambition.conftest import headers

PROJECT = "tb-proj-mobile"
READS = {
    "projects": "/v3/project/query",
    "customfields": f"/v3/project/{PROJECT}/customfield/search",
    "tags": f"/v3/project/{PROJECT}/tag/search",
    "sprints": f"/v3/project/{PROJECT}/sprint/search",
    "taskflowstatuses": f"/v3/project/{PROJECT}/taskflowstatus/search",
    "tasks": f"/v3/project/{PROJECT}/task/query",
}
PARAMS = {"pageSize": 100, "includeArchived": "true"}


def read_all(url: str) -> dict[str, list[dict[str, Any]]]:
    with httpx.Client(base_url=url, headers=headers(), timeout=10) as client:
        return {
            kind: client.get(path, params=PARAMS).json()["result"] for kind, path in READS.items()
        }


def test_what_the_api_returns_is_a_seed(tmp_path: Path) -> None:
    with start_sandbox("demo", jira=(), teambition=True) as demo:
        assert demo.teambition is not None
        exported = read_all(demo.teambition.url)
        members = [dict(m) for m in demo.teambition.data.members.values()]
    # Workflow statuses do not name their project in the API; the seed says which.
    statuses = [{**s, "projectId": PROJECT} for s in exported["taskflowstatuses"]]
    seed = {
        "teambition": {
            "organizations": [{"id": "tb-org-demo"}],
            "apps": [{"appId": "okrsync-demo", "appSecret": "demo-secret"}],
            "members": members,
            **exported,
            "taskflowstatuses": statuses,
        }
    }
    assert isinstance(seed["teambition"]["customfields"], list)  # the shape that used to crash
    assert all(isinstance(t["uniqueId"], str) for t in exported["tasks"])  # as the API sends
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with start_sandbox(path, jira=(), teambition=True) as again:
        assert again.teambition is not None
        assert read_all(again.teambition.url) == exported


def test_custom_field_values_and_tags_as_the_api_shows_them() -> None:
    seed = {
        "teambition": {
            "organizations": [{"id": "tb-org-demo"}],
            "apps": [{"appId": "okrsync-demo", "appSecret": "demo-secret"}],
            "projects": [{"id": PROJECT, "organizationId": "tb-org-demo"}],
            "customfields": [
                {"id": "cf-points", "name": "Points", "type": "number", "boundToObjectId": PROJECT}
            ],
            "tags": [{"id": "tag-a", "name": "a", "projectId": PROJECT}],
            "tasks": [
                {
                    "id": "t1",
                    "projectId": PROJECT,
                    "uniqueId": "7",
                    "storyPoint": 2,
                    "tagIds": ["tag-a"],
                    "customfields": [
                        {"cfId": "cf-points", "type": "number", "value": [{"id": "", "title": "5"}]}
                    ],
                }
            ],
        }
    }
    with start_sandbox(seed, jira=(), teambition=True) as sb:
        assert sb.teambition is not None
        with httpx.Client(base_url=sb.teambition.url, headers=headers(), timeout=10) as client:
            found = client.get(
                f"/v3/project/{PROJECT}/task/query", params={"q": "cf:cf-points = 5"}
            ).json()["result"]
            tags = client.get(f"/v3/project/{PROJECT}/tag/search").json()["result"]
    assert [(t["id"], t["uniqueId"], t["storyPoint"], t["tagIds"]) for t in found] == [
        ("t1", "7", "2", ["tag-a"])
    ]
    assert [t["id"] for t in tags] == ["tag-a"]
