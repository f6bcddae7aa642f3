"""Located problems of a ``jira`` seed section (its shape is described in :mod:`.seed`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from okrsync.sandbox.jira.model import CATEGORIES, parse_time
from okrsync.sandbox.seed_check import Problems, kind_of

__all__ = ["check_section"]

SECTION_KEYS = frozenset({"fields", "projects", "statuses", "users", "screens", "issues"})
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_TIMES = ("created", "updated", "resolutiondate")
#: Fields whose value is an object naming something by ``name`` (or ``key``).
_NAMED = {"status": "name", "issuetype": "name", "project": "key", "parent": "key"}


def check_section(section: Any, where: str = "jira") -> list[str]:
    """Every problem of a ``jira`` seed section, each with its path."""
    problems = Problems()
    if section is None:
        return []
    if not problems.is_mapping(section, where):
        return problems.found
    problems.known_keys(section, where, SECTION_KEYS)
    for path, field in problems.records(section.get("fields"), f"{where}.fields"):
        problems.required(field, path, "id", "name")
        options = field.get("options") or field.get("allowedValues")
        if options is not None and problems.is_list(options, f"{path}.options"):
            for index, option in enumerate(options):
                if not isinstance(option, str | Mapping) or (
                    isinstance(option, Mapping) and "value" not in option
                ):
                    problems.add(f"{path}.options[{index}]", "expected a value or {id, value}")
    for path, project in problems.records(section.get("projects"), f"{where}.projects"):
        problems.required(project, path, "key")
    for path, status in problems.records(section.get("statuses"), f"{where}.statuses"):
        problems.required(status, path, "name")
        category = status_category(status)
        if category is not None:
            problems.one_of(category, f"{path}.category", tuple(CATEGORIES))
    for path, user in problems.records(section.get("users"), f"{where}.users"):
        if not any(user.get(k) for k in ("accountId", "key", "name")):
            problems.add(path, "missing 'accountId' (or 'name')")
    screens = section.get("screens")
    if screens is not None and problems.is_mapping(screens, f"{where}.screens"):
        for project, ids in screens.items():
            problems.is_list(ids, f"{where}.screens.{project}")
    keys: set[str] = set()
    for path, issue in problems.records(section.get("issues"), f"{where}.issues"):
        _issue(problems, issue, path, keys)
    return problems.found


def status_category(status: Mapping[str, Any]) -> Any:
    """A seeded status's category key: ``category``, or ``statusCategory.key`` as in the
    REST status JSON; None when neither is given."""
    if status.get("category") is not None:
        return status["category"]
    nested = status.get("statusCategory")
    return nested.get("key") if isinstance(nested, Mapping) else None


def _issue(problems: Problems, issue: Mapping[str, Any], path: str, keys: set[str]) -> None:
    key = issue.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        problems.add(f"{path}.key", f"expected an issue key like 'PAY-12', got {key!r}")
    elif key.upper() in keys:
        problems.add(f"{path}.key", f"duplicate issue key {key!r}")
    else:
        keys.add(key.upper())
    if issue.get("id") not in (None, "") and not str(issue["id"]).isdigit():
        problems.add(f"{path}.id", f"expected a numeric id, got {issue['id']!r}")
    fields = issue.get("fields")
    if fields is None or not problems.is_mapping(fields, f"{path}.fields"):
        return
    for name, inner in _NAMED.items():
        value = fields.get(name)
        if value is None:
            continue
        where = f"{path}.fields.{name}"
        if problems.is_mapping(value, where):
            problems.required(value, where, inner)
    status = fields.get("status")
    if isinstance(status, Mapping):
        category = status_category(status)
        if category is not None:
            problems.one_of(category, f"{path}.fields.status.statusCategory.key", tuple(CATEGORIES))
    for name in _TIMES:
        value = fields.get(name)
        if value in (None, ""):
            continue
        try:
            parse_time(str(value))
        except ValueError:
            message = f"expected a Jira or ISO 8601 time, got {value!r}"
            problems.add(f"{path}.fields.{name}", message)
    comment = fields.get("comment")
    if comment is not None and problems.is_mapping(comment, f"{path}.fields.comment"):
        list(problems.records(comment.get("comments"), f"{path}.fields.comment.comments"))
    labels = fields.get("labels")
    if labels is not None and problems.is_list(labels, f"{path}.fields.labels"):
        for index, label in enumerate(labels):
            if not isinstance(label, str):
                message = f"expected text, got {kind_of(label)}"
                problems.add(f"{path}.fields.labels[{index}]", message)
