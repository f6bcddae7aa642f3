"""ORDER BY as Jira validates it, and the sort order it yields.

Jira's ``DefaultOrderByValidator`` checks each sort field in turn and reports every problem:

- a name with no field behind it (an unknown name, ``text``, ``statusCategory``, and on Data
  Center ``parent``): "Not able to sort using field 'x'.";
- a field without a sorter (``description``, ``environment``, ``comment``, multi-line text
  custom fields): "Field 'x' does not support sorting.";
- a field sorted twice, by the same name or through an alias (``key`` and ``id``, ``created``
  and ``createdDate``, ``cf[10016]`` and ``"Story Points"``): "The sort field 'x' is referenced
  multiple times in the JQL sort." (plus "Field 'x' is an alias for field 'y'." for an alias).

The messages are the ``jira.jql.order.by.*`` texts, as Jira's own ``TestDefaultOrderByValidator``
asserts them. Issue properties (``issue.property[k].path``) are not checked, as in Jira.
Cloud's enhanced search also caps the sort at :data:`MAX_SORT_FIELDS` fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync.sandbox.jira.fields import FieldSpec, resolve_field
from okrsync.sandbox.jira.jql import JQLError, SortKey
from okrsync.sandbox.jira.model import CF, EPIC_LINK_TYPE

if TYPE_CHECKING:
    from okrsync.sandbox.jira.query import QueryContext

#: Atlassian's OpenAPI spec, ``jql`` of ``GET/POST /rest/api/3/search/jql``: "Additionally,
#: `orderBy` clause can contain a maximum of 7 fields." (Cloud only; Data Center has no cap.)
MAX_SORT_FIELDS = 7
#: The spec documents the limit but not the refusal's wording; this text is the sandbox's.
TOO_MANY_SORT_FIELDS = f"The ORDER BY clause can contain a maximum of {MAX_SORT_FIELDS} fields."
NOT_ORDERABLE = "Not able to sort using field '{}'."
NOT_SUPPORTED = "Field '{}' does not support sorting."
DUPLICATE = "The sort field '{}' is referenced multiple times in the JQL sort."
TWICE = (
    "The sort field '{0}' is referenced multiple times in the JQL sort. "
    "Field '{0}' is an alias for field '{1}'."
)
#: Clause names with no field behind them (Jira's ``AllTextSearchConstants`` and the
#: ``statusCategory`` clause have no field id).
_NO_FIELD = frozenset({"text", "statuscategory"})
#: Fields Jira has but cannot sort by (no sorter, or not navigable).
_NO_SORTER = frozenset({"description", "environment", "comment"})
_NO_SORTER_TYPES = frozenset({CF + "textarea"})


def _field_id(name: str, ctx: QueryContext) -> str | None:
    """The field a sort name stands for (aliases share it), or None when there is none."""
    store = ctx.store
    cloud = store.flavour == "cloud"
    if name in _NO_FIELD:
        return None
    if name == "parent":
        # Data Center's ``parent`` clause has no field (Jira's ``IssueParentConstants``);
        # on Cloud ``parent`` is the field holding an issue's epic or parent.
        return "parent" if cloud else None
    if name == "rank":
        return "rank"
    fdef = store.field_for_clause(name)
    if fdef is None and name == "epic link":
        fdef = store.field_by_type(EPIC_LINK_TYPE)
    if fdef is not None and fdef.custom:
        if cloud and fdef.custom_type == EPIC_LINK_TYPE:
            return "parent"  # Cloud's "Epic Link" is an alias of parent
        return fdef.id
    for candidate in store.fields.values():
        if not candidate.custom and name in {c.lower() for c in candidate.clause_names}:
            return candidate.id
    return None


def _sortable(fid: str, ctx: QueryContext) -> bool:
    if fid in _NO_SORTER:
        return False
    fdef = ctx.store.fields.get(fid)
    return fdef is None or fdef.custom_type not in _NO_SORTER_TYPES


def sort_order(keys: tuple[SortKey, ...], ctx: QueryContext) -> list[tuple[FieldSpec, bool]]:
    """The specs to sort by; :class:`JQLError` with all of Jira's messages when refused."""
    if ctx.store.flavour == "cloud" and len(keys) > MAX_SORT_FIELDS:
        raise JQLError(TOO_MANY_SORT_FIELDS)
    errors: list[str] = []
    order: list[tuple[FieldSpec, bool]] = []
    seen: dict[str, str] = {}  # field id -> the clause name that sorted by it first
    for key in keys:
        ref = key.field
        if ref.prop_key is not None:
            order.append((resolve_field(ref, ctx), key.descending))
            continue
        fid = _field_id(ref.name.lower(), ctx)
        spec: FieldSpec | None = None
        if fid is not None:
            try:
                spec = resolve_field(ref, ctx)
            except JQLError:
                spec = None
        if fid is None or spec is None:
            errors.append(NOT_ORDERABLE.format(ref.name))
            continue
        if not _sortable(fid, ctx):
            errors.append(NOT_SUPPORTED.format(ref.name))
            continue
        first = seen.get(fid)
        if first is None:
            seen[fid] = ref.name
        elif first == ref.name:
            errors.append(DUPLICATE.format(ref.name))
        else:
            errors.append(TWICE.format(ref.name, first))
        order.append((spec, key.descending))
    if errors:
        raise JQLError(*dict.fromkeys(errors))
    return order
