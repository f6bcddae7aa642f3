"""RELIABILITY.md promise 9 (clean metrics), and the metrics of promises 1 and 6: the
exposition after real cycles against the sandbox over HTTP, faults injected by the sandbox.

Each test drives what ``okrsync sync`` and the daemon do: connectors built with the
metrics' observers, the metrics' hooks in the cycle, the cycle's outcome reported.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.retry import RetrySettings
from mappings.loader import load_mappings
from okrsync.commands.demo import EXAMPLES
from okrsync.service.metrics import Metrics, hosts_of
from okrsync.sync.connections import build_connectors
from okrsync.sync.report import CycleReport
from tests.e2e.conftest import JIRA_FIELD, Env, kr
from tests.service.promtool import promtool_check_metrics as promtool_check

#: A key result whose scope matches nothing from the start: its progress is unknown.
UNKNOWN_KR = """\
version: 1
objectives:
  - id: pay-experiments
    title: Try what is not planned yet
    period: 2026-Q4
    key_results:
      - id: pay-not-planned
        title: Ship what is not planned yet
        scope: {kind: jql, jql: project = PAY AND labels = not-planned-yet}
        measure: {kind: count}
"""
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9]+-\d+")
#: What the demo configuration holds that no label or value may repeat.
PRIVATE = ("demo@okrsync.example", "demo-token", "demo-secret", "tb-user-ana", "127.0.0.1")


class Scrape:
    """One exposition, parsed."""

    def __init__(self, text: str):
        self.text = text
        self.families = list(text_string_to_metric_families(text))
        self.samples = [s for f in self.families for s in f.samples]

    def series(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        """Samples named ``name`` whose labels include ``labels``."""
        return [
            (s.labels, s.value)
            for s in self.samples
            if s.name == name and labels.items() <= s.labels.items()
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The one sample named ``name`` with ``labels`` (None when there is none)."""
        found = self.series(name, **labels)
        assert len(found) <= 1, found
        return found[0][1] if found else None

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` with ``labels``."""
        return sum(value for _, value in self.series(name, **labels))


class World(Env):
    """The demo sandbox (Jira Cloud or Data Center, Teambition), with okrsync's metrics
    watching its connectors and cycles as ``okrsync sync`` and the daemon wire them."""

    def __init__(self, tmp_path: Path, flavour: str = "cloud"):
        mappings = tmp_path / "mappings"
        shutil.copytree(EXAMPLES, mappings)
        (mappings / "experiments.yaml").write_text(UNKNOWN_KR, encoding="utf-8")
        super().__init__(flavour, f"sqlite:///{tmp_path / 'state.db'}", mappings)
        # Room for one Retry-After of a second; faults that persist still fail fast.
        retry = RetrySettings(max_attempts=3, initial_wait=0.05, max_total_wait=3.0)
        self.settings = self.settings.model_copy(update={"retry": retry})
        for connector in self.connectors.values():
            connector.close()
        self.metrics = self.watch()
        self.connectors = build_connectors(
            self.settings, on_retry=self.metrics.on_retry, on_request=self.metrics.on_request
        )

    def watch(self) -> Metrics:
        """Metrics over this world's state store and mappings (as a new process has)."""
        return Metrics(store=self.store, tree=lambda: self.tree, hosts=hosts_of(self.settings))

    def run(self, **options: Any) -> CycleReport:
        """One cycle, watched by the metrics."""
        started = time.monotonic()
        report = self.cycle(hooks=self.metrics.hooks(), **options)
        self.metrics.cycle_done(report.outcome, time.monotonic() - started)
        return report

    def scrape(self, metrics: Metrics | None = None) -> Scrape:
        body, content_type = (metrics or self.metrics).render()
        assert content_type.startswith("text/plain; version=0.0.4")
        return Scrape(body.decode("utf-8"))

    def sent(self, source: str, name: str) -> int:
        """HTTP requests connection ``source:name`` has sent, by its own count."""
        return self.connectors[(source, name)].requests_sent


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    try:
        yield built
    finally:
        built.close()


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_the_exposition_after_a_cycle_is_clean(tmp_path: Path, flavour: str) -> None:
    world = World(tmp_path, flavour)
    try:
        world.run()
        scrape = world.scrape()
    finally:
        world.close()
    promtool_check(scrape.text)
    for family in scrape.families:
        name = family.name
        assert re.fullmatch(r"okrsync_[a-z0-9_]+", name), name
        assert family.documentation.strip(), f"{name} has no HELP"
        if family.type == "counter":
            assert all(s.name == f"{name}_total" for s in family.samples), name
        else:
            assert not name.endswith("_total"), name
        if family.type == "histogram":
            assert name.endswith("_seconds"), name
        for sample in family.samples:
            assert not sample.name.endswith("_created"), sample.name
            if name.endswith("_ratio"):
                assert 0.0 <= sample.value <= 1.0, sample
            if name.endswith("_timestamp_seconds"):
                assert sample.value > 1e9, sample
            for label, value in sample.labels.items():
                assert not ISSUE_KEY.search(value), f"{sample.name}{{{label}={value!r}}}"
    for private in PRIVATE:
        assert private not in scrape.text
    jira = f"jira:{flavour}"
    assert scrape.value("okrsync_source_up", source=jira) == 1
    assert scrape.value("okrsync_source_up", source="teambition:main") == 1
    assert scrape.value("okrsync_build_info") == 1
    assert scrape.value("okrsync_cycles_total", outcome="partial") == 1  # the unknown KR
    assert scrape.value("okrsync_cycles_total", outcome="ok") == 0
    assert scrape.value("okrsync_last_success_timestamp_seconds") == pytest.approx(
        time.time(), abs=300
    )


def test_key_results_show_what_the_cycle_computed(world: World) -> None:
    report = world.run()
    scrape = world.scrape()
    labels = {"id": "pay-checkout-v2", "objective": "pay-reliable-checkout"}
    computed = kr(report, "pay-checkout-v2").result
    progress = scrape.series("okrsync_key_result_progress_ratio", **labels)
    assert progress == [({**labels, "source": "jira:cloud"}, pytest.approx(computed.progress))]
    assert scrape.value("okrsync_key_result_score_ratio", **labels) == computed.score
    assert scrape.value("okrsync_key_result_expected_ratio", **labels) == pytest.approx(
        computed.expected
    )
    statuses = {s["status"]: v for s, v in scrape.series("okrsync_key_result_status", **labels)}
    assert statuses == {
        name: 1.0 if name == computed.status else 0.0
        for name in ("not_started", "on_track", "at_risk", "off_track", "done", "stale")
    }
    assert scrape.value("okrsync_key_result_stale", **labels) == 0
    updated = scrape.value("okrsync_key_result_last_updated_timestamp_seconds", **labels)
    assert updated == pytest.approx(report.started_at.timestamp())
    # A Teambition KR names its connection; a manual KR reads none.
    assert scrape.series("okrsync_key_result_progress_ratio", id="mob-sprint-42")[0][0][
        "source"
    ] == ("teambition:main")
    assert scrape.series("okrsync_key_result_stale", id="plat-oncall-happiness")[0][0][
        "source"
    ] == ("")
    objective = next(o for o in report.objectives if o.objective_id == "pay-reliable-checkout")
    assert scrape.value(
        "okrsync_objective_progress_ratio", id="pay-reliable-checkout"
    ) == pytest.approx(objective.result.progress)
    # Nothing to measure: no progress series at all, never a 0.
    assert kr(report, "pay-not-planned").unknown
    assert scrape.series("okrsync_key_result_progress_ratio", id="pay-not-planned") == []
    assert scrape.series("okrsync_key_result_score_ratio", id="pay-not-planned") == []
    assert scrape.value("okrsync_key_result_stale", id="pay-not-planned") is not None


def test_a_key_result_removed_from_the_mappings_has_no_series(world: World, tmp_path: Path) -> None:
    world.run()
    assert world.scrape().series("okrsync_key_result_stale", id="pay-not-planned")
    (tmp_path / "mappings" / "experiments.yaml").unlink()
    world.tree = load_mappings(tmp_path / "mappings", connections=world.settings.connection_names())
    # Gone at once, before a cycle forgets it in the state store, and after.
    for cycles in (0, 1):
        for _ in range(cycles):
            world.run()
        scrape = world.scrape()
        ids = {s.labels.get("id") for s in scrape.samples}
        assert "pay-not-planned" not in ids and "pay-experiments" not in ids
        assert "pay-checkout-v2" in ids


def test_results_survive_a_restart(world: World) -> None:
    report = world.run()
    restarted = world.scrape(world.watch())
    computed = kr(report, "plat-k8s-services").result.progress
    assert restarted.value("okrsync_key_result_progress_ratio", id="plat-k8s-services") == (
        pytest.approx(computed)
    )
    assert restarted.value("okrsync_source_up", source="jira:cloud") == 1
    finished = world.store.last_run().finished_at  # type: ignore[union-attr]
    assert restarted.value("okrsync_last_success_timestamp_seconds") == pytest.approx(
        finished.timestamp()  # type: ignore[union-attr]
    )
    assert restarted.value("okrsync_cycles_total", outcome="partial") == 0  # counted anew


def test_requests_are_counted_as_the_connectors_count_them(world: World) -> None:
    world.run()
    world.jira.faults.drop(count=1)  # one answer that never comes, then retried
    report = world.run()
    scrape = world.scrape()
    for source, name in (("jira", "cloud"), ("teambition", "main")):
        display = f"{source}:{name}"
        assert scrape.total("okrsync_requests_total", source=display) == world.sent(source, name)
        assert scrape.value("okrsync_request_duration_seconds_count", source=display) == world.sent(
            source, name
        )
    assert scrape.value("okrsync_requests_total", source="jira:cloud", code="error") == 1
    assert scrape.value("okrsync_retries_total", source="jira:cloud", reason="connection") == 1
    assert report.sources["jira:cloud"].up
    methods = {labels["method"] for labels, _ in scrape.series("okrsync_requests_total")}
    assert methods <= {"GET", "POST", "PUT", "DELETE", "PATCH"}


def test_writes_are_counted_by_result(world: World) -> None:
    first = world.run()
    scrape = world.scrape()
    applied = len(first.applied_writes)
    assert applied > 0
    assert scrape.value("okrsync_writes_total", result="applied") == applied
    for result in ("held", "conflict", "failed"):
        assert scrape.value("okrsync_writes_total", result=result) == 0
    noop = scrape.value("okrsync_writes_total", result="noop")
    second = world.run()  # nothing changed: nothing written, every owned field checked
    assert second.writes == []
    again = world.scrape()
    assert again.value("okrsync_writes_total", result="applied") == applied
    assert again.value("okrsync_writes_total", result="noop") >= (noop or 0) + applied  # type: ignore[operator]


def test_held_key_results_and_peoples_edits_are_counted(world: World) -> None:
    world.run()
    # A person edits an okrsync-owned field in Jira, as Jira's UI would.
    edited = httpx.put(
        f"{world.jira.url}/rest/api/2/issue/OKR-2",
        json={"fields": {JIRA_FIELD["OKR Progress"]: 90.0}},
        auth=("demo@okrsync.example", "demo-token"),
        timeout=10,
    )
    assert edited.status_code == 204, edited.text
    for key in [f"PAY-{n}" for n in range(2, 10)]:  # the checkout epic's stories go
        world.jira.data.delete_issue(key)
    report = world.run()
    assert [h.kr_id for h in report.held] == ["pay-checkout-v2"]
    assert [c.target for c in report.conflicts] == ["OKR-2"]
    scrape = world.scrape()
    assert scrape.value("okrsync_writes_total", result="held") == 1
    assert scrape.value("okrsync_writes_total", result="conflict") == 1


def test_a_rate_limit_is_waited_out_and_counted(world: World) -> None:
    world.run()
    world.jira.faults.fail(status=429, count=1, retry_after=1)
    report = world.run()
    scrape = world.scrape()
    assert report.sources["jira:cloud"].up
    assert scrape.total("okrsync_requests_total", source="jira:cloud", code="429") == 1
    assert scrape.value("okrsync_retries_total", source="jira:cloud", reason="rate_limited") == 1
    assert scrape.value("okrsync_rate_limit_waits_total", source="jira:cloud") == 1
    assert scrape.value("okrsync_rate_limit_wait_seconds_total", source="jira:cloud") == 1.0
    assert scrape.value("okrsync_rate_limit_waits_total", source="teambition:main") is None


def test_an_outage_sets_the_source_down_and_keeps_the_last_success(world: World) -> None:
    first = world.run()
    before = world.scrape()
    success = before.value("okrsync_last_success_timestamp_seconds")
    for server in world.servers:
        server.faults.fail(status=503, count=10_000, retry_after=0)
    report = world.run()
    assert report.outcome == "failed"
    scrape = world.scrape()
    assert scrape.value("okrsync_source_up", source="jira:cloud") == 0
    assert scrape.value("okrsync_source_up", source="teambition:main") == 0
    assert scrape.value("okrsync_last_success_timestamp_seconds") == success
    assert scrape.value("okrsync_cycles_total", outcome="failed") == 1
    assert scrape.total("okrsync_retries_total", reason="unavailable") >= 1
    assert scrape.total("okrsync_requests_total", code="503") >= 1
    # The last good numbers stay, marked stale.
    labels = {"id": "pay-checkout-v2"}
    assert scrape.value("okrsync_key_result_stale", **labels) == 1
    assert scrape.value("okrsync_key_result_status", status="stale", **labels) == 1
    assert scrape.value("okrsync_key_result_progress_ratio", **labels) == pytest.approx(
        kr(first, "pay-checkout-v2").result.progress
    )
    assert scrape.value(
        "okrsync_key_result_last_updated_timestamp_seconds", **labels
    ) == pytest.approx(first.started_at.timestamp())
    for server in world.servers:
        server.faults.reset()
    world.run()
    recovered = world.scrape()
    assert recovered.value("okrsync_source_up", source="jira:cloud") == 1
    assert recovered.value("okrsync_last_success_timestamp_seconds") > success  # type: ignore[operator]


def test_daemon_events_are_counted(world: World) -> None:
    metrics = world.metrics
    metrics.set_leader(True)
    metrics.skipped_ticks(2)
    metrics.mappings_reloaded(True)
    metrics.mappings_reloaded(False)
    metrics.webhook("jira", "accepted")
    metrics.webhook("jira", "unauthorized")
    metrics.webhook("teambition", "duplicate")
    metrics.cycle_done("cancelled", 0.5)
    scrape = world.scrape()
    promtool_check(scrape.text)
    assert scrape.value("okrsync_leader") == 1
    assert scrape.value("okrsync_skipped_ticks_total") == 2
    assert scrape.value("okrsync_mapping_reloads_total", result="ok") == 1
    assert scrape.value("okrsync_mapping_reloads_total", result="failed") == 1
    deliveries = {
        (labels["source"], labels["outcome"]): value
        for labels, value in scrape.series("okrsync_webhook_deliveries_total")
    }
    assert deliveries == {
        ("jira", "accepted"): 1,
        ("jira", "unauthorized"): 1,
        ("teambition", "duplicate"): 1,
    }
    assert scrape.value("okrsync_cycles_total", outcome="cancelled") == 1
    assert scrape.value("okrsync_cycle_duration_seconds_count") == 1
    # Before any cycle: no results yet, and no success to report.
    assert scrape.series("okrsync_key_result_progress_ratio") == []
    assert scrape.value("okrsync_last_success_timestamp_seconds") is None
    (build,) = scrape.series("okrsync_build_info")
    assert build == ({"version": version("okrsync")}, 1)
    metrics.set_leader(False)
    assert world.scrape().value("okrsync_leader") == 0
