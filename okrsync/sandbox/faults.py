"""Fault injection and request logging for the sandbox servers.

Every sandbox server (Jira Cloud, Jira Data Center, Teambition) wraps its WSGI app in
:class:`FaultMiddleware`. The middleware

* answers the admin endpoints under ``/_sandbox/`` (never logged, never faulted),
* records each other request in a :class:`RequestLog` (``okrsync.sandbox.requestlog``),
* applies the faults configured on a :class:`Faults` object (``okrsync.sandbox.fault_rules``):
  latency, a per-second burst rate limit, a per-target write limit, spells of error
  statuses, and dropped connections.

This module is the one to import: it re-exports ``Faults``, ``RequestLog`` and
``LoggedRequest``.

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
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from werkzeug.datastructures import Authorization
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from okrsync.sandbox.fault_rules import Faults
from okrsync.sandbox.requestlog import DROPPED, LoggedRequest, RequestLog

__all__ = [
    "ADMIN_PREFIX",
    "DROPPED",
    "WRITE_METHODS",
    "ErrorBody",
    "FaultMiddleware",
    "Faults",
    "LoggedRequest",
    "RequestLog",
    "WSGIApp",
    "WriteTarget",
    "jira_error_body",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: ``error_body(status, reason, message)`` -> JSON-able body for a fault response.
#: ``reason`` is one of ``rate_limit``, ``write_limit``, ``fail``.
ErrorBody = Callable[[int, str, str], Any]
#: ``write_target(method, path)`` -> the resource a write touches (e.g. an issue key),
#: or ``None`` when the request is not a write subject to the write limit.
WriteTarget = Callable[[str, str], str | None]

ADMIN_PREFIX = "/_sandbox/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_REASON_HEADER = {"rate_limit": "jira-burst-based", "write_limit": "jira-per-issue-on-write"}


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

        auth = Authorization.from_header(environ.get("HTTP_AUTHORIZATION"))
        user = auth.username if auth is not None and auth.type == "basic" else None

        def record(status: int) -> None:
            self.log.record(LoggedRequest(method, path, query, arrived, status, body, user))

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
