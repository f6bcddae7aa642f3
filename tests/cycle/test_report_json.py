"""The ``okrsync sync --output json`` document: its keys are a contract with scripts.

Adding a key is a change scripts survive; renaming or dropping one breaks them. These sets
are written out by hand so that any such change shows up here first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mappings.forecast import Forecast
from mappings.results import KrResult
from mappings.rollup import ObjectiveResult
from okrsync.sync.report import (
    CheckinReport,
    ConflictReport,
    CycleReport,
    HeldReport,
    KrReport,
    ObjectiveReport,
    SourceReport,
    WriteReport,
)

AT = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)

RUN = {
    "id",
    "started_at",
    "finished_at",
    "mode",
    "outcome",
    "dry_run",
    "force",
    "only",
    "writes",
    "planned_writes",
    "requests",
    "held",
    "conflicts",
    "stale",
    "failed_sources",
    "unknown",
    "final",
    "error",
}
OBJECTIVE = {
    "id",
    "title",
    "period",
    "parent",
    "progress",
    "expected",
    "status",
    "score",
    "partially_stale",
    "stale_krs",
    "children",
    "key_results",
}
KEY_RESULT = {
    "id",
    "objective",
    "title",
    "period",
    "progress",
    "expected",
    "status",
    "score",
    "done_count",
    "total_count",
    "done_points",
    "total_points",
    "value",
    "start",
    "target",
    "stale",
    "stale_reason",
    "held",
    "frozen",
    "unknown",
    "final",
    "final_since",
    "final_on",
    "override",
    "forecast",
    "scope_change",
    "sources",
    "notes",
}
FORECAST = {"projected_progress", "projected_completion", "throughput_per_day", "basis"}
WRITE = {"kr", "connection", "target", "field", "before", "after", "applied", "error"}
HELD = {"kr", "connection", "scope", "previous", "current", "reason"}
CONFLICT = {"kr", "connection", "target", "field", "ours", "theirs", "resolution"}
CHECKIN = {"kr", "connection", "target", "from", "to", "text", "posted", "error"}
SOURCE = {
    "up",
    "error",
    "scopes",
    "full_reads",
    "incremental_reads",
    "items",
    "requests",
    "refused_scopes",
    "target_errors",
    "last_success_at",
    "last_failure_at",
    "consecutive_failures",
}


def _report() -> CycleReport:
    result = KrResult("kr-1", 0.5, 0.6, "at_risk", 0.5, done_count=1, total_count=2)
    rolled = ObjectiveResult("obj", 0.5, 0.6, "at_risk", 0.5, False, (), (), ("kr-1",))
    forecast = Forecast(0.9, None, 0.01, "least-squares throughput over 3 samples")
    report = CycleReport(run_id=7, started_at=AT, finished_at=AT)
    report.objectives.append(ObjectiveReport("obj", "Objective", "2026-Q4", None, rolled))
    report.key_results.append(
        KrReport("kr-1", "obj", "KR", "2026-Q4", result, forecast, 0.25, 4, 5, sources=("a:b",))
    )
    report.writes.append(
        WriteReport("kr-1", "jira:cloud", "OKR-1", "OKR Last Synced", None, AT, True, None, "x")
    )
    report.held.append(HeldReport("kr-1", "jira:cloud", "jira_epics epics=['E-1']", 8, 0, "why"))
    report.conflicts.append(
        ConflictReport("kr-1", "jira:cloud", "OKR-1", "OKR Progress", 50.0, 90.0, "overwritten")
    )
    report.checkins.append(
        CheckinReport("kr-1", "jira:cloud", "OKR-1", "on_track", "at_risk", "text", True)
    )
    report.sources["jira:cloud"] = SourceReport("jira:cloud", scopes=1, requests=3)
    return report


def test_every_section_keeps_its_keys() -> None:
    data = _report().to_dict()
    assert set(data) == {
        "schema_version",
        "run",
        "objectives",
        "key_results",
        "writes",
        "held",
        "conflicts",
        "checkins",
        "sources",
    }
    assert set(data["run"]) == RUN
    assert set(data["objectives"][0]) == OBJECTIVE
    assert set(data["key_results"][0]) == KEY_RESULT
    assert set(data["key_results"][0]["forecast"]) == FORECAST
    assert set(data["writes"][0]) == WRITE
    assert set(data["held"][0]) == HELD
    assert set(data["conflicts"][0]) == CONFLICT
    assert set(data["checkins"][0]) == CHECKIN
    assert set(data["sources"]["jira:cloud"]) == SOURCE


def test_the_document_is_plain_json_with_iso_times() -> None:
    data = _report().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["writes"][0]["after"] == "2026-11-16T12:00:00+00:00"
    assert data["run"]["started_at"] == "2026-11-16T12:00:00+00:00"


def test_the_text_output_gets_more_than_the_json() -> None:
    write = _report().to_dict(detail=True)["writes"][0]
    assert set(write) == WRITE | {"role", "format"}
