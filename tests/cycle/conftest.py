"""A small world for cycle tests: mappings, in-memory trackers, a SQLite state store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from mappings.items import StatusCategory
from mappings.loader import load_mappings
from okrsync.config.settings import SyncSettings
from okrsync.state import StateStore
from okrsync.sync.cycle import run_cycle
from okrsync.sync.report import CycleReport
from tests.cycle.memory import MemoryTracker

DONE = StatusCategory.DONE
IN_PROGRESS = StatusCategory.IN_PROGRESS
TODO = StatusCategory.TODO

MAPPING = """
version: 1
defaults:
  write:
    fields:
      progress: OKR Progress
      status: OKR Status
      summary: OKR Summary
      expected: OKR Expected
      last_synced: OKR Last Synced
objectives:
  - id: obj
    title: Ship things
    period: 2026-Q4
    key_results:
      - id: kr-points
        title: Ship the points epic
        scope: {kind: jira_epics, epics: [EP-1]}
        measure: {kind: points, unestimated: ignore}
        write: [{kind: jira_issue, key: OKR-1}]
        flags: {%(flags)s}
      - id: kr-count
        title: Close the count epic
        scope: {kind: jira_epics, epics: [EP-2]}
        measure: {kind: count}
        write: [{kind: jira_issue, key: OKR-2}]
"""


class World:
    """Mappings + one in-memory Jira + a state store, and a clock the cycles share."""

    def __init__(self, tmp_path: Path, mapping: str, tracker: MemoryTracker):
        path = tmp_path / "okrs.yaml"
        path.write_text(dedent(mapping), encoding="utf-8")
        self.tree = load_mappings(path)
        self.store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}")
        self.tracker = tracker
        self.now = datetime(2026, 11, 16, tzinfo=UTC)
        self.tracker.now = self.now
        self.settings = SyncSettings()

    def cycle(self, advance: timedelta = timedelta(minutes=15), **options: Any) -> CycleReport:
        """Run a cycle ``advance`` after the previous one; the tracker's clock follows."""
        self.now += advance
        settings = options.pop("settings", self.settings)
        report = run_cycle(
            self.tree,
            {(self.tracker.source, self.tracker.name): self.tracker},
            self.store,
            now=self.now,
            settings=settings,
            **options,
        )
        self.tracker.now = max(self.tracker.now, self.now)
        return report

    def kr(self, report: CycleReport, kr_id: str) -> Any:
        return next(k for k in report.key_results if k.kr_id == kr_id)


def seed(tracker: MemoryTracker) -> None:
    """EP-1: points [3, 5, 2, 8], first two done (8/18). EP-2: four stories, one done."""
    for key, points, category in [
        ("A-1", 3, DONE),
        ("A-2", 5, DONE),
        ("A-3", 2, IN_PROGRESS),
        ("A-4", 8, StatusCategory.TODO),
    ]:
        tracker.add(key, "EP-1", category, points)
    tracker.add("B-1", "EP-2", DONE)
    for key in ("B-2", "B-3", "B-4"):
        tracker.add(key, "EP-2")


MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[MakeWorld]:
    """Build a world, optionally with flags on the points KR (``"allow_drop: true"``)."""
    worlds: list[World] = []

    def make(flags: str = "", mapping: str | None = None) -> World:
        tracker = MemoryTracker("jira", "main")
        world = World(tmp_path, (mapping or MAPPING) % {"flags": flags}, tracker)
        seed(tracker)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.store.close()


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world()
