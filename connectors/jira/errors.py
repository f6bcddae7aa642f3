"""Turn Jira client failures into okrsync's connector errors, with what to do next.

Messages carry Jira's own words (``errorMessages``/``errors``), the connection name and
the site URL without credentials, never a token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from jira.exceptions import JIRAError

from connectors.base import AuthError, ConnectorError, NotFoundError, QueryError
from connectors.jira.query import split_order_by
from connectors.retry import HostBusyError, failure_of, parse_retry_after


@dataclass(frozen=True, slots=True)
class Context:
    """What a call was about, so the message can name it.

    ``jql`` is the query as sent; ``user_jql`` the query as the user wrote it in the
    mapping, when okrsync added to it (sub-task filter, ``updated >=``).
    """

    what: str = "request"
    jql: str | None = None
    issue: str | None = None
    user_jql: str | None = None


_POSITION = re.compile(r"\(line (\d+), character (\d+)\)")
_QUOTED = re.compile(r"'([^']+)'")


def _offset(text: str, line: int, column: int) -> int:
    """0-based offset of a 1-based (line, character) position in ``text``."""
    lines = text.split("\n")
    return sum(len(chunk) + 1 for chunk in lines[: line - 1]) + column - 1


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def repoint_jql_error(words: str, sent: str, user: str) -> tuple[str, bool]:
    """Jira's words about the JQL ``sent``, with their "(line L, character C)" moved to
    the same spot in ``user``'s JQL; and whether the error lies in what okrsync added.

    okrsync sends ``(<condition>) AND (<its filters>) <ORDER BY>``, so positions in the
    user's condition and ORDER BY map back one to one; a position elsewhere, or a quoted
    term found only in okrsync's part, means the error is in okrsync's addition.
    """
    condition, order = split_order_by(user)
    segments = []  # (start in sent, start in user, length)
    for part, find_sent, find_user in (
        (condition, sent.find, user.find),
        (order, sent.rfind, user.rfind),
    ):
        if part and find_sent(part) >= 0 and find_user(part) >= 0:
            segments.append((find_sent(part), find_user(part), len(part)))
    in_added = False

    def move(match: re.Match[str]) -> str:
        nonlocal in_added
        at = _offset(sent, int(match.group(1)), int(match.group(2)))
        for sent_start, user_start, length in segments:
            if sent_start <= at <= sent_start + length:
                line, column = _position(user, user_start + at - sent_start)
                return f"(line {line}, character {column})"
        in_added = True
        return match.group(0)

    moved = _POSITION.sub(move, words)
    if any(term in sent and term not in user for term in _QUOTED.findall(words)):
        in_added = True
    return moved, in_added


def jira_messages(exc: BaseException) -> tuple[list[str], dict[str, str]]:
    """Jira's ``errorMessages`` and ``errors`` from a failed response (empty if none)."""
    response = getattr(exc, "response", None)
    body: Any = None
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, Mapping):
        messages = [str(m) for m in body.get("errorMessages") or [] if m]
        errors = body.get("errors") or {}
        if isinstance(errors, Mapping):
            return messages, {str(k): str(v) for k, v in errors.items()}
        return messages, {}
    text = getattr(exc, "text", None) if isinstance(exc, JIRAError) else None
    if not text and response is not None:
        text = (getattr(response, "text", "") or "")[:300]
    return ([str(text)] if text else []), {}


def describe_jira(exc: BaseException) -> str:
    """Jira's words for a failure, on one line."""
    messages, errors = jira_messages(exc)
    words = [*messages, *(f"{k}: {v}" for k, v in errors.items())]
    return "; ".join(words)


def status_of(exc: BaseException) -> int | None:
    """HTTP status of a failed Jira call, if it got an answer."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def to_connector_error(
    exc: BaseException, *, connection: str, url: str, ctx: Context, idempotent: bool = True
) -> ConnectorError:
    """Map any failure of a Jira call to a ``ConnectorError`` a person can act on.

    ``idempotent`` False marks a call okrsync does not send twice (a comment, a new
    field): a connection lost after sending it leaves its fate unknown, and the message
    says so.
    """
    if isinstance(exc, ConnectorError):
        return exc
    site = f"Jira at {url}"
    if isinstance(exc, HostBusyError):
        return ConnectorError(
            f"{site} is rate limiting okrsync and asked it to pause {exc.wait:.0f} s more; "
            "the next cycle will try again (or lower 'concurrency')",
            status=429,
            retryable=True,
        )
    if isinstance(exc, requests.exceptions.RequestException) and status_of(exc) is None:
        reason = type(exc).__name__
        failure = failure_of(exc)
        if failure is None or failure.connect:
            return ConnectorError(
                f"cannot reach Jira at {url} ({reason}) for connection '{connection}': "
                "check the url, the network and proxies; the next cycle will try again",
                retryable=True,
            )
        on = f" on {ctx.issue}" if ctx.issue else ""
        if not idempotent:
            return ConnectorError(
                f"{site} dropped the connection during the {ctx.what}{on} ({reason}) for "
                f"connection '{connection}'; okrsync did not send it again, as Jira may "
                "have applied it: check before repeating it",
                retryable=True,
            )
        return ConnectorError(
            f"{site} dropped the connection or did not answer the {ctx.what}{on} in time "
            f"({reason}) for connection '{connection}', also on retry; the next cycle will "
            "try again (if it persists, check proxies or raise 'timeout')",
            retryable=True,
        )
    status = status_of(exc)
    words = describe_jira(exc)
    said = f": {words}" if words else ""
    if status == 401:
        return AuthError(
            f"Jira rejected the credentials for connection '{connection}' "
            "(check email/api_token or pat)",
            status=401,
        )
    if status == 403:
        on = f" on {ctx.issue}" if ctx.issue else ""
        return AuthError(
            f"Jira denied the {ctx.what}{on} to connection '{connection}' (HTTP 403){said}; "
            "grant the okrsync user the needed project permissions",
            status=403,
        )
    if status == 404:
        if ctx.issue:
            return NotFoundError(
                f"issue {ctx.issue} does not exist on {site} or connection '{connection}' "
                "cannot see it: check the key in the mapping, or grant that user Browse "
                "permission on the project",
                status=404,
            )
        return NotFoundError(
            f"{site} found nothing for the {ctx.what} (HTTP 404){said}", status=404
        )
    if status == 400 and ctx.jql is not None:
        if ctx.user_jql is None or ctx.user_jql == ctx.jql:
            return QueryError(f"Jira rejected the query{said} (JQL: {ctx.jql})", status=400)
        moved, in_added = repoint_jql_error(words, ctx.jql, ctx.user_jql)
        said = f": {moved}" if moved else ""
        sent = f"; okrsync sent it as: {ctx.jql}" if in_added else ""
        return QueryError(f"Jira rejected the query{said} (JQL: {ctx.user_jql}{sent})", status=400)
    if status == 410:
        return ConnectorError(
            f"{site} answered 410 Gone to the {ctx.what}: this site has removed the old "
            "search API and needs the new one (/rest/api/3/search/jql); set "
            f'flavour = "cloud" (or "auto") for connection \'{connection}\'',
            status=410,
        )
    if status in (429, 503):
        response = getattr(exc, "response", None)
        header = response.headers.get("Retry-After") if response is not None else None
        wait = parse_retry_after(header)
        asked = f" and asked to wait {wait:.0f} s" if wait is not None else ""
        kind = "is rate limiting okrsync" if status == 429 else "is unavailable"
        return ConnectorError(
            f"{site} {kind} (HTTP {status}){asked}; okrsync gave up after its retries: "
            "the next cycle will try again (or lower 'concurrency' / raise the retry waits)",
            status=status,
            retryable=True,
        )
    if status is not None and status >= 500:
        return ConnectorError(
            f"{site} failed the {ctx.what} (HTTP {status}){said}; the next cycle will try again",
            status=status,
            retryable=True,
        )
    if status is not None:
        return ConnectorError(f"{site} refused the {ctx.what} (HTTP {status}){said}", status=status)
    return ConnectorError(f"{site}: the {ctx.what} failed: {type(exc).__name__}")
