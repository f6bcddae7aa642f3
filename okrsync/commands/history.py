"""``okrsync history``: a key result's progress over time, from the state store; with
``--chart``, drawn in the terminal with the expected pace."""

from __future__ import annotations

import click

from mappings.serial import as_dict
from okrsync.commands.common import AppContext, echo_json, output_option, pass_app
from okrsync.commands.sync import open_store
from okrsync.errors import UserError
from okrsync.views import text as render
from okrsync.views.status_data import period_of
from okrsync.views.term_chart import chart_text

__all__ = ["history_command"]


@click.command("history")
@click.argument("kr_id")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--chart",
    is_flag=True,
    help="Draw progress over the key result's period, with the expected pace, instead of "
    "the table (text output only).",
)
@output_option
@pass_app
def history_command(app: AppContext, kr_id: str, limit: int, chart: bool, output: str) -> None:
    """Show a key result's progress over time (its latest snapshots, oldest first)."""
    if chart and output != "text":
        raise click.UsageError("--chart draws text; it does not combine with --output json")
    with open_store(app.settings().state_url, read_only=True) as store:
        snapshots = store.kr_history(kr_id)
        latest = store.latest_kr_result(kr_id) if chart else None
    if not snapshots:
        raise UserError(
            f"no history for key result '{kr_id}'", ["run 'okrsync sync' first (or check the id)"]
        )
    # A snapshot's fields are the row's keys: one serialisation for store and output.
    rows = [as_dict(snapshot) for snapshot in snapshots[-limit:]]
    if chart:
        console = render.make_console()
        title = (latest or {}).get("title") or kr_id
        period = period_of(latest or {})
        console.print(f"{title} [{kr_id}]", markup=False, highlight=False)
        width = max(20, min(72, console.width - 8))
        console.print(chart_text(rows, period, width=width))
        return
    if output != "text":
        echo_json({"kr": kr_id, "snapshots": rows}, output)
    else:
        render.print_history(render.make_console(), kr_id, rows)
