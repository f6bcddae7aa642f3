"""The write-back planner: desired field values against current ones, changes only. No I/O.

What okrsync writes for a key result, per target (each value only if the mapping names a
field for it):

* ``progress``: percent 0-100 with one decimal (``progress_format: percent``) or a ratio
  with four decimals (``ratio``);
* ``status``: the select option name (``On track``, ...);
* ``summary``: one line, e.g. ``63.0% (17/27 pts) · on track · expected 58.0% · forecast
  91% by 2026-12-31``;
* ``expected``: in the progress format; ``forecast`` (the projected progress at the end
  of the period) too, but whole percent / two decimals, since it moves with every sample;
* ``last_synced``: when the values were last changed. It is written only together with
  another change on the same target, so that a cycle over unchanged data writes nothing.

Human edits: a field okrsync owns whose current value differs from what okrsync last
wrote there was changed by a person. By default okrsync overwrites it and records a
conflict. With ``flags.manual_override`` the person's *progress* wins (see
:func:`detect_overrides`): the cycle takes it as the key result's progress and never
overwrites it while it stands; clearing the field hands it back to okrsync.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from mappings.forecast import Forecast
from mappings.results import STATUS_NAMES, KrResult
from mappings.schema import FieldNames

__all__ = [
    "ROLES",
    "STATUS_OPTIONS",
    "Conflict",
    "Desired",
    "Override",
    "Plan",
    "PlannedWrite",
    "Slot",
    "TargetSpec",
    "desired_on",
    "desired_values",
    "detect_overrides",
    "format_expected",
    "format_forecast",
    "format_ratio",
    "plan_writes",
    "progress_from_field",
    "same_value",
    "summary_text",
]

Role = Literal["progress", "status", "summary", "expected", "forecast", "last_synced"]
ROLES: tuple[Role, ...] = ("progress", "status", "summary", "expected", "forecast", "last_synced")
Value = float | str | datetime | None

#: Status names as the select options in Jira and Teambition spell them.
STATUS_OPTIONS: dict[str, str] = {status: name for status, name in STATUS_NAMES.items()}

# Numbers read back from a tracker may differ from what was written in the last bits.
_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One resolved write-back target of a key result.

    ``connection`` is the connection's display name (``jira:cloud``), ``target`` the issue
    key or task id. ``home`` marks the KR's first target (check-in comments go there).
    """

    kr_id: str
    source: str
    connection: str
    target: str
    fields: FieldNames
    progress_format: Literal["percent", "ratio"]
    home: bool = False


@dataclass(frozen=True, slots=True)
class Slot:
    """One owned field on one target, as a key: the ledger and current values use it."""

    connection: str
    target: str
    field: str


@dataclass(frozen=True, slots=True)
class Desired:
    """The value a key result wants in one slot."""

    kr_id: str
    slot: Slot
    role: Role
    value: Value


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One change to make: ``before`` is the tracker's current value."""

    kr_id: str
    slot: Slot
    role: Role
    before: object
    after: Value


@dataclass(frozen=True, slots=True)
class Conflict:
    """A person changed an owned field: ``ours`` is what okrsync last wrote there.

    ``resolution``: ``overwritten`` (default policy) or ``kept`` (manual override).
    """

    kr_id: str
    slot: Slot
    ours: object
    theirs: object
    resolution: Literal["overwritten", "kept"]


@dataclass(frozen=True, slots=True)
class Override:
    """A person's progress value that wins over the computed one (``flags.manual_override``)."""

    kr_id: str
    slot: Slot
    ours: object
    theirs: object
    progress: float


@dataclass(frozen=True, slots=True)
class Plan:
    """The writes to make and the human edits found, in a stable order."""

    writes: tuple[PlannedWrite, ...]
    conflicts: tuple[Conflict, ...]


def format_ratio(ratio: float, progress_format: str) -> float:
    """A 0..1 ratio as written: percent with one decimal, or a ratio with four."""
    if progress_format == "percent":
        return round(ratio * 100.0, 1)
    return round(ratio, 4)


def format_expected(ratio: float, progress_format: str) -> float:
    """The expected pace as written: 0.1 point in either format.

    It moves with the clock alone; at a ratio's four decimals it would change (and be
    rewritten) about every 13 minutes of a quarter, at 0.1 point every two hours or so.
    """
    if progress_format == "percent":
        return round(ratio * 100.0, 1)
    return round(ratio, 3)


def format_forecast(ratio: float, progress_format: str) -> float:
    """A projected ratio as written: whole percent, or a ratio with two decimals.

    Coarser than progress on purpose: the projection moves a little with every sample,
    and a forecast that changes by 0.1 each cycle would be rewritten each cycle.
    """
    if progress_format == "percent":
        return float(round(ratio * 100.0))
    return round(ratio, 2)


def progress_from_field(value: object, progress_format: str) -> float | None:
    """The 0..1 progress a person typed into a progress field, or None if not a number."""
    number = _as_number(value)
    if number is None or not math.isfinite(number):
        return None
    return number / 100.0 if progress_format == "percent" else number


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def _counts(result: KrResult) -> str:
    if result.done_points is not None and result.total_points is not None:
        return f"({_number(result.done_points)}/{_number(result.total_points)} pts)"
    if result.value is not None and result.start is not None and result.target is not None:
        return f"({_number(result.value)}, {_number(result.start)} → {_number(result.target)})"
    if result.value is not None:
        return f"(value {_number(result.value)})"
    if result.total_count:
        return f"({result.done_count}/{result.total_count} items)"
    return ""


def summary_text(result: KrResult, forecast: Forecast | None, period_end: date) -> str:
    """One line people read in the tracker; only changes when the numbers it shows change."""
    parts: list[str] = []
    if result.progress is not None:
        head = _percent(result.progress)
        counts = _counts(result)
        parts.append(f"{head} {counts}" if counts else head)
    parts.append(result.status.replace("_", " "))
    if result.expected is not None:
        parts.append(f"expected {_percent(result.expected)}")
    finished = result.progress is not None and result.progress >= 1.0
    if forecast is not None and forecast.projected_progress is not None and not finished:
        completion = forecast.projected_completion
        if completion is not None and completion <= period_end:
            parts.append(f"forecast done by {completion.isoformat()}")
        else:
            parts.append(
                f"forecast {forecast.projected_progress * 100:.0f}% by {period_end.isoformat()}"
            )
    return " · ".join(parts)


def desired_values(
    result: KrResult,
    spec: TargetSpec,
    *,
    forecast: Forecast | None,
    period_end: date,
    synced_at: datetime,
) -> list[Desired]:
    """The values ``result`` wants on ``spec``'s target. Nothing for unknown progress."""
    if result.progress is None or result.status == "stale":
        return []
    fmt = spec.progress_format
    values: dict[Role, Value] = {
        "progress": format_ratio(result.progress, fmt),
        "status": STATUS_OPTIONS[result.status],
        "summary": summary_text(result, forecast, period_end),
        "last_synced": synced_at,
    }
    if result.expected is not None:
        values["expected"] = format_expected(result.expected, fmt)
    if forecast is not None and forecast.projected_progress is not None:
        values["forecast"] = format_forecast(forecast.projected_progress, fmt)
    return desired_on(spec, values)


def desired_on(spec: TargetSpec, values: Mapping[Role, Value]) -> list[Desired]:
    """``values`` in the fields ``spec`` names for them (a value without one is not
    written), in role order."""
    out: list[Desired] = []
    for role in ROLES:
        name = getattr(spec.fields, role)
        if name is None or role not in values:
            continue
        out.append(
            Desired(spec.kr_id, Slot(spec.connection, spec.target, name), role, values[role])
        )
    return out


def same_value(a: object, b: object) -> bool:
    """Whether a tracker value and a desired value are the same for okrsync's purposes.

    Numbers compare with a small tolerance (and a numeric string equals its number);
    datetimes to the second; an empty string equals None.
    """
    if a in ("", None) and b in ("", None):
        return True
    if a is None or b is None:
        return False
    if isinstance(a, datetime) or isinstance(b, datetime):
        if isinstance(a, datetime) and isinstance(b, datetime):
            return abs((a - b).total_seconds()) < 1.0
        return False
    if isinstance(a, int | float) or isinstance(b, int | float):
        x, y = _as_number(a), _as_number(b)
        if x is None or y is None:
            return False
        return abs(x - y) <= _TOLERANCE * max(1.0, abs(x), abs(y))
    return str(a).strip() == str(b).strip()


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _edited(slot: Slot, current: Mapping[Slot, object], last: Mapping[Slot, object]) -> bool:
    # Only a field okrsync has written before can have been edited by a person.
    return slot in last and slot in current and not same_value(current[slot], last[slot])


def detect_overrides(
    specs: Iterable[TargetSpec],
    manual: Iterable[str],
    current: Mapping[Slot, object],
    last_written: Mapping[Slot, object],
) -> dict[str, Override]:
    """Progress values people set on KRs with ``manual_override``, by KR id.

    A progress field holds a person's value when it has a number that okrsync did not
    write last (or okrsync never wrote it). The home target (first) is looked at first.
    """
    wanted = set(manual)
    found: dict[str, Override] = {}
    for spec in sorted(specs, key=lambda s: not s.home):
        if spec.kr_id not in wanted or spec.kr_id in found or spec.fields.progress is None:
            continue
        slot = Slot(spec.connection, spec.target, spec.fields.progress)
        value = current.get(slot)
        progress = progress_from_field(value, spec.progress_format)
        if progress is None:
            continue
        ours = last_written.get(slot)
        if slot in last_written and same_value(value, ours):
            continue
        found[spec.kr_id] = Override(spec.kr_id, slot, ours, value, progress)
    return found


def plan_writes(
    desired: Sequence[Desired],
    current: Mapping[Slot, object],
    last_written: Mapping[Slot, object],
    *,
    overrides: Mapping[str, Override] | None = None,
) -> Plan:
    """Compare ``desired`` with ``current`` and return only the changes.

    ``last_written`` is what okrsync last wrote per slot (from the ledger): a current
    value different from it is a person's edit, recorded as a conflict and overwritten,
    except an override's slot, which is kept. A slot wanted by two KRs is written for the
    first only. ``last_synced`` slots are written only when another slot of the same
    target changes.
    """
    overrides = overrides or {}
    kept = {o.slot for o in overrides.values()}
    seen: set[Slot] = set()
    writes: list[PlannedWrite] = []
    conflicts: list[Conflict] = [
        Conflict(o.kr_id, o.slot, o.ours, o.theirs, "kept")
        for o in overrides.values()
        if o.slot in last_written
    ]
    deferred: list[Desired] = []
    for want in desired:
        if want.slot in seen:
            continue
        seen.add(want.slot)
        if want.slot in kept:
            continue
        if want.role == "last_synced":
            deferred.append(want)
            continue
        before = current.get(want.slot)
        if _edited(want.slot, current, last_written) and not same_value(before, want.value):
            conflicts.append(
                Conflict(want.kr_id, want.slot, last_written[want.slot], before, "overwritten")
            )
        if not same_value(before, want.value):
            writes.append(PlannedWrite(want.kr_id, want.slot, want.role, before, want.value))
    changed = {(w.slot.connection, w.slot.target) for w in writes}
    for want in deferred:
        if (want.slot.connection, want.slot.target) in changed:
            before = current.get(want.slot)
            writes.append(PlannedWrite(want.kr_id, want.slot, want.role, before, want.value))
    writes.sort(key=lambda w: (w.slot.connection, w.slot.target, ROLES.index(w.role)))
    return Plan(tuple(writes), tuple(conflicts))
