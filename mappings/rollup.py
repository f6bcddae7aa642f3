"""Objective roll-ups: key results and aligned child objectives into objective progress.

An objective's progress is the weighted mean of its key results' progress (KR ``weight``)
together with its child objectives' progress (the child's own ``weight``), computed
children first. Inputs whose progress is unknown (None) are left out of the mean and
make the objective ``partially_stale``; a stale KR that kept its last value counts that
value and also marks the objective ``partially_stale``. A child's staleness carries up
to its parents, and ``stale_krs`` lists every stale KR feeding the objective, at any
depth. When every input is stale (each KR, each child objective that has inputs), the
objective is ``stale`` too: its progress is the mean of the last values kept, and
``partially_stale`` stays set (some, here all, inputs are stale). An objective with
nothing known to average has progress None: ``stale`` if it has inputs (all unknown),
``not_started`` if it has none at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mappings.period import Period, expected_ratio, has_started
from mappings.results import KrResult, Status, clamp, pace_status, parse_status
from mappings.schema import Objective, Thresholds
from mappings.serial import as_dict, from_json

__all__ = ["ObjectiveResult", "rollup"]


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    """The rolled-up state of one objective."""

    objective_id: str
    progress: float | None
    expected: float
    status: Status
    score: float | None
    partially_stale: bool
    stale_krs: tuple[str, ...]
    children: tuple[str, ...]
    key_results: tuple[str, ...]

    def __post_init__(self) -> None:
        parse_status(self.status)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with stable keys."""
        return as_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectiveResult:
        """Inverse of ``to_dict``."""
        return from_json(cls, data)


def _weighted_mean(inputs: list[tuple[float, float]]) -> float | None:
    if not inputs:
        return None
    total_weight = sum(weight for weight, _ in inputs)
    mean = sum(weight * value for weight, value in inputs) / total_weight
    # Rounding must not carry a mean outside the values it averages.
    values = [value for _, value in inputs]
    return clamp(mean, min(values), max(values))


def rollup(
    objectives: Mapping[str, Objective],
    kr_results: Mapping[str, KrResult],
    *,
    period_of: Callable[[str], Period],
    now: datetime,
    thresholds_of: Callable[[str], Thresholds],
) -> dict[str, ObjectiveResult]:
    """Roll every objective in ``objectives`` up from ``kr_results`` (keyed by KR id).

    ``period_of`` and ``thresholds_of`` give an objective id's period and thresholds.
    A KR without a result counts as unknown. A ``parent`` outside ``objectives`` is
    ignored (the objective is a root here). Raises ``ValueError`` on a parent cycle.
    """
    children_of: dict[str, list[str]] = {objective_id: [] for objective_id in objectives}
    for objective_id, objective in objectives.items():
        if objective.parent is not None and objective.parent in children_of:
            children_of[objective.parent].append(objective_id)
    done: dict[str, ObjectiveResult] = {}
    stale_below: dict[str, set[str]] = {}
    in_progress: list[str] = []

    def visit(objective_id: str) -> ObjectiveResult:
        if objective_id in done:
            return done[objective_id]
        if objective_id in in_progress:
            cycle = [*in_progress[in_progress.index(objective_id) :], objective_id]
            raise ValueError(f"objective parents form a cycle: {' -> '.join(cycle)}")
        in_progress.append(objective_id)
        objective = objectives[objective_id]
        children = tuple(sorted(children_of[objective_id]))
        inputs: list[tuple[float, float]] = []
        stale: set[str] = set()
        partially_stale = False
        # Whether each input (KR, or child objective with inputs of its own) is stale.
        fresh: list[bool] = []
        for kr in objective.key_results:
            kr_result = kr_results.get(kr.id)
            if kr_result is None or kr_result.status == "stale" or kr_result.progress is None:
                stale.add(kr.id)
                partially_stale = True
            fresh.append(kr.id not in stale)
            if kr_result is not None and kr_result.progress is not None:
                inputs.append((kr.weight, kr_result.progress))
        for child_id in children:
            child = visit(child_id)
            stale |= stale_below[child_id]
            partially_stale = partially_stale or child.partially_stale
            if child.progress is not None or child.status == "stale":
                fresh.append(child.status != "stale")
            if child.progress is None:
                partially_stale = partially_stale or child.status == "stale"
            else:
                inputs.append((objectives[child_id].weight, child.progress))
        has_inputs = bool(objective.key_results or children)
        result = _objective_result(
            objective_id,
            objective,
            _weighted_mean(inputs),
            period=period_of(objective_id),
            now=now,
            thresholds=thresholds_of(objective_id),
            partially_stale=partially_stale,
            stale_krs=tuple(sorted(stale)),
            children=children,
            has_inputs=has_inputs,
            all_stale=bool(fresh) and not any(fresh),
        )
        in_progress.pop()
        done[objective_id] = result
        stale_below[objective_id] = stale
        return result

    for objective_id in objectives:
        visit(objective_id)
    return {objective_id: done[objective_id] for objective_id in objectives}


def _objective_result(
    objective_id: str,
    objective: Objective,
    progress: float | None,
    *,
    period: Period,
    now: datetime,
    thresholds: Thresholds,
    partially_stale: bool,
    stale_krs: tuple[str, ...],
    children: tuple[str, ...],
    has_inputs: bool,
    all_stale: bool,
) -> ObjectiveResult:
    expected = expected_ratio(period, now)
    status: Status
    if progress is None:
        status = "stale" if has_inputs else "not_started"
    elif all_stale:
        # Nothing under it is fresh: its progress is the last good values, and a pace
        # status would present them as this cycle's.
        status = "stale"
    else:
        status = pace_status(progress, expected, thresholds, started=has_started(period, now))
    return ObjectiveResult(
        objective_id=objective_id,
        progress=progress,
        expected=expected,
        status=status,
        score=None if progress is None else round(max(progress, 0.0), 2),
        partially_stale=partially_stale,
        stale_krs=stale_krs,
        children=children,
        key_results=tuple(kr.id for kr in objective.key_results),
    )
