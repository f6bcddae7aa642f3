"""The progress engine: a key result and its items in, a ``KrResult`` out. No I/O.

Rules the engine applies, in order:

1. Items are deduplicated by ``(source, id)``, the latest copy winning (see
   ``mappings.selection``); the scope's own epics / parent tasks, in their own tracker,
   never count ("an epic never counts itself"); sub-tasks count only if some scope of the KR
   sets ``include_subtasks`` (one scope asking is enough, since the KR's items are one
   pool and a sub-task cannot be counted for one scope and not another).
2. The measure turns the items into raw progress (see ``mappings.measures``). A count,
   points or milestone measure with nothing to count (no items, or no points) has
   unknown progress: 0 of 0 is not 0%. A metric counting or summing an empty scope is
   0, a real value; ``mappings.measures.emptiness`` tells the caller whether an empty
   scope is expected or suspicious for the measure.
3. Progress is clamped to ``[0, flags.max_score]``; ``score`` is that, two decimals.
4. Status: ``done`` at progress >= 1; ``not_started`` before the period; otherwise by pace
   against the elapsed share of the period (``Thresholds``). After the period closes the
   expected share is 1.0 and the same rule applies, so a KR closing at 0.95 with the
   default thresholds stays ``on_track`` (its score, 0.95, is what the review grades).
   A maintain KR is ``on_track`` while inside its range and ``off_track`` outside; it
   becomes ``done`` only when the period closes with the range met.
5. A metric whose value cannot be computed (``avg`` over no values, ``value`` without
   exactly one item, a sum too large for a float) has unknown progress: status ``stale``
   with the reason, because 0 would be a lie. The caller may merge it with the previous
   result via ``stale_result``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from mappings.items import WorkItem
from mappings.measures import is_done, measure_items, select_items
from mappings.period import Period, expected_ratio, has_started, is_closed
from mappings.results import (
    STATUSES,
    Evidence,
    Excluded,
    KrResult,
    Status,
    clamp,
    pace_status,
    score_of,
)
from mappings.schema import KeyResult, MaintainMeasure, ManualMeasure, Thresholds

__all__ = [
    "STATUSES",
    "Evidence",
    "Excluded",
    "KrResult",
    "Status",
    "evaluate_kr",
    "is_done",
    "pace_status",
    "restamp",
    "stale_result",
]


def evaluate_kr(
    kr: KeyResult,
    items: Sequence[WorkItem],
    *,
    period: Period,
    now: datetime,
    thresholds: Thresholds,
    scope_epic_keys: Collection[str] = (),
) -> KrResult:
    """Compute ``kr``'s progress, status and evidence from the items its scopes returned.

    ``items`` may hold duplicates and come in any order. ``scope_epic_keys`` adds keys
    (or ids) of epics / parent tasks to leave out, on top of those the KR's own
    ``jira_epics`` and ``teambition_parent`` scopes name.
    """
    expected = expected_ratio(period, now)
    selection = select_items(kr, items, scope_epic_keys)
    outcome = measure_items(kr.measure, selection.items)
    notes = outcome.notes
    if selection.scope_count == 0 and kr.scope and not isinstance(kr.measure, ManualMeasure):
        notes = ("the scope returned no items", *notes)
    unknown = KrResult(
        kr_id=kr.id,
        progress=None,
        expected=expected,
        status="stale",
        score=None,
        done_count=outcome.done_count,
        total_count=outcome.total_count,
        done_points=outcome.done_points,
        total_points=outcome.total_points,
        value=outcome.value,
        target=outcome.target,
        start=outcome.start,
        evidence=outcome.evidence,
        excluded=selection.excluded + outcome.excluded,
        stale_reason=outcome.no_value or "progress unknown",
        maintain_distance=outcome.maintain_distance,
        scope_count=selection.scope_count,
        notes=notes,
    )
    if outcome.progress is None:
        return unknown
    max_score = kr.flags.max_score
    progress = clamp(outcome.progress, 0.0, max_score)
    status = _status(kr, progress, bool(outcome.maintain_met), period, now, thresholds)
    return replace(
        unknown,
        progress=progress,
        status=status,
        score=score_of(progress, max_score),
        stale_reason=None,
    )


def restamp(
    kr: KeyResult, result: KrResult, *, period: Period, now: datetime, thresholds: Thresholds
) -> KrResult:
    """``result``, computed by :func:`evaluate_kr` for ``kr`` from the same items at an
    earlier time, as of ``now``: the expected share and the status follow the clock, every
    number drawn from the items stays. Only a result with known progress can be restamped
    (``ValueError`` otherwise)."""
    if result.progress is None:
        raise ValueError(f"the result of KR {result.kr_id!r} has no progress to restamp")
    # A maintain measure's progress is 1.0 when its range is met, else 0.0 (then clamped).
    met = result.progress > 0
    status = _status(kr, result.progress, met, period, now, thresholds)
    return replace(result, expected=expected_ratio(period, now), status=status)


def _status(
    kr: KeyResult,
    progress: float,
    maintain_met: bool,
    period: Period,
    now: datetime,
    thresholds: Thresholds,
) -> Status:
    started = has_started(period, now)
    if isinstance(kr.measure, MaintainMeasure):
        return _maintain_status(maintain_met, period, now, started=started)
    return pace_status(progress, expected_ratio(period, now), thresholds, started=started)


def _maintain_status(met: bool, period: Period, now: datetime, *, started: bool) -> Status:
    if not started:
        return "not_started"
    if not met:
        return "off_track"
    return "done" if is_closed(period, now) else "on_track"


def stale_result(
    previous: KrResult | None,
    kr_id: str,
    reason: str,
    *,
    expected: float | None = None,
) -> KrResult:
    """The result of a KR whose source failed: the last good numbers, marked ``stale``.

    With a previous result, its progress, score and evidence are kept (and its expected
    share, unless ``expected`` is given). Without one, progress and score are None
    (unknown), never 0. Raises ``ValueError`` if ``previous`` belongs to another KR.
    """
    if previous is None:
        return KrResult(
            kr_id=kr_id,
            progress=None,
            expected=expected,
            status="stale",
            score=None,
            stale_reason=reason,
        )
    if previous.kr_id != kr_id:
        raise ValueError(f"previous result is for KR {previous.kr_id!r}, not {kr_id!r}")
    return replace(
        previous,
        status="stale",
        stale_reason=reason,
        expected=previous.expected if expected is None else expected,
    )
