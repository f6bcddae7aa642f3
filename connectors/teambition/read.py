"""Reading Teambition: scope listings, counts, and the look-ups they need.

A :class:`Lookups` lives for one connector call (one cycle's fetch, read or write): it
remembers projects, custom-field definitions and tasks it has asked for, so that many
scopes or targets in one project cost one look-up, while a field added in Teambition
is seen by the next cycle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from connectors.base import ConnectorError, NotFoundError
from connectors.field_names import did_you_mean
from connectors.teambition.http import TeambitionHttp
from connectors.teambition.tasks import (
    CUSTOMFIELD_SEARCH,
    PROJECT_QUERY,
    PROJECT_TASKS,
    TASK_QUERY,
    FieldDef,
    TeambitionScope,
    cf_values,
    describe_scope,
    find_field,
    flag,
    is_story_points,
    number,
    parse_time,
    scope_tql,
    since_tql,
    split_order_by,
)
from mappings.schema import (
    Scope,
    TeambitionParentScope,
    TeambitionSprintScope,
    TeambitionTagsScope,
    TeambitionTqlScope,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Task = dict[str, Any]
# The scopes listed by TQL within one project.
ProjectScope = TeambitionTqlScope | TeambitionTagsScope | TeambitionSprintScope
# Ids per ``/v3/task/query?taskId=`` call (Teambition's limit).
TASK_IDS_PER_CALL = 100


class Lookups:
    """Memoized projects, custom fields and tasks for one connector call (thread-safe).

    Failures are remembered too, so that a failing look-up is not repeated by every scope.
    """

    def __init__(self, http: TeambitionHttp) -> None:
        self.http = http
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._done: dict[tuple[str, str], object] = {}
        self.projects: dict[str, Task] = {}

    def _memo(self, kind: str, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            lock = self._key_locks.setdefault((kind, key), threading.Lock())
        with lock:
            if (kind, key) not in self._done:
                try:
                    self._done[(kind, key)] = load()
                except ConnectorError as exc:
                    self._done[(kind, key)] = exc
            found = self._done[(kind, key)]
        if isinstance(found, ConnectorError):
            raise found
        return found  # type: ignore[return-value]

    def load_projects(self, ids: Iterable[str]) -> dict[str, Task]:
        """Projects by id (those the organization has), fetched in one listing."""
        wanted = sorted({i for i in ids if i and i not in self.projects})
        if wanted:
            found, _ = self.http.collect(
                PROJECT_QUERY,
                params={"projectIds": ",".join(wanted)},
                what=f"projects {', '.join(wanted)}",
            )
            with self._lock:
                for project in found:
                    if isinstance(project, Mapping) and project.get("id"):
                        self.projects[str(project["id"])] = dict(project)
        return {i: self.projects[i] for i in ids if i in self.projects}

    def project_name(self, project_id: str) -> str:
        """The project's name when known, else its id."""
        project = self.projects.get(project_id)
        return str(project.get("name") or project_id) if project else project_id

    def fields(self, project_id: str) -> list[FieldDef]:
        """The project's custom-field definitions."""

        def load() -> list[FieldDef]:
            raw, _ = self.http.collect(
                CUSTOMFIELD_SEARCH,
                path={"projectId": project_id},
                what=f"project '{project_id}'",
            )
            return [FieldDef.of(f) for f in raw if isinstance(f, Mapping) and f.get("id")]

        return self._memo("fields", project_id, load)

    def field(self, project_id: str, name: str) -> FieldDef:
        """The custom field ``name`` of a project; NotFoundError naming the fix."""
        defs = self.fields(project_id)
        found = find_field(defs, name)
        if found is None:
            project = self.project_name(project_id)
            meant = did_you_mean(name, [d.name for d in defs])
            fix = (
                "fix the name in the mapping"
                if meant
                else f"add custom field '{name}' to project {project}"
            )
            raise NotFoundError(
                f"Teambition project {project} has no custom field '{name}'{meant}: {fix}"
            )
        return found

    def tasks(self, ids: Sequence[str]) -> dict[str, Task]:
        """Tasks by id (missing ones left out), ``TASK_IDS_PER_CALL`` per request."""
        out: dict[str, Task] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), TASK_IDS_PER_CALL):
            chunk = unique[start : start + TASK_IDS_PER_CALL]
            body = self.http.call(
                "GET", TASK_QUERY, params={"taskId": ",".join(chunk)}, what=f"tasks {chunk}"
            )
            for task in body.get("result") or []:
                if isinstance(task, Mapping) and task.get("id"):
                    out[str(task["id"])] = dict(task)
        return out


def read_scope(
    lookups: Lookups, scope: TeambitionScope, since: datetime | None
) -> tuple[list[Task], int | None]:
    """Every task of a scope (updated at or after ``since`` if given) and the scope's
    total now (None when only a ``since`` listing was made and the total is unknown)."""
    http = lookups.http
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if isinstance(scope, TeambitionParentScope):
        tasks = _subtasks(lookups, scope.task)
        total = len(tasks)
        if since is not None:
            tasks = [t for t in tasks if (parse_time(t.get("updated")) or since) >= since]
        return tasks, total
    tql = since_tql(scope_tql(scope), since)
    tasks, size = http.collect(
        PROJECT_TASKS,
        path={"projectId": scope.project},
        params={"q": tql},
        what=f"project '{scope.project}'",
        tql=tql,
    )
    return _unique(tasks), (size if since is None else None)


def quiet_scopes(
    lookups: Lookups, reads: Sequence[tuple[Scope, datetime | None]]
) -> set[tuple[Scope, datetime | None]]:
    """The incremental project scopes (TQL, tags, sprint) that hold no task updated since
    their ``since``, found without listing each: per project with two or more of them, one
    count of the tasks matching any of their queries updated since the earliest ``since``.
    Zero answers for every one of them; anything else, or a failed count, for none (each
    is then listed as usual, and a scope's own error shows there)."""
    groups: dict[str, list[tuple[ProjectScope, datetime]]] = {}
    for scope, since in reads:
        if since is not None and isinstance(scope, ProjectScope):
            groups.setdefault(scope.project, []).append((scope, since))
    quiet: set[tuple[Scope, datetime | None]] = set()
    for project, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        wheres = list(dict.fromkeys(split_order_by(scope_tql(s))[0].strip() for s, _ in members))
        union = "" if "" in wheres else " OR ".join(f"({where})" for where in wheres)
        earliest = min(
            since if since.tzinfo is not None else since.replace(tzinfo=UTC) for _, since in members
        )
        tql = since_tql(union, earliest)
        try:
            body = lookups.http.call(
                "GET",
                PROJECT_TASKS,
                path={"projectId": project},
                params={"q": tql, "pageSize": 1},
                what=f"project '{project}'",
                tql=tql,
            )
        except ConnectorError as exc:
            log.debug("teambition: changes in project %s not counted: %s", project, exc.message)
            continue
        if body.get("totalSize") == 0:
            quiet.update(members)
    return quiet


def _unique(tasks: Iterable[Any]) -> list[Task]:
    """Tasks with an id, each once: a task moved while the listing was paged may show up
    on two pages, and must not count twice."""
    seen: dict[str, Task] = {}
    for task in tasks:
        if isinstance(task, Mapping) and task.get("id"):
            seen.setdefault(str(task["id"]), dict(task))
    return list(seen.values())


def count_scope(lookups: Lookups, scope: TeambitionScope) -> int:
    """How many tasks a scope holds now: ``totalSize`` of a one-item page."""
    if isinstance(scope, TeambitionParentScope):
        return len(_subtasks(lookups, scope.task))
    tql = scope_tql(scope)
    body = lookups.http.call(
        "GET",
        PROJECT_TASKS,
        path={"projectId": scope.project},
        params={"q": tql, "pageSize": 1},
        what=f"project '{scope.project}'",
        tql=tql,
    )
    size = body.get("totalSize")
    if not isinstance(size, int):
        raise ConnectorError(
            f"Teambition did not count the tasks of {describe_scope(scope)} (no totalSize)"
        )
    return size


def _subtasks(lookups: Lookups, parent: str) -> list[Task]:
    body = lookups.http.call(
        "GET", TASK_QUERY, params={"parentTaskId": parent}, what=f"sub-tasks of task '{parent}'"
    )
    listed = [t for t in _unique(body.get("result") or []) if t["id"] != parent]
    # Archived tasks sit in the recycle bin: project scopes leave them out, so must this.
    tasks = [t for t in listed if not flag(t.get("isArchived"))]
    if not listed and parent not in lookups.tasks([parent]):
        # The listing is empty both for a task without sub-tasks and for no task at all;
        # the second must not read as an empty scope.
        raise NotFoundError(
            f"Teambition has no task '{parent}' (the parent task of a teambition_parent "
            "scope): check the task id in the mapping"
        )
    return tasks


def extra_fields(
    lookups: Lookups, task: Mapping[str, Any], names: Sequence[str], estimate: float | None
) -> dict[str, float | None]:
    """Numeric values of the named fields on a task, by name.

    Teambition's built-in story points answer to "Story Points" and the like (never a
    custom field of that name); every other name is a
    custom field of the task's project, and a name the project lacks is an error (a
    missing field must not read as zeros).
    """
    values: dict[str, float | None] = {}
    project = str(task.get("projectId") or "")
    for name in names:
        if is_story_points(name):
            values[name] = estimate
            continue
        field = lookups.field(project, name)
        items = cf_values(task, field.id)
        values[name] = number(items[0].get("title")) if items else None
    return values
