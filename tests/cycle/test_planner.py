"""The write-back planner: what a KR wants written, and only the changes, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mappings.forecast import Forecast
from mappings.results import KrResult
from mappings.schema import FieldNames
from okrsync.sync.plan import (
    Slot,
    TargetSpec,
    desired_values,
    detect_overrides,
    format_expected,
    format_ratio,
    plan_writes,
    progress_from_field,
    same_value,
    summary_text,
)

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
END = date(2026, 12, 31)
FIELDS = FieldNames(
    progress="OKR Progress",
    status="OKR Status",
    summary="OKR Summary",
    expected="OKR Expected",
    forecast="OKR Forecast",
    last_synced="OKR Last Synced",
)


def result(progress: float | None = 0.63, status: str = "on_track", **extra: object) -> KrResult:
    values: dict[str, object] = {
        "kr_id": "kr",
        "progress": progress,
        "expected": 0.58,
        "status": status,
        "score": None if progress is None else round(progress, 2),
        "done_count": 5,
        "total_count": 8,
        "done_points": 17.0,
        "total_points": 27.0,
    }
    values.update(extra)
    return KrResult(**values)  # type: ignore[arg-type]


def spec(fields: FieldNames = FIELDS, fmt: str = "percent", target: str = "OKR-1") -> TargetSpec:
    return TargetSpec("kr", "jira", "jira:cloud", target, fields, fmt, home=True)  # type: ignore[arg-type]


def slot(field: str, target: str = "OKR-1") -> Slot:
    return Slot("jira:cloud", target, field)


FORECAST = Forecast(0.912, None, 0.01, "least squares")


@pytest.mark.parametrize(
    ("ratio", "fmt", "written"),
    [
        (0.63, "percent", 63.0),
        (0.6349, "percent", 63.5),
        (2 / 3, "ratio", 0.6667),
        (1.0, "ratio", 1.0),
    ],
)
def test_progress_is_written_as_percent_with_one_decimal_or_as_a_ratio(
    ratio: float, fmt: str, written: float
) -> None:
    assert format_ratio(ratio, fmt) == written


def test_summary_reads_like_a_sentence_people_can_scan() -> None:
    text = summary_text(result(), FORECAST, END)
    assert text == "63.0% (17/27 pts) · on track · expected 58.0% · forecast 91% by 2026-12-31"


def test_summary_of_a_count_and_of_a_metric() -> None:
    count = result(done_points=None, total_points=None)
    assert summary_text(count, None, END) == "63.0% (5/8 items) · on track · expected 58.0%"
    metric = result(0.6, done_points=None, total_points=None, value=11.0, start=20.0, target=5.0)
    assert summary_text(metric, None, END).startswith("60.0% (11, 20 → 5) · on track")


def test_summary_names_an_early_completion_day() -> None:
    early = Forecast(1.0, date(2026, 12, 10), 0.02, "least squares")
    assert "forecast done by 2026-12-10" in summary_text(result(), early, END)


def test_desired_values_cover_every_named_field() -> None:
    wanted = desired_values(result(), spec(), forecast=FORECAST, period_end=END, synced_at=NOW)
    assert {(d.slot.field, d.value) for d in wanted} == {
        ("OKR Progress", 63.0),
        ("OKR Status", "On track"),
        ("OKR Summary", summary_text(result(), FORECAST, END)),
        ("OKR Expected", 58.0),
        ("OKR Forecast", 91.0),
        ("OKR Last Synced", NOW),
    }


def test_a_value_without_a_field_name_is_not_written() -> None:
    only_progress = FieldNames(progress="Progress")
    wanted = desired_values(
        result(), spec(only_progress, "ratio"), forecast=FORECAST, period_end=END, synced_at=NOW
    )
    assert [(d.slot.field, d.value) for d in wanted] == [("Progress", 0.63)]


@pytest.mark.parametrize("unknown", [result(None, "stale"), result(0.5, "stale")])
def test_unknown_or_stale_progress_is_never_written(unknown: KrResult) -> None:
    assert desired_values(unknown, spec(), forecast=None, period_end=END, synced_at=NOW) == []


def test_no_forecast_field_written_without_a_projection() -> None:
    none = Forecast(None, None, None, "too little history")
    wanted = desired_values(result(), spec(), forecast=none, period_end=END, synced_at=NOW)
    assert "OKR Forecast" not in {d.slot.field for d in wanted}


def _desired() -> list:
    return desired_values(result(), spec(), forecast=FORECAST, period_end=END, synced_at=NOW)


def test_first_write_fills_empty_fields() -> None:
    plan = plan_writes(_desired(), {}, {})
    assert {w.slot.field: (w.before, w.after) for w in plan.writes}["OKR Progress"] == (None, 63.0)
    assert len(plan.writes) == 6
    assert plan.conflicts == ()


def test_unchanged_values_plan_no_write_not_even_last_synced() -> None:
    earlier = NOW - timedelta(hours=1)
    current = {d.slot: d.value for d in _desired()} | {slot("OKR Last Synced"): earlier}
    plan = plan_writes(_desired(), current, dict(current))
    assert plan.writes == ()
    assert plan.conflicts == ()


def test_values_read_back_in_another_form_count_as_unchanged() -> None:
    current = {d.slot: d.value for d in _desired()}
    current[slot("OKR Progress")] = 63  # a number field answering an int
    current[slot("OKR Last Synced")] = NOW - timedelta(days=1)
    plan = plan_writes(_desired(), current, {})
    assert plan.writes == ()


def test_a_change_writes_it_and_refreshes_last_synced() -> None:
    current = {d.slot: d.value for d in _desired()}
    current[slot("OKR Progress")] = 40.0
    last_synced = current[slot("OKR Last Synced")] = NOW - timedelta(days=1)
    plan = plan_writes(_desired(), current, dict(current))
    assert [(w.slot.field, w.before, w.after) for w in plan.writes] == [
        ("OKR Progress", 40.0, 63.0),
        ("OKR Last Synced", last_synced, NOW),
    ]


def test_a_persons_edit_is_a_conflict_and_is_overwritten_by_default() -> None:
    ours = {d.slot: d.value for d in _desired()} | {slot("OKR Progress"): 40.0}
    current = dict(ours) | {slot("OKR Progress"): 75.0}
    plan = plan_writes(_desired(), current, ours)
    assert [(c.slot.field, c.ours, c.theirs, c.resolution) for c in plan.conflicts] == [
        ("OKR Progress", 40.0, 75.0, "overwritten")
    ]
    assert ("OKR Progress", 75.0, 63.0) in [(w.slot.field, w.before, w.after) for w in plan.writes]


def test_an_edit_that_agrees_with_okrsync_is_no_conflict() -> None:
    ours = {d.slot: d.value for d in _desired()} | {slot("OKR Progress"): 40.0}
    current = dict(ours) | {slot("OKR Progress"): 63.0}
    plan = plan_writes(_desired(), current, ours)
    assert plan.conflicts == ()
    assert plan.writes == ()


def test_a_slot_two_key_results_want_is_written_once() -> None:
    first = _desired()
    other = [d.__class__("other", d.slot, d.role, "x") for d in first]
    plan = plan_writes(first + other, {}, {})
    assert {w.kr_id for w in plan.writes} == {"kr"}


def test_manual_override_takes_the_persons_progress_and_keeps_it() -> None:
    specs = [spec()]
    progress = slot("OKR Progress")
    found = detect_overrides(specs, ["kr"], {progress: 75.0}, {progress: 40.0})
    override = found["kr"]
    assert (override.progress, override.theirs, override.ours) == (0.75, 75.0, 40.0)
    plan = plan_writes(_desired(), {progress: 75.0}, {progress: 40.0}, overrides=found)
    assert progress not in {w.slot for w in plan.writes}
    assert [(c.resolution, c.theirs) for c in plan.conflicts] == [("kept", 75.0)]


def test_no_override_while_the_field_holds_okrsyncs_own_value_or_nothing() -> None:
    progress = slot("OKR Progress")
    assert detect_overrides([spec()], ["kr"], {progress: 40.0}, {progress: 40.0}) == {}
    assert detect_overrides([spec()], ["kr"], {progress: None}, {progress: 40.0}) == {}
    assert detect_overrides([spec()], [], {progress: 75.0}, {progress: 40.0}) == {}


def test_a_value_a_person_typed_before_okrsync_ever_wrote_is_an_override() -> None:
    ratio = spec(FieldNames(progress="P"), "ratio")
    found = detect_overrides([ratio], ["kr"], {slot("P"): 0.3}, {})
    assert found["kr"].progress == 0.3


@pytest.mark.parametrize(
    ("typed", "fmt", "progress"),
    [
        (75, "percent", 0.75),
        ("62.5", "percent", 0.625),
        (0.4, "ratio", 0.4),
        ("n/a", "percent", None),
    ],
)
def test_progress_from_what_a_person_typed(typed: object, fmt: str, progress: float | None) -> None:
    assert progress_from_field(typed, fmt) == progress


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (63.0, 63, True),
        ("63.0", 63.0, True),
        (63.0, 63.1, False),
        ("", None, True),
        ("On track", "On track ", True),
        ("On track", "At risk", False),
        (NOW, NOW + timedelta(milliseconds=400), True),
        (NOW, NOW + timedelta(seconds=5), False),
        (None, 0.0, False),
    ],
)
def test_same_value(a: object, b: object, same: bool) -> None:
    assert same_value(a, b) is same


def test_the_expected_pace_moves_in_tenths_of_a_point_in_either_format() -> None:
    # 45 minutes of a 92-day quarter move the pace by about 0.00034: not a change worth a
    # write in either format, so a 15-minute schedule does not rewrite it every cycle.
    before, after = 0.63101, 0.63135
    assert format_expected(before, "ratio") == format_expected(after, "ratio") == 0.631
    assert format_expected(before, "percent") == format_expected(after, "percent") == 63.1
    assert format_expected(0.6316, "ratio") == 0.632
