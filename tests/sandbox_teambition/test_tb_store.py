"""Changing data as people would, for tests: each change is visible through the API."""

from __future__ import annotations

import pytest

from okrsync.sandbox.server import SandboxServer
from okrsync.sandbox.teambition import TeambitionStore, demo_section, generated
from okrsync.sandbox.teambition.store import NotFound, RecordError
from okrsync.sandbox.teambition.tql import parse
from tests.sandbox_teambition.conftest import PROJECT, Api

TASKS = f"/v3/project/{PROJECT}/task/query"


def _ids(api: Api, tql: str) -> list[str]:
    ids, _ = api.all_pages("/v2/all-task/search", tql=tql, pageSize=100)
    return ids


def _latest(api: Api) -> str:
    _, body = api.get(TASKS, q="ORDER BY updated DESC", pageSize=1)
    return str(body["result"][0]["updated"])


def test_each_change_bumps_updated_past_everything_seen(api: Api, server: SandboxServer) -> None:
    store = server.data
    since = _latest(api)
    store.set_done("tb-task-onboarding-4")
    store.set_story_point("tb-task-onboarding-5", 13)
    store.update_task("tb-task-backlog-1", tagIds=["tb-tag-okr"])
    created = store.create_task(PROJECT, "New KR task", tagIds=["tb-tag-okr"])
    changed = _ids(api, f"updated > '{since}' ORDER BY updated ASC")
    assert changed == [
        "tb-task-onboarding-4",
        "tb-task-onboarding-5",
        "tb-task-backlog-1",
        created["id"],
    ]
    assert len(_ids(api, "tagId = 'tb-tag-okr'")) == 10
    assert _ids(api, "parentTaskId = 'tb-task-onboarding' AND isDone = true")[-1] == (
        "tb-task-onboarding-4"
    )
    _, body = api.get("/v3/task/query", taskId="tb-task-onboarding-5")
    assert body["result"][0]["storyPoint"] == "13"
    assert created["uniqueId"] == 27


def test_moving_and_deleting_tasks(api: Api, server: SandboxServer) -> None:
    store = server.data
    store.move_parent("tb-task-backlog-2", "tb-task-onboarding")
    _, children = api.get("/v3/task/query", parentTaskId="tb-task-onboarding")
    assert len(children["result"]) == 7
    store.move_parent("tb-task-onboarding-1", None)
    store.delete_task("tb-task-onboarding")
    assert _ids(api, "id = 'tb-task-onboarding-2'") == []
    assert _ids(api, "id = 'tb-task-backlog-2'") == []  # sub-tasks go with their parent
    assert _ids(api, "id = 'tb-task-onboarding-1'") == ["tb-task-onboarding-1"]
    with pytest.raises(RecordError):
        store.move_parent("tb-task-crash-1", "tb-task-crash-1")
    with pytest.raises(NotFound):
        store.set_done("tb-task-onboarding")


def test_a_person_setting_a_custom_field_is_validated(server: SandboxServer) -> None:
    store = server.data
    task = store.set_customfield("tb-task-okr-home", "cf-okr-status", "Off track")
    assert task["customfields"][0]["value"][0]["id"] == "cf-okr-status-off-track"
    with pytest.raises(RecordError):
        store.set_customfield("tb-task-okr-home", "cf-okr-progress", "much")


def test_reset_restores_the_seed(api: Api, server: SandboxServer) -> None:
    server.data.delete_task("tb-task-okr-home")
    server.data.reset()
    assert _ids(api, "id = 'tb-task-okr-home'") == ["tb-task-okr-home"]


def test_the_demo_holds_the_documented_counts() -> None:
    store = TeambitionStore(demo_section())
    tasks = store.tasks.values()
    children = [t for t in tasks if t["parentTaskId"] == "tb-task-onboarding"]
    assert [t["storyPoint"] for t in children] == ["3", "5", "2", "", "8", "1"]
    assert [t["isDone"] for t in children] == [True, True, True, False, False, False]
    tagged = [t for t in tasks if "tb-tag-okr" in t["tagIds"]]
    assert (len(tagged), sum(t["isDone"] for t in tagged)) == (8, 5)
    sprint = [t for t in tasks if t["sprintId"] == "tb-sprint-42"]
    assert (len(sprint), sum(t["isDone"] for t in sprint)) == (7, 4)
    assert store.tasks["tb-task-okr-home"]["content"] == "OKR: Mobile onboarding"
    times = sorted(t["updated"] for t in tasks)
    assert times[0] >= "2026-10-01" and times[-1] <= "2026-11-28"


def test_generated_data_is_deterministic_and_sized() -> None:
    first, second = generated(12_000), generated(12_000)
    assert first == second
    assert len(first["tasks"]) == 12_000 and len(first["projects"]) == 3
    store = TeambitionStore(first)
    assert len(store.tasks) == 12_000


def test_tag_and_sprint_lists_are_answered_from_the_indexes() -> None:
    """``tagId IN (...)`` (how tag scopes ask) narrows the candidates like ``tagId =`` does,
    so a tag scope over a large set does not scan every task of the project."""
    store = TeambitionStore(generated(12_000))
    query = parse("tagId IN ('tb-tag-gen-3', 'tb-tag-gen-4') AND isDone = false")
    candidates = store._candidates("tb-org-demo", query, "tb-proj-gen-1")
    assert len(candidates) == 1000  # 2 of 10 tags in a project of 5,000
    ids = store.search("tb-org-demo", query, project_id="tb-proj-gen-1")
    tasks = [store.tasks[i] for i in ids]
    assert tasks and all(not t["isDone"] for t in tasks)
    assert {t["tagIds"][0] for t in tasks} == {"tb-tag-gen-3", "tb-tag-gen-4"}
    sprints = parse("sprintId IN ('tb-sprint-gen-0')")
    assert len(store._candidates("tb-org-demo", sprints, "tb-proj-gen-1")) < 1000
