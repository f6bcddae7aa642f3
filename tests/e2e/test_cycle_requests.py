"""What a cycle asks of Jira, seen in the sandbox's request log.

- An incremental cycle over many epic scopes counts them together: one count per group of
  scopes whose epics do not overlap, not one per scope. After stories move between epics
  of one group, or leave one epic while another gains one, the cycle still equals a full
  read, and only the scopes that lost items are read in full.
- Field writes and the ``okrsync`` issue properties go out side by side, within the
  connection's limit of requests in flight.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mappings.loader import load_mappings
from okrsync.config.settings import Settings, SyncSettings
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import SandboxServer, start_sandbox
from okrsync.state import StateStore
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.report import CycleReport
from tests.e2e.conftest import mutating

SYNC = SyncSettings(clock_skew_seconds=1, full_reconcile_hours=24)
# generated:1000 holds 20 epics GEN-1..GEN-20; story GEN-(21 + i) is a child of GEN-(1 + i % 20).
STORIES = 1000
SINGLE_EPICS = 16


def story_of(epic: int, nth: int = 0) -> str:
    """The key of the ``nth`` generated story under epic GEN-``epic``."""
    return f"GEN-{21 + (epic - 1) + 20 * nth}"


def period() -> tuple[str, str]:
    """A period around today, so that the KRs are open whenever the tests run."""
    today = datetime.now(UTC).date()
    return str(today - timedelta(days=60)), str(today + timedelta(days=60))


def epic_mapping(start: str, end: str) -> str:
    """16 one-epic KRs, one KR over GEN-17..GEN-20, one over GEN-1 and GEN-2 (overlapping
    two of the others, so it cannot be counted with them)."""
    krs = [
        f"""      - id: epic-{n}
        title: Epic {n}
        scope: {{kind: jira_epics, epics: [GEN-{n}]}}
        measure: {{kind: count}}
"""
        for n in range(1, SINGLE_EPICS + 1)
    ]
    krs.append(
        """      - id: epics-17-20
        title: The last four epics
        scope: {kind: jira_epics, epics: [GEN-17, GEN-18, GEN-19, GEN-20]}
        measure: {kind: points, unestimated: ignore}
"""
    )
    krs.append(
        """      - id: epics-1-2
        title: The first two epics
        scope: {kind: jira_epics, epics: [GEN-1, GEN-2]}
        measure: {kind: count, in_progress_credit: 0.5}
"""
    )
    return f"""
version: 1
objectives:
  - id: gen
    title: Generated work
    period: {{start: {start}, end: {end}}}
    key_results:
{"".join(krs)}"""


HOME_MAPPING = """
version: 1
defaults:
  write:
    fields: {{progress: OKR Progress, status: OKR Status}}
objectives:
  - id: pay
    title: Payments and platform
    period: {{start: {start}, end: {end}}}
    key_results:
      - {{id: kr-1, title: Checkout, scope: {{kind: jira_epics, epics: [PAY-1]}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-1}}]}}
      - {{id: kr-2, title: Fraud, scope: {{kind: jira_epics, epics: [PAY-20]}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-2}}]}}
      - {{id: kr-3, title: Kubernetes, scope: {{kind: jira_epics, epics: [PLAT-1]}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-3}}]}}
      - {{id: kr-4, title: Bugs, scope: {{kind: jql, jql: labels = checkout}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-4}}]}}
      - {{id: kr-5, title: Two stories, scope: {{kind: jira_issues, issues: [PAY-2, PAY-6]}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-5}}]}}
      - {{id: kr-6, title: Payments, scope: {{kind: jql, jql: project = PAY}},
          measure: {{kind: count}}, write: [{{kind: jira_issue, key: OKR-6}}]}}
"""


class World:
    """One Jira sandbox of a flavour, a mapping over it, and a state database."""

    def __init__(self, seed: str, flavour: str, mapping: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="okrsync-requests-"))
        self.flavour = flavour
        self.sandbox = start_sandbox(seed=seed, jira=(flavour,), teambition=False)
        path = self.tmp / "okrs.yaml"
        path.write_text(mapping, encoding="utf-8")
        self.tree = load_mappings(path)
        jira: dict[str, Any] = {"url": self.server.url, "flavour": flavour}
        if flavour == "cloud":
            jira |= {"email": "demo@okrsync.example", "api_token": "demo-token"}
        else:
            jira |= {"pat": "demo-pat"}
        self.settings = Settings.model_validate(
            {"jira": {flavour: jira}, "state_url": f"sqlite:///{self.tmp / 'state.db'}"}
        )
        self.connectors = build_connectors(self.settings)
        self.store = StateStore.open(self.settings.state_url)
        self.now = datetime.now(UTC)
        self.fresh = 0

    @property
    def server(self) -> SandboxServer:
        return self.sandbox.jira[self.flavour]

    def _tick(self) -> datetime:
        self.now = max(datetime.now(UTC), self.now + timedelta(milliseconds=1))
        return self.now

    def cycle(self) -> CycleReport:
        """One cycle against the world's state, at the wall clock."""
        return run_cycle(self.tree, self.connectors, self.store, now=self._tick(), settings=SYNC)

    def full_read(self) -> CycleReport:
        """A dry run into an empty state database: every scope read in full."""
        self.fresh += 1
        with StateStore.open(f"sqlite:///{self.tmp / f'fresh-{self.fresh}.db'}") as fresh:
            return run_cycle(
                self.tree, self.connectors, fresh, now=self._tick(), settings=SYNC, dry_run=True
            )

    def counts(self) -> list[LoggedRequest]:
        """Count requests since the log was cleared (Cloud's approximate count, DC's
        search for no issues)."""
        return [
            e
            for e in self.server.log.entries()
            if e.path.endswith("/search/approximate-count")
            or (e.path.endswith("/search") and "maxResults=0" in e.query)
        ]

    def close(self) -> None:
        for connector in self.connectors.values():
            connector.close()
        self.store.close()
        self.sandbox.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def signature(report: CycleReport) -> dict[str, Any]:
    """Every KR's figures and evidence, to compare two cycles."""
    return {
        kr.kr_id: (
            kr.result.progress,
            kr.result.done_count,
            kr.result.total_count,
            kr.result.done_points,
            kr.result.total_points,
            sorted((e.key, e.status) for e in kr.result.evidence),
        )
        for kr in report.key_results
    }


def reads(report: CycleReport) -> tuple[int, int]:
    """(full, incremental) scope reads of the cycle."""
    source = next(iter(report.sources.values()))
    return source.full_reads, source.incremental_reads


@pytest.fixture(params=["cloud", "datacenter"])
def epics_world(request: pytest.FixtureRequest) -> Iterator[World]:
    world = World(f"generated:{STORIES}", str(request.param), epic_mapping(*period()))
    try:
        first = world.cycle()
        assert first.outcome == "ok" and reads(first) == (18, 0)
        world.server.log.clear()
        yield world
    finally:
        world.close()


def test_an_unchanged_cycle_counts_epic_scopes_together(epics_world: World) -> None:
    report = epics_world.cycle()
    assert report.outcome == "ok" and report.mode == "incremental"
    assert reads(report) == (0, 18)
    # 17 scopes with disjoint epics in one count; the overlapping one alone.
    assert len(epics_world.counts()) == 2
    assert mutating(epics_world.server.log.entries()) == []
    assert signature(report) == signature(epics_world.full_read())


def test_stories_moved_between_epics_of_one_count(epics_world: World) -> None:
    data = epics_world.server.data
    data.move(story_of(3), "GEN-4")  # between two one-epic scopes
    data.move(story_of(5), "GEN-1")  # into the overlapping scope as well
    data.move(story_of(17), "GEN-18")  # within one scope: its size stays
    report = epics_world.cycle()
    assert report.outcome == "ok"
    assert signature(report) == signature(epics_world.full_read())
    # Only GEN-3's and GEN-5's scopes lost a story unseen: they alone are read in full.
    assert reads(report) == (2, 16)
    # The group's count disagrees, so it is halved until the two scopes are found: still
    # fewer requests than one count per scope (18).
    assert 2 < len(epics_world.counts()) < 18
    epics_world.server.log.clear()
    again = epics_world.cycle()
    assert reads(again) == (0, 18) and len(epics_world.counts()) == 2


def test_a_deletion_balanced_by_a_creation_in_the_same_count(epics_world: World) -> None:
    data = epics_world.server.data
    data.delete_issue(story_of(6))
    data.create_issue("GEN", "A new story", "Story", parent="GEN-7")
    report = epics_world.cycle()
    assert report.outcome == "ok"
    assert signature(report) == signature(epics_world.full_read())
    assert reads(report) == (1, 17)
    gen_6 = next(kr for kr in report.key_results if kr.kr_id == "epic-6").result
    assert gen_6.total_count == STORIES // 20 - 1


@pytest.fixture
def homes_world() -> Iterator[World]:
    start, end = period()
    world = World("demo", "cloud", HOME_MAPPING.format(start=start, end=end))
    try:
        yield world
    finally:
        world.close()


def test_properties_are_written_beside_the_fields(homes_world: World) -> None:
    latency = 0.15
    homes_world.server.faults.set(latency=latency)
    report = homes_world.cycle()
    assert report.outcome == "ok"
    entries = homes_world.server.log.entries()
    puts = [e for e in mutating(entries) if e.method == "PUT"]
    properties = sorted(e.time for e in puts if e.path.endswith("/properties/okrsync"))
    fields = sorted(e.time for e in puts if not e.path.endswith("/properties/okrsync"))
    assert len(properties) == 6 and len(fields) == 6
    # Properties do not wait for the field writes to finish, nor for each other.
    assert properties[0] < fields[-1]
    assert properties[1] - properties[0] < latency
    # ...and never more than the connection's 4 requests are in flight: a fifth arrives
    # only after one of the four before it was answered.
    arrived = sorted(e.time for e in entries)
    assert all(arrived[i] - arrived[i - 4] >= latency for i in range(4, len(arrived)))
