"""A result computed earlier from the same items, restamped to a later clock, equals the
result computed from the items at that clock: only the expected share and status move."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mappings.engine import KrResult, evaluate_kr, restamp, stale_result
from tests.engine.factories import (
    AFTER,
    BEFORE,
    BUG_SCOPE,
    HALF_WAY,
    NOVEMBER,
    THRESHOLDS,
    demo_bugs,
    demo_pay1,
    kr,
)

MEASURES: list[tuple[dict[str, Any], Any]] = [
    ({"kind": "count"}, None),
    ({"kind": "points", "unestimated": "mean"}, None),
    ({"kind": "milestone"}, None),
    ({"kind": "metric", "aggregate": "count", "start": 20, "target": 5}, BUG_SCOPE),
    ({"kind": "maintain", "aggregate": "avg", "field": "Customer Impact", "max": 4}, BUG_SCOPE),
    ({"kind": "maintain", "aggregate": "avg", "field": "Customer Impact", "max": 2}, BUG_SCOPE),
]


@pytest.mark.parametrize(("measure", "scope"), MEASURES, ids=lambda m: str(m))
@pytest.mark.parametrize(("then", "now"), [(BEFORE, HALF_WAY), (HALF_WAY, AFTER)], ids=str)
def test_restamped_equals_computed_again(
    measure: dict[str, Any], scope: Any, then: datetime, now: datetime
) -> None:
    key_result = kr(measure, scope=scope)
    items = demo_bugs() if scope is BUG_SCOPE else demo_pay1()

    def at(when: datetime) -> KrResult:
        return evaluate_kr(key_result, items, period=NOVEMBER, now=when, thresholds=THRESHOLDS)

    earlier = at(then)
    assert earlier.progress is not None
    assert restamp(key_result, earlier, period=NOVEMBER, now=now, thresholds=THRESHOLDS) == at(now)


def test_a_result_without_progress_is_not_restamped() -> None:
    key_result = kr({"kind": "count"})
    with pytest.raises(ValueError, match="no progress"):
        restamp(
            key_result,
            stale_result(None, "kr-test", "down"),
            period=NOVEMBER,
            now=HALF_WAY,
            thresholds=THRESHOLDS,
        )
