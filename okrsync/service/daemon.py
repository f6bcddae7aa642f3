"""``okrsync daemon``: cycles on the schedule, one writer at a time, until told to stop.

One loop on the main thread decides what happens next: it checks (or takes) the writer
lock every ``lease_check_seconds``, reloads changed mapping files, and starts a cycle on
its own thread when a tick of the schedule or a batch of webhook hints is due. Only the
replica holding the writer lock runs cycles, and it checks the lock again just before a
cycle's write batch. Never are two cycles running: a tick that passes during a cycle is
skipped and counted. On SIGTERM or SIGINT no new cycle starts; a cycle that has not yet
begun writing stops there, and one that has may finish within ``grace_seconds``, after
which the daemon exits anyway (each landed write is already in the ledger; the run is not
recorded and the next cycle reads again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.base import Connector, ConnectorError
from okrsync.config.settings import Settings
from okrsync.errors import UserError
from okrsync.service.lock import WriterLock
from okrsync.service.metrics import Metrics
from okrsync.service.reload import MappingsWatch
from okrsync.service.scheduler import Hints, Ticks
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore
from okrsync.sync.cycle import run_cycle
from okrsync.sync.hooks import WRITING, CombinedHooks, CycleHooks
from okrsync.sync.report import CycleReport
from okrsync.views.health_log import LogHooks, previous_health

__all__ = ["CycleStopped", "Daemon"]

log = logging.getLogger("okrsync.daemon")


class CycleStopped(Exception):
    """A cycle stopped before its write batch: the daemon is stopping or lost the lock."""


class _Guard(CycleHooks):
    """Stops a cycle at the start of its write batch unless it may still write."""

    def __init__(self, may_write: Callable[[], str | None]) -> None:
        self.may_write = may_write

    def phase(self, name: str, total: int | None = None) -> None:
        if name == WRITING:
            reason = self.may_write()
            if reason is not None:
                raise CycleStopped(reason)


@dataclass
class _Running:
    """The cycle in progress on its own thread."""

    kind: str  # "scheduled" or "webhook"
    thread: threading.Thread
    started: float = field(default_factory=time.monotonic)


@dataclass
class Daemon:
    """Everything the daemon wires together; :meth:`run` is its main loop."""

    settings: Settings
    store: StateStore
    connectors: Mapping[tuple[str, str], Connector]
    lock: WriterLock
    metrics: Metrics
    mappings: MappingsWatch
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    stopping: threading.Event = field(default_factory=threading.Event)
    leading: bool = False
    heartbeat: float = field(default_factory=time.monotonic)
    last_report: CycleReport | None = None

    def __post_init__(self) -> None:
        self.ticks = Ticks(self.settings.schedule, self.settings.daemon.jitter_seconds)
        self.hints = Hints(self.settings.webhooks.debounce_seconds)
        self._wake = threading.Event()
        self._running: _Running | None = None

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """Ask the loop to stop (from a signal handler or another thread)."""
        self.stopping.set()
        self._wake.set()

    def hint(
        self, kr_ids: frozenset[str], recheck: Callable[[], frozenset[str]] | None = None
    ) -> None:
        """A webhook delivery named these key results: cycle over them (or over what
        ``recheck`` names by then) after the debounce."""
        self.hints.add(kr_ids, self.clock(), recheck)
        self._wake.set()

    def reload(self) -> None:
        """Check the mapping files now (SIGHUP) instead of at the next check."""
        self._next_reload = 0.0
        self._wake.set()

    # ------------------------------------------------------------------ the loop

    def run(self) -> bool:
        """Run until :meth:`stop`; return False when a cycle had to be abandoned."""
        daemon = self.settings.daemon
        self.ticks.start(self.clock())
        self._next_lease = 0.0
        self._next_reload = time.monotonic() + daemon.reload_check_seconds
        log.info(
            "daemon started: schedule '%s', %d key results",
            self.settings.schedule,
            len(self.mappings.tree.key_results),
        )
        while not self.stopping.is_set():
            self.heartbeat = time.monotonic()
            self._step()
            self._wake.wait(self._sleep_for())
            self._wake.clear()
        return self._shut_down()

    def _step(self) -> None:
        mono = time.monotonic()
        if mono >= self._next_lease:
            self._check_lease()
            self._next_lease = mono + self.settings.daemon.lease_check_seconds
        if mono >= self._next_reload:
            changed = self.mappings.check()
            if changed is not None:
                self.metrics.mappings_reloaded(changed)
            self._next_reload = mono + self.settings.daemon.reload_check_seconds
        running = self._running
        if running is not None:
            if running.thread.is_alive():
                return
            self._running = None
            if running.kind == "scheduled":
                skipped = self.ticks.advance(self.clock())
                if skipped:
                    log.warning("the cycle outlasted %d scheduled tick(s); skipped them", skipped)
                    self.metrics.skipped_ticks(skipped)
        if not self.leading or self.stopping.is_set():
            return
        now = self.clock()
        assert self.ticks.due is not None
        if now >= self.ticks.due:
            self.hints.clear()
            self._start("scheduled", None)
            return
        due = self.hints.due
        if due is None or now < due:
            return
        wanted = self.hints.take(now) & set(self.mappings.tree.key_results)
        if wanted:
            self._start("webhook", frozenset(wanted))
        else:
            log.info("webhook hints need no cycle: okrsync's own writes, or nothing read")

    def _sleep_for(self) -> float:
        mono = time.monotonic()
        moments = [self._next_lease - mono, self._next_reload - mono]
        now = self.clock()
        if self.ticks.due is not None and self.leading and self._running is None:
            moments.append((self.ticks.due - now).total_seconds())
        due = self.hints.due
        if due is not None and self.leading and self._running is None:
            moments.append((due - now).total_seconds())
        if self._running is not None:
            moments.append(0.2)  # notice the end of the cycle soon
        return min(max(0.0, min(moments)), 1.0)

    def _check_lease(self) -> None:
        if self.leading and not self.lock.held():
            self.leading = False
            log.error("lost the writer lock: no more cycles here until it is taken again")
        elif not self.leading and self.lock.acquire():
            self.leading = True
            log.info("holding the writer lock: this daemon runs the cycles")
        elif not self.leading:
            log.debug("another okrsync holds the writer lock (%s)", self.lock.holder())
        self.metrics.set_leader(self.leading)

    # ------------------------------------------------------------------ one cycle

    def _start(self, kind: str, only: frozenset[str] | None) -> None:
        thread = threading.Thread(
            target=self._cycle, args=(only,), name=f"okrsync-cycle-{kind}", daemon=True
        )
        self._running = _Running(kind, thread)
        thread.start()

    def _may_write(self) -> str | None:
        if self.stopping.is_set():
            return "the daemon is stopping"
        if not self.lock.held():
            return "this daemon no longer holds the writer lock"
        return None

    def _cycle(self, only: frozenset[str] | None) -> None:
        clock = time.monotonic()
        tree = self.mappings.tree
        hooks = CombinedHooks(
            _Guard(self._may_write), self.metrics.hooks(), LogHooks(previous_health(self.store))
        )
        try:
            report = run_cycle(
                tree,
                self.connectors,
                self.store,
                now=self.clock(),
                settings=self.settings.sync,
                only=sorted(only) if only else None,
                hooks=hooks,
            )
        except CycleStopped as exc:
            self.metrics.cycle_done("cancelled", time.monotonic() - clock)
            log.warning("cycle stopped before writing: %s", exc)
            return
        except (ConnectorError, StateError, UserError) as exc:
            self.metrics.cycle_done("failed", time.monotonic() - clock)
            log.error("cycle failed: %s", getattr(exc, "message", None) or exc)
            return
        except Exception:
            self.metrics.cycle_done("failed", time.monotonic() - clock)
            log.exception("cycle failed unexpectedly")
            return
        seconds = time.monotonic() - clock
        self.last_report = report
        self.metrics.cycle_done(report.outcome, seconds)
        log.info("%s", cycle_line(report, seconds, targeted=only))

    # ------------------------------------------------------------------ stopping

    def _shut_down(self) -> bool:
        running = self._running
        clean = True
        if running is not None and running.thread.is_alive():
            grace = self.settings.daemon.grace_seconds
            log.info("stopping: waiting up to %.0f s for the cycle in progress", grace)
            running.thread.join(grace)
            if running.thread.is_alive():
                clean = False
                log.warning("stopping: the cycle did not finish within %.0f s; abandoned", grace)
        if clean:
            self.lock.release()
        log.info("daemon stopped")
        return clean

    # ------------------------------------------------------------------ health

    def alive(self) -> bool:
        """Whether the loop turned recently (liveness: never depends on a tracker)."""
        window = max(30.0, 3 * self.settings.daemon.lease_check_seconds)
        return time.monotonic() - self.heartbeat < window


def cycle_line(report: CycleReport, seconds: float, *, targeted: frozenset[str] | None) -> str:
    """The one log line a cycle leaves: its outcome and figures."""
    what = f"webhook cycle over {len(targeted)} key result(s)" if targeted else "cycle"
    requests = sum(source.requests or 0 for source in report.sources.values())
    unknown = sum(1 for kr in report.key_results if kr.unknown)
    stale = sum(1 for kr in report.key_results if kr.stale)
    failed = ", ".join(sorted(report.failed_sources)) or "none"
    return (
        f"{what} {report.outcome} ({report.mode}, {len(report.key_results)} key results): "
        f"{len(report.applied_writes)} writes, {len(report.held)} held, "
        f"{len(report.conflicts)} conflicts, {stale} stale, {unknown} unknown, "
        f"{requests} requests, failed sources: {failed}, {seconds:.1f} s"
    )
