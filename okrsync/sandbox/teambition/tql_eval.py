"""Evaluate parsed TQL against Teambition task JSON: predicates, ORDER BY keys, time functions.

Semantics the sandbox commits to (documented because TQL's own documentation is silent):
- a missing value (absent, ``null`` or ``""``) satisfies only ``= null``; ``a != v`` is exactly
  ``NOT (a = v)``, so a task without an executor matches ``executorId != 'u1'``;
- ``tagId = 't'`` means "carries tag t", ``tagId IN (...)`` "carries any of them";
- ``~`` is a case-insensitive substring match on text;
- ``storyPoint`` is stored as a string and compared as a number;
- ``cf:<id>`` compares the titles of the field's values: numerically when the literal is a
  number, as text otherwise; ``cf:<id> = null`` means "no value";
- dates compare in UTC; a date literal ``'2026-11-01'`` is midnight UTC of that day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from okrsync.sandbox.teambition.tql import And, Compare, Func, Node, Not, Or, Query, TqlError

__all__ = [
    "FIELDS",
    "canonical_time",
    "compile_order",
    "compile_where",
    "conjuncts",
    "fields_of",
    "format_time",
]

Task = dict[str, Any]
Predicate = Callable[[Task], bool]

# field name in TQL -> (kind, key in the task JSON)
FIELDS: dict[str, tuple[str, str]] = {
    "isDone": ("bool", "isDone"),
    "isArchived": ("bool", "isArchived"),
    "id": ("str", "id"),
    "projectId": ("str", "projectId"),
    "executorId": ("str", "executorId"),
    "creatorId": ("str", "creatorId"),
    "sprintId": ("str", "sprintId"),
    "stageId": ("str", "stageId"),
    "tfsId": ("str", "tfsId"),
    "tasklistId": ("str", "tasklistId"),
    "parentTaskId": ("str", "parentTaskId"),
    "content": ("str", "content"),
    "note": ("str", "note"),
    "tagId": ("set", "tagIds"),
    "involveMembers": ("set", "involveMembers"),
    "priority": ("num", "priority"),
    "progress": ("num", "progress"),
    "storyPoint": ("num", "storyPoint"),
    "uniqueId": ("num", "uniqueId"),
    "dueDate": ("date", "dueDate"),
    "startDate": ("date", "startDate"),
    "accomplishTime": ("date", "accomplishTime"),
    "created": ("date", "created"),
    "updated": ("date", "updated"),
}

_OPS_BY_KIND = {
    "bool": {"=", "!="},
    "str": {"=", "!=", "IN", "NOT IN", "~"},
    "set": {"=", "!=", "IN", "NOT IN"},
    "num": {"=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN"},
    "date": {"=", "!=", ">", ">=", "<", "<="},
    "cf": {"=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN", "~"},
}


_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def format_time(moment: datetime) -> str:
    """Teambition's wire format for times: UTC ISO 8601 with milliseconds and ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical_time(text: str) -> str:
    """Normalize an ISO date or date-time to :func:`format_time`; raise ValueError if invalid."""
    if _CANONICAL.fullmatch(text):
        return text
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return format_time(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def _number(raw: Any) -> float | None:
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=total // 12, month=total % 12 + 1, day=1)


def _shift(moment: datetime, offset: str) -> datetime:
    count, unit = int(offset[:-1]), offset[-1]
    if unit == "d":
        return moment + timedelta(days=count)
    if unit == "w":
        return moment + timedelta(weeks=count)
    day = moment.day
    shifted = _add_months(moment, count * (12 if unit == "y" else 1))
    # keep the day of month where the target month has it, else clamp to its last day
    last_day = (_add_months(shifted, 1) - timedelta(days=1)).day
    return shifted.replace(day=min(day, last_day))


def _start_of(moment: datetime, unit: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        return day - timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=1)
    if unit == "y":
        return day.replace(month=1, day=1)
    return day


def _end_of(moment: datetime, unit: str) -> datetime:
    start = _start_of(moment, unit)
    if unit == "d":
        following = start + timedelta(days=1)
    elif unit == "w":
        following = start + timedelta(weeks=1)
    else:
        following = _add_months(start, 12 if unit == "y" else 1)
    return following - timedelta(milliseconds=1)


class _Context:
    def __init__(self, now: datetime, operator_id: str | None) -> None:
        self.now = now.astimezone(UTC)
        self.operator_id = operator_id

    def resolve(self, value: Any, kind: str, compare: Compare) -> Any:
        """Turn a literal or function into the comparable form ``kind`` needs."""
        pos = compare.value_pos
        if isinstance(value, Func):
            return self._call(value, kind, compare)
        if value is None:
            return None
        if kind == "bool":
            if not isinstance(value, bool):
                raise TqlError(f"{compare.field} takes true or false", pos)
            return value
        if kind in ("str", "set"):
            if not isinstance(value, str):
                raise TqlError(f"{compare.field} takes a 'quoted string'", pos)
            return value
        if kind == "num":
            number = _number(value)
            if number is None:
                raise TqlError(f"{compare.field} takes a number", pos)
            return number
        if kind == "date":
            if not isinstance(value, str):
                raise TqlError(f"{compare.field} takes a date such as '2026-11-01'", pos)
            try:
                return canonical_time(value)
            except ValueError:
                raise TqlError(f"{value!r} is not a date", pos) from None
        if isinstance(value, bool):  # cf
            raise TqlError(f"{compare.field} takes a string or a number", pos)
        return value

    def _call(self, func: Func, kind: str, compare: Compare) -> Any:
        if func.name == "me":
            if kind not in ("str", "set", "cf"):
                raise TqlError(f"me() cannot be compared with {compare.field}", func.pos)
            if not self.operator_id:
                raise TqlError("me() needs the X-Operator-Id header", func.pos)
            return self.operator_id
        if kind not in ("date", "cf"):
            raise TqlError(f"{func.name}() gives a time; {compare.field} is not one", func.pos)
        moment = self.now
        try:
            if len(func.args) == 2:
                moment = _shift(moment, func.args[1])
            if func.name == "startof":
                moment = _start_of(moment, func.args[0])
            elif func.name == "endof":
                moment = _end_of(moment, func.args[0])
        except (OverflowError, ValueError):
            raise TqlError(f"offset {func.args[-1]} is out of range", func.pos) from None
        return format_time(moment)


def _getter(kind: str, key: str) -> Callable[[Task], Any]:
    if kind == "bool":
        return lambda task: bool(task.get(key))
    if kind == "set":
        return lambda task: task.get(key) or ()
    if kind == "num":
        return lambda task: _number(task.get(key))
    return lambda task: task.get(key) or None


def _cf_titles(cf_id: str) -> Callable[[Task], list[str]]:
    def titles(task: Task) -> list[str]:
        for field in task.get("customfields") or ():
            if field.get("cfId") == cf_id:
                return [v.get("title") or "" for v in field.get("value") or () if v.get("title")]
        return []

    return titles


def _match_scalar(op: str, actual: Any, wanted: Any) -> bool:
    if op == "=":
        return actual == wanted
    if op == "~":
        return actual is not None and str(wanted).lower() in str(actual).lower()
    if op == "IN":
        return actual in wanted
    if actual is None or wanted is None:
        return False
    if op == ">":
        return bool(actual > wanted)
    if op == ">=":
        return bool(actual >= wanted)
    if op == "<":
        return bool(actual < wanted)
    return bool(actual <= wanted)


def _compile_compare(compare: Compare, ctx: _Context) -> Predicate:
    if compare.field.startswith("cf:"):
        kind, key = "cf", compare.field[3:]
    elif compare.field in FIELDS:
        kind, key = FIELDS[compare.field]
    else:
        raise TqlError(f"unknown field {compare.field!r}", compare.pos)
    if compare.op not in _OPS_BY_KIND[kind]:
        raise TqlError(f"operator {compare.op} is not supported on {compare.field}", compare.pos)
    negate = compare.op in ("!=", "NOT IN")
    op = {"!=": "=", "NOT IN": "IN"}.get(compare.op, compare.op)
    if op == "IN":
        wanted: Any = frozenset(ctx.resolve(v, kind, compare) for v in compare.value)
    else:
        wanted = ctx.resolve(compare.value, kind, compare)
    if kind == "cf":
        predicate = _cf_predicate(key, op, wanted)
    elif kind == "set":
        get_set = _getter(kind, key)
        if op == "IN":
            predicate = lambda task: any(tag in wanted for tag in get_set(task))  # noqa: E731
        elif wanted is None:
            predicate = lambda task: not get_set(task)  # noqa: E731
        else:
            predicate = lambda task: wanted in get_set(task)  # noqa: E731
    else:
        get = _getter(kind, key)
        predicate = lambda task: _match_scalar(op, get(task), wanted)  # noqa: E731
    if negate:
        positive = predicate
        return lambda task: not positive(task)
    return predicate


def _cf_predicate(cf_id: str, op: str, wanted: Any) -> Predicate:
    titles = _cf_titles(cf_id)
    if op == "=" and wanted is None:
        return lambda task: not titles(task)

    def as_wanted(title: str, sample: Any) -> Any:
        return _number(title) if isinstance(sample, int | float) else title

    if op == "IN":
        options = [w for w in wanted if w is not None]
        none_ok = None in wanted
        return lambda task: (
            (not titles(task) and none_ok)
            or any(as_wanted(t, w) == w for t in titles(task) for w in options)
        )
    return lambda task: any(_match_scalar(op, as_wanted(t, wanted), wanted) for t in titles(task))


def compile_where(query: Query, now: datetime, operator_id: str | None = None) -> Predicate:
    """Compile the condition of ``query`` into a predicate over task JSON."""
    ctx = _Context(now, operator_id)

    def build(node: Node) -> Predicate:
        if isinstance(node, Compare):
            return _compile_compare(node, ctx)
        if isinstance(node, Not):
            inner = build(node.item)
            return lambda task: not inner(task)
        parts = [build(item) for item in node.items]
        if isinstance(node, And):
            return lambda task: all(part(task) for part in parts)
        assert isinstance(node, Or)
        return lambda task: any(part(task) for part in parts)

    if query.where is None:
        return lambda task: True
    return build(query.where)


def _sort_value(field: str) -> Callable[[Task], Any]:
    if field.startswith("cf:"):
        titles = _cf_titles(field[3:])

        def cf_value(task: Task) -> Any:
            found = titles(task)
            if not found:
                return None
            number = _number(found[0])
            return (0, number, "") if number is not None else (1, 0.0, found[0])

        return cf_value
    kind, key = FIELDS[field]
    if kind == "set":
        raise KeyError(field)
    return _getter(kind, key)


def compile_order(query: Query) -> Callable[[list[Task]], list[Task]]:
    """A function sorting tasks by the ORDER BY keys of ``query`` (missing values last)."""
    keys: list[tuple[Callable[[Task], Any], bool]] = []
    for field, descending, position in query.order:
        try:
            keys.append((_sort_value(field), descending))
        except KeyError:
            raise TqlError(f"cannot order by {field!r}", position) from None

    def order(tasks: list[Task]) -> list[Task]:
        ordered = list(tasks)
        for get, descending in reversed(keys):
            present = [t for t in ordered if get(t) is not None]
            missing = [t for t in ordered if get(t) is None]
            present.sort(key=get, reverse=descending)
            ordered = present + missing
        return ordered

    return order


def conjuncts(node: Node | None) -> Sequence[Node]:
    """The top-level AND terms of a condition, for index selection."""
    if node is None:
        return ()
    if isinstance(node, And):
        return node.items
    return (node,)


def fields_of(node: Node | None) -> set[str]:
    """Every field name a condition mentions."""
    if node is None:
        return set()
    if isinstance(node, Compare):
        return {node.field}
    if isinstance(node, Not):
        return fields_of(node.item)
    return set().union(*(fields_of(item) for item in node.items))
