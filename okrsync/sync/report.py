"""What a sync cycle did, as values: the ``CycleReport`` and its parts, with stable JSON.

``CycleReport.to_dict()`` is the ``okrsync sync --output json`` document::

    {"schema_version": 1, "run": {...}, "objectives": [...], "key_results": [...],
     "writes": [{"connection", "target", "field", "before", "after", "applied", ...}],
     "held": [...], "conflicts": [...], "checkins": [...], "sources": {...}}

``okrsync report`` builds the same ``run``, ``objectives``, ``key_results`` and
``sources`` from the state store (``okrsync.commands.report``), with null for what the
store does not keep.

Every JSON document okrsync prints (``sync``, ``report``, ``explain``, ``history``) starts
with ``schema_version`` (``SCHEMA_VERSION``). Adding a key keeps the version; renaming or
removing a key, or changing what a value means, raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mappings.forecast import Forecast
from mappings.results import KrResult
from mappings.rollup import ObjectiveResult
from mappings.serial import as_dict, from_json, to_json
from okrsync.sync.outcomes import CheckinReport, ConflictReport, HeldReport, WriteReport

__all__ = [
    "SCHEMA_VERSION",
    "CheckinReport",
    "ConflictReport",
    "CycleReport",
    "HeldReport",
    "KrReport",
    "ObjectiveReport",
    "RunSummary",
    "SourceReport",
    "WriteReport",
    "jsonable",
    "versioned",
]

SCHEMA_VERSION = 1


def versioned(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with ``schema_version`` as its first key, as every JSON output has it."""
    return {"schema_version": SCHEMA_VERSION, **document}


def jsonable(value: Any) -> Any:
    """``value`` with datetimes and dates as ISO text (for JSON output)."""
    return to_json(value)


# What the JSON output leaves to ``okrsync explain``: the items behind the numbers.
_KR_DETAIL = ("kr_id", "evidence", "excluded", "maintain_distance", "scope_count")
# What a cycle knows of a KR that its stored result does not keep (it is this cycle's).
_KR_NOT_STORED = ("kr_id", "result", "unknown", "frozen", "final_on", "kept")
# The items behind a KR's result.
_EVIDENCE = ("evidence", "excluded")


@dataclass(frozen=True, slots=True)
class KrReport:
    """One key result's outcome in a cycle.

    ``result`` is what okrsync shows for the KR: for a stale or held KR the last good
    result. ``held`` names why the computed result was held; ``unknown`` why this
    cycle's progress is unknown (nothing to measure: not written, the cycle fails).
    ``final`` means the period closed and its grace period ended: the result stands
    (``final_since`` when it became final) and is not recomputed, only its fields are
    checked and repaired; ``frozen`` means this cycle showed it without reading the scope.
    ``final_on`` is when a closed period's result becomes final (during the grace
    period). ``override`` is a person's progress that won.
    ``scope_baseline`` is how many items the scope held at the KR's first cycle of the
    period, ``scope_total`` how many now (None when a read failed); ``scope_change`` is
    their relative difference.
    """

    kr_id: str
    objective_id: str
    title: str
    period: str
    result: KrResult
    forecast: Forecast | None = None
    scope_change: float | None = None
    scope_baseline: int | None = None
    scope_total: int | None = None
    held: str | None = None
    unknown: str | None = None
    frozen: bool = False
    final: bool = False
    final_since: datetime | None = None
    final_on: datetime | None = None
    override: float | None = None
    sources: tuple[str, ...] = ()
    position: int = 0  # order in the mappings
    # Digest of the definition a fresh result was computed by (None otherwise): a later
    # cycle whose scopes are unchanged keeps the result (``okrsync.sync.evaluate``).
    inputs: str | None = None
    # The recorded result a kept result (see ``inputs``) came from: its evidence and
    # exclusions, the same as the result's, are recorded again without converting them.
    kept: Mapping[str, Any] | None = None

    @property
    def stale(self) -> bool:
        """Whether the KR's numbers are not fresh from this cycle."""
        return self.result.status == "stale"

    def stored(self) -> dict[str, Any]:
        """What the state store keeps as the KR's latest result (evidence included)."""
        own = as_dict(self, exclude=_KR_NOT_STORED)
        if self.kept is not None and all(key in self.kept for key in _EVIDENCE):
            numbers = as_dict(self.result, exclude=_EVIDENCE)
            return {**numbers, **{key: list(self.kept[key]) for key in _EVIDENCE}, **own}
        return {**self.result.to_dict(), **own}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> KrReport:
        """Inverse of :meth:`stored`: a KR's recorded latest result, final or not."""
        result = KrResult.from_dict(data)
        # Results stored before a report key existed load with what it meant then.
        defaults = {"objective_id": "", "title": result.kr_id, "period": ""}
        return from_json(cls, {**defaults, **data}, result=result, frozen=bool(data.get("final")))

    def to_dict(self) -> dict[str, Any]:
        """JSON output: the result's numbers and the cycle's view of it."""
        own = as_dict(
            self,
            exclude=("result", "scope_baseline", "scope_total", "position", "inputs", "kept"),
            rename={"kr_id": "id", "objective_id": "objective"},
        )
        numbers = as_dict(self.result, exclude=_KR_DETAIL)
        return {**own, **numbers, "stale": self.stale}


@dataclass(frozen=True, slots=True)
class ObjectiveReport:
    """One objective's roll-up."""

    objective_id: str
    title: str
    period: str
    parent: str | None
    result: ObjectiveResult
    position: int = 0  # order in the mappings

    def stored(self) -> dict[str, Any]:
        """What the state store keeps as the objective's latest result."""
        return {**self.result.to_dict(), **as_dict(self, exclude=("objective_id", "result"))}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> ObjectiveReport:
        """Inverse of :meth:`stored`: an objective's recorded latest result."""
        result = ObjectiveResult.from_dict(data)
        defaults = {"title": result.objective_id, "period": "", "parent": None}
        return from_json(cls, {**defaults, **data}, result=result)

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        own = as_dict(self, exclude=("result", "position"), rename={"objective_id": "id"})
        return {**own, **as_dict(self.result, exclude=("objective_id",))}


@dataclass(slots=True)
class SourceReport:
    """How one connection fared: up or down (with the first error), reads made."""

    connection: str
    up: bool = True
    error: str | None = None
    scopes: int = 0
    full_reads: int = 0
    incremental_reads: int = 0
    items: int = 0
    requests: int = 0
    # Scopes the tracker refused on their own (bad query, missing epic), while up.
    refused: list[str] = field(default_factory=list)
    # Write targets that could not be read or written (a missing field, an issue off
    # its edit screen), while the connection is up: target -> error.
    targets: dict[str, str] = field(default_factory=dict)
    # The connection's health as the state store keeps it across cycles.
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    consecutive_failures: int | None = None

    def fail(self, error: str) -> None:
        """Mark the connection down, keeping the first error."""
        if self.up:
            self.error = error
        self.up = False

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return as_dict(
            self,
            exclude=("connection",),
            rename={"refused": "refused_scopes", "targets": "target_errors"},
        )


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The ``run`` section of the JSON output: how a cycle went, in numbers.

    ``okrsync report`` fills it from the state store, with None for what the store does
    not keep; no field has a default, so that both outputs always give every key.
    """

    id: int | None
    started_at: datetime | None
    finished_at: datetime | None
    mode: str | None
    outcome: str | None
    dry_run: bool | None
    force: bool | None
    only: str | None
    writes: int | None
    planned_writes: int | None
    requests: int | None
    held: int | None
    conflicts: int | None
    stale: int | None
    unknown: int | None
    final: int | None
    failed_sources: tuple[str, ...]
    error: str | None


@dataclass(slots=True)
class CycleReport:
    """Everything one cycle computed, wrote, held and found."""

    run_id: int | None
    started_at: datetime
    finished_at: datetime | None = None
    mode: str = "full"
    dry_run: bool = False
    force: bool = False
    only: str | None = None
    objectives: list[ObjectiveReport] = field(default_factory=list)
    key_results: list[KrReport] = field(default_factory=list)
    writes: list[WriteReport] = field(default_factory=list)
    held: list[HeldReport] = field(default_factory=list)
    conflicts: list[ConflictReport] = field(default_factory=list)
    checkins: list[CheckinReport] = field(default_factory=list)
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def source(self, name: str) -> SourceReport:
        """How connection ``name`` fared, its entry added when first named."""
        return self.sources.setdefault(name, SourceReport(name))

    @property
    def failed_sources(self) -> list[str]:
        """Connections that failed in this cycle."""
        return sorted(name for name, source in self.sources.items() if not source.up)

    @property
    def partial(self) -> bool:
        """Whether anything failed: a source, a scope it refused, a write, a target that
        could not be read, or a KR whose progress is unknown."""
        return (
            bool(self.failed_sources)
            or any(kr.unknown for kr in self.key_results)
            or any(source.targets for source in self.sources.values())
            or any(source.refused for source in self.sources.values())
            or any(w.error for w in self.writes)
        )

    @property
    def outcome(self) -> str:
        """``dry_run``, ``ok``, ``partial`` or ``failed`` (every source down)."""
        if self.dry_run:
            return "dry_run"
        if self.sources and all(not s.up for s in self.sources.values()):
            return "failed"
        return "partial" if self.partial else "ok"

    @property
    def request_count(self) -> int:
        """HTTP requests sent to the trackers in this cycle, retries included."""
        return sum(source.requests for source in self.sources.values())

    @property
    def applied_writes(self) -> list[WriteReport]:
        """The writes that reached a tracker."""
        return [w for w in self.writes if w.applied]

    @property
    def error(self) -> str | None:
        """Each failed connection's error, on one line (None when none failed)."""
        failures = (f"{name}: {self.sources[name].error}" for name in self.failed_sources)
        return "; ".join(failures) or None

    def summary(self) -> RunSummary:
        """The ``run`` section of the JSON output."""
        krs = self.key_results
        return RunSummary(
            id=self.run_id,
            started_at=self.started_at,
            finished_at=self.finished_at,
            mode=self.mode,
            outcome=self.outcome,
            dry_run=self.dry_run,
            force=self.force,
            only=self.only,
            writes=len(self.applied_writes) if not self.dry_run else 0,
            planned_writes=len(self.writes),
            requests=self.request_count,
            held=len(self.held),
            conflicts=len(self.conflicts),
            stale=sum(1 for kr in krs if kr.stale),
            unknown=sum(1 for kr in krs if kr.unknown),
            final=sum(1 for kr in krs if kr.final),
            failed_sources=tuple(self.failed_sources),
            error=self.error,
        )

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The JSON document of ``okrsync sync --output json`` (stable keys).

        ``detail`` adds what the text output needs to explain each write.
        """
        return versioned(
            {
                "run": as_dict(self.summary()),
                "objectives": [o.to_dict() for o in self.objectives],
                "key_results": [k.to_dict() for k in self.key_results],
                "writes": [w.to_dict(detail=detail) for w in self.writes],
                "held": [h.to_dict() for h in self.held],
                "conflicts": [c.to_dict() for c in self.conflicts],
                "checkins": [c.to_dict() for c in self.checkins],
                "sources": {name: s.to_dict() for name, s in sorted(self.sources.items())},
            }
        )
