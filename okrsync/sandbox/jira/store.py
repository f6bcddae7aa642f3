"""The Jira sandbox's issues and their indexes, on top of its :class:`Catalog`.

Tests change data through the public methods (``create_issue``, ``update_fields``,
``transition``, ``move``, ``move_to_project``, ``delete_issue``, ``set_estimate``); each
bumps ``updated``.
Every method is thread-safe.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.jira.catalog import Catalog
from okrsync.sandbox.jira.model import Issue, jira_time

if TYPE_CHECKING:
    from okrsync.sandbox.jira.webhooks import JiraWebhooks


class JiraStore(Catalog):
    """All data of one Jira sandbox server (``flavour`` is ``cloud`` or ``datacenter``)."""

    def __init__(self, flavour: str, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(flavour, clock=clock)
        self.bulk_tasks: dict[str, dict[str, Any]] = {}
        #: Polls of a bulk task that report RUNNING before it reports COMPLETE.
        self.bulk_running_polls = 1
        self._issues: dict[str, Issue] = {}
        self._by_id: dict[int, str] = {}
        self._by_project: dict[str, set[str]] = {}
        self._by_parent: dict[str, set[str]] = {}
        self._by_epic: dict[str, set[str]] = {}
        self._updated: list[tuple[str, str]] | None = None
        self._next_id = 10000
        self._next_comment: int | None = None
        #: Old key -> new key of issues moved to another project (Jira still finds them).
        self._moved: dict[str, str] = {}
        self._former: dict[str, set[str]] = {}  # current key -> its old keys
        #: Builds a fresh store from the seed (set by ``seed.load_store``), for ``reset``.
        self.reload: Callable[[], JiraStore] | None = None
        #: Registered webhooks, told of every change (``okrsync.sandbox.jira.webhooks``).
        self.webhooks: JiraWebhooks | None = None

    # -- issues: reads --------------------------------------------------------------

    def get(self, key_or_id: str | int) -> Issue | None:
        """An issue by key (any case; a moved issue also by its old key) or numeric id;
        None if absent or deleted."""
        with self.lock:
            text = str(key_or_id)
            if text.isdigit():
                key = self._by_id.get(int(text))
                return None if key is None else self._issues.get(key)
            key = text.upper()
            for _ in range(len(self._moved) + 1):  # old keys chain when moved again
                if key in self._issues or key not in self._moved:
                    break
                key = self._moved[key]
            return self._issues.get(key)

    def issue(self, key_or_id: str | int) -> Issue:
        """Like :meth:`get` but raises KeyError when the issue does not exist."""
        found = self.get(key_or_id)
        if found is None:
            raise KeyError(key_or_id)
        return found

    def all_issues(self) -> list[Issue]:
        """Every issue."""
        with self.lock:
            return list(self._issues.values())

    def issues_for(self, keys: Iterable[str]) -> list[Issue]:
        """Issues for the given keys (unknown keys skipped)."""
        with self.lock:
            return [self._issues[k] for k in keys if k in self._issues]

    def children(self, key: str) -> list[Issue]:
        """Sub-tasks of ``key``."""
        return sorted(self.issues_for(self._by_parent.get(key, set())), key=lambda i: i.id)

    def lookup(self, index: str, aliases: set[str]) -> set[str]:
        """Keys of issues whose indexed field (project/key/parent/epic) has an alias."""
        with self.lock:
            found: set[str] = set()
            for alias in aliases:
                if index == "project":
                    for key, project in self.projects.items():
                        if alias in {str(v).lower() for v in project.values()}:
                            found |= self._by_project.get(key, set())
                    continue
                issue = self.get(alias)
                if issue is None:
                    continue
                if index == "key":
                    found.add(issue.key)
                elif index == "epic":
                    found |= self._by_epic.get(issue.key, set())
                elif index == "parent":
                    found |= self._by_parent.get(issue.key, set())
                    if self.flavour == "cloud":
                        found |= self._by_epic.get(issue.key, set())
            return found

    def former_keys(self, key: str) -> set[str]:
        """The keys an issue had before it was moved to another project (lower-case)."""
        with self.lock:
            return {k.lower() for k in self._former.get(key, ())}

    def updated_since(self, moment: datetime) -> set[str]:
        """Keys of issues updated at or after ``moment`` (a superset is fine)."""
        with self.lock:
            if self._updated is None:
                self._updated = sorted((i.updated, i.key) for i in self._issues.values())
            start = bisect.bisect_left(self._updated, (jira_time(moment)[:19], ""))
            return {key for _, key in self._updated[start:]}

    # -- issues: writes -------------------------------------------------------------

    def _index(self, issue: Issue) -> None:
        self._issues[issue.key] = issue
        self._by_id[issue.id] = issue.key
        self._by_project.setdefault(issue.project, set()).add(issue.key)
        if issue.parent:
            self._by_parent.setdefault(issue.parent, set()).add(issue.key)
        if issue.epic:
            self._by_epic.setdefault(issue.epic, set()).add(issue.key)
        self._updated = None
        self.version += 1

    def _unindex(self, issue: Issue) -> None:
        self._issues.pop(issue.key, None)
        self._by_id.pop(issue.id, None)
        self._by_project.get(issue.project, set()).discard(issue.key)
        if issue.parent:
            self._by_parent.get(issue.parent, set()).discard(issue.key)
        if issue.epic:
            self._by_epic.get(issue.epic, set()).discard(issue.key)
        self._updated = None
        self.version += 1

    def add_issue(self, issue: Issue) -> Issue:
        """Store a fully built issue (used by seed loading)."""
        with self.lock:
            self.ensure_project(issue.project)
            self._next_id = max(self._next_id, issue.id + 1)
            self._index(issue)
            return issue

    def next_comment_id(self) -> str:
        """A fresh comment id (above every seeded one)."""
        with self.lock:
            if self._next_comment is None:
                taken = [
                    int(c["id"])
                    for i in self._issues.values()
                    for c in i.comments
                    if str(c.get("id", "")).isdigit()
                ]
                self._next_comment = max([10000, *taken]) + 1
            self._next_comment += 1
            return str(self._next_comment - 1)

    def touch(self, issue: Issue) -> None:
        """Record a change to ``issue``: bump ``updated`` and the data version."""
        with self.lock:
            issue.fields["updated"] = jira_time(self.clock())
            self._updated = None
            self.version += 1
            self._notify("jira:issue_updated", issue)

    def _notify(self, event: str, issue: Issue) -> None:
        if self.webhooks is not None:
            self.webhooks.issue_event(event, issue)

    def create_issue(
        self,
        project: str,
        summary: str,
        issuetype: str = "Story",
        *,
        status: str = "To Do",
        parent: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Issue:
        """Create an issue in ``project`` (next free number); ``parent`` is an epic or,
        for a sub-task, its parent issue."""
        with self.lock:
            self.ensure_project(project)
            numbers = [i.number for i in self.issues_for(self._by_project.get(project, set()))]
            key = f"{project}-{max([0, *numbers]) + 1}"
            now = jira_time(self.clock())
            issue = Issue(
                self._next_id,
                key,
                project,
                {
                    "summary": summary,
                    "issuetype": self.issue_type_json(issuetype),
                    "project": dict(self.projects[project]),
                    "priority": {"id": "3", "name": "Medium"},
                    "labels": [],
                    "created": now,
                    "updated": now,
                    "resolution": None,
                    "resolutiondate": None,
                },
            )
            issue.fields.update(fields or {})
            self._set_status(issue, status)
            self._link(issue, parent)
            self.add_issue(issue)
            self._notify("jira:issue_created", issue)
            return issue

    def _link(self, issue: Issue, parent: str | None) -> None:
        target = self.get(parent) if parent else None
        if parent and target is None:
            raise KeyError(parent)
        key = None if target is None else target.key
        if issue.is_subtask:
            issue.parent, issue.epic = key, None
        else:
            issue.parent, issue.epic = None, key

    def _set_status(self, issue: Issue, status: str) -> None:
        issue.fields["status"] = self.status_json(status)
        done = self.statuses[status.lower()].category == "done"
        if done and not issue.fields.get("resolution"):
            issue.fields["resolution"] = {
                "id": "10000",
                "name": "Done",
                "description": "Work has been completed.",
            }
            issue.fields["resolutiondate"] = jira_time(self.clock())
        elif not done:
            issue.fields["resolution"] = None
            issue.fields["resolutiondate"] = None

    def update_fields(self, key: str, fields: dict[str, Any]) -> Issue:
        """Set stored field values directly (no screen or type checks)."""
        with self.lock:
            issue = self.issue(key)
            issue.fields.update(fields)
            self.touch(issue)
            return issue

    def transition(self, key: str, status: str) -> Issue:
        """Move the issue to ``status`` (resolution follows the status category)."""
        with self.lock:
            issue = self.issue(key)
            self._set_status(issue, status)
            self.touch(issue)
            return issue

    def link(self, key: str, parent: str | None) -> Issue:
        """Set the issue's epic (or, for a sub-task, its parent) without touching ``updated``."""
        with self.lock:
            issue = self.issue(key)
            self._unindex(issue)
            try:
                self._link(issue, parent)
            finally:
                self._index(issue)
            return issue

    def move(self, key: str, parent: str | None) -> Issue:
        """Put the issue under another epic (or, for a sub-task, another parent)."""
        with self.lock:
            issue = self.link(key, parent)
            self.touch(issue)
            return issue

    def move_to_project(self, key: str, project: str) -> Issue:
        """Move the issue, with its sub-tasks, to ``project``, as Jira's Move does: each
        gets the next free key there, keeps its id, and is still found by its old key
        (issue reads, ``key =`` in JQL); links to it follow."""
        with self.lock:
            issue = self.issue(key)
            self.ensure_project(project)
            for moving in [issue, *self.children(issue.key)]:
                self._rekey(moving, project)
            return issue

    def _rekey(self, issue: Issue, project: str) -> None:
        old = issue.key
        numbers = [i.number for i in self.issues_for(self._by_project.get(project, set()))]
        self._unindex(issue)
        issue.key = f"{project}-{max([0, *numbers]) + 1}"
        issue.project = project
        issue.fields["project"] = dict(self.projects[project])
        self._index(issue)
        self._moved[old] = issue.key
        self._former[issue.key] = self._former.pop(old, set()) | {old}
        linked = self._by_parent.pop(old, set()) | self._by_epic.pop(old, set())
        for child in self.issues_for(linked):
            self._unindex(child)
            child.parent = issue.key if child.parent == old else child.parent
            child.epic = issue.key if child.epic == old else child.epic
            self._index(child)
        self.touch(issue)

    def delete_issue(self, key: str) -> None:
        """Delete the issue and its sub-tasks; they answer 404 from then on."""
        with self.lock:
            issue = self.issue(key)
            for child in self.children(issue.key):
                self._notify("jira:issue_deleted", child)
                self._unindex(child)
            self._notify("jira:issue_deleted", issue)
            self._unindex(issue)

    def update_options(
        self, field_id: str, context_id: str, changes: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Change options of a context (see :meth:`Catalog.update_options`); issues holding
        a renamed option show its new value, as they refer to it by id."""
        with self.lock:
            changed = super().update_options(field_id, context_id, changes)
            renamed = {o["id"]: o["value"] for o in changed}
            for issue in self._issues.values():
                value = issue.fields.get(field_id)
                if isinstance(value, dict) and str(value.get("id")) in renamed:
                    value["value"] = renamed[str(value["id"])]
            return changed

    def reset(self) -> None:
        """Forget every change: reload the seed the store was built from (its issues,
        fields, users...). Search caches stay valid, as the data version only grows."""
        if self.reload is None:
            raise RuntimeError("this store was not built from a seed and cannot be reset")
        with self.lock:
            fresh = self.reload()
            version = self.version
            keep = {"lock": self.lock, "clock": self.clock, "reload": self.reload}
            self.__dict__.update({**fresh.__dict__, **keep})
            self.version = version + fresh.version + 1

    def set_estimate(self, key: str, value: float | None, field: str | None = None) -> Issue:
        """Change the issue's estimate (story points unless ``field`` names another)."""
        fid = field or self.story_points_field or "customfield_10016"
        return self.update_fields(key, {fid: value})
