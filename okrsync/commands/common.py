"""What every command shares: the application context and settings loading."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from okrsync.config.logs import RedactSecrets, setup_logging
from okrsync.config.settings import (
    SECRET_KEYS,
    Settings,
    load_settings,
    unknown_environment,
    url_passwords,
)
from okrsync.sync.report import versioned
from okrsync.views import text as render

log = logging.getLogger("okrsync")


@dataclass
class AppContext:
    """Options of the ``okrsync`` group, and the settings loaded from them on first use."""

    config: Path | None = None
    verbose: bool = False
    log_level: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _redactor: RedactSecrets | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Load (once) and return the effective settings; sets up logging with them."""
        if self._settings is None:
            settings = load_settings(self.config)
            secrets = secret_values(settings)
            level = "debug" if self.verbose else (self.log_level or settings.log_level)
            setup_logging(level, settings.log_format, secrets)
            self._settings, self._redactor = settings, RedactSecrets(secrets)
            for warning in unknown_environment():
                log.warning("%s", warning)
        return self._settings

    def redact(self, text: str) -> str:
        """``text`` with every configured secret masked (once settings are loaded)."""
        return text if self._redactor is None else self._redactor.redact(text)


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings (URL passwords too), for masking in log output."""
    values: list[str] = url_passwords(settings)
    for connections in (settings.jira, settings.teambition):
        for conn in connections.values():
            for key in SECRET_KEYS:
                secret = getattr(conn, key, None)
                if secret is not None:
                    values.append(secret.get_secret_value())
    page_password = settings.status_page.password
    for hook_secret in (
        settings.webhooks.jira_secret,
        settings.webhooks.teambition_secret,
        page_password,
    ):
        if hook_secret is not None:
            values.append(hook_secret.get_secret_value())
    return values


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def mappings_option(func: click.decorators.FC) -> click.decorators.FC:
    """``--mappings PATH``: overrides the ``mappings`` setting."""
    return click.option(
        "--mappings",
        "mappings_path",
        type=click.Path(exists=True, path_type=Path),
        help="Mapping file or directory (default: the 'mappings' setting).",
    )(func)


def output_option(func: click.decorators.FC) -> click.decorators.FC:
    """``--output text|json|jsonl``: for people, for scripts, or one line per run for logs."""
    return click.option(
        "--output",
        type=click.Choice(["text", "json", "jsonl"]),
        default="text",
        show_default=True,
        help="Text for people; JSON (stable keys, schema_version 1) for scripts; "
        "jsonl: the same JSON on one line, to append to a log.",
    )(func)


def echo_json(document: Mapping[str, Any], output: str) -> None:
    """Print a JSON output document: indented for ``json``, on one line for ``jsonl``.

    The document gets its ``schema_version`` here if it does not carry one yet, so that
    every command's JSON has it.
    """
    click.echo(render.dumps(versioned(document), compact=output == "jsonl"))
