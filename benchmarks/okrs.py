"""Generated OKR mappings over the benchmark's data set (see ``benchmarks.dataset``).

About 200 key results at full size: Jira epics (one epic each, or four), JQL scopes shared
by two KRs each (a metric and a maintain), lists of issues, manual values; Teambition
parent tasks, tags, sprints and TQL queries. Every measure kind appears. Jira KRs write
onto a home issue in project ``OKR`` (every fifth epic KR onto its epics instead);
Teambition KRs onto a parent task of the generated project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ruamel.yaml import YAML

from benchmarks.dataset import (
    HOME_PROJECT,
    LABELS,
    PROJECT,
    TB_PARENT_EVERY,
    TB_PROJECT,
    Record,
    Sizes,
    issue_key,
    quarter,
    tb_task,
    work_keys,
)

__all__ = ["Mappings", "build_mappings", "write_mappings"]

JIRA_FIELDS = {
    "progress": "OKR Progress",
    "status": "OKR Status",
    "summary": "OKR Summary",
    "expected": "OKR Expected",
    "forecast": "OKR Forecast",
    "last_synced": "OKR Last Synced",
}
TB_FIELDS = {k: JIRA_FIELDS[k] for k in ("progress", "status", "summary", "expected")}

_EPIC_MEASURES: tuple[Record, ...] = (
    {"kind": "points", "field": "Story Points", "unestimated": "mean"},
    {"kind": "count", "in_progress_credit": 0.5},
    {"kind": "points", "unestimated": "ignore"},
    {"kind": "milestone"},
    {"kind": "count"},
)


def _jira_krs(sizes: Sizes) -> list[Record]:
    """Jira key results; targets are filled in by :func:`build_mappings`."""
    krs: list[Record] = []
    epics = [issue_key(n) for n in range(1, sizes.epics + 1)]
    half = len(epics) // 2
    groups = [[e] for e in epics[:half]]
    groups += [epics[i : i + 4] for i in range(half, len(epics), 4)]
    for i, group in enumerate(groups):
        kr: Record = {
            "id": f"epic-{i + 1}",
            "title": f"Deliver {', '.join(group)}",
            "scope": {"kind": "jira_epics", "epics": group},
            "measure": dict(_EPIC_MEASURES[i % len(_EPIC_MEASURES)]),
        }
        if i % 5 == 4:
            kr["write"] = [{"kind": "jira_epics"}]  # onto the epics themselves
        krs.append(kr)
    bugs_per_label = max(2, sizes.issues // 10 // len(LABELS))
    for label in LABELS:
        scope = {
            "kind": "jql",
            "jql": f"project = {PROJECT} AND issuetype = Bug AND labels = {label}",
        }
        krs.append(
            {
                "id": f"bugs-{label}",
                "title": f"Cut open {label} bugs",
                "scope": scope,
                "measure": {
                    "kind": "metric",
                    "only": "open",
                    "start": round(bugs_per_label * 0.8),
                    "target": round(bugs_per_label * 0.1),
                },
            }
        )
        krs.append(
            {
                "id": f"impact-{label}",
                "title": f"Keep the impact of open {label} bugs low",
                "scope": scope,  # the same scope: fetched once for both KRs
                "measure": {
                    "kind": "maintain",
                    "aggregate": "avg",
                    "field": "Customer Impact",
                    "only": "open",
                    "max": 3.5,
                },
            }
        )
    krs.append(
        {
            "id": "review-queue",
            "title": "Shrink the review queue",
            "scope": {"kind": "jql", "jql": f'project = {PROJECT} AND status = "In Review"'},
            "measure": {
                "kind": "metric",
                "start": round(sizes.issues * 0.2),
                "target": round(sizes.issues * 0.02),
            },
        }
    )
    krs.append(
        {
            "id": "infra-stories",
            "title": "Finish the infra stories",
            "scope": {
                "kind": "jql",
                "jql": f"project = {PROJECT} AND issuetype = Story AND labels = infra",
            },
            "measure": {"kind": "count"},
        }
    )
    keys = work_keys(sizes)
    for k in range(8):
        listed = [keys[(k * 131 + j * 97) % len(keys)] for j in range(10)]
        krs.append(
            {
                "id": f"listed-{k + 1}",
                "title": f"Close list {k + 1}",
                "scope": {"kind": "jira_issues", "issues": sorted(set(listed))},
                "measure": {"kind": "count"} if k % 2 else {"kind": "points"},
            }
        )
    for k in range(5):
        krs.append(
            {
                "id": f"manual-{k + 1}",
                "title": f"Hand-kept result {k + 1}",
                "measure": {"kind": "manual", "value": round(0.2 * k, 2)},
            }
        )
    return krs


def _teambition_krs(sizes: Sizes) -> list[Record]:
    parents = min(sizes.tasks, 5000) // TB_PARENT_EVERY
    count = max(1, min(sizes.tb_parent_krs, parents - 20))
    krs: list[Record] = []
    for k in range(count):
        krs.append(
            {
                "id": f"tb-parent-{k + 1}",
                "title": f"Finish task {tb_task(k)}",
                "scope": {"kind": "teambition_parent", "task": tb_task(k)},
                "measure": {"kind": "points"} if k % 2 else {"kind": "count"},
            }
        )
    for t in range(10):
        krs.append(
            {
                "id": f"tb-tag-{t}",
                "title": f"Close tag {t}",
                "scope": {
                    "kind": "teambition_tags",
                    "project": TB_PROJECT,
                    "tags": [f"tb-tag-gen-{t}"],
                    "include_subtasks": True,
                },
                "measure": {"kind": "count"},
            }
        )
    for s in range(8):
        krs.append(
            {
                "id": f"tb-sprint-{s}",
                "title": f"Close sprint {s}",
                "scope": {
                    "kind": "teambition_sprint",
                    "project": TB_PROJECT,
                    "sprint": f"tb-sprint-gen-{s}",
                    "include_subtasks": True,
                },
                "measure": {"kind": "count", "in_progress_credit": 0.25},
            }
        )
    krs.append(
        {
            "id": "tb-open-priority",
            "title": "Cut open priority-2 tasks",
            "scope": {
                "kind": "teambition_tql",
                "project": TB_PROJECT,
                "tql": "isDone = false AND priority = 2",
                "include_subtasks": True,
            },
            "measure": {"kind": "metric", "start": max(2, sizes.tasks // 4), "target": 0},
        }
    )
    krs.append(
        {
            "id": "tb-big-tasks",
            "title": "Land the big tasks",
            "scope": {
                "kind": "teambition_tql",
                "project": TB_PROJECT,
                "tql": "storyPoint >= 5",
                "include_subtasks": True,
            },
            "measure": {"kind": "points"},
        }
    )
    for i, kr in enumerate(krs):
        # A parent task is the home of its own KR; the others live on the next parents.
        home = tb_task(i)
        kr["write"] = [{"kind": "teambition_task", "task": home}]
    return krs


def _objectives(prefix: str, krs: list[Record], period: str) -> list[Record]:
    return [
        {
            "id": f"{prefix}-{i // 10 + 1}",
            "title": f"{prefix} objective {i // 10 + 1}",
            "period": period,
            "parent": "company",
            "key_results": krs[i : i + 10],
        }
        for i in range(0, len(krs), 10)
    ]


@dataclass(frozen=True)
class Mappings:
    """The generated mapping files (file name -> YAML data) and their home issue count."""

    files: dict[str, Record]
    jira_homes: int
    key_results: int


def build_mappings(sizes: Sizes, now: datetime) -> Mappings:
    """About 200 key results (at full size) with mixed scopes, measures and targets."""
    period = quarter(now)
    jira = _jira_krs(sizes)
    homes = 0
    for kr in jira:
        if "write" not in kr:
            homes += 1
            kr["write"] = [{"kind": "jira_issue", "key": f"{HOME_PROJECT}-{homes}"}]
    tb = _teambition_krs(sizes)
    company: Record = {"id": "company", "title": "Ship what we promised", "period": period}
    files = {
        "jira.yaml": {
            "version": 1,
            "defaults": {"write": {"fields": JIRA_FIELDS}},
            "objectives": [company, *_objectives("jira", jira, period)],
        },
        "teambition.yaml": {
            "version": 1,
            "defaults": {"write": {"fields": TB_FIELDS}},
            "objectives": _objectives("tb", tb, period),
        },
    }
    return Mappings(files, homes, len(jira) + len(tb))


def write_mappings(mappings: Mappings, directory: Path) -> Path:
    """Write the mapping files as YAML into ``directory``; returns it."""
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in mappings.files.items():
        with (directory / name).open("w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    return directory
