"""Callbacks a sync cycle makes as it goes, for metrics and logs (the daemon's, the CLI's)."""

from __future__ import annotations

from okrsync.report import ConflictReport, CycleReport, HeldReport, WriteReport

__all__ = ["CycleHooks"]


class CycleHooks:
    """Callbacks for metrics and logs; each does nothing unless overridden."""

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
