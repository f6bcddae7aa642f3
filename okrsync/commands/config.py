"""``okrsync config show`` and ``okrsync schema``."""

from __future__ import annotations

import json

import click

from okrsync.commands.common import AppContext, pass_app
from okrsync.settings import masked


@click.group("config")
def config_group() -> None:
    """Inspect okrsync's settings."""


@config_group.command("show")
@click.option("--output", type=click.Choice(["toml", "json"]), default="toml", show_default=True)
@pass_app
def show(app: AppContext, output: str) -> None:
    """Print the effective settings, secrets masked."""
    data = masked(app.settings())
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(_to_toml(data))


def _to_toml(data: dict[str, object], prefix: str = "") -> str:
    scalars: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}.{key}" if prefix else key
            body = _to_toml(value, name)
            if any(not isinstance(v, dict) for v in value.values()) or not value:
                tables.append(f"[{name}]\n{body}")
            else:
                tables.append(body)
        elif value is None:
            scalars.append(f"# {key} is not set")
        else:
            scalars.append(f"{key} = {json.dumps(value)}")
    return "\n".join(scalars + ([""] if scalars and tables else []) + tables)


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the mapping format (for editor validation)."""
    from mappings.jsonschema import mapping_json_schema

    click.echo(json.dumps(mapping_json_schema(), indent=2))
