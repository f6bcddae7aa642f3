"""Teambition's own request quota: N requests per second per app, organization and endpoint.

This is the documented behaviour of the real service (40/s by default), so it lives in the
Teambition app itself; the shared fault layer's ``rate_limit`` still adds a server-wide
limit on top when a test asks for one.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["EndpointRateLimit"]

DEFAULT_PER_SECOND = 40


class EndpointRateLimit:
    """Sliding one-second windows keyed by ``(app id, tenant id, endpoint template)``.

    ``per_second=None`` switches the quota off. Thread-safe.
    """

    def __init__(self, per_second: int | None = DEFAULT_PER_SECOND, retry_after: int = 1) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str, str], deque[float]] = {}
        self.per_second = per_second
        self.retry_after = retry_after

    def configure(self, per_second: int | None, retry_after: int | None = None) -> None:
        """Change the quota (``None`` or 0: no quota) and the ``Retry-After`` it sends."""
        with self._lock:
            self.per_second = per_second or None
            if retry_after is not None:
                self.retry_after = retry_after
            self._windows.clear()

    def admit(self, key: tuple[str, str, str], now: float | None = None) -> int | None:
        """Count one request; return the ``Retry-After`` seconds if it is over the quota."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self.per_second is None:
                return None
            window = self._windows.setdefault(key, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.per_second:
                return self.retry_after
            window.append(now)
            return None
