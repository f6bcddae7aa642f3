"""The daemon's HTTP endpoints, served by waitress (a production WSGI server).

- ``GET /metrics``: Prometheus exposition;
- ``GET /healthz``: liveness, 200 while the scheduler loop turns (never asks a tracker);
- ``GET /readyz``: 200 when the mappings are loaded and the state database answers, with
  who leads, which sources are degraded and whether a mapping edit was refused; else 503;
- ``POST /webhooks/jira`` and ``POST /webhooks/teambition``: hints that trigger a targeted
  cycle (see ``okrsync.service.webhooks``); ``?connection=NAME`` picks the connection
  when several of one tracker are configured;
- ``GET /``, ``/objectives/<id>``, ``/key-results/<id>``: the status page (see
  ``okrsync.service.status_page``), behind Basic authentication when configured.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from waitress.server import create_server
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from okrsync.service.daemon import Daemon
from okrsync.service.status_page import PAGE_ENDPOINTS, StatusPage
from okrsync.service.webhooks import WebhookReceiver
from okrsync.state.errors import StateError

__all__ = ["HttpServer", "make_app"]

log = logging.getLogger("okrsync.daemon")

_ROUTES = Map(
    [
        Rule("/metrics", endpoint="metrics", methods=["GET"]),
        Rule("/healthz", endpoint="healthz", methods=["GET"]),
        Rule("/readyz", endpoint="readyz", methods=["GET"]),
        Rule("/webhooks/<any(jira, teambition):source>", endpoint="webhook", methods=["POST"]),
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/objectives/<objective_id>", endpoint="objective", methods=["GET"]),
        Rule("/key-results/<kr_id>", endpoint="key_result", methods=["GET"]),
    ]
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, indent=1) + "\n", status, mimetype="application/json")


def readiness(daemon: Daemon) -> tuple[bool, dict[str, Any]]:
    """Whether the daemon is ready, and what ``/readyz`` shows about it."""
    body: dict[str, Any] = {
        "leader": daemon.leading,
        "mappings": {
            "key_results": len(daemon.mappings.tree.key_results),
            "refused_edit": daemon.mappings.error,
        },
    }
    try:
        health = daemon.store.source_health()
        body["state"] = "reachable"
    except StateError:
        body["state"] = "unreachable"
        body["ready"] = False
        return False, body
    body["degraded_sources"] = sorted(name for name, h in health.items() if not h.up)
    last = daemon.last_report
    body["last_cycle"] = (
        None
        if last is None
        else {
            "outcome": last.outcome,
            "finished_at": None if last.finished_at is None else last.finished_at.isoformat(),
        }
    )
    body["ready"] = True
    return True, body


def make_app(daemon: Daemon, receiver: WebhookReceiver) -> WsgiApp:
    """The WSGI application of the daemon's endpoints."""
    limit = daemon.settings.webhooks.max_body_bytes
    page = StatusPage(daemon.settings, daemon.store, lambda: daemon.mappings.tree)

    def webhook(request: Request, source: str) -> Response:
        length = request.content_length
        if length is not None and length > limit:
            outcome_status, outcome_name = 413, "too_large"
            daemon.metrics.webhook(source, outcome_name)
            return _json(outcome_status, {"outcome": outcome_name, "message": "body too large"})
        body = request.stream.read(limit + 1)
        outcome = receiver.receive(
            source, request.headers, body, connection=request.args.get("connection")
        )
        daemon.metrics.webhook(source, outcome.outcome)
        if outcome.kr_ids:
            if daemon.leading:
                daemon.hint(outcome.kr_ids, outcome.recheck)
            else:
                log.info("webhook hint not acted on: another replica runs the cycles")
        return _json(outcome.status, {"outcome": outcome.outcome, "message": outcome.message})

    def dispatch(request: Request) -> Response:
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            return exc.get_response()
        if endpoint == "metrics":
            body, content_type = daemon.metrics.render()
            return Response(body, 200, content_type=content_type)
        if endpoint == "healthz":
            alive = daemon.alive()
            return _json(200 if alive else 503, {"alive": alive})
        if endpoint == "readyz":
            ready, shown = readiness(daemon)
            return _json(200 if ready else 503, shown)
        if endpoint in PAGE_ENDPOINTS:
            return page.respond(request, endpoint, args)
        return webhook(request, args["source"])

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = dispatch(request)
        except HTTPException as exc:
            response = exc.get_response()
        except Exception:
            log.exception("error answering %s %s", request.method, request.path)
            response = _json(500, {"error": "internal error; see the daemon's log"})
        return response(environ, start_response)

    return app


class HttpServer:
    """The WSGI app on waitress, on its own thread."""

    def __init__(self, app: WsgiApp, listen: str, *, max_body: int) -> None:
        host, _, port = listen.rpartition(":")
        self._server = create_server(
            app,
            host=host.strip("[]"),
            port=int(port),
            threads=4,
            max_request_body_size=max_body,
            ident="okrsync",
            clear_untrusted_proxy_headers=True,
        )
        self._thread = threading.Thread(target=self._server.run, name="okrsync-http", daemon=True)

    @property
    def address(self) -> str:
        """``host:port`` actually listened on (the port the system gave when it was 0)."""
        host = str(self._server.effective_host)
        port = int(self._server.effective_port)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.close()
