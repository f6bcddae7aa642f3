"""The schedule setting: cron expressions and intervals, and when each runs next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from okrsync.config.schedule import next_run, parse_schedule

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("15m", timedelta(minutes=15)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1D", timedelta(days=1)),
        ("*/15 * * * *", "*/15 * * * *"),
        (" 0  9 * *   mon-fri ", "0 9 * * mon-fri"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
    ],
)
def test_parse(text: str, parsed: timedelta | str) -> None:
    assert parse_schedule(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty; give a cron expression or an interval like 15m"),
        ("0s", "interval '0s' must be longer than zero"),
        ("15 m", "'15 m' is neither an interval like 15m or 1h30m nor a cron expression"),
        ("m15", "'m15' is neither an interval"),
        ("0 0 * * * *", "of 5 fields (minute hour day month weekday); it has 6 fields"),
        ("60 * * * *", "'60 * * * *' is not a valid cron expression: bad minute"),
        ("0 24 * * *", "is not a valid cron expression: bad hour"),
        ("0 0 30 2 *", "is not a valid cron expression: bad day-of-month"),
        ("*/0 * * * *", "is not a valid cron expression: bad minute"),
    ],
)
def test_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_schedule(text)
    assert message in str(info.value)


def test_next_run_of_an_interval_counts_from_now() -> None:
    assert next_run("15m", NOON) == NOON + timedelta(minutes=15)


def test_next_run_of_a_cron_expression_is_strictly_later() -> None:
    assert next_run("*/15 * * * *", NOON) == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    # Friday noon -> Monday 09:00.
    assert next_run("0 9 * * mon-fri", NOON) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_cron_follows_the_time_zone_of_now() -> None:
    tokyo = timezone(timedelta(hours=9))
    at = next_run("@daily", datetime(2026, 11, 27, 12, 0, tzinfo=tokyo))
    assert at == datetime(2026, 11, 28, 0, 0, tzinfo=tokyo)
    assert next_run("@daily", datetime(2026, 11, 27, 12, 0)) == datetime(2026, 11, 28, tzinfo=UTC)
