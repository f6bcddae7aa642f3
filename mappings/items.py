"""WorkItem: a tracker ticket normalized so that the progress engine knows no tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Source(StrEnum):
    """Which tracker an item came from."""

    JIRA = "jira"
    TEAMBITION = "teambition"


class StatusCategory(StrEnum):
    """Jira's three status categories; Teambition maps isDone to DONE, else TODO/IN_PROGRESS."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One ticket (Jira issue or Teambition task) as the progress engine sees it.

    Identity is ``(source, id)`` where ``id`` is the tracker's immutable id (Jira's numeric
    issue id, Teambition's task id), so an issue moved between projects or epics stays
    itself even though its key changes.
    """

    source: Source
    id: str
    key: str
    title: str
    type: str = ""
    is_epic: bool = False
    is_subtask: bool = False
    parent_id: str | None = None
    parent_key: str | None = None
    status: str = ""
    status_category: StatusCategory = StatusCategory.TODO
    resolution: str | None = None
    estimate: float | None = None
    updated: datetime | None = None
    labels: tuple[str, ...] = ()
    project: str = ""
    # Numeric (or None) values of extra fields a measure asked for, keyed by the field
    # *name* used in the mapping file (e.g. "Customer impact"), never by tracker id.
    fields: dict[str, float | None] = field(default_factory=dict)
