"""The ``okrsync`` command line: wiring only; each command lives in ``okrsync.commands``."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from connectors.base import ConnectorError
from mappings.loader import MappingError
from okrsync.commands.check import check_command
from okrsync.commands.common import AppContext
from okrsync.commands.config import config_group, schema_command
from okrsync.commands.daemon import daemon_command
from okrsync.commands.dashboards import dashboards_group
from okrsync.commands.demo import demo_command
from okrsync.commands.explain import explain_command
from okrsync.commands.fields import fields_group
from okrsync.commands.history import history_command
from okrsync.commands.report import report_command
from okrsync.commands.sandbox import sandbox_command
from okrsync.commands.sync import sync_command
from okrsync.config.settings import SettingsError, unknown_environment
from okrsync.errors import UserError
from okrsync.state.errors import StateError

log = logging.getLogger("okrsync")


class OkrsyncGroup(click.Group):
    """The one error handler at the edge: each known error becomes a message, not a trace.

    Exit codes: 2 for what the user must fix in the mappings, settings or command line;
    1 for a failure while running (a tracker, the state database, anything unexpected).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MappingError as exc:
            problems = [str(p) for p in exc.problems]
            if any(p.message == "no such file or directory" for p in exc.problems):
                problems.append("hint: point --mappings or the 'mappings' setting at them")
            _fail(ctx, "the mappings have problems:", problems, 2)
        except SettingsError as exc:
            notes = [f"note: {warning}" for warning in unknown_environment()]
            _fail(ctx, "the settings have problems:", [*exc.problems, *notes], 2)
        except UserError as exc:
            _fail(ctx, exc.message, exc.problems, exc.exit_code)
        except ConnectorError as exc:
            _fail(ctx, exc.message, [], 1)
        except StateError as exc:
            _fail(ctx, str(exc), [], 1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            message = f"unexpected error: {type(exc).__name__}: {exc}"
            app = ctx.find_object(AppContext)
            if app is not None and app.verbose:
                # The traceback is what --verbose promises, on stderr like every error.
                click.echo(app.redact(traceback.format_exc().rstrip()), err=True)
                _fail(ctx, message, [], 1)
            log.debug("unexpected error", exc_info=True)
            _fail(ctx, message, ["rerun with --verbose for the traceback"], 1)


def _fail(ctx: click.Context, message: str, problems: list[str], code: int) -> None:
    # The group's callback creates the application context inside ``invoke``: look it up
    # only once an error is being reported, or --verbose and the secrets are not known.
    app = ctx.find_object(AppContext)
    # Messages may quote a library's or a server's text: mask secrets there too.
    redact = app.redact if app is not None else str
    click.echo(redact(f"error: {message}"), err=True)
    for problem in problems:
        click.echo(redact(f"  {problem}"), err=True)
    sys.exit(code)


@click.group(cls=OkrsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    envvar="OKRSYNC_CONFIG",
    help="TOML settings file (also OKRSYNC_CONFIG).",
)
@click.option("--verbose", "-v", is_flag=True, help="Debug logging; tracebacks on errors.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Overrides the log_level setting.",
)
@click.version_option(package_name="okrsync")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: bool, log_level: str | None) -> None:
    """okrsync keeps OKR key-result progress true to the work in Jira and Teambition."""
    ctx.obj = AppContext(config=config, verbose=verbose, log_level=log_level)


main.add_command(config_group)
main.add_command(schema_command)
main.add_command(check_command)
main.add_command(fields_group)
main.add_command(dashboards_group)
main.add_command(sandbox_command)
main.add_command(sync_command)
main.add_command(daemon_command)
main.add_command(explain_command)
main.add_command(history_command)
main.add_command(report_command)
main.add_command(demo_command)
