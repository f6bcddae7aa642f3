"""Evaluate parsed JQL against a :class:`~okrsync.sandbox.jira.store.JiraStore`.

Clauses compile once into predicates over issues. Conjunctions on project, key, parent and
Epic Link (and ranges on ``updated``) first narrow the candidates through the store's
indexes, so queries stay cheap on tens of thousands of issues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okrsync.sandbox.jira import jql
from okrsync.sandbox.jira.fields import FieldSpec, resolve_field
from okrsync.sandbox.jira.jql import Clause, Empty, Function, JQLError, Value
from okrsync.sandbox.jira.model import Issue, User
from okrsync.sandbox.jira.sorting import sort_order
from okrsync.sandbox.jira.values import (
    date_operand,
    number_operand,
    text_matches,
)

if TYPE_CHECKING:
    from okrsync.sandbox.jira.store import JiraStore

Predicate = Callable[[Issue], bool]
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
RANGE_OPS = {">", ">=", "<", "<="}


@dataclass
class QueryContext:
    """What a query is evaluated against: the store, the asking user and the time."""

    store: JiraStore
    user: User | None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    strict: bool = True
    warnings: list[str] = field(default_factory=list)

    def invalid(self, message: str) -> None:
        """Report a value that does not exist: an error when strict, else a warning."""
        if self.strict:
            raise JQLError(message)
        if message not in self.warnings:
            self.warnings.append(message)


def _operands(clause: Clause) -> list[Value | Function]:
    operand = clause.operand
    if isinstance(operand, tuple):
        return list(operand)
    if isinstance(operand, Value | Function):
        return [operand]
    return []


def _compile_clause(clause: Clause, ctx: QueryContext) -> tuple[Predicate, FieldSpec]:
    spec = resolve_field(clause.field, ctx)
    op = clause.op
    if op not in spec.ops:
        raise JQLError(
            f"The operator '{op.lower() if op.isalpha() else op}' is not supported "
            f"by the '{spec.display}' field."
        )
    if isinstance(clause.operand, Empty):
        if op not in {"IS", "IS NOT", "=", "!="}:
            raise JQLError(f"The operator '{op}' does not support the operand EMPTY.")
        want_empty = op in {"IS", "="}
        return (lambda issue: spec.is_empty(issue) == want_empty), spec
    if op in {"IS", "IS NOT"}:
        raise JQLError(f"The operator '{op}' can only be used with the value EMPTY or NULL.")
    if spec.kind == "text":
        terms = [o.text for o in _operands(clause) if isinstance(o, Value)]
        negate = op == "!~"

        def text_pred(issue: Issue) -> bool:
            found = any(text_matches(t, spec.text(issue)) for t in terms)
            return found != negate

        return text_pred, spec
    if spec.kind in {"number", "date"}:
        return _ordered_predicate(clause, spec, ctx), spec
    return _alias_predicate(clause, spec, ctx), spec


def _ordered_predicate(clause: Clause, spec: FieldSpec, ctx: QueryContext) -> Predicate:
    conv = number_operand if spec.kind == "number" else date_operand
    wanted: list[Any] = [conv(o, spec, ctx) for o in _operands(clause)]
    op = clause.op
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda v, w: v == w,
        "IN": lambda v, w: v == w,
        ">": lambda v, w: v > w,
        ">=": lambda v, w: v >= w,
        "<": lambda v, w: v < w,
        "<=": lambda v, w: v <= w,
    }
    if op in {"!=", "NOT IN"}:
        return lambda issue: (
            bool(values := spec.ordered(issue)) and not any(v == w for v in values for w in wanted)
        )
    test = compare[op]
    return lambda issue: any(test(v, w) for v in spec.ordered(issue) for w in wanted)


def _alias_predicate(clause: Clause, spec: FieldSpec, ctx: QueryContext) -> Predicate:
    op = clause.op
    if op in RANGE_OPS:
        if spec.rank is None:
            raise JQLError(f"The operator '{op}' is not supported by the '{spec.display}' field.")
        bounds = [spec.rank_operand(o, ctx) for o in _operands(clause)]
        rank = spec.rank
        compare: dict[str, Callable[[Any, Any], bool]] = {
            ">": lambda v, w: v > w,
            ">=": lambda v, w: v >= w,
            "<": lambda v, w: v < w,
            "<=": lambda v, w: v <= w,
        }
        test = compare[op]

        def ranged(issue: Issue) -> bool:
            mine = rank(issue)
            return mine is not None and any(
                b is not None and mine[0] == b[0] and test(mine[1], b[1]) for b in bounds
            )

        return ranged
    wanted: set[str] = set()
    for operand in _operands(clause):
        wanted |= spec.operand_aliases(operand, ctx)
    if op in {"=", "IN"}:
        return lambda issue: not wanted.isdisjoint(spec.aliases(issue))
    # Jira's negative operators never match issues where the field is empty.
    return lambda issue: not spec.is_empty(issue) and wanted.isdisjoint(spec.aliases(issue))


@dataclass
class Compiled:
    """A compiled query: predicate, index narrowing, and sort key."""

    predicate: Predicate
    candidates: Callable[[], set[str] | None]
    order: list[tuple[FieldSpec, bool]]
    bounded: bool


def _compile(node: jql.Node, ctx: QueryContext) -> tuple[Predicate, Callable[[], set[str] | None]]:
    if isinstance(node, Clause):
        pred, spec = _compile_clause(node, ctx)
        return pred, _index_for(node, spec, ctx)
    if isinstance(node, jql.Not):
        inner, _ = _compile(node.child, ctx)
        return (lambda issue: not inner(issue)), (lambda: None)
    parts = [_compile(child, ctx) for child in node.children]
    preds = [p for p, _ in parts]
    finders = [f for _, f in parts]
    if isinstance(node, jql.And):

        def and_candidates() -> set[str] | None:
            found: set[str] | None = None
            for finder in finders:
                keys = finder()
                if keys is not None:
                    found = keys if found is None else found & keys
            return found

        return (lambda issue: all(p(issue) for p in preds)), and_candidates

    def or_candidates() -> set[str] | None:
        found: set[str] = set()
        for finder in finders:
            keys = finder()
            if keys is None:
                return None
            found |= keys
        return found

    return (lambda issue: any(p(issue) for p in preds)), or_candidates


def _index_for(clause: Clause, spec: FieldSpec, ctx: QueryContext) -> Callable[[], set[str] | None]:
    store = ctx.store
    if spec.index is None or clause.op not in {"=", "IN", ">", ">=", "<", "<="}:
        return lambda: None
    if isinstance(clause.operand, Empty):
        return lambda: None
    if spec.index == "updated":
        if clause.op not in {">", ">="}:
            return lambda: None
        bounds = [date_operand(o, spec, ctx) for o in _operands(clause)]
        return lambda: store.updated_since(min(bounds)) if bounds else None
    if clause.op not in {"=", "IN"}:
        return lambda: None
    wanted: set[str] = set()
    for operand in _operands(clause):
        wanted |= spec.operand_aliases(operand, ctx)
    index = spec.index
    return lambda: store.lookup(index, wanted)


def compile_query(text: str, ctx: QueryContext) -> Compiled:
    """Parse and compile ``text``; raise :class:`JQLError` when it is invalid."""
    parsed = jql.parse(text)
    if parsed.where is None:
        predicate: Predicate = lambda issue: True  # noqa: E731
        finder: Callable[[], set[str] | None] = lambda: None  # noqa: E731
    else:
        predicate, finder = _compile(parsed.where, ctx)
    order = sort_order(parsed.order_by, ctx)
    return Compiled(predicate, finder, order, parsed.where is not None)


class _Reverse:
    """Wraps a sort value so that it sorts in reverse."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def run_query(text: str, ctx: QueryContext, *, require_bounded: bool = False) -> list[Issue]:
    """Issues matching ``text`` that the context user may browse, in the query's order.

    Without ORDER BY the order is ``created DESC``; ties break on the issue id, newest first.
    """
    compiled = compile_query(text, ctx)
    if require_bounded and not compiled.bounded:
        raise JQLError(UNBOUNDED)
    store = ctx.store
    keys = compiled.candidates()
    pool = store.all_issues() if keys is None else store.issues_for(keys)
    user = ctx.user
    found = [
        issue
        for issue in pool
        if (user is None or user.can_browse(issue.project)) and compiled.predicate(issue)
    ]
    order = compiled.order or [(resolve_field(jql.FieldRef("created", 0), ctx), True)]

    def sort_key(issue: Issue) -> tuple[Any, ...]:
        parts: list[Any] = []
        for spec, descending in order:
            value = spec.sort_value(issue)
            # Empty values sort after every value in ascending order, as in Jira.
            item = (1, 0) if value is None else (0, value)
            parts.append(_Reverse(item) if descending else item)
        parts.append(_Reverse(issue.id))
        return tuple(parts)

    found.sort(key=sort_key)
    return found
