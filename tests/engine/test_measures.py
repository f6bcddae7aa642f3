"""Each measure and option on hand-computed examples (mostly the demo data set)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mappings.engine import KrResult, evaluate_kr
from mappings.items import Source, StatusCategory, WorkItem
from mappings.schema import KeyResult
from tests.engine.factories import (
    BUG_SCOPE,
    HALF_WAY,
    NOVEMBER,
    THRESHOLDS,
    demo_bugs,
    demo_pay1,
    item,
    kr,
)

DONE, DOING, TODO = StatusCategory.DONE, StatusCategory.IN_PROGRESS, StatusCategory.TODO
SUBTASKS_IN = {"kind": "jira_epics", "epics": ["PAY-1"], "include_subtasks": True}


def run(
    key_result: KeyResult, items: list[WorkItem], scope_epic_keys: tuple[str, ...] = ()
) -> KrResult:
    return evaluate_kr(
        key_result,
        items,
        period=NOVEMBER,
        now=HALF_WAY,
        thresholds=THRESHOLDS,
        scope_epic_keys=scope_epic_keys,
    )


def reasons(result: KrResult) -> dict[str, str]:
    return {excluded.key: excluded.reason for excluded in result.excluded}


# --------------------------------------------------------------------------- points


def test_points_ignore_leaves_unestimated_out_of_both_sides() -> None:
    result = run(kr({"kind": "points", "unestimated": "ignore"}), demo_pay1())
    assert result.done_points == 18
    assert result.total_points == 27
    assert result.progress == pytest.approx(18 / 27)
    assert result.score == 0.67
    assert (result.done_count, result.total_count, result.scope_count) == (4, 7, 11)
    assert reasons(result) == {
        "PAY-1": "the epic itself",
        "PAY-7": "unestimated (policy: ignore)",
        "PAY-10": "sub-task (include_subtasks: false)",
        "PAY-11": "sub-task (include_subtasks: false)",
    }
    assert [evidence.key for evidence in result.evidence] == [
        "PAY-2",
        "PAY-3",
        "PAY-4",
        "PAY-5",
        "PAY-6",
        "PAY-8",
        "PAY-9",
    ]


def test_points_mean_counts_unestimated_as_the_mean_estimate() -> None:
    result = run(kr({"kind": "points", "unestimated": "mean"}), demo_pay1())
    assert result.total_points == pytest.approx(27 + 27 / 7)
    assert result.progress == pytest.approx(18 / (27 + 27 / 7))
    pay7 = next(evidence for evidence in result.evidence if evidence.key == "PAY-7")
    assert pay7.estimate is None
    assert pay7.counted_estimate == pytest.approx(27 / 7)
    assert "mean" in pay7.note
    assert result.total_count == 8


def test_points_fixed_number_for_unestimated() -> None:
    result = run(kr({"kind": "points", "unestimated": 2}), demo_pay1())
    assert result.total_points == 29
    assert result.progress == pytest.approx(18 / 29)


def test_points_mean_with_nothing_estimated_counts_one_each() -> None:
    items = [item("PAY-2", DONE), item("PAY-3"), item("PAY-4")]
    result = run(kr({"kind": "points", "unestimated": "mean"}), items)
    assert result.total_points == 3
    assert result.progress == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("ignore", (18 + 0.5 * 3) / 27),
        ("mean", (18 + 0.5 * 3 + 0.5 * 27 / 7) / (27 + 27 / 7)),
        (2, (18 + 0.5 * 3 + 0.5 * 2) / 29),
    ],
)
def test_in_progress_credit_counts_half_of_items_in_progress(
    policy: object, expected: float
) -> None:
    measure = {"kind": "points", "unestimated": policy, "in_progress_credit": 0.5}
    result = run(kr(measure), demo_pay1())
    assert result.progress == pytest.approx(expected)
    assert result.done_points == 18  # credit moves progress, not the done tally
    pay6 = next(evidence for evidence in result.evidence if evidence.key == "PAY-6")
    assert pay6.contribution == pytest.approx(1.5)


def test_points_with_subtasks_included() -> None:
    result = run(kr({"kind": "points"}, scope=SUBTASKS_IN), demo_pay1())
    assert (result.done_points, result.total_points) == (19, 29)
    assert "PAY-10" not in reasons(result)


def test_points_field_value_wins_over_the_estimate() -> None:
    items = [
        item("PAY-2", DONE, estimate=1.0, fields={"Effort": 6.0}),
        item("PAY-3", estimate=1.0, fields={"Effort": 2.0}),
    ]
    result = run(kr({"kind": "points", "field": "Effort"}), items)
    assert result.progress == pytest.approx(6 / 8)


def test_points_all_zero_or_unestimated_is_zero_with_a_note() -> None:
    items = [item("PAY-2", DONE, estimate=0.0), item("PAY-3")]
    result = run(kr({"kind": "points"}), items)
    assert result.progress == 0.0
    assert result.total_points == 0
    assert any("no points" in note for note in result.notes)


# --------------------------------------------------------------------------- count


def test_count_done_over_all_without_subtasks_or_the_epic() -> None:
    result = run(kr({"kind": "count"}), demo_pay1())
    assert result.progress == 0.5
    assert (result.done_count, result.total_count) == (4, 8)
    assert result.done_points is None and result.total_points is None


def test_count_with_subtasks() -> None:
    result = run(kr({"kind": "count"}, scope=SUBTASKS_IN), demo_pay1())
    assert (result.done_count, result.total_count) == (5, 10)


def test_subtasks_count_when_any_scope_asks() -> None:
    scopes = [SUBTASKS_IN, {"kind": "jira_issues", "issues": ["PAY-30"]}]
    result = run(kr({"kind": "count"}, scope=scopes), demo_pay1())
    assert result.total_count == 10


def test_count_in_progress_credit() -> None:
    result = run(kr({"kind": "count", "in_progress_credit": 0.5}), demo_pay1())
    assert result.progress == pytest.approx((4 + 0.5 * 2) / 8)


def test_zero_items_is_zero_progress_with_a_note_not_an_error() -> None:
    result = run(kr({"kind": "count"}), [])
    assert result.progress == 0.0
    assert (result.total_count, result.scope_count) == (0, 0)
    assert "the scope returned no items" in result.notes


def test_an_epic_listed_in_its_own_scope_never_counts_itself() -> None:
    scope = {"kind": "jira_issues", "issues": ["PAY-1", "PAY-2", "PAY-8"]}
    items = [item("PAY-1", DONE, is_epic=True), item("PAY-2", DONE), item("PAY-8")]
    result = run(kr({"kind": "count"}, scope=scope), items, scope_epic_keys=("PAY-1",))
    assert result.progress == 0.5
    assert reasons(result) == {"PAY-1": "the epic itself"}


def test_duplicates_count_once_and_the_latest_copy_wins() -> None:
    old = item("PAY-2", TODO, updated=datetime(2026, 11, 1, tzinfo=UTC))
    new = item("PAY-2-moved", DONE, item_id="id-PAY-2", updated=datetime(2026, 11, 2))
    other_source = item("PAY-2", TODO, source=Source.TEAMBITION)
    result = run(kr({"kind": "count"}), [old, new, other_source, old])
    assert (result.done_count, result.total_count, result.scope_count) == (1, 2, 2)


# --------------------------------------------------------------------------- done rules


def test_done_by_statuses_is_case_insensitive() -> None:
    items = [item("PAY-2", DOING, status="in review"), item("PAY-3", DONE), item("PAY-4")]
    measure = {"kind": "count", "done": {"by": "statuses", "statuses": ["Done", "In Review"]}}
    assert run(kr(measure), items).done_count == 2
    only_review = {"kind": "count", "done": {"by": "statuses", "statuses": ["IN REVIEW"]}}
    assert run(kr(only_review), items).done_count == 1


def test_done_by_any_resolution() -> None:
    items = [
        item("PAY-2", TODO, resolution="Won't Do"),
        item("PAY-3", DONE, resolution=None),
        item("PAY-4", DONE),
    ]
    measure = {"kind": "count", "done": {"by": "resolution"}}
    result = run(kr(measure), items)
    assert [e.key for e in result.evidence if e.note == "done"] == ["PAY-2", "PAY-4"]


def test_done_by_listed_resolutions() -> None:
    items = [item("PAY-2", TODO, resolution="Won't Do"), item("PAY-3", DONE)]
    measure = {"kind": "count", "done": {"by": "resolution", "resolutions": ["done"]}}
    result = run(kr(measure), items)
    assert [e.key for e in result.evidence if e.note == "done"] == ["PAY-3"]


def test_in_progress_credit_goes_to_category_in_progress_only_if_not_done() -> None:
    items = [item("PAY-2", DOING, status="In Review"), item("PAY-3", DOING)]
    done_rule = {"by": "statuses", "statuses": ["In Review"]}
    measure = {"kind": "count", "done": done_rule, "in_progress_credit": 0.5}
    assert run(kr(measure), items).progress == pytest.approx((1 + 0.5) / 2)


# --------------------------------------------------------------------------- metric


def metric(**measure: object) -> KeyResult:
    return kr({"kind": "metric", **measure}, scope=BUG_SCOPE)


def test_decreasing_metric_open_bugs_20_to_5_with_11_open_is_0_6() -> None:
    result = run(metric(only="open", start=20, target=5), demo_bugs())
    assert result.value == 11
    assert result.progress == pytest.approx(0.6)
    assert (result.start, result.target) == (20, 5)
    assert sum(1 for e in result.excluded if e.reason == "done (only: open)") == 9


def test_increasing_metric_done_bugs() -> None:
    result = run(metric(only="done", start=0, target=20), demo_bugs())
    assert result.value == 9
    assert result.progress == pytest.approx(0.45)


def test_sum_metric_of_customer_impact_over_open_bugs() -> None:
    # Open bugs PAY-39..PAY-49 have impact 5,1,2,3,4,5,1,2,3,4,5.
    measure = {"aggregate": "sum", "field": "Customer Impact", "only": "open"}
    result = run(metric(**measure, start=60, target=0), demo_bugs())
    assert result.value == 35
    assert result.progress == pytest.approx(25 / 60)


def test_avg_metric() -> None:
    # Over all 20 bugs the impacts 1..5 appear four times each: mean 3.
    result = run(metric(aggregate="avg", field="Customer Impact", start=5, target=1), demo_bugs())
    assert result.value == 3
    assert result.progress == pytest.approx(0.5)


def test_value_metric_takes_the_single_item() -> None:
    scope = {"kind": "jira_issues", "issues": ["PAY-33"]}
    measure = {"kind": "metric", "aggregate": "value", "field": "Customer Impact"}
    key_result = kr({**measure, "start": 0, "target": 8}, scope=scope)
    result = run(key_result, [b for b in demo_bugs() if b.key == "PAY-33"])
    assert result.value == 4
    assert result.progress == pytest.approx(0.5)


def test_value_metric_with_two_items_is_unknown_not_zero() -> None:
    measure = {"aggregate": "value", "field": "Customer Impact"}
    result = run(metric(**measure, start=0, target=8), demo_bugs()[:2])
    assert result.progress is None and result.score is None
    assert result.status == "stale"
    assert "exactly one item" in (result.stale_reason or "")


def test_avg_metric_with_no_values_is_unknown() -> None:
    result = run(metric(aggregate="avg", field="Missing", start=5, target=1), demo_bugs())
    assert result.progress is None
    assert result.stale_reason == "no item in scope has a value for 'Missing'"
    assert reasons(result)["PAY-30"] == "no value for 'Missing'"


def test_metric_is_clamped_unless_over_achievement_is_allowed() -> None:
    beyond = metric(only="done", start=0, target=6)
    assert run(beyond, demo_bugs()).progress == 1.0
    capped = replace_flags(beyond, max_score=1.2)
    result = run(capped, demo_bugs())
    assert result.progress == pytest.approx(1.2)
    assert result.score == 1.2
    assert result.status == "done"


def test_metric_moving_the_wrong_way_is_zero() -> None:
    result = run(metric(only="open", start=5, target=0), demo_bugs())
    assert result.progress == 0.0


def replace_flags(key_result: KeyResult, **flags: object) -> KeyResult:
    return key_result.model_copy(update={"flags": key_result.flags.model_copy(update=flags)})


# --------------------------------------------------------------------------- maintain


def maintain(**bounds: float) -> KeyResult:
    return kr({"kind": "maintain", "only": "open", **bounds}, scope=BUG_SCOPE)


def test_maintain_met() -> None:
    result = run(maintain(max=15), demo_bugs())
    assert (result.value, result.progress, result.maintain_distance) == (11, 1.0, 0.0)
    assert result.status == "on_track"


@pytest.mark.parametrize(("bounds", "distance"), [({"max": 10}, 1.0), ({"min": 12}, 1.0)])
def test_maintain_not_met_reports_the_distance(bounds: dict[str, float], distance: float) -> None:
    result = run(maintain(**bounds), demo_bugs())
    assert result.progress == 0.0
    assert result.maintain_distance == distance
    assert result.status == "off_track"


# --------------------------------------------------------------------------- milestone, manual


def test_milestone_reached_only_when_every_item_is_done() -> None:
    stories = [item(f"PAY-{n}", DONE if n < 23 else TODO) for n in range(21, 26)]
    scope = {"kind": "jira_epics", "epics": ["PAY-20"]}
    open_result = run(kr({"kind": "milestone"}, scope=scope), stories)
    assert (open_result.progress, open_result.done_count, open_result.total_count) == (0.0, 2, 5)
    all_done = [replace(story, status_category=DONE) for story in stories]
    assert run(kr({"kind": "milestone"}, scope=scope), all_done).progress == 1.0


def test_milestone_with_no_items_is_not_reached() -> None:
    result = run(kr({"kind": "milestone"}), [])
    assert result.progress == 0.0
    assert result.notes


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        ({"value": 0.3}, 0.3),
        ({"value": 40, "start": 0, "target": 80}, 0.5),
        ({"value": 75, "start": 100, "target": 50}, 0.5),
        ({"value": 1.5}, 1.0),
    ],
)
def test_manual(measure: dict[str, float], expected: float) -> None:
    result = run(kr({"kind": "manual", **measure}, scope=[]), [])
    assert result.progress == pytest.approx(expected)
    assert result.value == measure["value"]
    assert result.notes == ()
