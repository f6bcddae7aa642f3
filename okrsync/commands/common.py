"""What every command shares: the application context and settings loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from okrsync.logs import setup_logging
from okrsync.settings import SECRET_KEYS, Settings, load_settings


@dataclass
class AppContext:
    """Options of the ``okrsync`` group, and the settings loaded from them on first use."""

    config: Path | None = None
    verbose: bool = False
    log_level: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Load (once) and return the effective settings; sets up logging with them."""
        if self._settings is None:
            self._settings = load_settings(self.config)
            level = "debug" if self.verbose else (self.log_level or self._settings.log_level)
            setup_logging(level, self._settings.log_format, secret_values(self._settings))
        return self._settings


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, for masking in log output."""
    values: list[str] = []
    for connections in (settings.jira, settings.teambition):
        for conn in connections.values():
            for key in SECRET_KEYS:
                secret = getattr(conn, key, None)
                if secret is not None:
                    values.append(secret.get_secret_value())
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
