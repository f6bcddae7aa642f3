"""RELIABILITY.md promises 1-4, each shown with faults injected by the sandbox over HTTP.

1. A source outage writes nothing and keeps last good values.
2. A suspicious empty scope is held (``--force`` or ``allow_drop`` confirms it; an empty
   scope with nothing to measure is then unknown, never written as 0%).
3. A second cycle over unchanged data sends zero writes (see also test_demo_sync).
4. A person's edit of an okrsync-owned field is detected, recorded, handled by the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from okrsync.sync.cycle import CycleHooks
from okrsync.sync.report import ConflictReport, HeldReport
from tests.e2e.conftest import JIRA_FIELD, Env, kr

SCOPED = [
    "pay-checkout-v2",
    "pay-fraud-scoring",
    "pay-checkout-bugs",
    "pay-bug-impact",
    "plat-k8s-services",
    "plat-first-services",
    "mob-onboarding-flow",
    "mob-okr-work",
    "mob-sprint-42",
    "mob-backend-on-k8s",
]
STORIES = [f"PAY-{n}" for n in range(2, 10)]


class Counting(CycleHooks):
    """What the daemon's metrics would count."""

    def __init__(self) -> None:
        self.down: dict[str, str] = {}
        self.up: list[str] = []
        self.held_reports: list[HeldReport] = []
        self.conflicts: list[ConflictReport] = []

    def source_down(self, connection: str, error: str) -> None:
        self.down[connection] = error

    def source_up(self, connection: str) -> None:
        self.up.append(connection)

    def held(self, held: HeldReport) -> None:
        self.held_reports.append(held)

    def conflict(self, conflict: ConflictReport) -> None:
        self.conflicts.append(conflict)


@pytest.fixture(params=["cloud"])
def flavour(request: pytest.FixtureRequest) -> str:
    """Promises 2-4 are about okrsync's logic, shown through one Jira flavour."""
    return str(request.param)


# -- 1. outage ---------------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["503", "dropped"])
@pytest.mark.parametrize("flavour", ["cloud", "datacenter"], indirect=True)
def test_an_outage_writes_nothing_and_keeps_the_last_good_values(env: Env, outage: str) -> None:
    first = env.cycle()
    assert first.outcome == "ok"
    health = env.store.source_health()
    env.transition("PAY-6", "Done")  # a change that must not be written now
    for server in env.servers:
        if outage == "503":
            server.faults.fail(status=503, count=10_000, retry_after=0)
        else:
            server.faults.drop(count=10_000)
    env.clear_logs()
    hooks = Counting()
    report = env.cycle(hooks=hooks)
    assert env.mutations() == []
    assert report.writes == []
    for kr_id in SCOPED:
        kept = kr(report, kr_id)
        assert kept.stale, kr_id
        assert kept.result.progress == kr(first, kr_id).result.progress
        assert env.store.latest_kr_results()[kr_id]["status"] == "stale"
    assert all(o.result.partially_stale for o in report.objectives if o.result.key_results)
    assert sorted(hooks.down) == sorted(health)
    after = env.store.source_health()
    for name, before in health.items():
        assert not after[name].up
        assert after[name].last_success_at == before.last_success_at
    assert env.store.last_run().outcome == "failed"  # type: ignore[union-attr]
    for server in env.servers:
        server.faults.reset()
    recovered = env.cycle()
    assert recovered.outcome == "ok"
    assert env.jira_fields("OKR-1")["OKR Progress"] == 68.1


# -- 2. held -----------------------------------------------------------------------------


def _held_rows(env: Env) -> list:
    return [e for e in env.store.ledger() if e.kind == "held"]


def test_a_scope_that_comes_back_empty_is_held_until_forced(env: Env) -> None:
    env.cycle()
    for key in STORIES:
        env.jira.data.delete_issue(key)
    env.clear_logs()
    hooks = Counting()
    env.cycle(hooks=hooks)
    assert [(h.kr_id, h.previous, h.current) for h in hooks.held_reports] == [
        ("pay-checkout-v2", 8, 0)
    ]
    okr1 = env.jira.data.get("OKR-1")
    touched = {e.path.split("/")[5] for e in env.mutations()}
    assert str(okr1.id) not in touched and "OKR-1" not in touched
    assert env.jira_fields("OKR-1")["OKR Progress"] == 58.3
    # What the cycle computed is in the ledger: nothing to measure, so no number.
    assert [(e.target, e.value_before, e.value_written) for e in _held_rows(env)] == [
        ("OKR-1", 58.3, None)
    ]
    assert env.store.last_run().held_count == 1  # type: ignore[union-attr]
    assert [h.kr_id for h in env.cycle().held] == ["pay-checkout-v2"]  # still held
    env.clear_logs()
    forced = env.cycle(force=True)
    assert forced.held == []
    # Confirmed empty, the epic still has nothing to measure: unknown, never 0%.
    checkout = kr(forced, "pay-checkout-v2")
    assert checkout.unknown == "nothing to measure: the scope has no items"
    assert checkout.result.progress == pytest.approx(0.583, abs=1e-3)  # the last good value
    assert forced.partial  # `okrsync sync` exits 1
    touched = {e.path.split("/")[5] for e in env.mutations()}
    assert str(okr1.id) not in touched and "OKR-1" not in touched
    assert env.jira_fields("OKR-1")["OKR Progress"] == 58.3


def test_losing_more_than_the_share_is_held(env: Env) -> None:
    env.cycle()
    for key in STORIES[:5]:  # 5 of 8 is more than half
        env.jira.data.delete_issue(key)
    report = env.cycle()
    assert [(h.kr_id, h.previous, h.current) for h in report.held] == [("pay-checkout-v2", 8, 3)]
    assert env.jira_fields("OKR-1")["OKR Progress"] == 58.3


ALLOW_DROP = """
version: 1
defaults:
  write:
    fields: {progress: OKR Progress, status: OKR Status}
objectives:
  - id: pay
    title: Payments
    period: 2026-Q4
    key_results:
      - id: checkout
        title: Ship checkout v2
        scope: {kind: jira_epics, epics: [PAY-1]}
        measure: {kind: points, unestimated: mean}
        write: [{kind: jira_issue, key: OKR-1}]
        flags: {%s: true}
"""


@pytest.fixture
def flagged_env(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Env]:
    path = tmp_path / "okrs.yaml"
    path.write_text(ALLOW_DROP % request.param, encoding="utf-8")
    world = Env("cloud", db_url, mappings=path)
    try:
        yield world
    finally:
        world.close()


@pytest.mark.parametrize("flagged_env", ["allow_drop"], indirect=True)
def test_allow_drop_writes_a_shrunken_scope_but_never_an_empty_one(flagged_env: Env) -> None:
    env = flagged_env
    env.cycle()
    before = env.jira_fields("OKR-1")["OKR Progress"]
    for key in STORIES[:5]:  # 5 of 8 is more than half: held without the flag
        env.jira.data.delete_issue(key)
    report = env.cycle()
    assert report.held == []
    assert env.jira_fields("OKR-1")["OKR Progress"] != before
    shrunk = env.jira_fields("OKR-1")["OKR Progress"]
    for key in STORIES[5:]:
        env.jira.data.delete_issue(key)
    emptied = env.cycle()
    assert emptied.held == [] and emptied.partial
    assert kr(emptied, "checkout").unknown == "nothing to measure: the scope has no items"
    assert env.jira_fields("OKR-1")["OKR Progress"] == shrunk


# -- 4. a person's edit --------------------------------------------------------------------


def _person_sets_progress(env: Env, key: str, value: float) -> None:
    """A person edits the field in Jira (through its REST API, as Jira's UI would)."""
    answer = httpx.put(
        f"{env.jira.url}/rest/api/2/issue/{key}",
        json={"fields": {JIRA_FIELD["OKR Progress"]: value}},
        auth=("demo@okrsync.example", "demo-token"),
        timeout=10,
    )
    assert answer.status_code == 204, answer.text


def test_a_persons_edit_is_detected_recorded_and_overwritten(env: Env) -> None:
    env.cycle()
    _person_sets_progress(env, "OKR-1", 90.0)
    env.tb.data.set_customfield("tb-task-okr-home", "cf-okr-progress", "99")
    hooks = Counting()
    report = env.cycle(hooks=hooks)
    found = {(c.target, c.field, c.ours, c.theirs, c.resolution) for c in hooks.conflicts}
    assert found == {
        ("OKR-1", "OKR Progress", 58.3, 90.0, "overwritten"),
        ("tb-task-okr-home", "OKR Progress", 52.6, 99.0, "overwritten"),
    }
    assert {(c.target, c.theirs) for c in report.conflicts} == {
        ("OKR-1", 90.0),
        ("tb-task-okr-home", 99.0),
    }
    ledger = [(e.target, e.value_before, e.value_written) for e in env.store.ledger()]
    assert ("OKR-1", 58.3, 90.0) in ledger  # the conflict: ours, theirs
    assert ("OKR-1", 90.0, 58.3) in ledger  # the overwrite
    assert env.store.last_run().conflict_count == 2  # type: ignore[union-attr]
    assert env.jira_fields("OKR-1")["OKR Progress"] == 58.3
    assert float(env.tb_fields("tb-task-okr-home")["OKR Progress"] or 0) == 52.6
    assert env.cycle().conflicts == []


@pytest.mark.parametrize("flagged_env", ["manual_override"], indirect=True)
def test_manual_override_keeps_a_persons_progress(flagged_env: Env) -> None:
    env = flagged_env
    env.cycle()
    _person_sets_progress(env, "OKR-1", 90.0)
    env.clear_logs()
    report = env.cycle()
    checkout = kr(report, "checkout")
    assert (checkout.result.progress, checkout.override) == (0.9, 0.9)
    assert [(c.theirs, c.resolution) for c in report.conflicts] == [(90.0, "kept")]
    assert env.jira_fields("OKR-1")["OKR Progress"] == 90.0
    assert env.jira_fields("OKR-1")["OKR Status"] == "On track"
    kinds = [e.kind for e in env.store.ledger()]
    assert "conflict" in kinds and "skipped_manual_override" in kinds
    env.clear_logs()
    later = env.cycle()
    assert later.conflicts == [] and later.writes == []
    assert env.mutations() == []
    assert kr(later, "checkout").result.progress == 0.9
