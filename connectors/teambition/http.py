"""The HTTP side of the Teambition connector: app token, pacing, envelope, errors, paging.

Every call goes through :meth:`TeambitionHttp.call`, which paces the endpoint, signs the
request with a fresh-enough app token, runs it under the shared :class:`RetryPolicy`, and
judges success on both the HTTP status and the envelope's ``code``. Failures leave as
:class:`ConnectorError` subclasses whose message says what to do next.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import jwt
from jwt.warnings import InsecureKeyLengthWarning

from connectors.base import (
    AuthError,
    ConnectorError,
    NotFoundError,
    QueryError,
    RequestCounter,
    RequestObserver,
)
from connectors.retry import Failure, HostBusyError, RetryPolicy, failure_of

if TYPE_CHECKING:
    from pydantic import SecretStr

    from connectors.teambition.settings import TeambitionConnection

log = logging.getLogger(__name__)

Envelope = dict[str, Any]

TOKEN_LIFETIME = 3600.0
# Renew this long before expiry, so that a token never expires between signing and arrival
# (clock skew, retries, slow responses).
TOKEN_RENEW_BEFORE = 300.0
# Bound on pages of one listing: a guard against a server that never stops paging.
MAX_PAGES = 100_000


class AppToken:
    """Teambition's app token: an HS256 JWT ``{_appId, iat, exp}`` signed with the secret.

    Minted on first use and renewed once less than :data:`TOKEN_RENEW_BEFORE` seconds
    remain. ``clock`` gives wall-clock seconds (the token's times are absolute). The
    secret and the token never appear in ``repr``.
    """

    def __init__(self, app_id: str, secret: SecretStr, clock: Callable[[], float]) -> None:
        self._app_id = app_id
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0
        self.minted = 0  # how many tokens this connection has signed

    def value(self) -> str:
        """A token with at least :data:`TOKEN_RENEW_BEFORE` seconds left."""
        with self._lock:
            now = self._clock()
            if not self._token or self._expires - now < TOKEN_RENEW_BEFORE:
                issued = int(now)
                self._expires = issued + TOKEN_LIFETIME
                with warnings.catch_warnings():
                    # Teambition issues the secret; its length is not the user's to change.
                    warnings.simplefilter("ignore", InsecureKeyLengthWarning)
                    self._token = jwt.encode(
                        {"_appId": self._app_id, "iat": issued, "exp": int(self._expires)},
                        self._secret.get_secret_value(),
                        algorithm="HS256",
                    )
                self.minted += 1
            return self._token

    def __repr__(self) -> str:
        return f"AppToken(app_id={self._app_id!r}, minted={self.minted})"


class EndpointPacer:
    """At most ``per_second`` requests per endpoint template, spaced evenly (thread-safe).

    Teambition's quota is per endpoint, so each template gets its own schedule: a caller
    reserves the next free slot under the lock and sleeps outside it.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, endpoint: str) -> None:
        """Block until ``endpoint`` may be called again."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(endpoint, now))
            self._next[endpoint] = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


class _EnvelopeError(Exception):
    """HTTP 2xx whose envelope ``code`` is not 200 (retried when the code says 429/5xx).

    ``code`` is the envelope's code when it reads as an HTTP status (100-599), else 0:
    a code of Teambition's own (text, or a long number) is a refusal, not an outage.
    ``raw`` is the code as sent, for messages.
    """

    def __init__(self, raw: object, message: str, response: httpx.Response) -> None:
        super().__init__(f"envelope code {raw}")
        text = str(raw).strip()
        self.raw = text
        self.code = int(text) if text.isdigit() and 100 <= int(text) <= 599 else 0
        self.message = message
        self.response = response


def _adapter(outcome: object) -> Failure | None:
    if isinstance(outcome, _EnvelopeError):
        status = outcome.code or 400  # an unknown code: fatal, never retried
        return Failure(status=status, host=outcome.response.request.url.netloc.decode())
    return failure_of(outcome)


def _message_of(response: httpx.Response) -> str:
    """The envelope's ``errorMessage`` of an error response, else a short body excerpt."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        message = body.get("errorMessage") or body.get("message")
        if message:
            return str(message)
    return response.reason_phrase


class TeambitionHttp:
    """One Teambition organization reached through one app, over one ``httpx.Client``.

    ``requests`` counts every request sent; ``on_request`` hears how each one went.
    """

    def __init__(
        self,
        name: str,
        settings: TeambitionConnection,
        retry: RetryPolicy,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        on_request: RequestObserver | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.base_url = str(settings.base_url).rstrip("/")
        self._retry = retry
        self._token = AppToken(settings.app_id, settings.app_secret, clock)
        self._pacer = EndpointPacer(settings.requests_per_second)
        headers = {
            "X-Tenant-Id": settings.tenant_id,
            "X-Tenant-Type": "organization",
            "Accept": "application/json",
        }
        if settings.operator_id:
            headers["X-Operator-Id"] = settings.operator_id
        self.requests = RequestCounter(on_request)
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            timeout=settings.timeout,
            headers=headers,
            transport=transport,
            event_hooks={"request": [lambda _request: self.requests.add()]},
            limits=httpx.Limits(max_connections=max(settings.concurrency, 1) * 2),
        )

    def __repr__(self) -> str:
        return f"TeambitionHttp(name={self.name!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()

    # ------------------------------------------------------------------ one call

    def call(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotent: bool = True,
        what: str = "",
        tql: str | None = None,
    ) -> Envelope:
        """Send one request and return its envelope, or raise a :class:`ConnectorError`.

        ``template`` is the endpoint path with ``{name}`` placeholders filled from ``path``
        (quoted); it also keys the pacing. ``what`` names the object for messages ("project
        'x'"); ``tql`` is quoted back in a query error.
        """
        url = template.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        attempts = 0

        def attempt() -> httpx.Response | Envelope:
            nonlocal attempts
            attempts += 1
            self._pacer.wait(template)
            headers = {"Authorization": f"Bearer {self._token.value()}"}
            response = self._send(method, url, params=params, json=json, headers=headers)
            if not 200 <= response.status_code < 300:
                return response
            body = self._json(response, what)
            code = body.get("code", 200)
            if str(code).strip() != "200":
                raise _EnvelopeError(code, str(body.get("errorMessage") or ""), response)
            return body

        try:
            outcome = self._retry.call(
                attempt,
                idempotent=idempotent,
                describe=f"teambition {method} {template}",
                host=self.base_url,
                adapter=_adapter,
            )
        except httpx.TransportError as exc:
            raise ConnectorError(
                f"cannot reach Teambition at {self.base_url} (connection '{self.name}'): "
                f"{type(exc).__name__}: {exc or 'connection closed'}"
                + (f" after {attempts} attempts" if attempts > 1 else ""),
                retryable=True,
            ) from None
        except HostBusyError as exc:
            raise ConnectorError(
                f"Teambition at {self.base_url} asked connection '{self.name}' to wait "
                f"{exc.wait:.0f} s before the next request; a later cycle will try again",
                status=429,
                retryable=True,
            ) from None
        except _EnvelopeError as exc:
            raise self._error(
                method, exc.code, exc.message, what, tql, attempts, envelope=exc.raw
            ) from None
        if isinstance(outcome, httpx.Response):
            raise self._error(
                method, outcome.status_code, _message_of(outcome), what, tql, attempts
            )
        return outcome

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request (counted by the client's request hook), its status and
        duration told to the request observer; None for an answer that never came."""
        started = time.monotonic()
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TransportError:
            self.requests.observe(method, None, time.monotonic() - started)
            raise
        self.requests.observe(method, response.status_code, time.monotonic() - started)
        return response

    def _json(self, response: httpx.Response, what: str) -> Envelope:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ConnectorError(
                f"Teambition at {self.base_url} answered {what or response.request.url.path} "
                "with something other than a JSON envelope; is base_url right?",
                status=response.status_code,
            )
        return body

    def _error(
        self,
        method: str,
        status: int,
        message: str,
        what: str,
        tql: str | None,
        attempts: int,
        *,
        envelope: str | None = None,
    ) -> ConnectorError:
        """The user-facing error for a failed call (``envelope`` set: the error code came
        in the body of an HTTP 2xx answer; ``status`` is then 0 when it is no HTTP status)."""
        said = f"Teambition said: {message}" if message else "no message"
        code = f"HTTP {status}" if envelope is None else f"HTTP 200 with envelope code {envelope}"
        doing = "reading" if method == "GET" else "writing"
        conn = f"connection '{self.name}'"
        if status == 401:
            return AuthError(
                f"Teambition rejected the app token for {conn}: check app_id/app_secret ({said})",
                status=401,
            )
        if status == 403:
            if self.settings.operator_id and self.settings.operator_id in message:
                return AuthError(
                    f"Teambition refused operator_id '{self.settings.operator_id}' for {conn}: "
                    f"check that this user is a member of the organization ({said})",
                    status=403,
                )
            if self.settings.tenant_id in message or "organization" in message.lower():
                return AuthError(
                    f"Teambition refused organization (tenant_id) '{self.settings.tenant_id}' "
                    f"for {conn}: check tenant_id and that the app is installed there ({said})",
                    status=403,
                )
            return AuthError(
                f"Teambition refused {doing} {what or 'data'} for {conn} (HTTP 403): check "
                f"the app's permissions in organization '{self.settings.tenant_id}' ({said})",
                status=403,
            )
        if status == 404:
            return NotFoundError(f"Teambition has no {what or 'such object'} ({said})", status=404)
        if status == 400 and tql is not None:
            return QueryError(
                f"Teambition rejected the TQL {tql!r} for {conn}: {message}", status=400
            )
        if status == 429 or 500 <= status <= 599:
            tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
            kind = "is rate limiting requests" if status == 429 else "is failing"
            return ConnectorError(
                f"Teambition at {self.base_url} {kind} ({code}){tries} {doing} "
                f"{what or 'data'} for {conn}; a later cycle will try again ({said})",
                status=status,
                retryable=True,
            )
        return ConnectorError(
            f"Teambition refused {doing} {what or 'data'} for {conn} ({code}): "
            f"{message or 'no message'}",
            status=status or None,
        )

    # ------------------------------------------------------------------ listings

    def pages(
        self,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        page_size: int | None = None,
        what: str = "",
        tql: str | None = None,
    ) -> Iterator[Envelope]:
        """Every page of a listing, following ``nextPageToken`` to the end.

        Refuses to loop on a token the server already gave (a broken cursor would
        otherwise page forever), and ends at a page without results even if it carries a
        token (nothing more can come of following it).
        """
        size = page_size or self.settings.page_size
        token = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query: dict[str, str | int] = {**(params or {}), "pageSize": size}
            if token:
                query["pageToken"] = token
            body = self.call("GET", template, path=path, params=query, what=what, tql=tql)
            yield body
            token = str(body.get("nextPageToken") or "")
            if not token or not body.get("result"):
                return
            if token in seen:
                raise ConnectorError(
                    f"Teambition repeated a page token while listing {what or template} for "
                    f"connection '{self.name}'; stopped instead of looping forever",
                    retryable=True,
                )
            seen.add(token)
        raise ConnectorError(
            f"listing {what or template} for connection '{self.name}' exceeded {MAX_PAGES} pages",
            retryable=True,
        )

    def collect(self, template: str, **kwargs: Any) -> tuple[list[Any], int | None]:
        """All results of a listing and the server's count (``totalSize``/``total``)."""
        items: list[Any] = []
        total: int | None = None
        for body in self.pages(template, **kwargs):
            items.extend(body.get("result") or [])
            count = body.get("totalSize", body.get("total"))
            if isinstance(count, int):
                total = count
        return items, total
