"""``okrsync report``: the last recorded results, in the shape of ``sync --output json``,
or as a document: ``--format html`` (the status page as one self-contained file) or
``--format markdown``; ``--out FILE`` writes it to a file instead of standard output."""

from __future__ import annotations

import io
from pathlib import Path

import click
from rich.console import Console

from mappings.loader import load_mappings
from mappings.problems import MappingError
from mappings.tree import OkrTree
from okrsync.commands.common import AppContext, echo_json, output_option, pass_app
from okrsync.commands.sync import open_store
from okrsync.config.settings import Settings
from okrsync.errors import UserError
from okrsync.sync.report import versioned
from okrsync.views import text as render
from okrsync.views.html import render_report
from okrsync.views.links import ItemLinks
from okrsync.views.markdown import render_markdown
from okrsync.views.status_data import kr_detail, overview, report_data

__all__ = ["report_command", "report_data"]


def _tree(settings: Settings) -> OkrTree | None:
    """The mappings, to find each key result's write targets; None when they do not load
    (the report then finds targets by the ``okrsync`` property alone)."""
    try:
        return load_mappings(settings.mappings, connections=settings.connection_names())
    except (MappingError, OSError):
        return None


def _document(settings: Settings, fmt: str) -> str:
    with open_store(settings.state_url, read_only=True) as store:
        view = overview(store)
        if not view.key_results and not view.report["objectives"]:
            raise UserError("no results recorded yet", ["run 'okrsync sync' first"])
        if fmt == "markdown":
            return render_markdown(view)
        tree = _tree(settings)
        details = [
            found
            for kr_id in view.key_results
            if (found := kr_detail(store, kr_id, tree, view.now, view.report)) is not None
        ]
        return render_report(view, details, ItemLinks.from_settings(settings))


def _write(out: Path, text: str) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}", exit_code=1) from None


@click.command("report")
@output_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "markdown"]),
    default=None,
    help="A document instead: html (the status page as one self-contained file, for "
    "e-mail and CI artifacts) or markdown (for chat and wikis). Not with --output.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output (any --output or --format).",
)
@pass_app
def report_command(app: AppContext, output: str, fmt: str | None, out: Path | None) -> None:
    """Show the last recorded results without contacting any tracker."""
    if fmt is not None and output != "text":
        raise click.UsageError("give --output (text, json, jsonl) or --format, not both")
    settings = app.settings()
    if fmt is not None:
        document = _document(settings, fmt)
        if out is None:
            click.echo(document, nl=False)
        else:
            _write(out, document)
        return
    with open_store(settings.state_url, read_only=True) as store:
        data = report_data(store)
    if not data["key_results"] and not data["objectives"]:
        raise UserError("no results recorded yet", ["run 'okrsync sync' first"])
    if out is not None:
        if output != "text":
            _write(out, render.dumps(versioned(data), compact=output == "jsonl") + "\n")
            return
        buffer = io.StringIO()
        render.print_report(Console(file=buffer, highlight=False, width=100), data)
        _write(out, buffer.getvalue())
        return
    if output != "text":
        echo_json(data, output)
    else:
        render.print_report(render.make_console(), data)
