"""Fault injection and request logging for the sandbox servers.

Every sandbox server (Jira Cloud, Jira Data Center, Teambition) wraps its WSGI app in
:class:`FaultMiddleware`. The middleware

* answers the admin endpoints under ``/_sandbox/`` (never logged, never faulted),
* records each other request in a :class:`RequestLog`,
* applies the faults configured on a :class:`Faults` object: latency, a per-second burst
  rate limit, a per-target write limit, spells of error statuses, and dropped connections.

Admin over HTTP (JSON bodies):

* ``POST /_sandbox/faults`` -- keys of :meth:`Faults.set` (``latency``, ``rate_limit``,
  ``retry_after``, ``write_limit``, ``write_window``), plus optional ``"fail": {status,
  count, retry_after, path}``, ``"drop": {count, path}`` and ``"reset": true``.
* ``GET /_sandbox/faults`` -- the current fault settings.
* ``POST /_sandbox/reset`` -- clears every fault; the data and the request log stay as
  they are. With the body ``{"data": true}`` it also reloads the seed into the store
  (forgetting every change), like ``srv.data.reset()`` does in-process; restarting the
  server does the same.
* ``GET /_sandbox/log`` / ``DELETE /_sandbox/log`` -- read / clear the request log.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: ``error_body(status, reason, message)`` -> JSON-able body for a fault response.
#: ``reason`` is one of ``rate_limit``, ``write_limit``, ``fail``.
ErrorBody = Callable[[int, str, str], Any]
#: ``write_target(method, path)`` -> the resource a write touches (e.g. an issue key),
#: or ``None`` when the request is not a write subject to the write limit.
WriteTarget = Callable[[str, str], str | None]

ADMIN_PREFIX = "/_sandbox/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DROPPED = 0  # status recorded for a connection closed without an answer

_REASON_HEADER = {"rate_limit": "jira-burst-based", "write_limit": "jira-per-issue-on-write"}


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it.

    ``time`` is ``time.time()`` on arrival; ``status`` is the status answered (0 when the
    connection was dropped); ``body`` is the decoded JSON (or text) of a write, else None.
    """

    method: str
    path: str
    query: str
    time: float
    status: int
    body: Any = None


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


def jira_error_body(status: int, reason: str, message: str) -> dict[str, Any]:
    """Jira's ``ErrorCollection`` shape, the default fault body."""
    return {"errorMessages": [message], "errors": {}}


def _default_write_target(method: str, path: str) -> str | None:
    return path if method in WRITE_METHODS else None


class FaultMiddleware:
    """WSGI middleware applying :class:`Faults` and recording a :class:`RequestLog`.

    ``error_body`` shapes the JSON of fault responses (default: Jira's error collection);
    ``write_target`` names the resource a write touches (default: its path);
    ``rate_limit_headers`` adds ``X-RateLimit-*`` / ``RateLimit-Reason`` headers to 429s.
    The wrapped app's ``data`` attribute, if any, is exposed as :attr:`data`.
    """

    def __init__(
        self,
        app: WSGIApp,
        faults: Faults,
        log: RequestLog,
        *,
        error_body: ErrorBody | None = None,
        write_target: WriteTarget | None = None,
        rate_limit_headers: bool = True,
    ) -> None:
        self.app = app
        self.faults = faults
        self.log = log
        self.error_body: ErrorBody = error_body or jira_error_body
        self.write_target: WriteTarget = write_target or _default_write_target
        self.rate_limit_headers = rate_limit_headers

    @property
    def data(self) -> Any:
        """The wrapped app's data store (None when it has none)."""
        return getattr(self.app, "data", None)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith(ADMIN_PREFIX):
            return self._admin(Request(environ))(environ, start_response)

        arrived = time.time()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = environ.get("QUERY_STRING", "")
        raw = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        environ.pop("wsgi.input_terminated", None)
        body = _decode(raw) if method in WRITE_METHODS else None

        def record(status: int) -> None:
            self.log.record(LoggedRequest(method, path, query, arrived, status, body))

        delay = self.faults.delay()
        if delay > 0:
            time.sleep(delay)
        if self.faults.take_drop(path):
            record(DROPPED)
            _drop_connection(environ)
        response = self._fault_response(method, path)
        if response is not None:
            record(response.status_code)
            return response(environ, start_response)

        captured: list[str] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured.append(status)
            return start_response(status, headers, exc_info)

        app_iter = self.app(environ, capture)
        try:
            chunks = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        record(int(captured[-1].split()[0]) if captured else 500)
        return [chunks]

    def _fault_response(self, method: str, path: str) -> Response | None:
        failure = self.faults.take_fail(path)
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
            return self._json(status, self.error_body(status, "fail", _FAIL_MESSAGE), headers)
        target = self.write_target(method, path)
        over = self.faults.admit(time.time(), target)
        if over is None:
            return None
        reason, limit, retry_after = over
        headers = {"Retry-After": str(retry_after)}
        if self.rate_limit_headers:
            reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + retry_after))
            headers.update(
                {
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset,
                    "RateLimit-Reason": _REASON_HEADER[reason],
                }
            )
        message = "Rate limit exceeded." if reason == "rate_limit" else _WRITE_LIMIT_MESSAGE
        return self._json(429, self.error_body(429, reason, message), headers)

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body),
            status=status,
            headers=headers,
            content_type="application/json;charset=UTF-8",
        )

    def _admin(self, request: Request) -> Response:
        name = request.path[len(ADMIN_PREFIX) :].strip("/")
        method = request.method
        if name == "faults" and method == "POST":
            payload = request.get_json(force=True, silent=True)
            if not isinstance(payload, dict):
                return self._json(400, {"error": "expected a JSON object"})
            try:
                self.faults.apply_admin(payload)
            except (TypeError, ValueError) as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(200, self.faults.snapshot())
        if name == "faults" and method == "GET":
            return self._json(200, self.faults.snapshot())
        if name == "reset" and method == "POST":
            payload = request.get_json(force=True, silent=True) or {}
            reset_data = isinstance(payload, dict) and bool(payload.get("data"))
            reload = getattr(self.data, "reset", None)
            if reset_data and not callable(reload):
                return self._json(400, {"error": "this server cannot reset its data"})
            self.faults.reset()
            if reset_data and callable(reload):
                reload()
            return self._json(200, self.faults.snapshot())
        if name == "log" and method == "GET":
            return self._json(200, [asdict(e) for e in self.log.entries()])
        if name == "log" and method == "DELETE":
            self.log.clear()
            return Response(status=204)
        return self._json(404, {"error": f"no admin endpoint {method} {request.path}"})


_FAIL_MESSAGE = "The service is temporarily unavailable. Please try again later."
_WRITE_LIMIT_MESSAGE = "Too many updates to this issue in a short time. Please try again later."


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client socket unanswered, then unwind the request as a dropped connection.

    Raising a ``ConnectionError`` makes werkzeug's server treat it as a connection the
    client dropped: it writes nothing and logs nothing, and the client sees the socket
    close without a response.
    """
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    raise ConnectionAbortedError("sandbox fault: connection dropped")
