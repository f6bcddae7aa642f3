"""The ``okrsync`` command line: wiring only; each command lives in ``okrsync.commands``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from connectors.base import ConnectorError
from mappings.loader import MappingError
from okrsync.commands.check import check_command
from okrsync.commands.common import AppContext
from okrsync.commands.config import config_group, schema_command
from okrsync.commands.fields import fields_group
from okrsync.commands.sandbox import sandbox_command
from okrsync.commands.sync import SYNC_COMMANDS
from okrsync.errors import UserError
from okrsync.settings import SettingsError

log = logging.getLogger("okrsync")


class OkrsyncGroup(click.Group):
    """The one error handler at the edge: each known error becomes a message, not a trace."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MappingError as exc:
            _fail("the mappings have problems:", [str(p) for p in exc.problems], 2)
        except SettingsError as exc:
            _fail("the settings have problems:", exc.problems, 2)
        except UserError as exc:
            _fail(exc.message, exc.problems, exc.exit_code)
        except ConnectorError as exc:
            _fail(exc.message, [], 1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.verbose:
                raise
            log.debug("unexpected error", exc_info=True)
            _fail(f"unexpected error: {type(exc).__name__}: {exc}", ["rerun with --verbose"], 1)


def _fail(message: str, problems: list[str], code: int) -> None:
    click.echo(f"error: {message}", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
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
main.add_command(sandbox_command)
for _command in SYNC_COMMANDS:
    main.add_command(_command)
