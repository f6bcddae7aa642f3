"""Results stored by earlier releases still load, and what is stored keeps its keys.

The dicts below are written out by hand in the shape the state store holds today (one
KR and one objective, as ``KrReport.stored()`` and ``ObjectiveReport.stored()`` wrote
them), so that a renamed or retyped field shows up here before it strands a database.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from typing import Any

from mappings.forecast import Forecast
from mappings.results import Evidence, Excluded, KrResult
from mappings.rollup import ObjectiveResult
from okrsync.sync.report import KrReport, ObjectiveReport

STORED_KR: dict[str, Any] = {
    "kr_id": "kr-1",
    "progress": 0.5,
    "expected": 0.4,
    "status": "on_track",
    "score": 0.5,
    "done_count": 1,
    "total_count": 2,
    "done_points": 3.0,
    "total_points": 6.0,
    "value": None,
    "target": None,
    "start": None,
    "evidence": [
        {
            "item_id": "10001",
            "key": "PAY-1",
            "title": "Pay",
            "status": "Done",
            "category": "done",
            "estimate": 3.0,
            "counted_estimate": 3.0,
            "contribution": 3.0,
            "note": "",
        }
    ],
    "excluded": [{"item_id": "10002", "key": "PAY-2", "reason": "a sub-task"}],
    "stale_reason": None,
    "maintain_distance": None,
    "scope_count": 3,
    "notes": ["one note"],
    "title": "Ship it",
    "objective_id": "obj-1",
    "period": "2026-Q4",
    "forecast": {
        "projected_progress": 0.9,
        "projected_completion": "2026-12-20",
        "throughput_per_day": 0.01,
        "basis": "least-squares",
    },
    "scope_change": 0.5,
    "scope_baseline": 2,
    "scope_total": 3,
    "held": None,
    "final": True,
    "final_since": "2027-01-15T00:00:00+00:00",
    "override": None,
    "sources": ["jira:cloud"],
    "position": 2,
    "inputs": "0123456789abcdef0123456789abcdef",
}

STORED_OBJECTIVE: dict[str, Any] = {
    "objective_id": "obj-1",
    "progress": 0.5,
    "expected": 0.4,
    "status": "on_track",
    "score": 0.5,
    "partially_stale": False,
    "stale_krs": [],
    "children": [],
    "key_results": ["kr-1"],
    "title": "Grow",
    "period": "2026-Q4",
    "parent": None,
    "position": 1,
}


def test_a_stored_kr_loads_with_every_value() -> None:
    report = KrReport.from_stored(STORED_KR)

    assert report.result == KrResult(
        "kr-1",
        0.5,
        0.4,
        "on_track",
        0.5,
        done_count=1,
        total_count=2,
        done_points=3.0,
        total_points=6.0,
        evidence=(Evidence("10001", "PAY-1", "Pay", "Done", "done", 3.0, 3.0, 3.0, ""),),
        excluded=(Excluded("10002", "PAY-2", "a sub-task"),),
        scope_count=3,
        notes=("one note",),
    )
    assert (report.kr_id, report.objective_id, report.title, report.period) == (
        "kr-1",
        "obj-1",
        "Ship it",
        "2026-Q4",
    )
    assert report.forecast == Forecast(0.9, date(2026, 12, 20), 0.01, "least-squares")
    assert (report.scope_change, report.scope_baseline, report.scope_total) == (0.5, 2, 3)
    assert report.final and report.frozen, "a final result is shown without reading it"
    assert report.final_since == datetime(2027, 1, 15, tzinfo=UTC)
    assert (report.sources, report.position, report.held, report.override) == (
        ("jira:cloud",),
        2,
        None,
        None,
    )


def test_a_stored_kr_is_stored_again_unchanged() -> None:
    stored = KrReport.from_stored(STORED_KR).stored()
    assert json.loads(json.dumps(stored)) == STORED_KR


def test_a_result_stored_before_the_report_keys_loads_with_defaults() -> None:
    result_only = {k: v for k, v in STORED_KR.items() if k in {f.name for f in fields(KrResult)}}
    result_only.pop("notes")
    result_only.pop("scope_count")

    report = KrReport.from_stored(result_only)

    assert (report.title, report.objective_id, report.period) == ("kr-1", "", "")
    assert report.forecast is None and not report.final and report.sources == ()
    assert report.result.notes == () and report.result.scope_count == 0


def test_a_stored_objective_loads_and_is_stored_again_unchanged() -> None:
    report = ObjectiveReport.from_stored(STORED_OBJECTIVE)

    assert (report.objective_id, report.title, report.parent, report.position) == (
        "obj-1",
        "Grow",
        None,
        1,
    )
    assert report.result.key_results == ("kr-1",)
    assert json.loads(json.dumps(report.stored())) == STORED_OBJECTIVE


def test_report_keys_never_shadow_result_keys_in_the_stored_dict() -> None:
    # A KR's result and its report are stored flattened into one dict.
    for report_type, result_type, shared in (
        (KrReport, KrResult, {"kr_id"}),
        (ObjectiveReport, ObjectiveResult, {"objective_id"}),
    ):
        report_keys = {f.name for f in fields(report_type)}
        result_keys = {f.name for f in fields(result_type)}
        assert report_keys & result_keys == shared


def test_a_kept_result_is_stored_as_it_was_recorded() -> None:
    # A result kept by a later cycle (its scopes unchanged) stores its recorded evidence.
    report = KrReport.from_stored(STORED_KR)
    kept = replace(report, kept=STORED_KR)
    assert kept.stored() == report.stored()
    assert json.loads(json.dumps(kept.stored())) == STORED_KR
