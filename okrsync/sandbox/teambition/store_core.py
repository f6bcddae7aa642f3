"""Loading, indexes and reads of the Teambition sandbox's in-memory data.

Thread-safe (one re-entrant lock). Tasks are indexed by project, parent, tag, sprint and
``updated`` so that queries over tens of thousands of tasks stay cheap. Every change bumps
the task's ``updated`` from a clock that never goes backwards, even when the seed holds
times in the future, so ``updated > X`` always finds a change made after X was read.
"""

from __future__ import annotations

import bisect
import copy
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from okrsync.sandbox.seed_check import SeedProblems
from okrsync.sandbox.teambition import tql
from okrsync.sandbox.teambition.records import RecordError, normalize_project, normalize_task
from okrsync.sandbox.teambition.seed import check_section, normalize_section
from okrsync.sandbox.teambition.tql_eval import (
    canonical_time,
    compile_order,
    compile_where,
    conjuncts,
    fields_of,
    format_time,
)

__all__ = ["StoreCore"]

Record = dict[str, Any]
_INDEXED = {"parentTaskId": "_by_parent", "sprintId": "_by_sprint", "projectId": "_by_project"}
_CACHE_SIZE = 32


class StoreCore:
    """Data of one Teambition sandbox built from a seed section, its indexes and its reads."""

    def __init__(
        self,
        section: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        problems = check_section(section)
        if problems:
            raise SeedProblems(problems)
        # kept as JSON: reloading it is much faster than deep-copying tens of thousands of tasks
        self._seed = json.dumps(normalize_section(section), default=str)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.reset()

    # ----- loading -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every change and reload the seed."""
        with self.lock:
            seed = json.loads(self._seed)
            default_time = format_time(self._clock())
            self.organizations: dict[str, Record] = {
                o["id"]: o for o in seed.get("organizations", [])
            }
            self.apps: dict[str, str] = {a["appId"]: a["appSecret"] for a in seed.get("apps", [])}
            self.members: dict[str, Record] = {}
            for member in seed.get("members", []):
                user_id = member.get("userId") or member["id"]
                self.members[user_id] = {**member, "userId": user_id}
            self.projects: dict[str, Record] = {}
            for raw in seed.get("projects", []):
                project = normalize_project(raw, default_time)
                self.projects[project["id"]] = project
            self.customfields: dict[str, list[Record]] = {
                pid: [self._customfield(pid, cf, default_time) for cf in fields]
                for pid, fields in (seed.get("customfields") or {}).items()
            }
            self.resources: dict[str, dict[str, list[Record]]] = {
                kind: dict(seed.get(kind) or {}) for kind in ("tags", "sprints", "taskflowstatuses")
            }
            self.tasks: dict[str, Record] = {}
            self.comments: dict[str, list[Record]] = {}
            self.activities: dict[str, list[Record]] = {}
            self._seq: dict[str, int] = {}
            self._next_seq = 0
            self._by_project: dict[str, set[str]] = {}
            self._by_parent: dict[str, set[str]] = {}
            self._by_sprint: dict[str, set[str]] = {}
            self._by_tag: dict[str, set[str]] = {}
            self._by_short: dict[str, str] = {}
            self._max_unique: dict[str, int] = {}
            self._by_updated: list[tuple[str, int]] = []
            self._ids_by_seq: dict[int, str] = {}
            self._last_time = ""
            self.version = 0
            self._cache: dict[tuple[Any, ...], list[str]] = {}
            self._counter = 0
            for index, raw in enumerate(seed.get("tasks", [])):
                try:
                    task = normalize_task(raw, default_time)
                except ValueError as exc:  # a bad time or story point: say which task
                    raise SeedProblems([f"teambition.tasks[{index}]: {exc}"]) from None
                if task["projectId"] not in self.projects:
                    raise RecordError(f"task {task['id']!r} names unknown project")
                self._assign_unique_id(task)
                self._insert(task, sort_later=True)
            self._by_updated.sort()

    @staticmethod
    def _customfield(project_id: str, raw: Record, default_time: str) -> Record:
        return {
            "type": "text",
            "subtype": "",
            "boundToObjectId": project_id,
            "boundToObjectType": "project",
            "originalId": raw["id"],
            "creatorId": "",
            "choices": [],
            "payload": {},
            **raw,
            "created": canonical_time(raw.get("created") or default_time),
        }

    def _assign_unique_id(self, task: Record) -> None:
        project_id = task["projectId"]
        if task.get("uniqueId") in (None, ""):
            task["uniqueId"] = self._max_unique.get(project_id, 0) + 1
        task["uniqueId"] = int(task["uniqueId"])
        self._max_unique[project_id] = max(self._max_unique.get(project_id, 0), task["uniqueId"])

    # ----- indexes -------------------------------------------------------------------------

    def _insert(self, task: Record, *, sort_later: bool = False) -> None:
        task_id = task["id"]
        if task_id in self.tasks:
            raise RecordError(f"duplicate task id {task_id!r}")
        self.tasks[task_id] = task
        self._seq[task_id] = self._next_seq
        self._ids_by_seq[self._next_seq] = task_id
        self._next_seq += 1
        self._index(task, sort_later=sort_later)

    def _index(self, task: Record, *, sort_later: bool = False) -> None:
        task_id = task["id"]
        for key, attr in _INDEXED.items():
            if task.get(key):
                getattr(self, attr).setdefault(task[key], set()).add(task_id)
        for tag in task["tagIds"]:
            self._by_tag.setdefault(tag, set()).add(task_id)
        prefix = self.projects[task["projectId"]].get("uniqueIdPrefix") or ""
        self._by_short[f"{prefix}-{task['uniqueId']}"] = task_id
        entry = (task["updated"], self._seq[task_id])
        if sort_later:  # loading: one sort at the end beats thousands of insertions
            self._by_updated.append(entry)
        else:
            bisect.insort(self._by_updated, entry)
        self._last_time = max(self._last_time, task["updated"])

    def _unindex(self, task: Record) -> None:
        task_id = task["id"]
        for key, attr in _INDEXED.items():
            if task.get(key):
                getattr(self, attr).get(task[key], set()).discard(task_id)
        for tag in task["tagIds"]:
            self._by_tag.get(tag, set()).discard(task_id)
        prefix = self.projects[task["projectId"]].get("uniqueIdPrefix") or ""
        self._by_short.pop(f"{prefix}-{task['uniqueId']}", None)
        entry = (task["updated"], self._seq[task_id])
        where = bisect.bisect_left(self._by_updated, entry)
        if where < len(self._by_updated) and self._by_updated[where] == entry:
            del self._by_updated[where]

    def _tick(self) -> str:
        """A change time after every time the store has handed out or loaded."""
        now = format_time(self._clock())
        if now <= self._last_time:
            last = datetime.fromisoformat(self._last_time)
            now = format_time(last + timedelta(milliseconds=1))
        self._last_time = now
        return now

    # ----- reads ---------------------------------------------------------------------------

    def app_secret(self, app_id: str) -> str | None:
        """The secret of a registered app, or None."""
        return self.apps.get(app_id)

    def has_organization(self, org_id: str) -> bool:
        """Whether ``org_id`` is a known organization (tenant)."""
        return org_id in self.organizations

    def is_member(self, org_id: str, user_id: str) -> bool:
        """Whether ``user_id`` belongs to ``org_id`` (any user does when no members are seeded)."""
        if not self.members:
            return True
        member = self.members.get(user_id)
        return member is not None and member.get("organizationId", org_id) == org_id

    def project(self, org_id: str, project_id: str) -> Record | None:
        """A project of the organization, or None."""
        project = self.projects.get(project_id)
        if project is None or project["organizationId"] != org_id:
            return None
        return project

    def list_projects(
        self, org_id: str, ids: Iterable[str] | None, name: str | None
    ) -> list[Record]:
        """Projects of the organization, optionally limited to ``ids`` and a name substring."""
        with self.lock:
            wanted = set(ids) if ids else None
            return [
                copy.deepcopy(p)
                for p in self.projects.values()
                if p["organizationId"] == org_id
                and (wanted is None or p["id"] in wanted)
                and (not name or name.lower() in p["name"].lower())
            ]

    def project_customfields(self, project_id: str) -> list[Record]:
        """Custom-field definitions of a project."""
        with self.lock:
            return copy.deepcopy(self.customfields.get(project_id, []))

    def project_resources(self, kind: str, project_id: str) -> list[Record]:
        """Seeded ``tags``, ``sprints`` or ``taskflowstatuses`` of a project."""
        with self.lock:
            return copy.deepcopy(self.resources[kind].get(project_id, []))

    def view(self, task: Record) -> Record:
        """A copy of ``task`` as the API shows it (with ``ancestorIds`` from the parent chain)."""
        ancestors: list[str] = []
        parent = task["parentTaskId"]
        while parent and parent in self.tasks and parent not in ancestors:
            ancestors.insert(0, parent)
            parent = self.tasks[parent]["parentTaskId"]
        return {
            **task,
            "ancestorIds": ancestors,
            "tagIds": list(task["tagIds"]),
            "involveMembers": list(task["involveMembers"]),
            "recurrence": list(task["recurrence"]),
            "customfields": [
                {**cf, "value": [dict(v) for v in cf["value"]]} for cf in task["customfields"]
            ],
        }

    def task(self, task_id: str) -> Record | None:
        """One task as the API shows it, or None."""
        with self.lock:
            task = self.tasks.get(task_id)
            return self.view(task) if task else None

    def visible_task(self, org_id: str, task_id: str) -> Record | None:
        """The stored task if it belongs to a project of ``org_id`` (not a copy)."""
        task = self.tasks.get(task_id)
        if task is None or self.projects[task["projectId"]]["organizationId"] != org_id:
            return None
        return task

    def tasks_by_ids(self, org_id: str, ids: Iterable[str]) -> list[Record]:
        """Tasks by id in the order asked, skipping unknown ones."""
        with self.lock:
            found = (self.visible_task(org_id, i) for i in ids)
            return [self.view(t) for t in found if t is not None]

    def tasks_by_short_ids(self, org_id: str, short_ids: Iterable[str]) -> list[Record]:
        """Tasks by ``<uniqueIdPrefix>-<uniqueId>`` (e.g. ``MOB-12``)."""
        with self.lock:
            return self.tasks_by_ids(org_id, [self._by_short.get(s, "") for s in short_ids])

    def subtasks(self, org_id: str, parent_id: str) -> list[Record]:
        """Direct sub-tasks of a task, in creation order."""
        with self.lock:
            ids = sorted(self._by_parent.get(parent_id, ()), key=self._seq.__getitem__)
            return self.tasks_by_ids(org_id, ids)

    def search(
        self,
        org_id: str,
        query: tql.Query,
        *,
        project_id: str | None = None,
        include_archived: bool = False,
        operator_id: str | None = None,
    ) -> list[str]:
        """Ids of the tasks matching ``query``, ordered; raises :class:`tql.TqlError`.

        Archived tasks are left out unless ``include_archived`` or the query names
        ``isArchived``. Results are cached until the data changes.
        """
        now = self._clock()
        key = (org_id, query, project_id, include_archived, operator_id, int(time.time() // 60))
        with self.lock:
            cached = self._cache.get((self.version, *key))
            if cached is not None:
                return cached
            predicate = compile_where(query, now, operator_id)
            order = compile_order(query)
            names_archived = "isArchived" in fields_of(query.where)
            candidates = self._candidates(org_id, query, project_id)
            matches = [
                task
                for task in (self.tasks[i] for i in sorted(candidates, key=self._seq.__getitem__))
                if (include_archived or names_archived or not task["isArchived"])
                and predicate(task)
            ]
            ids = [task["id"] for task in order(matches)]
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[(self.version, *key)] = ids
            return ids

    def _candidates(self, org_id: str, query: tql.Query, project_id: str | None) -> set[str]:
        """A superset of the matches, narrowed by indexes on top-level AND terms."""
        project_ids = (
            [project_id]
            if project_id
            else [p for p, proj in self.projects.items() if proj["organizationId"] == org_id]
        )
        sets: list[set[str]] = []
        scope: set[str] = set()
        for pid in project_ids:
            scope |= self._by_project.get(pid, set())
        sets.append(scope)
        for term in conjuncts(query.where):
            narrowed = self._index_lookup(term)
            if narrowed is not None:
                sets.append(narrowed)
        sets.sort(key=len)
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
        return result

    def _index_lookup(self, term: tql.Node) -> set[str] | None:
        if not isinstance(term, tql.Compare):
            return None
        index = {
            "tagId": self._by_tag,
            "sprintId": self._by_sprint,
            "parentTaskId": self._by_parent,
            "projectId": self._by_project,
        }.get(term.field)
        if index is not None and term.op == "IN" and all(isinstance(v, str) for v in term.value):
            # ``tagId IN (...)`` is how tag scopes are asked for: the union of the tags' sets
            found: set[str] = set()
            for value in term.value:
                found |= index.get(value, set())
            return found
        if not isinstance(term.value, str):
            return None
        if index is not None and term.op == "=":
            return set(index.get(term.value, ()))
        if term.field == "updated" and term.op in (">", ">="):
            try:
                since = canonical_time(term.value)
            except ValueError:
                return None
            start = (
                bisect.bisect_right(self._by_updated, (since, self._next_seq))
                if term.op == ">"
                else bisect.bisect_left(self._by_updated, (since, -1))
            )
            return {self._ids_by_seq[seq] for _, seq in self._by_updated[start:]}
        return None
