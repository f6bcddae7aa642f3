"""Teambition seed data: the shared demo set and a deterministic generated set for benchmarks.

The demo (``demo_section()``), all in organization ``tb-org-demo``, project
``tb-proj-mobile`` "Mobile App" (unique-id prefix ``MOB``):

- app ``okrsync-demo`` / secret ``demo-secret``; members ``tb-user-ana`` (the operator),
  ``tb-user-ben``, ``tb-user-chen``;
- custom fields ``cf-okr-progress`` "OKR Progress" (number), ``cf-okr-status`` "OKR Status"
  (dropDown: Not started, On track, At risk, Off track, Done, Stale), ``cf-okr-summary``
  "OKR Summary" (text), ``cf-okr-expected`` "OKR Expected" (number); all empty on every task;
- ``tb-task-okr-home`` "OKR: Mobile onboarding" (MOB-1): the KR's home task;
- ``tb-task-onboarding`` "New onboarding flow" (MOB-2), not done, with 6 sub-tasks
  ``tb-task-onboarding-1`` .. ``-6``, story points "3", "5", "2", "", "8", "1", the first
  three done;
- 8 tasks ``tb-task-crash-1`` .. ``-8`` tagged ``tb-tag-okr``, the first 5 done, story points
  "2", "3", "1", "5", "3", "2", "8", "";
- 7 tasks ``tb-task-sprint42-1`` .. ``-7`` in sprint ``tb-sprint-42``, the first 4 done,
  story points "1", "2", "3", "5", "2", "3", "1";
- 2 open backlog tasks ``tb-task-backlog-1``, ``-2`` and one archived, done task
  ``tb-task-archived-1`` (shown only with ``includeArchived``);
- tags, sprints and workflow statuses (``tb-tfs-todo``, ``tb-tfs-doing``, ``tb-tfs-review``,
  ``tb-tfs-done``). Times fall between 2026-10-01 and 2026-11-27 (UTC).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["OKR_STATUS_CHOICES", "demo_section", "generated"]

Record = dict[str, Any]

ORG_ID = "tb-org-demo"
APP_ID = "okrsync-demo"
APP_SECRET = "demo-secret"
OPERATOR_ID = "tb-user-ana"
PROJECT_ID = "tb-proj-mobile"
OKR_STATUS_CHOICES = ("Not started", "On track", "At risk", "Off track", "Done", "Stale")
_MEMBERS = (
    ("tb-user-ana", "Ana Lima"),
    ("tb-user-ben", "Ben Okafor"),
    ("tb-user-chen", "Chen Wei"),
)
_START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
_END = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _okr_fields(project_id: str) -> list[Record]:
    slug = {c: c.lower().replace(" ", "-") for c in OKR_STATUS_CHOICES}
    fields: list[Record] = [
        {"id": f"cf-okr-progress{_suffix(project_id)}", "name": "OKR Progress", "type": "number"},
        {
            "id": f"cf-okr-status{_suffix(project_id)}",
            "name": "OKR Status",
            "type": "dropDown",
            "choices": [
                {"id": f"cf-okr-status-{slug[c]}", "value": c, "color": ""}
                for c in OKR_STATUS_CHOICES
            ],
        },
        {"id": f"cf-okr-summary{_suffix(project_id)}", "name": "OKR Summary", "type": "text"},
        {"id": f"cf-okr-expected{_suffix(project_id)}", "name": "OKR Expected", "type": "number"},
    ]
    for field in fields:
        field["created"] = "2026-09-15T08:00:00.000Z"
    return fields


def _suffix(project_id: str) -> str:
    # the demo project keeps the documented ids; generated projects get their own
    return "" if project_id == PROJECT_ID else f"-{project_id}"


def _statuses(project_id: str) -> list[Record]:
    names = (
        ("todo", "To Do", "start"),
        ("doing", "In Progress", "unset"),
        ("review", "In Review", "unset"),
        ("done", "Done", "end"),
    )
    return [
        {
            "id": f"tb-tfs-{key}",
            "name": name,
            "kind": kind,
            "pos": pos,
            "taskflowId": f"tb-taskflow-{project_id}",
            "isDeleted": False,
        }
        for pos, (key, name, kind) in enumerate(names)
    ]


def _base(project: Record, projects_extra: list[Record] | None = None) -> Record:
    projects = [project, *(projects_extra or [])]
    return {
        "organizations": [{"id": ORG_ID, "name": "okrsync demo"}],
        "apps": [{"appId": APP_ID, "appSecret": APP_SECRET}],
        "members": [
            {"userId": uid, "name": name, "organizationId": ORG_ID} for uid, name in _MEMBERS
        ],
        "projects": projects,
        "customfields": {p["id"]: _okr_fields(p["id"]) for p in projects},
        "taskflowstatuses": {p["id"]: _statuses(p["id"]) for p in projects},
    }


def demo_section() -> Record:
    """The ``teambition`` section of the demo seed (a fresh copy on every call)."""
    project = {
        "id": PROJECT_ID,
        "name": "Mobile App",
        "organizationId": ORG_ID,
        "uniqueIdPrefix": "MOB",
        "creatorId": OPERATOR_ID,
        "created": "2026-09-15T08:00:00.000Z",
        "updated": "2026-10-01T08:00:00.000Z",
    }
    section = _base(project)
    section["tags"] = {
        PROJECT_ID: [
            {"id": "tb-tag-okr", "name": "okr", "color": "blue", "projectId": PROJECT_ID},
            {"id": "tb-tag-bug", "name": "bug", "color": "red", "projectId": PROJECT_ID},
        ]
    }
    section["sprints"] = {
        PROJECT_ID: [
            {
                "id": "tb-sprint-41",
                "name": "Sprint 41",
                "status": "complete",
                "projectId": PROJECT_ID,
                "startDate": "2026-11-02T00:00:00.000Z",
                "dueDate": "2026-11-13T00:00:00.000Z",
            },
            {
                "id": "tb-sprint-42",
                "name": "Sprint 42",
                "status": "active",
                "projectId": PROJECT_ID,
                "startDate": "2026-11-16T00:00:00.000Z",
                "dueDate": "2026-12-04T00:00:00.000Z",
            },
        ]
    }
    rows: list[tuple[str, str, bool, str, dict[str, Any]]] = [
        ("tb-task-okr-home", "OKR: Mobile onboarding", False, "", {}),
        ("tb-task-onboarding", "New onboarding flow", False, "", {"tfsId": "tb-tfs-doing"}),
    ]
    subtasks = (
        "Welcome screen",
        "Sign-up form",
        "Email verification",
        "Permissions primer",
        "Profile setup",
        "First-run tutorial",
    )
    for n, (title, points) in enumerate(zip(subtasks, ("3", "5", "2", "", "8", "1"), strict=True)):
        extra = {"parentTaskId": "tb-task-onboarding"}
        rows.append((f"tb-task-onboarding-{n + 1}", title, n < 3, points, extra))
    crashes = (
        "Fix crash on cold start",
        "Fix crash in image picker",
        "Fix ANR on login",
        "Fix crash on rotation",
        "Fix memory leak in feed",
        "Fix crash in offline mode",
        "Fix crash in push handler",
        "Add crash breadcrumbs",
    )
    for n, title in enumerate(crashes):
        points = ("2", "3", "1", "5", "3", "2", "8", "")[n]
        rows.append((f"tb-task-crash-{n + 1}", title, n < 5, points, {"tagIds": ["tb-tag-okr"]}))
    sprint = (
        "Dark mode toggle",
        "Settings screen",
        "Localized strings",
        "App icon refresh",
        "Deep links",
        "Widget prototype",
        "Release notes",
    )
    for n, title in enumerate(sprint):
        extra = {"sprintId": "tb-sprint-42", "dueDate": "2026-12-04T00:00:00.000Z"}
        if n == 4:
            extra["tfsId"] = "tb-tfs-doing"
        points = ("1", "2", "3", "5", "2", "3", "1")[n]
        rows.append((f"tb-task-sprint42-{n + 1}", title, n < 4, points, extra))
    rows.append(("tb-task-backlog-1", "Tablet layout", False, "", {"tagIds": ["tb-tag-bug"]}))
    rows.append(("tb-task-backlog-2", "Accessibility audit", False, "5", {}))
    rows.append(("tb-task-archived-1", "Old splash screen", True, "2", {"isArchived": True}))
    section["tasks"] = [
        _task(n, len(rows), task_id, title, done, points, extra)
        for n, (task_id, title, done, points, extra) in enumerate(rows)
    ]
    return section


def _task(
    n: int,
    count: int,
    task_id: str,
    title: str,
    done: bool,
    points: str,
    extra: Record,
    project_id: str = PROJECT_ID,
) -> Record:
    span = (_END - _START) / max(count, 1)
    created = _START + span * n
    updated = min(created + timedelta(days=(n * 7) % 11, hours=n % 5), _END)
    executor = _MEMBERS[n % len(_MEMBERS)][0]
    task: Record = {
        "id": task_id,
        "content": title,
        "note": "",
        "projectId": project_id,
        "uniqueId": n + 1,
        "creatorId": OPERATOR_ID,
        "executorId": executor,
        "involveMembers": [executor],
        "tfsId": "tb-tfs-done" if done else "tb-tfs-todo",
        "priority": n % 3,
        "storyPoint": points,
        "isDone": done,
        "created": _iso(created),
        "updated": _iso(updated),
        "accomplishTime": _iso(updated) if done else None,
        "customfields": [],
        "tagIds": [],
    }
    task.update(extra)
    return task


def generated(n: int) -> Record:
    """A deterministic ``teambition`` seed section with ``n`` tasks, for benchmarks.

    Same organization, app and operator as the demo; one project ``tb-proj-gen-<k>`` per
    5,000 tasks (prefix ``G<k>``). In each project every 20th task is a parent of the next
    19; tasks carry one of 10 tags ``tb-tag-gen-<t>`` and one of 8 sprints
    ``tb-sprint-gen-<s>``; story points cycle "1", "2", "3", "5", "8", ""; about 60 % are done.
    """
    projects = [
        {
            "id": f"tb-proj-gen-{k}",
            "name": f"Generated {k}",
            "organizationId": ORG_ID,
            "uniqueIdPrefix": f"G{k}",
            "created": "2026-09-01T00:00:00.000Z",
        }
        for k in range(max(1, math.ceil(n / 5000)))
    ]
    section = _base(projects[0], projects[1:])
    section["tags"] = {
        p["id"]: [{"id": f"tb-tag-gen-{t}", "name": f"tag {t}"} for t in range(10)]
        for p in projects
    }
    section["sprints"] = {
        p["id"]: [{"id": f"tb-sprint-gen-{s}", "name": f"Sprint {s}"} for s in range(8)]
        for p in projects
    }
    tasks = []
    for i in range(n):
        project_id = projects[i // 5000]["id"]
        local = i % 5000
        parent = "" if local % 20 == 0 else f"tb-task-gen-{i - local % 20}"
        extra = {
            "parentTaskId": parent,
            "tagIds": [f"tb-tag-gen-{i % 10}"],
            "sprintId": f"tb-sprint-gen-{(i // 50) % 8}",
        }
        done = (i * 7919) % 10 < 6
        points = ("1", "2", "3", "5", "8", "")[i % 6]
        task = _task(
            i % 5000,
            5000,
            f"tb-task-gen-{i}",
            f"Generated task {i}",
            done,
            points,
            extra,
            project_id,
        )
        tasks.append(task)
    section["tasks"] = tasks
    return section
