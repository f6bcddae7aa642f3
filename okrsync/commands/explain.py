"""``okrsync explain``: why a key result has its progress, from the state store."""

from __future__ import annotations

from typing import Any

import click

from okrsync.commands.common import AppContext, echo_json, output_option, pass_app
from okrsync.commands.sync import open_store
from okrsync.errors import UserError
from okrsync.state import StateStore
from okrsync.sync.report import jsonable
from okrsync.views import text as render

__all__ = ["explain_command"]


def _latest(store: StateStore, kr_id: str) -> dict[str, Any]:
    data = store.latest_kr_result(kr_id)
    if data is None:
        known = ", ".join(sorted(store.latest_kr_results())) or "none yet"
        raise UserError(
            f"no result recorded for key result '{kr_id}'",
            [f"recorded: {known}", "run 'okrsync sync' first (or check the id)"],
        )
    return data


@click.command("explain")
@click.argument("kr_id")
@output_option
@pass_app
def explain_command(app: AppContext, kr_id: str, output: str) -> None:
    """Show why a key result has its progress: each item, its contribution, what was left out.

    Reads the last recorded result; contacts no tracker.
    """
    with open_store(app.settings().state_url, read_only=True) as store:
        data = _latest(store, kr_id)
    if output != "text":
        echo_json(jsonable(data), output)
    else:
        render.print_explain(render.make_console(), data)
