"""One Jira site through the pycontribs ``jira`` library, every call under the retry policy.

``JiraClient`` owns the library client (created lazily, with the library's own retries
off), the flavour, the field catalog and the paging loops. Endpoints the library lacks
(approximate count on DC, field creation, issue edits without a re-read) go through the
library's own session, so authentication, headers and error parsing stay the library's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jira import JIRA

from connectors.base import ConnectorError, NotFoundError, RequestCounter
from connectors.jira.errors import Context, to_connector_error
from connectors.jira.fields import FieldCatalog
from connectors.jira.transport import CountingAdapter, display_url
from connectors.retry import RetryPolicy

if TYPE_CHECKING:
    from connectors.jira.settings import JiraConnection

T = TypeVar("T")
log = logging.getLogger(__name__)
# Refuse to page forever: a search longer than this many pages is a server bug.
MAX_PAGES = 10_000
# Longer JQL goes in a POST body instead of the query string.
POST_JQL_OVER = 1500


class JiraClient:
    """Calls to one Jira site; every failure leaves as a ``ConnectorError``."""

    def __init__(self, name: str, settings: JiraConnection, retry: RetryPolicy):
        self.name = name
        self.settings = settings
        self.retry = retry
        self.url = display_url(str(settings.url))
        self._lock = threading.Lock()
        # At most ``concurrency`` requests in flight, however the callers nest thread pools.
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        # Lazily read reference data (fields, user, issue types) once, even under threads.
        self._cache_lock = threading.RLock()
        self._jira: JIRA | None = None
        self.requests = RequestCounter()
        self._flavour: Literal["cloud", "datacenter"] | None = (
            None if settings.flavour == "auto" else settings.flavour
        )
        self._catalog: FieldCatalog | None = None
        self._myself: dict[str, Any] | None = None
        self._subtask_types: list[str] | None = None

    def __repr__(self) -> str:
        return f"JiraClient({self.name!r}, {self.url!r})"

    # ----------------------------------------------------------------- plumbing

    def call(
        self,
        fn: Callable[[], T],
        *,
        idempotent: bool = True,
        ctx: Context | None = None,
    ) -> T:
        """Run one library call under the retry policy; map failures to ConnectorError."""
        context = ctx or Context()
        try:
            return self.raw_call(fn, idempotent=idempotent, what=context.what)
        except Exception as exc:
            raise self.map_error(exc, context, idempotent=idempotent) from exc

    def raw_call(self, fn: Callable[[], T], *, idempotent: bool = True, what: str = "") -> T:
        """Like ``call`` but lets the client's own exception through (for callers that
        read Jira's per-field errors)."""
        return self.retry.call(
            partial(self._in_slot, fn),
            idempotent=idempotent,
            describe=f"jira {what}",
            host=self.url,
        )

    def _in_slot(self, fn: Callable[[], T]) -> T:
        # Held only while a request is in flight, never during a retry wait.
        with self._slots:
            return fn()

    def map_error(
        self, exc: BaseException, ctx: Context, *, idempotent: bool = True
    ) -> ConnectorError:
        """``to_connector_error`` for this connection."""
        return to_connector_error(
            exc, connection=self.name, url=self.url, ctx=ctx, idempotent=idempotent
        )

    @property
    def jira(self) -> JIRA:
        """The library client, created on first use (one serverInfo call when flavour is
        auto)."""
        with self._lock:
            if self._jira is None:
                self._jira = self.call(self._connect, ctx=Context("serverInfo request"))
            return self._jira

    def _connect(self) -> JIRA:
        s = self.settings
        auth: dict[str, Any]
        if s.pat is not None:
            auth = {"token_auth": s.pat.get_secret_value()}
        else:
            assert s.email is not None and s.api_token is not None
            auth = {"basic_auth": (s.email, s.api_token.get_secret_value())}
        # No serverInfo probe inside the constructor: it would go out before the counting
        # adapter is mounted, and a probe that fails would not be counted.
        client = JIRA(
            server=str(s.url).rstrip("/"),
            options={"verify": s.verify_tls, "check_update": False},
            max_retries=0,
            timeout=s.timeout,
            get_server_info=False,
            logging=False,
            **auth,
        )
        # The library's own retries are off (max_retries=0); the pool fits our threads.
        adapter = CountingAdapter(self.requests, pool_maxsize=max(10, s.concurrency), max_retries=0)
        client._session.mount("https://", adapter)
        client._session.mount("http://", adapter)
        if self._flavour is None:
            info = client.server_info()
            client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
            self._flavour = "cloud" if info.get("deploymentType") == "Cloud" else "datacenter"
        # The library picks its search API from deploymentType.
        client.deploymentType = "Cloud" if self._flavour == "cloud" else "Server"
        return client

    @property
    def flavour(self) -> Literal["cloud", "datacenter"]:
        """``cloud`` or ``datacenter`` (detected from serverInfo when configured auto)."""
        _ = self.jira
        assert self._flavour is not None
        return self._flavour

    def api_url(self, path: str) -> str:
        """Absolute REST URL of ``path`` (under /rest/api/2)."""
        return self.jira._get_url(path)

    def close(self) -> None:
        """Close the HTTP session."""
        with self._lock:
            if self._jira is not None:
                self._jira.close()
                self._jira = None

    # ----------------------------------------------------------------- fields, user

    def catalog(self) -> FieldCatalog:
        """The field catalog (one ``GET /field``, kept until ``refresh``)."""
        with self._cache_lock:
            return self._load_catalog()

    def _load_catalog(self) -> FieldCatalog:
        if self._catalog is None:
            raw = self.call(lambda: self.jira.fields(), ctx=Context("field list request"))
            catalog = FieldCatalog(raw, self.name)
            # The library translates names through this cache, fetching it (unretried) if
            # empty; fill it from our answer instead.
            cache: dict[str, str] = {}
            for entry in raw:
                for clause in entry.get("clauseNames", ()):
                    cache[clause] = entry["id"]
            self.jira._fields_cache_value = cache
            self._catalog = catalog
        return self._catalog

    def refresh(self) -> None:
        """Forget the field catalog and user, so the next use reads them again."""
        self._catalog = None
        self._myself = None
        self._subtask_types = None

    def myself(self) -> dict[str, Any]:
        """The authenticated user (``GET /myself``), cached until ``refresh``."""
        with self._cache_lock:
            if self._myself is None:
                self._myself = self.call(lambda: self.jira.myself(), ctx=Context("user request"))
            return self._myself

    def not_subtask(self) -> str:
        """JQL leaving sub-tasks out (``issuetype not in (<sub-task type ids>)``), or ""
        when the site has no sub-task types. One ``GET /issuetype``, kept until ``refresh``.
        """
        with self._cache_lock:
            if self._subtask_types is None:
                try:
                    types = self.get_json("issuetype", ctx=Context("issue type list request"))
                except NotFoundError:
                    # A server without the list: sub-tasks are then left out after reading.
                    types = []
                self._subtask_types = [str(t["id"]) for t in types or [] if t.get("subtask")]
        if not self._subtask_types:
            return ""
        return f"issuetype not in ({', '.join(self._subtask_types)})"

    def time_zone(self) -> tzinfo:
        """The Jira user's time zone, in which JQL reads dates (UTC if not told)."""
        name = self.myself().get("timeZone")
        try:
            return ZoneInfo(str(name)) if name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            return UTC

    # ----------------------------------------------------------------- search

    def search(
        self,
        jql: str,
        field_ids: Sequence[str],
        *,
        shown: str | None = None,
        properties: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Every issue matching ``jql`` (raw JSON), paging to the end on either flavour;
        with ``properties``, those issue properties under ``properties`` of each issue.

        ``shown`` is the user's JQL that ``jql`` was built from: messages quote it.
        """
        ctx = Context("search", jql=jql, user_jql=shown)
        issues: dict[str, dict[str, Any]] = {}
        cloud = self.flavour == "cloud"
        token: str | None = None
        seen: set[str] = set()
        start = 0
        for _ in range(MAX_PAGES):
            page = partial(
                self._page, jql, field_ids, token=token, start=start, properties=properties
            )
            data = self.call(page, ctx=ctx)
            got = data.get("issues") or []
            for issue in got:
                issues[str(issue["id"])] = issue
            if cloud:
                token = data.get("nextPageToken")
                if not token or data.get("isLast"):
                    return list(issues.values())
                if token in seen:
                    raise ConnectorError(
                        f"Jira at {self.url} returned the same page token twice for a "
                        f"search; stopped paging (JQL: {shown or jql})",
                        retryable=True,
                    )
                seen.add(token)
            else:
                start += len(got)
                # An empty page ends it too: a total the server cannot serve is no reason
                # to ask forever.
                if not got or start >= int(data.get("total", 0)):
                    return list(issues.values())
        raise ConnectorError(
            f"a search on {self.url} had more than {MAX_PAGES} pages (JQL: {shown or jql})"
        )

    def _page(
        self,
        jql: str,
        field_ids: Sequence[str],
        *,
        token: str | None,
        start: int,
        properties: Sequence[str] = (),
    ) -> dict[str, Any]:
        """One page of a search: Cloud ``/search/jql`` by token, DC ``/search`` by offset."""
        post = len(jql) > POST_JQL_OVER
        size = self.settings.page_size
        fields = list(field_ids)
        # A POST body carries the list as JSON (the spec's array); a query string, the
        # comma-separated form both flavours read.
        props: Any = (list(properties) if post else ",".join(properties)) or None
        result: Any
        if self.flavour == "cloud":
            result = self.jira.enhanced_search_issues(
                jql,
                nextPageToken=token,
                maxResults=size,
                fields=fields,
                properties=props,
                json_result=True,
                use_post=post,
            )
        else:
            result = self.jira.search_issues(
                jql,
                startAt=start,
                maxResults=size,
                fields=fields,
                properties=props,
                json_result=True,
                use_post=post,
            )
        return result if isinstance(result, dict) else {}

    def count(self, jql: str, *, shown: str | None = None) -> int:
        """Issues matching ``jql``: Cloud's approximate count, DC's search total
        (``shown`` as for ``search``)."""
        ctx = Context("count", jql=jql, user_jql=shown)
        if self.flavour == "cloud":
            return int(self.call(lambda: self.jira.approximate_issue_count(jql), ctx=ctx) or 0)
        params = {"jql": jql, "maxResults": 0, "fields": "id", "validateQuery": "strict"}
        data = self.get_json("search", ctx=ctx, params=params)
        return int(data.get("total", 0))

    def issue(
        self, key: str, field_ids: Sequence[str], properties: Sequence[str] = ()
    ) -> dict[str, Any]:
        """One issue's raw JSON with the given fields and issue properties (follows
        moved keys)."""
        fields = ",".join(field_ids)
        props = ",".join(properties) or None
        return self.call(
            lambda: self.jira.issue(key, fields=fields, properties=props).raw,
            ctx=Context("issue read", issue=key),
        )

    def editmeta(self, key: str) -> dict[str, Any]:
        """An issue's edit screen: the fields that can be set on it (``GET .../editmeta``)."""
        meta = self.call(
            lambda: self.jira.editmeta(key), ctx=Context("edit screen read", issue=key)
        )
        return meta or {}

    # ----------------------------------------------------------------- session calls

    def put_json(self, path: str, body: Any, params: Mapping[str, str] | None = None) -> None:
        """``PUT`` JSON through the library's session; raises the library's error."""
        url = self.api_url(path)
        data = json.dumps(body)
        self.raw_call(
            lambda: self.jira._session.put(url, params=dict(params or {}), data=data),
            what=f"PUT {path}",
        )

    def post_json(self, path: str, body: Any, *, ctx: Context) -> Any:
        """``POST`` JSON (not idempotent) through the library's session; parsed answer."""
        return self.send_json("POST", path, body, ctx=ctx)

    def send_json(self, method: str, path: str, body: Any, *, ctx: Context) -> Any:
        """Send JSON through the library's session (``POST`` is never repeated blindly,
        ``PUT`` and ``DELETE`` are idempotent); parsed answer, or None when empty."""
        url = self.api_url(path)
        data = json.dumps(body)
        response = self.call(
            lambda: self.jira._session.request(method, url, data=data),
            idempotent=method.upper() != "POST",
            ctx=ctx,
        )
        return response.json() if response.content else None

    def get_json(self, path: str, *, ctx: Context, params: Mapping[str, Any] | None = None) -> Any:
        """``GET`` a REST path through the library."""
        return self.call(lambda: self.jira._get_json(path, params=dict(params or {})), ctx=ctx)
