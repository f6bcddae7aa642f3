"""deploy/README.md section 5 (the systemd daemon) works as written: its shell block runs
in a scratch root after section 1, as tests/deploy/test_recipes.py runs the others, and the
unit it installs passes the README's own ``systemd-analyze verify`` line. (The unit itself
is run as systemd would in tests/deploy/test_systemd.py.)"""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from tests.deploy.test_recipes import (  # the scratch root, section 1 done
    Host,
    block,
    host,  # noqa: F401 - a fixture
    pytestmark,  # noqa: F401 - root, useradd and runuser needed
    rooted,
)


def test_the_daemon_recipe_installs_its_unit_and_credentials(host: Host) -> None:  # noqa: F811
    host.env["JIRA_WEBHOOK_SECRET"] = "hook-secret"
    text = block("5.")
    verify = [line for line in text.splitlines() if line.startswith("systemd-analyze")]
    assert verify, "the README verifies the unit"
    done = host.run_block(
        "".join(line for line in text.splitlines(True) if not line.startswith("systemd-analyze"))
    )
    assert done.returncode == 0, done.stderr

    credentials = host.path("/etc/okrsync/credentials")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o700
    for name, value in {
        "jira__cloud__api_token": "demo-token",
        "teambition__main__app_secret": "demo-secret",
        "webhooks__jira_secret": "hook-secret",
    }.items():
        secret = credentials / name
        assert secret.read_text(encoding="utf-8") == value
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.stat().st_uid == 0
    env = host.path("/etc/okrsync/okrsync.env").read_text(encoding="utf-8").splitlines()
    assert "OKRSYNC_LISTEN=0.0.0.0:9464" in env

    unit = host.path("/etc/systemd/system/okrsync-daemon.service")
    unit.write_text(rooted(unit.read_text(encoding="utf-8"), host.root), encoding="utf-8")
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed here; the unit was not verified")
    checked = host.run_block("\n".join(verify))
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""
    assert os.access(host.path("/opt/okrsync/bin/okrsync"), os.X_OK)
