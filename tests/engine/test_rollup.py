"""Objective roll-ups: weights, alignment, staleness, cycles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from mappings.engine import KrResult, Status, stale_result
from mappings.rollup import ObjectiveResult, rollup
from mappings.schema import Objective
from tests.engine.factories import AFTER, BEFORE, HALF_WAY, NOVEMBER, THRESHOLDS


def objective(objective_id: str, krs: dict[str, float] | None = None, **extra: Any) -> Objective:
    key_results = [
        {"id": kr_id, "title": kr_id, "weight": weight, "measure": {"kind": "manual", "value": 0}}
        for kr_id, weight in (krs or {}).items()
    ]
    return Objective.model_validate(
        {
            "id": objective_id,
            "title": objective_id,
            "period": "2026-M11",
            "key_results": key_results,
            **extra,
        }
    )


def result(kr_id: str, progress: float | None, status: Status = "on_track") -> KrResult:
    return KrResult(kr_id=kr_id, progress=progress, expected=0.5, status=status, score=progress)


def roll(
    objectives: list[Objective], results: list[KrResult], now: datetime = HALF_WAY
) -> dict[str, ObjectiveResult]:
    return rollup(
        {o.id: o for o in objectives},
        {r.kr_id: r for r in results},
        period_of=lambda _: NOVEMBER,
        now=now,
        thresholds_of=lambda _: THRESHOLDS,
    )


def test_kr_weights_make_a_weighted_mean() -> None:
    out = roll([objective("o", {"a": 1, "b": 3})], [result("a", 1.0), result("b", 0.2)])
    assert out["o"].progress == pytest.approx((1.0 + 3 * 0.2) / 4)
    assert out["o"].score == 0.4
    assert out["o"].status == "on_track"  # 0.4 is exactly 0.5 expected - 0.1 at_risk_behind
    assert out["o"].key_results == ("a", "b")
    assert not out["o"].partially_stale


def test_parent_objective_averages_its_children_by_their_weights() -> None:
    objectives = [
        objective("parent"),
        objective("one", {"a": 1}, parent="parent", weight=1),
        objective("two", {"b": 1}, parent="parent", weight=2),
    ]
    out = roll(objectives, [result("a", 0.4), result("b", 0.7)])
    assert out["parent"].progress == pytest.approx((0.4 + 2 * 0.7) / 3)
    assert out["parent"].children == ("one", "two")
    assert out["parent"].status == "on_track"


def test_parent_with_its_own_krs_and_a_child() -> None:
    objectives = [objective("top", {"own": 1}), objective("child", {"c": 1}, parent="top")]
    out = roll(objectives, [result("own", 1.0), result("c", 0.0)])
    assert out["top"].progress == pytest.approx(0.5)


def test_unknown_kr_is_left_out_and_marks_the_objective_partially_stale() -> None:
    objectives = [objective("o", {"a": 1, "b": 3})]
    out = roll(objectives, [result("a", 0.8), stale_result(None, "b", "down")])
    assert out["o"].progress == pytest.approx(0.8)
    assert out["o"].partially_stale
    assert out["o"].stale_krs == ("b",)


def test_stale_kr_with_a_kept_value_counts_it() -> None:
    kept = stale_result(result("b", 0.0), "b", "down")
    out = roll([objective("o", {"a": 1, "b": 1})], [result("a", 0.8), kept])
    assert out["o"].progress == pytest.approx(0.4)
    assert out["o"].partially_stale and out["o"].stale_krs == ("b",)


def test_a_missing_result_counts_as_unknown() -> None:
    out = roll([objective("o", {"a": 1, "b": 1})], [result("a", 0.6)])
    assert out["o"].progress == pytest.approx(0.6)
    assert out["o"].stale_krs == ("b",)


def test_staleness_carries_up_to_parents() -> None:
    objectives = [objective("top", {"own": 1}), objective("child", {"c": 1}, parent="top")]
    out = roll(objectives, [result("own", 0.5), stale_result(None, "c", "down")])
    assert out["child"].progress is None and out["child"].status == "stale"
    assert out["top"].progress == pytest.approx(0.5)
    assert out["top"].partially_stale and out["top"].stale_krs == ("c",)


def test_objective_with_nothing_to_measure_has_no_progress() -> None:
    out = roll([objective("empty")], [])
    assert out["empty"].progress is None
    assert out["empty"].status == "not_started"
    assert not out["empty"].partially_stale


@pytest.mark.parametrize(
    ("now", "status"), [(BEFORE, "not_started"), (HALF_WAY, "on_track"), (AFTER, "off_track")]
)
def test_objective_status_follows_its_period(now: datetime, status: str) -> None:
    out = roll([objective("o", {"a": 1})], [result("a", 0.5)], now=now)
    assert out["o"].status == status


def test_done_objective() -> None:
    out = roll([objective("o", {"a": 1, "b": 1})], [result("a", 1.0), result("b", 1.0)])
    assert out["o"].status == "done"


def test_a_parent_cycle_is_an_error_not_a_hang() -> None:
    objectives = [objective("a", parent="b"), objective("b", parent="a")]
    with pytest.raises(ValueError, match="cycle"):
        roll(objectives, [])


def test_objective_result_round_trips_through_json() -> None:
    objectives = [objective("top", {"own": 1}), objective("child", {"c": 1}, parent="top")]
    out = roll(objectives, [result("own", 0.5), stale_result(None, "c", "down")])
    for value in out.values():
        assert ObjectiveResult.from_dict(json.loads(json.dumps(value.to_dict()))) == value


def test_three_levels_of_alignment_with_weights() -> None:
    objectives = [
        objective("company"),
        objective("product", {"p1": 1}, parent="company", weight=3),
        objective("ops", {"o1": 1}, parent="company", weight=1),
        objective("mobile", {"m1": 2, "m2": 1}, parent="product", weight=1),
    ]
    results = [result("p1", 0.8), result("o1", 0.4), result("m1", 0.5), result("m2", 0.2)]
    out = roll(objectives, results)
    mobile = (2 * 0.5 + 0.2) / 3  # 0.4
    product = (0.8 + 1 * mobile) / 2  # its KR (weight 1) and its child (weight 1): 0.6
    assert out["mobile"].progress == pytest.approx(0.4)
    assert out["product"].progress == pytest.approx(product)
    assert out["company"].progress == pytest.approx((3 * product + 0.4) / 4)
    assert out["company"].children == ("ops", "product")


def test_a_stale_child_keeps_its_value_and_its_parent_says_so() -> None:
    objectives = [objective("top"), objective("child", {"c": 1}, parent="top")]
    kept = stale_result(result("c", 0.3), "c", "jira: 503")
    out = roll(objectives, [kept])
    assert out["child"].progress == pytest.approx(0.3)
    assert out["top"].progress == pytest.approx(0.3)
    assert out["top"].partially_stale and out["top"].stale_krs == ("c",)


def test_an_empty_child_objective_is_neither_counted_nor_stale() -> None:
    objectives = [objective("top", {"own": 1}), objective("placeholder", parent="top", weight=5)]
    out = roll(objectives, [result("own", 0.6)])
    assert out["placeholder"].status == "not_started"
    assert out["top"].progress == pytest.approx(0.6)
    assert not out["top"].partially_stale


def test_over_achievement_carries_into_the_objective() -> None:
    out = roll([objective("o", {"a": 1, "b": 1})], [result("a", 1.2), result("b", 0.6)])
    assert out["o"].progress == pytest.approx(0.9)
    assert out["o"].score == 0.9
