"""How each JQL field reads an issue: aliases, ordered values, text, sort value, index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.jira.jql import FieldRef, Function, JQLError, Value
from okrsync.sandbox.jira.model import (
    EPIC_LINK_TYPE,
    PRIORITIES,
    SPRINT_TYPE,
    FieldDef,
    Issue,
    parse_time,
)
from okrsync.sandbox.jira.values import adf_text

if TYPE_CHECKING:
    from okrsync.sandbox.jira.query import QueryContext

ALIAS_OPS = frozenset({"=", "!=", "IN", "NOT IN", "IS", "IS NOT"})
ORDERED_OPS = ALIAS_OPS | {">", ">=", "<", "<="}
UNRESOLVED = "unresolved"
TEXT_OPS = frozenset({"~", "!~", "IS", "IS NOT"})
_PRIORITY_RANK = {name.lower(): len(PRIORITIES) - i for i, (_, name) in enumerate(PRIORITIES)}
_DATE_FIELDS = {
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "resolved": "resolutiondate",
    "resolutiondate": "resolutiondate",
    "due": "duedate",
    "duedate": "duedate",
}


def _no_aliases(issue: Issue) -> set[str]:
    return set()


def _no_values(issue: Issue) -> list[Any]:
    return []


def _no_text(issue: Issue) -> str:
    return ""


@dataclass
class FieldSpec:
    """A field as JQL sees it."""

    display: str
    kind: str  # "alias", "number", "date" or "text"
    ops: frozenset[str]
    aliases: Callable[[Issue], set[str]] = _no_aliases
    ordered: Callable[[Issue], list[Any]] = _no_values
    text: Callable[[Issue], str] = _no_text
    sort: Callable[[Issue], Any] | None = None
    validate: Callable[[str, QueryContext], None] | None = None
    rank: Callable[[Issue], tuple[str, int] | None] | None = None
    #: The rank an operand stands for (default: an issue key's project and number).
    rank_of: Callable[[str], tuple[str, int] | None] | None = None
    index: str | None = None
    date_only: bool = False

    def is_empty(self, issue: Issue) -> bool:
        """Whether the issue has no value for this field."""
        if self.kind == "text":
            return not self.text(issue).strip()
        if self.kind == "alias":
            # An unresolved issue answers to ``resolution = Unresolved`` yet is EMPTY.
            return not self.aliases(issue) - {UNRESOLVED}
        return not self.ordered(issue)

    def sort_value(self, issue: Issue) -> Any:
        """A comparable value for ORDER BY (None when empty)."""
        if self.sort is not None:
            return self.sort(issue)
        if self.kind == "text":
            return self.text(issue).lower() or None
        if self.kind == "alias":
            found = sorted(self.aliases(issue))
            return " ".join(found) or None
        values = self.ordered(issue)
        return min(values) if values else None

    def operand_aliases(self, operand: Value | Function, ctx: QueryContext) -> set[str]:
        """Lower-case aliases an operand stands for (functions expanded)."""
        if isinstance(operand, Function):
            name = operand.name.lower()
            if name == "currentuser" and ctx.user is not None:
                return {ctx.user.account_id.lower(), ctx.user.name.lower()}
            states = {"opensprints": "active", "closedsprints": "closed", "futuresprints": "future"}
            if name in states:
                return {f"state:{states[name]}"}
            if name in ISSUE_TYPE_FUNCTIONS:
                return _issue_types_of(operand, ctx, subtask=name == "subtaskissuetypes")
            raise JQLError(f"Unable to find JQL function '{operand.name}()'.")
        if self.validate is not None:
            self.validate(operand.text, ctx)
        return {operand.text.lower()}

    def rank_operand(self, operand: Value | Function, ctx: QueryContext) -> tuple[str, int] | None:
        """Ordering for range operators (``key > PAY-5``, ``priority >= High``)."""
        if isinstance(operand, Function):
            raise JQLError(f"Unable to find JQL function '{operand.name}()'.")
        if self.validate is not None:
            self.validate(operand.text, ctx)
        return (self.rank_of or _key_rank)(operand.text)


#: Functions listing issue types: ``issuetype in standardIssueTypes()`` (every type that is
#: not a sub-task type, epics included) and ``issuetype in subTaskIssueTypes()``.
ISSUE_TYPE_FUNCTIONS = {"standardissuetypes", "subtaskissuetypes"}


def _issue_types_of(operand: Function, ctx: QueryContext, *, subtask: bool) -> set[str]:
    if operand.args:
        raise JQLError(
            f"Function '{operand.name}' expected '0' arguments but received '{len(operand.args)}'."
        )
    found: set[str] = set()
    for record in ctx.store.issue_types.values():
        if bool(record.get("subtask")) == subtask:
            found |= {str(record["name"]).lower(), str(record["id"])}
    return found


def _priority_rank(name_or_id: str) -> tuple[str, int] | None:
    """Priorities rank Highest above Lowest (``priority > Medium`` means more urgent)."""
    for pid, name in PRIORITIES:
        if name_or_id.lower() in (name.lower(), pid):
            return ("priority", _PRIORITY_RANK[name.lower()])
    return None


def _key_rank(key: str) -> tuple[str, int] | None:
    project, _, number = key.upper().rpartition("-")
    return (project, int(number)) if project and number.isdigit() else None


def _names(value: Any) -> set[str]:
    """Aliases of a REST value: names, ids, keys, account ids (lower-case)."""
    if value is None:
        return set()
    if isinstance(value, list):
        out: set[str] = set()
        for item in value:
            out |= _names(item)
        return out
    if isinstance(value, dict):
        found = set()
        for attr in ("name", "value", "id", "key", "accountId", "emailAddress", "displayName"):
            if value.get(attr) is not None:
                found.add(str(value[attr]).lower())
        if "state" in value:
            found.add(f"state:{str(value['state']).lower()}")
        return found
    return {str(value).lower()}


def _stored(fid: str) -> Callable[[Issue], set[str]]:
    return lambda issue: _names(issue.fields.get(fid))


def _issue_aliases(ctx: QueryContext, key: str | None) -> set[str]:
    if key is None:
        return set()
    other = ctx.store.get(key)
    if other is None:
        return {key.lower()}
    return {other.key.lower(), str(other.id), *ctx.store.former_keys(other.key)}


def _key_checker(display: str) -> Callable[[str, QueryContext], None]:
    def check(text: str, ctx: QueryContext) -> None:
        if ctx.store.get(text) is None:
            if text.isdigit():
                ctx.invalid(f"A value with ID '{text}' does not exist for the field '{display}'.")
            else:
                ctx.invalid(f"An issue with key '{text}' does not exist for field '{display}'.")

    return check


def _value_checker(display: str, known: Callable[[], set[str]]) -> Callable[[str, Any], None]:
    def check(text: str, ctx: QueryContext) -> None:
        if text.lower() not in known():
            ctx.invalid(f"The value '{text}' does not exist for the field '{display}'.")

    return check


def _key_sort(key: str | None) -> Any:
    return None if key is None else _key_rank(key)


def _system_spec(name: str, ctx: QueryContext) -> FieldSpec | None:
    store = ctx.store
    if name == "project":
        return FieldSpec(
            "project",
            "alias",
            ALIAS_OPS,
            aliases=lambda i: _names(store.projects.get(i.project)),
            sort=lambda i: i.project,
            index="project",
            validate=_value_checker("project", store.project_aliases),
        )
    if name in {"key", "issuekey", "id", "issue"}:
        return FieldSpec(
            name,
            "alias",
            ORDERED_OPS,
            aliases=lambda i: {i.key.lower(), str(i.id), *store.former_keys(i.key)},
            sort=lambda i: _key_rank(i.key),
            rank=lambda i: _key_rank(i.key),
            validate=_key_checker(name),
            index="key",
        )
    if name in {"issuetype", "type"}:
        return FieldSpec(
            name,
            "alias",
            ALIAS_OPS,
            aliases=_stored("issuetype"),
            validate=_value_checker(name, store.issue_type_aliases),
        )
    if name == "status":
        return FieldSpec(
            "status",
            "alias",
            ALIAS_OPS,
            aliases=_stored("status"),
            validate=_value_checker("status", store.status_aliases),
        )
    if name == "statuscategory":
        return FieldSpec(
            "statusCategory",
            "alias",
            ALIAS_OPS,
            aliases=lambda i: _names((i.fields.get("status") or {}).get("statusCategory")),
        )
    if name == "resolution":
        return FieldSpec(
            "resolution",
            "alias",
            ALIAS_OPS,
            aliases=lambda i: _names(i.fields.get("resolution")) or {UNRESOLVED},
        )
    if name == "priority":

        def priority_rank(issue: Issue) -> tuple[str, int] | None:
            return _priority_rank(str((issue.fields.get("priority") or {}).get("name", "")))

        return FieldSpec(
            "priority",
            "alias",
            ORDERED_OPS,
            aliases=_stored("priority"),
            sort=lambda i: (priority_rank(i) or ("", None))[1],
            rank=priority_rank,
            rank_of=_priority_rank,
        )
    if name in {"labels", "assignee", "reporter"}:
        return FieldSpec(name, "alias", ALIAS_OPS, aliases=_stored(name))
    if name in {"fixversion", "component"}:
        fid = "fixVersions" if name == "fixversion" else "components"
        return FieldSpec(name, "alias", ALIAS_OPS, aliases=_stored(fid))
    if name == "parent":
        cloud = store.flavour == "cloud"

        def parents(issue: Issue) -> set[str]:
            found = _issue_aliases(ctx, issue.parent)
            return found | _issue_aliases(ctx, issue.epic) if cloud else found

        return FieldSpec(
            "parent",
            "alias",
            ALIAS_OPS,
            aliases=parents,
            index="parent",
            sort=lambda i: _key_sort(i.parent or (i.epic if cloud else None)),
            validate=_key_checker("parent"),
        )
    if name == "rank":
        # Jira Software's Rank (a LexoRank custom field) orders issues globally; the sandbox
        # ranks issues in creation order (by id). Rank is for ORDER BY only.
        return FieldSpec("Rank", "alias", frozenset(), sort=lambda i: i.id)
    if name in _DATE_FIELDS:
        fid = _DATE_FIELDS[name]
        return _date_spec(
            name, fid, date_only=fid == "duedate", index="updated" if fid == "updated" else None
        )
    if name in {"summary", "description", "comment"}:
        fid = name

        def text(issue: Issue) -> str:
            if fid == "comment":
                return " ".join(adf_text(c.get("body")) for c in issue.comments)
            return adf_text(issue.fields.get(fid))

        return FieldSpec(name, "text", TEXT_OPS, text=text)
    if name == "text":
        texts = [f.id for f in store.fields.values() if f.type == "string"]
        return FieldSpec(
            "text",
            "text",
            TEXT_OPS,
            text=lambda i: " ".join(
                [adf_text(i.fields.get(t)) for t in texts]
                + [adf_text(c.get("body")) for c in i.comments]
            ),
        )
    return None


def _date_spec(display: str, fid: str, *, date_only: bool, index: str | None = None) -> FieldSpec:
    def values(issue: Issue) -> list[datetime]:
        raw = issue.fields.get(fid)
        return [parse_time(str(raw))] if raw else []

    return FieldSpec(display, "date", ORDERED_OPS, ordered=values, index=index, date_only=date_only)


def _custom_spec(fdef: FieldDef, ctx: QueryContext) -> FieldSpec:
    fid, display, kind = fdef.id, fdef.name, fdef.type
    ctype = fdef.custom_type
    if ctype == EPIC_LINK_TYPE:
        # Data Center: the Epic Link field holds the epic's key. Cloud replaced it with
        # ``parent`` (Atlassian, "Deprecation of the Epic Link, Parent Link and other related
        # fields in REST APIs and webhooks": consume ``parent``, not ``customfield_10014``):
        # the locked field is still listed and still names epic children in JQL, as an alias
        # of ``parent`` for epics, but an issue's ``customfield_10014`` reads null; its epic
        # is in ``parent``. So on both flavours this clause matches the epic's children.
        return FieldSpec(
            display,
            "alias",
            ALIAS_OPS,
            index="epic",
            aliases=lambda i: _issue_aliases(ctx, i.epic),
            sort=lambda i: _key_sort(i.epic),
            validate=_key_checker(display),
        )
    if ctype == SPRINT_TYPE:
        return FieldSpec(display, "alias", ALIAS_OPS, aliases=_stored(fid))
    if kind == "number":

        def numbers(issue: Issue) -> list[float]:
            raw = issue.fields.get(fid)
            return [float(raw)] if isinstance(raw, int | float) else []

        return FieldSpec(display, "number", ORDERED_OPS, ordered=numbers)
    if kind in {"datetime", "date"}:
        return _date_spec(display, fid, date_only=kind == "date")
    if kind == "string":
        return FieldSpec(display, "text", TEXT_OPS, text=lambda i: adf_text(i.fields.get(fid)))
    if kind == "option":
        known = {str(o.get("value", "")).lower() for o in fdef.options}
        known |= {str(o.get("id", "")) for o in fdef.options}

        def check(text: str, ctx: QueryContext) -> None:
            if text.lower() not in known:
                ctx.invalid(f"The option '{text}' for field '{display}' does not exist.")

        return FieldSpec(display, "alias", ALIAS_OPS, aliases=_stored(fid), validate=check)
    return FieldSpec(display, "alias", ALIAS_OPS, aliases=_stored(fid))


def _property_spec(ref: FieldRef) -> FieldSpec:
    key, path = ref.prop_key or "", ref.prop_path

    def aliases(issue: Issue) -> set[str]:
        value: Any = issue.properties.get(key)
        for part in path.split(".") if path else []:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return {str(value).lower()}
        if isinstance(value, float) and value.is_integer():
            return {str(value).lower(), str(int(value))}
        return _names(value) if not isinstance(value, dict) else set()

    display = f"issue.property[{key}]" + (f".{path}" if path else "")
    return FieldSpec(display, "alias", ALIAS_OPS, aliases=aliases)


def resolve_field(ref: FieldRef, ctx: QueryContext) -> FieldSpec:
    """The :class:`FieldSpec` for a field reference, or Jira's unknown-field error."""
    if ref.prop_key is not None:
        return _property_spec(ref)
    name = ref.name.lower()
    fdef = ctx.store.field_for_clause(name)
    if fdef is not None and fdef.custom:
        return _custom_spec(fdef, ctx)
    spec = _system_spec(name, ctx)
    if spec is not None:
        return spec
    if name == "epic link" or name == "sprint":
        wanted = EPIC_LINK_TYPE if name == "epic link" else SPRINT_TYPE
        for candidate in ctx.store.fields.values():
            if candidate.custom_type == wanted:
                return _custom_spec(candidate, ctx)
    raise JQLError(f"Field '{ref.name}' does not exist or you do not have permission to view it.")
