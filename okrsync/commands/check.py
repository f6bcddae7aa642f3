"""``okrsync check``: validate the mappings, then (unless offline) each tracker connection."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click

from connectors.base import PreflightReport
from mappings.loader import load_mappings
from mappings.schema import JiraEpicsScope, JiraEpicsTarget, JiraIssueTarget, scope_source
from mappings.tree import OkrTree
from okrsync.commands.common import AppContext, mappings_option, pass_app
from okrsync.connections import build_connectors, connection_for
from okrsync.settings import SettingsError


@click.command("check")
@click.option("--offline", is_flag=True, help="Only validate the mapping files; no tracker calls.")
@mappings_option
@pass_app
def check_command(app: AppContext, offline: bool, mappings_path: Path | None) -> None:
    """Validate mapping files and, unless --offline, credentials, fields and queries."""
    try:
        settings = app.settings()
    except SettingsError:
        if not offline:
            raise
        settings = None  # offline checks need no settings; connection names are not checked
    path = mappings_path or (settings.mappings if settings else Path("mappings"))
    connections = None
    if settings is not None and (settings.jira or settings.teambition):
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
        for problem in report.problems:
            problems += 1
            line = f"  {problem.where}: {problem.message}"
            click.echo(line + (f"\n    fix: {problem.fix}" if problem.fix else ""))
    if problems:
        raise SystemExit(1)


def preflight(tree: OkrTree, settings: object) -> list[PreflightReport]:
    """Group scopes and write fields by connection and ask each connector to check them."""
    from okrsync.settings import Settings

    assert isinstance(settings, Settings)
    connectors = build_connectors(settings)
    scopes: dict[tuple[str, str], list[object]] = defaultdict(list)
    fields: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    try:
        for scope in tree.scopes():
            conn = connection_for(connectors, scope_source(scope), scope.connection)
            scopes[(conn.source, conn.name)].append(scope)
        for kr_id, node in tree.key_results.items():
            for target, names, _fmt, connection in tree.effective_write(kr_id):
                source = (
                    "jira"
                    if isinstance(target, JiraIssueTarget | JiraEpicsTarget)
                    else ("teambition")
                )
                conn = connection_for(connectors, source, connection)
                if isinstance(target, JiraIssueTarget):
                    keys = [target.key]
                elif isinstance(target, JiraEpicsTarget):
                    keys = [
                        epic
                        for s in node.kr.scope
                        if isinstance(s, JiraEpicsScope)
                        for epic in s.epics
                    ]
                else:
                    keys = [target.task]
                wanted = [v for v in names.model_dump().values() if v]
                for key in keys:
                    bucket = fields[(conn.source, conn.name)][key]
                    bucket.extend(f for f in wanted if f not in bucket)
        reports = []
        for key, connector in connectors.items():
            if key in scopes or key in fields:
                reports.append(
                    connector.preflight(scopes.get(key, []), fields.get(key, {}))  # type: ignore[arg-type]
                )
        return reports
    finally:
        for connector in connectors.values():
            connector.close()
