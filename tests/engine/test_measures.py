"""Each measure and option on hand-computed examples (mostly the demo data set)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from mappings.engine import KrResult, evaluate_kr
from mappings.items import Source, StatusCategory, WorkItem
from mappings.measures import emptiness
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


def test_points_all_zero_or_unestimated_is_unknown_not_zero() -> None:
    items = [item("PAY-2", DONE, estimate=0.0), item("PAY-3")]
    result = run(kr({"kind": "points"}), items)
    assert (result.progress, result.score, result.status) == (None, None, "stale")
    assert result.total_points == 0
    assert result.stale_reason == (
        "nothing to measure: the scope's 2 item(s) have no points in 'Story Points'"
    )


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


@pytest.mark.parametrize("kind", ["count", "points", "milestone"])
def test_zero_items_is_unknown_progress_not_zero(kind: str) -> None:
    result = run(kr({"kind": kind}), [])
    assert (result.progress, result.score, result.status) == (None, None, "stale")
    assert (result.total_count, result.scope_count) == (0, 0)
    assert result.stale_reason == "nothing to measure: the scope has no items"
    assert "the scope returned no items" in result.notes


@pytest.mark.parametrize(
    ("measure", "meaning"),
    [
        ({"kind": "count"}, "unknown"),
        ({"kind": "points"}, "unknown"),
        ({"kind": "milestone"}, "unknown"),
        ({"kind": "metric", "start": 20, "target": 0}, "expected"),
        (
            {"kind": "metric", "aggregate": "sum", "field": "Bugs", "start": 9, "target": 2},
            "expected",
        ),
        ({"kind": "metric", "start": 0, "target": 50}, "suspicious"),
        (
            {"kind": "metric", "aggregate": "avg", "field": "Age", "start": 9, "target": 2},
            "unknown",
        ),
        ({"kind": "maintain", "max": 3}, "expected"),
        ({"kind": "maintain", "min": 0, "max": 3}, "expected"),
        ({"kind": "maintain", "min": 2}, "suspicious"),
        ({"kind": "maintain", "min": 1, "max": 4}, "suspicious"),
    ],
)
def test_what_an_empty_scope_means_follows_the_measure(
    measure: dict[str, Any], meaning: str
) -> None:
    parsed = kr(measure).measure
    assert emptiness(parsed) == meaning
    result = run(kr(measure), [])
    # Only a measure that cannot count nothing has unknown progress.
    assert (result.progress is None) == (meaning == "unknown")


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


def test_milestone_with_no_items_is_not_a_milestone_reached_or_missed() -> None:
    result = run(kr({"kind": "milestone"}), [])
    assert result.progress is None
    assert result.stale_reason == "nothing to measure: the scope has no items"


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


# --------------------------------------------------------------------------- data slips


@pytest.mark.parametrize(
    ("policy", "done_points", "total_points"),
    # PAY-5 (NaN) is done: it adds its counted estimate to both sides.
    [("ignore", 3, 8), ("mean", 3 + 4, 8 + 4 + 4), (2, 3 + 2, 8 + 2 + 2)],
)
def test_negative_or_nan_estimates_count_as_unestimated(
    policy: object, done_points: float, total_points: float
) -> None:
    items = [
        item("PAY-2", DONE, estimate=3.0),
        item("PAY-3", estimate=5.0),
        item("PAY-4", estimate=-5.0),
        item("PAY-5", DONE, estimate=float("nan")),
    ]
    result = run(kr({"kind": "points", "unestimated": policy}), items)
    # The mean is taken over the valid estimates only: (3 + 5) / 2 = 4.
    assert (result.done_points, result.total_points) == (done_points, total_points)
    if policy == "ignore":
        assert (
            reasons(result)["PAY-4"]
            == "negative estimate -5 treated as unestimated (policy: ignore)"
        )
        assert reasons(result)["PAY-5"] == "unestimated (policy: ignore)"
    else:
        pay4 = next(e for e in result.evidence if e.key == "PAY-4")
        assert "negative estimate -5 treated as unestimated" in pay4.note


def test_finishing_an_item_with_a_negative_estimate_never_lowers_progress() -> None:
    before = [
        item("PAY-2", DONE, estimate=1.0),
        item("PAY-3", estimate=3.0),
        item("PAY-4", estimate=-2.0),
    ]
    after = [*before[:2], replace(before[2], status_category=DONE, status="Done")]
    measure = {"kind": "points", "unestimated": 0}
    assert run(kr(measure), before).progress == pytest.approx(1 / 4)
    assert run(kr(measure), after).progress == pytest.approx(1 / 4)


# --------------------------------------------------------------------------- several scopes

TB_PARENT = {"kind": "teambition_parent", "task": "tb-task-onboarding"}


def tb_onboarding() -> list[WorkItem]:
    """The demo's Teambition parent task and its six sub-tasks (first three done)."""
    points = [3.0, 5.0, 2.0, None, 8.0, 1.0]
    parent = item(
        "tb-task-onboarding", DOING, source=Source.TEAMBITION, item_id="tb-task-onboarding"
    )
    children = [
        item(
            f"MOB-{n + 1}",
            DONE if n < 3 else TODO,
            estimate=estimate,
            source=Source.TEAMBITION,
            item_id=f"tb-sub-{n + 1}",
            parent_id="tb-task-onboarding",
        )
        for n, estimate in enumerate(points)
    ]
    return [parent, *children]


def test_a_kr_over_jira_and_teambition_counts_both_pools() -> None:
    scopes = [{"kind": "jira_epics", "epics": ["PAY-1"]}, TB_PARENT]
    items = demo_pay1() + tb_onboarding()
    counted = run(kr({"kind": "count"}, scope=scopes), items)
    # Jira: 4 of 8 stories done; Teambition: 3 of 6 sub-tasks done.
    assert (counted.done_count, counted.total_count) == (7, 14)
    assert counted.progress == 0.5
    assert reasons(counted)["tb-task-onboarding"] == "the parent task itself"
    points = run(kr({"kind": "points"}, scope=scopes), items)
    # Jira 18 of 27 points (PAY-7 unestimated); Teambition 3+5+2 of 3+5+2+8+1.
    assert (points.done_points, points.total_points) == (18 + 10, 27 + 19)


def test_scope_parents_are_left_out_only_in_their_own_tracker() -> None:
    # A Teambition task whose key reads like the Jira epic is another item entirely.
    look_alike = item("PAY-1", DONE, source=Source.TEAMBITION, item_id="tb-look-alike")
    scopes = [{"kind": "jira_epics", "epics": ["PAY-1"]}, TB_PARENT]
    result = run(kr({"kind": "count"}, scope=scopes), [*demo_pay1(), look_alike])
    assert "tb-look-alike" in {e.item_id for e in result.evidence}
    assert (result.done_count, result.total_count) == (5, 9)


def test_an_epic_nested_in_another_listed_epic_is_not_a_child() -> None:
    nested = item("PAY-20", DOING, is_epic=True, parent_key="PAY-1", type="Epic")
    scope = {"kind": "jira_epics", "epics": ["PAY-1", "PAY-20"]}
    result = run(kr({"kind": "count"}, scope=scope), [*demo_pay1(), nested])
    assert reasons(result)["PAY-20"] == "the epic itself"
    assert result.total_count == 8


def test_an_item_returned_by_two_scopes_counts_once() -> None:
    scopes = [
        {"kind": "jira_epics", "epics": ["PAY-1"]},
        {"kind": "jira_issues", "issues": ["PAY-2"]},
    ]
    again = item("PAY-2", DONE, estimate=3.0, parent_key="PAY-1", parent_id="id-PAY-1")
    result = run(kr({"kind": "count"}, scope=scopes), [*demo_pay1(), again])
    assert (result.done_count, result.total_count) == (4, 8)


# --------------------------------------------------------------------------- more edges


def test_maintain_with_only_a_minimum_is_met_at_the_boundary() -> None:
    at_min = run(maintain(min=11), demo_bugs())
    assert (at_min.value, at_min.progress, at_min.maintain_distance) == (11, 1.0, 0.0)
    inside = run(maintain(min=5, max=11), demo_bugs())
    assert inside.progress == 1.0


def test_metric_counting_zero_items() -> None:
    # Nothing open any more: 20 -> 5 is beaten, so the KR is done (clamped to 1).
    fewer = run(metric(only="open", start=20, target=5), [])
    assert (fewer.value, fewer.progress, fewer.status) == (0, 1.0, "done")
    more = run(metric(only="done", start=0, target=20), [])
    assert (more.value, more.progress) == (0, 0.0)
    assert "the scope returned no items" in more.notes


def test_metric_exactly_on_target_is_done() -> None:
    result = run(metric(only="done", start=0, target=9), demo_bugs())
    assert (result.progress, result.status) == (1.0, "done")


def test_numbers_too_large_to_add_up_are_unknown_not_a_crash() -> None:
    huge = [item(f"PAY-{n}", fields={"Revenue": 1e308}) for n in (2, 3)]
    measure = {"aggregate": "sum", "field": "Revenue", "start": 0, "target": 1e308}
    result = run(metric(**measure), huge)
    assert (result.progress, result.status) == (None, "stale")
    assert result.stale_reason == "the sum of 'Revenue' is too large to compute"
    tiny = run(kr({"kind": "manual", "value": 1e300, "start": 0, "target": 5e-324}, scope=[]), [])
    assert (tiny.progress, tiny.stale_reason) == (
        None,
        "start and target are too close to compute progress",
    )


def test_equally_recent_copies_give_one_answer_whatever_their_order() -> None:
    # Two scopes read in the same second may return an item before and after a change.
    when = datetime(2026, 11, 2, tzinfo=UTC)
    todo = item("PAY-2", TODO, updated=when)
    done = item("PAY-2", DONE, updated=when)
    first, second = (
        run(kr({"kind": "count"}), [todo, done]),
        run(kr({"kind": "count"}), [done, todo]),
    )
    assert first == second
    assert first.done_count == 1
