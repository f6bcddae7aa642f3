"""Builders for work items and key results shared by the engine tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from mappings.items import Source, StatusCategory, WorkItem
from mappings.period import Period
from mappings.schema import KeyResult, Thresholds

THRESHOLDS = Thresholds()
# November 2026 has 30 days: the 16th at 00:00 UTC is exactly half way.
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
BEFORE = datetime(2026, 10, 15, tzinfo=UTC)
HALF_WAY = datetime(2026, 11, 16, tzinfo=UTC)
AFTER = datetime(2026, 12, 5, tzinfo=UTC)

_STATUS = {
    StatusCategory.TODO: "To Do",
    StatusCategory.IN_PROGRESS: "In Progress",
    StatusCategory.DONE: "Done",
}


def item(
    key: str,
    category: StatusCategory = StatusCategory.TODO,
    *,
    estimate: float | None = None,
    source: Source = Source.JIRA,
    item_id: str | None = None,
    **extra: Any,
) -> WorkItem:
    """A work item whose id is derived from its key unless given."""
    values: dict[str, Any] = {
        "status": _STATUS[category],
        "resolution": "Done" if category == StatusCategory.DONE else None,
        "type": "Story",
    }
    values.update(extra)
    return WorkItem(
        source=source,
        id=item_id or f"id-{key}",
        key=key,
        title=f"Title of {key}",
        status_category=category,
        estimate=estimate,
        **values,
    )


def kr(measure: dict[str, Any], scope: Any = None, **extra: Any) -> KeyResult:
    """A key result over the PAY-1 epic unless another scope is given."""
    data: dict[str, Any] = {
        "id": "kr-test",
        "title": "A key result",
        "measure": measure,
        "scope": scope if scope is not None else {"kind": "jira_epics", "epics": ["PAY-1"]},
    }
    data.update(extra)
    return KeyResult.model_validate(data)


def demo_pay1() -> list[WorkItem]:
    """Epic PAY-1 as in the demo: the epic, stories PAY-2..PAY-9, sub-tasks PAY-10/11."""
    done, doing, todo = StatusCategory.DONE, StatusCategory.IN_PROGRESS, StatusCategory.TODO
    stories = [
        ("PAY-2", 3.0, done),
        ("PAY-3", 5.0, done),
        ("PAY-4", 2.0, done),
        ("PAY-5", 8.0, done),
        ("PAY-6", 3.0, doing),
        ("PAY-7", None, doing),
        ("PAY-8", 5.0, todo),
        ("PAY-9", 1.0, todo),
    ]
    items = [item("PAY-1", doing, is_epic=True, type="Epic")]
    items += [
        item(key, category, estimate=points, parent_key="PAY-1", parent_id="id-PAY-1")
        for key, points, category in stories
    ]
    items += [
        item("PAY-10", done, estimate=1.0, is_subtask=True, parent_key="PAY-4", type="Sub-task"),
        item("PAY-11", todo, estimate=1.0, is_subtask=True, parent_key="PAY-4", type="Sub-task"),
    ]
    return items


def demo_bugs() -> list[WorkItem]:
    """Bugs PAY-30..PAY-49: the first nine done; "Customer Impact" is 1 + n % 5."""
    return [
        item(
            f"PAY-{n}",
            StatusCategory.DONE if n <= 38 else StatusCategory.TODO,
            type="Bug",
            labels=("checkout",),
            fields={"Customer Impact": float(1 + n % 5)},
        )
        for n in range(30, 50)
    ]


BUG_SCOPE = {"kind": "jql", "jql": "labels = checkout AND type = Bug"}
