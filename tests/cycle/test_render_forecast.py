"""Why a key result has no forecast, in the text tree: on its own row when others have
one, once below the tree when none has one for the same reason."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from okrsync.views.tree import print_tree

TOO_LITTLE = (
    "too little history: need 2 samples spanning at least 1 day in the last 14 days, have 1"
)


def _forecast(projected: float | None, basis: str) -> dict[str, Any]:
    return {
        "projected_progress": projected,
        "projected_completion": None,
        "throughput_per_day": None if projected is None else 0.01,
        "basis": basis,
    }


def _kr(
    kr_id: str, progress: float, status: str, forecast: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": kr_id,
        "objective": "obj",
        "title": f"Key result {kr_id}",
        "period": "2026-Q4",
        "progress": progress,
        "expected": 0.5,
        "status": status,
        "stale": status == "stale",
        "stale_reason": "jira: HTTP 503" if status == "stale" else None,
        "sources": ["jira:cloud"],
        "forecast": forecast,
    }


OBJECTIVE = {
    "id": "obj",
    "title": "An objective",
    "period": "2026-Q4",
    "parent": None,
    "progress": 0.5,
    "expected": 0.5,
    "status": "on_track",
    "partially_stale": False,
    "stale_krs": [],
}


def render(krs: list[dict[str, Any]]) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, highlight=False)
    print_tree(console, [OBJECTIVE], krs, {})
    return out.getvalue().splitlines()


def notes_below(lines: list[str], kr_id: str) -> list[str]:
    at = next(i for i, line in enumerate(lines) if kr_id in line.split())
    notes = []
    for line in lines[at + 1 :]:
        if "%" in line or line.startswith("█ progress"):
            break
        notes.append(line.lstrip("│├└─ "))
    return notes


def test_a_key_result_without_a_forecast_says_why_on_its_row() -> None:
    lines = render(
        [
            _kr("kr-old", 0.5, "on_track", _forecast(0.9, "least-squares throughput")),
            _kr("kr-new", 0.4, "at_risk", _forecast(None, TOO_LITTLE)),
            _kr("kr-empty", 0.2, "off_track", _forecast(None, "no history yet")),
            _kr("kr-down", 0.3, "stale", _forecast(None, TOO_LITTLE)),
        ]
    )
    assert notes_below(lines, "kr-old") == []
    assert notes_below(lines, "kr-new") == ["no forecast yet: too little history"]
    assert notes_below(lines, "kr-empty") == ["no forecast yet: no history yet"]
    # A stale row says why it is stale; its forecast is not the news.
    assert notes_below(lines, "kr-down") == ["STALE: jira: HTTP 503"]
    assert not any(line.startswith("No forecast yet") for line in lines)


def test_when_none_has_a_forecast_for_one_reason_the_tree_says_it_once() -> None:
    lines = render(
        [
            _kr("kr-a", 0.4, "at_risk", _forecast(None, TOO_LITTLE)),
            _kr("kr-b", 0.6, "on_track", _forecast(None, TOO_LITTLE)),
            # Achieved: no forecast is missing for it.
            _kr("kr-met", 1.0, "done", _forecast(1.0, "already complete")),
        ]
    )
    assert [notes_below(lines, k) for k in ("kr-a", "kr-b", "kr-met")] == [[], [], []]
    assert lines[-1] == (
        "No forecast yet for any key result: too little history (see okrsync explain)"
    )
