"""``okrsync fields bootstrap``: create the Jira custom fields okrsync writes."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.jira import JiraConnector
from connectors.jira_fields import field_specs
from connectors.retry import RetryPolicy
from mappings.loader import load_mappings
from mappings.schema import JiraEpicsTarget, JiraIssueTarget
from okrsync.commands.common import AppContext, mappings_option, pass_app
from okrsync.errors import UserError


@click.group("fields")
def fields_group() -> None:
    """Manage the Jira custom fields okrsync writes."""


def _mapped_names(path: Path, connection: str, only_one: bool) -> list[tuple[str, str]]:
    """(role, field name) pairs the mappings write to Jira through ``connection``."""
    if not path.exists():
        return []
    tree = load_mappings(path)
    pairs: list[tuple[str, str]] = []
    for kr_id in tree.key_results:
        for write in tree.effective_write(kr_id):
            if not isinstance(write.target, JiraIssueTarget | JiraEpicsTarget):
                continue
            if write.connection != connection and not (write.connection is None and only_one):
                continue
            pairs += [(role, name) for role, name in write.fields.model_dump().items() if name]
    return pairs


@fields_group.command("bootstrap")
@click.option("--connection", "connection_name", help="Jira connection (default: every one).")
@click.option("--dry-run", is_flag=True, help="Only list the fields that would be created.")
@mappings_option
@pass_app
def bootstrap_command(
    app: AppContext, connection_name: str | None, dry_run: bool, mappings_path: Path | None
) -> None:
    """Create the missing okrsync fields (OKR Progress, OKR Status, ...); needs Jira admin.

    Field names come from the mappings' write fields, else okrsync's default names.
    """
    settings = app.settings()
    if not settings.jira:
        raise UserError("no Jira connection is configured (settings: jira.<name>.url ...)")
    if connection_name is not None and connection_name not in settings.jira:
        known = ", ".join(sorted(settings.jira))
        raise UserError(f"no Jira connection named '{connection_name}' (configured: {known})")
    names = [connection_name] if connection_name else sorted(settings.jira)
    policy = RetryPolicy(settings.retry)
    for name in names:
        pairs = _mapped_names(mappings_path or settings.mappings, name, len(settings.jira) == 1)
        specs = field_specs(pairs or None)
        connector = JiraConnector(name, settings.jira[name], policy)
        try:
            created = connector.ensure_fields(specs, dry_run=dry_run)
        finally:
            connector.close()
        made = {c.spec.name: c for c in created}
        click.echo(f"{name} ({connector.client.url}):")
        for spec in specs:
            found = made.get(spec.name)
            if found is None:
                click.echo(f"  exists        {spec.name}")
            elif found.id is None:
                click.echo(f"  would create  {spec.name} ({spec.kind})")
            else:
                note = f"; {found.note}" if found.note else ""
                click.echo(f"  created       {spec.name} ({spec.kind}) as {found.id}{note}")
