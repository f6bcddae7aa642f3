"""``okrsync daemon``: the long-running service (see ``okrsync.service.daemon``)."""

from __future__ import annotations

import logging
import os
import signal
import socket
from pathlib import Path
from types import FrameType

import click

from mappings.loader import load_mappings
from okrsync.commands.common import AppContext, mappings_option, pass_app
from okrsync.commands.sync import close_all, open_store
from okrsync.errors import UserError
from okrsync.service.daemon import Daemon
from okrsync.service.http import HttpServer, make_app
from okrsync.service.lock import writer_lock
from okrsync.service.metrics import Metrics, hosts_of
from okrsync.service.reload import MappingsWatch
from okrsync.service.webhooks import WebhookReceiver
from okrsync.sync.connections import build_connectors

log = logging.getLogger("okrsync.daemon")


@click.command("daemon")
@mappings_option
@pass_app
def daemon_command(app: AppContext, mappings_path: Path | None) -> None:
    """Run cycles on the 'schedule' setting and serve /metrics, /healthz, /readyz and the
    webhooks on 'listen', until SIGTERM or SIGINT.

    Only one okrsync writes to a state database at a time: replicas sharing a PostgreSQL
    state elect a leader, and a daemon waits while another okrsync holds the lock.
    Changed mapping files are loaded while it runs (SIGHUP: at once); a broken edit is
    reported and the last good mappings keep running. Exits 0 once stopped.
    """
    settings = app.settings()
    path = mappings_path or settings.mappings
    connections = settings.connection_names()
    watch = MappingsWatch(path, connections, load_mappings(path, connections=connections))
    with open_store(settings.state_url) as store:
        lock = writer_lock(settings.state_url, identity=f"daemon on {socket.gethostname()}")
        metrics = Metrics(store=store, tree=lambda: watch.tree, hosts=hosts_of(settings))
        connectors = build_connectors(
            settings, on_retry=metrics.on_retry, on_request=metrics.on_request
        )
        daemon = Daemon(settings, store, connectors, lock, metrics, watch)
        receiver = WebhookReceiver(settings.webhooks, tree=lambda: watch.tree, store=store)
        try:
            server = HttpServer(
                make_app(daemon, receiver),
                settings.listen,
                max_body=settings.webhooks.max_body_bytes,
            )
        except OSError as exc:
            close_all(connectors)
            lock.close()
            raise UserError(
                f"cannot listen on {settings.listen}: {exc.strerror or exc}",
                ["change the 'listen' setting (OKRSYNC_LISTEN), e.g. 0.0.0.0:9464"],
                exit_code=1,
            ) from None
        _on_signals(daemon)
        server.start()
        log.info(
            "serving the status page, /metrics, /healthz, /readyz and webhooks on http://%s",
            server.address,
        )
        try:
            clean = daemon.run()
        finally:
            server.close()
        if not clean:
            # The abandoned cycle's thread may still be inside a request: leave without
            # waiting for it (every landed write is in the ledger already).
            logging.shutdown()
            os._exit(0)
        close_all(connectors)
        lock.close()


def _on_signals(daemon: Daemon) -> None:
    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        daemon.stop()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        daemon.reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
