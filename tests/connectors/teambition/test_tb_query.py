"""How scopes and ``since`` become TQL, and how numbers are written (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.teambition.tasks import format_number, scope_tql, since_tql, split_order_by
from mappings.schema import TeambitionSprintScope, TeambitionTagsScope

SINCE = datetime(2026, 11, 2, 8, 30, 15, 250000, tzinfo=UTC)
COND = "updated >= '2026-11-02T08:30:15.250Z'"


@pytest.mark.parametrize(
    ("tql", "expected"),
    [
        ("", COND),
        ("isDone = false", f"(isDone = false) AND {COND}"),
        (
            "isDone = false order by updated DESC",
            f"(isDone = false) AND {COND} order by updated DESC",
        ),
        ("ORDER BY priority", f"{COND} ORDER BY priority"),
        (
            "content ~ 'ORDER BY x' OR priority = 1",
            f"(content ~ 'ORDER BY x' OR priority = 1) AND {COND}",
        ),
        (
            r"content = 'it\'s ORDER BY' ORDER BY created",
            rf"(content = 'it\'s ORDER BY') AND {COND} ORDER BY created",
        ),
        ("reorder_by = 1", f"(reorder_by = 1) AND {COND}"),
    ],
)
def test_since_is_anded_before_order_by(tql: str, expected: str) -> None:
    assert since_tql(tql, SINCE) == expected


def test_since_in_another_zone_is_sent_in_utc() -> None:
    local = SINCE.astimezone(timezone(timedelta(hours=8)))
    assert since_tql("", local) == COND


def test_no_since_leaves_the_query_alone() -> None:
    assert since_tql("isDone = true ORDER BY updated", None) == "isDone = true ORDER BY updated"
    assert split_order_by("a = 1") == ("a = 1", "")


def test_scope_queries_quote_ids() -> None:
    tags = TeambitionTagsScope(kind="teambition_tags", project="p", tags=("t1", "it's"))
    sprint = TeambitionSprintScope(kind="teambition_sprint", project="p", sprint="s-42")
    assert scope_tql(tags) == r"tagId IN ('t1', 'it\'s')"
    assert scope_tql(sprint) == "sprintId = 's-42'"


@pytest.mark.parametrize(
    ("value", "text"), [(63.5, "63.5"), (63.0, "63"), (0.6354, "0.6354"), (-0.0, "0"), (100, "100")]
)
def test_numbers_are_written_as_plain_text(value: float, text: str) -> None:
    assert format_number(value) == text
