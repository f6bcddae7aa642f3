"""What a tracker echoes back is masked too: the CLI prints servers' answers (``okrsync
check`` shows the account Jira says it authenticated), and a configured secret in them is
shown as the mask, never as itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from okrsync.commands.demo import EXAMPLES
from okrsync.config.logs import MASK
from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import invoke, write_config

TOKEN = "canary-echoed-4c9e2f7a1b"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=False) as sb:
        yield sb


def test_check_masks_a_token_the_tracker_echoes(sandbox: Sandbox, tmp_path: Path) -> None:
    jira = sandbox.jira["cloud"]
    # The service account was named after the token it was created with: Jira's
    # /myself answer (shown by check) now carries the secret.
    account = jira.data.user_for("demo@okrsync.example")
    assert account is not None
    account.token = TOKEN
    account.display_name = f"okrsync bot {TOKEN}"
    credentials = {"email": "demo@okrsync.example", "api_token": TOKEN}
    retry = {"max_attempts": 2, "initial_wait": 0.05}
    mappings = EXAMPLES / "payments-platform.yaml"
    config = write_config(
        sandbox, tmp_path, mappings=mappings, retry=retry, jira=credentials, teambition=False
    )
    result = invoke(config, "check")
    assert result.exit_code == 0, result.output
    assert f"  user: okrsync bot {MASK}" in result.stdout.splitlines()
    assert TOKEN not in result.stdout + result.stderr
