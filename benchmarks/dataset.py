"""The benchmark's data: a generated Jira Cloud and Teambition, and changes made to them.

Everything is deterministic for given :class:`Sizes` except timestamps, which are placed
in the hour before the run (so that every item was last updated in the past, as in a
real tracker, and the period being measured is the current quarter).

Jira (project ``GEN``): ``epics`` epics ``GEN-1..``; ``issues`` stories and bugs under them
(every tenth is a Bug with a "Customer Impact" of 1-5), random statuses, story points and
labels; project ``OKR`` holds one home issue per Jira key result that writes to one.
Teambition: the sandbox's own ``generated(tasks)`` set (project ``tb-proj-gen-0``: every
20th task a parent of the next 19, ten tags, eight sprints).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from okrsync.sandbox.jira.demo import FIELDS
from okrsync.sandbox.jira.seed import DEMO_USERS
from okrsync.sandbox.teambition.demo import generated as teambition_generated

__all__ = ["FULL", "QUICK", "Changes", "Sizes", "apply_changes", "build_seed"]

Record = dict[str, Any]

PROJECT = "GEN"
HOME_PROJECT = "OKR"
LABELS = ("backend", "frontend", "checkout", "infra", "mobile")
# Weights of To Do, In Progress, In Review, Done: a quarter well under way.
STATUSES = ("To Do", "In Progress", "In Review", "Done")
STATUS_WEIGHTS = (30, 15, 10, 45)
POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, None)
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.000+0000"
HISTORY = timedelta(days=80)
TB_PROJECT = "tb-proj-gen-0"
TB_PARENT_EVERY = 20  # generated Teambition data: every 20th task is a parent


@dataclass(frozen=True)
class Sizes:
    """How big the generated world is.

    ``issues``: Jira stories and bugs (epics and home issues come on top); ``epics``: the
    epics they are spread over; ``tasks``: Teambition tasks; ``tb_parent_krs``: key results
    over the sub-tasks of one Teambition parent task each.
    """

    issues: int
    epics: int
    tasks: int
    tb_parent_krs: int = 30


FULL = Sizes(issues=20_000, epics=200, tasks=5_000)
QUICK = Sizes(issues=1_000, epics=20, tasks=500, tb_parent_krs=5)


def quarter(now: datetime) -> str:
    """The OKR period holding ``now``, e.g. ``2026-Q4``."""
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


def issue_key(n: int) -> str:
    """Key of the ``n``-th issue of the generated Jira project."""
    return f"{PROJECT}-{n}"


def tb_task(n: int) -> str:
    """Id of the ``n``-th parent task of the generated Teambition project."""
    return f"tb-task-gen-{n * TB_PARENT_EVERY}"


def stamps(rng: random.Random, base: datetime) -> tuple[str, str]:
    """Creation and update times in Jira's format, within ``HISTORY`` before ``base``."""
    created = base - timedelta(seconds=rng.randrange(int(HISTORY.total_seconds())))
    updated = created + timedelta(seconds=rng.randrange(int((base - created).total_seconds()) + 1))
    return created.strftime(JIRA_TIME), updated.strftime(JIRA_TIME)


def work_keys(sizes: Sizes) -> list[str]:
    """Keys of the stories and bugs (the items under epics)."""
    return [issue_key(sizes.epics + 1 + i) for i in range(sizes.issues)]


def jira_section(sizes: Sizes, base: datetime, homes: int) -> Record:
    """The Jira seed: epics, their stories and bugs, and ``homes`` OKR home issues."""
    rng = random.Random(sizes.issues * 7 + sizes.epics)
    issues: list[Record] = []
    for n in range(1, sizes.epics + 1):
        created, updated = stamps(rng, base)
        issues.append(
            {
                "id": str(200_000 + n),
                "key": issue_key(n),
                "fields": {
                    "summary": f"Epic {n}",
                    "issuetype": {"name": "Epic"},
                    "status": {"name": "In Progress"},
                    "created": created,
                    "updated": updated,
                },
            }
        )
    for i in range(sizes.issues):
        n = sizes.epics + 1 + i
        bug = i % 10 == 3
        created, updated = stamps(rng, base)
        fields: Record = {
            "summary": f"{'Bug' if bug else 'Story'} {n}",
            "issuetype": {"name": "Bug" if bug else "Story"},
            "status": {"name": rng.choices(STATUSES, STATUS_WEIGHTS)[0]},
            "parent": {"key": issue_key(1 + i % sizes.epics)},
            "labels": rng.sample(LABELS, rng.randrange(3)),
            "created": created,
            "updated": updated,
        }
        if bug:
            fields["customfield_10106"] = float(1 + rng.randrange(5))
        else:
            fields["customfield_10016"] = rng.choice(POINTS)
        issues.append({"id": str(200_000 + n), "key": issue_key(n), "fields": fields})
    for n in range(1, homes + 1):
        issues.append(home_issue(n, *stamps(rng, base)))
    return {
        "projects": [
            {"key": PROJECT, "name": "Generated work", "id": "10100"},
            {"key": HOME_PROJECT, "name": "OKR home issues", "id": "10002"},
        ],
        "fields": [dict(f) for f in FIELDS],
        "users": [dict(u) for u in DEMO_USERS],
        "issues": issues,
    }


def build_seed(sizes: Sizes, now: datetime, jira_homes: int) -> Record:
    """The sandbox seed: ``{"jira": ..., "teambition": ...}``."""
    base = now.replace(second=0, microsecond=0) - timedelta(hours=1)
    return {
        "jira": jira_section(sizes, base, jira_homes),
        "teambition": teambition_generated(sizes.tasks),
    }


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class Changes:
    """What :func:`apply_changes` did, per tracker."""

    jira_status: int
    jira_estimate: int
    tb_done: int
    tb_points: int

    def to_dict(self) -> dict[str, int]:
        """JSON output."""
        return {
            "jira_status_changes": self.jira_status,
            "jira_estimate_edits": self.jira_estimate,
            "teambition_done_toggles": self.tb_done,
            "teambition_point_edits": self.tb_points,
        }


def apply_changes(jira: Any, teambition: Any, sizes: Sizes, share: float = 0.01) -> Changes:
    """Change ``share`` of the work items as people would, through the sandbox stores.

    Half of the chosen Jira issues move to another status, half get a new estimate; half
    of the chosen Teambition tasks are done or reopened, half get new story points.
    """
    rng = random.Random(sizes.issues + sizes.tasks)
    keys = rng.sample(work_keys(sizes), math.ceil(sizes.issues * share))
    status = estimate = 0
    for i, key in enumerate(keys):
        if i % 2 == 0:
            current = jira.issue(key).fields["status"]["name"]
            jira.transition(key, rng.choice([s for s in STATUSES if s != current]))
            status += 1
        else:
            current_points = jira.issue(key).fields.get("customfield_10016")
            choices = [p for p in POINTS if p is not None and p != current_points]
            jira.set_estimate(key, rng.choice(choices))
            estimate += 1
    # Changes go to the units of work; parent tasks (the KR home tasks among them) stay.
    homes = {tb_task(n) for n in range(sizes.tasks // TB_PARENT_EVERY + 1)}
    tasks = [f"tb-task-gen-{n}" for n in range(sizes.tasks) if f"tb-task-gen-{n}" not in homes]
    chosen = rng.sample(tasks, math.ceil(sizes.tasks * share))
    done = points = 0
    for i, task_id in enumerate(chosen):
        task = teambition.task(task_id)
        if i % 2 == 0:
            teambition.set_done(task_id, not task["isDone"])
            done += 1
        else:
            options = [p for p in ("1", "2", "3", "5", "8") if p != task.get("storyPoint")]
            teambition.set_story_point(task_id, rng.choice(options))
            points += 1
    return Changes(status, estimate, done, points)


def home_issue(n: int, created: str, updated: str) -> dict[str, Any]:
    """The ``n``-th home issue of project ``OKR``, in Jira's REST JSON."""
    return {
        "id": str(900_000 + n),
        "key": f"{HOME_PROJECT}-{n}",
        "fields": {
            "summary": f"OKR home {n}",
            "issuetype": {"name": "Task"},
            "status": {"name": "To Do"},
            "created": created,
            "updated": updated,
        },
    }
