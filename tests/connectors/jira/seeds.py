"""Small Jira seeds in Jira's REST JSON for the connector contract tests.

The same seed serves both flavours: the sandbox links an epic's children by ``parent`` on
Cloud and by the Epic Link field on Data Center.
"""

from __future__ import annotations

from typing import Any

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
STATUS_OPTIONS = ["Not started", "On track", "At risk", "Off track", "Done", "Stale"]
OKR_FIELDS = {
    "customfield_10100": ("OKR Progress", CF + "float"),
    "customfield_10101": ("OKR Status", CF + "select"),
    "customfield_10102": ("OKR Summary", CF + "textfield"),
    "customfield_10103": ("OKR Expected", CF + "float"),
    "customfield_10104": ("OKR Forecast", CF + "float"),
    "customfield_10105": ("OKR Last Synced", CF + "datetime"),
}


def _fields(okr: bool = True) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = [
        {"id": "customfield_10016", "name": "Story Points", "type": CF + "float"},
        {
            "id": "customfield_10014",
            "name": "Epic Link",
            "type": "com.pyxis.greenhopper.jira:gh-epic-link",
        },
        {"id": "customfield_10106", "name": "Customer Impact", "type": CF + "float"},
    ]
    if okr:
        for fid, (name, type_key) in OKR_FIELDS.items():
            entry: dict[str, Any] = {"id": fid, "name": name, "type": type_key}
            if type_key.endswith(":select"):
                entry["options"] = STATUS_OPTIONS
            fields.append(entry)
    return fields


def issue(
    key: str,
    summary: str,
    *,
    type_: str = "Story",
    status: str = "To Do",
    parent: str | None = None,
    points: float | None = None,
    labels: tuple[str, ...] = (),
    updated: str = "2026-10-15T10:00:00.000+0000",
    **custom: Any,
) -> dict[str, Any]:
    """One issue in Jira REST JSON (sparse: the sandbox fills in the rest)."""
    fields: dict[str, Any] = {
        "summary": summary,
        "issuetype": {"name": type_},
        "status": {"name": status},
        "labels": list(labels),
        "updated": updated,
        "created": "2026-10-01T09:00:00.000+0000",
        "customfield_10016": points,
        **custom,
    }
    if parent:
        fields["parent"] = {"key": parent}
    return {"key": key, "fields": fields}


def small_seed() -> dict[str, Any]:
    """Epics with stories and sub-tasks, labelled bugs, and OKR home issues."""
    issues = [issue("PAY-1", "Checkout v2", type_="Epic")]
    points = [3, 5, 2, 8, 3, None, 5, 1]
    statuses = ["Done"] * 4 + ["In Progress"] * 2 + ["To Do"] * 2
    for n, (pts, status) in enumerate(zip(points, statuses, strict=True), start=2):
        issues.append(
            issue(
                f"PAY-{n}",
                f"Checkout story {n}",
                status=status,
                parent="PAY-1",
                points=pts,
                updated=f"2026-11-{n + 10:02d}T10:00:00.000+0000",
            )
        )
    issues.append(
        issue("PAY-10", "Sub-task A", type_="Sub-task", status="Done", parent="PAY-4", points=1)
    )
    issues.append(issue("PAY-11", "Sub-task B", type_="Sub-task", parent="PAY-4", points=1))
    issues.append(issue("PAY-20", "Fraud scoring v1", type_="Epic"))
    for n, pts in zip(range(21, 26), [5, 3, 8, 2, 2], strict=True):
        status = "Done" if n <= 22 else "To Do"
        issues.append(
            issue(f"PAY-{n}", f"Fraud story {n}", status=status, parent="PAY-20", points=pts)
        )
    for n in range(30, 50):
        issues.append(
            issue(
                f"PAY-{n}",
                f"Checkout bug {n}",
                type_="Bug",
                status="Done" if n <= 38 else "To Do",
                labels=("checkout",),
                customfield_10106=1 + n % 5,
            )
        )
    issues.append(issue("PLAT-1", "Kubernetes migration", type_="Epic"))
    for n in range(2, 5):
        issues.append(
            issue(f"PLAT-{n}", f"Service {n}", status="Done" if n < 4 else "To Do", parent="PLAT-1")
        )
    for n in range(1, 4):
        issues.append(issue(f"OKR-{n}", f"KR home {n}", type_="Task"))
    okr_ids = list(OKR_FIELDS)
    return {
        "jira": {
            "fields": _fields(),
            "projects": [
                {"key": "PAY", "name": "Payments"},
                {"key": "PLAT", "name": "Platform"},
                {"key": "OKR", "name": "OKR home issues"},
            ],
            "screens": {
                "OKR": ["summary", "labels", *okr_ids],
                "PAY": ["summary", "labels", "customfield_10016", "customfield_10106"],
                "PLAT": ["summary", "labels", "customfield_10016"],
            },
            "issues": issues,
        }
    }


def many_seed(count: int) -> dict[str, Any]:
    """``count`` stories under epic BIG-1, for paging."""
    issues = [issue("BIG-1", "Big epic", type_="Epic")]
    for n in range(2, count + 2):
        issues.append(
            issue(
                f"BIG-{n}",
                f"Story {n}",
                parent="BIG-1",
                points=1,
                status="Done" if n % 2 else "To Do",
                labels=("bulk",),
            )
        )
    return {"jira": {"fields": _fields(okr=False), "projects": [{"key": "BIG"}], "issues": issues}}
