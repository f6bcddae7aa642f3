"""okrsync's settings: environment (``OKRSYNC_*``, nested with ``__``), ``.env``, an optional
TOML file, and secret files (Docker/Kubernetes secrets).

Precedence, highest first: environment, ``.env``, secret files, the TOML config file,
defaults. Example environment::

    OKRSYNC_JIRA__CLOUD__URL=https://acme.atlassian.net
    OKRSYNC_JIRA__CLOUD__EMAIL=okrsync@acme.com
    OKRSYNC_JIRA__CLOUD__API_TOKEN_FILE=/run/secrets/jira_token
    OKRSYNC_STATE_URL=postgresql+psycopg://okrsync@db/okrsync

Any secret (``api_token``, ``pat``, ``app_secret``; the webhooks' ``jira_secret`` and
``teambition_secret``) may instead be given as
``<name>_file``: the path of a file holding it. Files in the secrets directory
(``OKRSYNC_SECRETS_DIR``, default ``/run/secrets`` when present) named like the variable,
e.g. ``okrsync_jira__cloud__api_token``, are read too. An empty secret is an error, and so
is a secret given both directly and as a file.

``schedule`` is a 5-field cron expression, a macro (``@hourly``, ``@daily``, ...) or an
interval (``15m``, ``1h30m``); see ``okrsync.config.schedule``. ``state_url`` must name SQLite or
PostgreSQL. Problems name where the bad value came from (``okrsync.config.problems``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.jira.settings import JiraConnection
from connectors.retry import RetrySettings
from connectors.teambition.settings import TeambitionConnection
from okrsync.config.logs import MASK
from okrsync.config.problems import SourceData, describe, unknown_variables
from okrsync.config.schedule import parse_schedule

SECRET_KEYS = ("api_token", "pat", "app_secret")
WEBHOOK_SECRET_KEYS = ("jira_secret", "teambition_secret")
_config_file: ContextVar[Path | None] = ContextVar("okrsync_config_file", default=None)
# Problems found while reading secret files, as (location, message); one list per load.
_file_problems: ContextVar[list[tuple[tuple[str, ...], str]]] = ContextVar("okrsync_file_problems")


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
    final_after_days: float = Field(
        14.0,
        ge=0,
        description=(
            "days after a period's end during which its KRs are still computed (late "
            "closes count); after them the results are final, their fields only repaired"
        ),
    )


class DaemonSettings(BaseModel):
    """How ``okrsync daemon`` schedules cycles, stops, and shares the writer role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jitter_seconds: float = Field(
        10.0,
        ge=0,
        description="each scheduled cycle starts up to this many seconds late, "
        "at random, so that replicas and neighbours do not hit the trackers at once",
    )
    grace_seconds: float = Field(
        20.0,
        gt=0,
        le=300,
        description="on SIGTERM/SIGINT, how long the write batch in flight may take before "
        "it is abandoned and the daemon exits (Kubernetes allows 30 s by default)",
    )
    lease_check_seconds: float = Field(
        5.0,
        gt=0,
        description="how often a replica checks (or tries to take) the writer lock; a "
        "replica takes over within twice this after the leader dies",
    )
    reload_check_seconds: float = Field(
        5.0, gt=0, description="how often the mapping files are checked for changes"
    )


class WebhookSettings(BaseModel):
    """What the daemon's webhook endpoints accept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jira_secret: SecretStr | None = Field(
        None,
        description="secret of the Jira webhook: deliveries must carry X-Hub-Signature "
        "(HMAC-SHA256 of the body); unset: /webhooks/jira refuses every delivery",
    )
    teambition_secret: SecretStr | None = Field(
        None,
        description="shared secret Teambition deliveries must carry; unset: "
        "/webhooks/teambition refuses every delivery",
    )
    debounce_seconds: float = Field(
        5.0, ge=0, description="deliveries arriving within this window trigger one cycle"
    )
    max_body_bytes: int = Field(
        1_000_000, gt=0, description="larger deliveries are refused with 413"
    )


class StatusPageSettings(BaseModel):
    """Who may read the daemon's status page (``/``, ``/objectives/...``,
    ``/key-results/...``). Unset: anyone who reaches ``listen`` may; ``/metrics``,
    ``/healthz`` and ``/readyz`` are never behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = Field(
        None, min_length=1, description="HTTP Basic user name asked for by the status page"
    )
    password: SecretStr | None = Field(None, description="its password; give both or neither")

    @model_validator(mode="after")
    def _both_or_neither(self) -> StatusPageSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        if self.password is not None and not self.password.get_secret_value():
            raise ValueError("password is empty")
        return self


class DashboardSettings(BaseModel):
    """What ``okrsync dashboards bootstrap`` creates in Jira and with whom it is shared.

    Neither ``share_group`` nor ``share_project``: the filters and the dashboard are
    private to the user okrsync signs in as. Never shared with the public.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    share_group: str | None = Field(
        None, min_length=1, description="Jira group whose members may see the filters and dashboard"
    )
    share_project: str | None = Field(
        None,
        min_length=1,
        description="Jira project (key or id) whose members may see the filters and dashboard",
    )
    name: str = Field(
        "OKRs", min_length=1, description="the dashboard's name, and the prefix of the filters'"
    )


def _resolve_secret_files(tracker: str, connections: Any) -> Any:
    """Replace ``<secret>_file`` keys by the content of the file they name; refuse empty
    secrets (an unset variable in a compose file often arrives as an empty one).

    A file that cannot be read, or is empty, is recorded in ``_file_problems`` (reported
    with every other problem) and left as an empty secret so that no second, misleading
    "credentials missing" problem follows.
    """
    if not isinstance(connections, dict):
        return connections
    collected = _file_problems.get(None)
    problems = [] if collected is None else collected
    resolved: dict[str, Any] = {}
    for name, conn in connections.items():
        if isinstance(conn, dict):
            conn = _read_secret_files(conn, SECRET_KEYS, (tracker, str(name)), problems)
        resolved[name] = conn
    if collected is None and problems:  # validated directly, not through load_settings
        raise ValueError("; ".join(f"{'.'.join(loc)}: {text}" for loc, text in problems))
    return resolved


def _read_secret_files(
    table: dict[str, Any],
    keys: tuple[str, ...],
    where: tuple[str, ...],
    problems: list[tuple[tuple[str, ...], str]],
) -> dict[str, Any]:
    """``table`` with each ``<key>_file`` replaced by ``<key>`` read from that file."""
    table = dict(table)
    for key in keys:
        given = table.get(key)
        if isinstance(given, str) and not given.strip():
            problems.append(((*where, key), "is empty"))
        path = table.pop(f"{key}_file", None)
        if path is None:
            continue
        loc = (*where, f"{key}_file")
        if key in table:
            problems.append((loc, f"give '{key}' or '{key}_file', not both"))
            continue
        table[key] = ""
        try:
            table[key] = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append((loc, f"cannot read {path}: {reason}"))
            continue
        if not table[key]:
            problems.append((loc, f"{path} is empty"))
    return table


def _resolve_webhook_secret_files(webhooks: Any) -> Any:
    """``jira_secret_file`` and ``teambition_secret_file`` of ``[webhooks]``, read."""
    if not isinstance(webhooks, dict):
        return webhooks
    collected = _file_problems.get(None)
    problems = [] if collected is None else collected
    resolved = _read_secret_files(webhooks, WEBHOOK_SECRET_KEYS, ("webhooks",), problems)
    if collected is None and problems:
        raise ValueError("; ".join(f"{'.'.join(loc)}: {text}" for loc, text in problems))
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
    schedule: str = Field(
        "*/15 * * * *",
        description="5-field cron expression (or @hourly, @daily) or an interval like 15m",
    )
    listen: str = "127.0.0.1:9464"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    retry: RetrySettings = RetrySettings()
    sync: SyncSettings = SyncSettings()
    daemon: DaemonSettings = DaemonSettings()
    webhooks: WebhookSettings = WebhookSettings()
    status_page: StatusPageSettings = StatusPageSettings()
    dashboards: DashboardSettings = DashboardSettings()

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for tracker in ("jira", "teambition"):
                if tracker in data:
                    data[tracker] = _resolve_secret_files(tracker, data[tracker])
            if "webhooks" in data:
                data["webhooks"] = _resolve_webhook_secret_files(data["webhooks"])
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        # Port 0 asks the system for a free port (tests, several instances on one host).
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 0.0.0.0:9464 (port 0: any free port)")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parsed = parse_schedule(value)
        return " ".join(value.split()) if isinstance(parsed, timedelta) else parsed

    @field_validator("state_url")
    @classmethod
    def _state_url(cls, value: str) -> str:
        # Only the scheme is checked here; the state store reports what it finds on opening.
        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError(
                "state_url is not a database URL; expected e.g. sqlite:///okrsync.db or "
                "postgresql+psycopg://user@host:5432/okrsync"
            ) from None
        if backend == "postgres":
            raise ValueError(
                "write postgresql://... (or postgresql+psycopg://...), not postgres://"
            )
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"okrsync supports sqlite and postgresql, not {backend}")
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


def _source_data(config: Path | None, secrets_dir: Path | None) -> list[SourceData]:
    """What each source supplies, highest precedence first (read again to explain errors)."""
    out = [
        SourceData("environment", EnvSettingsSource(Settings)()),
        SourceData("dotenv", DotEnvSettingsSource(Settings)()),
    ]
    if secrets_dir is not None:
        inner = SecretsSettingsSource(Settings, secrets_dir=secrets_dir)
        found = NestedSecretsSettingsSource(inner, secrets_dir_missing="ok")()
        out.append(SourceData("secrets", found, str(secrets_dir)))
    if config is not None:
        out.append(SourceData("config", TomlConfigSettingsSource(Settings, config)(), str(config)))
    return out


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Load the effective settings, or raise ``SettingsError`` listing every problem.

    ``config_file`` (else ``OKRSYNC_CONFIG``) names an optional TOML file. Each problem
    names where its value came from (see ``okrsync.config.problems``).
    """
    path = config_file or os.environ.get("OKRSYNC_CONFIG")
    config = Path(path) if path else None
    if config is not None and not config.is_file():
        raise SettingsError([f"{config}: config file not found"])
    secrets_dir = _secrets_dir()
    file_problems: list[tuple[tuple[str, ...], str]] = []
    token = _file_problems.set(file_problems)
    errors: list[ErrorDetails] = []
    try:
        with _using_config(config):
            settings = Settings(_secrets_dir=secrets_dir, **overrides)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    except (ValueError, OSError) as exc:  # an unreadable or malformed file or directory
        raise SettingsError([f"{config or 'settings'}: {exc}"]) from None
    finally:
        _file_problems.reset(token)
    if not errors and not file_problems:
        return settings
    sources = _source_data(config, secrets_dir)
    raise SettingsError(describe(errors, file_problems, sources, Settings))


def unknown_environment() -> list[str]:
    """Warnings for ``OKRSYNC_*`` environment variables that look like misspelt settings."""
    return unknown_variables(os.environ, Settings)


def url_passwords(settings: Settings) -> list[str]:
    """Passwords embedded in the configured URLs (state database, tracker URLs)."""
    found = []
    try:
        state = make_url(settings.state_url).password
    except (ArgumentError, ValueError):
        state = None
    if state:
        found.append(str(state))
    urls = [conn.url for conn in settings.jira.values()]
    urls += [conn.base_url for conn in settings.teambition.values()]
    found += [url.password for url in urls if url.password]
    return found


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret shown as ``**********``,
    including passwords written into URLs."""
    data = settings.model_dump(mode="json")
    data["state_url"] = _hide_password(data["state_url"])
    for tracker, key in (("jira", "url"), ("teambition", "base_url")):
        for conn in data[tracker].values():
            conn[key] = _hide_password(conn[key])
            for secret in SECRET_KEYS:
                # An empty secret must not look like a shown value either.
                if secret in conn and conn[secret] is not None:
                    conn[secret] = MASK
    for key, value in data["webhooks"].items():
        if key.endswith("_secret") and value is not None:
            data["webhooks"][key] = MASK
    if data["status_page"]["password"] is not None:
        data["status_page"]["password"] = MASK
    return data
