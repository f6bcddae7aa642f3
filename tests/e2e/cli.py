"""``okrsync`` run as people run it, against a running sandbox: a config file naming the
sandbox's trackers and a state database, and the command through click's CliRunner with
settings from the environment cleared (they would override the file)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from okrsync.cli import main
from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox
from tests.e2e.conftest import mutating

#: Faulted calls fail fast: a command must not wait out long backoffs in tests.
RETRY: dict[str, Any] = {"max_attempts": 2, "initial_wait": 0.05, "max_total_wait": 1.0}
#: The demo sandbox's service account on each Jira flavour.
JIRA_CREDENTIALS: dict[str, dict[str, Any]] = {
    "cloud": {"email": "demo@okrsync.example", "api_token": "demo-token"},
    "datacenter": {"pat": "demo-pat"},
}
#: Settings that would override the config file; the text output is laid out for 80
#: columns, as on a pipe, unless a command says otherwise.
CLEAN_ENV: dict[str, str | None] = {
    "OKRSYNC_CONFIG": None,
    "OKRSYNC_STATE_URL": None,
    "OKRSYNC_MAPPINGS": None,
    "OKRSYNC_LOG_LEVEL": None,
    "COLUMNS": "80",
}


def _toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    # Strings, numbers and paths only: JSON's quoting is TOML's for these.
    lines: list[str] = []
    for name, values in tables.items():
        if name:
            lines.append(f"\n[{name}]")
        lines += [
            f"{key} = {json.dumps(str(v) if isinstance(v, Path) else v)}"
            for key, v in values.items()
        ]
    return "\n".join(lines) + "\n"


def write_config(
    sandbox: Sandbox,
    tmp: Path,
    *,
    flavour: str = "cloud",
    mappings: Path = EXAMPLES,
    retry: Mapping[str, Any] = RETRY,
    jira: Mapping[str, Any] | None = None,
    teambition: bool = True,
) -> Path:
    """``tmp/okrsync.toml`` for the sandbox's Jira of ``flavour`` (with the demo
    credentials, or ``jira``'s) and its Teambition, a state database in ``tmp``."""
    tables: dict[str, Mapping[str, Any]] = {
        "": {"state_url": f"sqlite:///{tmp / 'state.db'}", "mappings": mappings},
        "retry": retry,
        f"jira.{flavour}": {
            "url": sandbox.jira[flavour].url,
            "flavour": flavour,
            **(JIRA_CREDENTIALS[flavour] if jira is None else jira),
        },
    }
    if teambition:
        assert sandbox.teambition is not None
        tables["teambition.main"] = {
            "base_url": sandbox.teambition.url,
            "app_id": "okrsync-demo",
            "app_secret": "demo-secret",
            "tenant_id": "tb-org-demo",
            "operator_id": "tb-user-ana",
        }
    config = tmp / "okrsync.toml"
    config.write_text(_toml(tables), encoding="utf-8")
    return config


def invoke(config: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """``okrsync --config CONFIG ARGS...``; ``env`` adds to the cleared environment."""
    return CliRunner().invoke(
        main, ["--config", str(config), *args], env={**CLEAN_ENV, **(env or {})}
    )


class Cli:
    """``okrsync`` with a config file pointing at a running demo sandbox (Jira Cloud and
    Teambition, the example mappings)."""

    def __init__(self, sandbox: Sandbox, tmp: Path):
        self.sandbox = sandbox
        self.config = write_config(sandbox, tmp)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return invoke(self.config, *args, env=env)

    def json(self, *args: str, code: int = 0) -> Any:
        result = self(*args, "--output", "json")
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    def mutations(self) -> list[Any]:
        return [e for s in self.sandbox.servers for e in mutating(s.log.entries())]

    def clear_logs(self) -> None:
        for server in self.sandbox.servers:
            server.log.clear()
