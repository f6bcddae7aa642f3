"""The daemon's status page: ``GET /``, ``/objectives/<id>`` and ``/key-results/<id>``.

Pages are read from the state store at each request (no tracker is contacted) and
rendered by ``okrsync.views.html``. Every answer carries a strict Content-Security-Policy
(inline styles only: no script, no external asset) and is not cached. With
``[status_page] username`` and ``password`` set, the pages ask for HTTP Basic
authentication; ``/metrics``, ``/healthz`` and ``/readyz`` never do.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from mappings.tree import OkrTree
from okrsync.config.settings import Settings
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore
from okrsync.views.html import CONTENT_SECURITY_POLICY, render_index, render_kr, render_objective
from okrsync.views.links import ItemLinks
from okrsync.views.status_data import kr_detail, overview

__all__ = ["PAGE_ENDPOINTS", "StatusPage"]

log = logging.getLogger("okrsync.daemon")

#: The endpoints of ``okrsync.service.http`` this module answers.
PAGE_ENDPOINTS = frozenset({"index", "objective", "key_result"})

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _page(status: int, body: str) -> Response:
    response = Response(body, status, mimetype="text/html")
    response.headers.update(_HEADERS)
    return response


def _message(status: int, title: str, text: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · okrsync</title></head><body><main><h1>{escape(title)}</h1>"
        f'<p>{escape(text)}</p><p><a href="/">All objectives</a></p></main></body></html>'
    )
    return _page(status, body)


class StatusPage:
    """Answers the page endpoints from ``store``, with links to the trackers of
    ``settings`` and the write targets of the current mappings (``tree``)."""

    def __init__(
        self, settings: Settings, store: StateStore, tree: Callable[[], OkrTree | None]
    ) -> None:
        self._store = store
        self._tree = tree
        self._links = ItemLinks.from_settings(settings)
        page = settings.status_page
        self._credentials: tuple[str, str] | None = None
        if page.username is not None and page.password is not None:
            self._credentials = (page.username, page.password.get_secret_value())

    def _authorised(self, request: Request) -> bool:
        if self._credentials is None:
            return True
        given = request.authorization
        if given is None or given.type != "basic":
            return False
        user, password = self._credentials
        # Both compared, always, in constant time: no early answer tells which was wrong.
        same_user = hmac.compare_digest((given.username or "").encode(), user.encode())
        same_password = hmac.compare_digest((given.password or "").encode(), password.encode())
        return same_user and same_password

    def respond(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        """The page for ``endpoint`` (one of ``PAGE_ENDPOINTS``)."""
        if not self._authorised(request):
            response = _message(401, "Sign in", "This status page asks for a user name.")
            response.headers["WWW-Authenticate"] = 'Basic realm="okrsync", charset="UTF-8"'
            return response
        try:
            return self._render(endpoint, args)
        except StateError as exc:
            log.warning("status page: %s", exc)
            return _message(503, "State unavailable", "The state database does not answer.")

    def _render(self, endpoint: str, args: Mapping[str, Any]) -> Response:
        view = overview(self._store)
        if endpoint == "index":
            return _page(200, render_index(view))
        if endpoint == "objective":
            node = view.objective(args["objective_id"])
            if node is None:
                return _message(404, "Not found", "No result is recorded for this objective.")
            return _page(200, render_objective(view, node))
        detail = kr_detail(self._store, args["kr_id"], self._tree(), report=view.report)
        if detail is None:
            return _message(404, "Not found", "No result is recorded for this key result.")
        return _page(200, render_kr(view, detail, self._links))
