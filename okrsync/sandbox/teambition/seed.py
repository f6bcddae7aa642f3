"""The ``teambition`` section of a seed: what it holds, and its located problems.

Keys (all optional)::

    organizations: [{id, name}]                 the tenants (X-Tenant-Id)
    apps: [{appId, appSecret}]                  who may get an app token
    members: [{userId, name, organizationId}]   operators (X-Operator-Id); none: anyone
    projects: [<project JSON: id, name, organizationId, uniqueIdPrefix, ...>]
    customfields, tags, sprints, taskflowstatuses:
        a list as the API's search returns it, each record naming its project
        (``boundToObjectId`` for custom fields, ``projectId`` for the rest),
        or a mapping {projectId: [records]}
    tasks: [<task JSON as /v3/task/query returns it; needs id and projectId>]
    rateLimit: {perSecond, retryAfter}

Teambition's own shapes are accepted as they come: ``uniqueId`` as a number or a string,
``storyPoint`` as a string or a number, ``customfields: [{cfId, type, value: [{id,
title}]}]`` and ``tagIds: [...]`` on tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from okrsync.sandbox.seed_check import Problems, kind_of

__all__ = ["PER_PROJECT", "check_section", "normalize_section"]

Record = dict[str, Any]
SECTION_KEYS = frozenset(
    {
        "organizations",
        "apps",
        "members",
        "projects",
        "customfields",
        "tags",
        "sprints",
        "taskflowstatuses",
        "tasks",
        "rateLimit",
    }
)
#: Per-project records, and the key(s) naming the project when they come as a list.
PER_PROJECT: dict[str, tuple[str, ...]] = {
    "customfields": ("boundToObjectId", "projectId"),
    "tags": ("projectId",),
    "sprints": ("projectId",),
    "taskflowstatuses": ("projectId",),
}
FIELD_TYPES = ("text", "number", "date", "dropDown", "multipleChoice")


def _owner(record: Mapping[str, Any], kind: str) -> Any:
    return next((record[k] for k in PER_PROJECT[kind] if record.get(k)), None)


def normalize_section(section: Mapping[str, Any] | None) -> Record:
    """The section with per-project lists grouped as ``{projectId: [records]}``."""
    out: Record = dict(section or {})
    for kind in PER_PROJECT:
        value = out.get(kind)
        if isinstance(value, list):
            grouped: dict[str, list[Any]] = {}
            for record in value:
                owner = str(_owner(record, kind))
                if kind == "taskflowstatuses":
                    # the API's statuses do not name their project: only the seed does
                    record = {k: v for k, v in record.items() if k != "projectId"}
                grouped.setdefault(owner, []).append(record)
            out[kind] = grouped
    return out


def check_section(section: Any, where: str = "teambition") -> list[str]:
    """Every problem of a ``teambition`` seed section, each with its path."""
    problems = Problems()
    if section is None:
        return []
    if not problems.is_mapping(section, where):
        return problems.found
    problems.known_keys(section, where, SECTION_KEYS)
    orgs = _ids(problems, section, where, "organizations", "id")
    _ids(problems, section, where, "apps", "appId", "appSecret")
    for path, member in problems.records(section.get("members"), f"{where}.members"):
        if not (member.get("userId") or member.get("id")):
            problems.add(path, "missing 'userId'")
    projects: set[str] = set()
    for path, project in problems.records(section.get("projects"), f"{where}.projects"):
        if problems.required(project, path, "id", "organizationId"):
            projects.add(str(project["id"]))
            if orgs and project["organizationId"] not in orgs:
                problems.add(
                    f"{path}.organizationId",
                    f"unknown organization {project['organizationId']!r} "
                    f"(declared in {where}.organizations: {', '.join(sorted(orgs))})",
                )
    for kind in PER_PROJECT:
        _per_project(problems, section.get(kind), f"{where}.{kind}", kind, projects)
    _tasks(problems, section.get("tasks"), f"{where}.tasks", projects)
    limit = section.get("rateLimit")
    if limit is not None and problems.is_mapping(limit, f"{where}.rateLimit"):
        problems.known_keys(limit, f"{where}.rateLimit", frozenset({"perSecond", "retryAfter"}))
    return problems.found


def _ids(
    problems: Problems, section: Mapping[str, Any], where: str, key: str, *required: str
) -> set[str]:
    found: set[str] = set()
    for path, record in problems.records(section.get(key), f"{where}.{key}"):
        if problems.required(record, path, *required):
            found.add(str(record[required[0]]))
    return found


def _per_project(problems: Problems, value: Any, where: str, kind: str, projects: set[str]) -> None:
    if value is None:
        return
    listed: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(value, Mapping):
        for project_id, records in value.items():
            if project_id not in projects:
                problems.add(f"{where}.{project_id}", "unknown project")
            listed.extend(problems.records(records, f"{where}.{project_id}"))
    elif isinstance(value, list):
        listed = list(problems.records(value, where))
        for path, record in listed:
            owner = _owner(record, kind)
            if owner is None:
                problems.add(path, f"missing {PER_PROJECT[kind][0]!r} (the project)")
            elif owner not in projects:
                problems.add(f"{path}.{PER_PROJECT[kind][0]}", f"unknown project {owner!r}")
    else:
        problems.add(where, f"expected a list or a mapping by project id, got {kind_of(value)}")
        return
    for path, record in listed:
        problems.required(record, path, "id")
        if kind != "customfields":
            continue
        problems.required(record, path, "name")
        if record.get("type") is not None:
            problems.one_of(record["type"], f"{path}.type", FIELD_TYPES)
        for choice_path, choice in problems.records(record.get("choices"), f"{path}.choices"):
            problems.required(choice, choice_path, "id", "value")


def _tasks(problems: Problems, value: Any, where: str, projects: set[str]) -> None:
    seen: set[str] = set()
    for path, task in problems.records(value, where):
        if problems.required(task, path, "id", "projectId"):
            if task["id"] in seen:
                problems.add(f"{path}.id", f"duplicate task id {task['id']!r}")
            seen.add(task["id"])
            if task["projectId"] not in projects:
                problems.add(f"{path}.projectId", f"unknown project {task['projectId']!r}")
        unique = task.get("uniqueId")
        if unique not in (None, "") and not str(unique).strip().isdigit():
            problems.add(f"{path}.uniqueId", f"expected a whole number, got {unique!r}")
        for key in ("tagIds", "involveMembers"):
            items = task.get(key)
            if items is not None and problems.is_list(items, f"{path}.{key}"):
                for index, item in enumerate(items):
                    if not isinstance(item, str):
                        problems.add(f"{path}.{key}[{index}]", f"expected an id, got {item!r}")
        for cf_path, cf in problems.records(task.get("customfields"), f"{path}.customfields"):
            problems.required(cf, cf_path, "cfId")
            items = cf.get("value")
            if items is None or not problems.is_list(items, f"{cf_path}.value"):
                continue
            for index, item in enumerate(items):
                if isinstance(item, Mapping | str | int | float) and not isinstance(item, bool):
                    continue
                problems.add(
                    f"{cf_path}.value[{index}]",
                    f"expected {{id, title}} or a title, got {kind_of(item)}",
                )
