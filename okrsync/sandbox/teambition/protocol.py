"""Wire conventions of the Teambition Open API: the envelope, errors, paging tokens, auth.

Every answer is a JSON envelope ``{code, errorMessage, requestId, result}``; listings add
``nextPageToken`` (``""`` on the last page) and ``totalSize``. A failed call sets both the
HTTP status and ``code`` (the same number), and ``result`` is null.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Response

__all__ = [
    "ApiError",
    "envelope",
    "error_body",
    "json_response",
    "page_window",
    "read_app_id",
    "verify_app_token",
]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 10
#: The official client rounds ``iat`` down to the hour: accept tokens issued up to an hour
#: ago, with a minute of clock skew either way.
MAX_TOKEN_AGE = 3600 + 60
CLOCK_SKEW = 60


class ApiError(Exception):
    """A failed call: ``status`` is both the HTTP status and the envelope ``code``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def new_request_id() -> str:
    """A fresh request id, as Teambition puts in every envelope."""
    return uuid.uuid4().hex


def envelope(result: Any, *, code: int = 200, message: str = "", **extra: Any) -> dict[str, Any]:
    """The response envelope; ``extra`` adds ``nextPageToken``, ``totalSize``, ``total``."""
    return {
        "code": code,
        "errorMessage": message,
        "requestId": new_request_id(),
        "result": result,
        **extra,
    }


def error_body(status: int, reason: str, message: str) -> dict[str, Any]:
    """Envelope for an injected fault (``FaultMiddleware``'s ``error_body`` hook).

    An injected failure with HTTP status 200 is Teambition's "HTTP 200, error in the body"
    case: the envelope then says ``code`` 500.
    """
    code = 500 if 200 <= status < 300 else status
    if reason == "rate_limit":
        message = "Too many requests: over the rate limit of this app and organization"
    return envelope(None, code=code, message=message)


def json_response(body: Mapping[str, Any], status: int = 200, headers: Any = None) -> Response:
    """A JSON response as Teambition sends it."""
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def _fingerprint(scope: Sequence[Any]) -> str:
    return hashlib.sha1(json.dumps(scope, default=str).encode()).hexdigest()[:12]


def parse_page_size(raw: str | None, default: int = DEFAULT_PAGE_SIZE) -> int:
    """``pageSize`` from the query string: 1..1000, ``default`` when absent."""
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, f"pageSize must be an integer, got {raw!r}") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, f"pageSize must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return size


def page_window(
    total: int, page_size: int, token: str | None, scope: Sequence[Any]
) -> tuple[int, int, str]:
    """``(start, end, nextPageToken)`` of one page of a listing of ``total`` items.

    Tokens are opaque and bound to the listing they came from (``scope``: the endpoint
    and its filter parameters): replaying one with another query is a 400.
    """
    start = 0
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * 4))
            start = int(decoded["o"])
            bound = decoded["f"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, f"invalid pageToken {token!r}") from None
        if bound != _fingerprint(scope) or start < 0:
            raise ApiError(400, "pageToken does not belong to this query")
    end = min(start + page_size, total)
    next_token = ""
    if end < total:
        raw = json.dumps({"o": end, "f": _fingerprint(scope)}).encode()
        next_token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return start, end, next_token


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part.encode("ascii") + b"=" * (-len(part) % 4))


def _decode_token(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """``(header, claims, signing_input, signature)`` of a compact JWS; ValueError if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    header, claims = json.loads(_b64decode(parts[0])), json.loads(_b64decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("not a JWT")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64decode(parts[2])


def _number_claim(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(401, f"app token needs a numeric {name} claim")
    return float(value)


def read_app_id(authorization: str | None) -> str:
    """The ``_appId`` claimed by a bearer token, unverified (for rate-limit keys); or ""."""
    if not authorization or not authorization.startswith("Bearer "):
        return ""
    try:
        _, claims, _, _ = _decode_token(authorization[7:].strip())
    except (ValueError, UnicodeError):
        return ""
    return str(claims.get("_appId") or "")


def verify_app_token(authorization: str | None, secrets: Mapping[str, str]) -> str:
    """Check an app token (HS256 JWT signed with the app secret); return the app id.

    Raises :class:`ApiError` 401 for a missing header, malformed token, unknown app, bad
    signature, expired token or a token issued more than an hour ago.
    """
    if not authorization:
        raise ApiError(401, "missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Authorization must be 'Bearer <app token>'")
    try:
        header, claims, signing_input, signature = _decode_token(token.strip())
    except (ValueError, UnicodeError):
        raise ApiError(401, "malformed app token") from None
    app_id = claims.get("_appId")
    if not isinstance(app_id, str) or app_id not in secrets:
        raise ApiError(401, "unknown app in token (_appId)")
    if header.get("alg") != "HS256":
        raise ApiError(401, "app token must be signed with HS256")
    expected = hmac.new(secrets[app_id].encode(), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise ApiError(401, "app token signature does not match the app secret")
    issued, expires = _number_claim(claims, "iat"), _number_claim(claims, "exp")
    now = time.time()
    if expires <= now - CLOCK_SKEW:
        raise ApiError(401, "app token expired")
    if issued > now + CLOCK_SKEW:
        raise ApiError(401, "app token issued in the future (iat)")
    if now - issued > MAX_TOKEN_AGE:
        raise ApiError(401, "app token issued more than an hour ago")
    return app_id
