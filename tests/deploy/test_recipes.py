"""deploy/README.md works as written: its shell blocks run here, against the sandbox.

The blocks are read from the README itself, so the document cannot drift from what is
tested. Absolute host paths (/etc, /var/lib, /var/log, /opt, /usr/local) are moved under a
scratch root; lines ending in ``# host only`` (installing packages, starting services)
are left out, and the scratch root gets a stand-in for the installed ``okrsync``. The
service user the recipe creates is real (these tests need root) and is removed afterwards
unless it was there before. What systemd itself would do (hand over credentials, set the
environment, switch user) is done here from the unit file's own lines.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.conftest import mutating

REPO = Path(__file__).resolve().parents[2]
README = REPO / "deploy" / "README.md"
USER = "okrsync"
HOST_ONLY = "# host only"
_HOST_PATH = re.compile(r"(?<![\w.-])(/etc|/var/lib|/var/log|/opt|/usr/local)(?=/|\b)")
# Cron runs jobs with a minimal environment; so do these tests.
CRON_PATH = "/usr/bin:/bin"

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0, reason="needs root: the recipes create a service user and chown"
    ),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("useradd", "userdel", "runuser", "flock")),
        reason="needs useradd, userdel, runuser and flock",
    ),
]


def blocks() -> dict[str, str]:
    """The README's ``sh`` blocks by the heading above them (e.g. ``2b. cron``)."""
    found: dict[str, str] = {}
    heading = ""
    text = README.read_text(encoding="utf-8")
    for match in re.finditer(r"^## ([^\n]+)$|^```sh\n(.*?)^```$", text, flags=re.M | re.S):
        if match.group(1):
            heading = match.group(1).strip()
        else:
            found[heading] = match.group(2)
    return found


def block(prefix: str) -> str:
    """One block, without its ``# host only`` lines."""
    (text,) = [body for heading, body in blocks().items() if heading.startswith(prefix)]
    return "".join(line for line in text.splitlines(True) if not line.rstrip().endswith(HOST_ONLY))


def rooted(text: str, root: Path) -> str:
    """``text`` with every absolute host path moved under ``root``."""
    return _HOST_PATH.sub(lambda m: f"{root}{m.group(1)}", text)


@dataclass
class Host:
    """A scratch root standing in for the machine, the sandbox, and how to run things."""

    root: Path
    sandbox: Sandbox
    env: dict[str, str]

    def path(self, host_path: str) -> Path:
        return Path(rooted(host_path, self.root))

    def run_block(self, text: str) -> subprocess.CompletedProcess[str]:
        """Run README lines as root from the checkout, as the README says to."""
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", rooted(text, self.root)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def as_user(
        self, command: list[str], env: dict[str, str], cwd: Path
    ) -> subprocess.CompletedProcess[str]:
        """``command`` as the service user with only ``env`` (as cron and systemd do)."""
        assignments = [f"{key}={value}" for key, value in env.items()]
        return subprocess.run(
            ["runuser", "-u", USER, "--", "env", "-i", *assignments, *command],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def mutations(self) -> int:
        return sum(len(mutating(s.log.entries())) for s in self.sandbox.servers)


def _stand_in_install(root: Path) -> None:
    """What ``pip install`` would put in /opt/okrsync: an ``okrsync`` the user can run.

    This test's interpreter may live where other users cannot reach (e.g. under /root), so
    the stand-in runs the system Python of the same version on this checkout's packages.
    """
    python = sys.executable
    system = shutil.which("python3", path=CRON_PATH)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if (
        system
        and subprocess.run(
            [system, "-c", f"import sys; assert '%d.%d' % sys.version_info[:2] == '{version}'"],
            capture_output=True,
        ).returncode
        == 0
    ):
        python = system
    packages = sysconfig.get_paths()["purelib"]
    script = root / "opt" / "okrsync" / "bin" / "okrsync"
    script.parent.mkdir(parents=True)
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH={packages}:{REPO} exec {python} -m okrsync "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    # The recipe creates a real system user: two test runs on one machine take turns, so
    # one never deletes the user while the other's recipes still run as it.
    with open(Path(tempfile.gettempdir()) / "okrsync-deploy-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _host()


def _host() -> Iterator[Host]:
    had_user = _user_exists()
    root = Path(tempfile.mkdtemp(prefix="okrsync-deploy-"))
    root.chmod(0o755)  # the service user must reach the files under it
    for folder in ("etc/cron.d", "etc/logrotate.d", "etc/systemd/system", "var/lib", "var/log"):
        (root / folder).mkdir(parents=True)
    _stand_in_install(root)
    sandbox = start_sandbox(seed="demo", jira=("cloud",), teambition=True)
    assert sandbox.teambition is not None
    env = {
        "PATH": os.environ.get("PATH", CRON_PATH),
        "HOME": str(root),
        "JIRA_URL": sandbox.jira["cloud"].url,
        "JIRA_EMAIL": "demo@okrsync.example",
        "JIRA_API_TOKEN": "demo-token",
        "TB_BASE_URL": sandbox.teambition.url,
        "TB_APP_ID": "okrsync-demo",
        "TB_APP_SECRET": "demo-secret",
        "TB_TENANT_ID": "tb-org-demo",
        "TB_OPERATOR_ID": "tb-user-ana",
    }
    world = Host(root, sandbox, env)
    try:
        installed = world.run_block(block("1."))
        assert installed.returncode == 0, installed.stderr
        yield world
    finally:
        for server in sandbox.servers:
            server.stop()
        if not had_user and _user_exists():
            subprocess.run(["userdel", USER], check=False, capture_output=True)
            subprocess.run(["groupdel", USER], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _user_exists() -> bool:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return False
    return True


def test_the_service_user_reads_the_config_and_mappings_and_nobody_else_does(
    host: Host,
) -> None:
    config = host.path("/etc/okrsync")
    mappings = sorted((config / "mappings").glob("*.yaml"))
    assert [m.name for m in mappings] == sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    for path in [config, config / "mappings", config / "okrsync.toml", *mappings]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path  # nothing for others
    # The secrets come with the scheduler (section 2): here the user reads the files only.
    okrsync = str(host.path("/opt/okrsync/bin/okrsync"))
    check = host.as_user(
        [okrsync, "check", "--offline", "--mappings", str(config / "mappings")],
        {"PATH": CRON_PATH, "OKRSYNC_CONFIG": str(config / "okrsync.toml")},
        host.root,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.rstrip().endswith(": OK")
    assert "api_token" in check.stderr or "problem" in check.stderr  # no secret yet


@pytest.fixture(scope="module")
def cron(host: Host) -> dict[str, Any]:
    """The cron recipe run; its job line and environment, as cron would read them."""
    done = host.run_block(block("2b."))
    assert done.returncode == 0, done.stderr
    env = {"PATH": CRON_PATH, "SHELL": "/bin/sh", "LOGNAME": USER}
    job: list[str] = []
    for line in host.path("/etc/cron.d/okrsync").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
        else:
            job = line.split(None, 6)
    assert job[5] == USER, "the job runs as the service user"
    assert "%" not in job[6], "cron would cut the command at a %"
    home = Path(pwd.getpwnam(USER).pw_dir)
    env["HOME"] = str(host.path(str(home)))
    return {"env": env, "command": job[6], "cwd": host.path(str(home)), "output": done}


def _cron_run(host: Host, cron: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return host.as_user(["/bin/sh", "-c", cron["command"]], cron["env"], cron["cwd"])


def _log_lines(host: Host) -> list[dict[str, Any]]:
    text = host.path("/var/log/okrsync/sync.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def test_cron_appends_one_json_line_per_run_and_skips_a_run_while_one_holds_the_lock(
    host: Host, cron: dict[str, Any]
) -> None:
    for _ in range(2):
        run = _cron_run(host, cron)
        assert run.returncode == 0, host.path("/var/log/okrsync/sync.log").read_text()
        assert run.stdout == run.stderr == ""  # cron would mail any output
    runs = _log_lines(host)
    assert len(runs) == 2
    assert [r["schema_version"] for r in runs] == [1, 1]
    assert [r["run"]["outcome"] for r in runs] == ["ok", "ok"]
    assert runs[1]["run"]["writes"] == 0  # nothing changed in between
    assert runs[1]["run"]["failed_sources"] == []

    before = host.mutations()
    lock = host.path("/var/lib/okrsync/sync.lock")
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run still going
        skipped = _cron_run(host, cron)
    assert skipped.returncode == 1  # flock -n: gave up at once
    assert len(_log_lines(host)) == 2
    assert host.mutations() == before


def test_logrotate_accepts_the_rotation_and_the_next_run_starts_a_new_log(
    host: Host, cron: dict[str, Any]
) -> None:
    if not shutil.which("logrotate"):
        pytest.skip("logrotate is not installed here")
    assert "okrsync/sync.jsonl" in cron["output"].stderr  # the README's `logrotate --debug`
    log = host.path("/var/log/okrsync/sync.jsonl")
    if not log.exists() or not log.read_text(encoding="utf-8"):
        assert _cron_run(host, cron).returncode == 0
    kept = log.read_text(encoding="utf-8")
    state = host.root / "logrotate.status"
    conf = host.path("/etc/logrotate.d/okrsync")
    rotated = subprocess.run(
        ["logrotate", "--force", "--state", str(state), str(conf)], capture_output=True, text=True
    )
    assert rotated.returncode == 0, rotated.stderr
    assert Path(f"{log}.1").read_text(encoding="utf-8") == kept
    assert log.stat().st_size == 0 and log.owner() == USER
    assert _cron_run(host, cron).returncode == 0
    assert len(_log_lines(host)) == 1


@pytest.fixture(scope="module")
def units(host: Host) -> dict[str, Path]:
    """The systemd recipe run (systemd-analyze apart), its unit files moved under the root."""
    text = block("2a.")
    done = host.run_block(
        "".join(line for line in text.splitlines(True) if not line.startswith("systemd-analyze"))
    )
    assert done.returncode == 0, done.stderr
    installed = {}
    for name in ("okrsync-sync.service", "okrsync-sync.timer"):
        unit = host.path(f"/etc/systemd/system/{name}")
        unit.write_text(rooted(unit.read_text(encoding="utf-8"), host.root), encoding="utf-8")
        installed[name] = unit
    return installed


def test_the_unit_files_pass_systemd_analyze_verify(host: Host, units: dict[str, Path]) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed here; the units were not verified")
    verify = [line for line in block("2a.").splitlines() if line.startswith("systemd-analyze")]
    assert verify, "the README verifies the units"
    checked = host.run_block("\n".join(verify))
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


def _service(unit: Path) -> list[tuple[str, str]]:
    section, found = "", []
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.append((key, value))
    return found


def test_the_service_runs_with_its_credentials_and_prints_one_json_line(
    host: Host, units: dict[str, Path]
) -> None:
    service = _service(units["okrsync-sync.service"])
    text = units["okrsync-sync.service"].read_text(encoding="utf-8")
    assert "OKRSYNC_JIRA__" not in text and "OKRSYNC_TEAMBITION__" not in text
    settings = dict(service)
    assert settings["User"] == USER
    # systemd: StateDirectory= made, for the user; LoadCredential= copied into %d.
    state = host.path(f"/var/lib/{settings['StateDirectory']}")
    state.mkdir(exist_ok=True)
    shutil.chown(state, USER, USER)
    credentials = Path(tempfile.mkdtemp(dir=host.root, prefix="credentials-"))
    for key, value in service:
        if key == "LoadCredential":
            ident, _, source = value.partition(":")
            for secret in Path(source).iterdir():
                shutil.copyfile(secret, credentials / f"{ident}_{secret.name}")
    for path in [credentials, *credentials.iterdir()]:
        shutil.chown(path, USER, USER)
    env = {"PATH": CRON_PATH, "HOME": str(state)}
    for key, value in service:
        if key == "Environment":
            name, _, assigned = value.partition("=")
            env[name] = assigned.replace("%d", str(credentials))
        elif key == "EnvironmentFile" and Path(value.lstrip("-")).exists():
            for line in Path(value.lstrip("-")).read_text(encoding="utf-8").splitlines():
                name, _, assigned = line.partition("=")
                if assigned and not name.startswith("#"):
                    env[name.strip()] = assigned.strip()
    run = host.as_user(shlex.split(settings["ExecStart"]), env, Path(settings["WorkingDirectory"]))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == ""
    document = json.loads(lines[0])
    assert document["schema_version"] == 1
    assert document["run"]["outcome"] == "ok"
    assert set(document["sources"]) == {"jira:cloud", "teambition:main"}
    assert "demo-token" not in run.stdout + run.stderr


def test_ci_checks_the_files_then_the_trackers_then_syncs(host: Host, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "okrs")
    sandbox = host.sandbox
    assert sandbox.teambition is not None
    env = {
        "PATH": f"{Path(sys.executable).parent}:{CRON_PATH}",
        "HOME": str(tmp_path),
        "OKRSYNC_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "OKRSYNC_JIRA__CLOUD__URL": sandbox.jira["cloud"].url,
        "OKRSYNC_JIRA__CLOUD__FLAVOUR": "cloud",
        "OKRSYNC_JIRA__CLOUD__EMAIL": "demo@okrsync.example",
        "OKRSYNC_JIRA__CLOUD__API_TOKEN": "demo-token",
        "OKRSYNC_TEAMBITION__MAIN__BASE_URL": sandbox.teambition.url,
        "OKRSYNC_TEAMBITION__MAIN__APP_ID": "okrsync-demo",
        "OKRSYNC_TEAMBITION__MAIN__APP_SECRET": "demo-secret",
        "OKRSYNC_TEAMBITION__MAIN__TENANT_ID": "tb-org-demo",
        "OKRSYNC_TEAMBITION__MAIN__OPERATOR_ID": "tb-user-ana",
    }
    job = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block("3.")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert job.returncode == 0, job.stdout + job.stderr
    lines = job.stdout.splitlines()
    assert lines[0].startswith("okrs: ") and lines[0].endswith(": OK")  # the offline check
    assert "jira:cloud: OK" in lines and "teambition:main: OK" in lines  # the online one
    assert json.loads(lines[-1])["schema_version"] == 1  # the sync, last
