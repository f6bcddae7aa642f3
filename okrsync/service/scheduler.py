"""When the daemon runs cycles: the schedule's ticks with jitter, the ticks a late cycle
missed, and webhook hints gathered into one targeted cycle.

Nothing here sleeps or starts threads: the daemon's loop asks what is due and waits.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from okrsync.config.schedule import next_run

__all__ = ["Hints", "Ticks"]

log = logging.getLogger("okrsync.daemon")

# A cron expression that matches every minute, missed during a cycle of many hours, must
# not make counting its missed ticks a long loop.
_MAX_COUNTED = 100_000


class Ticks:
    """The schedule's ticks, each started up to ``jitter`` seconds late at random.

    The jitter never exceeds half the gap between two ticks, so that a tick cannot start
    after the next one. A tick that passes while a cycle is still running is skipped, not
    queued: :meth:`advance` says how many were.
    """

    def __init__(self, schedule: str, jitter: float, rng: random.Random | None = None) -> None:
        self.schedule = schedule
        self.jitter = max(0.0, jitter)
        self._rng = rng or random.Random()
        self.tick: datetime | None = None  # the current tick, before jitter
        self.due: datetime | None = None  # when its cycle starts

    def start(self, now: datetime) -> None:
        """The first cycle runs at once (so that a new daemon has results to show); the
        schedule's ticks follow it."""
        self.tick = self.due = now

    def advance(self, now: datetime) -> int:
        """Move to the first tick after ``now``; return how many ticks were missed.

        Called when a cycle has finished: every tick after the one that started it and no
        later than ``now`` passed while it ran, and is skipped.
        """
        assert self.tick is not None, "start() first"
        missed = 0
        tick = next_run(self.schedule, self.tick)
        while tick <= now and missed < _MAX_COUNTED:
            missed += 1
            tick = next_run(self.schedule, tick)
        while tick <= now:  # counted enough; find the next tick without counting
            tick = next_run(self.schedule, now)
        gap = (next_run(self.schedule, tick) - tick).total_seconds()
        self.tick = tick
        self.due = tick + timedelta(seconds=self._rng.uniform(0, min(self.jitter, gap / 2)))
        return missed


class Hints:
    """Key results named by webhook deliveries, gathered for one targeted cycle.

    The first hint opens a window of ``debounce`` seconds; every hint arriving in it joins
    the same cycle. A hint may bring a ``recheck``: the delivery judged again when the
    window closes, which the daemon only does between cycles, so that okrsync's own write
    that outran its ledger (delivered while the cycle was still writing) is recognised
    then and asks for nothing. Safe to call from the HTTP server's threads.
    """

    def __init__(self, debounce: float) -> None:
        self.debounce = max(0.0, debounce)
        self._lock = threading.Lock()
        self._hints: list[tuple[frozenset[str], Callable[[], frozenset[str]] | None]] = []
        self._due: datetime | None = None

    def add(
        self,
        kr_ids: Iterable[str],
        now: datetime,
        recheck: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        """Ask for a cycle over ``kr_ids`` (or what ``recheck`` names then) once the
        window closes."""
        named = frozenset(kr_ids)
        if not named:
            return
        with self._lock:
            self._hints.append((named, recheck))
            if self._due is None:
                self._due = now + timedelta(seconds=self.debounce)

    @property
    def due(self) -> datetime | None:
        """When the gathered hints are due, or None when there are none."""
        with self._lock:
            return self._due

    def take(self, now: datetime) -> frozenset[str]:
        """The gathered key results when their window has closed (and forget them), else
        nothing. Rechecks run here, outside the lock; one that fails keeps its hint."""
        with self._lock:
            if self._due is None or now < self._due:
                return frozenset()
            hints, self._hints = self._hints, []
            self._due = None
        wanted: set[str] = set()
        for named, recheck in hints:
            if recheck is None:
                wanted |= named
                continue
            try:
                wanted |= recheck()
            except Exception:
                log.exception("judging a webhook delivery again failed; keeping its hint")
                wanted |= named
        return frozenset(wanted)

    def clear(self) -> None:
        """Forget every hint: a full cycle is about to read everything anyway."""
        with self._lock:
            self._hints.clear()
            self._due = None
