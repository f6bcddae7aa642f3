"""``okrsync sandbox``: serve a local Jira (Cloud and/or Data Center) and Teambition."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType
from typing import Any

import click


class BadSeed(click.ClickException):
    """A seed file with problems: each is printed with its path; exit code 2."""

    exit_code = 2


FLAVOURS = {"cloud": ("cloud",), "datacenter": ("datacenter",), "both": ("cloud", "datacenter")}


@click.command("sandbox")
@click.option(
    "--seed",
    default="demo",
    show_default=True,
    help="'demo', 'generated:N' (N generated issues), or a JSON/YAML seed file.",
)
@click.option(
    "--flavour",
    type=click.Choice(sorted(FLAVOURS)),
    default="both",
    show_default=True,
    help="Which Jira flavour(s) to serve.",
)
@click.option(
    "--teambition/--no-teambition",
    default=True,
    show_default=True,
    help="Also serve the Teambition sandbox.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65533),
    default=8080,
    show_default=True,
    help="Jira Cloud port; Data Center listens on PORT+1, Teambition on PORT+2 "
    "(0: pick free ports).",
)
@click.option("--access-log", is_flag=True, help="Print every request as it is served.")
@click.option(
    "--faults",
    "faults_json",
    metavar="JSON",
    help="Faults for every server from the start, as for POST /_sandbox/faults, e.g. "
    '\'{"latency": [0, 0.3], "rate_limit": 5, "retry_after": 2}\'.',
)
def sandbox_command(
    seed: str,
    flavour: str,
    teambition: bool,
    host: str,
    port: int,
    access_log: bool,
    faults_json: str | None,
) -> None:
    """Serve local tracker sandboxes until Ctrl-C.

    Faults can also be injected at runtime over HTTP on every server, e.g.
    curl -X POST URL/_sandbox/faults -d '{"rate_limit": 5, "retry_after": 2}'.
    """
    from okrsync.sandbox.server import SandboxError, SeedError, start_sandbox

    faults = _parse_faults(faults_json)
    try:
        sandbox = start_sandbox(
            seed,
            jira=FLAVOURS[flavour],
            teambition=teambition,
            host=host,
            port=port,
            quiet=not access_log,
        )
    except SeedError as exc:
        raise BadSeed(str(exc)) from None
    except (SandboxError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    with sandbox:
        if faults is not None:
            try:
                for server in sandbox.servers:
                    server.faults.apply_admin(faults)
            except (TypeError, ValueError) as exc:
                raise click.BadParameter(str(exc), param_hint="--faults") from exc
        for name, server in sandbox.jira.items():
            click.echo(f"Jira {name:<10} {server.url}")
            for user in server.data.users:
                access = "read-only" if user.read_only else "read-write"
                if name == "cloud" and user.token:
                    click.echo(f"  basic auth {user.email} / API token {user.token} ({access})")
                if name == "datacenter" and user.pat:
                    click.echo(f"  bearer token {user.pat} (user {user.name}, {access})")
        if sandbox.teambition is not None:
            click.echo(f"Teambition      {sandbox.teambition.url}")
            store = sandbox.teambition.data
            tenants = ", ".join(store.organizations) or "none declared"
            operators = ", ".join(list(store.members)[:3]) or "any user"
            for app_id, secret in store.apps.items():
                click.echo(f"  app id {app_id} / secret {secret}, tenant {tenants}")
            click.echo(f"  operator {operators}")
        click.echo(
            "Admin: POST <url>/_sandbox/faults | POST /_sandbox/reset | "
            "GET or DELETE /_sandbox/log (on the server root)"
        )
        if faults is not None:
            click.echo(f"Faults: {json.dumps(faults)}")
        click.echo("Press Ctrl-C to stop.")
        _wait_for_stop()


def _parse_faults(text: str | None) -> dict[str, Any] | None:
    """The ``--faults`` JSON object, or None when not given."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--faults") from exc
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object", param_hint="--faults")
    return value


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
