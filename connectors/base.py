"""The small protocol every tracker connector implements, and the values it exchanges.

A connector does no OKR logic: it turns scopes into WorkItems, and reads and writes named
fields on named targets. The cycle (``okrsync.sync.cycle``) decides what to fetch and write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from mappings.items import WorkItem
from mappings.schema import Scope

#: A ``FieldRef`` whose field starts with this names an issue property, not a field
#: (``property:okrsync``): connectors that keep properties (Jira) read them with the
#: fields, in the same request; the value is the property's JSON, None when unset.
PROPERTY_PREFIX = "property:"

K = TypeVar("K", bound=Hashable)
log = logging.getLogger(__name__)


class ConnectorError(Exception):
    """A tracker call failed. ``message`` is what the user should read (and do next).

    ``retryable`` tells whether a later cycle may succeed without a person acting
    (outage, rate limit) or not (bad credentials, bad JQL, missing field).
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class AuthError(ConnectorError):
    """401/403: credentials wrong or lacking permission."""


class QueryError(ConnectorError):
    """The tracker rejected a query (bad JQL or TQL); the message carries its words."""


class NotFoundError(ConnectorError):
    """An issue, task, project or field does not exist (or is invisible to us)."""


class FieldNotEditableError(ConnectorError):
    """A write-back field exists but cannot be set on a target (edit screen, type)."""


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """Read one scope. ``since`` asks only for items updated at or after that time."""

    scope: Scope
    # Extra field names a measure needs (estimate field, metric fields), as people name
    # them in the tracker.
    fields: tuple[str, ...] = ()
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a scope read returned."""

    items: list[WorkItem]
    # Total items now matching the scope, as the tracker counts them (for reconciling an
    # incremental read against the cache). None when the tracker cannot tell cheaply.
    total: int | None = None


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A named field on a named target (Jira issue key, Teambition task id)."""

    target: str
    field: str


@dataclass(frozen=True, slots=True)
class FieldWrite:
    """Set ``field`` on ``target`` to ``value``.

    Values: float for number fields, str for text and single-select fields (the option's
    visible name), datetime for datetime fields, None to clear.
    """

    target: str
    field: str
    value: float | str | datetime | None


@dataclass(frozen=True, slots=True)
class Problem:
    """One preflight finding, with the fix a person should make.

    ``scope`` is set when the finding is about a scope, so that the caller can point at
    the key results (and mapping lines) that use it.
    """

    where: str
    message: str
    fix: str = ""
    scope: Scope | None = None


@dataclass(slots=True)
class PreflightReport:
    """Everything ``okrsync check`` found for one connection, reported together."""

    connection: str
    problems: list[Problem] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)


#: Told of each HTTP request a connector sent: its method, the status code of the answer
#: (None when the connection failed or dropped before one came) and the seconds it took.
RequestObserver = Callable[[str, int | None, float], None]


class RequestCounter:
    """Counts HTTP requests sent (retries included), safely across threads, and passes
    each one's outcome on to ``observer`` (for metrics) when one is set."""

    def __init__(self, observer: RequestObserver | None = None) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self.observer = observer

    def add(self, n: int = 1) -> None:
        """Count ``n`` more requests."""
        with self._lock:
            self._count += n

    @property
    def value(self) -> int:
        """Requests counted so far."""
        return self._count

    def observe(self, method: str, status: int | None, seconds: float) -> None:
        """Tell the observer how one request went (``status`` None: no answer came)."""
        if self.observer is None:
            return
        try:
            self.observer(method.upper(), status, seconds)
        except Exception:
            # Metrics are a bystander: a failing observer must not fail the tracker call.
            log.exception("request observer failed")


#: What ``Connector.count`` answers: a count or the error, per scope.
Counts = Mapping[Scope, int | ConnectorError]


def confirm_each(
    count: Callable[[Sequence[Scope]], Counts], expected: Mapping[K, tuple[Scope, int]]
) -> dict[K, int | ConnectorError]:
    """``Connector.confirm_counts`` for a tracker whose counts cannot be added up: each
    distinct scope counted once, in one ``count`` call."""
    scopes = list(dict.fromkeys(scope for scope, _ in expected.values()))
    try:
        counted = count(scopes)
    except ConnectorError as exc:
        return dict.fromkeys(expected, exc)
    out: dict[K, int | ConnectorError] = {}
    for key, (scope, _) in expected.items():
        value = counted.get(scope)
        if value is None:
            value = ConnectorError("the tracker gave no count for the scope")
        out[key] = value
    return out


class Connector(Protocol):
    """What the cycle needs from a tracker connection: every capability it uses is named
    here, so the sync layer never asks a connector what it happens to have."""

    source: str  # "jira" | "teambition"
    name: str  # the connection name from settings

    @property
    def requests_sent(self) -> int:
        """HTTP requests this connector has sent so far, retries included."""
        ...

    @property
    def concurrency(self) -> int:
        """Requests this connection keeps in flight at most (callers size thread pools by it:
        more threads would only wait)."""
        ...

    @property
    def supports_properties(self) -> bool:
        """Whether targets hold issue properties (Jira); without them ``set_property``
        fails and ``PROPERTY_PREFIX`` refs are not asked for."""
        ...

    def refresh(self) -> None:
        """Forget what is cached between cycles (field catalogs); a no-op where nothing is."""
        ...

    def fetch(
        self, requests: Sequence[FetchRequest]
    ) -> dict[FetchRequest, FetchResult | ConnectorError]:
        """Read many scopes (merged into few queries where possible, run concurrently).

        One failing scope does not fail the others: its entry holds the error.
        """
        ...

    def count(self, scopes: Sequence[Scope]) -> dict[Scope, int | ConnectorError]:
        """Cheap item count per scope (approximate count, search total, totalSize)."""
        ...

    def confirm_counts(
        self, expected: Mapping[K, tuple[Scope, int]]
    ) -> dict[K, int | ConnectorError]:
        """Each key's count as the tracker sees it, given its scope and the size it should
        have (after an incremental read). A tracker may count several scopes together and
        give back the expected size of every scope whose group agreed (Jira's epics); any
        other key gets the count of its own scope, or the error."""
        ...

    def read_fields(self, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
        """Current values, in the same value forms as ``FieldWrite``."""
        ...

    def write_fields(self, writes: Sequence[FieldWrite]) -> dict[FieldWrite, ConnectorError | None]:
        """Apply writes; already-equal values are not sent. None means written."""
        ...

    def add_comment(self, target: str, text: str) -> None:
        """Post a comment on an issue or task (check-ins)."""
        ...

    def set_property(self, target: str, key: str, value: Any) -> None:
        """Set issue property ``key`` to a JSON value; a non-retryable ``ConnectorError``
        where ``supports_properties`` is false."""
        ...

    def preflight(
        self, scopes: Sequence[Scope], fields: Mapping[str, Sequence[str]]
    ) -> PreflightReport:
        """Credentials, each scope's query, and each field (by target) exists and is editable."""
        ...

    def close(self) -> None:
        """Release HTTP connections."""
        ...
