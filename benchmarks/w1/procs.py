"""Processes of the W1 benchmark: the sandbox in its own process, and okrsync (or the
baseline) run as a child whose CPU time and peak RSS come from ``os.wait4``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import Traffic
from okrsync.sandbox.requestlog import LoggedRequest

__all__ = ["Figures", "Sandbox", "run_child"]

_TICKS = os.sysconf("SC_CLK_TCK")
READY_SECONDS = 120.0
CHILD_SECONDS = 600.0


def _http(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def _root(url: str) -> str:
    return url.removesuffix("/api")


class Sandbox:
    """``python -m benchmarks.w1.serve`` as a child process on 127.0.0.1."""

    def __init__(self, seed: Path, workdir: Path, flavour: str, latency: float, rate: int):
        ready = workdir / f"ready-{flavour}.json"
        ready.unlink(missing_ok=True)
        self.flavour = flavour
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.w1.serve",
                str(seed),
                str(ready),
                f"--flavour={flavour}",
                f"--latency={latency}",
                f"--tb-rate={rate}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() - started > READY_SECONDS:
                self.stop()
                raise RuntimeError(f"the {flavour} sandbox did not start")
            time.sleep(0.05)
        self.start_seconds = time.monotonic() - started
        info = json.loads(ready.read_text(encoding="utf-8"))
        self.jira: str = info["jira"]
        self.teambition: str = info["teambition"]
        self.pid: int = self.process.pid

    def cpu_seconds(self) -> float:
        """User plus system CPU time the sandbox process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def clear_logs(self) -> None:
        """Forget both servers' request logs."""
        for url in (self.jira, self.teambition):
            _http(f"{_root(url)}/_sandbox/log", "DELETE")

    def traffic(self) -> dict[str, Traffic]:
        """Requests each server answered since the logs were cleared."""
        found: dict[str, Traffic] = {}
        for name, url in (("jira", self.jira), ("teambition", self.teambition)):
            entries = [LoggedRequest(**e) for e in _http(f"{_root(url)}/_sandbox/log")]
            found[name] = Traffic.of(name, entries)
        return found

    def reset_data(self) -> None:
        """Both servers back to the seed (faults set again: a reset clears them)."""
        for url in (self.jira, self.teambition):
            faults = _http(f"{_root(url)}/_sandbox/faults")
            _http(f"{_root(url)}/_sandbox/reset", "POST", {"data": True})
            keep = {k: faults[k] for k in ("latency", "rate_limit") if faults.get(k) is not None}
            _http(f"{_root(url)}/_sandbox/faults", "POST", keep)

    def change(self, changes: list[list[Any]]) -> dict[str, int]:
        """Apply changes inside the sandbox process (see ``benchmarks.w1.serve``)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(changes) + "\n")
        self.process.stdin.flush()
        answer: dict[str, int] = json.loads(self.process.stdout.readline())
        return answer

    def stop(self) -> None:
        """Close its input and wait; kill it when it lingers."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Figures:
    """One measured run of okrsync or the baseline."""

    wall: float
    cpu: float
    rss_mb: float
    sandbox_cpu: float
    requests: dict[str, int]
    writes: int
    exit_code: int
    output: Any = None
    endpoints: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        """Requests to every tracker."""
        return sum(self.requests.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON output (without the child's own output)."""
        return {
            "wall_s": round(self.wall, 3),
            "cpu_s": round(self.cpu, 3),
            "peak_rss_mb": round(self.rss_mb, 1),
            "sandbox_cpu_s": round(self.sandbox_cpu, 3),
            "requests": self.requests,
            "write_requests": self.writes,
            "exit_code": self.exit_code,
            "by_endpoint": self.endpoints,
        }


def run_child(command: list[str], sandbox: Sandbox, workdir: Path, env: dict[str, str]) -> Figures:
    """Run ``command`` as a child against ``sandbox``: its wall time, its own CPU time
    and peak RSS (``os.wait4``), the sandbox's CPU time and the requests it answered."""
    sandbox.clear_logs()
    out = workdir / "child.out"
    err = workdir / "child.err"
    sandbox_before = sandbox.cpu_seconds()
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
        deadline = time.monotonic() + CHILD_SECONDS
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
            time.sleep(0.01)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    sandbox_cpu = sandbox.cpu_seconds() - sandbox_before
    traffic = sandbox.traffic()
    text = out.read_text(encoding="utf-8")
    try:
        output = json.loads(text) if text.strip() else None
    except ValueError:
        output = None
    if child.returncode not in (0, 1):
        tail = err.read_text(encoding="utf-8", errors="replace")[-2000:]
        print(f"  {command[2:4]} exited {child.returncode}: {tail}", file=sys.stderr)
    return Figures(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,
        sandbox_cpu=sandbox_cpu,
        requests={k: t.requests for k, t in traffic.items()},
        writes=sum(t.writes for t in traffic.values()),
        exit_code=child.returncode,
        output=output,
        endpoints={k: t.endpoints for k, t in traffic.items()},
    )
