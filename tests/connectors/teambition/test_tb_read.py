"""Reading scopes from the Teambition sandbox: counts, items, paging, ``since``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone

import httpx
import pytest

from connectors.base import ConnectorError, FetchRequest, FetchResult, NotFoundError
from connectors.teambition import TeambitionConnector
from mappings.items import Source, StatusCategory
from mappings.measures import select_items
from mappings.schema import (
    CountMeasure,
    KeyResult,
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTqlScope,
)
from okrsync.sandbox.server import SandboxServer, start_sandbox
from okrsync.sandbox.teambition.demo import generated
from tests.connectors.teambition.conftest import (
    PROJECT,
    MakeConnector,
    api_entries,
    fetch_scripted,
)

PARENT = TeambitionParentScope(kind="teambition_parent", task="tb-task-onboarding")
TAG = TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("tb-tag-okr",))
SPRINT = TeambitionSprintScope(kind="teambition_sprint", project=PROJECT, sprint="tb-sprint-42")
OPEN = TeambitionTqlScope(
    kind="teambition_tql", project=PROJECT, tql="isDone = false ORDER BY updated DESC"
)


def _result(connector: TeambitionConnector, request: FetchRequest) -> FetchResult:
    answer = connector.fetch([request])[request]
    assert isinstance(answer, FetchResult), answer
    return answer


@pytest.mark.parametrize(
    ("scope", "total", "done"),
    [(PARENT, 6, 3), (TAG, 8, 5), (SPRINT, 7, 4)],
    ids=["parent", "tag", "sprint"],
)
def test_demo_scopes_give_the_documented_counts(
    connector: TeambitionConnector, scope: object, total: int, done: int
) -> None:
    request = FetchRequest(scope)  # type: ignore[arg-type]
    result = _result(connector, request)
    assert len(result.items) == total
    assert result.total == total
    assert sum(i.status_category is StatusCategory.DONE for i in result.items) == done
    assert connector.count([request.scope]) == {request.scope: total}


def test_tasks_become_work_items(connector: TeambitionConnector) -> None:
    items = _result(connector, FetchRequest(PARENT, ("Story Points",))).items
    by_id = {i.id: i for i in items}
    assert sorted(by_id) == [f"tb-task-onboarding-{n}" for n in range(1, 7)]
    first = by_id["tb-task-onboarding-1"]
    assert first.source is Source.TEAMBITION
    assert first.key.startswith("MOB-")
    assert first.title
    assert first.parent_id == "tb-task-onboarding"
    assert first.project == PROJECT
    assert first.updated is not None and first.updated.utcoffset() == timedelta(0)
    # storyPoint strings "3","5","2","","8","1": the empty one is unestimated
    estimates = [by_id[f"tb-task-onboarding-{n}"].estimate for n in range(1, 7)]
    assert estimates == [3.0, 5.0, 2.0, None, 8.0, 1.0]
    assert [by_id[f"tb-task-onboarding-{n}"].fields["Story Points"] for n in range(1, 7)] == (
        estimates
    )
    assert "tb-task-onboarding" not in by_id  # never the parent itself


def test_a_parent_scope_counts_its_children_other_scopes_flag_sub_tasks(
    connector: TeambitionConnector,
) -> None:
    by_tql = TeambitionTqlScope(
        kind="teambition_tql", project=PROJECT, tql="parentTaskId = 'tb-task-onboarding'"
    )
    children = _result(connector, FetchRequest(PARENT)).items
    flagged = _result(connector, FetchRequest(by_tql)).items
    assert sorted(i.id for i in flagged) == sorted(i.id for i in children)
    assert not any(i.is_subtask for i in children)
    assert all(i.is_subtask for i in flagged)
    # what the progress engine then counts for a KR over each scope
    for scope, counted in ((PARENT, 6), (by_tql, 0)):
        kr = KeyResult(id="kr", title="kr", scope=(scope,), measure=CountMeasure(kind="count"))
        items = children if scope is PARENT else flagged
        assert len(select_items(kr, items).items) == counted


def test_key_is_the_short_id_people_see(connector: TeambitionConnector, tb: SandboxServer) -> None:
    items = _result(connector, FetchRequest(TAG)).items
    for item in items:
        stored = tb.data.task(item.id)
        assert stored is not None
        assert item.key == f"MOB-{stored['uniqueId']}"
        assert item.labels == tuple(stored["tagIds"])


def test_progress_makes_an_open_task_in_progress(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.update_task("tb-task-sprint42-5", progress=40)
    items = {i.id: i for i in _result(connector, FetchRequest(SPRINT)).items}
    assert items["tb-task-sprint42-5"].status_category is StatusCategory.IN_PROGRESS
    assert items["tb-task-sprint42-6"].status_category is StatusCategory.TODO


def test_custom_number_fields_are_read_by_name(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.set_customfield("tb-task-crash-2", "cf-okr-expected", "12.5")
    items = {i.id: i for i in _result(connector, FetchRequest(TAG, ("OKR Expected",))).items}
    assert items["tb-task-crash-2"].fields == {"OKR Expected": 12.5}
    assert items["tb-task-crash-3"].fields == {"OKR Expected": None}


def test_a_field_the_project_lacks_fails_the_scope_not_zero(
    connector: TeambitionConnector,
) -> None:
    request = FetchRequest(TAG, ("Customer Impact",))
    answer = connector.fetch([request])[request]
    assert isinstance(answer, NotFoundError)
    assert answer.message == (
        "Teambition project Mobile App has no custom field 'Customer Impact': "
        "add custom field 'Customer Impact' to project Mobile App"
    )


def test_one_failing_scope_leaves_the_others(connector: TeambitionConnector) -> None:
    missing = TeambitionTqlScope(kind="teambition_tql", project="tb-proj-gone")
    no_parent = TeambitionParentScope(kind="teambition_parent", task="tb-task-gone")
    requests = [FetchRequest(TAG), FetchRequest(missing), FetchRequest(no_parent)]
    answers = connector.fetch(requests)
    assert isinstance(answers[requests[0]], FetchResult)
    assert isinstance(answers[requests[1]], NotFoundError)
    assert "project 'tb-proj-gone'" in answers[requests[1]].message  # type: ignore[union-attr]
    # an unknown parent must not read as an empty scope
    assert isinstance(answers[requests[2]], NotFoundError)
    assert answers[requests[2]].message == (  # type: ignore[union-attr]
        "Teambition has no task 'tb-task-gone' (the parent task of a teambition_parent "
        "scope): check the task id in the mapping"
    )


def test_identical_scopes_are_listed_once(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    requests = [FetchRequest(TAG), FetchRequest(TAG, ("OKR Expected",))]
    answers = connector.fetch(requests)
    assert all(isinstance(answers[r], FetchResult) for r in requests)
    listings = [e for e in api_entries(tb) if e.path.endswith("/task/query")]
    assert len(listings) == 1


def test_since_returns_only_tasks_changed_since(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    full = _result(connector, FetchRequest(OPEN)).items
    mark = max(i.updated for i in full if i.updated is not None) + timedelta(milliseconds=1)
    tb.data.set_story_point("tb-task-crash-7", "13")
    tb.data.set_story_point("tb-task-onboarding-5", "5")
    changed = _result(connector, FetchRequest(OPEN, since=mark))
    assert [i.id for i in changed.items] == ["tb-task-onboarding-5", "tb-task-crash-7"]
    assert changed.total is None  # the since listing does not count the whole scope
    sub = _result(connector, FetchRequest(PARENT, since=mark))
    assert [i.id for i in sub.items] == ["tb-task-onboarding-5"]
    assert sub.total == 6
    # the TQL sent AND-ed the condition before ORDER BY
    sent = [e.query for e in api_entries(tb) if e.path.endswith(f"{PROJECT}/task/query")]
    assert "ORDER+BY" in sent[-1] and "updated+%3E%3D" in sent[-1]


def test_tql_scope_applies_the_query(connector: TeambitionConnector, tb: SandboxServer) -> None:
    result = _result(connector, FetchRequest(OPEN))
    expected = [
        t["id"]
        for t in tb.data.tasks.values()
        if t["projectId"] == PROJECT and not t["isDone"]
        if not t["isArchived"]
    ]
    assert sorted(i.id for i in result.items) == sorted(expected)
    assert all(i.status_category is not StatusCategory.DONE for i in result.items)
    updated = [i.updated for i in result.items]
    assert updated == sorted(updated, reverse=True)  # type: ignore[type-var]


# ------------------------------------------------------------------ paging


@pytest.fixture(scope="module")
def big() -> Iterator[SandboxServer]:
    """A sandbox with 2,400 generated tasks in one project."""
    with start_sandbox(seed={"teambition": generated(2400)}, jira=(), teambition=True) as sb:
        assert sb.teambition is not None
        yield sb.teambition


def test_paging_reads_to_the_end(big: SandboxServer, make_connector: MakeConnector) -> None:
    connector = make_connector(server=big, page_size=100, requests_per_second=40)
    scope = TeambitionTqlScope(kind="teambition_tql", project="tb-proj-gen-0")
    tag = TeambitionTagsScope(
        kind="teambition_tags", project="tb-proj-gen-0", tags=("tb-tag-gen-3",)
    )
    big.log.clear()
    answers = connector.fetch([FetchRequest(scope), FetchRequest(tag)])
    everything = answers[FetchRequest(scope)]
    tagged = answers[FetchRequest(tag)]
    assert isinstance(everything, FetchResult) and isinstance(tagged, FetchResult)
    assert len(everything.items) == everything.total == 2400
    assert len({i.id for i in everything.items}) == 2400
    assert len(tagged.items) == tagged.total == 240
    pages = [e for e in big.log.entries() if e.path.endswith("/task/query")]
    assert len(pages) == 24 + 3
    assert all(e.status == 200 for e in pages)


def test_a_repeated_page_token_stops_the_listing() -> None:
    """A server whose cursor never advances must not make the connector loop forever."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        task = {"id": f"t{len(calls)}", "projectId": "p", "content": "x", "isDone": False}
        body = {"code": 200, "result": [task], "nextPageToken": "same", "totalSize": 99}
        return httpx.Response(200, json=body)

    answer_ = fetch_scripted(answer)
    assert isinstance(answer_, ConnectorError)
    assert "repeated a page token" in answer_.message
    assert len([c for c in calls if c.url.path.endswith("/task/query")]) == 2


def test_archived_sub_tasks_are_left_out_like_in_project_scopes(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.archive_task("tb-task-onboarding-6")
    result = _result(connector, FetchRequest(PARENT))
    assert sorted(i.id for i in result.items) == [f"tb-task-onboarding-{n}" for n in range(1, 6)]
    assert result.total == 5
    assert connector.count([PARENT]) == {PARENT: 5}
    by_tql = TeambitionTqlScope(
        kind="teambition_tql", project=PROJECT, tql="parentTaskId = 'tb-task-onboarding'"
    )
    assert connector.count([by_tql]) == {by_tql: 5}


def test_since_in_another_time_zone_means_the_same_moment(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    full = _result(connector, FetchRequest(SPRINT)).items
    mark = max(i.updated for i in full if i.updated is not None) + timedelta(milliseconds=1)
    tb.data.set_story_point("tb-task-sprint42-2", "3")
    in_utc = _result(connector, FetchRequest(SPRINT, since=mark)).items
    shanghai = mark.astimezone(timezone(timedelta(hours=8)))
    in_shanghai = _result(connector, FetchRequest(SPRINT, since=shanghai)).items
    naive_utc = _result(connector, FetchRequest(SPRINT, since=mark.replace(tzinfo=None))).items
    assert [i.id for i in in_utc] == ["tb-task-sprint42-2"]
    assert [i.id for i in in_shanghai] == [i.id for i in naive_utc] == ["tb-task-sprint42-2"]
