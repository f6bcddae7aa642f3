"""``okrsync daemon`` as a real process against the sandbox over real HTTP: it cycles, it
serves metrics that promtool and a real Prometheus accept, it stops cleanly on SIGTERM,
it survives SIGKILL, and a slow cycle never overlaps the next."""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from okrsync.sandbox.server import Sandbox, start_sandbox
from okrsync.state import StateStore
from tests.e2e.cli import invoke, write_config
from tests.e2e.conftest import JIRA_FIELD, mutating
from tests.service.daemon_process import DaemonProcess, free_port, wait_for
from tests.service.promtool import prometheus_binary, promtool_check_metrics

FINISHED = r"\bcycle \w+ \("


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as running:
        yield running


@pytest.fixture
def config(sandbox: Sandbox, tmp_path: Path) -> Path:
    return write_config(sandbox, tmp_path)


def start(
    daemons: list[DaemonProcess], config: Path, env: dict[str, str] | None = None
) -> DaemonProcess:
    daemon = DaemonProcess(config, config.parent / f"daemon-{len(daemons)}.log", env)
    daemons.append(daemon)
    return daemon


def reported_progress(config: Path) -> dict[str, float | None]:
    """Each KR's progress as ``okrsync report`` shows it from the state store."""
    result = invoke(config, "report", "--output", "json")
    assert result.exit_code == 0, result.output
    return {kr["id"]: kr["progress"] for kr in json.loads(result.stdout)["key_results"]}


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of the series ``name{labels...}`` in an exposition, None if absent."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        series, _, value = line.rpartition(" ")
        if all(f'{key}="{val}"' in series for key, val in labels.items()):
            return float(value)
    return None


def test_the_daemon_cycles_and_serves_metrics_health_and_readiness(
    config: Path, daemons: list[DaemonProcess]
) -> None:
    daemon = start(daemons, config)
    daemon.wait_for_log(FINISHED)
    assert daemon.get("/healthz").status_code == 200
    ready = daemon.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["leader"] is True
    assert ready.json()["state"] == "reachable"
    assert ready.json()["degraded_sources"] == []

    exposition = daemon.get("/metrics").text
    promtool_check_metrics(exposition)
    progress = reported_progress(config)
    measured = {k: v for k, v in progress.items() if v is not None}
    assert measured, progress
    for kr_id, value in measured.items():
        assert sample(exposition, "okrsync_key_result_progress_ratio", id=kr_id) == pytest.approx(
            min(max(value, 0.0), 1.0)
        ), kr_id
    assert sample(exposition, "okrsync_leader") == 1
    outcome = ready.json()["last_cycle"]["outcome"]
    assert sample(exposition, "okrsync_cycles_total", outcome=outcome) == 1

    daemon.signal(signal.SIGTERM)
    assert daemon.wait(30) == 0
    assert "daemon stopped" in daemon.log()


def test_a_real_prometheus_scraping_the_daemon_answers_with_the_computed_progress(
    config: Path, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    daemon = start(daemons, config)
    daemon.wait_for_log(FINISHED)
    progress = reported_progress(config)
    kr_id, expected = next((k, v) for k, v in progress.items() if v is not None)

    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: okrsync\n    static_configs:\n"
        f"      - targets: ['{daemon.url.removeprefix('http://')}']\n",
        encoding="utf-8",
    )
    server = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    try:
        query = f'okrsync_key_result_progress_ratio{{id="{kr_id}"}}'

        def answered() -> list[Any] | None:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=5
                ).json()
            except (httpx.HTTPError, ValueError):
                return None
            return answer["data"]["result"] or None

        result = wait_for("Prometheus to answer the query", answered, timeout=120)
    finally:
        server.terminate()
        server.wait(30)
    assert len(result) == 1
    assert result[0]["metric"]["job"] == "okrsync"
    assert float(result[0]["value"][1]) == pytest.approx(expected)


def test_sigterm_mid_cycle_exits_cleanly_within_the_grace_period_and_writes_nothing(
    sandbox: Sandbox, config: Path, daemons: list[DaemonProcess]
) -> None:
    jira = sandbox.jira["cloud"]
    jira.faults.set(latency=0.3)
    daemon = start(daemons, config, {"OKRSYNC_DAEMON__GRACE_SECONDS": "60"})
    # Inside the cycle: the reads have begun.
    wait_for("the cycle's first reads", lambda: len(jira.log.entries()) >= 3)
    began = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(60) == 0
    took = time.monotonic() - began
    log = daemon.log()
    assert "daemon stopped" in log
    # The reads finished, the write batch was never sent: nothing reached the trackers.
    assert "cycle stopped before writing: the daemon is stopping" in log
    assert [e for s in sandbox.servers for e in mutating(s.log.entries())] == []
    assert took < 60
    # The state database is readable, and says the run did not complete.
    with StateStore.open(f"sqlite:///{config.parent / 'state.db'}") as store:
        runs = store.runs()
    assert all(run.outcome in ("failed", "ok", "partial") for run in runs)


def _owned_fields(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """okrsync's values in every Jira issue (the sync time left out: it differs per run)."""
    owned = {v for k, v in JIRA_FIELD.items() if k != "OKR Last Synced"}
    jira = sandbox.jira["cloud"]
    found: dict[str, dict[str, Any]] = {}
    with httpx.Client(auth=("demo@okrsync.example", "demo-token"), timeout=30) as client:
        answer = client.post(
            f"{jira.url}/rest/api/3/search/jql",
            json={
                "jql": "project is not EMPTY order by key",
                "fields": sorted(owned),
                "maxResults": 1000,
            },
        ).json()
    assert "nextPageToken" not in answer, "the demo fits in one page"
    for issue in answer["issues"]:
        values = {k: v for k, v in issue["fields"].items() if k in owned and v is not None}
        if values:
            found[issue["key"]] = values
    return found


def test_sigkill_at_random_points_then_a_restart_leaves_the_trackers_as_a_clean_run(
    sandbox: Sandbox, config: Path, daemons: list[DaemonProcess], tmp_path: Path
) -> None:
    rng = random.Random(20261204)
    jira = sandbox.jira["cloud"]
    jira.faults.set(latency=(0.0, 0.1))
    for _ in range(3):
        daemon = start(daemons, config)
        before = len(jira.log.entries())

        def began(before: int = before) -> bool:
            return len(jira.log.entries()) > before

        wait_for("the cycle to begin", began)
        time.sleep(rng.uniform(0.0, 3.0))  # a random point of the cycle, not a wait on it
        daemon.proc.kill()
        daemon.wait(30)
    jira.faults.set(latency=0)
    last = start(daemons, config)
    last.wait_for_log(FINISHED)
    last.signal(signal.SIGTERM)
    assert last.wait(60) == 0
    assert reported_progress(config)  # the state database reads back

    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as clean:
        clean_dir = tmp_path / "clean"
        clean_dir.mkdir()
        result = invoke(write_config(clean, clean_dir), "sync")
        assert result.exit_code in (0, 1), result.output
        assert _owned_fields(sandbox) == _owned_fields(clean)


def test_a_cycle_longer_than_the_interval_never_overlaps_and_skipped_ticks_are_counted(
    sandbox: Sandbox, config: Path, daemons: list[DaemonProcess]
) -> None:
    jira = sandbox.jira["cloud"]
    jira.faults.set(latency=0.4)
    daemon = start(daemons, config, {"OKRSYNC_SCHEDULE": "1s"})
    daemon.wait_for_log(FINISHED, timeout=180, count=2)
    exposition = daemon.get("/metrics").text
    skipped = sample(exposition, "okrsync_skipped_ticks_total")
    assert skipped is not None and skipped >= 1
    assert "skipped them" in daemon.log()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(60) == 0
    with StateStore.open(f"sqlite:///{config.parent / 'state.db'}") as store:
        runs = sorted(store.runs(), key=lambda run: run.started_at)
    finished = [run for run in runs if run.finished_at is not None]
    assert len(finished) >= 2
    for earlier, later in itertools.pairwise(finished):
        assert earlier.finished_at is not None and later.started_at is not None
        assert earlier.finished_at <= later.started_at, (earlier, later)
