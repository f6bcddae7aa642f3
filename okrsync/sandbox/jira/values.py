"""JQL operand conversion (dates, numbers, functions) and text matching."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.jira.jql import Function, JQLError, Value

if TYPE_CHECKING:
    from okrsync.sandbox.jira.fields import FieldSpec
    from okrsync.sandbox.jira.query import QueryContext

_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^\s*([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_WORD = re.compile(r"[\w']+", re.UNICODE)


def _period(text: str) -> timedelta | None:
    match = _PERIOD.match(text)
    if not match:
        return None
    total = timedelta()
    for amount, unit in _PERIOD_PART.findall(match.group(2)):
        total += int(amount) * _UNITS[unit]
    return -total if match.group(1) == "-" else total


def _start_of(now: datetime, unit: str) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def _end_of(now: datetime, unit: str) -> datetime:
    start = _start_of(now, unit)
    if unit == "week":
        nxt = start + timedelta(weeks=1)
    elif unit == "month":
        nxt = (start + timedelta(days=32)).replace(day=1)
    elif unit == "year":
        nxt = start.replace(year=start.year + 1)
    else:
        nxt = start + timedelta(days=1)
    return nxt - timedelta(milliseconds=1)


def date_function(func: Function, ctx: QueryContext) -> datetime:
    """Value of ``now()``, ``startOfDay(-1d)``, ``endOfMonth()`` and friends."""
    name = func.name.lower()
    offset = _period(func.args[0]) if func.args else timedelta()
    if offset is None:
        raise JQLError(
            f"Error in the JQL Query: '{func.args[0]}' is not a valid period for "
            f"the function '{func.name}'."
        )
    if name == "now":
        return ctx.now + offset
    for prefix, pick in (("startof", _start_of), ("endof", _end_of)):
        if name.startswith(prefix) and name[len(prefix) :] in {"day", "week", "month", "year"}:
            return pick(ctx.now + offset, name[len(prefix) :])
    raise JQLError(f"Unable to find JQL function '{func.name}()'.")


def parse_date_text(text: str, now: datetime) -> datetime | None:
    """A JQL date literal (absolute or period relative to ``now``), or None if invalid."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    period = _period(text)
    return None if period is None else now + period


def date_operand(operand: Value | Function, spec: FieldSpec, ctx: QueryContext) -> datetime:
    """Convert a clause operand for a date field."""
    if isinstance(operand, Function):
        return date_function(operand, ctx)
    parsed = parse_date_text(operand.text, ctx.now)
    if parsed is None:
        raise JQLError(
            f"Date value '{operand.text}' for field '{spec.display}' is invalid. Valid formats "
            "include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a "
            "period format e.g. '-5d', '4w 2d'."
        )
    if spec.date_only:
        return parsed.replace(hour=0, minute=0, second=0, microsecond=0)
    return parsed


def number_operand(operand: Value | Function, spec: FieldSpec, ctx: QueryContext) -> float:
    """Convert a clause operand for a number field."""
    if isinstance(operand, Function):
        raise JQLError(f"Unable to find JQL function '{operand.name}()'.")
    try:
        return float(operand.text)
    except ValueError:
        raise JQLError(
            f"The value '{operand.text}' is invalid for the field '{spec.display}'."
        ) from None


def adf_text(value: Any) -> str:
    """Plain text of a string or an Atlassian Document Format node."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        own = value.get("text", "") if isinstance(value.get("text"), str) else ""
        return " ".join([own, *(adf_text(c) for c in value.get("content") or [])]).strip()
    if isinstance(value, list):
        return " ".join(adf_text(v) for v in value)
    return str(value)


def text_matches(term: str, text: str) -> bool:
    """Jira-like ``~``: every word of ``term`` starts a word of ``text`` (case-insensitive).

    A quoted phrase inside the term must appear verbatim; a trailing ``*`` is a prefix
    wildcard (plain words already match as prefixes, approximating Jira's stemming).
    """
    haystack = text.lower()
    term = term.strip().lower()
    if len(term) >= 2 and term[0] == term[-1] == '"':
        return term[1:-1] in haystack
    words = _WORD.findall(haystack)
    wanted = _WORD.findall(term)  # drops wildcards and punctuation such as "one-page"
    return bool(wanted) and all(any(word.startswith(w) for word in words) for w in wanted)
