"""Data model of the Jira sandbox: field definitions, statuses, users, issues, time format."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

FLAVOURS = ("cloud", "datacenter")
CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
SPRINT_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
STORY_POINTS_TYPE = "com.pyxis.greenhopper.jira:jsw-story-points"

#: Schema ``type`` of each custom field type the sandbox understands.
CUSTOM_TYPES: dict[str, dict[str, str]] = {
    CF + "float": {"type": "number"},
    STORY_POINTS_TYPE: {"type": "number"},
    CF + "textfield": {"type": "string"},
    CF + "textarea": {"type": "string"},
    CF + "url": {"type": "string"},
    CF + "select": {"type": "option"},
    CF + "radiobuttons": {"type": "option"},
    CF + "datetime": {"type": "datetime"},
    CF + "datepicker": {"type": "date"},
    CF + "labels": {"type": "array", "items": "string"},
    CF + "userpicker": {"type": "user"},
    EPIC_LINK_TYPE: {"type": "any"},
    SPRINT_TYPE: {"type": "array", "items": "json"},
}


def jira_time(moment: datetime) -> str:
    """Jira's timestamp format, e.g. ``2026-11-01T10:00:00.000+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def iso_time(moment: datetime) -> str:
    """RFC 3339 timestamp (for schemas declaring ``format: date-time``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_TZ = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def parse_time(text: str) -> datetime:
    """Parse Jira/ISO timestamps (``...+0000``, ``...Z``, ``...+00:00``, date only).

    Raises ValueError for anything else. Naive values are taken as UTC.
    """
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = _TZ.search(value)
    tz: timezone | None = None
    if match and "T" in value:
        sign = 1 if match.group(1) == "+" else -1
        tz = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
        value = value[: match.start()]
    parsed = datetime.fromisoformat(value)
    if tz is not None:
        parsed = parsed.replace(tzinfo=tz)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass
class FieldContext:
    """A custom field context: where the field applies (projects, issue types; empty
    lists mean all) and, for select fields, its options (``id``, ``value``, ``disabled``).
    """

    id: str
    name: str
    description: str = ""
    project_ids: list[str] = field(default_factory=list)
    issue_type_ids: list[str] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        """Whether the context applies to every project."""
        return not self.project_ids

    @property
    def any_issue_type(self) -> bool:
        """Whether the context applies to every issue type."""
        return not self.issue_type_ids

    def applies(self, project_id: str, issue_type_id: str) -> bool:
        """Whether an issue of this project and type falls under the context."""
        return (self.is_global or project_id in self.project_ids) and (
            self.any_issue_type or issue_type_id in self.issue_type_ids
        )

    def details(self) -> dict[str, Any]:
        """The ``CustomFieldContext`` JSON."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "isGlobalContext": self.is_global,
            "isAnyIssueType": self.any_issue_type,
        }


@dataclass
class FieldDef:
    """One field as ``GET /field`` describes it, plus sandbox-only knowledge."""

    id: str
    name: str
    custom: bool
    schema: dict[str, Any] | None
    clause_names: list[str]
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True
    editable: bool = True  # may appear on an edit screen at all
    contexts: list[FieldContext] = field(default_factory=list)  # custom fields only
    description: str | None = None

    @property
    def custom_type(self) -> str | None:
        """The custom field type key (``...:float``), None for system fields."""
        return (self.schema or {}).get("custom")

    @property
    def type(self) -> str:
        """Schema type (``number``, ``string``, ``option``...)."""
        return (self.schema or {}).get("type", "any")

    @property
    def has_options(self) -> bool:
        """Whether the field's values are options of its contexts (select, radio)."""
        return self.custom and self.type == "option"

    @property
    def options(self) -> list[dict[str, str]]:
        """Every option of every context (``id`` and ``value``), disabled ones included."""
        return [
            {"id": str(o["id"]), "value": str(o["value"])} for c in self.contexts for o in c.options
        ]

    def details(self) -> dict[str, Any]:
        """The ``FieldDetails`` JSON."""
        out: dict[str, Any] = {
            "id": self.id,
            "key": self.id,
            "name": self.name,
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": self.navigable,
            "searchable": self.searchable,
            "clauseNames": list(self.clause_names),
        }
        if self.schema is not None:
            out["schema"] = dict(self.schema)
        return out


def _system(
    fid: str,
    name: str,
    schema: dict[str, Any] | None,
    clauses: list[str],
    *,
    editable: bool = True,
    navigable: bool = True,
    orderable: bool = True,
) -> FieldDef:
    if schema is not None:
        schema = {**schema, "system": fid}
    return FieldDef(
        fid,
        name,
        False,
        schema,
        clauses,
        navigable=navigable,
        orderable=orderable,
        editable=editable,
    )


def system_fields() -> list[FieldDef]:
    """Jira's system fields the sandbox serves, in ``GET /field`` order."""
    return [
        _system("issuekey", "Key", None, ["id", "issue", "issuekey", "key"], editable=False),
        _system("summary", "Summary", {"type": "string"}, ["summary"]),
        _system("description", "Description", {"type": "string"}, ["description"]),
        _system("issuetype", "Issue Type", {"type": "issuetype"}, ["issuetype", "type"]),
        _system("project", "Project", {"type": "project"}, ["project"], editable=False),
        _system("parent", "Parent", None, ["parent"]),
        _system("status", "Status", {"type": "status"}, ["status"], editable=False),
        _system(
            "statusCategory",
            "Status Category",
            {"type": "statusCategory"},
            ["statusCategory"],
            editable=False,
        ),
        _system("resolution", "Resolution", {"type": "resolution"}, ["resolution"], editable=False),
        _system(
            "resolutiondate",
            "Resolved",
            {"type": "datetime"},
            ["resolutiondate", "resolved"],
            editable=False,
        ),
        _system("priority", "Priority", {"type": "priority"}, ["priority"]),
        _system("labels", "Labels", {"type": "array", "items": "string"}, ["labels"]),
        _system("assignee", "Assignee", {"type": "user"}, ["assignee"]),
        _system("reporter", "Reporter", {"type": "user"}, ["reporter"]),
        _system(
            "created", "Created", {"type": "datetime"}, ["created", "createdDate"], editable=False
        ),
        _system(
            "updated", "Updated", {"type": "datetime"}, ["updated", "updatedDate"], editable=False
        ),
        _system("duedate", "Due date", {"type": "date"}, ["due", "duedate"]),
        _system(
            "fixVersions", "Fix versions", {"type": "array", "items": "version"}, ["fixVersion"]
        ),
        _system("components", "Components", {"type": "array", "items": "component"}, ["component"]),
        _system(
            "timeoriginalestimate",
            "Original estimate",
            {"type": "number"},
            ["originalEstimate", "timeoriginalestimate"],
            editable=False,
        ),
        _system(
            "subtasks",
            "Sub-tasks",
            {"type": "array", "items": "issuelinks"},
            ["subtasks"],
            editable=False,
            orderable=False,
        ),
        _system(
            "comment",
            "Comment",
            {"type": "comments-page"},
            ["comment"],
            editable=False,
            navigable=False,
            orderable=False,
        ),
    ]


@dataclass(frozen=True)
class StatusDef:
    """A workflow status and its category (``new``, ``indeterminate``, ``done``)."""

    id: str
    name: str
    category: str


CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}

DEFAULT_STATUSES = [
    StatusDef("10000", "To Do", "new"),
    StatusDef("3", "In Progress", "indeterminate"),
    StatusDef("10001", "In Review", "indeterminate"),
    StatusDef("10002", "Done", "done"),
]

DEFAULT_ISSUE_TYPES: dict[str, tuple[str, int, int, str]] = {
    # name -> (id, hierarchyLevel, avatarId, description), as a new Jira site has them
    "Epic": ("10000", 1, 10307, "A big user story that needs to be broken down."),
    "Story": ("10001", 0, 10315, "Functionality or a feature expressed as a user goal."),
    "Task": ("10002", 0, 10318, "A small, distinct piece of work."),
    "Bug": ("10004", 0, 10303, "A problem or error."),
    "Sub-task": ("10003", -1, 10316, "A small piece of work that's part of a larger task."),
}

PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]


@dataclass
class User:
    """A sandbox user and its credentials.

    ``read_only`` users get 403 on writes; ``projects`` (when set) limits which projects the
    user can browse (other issues answer 404); ``admin`` may create fields and override
    screen security.
    """

    account_id: str
    name: str
    display_name: str
    email: str
    token: str | None = None  # Cloud API token (basic auth with the email)
    pat: str | None = None  # DC personal access token (Bearer)
    password: str | None = None  # DC basic auth with the user name
    read_only: bool = False
    admin: bool = False
    projects: frozenset[str] | None = None

    def can_browse(self, project: str) -> bool:
        """Whether this user may see issues of ``project``."""
        return self.projects is None or project in self.projects


@dataclass
class Issue:
    """One stored issue.

    ``fields`` holds the stored REST values; ``parent`` is the parent of a sub-task,
    ``epic`` the epic of a standard issue (rendered as ``parent`` on Cloud and as the Epic
    Link custom field on Data Center).
    """

    id: int
    key: str
    project: str
    fields: dict[str, Any]
    parent: str | None = None
    epic: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    editable: frozenset[str] | None = None

    @property
    def number(self) -> int:
        """The number after the dash in the key."""
        return int(self.key.rsplit("-", 1)[1])

    @property
    def is_subtask(self) -> bool:
        """Whether the issue type is a sub-task type."""
        return bool((self.fields.get("issuetype") or {}).get("subtask"))

    @property
    def is_epic(self) -> bool:
        """Whether the issue type sits at the epic level."""
        return (self.fields.get("issuetype") or {}).get("hierarchyLevel") == 1

    @property
    def updated(self) -> str:
        """The ``updated`` timestamp as stored."""
        return str(self.fields.get("updated") or "")
