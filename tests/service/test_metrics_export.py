"""Metrics of a run from cron or CI: a textfile for node_exporter, replaced atomically, and
a push to a Pushgateway (a small HTTP server here that records what reaches it)."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from okrsync.errors import UserError
from okrsync.sandbox.server import start_sandbox
from okrsync.service.export import export_metrics, metrics_export_options
from tests.e2e.cli import invoke, write_config
from tests.service.promtool import promtool_check_metrics as promtool_check
from tests.service.test_metrics import Scrape, World


class Pushgateway:
    """An HTTP server that records each request and answers ``status``."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                gateway.received.append((self.command, self.path, dict(self.headers), body))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = do_DELETE = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The demo sandbox after one watched cycle."""
    built = World(tmp_path)
    try:
        built.run()
        yield built
    finally:
        built.close()


@pytest.fixture
def gateway() -> Iterator[Pushgateway]:
    server = Pushgateway()
    try:
        yield server
    finally:
        server.close()


def test_the_textfile_is_replaced_whole(world: World, tmp_path: Path) -> None:
    out = tmp_path / "textfile"
    out.mkdir()
    path = out / "okrsync.prom"
    path.write_text("# the previous run's metrics\n", encoding="utf-8")
    # A second name for the old file: an in-place rewrite would change what it holds,
    # a new file renamed over the old name leaves it as it was.
    os.link(path, out / "previous")
    export_metrics(world.metrics, textfile=path, pushgateway=None)
    assert (out / "previous").read_text(encoding="utf-8") == "# the previous run's metrics\n"
    assert path.stat().st_ino != (out / "previous").stat().st_ino
    assert sorted(p.name for p in out.iterdir()) == ["okrsync.prom", "previous"]
    written = path.read_text(encoding="utf-8")
    promtool_check(written)
    scrape = Scrape(written)
    assert scrape.value("okrsync_source_up", source="jira:cloud") == 1
    assert scrape.value("okrsync_cycles_total", outcome="partial") == 1
    assert scrape.series("okrsync_key_result_progress_ratio", id="pay-checkout-v2")


def test_a_textfile_that_cannot_be_written_is_a_clear_error(world: World, tmp_path: Path) -> None:
    path = tmp_path / "no-such-directory" / "okrsync.prom"
    with pytest.raises(UserError) as raised:
        export_metrics(world.metrics, textfile=path, pushgateway=None)
    assert str(path) in raised.value.message
    assert "directory" in raised.value.message


def test_a_push_reaches_the_pushgateway(world: World, gateway: Pushgateway) -> None:
    export_metrics(world.metrics, textfile=None, pushgateway=gateway.url)
    assert len(gateway.received) == 1
    method, path, headers, body = gateway.received[0]
    assert (method, path) == ("PUT", "/metrics/job/okrsync")
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "Authorization" not in headers
    pushed = body.decode("utf-8")
    promtool_check(pushed)
    scrape = Scrape(pushed)
    assert scrape.value("okrsync_source_up", source="teambition:main") == 1
    assert scrape.total("okrsync_requests_total", source="jira:cloud") == world.sent(
        "jira", "cloud"
    )


def test_a_push_with_credentials_authenticates(world: World, gateway: Pushgateway) -> None:
    address = gateway.url.replace("http://", "http://pusher:s3cr%40t@")
    export_metrics(world.metrics, textfile=None, pushgateway=address)
    method, path, headers, _ = gateway.received[-1]
    assert (method, path) == ("PUT", "/metrics/job/okrsync")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"pusher:s3cr@t").decode()


def test_a_failed_push_names_the_pushgateway_without_its_password(world: World) -> None:
    failing = Pushgateway(status=500)
    try:
        address = failing.url.replace("http://", "http://pusher:s3cret@")
        with pytest.raises(UserError) as raised:
            export_metrics(world.metrics, textfile=None, pushgateway=address)
    finally:
        failing.close()
    message = raised.value.message
    assert message.startswith(f"cannot push metrics to the Pushgateway at {failing.url}")
    assert "500" in message
    assert "s3cret" not in message and "pusher" not in message


def test_an_unreachable_pushgateway_is_a_clear_error(world: World) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError) as raised:
        export_metrics(
            world.metrics, textfile=None, pushgateway=f"http://ops:hunter2@127.0.0.1:{port}"
        )
    message = raised.value.message
    assert f"Pushgateway at http://127.0.0.1:{port}" in message
    assert "hunter2" not in message and "ops:" not in message


def test_the_export_options(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    @click.command()
    @metrics_export_options
    def run(metrics_textfile: Path | None, pushgateway: str | None) -> None:
        seen.update(textfile=metrics_textfile, pushgateway=pushgateway)

    runner = CliRunner()
    shown = runner.invoke(run, ["--help"])
    assert shown.exit_code == 0
    assert "--metrics-textfile PATH" in shown.output and "--pushgateway URL" in shown.output
    assert "node_exporter" in shown.output and "Pushgateway" in shown.output
    target = tmp_path / "okrsync.prom"
    given = ["--metrics-textfile", str(target), "--pushgateway", "http://pg:9091"]
    assert runner.invoke(run, given).exit_code == 0
    assert seen == {"textfile": target, "pushgateway": "http://pg:9091"}
    assert runner.invoke(run, []).exit_code == 0
    assert seen == {"textfile": None, "pushgateway": None}


def test_okrsync_sync_writes_its_metrics_for_the_textfile_collector(tmp_path: Path) -> None:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        config = write_config(sandbox, tmp_path)
        path = tmp_path / "okrsync.prom"
        result = invoke(config, "sync", "--output", "json", "--metrics-textfile", str(path))
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    written = path.read_text(encoding="utf-8")
    promtool_check(written)
    scrape = Scrape(written)
    assert scrape.value("okrsync_cycles_total", outcome=report["run"]["outcome"]) == 1
    assert scrape.total("okrsync_requests_total", source="jira:cloud") > 0
    assert scrape.total("okrsync_writes_total", result="applied") == len(
        [w for w in report["writes"] if w.get("applied")]
    )
    for kr in report["key_results"]:
        if kr["progress"] is not None:
            shown = scrape.value("okrsync_key_result_progress_ratio", id=kr["id"])
            assert shown == pytest.approx(min(1.0, max(0.0, kr["progress"]))), kr["id"]


def test_a_failed_export_after_a_good_cycle_still_prints_the_results_and_exits_1(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-folder" / "okrsync.prom"
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        config = write_config(sandbox, tmp_path)
        result = invoke(config, "sync", "--output", "json", "--metrics-textfile", str(missing))
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["run"]["outcome"] == "ok"
    assert str(missing) in result.stderr
