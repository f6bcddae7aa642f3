"""What a tracker echoes back is masked too: the CLI prints servers' answers (``okrsync
check`` shows the account Jira says it authenticated), and a configured secret in them is
shown as the mask, never as itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync.cli import main
from okrsync.commands.demo import EXAMPLES
from okrsync.config.logs import MASK
from okrsync.sandbox.server import Sandbox, start_sandbox

TOKEN = "canary-echoed-4c9e2f7a1b"

CONFIG = """
state_url = "sqlite:///{state}"
mappings = "{mappings}"

[retry]
max_attempts = 2
initial_wait = 0.05

[jira.cloud]
url = "{jira}"
flavour = "cloud"
email = "demo@okrsync.example"
api_token = "{token}"
"""


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
    config = tmp_path / "okrsync.toml"
    config.write_text(
        CONFIG.format(
            state=tmp_path / "state.db",
            mappings=EXAMPLES / "payments-platform.yaml",
            jira=jira.url,
            token=TOKEN,
        ),
        encoding="utf-8",
    )
    env = {"OKRSYNC_CONFIG": None, "OKRSYNC_STATE_URL": None, "OKRSYNC_MAPPINGS": None}
    result = CliRunner().invoke(main, ["--config", str(config), "check"], env=env)
    assert result.exit_code == 0, result.output
    assert f"  user: okrsync bot {MASK}" in result.stdout.splitlines()
    assert TOKEN not in result.stdout + result.stderr
