"""okrsync's Prometheus metrics: what the daemon serves at ``/metrics`` and ``okrsync sync``
exports to a textfile or a Pushgateway.

:class:`Metrics` owns a registry of its own (never the process-wide default one). What a
process sees happen is counted as it happens: HTTP requests and retries of the
connectors, the writes of each cycle, cycles, skipped schedule ticks, webhook deliveries,
mapping reloads. What okrsync knows of key results, objectives and connections is read
from the state store at each scrape (``okrsync.service.collectors``).

Labels hold okrsync's own names only: key result and objective ids, connection display
names (``jira:cloud``), HTTP methods and status codes, and small fixed sets of outcomes.
Never an issue key, a user, a URL or a secret.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from connectors.jira.transport import display_url
from connectors.retry import RetryEvent
from connectors.retry_classify import host_of
from mappings.tree import OkrTree
from okrsync.config.settings import Settings
from okrsync.service.collectors import StoreCollector
from okrsync.state.store import StateStore
from okrsync.sync.hooks import READING_FIELDS, CycleHooks
from okrsync.sync.report import ConflictReport, CycleReport, HeldReport, WriteReport

__all__ = [
    "CONTENT_TYPE",
    "CYCLE_OUTCOMES",
    "RETRY_REASONS",
    "VERSION",
    "WRITE_RESULTS",
    "Metrics",
    "hosts_of",
    "retry_reason",
]

#: ``okrsync_writes_total`` results, each shown from the start (0 until it happens).
WRITE_RESULTS = ("applied", "noop", "held", "conflict", "failed")
#: ``okrsync_cycles_total`` outcomes shown from the start.
CYCLE_OUTCOMES = ("ok", "partial", "failed", "cancelled")
#: ``okrsync_retries_total`` reasons.
RETRY_REASONS = ("rate_limited", "unavailable", "server_error", "connection", "other")
#: The classic text format, which every Prometheus reads; okrsync's names need no more.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SUCCESS = ("ok", "partial")
_WEBHOOK_SOURCES = ("jira", "teambition")
_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_CYCLE_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def _okrsync_version() -> str:
    try:
        return package_version("okrsync")
    except PackageNotFoundError:
        return "unknown"


#: The installed okrsync's version (``okrsync_build_info``).
VERSION = _okrsync_version()


def hosts_of(settings: Settings) -> dict[str, str]:
    """Each tracker host (``host:port`` as retries name it) -> the display name of its
    connection (``jira:cloud``); connections sharing a host are joined with ``,``."""
    found: dict[str, set[str]] = {}
    sites = [(f"jira:{n}", str(c.url)) for n, c in settings.jira.items()]
    sites += [(f"teambition:{n}", str(c.base_url)) for n, c in settings.teambition.items()]
    for display, url in sites:
        for host in {host_of(url), host_of(display_url(url))}:
            if host:
                found.setdefault(host, set()).add(display)
    return {host: ",".join(sorted(names)) for host, names in found.items()}


def retry_reason(event: RetryEvent) -> str:
    """The ``reason`` label of a retry: one of :data:`RETRY_REASONS`."""
    reason = event.reason.lower()
    if reason == "http 429":
        return "rate_limited"
    if reason == "http 503":
        return "unavailable"
    if reason.startswith("http 5"):
        return "server_error"
    if reason.startswith(("connect error", "connection error")):
        return "connection"
    return "other"


class Metrics:
    """Every okrsync metric, in a registry of its own.

    ``store`` is read at scrape time; ``tree`` returns the current mappings (None before
    they are loaded); ``hosts`` maps a tracker host to its connection's display name (see
    :func:`hosts_of`), for retries, which name a host.
    """

    def __init__(
        self,
        *,
        store: StateStore,
        tree: Callable[[], OkrTree | None],
        hosts: Mapping[str, str] | None = None,
        version: str = VERSION,
    ) -> None:
        # Counters' ``_created`` series would be timestamps named against the conventions
        # (and Prometheus does not need them); this process exposes only okrsync's registry.
        disable_created_metrics()
        self.hosts = dict(hosts or {})
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._up: dict[str, bool] = {}
        self._last_success: float | None = None
        r = self.registry
        build = Gauge("okrsync_build_info", "okrsync's version; always 1.", ["version"], registry=r)
        build.labels(version).set(1)
        self.requests = Counter(
            "okrsync_requests",
            "HTTP requests sent to the trackers, by answer (code 'error': no answer came).",
            ["source", "method", "code"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "okrsync_request_duration_seconds",
            "Time from sending a request to a tracker to its answer (or failure).",
            ["source"],
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "okrsync_retries",
            "Tracker calls tried again, by why the previous attempt failed.",
            ["source", "reason"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "okrsync_rate_limit_waits",
            "Pauses before trying again after a tracker answered 429 or 503.",
            ["source"],
            registry=r,
        )
        self.rate_limit_wait_seconds = Counter(
            "okrsync_rate_limit_wait_seconds",
            "Seconds paused after 429 or 503 answers (the Retry-After asked, when given).",
            ["source"],
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "okrsync_cycle_duration_seconds",
            "How long sync cycles took.",
            buckets=_CYCLE_BUCKETS,
            registry=r,
        )
        self.cycles = Counter(
            "okrsync_cycles", "Sync cycles, by how they ended.", ["outcome"], registry=r
        )
        self.skipped = Counter(
            "okrsync_skipped_ticks",
            "Scheduled cycles skipped because the previous cycle was still running.",
            registry=r,
        )
        self.writes = Counter(
            "okrsync_writes",
            "Owned tracker fields by what a cycle did with them: applied, failed, conflict "
            "(a person's edit found), noop (read and left as it was); held counts key "
            "results not written because a scope lost too many items.",
            ["result"],
            registry=r,
        )
        self.leader = Gauge(
            "okrsync_leader",
            "1 while this process holds the writer lock and runs the cycles.",
            registry=r,
        )
        self.reloads = Counter(
            "okrsync_mapping_reloads",
            "Mapping files loaded again after a change, by result (ok or failed).",
            ["result"],
            registry=r,
        )
        self.webhooks = Counter(
            "okrsync_webhook_deliveries",
            "Webhook deliveries received, by tracker and what became of them.",
            ["source", "outcome"],
            registry=r,
        )
        for outcome in CYCLE_OUTCOMES:
            self.cycles.labels(outcome)
        for result in WRITE_RESULTS:
            self.writes.labels(result)
        for result in ("ok", "failed"):
            self.reloads.labels(result)
        connections = {name for names in self.hosts.values() for name in names.split(",")}
        r.register(StoreCollector(store, tree, connections, self._seen_up, self._success))

    # ------------------------------------------------------------------ observers

    def hooks(self) -> CycleHooks:
        """Hooks for one cycle: they count its writes and set its connections up or down."""
        return _CycleMetrics(self)

    def on_retry(self, event: RetryEvent) -> None:
        """Count a retry (``RetryPolicy``'s ``on_retry``)."""
        source = self.hosts.get(event.host or "", "unknown")
        reason = retry_reason(event)
        self.retries.labels(source, reason).inc()
        if reason in ("rate_limited", "unavailable"):
            self.rate_limit_waits.labels(source).inc()
            self.rate_limit_wait_seconds.labels(source).inc(max(0.0, event.wait))

    def on_request(self, connection: str, method: str, status: int | None, seconds: float) -> None:
        """Count one HTTP request a connector sent (``build_connectors``' ``on_request``)."""
        code = "error" if status is None else str(status)
        self.requests.labels(connection, method.upper(), code).inc()
        self.request_seconds.labels(connection).observe(max(0.0, seconds))

    def cycle_done(self, outcome: str, seconds: float) -> None:
        """A cycle ended: ``ok``, ``partial``, ``failed`` or ``cancelled``."""
        self.cycles.labels(outcome).inc()
        self.cycle_seconds.observe(max(0.0, seconds))
        if outcome in _SUCCESS:
            with self._lock:
                self._last_success = time.time()

    def skipped_ticks(self, n: int) -> None:
        """``n`` scheduled cycles were skipped (the previous one outlasted them)."""
        if n > 0:
            self.skipped.inc(n)

    def set_leader(self, leading: bool) -> None:
        """Whether this process holds the writer lock."""
        self.leader.set(1 if leading else 0)

    def mappings_reloaded(self, ok: bool) -> None:
        """The mapping files changed and were loaded again (``ok``) or refused."""
        self.reloads.labels("ok" if ok else "failed").inc()

    def webhook(self, source: str, outcome: str) -> None:
        """A webhook delivery from ``source`` (jira, teambition) ended as ``outcome``
        (accepted, duplicate, echo, unrelated, unauthorized, bad_request, too_large...)."""
        tracker = source if source in _WEBHOOK_SOURCES else "other"
        label = outcome if outcome.replace("_", "").isalpha() and len(outcome) <= 32 else "other"
        self.webhooks.labels(tracker, label).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition (Prometheus text format) and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE

    # ------------------------------------------------------------------ for the collector

    def source_state(self, connection: str, up: bool) -> None:
        """Record that ``connection`` answered (``up``) or failed in a cycle."""
        with self._lock:
            self._up[connection] = up

    def _seen_up(self) -> dict[str, bool]:
        with self._lock:
            return dict(self._up)

    def _success(self) -> float | None:
        with self._lock:
            return self._last_success


class _CycleMetrics(CycleHooks):
    """One cycle's callbacks into :class:`Metrics`.

    ``noop`` counts the owned fields (and Jira ``okrsync`` properties) the cycle read and
    did not write: the cycle reports its changes, and how many values it read to compare.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.compared = 0
        self.held_krs: set[str] = set()

    def phase(self, name: str, total: int | None = None) -> None:
        if name == READING_FIELDS:
            self.compared = total or 0

    def source_up(self, connection: str) -> None:
        self.metrics.source_state(connection, True)

    def source_down(self, connection: str, error: str) -> None:
        self.metrics.source_state(connection, False)

    def wrote(self, write: WriteReport) -> None:
        if write.applied:
            self.metrics.writes.labels("applied").inc()
        elif write.error:
            self.metrics.writes.labels("failed").inc()

    def held(self, held: HeldReport) -> None:
        # One per key result, however many of its scopes dropped.
        if held.kr_id not in self.held_krs:
            self.held_krs.add(held.kr_id)
            self.metrics.writes.labels("held").inc()

    def conflict(self, conflict: ConflictReport) -> None:
        self.metrics.writes.labels("conflict").inc()

    def cycle_finished(self, report: CycleReport) -> None:
        if not report.dry_run:
            self.metrics.writes.labels("noop").inc(max(0, self.compared - len(report.writes)))
