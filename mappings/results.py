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
from mappings.serial import as_dict, from_json

__all__ = [
    "STATUSES",
    "STATUS_NAMES",
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

#: Each status as people read it: the select options in Jira and Teambition, check-ins.
STATUS_NAMES: dict[Status, str] = {
    "not_started": "Not started",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "done": "Done",
    "stale": "Stale",
}

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
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Inverse of ``to_dict``."""
        return from_json(cls, data)


@dataclass(frozen=True, slots=True)
class Excluded:
    """An item the scope returned that the calculation left out, and why."""

    item_id: str
    key: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys."""
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Excluded:
        """Inverse of ``to_dict``."""
        return from_json(cls, data)


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
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KrResult:
        """Inverse of ``to_dict``; keys missing from older stored results take defaults."""
        return from_json(cls, data)
