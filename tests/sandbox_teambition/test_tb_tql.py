"""TQL: what parses, how it binds, what it matches, and how errors name their position."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from okrsync.sandbox.teambition.tql import And, Compare, Func, Not, Or, TqlError, parse
from okrsync.sandbox.teambition.tql_eval import compile_order, compile_where

NOW = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # a Thursday


def _task(task_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": task_id,
        "isDone": False,
        "executorId": "",
        "storyPoint": "",
        "tagIds": [],
        "sprintId": "",
        "priority": 0,
        "content": "",
        "updated": "2026-11-01T00:00:00.000Z",
        "dueDate": None,
        "customfields": [],
    }
    base.update(fields)
    return base


TASKS = [
    _task(
        "a",
        isDone=True,
        storyPoint="3",
        tagIds=["t1"],
        executorId="u1",
        priority=2,
        stageId="st1",
        created="2026-10-01T00:00:00.000Z",
    ),
    _task(
        "b",
        storyPoint="5",
        tagIds=["t1", "t2"],
        sprintId="s1",
        content="Fix Login crash",
        tfsId="tfs-doing",
        parentTaskId="a",
    ),
    _task(
        "c",
        storyPoint="",
        executorId="u2",
        updated="2026-11-20T10:00:00.000Z",
        dueDate="2026-11-30T00:00:00.000Z",
    ),
    _task(
        "d",
        isDone=True,
        storyPoint="8",
        updated="2026-11-25T10:00:00.000Z",
        customfields=[{"cfId": "cf1", "type": "number", "value": [{"id": "", "title": "42"}]}],
    ),
]


def matching(text: str, operator: str | None = None) -> list[str]:
    query = parse(text)
    predicate = compile_where(query, NOW, operator)
    return [t["id"] for t in compile_order(query)([t for t in TASKS if predicate(t)])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["a", "b", "c", "d"]),
        ("isDone = true", ["a", "d"]),
        ("isDone != true", ["b", "c"]),
        ("storyPoint >= 5", ["b", "d"]),
        ("storyPoint < 5", ["a"]),
        ("storyPoint = null", ["c"]),
        ("tagId = 't1'", ["a", "b"]),
        ("tagId IN ('t2', 'zz')", ["b"]),
        ("tagId NOT IN ('t1')", ["c", "d"]),
        ("executorId != 'u1'", ["b", "c", "d"]),
        ("executorId IN ('u1', 'u2')", ["a", "c"]),
        ("priority > 1", ["a"]),
        ("content ~ 'login'", ["b"]),
        ("sprintId = 's1'", ["b"]),
        ("sprintId = null", ["a", "c", "d"]),
        ("storyPoint IN (3, 8)", ["a", "d"]),
        ("updated > '2026-11-19'", ["c", "d"]),
        ("updated >= '2026-11-25T10:00:00Z'", ["d"]),
        ("updated > startOf(w)", ["d"]),
        ("updated <= endOf(w, -1w)", ["a", "b", "c"]),
        ("cf:cf1 > 40", ["d"]),
        ("cf:cf1 = '42'", ["d"]),
        ("cf:cf1 = null", ["a", "b", "c"]),
        ("NOT isDone = true AND storyPoint > 0", ["b"]),
        ("executorId = me()", ["a"]),
        ("stageId = 'st1'", ["a"]),
        ("tfsId IN ('tfs-doing', 'tfs-x')", ["b"]),
        ("parentTaskId = 'a'", ["b"]),
        ("parentTaskId = null", ["a", "c", "d"]),
        ("dueDate <= '2026-11-30'", ["c"]),
        ("dueDate > endOf(w)", ["c"]),
        ("created < '2026-10-02'", ["a"]),
        ("priority != 2", ["b", "c", "d"]),
        ("storyPoint <= 3", ["a"]),
        ("updated >= '2026-11-25T18:00:00+08:00'", ["d"]),
        ("updated > '2026-11-25T18:00:00+08:00'", []),
        ("(tagId = 't2' OR isDone = true) AND storyPoint != 8", ["a", "b"]),
        ("cf:cf1 ~ '4'", ["d"]),
    ],
)
def test_supported_forms_match_the_right_tasks(text: str, expected: list[str]) -> None:
    assert matching(text, operator="u1") == expected


def test_and_binds_tighter_than_or() -> None:
    query = parse("isDone = true OR storyPoint = 5 AND tagId = 't2'")
    assert isinstance(query.where, Or)
    assert isinstance(query.where.items[1], And)
    assert matching("isDone = true OR storyPoint = 5 AND tagId = 't2'") == ["a", "b", "d"]
    assert matching("(isDone = true OR storyPoint = 5) AND tagId = 't1'") == ["a", "b"]


def test_keywords_are_case_insensitive_and_strings_unescape() -> None:
    query = parse("content ~ 'it\\'s' and not isDone = TRUE order by updated desc")
    assert isinstance(query.where, And)
    assert query.where.items[0] == Compare("content", "~", "it's", 1, 11)
    assert isinstance(query.where.items[1], Not)
    assert query.order == (("updated", True, 50),)


def test_functions_parse_with_units_and_offsets() -> None:
    query = parse("dueDate < endOf(w, -1w)")
    assert isinstance(query.where, Compare)
    assert query.where.value == Func("endof", ("w", "-1w"), 11)


def test_order_by_several_keys_puts_missing_values_last() -> None:
    assert matching("ORDER BY storyPoint DESC") == ["d", "b", "a", "c"]
    assert matching("ORDER BY isDone DESC, storyPoint ASC") == ["a", "d", "b", "c"]
    assert matching("ORDER BY cf:cf1 DESC") == ["d", "a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("isDone = ", 10, "expected a value, found the end of the query"),
        ("isDone == true", 9, "expected a value, found '='"),
        ("isDone = true AND", 18, "expected a field name"),
        ("(isDone = true", 15, "expected ')'"),
        ("tagId IN 't1'", 10, "expected '(' to start a list"),
        ("content = 'open", 11, "unterminated string"),
        ("isDone = true LIMIT 5", 15, "unexpected 'LIMIT'"),
        ("storyPoint $ 3", 12, "unexpected character '$'"),
        ("isDone = true ORDER updated", 21, "expected BY"),
        ("startOf(d) = 1", 8, "expected an operator"),
        ("updated > startOf(q)", 11, "startOf() takes a unit"),
        ("(" * 100 + "isDone = true" + ")" * 100, 65, "nested deeper than 64 levels"),
        ("NOT " * 70 + "isDone = true", 257, "nested deeper than 64 levels"),
    ],
)
def test_syntax_errors_name_the_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(TqlError) as failure:
        parse(text)
    assert failure.value.position == position
    assert reason in str(failure.value)
    assert f"position {position}" in str(failure.value)


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("owner = 'u1'", 1, "unknown field 'owner'"),
        ("isDone = 'yes'", 10, "isDone takes true or false"),
        ("storyPoint > 'many'", 14, "storyPoint takes a number"),
        ("updated > 'yesterday'", 11, "'yesterday' is not a date"),
        ("isDone > true", 1, "operator > is not supported on isDone"),
        ("tagId ~ 'x'", 1, "operator ~ is not supported on tagId"),
        ("executorId = me()", 14, "me() needs the X-Operator-Id header"),
        ("ORDER BY tagId", 10, "cannot order by 'tagId'"),
        ("updated > startOf(w, -99999999y)", 11, "offset -99999999y is out of range"),
        ("updated > endOf(d, 999999999d)", 11, "offset 999999999d is out of range"),
    ],
)
def test_meaning_errors_name_the_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(TqlError) as failure:
        matching(text)
    assert failure.value.position == position
    assert reason in str(failure.value)
