"""deploy/systemd: the units pass ``systemd-analyze verify`` (skipped where systemd is
not installed), the daemon's unit is hardened (``systemd-analyze security`` rates it) and
stops within its own timeout, the timer spreads its runs; and the daemon runs as its
unit says: the unit's ``Environment=`` lines, its ``LoadCredential=`` folder copied into a
credentials directory as systemd does (``okrsync_<file name>``), ``ExecStart=`` as a
non-root user, ``ExecReload=``'s SIGHUP and ``KillSignal=`` handled, against the sandbox.
No systemd runs here: what systemd would do is done from the unit file's own lines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from okrsync.commands.demo import EXAMPLES
from okrsync.config.settings import DaemonSettings
from okrsync.sandbox.server import start_sandbox
from tests.service.daemon_process import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
DAEMON = UNITS / "okrsync-daemon.service"
INSTALLED = "/opt/okrsync/bin/okrsync"
UID = 10001  # systemd's User=okrsync, or DynamicUser's uid: not root is what matters


def unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The unit's sections: ``[Section]`` -> its (key, value) lines in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        elif "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|min)?", value)
    assert match, value
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """The units with ``/opt/okrsync/bin/okrsync`` pointing at an executable that exists."""
    program = tmp_path / "okrsync"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    for path in UNITS.iterdir():
        text = path.read_text(encoding="utf-8").replace(INSTALLED, str(program))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_units_pass_systemd_analyze_verify(stand_in: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed here; the units were not verified")
    names = sorted(p.name for p in UNITS.iterdir())
    assert {"okrsync-daemon.service", "okrsync-sync.service", "okrsync-sync.timer"} <= set(names)
    verified = subprocess.run(
        ["systemd-analyze", "verify", *(str(stand_in / n) for n in names)],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""


def test_systemd_rates_the_daemon_unit_well_hardened(stand_in: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed here; the unit was not rated")
    rated = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            "--threshold=20",
            str(stand_in / DAEMON.name),
        ],
        capture_output=True,
        text=True,
    )
    assert rated.returncode == 0, rated.stdout + rated.stderr
    (score,) = re.findall(r"Overall exposure level for \S+: ([\d.]+)", rated.stdout)
    assert float(score) <= 2.0, rated.stdout  # systemd's "OK" band


def test_the_daemon_unit_is_hardened_and_stops_within_its_timeout() -> None:
    service = dict(unit(DAEMON)["Service"])
    assert service["Type"] in {"exec", "simple"}
    assert shlex.split(service["ExecStart"]) == [INSTALLED, "daemon"]
    assert service["User"] == "okrsync" or service.get("DynamicUser") == "yes"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "StateDirectory": "okrsync",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
    }.items():
        assert service[key] == value, key
    assert service["RestartPreventExitStatus"] == "2"  # a bad setting is not retried
    assert service["LoadCredential"].startswith("okrsync:")
    environment = [v for k, v in unit(DAEMON)["Service"] if k == "Environment"]
    assert "OKRSYNC_SECRETS_DIR=%d" in environment
    grace = DaemonSettings().grace_seconds
    assert _seconds(service["TimeoutStopSec"]) >= grace + 5
    text = DAEMON.read_text(encoding="utf-8")
    assert "OKRSYNC_JIRA__" not in text and "api_token" not in text.replace("api_token,", "")


def test_the_timer_spreads_its_runs_and_the_oneshot_stays_a_oneshot() -> None:
    timer = dict(unit(UNITS / "okrsync-sync.timer")["Timer"])
    assert _seconds(timer["RandomizedDelaySec"]) > 0
    assert timer["Persistent"] == "true"
    service = dict(unit(UNITS / "okrsync-sync.service")["Service"])
    assert service["Type"] == "oneshot"


# --- the daemon run as its unit says ---------------------------------------------------


@pytest.fixture
def root() -> Iterator[Path]:
    """A scratch root the unprivileged user can reach (pytest's folders are root's only)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the unit's command as another user")
    folder = Path(tempfile.mkdtemp(prefix="okrsync-systemd-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stand_in_install(root: Path) -> Path:
    """``/opt/okrsync/bin/okrsync`` under ``root``: this checkout, run by a Python 3.11 that
    another user may run (this test's interpreter may live under /root)."""
    python = shutil.which("python3.11", path="/usr/bin:/usr/local/bin") or sys.executable
    script = root / INSTALLED.lstrip("/")
    script.parent.mkdir(parents=True)
    packages = sysconfig.get_paths()["purelib"]
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH={packages}:{REPO} exec {python} -m okrsync "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def test_the_daemon_runs_with_its_credentials_reloads_on_hup_and_stops_on_term(
    root: Path,
) -> None:
    service = unit(DAEMON)["Service"]
    settings = dict(service)
    _stand_in_install(root)
    port = free_port()
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        assert sandbox.teambition is not None
        # /etc/okrsync as section 1 of deploy/README.md leaves it: no secret in the file.
        etc = root / "etc" / "okrsync"
        (etc / "credentials").mkdir(parents=True)
        shutil.copytree(EXAMPLES, etc / "mappings")
        state = root / "var" / "lib" / settings["StateDirectory"]
        state.mkdir(parents=True)
        os.chown(state, UID, UID)
        (etc / "okrsync.toml").write_text(
            f'mappings = "{etc / "mappings"}"\n'
            f'state_url = "sqlite:///{state}/state.db"\n'
            f'listen = "127.0.0.1:{port}"\n'
            'schedule = "1h"\n'
            "[daemon]\njitter_seconds = 0\nreload_check_seconds = 3600\n"
            f'[jira.cloud]\nurl = "{sandbox.jira["cloud"].url}"\nflavour = "cloud"\n'
            'email = "demo@okrsync.example"\n'
            f'[teambition.main]\nbase_url = "{sandbox.teambition.url}"\n'
            'app_id = "okrsync-demo"\ntenant_id = "tb-org-demo"\noperator_id = "tb-user-ana"\n',
            encoding="utf-8",
        )
        secrets = {
            "jira__cloud__api_token": "demo-token",
            "teambition__main__app_secret": "demo-secret",
            "webhooks__jira_secret": "hook-secret",
        }
        for name, value in secrets.items():
            (etc / "credentials" / name).write_text(value, encoding="utf-8")

        # What systemd does: LoadCredential=ID:FOLDER -> %d/ID_<file>, owned by the user.
        credentials = root / "run" / "credentials"
        credentials.mkdir(parents=True)
        ident, _, source = settings["LoadCredential"].partition(":")
        for secret in Path(source.replace("/etc/okrsync", str(etc))).iterdir():
            shutil.copyfile(secret, credentials / f"{ident}_{secret.name}")
        for path in [credentials, *credentials.iterdir()]:
            os.chown(path, UID, UID)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(state)}
        for key, value in service:
            if key == "Environment":
                name, _, assigned = value.partition("=")
                env[name] = assigned.replace("%d", str(credentials)).replace(
                    "/etc/okrsync", str(etc)
                )
        command = [
            part.replace(INSTALLED, str(root / INSTALLED.lstrip("/")))
            for part in shlex.split(settings["ExecStart"])
        ]
        log = root / "journal.log"
        as_user = ["setpriv", "--reuid", str(UID), "--regid", str(UID), "--clear-groups", "--"]
        with log.open("ab") as out:
            daemon = subprocess.Popen(
                [*as_user, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=state,
            )
        try:
            url = f"http://127.0.0.1:{port}"

            def cycled() -> bool:
                if daemon.poll() is not None:
                    raise AssertionError(f"exited {daemon.returncode}:\n{log.read_text()}")
                return "cycle ok" in log.read_text()

            wait_for("a cycle", cycled, 120)
            assert httpx.get(url + "/healthz", timeout=10).status_code == 200
            assert httpx.get(url + "/readyz", timeout=10).status_code == 200

            # The webhook secret came with the credentials: a signed delivery is accepted.
            body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {}}).encode()
            digest = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
            signed = httpx.post(
                url + "/webhooks/jira",
                content=body,
                headers={"X-Hub-Signature": f"sha256={digest}"},
                timeout=10,
            )
            unsigned = httpx.post(url + "/webhooks/jira", content=body, timeout=10)
            assert unsigned.status_code == 401
            assert signed.status_code != 401, signed.text

            # ExecReload= sends SIGHUP: an edited mapping file is read again at once.
            assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
            before = log.read_text().count("mappings reloaded")
            edited = next((etc / "mappings").glob("*.yaml"))
            edited.write_text(edited.read_text() + "# edited\n", encoding="utf-8")
            daemon.send_signal(signal.SIGHUP)
            wait_for("the reload", lambda: log.read_text().count("mappings reloaded") > before)
            assert daemon.poll() is None

            # KillSignal=: okrsync exits 0 within TimeoutStopSec.
            daemon.send_signal(getattr(signal, settings["KillSignal"]))
            assert daemon.wait(_seconds(settings["TimeoutStopSec"])) == 0, log.read_text()
            text = log.read_text()
            for value in secrets.values():
                assert value not in text
            assert (state / "state.db").stat().st_uid == UID
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(10)
