"""The arithmetic of each measure, over the items a key result counts.

Everything here is pure and order-independent: items arrive deduplicated and sorted (see
``mappings.selection``), so the same set of items always gives bit-identical results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from mappings.items import StatusCategory, WorkItem
from mappings.results import Evidence, Excluded
from mappings.schema import (
    CountMeasure,
    DoneRule,
    MaintainMeasure,
    ManualMeasure,
    Measure,
    MetricMeasure,
    MilestoneMeasure,
    PointsMeasure,
)
from mappings.selection import REASON_SELF, REASON_SUBTASK, Selection, select_items

__all__ = [
    "NOTHING_TO_MEASURE",
    "REASON_SELF",
    "REASON_SUBTASK",
    "Emptiness",
    "Outcome",
    "Selection",
    "emptiness",
    "is_done",
    "measure_items",
    "select_items",
]

#: The start of the reason a KR's progress is unknown when its scope gives nothing to
#: count: 0 of 0 is no progress at all, and written as 0% it would look like a collapse.
NOTHING_TO_MEASURE = "nothing to measure"

Emptiness = Literal["unknown", "expected", "suspicious"]


def emptiness(measure: Measure) -> Emptiness:
    """What an empty scope means for ``measure``.

    - ``unknown``: nothing to measure (count, points, milestone; an ``avg`` or ``value``
      metric): progress is unknown, never 0;
    - ``expected``: fewer items is the goal (a ``count``/``sum`` metric going down, or a
      maintain range that holds 0): an empty scope is success, and losing items is
      progress, so neither is held;
    - ``suspicious``: the number should not fall to nothing (a ``count``/``sum`` metric
      going up, a maintain range above 0): an empty scope, or one that loses most of its
      items, is held until confirmed.
    """
    if isinstance(measure, MetricMeasure | MaintainMeasure):
        if measure.aggregate not in ("count", "sum"):
            return "unknown"
        if isinstance(measure, MetricMeasure):
            return "expected" if measure.target < measure.start else "suspicious"
        zero_inside = (measure.min is None or measure.min <= 0) and (
            measure.max is None or measure.max >= 0
        )
        return "expected" if zero_inside and measure.max is not None else "suspicious"
    if isinstance(measure, ManualMeasure):
        return "expected"  # no scope: nothing can go missing
    return "unknown"


REASON_UNESTIMATED = "unestimated (policy: ignore)"
NOTE_NEGATIVE = "negative estimate {value:g} treated as unestimated"


def _finite(value: float | None) -> float | None:
    # A NaN or infinite field value would poison every sum it enters; treat it as missing.
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def is_done(item: WorkItem, rule: DoneRule) -> bool:
    """Whether ``item`` counts as done under ``rule`` (names compared case-insensitively)."""
    if rule.by == "statuses":
        wanted = {name.strip().casefold() for name in rule.statuses}
        return item.status.strip().casefold() in wanted
    if rule.by == "resolution":
        resolution = (item.resolution or "").strip()
        if not resolution:
            return False
        if not rule.resolutions:
            return True
        return resolution.casefold() in {name.strip().casefold() for name in rule.resolutions}
    return item.status_category == StatusCategory.DONE


def _state(item: WorkItem, rule: DoneRule) -> str:
    if is_done(item, rule):
        return "done"
    if item.status_category == StatusCategory.IN_PROGRESS:
        return "in_progress"
    return "open"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A measure's raw answer; ``progress`` is unclamped, None with ``no_value`` explaining."""

    progress: float | None
    done_count: int = 0
    total_count: int = 0
    done_points: float | None = None
    total_points: float | None = None
    value: float | None = None
    start: float | None = None
    target: float | None = None
    evidence: tuple[Evidence, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    notes: tuple[str, ...] = ()
    maintain_met: bool | None = None
    maintain_distance: float | None = None
    no_value: str | None = None


def _evidence(
    item: WorkItem,
    contribution: float,
    note: str,
    counted_estimate: float | None = None,
) -> Evidence:
    return Evidence(
        item_id=item.id,
        key=item.key,
        title=item.title,
        status=item.status,
        category=str(item.status_category),
        estimate=_finite(item.estimate),
        counted_estimate=counted_estimate,
        contribution=contribution,
        note=note,
    )


def _credit(state: str, credit: float) -> tuple[float, str]:
    if state == "done":
        return 1.0, "done"
    if state == "in_progress":
        return credit, f"in progress (credit {credit:g})"
    return 0.0, "not done"


def _count(measure: CountMeasure, items: Sequence[WorkItem]) -> Outcome:
    evidence: list[Evidence] = []
    done = 0
    earned = 0.0
    for item in items:
        state = _state(item, measure.done)
        share, note = _credit(state, measure.in_progress_credit)
        done += state == "done"
        earned += share
        evidence.append(_evidence(item, share, note))
    if not items:
        return Outcome(None, no_value=f"{NOTHING_TO_MEASURE}: the scope has no items")
    return Outcome(earned / len(items), done, len(items), evidence=tuple(evidence))


def _raw_estimate(item: WorkItem, field: str) -> float | None:
    # A connector that fetched the measure's field by name puts it in ``fields``; otherwise
    # the connection's estimate field (``WorkItem.estimate``) is the points.
    if field in item.fields:
        return _finite(item.fields[field])
    return _finite(item.estimate)


def _estimate(item: WorkItem, field: str) -> float | None:
    # A negative estimate is a data-entry slip; counted, it would let an item moving to
    # done lower the KR's progress. It is handled like a missing one.
    value = _raw_estimate(item, field)
    return None if value is None or value < 0 else value


def _points(measure: PointsMeasure, items: Sequence[WorkItem]) -> Outcome:
    estimates = [_estimate(item, measure.field) for item in items]
    known = [value for value in estimates if value is not None]
    policy = measure.unestimated
    fill: float | None
    if policy == "ignore":
        fill, fill_note = None, ""
    elif policy == "mean":
        fill = sum(known) / len(known) if known else 1.0
        fill_note = f"unestimated: counted as the scope's mean estimate, {fill:.4g}"
    else:
        fill = float(policy)
        fill_note = f"unestimated: counted as {fill:g}"
    evidence: list[Evidence] = []
    excluded: list[Excluded] = []
    done = 0
    done_points = total_points = earned = 0.0
    for item, estimate in zip(items, estimates, strict=True):
        if estimate is not None:
            counted = estimate
        elif fill is not None:
            counted = fill
        else:
            raw = _raw_estimate(item, measure.field)
            reason = REASON_UNESTIMATED
            if raw is not None:
                reason = f"{NOTE_NEGATIVE.format(value=raw)} (policy: ignore)"
            excluded.append(Excluded(item.id, item.key, reason))
            continue
        state = _state(item, measure.done)
        share, note = _credit(state, measure.in_progress_credit)
        if estimate is None:
            raw = _raw_estimate(item, measure.field)
            if raw is not None:
                note = f"{note}; {NOTE_NEGATIVE.format(value=raw)}"
            note = f"{note}; {fill_note}"
        done += state == "done"
        done_points += counted if state == "done" else 0.0
        total_points += counted
        earned += counted * share
        evidence.append(_evidence(item, counted * share, note, counted_estimate=counted))
    progress: float | None = None
    no_value: str | None = None
    if total_points > 0:
        progress = earned / total_points
    elif not items:
        no_value = f"{NOTHING_TO_MEASURE}: the scope has no items"
    else:
        no_value = (
            f"{NOTHING_TO_MEASURE}: the scope's {len(items)} item(s) have no points "
            f"in '{measure.field}'"
        )
    return Outcome(
        progress,
        done,
        len(evidence),
        done_points=done_points,
        total_points=total_points,
        evidence=tuple(evidence),
        excluded=tuple(excluded),
        no_value=no_value,
    )


def _aggregate(measure: MetricMeasure | MaintainMeasure, items: Sequence[WorkItem]) -> Outcome:
    """The metric's value over ``items``, as an Outcome without progress."""
    field = measure.field or ""
    evidence: list[Evidence] = []
    excluded: list[Excluded] = []
    values: list[float] = []
    done = 0
    for item in items:
        item_done = is_done(item, measure.done)
        if measure.only == "open" and item_done:
            excluded.append(Excluded(item.id, item.key, "done (only: open)"))
            continue
        if measure.only == "done" and not item_done:
            excluded.append(Excluded(item.id, item.key, "not done (only: done)"))
            continue
        if measure.aggregate == "count":
            contribution, note = 1.0, "counted"
        else:
            raw = _finite(item.fields.get(field))
            if raw is None:
                excluded.append(Excluded(item.id, item.key, f"no value for '{field}'"))
                continue
            contribution, note = raw, f"{field} = {raw:g}"
        values.append(contribution)
        done += item_done
        evidence.append(_evidence(item, contribution, note))
    value: float | None
    no_value: str | None = None
    if measure.aggregate in ("count", "sum"):
        value = float(sum(values))
    elif measure.aggregate == "avg":
        value = sum(values) / len(values) if values else None
        if value is None:
            no_value = f"no item in scope has a value for '{field}'"
    elif len(values) == 1:
        value = values[0]
    else:
        value = None
        no_value = f"aggregate 'value' needs exactly one item with '{field}', found {len(values)}"
    if value is not None and not math.isfinite(value):  # a sum of huge values overflows
        value, no_value = None, f"the {measure.aggregate} of '{field}' is too large to compute"
    return Outcome(
        None,
        done,
        len(evidence),
        value=value,
        evidence=tuple(evidence),
        excluded=tuple(excluded),
        no_value=no_value,
    )


def _linear(value: float, start: float, target: float) -> tuple[float | None, str | None]:
    """How far ``value`` has moved from ``start`` to ``target``, or why that is unknown."""
    # Works both ways: start 20, target 5 (fewer is better) gives a negative denominator.
    progress = (value - start) / (target - start)
    if not math.isfinite(progress):  # start and target a hair apart
        return None, "start and target are too close to compute progress"
    return progress, None


def _metric(measure: MetricMeasure, items: Sequence[WorkItem]) -> Outcome:
    base = _aggregate(measure, items)
    progress, no_value = None, base.no_value
    if base.value is not None:
        progress, no_value = _linear(base.value, measure.start, measure.target)
    return replace(
        base, progress=progress, start=measure.start, target=measure.target, no_value=no_value
    )


def _maintain(measure: MaintainMeasure, items: Sequence[WorkItem]) -> Outcome:
    base = _aggregate(measure, items)
    if base.value is None:
        return base
    distance = 0.0
    if measure.min is not None and base.value < measure.min:
        distance = measure.min - base.value
    elif measure.max is not None and base.value > measure.max:
        distance = base.value - measure.max
    met = distance == 0.0
    return replace(base, progress=1.0 if met else 0.0, maintain_met=met, maintain_distance=distance)


def _milestone(measure: MilestoneMeasure, items: Sequence[WorkItem]) -> Outcome:
    evidence: list[Evidence] = []
    done = 0
    for item in items:
        item_done = is_done(item, measure.done)
        done += item_done
        evidence.append(_evidence(item, 1.0 if item_done else 0.0, _credit_note(item_done)))
    if not items:
        return Outcome(None, no_value=f"{NOTHING_TO_MEASURE}: the scope has no items")
    reached = done == len(items)
    return Outcome(1.0 if reached else 0.0, done, len(items), evidence=tuple(evidence))


def _credit_note(done: bool) -> str:
    return "done" if done else "not done"


def _manual(measure: ManualMeasure) -> Outcome:
    progress, no_value = _linear(measure.value, measure.start, measure.target)
    return Outcome(
        progress,
        value=measure.value,
        start=measure.start,
        target=measure.target,
        no_value=no_value,
    )


def measure_items(measure: Measure, items: Sequence[WorkItem]) -> Outcome:
    """Apply ``measure`` to the already selected ``items`` (see ``select_items``)."""
    if isinstance(measure, CountMeasure):
        return _count(measure, items)
    if isinstance(measure, PointsMeasure):
        return _points(measure, items)
    if isinstance(measure, MetricMeasure):
        return _metric(measure, items)
    if isinstance(measure, MaintainMeasure):
        return _maintain(measure, items)
    if isinstance(measure, MilestoneMeasure):
        return _milestone(measure, items)
    return _manual(measure)
