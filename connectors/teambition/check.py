"""``okrsync check`` for a Teambition connection: every problem found, with its fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connectors.base import AuthError, ConnectorError, PreflightReport, Problem, QueryError
from connectors.field_names import close_names
from connectors.teambition.read import Lookups, count_scope
from connectors.teambition.tasks import (
    PROJECT_QUERY,
    SPRINT_SEARCH,
    TAG_SEARCH,
    TeambitionScope,
    describe_scope,
    find_field,
)
from mappings.schema import TeambitionParentScope, TeambitionSprintScope, TeambitionTagsScope

WRITABLE_TYPES = ("text", "number", "date", "dropDown")


def _auth_fix(exc: AuthError, operator: str | None) -> str:
    if exc.status == 401:
        return "set app_id and app_secret to those of the Teambition app (developer console)"
    if operator and operator in exc.message:
        return "set operator_id to the user id of a member of the organization, or remove it"
    return "set tenant_id to the id of an organization where the app is installed"


def preflight(
    lookups: Lookups, scopes: Sequence[TeambitionScope], fields: Mapping[str, Sequence[str]]
) -> PreflightReport:
    """Check credentials, tenant, scopes and write-back fields; collect every problem."""
    http = lookups.http
    settings = http.settings
    report = PreflightReport(connection=http.name)
    report.info.update(
        {"url": http.base_url, "organization": settings.tenant_id, "app": settings.app_id}
    )
    here = f"connection '{http.name}'"
    projects = sorted({s.project for s in scopes if not isinstance(s, TeambitionParentScope)})
    try:
        # The first call proves the token and the tenant (and names the projects).
        if projects:
            lookups.load_projects(projects)
        else:
            http.call("GET", PROJECT_QUERY, params={"pageSize": 1}, what="projects")
    except AuthError as exc:
        report.problems.append(Problem(here, exc.message, _auth_fix(exc, settings.operator_id)))
        return report
    except ConnectorError as exc:
        report.problems.append(Problem(here, exc.message))
        return report
    for scope in dict.fromkeys(scopes):
        report.problems.extend(_check_scope(lookups, scope, report))
    for target, names in fields.items():
        report.problems.extend(_check_target(lookups, target, names))
    return report


def _check_scope(
    lookups: Lookups, scope: TeambitionScope, report: PreflightReport
) -> list[Problem]:
    where = describe_scope(scope)
    if not isinstance(scope, TeambitionParentScope) and scope.project not in lookups.projects:
        return [
            Problem(
                where,
                f"Teambition project '{scope.project}' not found in organization "
                f"'{lookups.http.settings.tenant_id}'",
                "check the project id in the mapping (it is in the project's URL)",
                scope=scope,
            )
        ]
    try:
        count = count_scope(lookups, scope)
        report.info[where] = f"{count} tasks"
    except QueryError as exc:
        return [Problem(where, exc.message, "fix the TQL in the mapping", scope=scope)]
    except ConnectorError as exc:
        fix = (
            "check the task id in the mapping"
            if exc.status == 404 or "no task" in exc.message
            else ""
        )
        return [Problem(where, exc.message, fix, scope=scope)]
    if isinstance(scope, TeambitionTagsScope | TeambitionSprintScope):
        return _check_ids(lookups, scope, report)
    if isinstance(scope, TeambitionParentScope) and count == 0:
        # A task named by mistake (a sub-task, the KR's home task) would measure nothing.
        return [
            Problem(
                where,
                f"task '{scope.task}' has no sub-tasks: a teambition_parent scope counts "
                "a task's sub-tasks",
                "name the parent task whose sub-tasks the key result tracks, or add "
                f"sub-tasks to task '{scope.task}'",
                scope=scope,
            )
        ]
    return []


def _check_ids(
    lookups: Lookups, scope: TeambitionTagsScope | TeambitionSprintScope, report: PreflightReport
) -> list[Problem]:
    """Tag or sprint ids the project does not have: such a scope would silently be empty."""
    where = describe_scope(scope)
    if isinstance(scope, TeambitionTagsScope):
        kind, template, param, wanted = "tag", TAG_SEARCH, "tagIds", list(scope.tags)
    else:
        kind, template, param, wanted = "sprint", SPRINT_SEARCH, "sprintIds", [scope.sprint]
    try:
        found, _ = lookups.http.collect(
            template,
            path={"projectId": scope.project},
            params={param: ",".join(wanted)},
            what=f"{kind}s of project '{scope.project}'",
        )
    except ConnectorError as exc:
        # Listing tags or sprints may need a permission reading tasks does not; the count
        # above already proved the scope readable.
        report.info[f"{where} ({kind} ids)"] = f"not checked: {exc.message}"
        return []
    known = {str(item.get("id")) for item in found if isinstance(item, Mapping)}
    missing = [i for i in wanted if i not in known]
    if not missing:
        return []
    project = lookups.project_name(scope.project)
    names = ", ".join(f"'{i}'" for i in missing)
    return [
        Problem(
            where,
            f"Teambition project {project} has no {kind} {names}: the scope would stay empty",
            f"check the {kind} id{'s' if len(missing) > 1 else ''} in the mapping",
            scope=scope,
        )
    ]


def _missing_field(name: str, project: str, known: Sequence[str], where: str) -> Problem:
    """A mapped custom field the project lacks; a typo gets the close name, not advice to
    add a second, nearly same-named field."""
    message = f"Teambition project {project} has no custom field '{name}'"
    close = close_names(name, known)
    if not close:
        return Problem(where, message, f"add custom field '{name}' to project {project}")
    return Problem(
        where,
        f"{message} (did you mean '{close[0]}'?)",
        f"write '{close[0]}' in the mapping's write fields; only if '{name}' is meant to be "
        f"another field, add custom field '{name}' to project {project}",
    )


def _check_target(lookups: Lookups, target: str, names: Sequence[str]) -> list[Problem]:
    where = f"task '{target}'"
    try:
        task = lookups.tasks([target]).get(target)
    except ConnectorError as exc:
        return [Problem(where, exc.message)]
    if task is None:
        return [
            Problem(
                where,
                f"Teambition has no task '{target}' (a write-back target)",
                "check the task id in the mapping",
            )
        ]
    project_id = str(task.get("projectId") or "")
    try:
        lookups.load_projects([project_id])
        defs = lookups.fields(project_id)
    except ConnectorError as exc:
        return [Problem(where, exc.message)]
    project = lookups.project_name(project_id)
    problems: list[Problem] = []
    for name in dict.fromkeys(names):
        field = find_field(defs, name)
        if field is None:
            problems.append(_missing_field(name, project, [d.name for d in defs], where))
            continue
        if field.type not in WRITABLE_TYPES:
            problems.append(
                Problem(
                    where,
                    f"custom field '{name}' of project {project} has type '{field.type}'",
                    f"use a {', '.join(WRITABLE_TYPES)} field for '{name}'",
                )
            )
    return problems
