"""Fixtures of the status page and report tests: the demo sandbox synced once, then
again with Teambition failing, so that its key results are stale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import invoke, write_config
from tests.service.conftest import daemons  # noqa: F401  (the daemons a test started)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as running:
        yield running


def fail_teambition(sandbox: Sandbox) -> None:
    """Every Teambition request answers 503 from now on (for this test's sandbox)."""
    assert sandbox.teambition is not None
    sandbox.teambition.faults.fail(status=503, count=100_000)


def report_json(config: Path) -> dict[str, Any]:
    """``okrsync report --output json``: the engine's numbers as the state keeps them."""
    result = invoke(config, "report", "--output", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture
def synced(sandbox: Sandbox, tmp_path: Path) -> Path:
    """The config of a state with two cycles: one fresh, one with Teambition down."""
    config = write_config(sandbox, tmp_path)
    first = invoke(config, "sync")
    assert first.exit_code == 0, first.output
    fail_teambition(sandbox)
    second = invoke(config, "sync")
    assert second.exit_code == 1, second.output
    return config
