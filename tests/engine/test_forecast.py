"""Forecasts from progress history and scope change."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from mappings.forecast import Forecast, forecast, scope_change
from tests.engine.factories import NOVEMBER

NOV_11 = datetime(2026, 11, 11, tzinfo=UTC)


def daily(per_day: float, days: int = 10, end: datetime = NOV_11) -> list[tuple[datetime, float]]:
    """One sample a day for ``days`` days, ending at ``end``, starting from 0."""
    return [(end - timedelta(days=days - d), per_day * d) for d in range(days + 1)]


def test_steady_pace_projects_to_the_period_end_and_a_completion_day() -> None:
    # 0.02 a day, 0.2 on Nov 11: 20 days left -> 0.6; 0.8 more needs 40 days -> Dec 21.
    result = forecast(daily(0.02), NOVEMBER, NOV_11)
    assert result.throughput_per_day == pytest.approx(0.02)
    assert result.projected_progress == pytest.approx(0.6)
    assert result.projected_completion == date(2026, 12, 21)
    assert "least-squares" in result.basis


def test_fast_pace_is_clamped_to_one_and_completes_in_the_period() -> None:
    # 0.04 a day, 0.4 on Nov 11: 0.6 more needs 15 days -> Nov 26.
    result = forecast(daily(0.04), NOVEMBER, NOV_11)
    assert result.projected_progress == 1.0
    assert result.projected_completion == date(2026, 11, 26)


def test_least_squares_smooths_one_noisy_sample() -> None:
    history = daily(0.02)
    history[5] = (history[5][0], 0.5)  # one odd reading in the middle
    result = forecast(history, NOVEMBER, NOV_11)
    assert result.throughput_per_day == pytest.approx(0.02)


def test_only_the_recent_window_sets_the_pace() -> None:
    # Fast in October, flat for the last 14 days.
    old = daily(0.05, days=6, end=datetime(2026, 10, 20, tzinfo=UTC))
    flat = [(NOV_11 - timedelta(days=d), 0.3) for d in range(10)]
    result = forecast(old + flat, NOVEMBER, NOV_11)
    assert result.throughput_per_day == pytest.approx(0.0)
    assert result.projected_progress == pytest.approx(0.3)
    assert result.projected_completion is None


def test_going_backwards_has_no_completion_day() -> None:
    history = [(NOV_11 - timedelta(days=d), 0.1 + 0.01 * d) for d in range(5)]
    result = forecast(history, NOVEMBER, NOV_11)
    assert result.throughput_per_day == pytest.approx(-0.01)
    assert result.projected_completion is None
    assert result.projected_progress == 0.0


def test_completion_beyond_a_year_after_the_period_is_not_given() -> None:
    result = forecast(daily(0.0001), NOVEMBER, NOV_11)
    assert result.throughput_per_day == pytest.approx(0.0001)
    assert result.projected_completion is None


@pytest.mark.parametrize(
    "history",
    [
        [],
        [(NOV_11, 0.2)],
        [(NOV_11 - timedelta(hours=3), 0.1), (NOV_11, 0.2)],
        [(NOV_11 - timedelta(days=30), 0.0), (NOV_11, 0.2)],
    ],
    ids=["none", "one", "same-day", "outside-window"],
)
def test_too_little_history_gives_no_forecast(history: list[tuple[datetime, float]]) -> None:
    result = forecast(history, NOVEMBER, NOV_11)
    assert (result.projected_progress, result.projected_completion) == (None, None)
    assert result.throughput_per_day is None
    assert result.basis


def test_already_complete_reports_the_day_it_was_reached() -> None:
    history = [*daily(0.1), (NOV_11 + timedelta(days=1), 1.0)]
    result = forecast(history, NOVEMBER, NOV_11 + timedelta(days=2))
    assert result.projected_progress == 1.0
    assert result.projected_completion == date(2026, 11, 11)


def test_samples_after_now_are_ignored() -> None:
    history = [*daily(0.02), (NOV_11 + timedelta(days=3), 0.9)]
    assert forecast(history, NOVEMBER, NOV_11).projected_progress == pytest.approx(0.6)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        forecast(daily(0.02), NOVEMBER, NOV_11, window_days=0)


def test_forecast_round_trips_through_json() -> None:
    result = forecast(daily(0.02), NOVEMBER, NOV_11)
    assert Forecast.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.mark.parametrize(
    ("baseline", "current", "change"),
    [(10, 12, 0.2), (10, 5, -0.5), (8, 8, 0.0), (0, 0, 0.0), (0, 3, None), (None, 3, None)],
)
def test_scope_change(baseline: int | None, current: int, change: float | None) -> None:
    assert scope_change(baseline, current) == (change if change is None else pytest.approx(change))
