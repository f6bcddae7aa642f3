"""JQL building and Jira value forms (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from connectors.jira.errors import repoint_jql_error
from connectors.jira.fields import FieldInfo, format_datetime, parse_datetime, same_value
from connectors.jira.query import and_all, since_clause, split_order_by


@pytest.mark.parametrize(
    ("jql", "condition", "order"),
    [
        ("project = PAY", "project = PAY", ""),
        ("project = PAY ORDER BY key DESC", "project = PAY", "ORDER BY key DESC"),
        ("project = PAY order   by created", "project = PAY", "order   by created"),
        ('summary ~ "order by" ORDER BY key', 'summary ~ "order by"', "ORDER BY key"),
        ("summary ~ 'a \\' order by b'", "summary ~ 'a \\' order by b'", ""),
        ("ORDER BY rank", "", "ORDER BY rank"),
        ("labels = reorder", "labels = reorder", ""),
    ],
)
def test_order_by_is_split_outside_quotes(jql: str, condition: str, order: str) -> None:
    assert split_order_by(jql) == (condition, order)


def test_conditions_are_parenthesised() -> None:
    assert (
        and_all("a = 1 OR b = 2", "", 'updated >= "x"') == '(a = 1 OR b = 2) AND (updated >= "x")'
    )
    assert and_all("a = 1", "") == "a = 1"


def test_since_is_written_in_the_jira_users_zone_floored_to_the_minute() -> None:
    since = datetime(2026, 11, 27, 23, 30, 59, tzinfo=UTC)
    assert since_clause(since, UTC) == 'updated >= "2026/11/27 23:30"'
    assert since_clause(since, ZoneInfo("Asia/Shanghai")) == 'updated >= "2026/11/28 07:30"'


def test_datetime_forms() -> None:
    moment = datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(moment) == "2026-11-28T08:00:00.123+0000"
    assert format_datetime(datetime(2026, 11, 28, 10)) == "2026-11-28T10:00:00.000+0000"
    assert parse_datetime("2026-11-28T10:00:00.000+0000") == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert parse_datetime("2026-11-28T12:00:00.000+02:00") == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert parse_datetime("not a date") is None


def test_equality_before_writing() -> None:
    number = FieldInfo("customfield_1", "OKR Progress", "number")
    select = FieldInfo("customfield_2", "OKR Status", "select")
    when = FieldInfo("customfield_3", "OKR Last Synced", "datetime")
    assert same_value(number, 0.1 + 0.2, 0.3)
    assert not same_value(number, 0.3, 0.30001)
    assert not same_value(number, None, 0.0)
    assert same_value(select, "On track", "On track") and not same_value(select, "On track", "Done")
    t = datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert same_value(when, t, t.astimezone(ZoneInfo("Asia/Shanghai")))
    assert not same_value(when, t, t + timedelta(seconds=1))


SENT = "(labels = x) AND (issuetype not in (10003)) ORDER BY rank bad"
USER = "labels = x ORDER BY rank bad"


@pytest.mark.parametrize(
    ("words", "expected", "in_added"),
    [
        # In the user's condition: one character earlier (okrsync's opening parenthesis).
        ("Bad value. (line 1, character 11)", "Bad value. (line 1, character 10)", False),
        # In the user's ORDER BY, which okrsync moved to the end.
        ("Expecting ','. (line 1, character 59)", "Expecting ','. (line 1, character 26)", False),
        # In okrsync's sub-task filter: left as is, and flagged.
        ("Bad type. (line 1, character 37)", "Bad type. (line 1, character 37)", True),
        ("The value '10003' does not exist for the field 'issuetype'.", None, True),
        ("The value 'x' does not exist for the field 'labels'.", None, False),
    ],
)
def test_jira_error_positions_point_into_the_users_jql(
    words: str, expected: str | None, in_added: bool
) -> None:
    assert repoint_jql_error(words, SENT, USER) == (expected or words, in_added)
