"""What a running cycle shows on stderr: a live display on a terminal, log lines elsewhere.

A cold cycle over tens of thousands of items runs for many seconds; without a sign of
life it looks hung. On a terminal, a two-line display tracks the step, its units done,
the items read and the requests sent to each tracker so far, and collapses to one summary
line when the cycle ends. Anywhere else (cron, CI, a container's log) each step logs one
line at info level through the ``logging`` set-up (``okrsync.config.logs``), text or JSON.
Standard output is never touched, so ``--output json`` stays one JSON document.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from connectors.base import Connector
from okrsync.sync.hooks import (
    COMPUTING,
    READING_FIELDS,
    READING_SCOPES,
    RECORDING,
    WRITING,
    CycleHooks,
)
from okrsync.sync.report import CycleReport, WriteReport

__all__ = ["CycleProgress", "LiveProgress", "PhaseLog", "cycle_progress", "request_counter"]

log = logging.getLogger("okrsync.views.progress")

#: Requests sent so far in this cycle, per connection display name (``jira:cloud``).
RequestCounter = Callable[[], dict[str, int]]

#: What a step counts, for the live display.
UNITS = {
    READING_SCOPES: "scopes",
    COMPUTING: "key results",
    READING_FIELDS: "fields",
    WRITING: "writes",
}


#: How the summary line names a cycle's outcome.
OUTCOMES = {
    "ok": "cycle done",
    "dry_run": "dry run done",
    "partial": "cycle done with failures",
    "failed": "cycle failed",
}


def request_counter(connectors: Mapping[tuple[str, str], Connector]) -> RequestCounter:
    """Counts each connector's requests from now on (connectors count them thread-safely)."""
    start = {key: connector.requests_sent for key, connector in connectors.items()}

    def sent() -> dict[str, int]:
        return {
            f"{source}:{name}": connector.requests_sent - start[(source, name)]
            for (source, name), connector in connectors.items()
        }

    return sent


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(value: int, one: str, many: str | None = None) -> str:
    return f"{_n(value)} {one if value == 1 else (many or one + 's')}"


@dataclass(slots=True)
class Step:
    """One step of the cycle as it runs: units done of ``total``, items read, requests."""

    name: str
    total: int | None
    started: float
    requests_before: int
    done: int = 0
    items: int = 0
    seconds: float = 0.0
    requests: int = 0
    ended: bool = False


@dataclass(slots=True)
class Tally:
    """The whole cycle so far; guarded by :attr:`CycleProgress.lock`."""

    started: float
    steps: list[Step] = field(default_factory=list)
    applied: int = 0
    failed: int = 0
    finished: CycleReport | None = None

    @property
    def current(self) -> Step | None:
        """The step running now (the last one begun), if any."""
        return self.steps[-1] if self.steps else None

    def step(self, name: str) -> Step | None:
        """The step called ``name``, if the cycle reached it."""
        return next((s for s in self.steps if s.name == name), None)


class CycleProgress(CycleHooks):
    """Keeps count of a cycle's steps; :meth:`step_ended` and :meth:`ended` show them.

    Callbacks only update counters under a lock, so that reading threads never wait on
    output; a step's figures are fixed when the next step begins or the cycle ends.
    """

    def __init__(self, requests: RequestCounter, *, dry_run: bool = False) -> None:
        self.requests = requests
        self.dry_run = dry_run
        self.lock = threading.Lock()
        self.tally = Tally(started=time.monotonic())

    def _sent(self) -> int:
        return sum(self.requests().values())

    def _close_step(self, now: float, sent: int) -> Step | None:
        step = self.tally.current
        if step is not None and not step.ended:
            step.seconds, step.ended = now - step.started, True
            step.requests = sent - step.requests_before
            return step
        return None

    def phase(self, name: str, total: int | None = None) -> None:
        now, sent = time.monotonic(), self._sent()
        with self.lock:
            ended = self._close_step(now, sent)
            self.tally.steps.append(Step(name, total, now, sent))
        if ended is not None:
            self.step_ended(ended)
        self.step_began(name, total)

    def advanced(self, done: int = 1, items: int = 0) -> None:
        with self.lock:
            step = self.tally.current
            if step is not None:
                step.done += done
                step.items += items

    def wrote(self, write: WriteReport) -> None:
        with self.lock:
            if write.applied:
                self.tally.applied += 1
            elif write.error:
                self.tally.failed += 1

    def cycle_finished(self, report: CycleReport) -> None:
        now, sent = time.monotonic(), self._sent()
        with self.lock:
            ended = self._close_step(now, sent)
            self.tally.finished = report
        if ended is not None:
            self.step_ended(ended)
        self.ended(report, now - self.tally.started)

    def step_began(self, name: str, total: int | None) -> None:
        """Step ``name`` began."""

    def step_ended(self, step: Step) -> None:
        """``step`` ended; its figures are final."""

    def ended(self, report: CycleReport, seconds: float) -> None:
        """The cycle ended after ``seconds``."""

    def describe(self, step: Step) -> str | None:
        """The log line of a finished step (None: nothing worth a line)."""
        took = f"{step.seconds:.1f} s"
        if step.name == READING_SCOPES:
            return (
                f"read {_plural(step.done, 'scope')} ({_plural(step.items, 'item')}, "
                f"{_plural(step.requests, 'request')}) in {took}"
            )
        if step.name == COMPUTING:
            return f"computed {_plural(step.total or 0, 'key result')} in {took}"
        if step.name == READING_FIELDS:
            return (
                f"read the values of {_plural(step.total or 0, 'field')} "
                f"({_plural(step.requests, 'request')}) in {took}"
            )
        if step.name == WRITING:
            if self.dry_run or not step.total:
                return None
            failed = f", {_n(self.tally.failed)} failed" if self.tally.failed else ""
            return (
                f"wrote {_plural(self.tally.applied, 'value')}{failed} in {took} "
                f"({_plural(step.requests, 'request')})"
            )
        if step.name == RECORDING:
            return f"recorded the run in {took}"
        return None

    def sent_text(self, *, per_tracker: bool = True) -> str:
        """Requests sent in the cycle, and (``per_tracker``) how many to each tracker."""
        sent = self.requests()
        per = ", ".join(f"{name} {_n(n)}" for name, n in sorted(sent.items()))
        total = _plural(sum(sent.values()), "request")
        return f"{total} ({per})" if per and per_tracker else total

    def summary(self, report: CycleReport, seconds: float) -> str:
        """One line for the whole cycle: outcome, time, requests per tracker."""
        return (
            f"{OUTCOMES.get(report.outcome, report.outcome)} in {seconds:.1f} s: {self.sent_text()}"
        )


class PhaseLog(CycleProgress):
    """One info line per step, and one for the cycle, through ``logging``."""

    def step_began(self, name: str, total: int | None) -> None:
        if name == WRITING:
            dry = " (dry run: none sent)" if self.dry_run else ""
            log.info("planned %s%s", _plural(total or 0, "write"), dry)

    def step_ended(self, step: Step) -> None:
        line = self.describe(step)
        if line is not None:
            log.info("%s", line)

    def ended(self, report: CycleReport, seconds: float) -> None:
        log.info("%s", self.summary(report, seconds))


class LiveProgress(CycleProgress):
    """A live display on a terminal console, one summary line left when the cycle ends."""

    def __init__(self, requests: RequestCounter, console: Console, *, dry_run: bool = False):
        super().__init__(requests, dry_run=dry_run)
        self.console = console
        self.spinner = Spinner("dots", style="cyan")
        # Transient: stopping it erases the display, and ``stop`` prints the summary.
        self.live = Live(
            get_renderable=self.render,
            console=console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,  # stdout holds the report (JSON for scripts)
            redirect_stderr=True,  # log lines print above the display, not through it
        )

    def start(self) -> None:
        """Begin showing the display."""
        self.live.start(refresh=True)

    def stop(self) -> None:
        """Remove the display; leave the summary line if the cycle finished."""
        self.live.stop()
        with self.lock:
            report, seconds = self.tally.finished, time.monotonic() - self.tally.started
        if report is not None:
            self.console.print(self.final_line(report, seconds), highlight=False)

    def step_began(self, name: str, total: int | None) -> None:
        # Each step is drawn at least once, however quickly it passes.
        self.live.refresh()

    def render(self) -> RenderableType:
        """The display: step, bar and units on one line; items, requests, time below."""
        sent = self.requests()
        with self.lock:
            step = self.tally.current
            elapsed = time.monotonic() - self.tally.started
            name = step.name if step is not None else "starting"
            done, total = (step.done, step.total) if step is not None else (0, None)
            read = self.tally.step(READING_SCOPES)
            items = read.items if read is not None else 0
        head = Table.grid(padding=(0, 1))
        head.add_row(
            self.spinner,
            Text(f"{name:<14}", style="bold"),
            ProgressBar(total=float(total) if total else None, completed=done, width=24),
            Text(f"{_n(done)}/{_n(total)} {UNITS.get(name, '')}" if total else ""),
        )
        per = ", ".join(f"{conn} {_n(n)}" for conn, n in sorted(sent.items()))
        detail = Text(
            f"  {_plural(items, 'item')} read · requests: {per or 'none'} · {elapsed:.1f} s",
            style="dim",
            overflow="ellipsis",
            no_wrap=True,
        )
        return Group(head, detail)

    def final_line(self, report: CycleReport, seconds: float) -> Text:
        """What stays on the terminal: scopes, items, writes, requests, time."""
        read = self.tally.step(READING_SCOPES)
        writing = self.tally.step(WRITING)
        planned = (writing.total or 0) if writing is not None else 0
        if self.dry_run:
            writes = f"{_plural(planned, 'write')} planned"
        elif not planned:
            writes = "nothing to write"
        else:
            failed = f", {_n(self.tally.failed)} failed" if self.tally.failed else ""
            writes = f"{_n(self.tally.applied)} of {_plural(planned, 'write')} done{failed}"
        scopes = _plural(read.done if read else 0, "scope")
        items = _plural(read.items if read else 0, "item")
        head = f"{OUTCOMES.get(report.outcome, report.outcome)} in {seconds:.1f} s: "
        line = f"{head}{scopes} ({items}), {writes}, {self.sent_text()}"
        if len(line) + 2 > self.console.width:
            # One line it is: the split per tracker goes first.
            line = f"{head}{scopes} ({items}), {writes}, {self.sent_text(per_tracker=False)}"
        ok = report.outcome in {"ok", "dry_run"}
        return Text.assemble(("✓ " if ok else "! ", "green" if ok else "yellow"), line)


def stderr_console() -> Console:
    """A console on the standard error of the moment (a terminal or not)."""
    return Console(file=sys.stderr, highlight=False)


@contextmanager
def cycle_progress(
    connectors: Mapping[tuple[str, str], Connector],
    *,
    console: Console | None = None,
    dry_run: bool = False,
    enabled: bool = True,
) -> Iterator[CycleHooks]:
    """Hooks showing one cycle's progress on ``console`` (default: stderr).

    A terminal gets the live display; anything else gets info log lines. With ``enabled``
    false, nothing is shown.
    """
    requests = request_counter(connectors)
    if not enabled:
        yield CycleHooks()
        return
    console = console or stderr_console()
    if not console.is_terminal:
        yield PhaseLog(requests, dry_run=dry_run)
        return
    live = LiveProgress(requests, console, dry_run=dry_run)
    live.start()
    try:
        yield live
    finally:
        live.stop()
