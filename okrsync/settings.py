"""okrsync's settings: environment (``OKRSYNC_*``, nested with ``__``), ``.env``, an optional
TOML file, and secret files (Docker/Kubernetes secrets).

Precedence, highest first: environment, ``.env``, secret files, the TOML config file,
defaults. Example environment::

    OKRSYNC_JIRA__CLOUD__URL=https://acme.atlassian.net
    OKRSYNC_JIRA__CLOUD__EMAIL=okrsync@acme.com
    OKRSYNC_JIRA__CLOUD__API_TOKEN_FILE=/run/secrets/jira_token
    OKRSYNC_STATE_URL=postgresql+psycopg://okrsync@db/okrsync

Any secret (``api_token``, ``pat``, ``app_secret``) may instead be given as
``<name>_file``: the path of a file holding it. Files in the secrets directory
(``OKRSYNC_SECRETS_DIR``, default ``/run/secrets`` when present) named like the variable,
e.g. ``okrsync_jira__cloud__api_token``, are read too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connectors.jira import JiraConnection
from connectors.retry import RetrySettings
from connectors.teambition import TeambitionConnection

SECRET_KEYS = ("api_token", "pat", "app_secret")
_config_file: ContextVar[Path | None] = ContextVar("okrsync_config_file", default=None)


class SettingsError(Exception):
    """Settings could not be loaded; ``problems`` lists every one, located."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class SyncSettings(BaseModel):
    """How a sync cycle reads and guards its writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    full_reconcile_hours: float = Field(
        24.0, gt=0, description="read every scope in full at least this often"
    )
    clock_skew_seconds: float = Field(
        300.0, ge=0, description="margin subtracted from the last read time in incremental reads"
    )
    drop_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="hold a KR whose scope loses more than this share of its items at once",
    )
    checkins: bool = Field(False, description="default for KRs and files that do not say")


def _resolve_secret_files(connections: Any) -> Any:
    """Replace ``<secret>_file`` keys by the content of the file they name."""
    if not isinstance(connections, dict):
        return connections
    resolved: dict[str, Any] = {}
    for name, conn in connections.items():
        if isinstance(conn, dict):
            conn = dict(conn)
            for key in SECRET_KEYS:
                path = conn.pop(f"{key}_file", None)
                if path is not None:
                    try:
                        conn[key] = Path(path).read_text(encoding="utf-8").strip()
                    except OSError as exc:
                        raise ValueError(
                            f"{name}.{key}_file: cannot read {path}: {exc.strerror}"
                        ) from None
        resolved[name] = conn
    return resolved


class Settings(BaseSettings):
    """Everything okrsync can be told; see the module docstring for the sources."""

    model_config = SettingsConfigDict(
        env_prefix="OKRSYNC_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    jira: dict[str, JiraConnection] = Field(default_factory=dict)
    teambition: dict[str, TeambitionConnection] = Field(default_factory=dict)
    mappings: Path = Path("mappings")
    state_url: str = "sqlite:///okrsync.db"
    schedule: str = Field("*/15 * * * *", description="cron expression or an interval like 15m")
    listen: str = "127.0.0.1:9464"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    retry: RetrySettings = RetrySettings()
    sync: SyncSettings = SyncSettings()

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for tracker in ("jira", "teambition"):
                if tracker in data:
                    data[tracker] = _resolve_secret_files(data[tracker])
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("listen must be HOST:PORT, e.g. 0.0.0.0:9464")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets = NestedSecretsSettingsSource(file_secret_settings, secrets_dir_missing="ok")
        sources = [init_settings, env_settings, dotenv_settings, secrets]
        config = _config_file.get()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    def connection_names(self) -> dict[str, set[str]]:
        """Configured connection names per tracker, for validating mapping references."""
        return {"jira": set(self.jira), "teambition": set(self.teambition)}


@contextmanager
def _using_config(path: Path | None) -> Iterator[None]:
    token = _config_file.set(path)
    try:
        yield
    finally:
        _config_file.reset(token)


def _secrets_dir() -> Path | None:
    given = os.environ.get("OKRSYNC_SECRETS_DIR")
    if given:
        return Path(given)
    default = Path("/run/secrets")
    return default if default.is_dir() else None


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Load the effective settings, or raise ``SettingsError`` listing every problem.

    ``config_file`` (else ``OKRSYNC_CONFIG``) names an optional TOML file.
    """
    path = config_file or os.environ.get("OKRSYNC_CONFIG")
    config = Path(path) if path else None
    if config is not None and not config.is_file():
        raise SettingsError([f"{config}: config file not found"])
    where = f"{config}" if config else "settings"
    try:
        with _using_config(config):
            return Settings(_secrets_dir=_secrets_dir(), **overrides)
    except ValidationError as exc:
        raise SettingsError(
            [
                f"{where}: {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                for err in exc.errors()
            ]
        ) from None
    except (ValueError, OSError) as exc:
        raise SettingsError([f"{where}: {exc}"]) from None


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret shown as ``**********``."""
    return settings.model_dump(mode="json")
