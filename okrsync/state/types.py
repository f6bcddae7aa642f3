"""Column types that make times and JSON values round-trip exactly on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator

# A datetime inside a JSON value is stored tagged, so that it comes back as a datetime and
# a string that merely looks like a date comes back as that string.
_DATETIME_TAG = "$datetime"


def utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused (their zone is a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; okrsync stores UTC times")
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in and out.

    SQLite keeps it as fixed-width text in UTC (so text order is time order), PostgreSQL
    as ``timestamptz``; both keep microseconds.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return {_DATETIME_TAG: utc(value).isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode(obj: dict[str, Any]) -> object:
    if len(obj) == 1 and _DATETIME_TAG in obj:
        return datetime.fromisoformat(obj[_DATETIME_TAG])
    return obj


def dumps(value: object) -> str:
    """Serialize ``value`` as JSON text; datetimes are tagged, NaN and infinity refused."""
    return json.dumps(value, default=_encode, allow_nan=False, ensure_ascii=False)


def loads(text: str) -> Any:
    """Inverse of :func:`dumps`."""
    return json.loads(text, object_hook=_decode)


class JsonValue(TypeDecorator[Any]):
    """Any JSON value (dicts, lists, floats, strings, None, datetimes) kept as exact text.

    Text rather than ``jsonb`` so that PostgreSQL and SQLite keep the same bytes: key order
    and float spelling survive. A Python ``None`` is stored as JSON ``null``, not SQL NULL.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        return dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else loads(value)
