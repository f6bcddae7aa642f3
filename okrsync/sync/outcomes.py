"""What a cycle did to the trackers, one entry each: a write (planned or attempted), a
hold, a conflict (a person's edit), a check-in comment. Each has its JSON form; they make
up the ``writes``, ``held``, ``conflicts`` and ``checkins`` of ``okrsync.sync.report``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.serial import as_dict
from okrsync.sync.plan import Conflict, PlannedWrite

__all__ = ["CheckinReport", "ConflictReport", "HeldReport", "WriteReport"]


@dataclass(frozen=True, slots=True)
class WriteReport:
    """A planned (dry run) or attempted write; ``error`` says why it failed.

    ``role`` is what the value is (``progress``, ``status``, ..., ``property`` for the
    Jira issue property) and ``unit`` how the target writes ratios (``percent`` or
    ``ratio``); the text output uses both to explain the numbers.
    """

    kr_id: str
    connection: str
    target: str
    field: str
    before: Any
    after: Any
    applied: bool
    error: str | None = None
    role: str | None = None
    unit: str | None = None

    @classmethod
    def of(
        cls,
        planned: PlannedWrite,
        *,
        applied: bool,
        error: str | None = None,
        unit: str | None = None,
    ) -> WriteReport:
        """The report of the planner's write ``planned``: made (``applied``) or not."""
        slot = planned.slot
        return cls(
            planned.kr_id,
            slot.connection,
            slot.target,
            slot.field,
            planned.before,
            planned.after,
            applied=applied,
            error=error,
            role=planned.role,
            unit=unit,
        )

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """JSON output; ``detail`` adds ``role`` and ``format`` (for the text output)."""
        data = as_dict(self, exclude=("role", "unit"), rename={"kr_id": "kr"})
        if detail:
            data |= {"role": self.role, "format": self.unit}
        return data


@dataclass(frozen=True, slots=True)
class HeldReport:
    """A KR not written because a scope of it lost too many items at once."""

    kr_id: str
    connection: str
    scope: str
    previous: int
    current: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return as_dict(self, rename={"kr_id": "kr"})


@dataclass(frozen=True, slots=True)
class ConflictReport:
    """A person's edit of an okrsync-owned field, and what was done about it."""

    kr_id: str
    connection: str
    target: str
    field: str
    ours: Any
    theirs: Any
    resolution: str

    @classmethod
    def of(cls, conflict: Conflict) -> ConflictReport:
        """The report of the planner's ``conflict``."""
        slot = conflict.slot
        return cls(
            conflict.kr_id,
            slot.connection,
            slot.target,
            slot.field,
            conflict.ours,
            conflict.theirs,
            conflict.resolution,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return as_dict(self, rename={"kr_id": "kr"})


@dataclass(frozen=True, slots=True)
class CheckinReport:
    """A status-change comment: posted, planned (dry run) or failed."""

    kr_id: str
    connection: str
    target: str
    previous: str
    status: str
    text: str
    posted: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return as_dict(self, rename={"kr_id": "kr", "previous": "from", "status": "to"})
