"""Forecasts from a key result's progress history. Pure: values in, values out.

The throughput is the least-squares slope of progress over time across the recent
window (default 14 days), so one noisy sample moves it less than a first/last
difference would. It needs at least two samples in the window spanning at least one day;
with less, the forecast says so in ``basis`` and projects nothing. The projection starts
from the latest sample (what people last saw), not from the fitted line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from mappings.period import Period, as_utc, is_closed
from mappings.results import clamp
from mappings.serial import as_dict, from_json

__all__ = ["MIN_SPAN", "Forecast", "forecast", "scope_change"]

# Samples closer together than this say more about sync jitter than about pace.
MIN_SPAN = timedelta(days=1)
# A completion date further out than this after the period is noise, not a forecast.
HORIZON = timedelta(days=365)
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Forecast:
    """Where a key result is heading.

    ``projected_progress``: progress at the end of the period at the current throughput,
    clamped to [0, 1]. ``projected_completion``: the day progress reaches 1.0 (None when
    throughput is not positive or the day is more than a year after the period).
    ``throughput_per_day``: progress gained per day over the window. ``basis``: how the
    numbers were obtained, or why there are none.
    """

    projected_progress: float | None
    projected_completion: date | None
    throughput_per_day: float | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys (the date as ISO text)."""
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Forecast:
        """Inverse of ``to_dict``."""
        return from_json(cls, data)


def _slope_per_day(samples: Sequence[tuple[datetime, float]]) -> float:
    origin = samples[0][0]
    xs = [(moment - origin).total_seconds() / _DAY for moment, _ in samples]
    ys = [value for _, value in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def _completed_at(samples: Sequence[tuple[datetime, float]]) -> date:
    # The start of the final run of samples at or above 1.0: when it was finished for good.
    reached = samples[-1][0]
    for moment, value in reversed(samples):
        if value < 1.0:
            break
        reached = moment
    return reached.date()


def forecast(
    history: Sequence[tuple[datetime, float]],
    period: Period,
    now: datetime,
    window_days: int = 14,
) -> Forecast:
    """Project ``history`` (``(when, progress)`` samples, any order) to the end of ``period``.

    Samples after ``now`` and non-finite values are ignored. Raises ``ValueError`` if
    ``window_days`` is not positive.
    """
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    moment = as_utc(now)
    samples = sorted(
        (as_utc(when), float(value))
        for when, value in history
        if as_utc(when) <= moment and math.isfinite(value)
    )
    if not samples:
        return Forecast(None, None, None, "no history yet")
    latest_at, latest = samples[-1]
    window = [sample for sample in samples if sample[0] >= moment - timedelta(days=window_days)]
    throughput: float | None = None
    if len(window) >= 2 and window[-1][0] - window[0][0] >= MIN_SPAN:
        throughput = _slope_per_day(window)
    if latest >= 1.0:
        return Forecast(1.0, _completed_at(samples), throughput, "already complete")
    if throughput is None:
        if is_closed(period, moment):
            return Forecast(clamp(latest, 0.0, 1.0), None, None, "period closed")
        return Forecast(
            None,
            None,
            None,
            f"too little history: need 2 samples spanning at least 1 day in the last "
            f"{window_days} days, have {len(window)}",
        )
    remaining_days = max(0.0, (period.ends_at - latest_at).total_seconds() / _DAY)
    projected = clamp(latest + throughput * remaining_days, 0.0, 1.0)
    completion: date | None = None
    if throughput > 0:
        days_needed = (1.0 - latest) / throughput
        # Compared in days first: a tiny throughput would overflow datetime arithmetic.
        if days_needed <= (period.ends_at + HORIZON - latest_at).total_seconds() / _DAY:
            completion = (latest_at + timedelta(days=days_needed)).date()
    basis = f"least-squares throughput over {len(window)} samples in the last {window_days} days"
    return Forecast(projected, completion, throughput, basis)


def scope_change(
    baseline_total: int | float | None, current_total: int | float | None
) -> float | None:
    """Relative change of a scope's size from ``baseline_total`` (0.25 = grew by a quarter).

    None when either side is unknown, or when growing from an empty baseline (no ratio);
    0.0 when both are zero.
    """
    if baseline_total is None or current_total is None:
        return None
    if baseline_total == 0:
        return 0.0 if current_total == 0 else None
    return (current_total - baseline_total) / baseline_total
