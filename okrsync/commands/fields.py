"""``okrsync fields bootstrap``: create the Jira custom fields okrsync writes."""

from __future__ import annotations

from pathlib import Path

import click

from connectors.jira import JiraConnector
from connectors.jira.bootstrap import CreatedField
from connectors.jira.fields import field_specs
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
@click.option("--dry-run", is_flag=True, help="Only list what would be created or completed.")
@click.option(
    "--allow-similar",
    is_flag=True,
    help="Create a field even when an existing one's name differs only in case, spacing "
    "or a letter or two.",
)
@mappings_option
@pass_app
def bootstrap_command(
    app: AppContext,
    connection_name: str | None,
    dry_run: bool,
    allow_similar: bool,
    mappings_path: Path | None,
) -> None:
    """Create the missing okrsync fields (OKR Progress, OKR Status, ...); needs Jira admin.

    Field names come from the mappings' write fields, else okrsync's default names. On
    Jira Cloud, an existing "OKR Status" field missing some of its options gets them.
    A name nearly the same as an existing field's (say "OKR Progres" beside "OKR
    Progress") is taken for a typo and not created, unless --allow-similar. Exits 1 when
    a field of one of those names holds the wrong kind of value, or was not created for
    being nearly the same as another.
    """
    settings = app.settings()
    if not settings.jira:
        raise UserError("no Jira connection is configured (settings: jira.<name>.url ...)")
    if connection_name is not None and connection_name not in settings.jira:
        known = ", ".join(sorted(settings.jira))
        raise UserError(f"no Jira connection named '{connection_name}' (configured: {known})")
    names = [connection_name] if connection_name else sorted(settings.jira)
    policy = RetryPolicy(settings.retry)
    problems = False
    for name in names:
        pairs = _mapped_names(mappings_path or settings.mappings, name, len(settings.jira) == 1)
        specs = field_specs(pairs or None)
        connector = JiraConnector(name, settings.jira[name], policy)
        try:
            created = connector.ensure_fields(specs, dry_run=dry_run, allow_similar=allow_similar)
        finally:
            connector.close()
        done = {c.spec.name: c for c in created}
        click.echo(f"{name} ({connector.client.url}):")
        for spec in specs:
            click.echo("  " + _line(spec.name, spec.kind, done.get(spec.name), dry_run))
        if any(c.action == "create" for c in created) and not dry_run:
            click.echo(
                "  next: add the new fields to the edit screens of the projects whose issues "
                "okrsync writes; 'okrsync check' lists any still missing"
            )
        if any(c.action in ("wrong type", "similar") for c in created):
            problems = True
    if problems:
        raise SystemExit(1)


def _line(name: str, kind: str, done: CreatedField | None, dry_run: bool) -> str:
    """One field's line of the bootstrap report."""
    if done is None:
        return f"exists        {name}"
    if done.action == "wrong type":
        return f"wrong type    {name}: {done.note}"
    if done.action == "similar":
        return f"not created   {name}: {done.note}"
    if done.action == "add options":
        verb = "would add     " if dry_run else "added         "
        return f"{verb}{name} options: {done.note}"
    if done.id is None:
        return f"would create  {name} ({kind})"
    note = f"; {done.note}" if done.note else ""
    return f"created       {name} ({kind}) as {done.id}{note}"
