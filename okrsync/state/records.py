"""The read-only records the state store hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Run:
    """One sync cycle. ``outcome`` is None while the cycle runs (or if it died unfinished)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    mode: str
    request_count: int
    write_count: int
    held_count: int
    conflict_count: int
    error: str | None


@dataclass(frozen=True, slots=True)
class ScopeMark:
    """How far a scope's incremental sync has come.

    ``last_success_at`` is the tracker time at which the last successful read *started*
    (the next read asks for items updated since then); ``baseline_total`` is the first total
    seen in the period, against which a sudden loss of items is judged.
    """

    scope_key: str
    last_success_at: datetime | None
    last_full_at: datetime | None
    item_count: int
    baseline_total: int | None


@dataclass(frozen=True, slots=True)
class KrSnapshot:
    """A key result's numbers as one run computed them."""

    run_id: int
    at: datetime
    progress: float | None
    expected: float | None
    status: str
    score: float | None
    done_count: int | None
    total_count: int | None
    done_points: float | None
    total_points: float | None
    value: float | None
    stale: bool


@dataclass(frozen=True, slots=True)
class ObjectiveSnapshot:
    """An objective's roll-up as one run computed it."""

    run_id: int
    at: datetime
    progress: float | None
    expected: float | None
    status: str
    partially_stale: bool


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One field okrsync wrote, or decided not to write (held, conflict, manual override)."""

    id: int
    run_id: int | None
    at: datetime
    connection: str
    target: str
    field: str
    value_before: Any
    value_written: Any
    kind: str
    note: str | None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """Whether a connection (e.g. ``jira:cloud``) answered, and since when it fails."""

    connection: str
    up: bool
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class Checkin:
    """The last KR status okrsync commented on, so that a change is commented once."""

    kr_id: str
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LatestKr:
    """A key result's last recorded result: the values a cycle decides with, typed, and
    the whole recorded result (``data``, evidence included) to rebuild only when shown."""

    kr_id: str
    period: str | None
    final: bool
    scope_count: int
    scope_baseline: int | None
    override: float | None
    data: Mapping[str, Any]
    # What a cycle needs to decide whether the result still stands (see
    # ``okrsync.sync.evaluate.reusable``).
    progress: float | None = None
    stale: bool = False
    held: bool = False
    scope_total: int | None = None
    inputs: str | None = None

    @classmethod
    def of(cls, kr_id: str, data: Mapping[str, Any]) -> LatestKr:
        """The record of a stored result row."""
        baseline, override = data.get("scope_baseline"), data.get("override")
        period, progress = data.get("period"), data.get("progress")
        total, inputs = data.get("scope_total"), data.get("inputs")
        return cls(
            kr_id=kr_id,
            period=period if isinstance(period, str) else None,
            final=bool(data.get("final")),
            scope_count=int(data.get("scope_count") or 0),
            scope_baseline=baseline if isinstance(baseline, int) else None,
            override=float(override) if isinstance(override, int | float) else None,
            data=data,
            progress=float(progress) if isinstance(progress, int | float) else None,
            stale=data.get("status") == "stale",
            held=bool(data.get("held")),
            scope_total=total if isinstance(total, int) else None,
            inputs=inputs if isinstance(inputs, str) else None,
        )
