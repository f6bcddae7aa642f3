"""Teambition task JSON -> WorkItem, and when a field value counts as unchanged (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.teambition.tasks import FieldDef, encode_value, number, same_value, to_item
from mappings.items import Source, StatusCategory


def _task(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "t1",
        "content": "Welcome screen",
        "projectId": "p1",
        "uniqueId": 7,
        "isDone": False,
        "storyPoint": "",
        "parentTaskId": "",
        "tagIds": [],
        "updated": "2026-11-02T08:30:15.250Z",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("raw", "estimate"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (" 3 ", 3.0),
        ("", None),
        ("?", None),
        ("three", None),
        ("-2", None),
        ("nan", None),
        ("inf", None),
        (None, None),
        (5, 5.0),
        (True, None),
    ],
)
def test_story_point_strings_become_estimates(raw: object, estimate: float | None) -> None:
    assert to_item(_task(storyPoint=raw), prefix="MOB").estimate == estimate


@pytest.mark.parametrize(
    ("raw", "category", "status"),
    [
        (True, StatusCategory.DONE, "Done"),
        (False, StatusCategory.TODO, "To Do"),
        ("true", StatusCategory.DONE, "Done"),
        ("false", StatusCategory.TODO, "To Do"),
        (None, StatusCategory.TODO, "To Do"),
    ],
)
def test_done_comes_from_is_done(raw: object, category: StatusCategory, status: str) -> None:
    item = to_item(_task(isDone=raw), prefix="MOB")
    assert (item.status_category, item.status) == (category, status)


def test_progress_on_an_open_task_is_in_progress_but_never_done() -> None:
    assert to_item(_task(progress=30), prefix=None).status_category is StatusCategory.IN_PROGRESS
    assert to_item(_task(progress=100), prefix=None).status_category is StatusCategory.IN_PROGRESS
    done = to_item(_task(progress=0, isDone=True), prefix=None)
    assert done.status_category is StatusCategory.DONE


@pytest.mark.parametrize(
    ("unique", "prefix", "key"),
    [(7, "MOB", "MOB-7"), ("7", "MOB", "MOB-7"), (7, None, "#7"), (None, "MOB", "t1")],
)
def test_key_from_unique_id_int_or_string(unique: object, prefix: str | None, key: str) -> None:
    assert to_item(_task(uniqueId=unique), prefix=prefix).key == key


def test_parent_tags_project_and_updated() -> None:
    item = to_item(
        _task(
            parentTaskId="t0",
            tagIds=["tag-a", "tag-b"],
            updated="2026-11-02T16:30:15.250+08:00",
        ),
        prefix="MOB",
    )
    assert item.source is Source.TEAMBITION
    assert (item.id, item.title, item.project) == ("t1", "Welcome screen", "p1")
    assert (item.parent_id, item.is_subtask) == ("t0", True)
    assert item.labels == ("tag-a", "tag-b")
    assert item.updated == datetime(2026, 11, 2, 8, 30, 15, 250000, tzinfo=UTC)
    top = to_item(_task(parentTaskId=""), prefix="MOB")
    assert (top.parent_id, top.is_subtask) == (None, False)
    # the children a parent scope reads are its units of work, not sub-tasks
    child = to_item(_task(parentTaskId="t0"), prefix="MOB", children_of="t0")
    assert (child.parent_id, child.is_subtask) == ("t0", False)


NUMBER = FieldDef("cf-n", "OKR Progress", "number")
TEXT = FieldDef("cf-t", "OKR Summary", "text")
DATE = FieldDef("cf-d", "OKR Last Synced", "date")
STATUS = FieldDef("cf-s", "OKR Status", "dropDown", (("c1", "On track"), ("c2", "At risk")))


def _stored(field: FieldDef, value: float | str | datetime | None) -> object:
    """What a field holds after ``value`` was written: the titles, read back by type."""
    items = encode_value(field, value)
    title = items[0]["title"] if items else None
    if title is None:
        return None
    if field.type == "number":
        return number(title)
    if field.type == "date":
        return datetime.fromisoformat(title.replace("Z", "+00:00"))
    return title


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (NUMBER, 0.03125),  # 1/32: halfway between two four-decimal texts
        (NUMBER, 0.00005),
        (NUMBER, 12.34565),
        (NUMBER, 63.0),
        (NUMBER, 0.0),
        (TEXT, "6 of 8 done"),
        (TEXT, ""),
        (TEXT, 12.5),
        (DATE, datetime(2026, 11, 27, 18, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))),
        (STATUS, "At risk"),
        (NUMBER, None),
    ],
)
def test_a_value_once_written_is_unchanged(
    field: FieldDef, value: float | str | datetime | None
) -> None:
    """The next cycle wants the same value: it must not be written again."""
    assert same_value(field, _stored(field, value), value)


@pytest.mark.parametrize(
    ("field", "current", "desired"),
    [
        (NUMBER, 0.0312, 0.0313),
        (NUMBER, None, 0.0),
        (NUMBER, 5.0, None),
        (TEXT, "behind", "on track"),
        (TEXT, None, "x"),
        (DATE, datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC)),
        (STATUS, "On track", "At risk"),
    ],
)
def test_a_different_value_is_written(
    field: FieldDef, current: object, desired: float | str | datetime | None
) -> None:
    assert not same_value(field, current, desired)


def test_an_empty_text_is_written_as_a_clear() -> None:
    assert encode_value(TEXT, "") == []
    assert same_value(TEXT, None, "")
