"""Status against the period's pace, stale results and stored results."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mappings.engine import Evidence, Excluded, KrResult, evaluate_kr, stale_result
from mappings.schema import KeyResult, Thresholds
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


def manual(value: float) -> KeyResult:
    return kr({"kind": "manual", "value": value}, scope=[])


def status_at(value: float, now: datetime, thresholds: Thresholds = THRESHOLDS) -> KrResult:
    return evaluate_kr(manual(value), [], period=NOVEMBER, now=now, thresholds=thresholds)


@pytest.mark.parametrize(
    ("now", "expected"), [(BEFORE, 0.0), (HALF_WAY, 0.5), (AFTER, 1.0)], ids=str
)
def test_expected_follows_the_period(now: datetime, expected: float) -> None:
    assert status_at(0.3, now).expected == expected


def test_not_started_before_the_period_unless_done() -> None:
    assert status_at(0.3, BEFORE).status == "not_started"
    assert status_at(1.0, BEFORE).status == "done"


@pytest.mark.parametrize(
    ("progress", "status"),
    [
        (0.6, "on_track"),
        (0.4, "on_track"),  # exactly expected - at_risk_behind
        (0.39, "at_risk"),
        (0.25, "at_risk"),  # exactly expected - off_track_behind
        (0.24, "off_track"),
        (1.0, "done"),
    ],
)
def test_status_half_way_through(progress: float, status: str) -> None:
    assert status_at(progress, HALF_WAY).status == status


def test_thresholds_are_the_ones_passed_in() -> None:
    strict = Thresholds(at_risk_behind=0.0, off_track_behind=0.05)
    assert status_at(0.49, HALF_WAY, strict).status == "at_risk"
    assert status_at(0.44, HALF_WAY, strict).status == "off_track"


@pytest.mark.parametrize(("progress", "status"), [(0.95, "on_track"), (0.8, "at_risk")])
def test_after_the_period_status_is_pace_against_everything_expected(
    progress: float, status: str
) -> None:
    assert status_at(progress, AFTER).status == status
    assert status_at(0.5, AFTER).status == "off_track"


def test_maintain_becomes_done_only_when_the_period_closes_met() -> None:
    key_result = kr({"kind": "maintain", "only": "open", "max": 15}, scope=BUG_SCOPE)
    statuses = [
        evaluate_kr(key_result, demo_bugs(), period=NOVEMBER, now=now, thresholds=THRESHOLDS)
        for now in (BEFORE, HALF_WAY, AFTER)
    ]
    assert [result.status for result in statuses] == ["not_started", "on_track", "done"]
    unmet = kr({"kind": "maintain", "only": "open", "max": 3}, scope=BUG_SCOPE)
    closed = evaluate_kr(unmet, demo_bugs(), period=NOVEMBER, now=AFTER, thresholds=THRESHOLDS)
    assert closed.status == "off_track"


def test_stale_keeps_the_previous_numbers_and_evidence() -> None:
    previous = evaluate_kr(
        kr({"kind": "points"}), demo_pay1(), period=NOVEMBER, now=HALF_WAY, thresholds=THRESHOLDS
    )
    stale = stale_result(previous, "kr-test", "jira: 503 Service Unavailable")
    assert stale.status == "stale"
    assert stale.stale_reason == "jira: 503 Service Unavailable"
    assert stale.progress == previous.progress
    assert stale.score == previous.score
    assert stale.evidence == previous.evidence
    assert (stale.done_points, stale.total_points) == (18, 27)


def test_stale_without_previous_is_unknown_never_zero() -> None:
    stale = stale_result(None, "kr-test", "teambition: timed out", expected=0.5)
    assert stale.progress is None and stale.score is None
    assert stale.status == "stale"
    assert stale.expected == 0.5


def test_stale_refuses_another_krs_result() -> None:
    previous = status_at(0.5, HALF_WAY)
    with pytest.raises(ValueError, match="kr-test"):
        stale_result(previous, "kr-other", "down")


def test_result_round_trips_through_json() -> None:
    result = evaluate_kr(
        kr({"kind": "points", "unestimated": "mean"}),
        demo_pay1(),
        period=NOVEMBER,
        now=HALF_WAY,
        thresholds=THRESHOLDS,
    )
    stored = json.loads(json.dumps(result.to_dict()))
    assert KrResult.from_dict(stored) == result
    assert list(stored) == [
        "kr_id",
        "progress",
        "expected",
        "status",
        "score",
        "done_count",
        "total_count",
        "done_points",
        "total_points",
        "value",
        "target",
        "start",
        "evidence",
        "excluded",
        "stale_reason",
        "maintain_distance",
        "scope_count",
        "notes",
    ]
    assert set(stored["evidence"][0]) == set(Evidence.__dataclass_fields__)
    assert set(stored["excluded"][0]) == set(Excluded.__dataclass_fields__)


def test_stale_result_round_trips_and_unknown_status_is_refused() -> None:
    stale = stale_result(None, "kr-test", "down")
    assert KrResult.from_dict(json.loads(json.dumps(stale.to_dict()))) == stale
    with pytest.raises(ValueError, match="unknown status"):
        KrResult.from_dict({**stale.to_dict(), "status": "green"})
