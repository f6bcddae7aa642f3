"""``okrsync config show`` and ``okrsync schema``."""

from __future__ import annotations

import json

import click

from okrsync.commands.common import AppContext, pass_app
from okrsync.config.settings import masked


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
    """``data`` as TOML that reads back to the same values (unset ones become comments)."""
    scalars: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}.{_key(key)}" if prefix else _key(key)
            body = _to_toml(value, name)
            if any(not isinstance(v, dict) for v in value.values()) or not value:
                tables.append(f"[{name}]\n{body}".rstrip("\n"))
            else:
                tables.append(body)
        elif value is None:
            scalars.append(f"# {_key(key)} is not set")
        else:
            scalars.append(f"{_key(key)} = {json.dumps(value, ensure_ascii=False)}")
    blocks = (["\n".join(scalars)] if scalars else []) + tables
    return "\n\n".join(blocks)


def _key(name: str) -> str:
    # Connection names come from people: quote any that TOML would not take bare.
    return name if name and all(c.isalnum() or c in "_-" for c in name) else json.dumps(name)


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the mapping format (for editor validation)."""
    from mappings.jsonschema import mapping_json_schema

    click.echo(json.dumps(mapping_json_schema(), indent=2))
