"""Build a :class:`JiraStore` from a seed section.

A seed section is JSON (or YAML) of this shape, every key optional::

    {"fields": [<FieldDetails JSON, plus "options": ["On track", {"id": ..., "value": ...,
                "disabled": false}, ...] for the default context of a select>],
     "projects": [{"key": "PAY", "name": "Payments"}],
     "statuses": [{"name": "Blocked", "category": "indeterminate"}],
     "users": [{"accountId": ..., "name": ..., "displayName": ..., "emailAddress": ...,
                "token": ..., "pat": ..., "password": ..., "readOnly": false,
                "admin": false, "projects": ["PAY"]}],
     "screens": {"PAY": ["summary", "customfield_10016"]},
     "issues": [<Jira REST issue JSON; "parent": {"key": ...} or the Epic Link field links
                 an epic; extra top-level "editable": [...] overrides the screen>]}

Issue JSON may be sparse (``{"name": "Done"}`` for a status); the store fills in the rest.
It may also be exactly what ``GET /rest/api/2|3/issue/{key}`` returns: with
``expand=names,schema`` it declares its own custom fields (and a select field's options
are the values the issues hold), so ``fields`` need not list them. A status in
``statuses`` takes ``category`` or the REST ``statusCategory: {key: ...}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from okrsync.sandbox.jira.catalog import DEFAULT_TYPE_AVATAR, issue_type_record
from okrsync.sandbox.jira.model import (
    CUSTOM_TYPES,
    EPIC_LINK_TYPE,
    FieldDef,
    Issue,
    StatusDef,
    User,
    jira_time,
    parse_time,
)
from okrsync.sandbox.jira.seed_check import status_category
from okrsync.sandbox.jira.store import JiraStore
from okrsync.sandbox.seed_check import SeedProblems

DEMO_USERS: list[dict[str, Any]] = [
    {
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "name": "demo",
        "displayName": "Demo User",
        "emailAddress": "demo@okrsync.example",
        "token": "demo-token",
        "pat": "demo-pat",
        "password": "demo-password",
        "admin": True,
    },
    {
        "accountId": "5b10ac8d82e05b22cc7d4ef6",
        "name": "viewer",
        "displayName": "Read-only Viewer",
        "emailAddress": "viewer@okrsync.example",
        "token": "viewer-token",
        "pat": "viewer-pat",
        "readOnly": True,
    },
]


def _field(raw: Mapping[str, Any]) -> tuple[FieldDef, list[dict[str, Any]]]:
    """A field definition and the options of its default context."""
    fid = str(raw["id"])
    custom = bool(raw.get("custom", fid.startswith("customfield_")))
    schema = copy.deepcopy(raw.get("schema"))
    if custom and schema is None and raw.get("type"):
        schema = {**CUSTOM_TYPES.get(str(raw["type"]), {"type": "any"}), "custom": raw["type"]}
    if custom and schema is not None and "customId" not in schema:
        schema["customId"] = int(fid.split("_")[1])
    clauses = list(raw.get("clauseNames") or [])
    if custom and not clauses:
        clauses = [f"cf[{fid.split('_')[1]}]", str(raw["name"])]
    options = []
    for i, opt in enumerate(raw.get("options") or raw.get("allowedValues") or []):
        if isinstance(opt, str):
            opt = {"value": opt}
        options.append(
            {
                "id": str(opt.get("id", 10300 + i + 20 * len(fid))),
                "value": str(opt["value"]),
                "disabled": bool(opt.get("disabled", False)),
            }
        )
    fdef = FieldDef(
        fid,
        str(raw["name"]),
        custom,
        schema,
        clauses,
        navigable=bool(raw.get("navigable", True)),
        orderable=bool(raw.get("orderable", True)),
        searchable=bool(raw.get("searchable", True)),
        description=raw.get("description"),
    )
    return fdef, options


def _user(raw: Mapping[str, Any]) -> User:
    projects = raw.get("projects")
    return User(
        account_id=str(raw.get("accountId") or raw.get("key") or raw["name"]),
        name=str(raw.get("name") or raw.get("key") or raw["accountId"]),
        display_name=str(raw.get("displayName") or raw.get("name") or ""),
        email=str(raw.get("emailAddress") or ""),
        token=raw.get("token"),
        pat=raw.get("pat"),
        password=raw.get("password"),
        read_only=bool(raw.get("readOnly", False)),
        admin=bool(raw.get("admin", False)),
        projects=None if projects is None else frozenset(projects),
    )


def _time(value: Any, default: str) -> str:
    return jira_time(parse_time(str(value))) if value else default


def _option(fdef: FieldDef, value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for opt in fdef.options:
        if opt["value"] == value.get("value") or opt["id"] == str(value.get("id")):
            return dict(opt)
    return value


def _issue(store: JiraStore, raw: Mapping[str, Any], now: str) -> tuple[Issue, str | None]:
    key = str(raw["key"]).upper()
    fields = copy.deepcopy(dict(raw.get("fields") or {}))
    project = str((fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0])
    pinfo = fields.get("project") or {}
    store.ensure_project(project, pinfo.get("name"), pinfo.get("id"))
    fields["project"] = dict(store.projects[project])

    itype = dict(fields.get("issuetype") or {"name": "Story"})
    if itype["name"].lower() not in store.issue_types:
        level = int(itype.get("hierarchyLevel", -1 if itype.get("subtask") else 0))
        store.issue_types[itype["name"].lower()] = issue_type_record(
            str(itype.get("id", 10100 + len(store.issue_types))),
            str(itype["name"]),
            level,
            int(itype.get("avatarId", DEFAULT_TYPE_AVATAR)),
            str(itype.get("description") or ""),
        )
    fields["issuetype"] = store.issue_type_json(itype["name"])

    status = dict(fields.get("status") or {"name": "To Do"})
    if status["name"].lower() not in store.statuses:
        category = (status.get("statusCategory") or {}).get("key", "new")
        store.statuses[status["name"].lower()] = StatusDef(
            str(status.get("id", 10100 + len(store.statuses))), status["name"], category
        )
    fields["status"] = store.status_json(status["name"])
    done = fields["status"]["statusCategory"]["key"] == "done"

    fields["created"] = _time(fields.get("created"), now)
    fields["updated"] = _time(fields.get("updated"), fields["created"])
    if "resolution" not in fields:
        fields["resolution"] = (
            {"id": "10000", "name": "Done", "description": "Work has been completed."}
            if done
            else None
        )
    if fields.get("resolutiondate") or (done and fields["resolution"]):
        fields["resolutiondate"] = _time(fields.get("resolutiondate"), fields["updated"])
    else:
        fields["resolutiondate"] = None
    fields.setdefault("priority", {"id": "3", "name": "Medium"})
    fields.setdefault("labels", [])

    parent = (fields.pop("parent", None) or {}).get("key")
    epic_link = store.epic_link_field
    if epic_link and fields.get(epic_link):
        parent = parent or str(fields[epic_link])
    if epic_link:
        fields.pop(epic_link, None)
    comments = (fields.pop("comment", None) or {}).get("comments") or raw.get("comments") or []
    for fid, value in list(fields.items()):
        fdef = store.fields.get(fid)
        if fdef is not None and fdef.options:
            fields[fid] = _option(fdef, value)
    for drop in ("subtasks", "statusCategory", "issuekey"):
        fields.pop(drop, None)

    editable = raw.get("editable")
    issue = Issue(
        int(raw["id"]) if raw.get("id") else 0,
        key,
        project,
        fields,
        properties=copy.deepcopy(dict(raw.get("properties") or {})),
        comments=[dict(c) for c in comments],
        editable=None if editable is None else frozenset(editable),
    )
    return issue, parent


def _fields_from_issues(store: JiraStore, issues: list[Mapping[str, Any]]) -> None:
    """Declare the custom fields issues describe with ``names`` and ``schema`` (as
    ``expand=names,schema`` returns them) and the seed's ``fields`` did not."""
    found: dict[str, dict[str, Any]] = {}
    for raw in issues:
        names, schemas = raw.get("names") or {}, raw.get("schema") or {}
        for fid, schema in schemas.items():
            if fid.startswith("customfield_") and isinstance(schema, dict) and schema.get("custom"):
                found.setdefault(fid, {"id": fid, "name": names.get(fid, fid), "schema": schema})
    for fid, raw_field in found.items():
        if fid in store.fields:
            continue
        options: dict[str, dict[str, Any]] = {}
        if raw_field["schema"].get("type") == "option":
            for raw in issues:
                value = (raw.get("fields") or {}).get(fid)
                if isinstance(value, dict) and value.get("value") is not None:
                    options.setdefault(str(value["value"]), value)
        store.add_field(*_field({**raw_field, "options": list(options.values())}))


def load_store(section: Mapping[str, Any] | None, flavour: str) -> JiraStore:
    """A new store for ``flavour`` holding the seed section's data."""
    section = section or {}
    store = JiraStore(flavour)
    for raw_field in section.get("fields") or []:
        store.add_field(*_field(raw_field))
    _fields_from_issues(store, section.get("issues") or [])
    for project in section.get("projects") or []:
        store.ensure_project(str(project["key"]), project.get("name"), project.get("id"))
    for status in section.get("statuses") or []:
        store.statuses[str(status["name"]).lower()] = StatusDef(
            str(status.get("id", 10100 + len(store.statuses))),
            str(status["name"]),
            str(status_category(status) or "indeterminate"),
        )
    store.users = [_user(u) for u in (section.get("users") or DEMO_USERS)]
    store.screens = {k: frozenset(v) for k, v in (section.get("screens") or {}).items()}

    now = jira_time(store.clock())
    links: list[tuple[str, str]] = []
    next_id = 10000
    # Seed files are checked before loading (see seed_check); what slips through a check
    # still names the issue it came from.
    for index, raw in enumerate(section.get("issues") or []):
        try:
            issue, parent = _issue(store, raw, now)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"jira.issues[{index}]: cannot load: {type(exc).__name__}: {exc}"
            raise SeedProblems([problem]) from None
        if issue.id == 0:
            issue.id = next_id
        next_id = max(next_id, issue.id) + 1
        store.add_issue(issue)
        if parent:
            links.append((issue.key, parent))
    # Parents may come after their children in the seed, so link once all are stored.
    for key, parent in links:
        if store.get(parent) is not None:
            store.link(key, parent)
    if store.epic_link_field is None and any(store.issue(k).epic for k, _ in links):
        store.add_field(
            *_field({"id": "customfield_10014", "name": "Epic Link", "type": EPIC_LINK_TYPE})
        )
    kept = copy.deepcopy(dict(section))
    store.reload = lambda: load_store(kept, flavour)
    return store
