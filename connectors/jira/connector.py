"""Jira connector (Cloud and Data Center) built on the pycontribs ``jira`` library.

``JiraConnector`` implements ``connectors.base.Connector``. The pieces live beside it in
this package: ``client`` (library client, retries, paging), ``fetch`` (scopes ->
WorkItems), ``write`` (field reads/writes), ``bootstrap`` (field creation), ``fields``
(names -> ids, value forms), ``query`` (JQL, issue mapping), ``errors`` (user-facing
messages), ``settings`` (the connection model).

Field names are resolved to ids with one ``GET /field`` that is kept until ``refresh()``;
call ``refresh()`` at the start of every cycle so that renamed or newly created fields are
seen (the signed-in user, read for its time zone, is refreshed with it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal

from connectors.base import (
    ConnectorError,
    FetchRequest,
    FetchResult,
    FieldRef,
    FieldWrite,
    K,
    PreflightReport,
    Problem,
    RequestObserver,
)
from connectors.field_names import near_duplicates
from connectors.jira.bootstrap import CreatedField, ensure_fields
from connectors.jira.client import JiraClient
from connectors.jira.counts import confirm_counts
from connectors.jira.errors import Context
from connectors.jira.fetch import Fetcher
from connectors.jira.fields import STATUS_OPTIONS, FieldCatalog, FieldSpec, options_by_hand
from connectors.jira.query import NOT_AN_EPIC_FIX, and_all, chunks, keys_in, split_order_by
from connectors.jira.settings import JiraConnection
from connectors.jira.transport import run_all
from connectors.jira.write import read_fields, write_fields
from connectors.retry import RetryPolicy
from mappings.schema import JiraEpicsScope, JiraIssuesScope, JqlScope, Scope


def _describe(scope: object) -> str:
    if isinstance(scope, JqlScope):
        return f"jql scope '{scope.jql}'"
    if isinstance(scope, JiraEpicsScope):
        return f"epics scope {', '.join(scope.epics)}"
    if isinstance(scope, JiraIssuesScope):
        return f"issues scope {', '.join(scope.issues)}"
    return f"{getattr(scope, 'kind', 'unknown')} scope"


def _missing_field(catalog: FieldCatalog, name: str, here: str) -> Problem:
    """A mapped field the site lacks: a typo gets the close name, not a field creation
    (``fields bootstrap`` refuses to create a near-duplicate of an existing field)."""
    meant = catalog.close_to(name)
    if meant is None:
        return Problem(
            f"field '{name}'",
            f"field '{name}' does not exist on Jira {here}",
            f"create field '{name}' (okrsync fields bootstrap)",
        )
    similar = bool(near_duplicates(name, [meant]))
    create = "okrsync fields bootstrap --allow-similar" if similar else "okrsync fields bootstrap"
    return Problem(
        f"field '{name}'",
        f"field '{name}' does not exist on Jira {here} (did you mean '{meant}'?)",
        f"write '{meant}' in the mapping's write fields; only if '{name}' is meant to be "
        f"another field, create it ({create})",
    )


def _user_jql(scope: object) -> str | None:
    """The JQL a person wrote for a scope (None when okrsync builds it)."""
    return scope.jql if isinstance(scope, JqlScope) else None


class JiraConnector:
    """One Jira site (Cloud or Data Center) behind the ``Connector`` protocol."""

    source = "jira"
    supports_properties = True

    def __init__(
        self,
        name: str,
        settings: JiraConnection,
        retry: RetryPolicy,
        *,
        on_request: RequestObserver | None = None,
    ):
        """``on_request`` hears of every HTTP request sent (method, status, seconds)."""
        self.name = name
        self.settings = settings
        self.client = JiraClient(name, settings, retry)
        self.client.requests.observer = on_request

    def __repr__(self) -> str:
        return f"JiraConnector({self.name!r}, {self.client.url!r})"

    @property
    def flavour(self) -> Literal["cloud", "datacenter"]:
        """``cloud`` or ``datacenter`` (detected from serverInfo when configured auto)."""
        return self.client.flavour

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.client.requests.value

    @property
    def concurrency(self) -> int:
        """Requests in flight at most (the ``concurrency`` setting)."""
        return self.settings.concurrency

    def refresh(self) -> None:
        """Read the field catalog (and user) again on next use; call once per cycle."""
        self.client.refresh()

    def close(self) -> None:
        """Release HTTP connections."""
        self.client.close()

    # ----------------------------------------------------------------- reading

    def _estimate_names(self) -> tuple[str, ...]:
        name = self.settings.estimate_field
        return (name, "Story point estimate") if name == "Story Points" else (name,)

    def fetch(
        self, requests: Sequence[FetchRequest]
    ) -> dict[FetchRequest, FetchResult | ConnectorError]:
        """Read many scopes, merged into few concurrent searches (see ``connectors.jira.fetch``)."""
        try:
            fetcher = Fetcher(self.client, self._estimate_names())
        except ConnectorError as exc:
            return dict.fromkeys(requests, exc)
        return fetcher.fetch(requests)

    def scope_jql(self, scope: Scope) -> str:
        """The JQL counting a scope's items, sub-tasks of listed issues included if asked
        (sub-tasks of epic children need a second query, see ``count``)."""
        if isinstance(scope, JqlScope):
            condition, _ = split_order_by(scope.jql)
            return and_all(condition, "" if scope.include_subtasks else self.client.not_subtask())
        if isinstance(scope, JiraEpicsScope):
            fetcher = Fetcher(self.client, ())
            return keys_in(fetcher.epic_clause(), scope.epics)
        if isinstance(scope, JiraIssuesScope):
            listed = keys_in("key", scope.issues)
            if scope.include_subtasks:
                return f"{listed} OR {keys_in('parent', scope.issues)}"
            return listed
        raise ConnectorError(f"a Jira connection cannot read a {_describe(scope)}")

    def _count_one(self, scope: Scope) -> int:
        jql = self.scope_jql(scope)
        if not (isinstance(scope, JiraEpicsScope) and scope.include_subtasks):
            return self.client.count(jql, shown=_user_jql(scope))
        children = [raw["key"] for raw in self.client.search(jql, ["issuetype"])]
        subtasks = sum(self.client.count(keys_in("parent", c)) for c in chunks(children))
        return len(children) + subtasks

    def count(self, scopes: Sequence[Scope]) -> dict[Scope, int | ConnectorError]:
        """Items per scope: Cloud's approximate count, DC's search total."""
        jobs = {scope: partial(self._count_one, scope) for scope in scopes}
        return run_all(self.settings.concurrency, jobs)

    def confirm_counts(
        self, expected: Mapping[K, tuple[Scope, int]]
    ) -> dict[K, int | ConnectorError]:
        """Counts after an incremental read: epic scopes with disjoint epics are counted
        together, halving a group that disagrees (see ``connectors.jira.counts``)."""
        return confirm_counts(self.count, expected)

    # ----------------------------------------------------------------- writing

    def read_fields(self, refs: Sequence[FieldRef]) -> dict[FieldRef, object]:
        """Current values (float, str, datetime, None); a ``ConnectorError`` value for a
        ref that cannot be read."""
        return read_fields(self.client, refs)

    def write_fields(self, writes: Sequence[FieldWrite]) -> dict[FieldWrite, ConnectorError | None]:
        """Write changed values only, one PUT per issue, without notifying watchers."""
        return write_fields(self.client, writes)

    def set_property(self, target: str, key: str, value: Any) -> None:
        """Set issue property ``key`` (any JSON, e.g. okrsync's ``okrsync`` record)."""
        self.client.call(
            lambda: self.client.jira.add_issue_property(target, key, value),
            ctx=Context("issue property update", issue=target),
        )

    def get_property(self, target: str, key: str) -> Any:
        """Issue property ``key``'s JSON value, or None when it is not set."""
        try:
            answer = self.client.get_json(
                f"issue/{target}/properties/{key}", ctx=Context("issue property read", issue=target)
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        return answer.get("value") if isinstance(answer, Mapping) else None

    def add_comment(self, target: str, text: str) -> None:
        """Post a comment (not retried once sent: a retry could post it twice)."""
        self.client.call(
            lambda: self.client.jira.add_comment(target, text),
            idempotent=False,
            ctx=Context("comment", issue=target),
        )

    def ensure_fields(
        self, specs: Sequence[FieldSpec], *, dry_run: bool = False, allow_similar: bool = False
    ) -> list[CreatedField]:
        """Create the missing okrsync custom fields (needs Jira admin rights); a name that
        nearly repeats an existing field's is refused unless ``allow_similar``."""
        return ensure_fields(self.client, specs, dry_run=dry_run, allow_similar=allow_similar)

    # ----------------------------------------------------------------- preflight

    def preflight(
        self, scopes: Sequence[Scope], fields: Mapping[str, Sequence[str]]
    ) -> PreflightReport:
        """Credentials, every mapped field exists and is on each target's edit screen,
        every scope's query runs; all problems reported together."""
        report = PreflightReport(self.name, info={"url": self.client.url})
        here = f"connection '{self.name}'"
        try:
            me = self.client.myself()
            report.info["flavour"] = self.client.flavour
            catalog = self.client.catalog()
        except ConnectorError as exc:
            fix = "check url, email/api_token or pat" if exc.status in (401, 403) else ""
            report.problems.append(Problem(here, exc.message, fix))
            return report
        report.info["user"] = str(me.get("displayName") or me.get("name") or "")
        names = list(dict.fromkeys(name for wanted in fields.values() for name in wanted))
        for name in names:
            found = catalog.candidates(name)
            if not found:
                report.problems.append(_missing_field(catalog, name, here))
            elif len(found) > 1:
                ids = ", ".join(f.id for f in found)
                report.problems.append(
                    Problem(
                        f"field '{name}'",
                        f"several fields are named '{name}' ({ids})",
                        "rename all but one, or name the field by its id",
                    )
                )
        jobs: dict[object, Any] = {}
        for target in fields:
            jobs[("edit", target)] = partial(self._check_target, target, fields[target])
        for scope in scopes:
            jobs[("scope", scope)] = partial(self._check_scope, scope)
        results = run_all(self.settings.concurrency, jobs)
        for result in results.values():
            if isinstance(result, ConnectorError):  # not expected: checks return problems
                report.problems.append(Problem(here, result.message))
            else:
                report.problems.extend(result)
        # Only scopes whose query ran: their keys exist, so one search can hold them all.
        readable = [s for s in scopes if results.get(("scope", s)) == []]
        report.problems.extend(self._check_epics(readable))
        return report

    def _check_target(self, target: str, names: Sequence[str]) -> list[Problem]:
        try:
            meta = self.client.editmeta(target)
        except ConnectorError as exc:
            # A 404's message already says what to check.
            fix = "" if exc.status == 404 else "check the issue key in the mapping"
            return [Problem(target, exc.message, fix)]
        editable: Mapping[str, Any] = meta.get("fields", {})
        catalog = self.client.catalog()
        project = target.rsplit("-", 1)[0]
        problems = []
        for name in names:
            info = catalog.get(name)
            if info is None:
                continue  # reported once for the connection
            if info.id not in editable:
                problems.append(
                    Problem(
                        target,
                        f"field '{name}' cannot be set on {target}",
                        f"add field '{name}' to the edit screen of project {project}",
                    )
                )
            elif info.kind == "select" and "allowedValues" in editable[info.id]:
                offered = {str(v.get("value")) for v in editable[info.id]["allowedValues"] or ()}
                missing = [o for o in STATUS_OPTIONS if o not in offered]
                if missing:
                    fix = (
                        "run 'okrsync fields bootstrap', which adds them"
                        if self.client.flavour == "cloud"
                        else options_by_hand(missing)
                    )
                    problems.append(
                        Problem(
                            target,
                            f"field '{name}' on {target} lacks the options okrsync writes: "
                            f"{', '.join(missing)}",
                            fix,
                        )
                    )
        return problems

    def _check_epics(self, scopes: Sequence[Scope]) -> list[Problem]:
        """Every key of an epics scope names an epic: a story's "children" are its
        sub-tasks (Cloud) or nothing (Data Center), which would measure the wrong work."""
        epic_scopes = [s for s in scopes if isinstance(s, JiraEpicsScope)]
        keys = list(dict.fromkeys(key for s in epic_scopes for key in s.epics))
        if not keys:
            return []
        try:
            refused = Fetcher(self.client, ()).not_epics(keys)
        except ConnectorError as exc:
            return [
                Problem(
                    f"connection '{self.name}'",
                    f"could not check that epics scopes name epics: {exc.message}",
                )
            ]
        return [
            Problem(_describe(scope), refused[key], NOT_AN_EPIC_FIX, scope=scope)
            for scope in epic_scopes
            for key in scope.epics
            if key in refused
        ]

    def _check_scope(self, scope: Scope) -> list[Problem]:
        try:
            self.client.count(self.scope_jql(scope), shown=_user_jql(scope))
        except ConnectorError as exc:
            fix = "fix the query in the mapping" if exc.status == 400 else ""
            return [Problem(_describe(scope), exc.message, fix, scope=scope)]
        return []
