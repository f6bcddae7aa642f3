"""``okrsync check``: validate the mappings, then (unless offline) each tracker connection."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click

from connectors.base import PreflightReport
from mappings.loader import load_mappings
from mappings.schema import Scope, scope_source
from mappings.tree import OkrTree
from okrsync.commands.common import AppContext, mappings_option, pass_app
from okrsync.config.settings import Settings, SettingsError
from okrsync.sync.connections import Connections, build_connectors
from okrsync.sync.writeback import resolve_targets


@click.command("check")
@click.option("--offline", is_flag=True, help="Only validate the mapping files; no tracker calls.")
@mappings_option
@pass_app
def check_command(app: AppContext, offline: bool, mappings_path: Path | None) -> None:
    """Validate mapping files and, unless --offline, credentials, fields and queries."""
    try:
        settings: Settings | None = app.settings()
    except SettingsError as exc:
        if not offline:
            raise
        # Offline checks need no settings, but the user should know what went unchecked.
        settings = None
        count = len(exc.problems)
        click.echo(
            f"note: the settings have {count} problem{'s' if count != 1 else ''} (see "
            "'okrsync config show'); connection names in the mappings were not checked",
            err=True,
        )
    path = mappings_path or (settings.mappings if settings else Path("mappings"))
    # Offline, connection names are checked only if some are configured (CI may validate
    # mappings with no tracker settings at all); online, every scope needs its connection.
    connections = None
    if settings is not None and (not offline or settings.jira or settings.teambition):
        connections = settings.connection_names()
    tree = load_mappings(path, connections=connections)
    click.echo(
        f"{path}: {len(tree.objectives)} objectives, {len(tree.key_results)} key results, "
        f"{len(tree.scopes())} distinct scopes: OK"
    )
    if offline or settings is None:
        return
    reports = preflight(tree, settings)
    problems = 0
    for report in reports:
        status = "OK" if not report.problems else f"{len(report.problems)} problem(s)"
        click.echo(f"{report.connection}: {status}")
        # Servers' answers end up in these lines: mask any configured secret they echo.
        for key, value in report.info.items():
            click.echo(app.redact(f"  {key}: {value}"))
        for problem in report.problems:
            problems += 1
            line = f"  {problem.where}: {problem.message}"
            if problem.scope is not None:
                line += f"\n    used by: {', '.join(_users_of(tree, problem.scope))}"
            click.echo(app.redact(line + (f"\n    fix: {problem.fix}" if problem.fix else "")))
    if problems:
        raise SystemExit(1)


def _users_of(tree: OkrTree, scope: Scope) -> list[str]:
    """The key results reading ``scope``, each with where it is defined."""
    return [
        f"{kr_id} ({node.file}:{node.line})"
        for kr_id, node in tree.key_results.items()
        if scope in node.kr.scope
    ]


def preflight(tree: OkrTree, settings: Settings) -> list[PreflightReport]:
    """Group scopes and write fields by connection and ask each connector to check them."""
    connectors = build_connectors(settings)
    connections = Connections(connectors)
    scopes: dict[tuple[str, str], list[Scope]] = defaultdict(list)
    fields: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    try:
        for scope in tree.scopes():
            _, conn = connections.resolve(scope_source(scope), scope.connection)
            scopes[(conn.source, conn.name)].append(scope)
        # The targets a sync would write, resolved the same way (an epics target without a
        # connection writes through each epics scope's own).
        for kr_id in tree.key_results:
            for spec in resolve_targets(tree, kr_id, connections):
                wanted = [name for name in spec.fields.model_dump().values() if name]
                conn = connections.get(spec.connection)
                bucket = fields[(conn.source, conn.name)][spec.target]
                bucket.extend(name for name in wanted if name not in bucket)
        reports = []
        for key, connector in connectors.items():
            if key in scopes or key in fields:
                report = connector.preflight(scopes.get(key, []), fields.get(key, {}))
                # Name the tracker too: a Jira and a Teambition connection may share a name.
                report.connection = f"{connector.source}:{connector.name}"
                reports.append(report)
        return reports
    finally:
        for connector in connectors.values():
            connector.close()
