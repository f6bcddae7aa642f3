"""``okrsync report --output json`` has the shape of ``okrsync sync --output json``.

Scripts read both with the same code: ``run``, ``sources``, ``objectives`` and
``key_results`` carry the same keys at every level, and what the state store does not
keep is null in the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okrsync.sandbox.server import start_sandbox
from tests.e2e.cli import Cli

SECTIONS = ("run", "sources", "objectives", "key_results")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        yield Cli(sandbox, tmp_path)


def _same_keys(synced: Any, reported: Any, where: str) -> None:
    """Assert that both values have the same keys, recursively; lists pair up by ``id``."""
    if isinstance(synced, dict) and isinstance(reported, dict):
        assert set(synced) == set(reported), where
        for key in synced:
            _same_keys(synced[key], reported[key], f"{where}.{key}")
    elif isinstance(synced, list) and synced and isinstance(synced[0], dict):
        assert isinstance(reported, list), where
        by_id = {entry["id"]: entry for entry in reported}
        assert set(by_id) == {entry["id"] for entry in synced}, where
        for entry in synced:
            _same_keys(entry, by_id[entry["id"]], f"{where}[{entry['id']}]")


def test_report_and_sync_json_have_the_same_keys_at_every_level(cli: Cli) -> None:
    synced = cli.json("sync")
    reported = cli.json("report")

    for section in SECTIONS:
        _same_keys(synced[section], reported[section], section)
    # Every section has something to compare, down to a KR's forecast.
    assert set(synced["sources"]) == {"jira:cloud", "teambition:main"}
    assert synced["objectives"] and synced["key_results"]
    assert any(kr["forecast"] for kr in reported["key_results"])


def test_what_the_store_keeps_agrees_and_what_it_does_not_is_null(cli: Cli) -> None:
    synced = cli.json("sync")
    reported = cli.json("report")

    run, stored_run = synced["run"], reported["run"]
    for key in ("id", "started_at", "finished_at", "mode", "outcome", "dry_run", "writes"):
        assert stored_run[key] == run[key], key
    for key in ("requests", "held", "conflicts", "stale", "final", "failed_sources", "error"):
        assert stored_run[key] == run[key], key
    for key in ("force", "only", "planned_writes", "unknown"):
        assert stored_run[key] is None, key

    source, stored = synced["sources"]["jira:cloud"], reported["sources"]["jira:cloud"]
    for key in ("up", "error", "last_success_at", "last_failure_at", "consecutive_failures"):
        assert stored[key] == source[key], key
    assert source["last_success_at"] is not None and source["consecutive_failures"] == 0
    for key in ("scopes", "full_reads", "incremental_reads", "items", "requests"):
        assert source[key] is not None and stored[key] is None, key

    text = cli("report")
    assert text.exit_code == 0, text.output
    assert "jira:cloud up" in text.stdout and "None" not in text.stdout
