"""The text output people read, at 80 and 120 columns (80 is also what a pipe gets)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from okrsync.views.text import print_cycle, print_explain

LONG = "Keep the average customer impact of open checkout bugs at 3.5 or below"


def _kr(kr_id: str, title: str, progress: float, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": kr_id,
        "objective": extra.pop("objective", "pay-reliable-checkout"),
        "title": title,
        "period": "2026-Q4",
        "progress": progress,
        "expected": 0.631,
        "status": status,
        "stale": status == "stale",
        "stale_reason": None,
        "held": None,
        "frozen": False,
        "override": None,
        "sources": ["jira:cloud"],
        **extra,
    }


def _data() -> dict[str, Any]:
    objectives = [
        {
            "id": "co-grow-paying-customers",
            "title": "Grow paying customers without losing their trust",
            "period": "2026-Q4",
            "parent": None,
            "progress": 0.634,
            "expected": 0.631,
            "status": "on_track",
            "partially_stale": True,
            "stale_krs": ["pay-checkout-v2"],
        },
        {
            "id": "pay-reliable-checkout",
            "title": "Checkout that never loses a sale",
            "period": "2026-Q4",
            "parent": "co-grow-paying-customers",
            "progress": 0.652,
            "expected": 0.631,
            "status": "on_track",
            "partially_stale": True,
            "stale_krs": ["pay-checkout-v2"],
        },
    ]
    krs = [
        _kr("pay-checkout-v2", "Ship checkout v2", 0.583, "stale"),
        _kr("pay-bug-impact", LONG, 1.0, "on_track", held="the scope came back empty"),
        _kr("plat-oncall-happiness", "Raise on-call satisfaction", 0.333, "off_track"),
    ]
    writes = [
        {
            "kr": "pay-bug-impact",
            "connection": "jira:cloud",
            "target": "OKR-4",
            "field": "OKR Expected",
            "before": None,
            "after": 0.6311,
            "applied": True,
            "error": None,
            "role": "expected",
            "format": "ratio",
        },
        {
            "kr": "pay-bug-impact",
            "connection": "jira:cloud",
            "target": "OKR-4",
            "field": "property:okrsync",
            "before": None,
            "after": {"progress": 1.0, "status": "on_track"},
            "applied": True,
            "error": None,
            "role": "property",
            "format": None,
        },
        {
            "kr": "plat-oncall-happiness",
            "connection": "jira:cloud",
            "target": "OKR-5",
            "field": "OKR Progress",
            "before": 30.0,
            "after": 33.3,
            "applied": True,
            "error": None,
            "role": "progress",
            "format": "percent",
        },
    ]
    run = {"dry_run": False, "writes": 3, "planned_writes": 3, "held": 0, "conflicts": 0}
    return {
        "run": run | {"stale": 1},
        "objectives": objectives,
        "key_results": krs,
        "writes": writes,
        "held": [],
        "conflicts": [],
        "checkins": [],
        "sources": {"jira:cloud": {"up": False, "error": "HTTP 503"}},
    }


def _render(width: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    print_cycle(console, _data())
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_the_tree_fits_the_width_with_whole_ids(width: int) -> None:
    lines = _render(width)
    tree = lines[: lines.index(next(line for line in lines if line.startswith("█ progress")))]
    assert all(len(line) <= width for line in tree)
    for kr_id in ("pay-checkout-v2", "pay-bug-impact", "plat-oncall-happiness"):
        assert any(kr_id in line.split() for line in tree), kr_id
    row = next(line for line in tree if "Keep the average" in line)
    assert "…" in row and LONG not in row  # cut, not wrapped onto the next line
    assert "100.0%" in row
    # Narrow: the id on its own dim line below the title; wide: in a column of its own.
    own_line = any(line.split()[-1:] == ["co-grow-paying-customers"] for line in tree)
    assert own_line == (width == 80)


def test_at_120_columns_each_kr_is_one_line_with_its_id() -> None:
    lines = _render(120)
    row = next(line for line in lines if "Raise on-call satisfaction" in line)
    assert row.split()[-5:] == [
        "plat-oncall-happiness",
        "███████░░░░░│░░░░░░░",
        "33.3%",
        "off",
        "track",
    ]


def test_notes_say_why_a_row_is_stale_or_held() -> None:
    text = "\n".join(_render(80))
    assert "STALE: jira:cloud failed; last good numbers shown" in text
    assert "HELD: the scope came back empty; previous numbers shown, nothing written" in text
    assert "partially stale: 1 KR not fresh" in text
    assert "█ progress  │ expected pace (63.1% of 2026-Q4 elapsed)" in text


def test_writes_are_grouped_per_target_and_explained() -> None:
    lines = _render(80)
    start = lines.index("Writes: 3 fields on 2 targets (before → after)")
    assert lines[start + 1] == "  OKR-4 on jira:cloud for pay-bug-impact · ratios, 1.0 = 100%"
    assert lines[start + 2].split() == ["OKR", "Expected", "(empty)", "→", "0.6311", "(63.1%)"]
    assert lines[start + 3].split()[:6] == [
        "issue",
        "property",
        "okrsync",
        "(empty)",
        "→",
        "progress",
    ]
    assert "OKR-5 on jira:cloud for plat-oncall-happiness · percent, 0-100" in lines[start + 4]
    assert lines[start + 5].split() == ["OKR", "Progress", "30.0", "→", "33.3"]
    notes = "\n".join(lines[start + 6 : start + 8])
    assert "OKR Expected: the expected pace (the share of the period elapsed)" in notes
    assert "issue property okrsync: the whole result as JSON" in notes


def test_explain_names_the_completion_day_and_the_scope_baseline() -> None:
    out = io.StringIO()
    kr = _kr("kr-count", "Close the count epic", 0.75, "on_track") | {
        "kr_id": "kr-count",
        "score": 0.75,
        "done_count": 3,
        "total_count": 4,
        "forecast": {
            "projected_progress": 1.0,
            "projected_completion": "2026-11-22",
            "throughput_per_day": 0.125,
            "basis": "least-squares throughput over 3 samples in the last 14 days",
        },
        "scope_baseline": 4,
        "scope_total": 5,
        "scope_change": 0.25,
    }
    print_explain(Console(file=out, width=120, color_system=None), kr)
    text = out.getvalue()
    assert "Forecast: 100.0% by the end of the period, done by 2026-11-22 (least-squares" in text
    assert "Scope: 5 items now, 4 at the first cycle of 2026-Q4 (+25.0%)" in text
