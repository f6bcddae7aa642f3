"""The built-in Jira demo data set, as Jira REST JSON.

Counts (the same issues on both flavours; issue ids are 10000+n for PAY-n, 11000+n for
PLAT-n and 12000+n for OKR-n):

* 3 projects: PAY (Payments), PLAT (Platform), OKR (OKR home issues).
* 10 custom fields: Story Points 10016, Epic Link 10014, Sprint 10020, OKR Progress 10100,
  OKR Status 10101 (select: Not started, On track, At risk, Off track, Done, Stale),
  OKR Summary 10102, OKR Expected 10103, OKR Forecast 10104, OKR Last Synced 10105,
  Customer Impact 10106.
* Epic PAY-1 "Checkout v2" with 8 stories PAY-2..PAY-9 (points 3,5,2,8,3,-,5,1; 4 Done,
  2 In Progress, 2 To Do); story PAY-4 has 2 sub-tasks PAY-10 (Done) and PAY-11 (To Do),
  1 point each.
* Epic PAY-20 "Fraud scoring v1" with 5 stories PAY-21..PAY-25 (points 5,3,8,2,2; 2 Done).
* Epic PLAT-1 "Kubernetes migration" with 10 stories PLAT-2..PLAT-11 (6 Done, 2 In
  Progress, 2 To Do), no estimates.
* 20 bugs PAY-30..PAY-49 labelled ``checkout`` (9 Done, 11 open), Customer Impact 1 + n % 5.
* 6 OKR home tasks OKR-1..OKR-6 with empty OKR fields.
* 54 issues in all. Created/updated between 2026-10-01 and 2026-11-27 (UTC).
* Edit screens: PAY and PLAT do not offer the OKR fields; OKR offers every field.
* Users: ``demo@okrsync.example`` (API token ``demo-token``, PAT ``demo-pat``, admin) and the
  read-only ``viewer@okrsync.example`` (``viewer-token``, ``viewer-pat``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from okrsync.sandbox.jira.model import CF, EPIC_LINK_TYPE, SPRINT_TYPE
from okrsync.sandbox.jira.seed import DEMO_USERS

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
END = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
ID_BASE = {"PAY": 10000, "PLAT": 11000, "OKR": 12000}
PROJECTS = [
    {"key": "PAY", "name": "Payments", "id": "10000"},
    {"key": "PLAT", "name": "Platform", "id": "10001"},
    {"key": "OKR", "name": "OKR home issues", "id": "10002"},
]
OKR_STATUS_OPTIONS = ["Not started", "On track", "At risk", "Off track", "Done", "Stale"]
SERVICES = [
    "api-gateway",
    "auth",
    "billing",
    "catalog",
    "checkout",
    "notifications",
    "search",
    "payments-ledger",
    "reporting",
    "webhooks",
]


def _custom(number: int, name: str, type_key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"customfield_{number}",
        "name": name,
        "custom": True,
        "clauseNames": [f"cf[{number}]", name],
        "type": type_key,
        **extra,
    }


FIELDS = [
    _custom(10014, "Epic Link", EPIC_LINK_TYPE),
    _custom(10016, "Story Points", CF + "float"),
    _custom(10020, "Sprint", SPRINT_TYPE),
    _custom(10100, "OKR Progress", CF + "float"),
    _custom(
        10101,
        "OKR Status",
        CF + "select",
        options=[{"id": str(10300 + i), "value": v} for i, v in enumerate(OKR_STATUS_OPTIONS)],
    ),
    _custom(10102, "OKR Summary", CF + "textfield"),
    _custom(10103, "OKR Expected", CF + "float"),
    _custom(10104, "OKR Forecast", CF + "float"),
    _custom(10105, "OKR Last Synced", CF + "datetime"),
    _custom(10106, "Customer Impact", CF + "float"),
]
OKR_FIELDS = [f"customfield_{n}" for n in range(10100, 10106)]
WORK_SCREEN = [
    "summary",
    "description",
    "issuetype",
    "parent",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "duedate",
    "fixVersions",
    "components",
    "customfield_10014",
    "customfield_10016",
    "customfield_10020",
    "customfield_10106",
]


def _when(seq: int) -> tuple[str, str]:
    """Deterministic (created, updated) spread over the demo period."""
    span = (END - START).total_seconds()
    created = START + timedelta(seconds=(seq * 7919 % 97) / 97 * span * 0.6)
    updated = created + timedelta(
        seconds=(seq * 104729 % 89) / 89 * (END - created).total_seconds()
    )
    fmt = "%Y-%m-%dT%H:%M:%S.000+0000"
    return created.strftime(fmt), updated.strftime(fmt)


def issue(
    key: str,
    summary: str,
    issuetype: str,
    status: str,
    *,
    parent: str | None = None,
    points: float | None = None,
    labels: list[str] | None = None,
    **custom: Any,
) -> dict[str, Any]:
    """One demo issue as Jira REST JSON (sparse objects; the store fills the rest)."""
    project, number = key.rsplit("-", 1)
    seq = ID_BASE[project] + int(number)
    created, updated = _when(seq)
    fields: dict[str, Any] = {
        "summary": summary,
        "issuetype": {"name": issuetype},
        "status": {"name": status},
        "project": {"key": project},
        "priority": {"name": "Medium", "id": "3"},
        "labels": labels or [],
        "created": created,
        "updated": updated,
        "customfield_10016": points,
        **custom,
    }
    if parent is not None:
        fields["parent"] = {"key": parent}
    return {"id": str(seq), "key": key, "fields": fields}


def _stories(
    epic: str, first: int, names: list[str], statuses: list[str], points: list[float | None]
) -> list[dict[str, Any]]:
    project = epic.split("-")[0]
    return [
        issue(f"{project}-{first + i}", name, "Story", status, parent=epic, points=pts)
        for i, (name, status, pts) in enumerate(zip(names, statuses, points, strict=True))
    ]


def demo_issues() -> list[dict[str, Any]]:
    """The 54 demo issues."""
    done, prog, todo = "Done", "In Progress", "To Do"
    out = [issue("PAY-1", "Checkout v2", "Epic", prog)]
    out += _stories(
        "PAY-1",
        2,
        [
            "Card form redesign",
            "Saved cards",
            "One-page checkout",
            "Address autocomplete",
            "Order summary panel",
            "Promo codes",
            "Checkout analytics",
            "Accessibility pass",
        ],
        [done] * 4 + [prog] * 2 + [todo] * 2,
        [3, 5, 2, 8, 3, None, 5, 1],
    )
    out += [
        issue("PAY-10", "One-page checkout: layout", "Sub-task", done, parent="PAY-4", points=1),
        issue(
            "PAY-11", "One-page checkout: validation", "Sub-task", todo, parent="PAY-4", points=1
        ),
        issue("PAY-20", "Fraud scoring v1", "Epic", prog),
    ]
    out += _stories(
        "PAY-20",
        21,
        [
            "Risk signals pipeline",
            "Scoring model service",
            "Manual review queue",
            "Chargeback feedback loop",
            "Fraud dashboard",
        ],
        [done] * 2 + [todo] * 3,
        [5, 3, 8, 2, 2],
    )
    for n in range(30, 50):
        status = done if n <= 38 else (prog if n % 3 == 0 else todo)
        out.append(
            issue(
                f"PAY-{n}",
                f"Checkout bug #{n}",
                "Bug",
                status,
                labels=["checkout"],
                customfield_10106=float(1 + n % 5),
            )
        )
    out.append(issue("PLAT-1", "Kubernetes migration", "Epic", prog))
    out += _stories(
        "PLAT-1",
        2,
        [f"Migrate {s} to Kubernetes" for s in SERVICES],
        [done] * 6 + [prog] * 2 + [todo] * 2,
        [None] * 10,
    )
    for n in range(1, 7):
        out.append(issue(f"OKR-{n}", f"Key result {n}", "Task", todo))
    return out


def demo_jira_seed() -> dict[str, Any]:
    """The Jira section of the demo seed."""
    return {
        "projects": [dict(p) for p in PROJECTS],
        "fields": [dict(f) for f in FIELDS],
        "users": [dict(u) for u in DEMO_USERS],
        "screens": {"PAY": list(WORK_SCREEN), "PLAT": list(WORK_SCREEN)},
        "issues": demo_issues(),
    }
