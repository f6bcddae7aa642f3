"""Teambition connector: the Open API over httpx.

``TeambitionConnector`` reads project + TQL, parent-task, tag and sprint scopes as
WorkItems, and reads and writes custom fields of tasks by name. The HTTP details (app
token, pacing, envelope, errors, paging) live in :mod:`connectors.teambition.http`, task
mapping in :mod:`connectors.teambition.tasks`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

import httpx

from connectors.base import (
    ConnectorError,
    FetchRequest,
    FetchResult,
    FieldRef,
    FieldWrite,
    K,
    PreflightReport,
    RequestObserver,
    confirm_each,
)
from connectors.retry import RetryPolicy
from connectors.teambition.check import preflight
from connectors.teambition.http import TeambitionHttp
from connectors.teambition.read import (
    Lookups,
    Task,
    count_scope,
    extra_fields,
    quiet_scopes,
    read_scope,
)
from connectors.teambition.settings import TeambitionConnection
from connectors.teambition.tasks import (
    TASK_COMMENT,
    TeambitionScope,
    story_points,
    to_item,
)
from connectors.teambition.write import read_fields, write_fields
from mappings.items import WorkItem
from mappings.schema import TEAMBITION_SCOPES, Scope, TeambitionParentScope

log = logging.getLogger(__name__)

V = TypeVar("V")


class TeambitionConnector:
    """The :class:`connectors.base.Connector` of one Teambition connection.

    ``transport`` replaces httpx's network transport (tests record requests with it);
    ``clock`` gives wall-clock seconds for the app token's ``iat``/``exp``; ``on_request``
    hears of every HTTP request sent (method, status, seconds).
    """

    source = "teambition"
    # Teambition tasks have custom fields but nothing like Jira's issue properties.
    supports_properties = False

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
        self.http = TeambitionHttp(
            name, settings, retry, transport=transport, clock=clock, on_request=on_request
        )

    def __repr__(self) -> str:
        return f"TeambitionConnector({self.name!r}, {self.http.base_url!r})"

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.http.requests.value

    @property
    def concurrency(self) -> int:
        """Requests in flight at most (the ``concurrency`` setting)."""
        return self.settings.concurrency

    def refresh(self) -> None:
        """Nothing to forget: every call looks up what it needs afresh (``Lookups``)."""

    def close(self) -> None:
        """Release HTTP connections."""
        self.http.close()

    # ------------------------------------------------------------------ reads

    def _parallel(self, keys: Sequence[K], work: Callable[[K], V]) -> dict[K, V | ConnectorError]:
        """``work`` per key on up to ``concurrency`` threads; errors become values."""

        def guarded(key: K) -> V | ConnectorError:
            try:
                return work(key)
            except ConnectorError as exc:
                return exc
            except Exception as exc:  # one odd answer must not fail the other scopes
                log.exception("teambition %s: unexpected failure", self.name)
                return ConnectorError(
                    f"unexpected answer from Teambition at {self.http.base_url} "
                    f"(connection '{self.name}'): {type(exc).__name__}: {exc}"
                )

        if len(keys) <= 1:
            return {key: guarded(key) for key in keys}
        workers = min(self.settings.concurrency, len(keys))
        with ThreadPoolExecutor(workers, thread_name_prefix=f"teambition-{self.name}") as pool:
            return dict(zip(keys, pool.map(guarded, keys), strict=True))

    def _own(self, scope: Scope) -> TeambitionScope:
        if not isinstance(scope, TEAMBITION_SCOPES):
            raise ConnectorError(f"connection '{self.name}' (Teambition) cannot read {scope.kind}")
        return scope

    def fetch(
        self, requests: Sequence[FetchRequest]
    ) -> dict[FetchRequest, FetchResult | ConnectorError]:
        """Read many scopes concurrently; each distinct (scope, since) is listed once."""
        lookups = Lookups(self.http)
        reads = list(dict.fromkeys((r.scope, r.since) for r in requests))
        # Incremental scopes of a project in which nothing they match changed: not listed.
        quiet = quiet_scopes(lookups, reads)

        def read(key: tuple[Scope, datetime | None]) -> tuple[list[Task], int | None]:
            return read_scope(lookups, self._own(key[0]), key[1])

        listed: dict[tuple[Scope, datetime | None], tuple[list[Task], int | None] | ConnectorError]
        listed = dict.fromkeys(quiet, ([], None))
        listed.update(self._parallel([key for key in reads if key not in quiet], read))
        projects = {
            str(task.get("projectId") or "")
            for answer in listed.values()
            if not isinstance(answer, ConnectorError)
            for task in answer[0]
        }
        try:
            lookups.load_projects(projects)
        except ConnectorError as exc:
            # Keys fall back to '#<uniqueId>'; ids and everything counted stay right.
            log.warning("teambition %s: project prefixes unavailable: %s", self.name, exc.message)
        out: dict[FetchRequest, FetchResult | ConnectorError] = {}
        for request in requests:
            answer = listed[(request.scope, request.since)]
            if isinstance(answer, ConnectorError):
                out[request] = answer
                continue
            try:
                parent = (
                    request.scope.task if isinstance(request.scope, TeambitionParentScope) else None
                )
                items = [self._item(lookups, t, request.fields, parent) for t in answer[0]]
            except ConnectorError as exc:
                out[request] = exc
                continue
            out[request] = FetchResult(items, answer[1])
        return out

    def _item(
        self, lookups: Lookups, task: Task, names: Sequence[str], children_of: str | None
    ) -> WorkItem:
        project = lookups.projects.get(str(task.get("projectId") or ""), {})
        prefix = str(project.get("uniqueIdPrefix") or "") or None
        values = extra_fields(lookups, task, names, story_points(task.get("storyPoint")))
        return to_item(task, prefix=prefix, fields=values, children_of=children_of)

    def count(self, scopes: Sequence[Scope]) -> dict[Scope, int | ConnectorError]:
        """Tasks per scope now (``totalSize`` of a one-item page; sub-tasks counted)."""
        lookups = Lookups(self.http)
        unique = list(dict.fromkeys(scopes))
        return self._parallel(unique, lambda scope: count_scope(lookups, self._own(scope)))

    def confirm_counts(
        self, expected: Mapping[K, tuple[Scope, int]]
    ) -> dict[K, int | ConnectorError]:
        """Each scope counted on its own: Teambition's scopes may overlap, so counts do not add."""
        return confirm_each(self.count, expected)

    # ------------------------------------------------------------------ fields

    def read_fields(self, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
        """Current values (float, str, datetime, None); a ``ConnectorError`` value for a
        ref that cannot be read."""
        return read_fields(Lookups(self.http), refs)

    def write_fields(self, writes: Sequence[FieldWrite]) -> dict[FieldWrite, ConnectorError | None]:
        """Write changed values only, with Teambition activity and notifications off."""
        return write_fields(Lookups(self.http), writes)

    def add_comment(self, target: str, text: str) -> None:
        """Comment on a task (not retried once sent: a retry could post it twice)."""
        self.http.call(
            "POST",
            TASK_COMMENT,
            path={"taskId": target},
            json={"content": text, "renderMode": "text"},
            idempotent=False,
            what=f"task '{target}'",
        )

    def set_property(self, target: str, key: str, value: object) -> None:
        """Refused: Teambition has no issue properties (``supports_properties`` is false)."""
        raise ConnectorError(
            f"Teambition connection '{self.name}' has no issue properties: "
            f"cannot set '{key}' on task '{target}'"
        )

    # ------------------------------------------------------------------ checks

    def preflight(
        self, scopes: Sequence[Scope], fields: Mapping[str, Sequence[str]]
    ) -> PreflightReport:
        """Token, tenant, each scope's project, TQL and parent task, each target's fields;
        every problem found is reported together."""
        own = [s for s in scopes if isinstance(s, TEAMBITION_SCOPES)]
        return preflight(Lookups(self.http), own, fields)
