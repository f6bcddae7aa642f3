"""Incremental reads against an in-memory tracker: the clock-skew margin, the periodic full
reconcile, dry runs that leave the next cycle alone, and a cycle dying after its writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from okrsync.config.settings import SyncSettings
from okrsync.sync.cycle import CycleHooks
from okrsync.sync.report import WriteReport
from tests.cycle.conftest import DONE, MakeWorld, World


def _tracker_lags(world: World, behind: timedelta) -> None:
    """The tracker's clock runs ``behind`` okrsync's (it stamps changes in its own time)."""
    world.tracker.now = world.now - behind


@pytest.mark.parametrize(("skew", "seen"), [(300.0, True), (0.0, False)])
def test_the_clock_skew_margin_catches_changes_stamped_by_a_slower_clock(
    make_world: MakeWorld, skew: float, seen: bool
) -> None:
    world = make_world()
    world.settings = SyncSettings(clock_skew_seconds=skew)
    world.cycle()
    _tracker_lags(world, timedelta(minutes=2))
    world.tracker.change("A-3", status_category=DONE)  # stamped before the last read began
    report = world.cycle()
    assert report.mode == "incremental"
    progress = world.kr(report, "kr-points").result.progress
    # Without the margin the change is missed (the count does not move); with it, it is read.
    assert progress == (10 / 18 if seen else 8 / 18)


def test_the_periodic_full_read_settles_what_incremental_reads_cannot_see(world: World) -> None:
    world.settings = SyncSettings(full_reconcile_hours=1)
    world.cycle()
    # An edit that leaves the update time alone: no incremental read can see it.
    item = world.tracker.items["id-A-3"]
    world.tracker.items[item.id] = replace(item, status="Done", status_category=DONE)
    modes = []
    for _ in range(3):
        report = world.cycle()
        modes.append(report.mode)
        assert world.kr(report, "kr-points").result.progress == 8 / 18
    world.tracker.calls.fetches.clear()
    report = world.cycle()  # an hour after the first full read
    assert modes == ["incremental"] * 3
    assert report.mode == "full"
    assert all(request.since is None for request in world.tracker.calls.fetches)
    assert world.kr(report, "kr-points").result.progress == 10 / 18
    assert world.store.last_run().mode == "full"  # type: ignore[union-attr]
    assert world.cycle().mode == "incremental"


def test_a_count_mismatch_makes_the_run_a_full_one(world: World) -> None:
    world.cycle()
    world.tracker.delete("A-4")
    report = world.cycle()
    assert report.mode == "full"
    assert world.store.last_run().mode == "full"  # type: ignore[union-attr]


def test_a_dry_run_leaves_nothing_the_next_cycle_would_notice(world: World) -> None:
    world.cycle()
    world.tracker.change("A-3", status_category=DONE)
    marks = {key: world.store.get_scope_mark(key) for key in world.store.scope_keys()}
    ledger = world.store.ledger()
    latest = world.store.latest_kr_results()
    dry = world.cycle(dry_run=True)
    # The numbers that do not move with the clock between the two cycles.
    steady = ("OKR Progress", "OKR Status")
    planned = {(w.target, w.field, w.after) for w in dry.writes if w.field in steady}
    assert ("OKR-1", "OKR Progress", 55.6) in planned
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4
    assert {key: world.store.get_scope_mark(key) for key in world.store.scope_keys()} == marks
    assert world.store.ledger() == ledger
    assert world.store.latest_kr_results() == latest
    real = world.cycle()
    applied = {(w.target, w.field, w.after) for w in real.applied_writes if w.field in steady}
    assert planned == applied
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 55.6


class DiesAfterWriting(CycleHooks):
    """The process stops (SIGTERM, Ctrl-C) right after the writes reached the tracker."""

    def wrote(self, write: WriteReport) -> None:
        raise KeyboardInterrupt


def test_a_cycle_dying_after_its_writes_leaves_them_in_the_ledger(make_world: MakeWorld) -> None:
    world = make_world(flags="manual_override: true")
    with pytest.raises(KeyboardInterrupt):
        world.cycle(hooks=DiesAfterWriting())
    assert world.store.last_run().outcome == "failed"  # type: ignore[union-attr]
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4
    written = {(e.target, e.field) for e in world.store.ledger() if e.kind == "write"}
    assert ("OKR-1", "OKR Progress") in written
    world.tracker.change("A-3", status_category=DONE)
    report = world.cycle()
    # okrsync's own 44.4 is not taken for a person's value: the KR follows the tracker.
    kr = world.kr(report, "kr-points")
    assert (kr.override, kr.result.progress) == (None, 10 / 18)
    assert report.conflicts == []
    assert "skipped_manual_override" not in {e.kind for e in world.store.ledger()}
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 55.6
