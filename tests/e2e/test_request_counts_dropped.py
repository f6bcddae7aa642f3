"""A cycle's per-source request count is every request sent, answered or not: a connection
the tracker drops still counts, so the figure equals what the sandbox saw arrive (its
request log records a dropped connection with status 0)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okrsync.sandbox.faults import DROPPED
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from tests.e2e.cli import invoke, write_config

# Enough attempts to see dropped connections retried, with short waits.
RETRY = {"max_attempts": 4, "initial_wait": 0.02, "max_backoff": 0.05, "max_total_wait": 2.0}


@pytest.fixture(params=["cloud", "datacenter"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox(flavour: str) -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=(flavour,), teambition=True) as sb:
        yield sb


def sync(sandbox: Sandbox, flavour: str, tmp_path: Path, code: int) -> dict[str, Any]:
    """``okrsync sync --output json``, with its exit code checked."""
    config = write_config(sandbox, tmp_path, flavour=flavour, retry=RETRY)
    result = invoke(config, "sync", "--output", "json")
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def servers(sandbox: Sandbox, flavour: str) -> dict[str, SandboxServer]:
    assert sandbox.teambition is not None
    return {f"jira:{flavour}": sandbox.jira[flavour], "teambition:main": sandbox.teambition}


def test_an_unreachable_cycle_counts_every_dropped_request(
    sandbox: Sandbox, flavour: str, tmp_path: Path
) -> None:
    for server in servers(sandbox, flavour).values():
        server.faults.drop(count=10_000)
    data = sync(sandbox, flavour, tmp_path, code=1)
    for name, server in servers(sandbox, flavour).items():
        seen = server.log.entries()
        assert seen and {e.status for e in seen} == {DROPPED}
        source = data["sources"][name]
        assert not source["up"]
        assert source["requests"] == len(seen), name


def test_dropped_then_answered_requests_are_all_counted(
    sandbox: Sandbox, flavour: str, tmp_path: Path
) -> None:
    for server in servers(sandbox, flavour).values():
        server.faults.drop(count=3)
    data = sync(sandbox, flavour, tmp_path, code=0)
    for name, server in servers(sandbox, flavour).items():
        seen = server.log.entries()
        assert [e.status for e in seen].count(DROPPED) == 3
        source = data["sources"][name]
        assert source["up"]
        assert source["requests"] == len(seen), name
