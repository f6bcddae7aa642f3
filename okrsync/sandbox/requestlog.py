"""The request log every sandbox server keeps: what was asked, when, and what was answered.

Tests read it to count calls and check their spacing; ``GET /_sandbox/log`` serves it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

DROPPED = 0  # status recorded for a connection closed without an answer


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it.

    ``time`` is ``time.time()`` on arrival; ``status`` is the status answered (0 when the
    connection was dropped); ``body`` is the decoded JSON (or text) of a write, else None;
    ``user`` is the user name of Basic authentication, when given (so that a test can tell
    two clients with their own accounts apart).
    """

    method: str
    path: str
    query: str
    time: float
    status: int
    body: Any = None
    user: str | None = None


class RequestLog:
    """Thread-safe, append-only log of the requests a server answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        """Append one entry."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
