"""Fault settings of one sandbox server and the decisions made from them per request.

:class:`Faults` holds latency, the per-second burst limit, the per-target write limit,
pending spells of error statuses and dropped connections. The middleware in
``okrsync.sandbox.faults`` asks it, for each request, whether to delay, drop, fail or
rate-limit it.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class _Spell:
    """A pending run of faults (error statuses or drops) for matching requests."""

    count: int
    path: str | None
    status: int = 0
    retry_after: int | None = None

    def matches(self, path: str) -> bool:
        return self.path is None or self.path in path


class Faults:
    """The fault settings of one server; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.reset()

    def reset(self) -> None:
        """Clear every fault: no latency, no limits, no pending failures or drops."""
        with self._lock:
            self.latency: float | tuple[float, float] = 0.0
            self.rate_limit: int | None = None
            self.retry_after: int = 1
            self.write_limit: int | None = None
            self.write_window: float = 10.0
            self._fails: list[_Spell] = []
            self._drops: list[_Spell] = []
            self._recent: deque[float] = deque()
            self._writes: dict[str, deque[float]] = {}

    def set(
        self,
        *,
        latency: float | tuple[float, float] | list[float] | None = None,
        rate_limit: int | None = None,
        retry_after: int | None = None,
        write_limit: int | None = None,
        write_window: float | None = None,
    ) -> None:
        """Change the given settings, leaving the others as they are.

        ``latency``: seconds added to each request, or ``(low, high)`` for a uniform random
        delay. ``rate_limit``: more than this many requests in one second get 429.
        ``write_limit``: more than this many writes to one target within ``write_window``
        seconds (default 10) get 429. ``retry_after``: integer seconds sent with those 429s.
        Pass 0 to ``rate_limit`` / ``write_limit`` to switch the limit off.
        """
        with self._lock:
            if latency is not None:
                if isinstance(latency, list | tuple):
                    low, high = (float(v) for v in latency)
                    self.latency = (low, high)
                else:
                    self.latency = float(latency)
            if rate_limit is not None:
                self.rate_limit = int(rate_limit) or None
            if retry_after is not None:
                self.retry_after = int(retry_after)
            if write_limit is not None:
                self.write_limit = int(write_limit) or None
            if write_window is not None:
                self.write_window = float(write_window)

    def fail(
        self,
        status: int = 503,
        count: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``path``) with ``status``."""
        with self._lock:
            self._fails.append(
                _Spell(count=int(count), path=path, status=int(status), retry_after=retry_after)
            )

    def drop(self, count: int = 1, path: str | None = None) -> None:
        """Close the next ``count`` matching connections without answering."""
        with self._lock:
            self._drops.append(_Spell(count=int(count), path=path))

    def snapshot(self) -> dict[str, Any]:
        """The current settings as JSON-able data."""
        with self._lock:
            return {
                "latency": list(self.latency) if isinstance(self.latency, tuple) else self.latency,
                "rate_limit": self.rate_limit,
                "retry_after": self.retry_after,
                "write_limit": self.write_limit,
                "write_window": self.write_window,
                "fail": [asdict(s) for s in self._fails],
                "drop": [asdict(s) for s in self._drops],
            }

    def apply_admin(self, payload: dict[str, Any]) -> None:
        """Apply an admin JSON payload (see the module docstring)."""
        payload = dict(payload)
        if payload.pop("reset", False):
            self.reset()
        fail = payload.pop("fail", None)
        drop = payload.pop("drop", None)
        self.set(**payload)
        if fail is not None:
            self.fail(**fail)
        if drop is not None:
            self.drop(**drop)

    # -- decisions, called by the middleware ------------------------------------------

    def delay(self) -> float:
        """Seconds to wait before handling the request."""
        with self._lock:
            if isinstance(self.latency, tuple):
                return self._rng.uniform(*self.latency)
            return self.latency

    @staticmethod
    def _take(spells: list[_Spell], path: str) -> _Spell | None:
        for spell in spells:
            if spell.matches(path):
                spell.count -= 1
                if spell.count <= 0:
                    spells.remove(spell)
                return spell
        return None

    def take_drop(self, path: str) -> bool:
        """Whether this request's connection is to be dropped (consumes one drop)."""
        with self._lock:
            return self._take(self._drops, path) is not None

    def take_fail(self, path: str) -> tuple[int, int | None] | None:
        """``(status, retry_after)`` when this request is to fail (consumes one)."""
        with self._lock:
            spell = self._take(self._fails, path)
            return None if spell is None else (spell.status, spell.retry_after)

    def admit(self, now: float, target: str | None) -> tuple[str, int, int] | None:
        """Count the request against the limits.

        Returns ``(reason, limit, retry_after)`` when it is over a limit (and then it is not
        counted), else None.
        """
        with self._lock:
            if self.rate_limit is not None:
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.rate_limit:
                    return ("rate_limit", self.rate_limit, self.retry_after)
            writes: deque[float] | None = None
            if self.write_limit is not None and target is not None:
                writes = self._writes.setdefault(target, deque())
                while writes and now - writes[0] >= self.write_window:
                    writes.popleft()
                if len(writes) >= self.write_limit:
                    return ("write_limit", self.write_limit, self.retry_after)
            self._recent.append(now)
            if writes is not None:
                writes.append(now)
            return None
