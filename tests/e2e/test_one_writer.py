"""Two ``okrsync sync`` runs at once on one state: exactly one writes (promise 7).

Everything runs as people run it: ``okrsync sandbox`` and two ``okrsync sync`` processes,
each with its own Jira login (the sandbox matches e-mail addresses regardless of case, so
``demo@`` and ``DEMO@`` are one account that the request log tells apart). The sandbox
answers slowly, so the first run is still in its cycle when the second starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from okrsync.commands.demo import EXAMPLES

REPO = Path(__file__).resolve().parents[2]
SANDBOX = [sys.executable, "-m", "okrsync", "sandbox"]
FIRST, SECOND = "demo@okrsync.example", "DEMO@okrsync.example"
# Long enough per request that the second run starts and ends within the first's cycle
# on a loaded machine; the latency is lifted once the second run is done.
LATENCY_S = 3.0
# Reads that travel as POST: Jira's searches and counts.
_READ_POST = re.compile(r"/search(/jql|/approximate-count)?$")


def _environment() -> dict[str, str]:
    # Settings from the environment would override the config file.
    kept = {k: v for k, v in os.environ.items() if not k.startswith("OKRSYNC_")}
    return {**kept, "PYTHONUNBUFFERED": "1", "COLUMNS": "80"}


@pytest.fixture
def jira() -> Iterator[str]:
    """The URL of a running ``okrsync sandbox`` (Jira Cloud only, demo data)."""
    process = subprocess.Popen(
        [*SANDBOX, "--port", "0", "--flavour", "cloud", "--no-teambition"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = process.stdout.readline()
            assert line, "the sandbox stopped before serving:\n" + "".join(lines)
            lines.append(line)
        found = re.search(r"Jira cloud\s+(http://\S+)", "".join(lines))
        assert found, "".join(lines)
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _config(tmp: Path, jira: str, email: str) -> Path:
    """A config file for one run: its own Jira login, the shared state database."""
    config = tmp / f"{email.split('@')[0]}.toml"
    values = {
        "state_url": f"sqlite:///{tmp / 'state.db'}",
        "mappings": str(EXAMPLES / "payments-platform.yaml"),
    }
    jira_table = {"url": jira, "flavour": "cloud", "email": email, "api_token": "demo-token"}
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    lines += ["[jira.cloud]", *(f"{k} = {json.dumps(v)}" for k, v in jira_table.items())]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def _sync(config: Path) -> list[str]:
    return [sys.executable, "-m", "okrsync", "--config", str(config), "sync"]


def _log(jira: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{jira}/_sandbox/log", timeout=30).json()
    return entries


def _writes(entries: list[dict[str, Any]], user: str) -> int:
    return sum(
        1
        for e in entries
        if e["user"] == user
        and (
            e["method"] in {"PUT", "PATCH", "DELETE"}
            or (e["method"] == "POST" and not _READ_POST.search(e["path"]))
        )
    )


def test_two_overlapping_syncs_on_one_state_write_once(jira: str, tmp_path: Path) -> None:
    httpx.post(f"{jira}/_sandbox/faults", json={"latency": LATENCY_S}, timeout=30)
    first = subprocess.Popen(
        _sync(_config(tmp_path, jira, FIRST)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        # The first run holds the lock from before its first request to Jira.
        deadline = time.monotonic() + 120
        while not any(e["user"] == FIRST for e in _log(jira)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never reached Jira"
            time.sleep(0.2)

        second = subprocess.run(
            _sync(_config(tmp_path, jira, SECOND)),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=300,
        )
        httpx.post(f"{jira}/_sandbox/faults", json={"reset": True}, timeout=30)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)

    entries = _log(jira)
    assert _writes(entries, FIRST) > 0
    assert _writes(entries, SECOND) == 0
    assert [e for e in entries if e["user"] == SECOND] == []  # not even a read
    assert first.returncode == 0, err
    assert "writes" in out

    assert second.returncode == 1, second.stderr
    shown = second.stdout + second.stderr
    assert "another okrsync is writing to this state (" in shown
    assert f"pid {first.pid} on host " in shown  # the holder, by the lock file's note
    assert "nothing was written" in shown
    assert "Traceback" not in shown
