"""Shared request plumbing for the Jira sandbox handlers: JSON bodies, errors, context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from okrsync.sandbox.jira.model import User
from okrsync.sandbox.jira.store import JiraStore

JSON_TYPE = "application/json;charset=UTF-8"
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class JiraHTTPError(Exception):
    """Abort a handler with a Jira error response."""

    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.body = (
            body if body is not None else {"errorMessages": messages or [], "errors": errors or {}}
        )

    def response(self) -> Response:
        """The error as a JSON response."""
        return json_response(self.body, self.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response as Jira sends it."""
    return Response(json.dumps(body), status=status, headers=headers, content_type=JSON_TYPE)


def empty(status: int) -> Response:
    """A response without a body (204, or 200/201 for property writes)."""
    return Response(b"", status=status)


@dataclass
class Ctx:
    """One request as a handler sees it."""

    request: Request
    store: JiraStore
    user: User
    api: str  # "2", "3" or "latest" (rendered as "2")

    @property
    def flavour(self) -> str:
        """``cloud`` or ``datacenter``."""
        return self.store.flavour

    @property
    def base(self) -> str:
        """The base URL the client used (for ``self`` links)."""
        return self.request.host_url.rstrip("/")

    @property
    def api_version(self) -> str:
        """``2`` or ``3`` as used in ``self`` links."""
        return "3" if self.api == "3" else "2"

    def body(self) -> Any:
        """The parsed JSON body; 400 in Jira's shape when it is not JSON."""
        raw = self.request.get_data(as_text=True)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise JiraHTTPError(400, [f"Unexpected character in the request body: {exc}"]) from None

    def require_write(self) -> None:
        """403 for users who may not change anything."""
        if self.user.read_only:
            raise JiraHTTPError(403, ["You do not have permission to edit issues in this project."])

    def issue(self, key_or_id: str) -> Any:
        """The issue, or Jira's 404 when it does not exist or cannot be browsed."""
        issue = self.store.get(key_or_id)
        if issue is None or not self.user.can_browse(issue.project):
            raise JiraHTTPError(404, [ISSUE_NOT_FOUND])
        return issue


def flag(value: Any, default: bool = False) -> bool:
    """A boolean query/body parameter (``true``/``false``)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes"}


def int_param(value: Any, name: str, default: int) -> int:
    """An integer parameter, or Jira's 400 when it is not one."""
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise JiraHTTPError(400, [f"The '{name}' parameter must be an integer."]) from None
