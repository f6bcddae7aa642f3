"""``okrsync demo``: the whole cycle against a local sandbox, with nothing to configure."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.text import Text

import mappings
from mappings.loader import load_mappings
from okrsync.commands.common import AppContext, pass_app
from okrsync.config.logs import setup_logging
from okrsync.config.settings import Settings
from okrsync.state import StateStore
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.views import text as render
from okrsync.views.progress import cycle_progress

__all__ = ["EXAMPLES", "demo_command", "demo_settings"]

#: The example mappings shipped with okrsync; they measure the sandbox's demo data.
EXAMPLES = Path(mappings.__file__).parent / "examples"


def demo_settings(jira_url: str, teambition_url: str, state_url: str) -> Settings:
    """Settings for the sandbox's demo data and credentials.

    Validated from values only: no environment variable, ``.env`` or config file of the
    user's can point the demo anywhere else.
    """
    data: dict[str, Any] = {
        "jira": {
            "cloud": {
                "url": jira_url,
                "flavour": "cloud",
                "email": "demo@okrsync.example",
                "api_token": "demo-token",
            }
        },
        "teambition": {
            "main": {
                "base_url": teambition_url,
                "app_id": "okrsync-demo",
                "app_secret": "demo-secret",
                "tenant_id": "tb-org-demo",
                "operator_id": "tb-user-ana",
            }
        },
        "state_url": state_url,
        "mappings": str(EXAMPLES),
        "retry": {"max_attempts": 2, "initial_wait": 0.1, "max_total_wait": 2.0},
    }
    return Settings.model_validate(data)


@click.command("demo")
@pass_app
def demo_command(app: AppContext) -> None:
    """Run two sync cycles against a local sandbox Jira Cloud and Teambition.

    Starts the sandbox on 127.0.0.1 with the demo data, loads the example mappings, runs a
    cycle (which writes every KR's fields) and a second one (which writes nothing, since
    nothing changed). State lives in a temporary SQLite file, removed afterwards.
    """
    from okrsync.sandbox.server import start_sandbox

    # The demo reads no settings, so nothing else sets up logging: progress lines (when
    # stderr is not a terminal) and warnings need it.
    setup_logging("debug" if app.verbose else (app.log_level or "info"), "text")

    out = render.make_console()
    with (
        start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox,
        tempfile.TemporaryDirectory(prefix="okrsync-demo-") as tmp,
    ):
        assert sandbox.teambition is not None
        settings = demo_settings(
            sandbox.jira["cloud"].url,
            sandbox.teambition.url,
            f"sqlite:///{Path(tmp) / 'state.db'}",
        )
        tree = load_mappings(EXAMPLES, connections=settings.connection_names())
        out.print(
            Text(
                f"okrsync demo: Jira Cloud sandbox at {sandbox.jira['cloud'].url}, Teambition "
                f"sandbox at {sandbox.teambition.url}, mappings from {EXAMPLES}",
                style="bold",
            )
        )
        connectors = build_connectors(settings)
        store = StateStore.open(settings.state_url)
        # One clock reading for both cycles: the expected pace must not tick between them,
        # or the second cycle would (rightly) rewrite it.
        now = datetime.now(UTC)
        try:
            out.print(Text("\nFirst cycle", style="bold underline"))
            with cycle_progress(connectors) as progress:
                first = run_cycle(
                    tree, connectors, store, now=now, settings=settings.sync, hooks=progress
                )
            render.print_cycle(out, first.to_dict(detail=True))
            out.print(
                Text("\nSecond cycle (nothing changed in the trackers)", style="bold underline")
            )
            with cycle_progress(connectors) as progress:
                second = run_cycle(
                    tree, connectors, store, now=now, settings=settings.sync, hooks=progress
                )
            render.print_changes(out, second.to_dict(detail=True))
        finally:
            for connector in connectors.values():
                connector.close()
            store.close()
    if first.partial or second.partial:
        raise SystemExit(1)
