"""Objectives written to the trackers: an objective's ``write:`` targets get its roll-up.

An objective's home issue or task gets its progress, expected pace, status and a summary
naming its key results (and aligned objectives), under the same rules as a key result's:
values are compared with what the tracker holds and only changes are written, each write
enters the ledger, a person's edit is a conflict that okrsync repairs, and nothing is
written while any key result under the objective is stale or its progress is unknown, so
the field keeps its last good value. Writes and conflicts name the objective as
``objective:<id>``, which no key result id can be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mappings.rollup import ObjectiveResult
from mappings.tree import OkrTree
from okrsync.sync.connections import Connections
from okrsync.sync.plan import (
    STATUS_OPTIONS,
    Desired,
    Role,
    TargetSpec,
    Value,
    desired_on,
    format_expected,
    format_ratio,
)
from okrsync.sync.report import ObjectiveReport
from okrsync.sync.writeback import target_specs

__all__ = ["PREFIX", "objective_desired", "objective_key", "resolve_objective_targets"]

PREFIX = "objective:"
# Jira's single-line text fields hold 255 characters.
_SUMMARY_MAX = 255


def objective_key(objective_id: str) -> str:
    """How writes, conflicts and the cycle's targets name an objective."""
    return f"{PREFIX}{objective_id}"


def resolve_objective_targets(
    tree: OkrTree, objective_id: str, connections: Connections
) -> list[TargetSpec]:
    """The objective's write targets, one per issue or task, the first one its home."""
    return target_specs(
        objective_key(objective_id), tree.objective_write(objective_id), connections
    )


def writable(result: ObjectiveResult) -> bool:
    """Whether the roll-up may be written: known, and no key result under it stale."""
    return result.progress is not None and not result.partially_stale and result.status != "stale"


def summary(report: ObjectiveReport) -> str:
    """One line: the roll-up, its status against the pace, and what it rolls up."""
    result = report.result
    parts: list[str] = []
    if result.progress is not None:
        parts.append(f"{result.progress * 100:.1f}%")
    parts.append(result.status.replace("_", " "))
    parts.append(f"expected {result.expected * 100:.1f}%")
    krs = result.key_results
    if krs:
        parts.append(f"{len(krs)} key result{'s' if len(krs) != 1 else ''}: {', '.join(krs)}")
    if result.children:
        parts.append(f"aligned: {', '.join(result.children)}")
    text = " · ".join(parts)
    return text if len(text) <= _SUMMARY_MAX else text[: _SUMMARY_MAX - 1] + "…"


def objective_desired(
    report: ObjectiveReport, specs: Sequence[TargetSpec], *, synced_at: datetime
) -> list[Desired]:
    """The values the objective wants on its readable targets (none while not writable)."""
    result = report.result
    if not writable(result) or result.progress is None:
        return []
    out: list[Desired] = []
    for spec in specs:
        fmt = spec.progress_format
        values: dict[Role, Value] = {
            "progress": format_ratio(result.progress, fmt),
            "status": STATUS_OPTIONS[result.status],
            "summary": summary(report),
            "expected": format_expected(result.expected, fmt),
            "last_synced": synced_at,
        }
        out += desired_on(spec, values)
    return out
