"""What the progress engine returns for a key result, and the status rule it shares.

Results are frozen dataclasses that round-trip through plain JSON (``to_dict`` /
``from_dict``) with stable keys, so that the state store can keep them and a stale key
result can show its last good numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from mappings.schema import Thresholds

__all__ = [
    "STATUSES",
    "Evidence",
    "Excluded",
    "KrResult",
    "Status",
    "clamp",
    "pace_status",
    "parse_status",
    "score_of",
]

Status = Literal["not_started", "on_track", "at_risk", "off_track", "done", "stale"]
STATUSES: tuple[Status, ...] = get_args(Status)

# Progress comes from sums of floats (3 + 27/7 + ...): a result that is 1.0 or exactly on a
# threshold on paper must not fall a rounding error short of it.
EPSILON = 1e-9


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``[low, high]``."""
    return max(low, min(high, value))


def score_of(progress: float | None, max_score: float = 1.0) -> float | None:
    """The grade OKR reviews use: progress clamped to ``[0, max_score]``, two decimals."""
    if progress is None:
        return None
    return round(clamp(progress, 0.0, max_score), 2)


def pace_status(
    progress: float | None, expected: float, thresholds: Thresholds, *, started: bool
) -> Status:
    """Status of ``progress`` against the ``expected`` pace (see ``Thresholds``).

    ``done`` wins over everything (a KR finished early is done even before its period);
    ``not_started`` before the period; then on_track / at_risk / off_track by how far
    behind ``expected`` the progress is. Unknown progress (None) is ``stale``.
    """
    if progress is None:
        return "stale"
    if progress >= 1.0 - EPSILON:
        return "done"
    if not started:
        return "not_started"
    if progress + EPSILON >= expected - thresholds.at_risk_behind:
        return "on_track"
    if progress + EPSILON >= expected - thresholds.off_track_behind:
        return "at_risk"
    return "off_track"


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def parse_status(value: Any) -> Status:
    """``value`` as a ``Status``; ``ValueError`` if it is not one."""
    if value not in STATUSES:
        raise ValueError(f"unknown status {value!r}; expected one of {', '.join(STATUSES)}")
    return cast(Status, value)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One item that took part in a key result's calculation, and what it contributed.

    ``estimate`` is the item's own estimate; ``counted_estimate`` what the points measure
    counted for it (the mean or a fixed number when unestimated); ``contribution`` what it
    added to the numerator (1 for a done item in a count, its points when done, the
    in-progress credit share, its field value for a metric).
    """

    item_id: str
    key: str
    title: str
    status: str
    category: str
    estimate: float | None = None
    counted_estimate: float | None = None
    contribution: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys."""
        return {
            "item_id": self.item_id,
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "category": self.category,
            "estimate": self.estimate,
            "counted_estimate": self.counted_estimate,
            "contribution": self.contribution,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Inverse of ``to_dict``."""
        return cls(
            item_id=str(data["item_id"]),
            key=str(data["key"]),
            title=str(data.get("title", "")),
            status=str(data.get("status", "")),
            category=str(data.get("category", "")),
            estimate=_opt_float(data.get("estimate")),
            counted_estimate=_opt_float(data.get("counted_estimate")),
            contribution=float(data.get("contribution", 0.0)),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class Excluded:
    """An item the scope returned that the calculation left out, and why."""

    item_id: str
    key: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys."""
        return {"item_id": self.item_id, "key": self.key, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Excluded:
        """Inverse of ``to_dict``."""
        return cls(str(data["item_id"]), str(data["key"]), str(data["reason"]))


@dataclass(frozen=True, slots=True)
class KrResult:
    """The computed state of one key result.

    ``progress`` is None only when it is unknown (a failed source with no previous result,
    or a metric with no value); it is never 0 for "unknown". ``done_count``/``total_count``
    describe the evidence (the items counted); ``scope_count`` is how many distinct items
    the scope returned before anything was left out, which is what a "scope suddenly came
    back empty" check must compare. ``done_points``/``total_points`` are set for the points
    measure only, ``value`` for metric, maintain and manual, ``start``/``target`` for metric
    and manual, ``maintain_distance`` for maintain (0 when inside the range).
    """

    kr_id: str
    progress: float | None
    expected: float | None
    status: Status
    score: float | None
    done_count: int = 0
    total_count: int = 0
    done_points: float | None = None
    total_points: float | None = None
    value: float | None = None
    target: float | None = None
    start: float | None = None
    evidence: tuple[Evidence, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    stale_reason: str | None = None
    maintain_distance: float | None = None
    scope_count: int = 0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_status(self.status)
        for name in ("progress", "expected", "score", "value", "maintain_distance"):
            number = getattr(self, name)
            if number is not None and not math.isfinite(number):
                raise ValueError(f"{name} must be a finite number, got {number!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys (every field, always present)."""
        return {
            "kr_id": self.kr_id,
            "progress": self.progress,
            "expected": self.expected,
            "status": self.status,
            "score": self.score,
            "done_count": self.done_count,
            "total_count": self.total_count,
            "done_points": self.done_points,
            "total_points": self.total_points,
            "value": self.value,
            "target": self.target,
            "start": self.start,
            "evidence": [item.to_dict() for item in self.evidence],
            "excluded": [item.to_dict() for item in self.excluded],
            "stale_reason": self.stale_reason,
            "maintain_distance": self.maintain_distance,
            "scope_count": self.scope_count,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KrResult:
        """Inverse of ``to_dict``; keys missing from older stored results take defaults."""
        return cls(
            kr_id=str(data["kr_id"]),
            progress=_opt_float(data.get("progress")),
            expected=_opt_float(data.get("expected")),
            status=parse_status(data["status"]),
            score=_opt_float(data.get("score")),
            done_count=int(data.get("done_count", 0)),
            total_count=int(data.get("total_count", 0)),
            done_points=_opt_float(data.get("done_points")),
            total_points=_opt_float(data.get("total_points")),
            value=_opt_float(data.get("value")),
            target=_opt_float(data.get("target")),
            start=_opt_float(data.get("start")),
            evidence=tuple(Evidence.from_dict(item) for item in data.get("evidence", ())),
            excluded=tuple(Excluded.from_dict(item) for item in data.get("excluded", ())),
            stale_reason=data.get("stale_reason"),
            maintain_distance=_opt_float(data.get("maintain_distance")),
            scope_count=int(data.get("scope_count", 0)),
            notes=tuple(str(note) for note in data.get("notes", ())),
        )
