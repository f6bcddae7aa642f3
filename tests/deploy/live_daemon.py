"""One ``okrsync daemon`` on the demo sandbox and one real Prometheus scraping it every
second (with okrsync's alert rules loaded), shared by the monitoring tests of a session.

The sandbox's Jira answers the daemon's first request with a 429, so that the retry and
rate-limit families have series; the daemon runs a cycle every few seconds, so that the
rate() windows of the dashboard see counters move; one unsigned webhook delivery is sent,
so that the webhook family has a series too.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from okrsync.sandbox.server import start_sandbox
from tests.e2e.cli import write_config
from tests.service.daemon_process import DaemonProcess, free_port, wait_for
from tests.service.promtool import prometheus_binary

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "okrsync-rules.yaml"
FINISHED = r"\bcycle(?: over \d+ key result\(s\))? \w+ \("
#: Seconds between the daemon's cycles: short, so that counters move within a rate window.
SCHEDULE = "5s"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )")


def promtool_binary() -> str:
    """Debian's promtool (``make tools`` installs it)."""
    found = shutil.which("promtool") or shutil.which("promtool", path="/usr/bin:/usr/local/bin")
    assert found, "promtool is missing: `make test` installs Debian's prometheus package"
    return found


class LiveMonitoring:
    """The running daemon (``daemon``) and Prometheus (``prometheus``, its base URL)."""

    def __init__(self, daemon: DaemonProcess, prometheus: str) -> None:
        self.daemon = daemon
        self.prometheus = prometheus

    def exposition(self) -> str:
        """The daemon's ``/metrics`` now."""
        answer = self.daemon.get("/metrics")
        assert answer.status_code == 200, answer.text
        return answer.text

    def sample_names(self) -> set[str]:
        """The name of every sample the daemon exports (``_bucket``, ``_total``... included)."""
        found = (_SAMPLE.match(line) for line in self.exposition().splitlines())
        return {match.group(1) for match in found if match}

    def api(self, path: str, **params: Any) -> Any:
        """``GET /api/v1/<path>`` of the Prometheus server; its ``data``."""
        answer = httpx.get(f"{self.prometheus}/api/v1/{path}", params=params, timeout=30)
        body = answer.json()
        assert body.get("status") == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as a one-element list) ``expr`` gives now."""
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def wait_for_data(self, expr: str, timeout: float = 120.0) -> list[dict[str, Any]]:
        """``expr``'s result once it has a number that is not NaN; bounded."""

        def answered() -> list[dict[str, Any]] | None:
            result = self.query(expr)
            numbers = [float(r["value"][1]) for r in result if "value" in r]
            return result if any(not math.isnan(n) for n in numbers) else None

        return wait_for(f"Prometheus to answer {expr!r}", answered, timeout)


@contextlib.contextmanager
def live_monitoring(tmp: Path) -> Iterator[LiveMonitoring]:
    """Start the sandbox, the daemon and Prometheus in ``tmp``; stop them afterwards."""
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(start_sandbox(seed="demo", jira=("cloud",), teambition=True))
        sandbox.jira["cloud"].faults.fail(status=429, count=1, retry_after=0)
        config = write_config(sandbox, tmp)
        daemon = DaemonProcess(config, tmp / "daemon.log", {"OKRSYNC_SCHEDULE": SCHEDULE})
        stack.callback(daemon.stop)
        daemon.wait_for_log(FINISHED)
        refused = httpx.post(daemon.url + "/webhooks/jira", content=b"{}", timeout=30)
        assert refused.status_code == 401, refused.text

        port = free_port()
        (tmp / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {RULES}\n"
            "scrape_configs:\n  - job_name: okrsync\n    static_configs:\n"
            f"      - targets: ['{daemon.url.removeprefix('http://')}']\n",
            encoding="utf-8",
        )
        with (tmp / "prometheus.log").open("wb") as log:
            server = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={tmp / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        stack.callback(_stop, server)
        live = LiveMonitoring(daemon, f"http://127.0.0.1:{port}")

        def scraped() -> bool:
            with contextlib.suppress(httpx.HTTPError, ValueError, AssertionError):
                return bool(live.query('up{job="okrsync"} == 1'))
            if server.poll() is not None:
                raise AssertionError((tmp / "prometheus.log").read_text(errors="replace"))
            return False

        wait_for("Prometheus to scrape the daemon", scraped, timeout=120)
        yield live


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


_shared: dict[str, Any] = {}


def shared_live(tmp_factory: Any) -> Iterator[LiveMonitoring]:
    """The session's one :class:`LiveMonitoring`, for a session-scoped fixture in each
    module that needs it; the last of those fixtures to end stops it."""
    if "live" not in _shared:
        stack = contextlib.ExitStack()
        _shared["live"] = stack.enter_context(live_monitoring(tmp_factory.mktemp("monitoring")))
        _shared["stack"] = stack
        _shared["users"] = 0
    _shared["users"] += 1
    try:
        yield _shared["live"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared.pop("live")
            _shared.pop("stack").close()


# ---------------------------------------------------------------------- PromQL names

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "atan2",
    "inf",
    "nan",
}
_SELECTOR = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (in matchers or by/on/... lists) or parts of numbers/durations."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for found in _IDENTIFIER.finditer(text):
        name, call = found.groups()
        if not call and name.lower() not in _KEYWORDS:
            names.add(name)
    return names


def selectors(expr: str) -> list[str]:
    """Each ``name{matchers}`` of a PromQL expression, as written."""
    return [found.group(1) + found.group(2) for found in _SELECTOR.finditer(expr)]
