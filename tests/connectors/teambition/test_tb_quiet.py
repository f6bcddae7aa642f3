"""Incremental reads of several scopes of one project: when nothing they match changed,
one count of the project's changes answers for all of them; otherwise each is listed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from connectors.base import FetchRequest, FetchResult
from connectors.teambition import TeambitionConnector
from okrsync.sandbox.server import SandboxServer
from tests.connectors.teambition.conftest import api_entries
from tests.connectors.teambition.test_tb_read import OPEN, PARENT, SPRINT, TAG

SCOPES = (TAG, SPRINT, OPEN)


def _mark(connector: TeambitionConnector) -> datetime:
    answers = connector.fetch([FetchRequest(scope) for scope in SCOPES])
    stamps = [
        item.updated
        for answer in answers.values()
        if isinstance(answer, FetchResult)
        for item in answer.items
        if item.updated is not None
    ]
    return max(stamps) + timedelta(milliseconds=1)


def _counts_only(query: str) -> bool:
    return re.search(r"(^|&)pageSize=1(&|$)", query) is not None


def _listings(tb: SandboxServer) -> list[str]:
    return [e.query for e in api_entries(tb) if e.path.endswith("/task/query")]


def test_nothing_changed_in_the_project_costs_one_request(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    mark = _mark(connector)
    tb.log.clear()
    requests = [FetchRequest(scope, since=mark) for scope in SCOPES]
    answers = connector.fetch(requests)
    assert all(answers[r] == FetchResult([], None) for r in requests)
    (sent,) = _listings(tb)
    assert _counts_only(sent) and "updated+%3E%3D" in sent
    # The counts still come from the tracker: a deletion shows there, not in a listing.
    counted = connector.count([OPEN])[OPEN]
    assert isinstance(counted, int) and counted > 0


def test_a_change_lists_every_scope_of_the_project(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    mark = _mark(connector)
    tb.data.set_story_point("tb-task-crash-7", "13")  # an open task: in OPEN only
    tb.log.clear()
    requests = [FetchRequest(scope, since=mark) for scope in SCOPES]
    answers = connector.fetch(requests)
    assert len(_listings(tb)) == 1 + len(SCOPES)
    changed = answers[FetchRequest(OPEN, since=mark)]
    assert isinstance(changed, FetchResult)
    assert [i.id for i in changed.items] == ["tb-task-crash-7"]


def test_a_parent_scope_and_a_lone_project_scope_are_listed_as_before(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    mark = _mark(connector)
    tb.log.clear()
    requests = [FetchRequest(OPEN, since=mark), FetchRequest(PARENT, since=mark)]
    answers = connector.fetch(requests)
    assert all(isinstance(answers[r], FetchResult) for r in requests)
    assert not any(_counts_only(q) for q in _listings(tb))
