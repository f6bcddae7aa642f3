"""OKR periods: the calendar span of a cycle and how much of it has elapsed.

Every instant is compared in UTC. A period covers whole days: it starts at 00:00 UTC of
``start`` and ends at 00:00 UTC of the day after ``end`` (``end`` is inclusive), so
``2026-Q4`` runs from 2026-10-01T00:00Z up to, not including, 2027-01-01T00:00Z.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mappings.schema import FIRST_DAY, LAST_DAY, PERIOD, PeriodRange

__all__ = [
    "Period",
    "as_utc",
    "expected_ratio",
    "has_started",
    "is_closed",
    "parse_period",
]

_QUARTER_START = {1: 1, 2: 4, 3: 7, 4: 10}
_HALF_START = {1: 1, 2: 7}


@dataclass(frozen=True, slots=True)
class Period:
    """A span of whole days, both ``start`` and ``end`` included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (00:00 UTC of ``start``)."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (00:00 UTC of the day after ``end``)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(value: str | PeriodRange | Period) -> Period:
    """The period a mapping names: ``2026``, ``2026-Q4``, ``2026-H2``, ``2026-M11`` or a range.

    Raises ``ValueError`` for anything else.
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, PeriodRange):
        return Period(value.start, value.end)
    match = PERIOD.match(value.strip())
    if match is None:
        raise ValueError(
            f"period {value!r} must look like 2026, 2026-Q4, 2026-H2, 2026-M11 or {{start, end}}"
        )
    year = int(match["year"])
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise ValueError(
            f"period {value!r}: year must be between {FIRST_DAY.year} and {LAST_DAY.year}"
        )
    part = match["part"]
    if part is None:
        return Period(date(year, 1, 1), date(year, 12, 31))
    number = int(part[1:])
    if part[0] == "Q":
        first = _QUARTER_START[number]
        return Period(date(year, first, 1), _month_end(year, first + 2))
    if part[0] == "H":
        first = _HALF_START[number]
        return Period(date(year, first, 1), _month_end(year, first + 5))
    return Period(date(year, number, 1), _month_end(year, number))


def expected_ratio(period: Period, now: datetime) -> float:
    """The elapsed share of ``period`` at ``now``: 0.0 before it, 1.0 after it, linear between.

    Time of day counts: noon on the first day of a 2-day period gives 0.25.
    """
    moment = as_utc(now)
    if moment <= period.starts_at:
        return 0.0
    if moment >= period.ends_at:
        return 1.0
    elapsed = (moment - period.starts_at).total_seconds()
    length = (period.ends_at - period.starts_at).total_seconds()
    return elapsed / length


def has_started(period: Period, now: datetime) -> bool:
    """Whether ``now`` is at or after the first instant of ``period``."""
    return as_utc(now) >= period.starts_at


def is_closed(period: Period, now: datetime) -> bool:
    """Whether ``period`` is over at ``now`` (its last day has fully elapsed)."""
    return as_utc(now) >= period.ends_at
