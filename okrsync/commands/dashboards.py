"""``okrsync dashboards bootstrap``: Jira filters and a dashboard over the OKR fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from connectors.jira import JiraConnector
from connectors.jira.dashboards import (
    FilterSpec,
    Share,
    Step,
    ensure_dashboard,
    ensure_filters,
    gadget_specs,
)
from connectors.jira.fields import FieldCatalog
from connectors.retry import RetryPolicy
from mappings.loader import load_mappings
from mappings.schema import JiraEpicsScope, JiraEpicsTarget, JiraIssueTarget
from mappings.tree import OkrTree
from okrsync.commands.common import AppContext, mappings_option, pass_app
from okrsync.config.settings import DashboardSettings
from okrsync.errors import UserError
from okrsync.state import StateStore

#: The OKR fields shown as filter columns, in this order, after the key and summary.
COLUMN_ROLES = ("progress", "status", "expected", "forecast", "summary", "last_synced")
DEFAULT_NAMES = {
    "progress": "OKR Progress",
    "status": "OKR Status",
    "expected": "OKR Expected",
    "forecast": "OKR Forecast",
    "summary": "OKR Summary",
    "last_synced": "OKR Last Synced",
}


@click.group("dashboards")
def dashboards_group() -> None:
    """Manage the Jira filters and dashboard that show the OKR fields."""


@dataclass
class _Homes:
    """What the mappings write to one Jira connection: home issues per objective and the
    field name of each role."""

    objectives: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def all_keys(self) -> list[str]:
        keys: list[str] = []
        for _title, found in self.objectives.values():
            keys += [k for k in found if k not in keys]
        return keys


def _homes(tree: OkrTree, connection: str, only_one: bool) -> _Homes:
    homes = _Homes()
    for kr_id, node in tree.key_results.items():
        for write in tree.effective_write(kr_id):
            if write.connection != connection and not (write.connection is None and only_one):
                continue
            if isinstance(write.target, JiraIssueTarget):
                keys = [write.target.key]
            elif isinstance(write.target, JiraEpicsTarget):
                keys = [e for s in node.kr.scope if isinstance(s, JiraEpicsScope) for e in s.epics]
            else:
                continue
            title = tree.objectives[node.objective_id].objective.title
            _, found = homes.objectives.setdefault(node.objective_id, (title, []))
            found += [k for k in keys if k not in found]
            for role, name in write.fields.model_dump().items():
                if name:
                    homes.names.setdefault(role, name)
    return homes


def _jql(keys: list[str]) -> str:
    return f"key in ({', '.join(keys)}) ORDER BY key"


def filter_specs(homes: _Homes, prefix: str) -> list[FilterSpec]:
    """One filter per objective with Jira home issues, then one for every key result."""
    specs = [
        FilterSpec(
            f"objective:{objective_id}",
            f"{prefix}: {title}",
            _jql(keys),
            f"Home issues of the key results of objective {objective_id}; kept by okrsync",
        )
        for objective_id, (title, keys) in homes.objectives.items()
    ]
    specs.append(
        FilterSpec(
            "all",
            f"{prefix}: every key result",
            _jql(homes.all_keys()),
            "Home issues of every key result; kept by okrsync",
        )
    )
    return specs


def _field_ids(catalog: FieldCatalog, homes: _Homes) -> tuple[list[str], str | None]:
    """The filter columns (key, summary, the OKR fields the site has) and the id of the
    OKR Status field (None when the site lacks it)."""
    columns = ["issuekey", "summary"]
    status: str | None = None
    for role in COLUMN_ROLES:
        found = catalog.candidates(homes.names.get(role, DEFAULT_NAMES[role]))
        if len(found) == 1:
            columns.append(found[0].id)
            if role == "status":
                status = found[0].id
    return columns, status


@dashboards_group.command("bootstrap")
@click.option("--connection", "connection_name", help="Jira connection (default: every one).")
@click.option("--dry-run", is_flag=True, help="Only print what would be created or changed.")
@mappings_option
@pass_app
def bootstrap_command(
    app: AppContext, connection_name: str | None, dry_run: bool, mappings_path: Path | None
) -> None:
    """Create Jira filters of the key results' home issues (one per objective, one for
    all) with the OKR fields as columns, and on Jira Cloud a dashboard showing them with
    a chart of key results by OKR Status. Data Center gets the filters and the steps to
    make the dashboard by hand.

    What it creates is shared with [dashboards] share_group and/or share_project;
    neither: private to the user okrsync signs in as. okrsync records what it creates
    and finds it again by id, so a second run changes nothing, and a filter people
    renamed is kept, not recreated.
    Run 'okrsync fields bootstrap' first: the columns and the chart need the OKR fields.
    """
    settings = app.settings()
    if not settings.jira:
        raise UserError("no Jira connection is configured (settings: jira.<name>.url ...)")
    if connection_name is not None and connection_name not in settings.jira:
        known = ", ".join(sorted(settings.jira))
        raise UserError(f"no Jira connection named '{connection_name}' (configured: {known})")
    path = mappings_path or settings.mappings
    tree = load_mappings(path, connections=settings.connection_names())
    board = settings.dashboards
    share = Share(board.share_group, board.share_project)
    policy = RetryPolicy(settings.retry)
    names = [connection_name] if connection_name else sorted(settings.jira)
    with StateStore.open(settings.state_url) as store:
        for name in names:
            homes = _homes(tree, name, len(settings.jira) == 1)
            connector = JiraConnector(name, settings.jira[name], policy)
            try:
                click.echo(f"{name} ({connector.client.url}):")
                if not homes.objectives:
                    click.echo("  nothing to show: no key result writes to a Jira issue here")
                    continue
                _bootstrap(connector, store, name, homes, board, share, dry_run)
            finally:
                connector.close()


def _bootstrap(
    connector: JiraConnector,
    store: StateStore,
    name: str,
    homes: _Homes,
    board: DashboardSettings,
    share: Share,
    dry_run: bool,
) -> None:
    client = connector.client
    recorded = store.created_objects(name)

    def remember(kind: str, key: str, object_id: str) -> None:
        store.record_created_object(name, kind, key, object_id)

    columns, status = _field_ids(client.catalog(), homes)
    specs = filter_specs(homes, board.name)
    steps = ensure_filters(
        client, specs, recorded, remember, share=share, columns=columns, dry_run=dry_run
    )
    for step in steps:
        click.echo("  " + _line(step, dry_run))
    ids = {s.name: s.id for s in steps}
    new = frozenset(s.name for s in steps if s.action in ("create", "recreate"))
    objective_filters = [(spec, ids.get(spec.name)) for spec in specs if spec.name != "all"]
    gadgets = gadget_specs(objective_filters, ids.get("all"), status)
    if client.flavour == "cloud":
        recorded = store.created_objects(name)
        board_steps = ensure_dashboard(
            client,
            board.name,
            gadgets,
            recorded,
            remember,
            share=share,
            refilter=new | ({"status-chart"} if "all" in new else set()),
            dry_run=dry_run,
        )
        for step in board_steps:
            click.echo("  " + _line(step, dry_run))
        steps += board_steps
    if status is None:
        click.echo(
            "  note: the site has no OKR Status field, so no chart of key results by status; "
            "run 'okrsync fields bootstrap', then this command again"
        )
    click.echo(f"  shared with {share.describe()}")
    if share.private:
        click.echo("  (set [dashboards] share_group or share_project to share them; never public)")
    if client.flavour == "datacenter":
        _manual_steps(steps, board.name, status, client.url)
    if all(s.action == "exists" for s in steps):
        click.echo("  nothing to change")


def _line(step: Step, dry_run: bool) -> str:
    """One object's line of the report."""
    what = f"{step.kind} '{step.title}'"
    ref = f" ({step.id})" if step.id else ""
    note = f": {step.note}" if step.note else ""
    if step.action == "exists":
        return f"exists        {what}{ref}{note}"
    verb = {
        "create": ("would create  ", "created       "),
        "recreate": ("would create  ", "created again "),
        "update": ("would update  ", "updated       "),
    }[step.action][0 if dry_run else 1]
    return f"{verb}{what}{ref}{note}"


def _manual_steps(steps: list[Step], name: str, status: str | None, url: str) -> None:
    """Data Center cannot create a dashboard over REST: the steps to make it by hand."""
    filters = [s for s in steps if s.kind == "filter"]
    every = next((s for s in filters if s.name == "all"), None)
    click.echo("  Data Center's REST API cannot create dashboards; make it once by hand:")
    click.echo(f"    1. {url}/secure/Dashboard.jspa: Create dashboard, name it '{name}'")
    number = 2
    for step in filters:
        if step.name == "all":
            continue
        ref = f" ({step.id})" if step.id else ""
        click.echo(f"    {number}. Add gadget 'Filter Results', saved filter '{step.title}'{ref}")
        number += 1
    if every is not None and status is not None:
        ref = f" ({every.id})" if every.id else ""
        click.echo(
            f"    {number}. Add gadget 'Pie Chart', saved filter '{every.title}'{ref}, "
            f"statistic type: OKR Status ({status})"
        )
        number += 1
    click.echo(f"    {number}. Share the dashboard as the filters are shared")
