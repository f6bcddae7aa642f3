"""``okrsync daemon`` as ops run it: a real process with a config file pointing at a
running sandbox, its log in a file, its endpoints over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

REPO = Path(__file__).resolve().parents[2]
_SERVING = re.compile(r"on http://(\S+)")
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0) -> T:
    """Poll ``probe`` until it returns something other than None or False; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None and value is not False:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DaemonProcess:
    """One ``okrsync daemon`` subprocess; ``env`` adds ``OKRSYNC_*`` settings."""

    def __init__(self, config: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.log_path = log
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("OKRSYNC_") and key != "COLUMNS"
        }
        environment |= {
            "OKRSYNC_LISTEN": "127.0.0.1:0",
            "OKRSYNC_SCHEDULE": "1h",
            "OKRSYNC_DAEMON__JITTER_SECONDS": "0",
            "OKRSYNC_DAEMON__LEASE_CHECK_SECONDS": "1",
            "OKRSYNC_DAEMON__RELOAD_CHECK_SECONDS": "1",
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "okrsync", "--config", str(config), "daemon"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=config.parent,
            )
        self._address: str | None = None

    def log(self) -> str:
        """Everything the daemon has printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 90.0, count: int = 1) -> str:
        """The log once ``pattern`` (a regular expression) appears ``count`` times in it."""

        def probe() -> str | None:
            text = self.log()
            if self.proc.poll() is not None and len(re.findall(pattern, text)) < count:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{text}")
            return text if len(re.findall(pattern, text)) >= count else None

        return wait_for(f"{pattern!r} in the daemon's log", probe, timeout)

    @property
    def url(self) -> str:
        """The base URL the daemon serves on (waits until it listens)."""
        if self._address is None:
            text = self.wait_for_log(r"serving .* on http://")
            found = _SERVING.search(text)
            assert found is not None
            self._address = found.group(1)
        return f"http://{self._address}"

    def get(self, path: str) -> httpx.Response:
        """``GET path`` from the daemon."""
        return httpx.get(self.url + path, timeout=30)

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """``POST path`` to the daemon."""
        return httpx.post(self.url + path, content=body, headers=dict(headers), timeout=30)

    def cycles(self) -> int:
        """How many cycles the daemon has logged as finished."""
        return len(re.findall(r"\bcycle(?: over \d+ key result\(s\))? \w+ \(", self.log()))

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the daemon."""
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        """The exit code, once the daemon has exited."""
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
