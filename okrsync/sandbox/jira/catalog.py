"""Reference data of a Jira sandbox: fields, projects, statuses, issue types, users, screens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from okrsync.sandbox.jira.model import (
    CATEGORIES,
    CF,
    CUSTOM_TYPES,
    DEFAULT_ISSUE_TYPES,
    DEFAULT_STATUSES,
    EPIC_LINK_TYPE,
    STORY_POINTS_TYPE,
    FieldDef,
    Issue,
    StatusDef,
    User,
    system_fields,
)

ALWAYS_READ_ONLY = frozenset(
    {
        "issuekey",
        "project",
        "status",
        "statusCategory",
        "resolution",
        "resolutiondate",
        "created",
        "updated",
        "subtasks",
        "comment",
        "timeoriginalestimate",
    }
)


class Catalog:
    """What issues refer to; :class:`~okrsync.sandbox.jira.store.JiraStore` adds the issues."""

    def __init__(self, flavour: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.flavour = flavour
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.fields: dict[str, FieldDef] = {f.id: f for f in system_fields()}
        self.projects: dict[str, dict[str, str]] = {}
        self.statuses: dict[str, StatusDef] = {s.name.lower(): s for s in DEFAULT_STATUSES}
        self.issue_types: dict[str, dict[str, Any]] = {
            name.lower(): {"id": tid, "name": name, "subtask": level == -1, "hierarchyLevel": level}
            for name, (tid, level) in DEFAULT_ISSUE_TYPES.items()
        }
        self.users: list[User] = []
        self.screens: dict[str, frozenset[str]] = {}
        #: Bumped on every change; search results are cached per version.
        self.version = 0
        self._clauses: dict[str, str] | None = None

    def add_field(self, fdef: FieldDef) -> FieldDef:
        """Register (or replace) a field definition."""
        with self.lock:
            self.fields[fdef.id] = fdef
            self._clauses = None
            self.version += 1
            return fdef

    def create_custom_field(
        self, name: str, type_key: str, description: str | None = None, options: Iterable[str] = ()
    ) -> FieldDef:
        """Create a custom field the way ``POST /field`` does; returns its definition."""
        with self.lock:
            ids = [int(f.id.split("_")[1]) for f in self.fields.values() if f.custom]
            number = max([10199, *ids]) + 1
            fid = f"customfield_{number}"
            schema = {
                **CUSTOM_TYPES.get(type_key, {"type": "any"}),
                "custom": type_key,
                "customId": number,
            }
            fdef = FieldDef(
                fid,
                name,
                True,
                schema,
                [f"cf[{number}]", name],
                description=description,
                options=[{"id": str(number * 10 + i), "value": v} for i, v in enumerate(options)],
            )
            return self.add_field(fdef)

    def field_for_clause(self, clause: str) -> FieldDef | None:
        """The field a JQL clause name (lower-case) refers to."""
        with self.lock:
            if self._clauses is None:
                clauses: dict[str, str] = {}
                for fdef in self.fields.values():
                    for name in [*fdef.clause_names, fdef.name] if fdef.custom else []:
                        clauses.setdefault(name.lower(), fdef.id)
                self._clauses = clauses
            fid = self._clauses.get(clause.lower())
            return None if fid is None else self.fields.get(fid)

    def field_by_type(self, custom_type: str) -> FieldDef | None:
        """The first custom field of the given type key."""
        return next((f for f in self.fields.values() if f.custom_type == custom_type), None)

    @property
    def epic_link_field(self) -> str | None:
        """Id of the Epic Link custom field, if defined."""
        found = self.field_by_type(EPIC_LINK_TYPE)
        return None if found is None else found.id

    @property
    def story_points_field(self) -> str | None:
        """Id of the story points field ("Story Points" or "Story point estimate")."""
        for fdef in self.fields.values():
            if fdef.custom_type == STORY_POINTS_TYPE or (
                fdef.custom_type == CF + "float" and fdef.name.lower() == "story points"
            ):
                return fdef.id
        return None

    def ensure_project(self, key: str, name: str | None = None, pid: str | None = None) -> None:
        """Register a project (idempotent)."""
        with self.lock:
            if key not in self.projects:
                number = 10000 + len(self.projects)
                self.projects[key] = {"id": pid or str(number), "key": key, "name": name or key}

    def project_aliases(self) -> set[str]:
        """Every project key, id and name (lower-case)."""
        return {str(v).lower() for p in self.projects.values() for v in p.values()}

    def status_aliases(self) -> set[str]:
        """Every status name and id (lower-case)."""
        return {s.name.lower() for s in self.statuses.values()} | {
            s.id for s in self.statuses.values()
        }

    def issue_type_aliases(self) -> set[str]:
        """Every issue type name and id (lower-case)."""
        return {t["name"].lower() for t in self.issue_types.values()} | {
            str(t["id"]) for t in self.issue_types.values()
        }

    def status_json(self, name: str) -> dict[str, Any]:
        """The REST ``status`` object for a status name (KeyError when unknown)."""
        status = self.statuses[name.lower()]
        cat_id, cat_name, colour = CATEGORIES[status.category]
        return {
            "description": "",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "id": cat_id,
                "key": status.category,
                "colorName": colour,
                "name": cat_name,
            },
        }

    def issue_type_json(self, name: str) -> dict[str, Any]:
        """The REST ``issuetype`` object for a type name (KeyError when unknown)."""
        found = self.issue_types[name.lower()]
        return {
            "id": found["id"],
            "description": "",
            "name": found["name"],
            "subtask": found["subtask"],
            "hierarchyLevel": found["hierarchyLevel"],
        }

    def user_for(self, ident: str) -> User | None:
        """A user by account id, name, key or email."""
        wanted = ident.lower()
        for user in self.users:
            if wanted in {user.account_id.lower(), user.name.lower(), user.email.lower()}:
                return user
        return None

    def editable_fields(self, issue: Issue) -> set[str]:
        """Field ids on the issue's edit screen (what a PUT may set)."""
        with self.lock:
            if issue.editable is not None:
                listed: Iterable[str] = issue.editable
            elif issue.project in self.screens:
                listed = self.screens[issue.project]
            else:
                listed = [f.id for f in self.fields.values() if f.editable]
            allowed = {f for f in listed if f in self.fields and f not in ALWAYS_READ_ONLY}
            epic_link = self.epic_link_field
            if self.flavour == "cloud":
                allowed.discard(epic_link or "")
                if issue.is_epic or issue.is_subtask:
                    allowed.discard("parent")
            else:
                allowed.discard("parent")
                if issue.is_epic or issue.is_subtask:
                    allowed.discard(epic_link or "")
            return allowed
