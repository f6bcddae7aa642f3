"""Metrics of a one-off ``okrsync sync`` (cron, CI): no daemon serves them, so they are
written to a file for node_exporter's textfile collector, or pushed to a Pushgateway."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.error import HTTPError
from urllib.parse import unquote, urlsplit, urlunsplit

import click
from prometheus_client import push_to_gateway, write_to_textfile
from prometheus_client.exposition import basic_auth_handler, default_handler

from okrsync.errors import UserError
from okrsync.service.metrics import Metrics

__all__ = ["PUSH_JOB", "PUSH_TIMEOUT", "export_metrics", "metrics_export_options"]

#: The Pushgateway job okrsync pushes as: ``/metrics/job/okrsync``.
PUSH_JOB = "okrsync"
#: Seconds to wait for the Pushgateway before giving up.
PUSH_TIMEOUT = 30.0

F = TypeVar("F", bound=Callable[..., Any])


def export_metrics(metrics: Metrics, *, textfile: Path | None, pushgateway: str | None) -> None:
    """Write the metrics to ``textfile`` and/or push them to ``pushgateway``.

    The file is replaced atomically (written beside it, then renamed), so the collector
    never reads half of it. The push replaces every metric of job ``okrsync``. A failure
    of either is a :class:`UserError` naming where, without credentials.
    """
    if textfile is not None:
        _write(metrics, textfile)
    if pushgateway is not None:
        _push(metrics, pushgateway)


def _write(metrics: Metrics, path: Path) -> None:
    try:
        write_to_textfile(os.fspath(path), metrics.registry)
    except OSError as exc:
        raise UserError(
            f"cannot write the metrics file {path}: {exc.strerror or exc}; "
            "check that its directory exists and okrsync may write there"
        ) from None


def _push(metrics: Metrics, gateway: str) -> None:
    url, handler = _gateway(gateway)
    try:
        push_to_gateway(
            url, job=PUSH_JOB, registry=metrics.registry, timeout=PUSH_TIMEOUT, handler=handler
        )
    except (OSError, ValueError) as exc:
        if isinstance(exc, HTTPError):
            detail = f"it answered HTTP {exc.code} {exc.reason}"
        else:
            detail = str(getattr(exc, "reason", None) or exc)
        for secret in _credentials(gateway):
            detail = detail.replace(secret, "***")
        raise UserError(
            f"cannot push metrics to the Pushgateway at {url}: {detail}; "
            "check --pushgateway and that the Pushgateway is running"
        ) from None


def _credentials(gateway: str) -> list[str]:
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    return [s for s in (parts.password, parts.username) if s]


def _gateway(gateway: str) -> tuple[str, Callable[..., Callable[[], None]]]:
    """The URL to push to, without credentials (also for messages), and the handler that
    sends (with Basic authentication when the URL carries ``user:password@``)."""
    parts = urlsplit(gateway if "://" in gateway else f"http://{gateway}")
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"--pushgateway: {parts.hostname or ''} has no valid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("--pushgateway must be an http(s) URL such as http://pushgateway:9091")
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if parts.username is None:
        return url, default_handler
    auth = partial(
        basic_auth_handler,
        username=unquote(parts.username),
        password=unquote(parts.password or ""),
    )
    return url, auth


def metrics_export_options(command: F) -> F:
    """``--metrics-textfile PATH`` and ``--pushgateway URL`` for a command that exports
    its metrics once it is done (parameters ``metrics_textfile`` and ``pushgateway``)."""
    command = click.option(
        "--pushgateway",
        metavar="URL",
        default=None,
        help="Push the run's metrics to this Prometheus Pushgateway (job 'okrsync'), "
        "e.g. http://pushgateway:9091, for runs from cron or CI that no Prometheus scrapes.",
    )(command)
    command = click.option(
        "--metrics-textfile",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        metavar="PATH",
        help="Write the run's metrics to this file (replaced atomically) for "
        "node_exporter's textfile collector; name it *.prom in the collector's directory.",
    )(command)
    return command
