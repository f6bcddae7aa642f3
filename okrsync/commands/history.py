"""``okrsync history``: a key result's progress over time, from the state store."""

from __future__ import annotations

import click

from mappings.serial import as_dict
from okrsync.commands.common import AppContext, echo_json, output_option, pass_app
from okrsync.commands.sync import open_store
from okrsync.errors import UserError
from okrsync.views import text as render

__all__ = ["history_command"]


@click.command("history")
@click.argument("kr_id")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@output_option
@pass_app
def history_command(app: AppContext, kr_id: str, limit: int, output: str) -> None:
    """Show a key result's progress over time (its latest snapshots, oldest first)."""
    with open_store(app.settings().state_url, read_only=True) as store:
        snapshots = store.kr_history(kr_id)
    if not snapshots:
        raise UserError(
            f"no history for key result '{kr_id}'", ["run 'okrsync sync' first (or check the id)"]
        )
    # A snapshot's fields are the row's keys: one serialisation for store and output.
    rows = [as_dict(snapshot) for snapshot in snapshots[-limit:]]
    if output != "text":
        echo_json({"kr": kr_id, "snapshots": rows}, output)
    else:
        render.print_history(render.make_console(), kr_id, rows)
