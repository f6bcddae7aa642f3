"""The Jira sandbox WSGI app (Cloud or Data Center flavour).

Cloud serves ``/rest/api/2`` and ``/rest/api/3``, authenticates with HTTP basic
``email:api_token``, searches through ``/search/jql`` and answers the removed
``/search`` with 410. Data Center serves ``/rest/api/2`` (and ``latest``), authenticates
with ``Bearer <personal access token>`` (or basic ``name:password``) and searches through
``/search`` with offset paging.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from okrsync.sandbox.faults import WRITE_METHODS, FaultMiddleware, Faults, RequestLog
from okrsync.sandbox.jira import (
    bodies,
    bulk,
    dashboards,
    issues,
    meta,
    search,
    transitions,
    webhooks,
)
from okrsync.sandbox.jira.model import CUSTOM_TYPES, FLAVOURS, User, iso_time, jira_time
from okrsync.sandbox.jira.render import user_json
from okrsync.sandbox.jira.responses import (
    NOT_AUTHENTICATED,
    Ctx,
    JiraHTTPError,
    json_response,
)
from okrsync.sandbox.jira.seed import load_store
from okrsync.sandbox.jira.store import JiraStore

CLOUD_APIS = frozenset({"2", "3"})
DC_APIS = frozenset({"2", "latest"})
BUILD_DATE = datetime(2025, 12, 1, tzinfo=UTC)
Handler = Callable[..., Response]


def server_info(ctx: Ctx) -> Response:
    """``GET /serverInfo`` (Cloud: only the spec's keys; DC adds ``databaseBuildNumber``)."""
    now = ctx.store.clock()
    if ctx.flavour == "cloud":
        return json_response(
            {
                "baseUrl": ctx.base,
                "displayUrl": ctx.base,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100296,
                "buildDate": iso_time(BUILD_DATE),
                "serverTime": iso_time(now),
                "scmInfo": "8f1e6d2c6b4f0a9e3c7d5b1a2f4e6c8d0b2a4c6e",
                "serverTitle": "Jira",
                "serverTimeZone": "UTC",
            }
        )
    return json_response(
        {
            "baseUrl": ctx.base,
            "version": "9.12.15",
            "versionNumbers": [9, 12, 15],
            "deploymentType": "Server",
            "buildNumber": 9120015,
            "buildDate": jira_time(BUILD_DATE),
            "databaseBuildNumber": 9120015,
            "serverTime": jira_time(now),
            "scmInfo": "0b9a4d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
            "serverTitle": "Jira",
            "defaultLocale": {"locale": "en_US"},
            "serverTimeZone": "UTC",
        }
    )


def myself(ctx: Ctx) -> Response:
    """``GET /myself``."""
    return json_response(user_json(ctx.user, ctx.base, ctx.flavour, api=ctx.api_version, full=True))


def list_fields(ctx: Ctx) -> Response:
    """``GET /field``: a bare array of every field."""
    with ctx.store.lock:
        return json_response([f.details() for f in ctx.store.fields.values()])


def create_field(ctx: Ctx) -> Response:
    """``POST /field``: create a custom field (administrators only) -> 201."""
    if not ctx.user.admin:
        raise JiraHTTPError(403, ["Only Jira administrators can create custom fields."])
    body = ctx.body()
    if not isinstance(body, dict):
        raise JiraHTTPError(400, ["The request body must be a JSON object."])
    errors = {}
    name, type_key = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The custom field name must be specified."
    if type_key not in CUSTOM_TYPES:
        errors["type"] = f"The custom field type '{type_key}' is not valid."
    if errors:
        raise JiraHTTPError(400, errors=errors)
    fdef = ctx.store.create_custom_field(str(name), str(type_key), body.get("description"))
    return json_response(fdef.details(), 201)


def gone(ctx: Ctx) -> Response:
    """Cloud's removed ``/search``."""
    raise JiraHTTPError(
        410,
        ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."],
    )


_ISSUE = "/rest/api/<api>/issue/<key>"
_CONTEXT = "/rest/api/<api>/field/<field_id>/context"
_OPTION = _CONTEXT + "/<context_id>/option"
CLOUD = frozenset({"cloud"})
DATACENTER = frozenset({"datacenter"})
ROUTES: list[tuple[str, str, Handler, frozenset[str] | None]] = [
    # (path, methods, handler, flavours or None for both)
    ("/rest/api/<api>/serverInfo", "GET", server_info, None),
    ("/rest/api/<api>/myself", "GET", myself, None),
    ("/rest/api/<api>/field", "GET", list_fields, None),
    ("/rest/api/<api>/field", "POST", create_field, None),
    (_CONTEXT, "GET", meta.list_contexts, CLOUD),
    (_CONTEXT, "POST", meta.create_context, CLOUD),
    (_OPTION, "GET", meta.list_options, CLOUD),
    (_OPTION, "POST", meta.create_options, CLOUD),
    (_OPTION, "PUT", meta.update_options, CLOUD),
    ("/rest/api/<api>/project", "GET", meta.list_projects, None),
    ("/rest/api/<api>/project/<project>", "GET", meta.get_project, None),
    ("/rest/api/<api>/issuetype", "GET", meta.list_issue_types, None),
    ("/rest/api/<api>/issuetype/<type_id>", "GET", meta.get_issue_type, None),
    ("/rest/api/<api>/search/jql", "GET,POST", search.cloud_search, CLOUD),
    (
        "/rest/api/<api>/search/approximate-count",
        "POST",
        search.approximate_count,
        CLOUD,
    ),
    ("/rest/api/<api>/search", "GET,POST", search.dc_search, DATACENTER),
    ("/rest/api/<api>/search", "GET,POST", gone, CLOUD),
    (_ISSUE, "GET", issues.get_issue, None),
    (_ISSUE, "PUT", issues.put_issue, None),
    (_ISSUE, "DELETE", issues.delete_issue, None),
    (_ISSUE + "/editmeta", "GET", issues.get_editmeta, None),
    (_ISSUE + "/transitions", "GET", transitions.get_transitions, None),
    (_ISSUE + "/transitions", "POST", transitions.post_transition, None),
    (_ISSUE + "/properties", "GET", issues.list_properties, None),
    (_ISSUE + "/properties/<prop>", "GET", issues.get_property, None),
    (_ISSUE + "/properties/<prop>", "PUT", issues.put_property, None),
    (_ISSUE + "/properties/<prop>", "DELETE", issues.delete_property, None),
    (_ISSUE + "/comment", "GET", issues.list_comments, None),
    (_ISSUE + "/comment", "POST", issues.add_comment, None),
    ("/rest/api/3/bulk/issues/fields", "POST", bulk.submit, CLOUD),
    ("/rest/api/3/bulk/queue/<task_id>", "GET", bulk.progress, CLOUD),
    *dashboards.ROUTES,
]


class JiraApp:
    """WSGI app answering Jira's REST API from a :class:`JiraStore`."""

    def __init__(self, store: JiraStore) -> None:
        if store.flavour not in FLAVOURS:
            raise ValueError(f"unknown Jira flavour {store.flavour!r}")
        self.data = store
        self.flavour = store.flavour
        self.apis = CLOUD_APIS if self.flavour == "cloud" else DC_APIS
        rules = []
        for i, (path, methods, _, flavours) in enumerate(ROUTES):
            if flavours is None or self.flavour in flavours:
                rules.append(Rule(path, methods=methods.split(","), endpoint=i))
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def authenticate(self, request: Request) -> User | None:
        """The user the request's credentials name, or None."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        users = self.data.users
        if scheme.lower() == "bearer" and self.flavour == "datacenter":
            return next((u for u in users if u.pat and u.pat == value.strip()), None)
        if scheme.lower() != "basic":
            return None
        try:
            login, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        for user in users:
            if (
                self.flavour == "cloud"
                and user.token
                and user.email.lower() == login.lower()
                and secret == user.token
            ):
                return user
            if (
                self.flavour == "datacenter"
                and user.password
                and login == user.name
                and secret == user.password
            ):
                return user
        return None

    def dispatch(self, request: Request) -> Response:
        """Route, authenticate, run the handler, and turn errors into Jira's bodies."""
        if webhooks.serves(request.path):  # Jira's admin API, outside the platform spec
            return webhooks.admin(request, self.data, self.authenticate(request))
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match()
        except NotFound:
            return _no_resource(request)
        except MethodNotAllowed:
            return json_response({"errorMessages": ["Method Not Allowed"], "errors": {}}, 405)
        except HTTPException as exc:  # e.g. a redirect for a trailing slash
            return exc.get_response(request.environ)
        handler = ROUTES[int(endpoint)][2]
        values = dict(matched)
        api = values.pop("api", "3" if "/rest/api/3/" in request.path else "2")
        if api not in self.apis:
            return _no_resource(request)
        user = self.authenticate(request)
        if user is None and handler is not server_info:
            return json_response({"errorMessages": [NOT_AUTHENTICATED], "errors": {}}, 401)
        anonymous = User("anonymous", "anonymous", "Anonymous", "")
        ctx = Ctx(request, self.data, user or anonymous, api)
        try:
            if self.flavour == "cloud" and handler is not gone:
                _check_body(ctx, request.method, ROUTES[int(endpoint)][0])
            return handler(ctx, **values)
        except JiraHTTPError as exc:
            return exc.response()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)


def _check_body(ctx: Ctx, method: str, route: str) -> None:
    """Cloud: 400 as Jira answers it when the body breaks the spec's request schema."""
    schema = bodies.schema_for(method, route)
    if schema is None:
        return
    body = ctx.body()
    if body is not None and bodies.problems(body, schema):
        raise JiraHTTPError(400, body={"errorMessages": [bodies.INVALID_PAYLOAD]})


def _no_resource(request: Request) -> Response:
    """Jira's 404 for a path it does not serve."""
    return json_response({"errorMessages": [f"null for uri: {request.url}"], "errors": {}}, 404)


_ISSUE_PATH = re.compile(r"^/rest/api/[^/]+/issue/([^/]+)")


def write_target_for(store: JiraStore) -> Callable[[str, str], str | None]:
    """The issue a write touches (for the per-issue write limit), by key."""

    def target(method: str, path: str) -> str | None:
        if method not in WRITE_METHODS:
            return None
        match = _ISSUE_PATH.match(path)
        if match is None:
            return None
        issue = store.get(match.group(1))
        return issue.key if issue is not None else match.group(1).upper()

    return target


def create_app(
    section: Mapping[str, Any] | None, flavour: str, faults: Faults, log: RequestLog
) -> FaultMiddleware:
    """The Jira sandbox for ``flavour``, seeded from ``section``, wrapped in faults/logging."""
    store = load_store(section, flavour)
    return FaultMiddleware(JiraApp(store), faults, log, write_target=write_target_for(store))
