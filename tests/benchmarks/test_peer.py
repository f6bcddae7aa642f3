"""The baseline peer computes the progress okrsync computes, on the demo sandbox."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.peer import main
from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import start_sandbox
from tests.e2e.cli import invoke, write_config


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_peer_progress_equals_okrsync(flavour: str, tmp_path: Path) -> None:
    with start_sandbox(seed="demo", jira=(flavour,), teambition=True) as sandbox:
        config = write_config(sandbox, tmp_path, flavour=flavour)
        result = invoke(config, "sync", "--output", "json")
        assert result.exit_code == 0, result.output
        synced = json.loads(result.stdout)
        now = datetime.fromisoformat(synced["run"]["started_at"])
        out = tmp_path / "peer.json"
        args = ["--config", str(config), "--mappings", str(EXAMPLES)]
        assert main([*args, "--now", now.isoformat(), "--out", str(out)]) == 0
    peer = json.loads(out.read_text(encoding="utf-8"))
    expected = {kr["id"]: kr["progress"] for kr in synced["key_results"]}
    assert set(peer["progress"]) == set(expected)
    for kr_id, progress in expected.items():
        assert peer["progress"][kr_id] == pytest.approx(progress), kr_id
    assert not peer["errors"]
    # Every field of every target, each run: at least as many writes as okrsync's first.
    assert peer["writes"] >= 1
    assert peer["requests"] > peer["writes"]
