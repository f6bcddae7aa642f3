"""The daemon's schedule: ticks with bounded jitter, skipped ticks counted, hints batched."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from okrsync.service.scheduler import Hints, Ticks

T0 = datetime(2026, 12, 4, 10, 0, 7, tzinfo=UTC)


def test_the_first_cycle_runs_at_once_and_the_next_on_the_schedule() -> None:
    ticks = Ticks("15m", jitter=0)
    ticks.start(T0)
    assert ticks.due == T0
    assert ticks.advance(T0 + timedelta(seconds=40)) == 0
    assert ticks.due == T0 + timedelta(minutes=15)


def test_a_cycle_longer_than_the_interval_skips_the_ticks_it_outlasted() -> None:
    ticks = Ticks("1m", jitter=0)
    ticks.start(T0)
    # The cycle ran 3.5 minutes: the ticks at +1, +2 and +3 minutes passed during it.
    assert ticks.advance(T0 + timedelta(minutes=3, seconds=30)) == 3
    assert ticks.due == T0 + timedelta(minutes=4)


def test_cron_ticks_follow_the_expression() -> None:
    ticks = Ticks("*/15 * * * *", jitter=0)
    ticks.start(T0)
    assert ticks.advance(T0 + timedelta(seconds=5)) == 0
    assert ticks.due == datetime(2026, 12, 4, 10, 15, tzinfo=UTC)
    assert ticks.advance(datetime(2026, 12, 4, 11, 0, 1, tzinfo=UTC)) == 3  # 10:30, 10:45, 11:00
    assert ticks.due == datetime(2026, 12, 4, 11, 15, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(20))
def test_jitter_delays_a_tick_by_at_most_the_setting_and_half_the_gap(seed: int) -> None:
    ticks = Ticks("2m", jitter=600, rng=random.Random(seed))
    ticks.start(T0)
    ticks.advance(T0)
    assert ticks.due is not None and ticks.tick is not None
    assert ticks.tick <= ticks.due <= ticks.tick + timedelta(minutes=1)
    small = Ticks("1h", jitter=5, rng=random.Random(seed))
    small.start(T0)
    small.advance(T0)
    assert small.due is not None and small.tick is not None
    assert small.tick <= small.due <= small.tick + timedelta(seconds=5)


def test_hints_within_the_window_make_one_cycle() -> None:
    hints = Hints(debounce=5)
    assert hints.due is None
    hints.add({"kr-a"}, T0)
    hints.add({"kr-b"}, T0 + timedelta(seconds=3))
    assert hints.due == T0 + timedelta(seconds=5)
    assert hints.take(T0 + timedelta(seconds=4)) == frozenset()
    assert hints.take(T0 + timedelta(seconds=5)) == {"kr-a", "kr-b"}
    assert hints.due is None and hints.take(T0 + timedelta(minutes=1)) == frozenset()


def test_a_full_cycle_clears_the_hints() -> None:
    hints = Hints(debounce=0)
    hints.add({"kr-a"}, T0)
    hints.clear()
    assert hints.take(T0 + timedelta(seconds=1)) == frozenset()


def test_a_hint_is_judged_again_when_its_window_closes() -> None:
    hints = Hints(debounce=1)
    hints.add({"kr-a"}, T0, recheck=frozenset)  # by then: okrsync's own write, nothing
    hints.add({"kr-b"}, T0, recheck=lambda: frozenset({"kr-b"}))
    assert hints.take(T0 + timedelta(seconds=1)) == {"kr-b"}


def test_a_recheck_that_fails_keeps_its_hint() -> None:
    def broken() -> frozenset[str]:
        raise RuntimeError("state unreadable")

    hints = Hints(debounce=0)
    hints.add({"kr-a"}, T0, recheck=broken)
    assert hints.take(T0) == {"kr-a"}
