"""Measuring one phase of the benchmark: wall time, HTTP requests per tracker (from the
sandbox request logs), memory (RSS, optionally the Python heap through tracemalloc).

Peak RSS per phase comes from Linux's ``VmHWM``, reset at the start of each phase through
``/proc/self/clear_refs``; elsewhere only the process-wide ``getrusage`` peak is known.
Everything runs in one process (sandbox included), so memory figures include the sandbox.
"""

from __future__ import annotations

import re
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import SandboxServer

__all__ = ["Phase", "Traffic", "measure_phase", "peak_rss_mb", "rss_mb", "timed"]

_PROC_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# Jira reads that travel as POST (searches with long JQL, counts).
_JIRA_READ_POST = re.compile(r"/search(/jql|/approximate-count)?$")
_ISSUE = re.compile(r"/issue/[^/]+")
_TB_ID = re.compile(r"/tb-[^/]+")
_MB = 1024 * 1024


def _status_kb(name: str) -> int | None:
    try:
        for line in _PROC_STATUS.read_text(encoding="ascii").splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb() -> float | None:
    """Resident memory now (Linux), in MiB."""
    kb = _status_kb("VmRSS")
    return None if kb is None else round(kb / 1024, 1)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (``getrusage``), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / _MB if sys.platform == "darwin" else peak / 1024, 1)


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def is_write(server: str, entry: LoggedRequest) -> bool:
    """Whether a logged request changes something in the tracker."""
    if entry.method == "GET":
        return False
    if server.startswith("jira") and entry.method == "POST":
        return not _JIRA_READ_POST.search(entry.path)
    return True


def endpoint(entry: LoggedRequest) -> str:
    """``METHOD /path`` with issue keys and Teambition ids replaced by placeholders."""
    path = _TB_ID.sub("/{id}", _ISSUE.sub("/issue/{key}", entry.path))
    return f"{entry.method} {path}"


@dataclass
class Traffic:
    """Requests one tracker answered in a phase."""

    requests: int = 0
    writes: int = 0
    errors: int = 0
    endpoints: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, server: str, entries: list[LoggedRequest]) -> Traffic:
        """Summarize a request log."""
        counts = Counter(endpoint(e) for e in entries)
        return cls(
            requests=len(entries),
            writes=sum(is_write(server, e) for e in entries),
            errors=sum(e.status >= 400 or e.status == 0 for e in entries),
            endpoints=dict(counts.most_common()),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return {
            "requests": self.requests,
            "write_requests": self.writes,
            "error_responses": self.errors,
            "by_endpoint": self.endpoints,
        }


@dataclass
class Phase:
    """What one phase cost. ``details`` holds what the measured function reported."""

    name: str
    seconds: float = 0.0
    traffic: dict[str, Traffic] = field(default_factory=dict)
    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    peak_rss_mb: float | None = None
    heap_peak_mb: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def requests(self, tracker: str) -> int:
        """Requests to the servers whose name starts with ``tracker``."""
        return sum(t.requests for name, t in self.traffic.items() if name.startswith(tracker))

    def write_requests(self) -> int:
        """Requests that changed something, all trackers."""
        return sum(t.writes for t in self.traffic.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return {
            "seconds": round(self.seconds, 3),
            "requests": {name: t.to_dict() for name, t in self.traffic.items()},
            "rss_start_mb": self.rss_start_mb,
            "rss_end_mb": self.rss_end_mb,
            "peak_rss_mb": self.peak_rss_mb,
            "process_peak_rss_mb": peak_rss_mb(),
            "heap_peak_mb": self.heap_peak_mb,
            **self.details,
        }


@contextmanager
def measure_phase(name: str, servers: Mapping[str, SandboxServer]) -> Iterator[Phase]:
    """Measure the body of the ``with`` block as one phase.

    The request logs of ``servers`` are cleared at the start and read at the end. If
    tracemalloc is tracing, its peak is reset at the start and read at the end.
    """
    phase = Phase(name)
    for server in servers.values():
        server.log.clear()
    hwm = _reset_hwm()
    phase.rss_start_mb = rss_mb()
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        yield phase
    finally:
        phase.seconds = time.perf_counter() - start
        if tracing:
            phase.heap_peak_mb = round(tracemalloc.get_traced_memory()[1] / _MB, 1)
        kb = _status_kb("VmHWM") if hwm else None
        phase.peak_rss_mb = round(kb / 1024, 1) if kb is not None else peak_rss_mb()
        phase.rss_end_mb = rss_mb()
        phase.traffic = {
            key: Traffic.of(server.name, server.log.entries()) for key, server in servers.items()
        }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and how long it took, in seconds."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start
