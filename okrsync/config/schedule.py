"""The ``schedule`` setting: a 5-field cron expression or an interval such as ``15m``.

Cron expressions are read by cronsim (minute hour day-of-month month day-of-week, with the
usual ``*``, ``,``, ``-``, ``/``, names and ``L``), plus the common macros ``@hourly``,
``@daily``, ``@weekly``, ``@monthly`` and ``@yearly``. Intervals are a run of
number-and-unit pairs, largest unit first: ``90s``, ``15m``, ``1h30m``, ``1d``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

__all__ = ["next_run", "parse_schedule"]

_INTERVAL = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Any fixed instant does: cronsim checks the expression when it is built.
_PROBE = datetime(2026, 1, 1, tzinfo=UTC)


def parse_schedule(text: str) -> timedelta | str:
    """The interval (a ``timedelta``) or the normalized 5-field cron expression of ``text``.

    Raises ``ValueError`` saying what is wrong with it.
    """
    value = " ".join(text.split())
    if not value:
        raise ValueError("empty; give a cron expression or an interval like 15m")
    interval = _INTERVAL.match(value.lower())
    if interval is not None and any(interval.groups()):
        delta = timedelta(**{_UNITS[k]: int(v) for k, v in interval.groupdict().items() if v})
        if delta <= timedelta(0):
            raise ValueError(f"interval '{value}' must be longer than zero")
        return delta
    expression = _MACROS.get(value.lower(), value)
    fields = expression.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"'{value}' is neither an interval like 15m or 1h30m nor a cron "
            f"expression of 5 fields (minute hour day month weekday); it has {len(fields)} "
            f"field{'s' if len(fields) != 1 else ''}"
        )
    try:
        CronSim(expression, _PROBE)
    except CronSimError as exc:
        detail = str(exc)
        detail = detail[:1].lower() + detail[1:]
        raise ValueError(f"'{value}' is not a valid cron expression: {detail}") from None
    return expression


def next_run(schedule: str, after: datetime) -> datetime:
    """The first run strictly after ``after`` (an aware datetime keeps its time zone).

    An interval counts from ``after``; a cron expression is matched in ``after``'s time
    zone (UTC when naive). Raises ``ValueError`` for an invalid schedule.
    """
    parsed = parse_schedule(schedule)
    moment = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
    if isinstance(parsed, timedelta):
        return moment + parsed
    return next(CronSim(parsed, moment))
