"""The Teambition sandbox's data store: reads (see :mod:`store_core`) plus every change.

Two kinds of change: what the Open API lets a client write (custom fields, progress, story
points, comments), recorded as task activities under the operator, and what tests do to
stand in for people using Teambition (create, edit, finish, move, delete tasks).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.teambition.limits import DEFAULT_PER_SECOND, EndpointRateLimit
from okrsync.sandbox.teambition.records import (
    RecordError,
    check_customfield_value,
    normalize_task,
    story_point_text,
)
from okrsync.sandbox.teambition.store_core import StoreCore

if TYPE_CHECKING:
    from okrsync.sandbox.teambition.webhooks import TeambitionWebhooks

__all__ = ["NotFound", "RecordError", "TeambitionStore"]

Record = dict[str, Any]


class NotFound(LookupError):
    """A task, project or custom field the caller cannot see; the message is user-facing."""


class TeambitionStore(StoreCore):
    """All data of one Teambition sandbox, built from the ``teambition`` section of a seed.

    Read methods return copies. Tests change data with :meth:`create_task`,
    :meth:`update_task`, :meth:`set_done`, :meth:`move_parent`, :meth:`delete_task`,
    :meth:`set_story_point`, :meth:`set_customfield` and :meth:`archive_task`, each bumping
    the task's ``updated``; :meth:`reset` restores the seed. ``quota`` is Teambition's
    request quota (40/s per app, organization and endpoint): ``quota.configure(5)``.
    """

    def __init__(
        self,
        section: Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        quota = dict((section or {}).get("rateLimit") or {})
        #: Teambition's per app/organization/endpoint request quota (seed key ``rateLimit``).
        self.quota = EndpointRateLimit(
            quota.get("perSecond", DEFAULT_PER_SECOND), int(quota.get("retryAfter", 1))
        )
        self._envelope_faults: list[list[Any]] = []
        self._ids = itertools.count(1)
        self._fault_lock = threading.Lock()
        #: Registered webhooks, told of every task change (``...teambition.webhooks``).
        self.webhooks: TeambitionWebhooks | None = None
        super().__init__(section, clock=clock)

    # ----- internals -----------------------------------------------------------------------

    def _stored(self, task_id: str, org_id: str | None = None) -> Record:
        task = self.tasks.get(task_id) if org_id is None else self.visible_task(org_id, task_id)
        if task is None:
            raise NotFound(f"task {task_id!r} not found")
        return task

    def _change(self, task: Record, mutate: Callable[[Record], None]) -> Record:
        """Apply ``mutate`` to a stored task, keeping indexes and ``updated`` right."""
        before = self.view(task) if self.webhooks is not None else None
        self._unindex(task)
        try:
            mutate(task)
        finally:
            task["updated"] = self._tick()
            self._index(task)
            self.version += 1
        self._notify("task.update", task, before)
        return task

    def _notify(self, event: str, task: Record, before: Record | None = None) -> None:
        if self.webhooks is not None:
            org = self.projects[task["projectId"]]["organizationId"]
            after = None if event == "task.remove" else self.view(task)
            self.webhooks.task_event(event, org, before, after)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    def _record_activity(
        self, task_id: str, action: str, operator_id: str | None, message: str, content: Any
    ) -> None:
        when = self._tick()
        self.activities.setdefault(task_id, []).append(
            {
                "id": self._new_id("tb-activity"),
                "creatorId": operator_id or "",
                "action": action,
                "boundToObjectId": task_id,
                "boundToObjectType": "task",
                "createTime": when,
                "updateTime": when,
                "content": json.dumps(content, ensure_ascii=False),
                "message": message,
            }
        )

    # ----- Open API writes -----------------------------------------------------------------

    def find_customfield(
        self, project_id: str, *, cf_id: str = "", name: str = "", alias: str = ""
    ) -> Record:
        """The project's custom field by id, else by name, else by alias."""
        fields = self.customfields.get(project_id, [])
        if cf_id:
            found = [f for f in fields if f["id"] == cf_id]
        elif name:
            found = [f for f in fields if f.get("name") == name]
        elif alias:
            found = [f for f in fields if f.get("alias") == alias]
        else:
            raise RecordError("one of customfieldId, customfieldName, customfieldAlias is required")
        if not found:
            raise RecordError(f"customfield {cf_id or name or alias!r} not found in the project")
        return found[0]

    def write_customfield(
        self,
        org_id: str,
        task_id: str,
        field_ref: Mapping[str, str],
        value: Any,
        *,
        operator_id: str | None,
        activity: bool = True,
    ) -> str:
        """Set a custom field of a task (``field_ref``: cf_id, name or alias); return updated."""
        with self.lock:
            task = self._stored(task_id, org_id)
            field = self.find_customfield(task["projectId"], **field_ref)
            items = check_customfield_value(field, value)
            self._put_customfield(task, field, items)
            if activity:
                titles = ", ".join(i["title"] for i in items) or "(empty)"
                self._record_activity(
                    task_id,
                    "task.customfield.update",
                    operator_id,
                    f"set {field.get('name')} to {titles}",
                    {"cfId": field["id"], "value": items},
                )
            return str(task["updated"])

    def _put_customfield(self, task: Record, field: Record, items: list[Record]) -> None:
        def mutate(stored: Record) -> None:
            kept = [cf for cf in stored["customfields"] if cf["cfId"] != field["id"]]
            if items:
                kept.append({"cfId": field["id"], "type": field.get("type", ""), "value": items})
            stored["customfields"] = kept

        self._change(task, mutate)

    def write_progress(
        self, org_id: str, task_id: str, progress: Any, *, operator_id: str | None, activity: bool
    ) -> Record:
        """Set a task's progress (an integer 0..100)."""
        if isinstance(progress, bool) or not isinstance(progress, int | float):
            raise RecordError("progress must be a number")
        if not 0 <= progress <= 100 or progress != int(progress):
            raise RecordError("progress must be an integer from 0 to 100")
        with self.lock:
            task = self._stored(task_id, org_id)
            self._change(task, lambda t: t.update(progress=int(progress)))
            if activity:
                self._record_activity(
                    task_id, "task.progress.update", operator_id, f"set progress to {progress}", {}
                )
            return {"progress": task["progress"], "updated": task["updated"]}

    def write_story_point(
        self, org_id: str, task_id: str, points: Any, *, operator_id: str | None, activity: bool
    ) -> Record:
        """Set a task's story points (a string such as ``"3"``, or ``""``)."""
        if not isinstance(points, str):
            raise RecordError('storyPoint must be a string such as "3"')
        text = story_point_text(points)
        with self.lock:
            task = self._stored(task_id, org_id)
            self._change(task, lambda t: t.update(storyPoint=text))
            if activity:
                self._record_activity(
                    task_id,
                    "task.storyPoint.update",
                    operator_id,
                    f"set story points to {text}",
                    {},
                )
            return {"storyPoint": task["storyPoint"], "updated": task["updated"]}

    def add_comment(
        self, org_id: str, task_id: str, content: Any, *, operator_id: str | None, render_mode: str
    ) -> Record:
        """Comment on a task; a comment does not change the task's ``updated``."""
        if not isinstance(content, str) or not content.strip():
            raise RecordError("content must be a non-empty string")
        with self.lock:
            self._stored(task_id, org_id)
            when = self._tick()
            comment = {
                "id": self._new_id("tb-comment"),
                "creatorId": operator_id or "",
                "boundToObjectId": task_id,
                "boundToObjectType": "task",
                "createTime": when,
                "updateTime": when,
                "content": {"title": "", "comment": content},
                "renderMode": render_mode,
            }
            self.comments.setdefault(task_id, []).append(comment)
            self._record_activity(task_id, "comment", operator_id, content, {"comment": content})
            return dict(comment)

    def list_activities(self, task_id: str) -> list[Record]:
        """Activities of a task, oldest first."""
        with self.lock:
            return [dict(a) for a in self.activities.get(task_id, [])]

    def list_comments(self, task_id: str) -> list[Record]:
        """Comments on a task, oldest first."""
        with self.lock:
            return [dict(c) for c in self.comments.get(task_id, [])]

    # ----- changes made by people (for tests) ----------------------------------------------

    def create_task(self, project_id: str, content: str, **fields: Any) -> Record:
        """Create a task in a project; ``fields`` are task JSON attributes (``id`` optional)."""
        with self.lock:
            if project_id not in self.projects:
                raise NotFound(f"project {project_id!r} not found")
            parent = fields.get("parentTaskId")
            if parent:
                self._stored(parent)
            now = self._tick()
            raw = {"id": self._new_id("tb-task"), **fields, "projectId": project_id}
            raw.update(content=content, created=fields.get("created") or now, updated=now)
            task = normalize_task(raw, now)
            self._assign_unique_id(task)
            self._insert(task)
            self.version += 1
            self._notify("task.create", task)
            return self.view(task)

    def update_task(self, task_id: str, **fields: Any) -> Record:
        """Change attributes of a task (task JSON names, e.g. ``executorId``, ``tagIds``)."""
        if "id" in fields or "projectId" in fields:
            raise RecordError("a task's id and projectId cannot change")
        with self.lock:
            task = self._stored(task_id)
            if fields.get("parentTaskId"):
                self._check_parent(task, fields["parentTaskId"])
            merged = normalize_task({**task, **fields, "updated": None}, task["created"])

            def mutate(stored: Record) -> None:
                stored.update(merged)

            return self.view(self._change(task, mutate))

    def set_done(self, task_id: str, done: bool = True) -> Record:
        """Mark a task done (with ``accomplishTime``) or reopen it."""
        with self.lock:
            task = self._stored(task_id)

            def mutate(stored: Record) -> None:
                stored["isDone"] = done
                stored["accomplishTime"] = self._tick() if done else None

            return self.view(self._change(task, mutate))

    def move_parent(self, task_id: str, parent_id: str | None) -> Record:
        """Make a task a sub-task of ``parent_id`` (same project), or top-level with None."""
        with self.lock:
            task = self._stored(task_id)
            if parent_id:
                self._check_parent(task, parent_id)
            return self.view(self._change(task, lambda t: t.update(parentTaskId=parent_id or "")))

    def _check_parent(self, task: Record, parent_id: str) -> None:
        parent = self._stored(parent_id)
        if parent["projectId"] != task["projectId"]:
            raise RecordError("a parent task must be in the same project")
        seen = parent_id
        while seen:
            if seen == task["id"]:
                raise RecordError("a task cannot be its own ancestor")
            seen = self.tasks[seen]["parentTaskId"] if seen in self.tasks else ""

    def delete_task(self, task_id: str) -> None:
        """Delete a task and its sub-tasks."""
        with self.lock:
            doomed = [self._stored(task_id)["id"]]
            for current in doomed:
                doomed.extend(sorted(self._by_parent.get(current, ())))
            for current in doomed:
                self._notify("task.remove", self.tasks[current], self.view(self.tasks[current]))
                self._unindex(self.tasks.pop(current))
                self._ids_by_seq.pop(self._seq.pop(current), None)
            self._tick()
            self.version += 1

    def set_story_point(self, task_id: str, points: str | float | None) -> Record:
        """Set a task's story points as a person would (``None`` or ``""`` clears them)."""
        with self.lock:
            task = self._stored(task_id)
            text = story_point_text(points)
            return self.view(self._change(task, lambda t: t.update(storyPoint=text)))

    def set_customfield(
        self, task_id: str, cf_id: str, titles: Iterable[str] | str | None
    ) -> Record:
        """Set a custom field as a person would, by the titles of its values."""
        if titles is None:
            titles = []
        elif isinstance(titles, str):
            titles = [titles]
        with self.lock:
            task = self._stored(task_id)
            field = self.find_customfield(task["projectId"], cf_id=cf_id)
            value = [{"id": "", "title": title} for title in titles]
            self._put_customfield(task, field, check_customfield_value(field, value))
            return self.view(task)

    def archive_task(self, task_id: str, archived: bool = True) -> Record:
        """Archive (move to the recycle bin) or restore a task."""
        with self.lock:
            task = self._stored(task_id)
            return self.view(self._change(task, lambda t: t.update(isArchived=archived)))

    # ----- envelope errors -----------------------------------------------------------------

    def fail_in_envelope(
        self,
        code: int = 500,
        message: str = "internal error",
        count: int = 1,
        path: str | None = None,
    ) -> None:
        """Make the next ``count`` API answers (whose path contains ``path``) HTTP 200 with
        an error ``code`` in the envelope, as Teambition sometimes does."""
        with self._fault_lock:
            self._envelope_faults.append([code, message, count, path])

    def clear_envelope_faults(self) -> None:
        """Forget pending envelope errors."""
        with self._fault_lock:
            self._envelope_faults.clear()

    def take_envelope_fault(self, path: str) -> tuple[int, str] | None:
        """Consume one pending envelope error matching ``path``, if any."""
        with self._fault_lock:
            for fault in self._envelope_faults:
                code, message, count, match = fault
                if match is None or match in path:
                    fault[2] = count - 1
                    if fault[2] <= 0:
                        self._envelope_faults.remove(fault)
                    return code, message
        return None
