"""Search endpoints: Cloud ``/search/jql`` (token paging), DC ``/search`` (offset paging),
and Cloud's ``/search/approximate-count``."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

from werkzeug.wrappers import Response

from okrsync.sandbox.jira.jql import JQLError
from okrsync.sandbox.jira.model import Issue
from okrsync.sandbox.jira.query import QueryContext, run_query
from okrsync.sandbox.jira.render import render_issue, select_fields, split_list
from okrsync.sandbox.jira.responses import Ctx, JiraHTTPError, int_param, json_response

CLOUD_DEFAULT_PAGE = 50
CLOUD_MAX_PAGE = 100  # when fields are asked for
CLOUD_MAX_ID_PAGE = 5000  # when only ids or keys are asked for
DC_DEFAULT_PAGE = 50
DC_MAX_PAGE = 1000
CACHE_SECONDS = 30.0
BAD_TOKEN = "The provided next page token is invalid or expired."


class _ResultCache:
    """Recent query results keyed by (query, data version, user), so paging is cheap."""

    def __init__(self, size: int = 32) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], tuple[float, list[str], list[str]]] = (
            OrderedDict()
        )
        self._size = size

    def get(self, key: tuple[Any, ...]) -> tuple[list[str], list[str]] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
                return None
            self._items.move_to_end(key)
            return found[1], found[2]

    def put(self, key: tuple[Any, ...], keys: list[str], warnings: list[str]) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), keys, warnings)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE = _ResultCache()


def find(
    ctx: Ctx, jql: str, *, strict: bool = True, require_bounded: bool = False
) -> tuple[list[Issue], list[str]]:
    """Issues matching ``jql`` for the context user, plus warnings; 400 on a bad query."""
    store = ctx.store
    cache_key = (id(store), store.version, jql, ctx.user.account_id, strict, require_bounded)
    cached = _CACHE.get(cache_key)
    if cached is not None:
        return [i for i in store.issues_for(cached[0])], cached[1]
    qctx = QueryContext(store, ctx.user, now=store.clock(), strict=strict)
    try:
        with store.lock:
            found = run_query(jql, qctx, require_bounded=require_bounded)
    except JQLError as exc:
        raise JiraHTTPError(400, exc.messages) from None
    _CACHE.put(cache_key, [i.key for i in found], qctx.warnings)
    return found, qctx.warnings


def _params(ctx: Ctx) -> dict[str, Any]:
    """Search parameters from the query string (GET) or the JSON body (POST)."""
    request = ctx.request
    if request.method == "POST":
        body = ctx.body() or {}
        if not isinstance(body, dict):
            raise JiraHTTPError(400, ["The request body must be a JSON object."])
        return body
    args = request.args
    return {
        "jql": args.get("jql"),
        "nextPageToken": args.get("nextPageToken"),
        "startAt": args.get("startAt"),
        "maxResults": args.get("maxResults"),
        "fields": args.getlist("fields"),
        "expand": args.getlist("expand"),
        "properties": args.getlist("properties"),
        "validateQuery": args.get("validateQuery"),
    }


def _render_page(
    ctx: Ctx, issues: list[Issue], params: dict[str, Any], default_fields: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    selection = select_fields(ctx.store, split_list(params.get("fields")), default_fields)
    expand = set(split_list(params.get("expand")))
    properties = split_list(params.get("properties"))[:5]
    rendered = [
        render_issue(
            ctx.store,
            issue,
            base=ctx.base,
            api=ctx.api_version,
            selection=selection,
            expand=expand - {"names", "schema"},
            properties=properties,
        )
        for issue in issues
    ]
    extra: dict[str, Any] = {}
    if "names" in expand:
        extra["names"] = {f: ctx.store.fields[f].name for f in selection.ids}
    if "schema" in expand:
        extra["schema"] = {
            f: ctx.store.fields[f].schema
            for f in selection.ids
            if ctx.store.fields[f].schema is not None
        }
    return rendered, extra


def _token(jql: str, offset: int) -> str:
    digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
    raw = json.dumps({"o": offset, "q": digest}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(jql: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["q"] != hashlib.sha256(jql.encode()).hexdigest()[:12]:
            raise ValueError("token of another query")
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise JiraHTTPError(400, [BAD_TOKEN]) from None


def cloud_search(ctx: Ctx) -> Response:
    """``GET/POST /rest/api/{2,3}/search/jql``: token paging, no total."""
    params = _params(ctx)
    jql = str(params.get("jql") or "")
    offset = _offset(jql, params.get("nextPageToken"))
    fields = split_list(params.get("fields"))
    ids_only = not fields or all(f in {"id", "key"} for f in fields)
    cap = CLOUD_MAX_ID_PAGE if ids_only else CLOUD_MAX_PAGE
    size = int_param(params.get("maxResults"), "maxResults", CLOUD_DEFAULT_PAGE)
    size = min(max(size, 1), cap)
    found, _ = find(ctx, jql, require_bounded=True)
    page = found[offset : offset + size]
    issues, extra = _render_page(ctx, page, params, "id")
    body: dict[str, Any] = {"issues": issues}
    is_last = offset + size >= len(found)
    if not is_last:
        body["nextPageToken"] = _token(jql, offset + size)
    body["isLast"] = is_last
    body.update(extra)
    return json_response(body)


def approximate_count(ctx: Ctx) -> Response:
    """``POST /rest/api/{2,3}/search/approximate-count``."""
    body = ctx.body() or {}
    if not isinstance(body, dict):
        raise JiraHTTPError(400, ["The request body must be a JSON object."])
    found, _ = find(ctx, str(body.get("jql") or ""), require_bounded=True)
    return json_response({"count": len(found)})


def dc_search(ctx: Ctx) -> Response:
    """``GET/POST /rest/api/2/search`` on Data Center: offset paging with a total."""
    params = _params(ctx)
    jql = str(params.get("jql") or "")
    validate = str(
        params.get("validateQuery") if params.get("validateQuery") is not None else "strict"
    ).lower()
    strict = validate in {"strict", "true"}
    start = max(int_param(params.get("startAt"), "startAt", 0), 0)
    size = int_param(params.get("maxResults"), "maxResults", DC_DEFAULT_PAGE)
    size = DC_DEFAULT_PAGE if size < 0 else min(size, DC_MAX_PAGE)
    found, warnings = find(ctx, jql, strict=strict)
    page = found[start : start + size]
    issues, extra = _render_page(ctx, page, params, "*navigable")
    body: dict[str, Any] = {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": len(found),
        "issues": issues,
    }
    if warnings and validate == "warn":
        body["warningMessages"] = warnings
    body.update(extra)
    return json_response(body)
