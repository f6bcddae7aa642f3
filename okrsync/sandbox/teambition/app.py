"""The Teambition sandbox: a local Teambition Open API over real HTTP.

Serves the endpoints okrsync uses under ``/api`` (see :mod:`views`), with app-token auth,
tenants, operators, the response envelope, paging and TQL, from a :class:`TeambitionStore`.

Protocol decisions where Teambition's documentation is silent:
- ``Authorization: Bearer <JWT>`` is checked first: missing, malformed, unknown app, bad
  signature, expired or issued over an hour ago -> 401.
- ``X-Tenant-Id`` is required: missing -> 400, unknown organization -> 403.
- ``X-Operator-Id`` is optional on reads and writes; when sent it must be a member of the
  organization (else 403). Writes record it as the ``creatorId`` of the task activity (an
  empty string when absent). ``me()`` in TQL needs it.
- Teambition's quota of 40 requests/second per app, organization and endpoint answers 429
  with ``Retry-After`` (seed key ``rateLimit: {perSecond, retryAfter}``, or
  ``store.quota.configure(per_second, retry_after)``). The shared fault layer's
  ``rate_limit`` adds a server-wide limit when a test sets one.
- "HTTP 200 with an error in the envelope": ``faults.fail(status=200, ...)`` answers 200 with
  ``code`` 500; ``store.fail_in_envelope(code, message, count, path)`` picks the code.
- Success is always HTTP 200 (the generated client treats anything else as a failure).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from okrsync.sandbox.faults import WRITE_METHODS, FaultMiddleware, Faults, RequestLog
from okrsync.sandbox.teambition.protocol import (
    ApiError,
    envelope,
    error_body,
    json_response,
    read_app_id,
    verify_app_token,
)
from okrsync.sandbox.teambition.records import RecordError
from okrsync.sandbox.teambition.store import NotFound, TeambitionStore
from okrsync.sandbox.teambition.tql import TqlError
from okrsync.sandbox.teambition.views import VIEWS, Caller

__all__ = ["API_PREFIX", "TeambitionApp", "create_app"]

log = logging.getLogger(__name__)

API_PREFIX = "/api"
_TASK_WRITE = re.compile(rf"^{API_PREFIX}/v3/task/([^/]+)/")


class TeambitionApp:
    """The Open API as a WSGI app (without fault injection); ``data`` is its store."""

    def __init__(self, store: TeambitionStore) -> None:
        self.data = store
        self._views: dict[str, Callable[..., dict[str, Any]]] = {}
        rules = []
        for index, (rule, methods, view) in enumerate(VIEWS):
            endpoint = f"{index}:{view.__name__}"
            self._views[endpoint] = view
            rules.append(Rule(API_PREFIX + rule, endpoint=endpoint, methods=list(methods)))
        self.url_map = Map(rules, strict_slashes=False)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route, authenticate and answer one request, always with an envelope."""
        try:
            try:
                rule, args = self.url_map.bind_to_environ(request.environ).match(return_rule=True)
            except MethodNotAllowed:
                raise ApiError(405, f"{request.method} is not allowed on {request.path}") from None
            except (NoRoute, HTTPException):
                raise ApiError(404, f"no API at {request.method} {request.path}") from None
            quota_key = (
                read_app_id(request.headers.get("Authorization")),
                request.headers.get("X-Tenant-Id", ""),
                rule.rule,
            )
            retry_after = self.data.quota.admit(quota_key)
            if retry_after is not None:
                body = error_body(429, "rate_limit", "")
                return json_response(body, 429, {"Retry-After": str(retry_after)})
            caller = self.authenticate(request)
            fault = self.data.take_envelope_fault(request.path)
            if fault is not None:
                return json_response(envelope(None, code=fault[0], message=fault[1]))
            view = self._views[str(rule.endpoint)]
            return json_response(view(self.data, caller, request, **args))
        except ApiError as exc:
            return json_response(envelope(None, code=exc.status, message=exc.message), exc.status)
        except NotFound as exc:
            return json_response(envelope(None, code=404, message=str(exc)), 404)
        except (RecordError, TqlError) as exc:
            return json_response(envelope(None, code=400, message=str(exc)), 400)
        except Exception as exc:  # a sandbox bug still answers in the envelope
            log.exception("teambition sandbox: %s %s failed", request.method, request.path)
            message = f"internal error: {type(exc).__name__}"
            return json_response(envelope(None, code=500, message=message), 500)

    def authenticate(self, request: Request) -> Caller:
        """Check the app token, the tenant and the operator headers."""
        app_id = verify_app_token(request.headers.get("Authorization"), self.data.apps)
        org_id = request.headers.get("X-Tenant-Id", "").strip()
        if not org_id:
            raise ApiError(400, "X-Tenant-Id header is required")
        if not self.data.has_organization(org_id):
            raise ApiError(403, f"app {app_id!r} has no access to organization {org_id!r}")
        operator = request.headers.get("X-Operator-Id", "").strip() or None
        if operator is not None and not self.data.is_member(org_id, operator):
            raise ApiError(403, f"operator {operator!r} is not a member of {org_id!r}")
        return Caller(app_id, org_id, operator)


def write_target(method: str, path: str) -> str | None:
    """The task a write touches, for the fault layer's per-target write limit."""
    if method not in WRITE_METHODS:
        return None
    match = _TASK_WRITE.match(path)
    return f"task:{match.group(1)}" if match else path


def create_app(
    seed_section: Mapping[str, Any] | None, faults: Faults, log: RequestLog
) -> FaultMiddleware:
    """The Teambition sandbox app wrapped in the shared fault layer.

    ``seed_section`` is the ``teambition`` section of a seed (None: empty). The returned
    middleware's ``data`` is the :class:`TeambitionStore` (its ``quota`` the request quota).
    """
    return FaultMiddleware(
        TeambitionApp(TeambitionStore(seed_section)),
        faults,
        log,
        error_body=error_body,
        write_target=write_target,
        rate_limit_headers=False,
    )
