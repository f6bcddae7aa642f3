"""Mapping files edited while the daemon runs: a valid edit is taken up (on the periodic
check, or at once on SIGHUP), a broken one is reported, counted and ignored while the last
good mappings keep running, and a daemon never starts on broken mappings."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import write_config
from tests.service.daemon_process import REPO, DaemonProcess
from tests.service.test_daemon import FINISHED, sample

MOBILE = "mobile-teambition.yaml"
# The block of one key result nothing else refers to.
OKR_WORK = re.compile(r"\n      # Tasks of a project carrying.*?measure: \{kind: count\}\n", re.S)
REFUSED = r"the changed mappings have problems"
RELOADED = r"mappings reloaded"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as running:
        yield running


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    copy = tmp_path / "mappings"
    shutil.copytree(EXAMPLES, copy)
    return copy


def edit(mappings: Path, old: str | re.Pattern[str], new: str) -> None:
    file = mappings / MOBILE
    text = file.read_text(encoding="utf-8")
    changed = old.sub(new, text, count=1) if isinstance(old, re.Pattern) else text.replace(old, new)
    assert changed != text
    file.write_text(changed, encoding="utf-8")


def break_it(mappings: Path) -> None:
    edit(mappings, "kind: teambition_sprint,", "kind: teambition_sprintz,")


def series(daemon: DaemonProcess, kr_id: str) -> float | None:
    return sample(daemon.get("/metrics").text, "okrsync_key_result_progress_ratio", id=kr_id)


@pytest.mark.parametrize("how", ["periodic check", "SIGHUP"])
def test_a_broken_edit_is_refused_and_a_valid_one_taken_up(
    sandbox: Sandbox,
    mappings: Path,
    tmp_path: Path,
    daemons: list[DaemonProcess],
    how: str,
) -> None:
    # With SIGHUP, the periodic check is too far off to be the one noticing.
    check = "1" if how == "periodic check" else "3600"
    daemon = DaemonProcess(
        write_config(sandbox, tmp_path, mappings=mappings),
        tmp_path / "daemon.log",
        {"OKRSYNC_DAEMON__RELOAD_CHECK_SECONDS": check},
    )
    daemons.append(daemon)
    daemon.wait_for_log(FINISHED)
    assert daemon.get("/readyz").json()["mappings"] == {"key_results": 11, "refused_edit": None}
    assert series(daemon, "mob-okr-work") is not None

    break_it(mappings)
    if how == "SIGHUP":
        daemon.signal(signal.SIGHUP)
    log = daemon.wait_for_log(REFUSED)
    # One clear, located error, logged once; the daemon goes on with the last good tree.
    refused = [line for line in log.splitlines() if REFUSED in line]
    assert len(refused) == 1
    assert re.search(rf"{MOBILE}:\d+", refused[0]), refused[0]
    assert "teambition_sprintz" in refused[0]
    ready = daemon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["mappings"]["key_results"] == 11
    assert MOBILE in ready.json()["mappings"]["refused_edit"]
    exposition = daemon.get("/metrics").text
    assert sample(exposition, "okrsync_mapping_reloads_total", result="failed") == 1
    assert sample(exposition, "okrsync_mapping_reloads_total", result="ok") == 0
    assert series(daemon, "mob-okr-work") is not None

    # Fixed, and one key result removed: the new tree is in use, its series gone.
    edit(mappings, "kind: teambition_sprintz,", "kind: teambition_sprint,")
    edit(mappings, OKR_WORK, "\n")
    if how == "SIGHUP":
        daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(RELOADED)
    assert daemon.get("/readyz").json()["mappings"] == {"key_results": 10, "refused_edit": None}
    exposition = daemon.get("/metrics").text
    assert sample(exposition, "okrsync_mapping_reloads_total", result="ok") == 1
    assert series(daemon, "mob-okr-work") is None
    assert series(daemon, "mob-sprint-42") is not None

    daemon.signal(signal.SIGTERM)
    assert daemon.wait(30) == 0


def test_the_daemon_does_not_start_on_broken_mappings(
    sandbox: Sandbox, mappings: Path, tmp_path: Path
) -> None:
    break_it(mappings)
    config = write_config(sandbox, tmp_path, mappings=mappings)
    done = subprocess.run(
        [sys.executable, "-m", "okrsync", "--config", str(config), "daemon"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "OKRSYNC_LISTEN": "127.0.0.1:0"},
    )
    assert done.returncode == 2, done.stderr
    assert re.search(rf"{MOBILE}:\d+", done.stderr), done.stderr
    assert "serving" not in done.stderr
    assert sandbox.jira["cloud"].log.entries() == []
