"""Callbacks a sync cycle makes as it goes, for metrics, logs and progress displays.

A cycle runs its steps in order, each announced by :meth:`CycleHooks.phase`: reading the
scopes, computing the results, reading the fields okrsync owns, writing the changes and
recording the run. Within a step, :meth:`CycleHooks.advanced` says how far it got. Scopes
are read on several threads at once, so ``advanced`` may be called from any thread; every
callback must be cheap, since the cycle waits for it.
"""

from __future__ import annotations

from okrsync.sync.report import ConflictReport, CycleReport, HeldReport, WriteReport

__all__ = [
    "COMPUTING",
    "PHASES",
    "READING_FIELDS",
    "READING_SCOPES",
    "RECORDING",
    "WRITING",
    "CombinedHooks",
    "CycleHooks",
]

#: The steps of a cycle, in order; ``total`` counts scopes, key results, fields, writes.
READING_SCOPES = "reading scopes"
COMPUTING = "computing"
READING_FIELDS = "reading fields"
WRITING = "writing"
RECORDING = "recording"
PHASES = (READING_SCOPES, READING_FIELDS, COMPUTING, WRITING, RECORDING)


class CycleHooks:
    """Callbacks for metrics and logs; each does nothing unless overridden."""

    def phase(self, name: str, total: int | None = None) -> None:
        """Step ``name`` (one of :data:`PHASES`) began, with ``total`` units of work.

        The previous step ended; the last one ends with :meth:`cycle_finished`.
        """

    def advanced(self, done: int = 1, items: int = 0) -> None:
        """``done`` more units of the current step finished, having read ``items`` items.

        May be called from any thread.
        """

    def source_up(self, connection: str) -> None:
        """``connection`` answered every call of the cycle."""

    def source_down(self, connection: str, error: str) -> None:
        """``connection`` failed a call; the KRs reading it are stale."""

    def wrote(self, write: WriteReport) -> None:
        """A write was sent (``write.applied``) or failed (``write.error``)."""

    def held(self, held: HeldReport) -> None:
        """A KR was held because a scope lost too many items."""

    def conflict(self, conflict: ConflictReport) -> None:
        """A person's edit of an okrsync-owned field was found."""

    def cycle_finished(self, report: CycleReport) -> None:
        """The cycle ended and was recorded."""


class CombinedHooks(CycleHooks):
    """Passes every callback on to each of several hooks, in the order given."""

    def __init__(self, *hooks: CycleHooks) -> None:
        self.hooks = hooks

    def phase(self, name: str, total: int | None = None) -> None:
        for hook in self.hooks:
            hook.phase(name, total)

    def advanced(self, done: int = 1, items: int = 0) -> None:
        for hook in self.hooks:
            hook.advanced(done, items)

    def source_up(self, connection: str) -> None:
        for hook in self.hooks:
            hook.source_up(connection)

    def source_down(self, connection: str, error: str) -> None:
        for hook in self.hooks:
            hook.source_down(connection, error)

    def wrote(self, write: WriteReport) -> None:
        for hook in self.hooks:
            hook.wrote(write)

    def held(self, held: HeldReport) -> None:
        for hook in self.hooks:
            hook.held(held)

    def conflict(self, conflict: ConflictReport) -> None:
        for hook in self.hooks:
            hook.conflict(conflict)

    def cycle_finished(self, report: CycleReport) -> None:
        for hook in self.hooks:
            hook.cycle_finished(report)
