"""What ``okrsync sync`` logs on stderr while a tracker is down: once when it starts
failing, nothing new while it stays down, once when it recovers (with since when)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from okrsync.cli import main
from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox, start_sandbox

CONFIG = """
state_url = "sqlite:///{state}"
mappings = "{mappings}"

[retry]
max_attempts = 2
initial_wait = 0.05
max_total_wait = 1.0

[jira.cloud]
url = "{jira}"
flavour = "cloud"
email = "demo@okrsync.example"
api_token = "demo-token"

[teambition.main]
base_url = "{teambition}"
app_id = "okrsync-demo"
app_secret = "demo-secret"
tenant_id = "tb-org-demo"
operator_id = "tb-user-ana"
"""

# Settings from the environment would override the config file.
_CLEAN_ENV: dict[str, str | None] = {
    "OKRSYNC_CONFIG": None,
    "OKRSYNC_STATE_URL": None,
    "OKRSYNC_MAPPINGS": None,
    "OKRSYNC_LOG_LEVEL": None,
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sb:
        yield sb


def _okrsync(sandbox: Sandbox, tmp: Path, *args: str) -> Result:
    assert sandbox.teambition is not None
    config = tmp / "okrsync.toml"
    config.write_text(
        CONFIG.format(
            state=tmp / "state.db",
            mappings=EXAMPLES,
            jira=sandbox.jira["cloud"].url,
            teambition=sandbox.teambition.url,
        ),
        encoding="utf-8",
    )
    return CliRunner().invoke(main, ["--config", str(config), *args], env=_CLEAN_ENV)


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
