"""Periods: parsing, elapsed share, closing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from mappings.period import Period, expected_ratio, has_started, is_closed, parse_period
from mappings.schema import PeriodRange


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026-M11", date(2026, 11, 1), date(2026, 11, 30)),
        ("2028-M02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2027-M02", date(2027, 2, 1), date(2027, 2, 28)),
        ("2026-M12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2028-Q1", date(2028, 1, 1), date(2028, 3, 31)),
        ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2999-Q4", date(2999, 10, 1), date(2999, 12, 31)),
    ],
)
def test_parse_named_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text) == Period(start, end)


def test_parse_range_is_inclusive() -> None:
    period = parse_period(PeriodRange(start=date(2026, 9, 15), end=date(2026, 9, 16)))
    assert period.days == 2
    assert period.ends_at == datetime(2026, 9, 17, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-Q5", "26-Q1", "2026-M13", "2026-M00", "Q4", "", "2026Q4"])
def test_parse_rejects_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="must look like"):
        parse_period(text)


@pytest.mark.parametrize("text", ["0000-Q1", "9999-Q4", "1969-M12"])
def test_parse_rejects_years_out_of_range(text: str) -> None:
    # Year 0 and the day after 9999-12-31 do not exist; both are typos anyway.
    with pytest.raises(ValueError, match="year must be between 1970 and 2999"):
        parse_period(text)


def test_leap_day_counts_in_the_elapsed_share() -> None:
    # 2028-Q1 has 91 days; the 1st of March 00:00 is 60 of them in (31 + 29).
    q1 = parse_period("2028-Q1")
    assert q1.days == 91
    assert expected_ratio(q1, datetime(2028, 3, 1, tzinfo=UTC)) == 60 / 91


def test_a_year_long_period_ends_on_new_year() -> None:
    year = parse_period("2026")
    assert year.ends_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert not is_closed(year, datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert expected_ratio(year, datetime(2026, 7, 2, 12, tzinfo=UTC)) == 0.5


def test_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        Period(date(2026, 2, 1), date(2026, 1, 31))


NOV = parse_period("2026-M11")


@pytest.mark.parametrize(
    ("now", "ratio"),
    [
        (datetime(2026, 10, 15, tzinfo=UTC), 0.0),
        (datetime(2026, 11, 1, tzinfo=UTC), 0.0),
        (datetime(2026, 11, 16, tzinfo=UTC), 0.5),
        (datetime(2026, 11, 8, 12, tzinfo=UTC), 0.25),
        (datetime(2026, 12, 1, tzinfo=UTC), 1.0),
        (datetime(2027, 3, 1, tzinfo=UTC), 1.0),
    ],
)
def test_expected_ratio_is_the_elapsed_share(now: datetime, ratio: float) -> None:
    assert expected_ratio(NOV, now) == ratio


def test_expected_ratio_is_time_of_day_aware_and_in_utc() -> None:
    two_days = Period(date(2026, 1, 1), date(2026, 1, 2))
    assert expected_ratio(two_days, datetime(2026, 1, 1, 12, tzinfo=UTC)) == 0.25
    # 14:00 at UTC+2 is 12:00 UTC; a naive time is taken as UTC.
    plus_two = timezone(timedelta(hours=2))
    assert expected_ratio(two_days, datetime(2026, 1, 1, 14, tzinfo=plus_two)) == 0.25
    assert expected_ratio(two_days, datetime(2026, 1, 1, 12)) == 0.25


def test_closed_once_the_last_day_has_passed() -> None:
    assert not is_closed(NOV, datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    assert is_closed(NOV, datetime(2026, 12, 1, tzinfo=UTC))
    assert not has_started(NOV, datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    assert has_started(NOV, datetime(2026, 11, 1, tzinfo=UTC))
