"""What ``okrsync sync`` logs on stderr while a tracker is down: once when it starts
failing, nothing new while it stays down, once when it recovers (with since when)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import Result

from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import invoke, write_config


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sb:
        yield sb


def _okrsync(sandbox: Sandbox, tmp: Path, *args: str) -> Result:
    return invoke(write_config(sandbox, tmp), *args)


def _health_lines(result: Result) -> list[str]:
    """The log lines about a source failing or recovering, without their timestamps."""
    return [
        line.split(" okrsync.sync: ", 1)[1]
        for line in result.stderr.splitlines()
        if " okrsync.sync: " in line and ("failing" in line or "recovered" in line)
    ]


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    jira = sandbox.jira["cloud"]
    healthy = _okrsync(sandbox, tmp_path, "sync")
    assert healthy.exit_code == 0, healthy.output
    assert _health_lines(healthy) == []

    # Every Jira request answers 503 until the fault is lifted: two cycles in a row fail.
    jira.faults.fail(status=503, count=10_000, retry_after=0)
    first = _okrsync(sandbox, tmp_path, "sync")
    assert first.exit_code == 1, first.output
    [failing] = _health_lines(first)
    assert failing.startswith("jira:cloud is failing: ")
    assert "WARNING okrsync.sync: jira:cloud is failing: " in first.stderr
    report = _okrsync(sandbox, tmp_path, "report", "--output", "json")
    first_failure = datetime.fromisoformat(
        json.loads(report.stdout)["sources"]["jira:cloud"]["last_failure_at"]
    )

    still = _okrsync(sandbox, tmp_path, "sync")
    assert still.exit_code == 1, still.output
    assert _health_lines(still) == []  # at info level: nothing new to say
    debug = _okrsync(sandbox, tmp_path, "--log-level", "debug", "sync")
    assert debug.exit_code == 1, debug.output
    [still_failing] = _health_lines(debug)
    assert still_failing.startswith("jira:cloud is still failing (down since ")
    assert "DEBUG okrsync.sync: jira:cloud is still failing" in debug.stderr

    jira.faults.reset()
    recovered = _okrsync(sandbox, tmp_path, "sync")
    assert recovered.exit_code == 0, recovered.output
    # Down since the first failed cycle, not the latest one.
    since = first_failure.strftime("%Y-%m-%d %H:%M:%S %Z")
    assert _health_lines(recovered) == [f"jira:cloud recovered (down since {since})"]
    assert f"INFO okrsync.sync: jira:cloud recovered (down since {since})" in recovered.stderr

    again = _okrsync(sandbox, tmp_path, "sync")
    assert again.exit_code == 0, again.output
    assert _health_lines(again) == []
