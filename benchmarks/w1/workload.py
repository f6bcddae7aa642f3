"""Workload W1: a seeded Jira (8 projects, epics, stories, bugs, sub-tasks), a seeded
Teambition (5 projects) and 160 key results in 40 objectives over them.

Everything is a pure function of :class:`Sizes` and ``now`` (timestamps fall in the 80
days before ``now``), so the same arguments give byte-for-byte the same seed and mappings.
Besides the seed and the mapping files, :func:`build` returns each distinct scope's items
(computed here from the generation rules, not by asking the sandbox), which
``benchmarks.w1.bound`` turns into the fewest requests a cycle needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from benchmarks.dataset import HOME_PROJECT, POINTS, home_issue, stamps
from okrsync.sandbox.jira.demo import FIELDS
from okrsync.sandbox.jira.seed import DEMO_USERS
from okrsync.sandbox.teambition.demo import generated as teambition_generated

__all__ = ["FULL", "SMALL", "Scope", "Sizes", "Workload", "build", "write_mappings"]

Record = dict[str, Any]

PROJECTS = ("PA", "PB", "PC", "PD", "PE", "PF", "PG", "PH")
LABELS = ("backend", "frontend", "checkout", "infra", "mobile")
STATUSES = ("To Do", "In Progress", "In Review", "Done")
STATUS_WEIGHTS = (30, 15, 10, 45)
DONE = "Done"
SUBTASK_SHARE = 0.2  # of each project's non-epic issues
TB_BLOCK = 5000  # the sandbox's generated Teambition data: one project per 5,000 tasks
TB_PARENT_EVERY = 20
PERIOD = "2026"  # a year: the expected pace moves about 0.01 % an hour
JIRA_FIELDS = {"progress": "OKR Progress", "status": "OKR Status"}
TB_FIELDS = {"progress": "OKR Progress", "status": "OKR Status"}
KRS_PER_OBJECTIVE = 4


@dataclass(frozen=True)
class Sizes:
    """How big W1 is: Jira issues (epics and sub-tasks included) over ``projects``
    projects with ``epics`` epics; Teambition tasks over ``tb_projects`` projects."""

    issues: int = 40_000
    epics: int = 400
    projects: int = 8
    tasks: int = 10_000
    tb_projects: int = 5
    seed: int = 1

    @property
    def name(self) -> str:
        """A short label, e.g. ``40k``."""
        return f"{self.issues // 1000}k"


FULL = Sizes()
SMALL = Sizes(issues=10_000, epics=100, tasks=2_500)


@dataclass(frozen=True)
class Scope:
    """One distinct scope: which tracker (``jira`` or a Teambition project id), a stable
    key, and the ids of its items."""

    tracker: str
    key: str
    items: frozenset[str]


@dataclass
class Workload:
    """The seed (``{"jira": ..., "teambition": ...}``), the mapping files, each KR's
    scope keys and write target, and the scopes themselves."""

    sizes: Sizes
    now: datetime
    seed: Record
    files: dict[str, Record]
    scopes: dict[str, Scope] = field(default_factory=dict)
    kr_scopes: dict[str, list[str]] = field(default_factory=dict)
    kr_targets: dict[str, tuple[str, str]] = field(default_factory=dict)  # kr -> (tracker, id)
    work_keys: list[str] = field(default_factory=list)  # stories, bugs, sub-tasks
    epic_keys: list[str] = field(default_factory=list)
    tb_tasks: list[str] = field(default_factory=list)  # non-parent Teambition tasks
    tb_parent: dict[str, str] = field(default_factory=dict)  # task -> its parent
    tb_project: dict[str, str] = field(default_factory=dict)  # task -> its project
    subtasks: set[str] = field(default_factory=set)

    def seed_subtask(self, key: str) -> bool:
        """Whether ``key`` is a Jira sub-task in the seed."""
        return key in self.subtasks

    def epics_of(self, key: str) -> list[str]:
        """The epics of the Jira issue ``key``'s project."""
        project = key.split("-")[0] + "-"
        return [e for e in self.epic_keys if e.startswith(project)]

    @property
    def key_results(self) -> list[str]:
        """Every KR id, in file order."""
        return list(self.kr_targets) + [k for k in self.kr_scopes if k not in self.kr_targets]

    def krs_with_item(self, item: str) -> list[str]:
        """The KRs whose scope holds ``item`` (what a webhook for it names)."""
        return sorted(
            kr
            for kr, keys in self.kr_scopes.items()
            if any(item in self.scopes[k].items for k in keys)
        )


# --------------------------------------------------------------------------- Jira


def _jira(sizes: Sizes, base: datetime, homes: int, w: Workload) -> tuple[Record, list[Record]]:
    rng = random.Random(sizes.seed * 1_000_003 + sizes.issues)
    issues: list[Record] = []
    per_project = sizes.issues // sizes.projects
    epics_per_project = sizes.epics // sizes.projects
    next_id = 300_000
    for p in range(sizes.projects):
        project = PROJECTS[p]
        count = per_project + (sizes.issues % sizes.projects if p == 0 else 0)
        rest = count - epics_per_project
        subtasks = int(rest * SUBTASK_SHARE)
        stories = rest - subtasks
        for n in range(1, count + 1):
            next_id += 1
            created, updated = stamps(rng, base)
            key = f"{project}-{n}"
            fields: Record = {"created": created, "updated": updated}
            if n <= epics_per_project:
                fields |= {
                    "summary": f"Epic {key}",
                    "issuetype": {"name": "Epic"},
                    "status": {"name": "In Progress"},
                }
                w.epic_keys.append(key)
            elif n <= epics_per_project + stories:
                i = n - epics_per_project - 1
                bug = i % 10 == 3
                fields |= {
                    "summary": f"{'Bug' if bug else 'Story'} {key}",
                    "issuetype": {"name": "Bug" if bug else "Story"},
                    "status": {"name": rng.choices(STATUSES, STATUS_WEIGHTS)[0]},
                    "parent": {"key": f"{project}-{1 + i % epics_per_project}"},
                    "labels": rng.sample(LABELS, rng.randrange(3)),
                }
                if bug:
                    fields["customfield_10106"] = float(1 + rng.randrange(5))
                else:
                    fields["customfield_10016"] = rng.choice(POINTS)
                w.work_keys.append(key)
            else:
                story = epics_per_project + 1 + rng.randrange(stories)
                fields |= {
                    "summary": f"Sub-task {key}",
                    "issuetype": {"name": "Sub-task"},
                    "status": {"name": rng.choices(STATUSES, STATUS_WEIGHTS)[0]},
                    "parent": {"key": f"{project}-{story}"},
                    "customfield_10016": rng.choice(POINTS[:4]),
                }
                w.work_keys.append(key)
                w.subtasks.add(key)
            issues.append({"id": str(next_id), "key": key, "fields": fields})
    for n in range(1, homes + 1):
        issues.append(home_issue(n, *stamps(rng, base)))
    projects = [
        {"key": PROJECTS[p], "name": f"Project {PROJECTS[p]}", "id": str(10_100 + p)}
        for p in range(sizes.projects)
    ]
    projects.append({"key": HOME_PROJECT, "name": "OKR home issues", "id": "10002"})
    section = {
        "projects": projects,
        "fields": [dict(f) for f in FIELDS],
        "users": [dict(u) for u in DEMO_USERS],
        "issues": issues,
    }
    return section, issues


# --------------------------------------------------------------------------- Teambition


def _teambition(sizes: Sizes) -> Record:
    """The sandbox's generated set with ``tb_projects`` projects, the first
    ``tasks / tb_projects`` tasks of each (parents stay with their sub-tasks)."""
    section = teambition_generated(TB_BLOCK * sizes.tb_projects)
    per = sizes.tasks // sizes.tb_projects
    section["tasks"] = [t for i, t in enumerate(section["tasks"]) if i % TB_BLOCK < per]
    return section


def _tb_project(task: Record) -> str:
    return str(task["projectId"])


# --------------------------------------------------------------------------- key results


def _add_scope(w: Workload, kr: str, scope: Scope) -> None:
    w.scopes.setdefault(scope.key, scope)
    w.kr_scopes.setdefault(kr, []).append(scope.key)


_EPIC_MEASURES: tuple[Record, ...] = (
    {"kind": "points", "field": "Story Points", "unestimated": "mean"},
    {"kind": "count", "in_progress_credit": 0.5},
    {"kind": "points", "unestimated": "ignore"},
    {"kind": "count"},
)


def _jira_krs(sizes: Sizes, issues: list[Record], w: Workload) -> list[Record]:
    """96 epic KRs (64 of one epic, 32 of four with neighbours overlapping), 20 JQL KRs
    (8 scopes shared by a metric and a maintain, 4 cross-project counts) and 4 manual."""
    by_parent: dict[str, list[Record]] = {}
    for issue in issues:
        parent = issue["fields"].get("parent", {}).get("key")
        if parent is not None:
            by_parent.setdefault(parent, []).append(issue)
    krs: list[Record] = []
    epics = w.epic_keys
    step = max(1, len(epics) // 64)
    groups = [[epics[(i * step) % len(epics)]] for i in range(64)]
    groups += [[epics[(j * 3 + d) % len(epics)] for d in range(4)] for j in range(32)]
    for i, group in enumerate(groups):
        subtasks = i % 3 == 2
        kr_id = f"epic-{i + 1}"
        scope: Record = {"kind": "jira_epics", "epics": group}
        if subtasks:
            scope["include_subtasks"] = True
        krs.append(
            {
                "id": kr_id,
                "title": f"Deliver {', '.join(group)}",
                "scope": scope,
                "measure": dict(_EPIC_MEASURES[i % len(_EPIC_MEASURES)]),
            }
        )
        key = f"epics:{','.join(sorted(group))}:{subtasks}"
        under = {c["key"] for e in group for c in by_parent.get(e, [])}
        if subtasks:
            under |= {c["key"] for k in under for c in by_parent.get(k, [])}
        _add_scope(w, kr_id, Scope("jira", key, frozenset(under)))
    start = max(2, sizes.issues // sizes.projects // 50)
    for project in PROJECTS[: sizes.projects]:
        jql = f"project = {project} AND issuetype = Bug"
        items = frozenset(
            i["key"]
            for i in issues
            if i["key"].startswith(project + "-") and i["fields"]["issuetype"]["name"] == "Bug"
        )
        for kr in (
            {
                "id": f"bugs-{project}",
                "title": f"Cut open bugs in {project}",
                "measure": {"kind": "metric", "only": "open", "start": start, "target": 0},
            },
            {
                "id": f"impact-{project}",
                "title": f"Keep the impact of open bugs in {project} low",
                "measure": {
                    "kind": "maintain",
                    "aggregate": "avg",
                    "field": "Customer Impact",
                    "only": "open",
                    "max": 3.5,
                },
            },
        ):
            krs.append({**kr, "scope": {"kind": "jql", "jql": jql}})
            _add_scope(w, str(kr["id"]), Scope("jira", f"jql:{jql}", items))
    for label in LABELS[:4]:
        jql = f'labels = {label} AND status = "In Review"'
        items = frozenset(
            i["key"]
            for i in issues
            if label in i["fields"].get("labels", ())
            and i["fields"]["status"]["name"] == "In Review"
        )
        kr_id = f"review-{label}"
        krs.append(
            {
                "id": kr_id,
                "title": f"Shrink the {label} review queue",
                "scope": {"kind": "jql", "jql": jql},
                "measure": {"kind": "metric", "start": max(2, len(items)), "target": 0},
            }
        )
        _add_scope(w, kr_id, Scope("jira", f"jql:{jql}", items))
    for k in range(4):
        krs.append(
            {
                "id": f"manual-{k + 1}",
                "title": f"Hand-kept result {k + 1}",
                "measure": {"kind": "manual", "value": round(0.25 * k, 2)},
            }
        )
    return krs


def _teambition_krs(sizes: Sizes, section: Record, w: Workload) -> list[Record]:
    """40 KRs: 15 parent tasks, 15 tags (three per project), 10 TQL (two per project)."""
    tasks = section["tasks"]
    projects = [p["id"] for p in section["projects"]]
    parents = [t["id"] for t in tasks if not t.get("parentTaskId")]
    krs: list[Record] = []
    for k in range(15):
        parent = parents[(k * 97) % len(parents)]
        items = frozenset(t["id"] for t in tasks if t.get("parentTaskId") == parent)
        kr_id = f"tb-parent-{k + 1}"
        krs.append(
            {
                "id": kr_id,
                "title": f"Finish task {parent}",
                "scope": {"kind": "teambition_parent", "task": parent},
                "measure": {"kind": "points"} if k % 2 else {"kind": "count"},
            }
        )
        project = next(_tb_project(t) for t in tasks if t["id"] == parent)
        _add_scope(w, kr_id, Scope(project, f"parent:{parent}", items))
    for p, project in enumerate(projects):
        for t in (p % 10, (p + 3) % 10, (p + 6) % 10):
            tag = f"tb-tag-gen-{t}"
            kr_id = f"tb-tag-{project}-{t}"
            krs.append(
                {
                    "id": kr_id,
                    "title": f"Close tag {t} in {project}",
                    "scope": {
                        "kind": "teambition_tags",
                        "project": project,
                        "tags": [tag],
                        "include_subtasks": True,
                    },
                    "measure": {"kind": "count"},
                }
            )
            items = frozenset(
                x["id"] for x in tasks if _tb_project(x) == project and tag in x.get("tagIds", ())
            )
            _add_scope(w, kr_id, Scope(project, f"tag:{project}:{tag}", items))
        queries = (
            ("open-p2", "isDone = false AND priority = 2", {"kind": "metric", "start": 0}),
            ("big", "storyPoint >= 5", {"kind": "points"}),
        )
        for name, tql, measure in queries:
            kr_id = f"tb-{name}-{project}"
            if name == "open-p2":
                items = frozenset(
                    x["id"]
                    for x in tasks
                    if _tb_project(x) == project and not x["isDone"] and x.get("priority") == 2
                )
                measure = {"kind": "metric", "start": max(2, len(items)), "target": 0}
            else:
                items = frozenset(
                    x["id"]
                    for x in tasks
                    if _tb_project(x) == project and x.get("storyPoint") in ("5", "8")
                )
            krs.append(
                {
                    "id": kr_id,
                    "title": f"{name} in {project}",
                    "scope": {
                        "kind": "teambition_tql",
                        "project": project,
                        "tql": tql,
                        "include_subtasks": True,
                    },
                    "measure": measure,
                }
            )
            _add_scope(w, kr_id, Scope(project, f"tql:{project}:{tql}", items))
    # Each KR writes onto a parent task of its own, spread over the projects.
    homes = [t["id"] for t in tasks if not t.get("parentTaskId")]
    homes = homes[1::2] + homes[::2]
    for i, kr in enumerate(krs):
        kr["write"] = [{"kind": "teambition_task", "task": homes[i % len(homes)]}]
        w.kr_targets[str(kr["id"])] = ("teambition", homes[i % len(homes)])
    w.tb_tasks = [t["id"] for t in tasks if t.get("parentTaskId")]
    w.tb_parent = {t["id"]: t["parentTaskId"] for t in tasks if t.get("parentTaskId")}
    w.tb_project = {t["id"]: _tb_project(t) for t in tasks}
    return krs


def _objectives(prefix: str, krs: list[Record]) -> list[Record]:
    return [
        {
            "id": f"{prefix}-{i // KRS_PER_OBJECTIVE + 1}",
            "title": f"{prefix} objective {i // KRS_PER_OBJECTIVE + 1}",
            "period": PERIOD,
            "key_results": krs[i : i + KRS_PER_OBJECTIVE],
        }
        for i in range(0, len(krs), KRS_PER_OBJECTIVE)
    ]


def build(sizes: Sizes, now: datetime) -> Workload:
    """W1 at ``sizes``, stamped before ``now``: seed, mappings and scopes."""
    base = now.replace(second=0, microsecond=0) - timedelta(hours=1)
    w = Workload(sizes, now, {}, {})
    # 120 Jira KRs, of which 116 measure something and write onto one home issue each.
    homes = 120
    jira, issues = _jira(sizes, base, homes, w)
    tb = _teambition(sizes)
    jira_krs = _jira_krs(sizes, issues, w)
    n = 0
    for kr in jira_krs:
        if kr["measure"]["kind"] == "manual":
            w.kr_scopes.setdefault(str(kr["id"]), [])
            continue
        n += 1
        kr["write"] = [{"kind": "jira_issue", "key": f"{HOME_PROJECT}-{n}"}]
        w.kr_targets[str(kr["id"])] = ("jira", f"{HOME_PROJECT}-{n}")
    tb_krs = _teambition_krs(sizes, tb, w)
    w.seed = {"jira": jira, "teambition": tb}
    w.files = {
        "jira.yaml": {
            "version": 1,
            "defaults": {"write": {"fields": JIRA_FIELDS}},
            "objectives": _objectives("jira", jira_krs),
        },
        "teambition.yaml": {
            "version": 1,
            "defaults": {"write": {"fields": TB_FIELDS}},
            "objectives": _objectives("tb", tb_krs),
        },
    }
    return w


def write_mappings(w: Workload, directory: Path) -> Path:
    """The mapping files as YAML in ``directory`` (created); returns it."""
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in w.files.items():
        with (directory / name).open("w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    return directory
