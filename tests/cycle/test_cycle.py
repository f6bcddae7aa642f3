"""The sync cycle against an in-memory tracker: results, writes, holds, conflicts, staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from okrsync.config.settings import SyncSettings
from okrsync.errors import UserError
from tests.cycle.conftest import DONE, IN_PROGRESS, TODO, MakeWorld, World

EXPECTED = 0.5 + 15 / 60 / 24 / 92  # the first cycle runs 15 minutes after mid-quarter


def test_first_cycle_computes_and_writes_every_named_field(world: World) -> None:
    report = world.cycle()
    points = world.kr(report, "kr-points").result
    assert (points.progress, points.done_points, points.total_points) == (8 / 18, 8.0, 18.0)
    assert points.status == "on_track"
    count = world.kr(report, "kr-count").result
    assert (count.progress, count.status) == (0.25, "off_track")  # just over 25 points behind
    fields = world.tracker.fields
    assert fields[("OKR-1", "OKR Progress")] == 44.4
    assert fields[("OKR-1", "OKR Status")] == "On track"
    assert fields[("OKR-1", "OKR Expected")] == round(EXPECTED * 100, 1)
    assert fields[("OKR-1", "OKR Summary")] == "44.4% (8/18 pts) · on track · expected 50.0%"
    assert fields[("OKR-2", "OKR Progress")] == 25.0
    assert fields[("OKR-2", "OKR Status")] == "Off track"
    assert fields[("OKR-2", "OKR Last Synced")] == world.now
    assert len(report.applied_writes) == 2 * 5 + 2  # five fields and the issue property each
    assert report.outcome == "ok"
    objective = report.objectives[0].result
    assert objective.progress == pytest.approx((8 / 18 + 0.25) / 2)


def test_the_jira_issue_property_carries_the_result(world: World) -> None:
    world.cycle()
    prop = world.tracker.issue_properties[("OKR-2", "okrsync")]
    assert prop["kr"] == "kr-count"  # type: ignore[index]
    assert (prop["progress"], prop["status"], prop["done"], prop["total"]) == (  # type: ignore[index]
        0.25,
        "off_track",
        1,
        4,
    )


def test_second_cycle_over_unchanged_data_writes_nothing_and_reads_incrementally(
    world: World,
) -> None:
    world.cycle()
    properties = len(world.tracker.calls.properties)
    world.tracker.calls.writes.clear()
    world.tracker.calls.fetches.clear()
    report = world.cycle()
    assert report.writes == []
    assert world.tracker.calls.writes == []
    assert len(world.tracker.calls.properties) == properties
    assert all(request.since is not None for request in world.tracker.calls.fetches)
    assert report.mode == "incremental"


def test_a_change_in_the_tracker_is_picked_up_by_the_incremental_read(world: World) -> None:
    world.cycle()
    world.tracker.change("A-3", status_category=DONE)
    world.tracker.calls.fetches.clear()
    report = world.cycle()
    assert world.kr(report, "kr-points").result.progress == 10 / 18
    assert all(request.since is not None for request in world.tracker.calls.fetches)
    written = {(w.target, w.field): (w.before, w.after) for w in report.writes}
    assert written[("OKR-1", "OKR Progress")] == (44.4, 55.6)
    assert ("OKR-2", "OKR Progress") not in written


def test_a_deleted_item_is_found_by_the_count_and_read_in_full(world: World) -> None:
    world.cycle()
    world.tracker.delete("A-4")
    world.tracker.calls.fetches.clear()
    report = world.cycle()
    assert world.kr(report, "kr-points").result.progress == 8 / 10
    full = [r for r in world.tracker.calls.fetches if r.since is None]
    assert [r.scope.epics for r in full] == [("EP-1",)]  # type: ignore[union-attr]


def test_an_item_moved_between_epics_leaves_one_and_joins_the_other(world: World) -> None:
    world.cycle()
    world.tracker.change("B-1", parent_key="EP-1", parent_id="id-EP-1", estimate=2.0)
    report = world.cycle()
    assert world.kr(report, "kr-points").result.progress == 10 / 20
    assert world.kr(report, "kr-count").result.progress == 0.0


def test_an_unreachable_tracker_keeps_the_last_results_stale_and_writes_nothing(
    world: World,
) -> None:
    first = world.cycle()
    health = world.store.source_health()["jira:main"]
    world.tracker.down = True
    world.tracker.calls.writes.clear()
    report = world.cycle()
    assert world.tracker.calls.writes == []
    assert report.writes == []
    for kr_id in ("kr-points", "kr-count"):
        kept = world.kr(report, kr_id)
        assert kept.stale
        assert kept.result.progress == world.kr(first, kr_id).result.progress
        assert "unreachable" in (kept.result.stale_reason or "")
    assert report.objectives[0].result.partially_stale
    assert report.failed_sources == ["jira:main"]
    assert report.outcome == "failed"
    after = world.store.source_health()["jira:main"]
    assert not after.up
    assert after.last_success_at == health.last_success_at
    assert world.store.latest_kr_results()["kr-points"]["status"] == "stale"


def test_recovery_after_an_outage_writes_again(world: World) -> None:
    world.cycle()
    world.tracker.down = True
    world.cycle()
    world.tracker.down = False
    world.tracker.change("B-2", status_category=DONE)
    report = world.cycle()
    assert world.kr(report, "kr-count").result.progress == 0.5
    assert report.outcome == "ok"
    assert world.tracker.fields[("OKR-2", "OKR Progress")] == 50.0


def test_a_scope_that_comes_back_empty_is_held_until_forced(world: World) -> None:
    world.cycle()
    for key in ("A-1", "A-2", "A-3", "A-4"):
        world.tracker.delete(key)
    world.tracker.change("B-2", status_category=DONE)
    report = world.cycle()
    assert [(h.kr_id, h.previous, h.current) for h in report.held] == [("kr-points", 4, 0)]
    assert {w.target for w in report.writes} == {"OKR-2"}
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4
    assert world.kr(report, "kr-points").result.progress == 8 / 18  # the last good value
    held_rows = [e for e in world.store.ledger() if e.kind == "held"]
    # What the cycle computed is recorded: nothing to measure, no number.
    assert [(e.target, e.value_before, e.value_written) for e in held_rows] == [
        ("OKR-1", 44.4, None)
    ]
    again = world.cycle()
    assert [h.kr_id for h in again.held] == ["kr-points"]
    forced = world.cycle(force=True)
    assert forced.held == []
    # Confirmed, the empty scope is still nothing to measure: shown as unknown with its
    # reason, the last value kept in the tracker, and the cycle is not a success.
    kr = world.kr(forced, "kr-points")
    assert kr.unknown == "nothing to measure: the scope has no items"
    assert forced.partial
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4


def test_losing_more_than_the_threshold_share_is_held_and_less_is_not(world: World) -> None:
    world.cycle()
    world.tracker.delete("A-4")
    assert world.cycle().held == []  # lost 1 of 4
    world.tracker.delete("A-3")
    world.tracker.delete("A-2")
    report = world.cycle()  # lost 2 of 3: more than half
    assert [(h.previous, h.current) for h in report.held] == [(3, 1)]
    lenient = SyncSettings(drop_threshold=0.9)
    assert world.cycle(settings=lenient).held == []


def test_allow_drop_writes_a_shrunken_scope_but_never_an_empty_one(make_world: MakeWorld) -> None:
    world = make_world(flags="allow_drop: true")
    world.cycle()
    for key in ("A-2", "A-3", "A-4"):
        world.tracker.delete(key)
    report = world.cycle()
    assert report.held == []
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 100.0  # A-1 (done) is left
    world.tracker.delete("A-1")
    emptied = world.cycle()
    assert emptied.held == []
    assert world.kr(emptied, "kr-points").unknown == "nothing to measure: the scope has no items"
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 100.0


def test_a_persons_edit_is_overwritten_and_recorded_as_a_conflict(world: World) -> None:
    world.cycle()
    world.tracker.fields[("OKR-1", "OKR Progress")] = 90.0
    report = world.cycle()
    assert [(c.target, c.field, c.ours, c.theirs, c.resolution) for c in report.conflicts] == [
        ("OKR-1", "OKR Progress", 44.4, 90.0, "overwritten")
    ]
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4
    conflicts = [e for e in world.store.ledger() if e.kind == "conflict"]
    assert [(e.value_before, e.value_written) for e in conflicts] == [(44.4, 90.0)]
    assert world.cycle().conflicts == []


def test_manual_override_keeps_a_persons_progress(make_world: MakeWorld) -> None:
    world = make_world(flags="manual_override: true")
    world.cycle()
    world.tracker.fields[("OKR-1", "OKR Progress")] = 90.0
    report = world.cycle()
    kr = world.kr(report, "kr-points")
    assert (kr.result.progress, kr.override, kr.result.status) == (0.9, 0.9, "on_track")
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 90.0
    assert ("OKR-1", "OKR Progress") not in {(w.target, w.field) for w in report.writes}
    assert str(world.tracker.fields[("OKR-1", "OKR Summary")]).startswith("90.0%")
    assert [(c.theirs, c.resolution) for c in report.conflicts] == [(90.0, "kept")]
    kinds = [e.kind for e in world.store.ledger()]
    assert kinds.count("conflict") == 1 and kinds.count("skipped_manual_override") == 1
    later = world.cycle()
    assert later.conflicts == []
    assert world.kr(later, "kr-points").result.progress == 0.9
    assert later.writes == []
    # Clearing the field hands it back to okrsync.
    world.tracker.fields[("OKR-1", "OKR Progress")] = None
    world.cycle()
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4


def test_dry_run_plans_but_sends_and_records_nothing(world: World) -> None:
    report = world.cycle(dry_run=True)
    assert world.kr(report, "kr-points").result.progress == 8 / 18
    assert report.writes and not any(w.applied for w in report.writes)
    assert world.tracker.calls.writes == [] and world.tracker.calls.properties == []
    assert world.store.latest_kr_results() == {}
    assert world.store.last_run().outcome == "dry_run"  # type: ignore[union-attr]
    real = world.cycle()
    assert len(real.applied_writes) == len(report.writes)


def test_only_one_key_result(world: World) -> None:
    report = world.cycle(only="kr-count")
    assert [k.kr_id for k in report.key_results] == ["kr-count"]
    assert {r.scope.epics for r in world.tracker.calls.fetches} == {("EP-2",)}  # type: ignore[union-attr]
    assert {w.target for w in report.writes} == {"OKR-2"}
    with pytest.raises(UserError, match="no key result 'nope'"):
        world.cycle(only="nope")


def test_history_feeds_a_forecast(world: World) -> None:
    world.cycle()
    for key in ("A-3", "A-4"):
        world.tracker.change(key, status_category=DONE)
        world.cycle(advance=timedelta(days=2))
    report = world.cycle(advance=timedelta(days=1))
    forecast = world.kr(report, "kr-points").forecast
    assert forecast is not None and forecast.projected_progress == 1.0
    count = world.kr(report, "kr-count").forecast
    assert count is not None and count.projected_progress == 0.25  # no throughput
    history = world.store.kr_history("kr-points")
    assert [round(s.progress or 0, 3) for s in history] == [0.444, 0.556, 1.0, 1.0]


def test_checkins_comment_once_per_status_change(make_world: MakeWorld) -> None:
    world = make_world(flags="checkins: true")
    world.cycle()
    assert world.tracker.calls.comments == []  # the first status is only remembered
    world.tracker.change("A-3", status_category=DONE)
    world.tracker.change("A-4", status_category=DONE)
    dry = world.cycle(advance=timedelta(minutes=1), dry_run=True)
    assert [c.posted for c in dry.checkins] == [False]
    assert world.tracker.calls.comments == []
    report = world.cycle()
    assert [(c.previous, c.status, c.posted) for c in report.checkins] == [
        ("on_track", "done", True)
    ]
    ((target, text),) = world.tracker.calls.comments
    assert target == "OKR-1"
    assert "now Done (was On track)" in text
    assert "A-4: To Do → Done" in text and "A-3: In Progress → Done" in text
    assert "Progress 100.0% (4/4 items done): finished." in text
    world.cycle()
    assert len(world.tracker.calls.comments) == 1


def test_a_closed_period_is_computed_through_its_grace_then_final(world: World) -> None:
    world.cycle()
    world.tracker.change("B-2", status_category=DONE)
    # Two days after 2026-Q4 closed: inside the default 14-day grace period.
    world.now = datetime(2027, 1, 2, tzinfo=UTC)
    closing = world.cycle()
    kr = world.kr(closing, "kr-count")
    assert not kr.final and kr.final_on == datetime(2027, 1, 15, tzinfo=UTC)
    assert world.tracker.fields[("OKR-2", "OKR Progress")] == 50.0
    world.tracker.change("B-3", status_category=DONE)  # closed a day late: still counts
    late = world.cycle()
    assert world.kr(late, "kr-count").result.progress == 0.75
    assert world.tracker.fields[("OKR-2", "OKR Progress")] == 75.0
    world.now = datetime(2027, 1, 15, 1, tzinfo=UTC)
    last = world.cycle()
    kr = world.kr(last, "kr-count")
    assert kr.final and kr.final_since == world.now
    world.tracker.change("B-2", status_category=TODO)
    world.tracker.calls.fetches.clear()
    later = world.cycle()
    assert world.tracker.calls.fetches == []  # final: the scope is not read again
    assert later.writes == []
    kr = world.kr(later, "kr-count")
    assert kr.frozen and kr.final and kr.result.progress == 0.75
    assert kr.final_since == last.started_at


def test_a_final_field_a_person_edits_is_noticed_and_repaired(world: World) -> None:
    world.cycle()
    world.now = datetime(2027, 2, 1, tzinfo=UTC)
    world.cycle()  # past the grace period: final
    world.tracker.fields[("OKR-2", "OKR Progress")] = 90.0
    del world.tracker.issue_properties[("OKR-2", "okrsync")]
    report = world.cycle()
    assert [(c.target, c.field, c.ours, c.theirs) for c in report.conflicts] == [
        ("OKR-2", "OKR Progress", 25.0, 90.0)
    ]
    assert world.tracker.fields[("OKR-2", "OKR Progress")] == 25.0
    assert world.tracker.issue_properties[("OKR-2", "okrsync")]["kr"] == "kr-count"
    assert world.cycle().writes == []


def test_recompute_final_reads_a_closed_period_again(world: World) -> None:
    world.cycle()
    world.now = datetime(2027, 2, 1, tzinfo=UTC)
    first = world.cycle()
    assert world.kr(first, "kr-count").final
    world.tracker.change("B-2", status_category=DONE)
    assert world.cycle().writes == []  # final: the late change is not read
    again = world.cycle(recompute_final=True)
    kr = world.kr(again, "kr-count")
    assert kr.result.progress == 0.5 and kr.final and kr.final_since == again.started_at
    assert world.tracker.fields[("OKR-2", "OKR Progress")] == 50.0


def test_a_longer_grace_period_keeps_computing(world: World) -> None:
    world.cycle()
    world.now = datetime(2027, 2, 1, tzinfo=UTC)
    report = world.cycle(settings=SyncSettings(final_after_days=60))
    assert not world.kr(report, "kr-count").final


def test_a_deleted_property_is_written_again(world: World) -> None:
    world.cycle()
    del world.tracker.issue_properties[("OKR-1", "okrsync")]
    report = world.cycle()
    assert [(w.target, w.role, w.before) for w in report.writes] == [("OKR-1", "property", None)]
    assert world.tracker.issue_properties[("OKR-1", "okrsync")]["kr"] == "kr-points"


def test_in_progress_items_change_nothing_for_a_count_without_credit(world: World) -> None:
    world.cycle()
    world.tracker.change("B-2", status_category=IN_PROGRESS)
    report = world.cycle()
    assert report.writes == []


EPICS_TARGET = """
version: 1
defaults:
  write:
    fields: {progress: OKR Progress}
    progress_format: ratio
objectives:
  - id: obj
    title: Ship things
    period: 2026-Q4
    key_results:
      - id: kr-both
        title: Both epics
        scope: {kind: jira_epics, epics: [EP-1, EP-2]}
        measure: {kind: count}
        write: [{kind: jira_epics}, {kind: jira_issue, key: EP-2}]
        flags: {%(flags)s}
"""


def test_a_jira_epics_target_writes_onto_each_epic_of_the_scope(make_world: MakeWorld) -> None:
    world = make_world(mapping=EPICS_TARGET)
    report = world.cycle()
    assert world.kr(report, "kr-both").result.progress == 3 / 8
    assert world.tracker.fields == {
        ("EP-1", "OKR Progress"): 0.375,
        ("EP-2", "OKR Progress"): 0.375,
    }
    assert sorted(w.target for w in report.writes if w.field == "OKR Progress") == ["EP-1", "EP-2"]


def test_a_checkin_says_why_the_status_changed(make_world: MakeWorld) -> None:
    world = make_world(flags="checkins: true")
    world.cycle()
    world.tracker.change("A-1", status_category=TODO)
    world.cycle()
    ((_, text),) = world.tracker.calls.comments
    assert text.splitlines() == [
        "okrsync check-in: Ship the points epic is now At risk (was On track).",
        "Progress 27.8% (1/4 items done) against an expected 50.0%: 22.2 points behind the "
        "pace (at risk from 10 points behind, off track from 25).",
        "Progress moved from 44.4% to 27.8% since the last cycle.",
        "What moved since the last cycle:",
        "- A-1: Done → To Do",
    ]


def test_a_checkin_when_only_time_moved_says_so(make_world: MakeWorld) -> None:
    world = make_world(flags="checkins: true")
    world.cycle()
    world.cycle(advance=timedelta(days=10))  # expected grows from 50% to about 61%
    ((_, text),) = world.tracker.calls.comments
    assert "is now At risk (was On track)" in text
    assert "Progress did not move since the last cycle; the expected pace did." in text
    assert "What moved" not in text


def test_the_forecast_gives_a_projected_completion_day(world: World) -> None:
    world.cycle()  # kr-count: 1 of 4 done on 2026-11-16
    world.tracker.change("B-2", status_category=DONE)
    world.cycle(advance=timedelta(days=2))
    world.tracker.change("B-3", status_category=DONE)
    report = world.cycle(advance=timedelta(days=2))  # 3 of 4 on 2026-11-20: 1/8 a day
    forecast = world.kr(report, "kr-count").forecast
    assert forecast is not None
    assert forecast.throughput_per_day == pytest.approx(0.125)
    assert forecast.projected_completion is not None
    assert forecast.projected_completion.isoformat() == "2026-11-22"
    assert forecast.projected_progress == 1.0
    summary = world.tracker.fields[("OKR-2", "OKR Summary")]
    assert summary == "75.0% (3/4 items) · on track · expected 54.4% · forecast done by 2026-11-22"
