"""Reading scopes from Jira: merge scopes into few searches, run them concurrently, split
the answers back per scope.

- every ``jira_epics`` scope of the connection -> one search (per 100 epics):
  ``parent in (E...) OR key in (E...)`` on Cloud, ``cf[Epic Link] in (E...) OR key in (E...)``
  on Data Center; the epics themselves come back too, which gives their ids (Epic Link
  names epics only by key) and follows moved epics. Children are split back per scope by
  their epic's id. With ``include_subtasks``, one more search ``parent in (children...)``.
  The epics' own issue types come in that search too: a scope naming an issue that is not
  an epic is refused (the others are read as usual).
- every ``jira_issues`` scope -> one ``key in (...)`` search (per 100 keys), plus
  ``parent in (...)`` for their sub-tasks when asked.
- each ``jql`` scope runs as given: ``(<jql>) AND updated >= "..."`` when ``since`` is set,
  its ORDER BY kept at the end.

If a merged search is refused (e.g. one scope names an issue that does not exist), each of
its scopes is searched alone so that the error lands on the scope that caused it.
``since`` narrows JQL scopes and epic children; listed issues and the children of
epics whose sub-tasks are wanted are read in full and filtered here, so totals stay exact.
Narrowed epic children come without a total: the caller counts them, several epic
scopes at once as one scope naming all their epics (``connectors.jira.counts``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from connectors.base import ConnectorError, FetchRequest, FetchResult, NotFoundError
from connectors.jira.client import JiraClient
from connectors.jira.fields import FieldCatalog, FieldInfo
from connectors.jira.query import (
    ItemFields,
    and_all,
    chunks,
    clause_name,
    epic_key_of,
    is_epic_type,
    keys_in,
    not_an_epic,
    since_clause,
    split_order_by,
    to_work_item,
    with_order,
)
from connectors.jira.transport import run_all
from mappings.items import WorkItem
from mappings.schema import JiraEpicsScope, JiraIssuesScope, JqlScope

Raw = dict[str, Any]
Outcome = FetchResult | ConnectorError


def _epics(request: FetchRequest) -> tuple[str, ...]:
    return request.scope.epics if isinstance(request.scope, JiraEpicsScope) else ()


def _listed(request: FetchRequest) -> tuple[str, ...]:
    return request.scope.issues if isinstance(request.scope, JiraIssuesScope) else ()


def _not_epics(named: Mapping[str, Raw]) -> dict[str, str]:
    """Why each issue (by the key a scope names it with) that is not an epic is refused."""
    out: dict[str, str] = {}
    for key, raw in named.items():
        issuetype = (raw.get("fields") or {}).get("issuetype")
        if not is_epic_type(issuetype):
            out[key] = not_an_epic(key, issuetype)
    return out


def _newer(item: WorkItem, since: datetime | None) -> bool:
    return since is None or item.updated is None or item.updated >= since


class Fetcher:
    """One ``fetch`` call: the field catalog, the searches and their split."""

    def __init__(self, client: JiraClient, estimate_names: Sequence[str]):
        self.client = client
        self.workers = client.settings.concurrency
        self.catalog: FieldCatalog = client.catalog()
        self.cloud = client.flavour == "cloud"
        self.estimate: FieldInfo | None = next(
            (f for f in map(self.catalog.get, estimate_names) if f is not None), None
        )
        self.epic_link = None if self.cloud else self.catalog.epic_link

    # ----------------------------------------------------------------- helpers

    def spec(self, request: FetchRequest) -> ItemFields:
        """Field ids for one request (raises NotFoundError for an unknown field name)."""
        named = {name: self.catalog.find(name) for name in request.fields}
        return ItemFields(self.estimate, self.epic_link, named)

    def union_ids(self, requests: Sequence[FetchRequest]) -> list[str]:
        """Field ids covering every request of a merged search."""
        ids: list[str] = []
        for request in requests:
            for field_id in self.spec(request).ids():
                if field_id not in ids:
                    ids.append(field_id)
        return ids

    def epic_clause(self) -> str:
        """JQL naming an epic's children."""
        if self.cloud:
            return "parent"
        if self.epic_link is None:
            raise NotFoundError(
                f"Jira connection '{self.client.name}' has no Epic Link field; "
                "use a jql scope for epic children on this site"
            )
        return clause_name(self.epic_link)

    def search_chunks(
        self, build: Callable[[Sequence[str]], str], keys: Sequence[str], ids: Sequence[str]
    ) -> list[Raw]:
        """One search per chunk of keys; answers concatenated."""
        jobs = {
            i: partial(self.client.search, build(chunk), ids)
            for i, chunk in enumerate(chunks(sorted(set(keys))))
        }
        found: list[Raw] = []
        for result in run_all(self.workers, jobs).values():
            if isinstance(result, ConnectorError):
                raise result
            found.extend(result)
        return found

    def since(self, request: FetchRequest) -> str:
        return since_clause(request.since, self.client.time_zone()) if request.since else ""

    # ----------------------------------------------------------------- entry point

    def fetch(self, requests: Sequence[FetchRequest]) -> dict[FetchRequest, Outcome]:
        """Every request's items (or its error)."""
        groups: dict[str, list[FetchRequest]] = {"jql": [], "jira_epics": [], "jira_issues": []}
        out: dict[FetchRequest, Outcome] = {}
        for request in requests:
            kind = getattr(request.scope, "kind", "")
            if kind not in groups:
                out[request] = ConnectorError(f"a Jira connection cannot read a {kind} scope")
                continue
            try:
                self.spec(request)
            except ConnectorError as exc:
                out[request] = exc
                continue
            groups[kind].append(request)
        jobs: dict[tuple[FetchRequest, ...], Callable[[], dict[FetchRequest, Outcome]]] = {}
        for request in groups["jql"]:
            jobs[(request,)] = partial(self.jql_one, request)
        if groups["jira_epics"]:
            epics = groups["jira_epics"]
            jobs[tuple(epics)] = partial(self.split_on_error, epics, self.epics)
        if groups["jira_issues"]:
            issues = groups["jira_issues"]
            jobs[tuple(issues)] = partial(self.split_on_error, issues, self.issues)
        for members, result in run_all(self.workers, jobs).items():
            if isinstance(result, ConnectorError):
                out.update(dict.fromkeys(members, result))
            else:
                out.update(result)
        return out

    def split_on_error(
        self,
        group: list[FetchRequest],
        run: Callable[[list[FetchRequest]], dict[FetchRequest, Outcome]],
    ) -> dict[FetchRequest, Outcome]:
        """Run a merged group; if it fails as a whole, run each request alone."""
        try:
            return run(group)
        except ConnectorError as exc:
            if len(group) == 1 or exc.retryable:
                return dict.fromkeys(group, exc)
        alone = run_all(self.workers, {r: partial(run, [r]) for r in group})
        return {
            r: (result if isinstance(result, ConnectorError) else result[r])
            for r, result in alone.items()
        }

    # ----------------------------------------------------------------- JQL scopes

    def jql_one(self, request: FetchRequest) -> dict[FetchRequest, Outcome]:
        return {request: self.jql(request)}

    def jql(self, request: FetchRequest) -> Outcome:
        scope = request.scope
        assert isinstance(scope, JqlScope)
        spec = self.spec(request)
        condition, order = split_order_by(scope.jql)
        filters = "" if scope.include_subtasks else self.client.not_subtask()
        jql = with_order(and_all(condition, filters, self.since(request)), order)
        raws = self.client.search(jql, spec.ids(), shown=scope.jql)
        items = [to_work_item(raw, spec) for raw in raws]
        if not scope.include_subtasks:
            items = [item for item in items if not item.is_subtask]
        total = len(items)
        if request.since is not None:
            total = self.client.count(and_all(condition, filters), shown=scope.jql)
        return FetchResult(items, total)

    # ----------------------------------------------------------------- epics

    def epics(self, group: list[FetchRequest]) -> dict[FetchRequest, Outcome]:
        clause = self.epic_clause()
        ids = self.union_ids(group)
        wanted = [e for r in group for e in _epics(r)]
        subtasks = any(r.scope.include_subtasks for r in group)
        # One since for the merged search only if every request has one (the earliest).
        sinces = [r.since for r in group if r.since is not None]
        narrow = ""
        if not subtasks and len(sinces) == len(group):
            narrow = since_clause(min(sinces), self.client.time_zone())

        def build(chunk: Sequence[str]) -> str:
            return f"({and_all(keys_in(clause, chunk), narrow)}) OR {keys_in('key', chunk)}"

        raws = self.search_chunks(build, wanted, ids)
        named = self.resolve(set(wanted), raws, ("summary", "issuetype"))
        # The epics come back in the same search, so their type costs no request. A key of
        # another type would measure its sub-tasks (Cloud) or nothing at all: its scope
        # is refused, the group's other scopes are read as usual.
        refused = _not_epics(named)
        epic_ids = {key: str(raw["id"]) for key, raw in named.items() if key not in refused}
        epic_id_set = set(epic_ids.values())
        current = {raw["key"]: str(raw["id"]) for raw in raws if str(raw["id"]) in epic_id_set}
        children: dict[str, list[Raw]] = {}
        for raw in raws:
            if str(raw["id"]) in epic_id_set:
                continue
            parent = (raw.get("fields") or {}).get("parent")
            epic_id: str | None
            if self.cloud and isinstance(parent, Mapping) and parent.get("id"):
                epic_id = str(parent["id"])
            else:
                link = epic_key_of(raw, ItemFields(None, self.epic_link, {}))
                epic_id = current.get(link) if link else None
            if epic_id is not None and epic_id in epic_id_set:
                children.setdefault(epic_id, []).append(raw)
        subs: list[Raw] = []
        if subtasks:
            parents = [raw["key"] for rs in children.values() for raw in rs]
            subs = self.search_chunks(lambda c: keys_in("parent", c), parents, ids)
        out: dict[FetchRequest, Outcome] = {}
        for request in group:
            scope = request.scope
            assert isinstance(scope, JiraEpicsScope)
            reasons = list(dict.fromkeys(refused[e] for e in scope.epics if e in refused))
            if reasons:
                out[request] = NotFoundError("; ".join(reasons))
                continue
            spec = self.spec(request)
            mine = [raw for e in scope.epics for raw in children.get(epic_ids[e], [])]
            mine = list({str(r["id"]): r for r in mine}.values())
            if scope.include_subtasks:
                own = {str(r["id"]) for r in mine}
                mine += [s for s in subs if str(s["fields"]["parent"].get("id")) in own]
            items = [to_work_item(raw, spec, current) for raw in mine]
            items = [
                i
                for i in items
                if i.id not in epic_id_set and (scope.include_subtasks or not i.is_subtask)
            ]
            # Read in full (no narrowing), the length is the total. Narrowed, the total is
            # left to the caller, who counts many epic scopes in one request
            # (``connectors.jira.counts``) instead of one count per scope here.
            total = None if narrow else len(items)
            items = [i for i in items if _newer(i, request.since)]
            out[request] = FetchResult(items, total)
        return out

    def resolve(
        self, keys: set[str], raws: Sequence[Raw], field_ids: Sequence[str] = ("summary",)
    ) -> dict[str, Raw]:
        """Issue key -> the issue's JSON for the given keys, following moved issues (one
        read each, with ``field_ids``, of the keys the search did not return under that
        key)."""
        found = {str(raw["key"]): raw for raw in raws if raw.get("key") in keys}
        missing = sorted(keys - set(found))
        reads = run_all(
            self.workers, {k: partial(self.client.issue, k, list(field_ids)) for k in missing}
        )
        for key, result in reads.items():
            if isinstance(result, ConnectorError):
                raise result
            found[key] = result
        return found

    def not_epics(self, keys: Sequence[str]) -> dict[str, str]:
        """Which of ``keys`` are not epics, and why that refuses a scope naming them: one
        ``key in (...)`` search per 100 keys (every key must exist, or Jira refuses it)."""
        raws = self.search_chunks(lambda c: keys_in("key", c), keys, ["issuetype"])
        return _not_epics(self.resolve(set(keys), raws, ["issuetype"]))

    # ----------------------------------------------------------------- listed issues

    def issues(self, group: list[FetchRequest]) -> dict[FetchRequest, Outcome]:
        ids = self.union_ids(group)
        wanted = [k for r in group for k in _listed(r)]
        raws = self.search_chunks(lambda c: keys_in("key", c), wanted, ids)
        key_ids = {key: str(raw["id"]) for key, raw in self.resolve(set(wanted), raws).items()}
        by_id = {str(raw["id"]): raw for raw in raws}
        for key, issue_id in key_ids.items():
            if issue_id not in by_id:
                by_id[issue_id] = self.client.issue(key, ids)
        subs: list[Raw] = []
        if any(r.scope.include_subtasks for r in group):
            parents = [
                by_id[key_ids[k]]["key"]
                for r in group
                for k in _listed(r)
                if r.scope.include_subtasks
            ]
            subs = self.search_chunks(lambda c: keys_in("parent", c), parents, ids)
        out: dict[FetchRequest, Outcome] = {}
        for request in group:
            scope = request.scope
            assert isinstance(scope, JiraIssuesScope)
            spec = self.spec(request)
            mine = {key_ids[k]: by_id[key_ids[k]] for k in scope.issues}
            if scope.include_subtasks:
                for sub in subs:
                    if str(sub["fields"]["parent"].get("id")) in mine:
                        mine.setdefault(str(sub["id"]), sub)
            items = [to_work_item(raw, spec) for raw in mine.values()]
            total = len(items)
            items = [i for i in items if _newer(i, request.since)]
            out[request] = FetchResult(items, total)
        return out
