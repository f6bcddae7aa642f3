"""Which items a key result counts: deduplicated, in a stable order, with the scope's own
epics / parent tasks and (unless asked for) sub-tasks left out, each with its reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mappings.items import Source, StatusCategory, WorkItem
from mappings.period import as_utc
from mappings.results import Excluded
from mappings.schema import JiraEpicsScope, KeyResult, TeambitionParentScope

__all__ = ["REASON_PARENT", "REASON_SELF", "REASON_SUBTASK", "Selection", "select_items"]

REASON_SELF = "the epic itself"
REASON_PARENT = "the parent task itself"
REASON_SUBTASK = "sub-task (include_subtasks: false)"

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _natural_key(key: str) -> tuple[str | int, ...]:
    # PAY-2 before PAY-10. re.split with a group alternates text and digits, starting with
    # text, so two keys always compare str with str and int with int at each position.
    parts = re.split(r"(\d+)", key.casefold())
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def _order(item: WorkItem) -> tuple[tuple[str | int, ...], str, str]:
    return (_natural_key(item.key), str(item.source), item.id)


def _updated(item: WorkItem) -> datetime:
    return _OLDEST if item.updated is None else as_utc(item.updated)


_PROGRESS = {StatusCategory.TODO: 0, StatusCategory.IN_PROGRESS: 1, StatusCategory.DONE: 2}


def _freshness(item: WorkItem) -> tuple[datetime, int, str, str, str, float]:
    # The latest copy wins; copies equally recent (two scopes read at once) are ranked by
    # their content, the furthest along first, so that which one a read returned first
    # cannot change the result.
    estimate = item.estimate if item.estimate is not None and math.isfinite(item.estimate) else -1.0
    return (
        _updated(item),
        _PROGRESS[item.status_category],
        item.status,
        item.resolution or "",
        item.key,
        estimate,
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """The items a key result counts (deduplicated, in a stable order) and those left out."""

    items: tuple[WorkItem, ...]
    excluded: tuple[Excluded, ...]
    scope_count: int


def _epic_keys(kr: KeyResult, extra: Collection[str]) -> set[tuple[str | None, str]]:
    # The KR's own scopes name their epics and parent tasks, so "an epic never counts
    # itself" holds even when the caller passes no keys. Each is tied to its tracker: a
    # Teambition task id that happens to read like a Jira key leaves no Jira issue out.
    keys: set[tuple[str | None, str]] = {(None, key) for key in extra}
    for scope in kr.scope:
        if isinstance(scope, JiraEpicsScope):
            keys.update((Source.JIRA.value, epic) for epic in scope.epics)
        elif isinstance(scope, TeambitionParentScope):
            keys.add((Source.TEAMBITION.value, scope.task))
    return keys


def _is_scope_parent(item: WorkItem, parents: set[tuple[str | None, str]]) -> bool:
    source = str(item.source)
    return any((owner, name) in parents for owner in (None, source) for name in (item.key, item.id))


def select_items(
    kr: KeyResult, items: Sequence[WorkItem], scope_epic_keys: Collection[str] = ()
) -> Selection:
    """Deduplicate ``items`` by ``(source, id)`` and leave out what ``kr`` must not count.

    Of duplicates, the most recently updated copy wins. Left out:
    the scope's own epics / parent tasks (matched by key or id), and sub-tasks unless some
    scope of the KR sets ``include_subtasks``.
    """
    latest: dict[tuple[str, str], WorkItem] = {}
    for item in items:
        identity = (str(item.source), item.id)
        seen = latest.get(identity)
        if seen is None or _freshness(item) > _freshness(seen):
            latest[identity] = item
    epics = _epic_keys(kr, scope_epic_keys)
    with_subtasks = any(scope.include_subtasks for scope in kr.scope)
    kept: list[WorkItem] = []
    excluded: list[Excluded] = []
    for item in sorted(latest.values(), key=_order):
        if _is_scope_parent(item, epics):
            reason = REASON_PARENT if item.source == Source.TEAMBITION else REASON_SELF
            excluded.append(Excluded(item.id, item.key, reason))
        elif item.is_subtask and not with_subtasks:
            excluded.append(Excluded(item.id, item.key, REASON_SUBTASK))
        else:
            kept.append(item)
    return Selection(tuple(kept), tuple(excluded), len(latest))
