"""Secrets never leak: with debug logging through 401s, 429s, 503s and dropped
connections, no credential (nor the Basic header or app token built from one) shows up in
the command's output, its logs, or the state database."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync.cli import main
from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox, start_sandbox

CANARY_TOKEN = "canary-jira-7d1e4b2a9c"
CANARY_SECRET = "canary-teambition-5f8a3e6b1d"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sb:
        yield sb


def _env(sandbox: Sandbox, state: Path, token: str, secret: str) -> dict[str, str]:
    assert sandbox.teambition is not None
    return {
        "OKRSYNC_JIRA__CLOUD__URL": sandbox.jira["cloud"].url,
        "OKRSYNC_JIRA__CLOUD__EMAIL": "demo@okrsync.example",
        "OKRSYNC_JIRA__CLOUD__API_TOKEN": token,
        "OKRSYNC_TEAMBITION__MAIN__BASE_URL": sandbox.teambition.url,
        "OKRSYNC_TEAMBITION__MAIN__APP_ID": "okrsync-demo",
        "OKRSYNC_TEAMBITION__MAIN__APP_SECRET": secret,
        "OKRSYNC_TEAMBITION__MAIN__TENANT_ID": "tb-org-demo",
        "OKRSYNC_MAPPINGS": str(EXAMPLES),
        "OKRSYNC_STATE_URL": f"sqlite:///{state}",
        "OKRSYNC_RETRY__MAX_ATTEMPTS": "2",
        "OKRSYNC_RETRY__INITIAL_WAIT": "0.05",
        "OKRSYNC_SECRETS_DIR": str(state.parent / "no-secrets"),
    }


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_no_secret_reaches_output_logs_or_state(sandbox: Sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    runner = CliRunner()
    transcripts: list[str] = []

    def run(env: dict[str, str], *args: str) -> None:
        result = runner.invoke(main, ["--verbose", *args], env=env, catch_exceptions=False)
        transcripts.append(result.output)
        transcripts.append(result.stderr)

    good = _env(sandbox, state, "demo-token", "demo-secret")
    jira, tb = sandbox.jira["cloud"], sandbox.teambition
    assert tb is not None
    # A healthy cycle, then one through 503 spells, rate limits and dropped connections.
    run(good, "sync", "--output", "json")
    jira.faults.fail(status=503, count=3, retry_after=0)
    jira.faults.drop(count=1)
    tb.faults.fail(status=503, count=2, retry_after=0)
    tb.faults.set(rate_limit=2, retry_after=1)
    run(good, "sync")
    jira.faults.reset()
    tb.faults.reset()
    # Wrong credentials: the canaries travel to the trackers and come back as 401s.
    run(_env(sandbox, state, CANARY_TOKEN, CANARY_SECRET), "sync")
    run(_env(sandbox, state, CANARY_TOKEN, CANARY_SECRET), "check")
    run(good, "report", "--output", "json")
    run(good, "explain", "pay-checkout-v2")
    run(_env(sandbox, state, CANARY_TOKEN, CANARY_SECRET), "config", "show")

    secrets = [
        "demo-token",
        "demo-secret",
        CANARY_TOKEN,
        CANARY_SECRET,
        base64.b64encode(b"demo@okrsync.example:demo-token").decode(),
        base64.b64encode(f"demo@okrsync.example:{CANARY_TOKEN}".encode()).decode(),
        "eyJ",  # the start of every app token (a JWT) okrsync mints
    ]
    output = "\n".join(transcripts)
    assert "401" in output or "rejected" in output  # the bad credentials were exercised
    assert _leaks(output, secrets) == []
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert stored, "the state database was written"
    assert _leaks(stored.decode("utf-8", "replace"), secrets) == []
