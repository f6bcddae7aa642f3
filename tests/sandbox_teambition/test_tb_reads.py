"""Reading through the Open API: paging, TQL search, task queries, custom-field definitions."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client

from okrsync.sandbox.server import start_teambition
from okrsync.sandbox.teambition import TeambitionStore
from okrsync.sandbox.teambition.app import TeambitionApp
from okrsync.sandbox.teambition.demo import demo_section, generated
from tests.sandbox_teambition.conftest import PROJECT, Api, headers

TASKS = f"/v3/project/{PROJECT}/task/query"
DEMO_OPEN_TASKS = 25  # the demo's 26 tasks minus the archived one


def test_paging_reaches_the_end_with_a_stable_total(api: Api) -> None:
    tasks, pages = api.all_pages(TASKS, pageSize=7)
    assert len(pages) == 4  # 7 + 7 + 7 + 4
    assert {p["totalSize"] for p in pages} == {DEMO_OPEN_TASKS}
    assert len({t["id"] for t in tasks}) == DEMO_OPEN_TASKS
    assert pages[-1]["nextPageToken"] == ""


def test_default_page_size_is_ten(api: Api) -> None:
    status, body = api.get(TASKS)
    assert status == 200 and len(body["result"]) == 10 and body["nextPageToken"]


def test_archived_tasks_only_with_include_archived(api: Api) -> None:
    _, hidden = api.get(TASKS, q="isDone = true", pageSize=100)
    _, shown = api.get(TASKS, q="isDone = true", pageSize=100, includeArchived="true")
    assert "tb-task-archived-1" not in [t["id"] for t in hidden["result"]]
    assert "tb-task-archived-1" in [t["id"] for t in shown["result"]]
    assert shown["totalSize"] == hidden["totalSize"] + 1


def test_tql_filters_and_orders_the_project_tasks(api: Api) -> None:
    tasks, _ = api.all_pages(
        TASKS, q="parentTaskId = 'tb-task-onboarding' ORDER BY storyPoint DESC"
    )
    assert [t["storyPoint"] for t in tasks] == ["8", "5", "3", "2", "1", ""]
    assert all(t["ancestorIds"] == ["tb-task-onboarding"] for t in tasks)


def test_project_task_objects_have_the_documented_shape(api: Api) -> None:
    _, body = api.get(TASKS, q="id = 'tb-task-onboarding-1'")
    (task,) = body["result"]
    assert task["content"] == "Welcome screen"
    assert task["storyPoint"] == "3" and task["isDone"] is True
    assert task["uniqueId"] == "3"  # a string here, as the generated client's model says
    assert task["created"].endswith("Z") and task["accomplishTime"]
    assert task["customfields"] == []


def test_a_bad_query_is_a_400_naming_the_position(api: Api) -> None:
    status, body = api.get(TASKS, q="isDone = true AND (tagId = 'x'")
    assert (status, body["code"]) == (400, 400)
    assert body["errorMessage"].startswith("TQL error at position 31")


def test_org_wide_search_returns_ids_only(api: Api) -> None:
    ids, pages = api.all_pages("/v2/all-task/search", tql="tagId = 'tb-tag-okr'", pageSize=3)
    assert ids == [f"tb-task-crash-{n}" for n in range(1, 9)]
    assert pages[0]["totalSize"] == 8
    _, done = api.get("/v2/all-task/search", tql="tagId = 'tb-tag-okr' AND isDone = true")
    assert done["totalSize"] == 5


def test_task_query_by_ids_short_ids_and_parent(api: Api) -> None:
    _, by_id = api.get("/v3/task/query", taskId="tb-task-okr-home,nope,tb-task-onboarding")
    assert [t["id"] for t in by_id["result"]] == ["tb-task-okr-home", "tb-task-onboarding"]
    assert by_id["result"][0]["uniqueId"] == 1  # an integer here, as the client's model says
    _, by_short = api.get("/v3/task/query", shortIds="MOB-2")
    assert [t["id"] for t in by_short["result"]] == ["tb-task-onboarding"]
    _, children = api.get("/v3/task/query", parentTaskId="tb-task-onboarding")
    assert [t["id"] for t in children["result"]] == [f"tb-task-onboarding-{n}" for n in range(1, 7)]
    status, body = api.get("/v3/task/query")
    assert (status, body["code"]) == (400, 400)


def test_custom_field_search_pages_and_filters(api: Api) -> None:
    fields, pages = api.all_pages(f"/v3/project/{PROJECT}/customfield/search", pageSize=3)
    assert [f["id"] for f in fields] == [
        "cf-okr-progress",
        "cf-okr-status",
        "cf-okr-summary",
        "cf-okr-expected",
    ]
    assert pages[0]["total"] == 4
    _, one = api.get(f"/v3/project/{PROJECT}/customfield/search", cfIds="cf-okr-status")
    assert [f["type"] for f in one["result"]] == ["dropDown"]
    _, named = api.get(f"/v3/project/{PROJECT}/customfield/search", q="expected")
    assert [f["name"] for f in named["result"]] == ["OKR Expected"]


def test_project_statuses_sprints_and_tags(api: Api) -> None:
    _, statuses = api.get(f"/v3/project/{PROJECT}/taskflowstatus/search")
    assert [s["name"] for s in statuses["result"]] == ["To Do", "In Progress", "In Review", "Done"]
    _, sprints = api.get(f"/v3/project/{PROJECT}/sprint/search", sprintIds="tb-sprint-42")
    assert [s["name"] for s in sprints["result"]] == ["Sprint 42"]
    _, tags = api.get(f"/v3/project/{PROJECT}/tag/search", q="OKR")
    assert [t["id"] for t in tags["result"]] == ["tb-tag-okr"]


def test_a_wrong_method_is_a_405_envelope(api: Api) -> None:
    status, body = api.get("/v3/task/tb-task-okr-home/customfield/update")
    assert (status, body["code"]) == (405, 405) and body["result"] is None


def test_paging_errors_are_400(api: Api) -> None:
    status, body = api.get(TASKS, pageSize=1001)
    assert (status, body["code"]) == (400, 400) and "pageSize" in body["errorMessage"]
    status, body = api.get(TASKS, pageToken="garbage")
    assert (status, body["code"]) == (400, 400) and "pageToken" in body["errorMessage"]
    _, first = api.get(TASKS, q="isDone = false", pageSize=2)
    status, body = api.get(TASKS, q="isDone = true", pageSize=2, pageToken=first["nextPageToken"])
    assert status == 400 and "does not belong" in body["errorMessage"]


def test_unknown_project_and_unknown_api_are_404_envelopes(api: Api) -> None:
    status, body = api.get("/v3/project/tb-proj-nope/task/query")
    assert (status, body["code"]) == (404, 404) and "tb-proj-nope" in body["errorMessage"]
    status, body = api.get("/v3/nothing/here")
    assert (status, body["code"]) == (404, 404) and body["result"] is None


def test_a_generated_data_set_pages_through_thousands_of_tasks() -> None:
    server = start_teambition(generated(6000))
    try:
        api = Api(server)
        project = "/v3/project/tb-proj-gen-1/task/query"
        tasks, pages = api.all_pages(project, q="isDone = false", pageSize=250)
        assert len(tasks) == pages[0]["totalSize"] == len({t["id"] for t in tasks})
        assert {t["projectId"] for t in tasks} == {"tb-proj-gen-1"}
        ids, _ = api.all_pages("/v2/all-task/search", tql="tagId = 'tb-tag-gen-3'", pageSize=1000)
        assert len(ids) == 600
        _, children = api.get("/v3/task/query", parentTaskId="tb-task-gen-5000")
        assert len(children["result"]) == 19
        api.http.close()
    finally:
        server.stop()


def test_queries_that_once_crashed_the_parser_get_a_400_envelope(api: Api) -> None:
    for text in (
        "(" * 3000 + "isDone = true" + ")" * 3000,
        "updated > startOf(w, -99999999y)",
    ):
        status, body = api.get(TASKS, q=text)
        assert (status, body["code"]) == (400, 400), body
        assert body["errorMessage"].startswith("TQL error at position ")


def test_an_unexpected_failure_still_answers_with_the_envelope() -> None:
    """A bug in a handler is a 500 with the envelope, not an HTML page."""

    class BrokenStore(TeambitionStore):
        def list_projects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            raise KeyError("broken")

    client = Client(TeambitionApp(BrokenStore(demo_section())))
    response = client.get("/api/v3/project/query", headers=headers())
    assert response.status_code == 500
    assert response.json is not None
    assert response.json["code"] == 500 and response.json["result"] is None
    assert response.json["errorMessage"] == "internal error: KeyError"
    assert response.json["requestId"]
