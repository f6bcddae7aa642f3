"""An unexpected error: one line and the hint without ``--verbose``; with ``-v`` its
traceback, on stderr. Here the unexpected error is a state database whose stored result
was damaged by hand (a row without its key result id)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from okrsync.cli import main
from okrsync.state import StateStore

CANARY = "canary-0b7e4d1c-secret"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Settings whose state holds one damaged key-result row."""
    state = tmp_path / "state.db"
    StateStore.open(f"sqlite:///{state}").close()
    with sqlite3.connect(state) as db:
        db.execute(
            "INSERT INTO kr_results (kr_id, run_id, result, stale, updated_at) "
            "VALUES (?, NULL, ?, 0, ?)",
            ("damaged", json.dumps({"status": "on_track"}), "2026-11-02 10:00:00.000000"),
        )
    path = tmp_path / "okrsync.toml"
    path.write_text(
        f'state_url = "sqlite:///{state}"\n'
        "[jira.main]\n"
        'url = "https://jira.example.com"\n'
        f'pat = "{CANARY}"\n',
        encoding="utf-8",
    )
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_without_verbose_one_line_and_the_hint(config: Path) -> None:
    result = run("--config", str(config), "report")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: unexpected error: KeyError: 'kr_id'\n  rerun with --verbose for the traceback\n"
    )


@pytest.mark.parametrize("flag", ["-v", "--verbose"])
def test_verbose_prints_the_traceback_on_stderr(config: Path, flag: str) -> None:
    result = run(flag, "--config", str(config), "report")
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("Traceback (most recent call last):\n")
    assert "in report_command\n" in err
    assert "KeyError: 'kr_id'\n" in err
    assert err.endswith("error: unexpected error: KeyError: 'kr_id'\n")
    assert "rerun with --verbose" not in err
    assert CANARY not in err
